// Typed values of the remaining headers: CSeq, Max-Forwards, Expires, auth challenges/credentials,
// Content-Type, token lists, Reason (RFC 3326), Replaces (RFC 3891), Event / Subscription-State (RFC 6665),
// RSeq / RAck (RFC 3262).

import { badHeader, type SipParseError } from './errors.js';
import { type Params, newParams, newDict, parseHeaderParams, scanQuoted, scanToken, skipWs, unquote, quote, formatParams,
  isToken, methodName, skipWsWire, scanTokenWire, methodNameWire, knownMethodWire, scanQuotedWire, parseHeaderParamsWire } from './scan.js';

/** Parse a non-negative decimal integer of at most maxDigits digits (leading zeros allowed, up to `max`). */
export function parseUInt(s: string, header: string, max: number): number {
  return parseUIntAt(s, 0, s.length, header, max);
}

/** parseUInt() of s[a, b). Outer whitespace is ignored as String.prototype.trim() would. */
export function parseUIntAt(s: string, a: number, b: number, header: string, max: number): number {
  if (a < b && (s.charCodeAt(a) <= 0x20 || s.charCodeAt(a) >= 0x7f || s.charCodeAt(b - 1) <= 0x20 || s.charCodeAt(b - 1) >= 0x7f)) {
    s = s.slice(a, b).trim();
    a = 0;
    b = s.length;
  }
  if (a >= b) throw badHeader(header, 'empty number');
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) throw badHeader(header, `not a number: '${s.slice(a, Math.min(b, a + 20))}'`);
    v = v * 10 + (c - 0x30);
    if (v > max) throw badHeader(header, `value above ${max}`);
  }
  return v;
}

/** parseUIntAt() over the bytes b[a, e) of an ASCII header section: the value, or -1 (BAIL). */
export function parseUIntWire(b: Uint8Array, a: number, e: number, max: number): number {
  if (a >= e) return -1;
  let v = 0;
  for (let i = a; i < e; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
    if (v > max) return -1;
  }
  return v;
}

// ---------------------------------------------------------------- CSeq

export interface CSeq {
  seq: number;
  method: string;
}

/**
 * The parsers' CSeq: one class, so every parsed CSeq has one hidden class whichever path (bytes or string, interpreted
 * or optimised) made it. With object literals, optimised code occasionally met a second map for the same shape and
 * deoptimised for good, halving the parser's throughput for the rest of the process (seen in bench/sip-parse.js).
 */
class ParsedCSeq implements CSeq {
  seq: number;
  method: string;
  constructor(seq: number, method: string) {
    this.seq = seq;
    this.method = method;
  }
}

/** CSeq = 1*DIGIT LWS Method; the number must be below 2^31 (RFC 3261 §8.1.1.5). */
export function parseCSeq(s: string): CSeq {
  return parseCSeqAt(s, 0, s.length);
}

/** parseCSeq() of s[a, n). */
export function parseCSeqAt(s: string, a: number, n: number): CSeq {
  let i = skipWs(s, a, n);
  const st = i;
  let v = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    if (v > 0x7fffffff) throw badHeader('CSeq', 'sequence number not below 2**31');
    i++;
  }
  if (i === st) throw badHeader('CSeq', 'missing sequence number');
  const sp = i;
  i = skipWs(s, i, n);
  if (i === sp) throw badHeader('CSeq', 'missing whitespace before method');
  const ms = i;
  i = scanToken(s, i, n);
  if (i === ms) throw badHeader('CSeq', 'missing method');
  const method = methodName(s, ms, i);
  if (skipWs(s, i, n) !== n) throw badHeader('CSeq', 'unexpected text after method');
  return new ParsedCSeq(v, method);
}

/**
 * parseCSeqAt() over the bytes of an ASCII header section (see "wire fast paths" in scan.ts): the same CSeq, or the
 * SipParseError it throws (the two read the same characters in the same order).
 */
export function parseCSeqWire(b: Uint8Array, a: number, n: number, t: string, base: number): CSeq | SipParseError {
  let i = skipWsWire(b, a, n);
  const st = i;
  let v = 0;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    if (v > 0x7fffffff) return badHeader('CSeq', 'sequence number not below 2**31');
    i++;
  }
  if (i === st) return badHeader('CSeq', 'missing sequence number');
  const sp = i;
  i = skipWsWire(b, i, n);
  if (i === sp) return badHeader('CSeq', 'missing whitespace before method');
  const ms = i;
  // The usual end: a known method running to the end of the value (what the token scan and the checks below find).
  const known = knownMethodWire(b, ms, n);
  if (known !== undefined) return new ParsedCSeq(v, known);
  i = scanTokenWire(b, i, n);
  if (i === ms) return badHeader('CSeq', 'missing method');
  const method = methodNameWire(b, ms, i, t, base);
  if (skipWsWire(b, i, n) !== n) return badHeader('CSeq', 'unexpected text after method');
  return new ParsedCSeq(v, method);
}

// ---------------------------------------------------------------- auth

/** WWW-Authenticate / Proxy-Authenticate challenge or Authorization / Proxy-Authorization credentials. */
export class AuthValue {
  /** Scheme as written, e.g. 'Digest'. */
  declare scheme: string;
  /** Lowercase parameter names; quoted values unquoted and unescaped. */
  declare params: Record<string, string>;
  /** Names of parameters that were quoted (kept for faithful re-serialization). */
  declare quoted: Set<string>;
  /** Token68 form (`Basic dXNlcg==`) when the value has no name=value pairs. */
  declare token68: string | undefined;

  constructor(scheme: string, params?: Record<string, string>, quoted?: Set<string>, token68?: string) {
    this.scheme = scheme;
    this.params = params ?? newDict<string>();
    this.quoted = quoted ?? new Set();
    this.token68 = token68;
  }

  get realm(): string | undefined { return this.params['realm']; }
  get nonce(): string | undefined { return this.params['nonce']; }
  get username(): string | undefined { return this.params['username']; }
  get algorithm(): string | undefined { return this.params['algorithm']; }

  toString(): string {
    if (this.token68 !== undefined) return `${this.scheme} ${this.token68}`;
    const parts: string[] = [];
    for (const k in this.params) {
      const v = this.params[k]!;
      parts.push(`${k}=${this.quoted.has(k) || !isToken(v) ? quote(v) : v}`);
    }
    return `${this.scheme} ${parts.join(', ')}`;
  }
}

/** Parse `scheme LWS auth-param *(COMMA auth-param)` (RFC 3261 §25.1, RFC 7616). */
export function parseAuth(s: string, header: string): AuthValue {
  const n = s.length;
  let i = skipWs(s, 0);
  const st = i;
  i = scanToken(s, i);
  if (i === st) throw badHeader(header, 'missing scheme');
  const scheme = s.slice(st, i);
  const params = newDict<string>();
  const quoted = new Set<string>();
  i = skipWs(s, i);
  if (i >= n) return new AuthValue(scheme, params, quoted);
  // token68 (e.g. Basic dXNlcjpwYXNz): no name=value pairs.
  const rest = s.slice(i).trim();
  if (/^[A-Za-z0-9\-._~+/]+=*$/.test(rest)) return new AuthValue(scheme, params, quoted, rest);
  for (;;) {
    i = skipWs(s, i);
    if (i >= n) break;
    const ns = i;
    i = scanToken(s, i);
    if (i === ns) throw badHeader(header, 'expected parameter name');
    const name = s.slice(ns, i).toLowerCase();
    i = skipWs(s, i);
    if (i >= n || s.charCodeAt(i) !== 0x3d) throw badHeader(header, `parameter ${name} without =`);
    i = skipWs(s, i + 1);
    if (i < n && s.charCodeAt(i) === 0x22) {
      const end = scanQuoted(s, i);
      if (end < 0) throw badHeader(header, `unterminated quoted value of ${name}`);
      params[name] = unquote(s.slice(i, end));
      quoted.add(name);
      i = end;
    } else {
      const vs = i;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === 0x2c || c === 0x20 || c === 0x09) break;
        i++;
      }
      if (i === vs) throw badHeader(header, `empty value of ${name}`);
      params[name] = s.slice(vs, i);
    }
    i = skipWs(s, i);
    if (i >= n) break;
    if (s.charCodeAt(i) !== 0x2c) throw badHeader(header, `expected , after ${name}`);
    i++;
  }
  return new AuthValue(scheme, params, quoted);
}

/** Bytes of the token68 form's first part: A-Z a-z 0-9 - . _ ~ + / */
const TOKEN68 = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f ||
    c === 0x7e || c === 0x2b || c === 0x2f) TOKEN68[c] = 1;
}

/** Whether b[a, e) after trimming ASCII whitespace is a token68 (parseAuth's /^[A-Za-z0-9\-._~+/]+=*$/). */
function isToken68Wire(b: Uint8Array, a: number, e: number): boolean {
  while (a < e && (b[a] === 0x20 || (b[a]! >= 0x09 && b[a]! <= 0x0d))) a++;
  while (e > a && (b[e - 1] === 0x20 || (b[e - 1]! >= 0x09 && b[e - 1]! <= 0x0d))) e--;
  const st = a;
  while (a < e && TOKEN68[b[a]!] === 1) a++;
  if (a === st) return false;
  while (a < e && b[a] === 0x3d) a++;
  return a === e;
}

/**
 * parseAuth(t.slice(a - base, n - base), header) over the bytes of an ASCII header section (see "wire fast paths"
 * in scan.ts); undefined: BAIL (also for the token68 form, left to the string parser).
 */
export function parseAuthWire(b: Uint8Array, a: number, n: number, t: string, base: number): AuthValue | undefined {
  let i = skipWsWire(b, a, n);
  const st = i;
  i = scanTokenWire(b, i, n);
  if (i === st) return undefined;
  const scheme = t.slice(st - base, i - base);
  const params = newDict<string>();
  const quoted = new Set<string>();
  i = skipWsWire(b, i, n);
  if (i >= n) return new AuthValue(scheme, params, quoted);
  if (isToken68Wire(b, i, n)) return undefined;
  for (;;) {
    i = skipWsWire(b, i, n);
    if (i >= n) break;
    const ns = i;
    i = scanTokenWire(b, i, n);
    if (i === ns) return undefined;
    const name = t.slice(ns - base, i - base).toLowerCase();
    i = skipWsWire(b, i, n);
    if (i >= n || b[i] !== 0x3d) return undefined;
    i = skipWsWire(b, i + 1, n);
    if (i < n && b[i] === 0x22) {
      const end = scanQuotedWire(b, i, n);
      if (end < 0) return undefined;
      params[name] = unquote(t.slice(i - base, end - base));
      quoted.add(name);
      i = end;
    } else {
      const vs = i;
      while (i < n) {
        const c = b[i]!;
        if (c === 0x2c || c === 0x20 || c === 0x09) break;
        i++;
      }
      if (i === vs) return undefined;
      params[name] = t.slice(vs - base, i - base);
    }
    i = skipWsWire(b, i, n);
    if (i >= n) break;
    if (b[i] !== 0x2c) return undefined;
    i++;
  }
  return new AuthValue(scheme, params, quoted);
}

// ---------------------------------------------------------------- Content-Type

export class ContentType {
  /** Lowercase type: 'application'. */
  declare type: string;
  /** Lowercase subtype: 'sdp'. */
  declare subtype: string;
  declare params: Params;
  constructor(type: string, subtype: string, params?: Params) {
    this.type = type === 'application' ? type : type.toLowerCase();
    this.subtype = subtype === 'sdp' ? subtype : subtype.toLowerCase();
    this.params = params ?? newParams();
  }
  /** 'application/sdp' */
  get mediaType(): string { return `${this.type}/${this.subtype}`; }
  /** Multipart boundary (unquoted) when present. */
  get boundary(): string | undefined {
    const b = this.params['boundary'];
    return typeof b === 'string' ? unquote(b) : undefined;
  }
  toString(): string { return this.mediaType + formatParams(this.params); }
}

/** `name` when s at `a` spells it in any case (ASCII letters), else that slice of s. */
function lowerConst(s: string, a: number, name: string): string {
  for (let i = 0; i < name.length; i++) if ((s.charCodeAt(a + i) | 0x20) !== name.charCodeAt(i)) return s.slice(a, a + name.length);
  return name;
}

/** Whether b[a, a + name.length) is `name` in any case (lowerConst() over bytes). */
function isLowerConstWire(b: Uint8Array, a: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if ((b[a + i]! | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** Where mediaTypeWire() found the type and the subtype (module scratch). */
let MT_TS = 0;
let MT_TE = 0;
let MT_SS = 0;

/** `m-type SLASH m-subtype` at the start of b[a, n): the index after the subtype (MT_* set), or -1. */
function mediaTypeWire(b: Uint8Array, a: number, n: number): number {
  let i = skipWsWire(b, a, n);
  const ts = i;
  i = scanTokenWire(b, i, n);
  if (i === ts) return -1;
  MT_TS = ts;
  MT_TE = i;
  i = skipWsWire(b, i, n);
  if (i >= n || b[i] !== 0x2f) return -1;
  i = skipWsWire(b, i + 1, n);
  const ss = i;
  i = scanTokenWire(b, i, n);
  if (i === ss) return -1;
  MT_SS = ss;
  return i;
}

/** parseContentTypeAt() over the bytes of an ASCII header section (see "wire fast paths" in scan.ts); undefined: BAIL. */
export function parseContentTypeWire(b: Uint8Array, a: number, n: number, t: string, base: number): ContentType | undefined {
  let i = mediaTypeWire(b, a, n);
  if (i < 0) return undefined;
  const ts = MT_TS;
  const te = MT_TE;
  const ss = MT_SS;
  const type = te - ts === 11 && isLowerConstWire(b, ts, 'application') ? 'application' : t.slice(ts - base, te - base);
  const subtype = i - ss === 3 && isLowerConstWire(b, ss, 'sdp') ? 'sdp' : t.slice(ss - base, i - base);
  const params = newParams();
  i = parseHeaderParamsWire(b, i, n, params, t, base);
  if (i < 0 || skipWsWire(b, i, n) !== n) return undefined;
  return new ContentType(type, subtype, params);
}

/**
 * Whether parseContentTypeWire() reads b[a, n) whole, i.e. the value is a valid media-type, checked without
 * building it (the parser's check of a request's Content-Type; the value is parsed when read).
 */
export function isContentTypeWire(b: Uint8Array, a: number, n: number): boolean {
  let i = mediaTypeWire(b, a, n);
  if (i < 0) return false;
  i = parseHeaderParamsWire(b, i, n, undefined, '', 0);
  return i >= 0 && skipWsWire(b, i, n) === n;
}

/** media-type = m-type SLASH m-subtype *(SEMI m-parameter) */
export function parseContentType(s: string, header = 'Content-Type'): ContentType {
  return parseContentTypeAt(s, 0, s.length, header);
}

/** parseContentType() of s[a, n). */
export function parseContentTypeAt(s: string, a: number, n: number, header = 'Content-Type'): ContentType {
  let i = skipWs(s, a, n);
  const ts = i;
  i = scanToken(s, i, n);
  if (i === ts) throw badHeader(header, 'missing type');
  const type = i - ts === 11 ? lowerConst(s, ts, 'application') : s.slice(ts, i);
  i = skipWs(s, i, n);
  if (i >= n || s.charCodeAt(i) !== 0x2f) throw badHeader(header, 'missing /subtype');
  i = skipWs(s, i + 1, n);
  const ss = i;
  i = scanToken(s, i, n);
  if (i === ss) throw badHeader(header, 'missing subtype');
  const subtype = i - ss === 3 ? lowerConst(s, ss, 'sdp') : s.slice(ss, i);
  const params = newParams();
  i = parseHeaderParams(s, i, params, header, n);
  if (skipWs(s, i, n) !== n) throw badHeader(header, `unexpected text '${s.slice(i, Math.min(n, i + 20))}'`);
  return new ContentType(type, subtype, params);
}

// ---------------------------------------------------------------- token lists

/** Supported / Require / Unsupported / Allow / Proxy-Require elements: each must be a token. */
export function parseTokenList(parts: string[], header: string): string[] {
  for (const p of parts) if (!isToken(p)) throw badHeader(header, `not a token: '${p.slice(0, 30)}'`);
  return parts;
}

// ---------------------------------------------------------------- generic value with params

/** `token *(SEMI generic-param)`: Event, Subscription-State, Content-Disposition, Reason, Replaces, ... */
export interface ValueWithParams {
  value: string;
  params: Params;
}

export function parseValueWithParams(s: string, header: string, valueIsToken = true): ValueWithParams {
  const n = s.length;
  let i = skipWs(s, 0);
  const vs = i;
  if (valueIsToken) {
    i = scanToken(s, i);
  } else {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x3b || c === 0x20 || c === 0x09) break;
      i++;
    }
  }
  if (i === vs) throw badHeader(header, 'missing value');
  const value = s.slice(vs, i);
  const params = newParams();
  i = parseHeaderParams(s, i, params, header);
  if (skipWs(s, i) !== n) throw badHeader(header, `unexpected text '${s.slice(i, i + 20)}'`);
  return { value, params };
}

/** Reason (RFC 3326): `SIP ;cause=200 ;text="Call completed elsewhere"`. */
export interface Reason {
  protocol: string;
  cause: number | undefined;
  text: string | undefined;
  params: Params;
}

export function parseReason(s: string): Reason {
  const { value, params } = parseValueWithParams(s, 'Reason');
  const c = params['cause'];
  let cause: number | undefined;
  if (typeof c === 'string') cause = parseUInt(c, 'Reason', 99999);
  const t = params['text'];
  return { protocol: value, cause, text: typeof t === 'string' ? unquote(t) : undefined, params };
}

/** Replaces (RFC 3891): `callid;to-tag=..;from-tag=..[;early-only]`. */
export interface Replaces {
  callId: string;
  toTag: string;
  fromTag: string;
  earlyOnly: boolean;
  params: Params;
}

export function parseReplaces(s: string): Replaces {
  const { value, params } = parseValueWithParams(s, 'Replaces', false);
  const toTag = params['to-tag'];
  const fromTag = params['from-tag'];
  if (typeof toTag !== 'string' || typeof fromTag !== 'string') throw badHeader('Replaces', 'to-tag and from-tag are required');
  return { callId: value, toTag, fromTag, earlyOnly: 'early-only' in params, params };
}

/** Event (RFC 6665): package name (with template after '.') and `id`. */
export interface EventValue {
  event: string;
  id: string | undefined;
  params: Params;
}

export function parseEvent(s: string): EventValue {
  const { value, params } = parseValueWithParams(s, 'Event');
  const id = params['id'];
  return { event: value, id: typeof id === 'string' ? id : undefined, params };
}

/** Subscription-State (RFC 6665 §8.2.3). */
export interface SubscriptionState {
  state: string;
  expires: number | undefined;
  reason: string | undefined;
  retryAfter: number | undefined;
  params: Params;
}

export function parseSubscriptionState(s: string): SubscriptionState {
  const { value, params } = parseValueWithParams(s, 'Subscription-State');
  const e = params['expires'];
  const r = params['reason'];
  const ra = params['retry-after'];
  return {
    state: value.toLowerCase(),
    expires: typeof e === 'string' ? parseUInt(e, 'Subscription-State', 0xffffffff) : undefined,
    reason: typeof r === 'string' ? r : undefined,
    retryAfter: typeof ra === 'string' ? parseUInt(ra, 'Subscription-State', 0xffffffff) : undefined,
    params,
  };
}

/** RAck (RFC 3262): `response-num LWS CSeq-num LWS Method`. */
export interface RAck {
  rseq: number;
  cseq: number;
  method: string;
}

export function parseRAck(s: string): RAck {
  const parts = s.trim().split(/[ \t]+/);
  if (parts.length !== 3) throw badHeader('RAck', 'expected response-num CSeq-num Method');
  const rseq = parseUInt(parts[0]!, 'RAck', 0xffffffff);
  const cseq = parseUInt(parts[1]!, 'RAck', 0x7fffffff);
  if (!isToken(parts[2]!)) throw badHeader('RAck', 'invalid method');
  return { rseq, cseq, method: parts[2]! };
}
