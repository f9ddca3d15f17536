/**
 * Session: one confirmed INVITE dialog (RFC 3261 §12-§15) as the application sees it — in-dialog requests in both
 * directions (re-INVITE, UPDATE, BYE, INFO, REFER, NOTIFY, MESSAGE, OPTIONS), the UAS core's 2xx retransmission
 * until ACK (§13.3.1.4) and the UAC core's ACK for 2xx (§13.2.2.4, re-sent for each 2xx retransmission).
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { MessageSource, SendTarget } from '../transport/index.js';
import type { ServerTransaction } from '../transaction/index.js';
import { type Dialog, DialogState, Uas2xxRetransmission, SessionTimer, negotiateAsUac, negotiateAsUas,
  resolveSessionTimerPolicy, type Refresher, type SessionTimerAgreement } from '../dialog/index.js';
import type { DigestClient } from '../auth/index.js';
import { type DialogUsage, type InDialogOptions, type UaCore, stringHeaders } from './core.js';
import { UaEmitter } from './emitter.js';
import { IncomingRequest, type InDialogResponder } from './incoming-request.js';
import { UaError } from './errors.js';

export enum SessionState {
  /** UAS: 2xx sent, waiting for the ACK. UAC: never (the ACK goes out with the 2xx). */
  WaitingForAck = 'waiting-for-ack',
  Confirmed = 'confirmed',
  Terminated = 'terminated',
}

const LEGAL: Record<SessionState, SessionState[]> = {
  [SessionState.WaitingForAck]: [SessionState.Confirmed, SessionState.Terminated],
  [SessionState.Confirmed]: [SessionState.Terminated],
  [SessionState.Terminated]: [],
};

export type TerminationCause = 'local-bye' | 'remote-bye' | 'ack-timeout' | 'session-expired' | 'dialog-error' | 'closed';

export interface SessionEvents {
  /** The ACK for our 2xx arrived (UAS side; also for 2xx to re-INVITEs). */
  ack: [ack: SipRequest];
  /**
   * 64*T1 passed without ACK for our 2xx: RFC 3261 §13.3.1.4 "the session SHOULD be terminated ... with a BYE" —
   * the BYE is sent, then 'terminated' follows.
   */
  ackTimeout: [];
  /** The peer sent BYE (already answered 200). 'terminated' follows. */
  bye: [bye: SipRequest];
  /** re-INVITE: answer with respond(); without a listener it is answered 200 with `localSdp`. */
  reinvite: [request: IncomingRequest];
  /** UPDATE (RFC 3311): without a listener it is answered 200 (with `localSdp` when it carried an offer). */
  update: [request: IncomingRequest];
  /** INFO (RFC 6086); without any listener: 200. */
  info: [request: IncomingRequest];
  /** REFER (RFC 3515); without any listener: 501. */
  refer: [request: IncomingRequest];
  /** NOTIFY (RFC 6665); without any listener: 200. */
  notify: [request: IncomingRequest];
  /** MESSAGE (RFC 3428); without any listener: 200. */
  message: [request: IncomingRequest];
  /** Every other in-dialog request (and the above when they have no specific listener). */
  request: [request: IncomingRequest];
  /** RFC 4028: a session refresh went out (we are the refresher); `ok` is whether it got a 2xx. */
  refreshed: [ok: boolean];
  /** The session ended; the dialog is gone. Emitted once. */
  terminated: [cause: TerminationCause];
}

const SPECIFIC: Record<string, keyof SessionEvents> = {
  INVITE: 'reinvite', UPDATE: 'update', INFO: 'info', REFER: 'refer', NOTIFY: 'notify', MESSAGE: 'message',
};

/** Result of reinvite(). */
export interface ReinviteResult {
  response: SipResponse;
  /** True for a 2xx (the ACK was sent and `localSdp`/`remoteSdp` updated). */
  ok: boolean;
}

export class Session extends UaEmitter<SessionEvents> implements DialogUsage, InDialogResponder {
  readonly dialog: Dialog;
  /** 'uac' when we sent the INVITE, 'uas' when we answered it. */
  readonly role: 'uac' | 'uas';
  /** Our latest SDP (answer or offer that was accepted). */
  localSdp: string | undefined;
  /** The peer's latest SDP. */
  remoteSdp: string | undefined;
  /**
   * Where in-dialog requests go instead of the remote target's address (e.g. the flow a registered client's
   * INVITE came over). Default: resolved from the route set / remote target.
   */
  destination: SendTarget | undefined;
  private readonly ua: UaCore;
  private readonly digest: DigestClient | undefined;
  private _state: SessionState;
  private retrans: Uas2xxRetransmission | undefined;
  private cause: TerminationCause | undefined;
  private timer: SessionTimer | undefined;

  /** @internal created by UasInvite.accept() and UacInvite. */
  constructor(ua: UaCore, dialog: Dialog, o: { role: 'uac' | 'uas'; localSdp?: string; remoteSdp?: string;
    destination?: SendTarget; digest?: DigestClient; waitingForAck: boolean }) {
    super();
    this.onListenerError = (event, err) => ua.listenerError(`session ${event}`, err);
    this.ua = ua;
    this.dialog = dialog;
    this.role = o.role;
    this.localSdp = o.localSdp;
    this.remoteSdp = o.remoteSdp;
    this.destination = o.destination;
    this.digest = o.digest;
    this._state = o.waitingForAck ? SessionState.WaitingForAck : SessionState.Confirmed;
    ua.registerUsage(dialog.key, this);
  }

  get state(): SessionState {
    return this._state;
  }

  /** Dialog id as one string (Call-ID, local tag, remote tag). */
  get id(): string {
    return this.dialog.key;
  }

  get callId(): string {
    return this.dialog.callId;
  }

  get terminationCause(): TerminationCause | undefined {
    return this.cause;
  }

  private transition(to: SessionState): void {
    if (this._state === to) return;
    if (!LEGAL[this._state].includes(to)) throw new UaError('DPBX_ERR_UA_STATE', `session ${this._state} → ${to}`);
    this._state = to;
  }

  // ------------------------------------------------------------------ UAS core: 2xx until ACK

  /**
   * @internal Send a 2xx to an INVITE through its transaction and retransmit it until the ACK (RFC 3261
   * §13.3.1.4): "the 2xx response is passed to the transport with an interval that starts at T1 seconds and
   * doubles for each retransmission until it reaches T2 seconds."
   */
  send2xx(tx: ServerTransaction, res: SipResponse): boolean {
    if (!tx.respond(res)) return false;
    this.dialog.localResponseSent(res);
    this.retrans?.dispose();
    const t = this.ua.timerConfig;
    const retrans = new Uas2xxRetransmission({
      clock: this.ua.clock, t1: t.t1, t2: t.t2,
      retransmit: () => {
        // RFC 6026 §8.7: in Accepted the transaction passes a 2xx from the TU to the transport; after Timer L the
        // transaction is gone and the core sends it itself.
        if (!tx.respond(res)) void this.ua.sendStateless(res, tx.responseTarget);
      },
      onAckTimeout: () => {
        if (this.retrans !== retrans) return;
        this.retrans = undefined;
        this.ua.logger.info({ callId: this.callId }, 'no ACK for 2xx within 64*T1: ending the session with BYE');
        this.emit('ackTimeout');
        void this.hangup('ack-timeout');
      },
    });
    this.retrans = retrans;
    retrans.start();
    return true;
  }

  /** @internal DialogUsage: an ACK of this dialog. */
  receiveAck(ack: SipRequest, _source: MessageSource): void {
    if (this._state === SessionState.Terminated) return;
    if (!this.dialog.receiveAck(ack)) return; // an ACK for an older 2xx, or a retransmitted ACK
    this.retrans?.ackReceived();
    this.retrans = undefined;
    if (ack.body.length > 0) this.remoteSdp = ack.body.toString('utf8');
    if (this._state === SessionState.WaitingForAck) this.transition(SessionState.Confirmed);
    this.emit('ack', ack);
  }

  // ------------------------------------------------------------------ incoming requests

  /** @internal DialogUsage: a request of this dialog that passed the CSeq checks. */
  receiveRequest(req: SipRequest, tx: ServerTransaction): void {
    const m = req.method;
    if (m === 'BYE') {
      // §15.1.2: "the UAS MUST terminate the session and the dialog ... and MUST generate a 2xx response".
      tx.respond(this.ua.buildResponse(req, 200));
      this.emit('bye', req);
      this.finish('remote-bye');
      return;
    }
    if (this._state === SessionState.Terminated) {
      tx.respond(this.ua.buildResponse(req, 481));
      return;
    }
    if ((m === 'INVITE' || m === 'UPDATE') && this.ua.sessionTimers !== undefined) {
      // RFC 4028 §9 applies to every INVITE/UPDATE (a refresh is one): too small → 422 with our Min-SE.
      const st = negotiateAsUas(req, this.ua.sessionTimers);
      if (st.action === 'reject') {
        tx.respond(this.ua.buildResponse(req, st.status, { reason: st.reason, headers: stringHeaders(st.headers) }));
        return;
      }
    }
    const incoming = new IncomingRequest(this.ua, req, tx, this);
    if (m === 'INVITE' || m === 'UPDATE') {
      if (req.body.length > 0) this.pendingOffer.set(req, req.body.toString('utf8'));
    }
    const specific = SPECIFIC[m];
    if (specific !== undefined && this.emit(specific as 'request', incoming)) return;
    if (this.emit('request', incoming)) return;
    this.defaultAnswer(incoming);
  }

  private readonly pendingOffer = new Map<SipRequest, string>();

  /** What an in-dialog request gets when the application does not listen for it. */
  private defaultAnswer(incoming: IncomingRequest): void {
    const m = incoming.method;
    try {
      if (m === 'INVITE' || m === 'UPDATE') {
        // A session refresh (RFC 4028) or an offer nobody listens for: answer with our current SDP.
        const offered = incoming.request.body.length > 0;
        if (m === 'INVITE' || offered) {
          incoming.respond(200, this.localSdp !== undefined ? { body: this.localSdp } : {});
        } else incoming.respond(200);
      } else if (m === 'INFO' || m === 'NOTIFY' || m === 'MESSAGE' || m === 'OPTIONS') {
        incoming.respond(200);
      } else {
        incoming.respond(501);
      }
    } catch (err) {
      this.ua.logger.debug({ err: String(err), method: m }, 'default in-dialog answer not sent');
    }
  }

  /** @internal InDialogResponder: final responses to in-dialog requests go through here. */
  respondInDialog(req: SipRequest, tx: ServerTransaction, res: SipResponse): boolean {
    const ok = res.status >= 200 && res.status < 300;
    const offer = this.pendingOffer.get(req);
    this.pendingOffer.delete(req);
    let agreement: SessionTimerAgreement | undefined;
    let timed = false;
    if (ok && (req.method === 'INVITE' || req.method === 'UPDATE')) {
      // §12.1.1 / RFC 3311 §5.2: a 2xx to a target refresh request carries our Contact.
      if (!res.has('Contact')) res.set('Contact', this.dialog.localTarget?.toString() ?? this.ua.contact(tx.source.transport));
      if (offer !== undefined) this.remoteSdp = offer;
      if (res.body.length > 0) this.localSdp = res.body.toString('utf8');
      if (this.ua.sessionTimers !== undefined) {
        // RFC 4028 §9: the 2xx to a refresh carries the negotiated Session-Expires; it restarts the timer.
        const st = negotiateAsUas(req, this.ua.sessionTimers);
        if (st.action === 'accept') {
          timed = true;
          agreement = st.agreement;
          if (!res.has('Session-Expires')) for (const [k, v] of stringHeaders(st.headers)) res.append(k, v);
        }
      }
    }
    if (timed) this.startTimer(agreement, 'uas');
    if (ok && req.method === 'INVITE') return this.send2xx(tx, res);
    if (!tx.respond(res)) return false;
    this.dialog.localResponseSent(res);
    return true;
  }

  // ------------------------------------------------------------------ outgoing requests

  private transportHint(): SendTarget | undefined {
    return this.destination;
  }

  private build(method: string, o: InDialogOptions & { contact?: boolean }): SipRequest {
    if (this._state === SessionState.Terminated || this.dialog.state === DialogState.Terminated) {
      throw new UaError('DPBX_ERR_UA_STATE', `session is terminated: cannot send ${method}`);
    }
    const uri = this.dialog.routeSet[0]?.uri ?? this.dialog.remoteTarget;
    const transport = this.ua.transportFor(uri, this.transportHint());
    const ct = o.body === undefined ? undefined : (o.contentType ?? (method === 'INVITE' || method === 'UPDATE' ? 'application/sdp' : undefined));
    if (o.body !== undefined && ct === undefined) throw new UaError('DPBX_ERR_UA_OPTIONS', `${method} with a body needs contentType`);
    let headers = o.headers;
    if ((method === 'INVITE' || method === 'UPDATE') && this.ua.sessionTimers !== undefined) {
      headers = [...toPairs(o.headers), ...this.sessionTimerHeaders(toPairs(o.headers))];
    }
    const req = this.dialog.createRequest(method, {
      via: this.ua.via(transport),
      ...(headers !== undefined ? { headers } : {}),
      ...(o.body !== undefined ? { body: o.body } : {}),
      ...(ct !== undefined ? { contentType: ct } : {}),
    });
    this.ua.decorate(req);
    if (this.digest !== undefined) {
      for (const a of this.digest.authorizeRequest(req)) req.append(a.header, a.value);
    }
    return req;
  }

  /**
   * Send any non-INVITE request in the dialog (RFC 3261 §12.2.1.1) and resolve with its final response (a local
   * 408 or 503 when the transaction timed out or the transport failed). BYE goes through bye(), INVITE through
   * reinvite().
   */
  async request(method: string, o: InDialogOptions = {}): Promise<SipResponse> {
    if (method === 'INVITE' || method === 'ACK' || method === 'CANCEL' || method === 'BYE') {
      throw new UaError('DPBX_ERR_UA_OPTIONS', `use ${method === 'INVITE' ? 'reinvite()' : method === 'BYE' ? 'bye()' : 'the transaction layer'} for ${method}`);
    }
    const req = this.build(method, o);
    if (method === 'UPDATE' && o.body !== undefined) this.localSdpOffer = o.body.toString();
    const res = await this.ua.request(req, this.destination, this.digest);
    this.dialog.receiveResponse(res);
    if (method === 'UPDATE' && res.status >= 200 && res.status < 300) {
      if (this.localSdpOffer !== undefined) this.localSdp = this.localSdpOffer;
      if (res.body.length > 0) this.remoteSdp = res.body.toString('utf8');
      if (this.ua.sessionTimers !== undefined) this.startTimer(negotiateAsUac(res), 'uac');
    }
    this.localSdpOffer = undefined;
    this.afterResponse(res);
    return res;
  }

  private localSdpOffer: string | undefined;

  /** UPDATE (RFC 3311), e.g. a new offer: `update({ body: sdp })`. */
  update(o: InDialogOptions = {}): Promise<SipResponse> {
    return this.request('UPDATE', o);
  }

  /** INFO (RFC 6086), e.g. DTMF: `info({ body: 'Signal=5\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' })`. */
  info(o: InDialogOptions = {}): Promise<SipResponse> {
    return this.request('INFO', o);
  }

  /** REFER (RFC 3515) with a Refer-To (and optionally Referred-By in `headers`). */
  refer(referTo: string, o: InDialogOptions = {}): Promise<SipResponse> {
    const headers: Array<[string, string | number]> = [['Refer-To', referTo]];
    appendTo(headers, o.headers);
    return this.request('REFER', { ...o, headers });
  }

  /**
   * NOTIFY (RFC 6665) — e.g. REFER progress (RFC 3515 §2.4.5): `notify({ event: 'refer', state: 'active',
   * body: 'SIP/2.0 180 Ringing', contentType: 'message/sipfrag;version=2.0' })`.
   */
  notify(o: InDialogOptions & { event: string; state: string }): Promise<SipResponse> {
    const headers: Array<[string, string | number]> = [['Event', o.event], ['Subscription-State', o.state]];
    appendTo(headers, o.headers);
    return this.request('NOTIFY', { ...o, headers });
  }

  /** MESSAGE (RFC 3428) inside the dialog. */
  message(body: string, contentType = 'text/plain', o: InDialogOptions = {}): Promise<SipResponse> {
    return this.request('MESSAGE', { ...o, body, contentType });
  }

  /**
   * re-INVITE (RFC 3261 §14.1): a new offer (hold, codec change) or a session refresh. A 2xx is ACKed by us
   * (§13.2.2.4) and updates localSdp/remoteSdp; a 491 means glare — retry after dialog.glareRetryDelayMs().
   * Throws UaError DPBX_ERR_UA_STATE when the session ended, DialogError DPBX_ERR_DIALOG_PENDING while another
   * INVITE is in progress.
   */
  reinvite(o: InDialogOptions = {}): Promise<ReinviteResult> {
    const req = this.build('INVITE', o);
    const offer = o.body?.toString();
    return new Promise<ReinviteResult>((resolve) => {
      let done = false;
      const finish = (res: SipResponse): void => {
        if (done) return;
        done = true;
        const ok = res.status >= 200 && res.status < 300;
        if (ok) {
          if (offer !== undefined) this.localSdp = offer;
          if (res.body.length > 0) this.remoteSdp = res.body.toString('utf8');
          // RFC 4028 §7.2: the 2xx of a refresh is the new agreement (none → no more session timer).
          if (this.ua.sessionTimers !== undefined) this.startTimer(negotiateAsUac(res), 'uac');
        }
        this.afterResponse(res);
        resolve({ response: res, ok });
      };
      void this.ua.startClientTransaction(req, this.destination, {
        receiveResponse: (res) => {
          this.dialog.receiveResponse(res);
          if (res.status < 200) return;
          if (res.status < 300) {
            // §13.2.2.4: the UAC core ACKs every 2xx (retransmissions get the same ACK again).
            try {
              const ack = this.dialog.createAck(res, { via: this.ua.via(this.ua.transportFor(this.ua.nextHop(req), this.destination)) });
              this.ua.decorate(ack);
              void this.ua.sendAck(ack, this.destination);
            } catch (err) {
              this.ua.logger.warn({ err: String(err) }, 'ACK for re-INVITE 2xx not sent');
            }
          }
          finish(res);
        },
      });
    });
  }

  /**
   * RFC 4028 §7.1 headers for an INVITE/UPDATE we send in the dialog: Supported: timer, Session-Expires (the
   * current interval, refresher=uac when we refresh) and Min-SE — unless the caller gave its own.
   */
  private sessionTimerHeaders(given: Array<[string, string | number]>): Array<[string, string | number]> {
    const p = resolveSessionTimerPolicy(this.ua.sessionTimers);
    const has = (name: string): boolean => given.some(([k]) => k.toLowerCase() === name);
    const out: Array<[string, string | number]> = [];
    if (!has('supported')) out.push(['Supported', this.ua.supported.join(', ')]);
    if (!has('session-expires')) {
      const a = this.timer?.agreement;
      out.push(['Session-Expires', a !== undefined && this.timer?.isRefresher ? `${a.interval};refresher=uac` : (a?.interval ?? p.sessionExpires)]);
    }
    if (!has('min-se')) out.push(['Min-SE', p.minSE]);
    return out;
  }

  /** @internal (Re)start the RFC 4028 timer from a negotiated agreement; `localRole` = our role in that transaction. */
  startTimer(agreement: SessionTimerAgreement | undefined, localRole: Refresher): void {
    if (this._state === SessionState.Terminated) return;
    if (agreement === undefined) {
      this.timer?.stop();
      this.timer = undefined;
      return;
    }
    this.timer ??= new SessionTimer({
      clock: this.ua.clock,
      // RFC 4028 §10: the refresher sends a refresh at half the interval (a re-INVITE with the current SDP).
      onRefresh: () => void this.refresh(),
      // RFC 4028 §10: "If no session refresh request is received before the session expires, the UA SHOULD send
      // a BYE request to terminate the session."
      onExpire: () => void this.hangup('session-expired', { reason: 'SIP;cause=408;text="Session timer expired"' }).catch(() => {}),
    });
    this.timer.update(agreement, localRole);
  }

  /** RFC 4028 state of this session: the interval (s) and whether we refresh, when a timer runs. */
  get sessionTimer(): { interval: number; refresher: 'local' | 'remote' } | undefined {
    const a = this.timer?.agreement;
    if (a === undefined || this.timer?.state !== 'running') return undefined;
    return { interval: a.interval, refresher: this.timer.isRefresher ? 'local' : 'remote' };
  }

  private async refresh(): Promise<void> {
    if (this._state === SessionState.Terminated) return;
    try {
      const r = await this.reinvite(this.localSdp !== undefined ? { body: this.localSdp } : {});
      this.emit('refreshed', r.ok);
    } catch (err) {
      // Another INVITE in progress: it refreshes the session too (§10); otherwise the expiry timer ends it.
      this.ua.logger.debug({ err: String(err) }, 'session refresh not sent');
      this.emit('refreshed', false);
    }
  }

  private afterResponse(res: SipResponse): void {
    // §12.2.1.2: 481/408 to an in-dialog request end the dialog (the Dialog did that already).
    if (this.dialog.state === DialogState.Terminated && this._state !== SessionState.Terminated) {
      this.finish(res.status === 481 || res.status === 408 ? 'dialog-error' : 'local-bye');
    }
  }

  /**
   * End the session with BYE (RFC 3261 §15.1.1), optionally with an RFC 3326 Reason. Resolves with the BYE's
   * final response, or undefined when the session had already ended. 'terminated' is emitted at once.
   */
  async bye(o: InDialogOptions & { reason?: string } = {}): Promise<SipResponse | undefined> {
    return this.hangup('local-bye', o);
  }

  private async hangup(cause: TerminationCause, o: InDialogOptions & { reason?: string } = {}): Promise<SipResponse | undefined> {
    if (this._state === SessionState.Terminated) return undefined;
    const headers: Array<[string, string | number]> = [];
    if (o.reason !== undefined) headers.push(['Reason', o.reason]);
    appendTo(headers, o.headers);
    let req: SipRequest;
    try {
      req = this.build('BYE', { ...o, headers });
    } catch (err) {
      this.finish(cause);
      throw err;
    }
    this.finish(cause);
    return this.ua.request(req, this.destination, this.digest);
  }

  /** @internal End without sending anything (UA closing, dialog gone). */
  finish(cause: TerminationCause): void {
    if (this._state === SessionState.Terminated) return;
    this.transition(SessionState.Terminated);
    this.cause = cause;
    this.retrans?.dispose();
    this.retrans = undefined;
    this.timer?.stop();
    this.pendingOffer.clear();
    this.dialog.terminate();
    this.ua.unregisterUsage(this.dialog.key, this);
    this.emit('terminated', cause);
    // Nothing but a refresh already in flight ('refreshed') can be emitted from now on, while the UAS/UAC INVITE
    // objects (and through them this Session) stay up to 64*T1 for retransmissions: the application's closures
    // (a B2BUA call's media and legs) must not stay with them (bench/call-rate.js heap per call).
    this.dropListeners('refreshed');
  }
}

function toPairs(h: InDialogOptions['headers']): Array<[string, string | number]> {
  const out: Array<[string, string | number]> = [];
  appendTo(out, h);
  return out;
}

function appendTo(out: Array<[string, string | number]>, h: InDialogOptions['headers']): void {
  if (h === undefined) return;
  if (Array.isArray(h)) {
    out.push(...h);
    return;
  }
  for (const k of Object.keys(h)) {
    const v = h[k]!;
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, x]);
  }
}
