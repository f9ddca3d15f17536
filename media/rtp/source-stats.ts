/**
 * Per-source receive statistics (RFC 3550 Appendix A): A.1 sequence validation with probation, extended
 * highest sequence number with cycles, A.3 expected/lost/fraction lost, A.8 interarrival jitter, and the
 * LSR/DLSR bookkeeping for RTCP report blocks. Pure: arrival times are passed in (milliseconds from any
 * monotonic clock), so tests run in virtual time. The relay keeps one instance per leg and direction.
 */
import { SEQ_MOD, SEQ_MASK, tsDiff } from './sequence.js';

/** A.1 constants. */
export const RTP_MAX_DROPOUT = 3000;
export const RTP_MAX_MISORDER = 100;
export const RTP_MIN_SEQUENTIAL = 2;

export interface RtpSourceStatsOptions {
  /** RTP clock rate of the payload (8000 for PCMU/PCMA/G722 in SDP). Needed for jitter. */
  clockRate: number;
  /**
   * Number of sequential packets required before the source is valid (A.1 MIN_SEQUENTIAL, default 2).
   * 0 accepts the first packet at once.
   */
  probation?: number;
}

/** The RTCP report-block figures for this source (RFC 3550 §6.4.1). */
export interface RtpSourceReport {
  ssrc: number;
  /** Fraction lost since the previous report, as an 8-bit fixed-point number (0–255). */
  fractionLost: number;
  /** Cumulative packets lost, clamped to the 24-bit signed range. */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles × 2^16 + max_seq), modulo 2^32. */
  extendedHighestSeq: number;
  /** Interarrival jitter in timestamp units (integer). */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source, 0 if none. */
  lastSr: number;
  /** Delay since that SR in units of 1/65536 s, 0 if none. */
  delaySinceLastSr: number;
}

export class RtpSourceStats {
  readonly clockRate: number;
  ssrc = 0;
  /** Every packet passed to `update`, valid or not. */
  packets = 0;
  /** Payload bytes of every packet passed to `update`. */
  bytes = 0;
  /** Packets `update` rejected (probation, large jumps before a restart is confirmed). */
  invalid = 0;
  /** Packets that restarted the sequence after a large jump (A.1: "two sequential packets — assume restart"). */
  restarts = 0;
  /** Packets counted as received by A.1 (excludes probation and big-jump packets; includes duplicates). */
  received = 0;

  private maxSeq = 0;
  private cycles = 0;
  private baseSeq = 0;
  private badSeq = SEQ_MOD + 1;
  private probation: number;
  private readonly minSequential: number;
  private started = false;
  private expectedPrior = 0;
  private receivedPrior = 0;
  // A.8 jitter, kept as a double in timestamp units; previous packet's arrival (ts units) and RTP timestamp.
  private jitterUnits = 0;
  private prevArrival = 0;
  private prevTs = 0;
  private haveTransit = false;
  private lastSrNtp = 0;
  private lastSrArrivalMs = 0;

  constructor(opts: RtpSourceStatsOptions) {
    if (!(opts.clockRate > 0)) throw new RangeError('clockRate must be positive');
    this.clockRate = opts.clockRate;
    this.minSequential = opts.probation ?? RTP_MIN_SEQUENTIAL;
    this.probation = this.minSequential;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = SEQ_MOD + 1; // so seq == badSeq is false
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
  }

  /**
   * Account one received packet. Returns true when A.1 considers it valid (count it, forward it with
   * confidence), false while on probation or after an unconfirmed large sequence jump.
   */
  update(seq: number, timestamp: number, arrivalMs: number, payloadBytes: number, ssrc?: number): boolean {
    this.packets++;
    this.bytes += payloadBytes;
    if (ssrc !== undefined) this.ssrc = ssrc >>> 0;
    seq &= SEQ_MASK;
    const valid = this.updateSeq(seq);
    if (!valid) {
      this.invalid++;
      return false;
    }
    this.updateJitter(timestamp >>> 0, arrivalMs);
    return true;
  }

  private updateSeq(seq: number): boolean {
    if (!this.started) {
      this.started = true;
      if (this.minSequential === 0) {
        this.initSeq(seq);
        this.received++;
        return true;
      }
      // A.1: init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL;
      this.initSeq(seq);
      this.maxSeq = (seq - 1) & SEQ_MASK;
      this.probation = this.minSequential;
    }
    const udelta = (seq - this.maxSeq) & SEQ_MASK;
    if (this.probation > 0) {
      // A.1: "Source is not valid until MIN_SEQUENTIAL packets with sequential sequence numbers have been received."
      if (seq === ((this.maxSeq + 1) & SEQ_MASK)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSeq(seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = this.minSequential - 1;
        this.maxSeq = seq;
      }
      return false;
    } else if (udelta < RTP_MAX_DROPOUT) {
      // in order, with permissible gap
      if (seq < this.maxSeq) this.cycles += SEQ_MOD; // sequence number wrapped
      this.maxSeq = seq;
    } else if (udelta <= SEQ_MOD - RTP_MAX_MISORDER) {
      // the sequence number made a very large jump
      if (seq === this.badSeq) {
        // Two sequential packets -- assume that the other side restarted without telling us.
        this.initSeq(seq);
        this.restarts++;
        this.haveTransit = false;
      } else {
        this.badSeq = (seq + 1) & SEQ_MASK;
        return false;
      }
    } else {
      // duplicate or reordered packet
    }
    this.received++;
    return true;
  }

  private updateJitter(ts: number, arrivalMs: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    if (this.haveTransit) {
      // A.8: D(i-1,i) = (Rj - Ri) - (Sj - Si); J += (|D| - J) / 16. The timestamp difference is taken with
      // 32-bit wrap-around so a timestamp wrap does not look like a 2^32 jump.
      let d = arrival - this.prevArrival - tsDiff(ts, this.prevTs);
      if (d < 0) d = -d;
      this.jitterUnits += (d - this.jitterUnits) / 16;
    }
    this.haveTransit = true;
    this.prevArrival = arrival;
    this.prevTs = ts;
  }

  /** True once the source passed probation. */
  get valid(): boolean {
    return this.started && this.probation === 0;
  }

  /** A.3: cycles + max_seq (a plain number; not reduced modulo 2^32). */
  get extendedMaxSeq(): number {
    return this.cycles + this.maxSeq;
  }

  /** A.3: expected = extended_max - base_seq + 1 (0 before the source is valid). */
  get expected(): number {
    return this.valid ? this.extendedMaxSeq - this.baseSeq + 1 : 0;
  }

  /** A.3: cumulative lost = expected - received (negative when duplicates arrived). */
  get lost(): number {
    return this.expected - this.received;
  }

  /** Interarrival jitter in timestamp units (A.8, unrounded). */
  get jitter(): number {
    return this.jitterUnits;
  }

  /** Interarrival jitter in milliseconds. */
  get jitterMs(): number {
    return (this.jitterUnits * 1000) / this.clockRate;
  }

  /** Record an RTCP sender report from this source (middle 32 bits of its NTP timestamp) for LSR/DLSR. */
  onSenderReport(ntpMiddle32: number, arrivalMs: number): void {
    this.lastSrNtp = ntpMiddle32 >>> 0;
    this.lastSrArrivalMs = arrivalMs;
  }

  /**
   * The figures of one RTCP report block, and (A.3) the start of a new reporting interval: the fraction lost
   * is computed against the previous call.
   */
  report(nowMs: number): RtpSourceReport {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost =
      expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    // §6.4.1: cumulative lost is a signed 24-bit number; clamp rather than wrap.
    const cumulativeLost = Math.max(-0x800000, Math.min(0x7fffff, this.lost));
    const haveSr = this.lastSrArrivalMs !== 0 || this.lastSrNtp !== 0;
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost,
      extendedHighestSeq: this.extendedMaxSeq >>> 0,
      jitter: Math.floor(this.jitterUnits) >>> 0,
      lastSr: haveSr ? this.lastSrNtp : 0,
      delaySinceLastSr: haveSr ? Math.max(0, Math.round(((nowMs - this.lastSrArrivalMs) * 65536) / 1000)) >>> 0 : 0,
    };
  }
}
