// Size limits applied while parsing; each violation is a SipParseError with the status named below.

export interface SipLimits {
  /** Whole message (start line + headers + body). Default 65536. Over → 513 Message Too Large. */
  maxMessageBytes: number;
  /** Header section (start line + headers). Default 65536. Over → 513 (stream: fatal). */
  maxHeaderBytes: number;
  /** Body / Content-Length. Default 65536. Over → 413 Request Entity Too Large (stream: fatal). */
  maxBodyBytes: number;
  /** Number of header lines (folded continuations count with their header). Default 256. Over → 513. */
  maxHeaders: number;
  /** One header line after unfolding. Default 8192. Over → 513. */
  maxHeaderLineBytes: number;
  /** Request-URI length. Default 4096. Over → 414 Request-URI Too Long. */
  maxUriLength: number;
}

export const DEFAULT_LIMITS: Readonly<SipLimits> = Object.freeze({
  maxMessageBytes: 65536,
  maxHeaderBytes: 65536,
  maxBodyBytes: 65536,
  maxHeaders: 256,
  maxHeaderLineBytes: 8192,
  maxUriLength: 4096,
});

/** Merge partial limits with the defaults; non-positive or non-finite values are rejected with a TypeError. */
export function resolveLimits(partial?: Partial<SipLimits>): SipLimits {
  if (!partial) return DEFAULT_LIMITS as SipLimits;
  const out = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new TypeError(`SIP limit ${k} must be a positive number`);
  }
  return out;
}
