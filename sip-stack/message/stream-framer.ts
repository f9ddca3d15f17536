// Stream framing for TCP/TLS (RFC 3261 §18.3): messages are delimited by Content-Length, which is mandatory.
// Handles partial and coalesced messages and the RFC 5626 §3.5.1 keep-alives: a double CRLF "ping" (answer
// it with a single CRLF "pong") and a single CRLF "pong". Buffers are bounded by the limits.

import { SipParseError } from './errors.js';
import { type SipLimits, resolveLimits } from './limits.js';
import { findHeaderEnd, parseOrError, type InternalParseMode } from './parser.js';
import { SipRequest, type SipResponse } from './message.js';
import { createResponse } from './builders.js';

const STREAM: InternalParseMode = Object.freeze({ stream: true, strict: false });
const STREAM_STRICT: InternalParseMode = Object.freeze({ stream: true, strict: true });

export type FramerEvent =
  | { type: 'message'; message: SipRequest | SipResponse }
  /** CRLFCRLF received: the transport answers with a single CRLF. */
  | { type: 'ping' }
  /** A single CRLF received (the answer to our ping). */
  | { type: 'pong' }
  /** A message could not be parsed (`error.fatal` false: framing continues) or framing is lost (fatal: close). */
  | { type: 'error'; error: SipParseError };

export interface StreamFramerOptions extends Partial<SipLimits> {
  /** Parse every known header of each message (see ParseOptions.strict). */
  strict?: boolean;
}

export interface FramerCounters {
  messages: number;
  pings: number;
  pongs: number;
  /** Messages framed correctly but rejected by the parser. */
  parseErrors: number;
  /** Unrecoverable framing errors (the connection must be closed). */
  fatalErrors: number;
  bytes: number;
}

const CR = 13;
const LF = 10;

/**
 * Incremental parser of one stream connection. `push(chunk)` returns the events completed by that chunk.
 * A CRLFCRLF split across chunks is first reported as a 'pong' (the first CRLF) and then as a 'ping'.
 */
export class SipStreamFramer {
  readonly counters: FramerCounters = { messages: 0, pings: 0, pongs: 0, parseErrors: 0, fatalErrors: 0, bytes: 0 };
  private readonly limits: SipLimits;
  private readonly strict: boolean;
  private buf: Buffer = Buffer.alloc(0);
  private len = 0;
  /** Where the search for the end of the header section resumes (relative to buffer start). */
  private scanFrom = 0;
  /** A CRLF at a message boundary was consumed and reported as pong; a following CRLF makes it a ping. */
  private crlfSeen = false;
  private _failed: SipParseError | undefined;

  constructor(options?: StreamFramerOptions) {
    const { strict, ...limits } = options ?? {};
    this.limits = resolveLimits(limits);
    this.strict = strict === true;
  }

  /** The fatal error once framing failed (all later input is ignored). */
  get failed(): SipParseError | undefined {
    return this._failed;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.len;
  }

  /** Forget buffered bytes and any failure (e.g. when a connection object is reused). */
  reset(): void {
    this.buf = Buffer.alloc(0);
    this.len = 0;
    this.scanFrom = 0;
    this.crlfSeen = false;
    this._failed = undefined;
  }

  push(chunk: Buffer): FramerEvent[] {
    const out: FramerEvent[] = [];
    if (this._failed !== undefined || chunk.length === 0) return out;
    this.counters.bytes += chunk.length;
    let b: Buffer;
    let end: number;
    let owned: boolean;
    if (this.len === 0) {
      // Nothing buffered: frame directly on the caller's chunk (messages keep views of it, no copy).
      b = chunk;
      end = chunk.length;
      owned = false;
    } else {
      this.append(chunk);
      b = this.buf;
      end = this.len;
      owned = true;
    }
    const pos = this.frame(b, end, owned, out);
    // Keep the unconsumed tail.
    const rest = end - pos;
    if (this._failed !== undefined) {
      this.len = 0;
    } else if (owned) {
      if (pos > 0 && rest > 0) this.buf.copy(this.buf, 0, pos, end);
      this.len = rest;
    } else if (rest > 0) {
      this.len = 0;
      this.append(chunk.subarray(pos));
    }
    this.scanFrom = Math.max(0, this.scanFrom - pos);
    return out;
  }

  private append(chunk: Buffer): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      let cap = Math.max(4096, this.buf.length * 2);
      while (cap < need) cap *= 2;
      const nb = Buffer.allocUnsafe(cap);
      this.buf.copy(nb, 0, 0, this.len);
      this.buf = nb;
    }
    chunk.copy(this.buf, this.len);
    this.len = need;
  }

  private fail(out: FramerEvent[], code: 'DPBX_ERR_SIP_TOO_LARGE' | 'DPBX_ERR_SIP_BODY_TOO_LARGE' | 'DPBX_ERR_SIP_CONTENT_LENGTH',
    status: number, reason: string, head?: Buffer): void {
    const e = new SipParseError(code, status, reason, { fatal: true, header: code === 'DPBX_ERR_SIP_TOO_LARGE' ? undefined : 'Content-Length' });
    if (head !== undefined) e.responseFor = responderFor(head, this.limits, e);
    this._failed = e;
    this.counters.fatalErrors++;
    out.push({ type: 'error', error: e });
  }

  /** Frame as much as possible; returns the index of the first unconsumed byte. */
  private frame(b: Buffer, end: number, owned: boolean, out: FramerEvent[]): number {
    let pos = 0;
    const limits = this.limits;
    // Each iteration consumes bytes or returns, so the loop is bounded by the input length.
    while (pos < end) {
      const c = b[pos]!;
      if (c === CR || c === LF) {
        // Keep-alive or stray line ends between messages.
        if (c === LF) { pos++; continue; } // bare LF: tolerated and skipped
        if (pos + 1 >= end) return pos; // lone CR: wait for LF
        if (b[pos + 1] !== LF) { pos++; continue; } // bare CR: skipped
        // RFC 5626 §3.5.1: a whole CRLFCRLF in this chunk is a ping, whatever came before it.
        if (pos + 3 < end && b[pos + 2] === CR && b[pos + 3] === LF) {
          this.crlfSeen = false;
          this.counters.pings++;
          out.push({ type: 'ping' });
          pos += 4;
          continue;
        }
        if (pos + 2 < end && b[pos + 2] === CR && pos + 3 >= end) {
          // CRLF CR and nothing more: could be a ping; wait for one more byte.
          return pos;
        }
        if (this.crlfSeen) {
          // Second half of a ping whose first CRLF ended an earlier chunk (already reported as a pong).
          this.crlfSeen = false;
          this.counters.pings++;
          out.push({ type: 'ping' });
          pos += 2;
          continue;
        }
        this.counters.pongs++;
        out.push({ type: 'pong' });
        pos += 2;
        if (pos >= end) this.crlfSeen = true;
        continue;
      }
      this.crlfSeen = false;
      const hdr = { bodyStart: 0 };
      const from = Math.max(pos, this.scanFrom - 3);
      const he = findHeaderEnd(b, from, end, hdr);
      if (he < 0) {
        if (end - pos > limits.maxHeaderBytes) {
          this.fail(out, 'DPBX_ERR_SIP_TOO_LARGE', 513, `header section exceeds ${limits.maxHeaderBytes} bytes`);
          return end;
        }
        this.scanFrom = end;
        return pos;
      }
      this.scanFrom = 0;
      if (he - pos > limits.maxHeaderBytes) {
        this.fail(out, 'DPBX_ERR_SIP_TOO_LARGE', 513, `header section exceeds ${limits.maxHeaderBytes} bytes`);
        return end;
      }
      const head = b.subarray(pos, hdr.bodyStart);
      const cl = contentLengthOf(b.toString('latin1', pos, he));
      if (cl === -1) {
        this.fail(out, 'DPBX_ERR_SIP_CONTENT_LENGTH', 400, 'Content-Length is mandatory on stream transports', head);
        return end;
      }
      if (cl === -2) {
        this.fail(out, 'DPBX_ERR_SIP_CONTENT_LENGTH', 400, 'invalid or conflicting Content-Length', head);
        return end;
      }
      if (cl > limits.maxBodyBytes) {
        this.fail(out, 'DPBX_ERR_SIP_BODY_TOO_LARGE', 413, `Content-Length ${cl} exceeds ${limits.maxBodyBytes}`, head);
        return end;
      }
      const total = hdr.bodyStart + cl;
      if (total - pos > limits.maxMessageBytes) {
        this.fail(out, 'DPBX_ERR_SIP_TOO_LARGE', 513, `message exceeds ${limits.maxMessageBytes} bytes`, head);
        return end;
      }
      if (total > end) {
        // Body incomplete; resume scanning right at the body next time.
        this.scanFrom = he;
        return pos;
      }
      const msgBuf = owned ? Buffer.from(b.subarray(pos, total)) : b.subarray(pos, total);
      const message = parseOrError(msgBuf, limits, this.strict ? STREAM_STRICT : STREAM);
      if (message instanceof SipParseError) {
        this.counters.parseErrors++;
        out.push({ type: 'error', error: message });
      } else {
        this.counters.messages++;
        out.push({ type: 'message', message });
      }
      pos = total;
    }
    return pos;
  }
}

/**
 * When framing fails after a complete header section, the request may still be readable enough to answer before
 * the connection is closed: parse the header section alone (as a datagram, so the body is not awaited) and
 * borrow the responder of whatever error that gives, answering with the framing error's status.
 */
function responderFor(head: Buffer, limits: SipLimits, fatal: SipParseError): SipParseError['responseFor'] {
  let inner: SipParseError['responseFor'];
  const m = parseOrError(Buffer.from(head), limits, { stream: false, strict: false });
  if (m instanceof SipRequest) {
    inner = (status = 400, reason?: string) => createResponse(m, status, reason, { toTag: true }).toBuffer();
  } else if (m instanceof SipParseError) {
    inner = m.responseFor;
  }
  if (inner === undefined) return undefined;
  const build = inner;
  return (status = fatal.status, reason = fatal.reasonPhrase) => build(status, reason);
}

/**
 * Content-Length of a header section (latin1 text): -1 absent, -2 malformed or conflicting, else the value.
 * Accepts the compact form `l`, any case, whitespace before the colon and folded values.
 */
function contentLengthOf(head: string): number {
  let result = -1;
  let i = head.indexOf('\n') + 1; // skip the start line
  const n = head.length;
  while (i > 0 && i < n) {
    let eol = head.indexOf('\n', i);
    if (eol < 0) eol = n;
    const c0 = head.charCodeAt(i);
    if (c0 === 0x6c || c0 === 0x4c || c0 === 0x63 || c0 === 0x43) {
      const colon = head.indexOf(':', i);
      if (colon > 0 && colon < eol) {
        const name = head.slice(i, colon).trimEnd().toLowerCase();
        if (name === 'content-length' || name === 'l') {
          // Value, including folded continuation lines.
          let vEnd = eol;
          while (vEnd + 1 < n && (head.charCodeAt(vEnd + 1) === 0x20 || head.charCodeAt(vEnd + 1) === 0x09)) {
            const next = head.indexOf('\n', vEnd + 1);
            vEnd = next < 0 ? n : next;
          }
          const v = head.slice(colon + 1, vEnd).trim();
          let num = 0;
          if (v.length === 0 || v.length > 10) return -2;
          for (let k = 0; k < v.length; k++) {
            const d = v.charCodeAt(k);
            if (d < 0x30 || d > 0x39) return -2;
            num = num * 10 + (d - 0x30);
          }
          if (num > 0x7fffffff) return -2;
          if (result >= 0 && result !== num) return -2;
          result = num;
        }
      }
    }
    i = eol + 1;
  }
  return result;
}
