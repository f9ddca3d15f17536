/**
 * Helpers of the ua tests: user agents on loopback UDP with OS-chosen ports, a send filter to lose chosen
 * messages, and waiting for network events (never for time: RFC timers run on a VirtualClock when they matter).
 */
import { UserAgent, type UserAgentOptions } from '../../../sip-stack/ua/index.js';
import type { SipMessageAny, SendTarget, SendResult } from '../../../sip-stack/index.js';

export interface Wire {
  /** Every message this UA passed to its transport, in order (dropped ones included). */
  sent: SipMessageAny[];
  /** Clock time of each entry of `sent` (the UA's clock). */
  at: number[];
  /** Return true to lose a message (it is recorded but not sent). */
  drop: (m: SipMessageAny) => boolean;
}

export async function makeUa(o: UserAgentOptions = {}): Promise<{ ua: UserAgent; wire: Wire; uri: string; port: number }> {
  const ua = new UserAgent({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], ...o });
  const [l] = await ua.start();
  const wire: Wire = { sent: [], at: [], drop: () => false };
  const send = ua.transport.send.bind(ua.transport);
  ua.transport.send = (m: SipMessageAny | Buffer, t: SendTarget): Promise<SendResult> => {
    if (!Buffer.isBuffer(m)) {
      wire.sent.push(m);
      wire.at.push(ua.clock.now());
      if (wire.drop(m)) return Promise.resolve({ ok: true, transport: t.transport, localAddress: '127.0.0.1', localPort: l!.port });
    }
    return send(m, t);
  };
  return { ua, wire, uri: `sip:127.0.0.1:${l!.port}`, port: l!.port };
}

/**
 * Resolve when `cond()` holds, checking after each turn of the event loop (then every few ms). This waits for
 * network I/O, never for RFC time; `limitMs` is only a guard against a hang (no timing is asserted).
 */
export async function until(cond: () => boolean, what = 'condition', limitMs = 15000): Promise<void> {
  const start = Date.now();
  for (let i = 0; ; i++) {
    if (cond()) return;
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise<void>((r) => (i < 2000 ? setImmediate(r) : setTimeout(r, 2)));
  }
}

/** The first event `name` of an emitter, as a promise of its arguments. */
export function next<A extends unknown[]>(em: object, name: string): Promise<A> {
  const once = (em as { once: (ev: string, fn: (...a: A) => void) => unknown }).once;
  return new Promise<A>((resolve) => once.call(em, name, (...a: A) => resolve(a)));
}

export function describe(m: SipMessageAny): string {
  return m.isRequest ? m.method : `${m.status} ${m.cseq?.method ?? ''}`;
}

export const SDP_A = 'v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
export const SDP_B = 'v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n';
