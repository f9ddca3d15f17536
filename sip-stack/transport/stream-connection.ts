/**
 * One TCP or TLS connection of the connection table: a thin adapter around a net/tls socket.
 *
 * - Outbound connections queue writes while connecting (bounded), flush on connect, fail them on error/timeout.
 * - Back-pressure: node buffers what `socket.write()` could not hand to the kernel (write() returns false); we
 *   let it, but only up to `maxWriteQueueBytes` of unsent data. Beyond that a write is refused (the layer drops
 *   and counts it) — a peer that stops reading cannot make us buffer without bound.
 * - `lastActivity` feeds the idle sweep of the layer (RFC 3261 §18: connections may be closed when unused).
 * - Reading and framing are done by the owner (TransportLayer) through the delegate; this class has no SIP
 *   knowledge.
 */
import type { Socket } from 'node:net';
import type { TransportClock } from './clock.js';
import { TransportError } from './errors.js';
import { normalizeAddress } from './address.js';

export type StreamTransport = 'tcp' | 'tls';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** Why a connection closed: stable strings reported in the `connectionClose` event. */
export type CloseReason =
  | 'remote-closed'
  | 'socket-error'
  | 'idle-timeout'
  | 'connect-failed'
  | 'connect-timeout'
  | 'frame-limit'
  | 'frame-error'
  | 'write-queue-full'
  | 'tls-handshake'
  | 'local-close'
  | 'transport-closed';

export interface StreamConnectionDelegate {
  onConnected(conn: StreamConnection): void;
  onData(conn: StreamConnection, chunk: Buffer): void;
  onClosed(conn: StreamConnection, reason: CloseReason, error: Error | undefined): void;
}

export interface WriteResult {
  ok: boolean;
  error?: TransportError;
}

interface PendingWrite {
  buf: Buffer;
  done: ((r: WriteResult) => void) | undefined;
}

export class StreamConnection {
  readonly id: string;
  readonly transport: StreamTransport;
  readonly direction: 'inbound' | 'outbound';
  /** Remote address (normalised) and port. For outbound connections: the target until connected. */
  remoteAddress: string;
  remotePort: number;
  localAddress = '';
  localPort = 0;
  state: ConnectionState;
  lastActivity: number;
  /** Owner's per-connection data (the stream framer). */
  framer: unknown = undefined;
  /** Flow keys under which the owner registered this connection (for removal on close). */
  readonly flowKeys: string[] = [];

  private readonly socket: Socket;
  private readonly clock: TransportClock;
  private readonly delegate: StreamConnectionDelegate;
  private readonly maxWriteQueueBytes: number;
  private pending: PendingWrite[] = [];
  private pendingBytes = 0;
  private connectTimer: unknown = undefined;
  private closeReason: CloseReason | undefined;
  /** endWith() was called: input is discarded until the socket closes. */
  private ending = false;
  private closeError: Error | undefined;

  constructor(args: {
    id: string;
    transport: StreamTransport;
    direction: 'inbound' | 'outbound';
    socket: Socket;
    remoteAddress: string;
    remotePort: number;
    clock: TransportClock;
    delegate: StreamConnectionDelegate;
    maxWriteQueueBytes: number;
    /** Outbound only: ms to wait for connect (and TLS handshake) before failing. */
    connectTimeoutMs?: number;
    /** Outbound only: the event that means "ready to write" ('connect' for TCP, 'secureConnect' for TLS). */
    readyEvent?: 'connect' | 'secureConnect';
  }) {
    this.id = args.id;
    this.transport = args.transport;
    this.direction = args.direction;
    this.socket = args.socket;
    this.clock = args.clock;
    this.delegate = args.delegate;
    this.maxWriteQueueBytes = args.maxWriteQueueBytes;
    this.remoteAddress = normalizeAddress(args.remoteAddress);
    this.remotePort = args.remotePort;
    this.lastActivity = this.clock.now();

    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => {
      if (this.state === 'closed' || this.ending) return;
      this.lastActivity = this.clock.now();
      this.delegate.onData(this, chunk);
    });
    s.on('error', (err: Error) => {
      // 'close' follows; remember why.
      if (this.closeReason === undefined) {
        this.closeReason = this.state === 'connecting' ? 'connect-failed' : 'socket-error';
        this.closeError = err;
      }
    });
    s.on('end', () => {
      // Peer half-closed: we have nothing more to say on a SIP flow either.
      if (this.closeReason === undefined) this.closeReason = 'remote-closed';
      s.end();
    });
    s.on('close', () => this.finish());

    if (args.direction === 'outbound') {
      this.state = 'connecting';
      s.once(args.readyEvent ?? 'connect', () => this.onReady());
      const ms = args.connectTimeoutMs ?? 0;
      if (ms > 0) {
        this.connectTimer = this.clock.setTimeout(() => {
          this.connectTimer = undefined;
          if (this.state === 'connecting') {
            this.destroy('connect-timeout', new TransportError('DPBX_ERR_TRANSPORT_CONNECT_TIMEOUT', `connect to ${this.remoteAddress}:${this.remotePort} timed out after ${ms} ms`));
          }
        }, ms);
      }
    } else {
      this.state = 'open';
      this.captureAddresses();
    }
  }

  /** True once closed (a method, so TypeScript does not keep a narrowed state across calls). */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Unsent bytes (our connect queue + node's socket buffer). */
  get queuedBytes(): number {
    return this.pendingBytes + (this.state === 'closed' ? 0 : this.socket.writableLength);
  }

  /**
   * Queue `buf` for sending. `done` (optional) is called once: ok when the bytes were handed to the kernel, or
   * with the error. Returns false (and calls done with BACKPRESSURE) when the queue bound would be exceeded.
   */
  write(buf: Buffer, done?: (r: WriteResult) => void): boolean {
    if (this.state === 'closed') {
      done?.({ ok: false, error: new TransportError('DPBX_ERR_TRANSPORT_NO_CONNECTION', `connection ${this.id} is closed`) });
      return false;
    }
    if (this.queuedBytes + buf.length > this.maxWriteQueueBytes) {
      done?.({ ok: false, error: new TransportError('DPBX_ERR_TRANSPORT_BACKPRESSURE', `connection ${this.id}: write queue full (${this.queuedBytes} bytes unsent)`) });
      return false;
    }
    this.lastActivity = this.clock.now();
    if (this.state === 'connecting') {
      this.pending.push({ buf, done });
      this.pendingBytes += buf.length;
      return true;
    }
    this.writeNow(buf, done);
    return true;
  }

  /**
   * Writes `buf` then closes gracefully (FIN after the data): used after an error response. Without `buf` the
   * connection is destroyed at once. Further input is discarded while the peer finishes.
   */
  endWith(buf: Buffer | undefined, reason: CloseReason): void {
    if (this.state === 'closed' || this.ending) return;
    if (!buf || this.state === 'connecting') {
      this.destroy(reason);
      return;
    }
    if (this.closeReason === undefined) this.closeReason = reason;
    this.ending = true;
    this.socket.end(buf);
    // A peer that never closes its side would keep the socket half-open forever: bound it.
    const h = this.clock.setTimeout(() => this.socket.destroy(), 2000);
    this.socket.once('close', () => this.clock.clearTimeout(h));
  }

  /** Closes immediately (pending writes fail). Idempotent. */
  destroy(reason: CloseReason, err?: Error): void {
    if (this.state === 'closed') return;
    if (this.closeReason === undefined) {
      this.closeReason = reason;
      this.closeError = err;
    }
    this.socket.destroy();
    // 'close' is asynchronous; finish now so the table is consistent synchronously.
    this.finish();
  }

  private writeNow(buf: Buffer, done: ((r: WriteResult) => void) | undefined): void {
    if (done) {
      this.socket.write(buf, (err) => {
        if (err) done({ ok: false, error: new TransportError('DPBX_ERR_TRANSPORT_SEND', `write on ${this.id} failed: ${err.message}`, err) });
        else done({ ok: true });
      });
    } else {
      this.socket.write(buf);
    }
  }

  private onReady(): void {
    if (this.state !== 'connecting') return;
    if (this.connectTimer !== undefined) {
      this.clock.clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
    this.state = 'open';
    this.lastActivity = this.clock.now();
    this.captureAddresses();
    const queue = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const p of queue) this.writeNow(p.buf, p.done);
    this.delegate.onConnected(this);
  }

  private captureAddresses(): void {
    const s = this.socket;
    if (s.remoteAddress) this.remoteAddress = normalizeAddress(s.remoteAddress);
    if (s.remotePort) this.remotePort = s.remotePort;
    this.localAddress = s.localAddress ? normalizeAddress(s.localAddress) : '';
    this.localPort = s.localPort ?? 0;
  }

  private finish(): void {
    if (this.state === 'closed') return;
    const wasConnecting = this.state === 'connecting';
    this.state = 'closed';
    if (this.connectTimer !== undefined) {
      this.clock.clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
    const reason = this.closeReason ?? (wasConnecting ? 'connect-failed' : 'remote-closed');
    const err = this.closeError;
    if (this.pending.length > 0) {
      const failure = new TransportError(
        reason === 'connect-timeout' ? 'DPBX_ERR_TRANSPORT_CONNECT_TIMEOUT' : 'DPBX_ERR_TRANSPORT_CONNECT',
        `connection ${this.id} to ${this.remoteAddress}:${this.remotePort} failed (${reason}${err ? ': ' + err.message : ''})`,
        err,
      );
      const queue = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      for (const p of queue) p.done?.({ ok: false, error: failure });
    }
    this.delegate.onClosed(this, reason, err);
  }
}
