// SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) plus opaque URIs of other schemes (RFC 3986 absoluteURI).
// Parsing is a single forward scan; user, password, parameter values and header values are %-decoded.

import { SipParseError, badHeader } from './errors.js';
import { type Params, newParams, newDict, percentDecode, percentEncode, isTokenChar } from './scan.js';

/** A parsed URI. For sip/sips/tel every field is filled; other schemes keep everything after `scheme:` in `opaque`. */
export class SipUri {
  /** Lowercase scheme: 'sip', 'sips', 'tel' or another. */
  scheme: string;
  /** Decoded user part (sip/sips) or the telephone number (tel). */
  user: string | undefined;
  /** Decoded password (discouraged by RFC 3261 but legal). */
  password: string | undefined;
  /** Host as written (IPv6 references keep their brackets); '' for tel and opaque URIs. */
  host: string;
  port: number | undefined;
  /** URI parameters, lowercase names, decoded values; null = flag without value. */
  params: Params;
  /** URI headers (`?name=value&...`), decoded. */
  headers: Record<string, string>;
  /** For schemes other than sip/sips/tel: the text after `scheme:`. */
  opaque: string | undefined;
  /** The text this URI was parsed from ('' when built in code). */
  readonly raw: string;

  constructor(init: { scheme: string; user?: string; password?: string; host?: string; port?: number;
    params?: Params; headers?: Record<string, string>; opaque?: string }, raw = '') {
    this.scheme = init.scheme.toLowerCase();
    this.user = init.user;
    this.password = init.password;
    this.host = init.host ?? '';
    this.port = init.port;
    this.params = init.params ?? newParams();
    this.headers = init.headers ?? newDict<string>();
    this.opaque = init.opaque;
    this.raw = raw;
  }

  get isSip(): boolean {
    return this.scheme === 'sip' || this.scheme === 'sips';
  }

  /** `transport` parameter, lowercase, when present. */
  get transport(): string | undefined {
    const t = this.params['transport'];
    return typeof t === 'string' ? t.toLowerCase() : undefined;
  }

  /** Host without IPv6 brackets, lowercase. */
  get hostname(): string {
    const h = this.host;
    return (h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h).toLowerCase();
  }

  /** Wire form (re-escaped as needed). */
  toString(): string {
    if (this.opaque !== undefined) return `${this.scheme}:${this.opaque}`;
    let out = this.scheme + ':';
    if (this.scheme === 'tel') {
      out += percentEncode(this.user ?? '', isTelChar);
    } else {
      if (this.user !== undefined && this.user !== '') {
        out += percentEncode(this.user, isUserChar);
        if (this.password !== undefined) out += ':' + percentEncode(this.password, isPasswordChar);
        out += '@';
      }
      out += this.host;
      if (this.port !== undefined) out += ':' + this.port;
    }
    for (const k in this.params) {
      const v = this.params[k];
      out += ';' + percentEncode(k, isParamChar);
      if (v !== null && v !== undefined) out += '=' + percentEncode(v, isParamChar);
    }
    let first = true;
    for (const k in this.headers) {
      out += (first ? '?' : '&') + percentEncode(k, isHeaderChar) + '=' + percentEncode(this.headers[k]!, isHeaderChar);
      first = false;
    }
    return out;
  }

  /**
   * RFC 3261 §19.1.4 comparison: scheme, decoded user and password case-sensitive, host case-insensitive,
   * port, the user/ttl/method/maddr/transport parameters when present in either, other parameters when in both,
   * and URI headers.
   */
  equals(other: SipUri): boolean {
    if (this.scheme !== other.scheme) return false;
    if (this.opaque !== undefined || other.opaque !== undefined) return this.opaque === other.opaque;
    if ((this.user ?? '') !== (other.user ?? '')) return false;
    if (this.password !== other.password) return false;
    if (this.hostname !== other.hostname) return false;
    if (this.port !== other.port) return false;
    for (const k of ['user', 'ttl', 'method', 'maddr', 'transport']) {
      const a = this.params[k];
      const b = other.params[k];
      if ((a === undefined) !== (b === undefined)) return false;
      if (a !== undefined && b !== undefined && (a ?? '').toLowerCase() !== (b ?? '').toLowerCase()) return false;
    }
    for (const k in this.params) {
      if (k in other.params) {
        const a = this.params[k];
        const b = other.params[k];
        if ((a ?? '').toLowerCase() !== (b ?? '').toLowerCase()) return false;
      }
    }
    const ha = Object.keys(this.headers);
    const hb = Object.keys(other.headers);
    if (ha.length !== hb.length) return false;
    for (const k of ha) if (other.headers[k] !== this.headers[k]) return false;
    return true;
  }
}

// Character classes of RFC 3261 §25.1 (unescaped forms).
function isUnreserved(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d || c === 0x5f || c === 0x2e || c === 0x21 || c === 0x7e || c === 0x2a || c === 0x27 ||
    c === 0x28 || c === 0x29;
}
function isUserChar(c: number): boolean {
  // unreserved / user-unreserved ( & = + $ , ; ? / )
  return isUnreserved(c) || c === 0x26 || c === 0x3d || c === 0x2b || c === 0x24 || c === 0x2c || c === 0x3b ||
    c === 0x3f || c === 0x2f;
}
function isPasswordChar(c: number): boolean {
  return isUnreserved(c) || c === 0x26 || c === 0x3d || c === 0x2b || c === 0x24 || c === 0x2c;
}
function isParamChar(c: number): boolean {
  // unreserved / param-unreserved ( [ ] / : & + $ )
  return isUnreserved(c) || c === 0x5b || c === 0x5d || c === 0x2f || c === 0x3a || c === 0x26 || c === 0x2b ||
    c === 0x24;
}
function isHeaderChar(c: number): boolean {
  // unreserved / hnv-unreserved ( [ ] / ? : + $ )
  return isUnreserved(c) || c === 0x5b || c === 0x5d || c === 0x2f || c === 0x3f || c === 0x3a || c === 0x2b ||
    c === 0x24;
}
function isTelChar(c: number): boolean {
  return isUnreserved(c) || c === 0x2b || c === 0x23 || c === 0x2a;
}
function isHostChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d ||
    c === 0x2e || c === 0x5f;
}
function isSchemeChar(c: number, first: boolean): boolean {
  const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  if (first) return alpha;
  return alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}
/** Characters that may appear (unescaped or as %XX) anywhere inside a URI we accept. */
function isUriChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x3c && c !== 0x3e && c !== 0x22 && c !== 0x5c && c !== 0x7b && c !== 0x7d &&
    c !== 0x7c && c !== 0x5e && c !== 0x60;
}

function fail(what: string, header: string): SipParseError {
  return header === 'Request-URI'
    ? new SipParseError('DPBX_ERR_SIP_PARSE', 400, `Malformed Request-URI: ${what}`, { header })
    : badHeader(header, `URI ${what}`);
}

/**
 * Parse a URI. `header` names the context for error messages ('Request-URI', 'To', ...).
 * Throws SipParseError for text that is not a URI.
 */
export function parseUri(s: string, header = 'URI'): SipUri {
  const n = s.length;
  if (n === 0) throw fail('is empty', header);
  let i = 0;
  while (i < n && isSchemeChar(s.charCodeAt(i), i === 0)) i++;
  if (i === 0 || i >= n || s.charCodeAt(i) !== 0x3a) throw fail('has no valid scheme', header);
  const scheme = s.slice(0, i).toLowerCase();
  for (let j = i + 1; j < n; j++) {
    if (!isUriChar(s.charCodeAt(j))) throw fail(`contains an invalid character at ${j}`, header);
  }
  const rest = s.slice(i + 1);
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(scheme, rest, s, header);
  if (scheme === 'tel') return parseTelUri(rest, s, header);
  if (rest.length === 0) throw fail('has an empty scheme-specific part', header);
  return new SipUri({ scheme, opaque: rest }, s);
}

function parseUriParams(s: string, i: number, end: number, out: Params, header: string): number {
  // s[i] === ';'
  while (i < end && s.charCodeAt(i) === 0x3b) {
    i++;
    const start = i;
    let eq = -1;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 0x3b || c === 0x3f) break;
      if (c === 0x3d && eq < 0) eq = i;
      i++;
    }
    if (i === start) continue; // tolerate ';;'
    const name = percentDecode(eq < 0 ? s.slice(start, i) : s.slice(start, eq)).toLowerCase();
    if (name.length === 0) throw fail('has an empty parameter name', header);
    out[name] = eq < 0 ? null : percentDecode(s.slice(eq + 1, i));
  }
  return i;
}

function parseUriHeaders(s: string, i: number, out: Record<string, string>, header: string): void {
  // s[i] === '?'
  const parts = s.slice(i + 1).split('&');
  for (const part of parts) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw fail('has a malformed header component', header);
    out[percentDecode(part.slice(0, eq))] = percentDecode(part.slice(eq + 1));
  }
}

function parseSipUri(scheme: string, s: string, raw: string, header: string): SipUri {
  const n = s.length;
  let user: string | undefined;
  let password: string | undefined;
  let i = 0;
  const at = s.indexOf('@');
  if (at >= 0) {
    const userinfo = s.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      user = percentDecode(userinfo.slice(0, colon));
      password = percentDecode(userinfo.slice(colon + 1));
    } else {
      user = percentDecode(userinfo);
    }
    if (user.length === 0) throw fail('has an empty user part', header);
    i = at + 1;
  }
  // host
  const hostStart = i;
  if (i < n && s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0) throw fail('has an unterminated IPv6 reference', header);
    for (let j = i + 1; j < close; j++) {
      const c = s.charCodeAt(j);
      const ok = (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x2e;
      if (!ok) throw fail('has an invalid IPv6 reference', header);
    }
    if (close === i + 1) throw fail('has an empty IPv6 reference', header);
    i = close + 1;
  } else {
    while (i < n && isHostChar(s.charCodeAt(i))) i++;
  }
  if (i === hostStart) throw fail('has no host', header);
  const host = s.slice(hostStart, i);
  let port: number | undefined;
  if (i < n && s.charCodeAt(i) === 0x3a) {
    i++;
    const pStart = i;
    let v = 0;
    while (i < n && i - pStart < 6) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      i++;
    }
    if (i === pStart || v > 65535 || (i < n && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39)) {
      throw fail('has an invalid port', header);
    }
    port = v;
  }
  const params = newParams();
  const headers = newDict<string>();
  if (i < n && s.charCodeAt(i) === 0x3b) i = parseUriParams(s, i, n, params, header);
  if (i < n && s.charCodeAt(i) === 0x3f) { parseUriHeaders(s, i, headers, header); i = n; }
  if (i !== n) throw fail(`has unexpected text after the host: '${s.slice(i, i + 20)}'`, header);
  const init: { scheme: string; user?: string; password?: string; host: string; port?: number; params: Params;
    headers: Record<string, string> } = { scheme, host, params, headers };
  if (user !== undefined) init.user = user;
  if (password !== undefined) init.password = password;
  if (port !== undefined) init.port = port;
  return new SipUri(init, raw);
}

function parseTelUri(s: string, raw: string, header: string): SipUri {
  const semi = s.indexOf(';');
  const num = semi < 0 ? s : s.slice(0, semi);
  if (num.length === 0) throw fail('has an empty telephone number', header);
  const params = newParams();
  if (semi >= 0) {
    const end = parseUriParams(s, semi, s.length, params, header);
    if (end !== s.length) throw fail('has unexpected text in tel parameters', header);
  }
  return new SipUri({ scheme: 'tel', user: percentDecode(num), params }, raw);
}

/** Exported for builders: whether a string is safe to use as a URI user/host token without escaping. */
export function isPlainToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return s.length > 0;
}
