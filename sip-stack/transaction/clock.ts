/**
 * Time source of the transaction layer (and, by re-export, of dialogs and user agents): RFC timers are scheduled
 * through an injected Clock so tests run them in virtual time. `VirtualClock` also satisfies the transport
 * layer's TransportClock shape (setTimeout/clearTimeout), so one virtual clock can drive a whole stack.
 */

/** Opaque handle returned by setTimer(). */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds (monotonic for systemTimerClock, virtual for VirtualClock). */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancel a timer; unknown or already fired handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

/** The real clock: performance.now() and Node timers, unref'd so pending RFC timers never keep a process alive. */
export const systemTimerClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const h = setTimeout(fn, ms);
    h.unref?.();
    return h;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

interface VirtualTimer {
  id: number;
  due: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` runs every timer that falls due inside the window in due
 * order (ties in scheduling order), including timers scheduled by those callbacks, and leaves now() at the end of
 * the window. A throwing callback does not stop the others; the first error is rethrown after the window.
 */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const t: VirtualTimer = { id: ++this.seq, due: this.time + delay, fn };
    this.timers.push(t);
    return t.id;
  }

  clearTimer(handle: TimerHandle): void {
    const i = this.timers.findIndex((t) => t.id === handle);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** TransportClock compatibility. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.setTimer(ms, fn);
  }
  clearTimeout(handle: TimerHandle): void {
    this.clearTimer(handle);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.timers.length;
  }

  /** Due time of the next pending timer, or undefined. */
  nextDue(): number | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers) if (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best?.due;
  }

  /** Move time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    this.advanceTo(this.time + ms);
  }

  /** Move time forward to `target` (never backwards), firing due timers in order. */
  advanceTo(target: number): void {
    let firstError: unknown;
    let failed = false;
    for (;;) {
      let best: VirtualTimer | undefined;
      let bestIdx = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const t = this.timers[i]!;
        if (t.due > target) continue;
        if (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id)) {
          best = t;
          bestIdx = i;
        }
      }
      if (best === undefined) break;
      this.timers.splice(bestIdx, 1);
      if (best.due > this.time) this.time = best.due;
      try {
        best.fn();
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
        }
      }
    }
    if (target > this.time) this.time = target;
    if (failed) throw firstError;
  }

  /** Fire timers until none is left or `limitMs` of virtual time has passed; returns the time advanced. */
  runAll(limitMs = 3_600_000): number {
    const start = this.time;
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due - start > limitMs) break;
      this.advanceTo(due);
    }
    return this.time - start;
  }
}
