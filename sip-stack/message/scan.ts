// Hand-written scanning helpers shared by the header value parsers. No regular expressions: every loop moves
// forward by at least one character per iteration and is bounded by the input length.

import { badHeader, type SipParseError } from './errors.js';

const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

// Buffer decoding without Buffer.prototype.toString()'s argument handling: Node's own latin1Slice/utf8Slice
// (present on every Buffer since early Node versions; toString() calls them too), with toString() as fallback.
// Buffer methods are called through constants: in the optimized parser, `buf.indexOf` was compiled as a call to
// the generic load inline cache at every use (seen in perf profiles); a constant function needs no load.
interface SliceableBuffer { latin1Slice?(a: number, b: number): string; utf8Slice?(a: number, b: number): string }
const LATIN1_SLICE = (Buffer.prototype as unknown as SliceableBuffer).latin1Slice;
const UTF8_SLICE = (Buffer.prototype as unknown as SliceableBuffer).utf8Slice;
const HAS_SLICES = typeof LATIN1_SLICE === 'function' && typeof UTF8_SLICE === 'function';
const BUFFER_INDEX_OF = Buffer.prototype.indexOf;

/** buf[a, b) decoded as latin1 (0 <= a <= b <= buf.length). */
export function latin1At(buf: Buffer, a: number, b: number): string {
  return HAS_SLICES ? LATIN1_SLICE!.call(buf, a, b) : buf.toString('latin1', a, b);
}

/** buf[a, b) decoded as UTF-8 (0 <= a <= b <= buf.length). */
export function utf8At(buf: Buffer, a: number, b: number): string {
  return HAS_SLICES ? UTF8_SLICE!.call(buf, a, b) : buf.toString('utf8', a, b);
}

/** buf.indexOf(byte, from) without the property load (see above). */
export function indexOfByte(buf: Buffer, byte: number, from: number): number {
  return BUFFER_INDEX_OF.call(buf, byte, from);
}

/** An ASCII letter (the first character of a URI scheme). */
export function isAlphaByte(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** RFC 3261 `token` character. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** Whether the whole string is a non-empty RFC 3261 token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Remove leading and trailing SP / HT only. String.prototype.trim() would also eat characters that are part
 * of a SIP value (U+FEFF, U+00A0, U+2028, ... — RFC 4475 intmeth's extension header starts with a BOM).
 */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

export function skipWs(s: string, i: number, n: number = s.length): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index after the token starting at i (i itself when none); n bounds the scan. */
export function scanToken(s: string, i: number, n: number = s.length): number {
  while (i < n && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Index just after the closing quote of the quoted-string whose opening quote is at i; -1 when unterminated.
 * Backslash escapes one character (RFC 3261 quoted-pair). n bounds the scan.
 */
export function scanQuoted(s: string, i: number, n: number = s.length): number {
  i++;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) { i += 2; continue; }
    if (c === 0x22) return i + 1;
    i++;
  }
  return -1;
}

/** Method names of RFC 3261 and the extensions this stack knows, as constant strings. */
export const METHOD_NAMES: readonly string[] = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK',
  'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'];

/** s[a, b) (case-sensitive), as the constant string when it is a known method. */
export function methodName(s: string, a: number, b: number): string {
  const len = b - a;
  const c0 = s.charCodeAt(a);
  for (let m = 0; m < METHOD_NAMES.length; m++) {
    const name = METHOD_NAMES[m]!;
    if (name.length !== len || name.charCodeAt(0) !== c0) continue;
    let i = 1;
    while (i < len && name.charCodeAt(i) === s.charCodeAt(a + i)) i++;
    if (i === len) return name;
  }
  return s.slice(a, b);
}

/** Remove surrounding quotes and backslash escapes; a string without quotes is returned as is. */
export function unquote(raw: string): string {
  if (raw.length < 2 || raw.charCodeAt(0) !== 0x22 || raw.charCodeAt(raw.length - 1) !== 0x22) return raw;
  const inner = raw.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === '\\' && i + 1 < inner.length) { out += inner[i + 1]; i++; } else out += c;
  }
  return out;
}

/** Quote a string as an RFC 3261 quoted-string (escaping `"` and `\`). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === '\\') out += '\\';
    // CR and LF cannot appear in a quoted-string; replace them so a header can never be split.
    out += c === '\r' || c === '\n' ? ' ' : c;
  }
  return out + '"';
}

/**
 * Split a header value at commas that are outside quoted strings and outside <...>; elements are trimmed and
 * empty elements dropped.
 */
export function splitList(s: string): string[] {
  const out: string[] = [];
  const n = s.length;
  let start = 0;
  let angle = false;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      const end = scanQuoted(s, i);
      if (end < 0) { i = n; break; }
      i = end;
      continue;
    }
    if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      const part = trimLws(s.slice(start, i));
      if (part.length > 0) out.push(part);
      start = i + 1;
    }
    i++;
  }
  const last = trimLws(s.slice(start));
  if (last.length > 0) out.push(last);
  return out;
}

/** Parameter map: lowercase names; value null for a parameter without `=`. Never has a prototype. */
export type Params = Record<string, string | null>;

// Object.create(null) gives a dictionary-mode object in V8 (every write is a hash insert). Instances of a
// constructor whose prototype is itself prototype-less are fast-mode objects with the same guarantees: no
// inherited names ('constructor', 'toString', ...) and no __proto__ setter in the chain (a '__proto__' parameter
// is an ordinary own property).
const NullProto = Object.create(null) as object;
const FastDict = function FastDict(this: object): void { /* empty */ } as unknown as { new (): Record<string, never> };
(FastDict as unknown as { prototype: object }).prototype = NullProto;

/** A fresh string-keyed record without a prototype chain to fall into (fast-mode, see above). */
export function newDict<V>(): Record<string, V> {
  return new FastDict() as Record<string, V>;
}

export function newParams(): Params {
  return newDict<string | null>();
}

// Parameter names seen on almost every message, kept as constant (internalized) strings: a name that matches
// one of them (in any case) costs no slice, no toLowerCase() and no string-table lookup when it becomes a key.
const COMMON_PARAMS = ['tag', 'branch', 'rport', 'received', 'lr', 'transport', 'expires', 'q', 'maddr', 'ttl',
  'user', 'method', 'to-tag', 'from-tag', 'early-only', 'id', 'reason', 'retry-after', 'cause', 'text', 'refresher',
  'boundary', 'charset', 'reg-id', 'ob', 'gr', 'alias'];
// parseHeaderParamsWire() matches the first two by their bytes and stores them as indexes 0 and 1.
if (COMMON_PARAMS[0] !== 'tag' || COMMON_PARAMS[1] !== 'branch') throw new Error('COMMON_PARAMS must start with tag, branch');
const COMMON_BY_LENGTH: string[][] = [];
for (const p of COMMON_PARAMS) (COMMON_BY_LENGTH[p.length] ??= []).push(p);
/** COMMON_INDEX[COMMON_BUCKET_BASE[len] + k] = index in COMMON_PARAMS of COMMON_BY_LENGTH[len][k]. */
const COMMON_BUCKET_BASE: number[] = [];
const COMMON_INDEX: number[] = [];
for (let len = 0; len < COMMON_BY_LENGTH.length; len++) {
  COMMON_BUCKET_BASE[len] = COMMON_INDEX.length;
  for (const p of COMMON_BY_LENGTH[len] ?? []) COMMON_INDEX.push(COMMON_PARAMS.indexOf(p));
}

/** Index in COMMON_PARAMS of the name s[a, b) (any case), or -1. */
function commonParam(s: string, a: number, b: number): number {
  const bucket = COMMON_BY_LENGTH[b - a];
  if (bucket === undefined) return -1;
  for (let k = 0; k < bucket.length; k++) {
    const name = bucket[k]!;
    let i = 0;
    for (; a + i < b; i++) {
      let c = s.charCodeAt(a + i);
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== name.charCodeAt(i)) break;
    }
    if (a + i === b) return COMMON_INDEX[k + COMMON_BUCKET_BASE[b - a]!]!;
  }
  return -1;
}

/** s[a, b) lowercased, as a constant string when it is a common parameter name. */
export function lowerName(s: string, a: number, b: number): string {
  const k = commonParam(s, a, b);
  return k >= 0 ? COMMON_PARAMS[k]! : s.slice(a, b).toLowerCase();
}

/**
 * out[name] = v. The common names are stored as named properties: each store site then sees one name and
 * a few shapes, where one keyed store for every name would go through the generic (megamorphic) path.
 */
function storeParam(out: Params, k: number, s: string, a: number, b: number, v: string | null): void {
  switch (k) {
    case 0: out.tag = v; return;
    case 1: out.branch = v; return;
    case 2: out.rport = v; return;
    case 3: out.received = v; return;
    case 4: out.lr = v; return;
    case 5: out.transport = v; return;
    case 6: out.expires = v; return;
    case 7: out.q = v; return;
    default: out[k >= 0 ? COMMON_PARAMS[k]! : s.slice(a, b).toLowerCase()] = v;
  }
}

/**
 * Parse `*( SEMI generic-param )` of a header starting at i (LWS allowed around `;` and `=`). Values keep
 * their quotes when quoted (use unquote()). Returns the index after the last parameter; stops at the first
 * character that does not continue a parameter list. s[.., n) is the value (n defaults to the end of s).
 */
export function parseHeaderParams(s: string, i: number, out: Params, header: string, n: number = s.length): number {
  for (;;) {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09) break;
      i++;
    }
    if (i >= n || s.charCodeAt(i) !== 0x3b) return i;
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09) break;
      i++;
    }
    const nameStart = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 128 || TOKEN[c] !== 1) break;
      i++;
    }
    if (i === nameStart) throw paramError(header, PARAMS_EMPTY_NAME, '');
    const nameEnd = i;
    const k = commonParam(s, nameStart, nameEnd);
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09) break;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1, n);
      if (i < n && s.charCodeAt(i) === 0x22) {
        const end = scanQuoted(s, i, n);
        if (end < 0) throw paramError(header, PARAMS_UNTERMINATED, paramName(k, s, nameStart, nameEnd));
        storeParam(out, k, s, nameStart, nameEnd, s.slice(i, end));
        i = end;
      } else {
        const vStart = i;
        while (i < n) {
          const c = s.charCodeAt(i);
          if (c === 0x20 || c === 0x09 || c === 0x3b || c === 0x2c || c === 0x22 || c === 0x3c || c === 0x3e) break;
          i++;
        }
        if (i === vStart) throw paramError(header, PARAMS_EMPTY_VALUE, paramName(k, s, nameStart, nameEnd));
        storeParam(out, k, s, nameStart, nameEnd, s.slice(vStart, i));
      }
    } else {
      storeParam(out, k, s, nameStart, nameEnd, null);
    }
  }
}

// The ways a parameter list fails, in parseHeaderParams() and parseHeaderParamsWire() alike.
const PARAMS_EMPTY_NAME = 1;
const PARAMS_UNTERMINATED = 2;
const PARAMS_EMPTY_VALUE = 3;

/** The error of a parameter list that fails `why` at parameter `name` ('' for an empty name). */
function paramError(header: string, why: number, name: string): SipParseError {
  return badHeader(header, why === PARAMS_EMPTY_NAME ? 'empty parameter name'
    : why === PARAMS_UNTERMINATED ? `unterminated quoted value of parameter ${name}` : `empty value of parameter ${name}`);
}

function paramName(k: number, s: string, a: number, b: number): string {
  return k >= 0 ? COMMON_PARAMS[k]! : s.slice(a, b).toLowerCase();
}

/**
 * A copy of a parameter dictionary as formatParams() then parseHeaderParams() (or a URI's wire form then its parser)
 * would give it: names lowercase, a flag (null or undefined) as null.
 */
export function copyParams(p: Params): Params {
  const out = newParams();
  for (const k in p) {
    const v = p[k];
    out[lowerName(k, 0, k.length)] = v === null || v === undefined ? null : v;
  }
  return out;
}

/** Serialize a parameter map as `;name=value;flag`. */
export function formatParams(p: Params): string {
  let out = '';
  for (const k in p) {
    const v = p[k];
    out += v === null || v === undefined ? `;${k}` : `;${k}=${v}`;
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decode %XX escapes (bytes, then UTF-8). Malformed escapes are kept literally. */
export function percentDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const h = hexVal(src[i + 1]!);
      const l = hexVal(src[i + 2]!);
      if (h >= 0 && l >= 0) { out[o++] = h * 16 + l; i += 2; continue; }
    }
    out[o++] = c;
  }
  return out.toString('utf8', 0, o);
}

const HEX = '0123456789ABCDEF';

/** %-escape every character of s that is not in the allowed set (checked per UTF-8 byte). */
export function percentEncode(s: string, allowed: (c: number) => boolean): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) if (!allowed(s.charCodeAt(i))) { plain = false; break; }
  if (plain) return s;
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (b < 128 && allowed(b)) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ wire fast paths
// The parser's value parsers also come in a byte form for the common case: they read the received bytes of a pure
// ASCII header section (indexing a Uint8Array is a plain load; String.prototype.charCodeAt checks the string's
// representation on every call, which made the string scanners the largest cost of a parse). Convention of every
// *Wire function: b[x] is the byte of character t[x - base] (t is the latin1/ASCII decoding of the header
// section, used to cut result strings), and the function returns exactly what its string counterpart returns for
// t[a - base, n - base), or BAIL (undefined / -1) as soon as the value leaves the common, well-formed shape. The
// caller then runs the string parser on the same text, which produces the error. The byte forms never throw; a few
// (parseViaWire, parseNameAddrWire, parseCSeqWire) return the string parser's very SipParseError where the bytes
// read so far decide it, so the parser can answer without a throw (wire.test.ts compares the errors too).

/** Byte classes: bit 1 token, bit 2 SP/HT. Bytes 128..255 are in no class. */
export const WTOKEN = 1;
const WWS = 2;
export const BYTE_CLASS = new Uint8Array(256);
for (let c = 0; c < 128; c++) if (TOKEN[c] === 1) BYTE_CLASS[c] = WTOKEN;
BYTE_CLASS[0x20] = WWS;
BYTE_CLASS[0x09] = WWS;

/** The port the last scanPort() / scanPortWire() read (module scratch: scans are synchronous). */
export let scannedPort = 0;

/**
 * A port (RFC 3261 `port = 1*DIGIT`, taken as at most 65535) starting at s[i], before n: up to six digits, not
 * followed by another. Returns the index after it and sets scannedPort, or -1.
 */
export function scanPort(s: string, i: number, n: number): number {
  const start = i;
  let v = 0;
  while (i < n && i - start < 6) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    i++;
  }
  if (i === start || v > 65535 || (i < n && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39)) return -1;
  scannedPort = v;
  return i;
}

/** scanPort() over bytes. */
export function scanPortWire(b: Uint8Array, i: number, n: number): number {
  const start = i;
  let v = 0;
  while (i < n && i - start < 6) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    i++;
  }
  if (i === start || v > 65535 || (i < n && b[i]! >= 0x30 && b[i]! <= 0x39)) return -1;
  scannedPort = v;
  return i;
}

export function skipWsWire(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

export function scanTokenWire(b: Uint8Array, i: number, n: number): number {
  while (i < n && BYTE_CLASS[b[i]!] === WTOKEN) i++;
  return i;
}

/** scanQuoted() over bytes: index after the closing quote of the quoted-string opening at i, or -1. */
export function scanQuotedWire(b: Uint8Array, i: number, n: number): number {
  i++;
  while (i < n) {
    const c = b[i]!;
    if (c === 0x5c) { i += 2; continue; }
    if (c === 0x22) return i + 1;
    i++;
  }
  return -1;
}

// COMMON_PARAMS as bytes for commonParamWire(): names of one length are contiguous in COMMON_BYTES.
const COMMON_BYTES = new Uint8Array(COMMON_PARAMS.reduce((n, p) => n + p.length, 0));
/** Per length: offset of its first name in COMMON_BYTES. */
const COMMON_BYTES_BASE: number[] = [];
{
  let o = 0;
  for (let len = 0; len < COMMON_BY_LENGTH.length; len++) {
    COMMON_BYTES_BASE[len] = o;
    for (const p of COMMON_BY_LENGTH[len] ?? []) for (let i = 0; i < p.length; i++) COMMON_BYTES[o++] = p.charCodeAt(i);
  }
}
/** Byte → byte with A-Z lowercased. */
const LOWER_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER_BYTE[c] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;

/** commonParam() of b[a, e). */
function commonParamWire(b: Uint8Array, a: number, e: number): number {
  const len = e - a;
  const bucket = COMMON_BY_LENGTH[len];
  if (bucket === undefined) return -1;
  let o = COMMON_BYTES_BASE[len]!;
  for (let k = 0; k < bucket.length; k++, o += len) {
    let i = 0;
    while (i < len && LOWER_BYTE[b[a + i]!] === COMMON_BYTES[o + i]) i++;
    if (i === len) return COMMON_INDEX[k + COMMON_BUCKET_BASE[len]!]!;
  }
  return -1;
}

/** Why parseHeaderParamsWire() last returned -1 (module scratch): the error parseHeaderParams() throws there. */
let paramsFail = 0;
let paramsFailK = -1;
let paramsFailA = 0;
let paramsFailB = 0;

function paramsFailed(why: number, k: number, a: number, b: number): number {
  paramsFail = why;
  paramsFailK = k;
  paramsFailA = a;
  paramsFailB = b;
  return -1;
}

/**
 * The SipParseError parseHeaderParams(t, ...) throws where parseHeaderParamsWire(b, ..., t, base) last returned -1:
 * the two read the same characters and stop at the same one.
 */
export function paramsWireError(header: string, t: string, base: number): SipParseError {
  return paramError(header, paramsFail, paramsFail === PARAMS_EMPTY_NAME ? '' : paramName(paramsFailK, t, paramsFailA - base, paramsFailB - base));
}

/**
 * parseHeaderParams() over bytes (see the convention above): returns the index after the last parameter, or -1
 * where the string form would throw (paramsWireError() then gives its error). With `out` undefined the list is
 * only checked (nothing is sliced or stored).
 */
export function parseHeaderParamsWire(b: Uint8Array, i: number, n: number, out: Params | undefined, t: string, base: number): number {
  for (;;) {
    while (i < n && BYTE_CLASS[b[i]!] === WWS) i++;
    if (i >= n || b[i] !== 0x3b) return i;
    i++;
    while (i < n && BYTE_CLASS[b[i]!] === WWS) i++;
    const nameStart = i;
    let k: number;
    // tag= and branch=, on almost every message, matched by their bytes (any case): no token loop and no name
    // lookup. The general path finds the same name end and index ('=' is not a token character).
    const c0 = b[i]! | 0x20;
    if (c0 === 0x74 && i + 3 < n && b[i + 3] === 0x3d && (b[i + 1]! | 0x20) === 0x61 && (b[i + 2]! | 0x20) === 0x67) {
      i += 3;
      k = 0;
    } else if (c0 === 0x62 && i + 6 < n && b[i + 6] === 0x3d && (b[i + 1]! | 0x20) === 0x72 && (b[i + 2]! | 0x20) === 0x61 &&
      (b[i + 3]! | 0x20) === 0x6e && (b[i + 4]! | 0x20) === 0x63 && (b[i + 5]! | 0x20) === 0x68) {
      i += 6;
      k = 1;
    } else {
      while (i < n && BYTE_CLASS[b[i]!] === WTOKEN) i++;
      if (i === nameStart) return paramsFailed(PARAMS_EMPTY_NAME, -1, i, i);
      k = out === undefined ? -1 : commonParamWire(b, nameStart, i);
    }
    const nameEnd = i;
    while (i < n && BYTE_CLASS[b[i]!] === WWS) i++;
    if (i < n && b[i] === 0x3d) {
      i++;
      while (i < n && BYTE_CLASS[b[i]!] === WWS) i++;
      if (i < n && b[i] === 0x22) {
        const end = scanQuotedWire(b, i, n);
        if (end < 0) return paramsFailed(PARAMS_UNTERMINATED, k, nameStart, nameEnd);
        if (out !== undefined) storeParam(out, k, t, nameStart - base, nameEnd - base, t.slice(i - base, end - base));
        i = end;
      } else {
        const vStart = i;
        while (i < n && VALUE_STOP[b[i]!] === 0) i++;
        if (i === vStart) return paramsFailed(PARAMS_EMPTY_VALUE, k, nameStart, nameEnd);
        if (out !== undefined) storeParam(out, k, t, nameStart - base, nameEnd - base, t.slice(vStart - base, i - base));
      }
    } else if (out !== undefined) {
      storeParam(out, k, t, nameStart - base, nameEnd - base, null);
    }
  }
}

/** Bytes that end an unquoted parameter value in parseHeaderParams(): SP HT ; , " < > */
const VALUE_STOP = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x3b, 0x2c, 0x22, 0x3c, 0x3e]) VALUE_STOP[c] = 1;

/** methodName() of b[a, e) (case-sensitive): the constant string of a known method, else t's slice. */
export function methodNameWire(b: Uint8Array, a: number, e: number, t: string, base: number): string {
  return knownMethodWire(b, a, e) ?? t.slice(a - base, e - base);
}

/** The constant string of the known method b[a, e) spells (case-sensitive), or undefined. */
export function knownMethodWire(b: Uint8Array, a: number, e: number): string | undefined {
  const len = e - a;
  const c0 = b[a];
  for (let m = 0; m < METHOD_NAMES.length; m++) {
    const name = METHOD_NAMES[m]!;
    if (name.length !== len || name.charCodeAt(0) !== c0) continue;
    let i = 1;
    while (i < len && name.charCodeAt(i) === b[a + i]) i++;
    if (i === len) return name;
  }
  return undefined;
}
