/**
 * Time source of the call engine: epoch milliseconds and cancellable timers. Tests inject a virtual clock so
 * per-destination timeouts and pauses run in virtual time (same shape as lib/state's StateClock).
 */
export interface CallClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemCallClock: CallClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    return setTimeout(fn, ms);
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
