// Exponential retransmission shared by the UAS core's reliable machines: 2xx to INVITE until ACK (RFC 3261
// §13.3.1.4: from T1 doubling up to T2, give up after 64*T1) and reliable provisionals until PRACK (RFC 3262 §3:
// from T1 doubling, give up after 64*T1). Time comes from the injected Clock of sip-stack/transaction.

import type { Clock, TimerHandle } from '../transaction/index.js';

export enum RetransmitState {
  Idle = 'idle',
  Running = 'running',
  Stopped = 'stopped',
  TimedOut = 'timed-out',
}

export interface RetransmitOptions {
  clock: Clock;
  /** First interval (T1). */
  t1: number;
  /** Largest interval (T2 for 2xx; Infinity for reliable provisionals). */
  cap: number;
  /** Give up this long after the first transmission (64*T1). */
  timeout: number;
  /** Called for each retransmission (not for the first transmission, which the caller makes). */
  retransmit: () => void;
  /** Called once when `timeout` passes without stop(). */
  onTimeout: () => void;
}

const LEGAL: Record<RetransmitState, RetransmitState[]> = {
  [RetransmitState.Idle]: [RetransmitState.Running, RetransmitState.Stopped],
  [RetransmitState.Running]: [RetransmitState.Stopped, RetransmitState.TimedOut],
  [RetransmitState.Stopped]: [],
  [RetransmitState.TimedOut]: [RetransmitState.Stopped],
};

/**
 * Offsets (ms after the first transmission) of every retransmission of a schedule: intervals t1, 2*t1, ... capped
 * at `cap`, strictly before `timeout`. Pure; used by the machine below and by tests and docs.
 */
export function retransmitOffsets(t1: number, cap: number, timeout: number): number[] {
  const out: number[] = [];
  let at = 0;
  let interval = t1;
  for (;;) {
    at += interval;
    if (at >= timeout) return out;
    out.push(at);
    interval = Math.min(interval * 2, cap);
  }
}

export class RetransmitTimer {
  private _state = RetransmitState.Idle;
  private interval: number;
  private started = 0;
  private retransmitHandle: TimerHandle | undefined;
  private timeoutHandle: TimerHandle | undefined;
  private _count = 0;
  private readonly o: RetransmitOptions;

  constructor(o: RetransmitOptions) {
    this.o = o;
    this.interval = o.t1;
  }

  get state(): RetransmitState {
    return this._state;
  }

  /** Retransmissions made so far. */
  get count(): number {
    return this._count;
  }

  /** Call right after the first transmission. */
  start(): void {
    this.transition(RetransmitState.Running);
  }

  /** The awaited ACK/PRACK arrived (or the machine is disposed): no more retransmissions, no timeout. */
  stop(): void {
    if (this._state !== RetransmitState.Stopped) this.transition(RetransmitState.Stopped);
  }

  private scheduleNext(): void {
    const o = this.o;
    const elapsed = o.clock.now() - this.started;
    if (elapsed + this.interval >= o.timeout) return;
    this.retransmitHandle = o.clock.setTimer(this.interval, () => {
      this.retransmitHandle = undefined;
      if (this._state !== RetransmitState.Running) return;
      this._count++;
      this.interval = Math.min(this.interval * 2, o.cap);
      this.scheduleNext();
      o.retransmit();
    });
  }

  private transition(to: RetransmitState): void {
    if (!LEGAL[this._state].includes(to)) throw new Error(`illegal retransmit transition ${this._state} → ${to}`);
    const o = this.o;
    this._state = to;
    if (this.retransmitHandle !== undefined) { o.clock.clearTimer(this.retransmitHandle); this.retransmitHandle = undefined; }
    if (to === RetransmitState.Running) {
      this.started = o.clock.now();
      this.scheduleNext();
      this.timeoutHandle = o.clock.setTimer(o.timeout, () => {
        this.timeoutHandle = undefined;
        if (this._state === RetransmitState.Running) {
          this.transition(RetransmitState.TimedOut);
          o.onTimeout();
        }
      });
      return;
    }
    if (this.timeoutHandle !== undefined) { o.clock.clearTimer(this.timeoutHandle); this.timeoutHandle = undefined; }
  }
}
