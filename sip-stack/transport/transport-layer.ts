/**
 * The SIP transport layer (RFC 3261 §18): UDP (IPv4 and IPv6), TCP and TLS listeners, a connection table with
 * flow reuse, Via stamping on receipt, error responses to bad requests, keep-alives, idle timeout, counters.
 *
 * Sockets are thin adapters; SIP knowledge comes from sip-stack/message through ./message-adapter.ts.
 * Nothing thrown by the network input or by a listener of the layer above escapes this class.
 */
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { createServer as createTcpServer, connect as tcpConnect, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { addressFamily, flowKey, normalizeAddress } from './address.js';
import { systemClock, type TransportClock } from './clock.js';
import { createCounters, type DropReason, type TransportCounters } from './counters.js';
import { TransportError } from './errors.js';
import {
  createStreamFramer,
  errorResponseFor,
  isRequest,
  looksLikeResponse,
  parseDatagram,
  parseOptions,
  serializeMessage,
  stampTopVia,
  type SipLimitsOption,
  type SipMessage,
  type StreamFramerAdapter,
  type StreamItem,
} from './message-adapter.js';
import type { ParseOptions } from '../message/index.js';
import { StreamConnection, type CloseReason, type StreamConnectionDelegate, type StreamTransport } from './stream-connection.js';
import { TypedEmitter } from './typed-emitter.js';
import { silentLogger, type MessageSource, type SendTarget, type TransportLogger, type TransportProtocol } from './types.js';

/** RFC 3261 §18.1.1: above this size a request must not go over UDP (the layer above switches to TCP). */
export const UDP_MTU_LIMIT = 1300;

/** True when a message of `size` bytes is too large for UDP by RFC 3261 §18.1.1 (`limit` default 1300). */
export function mtuExceeded(size: number | Buffer, limit = UDP_MTU_LIMIT): boolean {
  return (typeof size === 'number' ? size : size.length) > limit;
}

export interface TlsListenOptions {
  /** PEM certificate chain and private key (strings or Buffers). */
  cert: string | Buffer;
  key: string | Buffer;
  /** Optional CA(s) to verify client certificates when `requestCert` is set. */
  ca?: string | Buffer | Array<string | Buffer>;
  requestCert?: boolean;
  /** Reject clients without a valid certificate (only with requestCert). Default false. */
  rejectUnauthorized?: boolean;
  /** TLS handshake must finish within this many ms. Default 10 000. */
  handshakeTimeoutMs?: number;
}

export interface ListenOptions {
  transport: TransportProtocol;
  /** Address to bind: '0.0.0.0', '::', '127.0.0.1', '::1', ... Default '0.0.0.0'. UDP family follows it. */
  host?: string;
  /** Port; 0 lets the OS choose (read it from `listeners` after listen()). Default 5060 (5061 for TLS). */
  port?: number;
  /** TLS listeners only: certificate and key. */
  tls?: TlsListenOptions;
}

export interface TlsClientOptions {
  /** CAs trusted for outbound TLS (default: Node's bundled roots). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server certificate. Default true. */
  rejectUnauthorized?: boolean;
  /** Client certificate for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** SNI / verification name; default the target address when it is a host name. */
  servername?: string;
}

export interface TransportLayerOptions {
  listen?: ListenOptions[];
  /** Outbound TLS settings. */
  tlsClient?: TlsClientOptions;
  /** Close a TCP/TLS connection unused for this long. Default 300 000 (5 min). 0 disables. */
  idleTimeoutMs?: number;
  /** How often the idle sweep runs. Default min(idleTimeoutMs / 4, 30 000), at least 100. */
  idleSweepIntervalMs?: number;
  /** Outbound TCP connect (+ TLS handshake) timeout. Default 10 000. */
  connectTimeoutMs?: number;
  /** Unsent bytes allowed per connection before further writes are refused (back-pressure). Default 1 MiB. */
  maxWriteQueueBytes?: number;
  /** Accepted connections per stream listener. Default 10 000. */
  maxConnections?: number;
  /**
   * Receive buffer asked for each UDP socket (SO_RCVBUF; Linux caps it at net.core.rmem_max). Default 4 MiB: with
   * the kernel's default (~208 KiB) a busy moment of the main thread (a GC, a burst of work) overflowed it at
   * 800 calls/s and the datagrams dropped came back as retransmissions 500 ms later.
   */
  udpReceiveBufferBytes?: number;
  /** Limits handed to the message parser / stream framer (see sip-stack/message). */
  limits?: SipLimitsOption;
  /**
   * Check every known header of a received message at the edge (the message layer's strict mode), so a
   * malformed one is answered 400 here. Default true.
   */
  strictParsing?: boolean;
  /** Size limit used by mtuExceeded()-style checks of the layer above. Default 1300. */
  mtu?: number;
  /** Stamp `received` / `rport` into the top Via of received requests. Default true. */
  stampVia?: boolean;
  /** Answer malformed-but-readable requests with 400/413/414/505/513. Default true. */
  answerBadRequests?: boolean;
  clock?: TransportClock;
  logger?: TransportLogger;
  /** Shortcut for layer.on('message', fn). */
  onMessage?: (message: SipMessage, source: MessageSource) => void;
}

/** A bound listener, readable after listen() resolves. */
export interface BoundListener {
  transport: TransportProtocol;
  address: string;
  port: number;
  family: 4 | 6;
  /** UDP: the socket's receive buffer as the kernel reports it (Linux: twice what was granted). */
  receiveBufferBytes?: number;
}

/** Public view of a TCP/TLS connection. */
export interface ConnectionInfo {
  id: string;
  transport: StreamTransport;
  direction: 'inbound' | 'outbound';
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

export type SendResult =
  | { ok: true; transport: TransportProtocol; localAddress: string; localPort: number; connectionId?: string }
  | { ok: false; error: TransportError };

export interface TransportEvents {
  /** A parsed message (requests already Via-stamped) and where it came from. */
  message: [message: SipMessage, source: MessageSource];
  /** A TCP/TLS connection was accepted or (outbound) established. */
  connection: [info: ConnectionInfo];
  /** A TCP/TLS connection closed. */
  connectionClose: [info: ConnectionInfo, reason: CloseReason];
  /** Something was dropped (also counted in counters.drops). */
  drop: [reason: DropReason, detail: { source?: MessageSource; error?: Error }];
}

interface UdpListener {
  kind: 'udp';
  socket: UdpSocket;
  bound: BoundListener;
}

interface StreamListener {
  kind: 'stream';
  transport: StreamTransport;
  server: TcpServer | TlsServer;
  bound: BoundListener;
}

const CRLF = Buffer.from('\r\n');
const DEFAULTS = {
  idleTimeoutMs: 300_000,
  connectTimeoutMs: 10_000,
  maxWriteQueueBytes: 1024 * 1024,
  maxConnections: 10_000,
  handshakeTimeoutMs: 10_000,
  udpReceiveBufferBytes: 4 * 1024 * 1024,
};

export class TransportLayer extends TypedEmitter<TransportEvents> {
  /** Counters for metrics; plain numbers, read them at any time. */
  readonly counters: TransportCounters = createCounters();
  readonly mtu: number;

  private readonly opts: TransportLayerOptions;
  private readonly clock: TransportClock;
  private readonly log: TransportLogger;
  private readonly idleTimeoutMs: number;
  private readonly idleSweepIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxWriteQueueBytes: number;
  private readonly stampVia: boolean;
  private readonly answerBadRequests: boolean;
  private readonly parseOpts: ParseOptions;

  private readonly udp: UdpListener[] = [];
  private readonly streams: StreamListener[] = [];
  private readonly connections = new Map<string, StreamConnection>();
  private readonly flows = new Map<string, StreamConnection>();
  private readonly delegate: StreamConnectionDelegate;
  private nextConnectionId = 1;
  private sweepTimer: unknown = undefined;
  private listening: Promise<BoundListener[]> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: TransportLayerOptions = {}) {
    super((event, err) => this.listenerFailed(event, err));
    this.opts = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.idleTimeoutMs = nonNegative('idleTimeoutMs', options.idleTimeoutMs, DEFAULTS.idleTimeoutMs);
    this.idleSweepIntervalMs = nonNegative(
      'idleSweepIntervalMs',
      options.idleSweepIntervalMs,
      Math.max(100, Math.min(this.idleTimeoutMs / 4, 30_000)),
    );
    this.connectTimeoutMs = nonNegative('connectTimeoutMs', options.connectTimeoutMs, DEFAULTS.connectTimeoutMs);
    this.maxWriteQueueBytes = nonNegative('maxWriteQueueBytes', options.maxWriteQueueBytes, DEFAULTS.maxWriteQueueBytes);
    this.mtu = nonNegative('mtu', options.mtu, UDP_MTU_LIMIT);
    this.stampVia = options.stampVia ?? true;
    this.answerBadRequests = options.answerBadRequests ?? true;
    this.parseOpts = parseOptions(options.limits, options.strictParsing ?? true);
    for (const l of options.listen ?? []) validateListen(l);
    if (options.onMessage) this.on('message', options.onMessage);
    this.delegate = {
      onConnected: (conn) => this.connectionUp(conn),
      onData: (conn, chunk) => this.streamData(conn, chunk),
      onClosed: (conn, reason, err) => this.connectionDown(conn, reason, err),
    };
  }

  /** Bound listeners (after listen() resolved). */
  get listeners(): BoundListener[] {
    return [...this.udp.map((u) => u.bound), ...this.streams.map((s) => s.bound)];
  }

  /** The first bound listener of a transport (and family, when given). */
  listener(transport: TransportProtocol, family?: 4 | 6): BoundListener | undefined {
    return this.listeners.find((l) => l.transport === transport && (family === undefined || l.family === family));
  }

  /** Open connections (a snapshot). */
  get connectionList(): ConnectionInfo[] {
    return [...this.connections.values()].map(info);
  }

  /** True when `size` (or a Buffer) exceeds this layer's UDP size limit (RFC 3261 §18.1.1). */
  mtuExceeded(size: number | Buffer): boolean {
    return mtuExceeded(size, this.mtu);
  }

  /** Binds every configured listener. Idempotent. Rejects with DPBX_ERR_TRANSPORT_LISTEN (all closed again). */
  listen(): Promise<BoundListener[]> {
    if (this.closing) return Promise.reject(new TransportError('DPBX_ERR_TRANSPORT_CLOSED', 'transport layer is closed'));
    this.listening ??= this.bindAll();
    return this.listening;
  }

  private async bindAll(): Promise<BoundListener[]> {
    try {
      for (const l of this.opts.listen ?? []) {
        if (l.transport === 'udp') await this.bindUdp(l);
        else await this.bindStream(l);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    this.armSweep();
    return this.listeners;
  }

  private bindUdp(l: ListenOptions): Promise<void> {
    const host = l.host ?? '0.0.0.0';
    const family = addressFamily(host) === 6 ? 6 : 4;
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, reuseAddr: false });
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        socket.close();
        reject(new TransportError('DPBX_ERR_TRANSPORT_LISTEN', `cannot bind udp ${host}:${l.port ?? 5060}: ${err.message}`, err));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port: l.port ?? 5060, exclusive: true }, () => {
        socket.off('error', onError);
        const a = socket.address();
        const bound: BoundListener = { transport: 'udp', address: normalizeAddress(a.address), port: a.port, family };
        const listener: UdpListener = { kind: 'udp', socket, bound };
        socket.on('error', (err) => this.log.warn({ err: err.message, listener: bound }, 'udp socket error'));
        socket.on('message', (buf, rinfo) => this.datagram(listener, buf, rinfo));
        this.udp.push(listener);
        bound.receiveBufferBytes = this.growReceiveBuffer(socket, bound);
        this.log.info({ listener: bound }, 'listening');
        resolve();
      });
    });
  }

  /**
   * Ask for the configured UDP receive buffer; returns the size the kernel reports (0 when it cannot be read). A
   * kernel that grants less (Linux caps SO_RCVBUF at net.core.rmem_max) gets one warning naming the setting.
   */
  private growReceiveBuffer(socket: UdpSocket, bound: BoundListener): number {
    const want = this.opts.udpReceiveBufferBytes ?? DEFAULTS.udpReceiveBufferBytes;
    try {
      if (want > 0 && socket.getRecvBufferSize() < want) socket.setRecvBufferSize(want);
      const got = socket.getRecvBufferSize();
      if (got < want) {
        this.log.warn({ listener: bound, want, got },
          'udp receive buffer smaller than asked (raise net.core.rmem_max): bursts may drop datagrams');
      }
      return got;
    } catch (err) {
      this.log.warn({ err: asError(err).message, want }, 'udp receive buffer not enlarged');
      return 0;
    }
  }

  private bindStream(l: ListenOptions): Promise<void> {
    const transport = l.transport as StreamTransport;
    const host = l.host ?? '0.0.0.0';
    const port = l.port ?? (transport === 'tls' ? 5061 : 5060);
    let server: TcpServer | TlsServer;
    if (transport === 'tls') {
      const t = l.tls!;
      const tlsServer = createTlsServer({
        cert: t.cert,
        key: t.key,
        ca: t.ca,
        requestCert: t.requestCert ?? false,
        rejectUnauthorized: t.rejectUnauthorized ?? false,
        handshakeTimeout: t.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
      });
      tlsServer.on('secureConnection', (sock: TLSSocket) => this.accept('tls', sock));
      tlsServer.on('tlsClientError', (err) => {
        this.counters.tlsHandshakeFailures++;
        this.log.debug({ err: err.message }, 'tls handshake failed');
      });
      server = tlsServer;
    } else {
      server = createTcpServer((sock) => this.accept('tcp', sock));
    }
    server.maxConnections = this.opts.maxConnections ?? DEFAULTS.maxConnections;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        server.close();
        reject(new TransportError('DPBX_ERR_TRANSPORT_LISTEN', `cannot listen ${transport} ${host}:${port}: ${err.message}`, err));
      };
      server.once('error', onError);
      server.listen({ host, port, ipv6Only: addressFamily(host) === 6, exclusive: true }, () => {
        server.off('error', onError);
        const a = server.address();
        const addr = typeof a === 'object' && a ? a : { address: host, port };
        const bound: BoundListener = {
          transport,
          address: normalizeAddress(addr.address),
          port: addr.port,
          family: addressFamily(addr.address) === 6 ? 6 : 4,
        };
        server.on('error', (err) => this.log.warn({ err: err.message, listener: bound }, 'listener error'));
        this.streams.push({ kind: 'stream', transport, server, bound });
        this.log.info({ listener: bound }, 'listening');
        resolve();
      });
    });
  }

  // ---------------------------------------------------------------- receive: UDP

  private datagram(listener: UdpListener, buf: Buffer, rinfo: RemoteInfo): void {
    if (this.closing) return;
    this.counters.datagramsReceived++;
    this.counters.bytesReceived += buf.length;
    // A datagram of bare CRLFs is a keep-alive some UAs send over UDP: ignore (RFC 5626 uses STUN on UDP).
    if (isAllCrlf(buf)) {
      this.counters.keepAlivePongs++;
      return;
    }
    const source: MessageSource = {
      transport: 'udp',
      address: normalizeAddress(rinfo.address),
      port: rinfo.port,
      localAddress: listener.bound.address,
      localPort: listener.bound.port,
    };
    let result: ReturnType<typeof parseDatagram>;
    try {
      result = parseDatagram(buf, this.parseOpts);
    } catch (err) {
      // The message layer promises never to throw anything but SipParseError; belt and braces.
      this.counters.parseErrors++;
      this.dropped('unparseable', { source, error: asError(err) });
      return;
    }
    if (result.ok) {
      this.deliver(result.message, source);
      return;
    }
    this.counters.parseErrors++;
    const response = this.answerBadRequests ? errorResponseFor(result.error) : undefined;
    if (response) {
      this.log.debug({ source, status: result.error.status, reason: result.error.reason }, 'bad request answered');
      this.sendUdpRaw(listener, response, source.address, source.port, true);
      return;
    }
    this.dropped(looksLikeResponse(buf) ? 'bad-response' : 'unparseable', { source, error: result.error });
  }

  private sendUdpRaw(listener: UdpListener, buf: Buffer, address: string, port: number, isErrorResponse: boolean): void {
    this.counters.sent++;
    this.counters.bytesSent += buf.length;
    if (isErrorResponse) this.counters.errorResponsesSent++;
    try {
      listener.socket.send(buf, port, address, (err) => {
        if (err) this.dropped('send-error', { error: err });
      });
    } catch (err) {
      this.dropped('send-error', { error: asError(err) });
    }
  }

  // ---------------------------------------------------------------- receive: common

  private deliver(message: SipMessage, source: MessageSource): void {
    if (isRequest(message)) {
      if (this.stampVia && !stampTopVia(message, source)) {
        // A request without a (readable) Via cannot be answered: RFC 3261 §8.1.1.7 makes Via mandatory.
        this.dropped('no-via', { source });
        return;
      }
      this.counters.receivedRequests++;
    } else {
      this.counters.receivedResponses++;
    }
    this.counters.received++;
    this.emit('message', message, source);
  }

  // ---------------------------------------------------------------- receive: TCP/TLS

  private accept(transport: StreamTransport, socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {}); // replaced by StreamConnection's handler; no crash window
    const conn = new StreamConnection({
      id: `${transport}-${this.nextConnectionId++}`,
      transport,
      direction: 'inbound',
      socket,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      clock: this.clock,
      delegate: this.delegate,
      maxWriteQueueBytes: this.maxWriteQueueBytes,
    });
    this.counters.connectionsAccepted++;
    this.register(conn);
    this.connectionUp(conn);
  }

  private register(conn: StreamConnection): void {
    this.connections.set(conn.id, conn);
    this.counters.connectionsActive = this.connections.size;
    this.addFlow(conn, flowKey(conn.transport, conn.remoteAddress, conn.remotePort));
    conn.framer = createStreamFramer(this.parseOpts);
  }

  private addFlow(conn: StreamConnection, key: string): void {
    if (conn.flowKeys.includes(key)) return;
    conn.flowKeys.push(key);
    this.flows.set(key, conn);
  }

  private connectionUp(conn: StreamConnection): void {
    if (conn.direction === 'outbound') {
      // Now that we know the peer's IP, the flow is reachable under it too (the target may have been a name).
      this.addFlow(conn, flowKey(conn.transport, conn.remoteAddress, conn.remotePort));
    }
    this.log.debug({ connection: info(conn) }, 'connection up');
    this.emit('connection', info(conn));
  }

  private connectionDown(conn: StreamConnection, reason: CloseReason, err: Error | undefined): void {
    if (this.connections.get(conn.id) === conn) this.connections.delete(conn.id);
    for (const k of conn.flowKeys) if (this.flows.get(k) === conn) this.flows.delete(k);
    this.counters.connectionsClosed++;
    this.counters.connectionsActive = this.connections.size;
    if (reason === 'idle-timeout') this.counters.connectionsIdleClosed++;
    if (reason === 'connect-failed' || reason === 'connect-timeout') this.counters.connectFailures++;
    this.log.debug({ connection: info(conn), reason, err: err?.message }, 'connection closed');
    this.emit('connectionClose', info(conn), reason);
  }

  private streamData(conn: StreamConnection, chunk: Buffer): void {
    if (this.closing) return;
    this.counters.bytesReceived += chunk.length;
    const framer = conn.framer as StreamFramerAdapter;
    try {
      framer.push(chunk, (item) => this.streamItem(conn, item));
    } catch (err) {
      // Not expected from the framer; whatever it is, this connection's byte stream can no longer be trusted.
      this.dropped('frame-error', { error: asError(err) });
      conn.destroy('frame-error', asError(err));
    }
  }

  /** Returns false to stop the framer (connection being closed). */
  private streamItem(conn: StreamConnection, item: StreamItem): boolean {
    if (conn.state === 'closed') return false;
    switch (item.kind) {
      case 'message': {
        const source = sourceOf(conn);
        this.deliver(item.message, source);
        return !conn.isClosed();
      }
      case 'ping':
        // RFC 5626 §4.4.1: a CRLFCRLF "ping" is answered with a single CRLF "pong".
        this.counters.keepAlivePings++;
        conn.write(CRLF);
        return true;
      case 'pong':
        this.counters.keepAlivePongs++;
        return true;
      case 'error': {
        const error = item.error;
        this.counters.parseErrors++;
        const response = this.answerBadRequests ? errorResponseFor(error) : undefined;
        if (response) {
          this.counters.sent++;
          this.counters.bytesSent += response.length;
          this.counters.errorResponsesSent++;
        }
        if (item.fatal) {
          // Framing lost (header section / Content-Length over the limit, no Content-Length, ...): answer if we
          // can, then close — the rest of the byte stream has no boundaries we could trust.
          const reason = item.limit ? 'frame-limit' : 'frame-error';
          this.dropped(reason, { source: sourceOf(conn), error });
          conn.endWith(response, reason);
          return false;
        }
        if (response) conn.write(response);
        else this.dropped('unparseable', { source: sourceOf(conn), error });
        return true;
      }
    }
  }

  // ---------------------------------------------------------------- send

  /**
   * Sends a message (serialised with the message layer's toBuffer) or raw bytes. Never throws and never
   * rejects: the promise resolves with `{ok: false, error}` on failure (also counted as a drop).
   * TCP/TLS: reuses target.connectionId when open, else the flow transport+address+port, else connects.
   */
  send(message: SipMessage | Buffer, target: SendTarget): Promise<SendResult> {
    if (this.closing) return Promise.resolve(this.fail('closed', new TransportError('DPBX_ERR_TRANSPORT_CLOSED', 'transport layer is closed')));
    let buf: Buffer;
    try {
      buf = Buffer.isBuffer(message) ? message : serializeMessage(message);
    } catch (err) {
      return Promise.resolve(this.fail('send-error', new TransportError('DPBX_ERR_TRANSPORT_SEND', `cannot serialise message: ${asError(err).message}`, err)));
    }
    if (target.transport === 'udp') return this.sendUdp(buf, target);
    if (target.transport === 'tcp' || target.transport === 'tls') return this.sendStream(buf, target);
    return Promise.resolve(this.fail('send-error', new TransportError('DPBX_ERR_TRANSPORT_OPTIONS', `unknown transport ${String(target.transport)}`)));
  }

  private sendUdp(buf: Buffer, target: SendTarget): Promise<SendResult> {
    const family = addressFamily(target.address);
    const listener = this.udp.find((u) => u.bound.family === (family === 6 ? 6 : 4)) ?? (family === 0 ? this.udp[0] : undefined);
    if (!listener) {
      return Promise.resolve(this.fail('no-connection', new TransportError('DPBX_ERR_TRANSPORT_NO_LISTENER', `no UDP listener for IPv${family || 4} to send to ${target.address}`)));
    }
    const address = normalizeAddress(target.address);
    return new Promise<SendResult>((resolve) => {
      try {
        listener.socket.send(buf, target.port, address, (err) => {
          if (err) {
            resolve(this.fail('send-error', new TransportError('DPBX_ERR_TRANSPORT_SEND', `udp send to ${address}:${target.port} failed: ${err.message}`, err)));
            return;
          }
          this.counters.sent++;
          this.counters.bytesSent += buf.length;
          resolve({ ok: true, transport: 'udp', localAddress: listener.bound.address, localPort: listener.bound.port });
        });
      } catch (err) {
        resolve(this.fail('send-error', new TransportError('DPBX_ERR_TRANSPORT_SEND', `udp send to ${address}:${target.port} failed: ${asError(err).message}`, err)));
      }
    });
  }

  private sendStream(buf: Buffer, target: SendTarget): Promise<SendResult> {
    const transport = target.transport as StreamTransport;
    let conn: StreamConnection | undefined;
    if (target.connectionId !== undefined) {
      const c = this.connections.get(target.connectionId);
      if (c && c.state !== 'closed' && c.transport === transport) conn = c;
    }
    if (!conn) {
      const c = this.flows.get(flowKey(transport, target.address, target.port));
      if (c && c.state !== 'closed') conn = c;
    }
    if (!conn) {
      if (target.noConnect) {
        return Promise.resolve(this.fail('no-connection', new TransportError('DPBX_ERR_TRANSPORT_NO_CONNECTION', `no ${transport} connection to ${target.address}:${target.port}${target.connectionId ? ` (${target.connectionId} is gone)` : ''}`)));
      }
      const opened = this.open(transport, target);
      if (!opened.ok) return Promise.resolve(opened.result);
      conn = opened.conn;
    }
    const c = conn;
    return new Promise<SendResult>((resolve) => {
      c.write(buf, (r) => {
        if (!r.ok) {
          const reason: DropReason = r.error!.code === 'DPBX_ERR_TRANSPORT_BACKPRESSURE' ? 'write-queue-full' : r.error!.code === 'DPBX_ERR_TRANSPORT_SEND' ? 'send-error' : 'no-connection';
          resolve(this.fail(reason, r.error!));
          return;
        }
        this.counters.sent++;
        this.counters.bytesSent += buf.length;
        resolve({ ok: true, transport, localAddress: c.localAddress, localPort: c.localPort, connectionId: c.id });
      });
    });
  }

  private open(transport: StreamTransport, target: SendTarget): { ok: true; conn: StreamConnection } | { ok: false; result: SendResult } {
    const host = normalizeAddress(target.address);
    let socket: Socket;
    try {
      if (transport === 'tls') {
        const c = this.opts.tlsClient ?? {};
        const servername = c.servername ?? (addressFamily(host) === 0 ? host : undefined);
        socket = tlsConnect({
          host,
          port: target.port,
          ca: c.ca,
          cert: c.cert,
          key: c.key,
          rejectUnauthorized: c.rejectUnauthorized ?? true,
          ...(servername ? { servername } : {}),
        });
      } else {
        socket = tcpConnect({ host, port: target.port });
      }
    } catch (err) {
      this.counters.connectFailures++;
      return { ok: false, result: this.fail('no-connection', new TransportError('DPBX_ERR_TRANSPORT_CONNECT', `cannot connect ${transport} ${host}:${target.port}: ${asError(err).message}`, err)) };
    }
    socket.on('error', () => {}); // StreamConnection records the error; this only closes the crash window
    const conn = new StreamConnection({
      id: `${transport}-${this.nextConnectionId++}`,
      transport,
      direction: 'outbound',
      socket,
      remoteAddress: host,
      remotePort: target.port,
      clock: this.clock,
      delegate: this.delegate,
      maxWriteQueueBytes: this.maxWriteQueueBytes,
      connectTimeoutMs: this.connectTimeoutMs,
      readyEvent: transport === 'tls' ? 'secureConnect' : 'connect',
    });
    this.counters.connectionsOpened++;
    this.register(conn);
    return { ok: true, conn };
  }

  /** Closes one connection by id (e.g. when a registration using it expires). */
  closeConnection(id: string): boolean {
    const c = this.connections.get(id);
    if (!c) return false;
    c.destroy('local-close');
    return true;
  }

  // ---------------------------------------------------------------- idle sweep

  private armSweep(): void {
    if (this.idleTimeoutMs <= 0 || this.closing) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweepIdle();
      this.armSweep();
    }, this.idleSweepIntervalMs);
  }

  /** Closes connections idle for idleTimeoutMs or longer. Runs periodically; callable directly. */
  sweepIdle(): number {
    if (this.idleTimeoutMs <= 0) return 0;
    const now = this.clock.now();
    let closed = 0;
    for (const c of [...this.connections.values()]) {
      if (c.state === 'open' && now - c.lastActivity >= this.idleTimeoutMs) {
        c.destroy('idle-timeout');
        closed++;
      }
    }
    return closed;
  }

  // ---------------------------------------------------------------- close

  /** Closes every listener and connection; releases all ports. Idempotent (returns the same promise). */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    if (this.sweepTimer !== undefined) {
      this.clock.clearTimeout(this.sweepTimer);
      this.sweepTimer = undefined;
    }
    for (const c of [...this.connections.values()]) c.destroy('transport-closed');
    const waits: Promise<void>[] = [];
    for (const u of this.udp.splice(0)) {
      waits.push(new Promise<void>((resolve) => {
        try {
          u.socket.close(() => resolve());
        } catch {
          resolve();
        }
      }));
    }
    for (const s of this.streams.splice(0)) {
      waits.push(new Promise<void>((resolve) => s.server.close(() => resolve())));
    }
    await Promise.all(waits);
  }

  // ---------------------------------------------------------------- helpers

  private fail(reason: DropReason, error: TransportError): SendResult {
    this.dropped(reason, { error });
    return { ok: false, error };
  }

  private dropped(reason: DropReason, detail: { source?: MessageSource; error?: Error }): void {
    this.counters.drops[reason]++;
    this.log.debug({ reason, source: detail.source, err: detail.error?.message }, 'dropped');
    if (reason !== 'listener-error') this.emit('drop', reason, detail);
  }

  private listenerFailed(event: string, err: unknown): void {
    this.counters.drops['listener-error']++;
    this.log.error({ event, err: asError(err).message }, 'transport listener threw');
  }
}

/** Factory: the way the layer above creates the transport. */
export function createTransportLayer(options: TransportLayerOptions = {}): TransportLayer {
  return new TransportLayer(options);
}

function info(c: StreamConnection): ConnectionInfo {
  return {
    id: c.id,
    transport: c.transport,
    direction: c.direction,
    remoteAddress: c.remoteAddress,
    remotePort: c.remotePort,
    localAddress: c.localAddress,
    localPort: c.localPort,
  };
}

function sourceOf(c: StreamConnection): MessageSource {
  return {
    transport: c.transport,
    address: c.remoteAddress,
    port: c.remotePort,
    localAddress: c.localAddress,
    localPort: c.localPort,
    connectionId: c.id,
  };
}

function isAllCrlf(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new TransportError('DPBX_ERR_TRANSPORT_OPTIONS', `option ${name} must be a non-negative number`);
  }
  return v;
}

function validateListen(l: ListenOptions): void {
  if (l.transport !== 'udp' && l.transport !== 'tcp' && l.transport !== 'tls') {
    throw new TransportError('DPBX_ERR_TRANSPORT_OPTIONS', `listen.transport must be udp, tcp or tls (got ${String(l.transport)})`);
  }
  if (l.port !== undefined && (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535)) {
    throw new TransportError('DPBX_ERR_TRANSPORT_OPTIONS', `listen.port must be an integer 0..65535 (got ${String(l.port)})`);
  }
  if (l.host !== undefined && addressFamily(l.host) === 0) {
    throw new TransportError('DPBX_ERR_TRANSPORT_OPTIONS', `listen.host must be an IP address (got ${l.host})`);
  }
  if (l.transport === 'tls' && (!l.tls || !l.tls.cert || !l.tls.key)) {
    throw new TransportError('DPBX_ERR_TRANSPORT_OPTIONS', 'a tls listener needs tls.cert and tls.key');
  }
}
