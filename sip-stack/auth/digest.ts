// The digest computation of RFC 7616 §3.4.1-§3.4.3 (HTTP) as SIP uses it (RFC 3261 §22.4, RFC 8760):
// H(), KD(), A1 / A2, the -sess variants, qop=auth / auth-int and the RFC 2069 form without qop.
// Pure functions: no I/O, no logging (passwords and HA1 values must never reach a log).

import { createHash, timingSafeEqual } from 'node:crypto';

/** Algorithms of the IANA "HTTP Digest Hash Algorithms" registry that SIP uses (RFC 8760 §2). */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess',
  'SHA-512-256', 'SHA-512-256-sess'];

const NODE_HASH: Record<string, string> = { 'MD5': 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

/**
 * The canonical spelling of an algorithm token (matching is case-insensitive, RFC 7616 §3.3); undefined when the
 * token is not one we implement. An absent algorithm means MD5 (RFC 7616 §3.3, RFC 3261 §22.4).
 */
export function normalizeAlgorithm(token: string | undefined): DigestAlgorithm | undefined {
  if (token === undefined) return 'MD5';
  if (typeof token !== 'string') return undefined;
  const u = token.trim().toUpperCase();
  for (const a of DIGEST_ALGORITHMS) if (a.toUpperCase() === u) return a;
  return undefined;
}

/** The hash behind an algorithm ('SHA-256' for 'SHA-256-sess'). */
export function baseAlgorithm(a: DigestAlgorithm): 'MD5' | 'SHA-256' | 'SHA-512-256' {
  return (a.endsWith('-sess') ? a.slice(0, -5) : a) as 'MD5' | 'SHA-256' | 'SHA-512-256';
}

/** Hex length of H() for an algorithm: 32 (MD5) or 64. */
export function hashHexLength(a: DigestAlgorithm): number {
  return baseAlgorithm(a) === 'MD5' ? 32 : 64;
}

/** H(data) as lowercase hex (RFC 7616 §3.4.1). */
export function digestHash(a: DigestAlgorithm, data: string | Buffer): string {
  return createHash(NODE_HASH[baseAlgorithm(a)]!).update(data).digest('hex');
}

/**
 * HA1 = H(username ":" realm ":" passwd) (RFC 7616 §3.4.2). This is what a credentials store may keep instead
 * of the password; it is specific to the realm and the hash, so store one per algorithm you offer.
 * For the -sess algorithms this is the base value; the session HA1 adds nonce and cnonce (sessionHa1()).
 */
export function computeHa1(a: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(a, `${username}:${realm}:${password}`);
}

/** RFC 7616 §3.4.2: for "-sess", A1 = H(unq(username) ":" unq(realm) ":" passwd) ":" unq(nonce) ":" unq(cnonce). */
export function sessionHa1(a: DigestAlgorithm, ha1: string, nonce: string, cnonce: string): string {
  return digestHash(a, `${ha1}:${nonce}:${cnonce}`);
}

/** The inputs of one response computation. */
export interface DigestInput {
  algorithm: DigestAlgorithm;
  /** H(A1) of the base algorithm (not yet session-hashed for -sess algorithms). */
  ha1: string;
  method: string;
  /** The digest-uri value exactly as sent in the credentials. */
  uri: string;
  nonce: string;
  /** 'auth', 'auth-int' or undefined (RFC 2069 compatibility form). */
  qop: string | undefined;
  /** 8 hex digits, required with qop. */
  nc?: string | undefined;
  cnonce?: string | undefined;
  /** Message body, for qop=auth-int. */
  body?: Buffer | undefined;
}

/**
 * request-digest (RFC 7616 §3.4.1): with qop, KD(HA1, nonce ":" nc ":" cnonce ":" qop ":" HA2); without qop
 * (RFC 2069 / RFC 3261 §22.4 compatibility), KD(HA1, nonce ":" HA2). A2 = Method ":" digest-uri, plus
 * ":" H(entity-body) for auth-int (RFC 7616 §3.4.3).
 */
export function computeResponse(i: DigestInput): string {
  const a = i.algorithm;
  let ha1 = i.ha1.toLowerCase();
  if (a.endsWith('-sess')) ha1 = sessionHa1(a, ha1, i.nonce, i.cnonce ?? '');
  const a2 = i.qop === 'auth-int'
    ? `${i.method}:${i.uri}:${digestHash(a, i.body ?? Buffer.alloc(0))}`
    : `${i.method}:${i.uri}`;
  const ha2 = digestHash(a, a2);
  if (i.qop === undefined) return digestHash(a, `${ha1}:${i.nonce}:${ha2}`);
  return digestHash(a, `${ha1}:${i.nonce}:${i.nc ?? ''}:${i.cnonce ?? ''}:${i.qop}:${ha2}`);
}

/** Constant-time comparison of two hex digests (case-insensitive); different lengths compare false. */
export function digestEquals(expected: string, received: string): boolean {
  const a = Buffer.from(expected.toLowerCase(), 'latin1');
  const b = Buffer.from(received.toLowerCase(), 'latin1');
  if (a.length !== b.length) {
    // Still spend one comparison so the time does not depend on where the lengths differ.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** What a credentials store can give for a user: the password, or HA1 values per base algorithm. */
export type DigestSecret =
  | string
  | { password: string }
  | { ha1: string | Partial<Record<'MD5' | 'SHA-256' | 'SHA-512-256', string>> };

/**
 * HA1 for an algorithm from a secret; undefined when the secret holds no HA1 for that hash (or a plain HA1 string
 * whose length does not fit the algorithm).
 */
export function ha1FromSecret(secret: DigestSecret, a: DigestAlgorithm, username: string, realm: string): string | undefined {
  if (typeof secret === 'string') return computeHa1(a, username, realm, secret);
  if (secret === null || typeof secret !== 'object') return undefined;
  if ('password' in secret) return typeof secret.password === 'string' ? computeHa1(a, username, realm, secret.password) : undefined;
  const base = baseAlgorithm(a);
  const raw: unknown = secret.ha1;
  const h = typeof raw === 'string' ? raw : raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[base] : undefined;
  if (typeof h !== 'string' || h.length !== hashHexLength(a) || !/^[0-9a-fA-F]+$/.test(h)) return undefined;
  return h;
}

/**
 * The digest fields a RegHook body carries (SPEC §3): the app re-computes the response with the user's password
 * (or HA1) and compares. Every field is the unquoted value as received.
 */
export interface DigestParams {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string | null | undefined;
  qop?: string | null | undefined;
  nc?: string | null | undefined;
  cnonce?: string | null | undefined;
  method?: string | undefined;
}

/**
 * Check a digest response against a password or a precomputed HA1 (exported for RegHook applications, SPEC §3).
 * `secret` is a password string, `{password}` or `{ha1}`; `method` defaults to `params.method`.
 * Returns false (never throws) for missing fields, an unknown algorithm or a wrong response. This checks the
 * response only: nonce freshness and replay are the PBX's job (DigestServer) before the RegHook is called.
 */
export function verifyDigest(params: DigestParams, secret: DigestSecret, method?: string): boolean {
  if (params === null || typeof params !== 'object') return false;
  const m = method ?? params.method;
  const { username, realm, nonce, uri, response } = params;
  for (const v of [m, username, realm, nonce, uri, response]) if (typeof v !== 'string') return false;
  // RegHook bodies are JSON from an application: optional fields must be strings when present.
  const { algorithm, qop: rawQop, nc, cnonce } = params;
  for (const v of [algorithm, rawQop, nc, cnonce]) if (v !== undefined && v !== null && typeof v !== 'string') return false;
  const a = normalizeAlgorithm(algorithm === '' || algorithm === null ? undefined : algorithm);
  if (a === undefined) return false;
  const qop = rawQop === '' || rawQop === undefined || rawQop === null ? undefined : rawQop.toLowerCase();
  if (qop !== undefined && qop !== 'auth') return false;
  if (qop !== undefined && (typeof nc !== 'string' || typeof cnonce !== 'string')) return false;
  if (a.endsWith('-sess') && typeof cnonce !== 'string') return false;
  if (secret === null || (typeof secret !== 'string' && typeof secret !== 'object')) return false;
  let ha1: string | undefined;
  try {
    ha1 = ha1FromSecret(secret, a, username, realm);
  } catch {
    return false;
  }
  if (ha1 === undefined) return false;
  const expected = computeResponse({ algorithm: a, ha1, method: m!, uri, nonce, qop, nc: nc ?? undefined,
    cnonce: cnonce ?? undefined });
  return digestEquals(expected, response);
}
