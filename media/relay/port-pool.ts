/**
 * Allocation of RTP port pairs from [min, max]: the RTP port is even, RTCP uses port + 1 (reserved even when the
 * leg uses rtcp-mux, so a re-INVITE can drop mux without reallocating). Pure bookkeeping: binding happens in the
 * worker; a pair found busy at bind time (another process) is quarantined and skipped.
 */
import { PortsExhaustedError, RelayError } from './errors.js';

export class PortPool {
  readonly min: number;
  readonly max: number;
  private readonly used: Uint8Array; // per pair index: 0 free, 1 allocated, 2 quarantined (busy outside)
  private cursor = 0;
  private inUse = 0;
  private quarantined = 0;

  constructor(min: number, max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || min > max) {
      throw new RelayError('DPBX_ERR_RELAY_OPTIONS', `bad RTP port range ${min}-${max}`);
    }
    this.min = min + (min & 1); // first even port
    this.max = max;
    const pairs = Math.max(0, Math.floor((this.max - this.min + 1) / 2));
    this.used = new Uint8Array(pairs);
  }

  /** Total pairs in the range. */
  get capacity(): number {
    return this.used.length;
  }
  get allocated(): number {
    return this.inUse;
  }
  get free(): number {
    return this.used.length - this.inUse - this.quarantined;
  }

  /** Returns an even RTP port whose pair is free, round-robin (recently released ports are reused last). */
  allocate(): number {
    const n = this.used.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.cursor + i) % n;
      if (this.used[idx] === 0) {
        this.used[idx] = 1;
        this.inUse++;
        this.cursor = (idx + 1) % n;
        return this.min + idx * 2;
      }
    }
    throw new PortsExhaustedError(this.min, this.max);
  }

  release(port: number): void {
    const idx = (port - this.min) >> 1;
    if (idx < 0 || idx >= this.used.length || this.used[idx] !== 1) return; // idempotent
    this.used[idx] = 0;
    this.inUse--;
  }

  /** Marks an allocated pair as busy outside our control (EADDRINUSE at bind); it is not handed out again. */
  quarantine(port: number): void {
    const idx = (port - this.min) >> 1;
    if (idx < 0 || idx >= this.used.length || this.used[idx] !== 1) return;
    this.used[idx] = 2;
    this.inUse--;
    this.quarantined++;
  }

  /** Gives quarantined pairs another chance (called periodically by the relay). */
  clearQuarantine(): void {
    for (let i = 0; i < this.used.length; i++) if (this.used[i] === 2) this.used[i] = 0;
    this.quarantined = 0;
  }
}
