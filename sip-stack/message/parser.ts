// Datagram parser: one SIP message from one Buffer (RFC 3261 §7, §18.3). A single forward scan over the bytes
// finds the header section; the header text is decoded once and split into lines by index; typed values are
// parsed only for the headers every stack layer needs (Via top, From, To, Call-ID, CSeq, Request-URI).

import { SipParseError, parseFail, badHeader } from './errors.js';
import { type SipLimits, resolveLimits, DEFAULT_LIMITS } from './limits.js';
import { lookupHeaderSpan } from './header-names.js';
import { isTokenChar } from './scan.js';
import { SipRequest, SipResponse, type HeaderField, cseqMismatch, checkRequestUri } from './message.js';
import { createResponse } from './builders.js';

export interface ParseOptions extends Partial<SipLimits> {
  /**
   * Also parse every known header now (msg.validate()) so malformed ones fail at once with a 400 that carries
   * responseFor(). Default false: only the core headers are checked, the others fail on first access.
   */
  strict?: boolean;
}

/** Parse mode used by the stream framer: Content-Length is mandatory and limits are already resolved. */
export interface InternalParseMode {
  stream: boolean;
  strict: boolean;
}

/**
 * Parse one SIP message from a datagram. Content-Length is honoured (bytes after the body are ignored); a
 * body shorter than Content-Length is a 400; without Content-Length the body runs to the end of the packet.
 * Throws SipParseError only.
 */
export function parseMessage(buf: Buffer, options?: ParseOptions): SipRequest | SipResponse {
  const limits = options === undefined ? (DEFAULT_LIMITS as SipLimits) : resolveLimits(stripStrict(options));
  return parseWith(buf, limits, { stream: false, strict: options?.strict === true });
}

function stripStrict(o: ParseOptions): Partial<SipLimits> {
  if (o.strict === undefined) return o;
  const { strict: _s, ...rest } = o;
  return rest;
}

/** Entry point shared with the stream framer. Wraps unexpected exceptions so only SipParseError escapes. */
export function parseWith(buf: Buffer, limits: SipLimits, mode: InternalParseMode): SipRequest | SipResponse {
  try {
    return parseInner(buf, limits, mode);
  } catch (e) {
    if (e instanceof SipParseError) throw e;
    const err = new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'unexpected parser failure');
    (err as { cause?: unknown }).cause = e;
    throw err;
  }
}

interface StartLine {
  request: boolean;
  method: string;
  uri: string;
  status: number;
  reason: string;
  /** Deferred start-line problems that still allow an answer (505, 414, 400 for the URI). */
  deferred: SipParseError | undefined;
}

function isVersion(s: string): boolean {
  // "SIP/" 1*DIGIT "." 1*DIGIT, case-insensitive
  if (s.length < 7) return false;
  const c0 = s.charCodeAt(0) | 0x20, c1 = s.charCodeAt(1) | 0x20, c2 = s.charCodeAt(2) | 0x20;
  if (c0 !== 0x73 || c1 !== 0x69 || c2 !== 0x70 || s.charCodeAt(3) !== 0x2f) return false;
  let i = 4, digits = 0, dot = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && !dot && digits > 0) { dot = true; digits = 0; }
    else return false;
  }
  return dot && digits > 0;
}

function isSip20(s: string): boolean {
  return s === 'SIP/2.0' || s.toUpperCase() === 'SIP/2.0';
}

function parseStartLine(line: string, limits: SipLimits): StartLine {
  const sl: StartLine = { request: true, method: '', uri: '', status: 0, reason: '', deferred: undefined };
  if (line.length >= 4 && (line.charCodeAt(0) | 0x20) === 0x73 && (line.charCodeAt(1) | 0x20) === 0x69 &&
    (line.charCodeAt(2) | 0x20) === 0x70 && line.charCodeAt(3) === 0x2f) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    sl.request = false;
    const sp = line.indexOf(' ');
    if (sp < 0) throw parseFail('status line without status code');
    const version = line.slice(0, sp);
    if (!isVersion(version)) throw parseFail('malformed SIP version in status line');
    if (!isSip20(version)) throw new SipParseError('DPBX_ERR_SIP_VERSION', 505, `unsupported SIP version ${version.slice(0, 16)}`);
    const cs = sp + 1;
    let v = 0;
    let i = cs;
    for (; i < line.length && i - cs < 4; i++) {
      const c = line.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
    }
    if (i - cs !== 3 || v < 100 || v > 699) throw parseFail('status code is not a 3-digit number from 100 to 699');
    if (i < line.length && line.charCodeAt(i) !== 0x20) throw parseFail('status code not followed by a space');
    sl.status = v;
    sl.reason = i < line.length ? line.slice(i + 1) : '';
    return sl;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version
  const sp1 = line.indexOf(' ');
  if (sp1 <= 0) throw parseFail('request line without Request-URI');
  for (let i = 0; i < sp1; i++) {
    if (!isTokenChar(line.charCodeAt(i))) throw parseFail('method is not a token');
  }
  sl.method = line.slice(0, sp1);
  const sp2 = line.lastIndexOf(' ');
  const version = line.slice(sp2 + 1);
  if (sp2 <= sp1 || !isVersion(version) || sp2 === sp1 + 1) {
    // RFC 4475 §3.1.2.8 (lwsruri), §3.1.2.9 (lwsstart), §3.1.2.10 (trws): whitespace inside or around the
    // Request-URI. "It is acceptable to reject this request as malformed": we do, with a 400 when the rest of
    // the request is readable enough to answer (the error is deferred until the headers are known).
    return lenientRequestLine(line, sl);
  }
  sl.uri = line.slice(sp1 + 1, sp2);
  for (let i = 0; i < sl.uri.length; i++) {
    const c = sl.uri.charCodeAt(i);
    if (c === 0x09 || c === 0x20) return lenientRequestLine(line, sl);
  }
  if (!isSip20(version)) {
    sl.deferred = new SipParseError('DPBX_ERR_SIP_VERSION', 505, `unsupported SIP version ${version.slice(0, 16)}`);
  } else if (sl.uri.length > limits.maxUriLength) {
    sl.deferred = new SipParseError('DPBX_ERR_SIP_URI_TOO_LONG', 414,
      `Request-URI of ${sl.uri.length} characters exceeds ${limits.maxUriLength}`, { header: 'Request-URI' });
  }
  return sl;
}

/**
 * A request line with extra, missing or misplaced whitespace: `Method 1*LWS Request-URI *LWS SIP-Version *LWS`.
 * Fills `sl` so the request can still be answered, with a deferred 400; anything less regular than that is
 * not a request line at all and fails at once (no answer possible).
 */
function lenientRequestLine(line: string, sl: StartLine): StartLine {
  const parts = line.split(/[ \t]+/);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length < 3 || !isVersion(parts[parts.length - 1]!)) {
    throw parseFail('request line is not Method SP Request-URI SP SIP-Version');
  }
  sl.uri = parts[1]!;
  sl.deferred = parseFail(line.length > 0 && (line.charCodeAt(line.length - 1) === 0x20 || line.charCodeAt(line.length - 1) === 0x09)
    ? 'whitespace after the SIP version in the request line'
    : parts.length > 3 ? 'whitespace inside the Request-URI' : 'more than one SP between request line elements');
  return sl;
}

function tooLarge(what: string): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_TOO_LARGE', 513, what);
}

/** Index of the first byte of the empty line ending the header section, or -1. `bodyAt` receives the body start. */
export function findHeaderEnd(buf: Buffer, from: number, to: number, out: { bodyStart: number }): number {
  let pos = from;
  while (pos < to) {
    const lf = buf.indexOf(10, pos);
    if (lf < 0 || lf >= to) return -1;
    const n1 = lf + 1 < to ? buf[lf + 1] : -1;
    if (n1 === 10) { out.bodyStart = lf + 2; return lf + 1; }
    if (n1 === 13) {
      if (lf + 2 >= to) return -1;
      if (buf[lf + 2] === 10) { out.bodyStart = lf + 3; return lf + 1; }
    }
    pos = lf + 1;
  }
  return -1;
}

const scratch = { bodyStart: 0 };

function parseInner(buf: Buffer, limits: SipLimits, mode: InternalParseMode): SipRequest | SipResponse {
  const len = buf.length;
  if (len > limits.maxMessageBytes) throw tooLarge(`message of ${len} bytes exceeds ${limits.maxMessageBytes}`);
  // RFC 3261 §7.5: ignore CRLFs before the start line.
  let start = 0;
  while (start < len && (buf[start] === 13 || buf[start] === 10)) start++;
  if (start >= len) throw parseFail('empty message');
  let headEnd = findHeaderEnd(buf, start, len, scratch);
  let bodyStart = scratch.bodyStart;
  let noEmptyLine = false;
  if (headEnd < 0) {
    if (len - start > limits.maxHeaderBytes) throw tooLarge(`header section exceeds ${limits.maxHeaderBytes} bytes`);
    // RFC 3261 §7: "the empty line MUST be present even if the message-body is not". A datagram cut before
    // it is malformed, but its headers may still be readable enough to answer with a 400 (RFC 4475 baddn as
    // shipped by sip@0.0.6 ends this way). The stream framer never gets here: it waits for the empty line.
    if (mode.stream) throw parseFail('no empty line after the header section');
    headEnd = len;
    bodyStart = len;
    noEmptyLine = true;
  }
  if (headEnd - start > limits.maxHeaderBytes) throw tooLarge(`header section exceeds ${limits.maxHeaderBytes} bytes`);

  const head = buf.toString('utf8', start, headEnd);
  const hn = head.length;
  let eol = head.indexOf('\n');
  let le = eol > 0 && head.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
  if (le > limits.maxHeaderLineBytes && le > limits.maxUriLength + 64) {
    // A start line this long can only be an oversized Request-URI.
    throw new SipParseError('DPBX_ERR_SIP_URI_TOO_LONG', 414, `start line of ${le} characters is too long`);
  }
  const sl = parseStartLine(head.slice(0, le), limits);

  // Header lines; continuation lines (starting with SP/HT) are unfolded into the previous value.
  const fields: HeaderField[] = [];
  let curKey = '';
  let curName = '';
  let curValue = '';
  let have = false;
  let i = eol + 1;
  const maxLine = limits.maxHeaderLineBytes;
  const maxHeaders = limits.maxHeaders;
  while (i < hn) {
    eol = head.indexOf('\n', i);
    if (eol < 0) eol = hn;
    le = eol > i && head.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    const c0 = head.charCodeAt(i);
    if (c0 === 0x20 || c0 === 0x09) {
      if (!have) throw parseFail('continuation line without a header');
      const more = sliceLws(head, i, le);
      if (more.length > 0) curValue = curValue.length > 0 ? curValue + ' ' + more : more;
      if (curValue.length > maxLine) throw tooLarge(`header ${curName} longer than ${maxLine} bytes`);
    } else {
      if (have) fields.push({ key: curKey, name: curName, value: curValue });
      if (le - i > maxLine) throw tooLarge(`header line longer than ${maxLine} bytes`);
      const colon = head.indexOf(':', i);
      if (colon < 0 || colon >= le) throw parseFail(`header line without colon: '${head.slice(i, Math.min(le, i + 30))}'`);
      let ne = colon;
      while (ne > i) {
        const c = head.charCodeAt(ne - 1);
        if (c !== 0x20 && c !== 0x09) break;
        ne--;
      }
      if (ne === i) throw parseFail('empty header name');
      for (let k = i; k < ne; k++) {
        if (!isTokenChar(head.charCodeAt(k))) throw parseFail('header name is not a token');
      }
      const hname = lookupHeaderSpan(head, i, ne);
      curKey = hname.key;
      curName = hname.canonical;
      curValue = sliceLws(head, colon + 1, le);
      have = true;
      if (fields.length + 1 > maxHeaders) throw tooLarge(`more than ${maxHeaders} header lines`);
    }
    i = eol + 1;
  }
  if (have) fields.push({ key: curKey, name: curName, value: curValue });

  // Content-Length (RFC 3261 §18.3, §20.14).
  let cl = -1;
  let clLines = 0;
  let deferred: SipParseError | undefined = sl.deferred;
  if (noEmptyLine) deferred ??= parseFail('no empty line after the header section');
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    if (f.key !== 'content-length') continue;
    clLines++;
    const v = parseContentLengthValue(f.value);
    if (v === -2) {
      deferred ??= new SipParseError('DPBX_ERR_SIP_BODY_TOO_LARGE', 413, 'Content-Length is too large', { header: 'Content-Length' });
      cl = -3;
    } else if (v < 0) {
      deferred ??= new SipParseError('DPBX_ERR_SIP_CONTENT_LENGTH', 400, 'Content-Length is not a non-negative integer', { header: 'Content-Length' });
      cl = -3;
    } else if (cl >= 0 && v !== cl) {
      deferred ??= new SipParseError('DPBX_ERR_SIP_CONTENT_LENGTH', 400, 'conflicting Content-Length headers', { header: 'Content-Length' });
    } else if (cl !== -3) cl = v;
  }
  let bodyEnd = len;
  if (cl >= 0) {
    if (cl > limits.maxBodyBytes) {
      deferred ??= new SipParseError('DPBX_ERR_SIP_BODY_TOO_LARGE', 413,
        `Content-Length ${cl} exceeds ${limits.maxBodyBytes}`, { header: 'Content-Length' });
      bodyEnd = bodyStart;
    } else if (bodyStart + cl > len) {
      deferred ??= new SipParseError('DPBX_ERR_SIP_BODY_TRUNCATED', 400,
        `body of ${len - bodyStart} bytes is shorter than Content-Length ${cl}`, { header: 'Content-Length' });
      bodyEnd = len;
    } else {
      bodyEnd = bodyStart + cl;
    }
  } else if (cl === -3) {
    bodyEnd = bodyStart;
  } else if (mode.stream) {
    deferred ??= new SipParseError('DPBX_ERR_SIP_CONTENT_LENGTH', 400, 'Content-Length is mandatory on stream transports', { header: 'Content-Length' });
  }
  const body = buf.subarray(bodyStart, bodyEnd);
  const raw = clLines === 1 && cl === bodyEnd - bodyStart && deferred === undefined ? buf.subarray(start, bodyEnd) : undefined;

  if (!sl.request) {
    const res = new SipResponse(sl.status, sl.reason, fields, body, raw);
    if (deferred) throw deferred;
    // Every stack layer reads these; a response without them cannot be matched to a transaction.
    const via = res.topVia;
    if (via === undefined) throw missing('Via');
    if (res.from === undefined) throw missing('From');
    if (res.to === undefined) throw missing('To');
    if (res.callId === undefined) throw missing('Call-ID');
    if (res.cseq === undefined) throw missing('CSeq');
    if (mode.strict) res.validate();
    return res;
  }

  const req = new SipRequest(sl.method, sl.uri, fields, body, raw);
  // Readiness for an error response: RFC 3261 §8.2.6.2 copies Via, From, To, Call-ID and CSeq into it. A client
  // transaction matches the answer by the top Via branch and the CSeq method (§17.1.3), so a request with both
  // lines present is answered even when one of the others is missing or malformed (RFC 4475 §3.3.1 insuf,
  // §3.1.2.1 badinv01 "should respond with a 400 Bad Request"); without them the request is only counted.
  if (req.get('Via') === undefined) throw missing('Via');
  if (req.get('CSeq') === undefined) throw missing('CSeq');
  try {
    if (deferred) throw deferred;
    if (req.topVia === undefined) throw missing('Via');
    if (req.get('From') === undefined) throw missing('From');
    if (req.get('To') === undefined) throw missing('To');
    if (req.get('Call-ID') === undefined) throw missing('Call-ID');
    const cseq = req.cseq!;
    void req.from;
    void req.to;
    void req.callId;
    if (cseq.method !== sl.method) throw cseqMismatch(sl.method);
    checkRequestUri(req);
    void req.maxForwards;
    if (req.get('Content-Type') !== undefined) void req.contentType;
    if (mode.strict) req.validate();
  } catch (e) {
    if (e instanceof SipParseError) e.responseFor = (status = e.status, reason = e.reasonPhrase) =>
      createResponse(req, status, reason, { toTag: true }).toBuffer();
    throw e;
  }
  return req;
}

/** head[a, b) without leading and trailing SP / HT (never String.prototype.trim(): see trimLws). */
function sliceLws(head: string, a: number, b: number): string {
  while (a < b) {
    const c = head.charCodeAt(a);
    if (c !== 0x20 && c !== 0x09) break;
    a++;
  }
  while (b > a) {
    const c = head.charCodeAt(b - 1);
    if (c !== 0x20 && c !== 0x09) break;
    b--;
  }
  return head.slice(a, b);
}

function missing(h: string): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_MISSING_HEADER', 400, `missing ${h} header`, { header: h });
}

/** -1: malformed; -2: more than 2^31-1; else the value. */
function parseContentLengthValue(s: string): number {
  if (s.length === 0) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
    if (v > 0x7fffffff) {
      for (let j = i + 1; j < s.length; j++) {
        const d = s.charCodeAt(j);
        if (d < 0x30 || d > 0x39) return -1;
      }
      return -2;
    }
  }
  return v;
}

export { badHeader };
