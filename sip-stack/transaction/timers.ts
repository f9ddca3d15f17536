/**
 * RFC 3261 §17 timer values (Table 4 of Appendix A) plus Timers L and M of RFC 6026 §8.11, derived from T1, T2,
 * T4 in one place. Values that differ for reliable transports (TCP, TLS, ...) come out of the same table.
 */

export interface TimerConfig {
  /** RTT estimate, default 500 ms (RFC 3261 §17.1.1.1). */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  t2: number;
  /** Maximum duration a message will remain in the network, default 5 s. */
  t4: number;
  /**
   * Delay before the INVITE server transaction sends 100 Trying on its own (RFC 3261 §17.2.1), default 200 ms;
   * 0 sends it at once, before the TU sees the INVITE.
   */
  trying: number;
}

export const DEFAULT_TIMER_CONFIG: Readonly<TimerConfig> = Object.freeze({ t1: 500, t2: 4000, t4: 5000, trying: 200 });

/** Every timer in milliseconds. A retransmission timer that does not run on reliable transports is null. */
export interface TimerTable {
  readonly reliable: boolean;
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
  /** INVITE request retransmit interval, initially T1, doubling (unreliable only). */
  readonly A: number | null;
  /** INVITE transaction timeout, 64*T1. */
  readonly B: number;
  /** Wait time for response retransmits: >32 s unreliable, 0 reliable. */
  readonly D: number;
  /** Non-INVITE request retransmit interval, initially T1, doubling up to T2 (unreliable only). */
  readonly E: number | null;
  /** Non-INVITE transaction timeout, 64*T1. */
  readonly F: number;
  /** INVITE response retransmit interval, initially T1, doubling up to T2 (unreliable only). */
  readonly G: number | null;
  /** Wait time for ACK receipt, 64*T1. */
  readonly H: number;
  /** Wait time for ACK retransmits: T4 unreliable, 0 reliable. */
  readonly I: number;
  /** Wait time for non-INVITE request retransmits: 64*T1 unreliable, 0 reliable. */
  readonly J: number;
  /** Wait time for response retransmits: T4 unreliable, 0 reliable. */
  readonly K: number;
  /** RFC 6026: wait time for accepted INVITE request retransmits (server, Accepted state), 64*T1. */
  readonly L: number;
  /** RFC 6026: wait time for retransmission of 2xx to INVITE or additional 2xx from other branches, 64*T1. */
  readonly M: number;
  /** Delay of the automatic 100 Trying. */
  readonly trying: number;
}

/**
 * Validate a partial config and fill defaults; throws RangeError on a non-positive or non-finite value (`trying`
 * may be 0).
 */
export function resolveTimerConfig(cfg?: Partial<TimerConfig>): TimerConfig {
  const out: TimerConfig = { ...DEFAULT_TIMER_CONFIG };
  if (cfg) {
    for (const k of ['t1', 't2', 't4', 'trying'] as const) {
      const v = cfg[k];
      if (v === undefined) continue;
      // `trying` may be 0: the automatic 100 goes out at once (RFC 3261 §17.2.1 allows it, "MAY generate").
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && k !== 'trying')) {
        throw new RangeError(k === 'trying' ? 'timer trying must be 0 or a positive number of ms' : `timer ${k} must be a positive number of ms`);
      }
      out[k] = v;
    }
  }
  if (out.t2 < out.t1) throw new RangeError('timer t2 must not be smaller than t1');
  return out;
}

/** The timer table for one transport kind (RFC 3261 Appendix A, RFC 6026 §8.11). */
export function timerValues(cfg: Partial<TimerConfig> | undefined, reliable: boolean): TimerTable {
  const { t1, t2, t4, trying } = resolveTimerConfig(cfg);
  return Object.freeze({
    reliable,
    T1: t1,
    T2: t2,
    T4: t4,
    A: reliable ? null : t1,
    B: 64 * t1,
    // §17.1.1.2: "Timer D ... MUST be set to a value of at least 32 seconds for unreliable transports, and a value
    // of zero seconds for reliable transports." 64*T1 when T1 is larger than the default keeps it "at least".
    D: reliable ? 0 : Math.max(32_000, 64 * t1),
    E: reliable ? null : t1,
    F: 64 * t1,
    G: reliable ? null : t1,
    H: 64 * t1,
    I: reliable ? 0 : t4,
    J: reliable ? 0 : 64 * t1,
    K: reliable ? 0 : t4,
    L: 64 * t1,
    M: 64 * t1,
    trying,
  });
}

/** True for transports with reliable delivery (RFC 3261 §17: everything but UDP here). */
export function isReliableTransport(transport: string): boolean {
  return transport.toLowerCase() !== 'udp';
}
