/**
 * Sliding replay window (RFC 3711 §3.3.2) over packet indices (48-bit SRTP index or 31-bit SRTCP index).
 * A ring of the last `size` accepted indices: index i is in slot i mod size. Inside the window, a slot holding
 * exactly i means "already received"; any other value is older and is overwritten on accept. Allocation-free.
 */
export class ReplayWindow {
  readonly size: number;
  private readonly slots: Float64Array;
  private highest = -1;

  constructor(size = 128) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('replay window size must be a positive integer');
    this.size = size;
    this.slots = new Float64Array(size).fill(-1);
  }

  /** True when `index` may be accepted: newer than the window start and not seen yet. Does not record it. */
  check(index: number): boolean {
    if (index < 0) return false;
    if (index > this.highest) return true;
    if (this.highest - index >= this.size) return false; // too old: left of the window
    return this.slots[index % this.size] !== index;
  }

  /** Record an authenticated index. */
  accept(index: number): void {
    this.slots[index % this.size] = index;
    if (index > this.highest) this.highest = index;
  }

  /** Highest accepted index, -1 before the first. */
  get highestIndex(): number {
    return this.highest;
  }
}
