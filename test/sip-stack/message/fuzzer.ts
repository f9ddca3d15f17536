/**
 * Seeded mutation fuzzer for the SIP message layer, shared by test/sip-stack/message/fuzz.test.ts (inside
 * `npm test`) and bench/fuzz-sip.js (longer runs). Deterministic for a seed: a failure report names the seed and
 * the input index, and `replay()` rebuilds that exact input.
 *
 * Corpus: the 49 RFC 4475 torture messages plus ordinary call and registration traffic. Mutations: bit flips,
 * interesting bytes, truncation, splices of two messages, huge values (long runs, giant numbers), CRLF games
 * (bare CR/LF, doubled or missing empty lines, folding in odd places), line duplication/deletion/swaps.
 *
 * Property: the parser returns a message or throws SipParseError, and nothing else, for every input; a parsed
 * message's typed values (validate()) and its re-serialization obey the same rule; the stream framer, fed the
 * input in random chunks, emits only typed events and never buffers more than its limits allow.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseMessage,
  tryParseMessage,
  SipParseError,
  SipStreamFramer,
  DEFAULT_LIMITS,
  type SipMessageAny,
} from '../../../sip-stack/message/index.js';

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n';

function msg(lines: string[], body = ''): Buffer {
  return Buffer.from(lines.join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` + body);
}

/** Ordinary traffic: INVITE with SDP, 180, 200 with SDP, REGISTER with credentials, 401, NOTIFY, PRACK, REFER. */
export function ordinaryMessages(): Buffer[] {
  const dialog = ['Call-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6@192.0.2.1', 'From: "Alice" <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>;tag=b2'];
  const via = 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-524287-1;rport';
  return [
    msg(['INVITE sip:bob@example.com SIP/2.0', via, 'Max-Forwards: 70', 'From: "Alice" <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>', 'Call-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6@192.0.2.1', 'CSeq: 1 INVITE',
      'Contact: <sip:alice@192.0.2.1:5060;transport=udp>;expires=60', 'Supported: replaces, 100rel, timer',
      'Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, PRACK, UPDATE', 'Session-Expires: 1800;refresher=uac',
      'Content-Type: application/sdp'], SDP),
    msg(['SIP/2.0 180 Ringing', via + ';received=198.51.100.1', ...dialog, 'CSeq: 1 INVITE', 'RSeq: 1', 'Require: 100rel',
      'Contact: <sip:bob@[2001:db8::2]:5060>', 'Record-Route: <sip:p1.example.com;lr>, <sip:[2001:db8::1];lr>']),
    msg(['SIP/2.0 200 OK', via, ...dialog, 'CSeq: 1 INVITE', 'Contact: <sip:bob@192.0.2.2>', 'Content-Type: application/sdp'], SDP),
    msg(['REGISTER sip:example.com SIP/2.0', via, 'Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=r1',
      'To: <sip:alice@example.com>', 'Call-ID: reg-1@192.0.2.1', 'CSeq: 2 REGISTER', 'Contact: <sip:alice@192.0.2.1>;q=0.7;expires=3600, *',
      'Authorization: Digest username="alice", realm="example.com", nonce="bm9uY2U=", uri="sip:example.com", ' +
        'response="0123456789abcdef0123456789abcdef", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c1"', 'Expires: 3600']),
    msg(['SIP/2.0 401 Unauthorized', via, 'From: <sip:alice@example.com>;tag=r1', 'To: <sip:alice@example.com>;tag=s9',
      'Call-ID: reg-1@192.0.2.1', 'CSeq: 1 REGISTER', 'WWW-Authenticate: Digest realm="example.com", nonce="n", algorithm=MD5, qop="auth", stale=true']),
    msg(['NOTIFY sip:alice@192.0.2.1 SIP/2.0', via, 'Max-Forwards: 70', ...dialog, 'CSeq: 5 NOTIFY', 'Event: refer;id=7',
      'Subscription-State: terminated;reason=noresource', 'Content-Type: message/sipfrag;version=2.0'], 'SIP/2.0 200 OK\r\n'),
    msg(['PRACK sip:bob@192.0.2.2 SIP/2.0', via, 'Max-Forwards: 70', ...dialog, 'CSeq: 2 PRACK', 'RAck: 1 1 INVITE']),
    msg(['REFER sip:bob@192.0.2.2 SIP/2.0', via, 'Max-Forwards: 70', ...dialog, 'CSeq: 3 REFER',
      'Refer-To: <sip:carol@example.com?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>', 'Referred-By: <sip:alice@example.com>',
      'Reason: SIP;cause=200;text="Call completed elsewhere"', 'Replaces: abc@h;to-tag=1;from-tag=2;early-only']),
  ];
}

export function tortureMessages(dir: string): Buffer[] {
  return readdirSync(dir).filter((f) => f.endsWith('.dat')).sort().map((f) => readFileSync(join(dir, f)));
}

const INTERESTING = Buffer.from(':;,<>"\\% \t\r\n[]@=?&/\x00\xff*0123456789');
const TOKENS = ['\r\n', '\n', '\r', '\r\n\r\n', '\r\n ', ' ', ';', ',', '"', '<', '>', '%', '%0', '%00', ':', '@', '=',
  'Content-Length: ', 'l: 99999999999', 'Via: ', 'CSeq: ', ';branch=', ';tag=', 'SIP/2.0', '[::', ']', '\\', '\xc3'];

/** One mutated input from the corpus (1–4 mutations). */
export function mutate(corpus: Buffer[], r: () => number): Buffer {
  const pick = (n: number) => Math.floor(r() * n);
  let b: Buffer = Buffer.from(corpus[pick(corpus.length)]!);
  const rounds = 1 + pick(4);
  for (let k = 0; k < rounds; k++) {
    const len = b.length;
    const at = len === 0 ? 0 : pick(len);
    switch (pick(11)) {
      case 0: { // bit flips
        const flips = 1 + pick(8);
        for (let i = 0; i < flips && len > 0; i++) b[pick(len)]! ^= 1 << pick(8);
        break;
      }
      case 1: // interesting byte
        if (len > 0) b[at] = INTERESTING[pick(INTERESTING.length)]!;
        break;
      case 2: // truncation
        b = b.subarray(0, at);
        break;
      case 3: { // splice two messages
        const other = corpus[pick(corpus.length)]!;
        b = Buffer.concat([b.subarray(0, at), other.subarray(pick(other.length))]);
        break;
      }
      case 4: { // huge value: a long run inserted (rarely beyond the limits)
        const n = r() < 0.1 ? 60000 + pick(20000) : 1 + pick(3000);
        const ch = [0x39, 0x61, 0x20, 0x3b, 0x2c, 0x22, 0x25, 0x0d, 0x0a][pick(9)]!;
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(n, ch), b.subarray(at)]);
        break;
      }
      case 5: { // giant or negative number in place of a digit run
        const s = b.toString('latin1');
        const m = /\d+/g;
        m.lastIndex = at;
        const hit = m.exec(s);
        if (hit) {
          const repl = ['0', '-1', '4294967296', '99999999999999999999999', '2147483648', '00000000000000000001'][pick(6)]!;
          b = Buffer.from(s.slice(0, hit.index) + repl + s.slice(hit.index + hit[0].length), 'latin1');
        }
        break;
      }
      case 6: { // CRLF games
        const s = b.toString('latin1');
        const g = pick(5);
        const out = g === 0 ? s.replace(/\r\n/g, '\n')
          : g === 1 ? s.replace(/\r\n\r\n/, '\r\n')
            : g === 2 ? s.slice(0, at) + '\r\n\r\n' + s.slice(at)
              : g === 3 ? s.replace(/\r\n/g, r() < 0.5 ? '\r' : '\r\n\t')
                : s.slice(0, at) + '\r\n ' + s.slice(at);
        b = Buffer.from(out, 'latin1');
        break;
      }
      case 7: { // token insertion
        const tok = Buffer.from(TOKENS[pick(TOKENS.length)]!, 'latin1');
        b = Buffer.concat([b.subarray(0, at), tok, b.subarray(at)]);
        break;
      }
      case 8: { // line duplicate / delete / swap
        const lines = b.toString('latin1').split('\r\n');
        if (lines.length > 2) {
          const i = 1 + pick(lines.length - 1);
          const j = 1 + pick(lines.length - 1);
          const op = pick(3);
          if (op === 0) lines.splice(i, 0, lines[i]!);
          else if (op === 1) lines.splice(i, 1);
          else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        }
        b = Buffer.from(lines.join('\r\n'), 'latin1');
        break;
      }
      case 9: // leading CRLFs / garbage
        b = Buffer.concat([Buffer.from(r() < 0.5 ? '\r\n\r\n' : '\x00\x16\x03\x01'), b]);
        break;
      default: { // case flip of a range (header names are case-insensitive, values often not)
        const end = Math.min(len, at + 1 + pick(40));
        for (let i = at; i < end; i++) {
          const c = b[i]!;
          if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) b[i] = c ^ 0x20;
        }
      }
    }
  }
  return b;
}

export interface FuzzFailure {
  index: number;
  where: 'parse' | 'validate' | 'serialize' | 'framer';
  error: string;
  input: string;
}

export interface FuzzReport {
  seed: number;
  inputs: number;
  parsed: number;
  rejected: number;
  /** Rejections by SipParseError code. */
  codes: Record<string, number>;
  framerMessages: number;
  framerErrors: number;
  failures: FuzzFailure[];
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

/** Rebuild input `index` of a run with `seed` (for reproducing a failure). */
export function replay(corpus: Buffer[], seed: number, index: number): Buffer {
  const r = rng(seed);
  let b: Buffer = Buffer.alloc(0);
  for (let i = 0; i <= index; i++) {
    b = mutate(corpus, r);
    r(); // the chunking draw of runFuzz
  }
  return b;
}

/** Run `count` mutated inputs through the parser, the typed values, the serializer and the stream framer. */
export function runFuzz(corpus: Buffer[], seed: number, count: number, onProgress?: (done: number) => void): FuzzReport {
  const r = rng(seed);
  const report: FuzzReport = { seed, inputs: 0, parsed: 0, rejected: 0, codes: {}, framerMessages: 0, framerErrors: 0, failures: [] };
  const fail = (index: number, where: FuzzFailure['where'], e: unknown, input: Buffer) => {
    if (report.failures.length < 20) report.failures.push({ index, where, error: describe(e), input: input.toString('latin1').slice(0, 2000) });
  };
  const maxBuffered = DEFAULT_LIMITS.maxHeaderBytes + DEFAULT_LIMITS.maxBodyBytes + 4;
  for (let i = 0; i < count; i++) {
    const input = mutate(corpus, r);
    const chunkSeed = r();
    report.inputs++;
    // Datagram parser.
    // tryParseMessage() is the transport's entry (parseMessage() throws what it returns): it must never throw.
    let m: SipMessageAny | undefined;
    let out: SipMessageAny | SipParseError | undefined;
    try {
      out = tryParseMessage(input);
    } catch (e) {
      fail(i, 'parse', e, input);
    }
    if (out instanceof SipParseError) {
      if ((out as { cause?: unknown }).cause !== undefined) {
        // parseOrError() turns an unexpected exception into a 400 so nothing escapes to the transport, but for
        // the fuzzer that is a bug it found: report the hidden cause.
        fail(i, 'parse', (out as { cause?: unknown }).cause, input);
      } else {
        report.rejected++;
        report.codes[out.code] = (report.codes[out.code] ?? 0) + 1;
        try {
          out.responseFor?.();
        } catch (e2) {
          fail(i, 'serialize', e2, input);
        }
      }
    } else if (out !== undefined) {
      m = out;
      report.parsed++;
    }
    if (m !== undefined) {
      try {
        m.validate();
      } catch (e) {
        if (!(e instanceof SipParseError)) fail(i, 'validate', e, input);
      }
      try {
        m.set('X-Fuzz', i);
        parseMessage(m.toBuffer());
      } catch (e) {
        if (!(e instanceof SipParseError)) fail(i, 'serialize', e, input);
      }
    }
    // Stream framer, fed in random chunks.
    try {
      const f = new SipStreamFramer();
      const cr = rng(Math.floor(chunkSeed * 0xffffffff));
      let pos = 0;
      while (pos < input.length) {
        const n = 1 + Math.floor(cr() * (cr() < 0.3 ? 8 : 600));
        for (const ev of f.push(input.subarray(pos, pos + n))) {
          if (ev.type === 'message') report.framerMessages++;
          else if (ev.type === 'error') {
            report.framerErrors++;
            if (!(ev.error instanceof SipParseError)) throw new Error('framer error event without SipParseError');
            if ((ev.error as { cause?: unknown }).cause !== undefined) throw (ev.error as { cause?: unknown }).cause;
            ev.error.responseFor?.();
          }
        }
        if (f.buffered > maxBuffered) throw new Error(`framer buffered ${f.buffered} bytes`);
        pos += n;
      }
    } catch (e) {
      fail(i, 'framer', e, input);
    }
    if (onProgress && (i + 1) % 10000 === 0) onProgress(i + 1);
  }
  return report;
}
