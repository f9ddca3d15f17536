// SIP request and response objects: header storage in wire order, lazily parsed and cached typed values,
// and the serializer. An untouched parsed message serializes by returning a view of its original bytes.

import { SipParseError, badHeader, defaultReason } from './errors.js';
import { type HeaderName, lookupHeaderName, headerKey, KNOWN_HEADERS, H } from './header-names.js';
import { isToken, splitList, trimLws, latin1At, utf8At, skipWsWire, scanTokenWire } from './scan.js';
import { SipUri, parseUri, checkUri, URI_HAS_HEADERS } from './uri.js';
import { NameAddr, parseNameAddr, parseNameAddrAt, parseContact, parseNameAddrWire } from './name-addr.js';
import { Via, parseVia, parseViaAt, parseViaWire } from './via.js';
import { type CSeq, type Reason, type Replaces, type EventValue, type SubscriptionState, type RAck, AuthValue,
  ContentType, parseCSeqAt, parseCSeqWire, parseAuthWire, parseUIntWire, parseContentTypeWire, isContentTypeWire, parseUInt, parseUIntAt, parseAuth, parseContentTypeAt, parseTokenList, parseReason, parseReplaces,
  parseEvent, parseSubscriptionState, parseRAck } from './values.js';

/** One header line as stored: lowercase key, the name to write, the unfolded value. */
export interface HeaderField {
  /** Lowercase full name ('call-id' also for 'i'). */
  readonly key: string;
  /** Name written when the message is re-serialized (canonical for known headers, as received otherwise). */
  readonly name: string;
  /** Value with line folding replaced by a single space and outer whitespace trimmed. */
  readonly value: string;
}

/** Anything with a wire form: strings, numbers and the typed values (Via, NameAddr, SipUri, ...). */
export type HeaderValueInput = string | number | { toString(): string };

const EMPTY = Buffer.alloc(0);

/**
 * Passed as `headers` by the parser: the message starts in wire mode (attachWire() follows). Never exposed.
 * @internal
 */
export const WIRE_HEADERS: HeaderField[] = Object.freeze([]) as unknown as HeaderField[];

/** Range set by SipMessage.src(). Module scratch: values are read synchronously. */
let SRC_A = 0;
let SRC_B = 0;
/** Byte range set by SipMessage.wire() (same scratch rules). */
let WIRE_A = 0;
let WIRE_B = 0;

/** Headers whose typed value a NameAddr line primes (primeTyped). */
const PRIMED = new Set(['from', 'to', 'contact']);

/** Cache slot not computed yet (undefined is a computed "header absent"). */
const UNSET = Symbol('unset');
type Slot<T> = T | undefined | typeof UNSET;

/** Words per header line in wire mode: name start, name end, value start (or -1 - index into unfolded), value end, id. */
export const WIRE_STRIDE = 5;
/** _first: how many header ids it covers (ids 0..5: Via, From, To, Call-ID, CSeq, Max-Forwards), bits for each. */
export const FIRST_IDS = 6;
export const FIRST_BITS = 5;
const FIRST_MASK = (1 << FIRST_BITS) - 1;

function checkValue(v: HeaderValueInput): string {
  const s = typeof v === 'string' ? v : String(v);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0) throw new TypeError('SIP header values must not contain CR, LF or NUL');
  }
  return trimLws(s);
}

function checkName(name: string): void {
  if (!isToken(name)) throw new TypeError(`invalid SIP header name: ${JSON.stringify(name)}`);
}

/** RFC 3261 Call-ID = word ["@" word]: no whitespace (the set of characters RegExp \s matches). */
function hasWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20) { if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true; continue; }
    if (c < 0xa0) continue;
    if (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
      c === 0x205f || c === 0x3000 || c === 0xfeff) return true;
  }
  return false;
}

/** The value of an *OrError() reader, or its error thrown. */
function orThrow<T>(v: T | SipParseError): T {
  if (v instanceof SipParseError) throw v;
  return v;
}

/** Whether b[a, e) is non-empty and holds no comma. */
function noComma(b: Uint8Array, a: number, e: number): boolean {
  if (a >= e) return false;
  for (let i = a; i < e; i++) if (b[i] === 0x2c) return false;
  return true;
}

/** Whether b[a, e) (ASCII) is a Call-ID parseCallId() accepts: non-empty, none of HT LF VT FF CR SP. */
function callIdWire(b: Uint8Array, a: number, e: number): boolean {
  if (a >= e) return false;
  for (let i = a; i < e; i++) {
    const c = b[i]!;
    if (c <= 0x20 && (c === 0x20 || (c >= 0x09 && c <= 0x0d))) return false;
  }
  return true;
}

function parseCallId(s: string): string {
  if (s.length === 0 || hasWhitespace(s)) throw badHeader('Call-ID', 'empty or contains whitespace');
  return s;
}

/** One element of a comma list of name-addrs: Route, Record-Route, Path. */
const parseRoute = (s: string): NameAddr => parseNameAddr(s, 'Route');
const parseRecordRoute = (s: string): NameAddr => parseNameAddr(s, 'Record-Route');
const parsePath = (s: string): NameAddr => parseNameAddr(s, 'Path');

/**
 * A string body in a buffer of its own. Buffer.from() cuts small strings out of a shared 8 KB pool, and one SDP
 * body of a message kept for retransmissions (a transaction lingers up to 64*T1) kept the whole chunk alive: about
 * 5 KB per call of bench/call-rate.js, most of the PBX's external memory.
 */
function ownUtf8(s: string): Buffer {
  const n = Buffer.byteLength(s, 'utf8');
  if (n === 0) return EMPTY;
  const buf = Buffer.allocUnsafeSlow(n);
  buf.write(s, 0, n, 'utf8');
  return buf;
}

/**
 * A SIP request or response. Headers live in one of two forms:
 *  - wire mode (a parsed message nobody changed): per header line five integers into the received Buffer (name
 *    and value ranges, the id of a known name); values are decoded only when read, typed values parsed only
 *    when asked for and then cached;
 *  - field mode (built in code, or changed after parsing, or `headers` read): an array of HeaderField.
 * The first change (set/append/prepend/remove/...) or a read of `headers` turns a wire-mode message into field
 * mode for good; every getter behaves the same in both.
 */
export abstract class SipMessage {
  /** Field mode: header lines in wire order (undefined in wire mode). */
  protected declare _fields: HeaderField[] | undefined;
  /** Wire mode: the received datagram; EMPTY otherwise (or the raw bytes given to the constructor). */
  protected declare _buf: Buffer;
  /** Wire mode: WIRE_STRIDE integers per header line (undefined in field mode). */
  protected declare _off: number[] | undefined;
  /** Wire mode: bit id set when the known header id (< H.ValidatedCount) has a line; _dup when it has several. */
  protected declare _mask: number;
  protected declare _dup: number;
  /**
   * Wire mode: the line index + 1 of the first line of each header with an id below FIRST_IDS (Via, From, To,
   * Call-ID, CSeq, Max-Forwards), FIRST_BITS bits each (0: absent, or beyond what the bits hold: search). The
   * parse-time checks read each of these headers once; without it each read walks the lines from the top.
   */
  protected declare _first: number;
  /** Wire mode: unfolded values of folded header lines (value start -1 - k refers to entry k). */
  protected declare _unfolded: string[] | undefined;
  /**
   * Wire mode: the header section decoded as latin1 (undefined: values are decoded as UTF-8). The parser moves every
   * header value holding a byte >= 0x80 to _unfolded (decoded as UTF-8), so the ranges read from here are ASCII.
   */
  protected declare _text: string | undefined;
  protected declare _textStart: number;
  protected declare _textEnd: number;
  protected declare _ascii: boolean;
  /** Body: a view created on first access from [_bodyStart, _bodyEnd) of _buf, or the Buffer set. */
  protected declare _body: Buffer | undefined;
  protected declare _bodyStart: number;
  protected declare _bodyEnd: number;
  /** [_rawStart, _rawEnd) of _buf is this exact message while untouched; _rawEnd -1 once anything changed. */
  protected declare _rawStart: number;
  protected declare _rawEnd: number;
  /** The view of the original bytes once toBuffer() made it (the same Buffer on every call). */
  private declare _rawView: Buffer | undefined;
  // Typed values of the headers every layer reads, cached in slots; the others in _cache.
  private declare _cVia: Slot<Via[]>;
  private declare _cTopVia: Slot<Via>;
  private declare _cFrom: Slot<NameAddr>;
  private declare _cTo: Slot<NameAddr>;
  private declare _cCallId: Slot<string>;
  private declare _cCSeq: Slot<CSeq>;
  private declare _cMaxForwards: Slot<number>;
  private declare _cContact: Slot<NameAddr[] | '*'>;
  private declare _cContentType: Slot<ContentType>;
  private declare _cContentLength: Slot<number>;
  /** Typed values of the other headers by key; dropped when that header changes. */
  private declare _cache: Map<string, unknown> | undefined;

  protected constructor(headers: HeaderField[], body: Buffer, raw?: Buffer) {
    this._fields = headers === WIRE_HEADERS ? undefined : headers;
    this._buf = raw ?? EMPTY;
    this._off = undefined;
    this._mask = 0;
    this._dup = 0;
    this._first = 0;
    this._unfolded = undefined;
    this._text = undefined;
    this._textStart = 0;
    this._textEnd = 0;
    this._ascii = true;
    this._body = body;
    this._bodyStart = 0;
    this._bodyEnd = 0;
    this._rawStart = 0;
    this._rawEnd = raw === undefined ? -1 : raw.length;
    this._rawView = raw;
    this._cVia = UNSET;
    this._cTopVia = UNSET;
    this._cFrom = UNSET;
    this._cTo = UNSET;
    this._cCallId = UNSET;
    this._cCSeq = UNSET;
    this._cMaxForwards = UNSET;
    this._cContact = UNSET;
    this._cContentType = UNSET;
    this._cContentLength = UNSET;
    this._cache = undefined;
    this.version = 'SIP/2.0';
  }

  /**
   * Parser entry: switch a message built with WIRE_HEADERS to wire mode over `buf`. `off` holds WIRE_STRIDE
   * integers per header line; [textStart, textEnd) is the header section, `text` its latin1 decoding, ASCII over
   * every value range left in `off` (undefined: values are decoded one by one as UTF-8); the body is
   * [bodyStart, bodyEnd); rawEnd is -1 when the bytes may not be reused as the serialization.
   * @internal
   */
  attachWire(buf: Buffer, off: number[], mask: number, dup: number, first: number, unfolded: string[] | undefined, text: string | undefined,
    textStart: number, textEnd: number, bodyStart: number, bodyEnd: number, rawStart: number, rawEnd: number): void {
    this._buf = buf;
    this._off = off;
    this._mask = mask;
    this._dup = dup;
    this._first = first;
    this._unfolded = unfolded;
    this._text = text;
    this._ascii = text !== undefined;
    this._textStart = textStart;
    this._textEnd = textEnd;
    this._body = bodyStart === bodyEnd ? EMPTY : undefined;
    this._bodyStart = bodyStart;
    this._bodyEnd = bodyEnd;
    this._rawStart = rawStart;
    this._rawEnd = rawEnd;
  }

  abstract get isRequest(): boolean;
  /** 'SIP/2.0' */
  declare version: string;
  protected abstract startLine(): string;

  /** Forget the original bytes (they no longer serialize this message). */
  protected dirty(): void {
    this._rawEnd = -1;
    this._rawView = undefined;
  }

  // ------------------------------------------------------------ body

  get body(): Buffer {
    let b = this._body;
    if (b === undefined) b = this._body = this._buf.subarray(this._bodyStart, this._bodyEnd);
    return b;
  }
  set body(b: Buffer | string) {
    this._body = typeof b === 'string' ? ownUtf8(b) : b;
    this.dirty();
  }

  // ------------------------------------------------------------ storage primitives (both modes)

  /** Decoded text of buf[a, b) of the header section. */
  protected decode(a: number, b: number): string {
    if (this._ascii) {
      let t = this._text;
      if (t === undefined) t = this._text = latin1At(this._buf, this._textStart, this._textEnd);
      return t.slice(a - this._textStart, b - this._textStart);
    }
    return utf8At(this._buf, a, b);
  }

  /** Number of header lines. */
  protected lineCount(): number {
    const off = this._off;
    return off !== undefined ? off.length / WIRE_STRIDE : this._fields!.length;
  }

  /** Value of header line i. */
  protected valueAt(i: number): string {
    const off = this._off;
    if (off === undefined) return this._fields![i]!.value;
    const k = i * WIRE_STRIDE;
    const vs = off[k + 2]!;
    return vs < 0 ? this._unfolded![-1 - vs]! : this.decode(vs, off[k + 3]!);
  }

  /**
   * Where the value of header line i can be read without making a string of it: returns a string s and sets
   * SRC_A/SRC_B so that the value is s[SRC_A, SRC_B) (the header text itself in wire mode).
   */
  protected src(i: number): string {
    const off = this._off;
    const t = this._text;
    if (off !== undefined && t !== undefined) {
      const k = i * WIRE_STRIDE;
      const vs = off[k + 2]!;
      if (vs >= 0) {
        SRC_A = vs - this._textStart;
        SRC_B = off[k + 3]! - this._textStart;
        return t;
      }
    }
    const v = this.valueAt(i);
    SRC_A = 0;
    SRC_B = v.length;
    return v;
  }

  /**
   * Whether the value of header line i can be read by the byte fast paths ("wire fast paths" in scan.ts): wire
   * mode, the header text present and a line that was not unfolded (nor decoded as UTF-8 by the parser, see _text).
   * Sets WIRE_A/WIRE_B to its byte range.
   */
  protected wire(i: number): boolean {
    const off = this._off;
    if (off === undefined || this._text === undefined) return false;
    const k = i * WIRE_STRIDE;
    const vs = off[k + 2]!;
    if (vs < 0) return false;
    WIRE_A = vs;
    WIRE_B = off[k + 3]!;
    return true;
  }

  /** Index of the one line of a single-valued header (a second different line is an error); -1 when absent. */
  protected singleIndex(hn: HeaderName): number {
    const id = hn.id;
    if (this._off !== undefined && id >= 0 && id < H.ValidatedCount && (this._dup & (1 << id)) === 0) {
      // Wire mode, at most one line (the scan's masks): no second search.
      return (this._mask & (1 << id)) === 0 ? -1 : this.indexOf(hn, 0);
    }
    const i = this.indexOf(hn, 0);
    if (i < 0) return -1;
    let j = this.indexOf(hn, i + 1);
    if (j >= 0) {
      const first = this.valueAt(i);
      for (; j >= 0; j = this.indexOf(hn, j + 1)) {
        if (this.valueAt(j) !== first) throw badHeader(hn.canonical, 'header appears more than once');
      }
    }
    return i;
  }

  /** Index of the next header line at or after `from` with this name; -1 when none. */
  protected indexOf(hn: HeaderName, from: number): number {
    const off = this._off;
    if (off === undefined) {
      const fs = this._fields!;
      const key = hn.key;
      for (let i = from; i < fs.length; i++) if (fs[i]!.key === key) return i;
      return -1;
    }
    const id = hn.id;
    const n = off.length;
    if (id >= 0) {
      if (id < H.ValidatedCount && (this._mask & (1 << id)) === 0) return -1;
      if (from === 0 && id < FIRST_IDS) {
        const f = (this._first >> (id * FIRST_BITS)) & FIRST_MASK;
        if (f !== 0) return f - 1;
      }
      for (let k = from * WIRE_STRIDE + 4; k < n; k += WIRE_STRIDE) if (off[k] === id) return (k - 4) / WIRE_STRIDE;
      return -1;
    }
    // Unknown name: compare the received spelling case-insensitively with the key.
    const key = hn.key;
    const buf = this._buf;
    for (let k = from * WIRE_STRIDE; k < n; k += WIRE_STRIDE) {
      if (off[k + 4] !== -1) continue;
      const ns = off[k]!;
      if (off[k + 1]! - ns !== key.length) continue;
      let j = 0;
      for (; j < key.length; j++) {
        let c = buf[ns + j]!;
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        if (c !== key.charCodeAt(j)) break;
      }
      if (j === key.length) return k / WIRE_STRIDE;
    }
    return -1;
  }

  /** Field mode from now on (wire mode's values materialized). */
  private toFieldMode(): HeaderField[] {
    let fs = this._fields;
    if (fs !== undefined) return fs;
    const off = this._off!;
    fs = [];
    for (let k = 0, i = 0; k < off.length; k += WIRE_STRIDE, i++) {
      const id = off[k + 4]!;
      let key: string;
      let name: string;
      if (id >= 0) {
        const e = KNOWN_HEADERS[id]!;
        key = e.key;
        name = e.canonical;
      } else {
        name = this.decode(off[k]!, off[k + 1]!);
        key = headerKey(name);
      }
      fs.push({ key, name, value: this.valueAt(i) });
    }
    this._fields = fs;
    this._off = undefined;
    this._unfolded = undefined;
    return fs;
  }

  /**
   * The lines whose lowercase key `pick` accepts, in wire order, as fields with the canonical name of known headers:
   * what createResponse() copies from a request. Unlike `headers`, a parsed message stays in wire mode.
   * @internal
   */
  pickLines(pick: (key: string) => boolean): HeaderField[] {
    const out: HeaderField[] = [];
    const fs = this._fields;
    if (fs !== undefined) {
      for (const h of fs) if (pick(h.key)) out.push({ key: h.key, name: lookupHeaderName(h.key).canonical, value: h.value });
      return out;
    }
    const off = this._off!;
    for (let k = 0, i = 0; k < off.length; k += WIRE_STRIDE, i++) {
      const id = off[k + 4]!;
      const hn = id >= 0 ? KNOWN_HEADERS[id]! : lookupHeaderName(this.decode(off[k]!, off[k + 1]!));
      if (pick(hn.key)) out.push({ key: hn.key, name: hn.canonical, value: this.valueAt(i) });
    }
    return out;
  }

  // ------------------------------------------------------------ generic header access

  /** All header lines in wire order. */
  get headers(): readonly HeaderField[] {
    return this.toFieldMode();
  }

  /** Value of the first line of a header (full line, not split at commas); undefined when absent. */
  get(name: string): string | undefined {
    const i = this.indexOf(lookupHeaderName(name), 0);
    return i < 0 ? undefined : this.valueAt(i);
  }

  has(name: string): boolean {
    return this.indexOf(lookupHeaderName(name), 0) >= 0;
  }

  /**
   * All values of a header in order: for comma-list headers (Via, Contact, Route, Allow, ...) each element
   * separately, for others one value per line.
   */
  getAll(name: string): string[] {
    const hn = lookupHeaderName(name);
    const out: string[] = [];
    const list = hn.list;
    for (let i = this.indexOf(hn, 0); i >= 0; i = this.indexOf(hn, i + 1)) {
      if (list) for (const p of splitList(this.valueAt(i))) out.push(p);
      else out.push(this.valueAt(i));
    }
    return out;
  }

  /** Values of every line of a header, unsplit. */
  getLines(name: string): string[] {
    return this.linesOf(lookupHeaderName(name));
  }

  private linesOf(hn: HeaderName): string[] {
    const out: string[] = [];
    for (let i = this.indexOf(hn, 0); i >= 0; i = this.indexOf(hn, i + 1)) out.push(this.valueAt(i));
    return out;
  }

  /** Replace every line of a header by one line (or one line per array element) at the first line's place. */
  set(name: string, value: HeaderValueInput | HeaderValueInput[]): this {
    checkName(name);
    const hn = lookupHeaderName(name);
    if (!Array.isArray(value)) {
      // One value for a header with at most one line (building a message: most set() calls): in place, no copies
      // of the field list (this was one of the top allocation sites per call in bench/call-rate.js).
      const v = checkValue(value);
      const fs = this.toFieldMode();
      let at = -1;
      let lines = 0;
      for (let i = 0; i < fs.length; i++) {
        if (fs[i]!.key !== hn.key) continue;
        if (at < 0) at = i;
        lines++;
      }
      if (lines <= 1) {
        const field = { key: hn.key, name: hn.canonical, value: v };
        if (at < 0) fs.push(field);
        else fs[at] = field;
        this.changed(hn.key);
        this.primeTyped(hn.key, value);
        return this;
      }
    }
    const values = Array.isArray(value) ? value.map(checkValue) : [checkValue(value)];
    const fields = values.map((v) => ({ key: hn.key, name: hn.canonical, value: v }));
    const hs = this.toFieldMode();
    const first = hs.findIndex((h) => h.key === hn.key);
    const rest = hs.filter((h) => h.key !== hn.key);
    if (first < 0) rest.push(...fields);
    else {
      let before = 0;
      for (let i = 0; i < first; i++) if (hs[i]!.key !== hn.key) before++;
      rest.splice(before, 0, ...fields);
    }
    this._fields = rest;
    this.changed(hn.key);
    return this;
  }

  /** Add a header line after all others. */
  append(name: string, value: HeaderValueInput): this {
    checkName(name);
    const hn = lookupHeaderName(name);
    const fs = this.toFieldMode();
    const only = value instanceof NameAddr && PRIMED.has(hn.key) && !fs.some((h) => h.key === hn.key);
    fs.push({ key: hn.key, name: hn.canonical, value: checkValue(value) });
    this.changed(hn.key);
    if (only) this.primeTyped(hn.key, value);
    return this;
  }

  /**
   * After a From, To or Contact got a NameAddr as its only line: the typed value is a copy of it (NameAddr.clone()
   * gives what parsing the line's text would, see clone.test.ts), so reading it back costs no parse. A message
   * built in code reads its own From, To and Contact several times (dialogs, transactions, the ladder). Also called
   * by a builder that made the line's text from `value` (createResponse).
   * @internal
   */
  primeTyped(key: string, value: HeaderValueInput): void {
    if (!(value instanceof NameAddr)) return;
    if (key === 'from') this._cFrom = value.clone();
    else if (key === 'to') this._cTo = value.clone();
    else if (key === 'contact') this._cContact = [value.clone()];
  }

  /** Add a header line before the first line of the same header (or first of all when there is none). */
  prepend(name: string, value: HeaderValueInput): this {
    checkName(name);
    const hn = lookupHeaderName(name);
    const fs = this.toFieldMode();
    const idx = fs.findIndex((h) => h.key === hn.key);
    fs.splice(idx < 0 ? 0 : idx, 0, { key: hn.key, name: hn.canonical, value: checkValue(value) });
    this.changed(hn.key);
    return this;
  }

  /** Remove every line of a header; returns how many lines were removed. */
  remove(name: string): number {
    const key = headerKey(name);
    const fs = this.toFieldMode();
    const before = fs.length;
    this._fields = fs.filter((h) => h.key !== key);
    const n = before - this._fields.length;
    if (n > 0) this.changed(key);
    return n;
  }

  protected changed(key: string): void {
    switch (key) {
      // topVia is cached on its own: any Via change (set/append/prepend/remove) drops it too.
      case 'via': this._cVia = UNSET; this._cTopVia = UNSET; break;
      case 'from': this._cFrom = UNSET; break;
      case 'to': this._cTo = UNSET; break;
      case 'call-id': this._cCallId = UNSET; break;
      case 'cseq': this._cCSeq = UNSET; break;
      case 'max-forwards': this._cMaxForwards = UNSET; break;
      case 'contact': this._cContact = UNSET; break;
      case 'content-type': this._cContentType = UNSET; break;
      case 'content-length': this._cContentLength = UNSET; break;
      default: this._cache?.delete(key);
    }
    this.dirty();
  }

  /** Cached typed value of a header computed by `parse` from its lines; undefined when the header is absent. */
  protected typed<T>(hn: HeaderName, parse: (lines: string[]) => T): T | undefined {
    let c = this._cache;
    if (c === undefined) c = this._cache = new Map();
    else if (c.has(hn.key)) return c.get(hn.key) as T | undefined;
    const lines = this.linesOf(hn);
    const v = lines.length === 0 ? undefined : parse(lines);
    c.set(hn.key, v);
    return v;
  }

  /** Like typed() for list headers: elements of all lines, each parsed. */
  protected typedList<T>(hn: HeaderName, parse: (s: string) => T): T[] | undefined {
    return this.typed(hn, (lines) => {
      const out: T[] = [];
      for (const l of lines) for (const p of splitList(l)) out.push(parse(p));
      return out;
    });
  }

  /** Single-valued header: the value of its one line (a second different line is an error); undefined when absent. */
  protected single(hn: HeaderName): string | undefined {
    const i = this.indexOf(hn, 0);
    if (i < 0) return undefined;
    const first = this.valueAt(i);
    for (let j = this.indexOf(hn, i + 1); j >= 0; j = this.indexOf(hn, j + 1)) {
      if (this.valueAt(j) !== first) throw badHeader(hn.canonical, 'header appears more than once');
    }
    return first;
  }

  /** typed() for single-valued headers (see single()). */
  protected typedSingle<T>(hn: HeaderName, parse: (s: string) => T): T | undefined {
    let c = this._cache;
    if (c === undefined) c = this._cache = new Map();
    else {
      const hit = c.get(hn.key);
      if (hit !== undefined || c.has(hn.key)) return hit as T | undefined;
    }
    const s = this.single(hn);
    const v = s === undefined ? undefined : parse(s);
    c.set(hn.key, v);
    return v;
  }

  // ------------------------------------------------------------ typed accessors
  // Each throws SipParseError when the header is present but malformed, and returns undefined when absent.

  /** All Via values, top first. */
  get via(): Via[] {
    let v = this._cVia;
    if (v === UNSET) {
      const out: Via[] = [];
      const hn = KNOWN_HEADERS[H.Via]!;
      for (let i = this.indexOf(hn, 0); i >= 0; i = this.indexOf(hn, i + 1)) {
        // The top one is the topVia already parsed, when it was.
        const top = out.length === 0 ? this._cTopVia : UNSET;
        if (this.wire(i)) {
          // A line the byte form reads whole is one via-parm, as splitList() would have found; so is a non-empty
          // line without a comma (the top one, already parsed).
          const one = top !== UNSET && top !== undefined ? (noComma(this._buf, WIRE_A, WIRE_B) ? top : undefined)
            : parseViaWire(this._buf, WIRE_A, WIRE_B, this._text!, this._textStart);
          if (one !== undefined && !(one instanceof SipParseError)) { out.push(one); continue; }
        }
        const s = this.src(i);
        const a = SRC_A;
        const b = SRC_B;
        const comma = s.indexOf(',', a);
        // Same elements as splitList() of the value (values are LWS-trimmed; empty elements are dropped).
        if (comma < 0 || comma >= b) { if (b > a) out.push(top !== UNSET && top !== undefined ? top : parseViaAt(s, a, b)); }
        else {
          for (const p of splitList(s.slice(a, b))) out.push(out.length === 0 && top !== UNSET && top !== undefined ? top : parseVia(p));
        }
      }
      v = this._cVia = out.length === 0 ? undefined : out;
    }
    return v ?? [];
  }

  /** The topmost Via (parsed without parsing the others). */
  get topVia(): Via | undefined {
    const v = this._cTopVia;
    return v !== UNSET && this._cVia === UNSET ? v : orThrow(this.topViaOrError());
  }

  get from(): NameAddr | undefined {
    const v = this._cFrom;
    return v !== UNSET ? v : orThrow(this.fromOrError());
  }

  get to(): NameAddr | undefined {
    const v = this._cTo;
    return v !== UNSET ? v : orThrow(this.toOrError());
  }

  // The *OrError() readers: the getter's value, or the SipParseError it throws when the byte form already found it
  // (returned, not thrown: the parser's checks take it so; a throw costs V8 0.3-0.55 µs, as much as parsing a small
  // message). Errors only the string parsers find are still thrown. An error is not cached: every read fails again.

  /** topVia, or its error (see above). @internal */
  topViaOrError(): Via | SipParseError | undefined {
    const all = this._cVia;
    if (all !== UNSET) return all?.[0];
    let v = this._cTopVia;
    if (v === UNSET) {
      const i = this.indexOf(KNOWN_HEADERS[H.Via]!, 0);
      const w = i >= 0 && this.wire(i) ? parseViaWire(this._buf, WIRE_A, WIRE_B, this._text!, this._textStart) : undefined;
      if (w !== undefined) {
        // The byte form read the whole line (one via-parm), or failed where the string parser fails.
        if (w instanceof SipParseError) return w;
        v = w;
      } else if (i < 0) {
        v = undefined;
      } else {
        const s = this.src(i);
        const a = SRC_A;
        const b = SRC_B;
        const comma = s.indexOf(',', a);
        v = comma < 0 || comma >= b ? parseViaAt(s, a, b) : parseVia(splitList(s.slice(a, b))[0] ?? '');
      }
      this._cTopVia = v;
    }
    return v;
  }

  /** from, or its error (see above). @internal */
  fromOrError(): NameAddr | SipParseError | undefined {
    let v = this._cFrom;
    if (v === UNSET) {
      const i = this.singleIndex(KNOWN_HEADERS[H.From]!);
      const w = i >= 0 && this.wire(i) ? parseNameAddrWire(this._buf, WIRE_A, WIRE_B, 'From', this._text!, this._textStart) : undefined;
      if (w instanceof SipParseError) return w;
      v = this._cFrom = w ?? (i < 0 ? undefined : parseNameAddrAt(this.src(i), SRC_A, SRC_B, 'From'));
    }
    return v;
  }

  /** to, or its error (see above). @internal */
  toOrError(): NameAddr | SipParseError | undefined {
    let v = this._cTo;
    if (v === UNSET) {
      const i = this.singleIndex(KNOWN_HEADERS[H.To]!);
      const w = i >= 0 && this.wire(i) ? parseNameAddrWire(this._buf, WIRE_A, WIRE_B, 'To', this._text!, this._textStart) : undefined;
      if (w instanceof SipParseError) return w;
      v = this._cTo = w ?? (i < 0 ? undefined : parseNameAddrAt(this.src(i), SRC_A, SRC_B, 'To'));
    }
    return v;
  }

  get callId(): string | undefined {
    let v = this._cCallId;
    if (v === UNSET) {
      const i = this.singleIndex(KNOWN_HEADERS[H.CallId]!);
      v = this._cCallId = i < 0 ? undefined
        : this.wire(i) && callIdWire(this._buf, WIRE_A, WIRE_B) ? this._text!.slice(WIRE_A - this._textStart, WIRE_B - this._textStart)
          : parseCallId(this.valueAt(i));
    }
    return v;
  }

  get cseq(): CSeq | undefined {
    const v = this._cCSeq;
    return v !== UNSET ? v : orThrow(this.cseqOrError());
  }

  /** cseq, or its error (see the *OrError() readers above). @internal */
  cseqOrError(): CSeq | SipParseError | undefined {
    let v = this._cCSeq;
    if (v === UNSET) {
      const i = this.singleIndex(KNOWN_HEADERS[H.CSeq]!);
      const w = i >= 0 && this.wire(i) ? parseCSeqWire(this._buf, WIRE_A, WIRE_B, this._text!, this._textStart) : undefined;
      if (w instanceof SipParseError) return w;
      v = this._cCSeq = w ?? (i < 0 ? undefined : parseCSeqAt(this.src(i), SRC_A, SRC_B));
    }
    return v;
  }

  get maxForwards(): number | undefined {
    let v = this._cMaxForwards;
    if (v === UNSET) {
      const i = this.singleIndex(KNOWN_HEADERS[H.MaxForwards]!);
      const w = i >= 0 && this.wire(i) ? parseUIntWire(this._buf, WIRE_A, WIRE_B, 255) : -1;
      v = this._cMaxForwards = i < 0 ? undefined : w >= 0 ? w : parseUIntAt(this.src(i), SRC_A, SRC_B, 'Max-Forwards', 255);
    }
    return v;
  }

  /** Contact values, or '*' (REGISTER wildcard). */
  get contact(): NameAddr[] | '*' | undefined {
    let v = this._cContact;
    if (v === UNSET) {
      const hn = KNOWN_HEADERS[H.Contact]!;
      const fast = this.nameAddrsWire(hn, 'Contact');
      if (fast !== undefined) v = this._cContact = fast;
      else {
        const lines = this.linesOf(hn);
        v = this._cContact = lines.length === 0 ? undefined : parseContactLines(lines);
      }
    }
    return v;
  }

  get route(): NameAddr[] {
    return this.typedNameAddrs(KNOWN_HEADERS[H.Route]!, 'Route', parseRoute) ?? [];
  }

  get recordRoute(): NameAddr[] {
    return this.typedNameAddrs(KNOWN_HEADERS[H.RecordRoute]!, 'Record-Route', parseRecordRoute) ?? [];
  }

  get path(): NameAddr[] {
    return this.typedNameAddrs(KNOWN_HEADERS[H.Path]!, 'Path', parsePath) ?? [];
  }

  /**
   * The name-addr lists (Contact, Route, Record-Route, Path) by the byte fast path: every line must be one
   * name-addr that parseNameAddrWire() reads whole (then splitList() would have found that one element).
   * undefined when the header is absent or any line needs the string parsers.
   */
  private nameAddrsWire(hn: HeaderName, header: string): NameAddr[] | undefined {
    let out: NameAddr[] | undefined;
    for (let i = this.indexOf(hn, 0); i >= 0; i = this.indexOf(hn, i + 1)) {
      if (!this.wire(i)) return undefined;
      const na = parseNameAddrWire(this._buf, WIRE_A, WIRE_B, header, this._text!, this._textStart);
      // An error is the string parsers' to find: they split the line at its commas first.
      if (na === undefined || na instanceof SipParseError) return undefined;
      (out ??= []).push(na);
    }
    return out;
  }

  /** typedList() of a name-addr list header, trying nameAddrsWire() first. */
  private typedNameAddrs(hn: HeaderName, header: string, parse: (s: string) => NameAddr): NameAddr[] | undefined {
    const c = this._cache;
    if (c === undefined || !c.has(hn.key)) {
      const fast = this.nameAddrsWire(hn, header);
      if (fast !== undefined) {
        (this._cache ??= new Map()).set(hn.key, fast);
        return fast;
      }
    }
    return this.typedList(hn, parse);
  }

  /**
   * A token-list header (Supported, Require, Allow, ...) by the byte fast path: every line a comma list of tokens
   * (LWS around the elements, empty elements dropped), as parseTokenLines() reads it. undefined when the header is
   * absent or any line needs the string parsers.
   */
  private tokensWire(hn: HeaderName): string[] | undefined {
    let out: string[] | undefined;
    const b = this._buf;
    for (let l = this.indexOf(hn, 0); l >= 0; l = this.indexOf(hn, l + 1)) {
      if (!this.wire(l)) return undefined;
      const n = WIRE_B;
      const t = this._text!;
      const base = this._textStart;
      let i = WIRE_A;
      out ??= [];
      for (;;) {
        i = skipWsWire(b, i, n);
        const st = i;
        i = scanTokenWire(b, i, n);
        if (i > st) out.push(t.slice(st - base, i - base));
        i = skipWsWire(b, i, n);
        if (i >= n) break;
        if (b[i] !== 0x2c) return undefined;
        i++;
      }
    }
    return out;
  }

  /** Auth header getter: every line by parseAuthWire() when it can, else parseAuth() on every line; cached like typed(). */
  private typedAuth(hn: HeaderName, header: string): AuthValue[] | undefined {
    const c = this._cache;
    if (c === undefined || !c.has(hn.key)) {
      let out: AuthValue[] | undefined;
      for (let i = this.indexOf(hn, 0); i >= 0; i = this.indexOf(hn, i + 1)) {
        const v = this.wire(i) ? parseAuthWire(this._buf, WIRE_A, WIRE_B, this._text!, this._textStart) : undefined;
        if (v === undefined) { out = undefined; break; }
        (out ??= []).push(v);
      }
      if (out !== undefined) {
        (this._cache ??= new Map()).set(hn.key, out);
        return out;
      }
    }
    return this.typed(hn, (ls) => ls.map((l) => parseAuth(l, header)));
  }

  /** Token-list getter: tokensWire() first, then parseTokenLines(); cached like typed(). */
  private typedTokens(hn: HeaderName, header: string): string[] | undefined {
    const c = this._cache;
    if (c === undefined || !c.has(hn.key)) {
      const fast = this.tokensWire(hn);
      if (fast !== undefined) {
        (this._cache ??= new Map()).set(hn.key, fast);
        return fast;
      }
    }
    return this.typed(hn, (ls) => parseTokenLines(ls, header));
  }

  /** Expires header in seconds (delta-seconds, up to 2^32-1). */
  get expires(): number | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.Expires]!, (s) => parseUInt(s, 'Expires', 0xffffffff));
  }

  get minExpires(): number | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.MinExpires]!, (s) => parseUInt(s, 'Min-Expires', 0xffffffff));
  }

  get contentType(): ContentType | undefined {
    let v = this._cContentType;
    if (v === UNSET) {
      const i = this.singleIndex(KNOWN_HEADERS[H.ContentType]!);
      v = this._cContentType = i < 0 ? undefined
        : (this.wire(i) ? parseContentTypeWire(this._buf, WIRE_A, WIRE_B, this._text!, this._textStart) : undefined) ??
          parseContentTypeAt(this.src(i), SRC_A, SRC_B);
    }
    return v;
  }

  /**
   * The parser's check of Content-Type: a value the byte form finds valid is left to be parsed when read (building
   * it costs a ContentType and its params for a value most messages never read); anything else is parsed now, so
   * a malformed one throws its SipParseError. @internal
   */
  checkContentType(): void {
    if (this._cContentType !== UNSET) return;
    const i = this.singleIndex(KNOWN_HEADERS[H.ContentType]!);
    if (i >= 0 && this.wire(i) && isContentTypeWire(this._buf, WIRE_A, WIRE_B)) return;
    void this.contentType;
  }

  /** Content-Length as received (the serializer always writes the body length). */
  get contentLength(): number | undefined {
    let v = this._cContentLength;
    if (v === UNSET) {
      const i = this.singleIndex(KNOWN_HEADERS[H.ContentLength]!);
      const w = i >= 0 && this.wire(i) ? parseUIntWire(this._buf, WIRE_A, WIRE_B, 0x7fffffff) : -1;
      v = this._cContentLength = i < 0 ? undefined : w >= 0 ? w : parseUIntAt(this.src(i), SRC_A, SRC_B, 'Content-Length', 0x7fffffff);
    }
    return v;
  }

  get authorization(): AuthValue[] {
    return this.typedAuth(KNOWN_HEADERS[H.Authorization]!, 'Authorization') ?? [];
  }
  get proxyAuthorization(): AuthValue[] {
    return this.typedAuth(KNOWN_HEADERS[H.ProxyAuthorization]!, 'Proxy-Authorization') ?? [];
  }
  get wwwAuthenticate(): AuthValue[] {
    return this.typedAuth(KNOWN_HEADERS[H.WwwAuthenticate]!, 'WWW-Authenticate') ?? [];
  }
  get proxyAuthenticate(): AuthValue[] {
    return this.typedAuth(KNOWN_HEADERS[H.ProxyAuthenticate]!, 'Proxy-Authenticate') ?? [];
  }

  get supported(): string[] {
    return this.typedTokens(KNOWN_HEADERS[H.Supported]!, 'Supported') ?? [];
  }
  get require(): string[] {
    return this.typedTokens(KNOWN_HEADERS[H.Require]!, 'Require') ?? [];
  }
  get proxyRequire(): string[] {
    return this.typedTokens(KNOWN_HEADERS[H.ProxyRequire]!, 'Proxy-Require') ?? [];
  }
  get unsupported(): string[] {
    return this.typedTokens(KNOWN_HEADERS[H.Unsupported]!, 'Unsupported') ?? [];
  }
  get allow(): string[] {
    return this.typedTokens(KNOWN_HEADERS[H.Allow]!, 'Allow') ?? [];
  }

  /** Reason header values (RFC 3326). */
  get reasons(): Reason[] {
    return this.typedList(KNOWN_HEADERS[H.Reason]!, parseReason) ?? [];
  }

  get referTo(): NameAddr | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.ReferTo]!, (s) => parseNameAddr(s, 'Refer-To'));
  }
  get referredBy(): NameAddr | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.ReferredBy]!, (s) => parseNameAddr(s, 'Referred-By'));
  }
  get replaces(): Replaces | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.Replaces]!, parseReplaces);
  }
  get event(): EventValue | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.Event]!, parseEvent);
  }
  get subscriptionState(): SubscriptionState | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.SubscriptionState]!, parseSubscriptionState);
  }
  get rseq(): number | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.RSeq]!, (s) => parseUInt(s, 'RSeq', 0xffffffff));
  }
  get rack(): RAck | undefined {
    return this.typedSingle(KNOWN_HEADERS[H.RAck]!, parseRAck);
  }
  /** Date header (RFC 3261 §20.17): GMT only; throws SipParseError for anything else (RFC 4475 baddate). */
  get date(): Date | undefined {
    return this.typedSingle(lookupHeaderName('Date'), parseSipDate);
  }

  // ------------------------------------------------------------ Via helpers for transports and proxies

  /** Insert a Via above all others (transport/UAC stamping). */
  prependVia(via: Via | string): this {
    return this.prepend('Via', via);
  }

  /** Replace the topmost Via value (e.g. after setting `received`/`rport` on `topVia`). */
  setTopVia(via: Via | string): this {
    const fs = this.toFieldMode();
    const idx = fs.findIndex((h) => h.key === 'via');
    if (idx < 0) return this.prependVia(via);
    const h = fs[idx]!;
    const parts = splitList(h.value);
    parts[0] = checkValue(via);
    fs[idx] = { key: 'via', name: 'Via', value: parts.join(', ') };
    this.changed('via');
    return this;
  }

  /** Remove and return the topmost Via value text (proxies forwarding a response). */
  popVia(): string | undefined {
    const fs = this.toFieldMode();
    const idx = fs.findIndex((h) => h.key === 'via');
    if (idx < 0) return undefined;
    const parts = splitList(fs[idx]!.value);
    const top = parts.shift();
    if (parts.length === 0) fs.splice(idx, 1);
    else fs[idx] = { key: 'via', name: 'Via', value: parts.join(', ') };
    this.changed('via');
    return top;
  }

  // ------------------------------------------------------------ validation

  /** Bit i set: the message has a line of the known header with id i (i < H.ValidatedCount). */
  private presentMask(): number {
    let mask = 0;
    if (this._off !== undefined) {
      mask = this._mask;
    } else {
      for (const f of this._fields!) {
        const id = lookupHeaderName(f.key).id;
        if (id >= 0 && id < H.ValidatedCount) mask |= 1 << id;
      }
    }
    return mask;
  }

  /**
   * Parse every header this layer knows, so a malformed one surfaces now as a SipParseError (400) instead of
   * on first access. Requests also get the CSeq-method check. Headers are checked in a fixed order (the order
   * of their ids), so the error a message with several bad headers gets does not depend on their order.
   */
  validate(): this {
    const m = this.presentMask();
    if (m === 0) return this;
    if (m & (1 << H.Via)) void this.via;
    if (m & (1 << H.From)) void this.from;
    if (m & (1 << H.To)) void this.to;
    if (m & (1 << H.CallId)) void this.callId;
    if (m & (1 << H.CSeq)) void this.cseq;
    if (m & (1 << H.MaxForwards)) void this.maxForwards;
    if (m & (1 << H.Contact)) void this.contact;
    if (m & (1 << H.Route)) void this.route;
    if (m & (1 << H.RecordRoute)) void this.recordRoute;
    if (m & (1 << H.Path)) void this.path;
    if (m & (1 << H.Expires)) void this.expires;
    if (m & (1 << H.MinExpires)) void this.minExpires;
    if (m & (1 << H.ContentType)) void this.contentType;
    if (m & (1 << H.ContentLength)) void this.contentLength;
    if (m & (1 << H.Authorization)) void this.authorization;
    if (m & (1 << H.ProxyAuthorization)) void this.proxyAuthorization;
    if (m & (1 << H.WwwAuthenticate)) void this.wwwAuthenticate;
    if (m & (1 << H.ProxyAuthenticate)) void this.proxyAuthenticate;
    if (m & (1 << H.Supported)) void this.supported;
    if (m & (1 << H.Require)) void this.require;
    if (m & (1 << H.ProxyRequire)) void this.proxyRequire;
    if (m & (1 << H.Unsupported)) void this.unsupported;
    if (m & (1 << H.Allow)) void this.allow;
    if (m & (1 << H.Reason)) void this.reasons;
    if (m & (1 << H.ReferTo)) void this.referTo;
    if (m & (1 << H.ReferredBy)) void this.referredBy;
    if (m & (1 << H.Replaces)) void this.replaces;
    if (m & (1 << H.Event)) void this.event;
    if (m & (1 << H.SubscriptionState)) void this.subscriptionState;
    if (m & (1 << H.RSeq)) void this.rseq;
    if (m & (1 << H.RAck)) void this.rack;
    // Date is deliberately not checked here: RFC 4475 §3.1.2.12 (baddate) says an element "shouldn't" reject a
    // bad Date "unless the contents of the Date header field were actually important to its processing". Those
    // that care read `date`, which throws.
    return this;
  }

  // ------------------------------------------------------------ serialization

  /** Wire form. Content-Length is always the body length. Untouched parsed messages return their own bytes. */
  toBuffer(): Buffer {
    if (this._rawEnd >= 0) {
      let raw = this._rawView;
      if (raw === undefined) {
        raw = this._rawStart === 0 && this._rawEnd === this._buf.length ? this._buf : this._buf.subarray(this._rawStart, this._rawEnd);
        this._rawView = raw;
      }
      return raw;
    }
    const body = this.body;
    let head = this.startLine() + '\r\n';
    let clDone = false;
    const n = this.lineCount();
    const off = this._off;
    for (let i = 0; i < n; i++) {
      let key: string;
      let name: string;
      if (off !== undefined) {
        const id = off[i * WIRE_STRIDE + 4]!;
        if (id >= 0) { key = KNOWN_HEADERS[id]!.key; name = KNOWN_HEADERS[id]!.canonical; }
        else { name = this.decode(off[i * WIRE_STRIDE]!, off[i * WIRE_STRIDE + 1]!); key = ''; }
      } else {
        const f = this._fields![i]!;
        key = f.key;
        name = f.name;
      }
      if (key === 'content-length') {
        if (!clDone) head += `Content-Length: ${body.length}\r\n`;
        clDone = true;
        continue;
      }
      head += `${name}: ${this.valueAt(i)}\r\n`;
    }
    if (!clDone) head += `Content-Length: ${body.length}\r\n`;
    head += '\r\n';
    if (body.length === 0) return Buffer.from(head, 'utf8');
    const hb = Buffer.from(head, 'utf8');
    return Buffer.concat([hb, body], hb.length + body.length);
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

/** Contact lines: a list of name-addrs, or the single value `*`. */
function parseContactLines(lines: string[]): NameAddr[] | '*' {
  const out: NameAddr[] = [];
  let star = false;
  for (const l of lines) for (const p of splitList(l)) {
    const c = parseContact(p);
    if (c === '*') star = true; else out.push(c);
  }
  if (star) {
    if (out.length > 0 || lines.length > 1) throw badHeader('Contact', '* must be the only Contact value');
    return '*';
  }
  return out;
}

/** Token-list headers (Supported, Require, Allow, ...): the elements of every line, each a token. */
function parseTokenLines(lines: string[], header: string): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l.indexOf('"') >= 0 || l.indexOf('<') >= 0) {
      for (const p of splitList(l)) out.push(p);
      continue;
    }
    // No quotes or angle brackets: splitList() is a split at every comma (elements LWS-trimmed, empty ones dropped).
    let start = 0;
    for (;;) {
      let end = l.indexOf(',', start);
      if (end < 0) end = l.length;
      let a = start;
      let b = end;
      while (a < b && (l.charCodeAt(a) === 0x20 || l.charCodeAt(a) === 0x09)) a++;
      while (b > a && (l.charCodeAt(b - 1) === 0x20 || l.charCodeAt(b - 1) === 0x09)) b--;
      if (b > a) out.push(l.slice(a, b));
      if (end >= l.length) break;
      start = end + 1;
    }
  }
  return parseTokenList(out, header);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * RFC 3261 §25.1 SIP-date: rfc1123-date with GMT only ("Sat, 13 Nov 2010 23:29:00 GMT"); RFC 4475 §3.1.2.12:
 * "UT", "UTC", "EST", ... are invalid. Returns the instant; throws SipParseError (400) otherwise.
 */
export function parseSipDate(s: string): Date {
  const m = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(s.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 31 || Number(m[5]) > 23 || Number(m[6]) > 59 || Number(m[7]) > 60) {
    throw badHeader('Date', 'not an RFC 1123 date in GMT');
  }
  return new Date(Date.UTC(Number(m[4]), MONTHS.indexOf(m[3]!), Number(m[2]), Number(m[5]), Number(m[6]), Math.min(59, Number(m[7]))));
}

/** Methods of RFC 3261 and the extensions this stack knows (3262, 3265/6665, 3311, 3428, 3515, 3903, 6086). */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE',
  'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']);

/** Whether a method is one this stack knows (case-sensitive, RFC 3261 §7.1). */
export function isKnownMethod(method: string): boolean {
  return KNOWN_METHODS.has(method);
}

/**
 * The error for a CSeq method that differs from the request method (RFC 3261 §8.1.1.5). RFC 4475 §3.1.2.17
 * (mismatch01): 400. §3.1.2.18 (mismatch02), an unknown method: "should respond with a 501 Not Implemented.
 * A 400 Bad Request is also acceptable, but choosing a 501 ... has better future-proof characteristics."
 */
export function cseqMismatch(method: string): SipParseError {
  return isKnownMethod(method)
    ? new SipParseError('DPBX_ERR_SIP_CSEQ_MISMATCH', 400, 'CSeq method does not match request method', { header: 'CSeq' })
    : new SipParseError('DPBX_ERR_SIP_CSEQ_MISMATCH', 501, `method ${method.slice(0, 32)} not implemented and CSeq method does not match`, { header: 'CSeq' });
}

/**
 * Request-URI checks beyond syntax. RFC 3261 §19.1.1 Table 1: URI headers are "not allowed" in a Request-URI
 * (RFC 4475 §3.1.2.11 escruri: "It is acceptable for an element to reject this request with a 400").
 */
export function checkRequestUri(req: SipRequest): void {
  // Not built yet (a parsed request): check the text without building the URI.
  const flags = req.uriChecked();
  if ((flags & URI_HAS_HEADERS) !== 0) throw requestUriHeaders();
}

/** The error of a Request-URI with URI headers (checkRequestUri). */
export function requestUriHeaders(): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'Request-URI must not contain URI headers (RFC 3261 19.1.1)', { header: 'Request-URI' });
}

export class SipRequest extends SipMessage {
  private declare _method: string;
  private declare _uriText: string;
  private declare _uri: SipUri | undefined;
  /** _uriText is known to pass checkUri() with result 0 (set by the parser, cleared when the URI changes). */
  private declare _uriOk: boolean;

  /** @internal use createRequest() or parseMessage(). */
  constructor(method: string, uri: string | SipUri, headers: HeaderField[] = [], body: Buffer = EMPTY, raw?: Buffer) {
    super(headers, body, raw);
    this._method = method;
    this._uriOk = false;
    if (typeof uri === 'string') { this._uriText = uri; this._uri = undefined; }
    else { this._uriText = uri.toString(); this._uri = uri; }
  }

  get isRequest(): true { return true; }

  /** Method, case-sensitive as received (RFC 3261 §7.1). */
  get method(): string { return this._method; }
  set method(m: string) {
    if (!isToken(m)) throw new TypeError('invalid SIP method');
    this._method = m;
    this.dirty();
  }

  /** The Request-URI, parsed on first access (throws SipParseError when malformed). */
  get uri(): SipUri {
    if (this._uri === undefined) this._uri = parseUri(this._uriText, 'Request-URI');
    return this._uri;
  }
  set uri(u: SipUri | string) {
    const text = typeof u === 'string' ? u : u.toString();
    if (hasWhitespace(text) || text.length === 0) throw new TypeError('invalid Request-URI');
    this._uriText = text;
    this._uriOk = false;
    this._uri = typeof u === 'string' ? undefined : u;
    this.dirty();
  }
  /**
   * The parser found the Request-URI text well-formed and without URI headers (what uriChecked() would find).
   * @internal
   */
  uriVerified(): void {
    this._uriOk = true;
  }

  /** The Request-URI text as received (or as last set). */
  get uriText(): string { return this._uriText; }

  /**
   * Check the Request-URI (same errors as `uri`) without building it when it is not built yet; returns
   * URI_HAS_HEADERS when it is a sip/sips URI with URI headers.
   * @internal
   */
  uriChecked(): number {
    const u = this._uri;
    if (u === undefined) return this._uriOk ? 0 : checkUri(this._uriText, 'Request-URI');
    if (!u.isSip) return 0;
    for (const _k in u.headers) return URI_HAS_HEADERS;
    return 0;
  }

  protected startLine(): string {
    return `${this._method} ${this.uriText} ${this.version}`;
  }

  override validate(): this {
    checkRequestUri(this);
    super.validate();
    const cseq = this.cseq;
    if (cseq !== undefined && cseq.method !== this._method) throw cseqMismatch(this._method);
    return this;
  }
}

export class SipResponse extends SipMessage {
  private declare _status: number;
  private declare _reason: string;

  /** @internal use createResponse() or parseMessage(). */
  constructor(status: number, reason?: string, headers: HeaderField[] = [], body: Buffer = EMPTY, raw?: Buffer) {
    super(headers, body, raw);
    this._status = status;
    this._reason = reason ?? defaultReason(status);
  }

  get isRequest(): false { return false; }

  get status(): number { return this._status; }
  set status(s: number) {
    if (!Number.isInteger(s) || s < 100 || s > 699) throw new TypeError('SIP status must be 100..699');
    this._status = s;
    this.dirty();
  }

  /** Reason phrase ('' when the response had none). */
  get reason(): string { return this._reason; }
  set reason(r: string) {
    if (/[\r\n]/.test(r)) throw new TypeError('reason phrase must not contain CR or LF');
    this._reason = r;
    this.dirty();
  }

  protected startLine(): string {
    return `${this.version} ${this._status} ${this._reason}`;
  }
}

export type SipMessageAny = SipRequest | SipResponse;
