/**
 * UasInvite: an INVITE we received outside any dialog, until it is answered (RFC 3261 §13.3). The application
 * sends provisional responses (with or without SDP; reliably with 100rel/PRACK, RFC 3262, when the caller
 * supports it), then accept() (→ a Session, 2xx retransmitted until ACK) or reject(). A CANCEL (§9.2) or a BYE on
 * the early dialog (§15) ends it with 487 and the 'cancelled' event.
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { MessageSource } from '../transport/index.js';
import type { InviteServerTransaction, ServerTransaction, TransactionError } from '../transaction/index.js';
import { Dialog, DialogState, ReliableProvisionalSender, addDialogHeaders, type UasSessionTimerResult } from '../dialog/index.js';
import { type DialogUsage, type ResponseOptions, type UaCore, stringHeaders } from './core.js';
import { UaEmitter } from './emitter.js';
import { IncomingRequest } from './incoming-request.js';
import { Session } from './session.js';
import { UaError } from './errors.js';

export enum UasInviteState {
  /** Nothing but (maybe) 100 Trying sent. */
  Received = 'received',
  /** A provisional with our tag went out: an early dialog exists. */
  Early = 'early',
  /** 2xx sent: the Session owns the dialog now. */
  Accepted = 'accepted',
  /** A 3xx-6xx was sent. */
  Rejected = 'rejected',
  /** The caller cancelled (CANCEL, or BYE on the early dialog): 487 sent. */
  Cancelled = 'cancelled',
}

const LEGAL: Record<UasInviteState, UasInviteState[]> = {
  [UasInviteState.Received]: [UasInviteState.Early, UasInviteState.Accepted, UasInviteState.Rejected, UasInviteState.Cancelled],
  [UasInviteState.Early]: [UasInviteState.Early, UasInviteState.Accepted, UasInviteState.Rejected, UasInviteState.Cancelled],
  [UasInviteState.Accepted]: [],
  [UasInviteState.Rejected]: [],
  [UasInviteState.Cancelled]: [],
};

export interface UasInviteEvents {
  /** The caller gave up: CANCEL (RFC 3261 §9.2; its Reason header, RFC 3326, is on the request) or an early BYE. */
  cancelled: [request: SipRequest];
  /** A PRACK acknowledged one of our reliable provisionals (RFC 3262 §3). */
  prack: [prack: SipRequest];
  /** A request in the early dialog other than PRACK/BYE (UPDATE, INFO, ...). Without a listener: 200/501. */
  request: [request: IncomingRequest];
  /** The INVITE transaction failed (transport error, no ACK for a non-2xx). */
  error: [err: Error];
}

export interface ProgressOptions extends ResponseOptions {
  /**
   * Send reliably (RFC 3262, Require: 100rel + RSeq, retransmitted until PRACK) when the caller supports 100rel.
   * When the caller *requires* 100rel every provisional but 100 is reliable anyway.
   */
  reliable?: boolean;
}

export class UasInvite extends UaEmitter<UasInviteEvents> implements DialogUsage {
  readonly request: SipRequest;
  readonly transaction: InviteServerTransaction;
  /** Our To tag for every response of this INVITE (and the dialog). */
  readonly localTag: string;
  private readonly ua: UaCore;
  private _state = UasInviteState.Received;
  private dialog: Dialog | undefined;
  private reliable: ReliableProvisionalSender | undefined;
  private readonly prackWaiters = new Map<SipResponse, { resolve: () => void; reject: (e: Error) => void }>();
  private _session: Session | undefined;
  /** SDP of our last provisional with a body (early media), for a default answer to an early UPDATE. */
  private earlySdp: string | undefined;
  /** @internal RFC 4028 negotiation of the INVITE (set by the UserAgent when session timers are on). */
  sessionTimer: UasSessionTimerResult | undefined;

  /** @internal created by the UserAgent for each new INVITE. */
  constructor(ua: UaCore, request: SipRequest, tx: InviteServerTransaction) {
    super();
    this.onListenerError = (event, err) => ua.listenerError(`invite ${event}`, err);
    this.ua = ua;
    this.request = request;
    this.transaction = tx;
    // §9.2: "The To tag of the response to the CANCEL and the To tag in the response to the original request
    // SHOULD be the same" — use the transaction's tag for everything.
    this.localTag = tx.ensureLocalTag();
    tx.on('cancel', this.onCancel);
    tx.on('transportError', this.onTransportError);
  }

  private readonly onCancel = (cancel: SipRequest): void => this.cancelledBy(cancel);
  private readonly onTransportError = (err: TransactionError): void => void this.emit('error', err);

  /**
   * The call is over: the server transaction (kept 64*T1 for retransmissions) forgets this INVITE, and with it the
   * Session, dialog and the application's closures (bench/call-rate.js heap per call).
   */
  private release(): void {
    this.transaction.off('cancel', this.onCancel);
    this.transaction.off('transportError', this.onTransportError);
    this.dropListeners();
  }

  get state(): UasInviteState {
    return this._state;
  }

  get source(): MessageSource {
    return this.transaction.source;
  }

  /** The Session once accept() was called. */
  get session(): Session | undefined {
    return this._session;
  }

  /** The caller lists 100rel in Supported or Require (RFC 3262 §3). */
  get peerSupports100rel(): boolean {
    return this.has100rel('supported') || this.peerRequires100rel;
  }

  get peerRequires100rel(): boolean {
    return this.has100rel('require');
  }

  private has100rel(which: 'supported' | 'require'): boolean {
    try {
      return this.request[which].some((t) => t.toLowerCase() === '100rel');
    } catch {
      return false;
    }
  }

  private transition(to: UasInviteState): void {
    if (!LEGAL[this._state].includes(to)) throw new UaError('DPBX_ERR_UA_STATE', `INVITE is ${this._state}: cannot go ${to}`);
    this._state = to;
  }

  private checkOpen(what: string): void {
    if (this._state !== UasInviteState.Received && this._state !== UasInviteState.Early) {
      throw new UaError('DPBX_ERR_UA_STATE', `cannot ${what}: INVITE is ${this._state}`);
    }
  }

  private response(status: number, o: ResponseOptions): SipResponse {
    const res = this.ua.buildResponse(this.request, status, o, status > 100 ? this.localTag : false);
    if (status > 100 && status < 300) {
      // §12.1.1: a response that creates a dialog copies Record-Route and carries our Contact.
      addDialogHeaders(this.request, res, this.ua.contact(this.transaction.source.transport));
    }
    return res;
  }

  /**
   * A provisional response: 180 Ringing by default, 183 Session Progress with early-media SDP as `body`. With
   * `reliable` (and a caller that supports 100rel) it is sent with RSeq and retransmitted until PRACK; the promise
   * resolves when the PRACK arrives (unreliable: at once). A second reliable provisional waits for the first's
   * PRACK (RFC 3262 §3). Throws UaError DPBX_ERR_UA_STATE once answered or cancelled.
   */
  progress(status = 180, o: ProgressOptions = {}): Promise<void> {
    this.checkOpen('send a provisional response');
    if (!Number.isInteger(status) || status < 100 || status > 199) throw new UaError('DPBX_ERR_UA_OPTIONS', `progress() needs a 1xx status, got ${status}`);
    const res = this.response(status, o);
    if (status > 100) this.ensureEarlyDialog(res);
    if (o.body !== undefined) this.earlySdp = o.body.toString();
    const reliable = status > 100 && (this.peerRequires100rel || (o.reliable === true && this.peerSupports100rel));
    if (!reliable) {
      this.transaction.respond(res);
      return Promise.resolve();
    }
    this.reliable ??= new ReliableProvisionalSender({
      clock: this.ua.clock,
      t1: this.ua.timerConfig.t1,
      send: (r) => {
        this.transaction.respond(r);
      },
      onTimeout: (r) => {
        // RFC 3262 §3: "If a reliable provisional response is retransmitted for 64*T1 seconds without reception
        // of a corresponding PRACK, the UAS SHOULD reject the original request with a 5xx response."
        this.prackWaiters.get(r)?.reject(new UaError('DPBX_ERR_UA_STATE', 'no PRACK for a reliable provisional within 64*T1'));
        this.prackWaiters.delete(r);
        if (this._state === UasInviteState.Received || this._state === UasInviteState.Early) {
          this.reject(500, { reason: 'Reliable Provisional Not Acknowledged' });
        }
      },
    });
    const p = new Promise<void>((resolve, reject) => this.prackWaiters.set(res, { resolve, reject }));
    p.catch(() => {}); // the caller may ignore the promise
    this.reliable.send(res);
    return p;
  }

  private ensureEarlyDialog(res: SipResponse): void {
    if (this.dialog === undefined) {
      const r = Dialog.uasFromResponse(this.request, res);
      if (r.ok) {
        this.dialog = this.ua.dialogs.add(r.dialog);
        this.ua.registerUsage(this.dialog.key, this);
      } else {
        this.ua.logger.debug({ reason: r.reason }, 'no early dialog for provisional response');
      }
    }
    if (this._state === UasInviteState.Received) this.transition(UasInviteState.Early);
  }

  /**
   * Answer 200 OK (or another 2xx) with `body` (SDP answer, or offer when the INVITE had none). Returns the Session;
   * the 2xx is retransmitted until the ACK arrives (Session 'ack'); after 64*T1 without ACK the Session sends BYE
   * ('ackTimeout'). Throws UaError DPBX_ERR_UA_STATE when already answered or cancelled.
   */
  accept(o: ResponseOptions & { status?: number } = {}): Session {
    this.checkOpen('accept');
    const status = o.status ?? 200;
    if (status < 200 || status > 299) throw new UaError('DPBX_ERR_UA_OPTIONS', `accept() needs a 2xx status, got ${status}`);
    const res = this.response(status, o);
    if (!res.has('Allow')) res.set('Allow', this.ua.allow.join(', '));
    if (!res.has('Supported') && this.ua.supported.length > 0) res.set('Supported', this.ua.supported.join(', '));
    const st = this.sessionTimer;
    if (st?.action === 'accept' && !res.has('Session-Expires')) {
      for (const [k, v] of stringHeaders(st.headers)) res.append(k, v);
    }
    let dialog = this.dialog;
    if (dialog === undefined) {
      const r = Dialog.uasFromResponse(this.request, res);
      if (!r.ok) throw new UaError('DPBX_ERR_UA_STATE', `cannot create the dialog: ${r.reason}`);
      dialog = this.ua.dialogs.add(r.dialog);
    }
    this.dialog = dialog;
    const session = new Session(this.ua, dialog, {
      role: 'uas',
      waitingForAck: true,
      ...(o.body !== undefined ? { localSdp: o.body.toString() } : {}),
      ...(this.request.body.length > 0 ? { remoteSdp: this.request.body.toString('utf8') } : {}),
    });
    if (!session.send2xx(this.transaction, res)) {
      session.finish('dialog-error');
      throw new UaError('DPBX_ERR_UA_STATE', 'the INVITE transaction no longer accepts a 2xx (cancelled?)');
    }
    this._session = session;
    session.on('terminated', () => this.release());
    if (st?.action === 'accept' && st.agreement !== undefined) session.startTimer(st.agreement, 'uas');
    this.transition(UasInviteState.Accepted);
    this.closeReliable();
    return session;
  }

  /**
   * A final non-2xx response (3xx-6xx): `reject(486)`, `reject(302, { headers: { Contact: '<sip:...>' } })`.
   * Ends the early dialog. Throws UaError DPBX_ERR_UA_STATE when already answered or cancelled.
   */
  reject(status = 480, o: ResponseOptions = {}): void {
    this.checkOpen('reject');
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new UaError('DPBX_ERR_UA_OPTIONS', `reject() needs a 3xx-6xx status, got ${status}`);
    const res = this.response(status, o);
    this.transaction.respond(res);
    this.dialog?.localResponseSent(res);
    this.endEarlyDialog();
    this.transition(UasInviteState.Rejected);
    this.closeReliable();
  }

  private cancelledBy(req: SipRequest): void {
    if (this._state !== UasInviteState.Received && this._state !== UasInviteState.Early) return;
    this.transition(UasInviteState.Cancelled);
    this.closeReliable();
    this.endEarlyDialog();
    // The transaction answers 487 after the listeners when none of them sent a final response (§9.2).
    this.emit('cancelled', req);
  }

  private endEarlyDialog(): void {
    const d = this.dialog;
    if (d === undefined) return;
    if (d.state === DialogState.Early) d.terminate();
    this.ua.unregisterUsage(d.key, this);
  }

  private closeReliable(): void {
    this.reliable?.close();
    for (const w of this.prackWaiters.values()) w.reject(new UaError('DPBX_ERR_UA_STATE', `INVITE ${this._state} before PRACK`));
    this.prackWaiters.clear();
  }

  // ------------------------------------------------------------------ requests in the early dialog

  /** @internal DialogUsage */
  receiveRequest(req: SipRequest, tx: ServerTransaction): void {
    if (req.method === 'PRACK') {
      const verdict = this.reliable?.receivePrack(req) ?? { status: 481 as const, reason: 'no reliable provisional pending' };
      tx.respond(this.ua.buildResponse(req, verdict.status, verdict.status === 481 ? { reason: 'Call/Transaction Does Not Exist' } : {}));
      if (verdict.status === 200) {
        const w = this.prackWaiters.get(verdict.acknowledged);
        this.prackWaiters.delete(verdict.acknowledged);
        w?.resolve();
        this.emit('prack', req);
      }
      return;
    }
    if (req.method === 'BYE') {
      // §15: "The caller's UA MAY send a BYE for either confirmed or early dialogs"; we answer it 200 and the
      // INVITE 487 (§15.1.2: "the UAS MUST still respond to any pending requests received for that dialog ...
      // a 487 (Request Terminated)").
      tx.respond(this.ua.buildResponse(req, 200));
      if (this._state === UasInviteState.Received || this._state === UasInviteState.Early) {
        this.transaction.respond(this.response(487, {}));
        this.transition(UasInviteState.Cancelled);
        this.closeReliable();
        this.endEarlyDialog();
        this.emit('cancelled', req);
      }
      return;
    }
    const incoming = new IncomingRequest(this.ua, req, tx);
    if (this.emit('request', incoming)) return;
    try {
      if (req.method === 'UPDATE' && req.body.length > 0) {
        // RFC 3311 §5.2: an offer in UPDATE needs an answer in the 2xx: our early SDP, else 488.
        if (this.earlySdp !== undefined) incoming.respond(200, { body: this.earlySdp });
        else incoming.respond(488);
      } else {
        incoming.respond(req.method === 'UPDATE' || req.method === 'INFO' || req.method === 'OPTIONS' ? 200 : 501);
      }
    } catch {
      // transaction gone
    }
  }

  /** @internal DialogUsage: no ACK belongs to an early dialog. */
  receiveAck(_ack: SipRequest): void {}
}
