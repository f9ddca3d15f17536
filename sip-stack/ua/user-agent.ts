/**
 * UserAgent: a SIP endpoint = TransportLayer + TransactionLayer (its transaction user) + the dialog table.
 * It turns what arrives into objects the application handles:
 *   - 'invite'  → UasInvite (progress / accept / reject; 'cancelled')
 *   - 'request' → IncomingRequest for out-of-dialog requests (REGISTER, OPTIONS, MESSAGE, SUBSCRIBE, ...)
 *   - requests inside a dialog → the Session (or early UasInvite / UacInvite) that owns the dialog
 * and sends what the application starts: invite() → UacInvite, request() for out-of-dialog non-INVITE requests,
 * RegisterClient on top of request().
 *
 * RFC 3261 §8 (UA behaviour), §12-§15 (through sip-stack/dialog), §13.2.2.4 / §13.3.1.4 (2xx/ACK by the cores).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { type SipMessageAny, type SipRequest, type SipResponse, type SipUri, Via, createRequest, createResponse,
  parseUri, type AddressInput } from '../message/index.js';
import { type BoundListener, type ListenOptions, type MessageSource, type SendResult, type SendTarget,
  type TransportLayer, type TransportProtocol, createTransportLayer, defaultPort } from '../transport/index.js';
import { type Clock, type ClientTransaction, type ClientTransactionUser, type InviteServerTransaction,
  type RequestPolicy, type ServerTransaction, type TimerConfig, type TransactionLogger, type TransactionUser,
  TransactionLayer, resolveTimerConfig, systemTimerClock } from '../transaction/index.js';
import { DialogSet, negotiateAsUas, resolveSessionTimerPolicy, type SessionTimerPolicy } from '../dialog/index.js';
import type { DigestClient } from '../auth/index.js';
import { type DialogUsage, type ResponseOptions, type UaCore, appendHeaders, bodyType, stringHeaders } from './core.js';
import { UaEmitter } from './emitter.js';
import { UaError } from './errors.js';
import { IncomingRequest } from './incoming-request.js';
import { UasInvite } from './uas-invite.js';
import { UacInvite, type InviteOptions } from './uac-invite.js';
import { RegisterClient, type RegisterClientOptions } from './register-client.js';

/** Methods a UserAgent allows by default (Allow header, 405 for others). */
export const DEFAULT_UA_METHODS: readonly string[] = Object.freeze(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'PRACK',
  'UPDATE', 'INFO', 'REFER', 'NOTIFY', 'MESSAGE']);

export interface UserAgentOptions {
  /** Listeners to open (default one UDP listener on 0.0.0.0:5060). Ignored with `transport`. */
  listen?: ListenOptions[];
  /** Use this transport layer (already configured) instead of creating one; close() leaves it open. */
  transport?: TransportLayer;
  /** Host written in Via sent-by and Contact (default the listener's address; for 0.0.0.0/:: the first non-loopback address). */
  publicAddress?: string;
  /** Port written in Via/Contact (default the listener's port). */
  publicPort?: number;
  /** User-Agent (requests) and Server (responses) header; '' for none. Default 'dragon-pbx'. */
  userAgent?: string;
  /** Option tags we support (Supported header; Require with others → 420). Default ['100rel']. */
  supported?: string[];
  /** Methods we handle (Allow header; known methods not listed → 405). Default DEFAULT_UA_METHODS (+ REGISTER when a 'request' listener handles it, add it yourself). */
  methods?: string[];
  /** User part of our Contact (default none). */
  contactUser?: string;
  /** Time source for every RFC timer (default the system clock; tests pass a VirtualClock). */
  clock?: Clock;
  /** T1/T2/T4 and the automatic-100 delay (ms). */
  timers?: Partial<TimerConfig>;
  logger?: TransactionLogger;
  /** Extra request checks of the transaction layer (merged with methods/supported). */
  policy?: Partial<RequestPolicy>;
  /**
   * Session timers (RFC 4028): when given, 'timer' is supported, INVITEs we send ask for a session interval,
   * INVITEs we receive are negotiated (422 when too small), the refresher re-INVITEs at half the interval and a
   * session that is not refreshed ends with BYE. Default off.
   */
  sessionTimers?: SessionTimerPolicy;
}

export interface UserAgentEvents {
  /** A new INVITE outside any dialog. Without a listener it is answered 480. */
  invite: [invite: UasInvite];
  /**
   * A request outside any dialog other than INVITE/ACK/CANCEL. Answer it with respond(). Without a listener:
   * OPTIONS → 200 with Allow/Supported/Accept, anything else → 405.
   */
  request: [request: IncomingRequest];
  /** An exception thrown by an application listener (caught; counted in counters.listenerErrors). */
  listenerError: [event: string, err: unknown];
}

export interface UaCounters {
  invitesReceived: number;
  invitesSent: number;
  /** In-dialog requests answered 481 (no such dialog). */
  unknownDialog: number;
  /** ACKs that matched no dialog. */
  strayAcks: number;
  /** 2xx retransmissions answered with the cached ACK after the INVITE transaction ended. */
  ackResent: number;
  listenerErrors: number;
}

const noop = (): void => {};
const silent: TransactionLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export class UserAgent extends UaEmitter<UserAgentEvents> implements UaCore {
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly dialogs = new DialogSet();
  readonly clock: Clock;
  readonly timerConfig: TimerConfig;
  readonly logger: TransactionLogger;
  readonly allow: readonly string[];
  readonly supported: readonly string[];
  readonly sessionTimers: SessionTimerPolicy | undefined;
  readonly counters: UaCounters = { invitesReceived: 0, invitesSent: 0, unknownDialog: 0, strayAcks: 0, ackResent: 0, listenerErrors: 0 };
  private readonly ownsTransport: boolean;
  private readonly o: UserAgentOptions;
  private readonly usages = new Map<string, DialogUsage>();
  /** Client transactions in flight: on close() their users get a local 503 so no promise waits forever. */
  private readonly inFlight = new Map<ClientTransactionUser, SipRequest>();
  private readonly onMessage: (m: SipMessageAny, s: MessageSource) => void;
  private _closed = false;
  private started: Promise<BoundListener[]> | undefined;

  constructor(o: UserAgentOptions = {}) {
    super();
    this.onListenerError = (event, err) => this.listenerError(event, err);
    this.o = o;
    this.clock = o.clock ?? systemTimerClock;
    this.logger = o.logger ?? silent;
    try {
      this.timerConfig = resolveTimerConfig(o.timers);
    } catch (err) {
      throw new UaError('DPBX_ERR_UA_OPTIONS', (err as Error).message, err);
    }
    this.allow = Object.freeze([...(o.methods ?? DEFAULT_UA_METHODS)]);
    const supported = [...(o.supported ?? ['100rel'])];
    if (o.sessionTimers !== undefined) {
      try {
        resolveSessionTimerPolicy(o.sessionTimers);
      } catch (err) {
        throw new UaError('DPBX_ERR_UA_OPTIONS', (err as Error).message, err);
      }
      if (!supported.includes('timer')) supported.push('timer');
    }
    this.sessionTimers = o.sessionTimers;
    this.supported = Object.freeze(supported);
    if (o.publicPort !== undefined && (!Number.isInteger(o.publicPort) || o.publicPort < 1 || o.publicPort > 65535)) {
      throw new UaError('DPBX_ERR_UA_OPTIONS', 'publicPort must be 1..65535');
    }
    this.ownsTransport = o.transport === undefined;
    this.transport = o.transport ?? createTransportLayer({
      listen: o.listen ?? [{ transport: 'udp', host: '0.0.0.0', port: 5060 }],
      logger: this.logger,
    });
    const tu: TransactionUser = {
      receiveRequest: (req, tx) => this.receiveRequest(req, tx),
      receiveAck: (ack, source) => this.receiveAck(ack, source),
      receiveStrayResponse: (res, source) => this.receiveStrayResponse(res, source),
      transactionError: (tx, err) => this.logger.debug({ code: err.code, method: tx.request.method }, 'transaction error'),
    };
    this.transactions = new TransactionLayer({
      send: (m, t) => this.transport.send(m, t),
      tu,
      clock: this.clock,
      timers: this.timerConfig,
      logger: this.logger,
      policy: { allowedMethods: [...this.allow, 'ACK', 'CANCEL'], supportedOptions: [...this.supported], ...o.policy },
    });
    this.onMessage = (m, s) => this.transactions.receive(m, s);
    this.transport.on('message', this.onMessage);
  }

  /** Open the listeners (idempotent). Resolves with the bound listeners (read the OS-chosen ports there). */
  start(): Promise<BoundListener[]> {
    if (this._closed) return Promise.reject(new UaError('DPBX_ERR_UA_CLOSED', 'user agent is closed'));
    this.started ??= this.ownsTransport ? this.transport.listen() : Promise.resolve(this.transport.listeners);
    return this.started;
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Live sessions and early INVITEs by dialog key. */
  get usageCount(): number {
    return this.usages.size;
  }

  /**
   * Stop: every session ends without BYE ('closed'), every transaction is disposed, the transport closes (when
   * this UA created it). Idempotent.
   */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    for (const u of [...this.usages.values()]) {
      const s = u as { finish?: (c: 'closed') => void };
      if (typeof s.finish === 'function') s.finish('closed');
    }
    for (const [user, req] of [...this.inFlight]) {
      this.inFlight.delete(user);
      try {
        user.receiveResponse(createResponse(req, 503, 'Service Unavailable (user agent closed)'), undefined as never);
      } catch (err) {
        this.listenerError('receiveResponse', err);
      }
    }
    this.usages.clear();
    this.dialogs.close();
    this.transactions.close();
    this.transport.off('message', this.onMessage);
    if (this.ownsTransport) await this.transport.close();
  }

  // ------------------------------------------------------------------ addresses

  private listenerFor(transport: TransportProtocol): BoundListener {
    const l = this.transport.listener(transport);
    if (l === undefined) throw new UaError('DPBX_ERR_UA_NO_LISTENER', `no ${transport} listener (call start() first?)`);
    return l;
  }

  /** @internal */
  hostPort(transport: TransportProtocol): string {
    const l = this.listenerFor(transport);
    let host = this.o.publicAddress ?? l.address;
    if (host === '0.0.0.0' || host === '::') host = firstAddress(l.family) ?? (l.family === 6 ? '::1' : '127.0.0.1');
    if (isIP(host) === 6) host = `[${host}]`;
    return `${host}:${this.o.publicPort ?? l.port}`;
  }

  /** @internal */
  via(transport: TransportProtocol): Via {
    const [host, port] = splitHostPort(this.hostPort(transport));
    // RFC 3581 §3: "A client ... MAY include the rport parameter" — we always ask for symmetric responses.
    return new Via(transport.toUpperCase(), host, port, { rport: null });
  }

  /** @internal */
  contact(transport: TransportProtocol): string {
    const user = this.o.contactUser !== undefined ? `${this.o.contactUser}@` : '';
    const scheme = transport === 'tls' ? 'sips' : 'sip';
    const param = transport === 'udp' || transport === 'tls' ? '' : `;transport=${transport}`;
    return `<${scheme}:${user}${this.hostPort(transport)}${param}>`;
  }

  /** @internal */
  transportFor(uri: SipUri, destination?: SendTarget): TransportProtocol {
    if (destination !== undefined) return destination.transport;
    const t = uri.transport;
    if (t === 'tcp' || t === 'tls' || t === 'udp') return t;
    return uri.scheme === 'sips' ? 'tls' : 'udp';
  }

  /** @internal */
  nextHop(req: SipRequest): SipUri {
    try {
      const r = req.route[0];
      if (r !== undefined) return r.uri;
    } catch {
      // unreadable Route: fall back to the Request-URI
    }
    return req.uri;
  }

  /**
   * @internal RFC 3263 reduced to what a PBX needs: the URI's transport parameter (else UDP, TLS for sips), the
   * host's address (A/AAAA through the system resolver, no NAPTR/SRV), the URI's port or the default one.
   */
  async resolve(uri: SipUri, destination?: SendTarget): Promise<SendTarget> {
    if (destination !== undefined) return destination;
    const transport = this.transportFor(uri);
    const maddr = uri.params['maddr'];
    const host = typeof maddr === 'string' && maddr.length > 0 ? maddr : uri.hostname;
    const port = uri.port ?? defaultPort(transport);
    if (host.length === 0) throw new UaError('DPBX_ERR_UA_TARGET', `no host in ${uri.toString()}`);
    if (isIP(host) !== 0) return { transport, address: host, port };
    try {
      const a = await lookup(host);
      return { transport, address: a.address, port };
    } catch (err) {
      throw new UaError('DPBX_ERR_UA_TARGET', `cannot resolve ${host}: ${(err as Error).message}`, err);
    }
  }

  /** @internal */
  decorate(m: SipRequest | SipResponse): void {
    const ua = this.o.userAgent ?? 'dragon-pbx';
    if (ua === '') return;
    const name = m.isRequest ? 'User-Agent' : 'Server';
    if (!m.has(name)) m.set(name, ua);
  }

  /** @internal */
  buildResponse(req: SipRequest, status: number, o: ResponseOptions = {}, toTag: string | boolean = status > 100): SipResponse {
    const res = createResponse(req, status, o.reason, { toTag });
    appendHeaders(res, o.headers);
    if (o.body !== undefined) {
      res.body = o.body;
      if (!res.has('Content-Type')) res.set('Content-Type', bodyType(o)!);
    }
    this.decorate(res);
    return res;
  }

  /** @internal */
  registerUsage(key: string, usage: DialogUsage): void {
    this.usages.set(key, usage);
  }

  /** @internal */
  unregisterUsage(key: string, usage: DialogUsage): void {
    if (this.usages.get(key) === usage) this.usages.delete(key);
  }

  /** @internal */
  listenerError(event: string, err: unknown): void {
    this.counters.listenerErrors++;
    this.logger.error({ event, err: err instanceof Error ? err.message : String(err) }, 'user agent listener threw');
    if (event !== 'listenerError') this.emit('listenerError', event, err);
  }

  /** @internal */
  sendAck(ack: SipRequest, destination?: SendTarget): Promise<SendResult> {
    return this.resolve(this.nextHop(ack), destination).then(
      (t) => this.transactions.sendAck(ack, t),
      (err: unknown) => ({ ok: false as const, error: err as never }),
    );
  }

  /** @internal */
  sendStateless(m: SipRequest | SipResponse, target: SendTarget): Promise<SendResult> {
    return this.transactions.sendStatelessMessage(m, target);
  }

  /** @internal */
  async startClientTransaction(req: SipRequest, destination: SendTarget | undefined, user: ClientTransactionUser): Promise<ClientTransaction | undefined> {
    let target: SendTarget;
    let tracked: ClientTransactionUser | undefined;
    try {
      if (this._closed) throw new UaError('DPBX_ERR_UA_CLOSED', 'user agent is closed');
      target = await this.resolve(this.nextHop(req), destination);
      if (this._closed) throw new UaError('DPBX_ERR_UA_CLOSED', 'user agent is closed');
      const t: ClientTransactionUser = {
        receiveResponse: (res, tx) => user.receiveResponse(res, tx),
        terminated: (tx) => {
          this.inFlight.delete(t);
          user.terminated?.(tx);
        },
      };
      tracked = t;
      this.inFlight.set(t, req);
      return this.transactions.sendRequest(req, target, t);
    } catch (err) {
      if (tracked !== undefined) this.inFlight.delete(tracked);
      // §8.1.3.1: a request that cannot be sent is treated like a 503 from the network.
      this.logger.debug({ err: String(err), method: req.method }, 'request not sent');
      const res = createResponse(req, 503, `Service Unavailable (${err instanceof UaError ? err.code : 'send failed'})`);
      try {
        user.receiveResponse(res, undefined as never);
      } catch (e) {
        this.listenerError('receiveResponse', e);
      }
      return undefined;
    }
  }

  /** @internal */
  request(req: SipRequest, destination?: SendTarget, digest?: DigestClient): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve) => {
      let current = req;
      let tries = 0;
      const user: ClientTransactionUser = {
        receiveResponse: (res, tx) => {
          if (tx !== undefined && tx.request !== current) return;
          if (res.status < 200) return;
          if ((res.status === 401 || res.status === 407) && digest !== undefined && tries < 2) {
            const auth = digest.authorize(res, current);
            if (auth !== undefined) {
              tries++;
              current = retryRequest(current);
              for (const a of auth) current.append(a.header, a.value);
              void this.startClientTransaction(current, destination, user);
              return;
            }
          }
          resolve(res);
        },
      };
      void this.startClientTransaction(req, destination, user);
    });
  }

  // ------------------------------------------------------------------ public sending API

  /**
   * Start an INVITE to `target` (a sip:/sips: URI). Returns at once; follow the UacInvite's events or await
   * `result`. Throws UaError DPBX_ERR_UA_TARGET for a bad URI, DPBX_ERR_UA_CLOSED after close(),
   * DPBX_ERR_UA_NO_LISTENER without a listener for the target's transport.
   */
  invite(target: string | SipUri, o: InviteOptions = {}): UacInvite {
    if (this._closed) throw new UaError('DPBX_ERR_UA_CLOSED', 'user agent is closed');
    let inv: UacInvite;
    try {
      inv = new UacInvite(this, target, o);
    } catch (err) {
      if (err instanceof UaError) throw err;
      throw new UaError('DPBX_ERR_UA_TARGET', `bad INVITE target or options: ${(err as Error).message}`, err);
    }
    this.counters.invitesSent++;
    inv.start();
    return inv;
  }

  /** A RegisterClient bound to this user agent (call start() on it). */
  registerClient(o: RegisterClientOptions): RegisterClient {
    return new RegisterClient(this, o);
  }

  /**
   * Send a request outside any dialog (OPTIONS, MESSAGE, REGISTER, SUBSCRIBE, NOTIFY, ...) and resolve with its
   * final response (local 408 after Timer F, 503 when it could not be sent). With `auth`, one 401/407 is answered.
   */
  sendRequest(method: string, target: string | SipUri, o: {
    from?: AddressInput; to?: AddressInput; callId?: string; cseq?: number; headers?: ResponseOptions['headers'];
    body?: Buffer | string; contentType?: string; destination?: SendTarget; auth?: DigestClient; contact?: boolean;
  } = {}): Promise<SipResponse> {
    if (this._closed) return Promise.reject(new UaError('DPBX_ERR_UA_CLOSED', 'user agent is closed'));
    if (method === 'INVITE' || method === 'ACK' || method === 'CANCEL') {
      return Promise.reject(new UaError('DPBX_ERR_UA_OPTIONS', `${method} is not sent with sendRequest()`));
    }
    const uri = typeof target === 'string' ? parseUri(target, 'Request-URI') : target;
    const transport = this.transportFor(uri, o.destination);
    const req = createRequest({
      method, uri, from: o.from ?? `<sip:anonymous@${this.hostPort(transport)}>`, to: o.to ?? `<${uri.toString()}>`,
      via: this.via(transport),
      ...(o.callId !== undefined ? { callId: o.callId } : {}),
      ...(o.cseq !== undefined ? { cseq: o.cseq } : {}),
      ...(o.contact ? { contact: this.contact(transport) } : {}),
    });
    appendHeaders(req, o.headers);
    if (o.body !== undefined) {
      if (o.contentType === undefined) return Promise.reject(new UaError('DPBX_ERR_UA_OPTIONS', 'a body needs contentType'));
      req.body = o.body;
      req.set('Content-Type', o.contentType);
    }
    this.decorate(req);
    return this.request(req, o.destination, o.auth);
  }

  // ------------------------------------------------------------------ transaction user

  private receiveRequest(req: SipRequest, tx: ServerTransaction): void {
    let toTag: string | undefined;
    try {
      toTag = req.to?.tag;
    } catch {
      toTag = undefined;
    }
    if (toTag !== undefined) {
      this.receiveInDialog(req, tx);
      return;
    }
    if (req.method === 'INVITE') {
      this.counters.invitesReceived++;
      // §8.1.1.8: "The Contact header field MUST be present and contain exactly one SIP or SIPS URI in any request
      // that can result in the establishment of a dialog" — without it no dialog can be built: 400 at once.
      let contact: ReturnType<typeof contactOf>;
      try {
        contact = contactOf(req);
      } catch {
        contact = undefined;
      }
      if (contact === undefined) {
        tx.respond(this.buildResponse(req, 400, { reason: 'Bad Request (missing or invalid Contact)' }));
        return;
      }
      let timer: ReturnType<typeof negotiateAsUas> | undefined;
      if (this.sessionTimers !== undefined) {
        timer = negotiateAsUas(req, this.sessionTimers);
        if (timer.action === 'reject') {
          // RFC 4028 §9: a Session-Expires below our minimum gets 422 with our Min-SE.
          tx.respond(this.buildResponse(req, timer.status, { reason: timer.reason, headers: stringHeaders(timer.headers) }));
          return;
        }
      }
      const inv = new UasInvite(this, req, tx as InviteServerTransaction);
      if (timer !== undefined) inv.sessionTimer = timer;
      if (!this.emit('invite', inv)) inv.reject(480);
      return;
    }
    const incoming = new IncomingRequest(this, req, tx);
    if (this.emit('request', incoming)) return;
    try {
      if (req.method === 'OPTIONS') {
        // §11.2: "Allow, Accept, Accept-Encoding, Accept-Language, and Supported header fields SHOULD be present".
        incoming.respond(200, { headers: [['Allow', this.allow.join(', ')], ['Accept', 'application/sdp'],
          ...(this.supported.length > 0 ? [['Supported', this.supported.join(', ')] as [string, string]] : [])] });
      } else {
        incoming.respond(405, { headers: [['Allow', this.allow.join(', ')]] });
      }
    } catch (err) {
      this.logger.debug({ err: String(err) }, 'default answer not sent');
    }
  }

  private receiveInDialog(req: SipRequest, tx: ServerTransaction): void {
    const verdict = this.dialogs.checkInDialogRequest(req);
    const usage = verdict.dialog === undefined ? undefined : this.usages.get(verdict.dialog.key);
    if (verdict.action === 'reject' || usage === undefined) {
      // §12.2.2: unknown dialog → 481; out-of-order CSeq → 500 with Retry-After; glare → 491.
      const status = verdict.action === 'reject' ? verdict.status : 481;
      if (status === 481) this.counters.unknownDialog++;
      const headers = verdict.action === 'reject' ? verdict.headers.map(([k, v]) => [k, String(v)] as [string, string]) : [];
      tx.respond(this.buildResponse(req, status, { reason: verdict.action === 'reject' ? verdict.reason : 'Call/Transaction Does Not Exist', headers }));
      return;
    }
    usage.receiveRequest(req, tx);
  }

  private receiveAck(ack: SipRequest, source: MessageSource): void {
    const d = this.dialogs.findForRequest(ack);
    const usage = d === undefined ? undefined : this.usages.get(d.key);
    if (usage === undefined) {
      this.counters.strayAcks++;
      return;
    }
    usage.receiveAck(ack, source);
  }

  private receiveStrayResponse(res: SipResponse, _source: MessageSource): void {
    // §13.2.2.4: 2xx retransmissions after the INVITE client transaction ended still get the ACK.
    let cseq;
    try {
      cseq = res.cseq;
    } catch {
      return;
    }
    if (cseq?.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const d = this.dialogs.findForResponse(res);
    if (d === undefined || d.role !== 'uac') return;
    try {
      const ack = d.createAck(res, { via: this.via(this.transportFor(d.routeSet[0]?.uri ?? d.remoteTarget)) });
      this.decorate(ack);
      this.counters.ackResent++;
      const usage = this.usages.get(d.key) as { destination?: SendTarget } | undefined;
      void this.sendAck(ack, usage?.destination);
    } catch (err) {
      this.logger.debug({ err: String(err) }, 'ACK for a stray 2xx not sent');
    }
  }
}

/** Factory with the options validated. */
export function createUserAgent(o: UserAgentOptions = {}): UserAgent {
  return new UserAgent(o);
}

/** A copy of `req` for a retry after a challenge: CSeq + 1, a new branch, no old credentials (RFC 3261 §22.2). */
export function retryRequest(req: SipRequest): SipRequest {
  const cseq = req.cseq!;
  const copy = createRequest({
    method: req.method, uri: req.uriText, from: req.get('From')!, to: req.get('To')!, callId: req.callId!,
    cseq: cseq.seq + 1,
  });
  copy.set('From', req.get('From')!);
  let viaDone = false;
  for (const h of req.headers) {
    if (h.key === 'from' || h.key === 'to' || h.key === 'call-id' || h.key === 'cseq' || h.key === 'max-forwards' ||
      h.key === 'authorization' || h.key === 'proxy-authorization' || h.key === 'content-length') continue;
    if (h.key === 'via') {
      // A UAC's request has one Via (its own); the retry gets it with a new branch.
      if (viaDone) continue;
      viaDone = true;
      const v = req.topVia!;
      const nv = new Via(v.transport, v.host, v.port, { ...v.params });
      nv.branch = undefined;
      copy.prepend('Via', nv);
      continue;
    }
    copy.append(h.name, h.value);
  }
  copy.set('Max-Forwards', req.maxForwards ?? 70);
  if (req.body.length > 0) copy.body = req.body;
  return copy;
}

function contactOf(req: SipRequest): SipUri | undefined {
  const c = req.contact;
  if (!Array.isArray(c) || c.length !== 1 || !c[0]!.uri.isSip) return undefined;
  return c[0]!.uri;
}

function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(':');
  return [hp.slice(0, i), Number(hp.slice(i + 1))];
}

function firstAddress(family: 4 | 6): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if ((family === 4 && a.family === 'IPv4') || (family === 6 && a.family === 'IPv6' && !a.address.startsWith('fe80'))) return a.address;
    }
  }
  return undefined;
}
