/**
 * Brute-force protection: failed authentication attempts counted per source in a sliding window. A source with
 * `maxFailures` failures inside the last `windowMs` is blocked until the oldest of those leaves the window.
 * Successes do not reset the count (an attacker holding one valid account could otherwise interleave correct
 * attempts to guess another account's password without limit).
 *
 * A source is an IPv4 address, or the /64 of an IPv6 address (one host usually owns a whole /64, so counting per
 * IPv6 address would be trivial to evade). Memory is bounded: at most `maxSources` are tracked, the least
 * recently failing dropped first.
 */
import { parseIp } from '../config/index.js';

export interface FailureThrottleOptions {
  /** Failures allowed inside the window; the next request is refused. Default 10. */
  maxFailures?: number;
  /** Window length, ms. Default 60 000. */
  windowMs?: number;
  /** Most sources tracked at once. Default 100 000. */
  maxSources?: number;
}

/** The key failures of `address` are counted under. */
export function throttleKey(address: string): string {
  const b = parseIp(address);
  if (!b) return address.toLowerCase();
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  let hex = '';
  for (let i = 0; i < 8; i += 2) hex += (i ? ':' : '') + ((b[i]! << 8) | b[i + 1]!).toString(16);
  return `${hex}::/64`;
}

export class FailureThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxSources: number;
  /** key → failure times, ascending, at most maxFailures kept. Map order = least recently failing first. */
  private readonly failures = new Map<string, number[]>();

  constructor(o: FailureThrottleOptions = {}) {
    this.maxFailures = o.maxFailures ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxSources = o.maxSources ?? 100_000;
    if (!Number.isInteger(this.maxFailures) || this.maxFailures < 1) throw new RangeError('maxFailures must be an integer >= 1');
    if (!(this.windowMs > 0)) throw new RangeError('windowMs must be > 0');
    if (!Number.isInteger(this.maxSources) || this.maxSources < 1) throw new RangeError('maxSources must be an integer >= 1');
  }

  /** Sources tracked now. */
  get size(): number {
    return this.failures.size;
  }

  private recent(key: string, now: number): number[] | undefined {
    const list = this.failures.get(key);
    if (!list) return undefined;
    const from = now - this.windowMs;
    let i = 0;
    while (i < list.length && list[i]! <= from) i++;
    if (i > 0) list.splice(0, i);
    if (list.length === 0) {
      this.failures.delete(key);
      return undefined;
    }
    return list;
  }

  /** Seconds until `address` may try again (0 = not blocked). */
  blockedFor(address: string, now: number): number {
    const list = this.recent(throttleKey(address), now);
    if (!list || list.length < this.maxFailures) return 0;
    // Blocked until the oldest counted failure leaves the window.
    return Math.max(1, Math.ceil((list[list.length - this.maxFailures]! + this.windowMs - now) / 1000));
  }

  /** Count one failure; returns the seconds the source is now blocked for (0 = still allowed). */
  recordFailure(address: string, now: number): number {
    const key = throttleKey(address);
    const list = this.recent(key, now) ?? [];
    list.push(now);
    if (list.length > this.maxFailures) list.splice(0, list.length - this.maxFailures);
    this.failures.delete(key); // re-insert: most recently failing last
    this.failures.set(key, list);
    while (this.failures.size > this.maxSources) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
    return this.blockedFor(address, now);
  }

  /** Drop sources whose failures all left the window (call now and then; lookups also prune lazily). */
  prune(now: number): void {
    for (const key of [...this.failures.keys()]) this.recent(key, now);
  }

  /** Sources blocked at `now` (a gauge for /metrics). */
  blockedSources(now: number): number {
    let n = 0;
    for (const key of [...this.failures.keys()]) {
      const list = this.recent(key, now);
      if (list && list.length >= this.maxFailures) n++;
    }
    return n;
  }
}
