/** Shared helpers of the relay tests: loopback peers, packet builders, waiting for datagrams. */
import { createSocket, type Socket } from 'node:dgram';
import { createSocket as createNetSocket } from 'node:dgram';

export interface Rx {
  buf: Buffer;
  port: number;
  address: string;
}

export class Peer {
  readonly sock: Socket;
  readonly rx: Rx[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  constructor(sock: Socket) {
    this.sock = sock;
    sock.on('message', (buf, rinfo) => {
      this.rx.push({ buf, port: rinfo.port, address: rinfo.address });
      this.waiters = this.waiters.filter((w) => {
        if (this.rx.length >= w.n) {
          w.resolve();
          return false;
        }
        return true;
      });
    });
  }
  get port(): number {
    return this.sock.address().port;
  }
  static async open(): Promise<Peer> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new Peer(sock);
  }
  send(buf: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(buf, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }
  /** Resolves once `n` datagrams in total were received, or after `timeoutMs` (the caller's assertions then fail). */
  waitFor(n: number, timeoutMs = 5000): Promise<void> {
    if (this.rx.length >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }
  close(): void {
    try {
      this.sock.close();
    } catch {
      /* closed */
    }
  }
}

export function rtp(pt: number, seq: number, ts: number, ssrc: number, payload: Buffer | number = 160, marker = false): Buffer {
  const body = typeof payload === 'number' ? Buffer.alloc(payload, seq & 0xff) : payload;
  const b = Buffer.alloc(12 + body.length);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  body.copy(b, 12);
  return b;
}

export const hdr = (b: Buffer) => ({
  marker: (b[1]! & 0x80) !== 0,
  pt: b[1]! & 0x7f,
  seq: b.readUInt16BE(2),
  ts: b.readUInt32BE(4),
  ssrc: b.readUInt32BE(8),
});

/** A random, even port range of `pairs` pairs, so concurrent test files do not collide. */
export function randomRange(pairs: number): { rtpPortMin: number; rtpPortMax: number } {
  const min = 20000 + 2 * Math.floor(Math.random() * 20000);
  return { rtpPortMin: min, rtpPortMax: min + pairs * 2 - 1 };
}

/** True when `port` can be bound right now on 127.0.0.1. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createNetSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Module specifier of a sibling file, whether running from sources (tsx) or dist. */
export function sibling(name: string): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, import.meta.url).href;
}

export const PCMU = { pt: 0, name: 'PCMU', rate: 8000 };
export const PCMA = { pt: 8, name: 'PCMA', rate: 8000 };
export const te = (pt: number) => ({ pt, name: 'telephone-event', rate: 8000 });

/** Polls `cond` (every 5 ms, up to `timeoutMs`) — for state changes that happen after a datagram is processed. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}
