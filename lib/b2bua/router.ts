/**
 * PbxRouter: what the PBX does with each request the transaction layer passes up (SPEC §6).
 *   OPTIONS  → 200 with Allow / Accept / Supported (404 for a domain we do not serve)
 *   REGISTER → the registrar
 *   INVITE and in-dialog requests → the call binding (404 unknown domain, 481 unknown dialog)
 * Every branch answers: an exception in a handler becomes a 500, never silence.
 */
import { createResponse, type MessageSource, type ServerTransaction, type SipRequest, type SipResponse } from '../../sip-stack/index.js';
import { findDomain, type Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Registrar } from '../registrar/index.js';
import { PBX_METHODS, PBX_OPTION_TAGS, type SipRouter } from './sip-front.js';

/** The call side (lib/b2bua/call-binding.ts). */
export interface CallRequestHandler {
  /** A new INVITE (no To tag) for a served domain. The handler answers through tx. */
  invite(req: SipRequest, tx: ServerTransaction, domain: string): void;
  /** A request inside a dialog (To tag present). Returns false when no dialog matches (→ 481). */
  inDialog(req: SipRequest, tx: ServerTransaction): boolean;
  ack?(ack: SipRequest, source: MessageSource): void;
  strayResponse?(res: SipResponse, source: MessageSource): void;
}

export interface PbxRouterOptions {
  config: () => Config | undefined;
  registrar: Registrar;
  calls?: CallRequestHandler;
  /** Our own addresses (listen addresses, PUBLIC_IP): a Request-URI naming one of them is "us", not a domain. */
  localAddresses: () => string[];
  logger: Logger;
  /** Server header value. */
  serverName?: string;
}

export interface RouterCounters {
  requests: number;
  unknownDomain: number;
  noDialog: number;
  handlerErrors: number;
}

export class PbxRouter implements SipRouter {
  readonly counters: RouterCounters = { requests: 0, unknownDomain: 0, noDialog: 0, handlerErrors: 0 };
  calls: CallRequestHandler | undefined;

  constructor(private readonly opts: PbxRouterOptions) {
    this.calls = opts.calls;
  }

  private respond(tx: ServerTransaction, status: number, reason?: string, headers?: Record<string, string>): void {
    const res = createResponse(tx.request, status, reason, { toTag: status > 100 });
    if (this.opts.serverName) res.set('Server', this.opts.serverName);
    for (const [k, v] of Object.entries(headers ?? {})) res.set(k, v);
    tx.respond(res);
  }

  /** The served domain a request is for, from its Request-URI host (To host when the Request-URI names us). */
  private domainOf(req: SipRequest): string | undefined | null {
    const cfg = this.opts.config();
    if (!cfg) return null;
    const host = req.uri.host.replace(/^\[|\]$/g, '').toLowerCase();
    if (findDomain(cfg, host)) return host;
    if (this.opts.localAddresses().includes(host)) {
      const toHost = req.to?.uri.host?.toLowerCase();
      if (toHost && findDomain(cfg, toHost)) return toHost;
      return null; // addressed to our IP with no served domain in To: "us", but no domain
    }
    return undefined;
  }

  request(req: SipRequest, tx: ServerTransaction): void {
    this.counters.requests++;
    try {
      this.route(req, tx);
    } catch (err) {
      this.counters.handlerErrors++;
      this.opts.logger.error({ err: String(err), method: req.method }, 'request handler failed');
      try {
        this.respond(tx, 500, 'Server Internal Error');
      } catch {
        /* already answered */
      }
    }
  }

  private route(req: SipRequest, tx: ServerTransaction): void {
    const inDialog = req.to?.tag !== undefined;
    if (inDialog) {
      if (!this.calls?.inDialog(req, tx)) {
        this.counters.noDialog++;
        this.respond(tx, 481, 'Call/Transaction Does Not Exist');
      }
      return;
    }
    const domain = this.domainOf(req);
    switch (req.method) {
      case 'OPTIONS':
        if (domain === undefined) return this.unknownDomain(tx);
        return this.respond(tx, 200, 'OK', {
          Allow: PBX_METHODS.join(', '),
          Accept: 'application/sdp',
          Supported: PBX_OPTION_TAGS.join(', '),
        });
      case 'REGISTER':
        this.opts.registrar.handleRegister(req, tx.source).then(
          (res) => {
            if (this.opts.serverName) res.set('Server', this.opts.serverName);
            tx.respond(res);
          },
          (err) => {
            this.counters.handlerErrors++;
            this.opts.logger.error({ err: String(err) }, 'registrar failed');
            this.respond(tx, 500, 'Server Internal Error');
          },
        );
        return;
      case 'INVITE':
        if (!domain) return this.unknownDomain(tx);
        if (!this.calls) return this.respond(tx, 503, 'Service Unavailable', { 'Retry-After': '5' });
        this.calls.invite(req, tx, domain);
        return;
      default:
        // BYE, INFO, UPDATE, PRACK, REFER, NOTIFY outside a dialog.
        this.counters.noDialog++;
        return this.respond(tx, 481, 'Call/Transaction Does Not Exist');
    }
  }

  private unknownDomain(tx: ServerTransaction): void {
    this.counters.unknownDomain++;
    this.respond(tx, 404, 'Not Found');
  }

  ack(ack: SipRequest, source: MessageSource): void {
    this.calls?.ack?.(ack, source);
  }

  strayResponse(res: SipResponse, source: MessageSource): void {
    this.calls?.strayResponse?.(res, source);
  }
}
