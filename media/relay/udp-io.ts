/**
 * The relay's UDP sockets behind one small interface, with two implementations:
 *   - `native` (default when media/native/build/dpbx_udp_io.node loaded): batched I/O of media/native/udp_io.c —
 *     one epoll fd per thread watched by the thread's libuv loop, recvmmsg into one shared receive arena, ONE call
 *     into JS per wake-up for all sockets' packets, sends queued as numbers + bytes in a shared out-queue and
 *     flushed natively (sendmmsg/sendmsg) after that call returns, or at once for sends outside it (timers).
 *     Nothing is allocated per packet: handlers get a preallocated Buffer over the packet's arena slot (valid only
 *     during the call) and a reused NetAddr for the source.
 *   - `dgram` (fallback, or DPBX_RELAY_IO=dgram): node:dgram sockets; an RTP port is held by two sockets, the
 *     second connected to the latched peer (see `DgramEndpoint.setPeer`).
 * The relay never depends on which one runs: same latching, counters and errors.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isIP } from 'node:net';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { RelayError } from './errors.js';
import { NetAddr } from './net-addr.js';

export { NetAddr } from './net-addr.js';

/** Receives one datagram: `buf[0, len)` (`buf` may be longer; with native I/O it is only valid during the call). */
export type PacketHandler = (buf: Buffer, len: number, from: NetAddr) => void;

export interface UdpEndpoint {
  /** Local port. */
  readonly port: number;
  /** Sends `buf[0, len)` to `to` (no completion callback; failures are counted in `sendErrors`). */
  send(buf: Buffer, len: number, to: NetAddr): void;
  /**
   * The peer RTP is sent to from now on (latched), or null. With node:dgram the RTP port's second socket is
   * connected to it; the native I/O needs nothing.
   */
  setPeer(to: NetAddr | null): void;
  /** Sends that failed (asynchronous socket errors). Only grows. */
  readonly sendErrors: number;
  close(): Promise<void>;
}

export interface OpenOptions {
  address: string;
  port: number;
  handler: PacketHandler;
  bufferBytes?: number | undefined;
  /** An RTP port: dgram holds it with a second, connected send socket. */
  rtp?: boolean;
}

export type UdpIoMode = 'native' | 'dgram';

export interface UdpIo {
  readonly mode: UdpIoMode;
  /** Buffers handed to handlers are reused after the handler returns (copy what must outlive the call). */
  readonly transientBuffers: boolean;
  /** Binds `address:port` exclusively; a port in use → RelayError DPBX_ERR_RELAY_BIND "in use" with `busy: true`. */
  open(o: OpenOptions): Promise<UdpEndpoint>;
}

function busyError(port: number): RelayError {
  return Object.assign(new RelayError('DPBX_ERR_RELAY_BIND', `port ${port} in use`), { busy: true });
}

// ---------------------------------------------------------------------------------------------------------------
// native
// ---------------------------------------------------------------------------------------------------------------

interface NativeLayout {
  SLOT: number;
  RECV_MAX: number;
  IN_SLOTS: number;
  IN_STRIDE: number;
  OUT_SLOTS: number;
  OUT_STRIDE: number;
  MAX_SOCKS: number;
}
interface NativeAddon {
  init(onPackets: (count: number) => void): { in: ArrayBuffer; inMeta: ArrayBuffer; out: ArrayBuffer; outMeta: ArrayBuffer; ctl: ArrayBuffer; errs: ArrayBuffer };
  open(address: string, port: number, family: number, bufferBytes: number): number;
  close(id: number): number;
  flush(): number;
  localPort(id: number): number;
  layout: NativeLayout;
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));
const EADDRINUSE = osConstants.errno.EADDRINUSE;

let addon: NativeAddon | null | undefined;
let addonError = '';

/** Loads dpbx_udp_io.node (once per thread); null when it is not built or does not load (`nativeIoStatus()` says why). */
export function loadNativeIo(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const here = dirname(fileURLToPath(import.meta.url));
  const explicit = process.env.DPBX_RELAY_IO_ADDON;
  const candidates = explicit
    ? [explicit]
    : [join(here, '..', 'native', 'build', 'dpbx_udp_io.node'), join(here, '..', '..', '..', 'media', 'native', 'build', 'dpbx_udp_io.node')];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    addonError = 'media/native/build/dpbx_udp_io.node not built (sh scripts/build-relay-native.sh)';
    return null;
  }
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    addonError = `cannot load ${file}: ${(err as Error).message}`;
  }
  return addon;
}

export function nativeIoStatus(): string {
  return loadNativeIo() ? 'loaded' : addonError;
}

class NativeEndpoint implements UdpEndpoint {
  private closed = false;
  constructor(private readonly io: NativeIo, readonly id: number, readonly port: number) {}
  send(buf: Buffer, len: number, to: NetAddr): void {
    this.io.enqueue(this.id, buf, len, to);
  }
  setPeer(): void {
    /* sends carry their destination: nothing to connect */
  }
  get sendErrors(): number {
    return this.closed ? 0 : this.io.errs[this.id]!;
  }
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.io.release(this.id);
    }
    return Promise.resolve();
  }
}

export class NativeIo implements UdpIo {
  readonly mode = 'native';
  readonly transientBuffers = true;
  private readonly n: NativeAddon;
  private readonly handlers: (PacketHandler | undefined)[] = [];
  private readonly inAb: ArrayBuffer;
  private readonly inMeta: Int32Array;
  private readonly outU8: Uint8Array;
  private readonly outMeta: Int32Array;
  private readonly ctl: Int32Array;
  readonly errs: Uint32Array;
  private readonly slots: Buffer[] = [];
  private readonly src = new NetAddr();
  private readonly L: NativeLayout;
  private inDispatch = false;
  /** Packets delivered to handlers and JS entries (wake-ups with packets): packets per entry = batching. */
  packets = 0;
  batches = 0;

  constructor(n: NativeAddon) {
    this.n = n;
    this.L = n.layout;
    const sh = n.init((count) => this.onPackets(count));
    this.inAb = sh.in;
    this.inMeta = new Int32Array(sh.inMeta);
    this.outU8 = new Uint8Array(sh.out);
    this.outMeta = new Int32Array(sh.outMeta);
    this.ctl = new Int32Array(sh.ctl);
    this.errs = new Uint32Array(sh.errs);
    for (let i = 0; i < this.L.IN_SLOTS; i++) this.slots.push(Buffer.from(this.inAb, i * this.L.SLOT, this.L.SLOT));
  }

  open(o: OpenOptions): Promise<UdpEndpoint> {
    const fam = o.address.includes(':') ? 6 : 4;
    const id = this.n.open(o.address, o.port, fam, o.bufferBytes ?? 0);
    if (id < 0) {
      if (-id === EADDRINUSE) return Promise.reject(busyError(o.port));
      return Promise.reject(new RelayError('DPBX_ERR_RELAY_BIND', `bind ${o.address}:${o.port}: ${errnoNames.get(-id) ?? `errno ${-id}`}`));
    }
    this.handlers[id] = o.handler;
    const port = o.port === 0 ? this.n.localPort(id) : o.port;
    return Promise.resolve(new NativeEndpoint(this, id, port));
  }

  release(id: number): void {
    this.handlers[id] = undefined;
    this.n.close(id);
  }

  /** One call per wake-up: `count` datagrams of any sockets are in the arena, described by inMeta. */
  private onPackets(count: number): void {
    const meta = this.inMeta;
    const stride = this.L.IN_STRIDE;
    const src = this.src;
    const slots = this.slots;
    let failure: unknown = null;
    this.inDispatch = true;
    this.batches++;
    this.packets += count;
    for (let i = 0; i < count; i++) {
      const m = i * stride;
      const h = this.handlers[meta[m]!];
      if (h === undefined) continue; // closed while its packets were queued
      src.setWords(meta[m + 3]!, meta[m + 4]!, meta[m + 5]!, meta[m + 6]!, meta[m + 7]!, meta[m + 2]!);
      try {
        h(slots[i]!, meta[m + 1]!, src);
      } catch (err) {
        failure ??= err;
      }
    }
    this.inDispatch = false;
    if (failure !== null) throw failure; // like an exception in a 'message' listener (after the others ran)
  }

  enqueue(id: number, buf: Buffer, len: number, to: NetAddr): void {
    const L = this.L;
    if (len <= 0 || len > L.SLOT || to.fam === 0) {
      this.errs[id]!++;
      return;
    }
    const ctl = this.ctl;
    let n = ctl[0]!;
    if (n >= L.OUT_SLOTS) {
      this.n.flush();
      n = 0;
    }
    const om = this.outMeta;
    const m = n * L.OUT_STRIDE;
    om[m] = id;
    if (this.inDispatch && buf.buffer === this.inAb) {
      // the received packet itself (rewritten in place): sent from the arena, no copy
      om[m + 1] = 0;
      om[m + 2] = buf.byteOffset;
    } else {
      this.outU8.set(len === buf.length ? buf : buf.subarray(0, len), n * L.SLOT);
      om[m + 1] = 1;
      om[m + 2] = n * L.SLOT;
    }
    om[m + 3] = len;
    om[m + 4] = to.port;
    om[m + 5] = to.fam;
    om[m + 6] = to.w0;
    om[m + 7] = to.w1;
    om[m + 8] = to.w2;
    om[m + 9] = to.w3;
    ctl[0] = n + 1;
    if (!this.inDispatch) this.n.flush(); // timer-driven (playout, generated RTCP): out at once
  }
}

// ---------------------------------------------------------------------------------------------------------------
// node:dgram
// ---------------------------------------------------------------------------------------------------------------

/**
 * node:dgram resolves the destination of every unconnected send through `lookup` (default dns.lookup, which
 * answers IP literals on the next tick: one closure and one tick per packet). The relay only sends to IP
 * literals (latched sources, SDP addresses), so they are answered synchronously; a hostname still goes to DNS.
 */
function literalLookup(host: string, opts: number | LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(host);
  if (family !== 0) cb(null, host, family);
  else dnsLookup(host, typeof opts === 'number' ? { family: opts } : opts, cb);
}

function bindDgram(address: string, port: number, bufferBytes: number | undefined, reuseAddr = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', reuseAddr, lookup: literalLookup });
    const onError = (err: NodeJS.ErrnoException) => {
      sock.close();
      reject(err.code === 'EADDRINUSE' ? busyError(port) : new RelayError('DPBX_ERR_RELAY_BIND', `bind ${address}:${port}: ${err.message}`));
    };
    sock.once('error', onError);
    sock.bind({ port, address, exclusive: true }, () => {
      sock.off('error', onError);
      if (bufferBytes) {
        try {
          sock.setRecvBufferSize(bufferBytes);
          sock.setSendBufferSize(bufferBytes);
        } catch {
          /* capped by the OS: keep its default */
        }
      }
      resolve(sock);
    });
  });
}

function closeDgram(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * node:dgram endpoint. An RTP port is held by two sockets, both with SO_REUSEADDR: `rx` (never connected) and
 * `tx`, `connect()`ed to the latched peer: sends to it then need no address lookup or parsing and no route lookup
 * in the kernel, and the kernel hands the peer's datagrams to `tx` (a connected socket outranks the unconnected
 * one) and everybody else's to `rx`; both feed the same handler, so strangers are still seen.
 */
export class DgramEndpoint implements UdpEndpoint {
  /** Address and port `tx` is connected to (null: not connected, sends leave `rx` with an address). */
  txAddress: string | null = null;
  txPort = 0;
  private errors = 0;
  private readonly src = new NetAddr();

  constructor(readonly rx: Socket, readonly tx: Socket | null, readonly port: number, handler: PacketHandler) {
    const src = this.src;
    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
      // the text is compared first: a source that keeps sending is not parsed again
      if (src.fam === 0 || rinfo.address !== src.address) src.set(rinfo.address, rinfo.port);
      else src.port = rinfo.port;
      handler(msg, msg.length, src);
    };
    const onError = (): void => {
      this.errors++;
    };
    rx.on('message', onMessage);
    rx.on('error', onError);
    tx?.on('message', onMessage);
    tx?.on('error', onError);
  }

  get sendErrors(): number {
    return this.errors;
  }

  private readonly onConnect = (err?: Error | null): void => {
    if (err) this.errors++;
  };

  send(buf: Buffer, len: number, to: NetAddr): void {
    // Hot path: no completion callback (node:dgram would queue a nextTick per packet for it) and no offset/length
    // form (it slices a new Buffer view); asynchronous errors reach the 'error' listener (counted).
    const data = len === buf.length ? buf : buf.subarray(0, len);
    if (this.txAddress !== null && to.port === this.txPort && to.address === this.txAddress) this.tx!.send(data);
    else this.rx.send(data, to.port, to.address);
  }

  /**
   * Keeps `tx` connected to the latched peer; null disconnects (before latching, after an SDP move until the new
   * source is heard, on hold: we never connect to an address that has not sent us anything, a connected socket
   * would surface its ICMP errors).
   */
  setPeer(to: NetAddr | null): void {
    const tx = this.tx;
    if (tx === null) return;
    if (to !== null && this.txAddress === to.address && this.txPort === to.port) return;
    if (this.txAddress !== null) {
      this.txAddress = null;
      try {
        tx.disconnect();
      } catch {
        /* was not connected */
      }
    }
    if (to === null) return;
    try {
      // synchronous for an IP literal (the socket's lookup answers literals at once); anything else stays unconnected
      tx.connect(to.port, to.address, this.onConnect);
      tx.remoteAddress();
    } catch {
      return;
    }
    this.txAddress = to.address;
    this.txPort = to.port;
  }

  async close(): Promise<void> {
    await closeDgram(this.rx);
    if (this.tx) await closeDgram(this.tx);
  }
}

export class DgramIo implements UdpIo {
  readonly mode = 'dgram';
  readonly transientBuffers = false;

  async open(o: OpenOptions): Promise<UdpEndpoint> {
    if (!o.rtp) return new DgramEndpoint(await bindDgram(o.address, o.port, o.bufferBytes), null, o.port, o.handler);
    // Both sockets of the pair need SO_REUSEADDR, which would also let us share a port another process holds with
    // SO_REUSEADDR; so the port is first bound once without it: that probe fails (EADDRINUSE → busy) whenever
    // anyone else has the port.
    const probe = await bindDgram(o.address, o.port, undefined);
    const port = o.port === 0 ? probe.address().port : o.port;
    await closeDgram(probe);
    const rx = await bindDgram(o.address, port, o.bufferBytes, true);
    try {
      return new DgramEndpoint(rx, await bindDgram(o.address, port, o.bufferBytes, true), port, o.handler);
    } catch (err) {
      await closeDgram(rx);
      throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// selection
// ---------------------------------------------------------------------------------------------------------------

let nativeIo: NativeIo | undefined;
let dgramIo: DgramIo | undefined;

/**
 * The I/O of this thread. `mode` (else env DPBX_RELAY_IO): 'dgram' forces node:dgram; 'native' or unset uses the
 * addon when it loads, else node:dgram. One native context per thread, shared by every session of the thread.
 */
export function getUdpIo(mode: string | undefined = process.env.DPBX_RELAY_IO): UdpIo {
  if (mode !== 'dgram') {
    const n = loadNativeIo();
    if (n) return (nativeIo ??= new NativeIo(n));
  }
  return (dgramIo ??= new DgramIo());
}

/**
 * Which I/O the relay will use, and the one warning line to log when it is node:dgram (forced, or the addon
 * is missing).
 */
export function resolveIoMode(mode: string | undefined = process.env.DPBX_RELAY_IO): { mode: UdpIoMode; warning: string | null } {
  if (mode === 'dgram') return { mode: 'dgram', warning: 'media relay: DPBX_RELAY_IO=dgram, using node:dgram (more CPU per packet)' };
  if (loadNativeIo()) return { mode: 'native', warning: null };
  return { mode: 'dgram', warning: `media relay: native UDP I/O unavailable (${addonError}), using node:dgram (more CPU per packet)` };
}
