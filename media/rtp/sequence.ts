/**
 * The one module for RTP wrap-around arithmetic: 16-bit sequence numbers and 32-bit timestamps (RFC 3550),
 * plus sequence-number extension with a cycle count (RFC 3550 Appendix A.1). Everything else in media/ (the
 * per-source statistics, SRTP index estimation, the relay's rewriting) uses these functions instead of doing
 * its own modular arithmetic.
 *
 * Convention: `xDiff(a, b)` is the signed distance `a - b` taken modulo 2^n into [-2^(n-1), 2^(n-1)).
 * `xLessThan(a, b)` is true when `a` comes strictly before `b` (i.e. `xDiff(a, b) < 0`). A distance of exactly
 * half the space (2^15 or 2^31) is ambiguous; it is reported as negative (a is "before" b), a stable choice.
 */

export const SEQ_MOD = 0x10000;
export const SEQ_MASK = 0xffff;
export const TS_MOD = 0x100000000;

/** Signed 16-bit distance a − b, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return ((((a - b) & SEQ_MASK) + 0x8000) & SEQ_MASK) - 0x8000;
}

/** True when sequence number a precedes b (modulo 2^16). */
export function seqLessThan(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

/** a + n modulo 2^16 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK;
}

/** Signed 32-bit distance a − b, in [-2^31, 2^31). */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when timestamp a precedes b (modulo 2^32). */
export function tsLessThan(a: number, b: number): boolean {
  return tsDiff(a, b) < 0;
}

/** a + n modulo 2^32 (n may be negative), as an unsigned number. */
export function tsAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * Extends 16-bit sequence numbers to monotonically comparable numbers (cycles × 2^16 + seq), tolerating
 * reordering: a packet from just before a wrap that arrives after it is placed in the previous cycle.
 * The extended value is a plain JS number (exact up to 2^53), no BigInt.
 */
export class SeqUnwrapper {
  private highest = -1;

  /** Extended sequence number of `seq`; advances the highest seen when `seq` is newer. */
  extend(seq: number): number {
    seq &= SEQ_MASK;
    if (this.highest < 0) {
      this.highest = seq;
      return seq;
    }
    const ext = this.highest + seqDiff(seq, this.highest & SEQ_MASK);
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  /** Highest extended sequence number seen, -1 before the first packet. */
  get highestExtended(): number {
    return this.highest;
  }

  reset(): void {
    this.highest = -1;
  }
}
