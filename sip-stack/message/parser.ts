// Datagram parser: one SIP message from one Buffer (RFC 3261 §7, §18.3). One forward scan over the bytes finds
// the start line, every header line (name range, value range, the id of a known name from the name automaton) and
// the empty line; nothing is decoded and no object is made per header. The message keeps those offsets (wire
// mode, see message.ts): a value is decoded when read, typed values are parsed when asked for and cached. At
// parse time only what every stack layer needs is checked: Content-Length (framing), the top Via, From, To,
// Call-ID, CSeq, the Request-URI, Max-Forwards and Content-Type; strict mode adds every other known header.

import { isAscii } from 'node:buffer';
import { SipParseError, type SipErrorResponder, parseFail, badHeader } from './errors.js';
import { type SipLimits, resolveLimits, DEFAULT_LIMITS } from './limits.js';
import { NAME_NEXT, NAME_CLASS, NAME_PAIR, NAME_END, NAME_ROW_SHIFT, NAME_ACCEPT, KNOWN_HEADERS, H } from './header-names.js';
import { BYTE_CLASS, knownMethodWire, latin1At, utf8At, indexOfByte, isAlphaByte } from './scan.js';
import { SipRequest, SipResponse, WIRE_HEADERS, WIRE_STRIDE, FIRST_IDS, FIRST_BITS, cseqMismatch, checkRequestUri, requestUriHeaders } from './message.js';
import { createResponse } from './builders.js';
import { checkUriWire, scanUriWire, scannedUriHeaders, uriError, URI_HAS_HEADERS } from './uri.js';

// The scan compares with NAME_END as a literal (see parseInner()).
if (NAME_END !== 0xffff) throw new Error('NAME_END is not 0xffff');

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

const MODE_DATAGRAM: InternalParseMode = Object.freeze({ stream: false, strict: false });
const MODE_DATAGRAM_STRICT: InternalParseMode = Object.freeze({ stream: false, strict: true });

/**
 * Parse one SIP message from a datagram. Content-Length is honoured (bytes after the body are ignored); a
 * body shorter than Content-Length is a 400; without Content-Length the body runs to the end of the packet.
 * Throws SipParseError only.
 */
export function parseMessage(buf: Buffer, options?: ParseOptions): SipRequest | SipResponse {
  const r = tryParseMessage(buf, options);
  if (r instanceof SipParseError) throw r;
  return r;
}

/**
 * parseMessage() that returns the SipParseError instead of throwing it: what the transport uses, so a flood of
 * malformed datagrams does not pay for an exception each (a throw and catch costs about as much as parsing a
 * whole message). Never throws.
 */
export function tryParseMessage(buf: Buffer, options?: ParseOptions): SipRequest | SipResponse | SipParseError {
  if (options === undefined) return parseOrError(buf, DEFAULT_LIMITS as SipLimits, MODE_DATAGRAM);
  return parseOrError(buf, limitsOf(options), options.strict === true ? MODE_DATAGRAM_STRICT : MODE_DATAGRAM);
}

/** The limits of a ParseOptions: the defaults (no copy, no check) when it sets none, the common case. */
function limitsOf(o: ParseOptions): SipLimits {
  if (o.maxMessageBytes === undefined && o.maxHeaderBytes === undefined && o.maxBodyBytes === undefined &&
    o.maxHeaders === undefined && o.maxHeaderLineBytes === undefined && o.maxUriLength === undefined) {
    return DEFAULT_LIMITS as SipLimits;
  }
  return resolveLimits(stripStrict(o));
}

function stripStrict(o: ParseOptions): Partial<SipLimits> {
  if (o.strict === undefined) return o;
  const { strict: _s, ...rest } = o;
  return rest;
}

/**
 * Parse one message (entry point shared with the stream framer); the only failure is a returned SipParseError
 * (unexpected exceptions are wrapped). Errors found by the parser itself are returned by parseInner() (no throw
 * at all); those thrown by the value parsers are caught here. Either way, an error found once a request was
 * readable enough to answer gets its responseFor() here.
 */
export function parseOrError(buf: Buffer, limits: SipLimits, mode: InternalParseMode): SipRequest | SipResponse | SipParseError {
  answerable = undefined;
  let r: SipRequest | SipResponse | SipParseError;
  try {
    r = parseInner(buf, limits, mode);
  } catch (e) {
    if (!(e instanceof SipParseError)) {
      answerable = undefined;
      const err = new SipParseError('DPBX_ERR_SIP_PARSE', 400, 'unexpected parser failure');
      (err as { cause?: unknown }).cause = e;
      return err;
    }
    r = e;
  }
  if (r instanceof SipParseError) {
    const req = answerable;
    if (req !== undefined) {
      answerable = undefined;
      r.responseFor = responder(req, r);
    }
  }
  return r;
}

/**
 * responseFor() of an error about a request readable enough to answer. A function of its own: a closure made
 * inside parseOrError() would keep its context alive, which (measured) keeps every rejected message
 * reachable until the next full GC.
 */
function responder(req: SipRequest, e: SipParseError): SipErrorResponder {
  return (status = e.status, reason = e.reasonPhrase) => createResponse(req, status, reason, { toTag: true }).toBuffer();
}

/**
 * The request being checked after the point where it can be answered (RFC 3261 §8.2.6): an error found from
 * then on gets a responseFor(). Module scratch: parsing is synchronous.
 */
let answerable: SipRequest | undefined;

// ------------------------------------------------------------------------------------------------ start line

// The start line as parseStartLine() leaves it (module scratch: the parser is synchronous, not re-entrant).
let slRequest = true;
let slMethod = '';
let slUriStart = 0;
let slUriEnd = 0;
/** Request-URI text when it had to be cut out of an irregular request line (lenientRequestLine). */
let slUriText: string | undefined;
let slStatus = 0;
let slReasonStart = 0;
/** checkUriWire() of the Request-URI when parseStartLine() already did it, else URI_UNCHECKED. */
let slUriCheck = 0;
const URI_UNCHECKED = -2;
/** Deferred start-line problem that still allows an answer (505, 414, 400 for the URI). */
let slDeferred: SipParseError | undefined;

/** buf[a, b) is "SIP/" 1*DIGIT "." 1*DIGIT, case-insensitive. */
function isVersionAt(buf: Uint8Array, a: number, b: number): boolean {
  if (b - a < 7) return false;
  if ((buf[a]! | 0x20) !== 0x73 || (buf[a + 1]! | 0x20) !== 0x69 || (buf[a + 2]! | 0x20) !== 0x70 || buf[a + 3] !== 0x2f) return false;
  let digits = 0;
  let dot = false;
  for (let i = a + 4; i < b; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && !dot && digits > 0) { dot = true; digits = 0; }
    else return false;
  }
  return dot && digits > 0;
}

/** buf[a, b), already known to be a version (isVersionAt), is SIP/2.0 (any case). */
function isSip20At(buf: Uint8Array, a: number, b: number): boolean {
  return b - a === 7 && buf[a + 4] === 0x32 && buf[a + 5] === 0x2e && buf[a + 6] === 0x30;
}

/** The method buf[a, b): known methods as their constant strings (no allocation). */
function methodAt(buf: Buffer, a: number, b: number): string {
  return knownMethodWire(buf, a, b) ?? utf8At(buf, a, b);
}

/** Text of buf[a, b) (for error messages and the rare paths). */
function textAt(buf: Buffer, a: number, b: number): string {
  return utf8At(buf, a, b);
}

/** Parse the start line buf[a, b) into the sl* scratch; returns the error of a line that allows no answer. */
function parseStartLine(buf: Buffer, a: number, b: number, limits: SipLimits): SipParseError | undefined {
  slDeferred = undefined;
  slUriText = undefined;
  if (b - a >= 4 && (buf[a]! | 0x20) === 0x73 && (buf[a + 1]! | 0x20) === 0x69 && (buf[a + 2]! | 0x20) === 0x70 &&
    buf[a + 3] === 0x2f) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    slRequest = false;
    let sp = a;
    while (sp < b && buf[sp] !== 0x20) sp++;
    if (sp >= b) return parseFail('status line without status code');
    if (!isVersionAt(buf, a, sp)) return parseFail('malformed SIP version in status line');
    if (!isSip20At(buf, a, sp)) return new SipParseError('DPBX_ERR_SIP_VERSION', 505, `unsupported SIP version ${textAt(buf, a, Math.min(sp, a + 16))}`);
    const cs = sp + 1;
    let v = 0;
    let i = cs;
    for (; i < b && i - cs < 4; i++) {
      const c = buf[i]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
    }
    if (i - cs !== 3 || v < 100 || v > 699) return parseFail('status code is not a 3-digit number from 100 to 699');
    if (i < b && buf[i] !== 0x20) return parseFail('status code not followed by a space');
    slStatus = v;
    slReasonStart = i < b ? i + 1 : b;
    return undefined;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version
  slRequest = true;
  let sp1 = a;
  while (sp1 < b && BYTE_CLASS[buf[sp1]!] === 1) sp1++;
  if (sp1 >= b || sp1 === a || buf[sp1] !== 0x20) {
    // Find which way the line fails, in the order the checks are documented.
    sp1 = a;
    while (sp1 < b && buf[sp1] !== 0x20) sp1++;
    if (sp1 >= b || sp1 === a) return parseFail('request line without Request-URI');
    return parseFail('method is not a token');
  }
  slMethod = methodAt(buf, a, sp1);
  // The usual line: the Request-URI found and checked in one pass. scanUriWire() reads only URI characters (no SP,
  // no HT), so when it stops at a SP followed by the version, that SP is the first SP or HT, the one the loop
  // below finds, and the URI's check is checkUriWire()'s over the same bytes: finish() needs no second pass.
  const ue = scanUriWire(buf, sp1 + 1, b);
  if (ue > sp1 + 1 && ue < b && buf[ue] === 0x20 && isVersionAt(buf, ue + 1, b)) {
    slUriCheck = scannedUriHeaders();
    return requestLineAt(buf, sp1, ue, b, limits);
  }
  slUriCheck = URI_UNCHECKED;
  // The Request-URI ends at the first SP or HT. The line is regular when that is a single SP followed by the
  // version, which has no whitespace: then this SP is also the last one.
  let sp2 = sp1 + 1;
  while (sp2 < b && buf[sp2] !== 0x20 && buf[sp2] !== 0x09) sp2++;
  if (sp2 >= b || sp2 === sp1 + 1 || buf[sp2] === 0x09 || !isVersionAt(buf, sp2 + 1, b)) {
    // RFC 4475 §3.1.2.8 (lwsruri), §3.1.2.9 (lwsstart), §3.1.2.10 (trws): whitespace inside or around the
    // Request-URI. "It is acceptable to reject this request as malformed": we do, with a 400 when the rest of
    // the request is readable enough to answer (the error is deferred until the headers are known).
    return lenientRequestLine(buf, a, b);
  }
  return requestLineAt(buf, sp1, sp2, b, limits);
}

/** A regular request line: the method ends at sp1, the Request-URI at sp2, the version runs to b. */
function requestLineAt(buf: Buffer, sp1: number, sp2: number, b: number, limits: SipLimits): undefined {
  slUriStart = sp1 + 1;
  slUriEnd = sp2;
  if (!isSip20At(buf, sp2 + 1, b)) {
    slDeferred = new SipParseError('DPBX_ERR_SIP_VERSION', 505, `unsupported SIP version ${textAt(buf, sp2 + 1, Math.min(b, sp2 + 17))}`);
  } else if (sp2 - sp1 - 1 > limits.maxUriLength) {
    slDeferred = new SipParseError('DPBX_ERR_SIP_URI_TOO_LONG', 414,
      `Request-URI of ${sp2 - sp1 - 1} characters exceeds ${limits.maxUriLength}`, { header: 'Request-URI' });
  }
  return undefined;
}

/**
 * A request line buf[a, b) with extra, missing or misplaced whitespace: `Method 1*LWS Request-URI *LWS SIP-Version
 * *LWS`. Fills the scratch so the request can still be answered, with a deferred 400; anything less regular than
 * that is not a request line at all and fails at once (no answer possible).
 */
function lenientRequestLine(buf: Buffer, a: number, b: number): SipParseError | undefined {
  // The elements of line.split(/[ \t]+/) without a trailing empty one: how many, the second, the last.
  let parts = 0;
  let uriA = a;
  let uriB = a;
  let lastA = a;
  let lastB = a;
  let i = a;
  for (;;) {
    let j = i;
    while (j < b && buf[j] !== 0x20 && buf[j] !== 0x09) j++;
    if (++parts === 2) { uriA = i; uriB = j; }
    lastA = i;
    lastB = j;
    if (j >= b) break;
    while (j < b && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    if (j >= b) break;
    i = j;
  }
  if (parts < 3 || !isVersionAt(buf, lastA, lastB)) {
    return parseFail('request line is not Method SP Request-URI SP SIP-Version');
  }
  slUriText = utf8At(buf, uriA, uriB);
  slDeferred = parseFail(b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)
    ? 'whitespace after the SIP version in the request line'
    : parts > 3 ? 'whitespace inside the Request-URI' : 'more than one SP between request line elements');
  return undefined;
}

// ------------------------------------------------------------------------------------------------ the scan

function tooLarge(what: string): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_TOO_LARGE', 513, what);
}

/** Index of the first byte of the empty line ending the header section, or -1. `bodyAt` receives the body start. */
export function findHeaderEnd(buf: Buffer, from: number, to: number, out: { bodyStart: number }): number {
  let pos = from;
  while (pos < to) {
    const lf = indexOfByte(buf, 10, pos);
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

/** Name of the header line at word k of `off` (for error messages). */
function headerNameAt(buf: Buffer, off: number[], k: number): string {
  const id = off[k + 4]!;
  return id >= 0 ? KNOWN_HEADERS[id]!.canonical : buf.toString('latin1', off[k]!, off[k + 1]!);
}

/** Parse one message; the errors the scan and the checks find are returned (see parseOrError). */
function parseInner(buf: Buffer, limits: SipLimits, mode: InternalParseMode): SipRequest | SipResponse | SipParseError {
  const len = buf.length;
  if (len > limits.maxMessageBytes) return tooLarge(`message of ${len} bytes exceeds ${limits.maxMessageBytes}`);
  // RFC 3261 §7.5: ignore CRLFs before the start line.
  let start = 0;
  while (start < len && (buf[start] === 13 || buf[start] === 10)) start++;
  if (start >= len) return parseFail('empty message');
  if (len - start > limits.maxHeaderBytes) {
    // Only a message this long can have a header section over the limit: find its end first, so the answer is
    // the 513 whatever else is wrong with it.
    const he = findHeaderEnd(buf, start, len, scratch);
    if (he < 0 || he - start > limits.maxHeaderBytes) return tooLarge(`header section exceeds ${limits.maxHeaderBytes} bytes`);
  }

  // Start line.
  let eol = indexOfByte(buf, 10, start);
  if (eol < 0) eol = len;
  let le = eol > start && buf[eol - 1] === 13 ? eol - 1 : eol;
  if (le - start > limits.maxHeaderLineBytes && le - start > limits.maxUriLength + 64) {
    // A start line this long can only be an oversized Request-URI.
    return new SipParseError('DPBX_ERR_SIP_URI_TOO_LONG', 414, `start line of ${le - start} characters is too long`);
  }
  const slError = parseStartLine(buf, start, le, limits);
  if (slError !== undefined) return slError;
  const request = slRequest;
  const method = slMethod;
  const uriStart = slUriStart;
  const uriEnd = slUriEnd;
  const uriText = slUriText;
  const status = slStatus;
  const reasonStart = slReasonStart;
  const reasonEnd = le;
  let deferred = slDeferred;

  // Header lines: per line name start, name end, value start, value end, id (WIRE_STRIDE words). A
  // continuation line (starting with SP/HT) is unfolded into the previous value, which then lives in
  // `unfolded` (its value start becomes -1 - index; see FOLDS).
  // The words are written to SCRATCH (no growth per message) and copied out once, at the exact size. `mask` has
  // bit id set for each id < H.ValidatedCount seen, `dup` for each seen more than once.
  let nw = 0;
  let mask = 0;
  let dup = 0;
  let first = 0;
  let clAt = -1;
  const off = SCRATCH;
  // Folded headers: how many, FOLDS words used, unfolded length in bytes of the header being continued.
  let folded = 0;
  let nf = 0;
  let foldBytes = 0;
  const maxLine = limits.maxHeaderLineBytes;
  const maxHeaders = limits.maxHeaders;
  let headEnd = -1;
  let bodyStart = len;
  let lines = 0;
  // The automaton's tables in locals, and NAME_END as a literal: an imported binding is loaded from its module's
  // cell and checked for the hole on every step of the walk (seen in perf annotate).
  const nameNext = NAME_NEXT;
  const nameClass = NAME_CLASS;
  const namePair = NAME_PAIR;
  let i = eol + 1;
  while (i < len) {
    const c0 = buf[i]!;
    // The empty line: LF, or CR LF.
    if (c0 === 10) { headEnd = i; bodyStart = i + 1; break; }
    if (c0 === 13 && i + 1 < len && buf[i + 1] === 10) { headEnd = i; bodyStart = i + 2; break; }
    eol = indexOfByte(buf, 10, i);
    if (eol < 0) eol = len;
    le = eol > i && buf[eol - 1] === 13 ? eol - 1 : eol;
    if (c0 === 0x20 || c0 === 0x09) {
      if (nw === 0) return parseFail('continuation line without a header');
      const k = nw - WIRE_STRIDE;
      if (off[k + 2]! >= 0) {
        // The header's first continuation: FOLDS gets its first line's value range, the header an entry of
        // `unfolded` (made by finish(), once the section's text is decoded).
        if (nf + 3 > FOLDS.length) growFolds(nf + 3);
        FOLDS[nf] = k;
        FOLDS[nf + 1] = off[k + 2]!;
        FOLDS[nf + 2] = off[k + 3]!;
        nf += 3;
        foldBytes = off[k + 3]! - off[k + 2]!;
        off[k + 2] = -1 - folded++;
      }
      // The continuation without its LWS; a non-empty one is appended after one SP.
      let pa = i;
      while (pa < le && (buf[pa] === 0x20 || buf[pa] === 0x09)) pa++;
      let pb = le;
      while (pb > pa && (buf[pb - 1] === 0x20 || buf[pb - 1] === 0x09)) pb--;
      if (pb > pa) {
        if (nf + 3 > FOLDS.length) growFolds(nf + 3);
        FOLDS[nf] = -1;
        FOLDS[nf + 1] = pa;
        FOLDS[nf + 2] = pb;
        nf += 3;
        foldBytes = foldBytes > 0 ? foldBytes + 1 + (pb - pa) : pb - pa;
      }
      off[k + 3] = le;
      if (foldBytes > maxLine) return tooLarge(`header ${headerNameAt(buf, off, k)} longer than ${maxLine} bytes`);
    } else {
      if (le - i > maxLine) return tooLarge(`header line longer than ${maxLine} bytes`);
      // The usual line: token characters (walked through the name automaton), optional SP/HT, ':'.
      let p = i;
      let row = 0;
      if (p + 1 < le) {
        const pair = namePair[(nameClass[buf[p]!]! << 5) | nameClass[buf[p + 1]!]!]!;
        if (pair !== 0xffff) { row = pair; p += 2; }
      }
      while (p < le) {
        const next = nameNext[row + nameClass[buf[p]!]!]!;
        if (next === 0xffff) break; // NAME_END
        row = next;
        p++;
      }
      let ne = p;
      while (p < le && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
      let colon = p;
      if (p >= le || buf[p] !== 0x3a) {
        // Anything else fails; find which way, in the order the checks are documented.
        colon = i;
        while (colon < le && buf[colon] !== 0x3a) colon++;
        if (colon >= le) return parseFail(`header line without colon: '${textAt(buf, i, Math.min(le, i + 30))}'`);
        ne = colon;
        while (ne > i && (buf[ne - 1] === 0x20 || buf[ne - 1] === 0x09)) ne--;
        if (ne === i) return parseFail('empty header name');
        return parseFail('header name is not a token');
      }
      if (ne === i) return parseFail('empty header name');
      const id = NAME_ACCEPT[row >> NAME_ROW_SHIFT]!;
      let vs = colon + 1;
      while (vs < le && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
      let ve = le;
      while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
      if (++lines > maxHeaders) return tooLarge(`more than ${maxHeaders} header lines`);
      if (nw + WIRE_STRIDE > off.length) growScratch(nw + WIRE_STRIDE);
      off[nw] = i;
      off[nw + 1] = ne;
      off[nw + 2] = vs;
      off[nw + 3] = ve;
      off[nw + 4] = id;
      nw += WIRE_STRIDE;
      if (id >= 0 && id < H.ValidatedCount) {
        const bit = 1 << id;
        if (id < FIRST_IDS && (mask & bit) === 0 && lines <= FIRST_MAX) first |= lines << (id * FIRST_BITS);
        dup |= mask & bit;
        mask |= bit;
        if (id === H.ContentLength && clAt < 0) clAt = nw - WIRE_STRIDE;
      }
    }
    i = eol + 1;
  }
  return finish(buf, limits, mode, off.slice(0, nw), mask, dup, first, clAt, nf, start, headEnd, bodyStart, request, method,
    uriStart, uriEnd, uriText, status, reasonStart, reasonEnd, deferred);
}

/**
 * Folded header lines of the message being scanned, as word triples in line order: (k, a, b) opens the header at
 * word k with its first line's value buf[a, b); each (-1, a, b) after it is one continuation, LWS-trimmed and not
 * empty (module scratch, like SCRATCH).
 */
const FOLDS: number[] = [];

function growFolds(n: number): void {
  while (FOLDS.length < n) FOLDS.push(0);
}

/**
 * The unfolded values of the scan's FOLDS words (entry j for the j-th folded header): its lines' values joined by
 * one SP (RFC 3261 §7.3.1), each read from the header section's text, or decoded as UTF-8 when the section is not
 * ASCII.
 */
function unfold(buf: Buffer, nf: number, text: string, base: number, ascii: boolean): string[] {
  const out: string[] = [];
  let cur = '';
  for (let j = 0; j < nf; j += 3) {
    const a = FOLDS[j + 1]!;
    const b = FOLDS[j + 2]!;
    const piece = ascii ? text.slice(a - base, b - base) : utf8At(buf, a, b);
    if (FOLDS[j]! >= 0) {
      if (j > 0) out.push(cur);
      cur = piece;
    } else {
      cur = cur.length > 0 ? cur + ' ' + piece : piece;
    }
  }
  if (nf > 0) out.push(cur);
  return out;
}

/** SCRATCH holds at least n words (kept packed: grown by pushing). */
function growScratch(n: number): void {
  while (SCRATCH.length < n) SCRATCH.push(0);
}

/** The largest line number (index + 1) _first holds (see message.ts). */
const FIRST_MAX = (1 << FIRST_BITS) - 1;

/** Header words of the message being scanned (module scratch: the parser is synchronous, not re-entrant). */
const SCRATCH: number[] = [];
growScratch(64 * WIRE_STRIDE);

/** The rest of parseInner() once the header lines are known: framing, the message object, the parse-time checks. */
function finish(buf: Buffer, limits: SipLimits, mode: InternalParseMode, off: number[], mask: number, dup: number, first: number, clAt: number,
  nf: number, start: number, headEnd: number, bodyStart: number, request: boolean, method: string,
  uriStart: number, uriEnd: number, uriText: string | undefined, status: number, reasonStart: number, reasonEnd: number,
  deferred: SipParseError | undefined): SipRequest | SipResponse | SipParseError {
  const len = buf.length;
  let noEmptyLine = false;
  if (headEnd < 0) {
    // RFC 3261 §7: "the empty line MUST be present even if the message-body is not". A datagram cut before
    // it is malformed, but its headers may still be readable enough to answer with a 400 (RFC 4475 baddn as
    // shipped by sip@0.0.6 ends this way). The stream framer never gets here: it waits for the empty line.
    if (mode.stream) return parseFail('no empty line after the header section');
    noEmptyLine = true;
    headEnd = len;
    bodyStart = len;
  }
  // The header section is decoded once as latin1; values are sliced from that text and the byte fast paths read
  // the same bytes. In a datagram that is not pure ASCII (a UTF-8 reason phrase, display name or extension header),
  // that still holds for its ASCII lines: the start line, when it has a byte >= 0x80, and each such header value
  // are decoded as UTF-8 on their own (the value is kept in `unfolded`, like a folded line's, so it is read by the
  // string parsers).
  let startAscii = true;
  const ascii = isAscii(buf);
  const text = latin1At(buf, start, headEnd);
  let unfolded = nf > 0 ? unfold(buf, nf, text, start, ascii) : undefined;
  if (!ascii) {
    let hi = 0;
    const firstLine = off.length > 0 ? off[0]! : headEnd;
    for (let p = start; p < firstLine; p++) hi |= buf[p]!;
    startAscii = (hi & 0x80) === 0;
    for (let k = 0; k < off.length; k += WIRE_STRIDE) {
      const vs = off[k + 2]!;
      if (vs < 0) continue;
      const ve = off[k + 3]!;
      hi = 0;
      for (let p = vs; p < ve; p++) hi |= buf[p]!;
      if ((hi & 0x80) !== 0) {
        unfolded ??= [];
        off[k + 2] = -1 - unfolded.length;
        unfolded.push(utf8At(buf, vs, ve));
      }
    }
  }

  // Content-Length (RFC 3261 §18.3, §20.14).
  if (noEmptyLine) deferred ??= parseFail('no empty line after the header section');
  let cl = -1;
  let clLines = 0;
  // The scan gives the first Content-Length line; the others are looked for only when there are others.
  const clEnd = (dup & (1 << H.ContentLength)) !== 0 ? off.length : clAt + WIRE_STRIDE;
  for (let k = clAt + 4; clAt >= 0 && k < clEnd; k += WIRE_STRIDE) {
    if (off[k] !== H.ContentLength) continue;
    clLines++;
    const vs = off[k - 2]!;
    const v = vs >= 0 ? contentLengthAt(buf, vs, off[k - 1]!) : contentLengthOf(unfolded![-1 - vs]!);
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
  // The received bytes are this message's serialization while nothing changes, unless Content-Length needs
  // rewriting (absent, repeated, or not the body length).
  const rawEnd = clLines === 1 && cl === bodyEnd - bodyStart && deferred === undefined ? bodyEnd : -1;

  // The request and the response each get a function of their own: the optimizing compiler then inlines the
  // message's constructors into each (in one function, its inlining budget ran out before SipMessage's
  // constructor, and every message was built through the generic construct path: ~3 % of the parse, measured).
  if (!request) {
    const reason = reasonStart >= reasonEnd ? '' : startAscii ? text.slice(reasonStart - start, reasonEnd - start) : textAt(buf, reasonStart, reasonEnd);
    return finishResponse(buf, mode, off, mask, dup, first, unfolded, text, start, headEnd, bodyStart, bodyEnd, rawEnd, status, reason,
      deferred);
  }
  const uri = uriText ?? (startAscii ? text.slice(uriStart - start, uriEnd - start) : textAt(buf, uriStart, uriEnd));
  return finishRequest(buf, mode, off, mask, dup, first, unfolded, text, start, headEnd, bodyStart, bodyEnd, rawEnd, method, uri,
    uriStart, uriEnd, startAscii && uriText === undefined, deferred);
}

/** finish() of a response: the message, then the headers every layer reads. */
function finishResponse(buf: Buffer, mode: InternalParseMode, off: number[], mask: number, dup: number, first: number,
  unfolded: string[] | undefined, text: string, start: number, headEnd: number, bodyStart: number, bodyEnd: number, rawEnd: number,
  status: number, reason: string, deferred: SipParseError | undefined): SipResponse | SipParseError {
  const res = new SipResponse(status, reason, WIRE_HEADERS);
  res.attachWire(buf, off, mask, dup, first, unfolded, text, start, headEnd, bodyStart, bodyEnd, start, rawEnd);
  if (deferred) return deferred;
  // Every stack layer reads these; a response without them cannot be matched to a transaction. (The *OrError()
  // readers return the errors the byte forms find; the string parsers' are thrown.)
  const e = required(res.topViaOrError(), 'Via') ?? required(res.fromOrError(), 'From') ?? required(res.toOrError(), 'To');
  if (e !== undefined) return e;
  if (res.callId === undefined) return missing('Call-ID');
  const ec = required(res.cseqOrError(), 'CSeq');
  if (ec !== undefined) return ec;
  if (mode.strict) res.validate();
  return res;
}

/**
 * finish() of a request: the message, then the checks in the order they are documented. `uriBytes`: the
 * Request-URI is buf[uriStart, uriEnd) in an ASCII start line (the byte check applies).
 */
function finishRequest(buf: Buffer, mode: InternalParseMode, off: number[], mask: number, dup: number, first: number,
  unfolded: string[] | undefined, text: string, start: number, headEnd: number, bodyStart: number, bodyEnd: number, rawEnd: number,
  method: string, uri: string, uriStart: number, uriEnd: number, uriBytes: boolean, deferred: SipParseError | undefined): SipRequest | SipParseError {
  const req = new SipRequest(method, uri, WIRE_HEADERS);
  req.attachWire(buf, off, mask, dup, first, unfolded, text, start, headEnd, bodyStart, bodyEnd, start, rawEnd);
  // Readiness for an error response: RFC 3261 §8.2.6.2 copies Via, From, To, Call-ID and CSeq into it. A client
  // transaction matches the answer by the top Via branch and the CSeq method (§17.1.3), so a request with both
  // lines present is answered even when one of the others is missing or malformed (RFC 4475 §3.3.1 insuf,
  // §3.1.2.1 badinv01 "should respond with a 400 Bad Request"); without them the request is only counted.
  if (!hasLine(mask, H.Via)) return missing('Via');
  if (!hasLine(mask, H.CSeq)) return missing('CSeq');
  answerable = req;
  if (deferred) return deferred;
  const via = req.topViaOrError();
  if (via === undefined) return missing('Via');
  if (via instanceof SipParseError) return via;
  if (!hasLine(mask, H.From)) return missing('From');
  if (!hasLine(mask, H.To)) return missing('To');
  if (!hasLine(mask, H.CallId)) return missing('Call-ID');
  const cseq = req.cseqOrError()!;
  if (cseq instanceof SipParseError) return cseq;
  const e = errorOf(req.fromOrError()) ?? errorOf(req.toOrError());
  if (e !== undefined) return e;
  void req.callId;
  if (cseq.method !== method) return cseqMismatch(method);
  // The Request-URI bytes, when the byte form reads them (URI headers are a 400, RFC 3261 §19.1.1 Table 1), else
  // the full check (which fails at once without a scheme: no letter first).
  // (slUriCheck is still the start line's: nothing parses another message in between.)
  const uriWire = slUriCheck !== URI_UNCHECKED ? slUriCheck : uriBytes ? checkUriWire(buf, uriStart, uriEnd) : -1;
  if (uriWire === 0) req.uriVerified();
  else if (uriWire === URI_HAS_HEADERS) return requestUriHeaders();
  else if (uriBytes && !isAlphaByte(buf[uriStart]!)) return uriError('has no valid scheme', 'Request-URI');
  else checkRequestUri(req);
  void req.maxForwards;
  if (hasLine(mask, H.ContentType)) req.checkContentType();
  if (mode.strict) req.validate();
  answerable = undefined;
  return req;
}

/** Whether the header with this id (< H.ValidatedCount) has a line (from the scan's mask). */
function hasLine(mask: number, id: number): boolean {
  return (mask & (1 << id)) !== 0;
}

/** The error of a required header's *OrError() reading: missing, malformed, or none. */
function required(v: unknown, h: string): SipParseError | undefined {
  return v === undefined ? missing(h) : v instanceof SipParseError ? v : undefined;
}

/** The error of an *OrError() reading, if it is one. */
function errorOf(v: unknown): SipParseError | undefined {
  return v instanceof SipParseError ? v : undefined;
}

function missing(h: string): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_MISSING_HEADER', 400, `missing ${h} header`, { header: h });
}

/** Content-Length digits in buf[a, b): -1 malformed; -2 more than 2^31-1; else the value. */
function contentLengthAt(buf: Buffer, a: number, b: number): number {
  if (a >= b) return -1;
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
    if (v > 0x7fffffff) {
      for (let j = i + 1; j < b; j++) {
        const d = buf[j]!;
        if (d < 0x30 || d > 0x39) return -1;
      }
      return -2;
    }
  }
  return v;
}

/** contentLengthAt() for an unfolded value. */
function contentLengthOf(s: string): number {
  const b = Buffer.from(s, 'utf8');
  return contentLengthAt(b, 0, b.length);
}

export { badHeader };
