/**
 * Main-thread control API of the media relay. Sessions are spread over a worker_threads pool (least-loaded
 * worker); each control call is an async message to the session's worker. With `workers: 0` the same host runs
 * in-process (tests). Port pairs are allocated here (one pool for all workers) and bound by the worker.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { PortPool } from './port-pool.js';
import { RelayError, fromWireError, toWireError, type WireError } from './errors.js';
import { SessionHost, type HostConfig, type HostEvent, type HostRequest } from './session-host.js';
import { resolveIoMode, type UdpIoMode } from './udp-io.js';
import type {
  LegInfo, LegOptions, LegUpdate, PlayOptions, RelayLogger, RelayOptions, SessionEvents, SessionStats,
} from './types.js';

const BIND_RETRIES = 32;

/** Defaults in one place (env names are the contract: RTP_PORT_MIN / RTP_PORT_MAX / MEDIA_PATH). */
export function resolveRelayOptions(o: RelayOptions = {}, env: NodeJS.ProcessEnv = process.env) {
  const int = (v: string | undefined) => (v !== undefined && v !== '' ? Number(v) : undefined);
  const bindAddress = o.bindAddress ?? '0.0.0.0';
  const resolved = {
    rtpPortMin: o.rtpPortMin ?? int(env.RTP_PORT_MIN) ?? 10000,
    rtpPortMax: o.rtpPortMax ?? int(env.RTP_PORT_MAX) ?? 20000,
    bindAddress,
    advertisedAddress: o.advertisedAddress ?? (bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress === '::' ? '::1' : bindAddress),
    workers: o.workers ?? availableParallelism(),
    transcoder: o.transcoder,
    mediaTimeoutMs: o.mediaTimeoutMs ?? 60000,
    rtcpIntervalMs: o.rtcpIntervalMs ?? 5000,
    mediaPath: o.mediaPath ?? (env.MEDIA_PATH || undefined),
    socketBufferBytes: o.socketBufferBytes,
    preloadTranscoder: o.preloadTranscoder ?? false,
    logger: o.logger,
  };
  if (!Number.isInteger(resolved.workers) || resolved.workers < 0) {
    throw new RelayError('DPBX_ERR_RELAY_OPTIONS', `workers must be an integer ≥ 0 (got ${resolved.workers})`);
  }
  if (!(resolved.mediaTimeoutMs >= 0)) throw new RelayError('DPBX_ERR_RELAY_OPTIONS', 'mediaTimeoutMs must be ≥ 0');
  if (!(resolved.rtcpIntervalMs >= 0)) throw new RelayError('DPBX_ERR_RELAY_OPTIONS', 'rtcpIntervalMs must be ≥ 0');
  return resolved;
}

type Listener<T> = (data: T) => void;

let ioWarned = false;

/** Transport to one SessionHost (worker or in-process). */
interface HostChannel {
  request(req: HostRequest): Promise<unknown>;
  sessions: number;
  close(): Promise<void>;
}

class InProcessChannel implements HostChannel {
  sessions = 0;
  private readonly host: SessionHost;
  constructor(config: HostConfig, onEvent: (e: HostEvent) => void, logger?: RelayLogger) {
    // events are delivered asynchronously, as from a worker, so listeners never run inside the packet path
    this.host = new SessionHost(config, (e) => queueMicrotask(() => onEvent(e)), logger);
  }
  async request(req: HostRequest): Promise<unknown> {
    try {
      return await this.host.handle(req);
    } catch (err) {
      throw fromWireError(toWireError(err));
    }
  }
  async close(): Promise<void> {
    await this.host.handle({ op: 'shutdown' });
  }
}

/** worker → main: a reply or an event; several may come as `{ batch: [...] }` (worker.ts). */
type WorkerReply = { id?: number; ok?: boolean; result?: unknown; error?: WireError; event?: HostEvent };

class WorkerChannel implements HostChannel {
  sessions = 0;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private outbox: Array<{ id: number; req: HostRequest }> = [];
  private dead: Error | null = null;

  constructor(config: HostConfig, onEvent: (e: HostEvent) => void, logger?: RelayLogger) {
    const here = import.meta.url;
    if (here.endsWith('.ts')) {
      // running from sources under tsx (development): workers do not inherit the loader, register it first
      const api = import.meta.resolve('tsx/esm/api');
      const entry = new URL('./worker.ts', here).href;
      this.worker = new Worker(
        `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
        { eval: true, workerData: config },
      );
    } else {
      this.worker = new Worker(new URL('./worker.js', here), { workerData: config });
    }
    const onMessage = (msg: WorkerReply) => {
      if (msg.event) {
        onEvent(msg.event);
        return;
      }
      const p = this.pending.get(msg.id!);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.ok) p.resolve(msg.result);
      else p.reject(fromWireError(msg.error!));
    };
    this.worker.on('message', (msg: WorkerReply | { batch: WorkerReply[] }) => {
      if ('batch' in msg) for (const m of msg.batch) onMessage(m);
      else onMessage(msg);
    });
    const fail = (err: Error) => {
      this.dead = err;
      logger?.error({ err: err.message }, 'media relay worker failed');
      for (const p of this.pending.values()) p.reject(new RelayError('DPBX_ERR_RELAY_WORKER', err.message));
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (!this.dead) fail(new Error(`worker exited with code ${code}`));
    });
    this.worker.unref();
  }

  request(req: HostRequest): Promise<unknown> {
    if (this.dead) return Promise.reject(new RelayError('DPBX_ERR_RELAY_WORKER', this.dead.message));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // an idle worker does not keep the process alive, but one with a request in flight must
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      // Requests made in the same event-loop turn (many calls under load) share one postMessage: a structured-clone
      // message and a worker wake-up cost about as much as a SIP datagram send (bench/call-rate.js profile).
      if (this.outbox.push({ id, req }) === 1) setImmediate(this.flush);
    });
  }

  private readonly flush = (): void => {
    const out = this.outbox;
    this.outbox = [];
    if (out.length === 1) this.worker.postMessage(out[0]);
    else this.worker.postMessage({ batch: out });
  };

  async close(): Promise<void> {
    if (!this.dead) {
      try {
        await this.request({ op: 'shutdown' });
      } catch {
        /* already gone */
      }
    }
    this.dead ??= new Error('relay closed');
    await this.worker.terminate();
  }
}

/** Handle of one call's media session (lives in a worker). */
export class MediaSessionHandle {
  readonly id: string;
  private readonly listeners = new Map<keyof SessionEvents, Set<Listener<never>>>();
  private readonly ports = new Map<string, number>();
  private closed = false;

  /** @internal */
  constructor(id: string, private readonly relay: Relay, private readonly channel: HostChannel) {
    this.id = id;
  }

  on<K extends keyof SessionEvents>(name: K, fn: Listener<SessionEvents[K]>): this {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn as Listener<never>);
    return this;
  }

  off<K extends keyof SessionEvents>(name: K, fn: Listener<SessionEvents[K]>): this {
    this.listeners.get(name)?.delete(fn as Listener<never>);
    return this;
  }

  /** @internal */
  dispatch(e: HostEvent): void {
    const set = this.listeners.get(e.name);
    if (!set) return;
    for (const fn of set) {
      try {
        (fn as Listener<unknown>)(e.data);
      } catch (err) {
        // a buggy listener must not break the call
        this.relay.logger?.error({ err: (err as Error).message, event: e.name, session: this.id }, 'relay listener threw');
      }
    }
  }

  private req(req: HostRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new RelayError('DPBX_ERR_RELAY_CLOSED', `session ${this.id} is closed`));
    return this.channel.request(req);
  }

  /** Allocates a port pair and binds it in the worker; fails with DPBX_ERR_PORTS_EXHAUSTED when the range is full. */
  async addLeg(leg: LegOptions): Promise<LegInfo> {
    if (this.closed) throw new RelayError('DPBX_ERR_RELAY_CLOSED', `session ${this.id} is closed`);
    if (!leg || typeof leg.id !== 'string' || !Array.isArray(leg.codecs)) {
      throw new RelayError('DPBX_ERR_RELAY_OPTIONS', 'leg needs an id and a codecs array');
    }
    for (let attempt = 0; ; attempt++) {
      const port = this.relay.pool.allocate();
      try {
        const info = (await this.req({ op: 'addLeg', sessionId: this.id, leg, port })) as LegInfo;
        this.ports.set(leg.id, port);
        return info;
      } catch (err) {
        const busy = err instanceof RelayError && err.code === 'DPBX_ERR_RELAY_BIND' && /in use/.test(err.message);
        if (busy && attempt < BIND_RETRIES) {
          this.relay.pool.quarantine(port);
          continue;
        }
        this.relay.pool.release(port);
        throw err;
      }
    }
  }

  async updateLeg(legId: string, update: LegUpdate): Promise<void> {
    await this.req({ op: 'updateLeg', sessionId: this.id, legId, update });
  }

  async removeLeg(legId: string): Promise<void> {
    const port = (await this.req({ op: 'removeLeg', sessionId: this.id, legId })) as number;
    this.ports.delete(legId);
    this.relay.pool.release(port);
  }

  /** Media from `from` goes to `to` (one direction). */
  async link(from: string, to: string): Promise<void> {
    await this.req({ op: 'link', sessionId: this.id, from, to });
  }

  async unlink(from: string, to: string): Promise<void> {
    await this.req({ op: 'unlink', sessionId: this.id, from, to });
  }

  /** Both directions between a and b. */
  async bridge(a: string, b: string): Promise<void> {
    await this.link(a, b);
    await this.link(b, a);
  }

  /** Plays an announcement / ringback into a leg; resolves when playback starts (with the media duration). */
  async play(legId: string, options: PlayOptions): Promise<{ durationMs: number }> {
    return (await this.req({ op: 'play', sessionId: this.id, legId, options })) as { durationMs: number };
  }

  async stopPlay(legId: string): Promise<void> {
    await this.req({ op: 'stopPlay', sessionId: this.id, legId });
  }

  async stats(): Promise<SessionStats> {
    return (await this.req({ op: 'stats', sessionId: this.id })) as SessionStats;
  }

  /** Closes every leg and releases its ports. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.channel.request({ op: 'closeSession', sessionId: this.id });
    } finally {
      for (const port of this.ports.values()) this.relay.pool.release(port);
      this.ports.clear();
      this.channel.sessions--;
      this.relay.forget(this.id);
    }
  }
}

export class Relay {
  readonly options: ReturnType<typeof resolveRelayOptions>;
  /** @internal */
  readonly pool: PortPool;
  readonly logger: RelayLogger | undefined;
  private readonly channels: HostChannel[] = [];
  private readonly sessions = new Map<string, MediaSessionHandle>();
  private closed = false;
  /** UDP I/O of the workers: 'native' (batched, media/native/udp_io.c) or 'dgram' (fallback, DPBX_RELAY_IO=dgram). */
  readonly ioMode: UdpIoMode;

  /** Use createRelay(). */
  constructor(options: RelayOptions = {}) {
    this.options = resolveRelayOptions(options);
    this.logger = this.options.logger;
    this.pool = new PortPool(this.options.rtpPortMin, this.options.rtpPortMax);
    const io = resolveIoMode();
    this.ioMode = io.mode;
    if (io.warning !== null && !ioWarned) {
      ioWarned = true; // one line per process
      if (this.logger) this.logger.warn({ io: io.mode }, io.warning);
      else process.emitWarning(io.warning);
    }
    const config: HostConfig = {
      bindAddress: this.options.bindAddress,
      advertisedAddress: this.options.advertisedAddress,
      transcoder: this.options.transcoder,
      mediaTimeoutMs: this.options.mediaTimeoutMs,
      rtcpIntervalMs: this.options.rtcpIntervalMs,
      mediaPath: this.options.mediaPath,
      socketBufferBytes: this.options.socketBufferBytes,
      preloadTranscoder: this.options.preloadTranscoder,
      io: this.ioMode,
    };
    const onEvent = (e: HostEvent) => this.sessions.get(e.sessionId)?.dispatch(e);
    if (this.options.workers === 0) this.channels.push(new InProcessChannel(config, onEvent, this.logger));
    else for (let i = 0; i < this.options.workers; i++) this.channels.push(new WorkerChannel(config, onEvent, this.logger));
  }

  /** Port pairs in use / total. */
  get ports(): { allocated: number; capacity: number; free: number } {
    return { allocated: this.pool.allocated, capacity: this.pool.capacity, free: this.pool.free };
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async createSession(id: string = randomUUID()): Promise<MediaSessionHandle> {
    if (this.closed) throw new RelayError('DPBX_ERR_RELAY_CLOSED', 'relay is closed');
    if (this.sessions.has(id)) throw new RelayError('DPBX_ERR_RELAY_SESSION_EXISTS', `session ${id} exists`);
    let channel = this.channels[0]!;
    for (const c of this.channels) if (c.sessions < channel.sessions) channel = c;
    const handle = new MediaSessionHandle(id, this, channel);
    this.sessions.set(id, handle);
    channel.sessions++;
    try {
      await channel.request({ op: 'createSession', sessionId: id });
    } catch (err) {
      this.sessions.delete(id);
      channel.sessions--;
      throw err;
    }
    return handle;
  }

  getSession(id: string): MediaSessionHandle | undefined {
    return this.sessions.get(id);
  }

  /** @internal */
  forget(id: string): void {
    this.sessions.delete(id);
  }

  /** Per-worker figures (sessions, legs, heap bytes). */
  async workerStats(): Promise<{ sessions: number; legs: number; memory: number }[]> {
    return (await Promise.all(this.channels.map((c) => c.request({ op: 'hostStats' })))) as {
      sessions: number; legs: number; memory: number;
    }[];
  }

  /** Closes every session and stops the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.sessions.values()].map((s) => s.close().catch(() => undefined)));
    await Promise.all(this.channels.map((c) => c.close()));
  }
}

/** Creates the relay (spawns the worker pool). */
export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  return new Relay(options);
}
