/**
 * Time source for the transport (idle timeouts, connect timeouts). Injected so tests run in virtual time.
 */
export interface TransportClock {
  /** Milliseconds, monotonic enough for idle accounting. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: performance.now() + Node timers, unref'd so a forgotten layer never keeps the process up. */
export const systemClock: TransportClock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    h.unref?.();
    return h;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
