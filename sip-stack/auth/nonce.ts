// Stateless server nonces (RFC 7616 §3.3 "nonce" / §5.4): the nonce carries its own issue time and an HMAC
// over that time and the realm, so the server validates it without storage and a restart with the same secret
// keeps accepting the nonces it issued.
//
//   0                   8                  16                                  32 bytes
//   +-------------------+------------------+-----------------------------------+
//   | issued (ms, BE)   | random salt      | HMAC-SHA256(secret, issued||salt||realm)[0..16) |
//   +-------------------+------------------+-----------------------------------+
//   base64url → 43 characters.
//
// Deliberate addition to "timestamp || HMAC(secret, timestamp || realm)": the 64-bit random salt makes two
// nonces issued in the same millisecond different, so the per-nonce nonce-count (replay) state of one client
// is never shared with another client.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const ISSUED = 0;
const SALT = 8;
const MAC = 16;
const MAC_LEN = 16;
const NONCE_BYTES = 32;

/** Wall clock in milliseconds; injected so tests can expire nonces in virtual time. */
export interface AuthClock {
  now(): number;
}

export const systemAuthClock: AuthClock = { now: () => Date.now() };

export type NonceCheck =
  | { ok: true; issuedAt: number; ageMs: number }
  | { ok: false; reason: 'bad-nonce' }
  | { ok: false; reason: 'stale'; issuedAt: number };

export class NonceFactory {
  private readonly secret: Buffer;
  private readonly ttlMs: number;
  private readonly clock: AuthClock;
  /** Issue times may be at most this far in the future (clock skew between cluster nodes sharing a secret). */
  private static readonly FUTURE_SKEW_MS = 5000;

  constructor(secret: Buffer, ttlMs: number, clock: AuthClock) {
    this.secret = secret;
    this.ttlMs = ttlMs;
    this.clock = clock;
  }

  private mac(head: Buffer, realm: string): Buffer {
    return createHmac('sha256', this.secret).update(head).update(realm, 'utf8').digest().subarray(0, MAC_LEN);
  }

  /** A new nonce for a realm. */
  issue(realm: string): string {
    const buf = Buffer.alloc(NONCE_BYTES);
    const now = Math.max(0, Math.floor(this.clock.now()));
    buf.writeUInt32BE(Math.floor(now / 0x100000000), ISSUED);
    buf.writeUInt32BE(now >>> 0, ISSUED + 4);
    randomBytes(8).copy(buf, SALT);
    this.mac(buf.subarray(0, MAC), realm).copy(buf, MAC);
    return buf.toString('base64url');
  }

  /** Decode and authenticate a nonce for a realm: 'bad-nonce' when not ours (or for another realm), 'stale' when expired. */
  check(nonce: string, realm: string): NonceCheck {
    if (nonce.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { ok: false, reason: 'bad-nonce' };
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== NONCE_BYTES) return { ok: false, reason: 'bad-nonce' };
    const expected = this.mac(buf.subarray(0, MAC), realm);
    if (!timingSafeEqual(expected, buf.subarray(MAC))) return { ok: false, reason: 'bad-nonce' };
    const issuedAt = buf.readUInt32BE(ISSUED) * 0x100000000 + buf.readUInt32BE(ISSUED + 4);
    const now = this.clock.now();
    if (issuedAt > now + NonceFactory.FUTURE_SKEW_MS) return { ok: false, reason: 'bad-nonce' };
    const ageMs = Math.max(0, now - issuedAt);
    if (ageMs >= this.ttlMs) return { ok: false, reason: 'stale', issuedAt };
    return { ok: true, issuedAt, ageMs };
  }

  /** Opaque value bound to a nonce (RFC 7616 §3.3: returned unchanged by the client). */
  opaqueFor(nonce: string): string {
    return createHmac('sha256', this.secret).update('opaque:').update(nonce).digest().subarray(0, 12).toString('base64url');
  }
}

/**
 * Nonce-count replay protection (RFC 7616 §3.4 "nc", §5.4): per nonce the highest nc accepted so far; a request
 * must carry a higher one. Memory is bounded: entries leave when their nonce expires (after which the nonce is
 * stale anyway), and when `maxEntries` is exceeded the oldest entry is evicted and every nonce issued no later than
 * it is treated as stale from then on, so eviction can never re-open a replay window.
 */
export class NonceCountTable {
  private readonly entries = new Map<string, { nc: number; expiresAt: number; issuedAt: number }>();
  /** Nonces issued at or before this time that are not in the table count as stale. */
  private floorIssuedAt = -Infinity;
  private readonly maxEntries: number;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** 'ok' when nc is higher than any seen for this nonce, 'replay' when not, 'evicted' when the state was dropped. */
  check(nonce: string, nc: number, issuedAt: number): 'ok' | 'replay' | 'evicted' {
    const e = this.entries.get(nonce);
    if (e !== undefined) return nc > e.nc ? 'ok' : 'replay';
    if (issuedAt <= this.floorIssuedAt) return 'evicted';
    return 'ok';
  }

  /** Record an accepted nc (call only after check() said 'ok' and the response verified). */
  record(nonce: string, nc: number, issuedAt: number, expiresAt: number, now: number): void {
    const e = this.entries.get(nonce);
    if (e !== undefined) {
      if (nc > e.nc) e.nc = nc;
      return;
    }
    this.sweep(now);
    this.entries.set(nonce, { nc, expiresAt, issuedAt });
    while (this.entries.size > this.maxEntries) {
      const first = this.entries.entries().next().value as [string, { issuedAt: number }] | undefined;
      if (first === undefined) break;
      this.entries.delete(first[0]);
      if (first[1].issuedAt > this.floorIssuedAt) this.floorIssuedAt = first[1].issuedAt;
    }
  }

  /** Drop entries whose nonce has expired (insertion order is close to expiry order; stop at the first live one). */
  sweep(now: number): void {
    for (const [k, e] of this.entries) {
      if (e.expiresAt > now) break;
      this.entries.delete(k);
    }
  }
}
