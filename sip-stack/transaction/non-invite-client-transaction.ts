/**
 * Non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6).
 *
 *                                    |Request from TU
 *                                    |send request
 *                Timer E             V
 *                send request  +-----------+
 *                    +---------|           |-------------------+
 *                    |         |  Trying   |  Timer F          |
 *                    +-------->|           |  or Transport Err.|
 *                              +-----------+  inform TU        |
 *                 200-699         |  |                         |
 *                 resp. to TU     |  |1xx                      |
 *                 +---------------+  |resp. to TU              |
 *                 |                  |                         |
 *                 |   Timer E        V       Timer F           |
 *                 |   send req +-----------+ or Transport Err. |
 *                 |  +---------|           | inform TU         |
 *                 |  |         |Proceeding |------------------>|
 *                 |  +-------->|           |-----+             |
 *                 |            +-----------+     |1xx          |
 *                 |              |      ^        |resp to TU   |
 *                 | 200-699      |      +--------+             |
 *                 | resp. to TU  |                             |
 *                 |              |                             |
 *                 |              V                             |
 *                 |            +-----------+                   |
 *                 |            |           |                   |
 *                 |            | Completed |                   |
 *                 |            |           |                   |
 *                 |            +-----------+                   |
 *                 |              ^   |                         |
 *                 |              |   | Timer K                 |
 *                 +--------------+   | -                       |
 *                                    |                         |
 *                                    V                         |
 *              NOTE:           +-----------+                   |
 *                              |           |                   |
 *          transitions         | Terminated|<------------------+
 *          labeled with        |           |
 *          the event           +-----------+
 *          over the action
 *          to take
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { SendTarget } from '../transport/index.js';
import { Transaction, type TransactionEvents } from './transaction.js';
import { TransactionError } from './errors.js';
import type { ClientTransactionUser, TransactionContext } from './types.js';
import { localResponse } from './local-response.js';

export enum NonInviteClientState {
  Trying = 'trying',
  Proceeding = 'proceeding',
  Completed = 'completed',
  Terminated = 'terminated',
}
const S = NonInviteClientState;

/** Legal moves; a self-move in Trying or Proceeding is Timer E firing and re-arming. */
const LEGAL: Record<NonInviteClientState, readonly NonInviteClientState[]> = {
  [S.Trying]: [S.Trying, S.Proceeding, S.Completed, S.Terminated],
  [S.Proceeding]: [S.Proceeding, S.Completed, S.Terminated],
  [S.Completed]: [S.Terminated],
  [S.Terminated]: [],
};

export type NonInviteClientEvents = TransactionEvents<NonInviteClientState>;

export class NonInviteClientTransaction extends Transaction<NonInviteClientState, NonInviteClientEvents> {
  readonly kind = 'nict' as const;
  readonly target: SendTarget;
  private readonly user: ClientTransactionUser;
  private intervalE = 0;

  /** @internal use TransactionLayer.sendRequest(). */
  constructor(ctx: TransactionContext, id: string, request: SipRequest, target: SendTarget, user: ClientTransactionUser) {
    super(ctx, id, request, target.transport, S.Trying);
    this.target = { ...target };
    this.user = user;
  }

  get terminated(): boolean {
    return this._state === S.Terminated;
  }

  /** @internal Send the request and arm Timers E and F. */
  start(): void {
    // §17.1.2.2: "The "Trying" state is entered when the TU initiates a new client transaction with a request.
    // When entering this state, the client transaction SHOULD set timer F to fire in 64*T1 seconds. The request
    // MUST be passed to the transport layer for transmission. If an unreliable transport is in use, the client
    // transaction MUST set timer E to fire in T1 seconds."
    void this.sendMessage(this.request, this.target, false).then((r) => {
      if (r.ok && r.connectionId !== undefined && this.target.connectionId === undefined) this.target.connectionId = r.connectionId;
    });
    this.transition(S.Trying);
  }

  /** @internal A response matched this transaction (§17.1.3). */
  receiveResponse(res: SipResponse): void {
    switch (this._state) {
      case S.Trying:
      case S.Proceeding:
        if (res.status < 200) {
          // §17.1.2.2: "If a provisional response is received while in the "Trying" state, the response MUST be
          // passed to the TU, and then the client transaction SHOULD move to the "Proceeding" state."
          this.toTu(res);
          if (this._state === S.Trying) this.transition(S.Proceeding);
        } else {
          // §17.1.2.2: "If a final response (status codes 200-699) is received while in the "Trying" state, the
          // response MUST be passed to the TU, and the client transaction MUST transition to the "Completed" state."
          this.toTu(res);
          if (!this.terminated) this.transition(S.Completed);
        }
        return;
      case S.Completed:
        // §17.1.2.2: "The "Completed" state exists to buffer any additional response retransmissions that may be
        // received (which is why the client transaction remains there only for unreliable transports)."
        this.ctx.counters.absorbed++;
        return;
      case S.Terminated:
        return;
    }
  }

  private toTu(res: SipResponse): void {
    this._lastStatus = res.status;
    this.ctx.callTu('receiveResponse', () => this.user.receiveResponse(res, this));
  }

  private transition(to: NonInviteClientState): void {
    const from = this.enter(to, LEGAL, 'non-INVITE client');
    if (from === undefined) return;
    const T = this.timers;
    switch (to) {
      case S.Trying:
        if (from === S.Trying && this.intervalE > 0) {
          // §17.1.2.2: "If timer E fires while still in this state, the timer is reset, but this time with a value
          // of MIN(2*T1, T2). When the timer fires again, it is reset to a MIN(4*T1, T2)."
          this.intervalE = Math.min(2 * this.intervalE, T.T2);
          this.arm('E', this.intervalE, () => this.onTimerE());
        } else {
          if (T.E !== null) {
            this.intervalE = T.E;
            this.arm('E', T.E, () => this.onTimerE());
          }
          this.arm('F', T.F, () => this.onTimerF());
        }
        break;
      case S.Proceeding:
        // §17.1.2.2: "If Timer E fires while in the "Proceeding" state, the request MUST be passed to the transport
        // layer for retransmission, and Timer E MUST be reset with a value of T2 seconds." Entering Proceeding
        // from Trying leaves the running Timer E alone.
        if (from === S.Proceeding) {
          this.intervalE = T.T2;
          this.arm('E', T.T2, () => this.onTimerE());
        }
        break;
      case S.Completed:
        this.disarm('E');
        this.disarm('F');
        // §17.1.2.2: "Once the client transaction enters the "Completed" state, it MUST set Timer K to fire in T4
        // seconds for unreliable transports, and zero seconds for reliable transports."
        if (T.K === 0) this.transition(S.Terminated);
        else this.arm('K', T.K, () => this.transition(S.Terminated));
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

  private onTimerE(): void {
    if (this._state !== S.Trying && this._state !== S.Proceeding) return;
    void this.sendMessage(this.request, this.target, true);
    this.transition(this._state);
  }

  private onTimerF(): void {
    // §17.1.2.2: "If Timer F fires while the client transaction is still in the "Trying" state, the client
    // transaction SHOULD inform the TU about the timeout, and then it SHOULD enter the "Terminated" state."
    // (Same in "Proceeding".)
    if (this._state !== S.Trying && this._state !== S.Proceeding) return;
    this.fail(new TransactionError('DPBX_ERR_TRANSACTION_TIMEOUT', `${this.request.method} timed out (Timer F, ${this.timers.F} ms)`), 408);
  }

  protected onTransportError(err: TransactionError): void {
    // §17.1.4: inform the TU and go to Terminated.
    if (this._state === S.Trying || this._state === S.Proceeding) this.fail(err, 503);
  }

  private fail(err: TransactionError, status: 408 | 503): void {
    if (status === 408) this.ctx.counters.timeouts++;
    this.ctx.callTu('transactionError', () => this.ctx.tu.transactionError?.(this, err));
    const handler = status === 408 ? this.user.timeout : this.user.transportError;
    if (handler) this.ctx.callTu(status === 408 ? 'timeout' : 'transportError', () => handler.call(this.user, this, err));
    else this.toTu(localResponse(this.request, status, err));
    if (!this.terminated) this.transition(S.Terminated);
  }

  dispose(): void {
    if (this._state !== S.Terminated) {
      this._state = S.Terminated;
      this.finish();
    }
  }
}
