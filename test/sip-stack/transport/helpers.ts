/** Test helpers for the transport tests: SIP text builders, a fake clock, promise wrappers around events. */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import type { TransportClock } from '../../../sip-stack/transport/clock.js';
import type { TransportLayer, ConnectionInfo } from '../../../sip-stack/transport/transport-layer.js';
import type { MessageSource } from '../../../sip-stack/transport/types.js';
import type { SipMessage } from '../../../sip-stack/transport/message-adapter.js';
import type { CloseReason } from '../../../sip-stack/transport/stream-connection.js';

let seq = 1;

/** A well-formed OPTIONS request. `via` is the top Via value after "SIP/2.0/<T> ". */
export function optionsRequest(opts: { transport?: string; sentBy?: string; viaParams?: string; callId?: string; body?: string } = {}): string {
  const n = seq++;
  const body = opts.body ?? '';
  return (
    `OPTIONS sip:pbx@example.com SIP/2.0\r\n` +
    `Via: SIP/2.0/${opts.transport ?? 'UDP'} ${opts.sentBy ?? 'client.example.com:5062'};branch=z9hG4bK-test-${n}${opts.viaParams ?? ''}\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:alice@example.com>;tag=t${n}\r\n` +
    `To: <sip:pbx@example.com>\r\n` +
    `Call-ID: ${opts.callId ?? `call-${n}@client.example.com`}\r\n` +
    `CSeq: ${n} OPTIONS\r\n` +
    `Accept: application/sdp\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `\r\n` +
    body
  );
}

/** A 200 OK built by hand from the request text (copies Via, From, To, Call-ID, CSeq). */
export function okFor(requestText: string, tag = 'srv1'): string {
  const lines = requestText.split('\r\n');
  const keep = lines.filter((l) => /^(via|v|from|f|call-id|i|cseq)\s*:/i.test(l));
  const to = lines.find((l) => /^(to|t)\s*:/i.test(l)) ?? 'To: <sip:x@y>';
  return `SIP/2.0 200 OK\r\n${keep.join('\r\n')}\r\n${to};tag=${tag}\r\nContent-Length: 0\r\n\r\n`;
}

export interface Delivered {
  message: SipMessage;
  source: MessageSource;
}

/** Resolves with the next message the layer delivers. */
export function nextMessage(layer: TransportLayer): Promise<Delivered> {
  return new Promise((resolve) => layer.once('message', (message, source) => resolve({ message, source })));
}

/** Resolves with the first delivered message whose Call-ID is `callId`. */
export function messageWithCallId(layer: TransportLayer, callId: string): Promise<Delivered> {
  return new Promise((resolve) => {
    const on = (message: SipMessage, source: MessageSource) => {
      if (message.callId !== callId) return;
      layer.off('message', on);
      resolve({ message, source });
    };
    layer.on('message', on);
  });
}

/** Resolves with the next closed connection. */
export function nextClose(layer: TransportLayer): Promise<{ info: ConnectionInfo; reason: CloseReason }> {
  return new Promise((resolve) => layer.once('connectionClose', (info, reason) => resolve({ info, reason })));
}

/** Collects text arriving on a stream socket and resolves once `predicate(all text)` holds. */
export function readUntil(sock: Socket, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (b: Buffer) => {
      text += b.toString('latin1');
      if (predicate(text)) {
        sock.off('data', onData);
        sock.off('close', onClose);
        resolve(text);
      }
    };
    const onClose = () => reject(new Error(`socket closed; received so far: ${JSON.stringify(text.slice(0, 300))}`));
    sock.on('data', onData);
    sock.once('close', onClose);
  });
}

/** A UDP client on loopback with a promise for the next datagram. */
export async function udpClient(family: 4 | 6 = 4): Promise<{ sock: UdpSocket; port: number; next(): Promise<string>; close(): void }> {
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  const queue: string[] = [];
  const waiting: Array<(s: string) => void> = [];
  sock.on('message', (b) => {
    const w = waiting.shift();
    if (w) w(b.toString('latin1'));
    else queue.push(b.toString('latin1'));
  });
  await new Promise<void>((r) => sock.bind(0, family === 6 ? '::1' : '127.0.0.1', () => r()));
  return {
    sock,
    port: sock.address().port,
    next: () => new Promise<string>((r) => {
      const q = queue.shift();
      if (q !== undefined) r(q);
      else waiting.push(r);
    }),
    close: () => sock.close(),
  };
}

/** Virtual time: timers fire only when the test advances the clock. */
export class FakeClock implements TransportClock {
  private t = 1_000;
  private nextId = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves time forward, firing due timers in order (timers armed while firing are honoured). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}
