// Client side of SIP digest authentication (RFC 3261 §22.2-§22.3, RFC 7616 §3.4, RFC 8760): answers a 401/407
// with Authorization / Proxy-Authorization values for the retried request (new CSeq, same Call-ID — the caller
// builds and sends it). Picks the strongest algorithm offered, counts nc per nonce, and gives up when the server
// rejects the credentials it already sent (instead of looping).

import { randomBytes } from 'node:crypto';
import { quote, type AuthValue, type SipRequest, type SipResponse } from '../message/index.js';
import { AuthError } from './errors.js';
import { type DigestAlgorithm, computeHa1, computeResponse, normalizeAlgorithm, baseAlgorithm } from './digest.js';

export interface DigestClientCredentials {
  username: string;
  password: string;
  /** Only answer challenges of this realm (default: any realm). */
  realm?: string;
}

export interface DigestClientOptions {
  /**
   * Algorithms this client accepts, most preferred first. Default: SHA-512-256, SHA-256, MD5 and their -sess
   * variants after them (RFC 8760 §2.4: "the UAC SHOULD use the topmost header field that it supports").
   */
  algorithms?: DigestAlgorithm[];
  /** Client nonce generator (tests inject a fixed one). Default: 128 random bits, base64url. */
  cnonce?: () => string;
}

export interface AuthorizationHeader {
  header: 'Authorization' | 'Proxy-Authorization';
  value: string;
}

/** One remembered challenge, reused for later requests (REGISTER refreshes, in-dialog requests) with nc+1. */
interface CachedChallenge {
  header: 'Authorization' | 'Proxy-Authorization';
  realm: string;
  nonce: string;
  opaque: string | undefined;
  algorithm: DigestAlgorithm;
  /** 'auth', 'auth-int' or undefined (server offered no qop: RFC 2069 form). */
  qop: string | undefined;
  nc: number;
}

const DEFAULT_CLIENT_ALGORITHMS: DigestAlgorithm[] = ['SHA-512-256', 'SHA-256', 'MD5', 'SHA-512-256-sess',
  'SHA-256-sess', 'MD5-sess'];

export class DigestClient {
  private readonly creds: DigestClientCredentials;
  private readonly algorithms: DigestAlgorithm[];
  private readonly makeCnonce: () => string;
  private readonly cache = new Map<string, CachedChallenge>();

  constructor(credentials: DigestClientCredentials, o: DigestClientOptions = {}) {
    if (credentials === null || typeof credentials !== 'object' || typeof credentials.username !== 'string' ||
      credentials.username.length === 0 || typeof credentials.password !== 'string') {
      throw new AuthError('DPBX_ERR_AUTH_CREDENTIALS', 'DigestClient needs a username and a password');
    }
    this.creds = { ...credentials };
    const algs = o.algorithms ?? DEFAULT_CLIENT_ALGORITHMS;
    this.algorithms = [];
    for (const a of algs) {
      const n = normalizeAlgorithm(String(a));
      if (n === undefined) throw new AuthError('DPBX_ERR_AUTH_OPTIONS', `unsupported digest algorithm ${JSON.stringify(a)}`);
      this.algorithms.push(n);
    }
    if (this.algorithms.length === 0) throw new AuthError('DPBX_ERR_AUTH_OPTIONS', 'algorithms must be a non-empty list');
    this.makeCnonce = o.cnonce ?? (() => randomBytes(16).toString('base64url'));
  }

  /**
   * Credentials answering the challenges of a 401/407 `response` to `request` (RFC 3261 §22.2: "the client
   * SHOULD retry the request ... with the same Call-ID, but a CSeq ... one higher"). Returns one header per
   * challenged realm, or undefined when nothing can be answered: no Digest challenge with a supported algorithm,
   * another realm than configured, or the server rejected credentials this client already sent for that realm
   * without stale=true (wrong password: retrying would loop). The values are computed for `request`'s method,
   * Request-URI and body; add them to the retried request (which must keep those).
   */
  authorize(response: SipResponse, request: SipRequest): AuthorizationHeader[] | undefined {
    let www: AuthValue[];
    let proxy: AuthValue[];
    try {
      www = response.wwwAuthenticate;
      proxy = response.proxyAuthenticate;
    } catch {
      return undefined;
    }
    const picked = new Map<string, { header: CachedChallenge['header']; ch: AuthValue; alg: DigestAlgorithm; rank: number }>();
    const consider = (list: AuthValue[], header: CachedChallenge['header']): void => {
      for (const ch of list) {
        if (ch.scheme.toLowerCase() !== 'digest') continue;
        const realm = ch.params['realm'];
        const nonce = ch.params['nonce'];
        if (realm === undefined || nonce === undefined) continue;
        if (this.creds.realm !== undefined && realm !== this.creds.realm) continue;
        const alg = normalizeAlgorithm(ch.params['algorithm']);
        if (alg === undefined) continue;
        const rank = this.algorithms.indexOf(alg);
        if (rank < 0) continue;
        if (pickQop(ch.params['qop']) === null) continue;
        const key = `${header}\n${realm}`;
        const prev = picked.get(key);
        if (prev === undefined || rank < prev.rank) picked.set(key, { header, ch, alg, rank });
      }
    };
    consider(www, 'Authorization');
    consider(proxy, 'Proxy-Authorization');
    if (picked.size === 0) return undefined;
    const out: AuthorizationHeader[] = [];
    for (const [key, p] of picked) {
      const realm = p.ch.params['realm']!;
      const stale = (p.ch.params['stale'] ?? '').toLowerCase() === 'true';
      // RFC 7616 §3.3 stale: "If stale is false, or anything other than true, ... the username and/or password
      // are invalid, and new values must be obtained" — so a re-challenge of credentials we sent ends here.
      if (!stale && this.sentCredentials(request, p.header, realm)) return undefined;
      const qop = pickQop(p.ch.params['qop']);
      const cached: CachedChallenge = {
        header: p.header, realm, nonce: p.ch.params['nonce']!, opaque: p.ch.params['opaque'], algorithm: p.alg,
        qop: qop ?? undefined, nc: 0,
      };
      this.cache.set(key, cached);
      out.push({ header: p.header, value: this.build(cached, request) });
    }
    return out;
  }

  /**
   * Credentials for a new request from the challenges answered before (nc incremented), e.g. a REGISTER refresh
   * or an in-dialog request through an authenticating proxy. Empty when nothing is cached.
   */
  authorizeRequest(request: SipRequest): AuthorizationHeader[] {
    const out: AuthorizationHeader[] = [];
    for (const c of this.cache.values()) out.push({ header: c.header, value: this.build(c, request) });
    return out;
  }

  /** Forget cached challenges (e.g. after a credentials change). */
  reset(): void {
    this.cache.clear();
  }

  private sentCredentials(request: SipRequest, header: CachedChallenge['header'], realm: string): boolean {
    let creds: AuthValue[];
    try {
      creds = header === 'Authorization' ? request.authorization : request.proxyAuthorization;
    } catch {
      return false;
    }
    return creds.some((c) => c.scheme.toLowerCase() === 'digest' && c.params['realm'] === realm &&
      c.params['username'] === this.creds.username);
  }

  private build(c: CachedChallenge, request: SipRequest): string {
    c.nc++;
    const nc = c.nc.toString(16).padStart(8, '0');
    const uri = request.uriText;
    const useCnonce = c.qop !== undefined || c.algorithm.endsWith('-sess');
    const cnonce = useCnonce ? this.makeCnonce() : undefined;
    const ha1 = computeHa1(baseAlgorithm(c.algorithm), this.creds.username, c.realm, this.creds.password);
    const response = computeResponse({ algorithm: c.algorithm, ha1, method: request.method, uri, nonce: c.nonce,
      qop: c.qop, nc, cnonce, body: request.body });
    let v = `Digest username=${quote(this.creds.username)}, realm=${quote(c.realm)}, nonce=${quote(c.nonce)}, ` +
      `uri=${quote(uri)}, response="${response}", algorithm=${c.algorithm}`;
    if (cnonce !== undefined) v += `, cnonce=${quote(cnonce)}`;
    if (c.opaque !== undefined) v += `, opaque=${quote(c.opaque)}`;
    if (c.qop !== undefined) v += `, qop=${c.qop}, nc=${nc}`;
    return v;
  }
}

/**
 * The qop to use for a challenge's qop-options (RFC 7616 §3.3: a quoted list): 'auth' when offered, else
 * 'auth-int'; undefined when the server sent none (RFC 2069 form); null when only unknown options are offered.
 */
function pickQop(options: string | undefined): string | undefined | null {
  if (options === undefined) return undefined;
  const list = options.split(',').map((s) => s.trim().toLowerCase());
  if (list.includes('auth')) return 'auth';
  if (list.includes('auth-int')) return 'auth-int';
  return null;
}
