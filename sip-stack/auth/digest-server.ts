// Server side of SIP digest authentication (RFC 3261 §22.1-§22.4, RFC 7616, RFC 8760): 401/407 challenges with
// one header per algorithm, stateless HMAC nonces with a lifetime (stale=true after expiry), nonce-count replay
// protection and verification from a password or a precomputed HA1. No I/O and no logging of secrets.

import { randomBytes } from 'node:crypto';
import { AuthValue, createResponse, parseUri, quote, type SipRequest, type SipResponse } from '../message/index.js';
import { AuthError } from './errors.js';
import { type DigestAlgorithm, type DigestSecret, baseAlgorithm, computeResponse, digestEquals, ha1FromSecret,
  normalizeAlgorithm } from './digest.js';
import { type AuthClock, NonceCountTable, NonceFactory, systemAuthClock } from './nonce.js';

export interface DigestServerOptions {
  /** HMAC key of the nonces: share it between nodes that must accept each other's nonces. Default: 32 random bytes. */
  secret?: string | Buffer;
  /** Nonce lifetime; an older nonce with a correct response gets `stale`. Default 300. */
  nonceTtlSeconds?: number;
  /** Algorithms offered, one challenge header each, in this order. Default ['SHA-256', 'MD5']. */
  algorithms?: DigestAlgorithm[];
  /** Wall clock (ms). Default Date.now. */
  clock?: AuthClock;
  /** Bound of the nonce-count table (nonces in use at once). Default 100000. */
  maxTrackedNonces?: number;
}

export interface ChallengeOptions {
  /** Add stale=true (RFC 7616 §3.3): the client retries with the new nonce without asking its user. */
  stale?: boolean;
  /** Proxy-Authenticate / 407 instead of WWW-Authenticate / 401 (RFC 3261 §22.3). */
  proxy?: boolean;
}

export interface DigestChallenge {
  status: 401 | 407;
  header: 'WWW-Authenticate' | 'Proxy-Authenticate';
  /** One value per offered algorithm, in preference order. */
  values: string[];
  nonce: string;
}

export type VerifyFailure = 'missing' | 'stale' | 'bad-nonce' | 'bad-response' | 'replay' | 'realm-mismatch'
  | 'uri-mismatch' | 'unsupported-algorithm' | 'malformed';

export type VerifyResult =
  | { ok: true; username: string; realm: string; algorithm: DigestAlgorithm }
  | { ok: false; reason: VerifyFailure; stale?: boolean; username?: string };

/** Credentials as parsed from the request, ready for a RegHook body (SPEC §3) or for verification. */
export interface DigestCredentials {
  scheme: string;
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  /** 'auth' (the only qop we offer). */
  qop: string;
  /** nc as sent (8 hex digits) and its value. */
  nc: string;
  ncValue: number;
  cnonce: string;
  opaque: string | undefined;
  method: string;
  /** Issue time of the nonce (ms), for recordNonceCount(). */
  issuedAt: number;
}

export type InspectResult =
  | { ok: true; credentials: DigestCredentials }
  | { ok: false; reason: VerifyFailure; stale?: boolean; username?: string; credentials?: DigestCredentials };

export interface VerifyOptions {
  /** The realm this request must authenticate for (the domain). Default: whatever realm the credentials name. */
  realm?: string;
  /** Read Proxy-Authorization instead of Authorization. */
  proxy?: boolean;
}

/** Looks up the secret of a user in a realm; undefined for an unknown user (answered like a wrong password). */
export type CredentialsLookup = (username: string, realm: string) => DigestSecret | undefined;
export type AsyncCredentialsLookup = (username: string, realm: string) => DigestSecret | undefined | Promise<DigestSecret | undefined>;

const DEFAULT_ALGORITHMS: DigestAlgorithm[] = ['SHA-256', 'MD5'];

export class DigestServer {
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonceTtlSeconds: number;
  private readonly nonces: NonceFactory;
  private readonly counts: NonceCountTable;
  private readonly clock: AuthClock;

  constructor(o: DigestServerOptions = {}) {
    const ttl = o.nonceTtlSeconds ?? 300;
    if (!Number.isFinite(ttl) || ttl <= 0) throw new AuthError('DPBX_ERR_AUTH_OPTIONS', 'nonceTtlSeconds must be a positive number');
    const algs = o.algorithms ?? DEFAULT_ALGORITHMS;
    if (!Array.isArray(algs) || algs.length === 0) throw new AuthError('DPBX_ERR_AUTH_OPTIONS', 'algorithms must be a non-empty list');
    const norm: DigestAlgorithm[] = [];
    for (const a of algs) {
      const n = normalizeAlgorithm(String(a));
      if (n === undefined) throw new AuthError('DPBX_ERR_AUTH_OPTIONS', `unsupported digest algorithm ${JSON.stringify(a)}`);
      if (!norm.includes(n)) norm.push(n);
    }
    let secret: Buffer;
    if (o.secret === undefined) secret = randomBytes(32);
    else secret = typeof o.secret === 'string' ? Buffer.from(o.secret, 'utf8') : Buffer.from(o.secret);
    if (secret.length === 0) throw new AuthError('DPBX_ERR_AUTH_OPTIONS', 'secret must not be empty');
    const max = o.maxTrackedNonces ?? 100_000;
    if (!Number.isInteger(max) || max < 1) throw new AuthError('DPBX_ERR_AUTH_OPTIONS', 'maxTrackedNonces must be a positive integer');
    this.algorithms = norm;
    this.nonceTtlSeconds = ttl;
    this.clock = o.clock ?? systemAuthClock;
    this.nonces = new NonceFactory(secret, ttl * 1000, this.clock);
    this.counts = new NonceCountTable(max);
  }

  /** Nonces whose nonce-count is being tracked now. */
  get trackedNonces(): number {
    return this.counts.size;
  }

  /**
   * Challenge values for a realm (RFC 3261 §22.1, RFC 8760 §2.4: one challenge per algorithm, most preferred
   * first, all with the same nonce), qop="auth", an opaque bound to the nonce, and stale=true when asked.
   */
  challenge(realm: string, o: ChallengeOptions = {}): DigestChallenge {
    if (typeof realm !== 'string' || realm.length === 0 || realm === 'undefined') {
      throw new AuthError('DPBX_ERR_AUTH_REALM', 'a digest challenge needs a non-empty realm');
    }
    const nonce = this.nonces.issue(realm);
    const opaque = this.nonces.opaqueFor(nonce);
    const values = this.algorithms.map((a) => {
      let v = `Digest realm=${quote(realm)}, nonce="${nonce}", opaque="${opaque}", algorithm=${a}, qop="auth"`;
      if (o.stale) v += ', stale=true';
      return v;
    });
    return o.proxy
      ? { status: 407, header: 'Proxy-Authenticate', values, nonce }
      : { status: 401, header: 'WWW-Authenticate', values, nonce };
  }

  /** A complete 401/407 response to a request (To tag added), carrying challenge(). */
  challengeResponse(req: SipRequest, realm: string, o: ChallengeOptions & { toTag?: string } = {}): SipResponse {
    const c = this.challenge(realm, o);
    const res = createResponse(req, c.status, undefined, { toTag: o.toTag ?? true });
    for (const v of c.values) res.append(c.header, v);
    return res;
  }

  /**
   * Everything that can be checked without the user's secret: credentials present and well-formed, realm, uri
   * against the Request-URI (RFC 3261 §22.4 / RFC 7616 §3.4.6), algorithm offered, qop=auth, nonce ours and
   * fresh, opaque unchanged, nonce-count not replayed. For RegHook flows (SPEC §3): when ok, send
   * `credentials` to the app, and when the app accepts call recordNonceCount(credentials).
   * Note: an expired nonce is reported as 'stale' here even though the response was not checked.
   */
  inspect(req: SipRequest, o: VerifyOptions = {}): InspectResult {
    let values: AuthValue[];
    try {
      values = o.proxy ? req.proxyAuthorization : req.authorization;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const digests = values.filter((v) => v.scheme.toLowerCase() === 'digest');
    if (digests.length === 0) return { ok: false, reason: values.length === 0 ? 'missing' : 'unsupported-algorithm' };
    // RFC 3261 §22.3: a request may carry credentials for several realms; take the one for ours.
    let cred = digests[0]!;
    if (o.realm !== undefined) {
      const mine = digests.find((d) => d.params['realm'] === o.realm);
      if (mine === undefined) return { ok: false, reason: 'realm-mismatch', ...userOf(cred) };
      cred = mine;
    }
    const p = cred.params;
    const username = p['username'];
    const realm = p['realm'];
    const nonce = p['nonce'];
    const uri = p['uri'];
    const response = p['response'];
    if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return { ok: false, reason: 'malformed', ...userOf(cred) };
    }
    if (p['userhash'] !== undefined && p['userhash'].toLowerCase() === 'true') {
      // RFC 7616 §3.4.4 username hashing is not offered by our challenges, so a client must not use it.
      return { ok: false, reason: 'malformed', username };
    }
    const algorithm = normalizeAlgorithm(p['algorithm']);
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) {
      return { ok: false, reason: 'unsupported-algorithm', username };
    }
    // RFC 7616 §3.4: "qop ... MUST be one of the alternatives the server indicated it supports" — we offer auth.
    const qop = p['qop']?.toLowerCase();
    if (qop !== 'auth') return { ok: false, reason: 'malformed', username };
    // RFC 7616 §3.4: "nc ... the hexadecimal count of the number of requests ... including the current request".
    const nc = p['nc'];
    const cnonce = p['cnonce'];
    if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === undefined || cnonce.length === 0) {
      return { ok: false, reason: 'malformed', username };
    }
    const ncValue = parseInt(nc, 16);
    if (ncValue === 0) return { ok: false, reason: 'malformed', username };
    if (!/^[0-9a-fA-F]+$/.test(response)) return { ok: false, reason: 'bad-response', username };
    if (o.realm !== undefined && realm !== o.realm) return { ok: false, reason: 'realm-mismatch', username };
    // RFC 7616 §3.4.6: "the server MUST assure that the resource designated by the "uri" parameter is the same as
    // the resource specified in the Request-Line; if they are not, the server SHOULD return a 400".
    if (!sameUri(uri, req)) return { ok: false, reason: 'uri-mismatch', username };
    const credentials: DigestCredentials = {
      scheme: cred.scheme, username, realm, nonce, uri, response, algorithm, qop, nc, ncValue, cnonce,
      opaque: p['opaque'], method: req.method, issuedAt: 0,
    };
    const check = this.nonces.check(nonce, realm);
    if (!check.ok) {
      if (check.reason === 'stale') {
        credentials.issuedAt = check.issuedAt;
        return { ok: false, reason: 'stale', stale: true, username, credentials };
      }
      return { ok: false, reason: 'bad-nonce', username };
    }
    credentials.issuedAt = check.issuedAt;
    if (credentials.opaque !== undefined && credentials.opaque !== this.nonces.opaqueFor(nonce)) {
      return { ok: false, reason: 'bad-nonce', username };
    }
    // RFC 7616 §5.4 replay: the server keeps, per nonce, the highest nc seen and rejects a request that repeats it.
    const seen = this.counts.check(nonce, ncValue, check.issuedAt);
    if (seen === 'replay') return { ok: false, reason: 'replay', username, credentials };
    if (seen === 'evicted') return { ok: false, reason: 'stale', stale: true, username, credentials };
    return { ok: true, credentials };
  }

  /**
   * Remember that `credentials.nc` was accepted for its nonce, so the same nc (or a lower one) is a replay from
   * now on. verify() calls this itself; call it after an external (RegHook) verification succeeded.
   * Returns false when that nc was already used (a concurrent duplicate).
   */
  recordNonceCount(credentials: DigestCredentials): boolean {
    if (this.counts.check(credentials.nonce, credentials.ncValue, credentials.issuedAt) !== 'ok') return false;
    const now = this.clock.now();
    this.counts.record(credentials.nonce, credentials.ncValue, credentials.issuedAt,
      credentials.issuedAt + this.nonceTtlSeconds * 1000, now);
    return true;
  }

  /**
   * Verify the credentials of a request (RFC 3261 §22.4): inspect(), then the response computed from the
   * user's password or HA1 compared in constant time, then the nonce-count recorded. An expired nonce with a
   * correct response gives `{ok:false, reason:'stale', stale:true}` (RFC 7616 §3.3): challenge again with stale.
   */
  verify(req: SipRequest, lookup: CredentialsLookup, o: VerifyOptions = {}): VerifyResult {
    const r = this.inspect(req, o);
    if (!r.ok && r.reason !== 'stale') return failure(r);
    const c = r.credentials;
    if (c === undefined) return { ok: false, reason: 'malformed' };
    let secret: DigestSecret | undefined;
    try {
      secret = lookup(c.username, c.realm);
    } catch {
      secret = undefined;
    }
    return this.finish(r, c, secret);
  }

  /** verify() with a lookup that may be asynchronous (a database, a config API). */
  async verifyAsync(req: SipRequest, lookup: AsyncCredentialsLookup, o: VerifyOptions = {}): Promise<VerifyResult> {
    const r = this.inspect(req, o);
    if (!r.ok && r.reason !== 'stale') return failure(r);
    const c = r.credentials;
    if (c === undefined) return { ok: false, reason: 'malformed' };
    let secret: DigestSecret | undefined;
    try {
      secret = await lookup(c.username, c.realm);
    } catch {
      secret = undefined;
    }
    return this.finish(r, c, secret);
  }

  private finish(r: InspectResult, c: DigestCredentials, secret: DigestSecret | undefined): VerifyResult {
    // An unknown user is answered exactly like a wrong password, so usernames cannot be probed.
    let ha1: string | undefined;
    if (secret !== undefined) {
      try {
        ha1 = ha1FromSecret(secret, c.algorithm, c.username, c.realm);
      } catch {
        ha1 = undefined;
      }
    }
    const expected = computeResponse({ algorithm: c.algorithm, ha1: ha1 ?? '0'.repeat(baseAlgorithm(c.algorithm) === 'MD5' ? 32 : 64),
      method: c.method, uri: c.uri, nonce: c.nonce, qop: c.qop, nc: c.nc, cnonce: c.cnonce });
    const match = digestEquals(expected, c.response) && ha1 !== undefined;
    if (!match) return { ok: false, reason: 'bad-response', username: c.username };
    // RFC 7616 §3.3 stale: "the server SHOULD set stale=true only if it receives a request for which the nonce
    // is invalid but with a valid digest for that nonce".
    if (!r.ok) return { ok: false, reason: 'stale', stale: true, username: c.username };
    if (!this.recordNonceCount(c)) return { ok: false, reason: 'replay', username: c.username };
    return { ok: true, username: c.username, realm: c.realm, algorithm: c.algorithm };
  }
}

function userOf(v: AuthValue): { username?: string } {
  const u = v.params['username'];
  return u === undefined ? {} : { username: u };
}

function failure(r: InspectResult & { ok: false }): VerifyResult {
  const out: VerifyResult = { ok: false, reason: r.reason };
  if (r.stale) out.stale = true;
  if (r.username !== undefined) out.username = r.username;
  return out;
}

/** The digest-uri names the Request-URI: same text, or equal by RFC 3261 §19.1.4. */
function sameUri(uri: string, req: SipRequest): boolean {
  if (uri === req.uriText) return true;
  try {
    return parseUri(uri, 'Authorization').equals(req.uri);
  } catch {
    return false;
  }
}
