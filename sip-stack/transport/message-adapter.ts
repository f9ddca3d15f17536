/**
 * The ONLY file of the transport that knows the message layer's API (sip-stack/message/index.ts): parsing,
 * stream framing, error responses, Via stamping and serialisation, behind a few small functions.
 */
import {
  SipParseError,
  SipStreamFramer,
  tryParseMessage,
  type ParseOptions,
  type SipLimits,
  type SipMessageAny,
  type Via,
} from '../message/index.js';
import { viaStamp } from './response-target.js';
import type { MessageSource } from './types.js';

/** A parsed SIP message (request or response) as the message layer defines it. */
export type SipMessage = SipMessageAny;

/** Parser limits the transport passes through (see sip-stack/message limits). */
export type SipLimitsOption = Partial<SipLimits>;

export type ParseResult = { ok: true; message: SipMessage } | { ok: false; error: SipParseError };

export type StreamItem =
  | { kind: 'message'; message: SipMessage }
  /** CRLFCRLF keep-alive ping (answer with CRLF). */
  | { kind: 'ping' }
  /** Single CRLF pong. */
  | { kind: 'pong' }
  /** `fatal`: framing lost, close the connection; `limit`: because a size limit was exceeded. */
  | { kind: 'error'; error: SipParseError; fatal: boolean; limit: boolean };

export interface StreamFramerAdapter {
  /** Feeds a chunk; calls onItem for each complete item; stops when onItem returns false. */
  push(chunk: Buffer, onItem: (item: StreamItem) => boolean): void;
}

/**
 * Options for parseMessage, built once per layer. `strict` makes the parser check every known header at the
 * edge, so a malformed one is answered with a precise 400 here instead of surprising a layer above later.
 */
export function parseOptions(limits: SipLimitsOption | undefined, strict: boolean): ParseOptions {
  return { ...(limits ?? {}), strict };
}

export function parseDatagram(buf: Buffer, options: ParseOptions): ParseResult {
  const r = tryParseMessage(buf, options);
  return r instanceof SipParseError ? { ok: false, error: r } : { ok: true, message: r };
}

/** Wire bytes of the error response for a bad request, or undefined when it is not readable enough. */
export function errorResponseFor(error: SipParseError): Buffer | undefined {
  if (!error.responseFor) return undefined;
  try {
    return error.responseFor();
  } catch {
    return undefined;
  }
}

export function looksLikeResponse(buf: Buffer): boolean {
  return buf.length >= 4 && (buf[0]! | 0x20) === 0x73 && (buf[1]! | 0x20) === 0x69 && (buf[2]! | 0x20) === 0x70 && buf[3] === 0x2f;
}

export function isRequest(m: SipMessage): boolean {
  return m.isRequest;
}

/** Top Via of a message (undefined when absent). May throw SipParseError when malformed. */
export function topVia(m: SipMessage): Via | undefined {
  return m.topVia;
}

/**
 * Stamps received/rport into the top Via of a request (RFC 3261 §18.2.1, RFC 3581 §4). Returns false when the
 * request has no readable Via (it cannot be answered then).
 */
export function stampTopVia(m: SipMessage, source: MessageSource): boolean {
  let v: Via | undefined;
  try {
    v = m.topVia;
  } catch {
    return false;
  }
  if (!v) return false;
  const s = viaStamp(v, source);
  if (s.received === undefined && s.rport === undefined) return true;
  if (s.received !== undefined) v.received = s.received;
  if (s.rport !== undefined) v.rport = s.rport;
  m.setTopVia(v);
  return true;
}

export function serializeMessage(m: SipMessage): Buffer {
  return m.toBuffer();
}

class FramerAdapter implements StreamFramerAdapter {
  private readonly framer: SipStreamFramer;

  constructor(options: ParseOptions) {
    this.framer = new SipStreamFramer(options);
  }

  push(chunk: Buffer, onItem: (item: StreamItem) => boolean): void {
    const events = this.framer.push(chunk);
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      let item: StreamItem;
      switch (ev.type) {
        case 'message':
          item = { kind: 'message', message: ev.message };
          break;
        case 'ping':
          item = { kind: 'ping' };
          break;
        case 'pong':
          item = { kind: 'pong' };
          break;
        default: {
          const e = ev.error;
          const limit = e.code === 'DPBX_ERR_SIP_TOO_LARGE' || e.code === 'DPBX_ERR_SIP_BODY_TOO_LARGE';
          item = { kind: 'error', error: e, fatal: e.fatal, limit };
        }
      }
      if (!onItem(item)) return;
    }
  }
}

/** One framer per TCP/TLS connection (the message layer's SipStreamFramer: Content-Length framing, keep-alives). */
export function createStreamFramer(options: ParseOptions): StreamFramerAdapter {
  return new FramerAdapter(options);
}
