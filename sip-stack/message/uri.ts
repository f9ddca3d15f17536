// SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) plus opaque URIs of other schemes (RFC 3986 absoluteURI).
// Parsing is a single forward scan; user, password, parameter values and header values are %-decoded.

import { SipParseError, badHeader } from './errors.js';
import { type Params, newParams, newDict, copyParams, percentDecode, percentEncode, isTokenChar, lowerName, scanPort, scanPortWire,
  scannedPort } from './scan.js';

/** A parsed URI. For sip/sips/tel every field is filled; other schemes keep everything after `scheme:` in `opaque`. */
export class SipUri {
  /** Lowercase scheme: 'sip', 'sips', 'tel' or another. */
  declare scheme: string;
  /** Decoded user part (sip/sips) or the telephone number (tel). */
  declare user: string | undefined;
  /** Decoded password (discouraged by RFC 3261 but legal). */
  declare password: string | undefined;
  /** Host as written (IPv6 references keep their brackets); '' for tel and opaque URIs. */
  declare host: string;
  declare port: number | undefined;
  /** URI parameters, lowercase names, decoded values; null = flag without value. */
  declare params: Params;
  /** URI headers (`?name=value&...`), decoded. */
  declare headers: Record<string, string>;
  /** For schemes other than sip/sips/tel: the text after `scheme:`. */
  declare opaque: string | undefined;
  /** The text this URI was parsed from ('' when built in code). */
  readonly declare raw: string;

  constructor(init: { scheme: string; user?: string; password?: string; host?: string; port?: number;
    params?: Params; headers?: Record<string, string>; opaque?: string }, raw = '') {
    const sc = init.scheme;
    this.scheme = sc === 'sip' || sc === 'sips' || sc === 'tel' ? sc : sc.toLowerCase();
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

  /**
   * A copy with parameter and header dictionaries of its own: the URI parseUri(String(this)) would give (names of
   * parameters lowercase, a flag as null, no empty user), without serializing and parsing it again.
   */
  clone(): SipUri {
    const sip = this.opaque === undefined && this.scheme !== 'tel';
    const user = sip && this.user === '' ? undefined : this.user;
    const headers = newDict<string>();
    for (const k in this.headers) headers[k] = this.headers[k]!;
    return new SipUri({
      scheme: this.scheme, user, password: sip && user === undefined ? undefined : this.password, host: this.host,
      port: this.port, params: copyParams(this.params), headers, opaque: this.opaque,
    }, this.raw);
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
// Character classes as tables: bit 1 = may appear in a URI we accept (unescaped or as %XX), bit 2 = host name.
const URI_CHAR = 1;
const HOST_CHAR = 2;
const CLASS = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) {
  if (c !== 0x3c && c !== 0x3e && c !== 0x22 && c !== 0x5c && c !== 0x7b && c !== 0x7d && c !== 0x7c && c !== 0x5e &&
    c !== 0x60) CLASS[c] |= URI_CHAR;
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e ||
    c === 0x5f) CLASS[c] |= HOST_CHAR;
}

function isHostChar(c: number): boolean {
  return c < 128 && (CLASS[c]! & HOST_CHAR) !== 0;
}
function isSchemeChar(c: number, first: boolean): boolean {
  const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  if (first) return alpha;
  return alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}
/** Characters that may appear (unescaped or as %XX) anywhere inside a URI we accept. */
function isUriChar(c: number): boolean {
  return c < 128 && (CLASS[c]! & URI_CHAR) !== 0;
}

/** The error of a URI in `header` that `what` (e.g. 'has no valid scheme'), as parseUri() and checkUri() throw it. */
export function uriError(what: string, header: string): SipParseError {
  return header === 'Request-URI'
    ? new SipParseError('DPBX_ERR_SIP_PARSE', 400, `Malformed Request-URI: ${what}`, { header })
    : badHeader(header, `URI ${what}`);
}

/**
 * Parse a URI. `header` names the context for error messages ('Request-URI', 'To', ...).
 * Throws SipParseError for text that is not a URI.
 */
export function parseUri(s: string, header = 'URI'): SipUri {
  return scanUri(s, header, true)!;
}

/** checkUri() result bit: a sip/sips URI with at least one URI header (`?name=value`). */
export const URI_HAS_HEADERS = 1;

/**
 * Check that parseUri(s, header) would succeed, failing with exactly the same SipParseError when it would not,
 * without building anything (no decoding, no objects): the parser checks the URIs of From, To and the
 * Request-URI this way and builds them only when they are read. Returns URI_HAS_HEADERS or 0.
 */
export function checkUri(s: string, header: string): number {
  scanUri(s, header, false);
  return uriHasHeaders ? URI_HAS_HEADERS : 0;
}

// Set by a scan: whether URI headers were found (module scratch; scans are synchronous).
let uriHasHeaders = false;
// The fields a building scan collects, handed to the SipUri constructor (one object, reused).
const init: { scheme: string; user?: string; password?: string; host?: string; port?: number; params?: Params;
  headers?: Record<string, string>; opaque?: string } = { scheme: '' };

/** Scheme s[0, end) lowercased: the common ones as constants. */
function schemeOf(s: string, end: number): string {
  const c0 = s.charCodeAt(0) | 0x20;
  if (c0 === 0x73 && (end === 3 || end === 4) && (s.charCodeAt(1) | 0x20) === 0x69 && (s.charCodeAt(2) | 0x20) === 0x70) {
    if (end === 3) return 'sip';
    if ((s.charCodeAt(3) | 0x20) === 0x73) return 'sips';
  } else if (c0 === 0x74 && end === 3 && (s.charCodeAt(1) | 0x20) === 0x65 && (s.charCodeAt(2) | 0x20) === 0x6c) {
    return 'tel';
  }
  return s.slice(0, end).toLowerCase();
}

/** The one URI scanner: builds a SipUri when `build`, else only validates (same checks, same errors). */
function scanUri(s: string, header: string, build: boolean): SipUri | undefined {
  uriHasHeaders = false;
  const n = s.length;
  if (n === 0) throw uriError('is empty', header);
  let i = 0;
  while (i < n && isSchemeChar(s.charCodeAt(i), i === 0)) i++;
  if (i === 0 || i >= n || s.charCodeAt(i) !== 0x3a) throw uriError('has no valid scheme', header);
  const scheme = schemeOf(s, i);
  for (let j = i + 1; j < n; j++) {
    if (!isUriChar(s.charCodeAt(j))) throw uriError(`contains an invalid character at ${j}`, header);
  }
  const p = i + 1;
  if (scheme === 'sip' || scheme === 'sips') return scanSipUri(scheme, s, p, header, build);
  if (scheme === 'tel') return scanTelUri(s, p, header, build);
  if (p >= n) throw uriError('has an empty scheme-specific part', header);
  if (!build) return undefined;
  resetInit(scheme);
  init.opaque = s.slice(p);
  return new SipUri(init, s);
}

function resetInit(scheme: string): void {
  init.scheme = scheme;
  init.user = undefined;
  init.password = undefined;
  init.host = undefined;
  init.port = undefined;
  init.params = undefined;
  init.headers = undefined;
  init.opaque = undefined;
}

/** `;name[=value]` list in s[i, end) starting at a ';'; `out` null = validate only. */
function scanUriParams(s: string, i: number, end: number, out: Params | null, header: string): number {
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
    // A non-empty raw name never decodes to an empty one (every escape or byte yields a character).
    if ((eq < 0 ? i : eq) === start) throw uriError('has an empty parameter name', header);
    if (out === null) continue;
    const name = eq < 0 ? rawOrDecodedName(s, start, i) : rawOrDecodedName(s, start, eq);
    out[name] = eq < 0 ? null : percentDecode(s.slice(eq + 1, i));
  }
  return i;
}

/** Lowercase decoded parameter name s[a, b): without escapes, the common names as constants. */
function rawOrDecodedName(s: string, a: number, b: number): string {
  for (let k = a; k < b; k++) if (s.charCodeAt(k) === 0x25) return percentDecode(s.slice(a, b)).toLowerCase();
  return lowerName(s, a, b);
}

/** `?name=value&...` from s[i] === '?' to the end; `out` null = validate only. Sets uriHasHeaders. */
function scanUriHeaders(s: string, i: number, out: Record<string, string> | null, header: string): void {
  const n = s.length;
  let start = i + 1;
  for (;;) {
    let end = s.indexOf('&', start);
    if (end < 0) end = n;
    if (end > start) {
      const eq = s.indexOf('=', start);
      if (eq < 0 || eq >= end || eq === start) throw uriError('has a malformed header component', header);
      uriHasHeaders = true;
      if (out !== null) out[percentDecode(s.slice(start, eq))] = percentDecode(s.slice(eq + 1, end));
    }
    if (end >= n) return;
    start = end + 1;
  }
}

function scanSipUri(scheme: string, s: string, p: number, header: string, build: boolean): SipUri | undefined {
  const n = s.length;
  let user: string | undefined;
  let password: string | undefined;
  let i = p;
  const at = s.indexOf('@', p);
  if (at >= 0) {
    let colon = s.indexOf(':', p);
    if (colon > at) colon = -1;
    const userEnd = colon >= 0 ? colon : at;
    if (userEnd === p) throw uriError('has an empty user part', header);
    if (build) {
      user = percentDecode(s.slice(p, userEnd));
      if (colon >= 0) password = percentDecode(s.slice(colon + 1, at));
    }
    i = at + 1;
  }
  // host
  const hostStart = i;
  if (i < n && s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0) throw uriError('has an unterminated IPv6 reference', header);
    for (let j = i + 1; j < close; j++) {
      const c = s.charCodeAt(j);
      const ok = (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x2e;
      if (!ok) throw uriError('has an invalid IPv6 reference', header);
    }
    if (close === i + 1) throw uriError('has an empty IPv6 reference', header);
    i = close + 1;
  } else {
    while (i < n && isHostChar(s.charCodeAt(i))) i++;
  }
  if (i === hostStart) throw uriError('has no host', header);
  const hostEnd = i;
  let port: number | undefined;
  if (i < n && s.charCodeAt(i) === 0x3a) {
    i = scanPort(s, i + 1, n);
    if (i < 0) throw uriError('has an invalid port', header);
    port = scannedPort;
  }
  const params = build ? newParams() : null;
  const headers = build ? newDict<string>() : null;
  if (i < n && s.charCodeAt(i) === 0x3b) i = scanUriParams(s, i, n, params, header);
  if (i < n && s.charCodeAt(i) === 0x3f) { scanUriHeaders(s, i, headers, header); i = n; }
  if (i !== n) throw uriError(`has unexpected text after the host: '${s.slice(i, i + 20)}'`, header);
  if (!build) return undefined;
  resetInit(scheme);
  init.user = user;
  init.password = password;
  init.host = s.slice(hostStart, hostEnd);
  init.port = port;
  init.params = params!;
  init.headers = headers!;
  return new SipUri(init, s);
}

function scanTelUri(s: string, p: number, header: string, build: boolean): SipUri | undefined {
  const n = s.length;
  let semi = s.indexOf(';', p);
  if (semi < 0) semi = n;
  if (semi === p) throw uriError('has an empty telephone number', header);
  const params = build ? newParams() : null;
  if (semi < n) {
    const end = scanUriParams(s, semi, n, params, header);
    if (end !== n) throw uriError('has unexpected text in tel parameters', header);
  }
  if (!build) return undefined;
  resetInit('tel');
  init.user = percentDecode(s.slice(p, semi));
  init.params = params!;
  return new SipUri(init, s);
}

/** Exported for builders: whether a string is safe to use as a URI user/host token without escaping. */
export function isPlainToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return s.length > 0;
}

/** Per byte: bit 1 URI_CHAR, bit 2 HOST_CHAR (CLASS above, extended to 256 entries: bytes >= 128 are in neither). */
const CLASS_WIRE = new Uint8Array(256);
CLASS_WIRE.set(CLASS);

/**
 * checkUri() over the bytes b[a, e) of an ASCII header section (see "wire fast paths" in scan.ts): 0 or
 * URI_HAS_HEADERS when checkUri() would return the same for the same text; -1 (BAIL) for anything else: a
 * malformed URI, an IPv6 reference, a tel URI. The caller then runs checkUri(), which also throws the errors.
 */
export function checkUriWire(b: Uint8Array, a: number, e: number): number {
  return scanUriWire(b, a, e) === e ? uriHeadersSeen : -1;
}

/** Set by scanUriWire(): URI_HAS_HEADERS or 0 (module scratch; scans are synchronous). */
let uriHeadersSeen = 0;

/** What the last scanUriWire() that returned an end found: URI_HAS_HEADERS or 0 (checkUriWire()'s result). */
export function scannedUriHeaders(): number {
  return uriHeadersSeen;
}

/**
 * The URI that starts at b[a] and ends at the first byte that is not a URI character (or at n): its end, when
 * checkUri() would accept its text (scannedUriHeaders() then returns checkUri()'s result); -1 (BAIL) when it would not,
 * or for an IPv6 reference or a tel URI. In a name-addr, that end is the '>' for every URI checkUri() accepts, so
 * one pass both finds and checks it.
 */
export function scanUriWire(b: Uint8Array, a: number, n: number): number {
  uriHeadersSeen = 0;
  if (a >= n) return -1;
  let i = a;
  let c = b[i]!;
  if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return -1;
  i++;
  while (i < n) {
    c = b[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d ||
      c === 0x2e)) break;
    i++;
  }
  if (i >= n || c !== 0x3a) return -1;
  const p = i + 1;
  const sip = (i - a === 3 || i - a === 4) && (b[a]! | 0x20) === 0x73 && (b[a + 1]! | 0x20) === 0x69 && (b[a + 2]! | 0x20) === 0x70 &&
    (i - a === 3 || (b[a + 3]! | 0x20) === 0x73);
  if (!sip) {
    if (i - a === 3 && (b[a]! | 0x20) === 0x74 && (b[a + 1]! | 0x20) === 0x65 && (b[a + 2]! | 0x20) === 0x6c) return -1;
    let j = p;
    while (j < n && (CLASS_WIRE[b[j]!]! & URI_CHAR) !== 0) j++;
    return j > p ? j : -1;
  }
  // userinfo: the URI characters up to the first '@' (none: no userinfo), the first ':' before it ending the user.
  // The characters after the '@' are checked by the host, port and parameter scans below: each stops at a
  // character outside its class, and what follows must be a parameter, the headers or the end of the URI.
  let at = -1;
  let colon = -1;
  for (let j = p; j < n; j++) {
    const d = b[j]!;
    if ((CLASS_WIRE[d]! & URI_CHAR) === 0) break;
    if (d === 0x40) { at = j; break; }
    if (d === 0x3a && colon < 0) colon = j;
  }
  i = p;
  if (at >= 0) {
    if ((colon >= 0 ? colon : at) === p) return -1;
    i = at + 1;
  }
  const hostStart = i;
  while (i < n && (CLASS_WIRE[b[i]!]! & HOST_CHAR) !== 0) i++;
  if (i === hostStart) return -1;
  if (i < n && b[i] === 0x3a) {
    i = scanPortWire(b, i + 1, n);
    if (i < 0) return -1;
  }
  // scanUriParams(), validate only.
  while (i < n && b[i] === 0x3b) {
    i++;
    const start = i;
    let eq = -1;
    while (i < n) {
      const d = b[i]!;
      if (d === 0x3b || d === 0x3f || (CLASS_WIRE[d]! & URI_CHAR) === 0) break;
      if (d === 0x3d && eq < 0) eq = i;
      i++;
    }
    if (i !== start && (eq < 0 ? i : eq) === start) return -1;
  }
  if (i < n && b[i] === 0x3f) return uriHeadersWire(b, i, n);
  // Anything but the end of the URI here (a URI character the host or port scan stopped at) is a BAIL.
  return i >= n || (CLASS_WIRE[b[i]!]! & URI_CHAR) === 0 ? i : -1;
}

/**
 * scanUriHeaders(), validate only, over b[q, ...) from the '?' to the first byte that is not a URI character (or n):
 * that end, with scannedUriHeaders() returning URI_HAS_HEADERS when a header is present; -1 (BAIL) for a malformed
 * component.
 */
function uriHeadersWire(b: Uint8Array, q: number, n: number): number {
  let start = q + 1;
  let eq = -1;
  for (let j = start; ; j++) {
    const d = j < n ? b[j]! : 0x20;
    const end = (CLASS_WIRE[d]! & URI_CHAR) === 0;
    if (d === 0x26 || end) {
      if (j > start) {
        if (eq <= start) return -1;
        uriHeadersSeen = URI_HAS_HEADERS;
      }
      if (end) return j;
      start = j + 1;
      eq = -1;
    } else if (d === 0x3d && eq < 0) {
      eq = j;
    }
  }
}
