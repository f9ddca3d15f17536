// name-addr / addr-spec values (RFC 3261 §20.10, §25.1): From, To, Contact, Route, Record-Route, Refer-To, ...

import { badHeader } from './errors.js';
import { type Params, newParams, parseHeaderParams, scanQuoted, skipWs, unquote, quote, formatParams,
  isTokenChar } from './scan.js';
import { SipUri, parseUri } from './uri.js';

export class NameAddr {
  /** Display name, unquoted and unescaped; undefined when absent. */
  displayName: string | undefined;
  uri: SipUri;
  /** Header parameters (after the URI), lowercase names; quoted values keep their quotes. */
  params: Params;

  constructor(uri: SipUri, displayName?: string, params?: Params) {
    this.uri = uri;
    this.displayName = displayName;
    this.params = params ?? newParams();
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
    if (typeof v !== 'string' || !/^\d{1,10}$/.test(v)) return undefined;
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

/**
 * Parse one name-addr or addr-spec with its header parameters. When the URI is not in angle brackets, the
 * semicolon parameters belong to the header (RFC 3261 §20.10).
 */
export function parseNameAddr(s: string, header: string): NameAddr {
  const n = s.length;
  let i = skipWs(s, 0);
  let displayName: string | undefined;
  let uriText: string;
  if (i < n && s.charCodeAt(i) === 0x22) {
    const end = scanQuoted(s, i);
    if (end < 0) throw badHeader(header, 'unterminated quoted display name');
    displayName = unquote(s.slice(i, end));
    i = skipWs(s, end);
    if (i >= n || s.charCodeAt(i) !== 0x3c) throw badHeader(header, 'quoted display name not followed by <URI>');
  }
  let lt = -1;
  if (displayName !== undefined) {
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
      if (j > i) displayName = s.slice(i, j).trim().replace(/[ \t]+/g, ' ');
    }
  }
  if (lt >= 0) {
    const gt = s.indexOf('>', lt + 1);
    if (gt < 0) throw badHeader(header, 'missing >');
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
  const uri = parseUri(uriText, header);
  const params = newParams();
  i = parseHeaderParams(s, i, params, header);
  i = skipWs(s, i);
  if (i !== n) throw badHeader(header, `unexpected text '${s.slice(i, i + 20)}'`);
  return new NameAddr(uri, displayName, params);
}

/** Contact header value: either `*` or a list of name-addrs (the caller splits the list). */
export function parseContact(s: string): NameAddr | '*' {
  if (s.trim() === '*') return '*';
  return parseNameAddr(s, 'Contact');
}
