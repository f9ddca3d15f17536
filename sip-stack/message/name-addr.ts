// name-addr / addr-spec values (RFC 3261 §20.10, §25.1): From, To, Contact, Route, Record-Route, Refer-To, ...

import { badHeader, type SipParseError } from './errors.js';
import { type Params, newParams, copyParams, parseHeaderParams, scanQuoted, skipWs, unquote, quote, formatParams,
  isTokenChar, isAlphaByte, BYTE_CLASS, skipWsWire, scanQuotedWire, parseHeaderParamsWire, paramsWireError } from './scan.js';
import { SipUri, parseUri, checkUri, checkUriWire, scanUriWire, uriError } from './uri.js';

export class NameAddr {
  /** Display name, unquoted and unescaped; undefined when absent. */
  declare displayName: string | undefined;
  /** Header parameters (after the URI), lowercase names; quoted values keep their quotes. */
  declare params: Params;
  // The URI, or (parsed values) its checked text until it is first read: most messages never read the URI
  // of their From and To, so it is built on demand.
  private declare _uri: SipUri | undefined;
  private declare _uriText: string;
  private declare _uriHeader: string;

  constructor(uri: SipUri, displayName?: string, params?: Params) {
    this.displayName = displayName;
    this.params = params ?? newParams();
    this._uri = uri;
    this._uriText = '';
    this._uriHeader = '';
  }

  /** The URI (built on first access for parsed values). */
  get uri(): SipUri {
    let u = this._uri;
    if (u === undefined) u = this._uri = parseUri(this._uriText, this._uriHeader);
    return u;
  }
  set uri(u: SipUri) {
    this._uri = u;
  }

  /** @internal parser: a NameAddr whose URI text was checked with checkUri() and is built when read. */
  static lazy(uriText: string, header: string, displayName: string | undefined, params: Params): NameAddr {
    const na = new NameAddr(undefined as unknown as SipUri, displayName, params);
    na._uriText = uriText;
    na._uriHeader = header;
    return na;
  }

  /**
   * A copy with its own parameters and URI: what parseNameAddr(String(this)) would give, without serializing and
   * parsing it again. A URI not built yet stays unbuilt in the copy (its text was checked when it was parsed).
   */
  clone(): NameAddr {
    const u = this._uri;
    const dn = this.displayName;
    const na = new NameAddr(u === undefined ? (undefined as unknown as SipUri) : u.clone(), dn === '' ? undefined : dn,
      copyParams(this.params));
    na._uriText = this._uriText;
    na._uriHeader = this._uriHeader;
    return na;
  }

  /** The `tag` parameter (From/To). */
  get tag(): string | undefined {
    const t = this.params['tag'];
    return typeof t === 'string' ? t : undefined;
  }
  set tag(v: string | undefined) {
    if (v === undefined) delete this.params['tag'];
    else this.params['tag'] = v;
  }

  /** Contact `expires` parameter as a number (undefined when absent or not a number). */
  get expires(): number | undefined {
    const v = this.params['expires'];
    if (typeof v !== 'string' || v.length === 0 || v.length > 10) return undefined;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return undefined;
    }
    return Number(v);
  }

  /** Contact `q` parameter (0..1) as a number. */
  get q(): number | undefined {
    const v = this.params['q'];
    if (typeof v !== 'string') return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
  }

  toString(): string {
    let out = '';
    if (this.displayName !== undefined && this.displayName !== '') out += quote(this.displayName) + ' ';
    out += '<' + this.uri.toString() + '>';
    return out + formatParams(this.params);
  }
}

/** Unquoted display name s[a, b) (tokens and LWS, non-ASCII tolerated): trimmed, inner LWS runs as one SP. */
function tokenDisplayName(s: string, a: number, b: number): string {
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  let plain = true;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    // Non-ASCII: String.prototype.trim() semantics (it also removes Unicode spaces at the ends).
    if (c >= 0x80) return s.slice(a, b).trim().replace(/[ \t]+/g, ' ');
    if (c === 0x09 || (c === 0x20 && (s.charCodeAt(i + 1) === 0x20 || s.charCodeAt(i + 1) === 0x09))) { plain = false; break; }
  }
  if (plain) return s.slice(a, b);
  let out = '';
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      while (i + 1 < b && (s.charCodeAt(i + 1) === 0x20 || s.charCodeAt(i + 1) === 0x09)) i++;
      out += ' ';
    } else out += s[i];
  }
  return out;
}

/**
 * Parse one name-addr or addr-spec with its header parameters. When the URI is not in angle brackets, the
 * semicolon parameters belong to the header (RFC 3261 §20.10). The URI is checked now and built when read.
 */
export function parseNameAddr(s: string, header: string): NameAddr {
  return parseNameAddrAt(s, 0, s.length, header);
}

/** parseNameAddr() of s[a, n) (the parser reads values in place, inside the header text). */
export function parseNameAddrAt(s: string, a: number, n: number, header: string): NameAddr {
  let i = skipWs(s, a, n);
  let displayName: string | undefined;
  let uriText: string;
  let lt = -1;
  if (i < n && s.charCodeAt(i) === 0x22) {
    const end = scanQuoted(s, i, n);
    if (end < 0) throw badHeader(header, 'unterminated quoted display name');
    displayName = unquote(s.slice(i, end));
    i = skipWs(s, end, n);
    if (i >= n || s.charCodeAt(i) !== 0x3c) throw badHeader(header, 'quoted display name not followed by <URI>');
    lt = i;
  } else {
    // Unquoted display name: *(token LWS) directly followed by '<' (non-ASCII tolerated).
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (!(isTokenChar(c) || c === 0x20 || c === 0x09 || c >= 0x80)) break;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 0x3c) {
      lt = j;
      if (j > i) displayName = tokenDisplayName(s, i, j);
    }
  }
  if (lt >= 0) {
    const gt = s.indexOf('>', lt + 1);
    if (gt < 0 || gt >= n) throw badHeader(header, 'missing >');
    uriText = s.slice(lt + 1, gt);
    i = gt + 1;
  } else {
    // addr-spec: the URI runs to the first ';' or whitespace.
    const start = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x3b || c === 0x20 || c === 0x09) break;
      if (c === 0x2c || c === 0x3f || c === 0x3e) throw badHeader(header, 'addr-spec contains , ? or > (needs <...>)');
      i++;
    }
    uriText = s.slice(start, i);
  }
  checkUri(uriText, header);
  const params = newParams();
  i = parseHeaderParams(s, i, params, header, n);
  i = skipWs(s, i, n);
  if (i !== n) throw badHeader(header, `unexpected text '${s.slice(i, Math.min(n, i + 20))}'`);
  return NameAddr.lazy(uriText, header, displayName, params);
}

/** Contact header value: either `*` or a list of name-addrs (the caller splits the list). */
export function parseContact(s: string): NameAddr | '*' {
  if (s === '*' || s.trim() === '*') return '*';
  return parseNameAddr(s, 'Contact');
}

/**
 * parseNameAddrAt(t, a - base, n - base, header) over the bytes of an ASCII header section (see "wire fast paths"
 * in scan.ts): the same NameAddr; or the SipParseError it throws, where the bytes read so far decide it (an
 * unterminated quote, no `<` after a quoted name, a `<` not followed by a scheme, `,` `?` `>` in an addr-spec, a
 * malformed parameter list, text after the value); or undefined (BAIL) when the URI is one checkUriWire()
 * (scanUriWire() in angle brackets) does not accept: the caller then runs parseNameAddrAt(), which also throws
 * the other errors.
 */
export function parseNameAddrWire(b: Uint8Array, a: number, n: number, header: string, t: string, base: number): NameAddr | SipParseError | undefined {
  let i = skipWsWire(b, a, n);
  let displayName: string | undefined;
  let lt = -1;
  let us: number;
  let ue: number;
  if (i < n && b[i] === 0x22) {
    const end = scanQuotedWire(b, i, n);
    if (end < 0) return badHeader(header, 'unterminated quoted display name');
    // unquote(): the text between the quotes, unescaped when it holds a backslash.
    let esc = i + 1;
    while (esc < end - 1 && b[esc] !== 0x5c) esc++;
    displayName = esc < end - 1 ? unquote(t.slice(i - base, end - base)) : t.slice(i + 1 - base, end - 1 - base);
    i = skipWsWire(b, end, n);
    if (i >= n || b[i] !== 0x3c) return badHeader(header, 'quoted display name not followed by <URI>');
    lt = i;
  } else {
    // Unquoted display name: *(token LWS) directly followed by '<' (the section is ASCII: no byte >= 0x80).
    let j = i;
    while (j < n && BYTE_CLASS[b[j]!] !== 0) j++;
    if (j < n && b[j] === 0x3c) {
      lt = j;
      if (j > i) displayName = tokenDisplayName(t, i - base, j - base);
    }
  }
  if (lt >= 0) {
    // The URI's end, found and checked in one pass, must be the '>'.
    us = lt + 1;
    if (us >= n || !isAlphaByte(b[us]!)) return noSchemeInBrackets(b, us, n, header);
    ue = scanUriWire(b, us, n);
    if (ue < 0 || ue >= n || b[ue] !== 0x3e) return undefined;
    i = ue + 1;
  } else {
    us = i;
    while (i < n) {
      const c = b[i]!;
      if (c === 0x3b || c === 0x20 || c === 0x09) break;
      if (c === 0x2c || c === 0x3f || c === 0x3e) return badHeader(header, 'addr-spec contains , ? or > (needs <...>)');
      i++;
    }
    ue = i;
    if (checkUriWire(b, us, ue) < 0) return undefined;
  }
  const params = newParams();
  i = parseHeaderParamsWire(b, i, n, params, t, base);
  if (i < 0) return paramsWireError(header, t, base);
  i = skipWsWire(b, i, n);
  if (i !== n) return badHeader(header, `unexpected text '${t.slice(i - base, Math.min(n, i + 20) - base)}'`);
  return NameAddr.lazy(t.slice(us - base, ue - base), header, displayName, params);
}

/**
 * The error parseNameAddrAt() throws for `<` followed by b[us], which does not start a scheme: no `>` at all, or
 * the text up to the first `>` is empty or has no scheme (checkUri()'s first two checks).
 */
function noSchemeInBrackets(b: Uint8Array, us: number, n: number, header: string): SipParseError {
  let gt = us;
  while (gt < n && b[gt] !== 0x3e) gt++;
  if (gt >= n) return badHeader(header, 'missing >');
  return uriError(gt === us ? 'is empty' : 'has no valid scheme', header);
}
