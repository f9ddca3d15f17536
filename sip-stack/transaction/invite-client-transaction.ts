/**
 * INVITE client transaction: RFC 3261 §17.1.1 as updated by RFC 6026 §7.2 (Accepted state, Timer M).
 *
 *                     |INVITE from TU
 *   Timer A fires     |INVITE sent
 *   Reset A,          V                      Timer B fires
 *   INVITE sent +-----------+                or Transport Err.
 *     +---------|           |---------------+inform TU
 *     |         |  Calling  |-------------+ |
 *     +-------->|           |-----------+ | |
 *               +-----------+ 2xx       | | |
 *                  |  |       2xx to TU | | |
 *                  |  |1xx              | | |
 *  300-699 +-------+  |1xx to TU        | | |
 *  ACK sent|          |                 | | |
 *  resp. to TU     V                    | | |
 *  +-------+  +-----------+             | | |
 *  |       |  |           |  2xx to TU  | | |
 *  |       |  |Proceeding |-------------+ | |
 *  |       |  +-----------+             | | |
 *  |       V       |300-699 to TU, ACK  V | |
 *  |  +-----------+ |            +-----------+ 2xx to TU
 *  |  |           |<+            |           |---+
 *  |  | Completed |              | Accepted  |   |
 *  |  |           |              |           |<--+
 *  |  +-----------+              +-----------+
 *  |   300-699 → ACK sent             | Timer M fires
 *  |       | Timer D fires            |
 *  |       V                          V
 *  |   +-----------------------------------+
 *  +-->|            Terminated             |
 *      +-----------------------------------+
 */
import { type SipRequest, type SipResponse, createRequest } from '../message/index.js';
import type { SendTarget } from '../transport/index.js';
import { Transaction, type TransactionEvents } from './transaction.js';
import { TransactionError } from './errors.js';
import type { ClientTransactionUser, TransactionContext } from './types.js';
import { localResponse } from './local-response.js';

export enum InviteClientState {
  Calling = 'calling',
  Proceeding = 'proceeding',
  Accepted = 'accepted',
  Completed = 'completed',
  Terminated = 'terminated',
}
const S = InviteClientState;

/** Legal moves; a self-move re-arms a timer (Calling: Timer A fired; Proceeding: CANCEL sent, §9.1 guard). */
const LEGAL: Record<InviteClientState, readonly InviteClientState[]> = {
  [S.Calling]: [S.Calling, S.Proceeding, S.Accepted, S.Completed, S.Terminated],
  [S.Proceeding]: [S.Proceeding, S.Accepted, S.Completed, S.Terminated],
  [S.Accepted]: [S.Terminated],
  [S.Completed]: [S.Terminated],
  [S.Terminated]: [],
};

export interface CancelOptions {
  /** Value of an RFC 3326 Reason header to put on the CANCEL, e.g. 'SIP;cause=200;text="Call completed elsewhere"'. */
  reason?: string;
  /** Extra headers for the CANCEL. */
  headers?: Array<[string, string]>;
  /** Receives the CANCEL transaction's outcome (200/481, timeout). */
  user?: ClientTransactionUser;
}

export type InviteClientEvents = TransactionEvents<InviteClientState>;

/** @internal The layer's hook to start the CANCEL's own non-INVITE client transaction. */
export type StartCancel = (cancel: SipRequest, target: SendTarget, user: ClientTransactionUser | undefined) => void;

export class InviteClientTransaction extends Transaction<InviteClientState, InviteClientEvents> {
  readonly kind = 'ict' as const;
  /** Where the INVITE goes (ACK and CANCEL go to the same place, §17.1.1.3 / §9.1). */
  readonly target: SendTarget;
  private readonly user: ClientTransactionUser;
  private readonly startCancel: StartCancel;
  private intervalA = 0;
  private ack: SipRequest | undefined;
  private pendingCancel: CancelOptions | undefined;
  private cancelSent = false;

  /** @internal use TransactionLayer.sendRequest(). */
  constructor(ctx: TransactionContext, id: string, request: SipRequest, target: SendTarget, user: ClientTransactionUser, startCancel: StartCancel) {
    super(ctx, id, request, target.transport, S.Calling);
    this.target = { ...target };
    this.user = user;
    this.startCancel = startCancel;
  }

  get terminated(): boolean {
    return this._state === S.Terminated;
  }

  /** True once a CANCEL was sent (or is waiting for the first provisional response). */
  get cancelRequested(): boolean {
    return this.cancelSent || this.pendingCancel !== undefined;
  }

  /** @internal Send the INVITE and arm Timers A and B. */
  start(): void {
    // §17.1.1.2: "The initial state, "calling", MUST be entered when the TU initiates a new client transaction
    // with an INVITE request. The client transaction MUST pass the request to the transport layer for transmission".
    void this.sendMessage(this.request, this.target, false).then((r) => {
      // Keep using the connection the INVITE went out on for the ACK and retransmissions.
      if (r.ok && r.connectionId !== undefined && this.target.connectionId === undefined) this.target.connectionId = r.connectionId;
    });
    this.transition(S.Calling);
  }

  /**
   * Cancel the INVITE (RFC 3261 §9.1). Before any provisional response the CANCEL is held back — "a CANCEL request
   * SHOULD NOT be sent to cancel a request until a provisional response has been received" — and sent when one
   * arrives (dropped if a final response arrives first). After a final response: "the CANCEL SHOULD NOT be sent",
   * returns false. Returns true when the CANCEL is sent or pending.
   */
  cancel(opts: CancelOptions = {}): boolean {
    if (this.cancelRequested) return true;
    if (this._state === S.Calling) {
      this.pendingCancel = opts;
      return true;
    }
    if (this._state === S.Proceeding) {
      this.sendCancel(opts);
      return true;
    }
    return false;
  }

  private sendCancel(opts: CancelOptions): void {
    this.pendingCancel = undefined;
    this.cancelSent = true;
    const cancel = createCancel(this.request, opts.reason);
    if (opts.headers) for (const [k, v] of opts.headers) cancel.append(k, v);
    this.startCancel(cancel, this.target, opts.user);
    // §9.1: "If no final response has been received after 64*T1 seconds, the client SHOULD consider the original
    // transaction cancelled and SHOULD destroy the client transaction handling the original request."
    this.transition(S.Proceeding);
  }

  /** @internal A response matched this transaction (§17.1.3). */
  receiveResponse(res: SipResponse): void {
    const st = res.status;
    switch (this._state) {
      case S.Calling:
      case S.Proceeding:
        if (st < 200) {
          // §17.1.1.2: "If the client transaction receives a provisional response while in the "Calling" state, it
          // transitions to the "Proceeding" state. ... Furthermore, the provisional response MUST be passed to the TU."
          if (this._state === S.Calling) this.transition(S.Proceeding);
          this.toTu(res);
          if (this.pendingCancel !== undefined && this._state === S.Proceeding) this.sendCancel(this.pendingCancel);
        } else if (st < 300) {
          // RFC 6026 §8.4: "If a 2xx response is received while the client INVITE state machine is in the
          // "Calling" or "Proceeding" states, it MUST transition to the "Accepted" state, pass the 2xx response to
          // the TU, and set Timer M to 64*T1."
          this.pendingCancel = undefined;
          this.transition(S.Accepted);
          this.toTu(res);
        } else {
          // §17.1.1.2: "When in either the "Calling" or "Proceeding" states, reception of a response with status
          // code from 300-699 MUST cause the client transaction to transition to "Completed". The client
          // transaction MUST pass the received response up to the TU, and the client transaction MUST generate an
          // ACK request, even if the transport is reliable".
          this.pendingCancel = undefined;
          this.ack = createAckForNon2xx(this.request, res);
          void this.sendMessage(this.ack, this.target, false);
          this.toTu(res);
          this.transition(S.Completed);
        }
        return;
      case S.Accepted:
        // RFC 6026 §8.4: "Any 2xx responses that match this client transaction and that are received while in the
        // "Accepted" state MUST be passed up to the TU. The client transaction MUST NOT generate an ACK to the 2xx
        // response." Other responses are absorbed.
        if (st >= 200 && st < 300) this.toTu(res);
        else this.ctx.counters.absorbed++;
        return;
      case S.Completed:
        // §17.1.1.2: "Any retransmissions of the final response that are received while in the "Completed" state
        // MUST cause the ACK to be re-passed to the transport layer for retransmission, but the newly received
        // response MUST NOT be passed up to the TU."
        this.ctx.counters.absorbed++;
        if (st >= 300 && this.ack) void this.sendMessage(this.ack, this.target, true);
        return;
      case S.Terminated:
        return;
    }
  }

  private toTu(res: SipResponse): void {
    this._lastStatus = res.status;
    this.ctx.callTu('receiveResponse', () => this.user.receiveResponse(res, this));
  }

  private transition(to: InviteClientState): void {
    const from = this.enter(to, LEGAL, 'INVITE client');
    if (from === undefined) return;
    const T = this.timers;
    switch (to) {
      case S.Calling:
        if (from === S.Calling && this.intervalA > 0) {
          // §17.1.1.2: "When timer A fires, the client transaction MUST retransmit the request by passing it to the
          // transport layer, and MUST reset the timer with a value of 2*T1." (then 4*T1, 8*T1, ...; no T2 cap).
          this.intervalA *= 2;
          this.arm('A', this.intervalA, () => this.onTimerA());
        } else {
          // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start timer A with a
          // value of T1. ... For any transport, the client transaction MUST start timer B with a value of 64*T1".
          if (T.A !== null) {
            this.intervalA = T.A;
            this.arm('A', T.A, () => this.onTimerA());
          }
          this.arm('B', T.B, () => this.onTimerB());
        }
        break;
      case S.Proceeding:
        this.disarm('A');
        this.disarm('B');
        // Self-move = CANCEL sent: arm the §9.1 64*T1 guard.
        if (from === S.Proceeding) this.arm('cancel', T.B, () => this.onCancelGuard());
        break;
      case S.Accepted:
        this.disarm('A');
        this.disarm('B');
        this.disarm('cancel');
        // RFC 6026 §8.4: "set Timer M to 64*T1" — "If timer M fires ... the client transaction MUST move to the
        // "Terminated" state."
        this.arm('M', T.M, () => this.transition(S.Terminated));
        break;
      case S.Completed:
        this.disarm('A');
        this.disarm('B');
        this.disarm('cancel');
        // §17.1.1.2: "The client transaction SHOULD start timer D when it enters the "Completed" state, with a
        // value of at least 32 seconds for unreliable transports, and a value of zero seconds for reliable".
        if (T.D === 0) this.transition(S.Terminated);
        else this.arm('D', T.D, () => this.transition(S.Terminated));
        break;
      case S.Terminated:
        this.disarmAll();
        break;
    }
    if (to === S.Terminated) {
      this.finish();
      this.ctx.callTu('terminated', () => this.user.terminated?.(this));
    }
  }

  private onTimerA(): void {
    if (this._state !== S.Calling) return;
    void this.sendMessage(this.request, this.target, true);
    this.transition(S.Calling);
  }

  private onTimerB(): void {
    // §17.1.1.2: "If the client transaction is still in the "Calling" state when timer B fires, the client
    // transaction SHOULD inform the TU that a timeout has occurred. The client transaction MUST NOT generate an ACK."
    if (this._state !== S.Calling) return;
    this.fail(new TransactionError('DPBX_ERR_TRANSACTION_TIMEOUT', `INVITE timed out (Timer B, ${this.timers.B} ms)`), 408);
  }

  private onCancelGuard(): void {
    if (this._state !== S.Proceeding) return;
    this.fail(new TransactionError('DPBX_ERR_TRANSACTION_TIMEOUT', `no final response ${this.timers.B} ms after CANCEL (RFC 3261 §9.1)`), 408);
  }

  protected onTransportError(err: TransactionError): void {
    // §17.1.4: "the client transaction SHOULD inform the TU that a transport failure has occurred, and the client
    // transaction SHOULD transition directly to the "Terminated" state." Only while the INVITE is outstanding; a
    // failed ACK in Completed merely ends the transaction.
    if (this._state === S.Calling || this._state === S.Proceeding) this.fail(err, 503);
    else if (this._state === S.Completed) this.transition(S.Terminated);
  }

  private fail(err: TransactionError, status: 408 | 503): void {
    this.pendingCancel = undefined;
    if (status === 408) this.ctx.counters.timeouts++;
    this.ctx.callTu('transactionError', () => this.ctx.tu.transactionError?.(this, err));
    const handler = status === 408 ? this.user.timeout : this.user.transportError;
    if (handler) this.ctx.callTu(status === 408 ? 'timeout' : 'transportError', () => handler.call(this.user, this, err));
    else this.toTu(localResponse(this.request, status, err));
    this.transition(S.Terminated);
  }

  dispose(): void {
    this.pendingCancel = undefined;
    if (this._state !== S.Terminated) {
      this._state = S.Terminated;
      this.finish();
    }
  }
}

/**
 * RFC 3261 §17.1.1.3 ACK for a non-2xx final response: "The ACK request constructed by the client transaction
 * MUST contain values for the Call-ID, From, and Request-URI that are equal to the values of those header fields
 * in the request passed to the transport by the client transaction ... The To header field in the ACK MUST equal
 * the To header field in the response being acknowledged ... The ACK MUST contain a single Via header field, and
 * this MUST be equal to the top Via header field of the original request. The CSeq header field in the ACK MUST
 * contain the same value for the sequence number as was present in the original request, but the method parameter
 * MUST be equal to "ACK". If the INVITE request whose response is being acknowledged had Route header fields,
 * those header fields MUST appear in the ACK."
 */
export function createAckForNon2xx(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = createRequest({
    method: 'ACK',
    uri: invite.uriText,
    from: invite.get('From') ?? '',
    to: response.get('To') ?? invite.get('To') ?? '',
    callId: invite.callId ?? '',
    cseq: invite.cseq?.seq ?? 1,
    via: invite.get('Via') !== undefined ? topViaText(invite) : undefined,
    maxForwards: 70,
  });
  fixFrom(ack, invite);
  for (const r of invite.getLines('Route')) ack.append('Route', r);
  return ack;
}

/**
 * RFC 3261 §9.1 CANCEL: "The Request-URI, Call-ID, To, the numeric part of CSeq, and From header fields in the
 * CANCEL request MUST be identical to those in the request being cancelled, including tags. A CANCEL constructed by
 * a client MUST have only a single Via header field value matching the top Via value in the request being
 * cancelled. ... If the request being cancelled contains a Route header field, the CANCEL request MUST include
 * that Route header field's values." `reason` adds an RFC 3326 Reason header.
 */
export function createCancel(request: SipRequest, reason?: string): SipRequest {
  const cancel = createRequest({
    method: 'CANCEL',
    uri: request.uriText,
    from: request.get('From') ?? '',
    to: request.get('To') ?? '',
    callId: request.callId ?? '',
    cseq: request.cseq?.seq ?? 1,
    via: request.get('Via') !== undefined ? topViaText(request) : undefined,
    maxForwards: 70,
  });
  fixFrom(cancel, request);
  for (const r of request.getLines('Route')) cancel.append('Route', r);
  if (reason !== undefined) cancel.append('Reason', reason);
  return cancel;
}

function topViaText(req: SipRequest): string {
  const v = req.topVia;
  return v !== undefined ? v.toString() : (req.getAll('Via')[0] ?? '');
}

/** createRequest() adds a From tag when the From has none; keep the original From verbatim instead. */
function fixFrom(out: SipRequest, original: SipRequest): void {
  const f = original.get('From');
  if (f !== undefined) out.set('From', f);
}
