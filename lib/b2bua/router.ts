/**
 * PbxRouter: what the PBX does with each new request the UserAgent passes up (SPEC §6). Requests inside a dialog
 * never come here: the UserAgent hands them to the dialog's Session (CallBinding wires those) or answers 481.
 *   OPTIONS  → 200 with Allow / Accept / Supported (404 for a domain we do not serve)
 *   REGISTER → the registrar
 *   INVITE   → the call binding (404 unknown domain)
 *   others   → 405 with Allow
 * Every branch answers: an exception in a handler becomes a 500, never silence.
 */
import type { IncomingRequest, SipRequest, UasInvite } from '../../sip-stack/index.js';
import { findDomain, matchTrunkBySource, type Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Registrar } from '../registrar/index.js';

/** Methods the PBX answers (Allow); known methods outside this list get 405 with Allow, unknown ones 501. */
export const PBX_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY'] as const;
/** Option tags we support (Require with anything else → 420). */
export const PBX_OPTION_TAGS = ['100rel', 'replaces', 'path', 'outbound'] as const;

/** The call side (lib/b2bua/call-binding.ts). */
export interface InviteHandler {
  invite(uas: UasInvite, domain: string): void;
}

export interface PbxRouterOptions {
  config: () => Config | undefined;
  registrar: Registrar;
  calls?: InviteHandler;
  /** Our own addresses (listen addresses, PUBLIC_IP): a Request-URI naming one of them is "us", not a domain. */
  localAddresses: () => string[];
  logger: Logger;
}

export interface RouterCounters {
  requests: number;
  invites: number;
  unknownDomain: number;
  handlerErrors: number;
}

export class PbxRouter {
  readonly counters: RouterCounters = { requests: 0, invites: 0, unknownDomain: 0, handlerErrors: 0 };
  calls: InviteHandler | undefined;
  /** Set while the PBX shuts down: new INVITEs get 503 with Retry-After. */
  draining = false;

  constructor(private readonly opts: PbxRouterOptions) {
    this.calls = opts.calls;
  }

  /**
   * The served domain a request is for, from its Request-URI host (the To host when the Request-URI names us).
   * undefined: not served; null: addressed to us, with no served domain named.
   */
  domainOf(req: SipRequest): string | undefined | null {
    const cfg = this.opts.config();
    if (!cfg) return null;
    const host = req.uri.host.replace(/^\[|\]$/g, '').toLowerCase();
    const served = findDomain(cfg, host);
    if (served) return served.name;
    if (this.opts.localAddresses().includes(host)) {
      const toHost = req.to?.uri.host?.toLowerCase();
      const d = toHost ? findDomain(cfg, toHost) : undefined;
      return d ? d.name : null;
    }
    return undefined;
  }

  /** A new non-INVITE request outside any dialog. */
  request(incoming: IncomingRequest): void {
    this.counters.requests++;
    const req = incoming.request;
    try {
      if (req.method === 'REGISTER') {
        this.opts.registrar.handleRegister(req, incoming.source).then(
          (res) => {
            if (!incoming.transaction.respond(res)) this.opts.logger.debug({}, 'REGISTER answered too late');
          },
          (err: unknown) => this.fail(incoming, err),
        );
        return;
      }
      const domain = this.domainOf(req);
      if (req.method === 'OPTIONS') {
        if (domain === undefined) return this.unknownDomain(incoming);
        incoming.respond(200, {
          headers: { Allow: PBX_METHODS.join(', '), Accept: 'application/sdp', Supported: PBX_OPTION_TAGS.join(', ') },
        });
        return;
      }
      incoming.respond(405, { headers: { Allow: PBX_METHODS.join(', ') } });
    } catch (err) {
      this.fail(incoming, err);
    }
  }

  /** A new INVITE outside any dialog. */
  invite(uas: UasInvite): void {
    this.counters.invites++;
    try {
      if (this.draining) {
        uas.reject(503, { reason: 'Shutting Down', headers: { 'Retry-After': 30 } });
        return;
      }
      // SPEC §6: a trunk is identified by its source address first; its calls belong to its domain whatever the
      // Request-URI host is (carriers send to our IP address).
      const cfg = this.opts.config();
      const trunk = cfg ? matchTrunkBySource(cfg, uas.source.address) : undefined;
      const domain = trunk ? trunk.domain.name : this.domainOf(uas.request);
      if (!domain) {
        this.counters.unknownDomain++;
        uas.reject(404, { reason: 'Not Found' });
        return;
      }
      if (!this.calls) {
        uas.reject(503, { reason: 'Service Unavailable', headers: { 'Retry-After': 5 } });
        return;
      }
      this.calls.invite(uas, domain);
    } catch (err) {
      this.counters.handlerErrors++;
      this.opts.logger.error({ err: String(err) }, 'INVITE handler failed');
      try {
        uas.reject(500, { reason: 'Server Internal Error' });
      } catch {
        /* already answered */
      }
    }
  }

  private unknownDomain(incoming: IncomingRequest): void {
    this.counters.unknownDomain++;
    incoming.respond(404, { reason: 'Not Found' });
  }

  private fail(incoming: IncomingRequest, err: unknown): void {
    this.counters.handlerErrors++;
    this.opts.logger.error({ err: String(err), method: incoming.method }, 'request handler failed');
    try {
      if (!incoming.responded) incoming.respond(500, { reason: 'Server Internal Error' });
    } catch {
      /* the transaction is gone */
    }
  }
}
