import type { StateClock } from './types.js';

/** Wall clock (epoch ms, shared across processes through Redis) with unref'd Node timers. */
export const systemStateClock: StateClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    h.unref?.();
    return h;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export function newStateCounters() {
  return { registers: 0, outOfOrder: 0, evictions: 0, expired: 0, unavailable: 0, corrupt: 0, conflicts: 0 };
}
