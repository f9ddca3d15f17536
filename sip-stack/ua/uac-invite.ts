/**
 * UacInvite: an INVITE we send outside any dialog (RFC 3261 §13.2) — forked responses (one early dialog per To
 * tag, §12.1.2), the first 2xx wins and becomes a Session; a 2xx from another fork is ACKed and BYEd
 * (§13.2.2.4); CANCEL with an RFC 3326 Reason (§9.1); ACK for 2xx by the UAC core, re-sent for each 2xx
 * retransmission; 401/407 answered once with the digest client (§22.2: new CSeq, same Call-ID); PRACK for
 * reliable provisionals (RFC 3262 §4).
 */
import { type SipRequest, type SipResponse, type SipUri, type AddressInput, createRequest, createResponse,
  generateCallId, generateTag, parseUri } from '../message/index.js';
import type { SendTarget } from '../transport/index.js';
import type { ClientTransaction, ClientTransactionUser, InviteClientTransaction, ServerTransaction } from '../transaction/index.js';
import { type Dialog, DialogState, isReliableProvisional, negotiateAsUac, retryAfter422,
  uacSessionTimerHeaders } from '../dialog/index.js';
import { DigestClient } from '../auth/index.js';
import { type DialogUsage, type InDialogOptions, type UaCore, appendHeaders, stringHeaders } from './core.js';
import { UaEmitter } from './emitter.js';
import { IncomingRequest } from './incoming-request.js';
import { Session } from './session.js';
import { UaError } from './errors.js';

export interface InviteOptions extends InDialogOptions {
  /** From (default `<sip:{contactUser or "anonymous"}@{our address}>`); a tag is added. */
  from?: AddressInput;
  /** To (default the target URI). */
  to?: AddressInput;
  /** Call-ID (default a new one). */
  callId?: string;
  /** Credentials for a 401/407 challenge (never logged). */
  auth?: { username: string; password: string; realm?: string };
  /** Send to this address instead of resolving the Request-URI (e.g. a registered contact's flow). */
  destination?: SendTarget;
  /** Route header values (a pre-loaded route set, RFC 3261 §8.1.2). */
  route?: string[];
}

export enum UacInviteState {
  /** The INVITE is being sent; no response yet. */
  Calling = 'calling',
  /** A provisional response arrived. */
  Proceeding = 'proceeding',
  /** A 2xx arrived: the Session exists. */
  Accepted = 'accepted',
  /** A final non-2xx (or a local 408/503), or cancelled. */
  Failed = 'failed',
}

const LEGAL: Record<UacInviteState, UacInviteState[]> = {
  [UacInviteState.Calling]: [UacInviteState.Proceeding, UacInviteState.Accepted, UacInviteState.Failed],
  [UacInviteState.Proceeding]: [UacInviteState.Accepted, UacInviteState.Failed],
  [UacInviteState.Accepted]: [],
  [UacInviteState.Failed]: [],
};

export type InviteResult =
  | { ok: true; session: Session; response: SipResponse }
  | { ok: false; status: number; reason: string; response: SipResponse | undefined; cancelled: boolean };

export interface UacInviteEvents {
  /** 100 Trying. */
  trying: [response: SipResponse];
  /** 101-199; `dialog` is the early dialog of that fork (undefined without To tag). */
  progress: [response: SipResponse, dialog: Dialog | undefined];
  /** The first 2xx: the call is up. */
  accepted: [session: Session, response: SipResponse];
  /** A final failure (status, reason); local 408 (Timer B) and 503 (transport) included, 487 after cancel(). */
  failed: [status: number, reason: string, response: SipResponse | undefined];
  /** A 2xx of another fork after the first one: ACKed and ended with BYE (§13.2.2.4). */
  forkAnswered: [response: SipResponse];
  /** A request in one of the early dialogs (UPDATE, INFO, ...). Without a listener: 200/501. */
  request: [request: IncomingRequest];
}

export class UacInvite extends UaEmitter<UacInviteEvents> implements DialogUsage {
  /** Call-ID and From tag of every INVITE of this call attempt. */
  readonly callId: string;
  readonly fromTag: string;
  /** Settles once: the Session (ok) or the failure. Never rejects. */
  readonly result: Promise<InviteResult>;
  private readonly ua: UaCore;
  private readonly o: InviteOptions;
  private readonly uri: SipUri;
  private _request: SipRequest;
  private tx: InviteClientTransaction | undefined;
  private _state = UacInviteState.Calling;
  private cancelReason: string | undefined;
  private cancelled = false;
  private digest: DigestClient | undefined;
  private authTries = 0;
  /** RFC 4028 headers after a 422 (Session-Expires / Min-SE raised to the UAS's Min-SE). */
  private timerHeaders: Array<[string, string]> | undefined;
  private retried422 = false;
  private winner: Dialog | undefined;
  private _session: Session | undefined;
  /** Other forks' 2xx already ACKed and BYEd: To tag → ACK (re-sent on retransmission). */
  private readonly lostForks = new Map<string, SipRequest>();
  /** The winning 2xx's To tag and our ACK for it (re-sent for each retransmission of that 2xx). */
  private winnerAck: [tag: string, ack: SipRequest] | undefined;
  /** What the INVITE's client transactions call: this INVITE, then (release()) what is left of it. */
  private readonly link: { tu: InviteTu };
  private readonly earlyDialogs = new Set<Dialog>();
  private settle!: (r: InviteResult) => void;

  /** @internal use UserAgent.invite(). */
  constructor(ua: UaCore, target: string | SipUri, o: InviteOptions) {
    super();
    this.onListenerError = (event, err) => ua.listenerError(`uac ${event}`, err);
    this.ua = ua;
    this.o = o;
    this.uri = typeof target === 'string' ? parseUri(target, 'Request-URI') : target;
    if (!this.uri.isSip) throw new UaError('DPBX_ERR_UA_TARGET', `cannot call a ${this.uri.scheme}: URI`);
    this.callId = o.callId ?? generateCallId();
    this.fromTag = generateTag();
    this.result = new Promise<InviteResult>((resolve) => (this.settle = resolve));
    this.link = {
      tu: {
        receiveResponse: (res, tx) => this.receiveResponse(res, tx),
        transactionEnded: (tx) => this.transactionEnded(tx),
      },
    };
    this._request = this.build(1);
    if (o.auth !== undefined) this.digest = new DigestClient(o.auth);
  }

  get state(): UacInviteState {
    return this._state;
  }

  /** The INVITE as last sent (after a challenge: the authenticated one). */
  get request(): SipRequest {
    return this._request;
  }

  get session(): Session | undefined {
    return this._session;
  }

  private transition(to: UacInviteState): void {
    if (this._state === to) return;
    if (!LEGAL[this._state].includes(to)) throw new UaError('DPBX_ERR_UA_STATE', `INVITE ${this._state} → ${to}`);
    this._state = to;
  }

  private build(cseq: number): SipRequest {
    const transport = this.ua.transportFor(this.uri, this.o.destination);
    const from = this.o.from ?? `<sip:anonymous@${this.ua.hostPort(transport)}>`;
    const req = createRequest({
      method: 'INVITE', uri: this.uri, from, to: this.o.to ?? new SipUriNameAddr(this.uri).toString(),
      fromTag: this.fromTag, callId: this.callId, cseq, via: this.ua.via(transport),
      contact: this.ua.contact(transport),
    });
    for (const r of this.o.route ?? []) req.append('Route', r);
    req.set('Allow', this.ua.allow.join(', '));
    if (this.ua.supported.length > 0) req.set('Supported', this.ua.supported.join(', '));
    appendHeaders(req, this.o.headers);
    if (this.ua.sessionTimers !== undefined && !req.has('Session-Expires')) {
      // RFC 4028 §7.1: ask for a session interval (Supported: timer is already in our Supported header).
      const h = this.timerHeaders ?? stringHeaders(uacSessionTimerHeaders(this.ua.sessionTimers));
      for (const [k, v] of h) if (k.toLowerCase() !== 'supported') req.append(k, v);
    }
    if (this.o.body !== undefined) {
      req.body = this.o.body;
      req.set('Content-Type', this.o.contentType ?? 'application/sdp');
    }
    this.ua.decorate(req);
    return req;
  }

  /** @internal Send the first INVITE. */
  start(): void {
    this.send(this._request);
  }

  private send(req: SipRequest): void {
    if (this.cancelled) {
      this.fail(487, 'Request Terminated', undefined);
      return;
    }
    void this.ua.startClientTransaction(req, this.o.destination, linkedUser(this.link)).then((tx) => {
      if (tx === undefined) return;
      this.tx = tx as InviteClientTransaction;
      // cancel() was called while the target was being resolved.
      if (this.cancelled) this.tx.cancel(this.cancelReason !== undefined ? { reason: this.cancelReason } : {});
    });
  }

  /**
   * CANCEL the INVITE (RFC 3261 §9.1) with an optional RFC 3326 Reason header value, e.g.
   * `SIP;cause=200;text="Call completed elsewhere"`. Before any provisional response the CANCEL waits for one (the
   * transaction layer holds it). After the call was answered it does nothing (hang up the Session instead).
   * A 2xx that crosses the CANCEL is ACKed and BYEd. Idempotent.
   */
  cancel(reason?: string): void {
    if (this.cancelled || this._state === UacInviteState.Accepted || this._state === UacInviteState.Failed) return;
    this.cancelled = true;
    this.cancelReason = reason;
    this.tx?.cancel(reason !== undefined ? { reason } : {});
  }

  // ------------------------------------------------------------------ responses

  private receiveResponse(res: SipResponse, tx: ClientTransaction | undefined): void {
    // A response of a transaction replaced after a challenge is ignored (tx undefined: a local failure).
    if (tx !== undefined && tx.request !== this._request) return;
    const st = res.status;
    if (st === 100) {
      if (this._state === UacInviteState.Calling) this.transition(UacInviteState.Proceeding);
      this.emit('trying', res);
      return;
    }
    if (st < 200) {
      const out = this.ua.dialogs.receiveInviteResponse(this._request, res);
      if (out.dialog !== undefined && out.created) {
        this.earlyDialogs.add(out.dialog);
        this.ua.registerUsage(out.dialog.key, this);
      }
      if (out.dialog !== undefined && isReliableProvisional(res)) this.prack(out.dialog, res);
      if (this._state === UacInviteState.Calling) this.transition(UacInviteState.Proceeding);
      if (this._state === UacInviteState.Proceeding) this.emit('progress', res, out.dialog);
      return;
    }
    if (st < 300) {
      this.receive2xx(res);
      return;
    }
    this.receiveFailure(res);
  }

  private prack(dialog: Dialog, res: SipResponse): void {
    // RFC 3262 §4: "If a provisional response is received for an initial request, and that response contains a
    // Require header field containing the option tag 100rel, the response is to be sent reliably" ... "the UAC
    // ... MUST generate a PRACK" (once per RSeq, in order).
    try {
      const transport = this.ua.transportFor(dialog.routeSet[0]?.uri ?? dialog.remoteTarget, this.o.destination);
      const r = dialog.receiveReliableProvisional(res, { via: this.ua.via(transport) });
      if (r.prack === undefined) return;
      this.ua.decorate(r.prack);
      void this.ua.request(r.prack, this.o.destination, this.digest);
    } catch (err) {
      this.ua.logger.debug({ err: String(err) }, 'PRACK not sent');
    }
  }

  private receive2xx(res: SipResponse): void {
    const tag = safeToTag(res);
    const lost = tag === undefined ? undefined : this.lostForks.get(tag);
    if (lost !== undefined) {
      // A retransmission of a lost fork's 2xx: the same ACK again (§13.2.2.4).
      void this.ua.sendAck(lost, this.o.destination);
      return;
    }
    const out = this.ua.dialogs.receiveInviteResponse(this._request, res);
    const dialog = out.dialog;
    if (dialog === undefined) {
      this.ua.logger.warn({ callId: this.callId }, '2xx without To tag or Contact: cannot ACK it');
      if (this.winner === undefined) this.fail(502, 'Bad Gateway (unusable 2xx)', res);
      return;
    }
    this.earlyDialogs.delete(dialog);
    let ack: SipRequest;
    try {
      ack = ackFor(this.ua, dialog, res, this.o.destination);
    } catch (err) {
      this.ua.logger.warn({ err: String(err) }, 'cannot build the ACK for a 2xx');
      return;
    }
    // §13.2.2.4: "The UAC core MUST generate an ACK request for each 2xx received from the transaction layer."
    void this.ua.sendAck(ack, this.o.destination);
    if (this.winner === dialog) return; // retransmission of the winning 2xx: ACK re-sent above
    if (this.winner !== undefined || this.cancelled) {
      // §13.2.2.4: "If the dialog identifier in the 2xx response matches the dialog identifier of an existing
      // dialog, the dialog MUST be transitioned to the "confirmed" state ... Otherwise, a new dialog in the
      // "confirmed" state MUST be constructed" ... after ACKing, a UAC that wants only one session sends BYE.
      // A 2xx crossing our CANCEL ends the same way (§9.1: the CANCEL had no effect on an answered INVITE).
      if (tag !== undefined) this.lostForks.set(tag, ack);
      this.ua.unregisterUsage(dialog.key, this);
      byeLostFork(this.ua, dialog, this.o.destination);
      if (this.winner !== undefined) this.emit('forkAnswered', res);
      else this.fail(487, 'Request Terminated (answered after CANCEL, ended with BYE)', res);
      return;
    }
    this.winner = dialog;
    if (tag !== undefined) this.winnerAck = [tag, ack];
    const session = new Session(this.ua, dialog, {
      role: 'uac',
      waitingForAck: false,
      ...(this.o.body !== undefined ? { localSdp: this.o.body.toString() } : {}),
      ...(res.body.length > 0 ? { remoteSdp: res.body.toString('utf8') } : {}),
      ...(this.o.destination !== undefined ? { destination: this.o.destination } : {}),
      ...(this.digest !== undefined ? { digest: this.digest } : {}),
    });
    this._session = session;
    session.on('terminated', () => this.release());
    // RFC 4028 §7.2: the Session-Expires of the 2xx is the agreement (absent: no session timer).
    if (this.ua.sessionTimers !== undefined) session.startTimer(negotiateAsUac(res), 'uac');
    this.transition(UacInviteState.Accepted);
    this.emit('accepted', session, res);
    this.settle({ ok: true, session, response: res });
  }

  private receiveFailure(res: SipResponse): void {
    // The transaction ACKed the non-2xx itself (§17.1.1.3). Early dialogs of this INVITE end (§12.3).
    const out = this.ua.dialogs.receiveInviteResponse(this._request, res);
    for (const d of out.terminated) {
      this.earlyDialogs.delete(d);
      this.ua.unregisterUsage(d.key, this);
    }
    if ((res.status === 401 || res.status === 407) && this.digest !== undefined && !this.cancelled && this.authTries < 2) {
      const auth = this.digest.authorize(res, this._request);
      if (auth !== undefined) {
        // §22.2: "the client SHOULD retry the request ... with the same Call-ID, but a CSeq ... one higher".
        this.authTries++;
        // The digest covers method, Request-URI and body, which the retry keeps (only CSeq and branch change).
        const next = this.build((this._request.cseq?.seq ?? 1) + 1);
        for (const a of auth) next.append(a.header, a.value);
        this._request = next;
        this.send(next);
        return;
      }
    }
    if (res.status === 422 && this.ua.sessionTimers !== undefined && !this.retried422 && !this.cancelled) {
      // RFC 4028 §7.4: retry with Session-Expires and Min-SE at the UAS's Min-SE.
      const h = retryAfter422(res, this.ua.sessionTimers);
      if (h !== undefined) {
        this.retried422 = true;
        this.timerHeaders = stringHeaders(h);
        const next = this.build((this._request.cseq?.seq ?? 1) + 1);
        for (const a of this.digest?.authorizeRequest(next) ?? []) next.append(a.header, a.value);
        this._request = next;
        this.send(next);
        return;
      }
    }
    this.fail(res.status, res.reason, res);
  }

  private fail(status: number, reason: string, res: SipResponse | undefined): void {
    if (this._state === UacInviteState.Accepted || this._state === UacInviteState.Failed) return;
    this.transition(UacInviteState.Failed);
    this.endEarlyDialogs();
    this.emit('failed', status, reason, res);
    this.settle({ ok: false, status, reason, response: res, cancelled: this.cancelled });
    this.release();
  }

  private transactionEnded(tx: ClientTransaction): void {
    if (tx.request !== this._request) return;
    // RFC 6026 Timer M: no more 2xx will be passed up; forks that never answered are over.
    this.endEarlyDialogs();
    if (this._state === UacInviteState.Calling || this._state === UacInviteState.Proceeding) {
      this.fail(408, 'Request Timeout', undefined);
    }
  }

  private endEarlyDialogs(): void {
    for (const d of this.earlyDialogs) {
      if (d.state === DialogState.Early) d.terminate();
      this.ua.unregisterUsage(d.key, this);
    }
    this.earlyDialogs.clear();
  }

  /**
   * The call is over (its session ended, or the INVITE failed): the INVITE's client transaction (RFC 6026 Accepted
   * or Completed, up to 64*T1) goes on with what is left of this INVITE, which re-sends the ACK for a retransmitted
   * 2xx and ACKs and BYEs a late fork's. This object (its
   * Session, dialogs, listeners and the application's closures) is then no longer reachable from the transaction
   * layer, so a finished call does not keep its memory for 32 s (bench/call-rate.js heap per call).
   */
  private release(): void {
    const acks = new Map(this.lostForks);
    if (this.winnerAck !== undefined) acks.set(this.winnerAck[0], this.winnerAck[1]);
    this.link.tu = new AnsweredInvite(this.ua, this._request, this.o.destination, acks);
    this.endEarlyDialogs();
    this.dropListeners();
  }

  // ------------------------------------------------------------------ requests in early dialogs

  /** @internal DialogUsage */
  receiveRequest(req: SipRequest, tx: ServerTransaction): void {
    const incoming = new IncomingRequest(this.ua, req, tx);
    if (this.emit('request', incoming)) return;
    try {
      incoming.respond(req.method === 'UPDATE' || req.method === 'INFO' || req.method === 'OPTIONS' || req.method === 'NOTIFY' ? 200 : 501);
    } catch {
      // transaction gone
    }
  }

  /** @internal DialogUsage */
  receiveAck(): void {}
}

/** What an INVITE's client transaction calls (see UacInvite.release()). */
interface InviteTu {
  receiveResponse(res: SipResponse, tx: ClientTransaction | undefined): void;
  transactionEnded(tx: ClientTransaction): void;
}

/**
 * The transaction user of an INVITE: calls whatever the link points at. Built outside any UacInvite method: closures
 * made inside one would share that method's context, which holds `this`, and keep the UacInvite alive anyway.
 */
function linkedUser(link: { tu: InviteTu }): ClientTransactionUser {
  return {
    receiveResponse: (res, tx) => link.tu.receiveResponse(res, tx),
    terminated: (tx) => link.tu.transactionEnded(tx),
  };
}

/** The ACK for a 2xx (RFC 3261 §13.2.2.4), sent towards the dialog's first route or remote target. */
function ackFor(ua: UaCore, dialog: Dialog, res: SipResponse, destination: SendTarget | undefined): SipRequest {
  const transport = ua.transportFor(dialog.routeSet[0]?.uri ?? dialog.remoteTarget, destination);
  const ack = dialog.createAck(res, { via: ua.via(transport) });
  if (!ack.has('User-Agent')) ua.decorate(ack);
  return ack;
}

/** BYE for the dialog of a 2xx we do not want (a second fork, or one crossing our CANCEL). */
function byeLostFork(ua: UaCore, dialog: Dialog, destination: SendTarget | undefined): void {
  try {
    const transport = ua.transportFor(dialog.routeSet[0]?.uri ?? dialog.remoteTarget, destination);
    const bye = dialog.createBye({ via: ua.via(transport) });
    ua.decorate(bye);
    void ua.request(bye, destination);
  } catch (err) {
    ua.logger.debug({ err: String(err) }, 'BYE for a lost fork not sent');
  }
}

/**
 * What is left of an INVITE once its call is over, for the rest of its client transaction's life: the ACK of each
 * 2xx already answered, re-sent for a retransmission (§13.2.2.4); a 2xx from a fork never seen before is ACKed and
 * BYEd, as during the call.
 */
class AnsweredInvite implements InviteTu {
  constructor(private readonly ua: UaCore, private readonly request: SipRequest,
    private readonly destination: SendTarget | undefined, private readonly acks: Map<string, SipRequest>) {}

  receiveResponse(res: SipResponse, tx: ClientTransaction | undefined): void {
    if (res.status < 200 || res.status >= 300 || (tx !== undefined && tx.request !== this.request)) return;
    const tag = safeToTag(res);
    const known = tag === undefined ? undefined : this.acks.get(tag);
    if (known !== undefined) {
      void this.ua.sendAck(known, this.destination);
      return;
    }
    const dialog = this.ua.dialogs.receiveInviteResponse(this.request, res).dialog;
    if (dialog === undefined || tag === undefined) return;
    let ack: SipRequest;
    try {
      ack = ackFor(this.ua, dialog, res, this.destination);
    } catch (err) {
      this.ua.logger.warn({ err: String(err) }, 'cannot build the ACK for a 2xx');
      return;
    }
    this.acks.set(tag, ack);
    void this.ua.sendAck(ack, this.destination);
    byeLostFork(this.ua, dialog, this.destination);
  }

  transactionEnded(): void {}
}

/** `<uri>` without URI headers, for a default To. */
class SipUriNameAddr {
  constructor(private readonly uri: SipUri) {}
  toString(): string {
    const u = this.uri.clone();
    for (const k of Object.keys(u.headers)) delete u.headers[k];
    return `<${u.toString()}>`;
  }
}

function safeToTag(res: SipResponse): string | undefined {
  try {
    return res.to?.tag;
  } catch {
    return undefined;
  }
}

/** @internal a local final response (408/503) for requests that never left. */
export function localFailure(req: SipRequest, status: number, reason: string): SipResponse {
  return createResponse(req, status, reason);
}
