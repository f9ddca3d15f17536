/**
 * INVITE server transaction: RFC 3261 §17.2.1 as updated by RFC 6026 §7.1 (Accepted state, Timer L).
 *
 *                                |INVITE
 *                                |pass INV to TU
 *             INVITE             V send 100 if TU won't in 200 ms
 *             send response+-----------+
 *                 +--------|           |--------+ 101-199 from TU
 *                 |        |           |        | send response
 *                 +------->|           |<-------+
 *                          | Proceeding|
 *                          |           |--------+ Transport Err.
 *                          |           |        | Inform TU
 *                          |           |<-------+
 *                          +-----------+
 *             300-699 from TU |     |2xx from TU
 *             send response   |     |send response
 *              +--------------+     +------------+
 *              |                                 |
 *  INVITE      V          Timer G fires          |
 *  send resp.+-----------+ send response         |
 *   +--------|           |--------+              |
 *   |        | Completed |        |              |
 *   +------->|           |<-------+       INVITE |  2xx from TU
 *            +-----------+         (absorbed)    V  send response
 *               |     |                    +-----------+ --+
 *           ACK |     | Timer H fires      |  Accepted |   |
 *           -   |     | or Transport Err.  +-----------+ <-+
 *               |     | Inform TU               |  ACK → TU
 *               V     |                         |
 *            +-----------+                      | Timer L fires
 *            | Confirmed |                      |
 *            +-----------+                      |
 *               | Timer I fires                 |
 *               V                               V
 *            +-----------------------------------+
 *            |            Terminated             |
 *            +-----------------------------------+
 */
import { type SipRequest, type SipResponse, createResponse, generateTag } from '../message/index.js';
import type { MessageSource, SendTarget } from '../transport/index.js';
import { Transaction, type TransactionEvents } from './transaction.js';
import { TransactionError } from './errors.js';
import type { TransactionContext } from './types.js';

export enum InviteServerState {
  Proceeding = 'proceeding',
  Completed = 'completed',
  Confirmed = 'confirmed',
  Accepted = 'accepted',
  Terminated = 'terminated',
}
const S = InviteServerState;

/**
 * Legal moves. Self-moves: Proceeding → Proceeding = a provisional response went out (the automatic-100 timer is
 * no longer needed); Completed → Completed = Timer G fired and re-arms.
 */
const LEGAL: Record<InviteServerState, readonly InviteServerState[]> = {
  [S.Proceeding]: [S.Proceeding, S.Completed, S.Accepted, S.Terminated],
  [S.Completed]: [S.Completed, S.Confirmed, S.Terminated],
  [S.Confirmed]: [S.Terminated],
  [S.Accepted]: [S.Terminated],
  [S.Terminated]: [],
};

export interface InviteServerEvents extends TransactionEvents<InviteServerState> {
  /**
   * A CANCEL matched this transaction while no final response had been sent (RFC 3261 §9.2). The layer has
   * already answered the CANCEL with 200. After the listeners ran, if still no final response was sent, the
   * transaction answers the INVITE with 487 Request Terminated itself; a listener may send its own final response
   * (e.g. a 487 with a Reason header) instead.
   */
  cancel: [cancel: SipRequest];
  /** The ACK for the non-2xx final response arrived (Completed → Confirmed). */
  ack: [ack: SipRequest];
  /** Timer H fired: the ACK for the non-2xx final response never came (DPBX_ERR_TRANSACTION_NO_ACK). */
  timeout: [err: TransactionError];
  /** A response could not be sent (§17.2.4); the transaction is terminated. */
  transportError: [err: TransactionError];
}

export class InviteServerTransaction extends Transaction<InviteServerState, InviteServerEvents> {
  readonly kind = 'ist' as const;
  /** Where the INVITE came from. */
  readonly source: MessageSource;
  /** Where responses go (RFC 3261 §18.2.2 / RFC 3581 from the top Via and the source). */
  readonly responseTarget: SendTarget;
  private lastProvisional: SipResponse | undefined;
  private lastFinal: SipResponse | undefined;
  private intervalG = 0;
  private _localTag: string | undefined;
  private _cancelled = false;
  /** @internal the layer registers RFC 2543 ACK keys through this. */
  onTaggedResponse: ((tag: string) => void) | undefined;

  /** @internal created by the TransactionLayer. */
  constructor(ctx: TransactionContext, id: string, request: SipRequest, source: MessageSource, target: SendTarget) {
    super(ctx, id, request, source.transport, S.Proceeding);
    this.source = source;
    this.responseTarget = target;
  }

  get terminated(): boolean {
    return this._state === S.Terminated;
  }

  /** True once a final response was sent. */
  get finalSent(): boolean {
    return this._lastStatus !== undefined && this._lastStatus >= 200;
  }

  /** The To tag of the responses sent so far (the first tagged response's), if any. */
  get localTag(): string | undefined {
    return this._localTag;
  }

  /** True when a CANCEL matched this transaction (§9.2). */
  get cancelled(): boolean {
    return this._cancelled;
  }

  /** @internal Arm the automatic-100 timer. */
  start(): void {
    this.transition(S.Proceeding);
  }

  /**
   * Send a response from the TU. Returns false (and sends nothing) when the state does not allow it: a final
   * response was already sent (a 2xx may still be re-sent in Accepted, RFC 6026 §7.1), or the transaction ended —
   * e.g. the TU answers 200 right after a CANCEL made the transaction answer 487. Throws TransactionError
   * DPBX_ERR_TRANSACTION_BAD_RESPONSE when `res` is not a response to this request.
   */
  respond(res: SipResponse): boolean {
    checkResponse(this.request, res);
    const st = res.status;
    switch (this._state) {
      case S.Proceeding:
        this.noteTag(res);
        if (st < 200) {
          // §17.2.1: "The TU passes any number of provisional responses to the server transaction. So long as the
          // server transaction is in the "Proceeding" state, each of these MUST be passed to the transport layer
          // for transmission."
          this.lastProvisional = res;
          this._lastStatus = st;
          void this.sendMessage(res, this.responseTarget, false);
          this.transition(S.Proceeding);
        } else if (st < 300) {
          // RFC 6026 §8.5: "If, while in the "Proceeding" state, the TU passes a 2xx response to the server
          // transaction, the server transaction MUST pass this response to the transport layer for transmission
          // ... The server transaction MUST then transition to the "Accepted" state."
          // Nothing re-sends this 2xx from here (the UAS core retransmits it): it is not kept, nor the provisional.
          this.lastProvisional = undefined;
          this._lastStatus = st;
          void this.sendMessage(res, this.responseTarget, false);
          this.transition(S.Accepted);
        } else {
          // §17.2.1: "While in the "Proceeding" state, if the TU passes a response with status code from 300 to
          // 699 to the server transaction, the response MUST be passed to the transport layer for transmission,
          // and the state machine MUST enter the "Completed" state."
          this.lastFinal = res;
          this.lastProvisional = undefined;
          this._lastStatus = st;
          void this.sendMessage(res, this.responseTarget, false);
          this.transition(S.Completed);
        }
        return true;
      case S.Accepted:
        // RFC 6026 §8.7: "While in the "Accepted" state, if the TU passes a 2xx response, the server transaction
        // MUST pass the response to the transport layer for transmission." (2xx retransmission by the UAS core.)
        if (st >= 200 && st < 300) {
          void this.sendMessage(res, this.responseTarget, true);
          return true;
        }
        return false;
      default:
        this.ctx.logger.debug({ tx: this.id, state: this._state, status: st }, 'response from TU ignored in this state');
        return false;
    }
  }

  /** @internal A request matched this transaction (§17.2.3): an INVITE retransmission or the ACK. */
  receiveRequest(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this._state === S.Completed) {
        // §17.2.1: "If an ACK is received while the server transaction is in the "Completed" state, the server
        // transaction MUST transition to the "Confirmed" state."
        this.emit('ack', req);
        this.transition(S.Confirmed);
      } else if (this._state === S.Accepted) {
        // RFC 6026 §8.7: "... the ACK MUST be passed to the TU" (only reachable with RFC 2543 matching).
        this.ctx.counters.acksToTu++;
        this.ctx.callTu('receiveAck', () => this.ctx.tu.receiveAck?.(req, this.source));
      } else {
        // §17.2.1 Confirmed: "any additional ACK messages ... are absorbed without being passed up to the TU."
        this.ctx.counters.absorbed++;
      }
      return;
    }
    this.ctx.counters.absorbed++;
    switch (this._state) {
      case S.Proceeding:
        // §17.2.1: "If a request retransmission is received while in the "Proceeding" state, the most recent
        // provisional response that was received from the TU MUST be passed to the transport layer".
        if (this.lastProvisional) void this.sendMessage(this.lastProvisional, this.responseTarget, true);
        return;
      case S.Completed:
        // §17.2.1: "while in the "Completed" state, if a request retransmission is received, the server SHOULD pass
        // the response to the transport for retransmission."
        if (this.lastFinal) void this.sendMessage(this.lastFinal, this.responseTarget, true);
        return;
      default:
        // RFC 6026 §8.7 Accepted: "The server transaction MUST NOT pass the INVITE retransmission to the TU"
        // (the UAS core retransmits the 2xx itself). Confirmed: absorbed.
        return;
    }
  }

  /**
   * @internal A CANCEL matched this transaction (RFC 3261 §9.2); the layer already answered it 200. "If the
   * original request was an INVITE ... the UAS SHOULD immediately respond to the INVITE with a 487 (Request
   * Terminated)" — when no final response was sent yet.
   */
  receiveCancel(cancel: SipRequest): void {
    if (this._state !== S.Proceeding || this._cancelled) return;
    this._cancelled = true;
    this.emit('cancel', cancel);
    if (this._state === S.Proceeding) {
      this.respond(createResponse(this.request, 487, undefined, { toTag: this._localTag ?? true }));
    }
  }

  /**
   * @internal The To tag for responses the transaction or layer make up (200 to CANCEL, 487): §9.2 "The To tag of
   * the response to the CANCEL and the To tag in the response to the original request SHOULD be the same."
   */
  ensureLocalTag(): string {
    if (this._localTag === undefined) {
      this._localTag = generateTag();
      this.onTaggedResponse?.(this._localTag);
    }
    return this._localTag;
  }

  private noteTag(res: SipResponse): void {
    if (this._localTag !== undefined || res.status === 100) return;
    const tag = res.to?.tag;
    if (tag === undefined) return;
    this._localTag = tag;
    this.onTaggedResponse?.(tag);
  }

  private transition(to: InviteServerState): void {
    const from = this.enter(to, LEGAL, 'INVITE server');
    if (from === undefined) return;
    const T = this.timers;
    switch (to) {
      case S.Proceeding:
        if (this.lastProvisional === undefined) {
          // §17.2.1: "The server transaction MUST generate a 100 (Trying) response unless it knows that the TU will
          // generate a provisional or final response within 200 ms, in which case it MAY generate a 100 (Trying)
          // response." We wait timers.trying (200 ms) for the TU, then send it; with trying 0, at once.
          if (T.trying === 0) this.onTryingTimer();
          else this.arm('trying', T.trying, () => this.onTryingTimer());
        } else {
          this.disarm('trying');
        }
        break;
      case S.Completed:
        this.disarm('trying');
        // Only Proceeding re-sends the last provisional; the transaction lives on up to 64*T1 (a 183 with SDP
        // per call adds up under load).
        this.lastProvisional = undefined;
        if (from === S.Completed) {
          // §17.2.1: "If timer G fires, the response is passed to the transport layer once more for
          // retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds. From then on, when timer G
          // fires, the response is passed to the transport again for transmission, and timer G is reset with a
          // value that doubles, unless that value exceeds T2, in which case it is reset with the value of T2."
          this.intervalG = Math.min(2 * this.intervalG, T.T2);
          this.arm('G', this.intervalG, () => this.onTimerG());
        } else {
          // §17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds, and is not set to fire for
          // reliable transports. ... When the "Completed" state is entered, timer H MUST be set to fire in 64*T1".
          if (T.G !== null) {
            this.intervalG = T.G;
            this.arm('G', T.G, () => this.onTimerG());
          }
          this.arm('H', T.H, () => this.onTimerH());
        }
        break;
      case S.Confirmed:
        this.disarm('G');
        this.disarm('H');
        // §17.2.1: "When this state is entered, timer I is set to fire in T4 seconds for unreliable transports,
        // and zero seconds for reliable transports."
        if (T.I === 0) this.transition(S.Terminated);
        else this.arm('I', T.I, () => this.transition(S.Terminated));
        break;
      case S.Accepted:
        this.disarm('trying');
        this.lastProvisional = undefined;
        // RFC 6026 §8.7: "Timer L MUST be set to fire in 64*T1" — "If Timer L fires while the INVITE server
        // transaction is in the "Accepted" state, the transaction MUST transition to the "Terminated" state."
        this.arm('L', T.L, () => this.transition(S.Terminated));
        break;
      case S.Terminated:
        this.disarmAll();
        break;
    }
    if (to === S.Terminated) this.finish();
  }

  private onTryingTimer(): void {
    if (this._state !== S.Proceeding || this.lastProvisional !== undefined) return;
    const trying = createResponse(this.request, 100);
    this.lastProvisional = trying;
    this._lastStatus = 100;
    void this.sendMessage(trying, this.responseTarget, false);
  }

  private onTimerG(): void {
    if (this._state !== S.Completed || !this.lastFinal) return;
    void this.sendMessage(this.lastFinal, this.responseTarget, true);
    this.transition(S.Completed);
  }

  private onTimerH(): void {
    // §17.2.1: "If timer H fires while in the "Completed" state, it implies that the ACK was never received. In
    // this case, the server transaction MUST transition to the "Terminated" state, and MUST indicate to the TU
    // that a transaction failure has occurred."
    if (this._state !== S.Completed) return;
    const err = new TransactionError('DPBX_ERR_TRANSACTION_NO_ACK', `no ACK for ${this._lastStatus ?? ''} response (Timer H, ${this.timers.H} ms)`);
    this.ctx.counters.timeouts++;
    this.emit('timeout', err);
    this.ctx.callTu('transactionError', () => this.ctx.tu.transactionError?.(this, err));
    this.transition(S.Terminated);
  }

  protected onTransportError(err: TransactionError): void {
    // §17.2.4: "If the transport layer ... fails, ... the server transaction SHOULD inform the TU that a failure
    // has occurred, and SHOULD transition to the terminated state." (The transport layer already tried the
    // §18.2.2 fallbacks: the connection, then received/sent-by.)
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

/** Reject responses that cannot belong to `req` (programmer errors of the TU). */
export function checkResponse(req: SipRequest, res: SipResponse): void {
  const st = res.status;
  if (!Number.isInteger(st) || st < 100 || st > 699) {
    throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_RESPONSE', `status ${st} out of range`);
  }
  const cseq = res.cseq;
  const rcseq = req.cseq;
  if (cseq === undefined || rcseq === undefined || cseq.seq !== rcseq.seq || cseq.method !== rcseq.method) {
    throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_RESPONSE', 'response CSeq does not match the request');
  }
  if (res.callId !== req.callId) throw new TransactionError('DPBX_ERR_TRANSACTION_BAD_RESPONSE', 'response Call-ID does not match the request');
}
