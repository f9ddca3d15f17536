// SIP request and response objects: header storage in wire order, lazily parsed and cached typed values,
// and the serializer. An untouched parsed message serializes by returning a view of its original bytes.

import { SipParseError, badHeader, defaultReason } from './errors.js';
import { lookupHeaderName, headerKey, isListHeader } from './header-names.js';
import { isToken, splitList, trimLws } from './scan.js';
import { SipUri, parseUri } from './uri.js';
import { NameAddr, parseNameAddr, parseContact } from './name-addr.js';
import { Via, parseVia } from './via.js';
import { type CSeq, type Reason, type Replaces, type EventValue, type SubscriptionState, type RAck, AuthValue,
  ContentType, parseCSeq, parseUInt, parseAuth, parseContentType, parseTokenList, parseReason, parseReplaces,
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

export abstract class SipMessage {
  /** Header lines in wire order. Read it; change it through set/append/prepend/remove. */
  protected _headers: HeaderField[];
  protected _body: Buffer;
  /** Typed values by header key; dropped when that header changes. */
  private _cache: Map<string, unknown>;
  /** Original bytes and the end of this message inside them; undefined once anything changed. */
  protected _raw: Buffer | undefined;

  protected constructor(headers: HeaderField[], body: Buffer, raw?: Buffer) {
    this._headers = headers;
    this._body = body;
    this._cache = new Map();
    this._raw = raw;
  }

  abstract get isRequest(): boolean;
  /** 'SIP/2.0' */
  version = 'SIP/2.0';
  protected abstract startLine(): string;

  // ------------------------------------------------------------ body

  get body(): Buffer {
    return this._body;
  }
  set body(b: Buffer | string) {
    this._body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    this._raw = undefined;
  }

  // ------------------------------------------------------------ generic header access

  /** All header lines in wire order. */
  get headers(): readonly HeaderField[] {
    return this._headers;
  }

  /** Value of the first line of a header (full line, not split at commas); undefined when absent. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    const hs = this._headers;
    for (let i = 0; i < hs.length; i++) if (hs[i]!.key === key) return hs[i]!.value;
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * All values of a header in order: for comma-list headers (Via, Contact, Route, Allow, ...) each element
   * separately, for others one value per line.
   */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    const list = isListHeader(key);
    for (const h of this._headers) {
      if (h.key !== key) continue;
      if (list) for (const p of splitList(h.value)) out.push(p);
      else out.push(h.value);
    }
    return out;
  }

  /** Values of every line of a header, unsplit. */
  getLines(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const h of this._headers) if (h.key === key) out.push(h.value);
    return out;
  }

  /** Replace every line of a header by one line (or one line per array element) at the first line's place. */
  set(name: string, value: HeaderValueInput | HeaderValueInput[]): this {
    checkName(name);
    const hn = lookupHeaderName(name);
    const values = Array.isArray(value) ? value.map(checkValue) : [checkValue(value)];
    const fields = values.map((v) => ({ key: hn.key, name: hn.canonical, value: v }));
    const hs = this._headers;
    const first = hs.findIndex((h) => h.key === hn.key);
    const rest = hs.filter((h) => h.key !== hn.key);
    if (first < 0) rest.push(...fields);
    else {
      let before = 0;
      for (let i = 0; i < first; i++) if (hs[i]!.key !== hn.key) before++;
      rest.splice(before, 0, ...fields);
    }
    this._headers = rest;
    this.changed(hn.key);
    return this;
  }

  /** Add a header line after all others. */
  append(name: string, value: HeaderValueInput): this {
    checkName(name);
    const hn = lookupHeaderName(name);
    this._headers.push({ key: hn.key, name: hn.canonical, value: checkValue(value) });
    this.changed(hn.key);
    return this;
  }

  /** Add a header line before the first line of the same header (or first of all when there is none). */
  prepend(name: string, value: HeaderValueInput): this {
    checkName(name);
    const hn = lookupHeaderName(name);
    const idx = this._headers.findIndex((h) => h.key === hn.key);
    this._headers.splice(idx < 0 ? 0 : idx, 0, { key: hn.key, name: hn.canonical, value: checkValue(value) });
    this.changed(hn.key);
    return this;
  }

  /** Remove every line of a header; returns how many lines were removed. */
  remove(name: string): number {
    const key = headerKey(name);
    const before = this._headers.length;
    this._headers = this._headers.filter((h) => h.key !== key);
    const n = before - this._headers.length;
    if (n > 0) this.changed(key);
    return n;
  }

  protected changed(key: string): void {
    this._cache.delete(key);
    // topVia is cached under its own key: any Via change (set/append/prepend/remove) must drop it too.
    if (key === 'via') this._cache.delete('via#top');
    this._raw = undefined;
  }

  /** Cached typed value of a header computed by `parse` from its lines; undefined when the header is absent. */
  protected typed<T>(key: string, parse: (lines: string[]) => T): T | undefined {
    const c = this._cache;
    if (c.has(key)) return c.get(key) as T | undefined;
    const lines: string[] = [];
    const hs = this._headers;
    for (let i = 0; i < hs.length; i++) if (hs[i]!.key === key) lines.push(hs[i]!.value);
    const v = lines.length === 0 ? undefined : parse(lines);
    c.set(key, v);
    return v;
  }

  /** Like typed() for list headers: elements of all lines, each parsed. */
  protected typedList<T>(key: string, parse: (s: string) => T): T[] | undefined {
    return this.typed(key, (lines) => {
      const out: T[] = [];
      for (const l of lines) for (const p of splitList(l)) out.push(parse(p));
      return out;
    });
  }

  /** Single-valued header: exactly one line (a second different line is an error). One pass, no array. */
  protected typedSingle<T>(key: string, header: string, parse: (s: string) => T): T | undefined {
    const c = this._cache;
    const hit = c.get(key);
    if (hit !== undefined || c.has(key)) return hit as T | undefined;
    const hs = this._headers;
    let first: string | undefined;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      if (h.key !== key) continue;
      if (first === undefined) first = h.value;
      else if (h.value !== first) throw badHeader(header, 'header appears more than once');
    }
    const v = first === undefined ? undefined : parse(first);
    c.set(key, v);
    return v;
  }

  // ------------------------------------------------------------ typed accessors
  // Each throws SipParseError when the header is present but malformed, and returns undefined when absent.

  /** All Via values, top first. */
  get via(): Via[] {
    return this.typedList('via', parseVia) ?? [];
  }

  /** The topmost Via (parsed without parsing the others). */
  get topVia(): Via | undefined {
    const c = this._cache;
    if (c.has('via')) return (c.get('via') as Via[] | undefined)?.[0];
    if (c.has('via#top')) return c.get('via#top') as Via | undefined;
    let v: Via | undefined;
    for (const h of this._headers) {
      if (h.key !== 'via') continue;
      const comma = h.value.indexOf(',');
      v = parseVia(comma < 0 ? h.value : splitList(h.value)[0] ?? '');
      break;
    }
    c.set('via#top', v);
    return v;
  }

  get from(): NameAddr | undefined {
    return this.typedSingle('from', 'From', (s) => parseNameAddr(s, 'From'));
  }

  get to(): NameAddr | undefined {
    return this.typedSingle('to', 'To', (s) => parseNameAddr(s, 'To'));
  }

  get callId(): string | undefined {
    return this.typedSingle('call-id', 'Call-ID', (s) => {
      if (s.length === 0 || /[\s]/.test(s)) throw badHeader('Call-ID', 'empty or contains whitespace');
      return s;
    });
  }

  get cseq(): CSeq | undefined {
    return this.typedSingle('cseq', 'CSeq', parseCSeq);
  }

  get maxForwards(): number | undefined {
    return this.typedSingle('max-forwards', 'Max-Forwards', (s) => parseUInt(s, 'Max-Forwards', 255));
  }

  /** Contact values, or '*' (REGISTER wildcard). */
  get contact(): NameAddr[] | '*' | undefined {
    return this.typed('contact', (lines) => {
      const out: NameAddr[] = [];
      let star = false;
      for (const l of lines) for (const p of splitList(l)) {
        const c = parseContact(p);
        if (c === '*') star = true; else out.push(c);
      }
      if (star) {
        if (out.length > 0 || lines.length > 1) throw badHeader('Contact', '* must be the only Contact value');
        return '*' as const;
      }
      return out;
    });
  }

  get route(): NameAddr[] {
    return this.typedList('route', (s) => parseNameAddr(s, 'Route')) ?? [];
  }

  get recordRoute(): NameAddr[] {
    return this.typedList('record-route', (s) => parseNameAddr(s, 'Record-Route')) ?? [];
  }

  get path(): NameAddr[] {
    return this.typedList('path', (s) => parseNameAddr(s, 'Path')) ?? [];
  }

  /** Expires header in seconds (delta-seconds, up to 2^32-1). */
  get expires(): number | undefined {
    return this.typedSingle('expires', 'Expires', (s) => parseUInt(s, 'Expires', 0xffffffff));
  }

  get minExpires(): number | undefined {
    return this.typedSingle('min-expires', 'Min-Expires', (s) => parseUInt(s, 'Min-Expires', 0xffffffff));
  }

  get contentType(): ContentType | undefined {
    return this.typedSingle('content-type', 'Content-Type', (s) => parseContentType(s));
  }

  /** Content-Length as received (the serializer always writes the body length). */
  get contentLength(): number | undefined {
    return this.typedSingle('content-length', 'Content-Length', (s) => parseUInt(s, 'Content-Length', 0x7fffffff));
  }

  get authorization(): AuthValue[] {
    return this.typed('authorization', (ls) => ls.map((l) => parseAuth(l, 'Authorization'))) ?? [];
  }
  get proxyAuthorization(): AuthValue[] {
    return this.typed('proxy-authorization', (ls) => ls.map((l) => parseAuth(l, 'Proxy-Authorization'))) ?? [];
  }
  get wwwAuthenticate(): AuthValue[] {
    return this.typed('www-authenticate', (ls) => ls.map((l) => parseAuth(l, 'WWW-Authenticate'))) ?? [];
  }
  get proxyAuthenticate(): AuthValue[] {
    return this.typed('proxy-authenticate', (ls) => ls.map((l) => parseAuth(l, 'Proxy-Authenticate'))) ?? [];
  }

  get supported(): string[] {
    return this.typed('supported', (ls) => parseTokenList(ls.flatMap(splitList), 'Supported')) ?? [];
  }
  get require(): string[] {
    return this.typed('require', (ls) => parseTokenList(ls.flatMap(splitList), 'Require')) ?? [];
  }
  get proxyRequire(): string[] {
    return this.typed('proxy-require', (ls) => parseTokenList(ls.flatMap(splitList), 'Proxy-Require')) ?? [];
  }
  get unsupported(): string[] {
    return this.typed('unsupported', (ls) => parseTokenList(ls.flatMap(splitList), 'Unsupported')) ?? [];
  }
  get allow(): string[] {
    return this.typed('allow', (ls) => parseTokenList(ls.flatMap(splitList), 'Allow')) ?? [];
  }

  /** Reason header values (RFC 3326). */
  get reasons(): Reason[] {
    return this.typedList('reason', parseReason) ?? [];
  }

  get referTo(): NameAddr | undefined {
    return this.typedSingle('refer-to', 'Refer-To', (s) => parseNameAddr(s, 'Refer-To'));
  }
  get referredBy(): NameAddr | undefined {
    return this.typedSingle('referred-by', 'Referred-By', (s) => parseNameAddr(s, 'Referred-By'));
  }
  get replaces(): Replaces | undefined {
    return this.typedSingle('replaces', 'Replaces', parseReplaces);
  }
  get event(): EventValue | undefined {
    return this.typedSingle('event', 'Event', parseEvent);
  }
  get subscriptionState(): SubscriptionState | undefined {
    return this.typedSingle('subscription-state', 'Subscription-State', parseSubscriptionState);
  }
  get rseq(): number | undefined {
    return this.typedSingle('rseq', 'RSeq', (s) => parseUInt(s, 'RSeq', 0xffffffff));
  }
  get rack(): RAck | undefined {
    return this.typedSingle('rack', 'RAck', parseRAck);
  }
  /** Date header (RFC 3261 §20.17): GMT only; throws SipParseError for anything else (RFC 4475 baddate). */
  get date(): Date | undefined {
    return this.typedSingle('date', 'Date', parseSipDate);
  }

  // ------------------------------------------------------------ Via helpers for transports and proxies

  /** Insert a Via above all others (transport/UAC stamping). */
  prependVia(via: Via | string): this {
    return this.prepend('Via', via);
  }

  /** Replace the topmost Via value (e.g. after setting `received`/`rport` on `topVia`). */
  setTopVia(via: Via | string): this {
    const idx = this._headers.findIndex((h) => h.key === 'via');
    if (idx < 0) return this.prependVia(via);
    const h = this._headers[idx]!;
    const parts = splitList(h.value);
    parts[0] = checkValue(via);
    this._headers[idx] = { key: 'via', name: 'Via', value: parts.join(', ') };
    this.changed('via');
    this._cache.delete('via#top');
    return this;
  }

  /** Remove and return the topmost Via value text (proxies forwarding a response). */
  popVia(): string | undefined {
    const idx = this._headers.findIndex((h) => h.key === 'via');
    if (idx < 0) return undefined;
    const parts = splitList(this._headers[idx]!.value);
    const top = parts.shift();
    if (parts.length === 0) this._headers.splice(idx, 1);
    else this._headers[idx] = { key: 'via', name: 'Via', value: parts.join(', ') };
    this.changed('via');
    this._cache.delete('via#top');
    return top;
  }

  // ------------------------------------------------------------ validation

  /**
   * Parse every header this layer knows, so a malformed one surfaces now as a SipParseError (400) instead of
   * on first access. Requests also get the CSeq-method check.
   */
  validate(): this {
    void this.via; void this.from; void this.to; void this.callId; void this.cseq; void this.maxForwards;
    void this.contact; void this.route; void this.recordRoute; void this.path; void this.expires; void this.minExpires;
    void this.contentType; void this.contentLength; void this.authorization; void this.proxyAuthorization;
    void this.wwwAuthenticate; void this.proxyAuthenticate; void this.supported; void this.require;
    void this.proxyRequire; void this.unsupported; void this.allow; void this.reasons; void this.referTo;
    void this.referredBy; void this.replaces; void this.event; void this.subscriptionState; void this.rseq;
    void this.rack;
    // Date is deliberately not checked here: RFC 4475 §3.1.2.12 (baddate) says an element "shouldn't" reject a
    // bad Date "unless the contents of the Date header field were actually important to its processing". Those
    // that care read `date`, which throws.
    return this;
  }

  // ------------------------------------------------------------ serialization

  /** Wire form. Content-Length is always the body length. Untouched parsed messages return their own bytes. */
  toBuffer(): Buffer {
    if (this._raw !== undefined) return this._raw;
    const body = this._body;
    let head = this.startLine() + '\r\n';
    let clDone = false;
    for (const h of this._headers) {
      if (h.key === 'content-length') {
        if (!clDone) head += `Content-Length: ${body.length}\r\n`;
        clDone = true;
        continue;
      }
      head += `${h.name}: ${h.value}\r\n`;
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
  const u = req.uri;
  if (u.isSip) {
    for (const _k in u.headers) {
      throw new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'Request-URI must not contain URI headers (RFC 3261 19.1.1)', { header: 'Request-URI' });
    }
  }
}

export class SipRequest extends SipMessage {
  private _method: string;
  private _uriText: string;
  private _uri: SipUri | undefined;

  /** @internal use createRequest() or parseMessage(). */
  constructor(method: string, uri: string | SipUri, headers: HeaderField[] = [], body: Buffer = EMPTY, raw?: Buffer) {
    super(headers, body, raw);
    this._method = method;
    if (typeof uri === 'string') { this._uriText = uri; this._uri = undefined; }
    else { this._uriText = uri.toString(); this._uri = uri; }
  }

  get isRequest(): true { return true; }

  /** Method, case-sensitive as received (RFC 3261 §7.1). */
  get method(): string { return this._method; }
  set method(m: string) {
    if (!isToken(m)) throw new TypeError('invalid SIP method');
    this._method = m;
    this._raw = undefined;
  }

  /** The Request-URI, parsed on first access (throws SipParseError when malformed). */
  get uri(): SipUri {
    if (this._uri === undefined) this._uri = parseUri(this._uriText, 'Request-URI');
    return this._uri;
  }
  set uri(u: SipUri | string) {
    const text = typeof u === 'string' ? u : u.toString();
    if (/[\s]/.test(text) || text.length === 0) throw new TypeError('invalid Request-URI');
    this._uriText = text;
    this._uri = typeof u === 'string' ? undefined : u;
    this._raw = undefined;
  }
  /** The Request-URI text as received (or as last set). */
  get uriText(): string { return this._uriText; }

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
  private _status: number;
  private _reason: string;

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
    this._raw = undefined;
  }

  /** Reason phrase ('' when the response had none). */
  get reason(): string { return this._reason; }
  set reason(r: string) {
    if (/[\r\n]/.test(r)) throw new TypeError('reason phrase must not contain CR or LF');
    this._reason = r;
    this._raw = undefined;
  }

  protected startLine(): string {
    return `${this.version} ${this._status} ${this._reason}`;
  }
}

export type SipMessageAny = SipRequest | SipResponse;
