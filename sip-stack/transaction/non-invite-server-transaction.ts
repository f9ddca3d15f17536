/**
 * Non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8).
 *
 *                                   |Request received
 *                                   |pass to TU
 *                                   V
 *                             +-----------+
 *                             |           |
 *                             | Trying    |-------------+
 *                             |           |             |
 *                             +-----------+             |200-699 from TU
 *                                   |                   |send response
 *                                   |1xx from TU        |
 *                                   |send response      |
 *                                   |                   |
 *                Request            V      1xx from TU  |
 *                send response+-----------+send response|
 *                    +--------|           |--------+    |
 *                    |        | Proceeding|        |    |
 *                    +------->|           |<-------+    |
 *             +<--------------|           |             |
 *             |Trnsprt Err    +-----------+             |
 *             |Inform TU            |                   |
 *             |                     |                   |
 *             |                     |200-699 from TU    |
 *             |                     |send response      |
 *             |  Request            V                   |
 *             |  send response+-----------+             |
 *             |      +--------|           |             |
 *             |      |        | Completed |<------------+
 *             |      +------->|           |
 *             +<--------------|           |
 *             |Trnsprt Err    +-----------+
 *             |Inform TU            |
 *             |                     |Timer J fires
 *             |                     |-
 *             |                     |
 *             |                     V
 *             |               +-----------+
 *             |               |           |
 *             +-------------->| Terminated|
 *                             |           |
 *                             +-----------+
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { MessageSource, SendTarget } from '../transport/index.js';
import { Transaction, type TransactionEvents } from './transaction.js';
import type { TransactionError } from './errors.js';
import type { TransactionContext } from './types.js';
import { checkResponse } from './invite-server-transaction.js';

export enum NonInviteServerState {
  Trying = 'trying',
  Proceeding = 'proceeding',
  Completed = 'completed',
  Terminated = 'terminated',
}
const S = NonInviteServerState;

/** Legal moves; Proceeding → Proceeding = another provisional response went out. */
const LEGAL: Record<NonInviteServerState, readonly NonInviteServerState[]> = {
  [S.Trying]: [S.Proceeding, S.Completed, S.Terminated],
  [S.Proceeding]: [S.Proceeding, S.Completed, S.Terminated],
  [S.Completed]: [S.Terminated],
  [S.Terminated]: [],
};

export interface NonInviteServerEvents extends TransactionEvents<NonInviteServerState> {
  /** A response could not be sent (§17.2.4); the transaction is terminated. */
  transportError: [err: TransactionError];
}

export class NonInviteServerTransaction extends Transaction<NonInviteServerState, NonInviteServerEvents> {
  readonly kind = 'nist' as const;
  readonly source: MessageSource;
  readonly responseTarget: SendTarget;
  private lastProvisional: SipResponse | undefined;
  private lastFinal: SipResponse | undefined;

  /** @internal created by the TransactionLayer. */
  constructor(ctx: TransactionContext, id: string, request: SipRequest, source: MessageSource, target: SendTarget) {
    super(ctx, id, request, source.transport, S.Trying);
    this.source = source;
    this.responseTarget = target;
  }

  get terminated(): boolean {
    return this._state === S.Terminated;
  }

  get finalSent(): boolean {
    return this.lastFinal !== undefined;
  }

  /** Never true: only INVITE transactions are cancelled (RFC 3261 §9.2 "the CANCEL has no effect"). */
  get cancelled(): false {
    return false;
  }

  /**
   * Send a response from the TU. Returns false (sending nothing) after the final response: §17.2.2 "Any other
   * final responses passed by the TU to the server transaction MUST be discarded while in the "Completed" state."
   * Throws TransactionError DPBX_ERR_TRANSACTION_BAD_RESPONSE when `res` does not belong to the request.
   */
  respond(res: SipResponse): boolean {
    checkResponse(this.request, res);
    if (this._state !== S.Trying && this._state !== S.Proceeding) {
      this.ctx.logger.debug({ tx: this.id, state: this._state, status: res.status }, 'response from TU discarded');
      return false;
    }
    if (res.status < 200) {
      // §17.2.2: "While in the "Trying" state, if the TU passes a provisional response to the server transaction,
      // the server transaction MUST enter the "Proceeding" state. The response MUST be passed to the transport
      // layer for transmission. Any further provisional responses that are received from the TU while in the
      // "Proceeding" state MUST be passed to the transport layer for transmission."
      this.lastProvisional = res;
      this._lastStatus = res.status;
      void this.sendMessage(res, this.responseTarget, false);
      this.transition(S.Proceeding);
    } else {
      // §17.2.2: "If the TU passes a final response (status codes 200-699) to the server while in the
      // "Proceeding" state, the transaction MUST enter the "Completed" state, and the response MUST be passed to
      // the transport layer for transmission." (Same from "Trying".)
      this.lastFinal = res;
      this.lastProvisional = undefined;
      this._lastStatus = res.status;
      void this.sendMessage(res, this.responseTarget, false);
      this.transition(S.Completed);
    }
    return true;
  }

  /** @internal A retransmission of the request matched this transaction. */
  receiveRequest(_req: SipRequest): void {
    this.ctx.counters.absorbed++;
    switch (this._state) {
      case S.Trying:
        // §17.2.2: "Once in the "Trying" state, any further request retransmissions are discarded."
        return;
      case S.Proceeding:
        // §17.2.2: "If a retransmission of the request is received while in the "Proceeding" state, the most
        // recently sent provisional response MUST be passed to the transport layer for retransmission."
        if (this.lastProvisional) void this.sendMessage(this.lastProvisional, this.responseTarget, true);
        return;
      case S.Completed:
        // §17.2.2: "While in the "Completed" state, the server transaction MUST pass the final response to the
        // transport layer for retransmission whenever a retransmission of the request is received."
        if (this.lastFinal) void this.sendMessage(this.lastFinal, this.responseTarget, true);
        return;
      case S.Terminated:
        return;
    }
  }

  private transition(to: NonInviteServerState): void {
    const from = this.enter(to, LEGAL, 'non-INVITE server');
    if (from === undefined) return;
    const T = this.timers;
    if (to === S.Completed) {
      // §17.2.2: "When the server transaction enters the "Completed" state, it MUST set Timer J to fire in 64*T1
      // seconds for unreliable transports, and zero seconds for reliable transports."
      if (T.J === 0) this.transition(S.Terminated);
      else this.arm('J', T.J, () => this.transition(S.Terminated));
    } else if (to === S.Terminated) {
      this.disarmAll();
    }
    if (to === S.Terminated) this.finish();
  }

  protected onTransportError(err: TransactionError): void {
    // §17.2.4: inform the TU and go to Terminated.
    this.emit('transportError', err);
    this.ctx.callTu('transactionError', () => this.ctx.tu.transactionError?.(this, err));
    if (!this.terminated) this.transition(S.Terminated);
  }

  dispose(): void {
    if (this._state !== S.Terminated) {
      this._state = S.Terminated;
      this.finish();
    }
  }
}
