/**
 * X-Dragon-Signature: HMAC-SHA256 over the exact request body, bound to a timestamp so a captured request cannot
 * be replayed later. Header form: `t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * Webhook apps verify it with `verifyHookSignature` (exported by the package).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Dragon-Signature';

export function signHookBody(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface VerifySignatureOptions {
  /** Largest accepted age (and clock skew) of the signature's timestamp, seconds. Default 300. */
  toleranceSec?: number;
  /** Current time in unix seconds (tests). */
  now?: number;
}

/** True when `header` is a valid signature of `body` with `secret`, made within the tolerance window. */
export function verifyHookSignature(
  secret: string,
  header: string | undefined | null,
  body: string,
  opts: VerifySignatureOptions = {},
): boolean {
  if (!header) return false;
  let t: number | undefined;
  let v1: string | undefined;
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) v1 = v;
  }
  if (t === undefined || v1 === undefined) return false;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(signHookBody(secret, body, t).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}
