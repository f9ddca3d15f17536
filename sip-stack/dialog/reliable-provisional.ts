// Reliable provisional responses (RFC 3262): RSeq numbering and retransmission until PRACK on the UAS side,
// in-order acceptance and RAck building on the UAC side.

import { randomInt } from 'node:crypto';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { Clock } from '../transaction/index.js';
import { DialogError } from './errors.js';
import { RetransmitTimer } from './retransmission.js';

/** RFC 3262 §3: "The value of the header field for the first reliable provisional response in a transaction
 * MUST be between 1 and 2**31 - 1. It is RECOMMENDED that it be chosen uniformly in this range." */
export function initialRSeq(): number {
  return randomInt(1, 0x7fffffff);
}

/** Whether a provisional response is sent reliably: Require contains 100rel and RSeq is present (RFC 3262 §4). */
export function isReliableProvisional(res: SipResponse): boolean {
  try {
    return res.status > 100 && res.status < 200 && res.require.some((r) => r.toLowerCase() === '100rel') &&
      res.rseq !== undefined;
  } catch {
    return false;
  }
}

/** RAck value for a PRACK (RFC 3262 §7.2): `RSeq CSeq-number CSeq-method` of the response being acknowledged. */
export function buildRAck(res: SipResponse): string | undefined {
  try {
    const rseq = res.rseq;
    const cseq = res.cseq;
    if (rseq === undefined || cseq === undefined) return undefined;
    return `${rseq} ${cseq.seq} ${cseq.method}`;
  } catch {
    return undefined;
  }
}

export type RSeqVerdict = 'prack' | 'retransmission' | 'out-of-order' | 'not-reliable';

/**
 * UAC side (RFC 3262 §4), one per (early) dialog: which reliable provisionals to PRACK. "If the UAC receives
 * another reliable provisional response to the same request, and its RSeq value is not one higher than the value
 * of the sequence number, that response MUST NOT be acknowledged with a PRACK, and MUST NOT be processed further".
 */
export class RSeqTracker {
  private last: number | undefined;
  private cseq: number | undefined;

  receive(res: SipResponse): RSeqVerdict {
    if (!isReliableProvisional(res)) return 'not-reliable';
    const rseq = res.rseq!;
    const cseq = res.cseq!.seq;
    // RFC 3262 §4: the sequence number "MUST be initialized to the RSeq header field in the first reliable
    // provisional response received for the initial request" — a new INVITE (re-INVITE) starts over.
    if (this.last === undefined || this.cseq !== cseq) {
      this.last = rseq;
      this.cseq = cseq;
      return 'prack';
    }
    if (rseq === this.last + 1) {
      this.last = rseq;
      return 'prack';
    }
    return rseq <= this.last ? 'retransmission' : 'out-of-order';
  }
}

export enum ReliableProvisionalState {
  /** Nothing unacknowledged. */
  Idle = 'idle',
  /** A reliable provisional is being retransmitted until its PRACK. */
  AwaitingPrack = 'awaiting-prack',
  /** 64*T1 passed without PRACK: the INVITE should be rejected with a 5xx. */
  TimedOut = 'timed-out',
  Closed = 'closed',
}

export interface ReliableProvisionalOptions {
  clock: Clock;
  /** Default 500 ms. */
  t1?: number;
  /** Pass a response to the transport (first transmission and retransmissions). */
  send: (res: SipResponse) => void;
  /** A reliable provisional was not PRACKed within 64*T1. */
  onTimeout: (res: SipResponse) => void;
  /** First RSeq (default random, initialRSeq()). */
  firstRSeq?: number;
  /** Reliable provisionals that may wait behind an unacknowledged one (default 8). */
  maxQueue?: number;
}

export type PrackVerdict = { status: 200; acknowledged: SipResponse } | { status: 481; reason: string };

const LEGAL: Record<ReliableProvisionalState, ReliableProvisionalState[]> = {
  [ReliableProvisionalState.Idle]: [ReliableProvisionalState.AwaitingPrack, ReliableProvisionalState.Closed],
  [ReliableProvisionalState.AwaitingPrack]: [ReliableProvisionalState.Idle, ReliableProvisionalState.TimedOut,
    ReliableProvisionalState.Closed],
  [ReliableProvisionalState.TimedOut]: [ReliableProvisionalState.Closed],
  [ReliableProvisionalState.Closed]: [],
};

/**
 * UAS side (RFC 3262 §3), one per INVITE server transaction: numbers reliable provisionals, retransmits the
 * unacknowledged one and matches PRACKs.
 */
export class ReliableProvisionalSender {
  private _state = ReliableProvisionalState.Idle;
  private nextRSeq: number;
  private current: { res: SipResponse; rseq: number; timer: RetransmitTimer } | undefined;
  private readonly queue: SipResponse[] = [];
  private readonly o: ReliableProvisionalOptions;
  private readonly t1: number;
  private readonly maxQueue: number;

  constructor(o: ReliableProvisionalOptions) {
    this.o = o;
    this.t1 = o.t1 ?? 500;
    if (!(this.t1 > 0)) throw new DialogError('DPBX_ERR_DIALOG_OPTIONS', 't1 must be positive');
    const first = o.firstRSeq ?? initialRSeq();
    if (!Number.isInteger(first) || first < 1 || first > 0x7fffffff) {
      throw new DialogError('DPBX_ERR_DIALOG_OPTIONS', 'firstRSeq must be between 1 and 2**31-1');
    }
    this.nextRSeq = first;
    this.maxQueue = o.maxQueue ?? 8;
  }

  get state(): ReliableProvisionalState {
    return this._state;
  }

  /** RSeq of the unacknowledged provisional, if any. */
  get pendingRSeq(): number | undefined {
    return this.current?.rseq;
  }

  /** Retransmissions of the current provisional so far. */
  get retransmissions(): number {
    return this.current?.timer.count ?? 0;
  }

  /**
   * Send a 101-199 reliably: adds `Require: 100rel` and `RSeq`. RFC 3262 §3: "the UAS MUST NOT send a second
   * reliable provisional response until the first is acknowledged" — a second one waits in a queue and goes out
   * after the PRACK. Throws DPBX_ERR_DIALOG_RELIABLE_PENDING when the queue is full, DPBX_ERR_DIALOG_STATE when
   * closed or timed out, DPBX_ERR_DIALOG_OPTIONS for a 100 or a final response.
   */
  send(res: SipResponse): void {
    if (res.status <= 100 || res.status >= 200) {
      throw new DialogError('DPBX_ERR_DIALOG_OPTIONS', 'only 101-199 responses are sent reliably (RFC 3262 §3)');
    }
    if (this._state === ReliableProvisionalState.Closed || this._state === ReliableProvisionalState.TimedOut) {
      throw new DialogError('DPBX_ERR_DIALOG_STATE', `reliable provisional sender is ${this._state}`);
    }
    if (this._state === ReliableProvisionalState.AwaitingPrack) {
      if (this.queue.length >= this.maxQueue) {
        throw new DialogError('DPBX_ERR_DIALOG_RELIABLE_PENDING', 'too many reliable provisionals waiting for PRACK');
      }
      this.queue.push(res);
      return;
    }
    this.transmit(res);
  }

  private transmit(res: SipResponse): void {
    // RFC 3262 §3: "The value of the RSeq in each subsequent reliable provisional response for the same request
    // MUST be greater by exactly one. RSeq numbers MUST NOT wrap around."
    if (this.nextRSeq > 0xffffffff) throw new DialogError('DPBX_ERR_DIALOG_STATE', 'RSeq space exhausted');
    const rseq = this.nextRSeq++;
    if (!res.require.some((r) => r.toLowerCase() === '100rel')) res.append('Require', '100rel');
    res.set('RSeq', rseq);
    // RFC 3262 §3: "The reliable provisional response is passed to the transaction layer periodically with an
    // interval that starts at T1 seconds and doubles for each retransmission" ... "If a reliable provisional
    // response is retransmitted for 64*T1 seconds without reception of a corresponding PRACK, the UAS SHOULD
    // reject the original request with a 5xx response."
    const timer = new RetransmitTimer({
      clock: this.o.clock, t1: this.t1, cap: Infinity, timeout: 64 * this.t1,
      retransmit: () => this.o.send(res),
      onTimeout: () => {
        this.transition(ReliableProvisionalState.TimedOut);
        this.o.onTimeout(res);
      },
    });
    this.current = { res, rseq, timer };
    this.transition(ReliableProvisionalState.AwaitingPrack);
    this.o.send(res);
    timer.start();
  }

  /**
   * Match a PRACK (RFC 3262 §3): "If the PRACK does match an unacknowledged reliable provisional response, it
   * MUST be responded to with a 2xx response" ... "If a PRACK request is received by the UA core that does not
   * match any unacknowledged reliable provisional response, the UAS MUST respond to the PRACK with a 481".
   * On a match the retransmissions stop and the next queued provisional is sent.
   */
  receivePrack(prack: SipRequest): PrackVerdict {
    let rack;
    try {
      rack = prack.rack;
    } catch {
      return { status: 481, reason: 'malformed RAck' };
    }
    const cur = this.current;
    if (rack === undefined) return { status: 481, reason: 'PRACK without RAck' };
    if (cur === undefined || this._state !== ReliableProvisionalState.AwaitingPrack) {
      return { status: 481, reason: 'no unacknowledged reliable provisional' };
    }
    const cseq = cur.res.cseq!;
    if (rack.rseq !== cur.rseq || rack.cseq !== cseq.seq || rack.method !== cseq.method) {
      return { status: 481, reason: 'RAck matches no unacknowledged reliable provisional' };
    }
    cur.timer.stop();
    this.current = undefined;
    this.transition(ReliableProvisionalState.Idle);
    const next = this.queue.shift();
    if (next !== undefined) this.transmit(next);
    return { status: 200, acknowledged: cur.res };
  }

  /** A final response was sent (or the transaction ended): stop retransmitting, drop the queue. Idempotent. */
  close(): void {
    if (this._state !== ReliableProvisionalState.Closed) this.transition(ReliableProvisionalState.Closed);
  }

  private transition(to: ReliableProvisionalState): void {
    if (!LEGAL[this._state].includes(to)) throw new Error(`illegal reliable provisional transition ${this._state} → ${to}`);
    this._state = to;
    if (to === ReliableProvisionalState.Closed || to === ReliableProvisionalState.TimedOut) {
      this.current?.timer.stop();
      if (to === ReliableProvisionalState.Closed) this.current = undefined;
      this.queue.length = 0;
    }
  }
}

