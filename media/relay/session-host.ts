/**
 * Owns the MediaSessions of one worker (or of the main thread when workers = 0) and executes control requests.
 * Requests and replies are plain data so the same host serves both the in-process and the worker transport.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { MediaSession, type SessionContext } from './media-session.js';
import { RelayError } from './errors.js';
import { realClock, type PlayClock } from '../play/index.js';
import { getUdpIo, type UdpIoMode } from './udp-io.js';
import type { CreateTranscoder, LegOptions, LegUpdate, PlayOptions, RelayLogger, SessionEvents } from './types.js';

export interface HostConfig {
  bindAddress: string;
  advertisedAddress: string;
  transcoder: string | undefined;
  mediaTimeoutMs: number;
  /** Generated RTCP interval (ms); 0 disables generation. */
  rtcpIntervalMs: number;
  mediaPath: string | undefined;
  socketBufferBytes: number | undefined;
  /** Load the transcoder plugin when the host starts, not at the first transcoded bridge. */
  preloadTranscoder?: boolean;
  /** UDP I/O of this host's thread (resolved once on the main thread: `resolveIoMode`). Default: env / addon. */
  io?: UdpIoMode;
}

export type HostRequest =
  | { op: 'createSession'; sessionId: string }
  | { op: 'closeSession'; sessionId: string }
  | { op: 'addLeg'; sessionId: string; leg: LegOptions; port: number }
  | { op: 'updateLeg'; sessionId: string; legId: string; update: LegUpdate }
  | { op: 'removeLeg'; sessionId: string; legId: string }
  | { op: 'link'; sessionId: string; from: string; to: string }
  | { op: 'unlink'; sessionId: string; from: string; to: string }
  | { op: 'play'; sessionId: string; legId: string; options: PlayOptions }
  | { op: 'stopPlay'; sessionId: string; legId: string }
  | { op: 'stats'; sessionId: string }
  | { op: 'hostStats' }
  | { op: 'shutdown' };

export interface HostEvent {
  sessionId: string;
  name: keyof SessionEvents;
  data: SessionEvents[keyof SessionEvents];
}

/** Resolves a plugin module specifier: absolute paths become file: URLs; URLs pass through. */
export function pluginUrl(spec: string): string {
  return isAbsolute(spec) ? pathToFileURL(spec).href : spec;
}

export class SessionHost {
  private readonly sessions = new Map<string, MediaSession>();
  private readonly ctx: SessionContext;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private factory: Promise<CreateTranscoder | null> | undefined;

  constructor(private readonly config: HostConfig, emit: (e: HostEvent) => void, logger?: RelayLogger, clock: PlayClock = realClock) {
    this.ctx = {
      bindAddress: config.bindAddress,
      advertisedAddress: config.advertisedAddress,
      mediaPath: config.mediaPath,
      socketBufferBytes: config.socketBufferBytes,
      transcoderFactory: () => (this.factory ??= this.loadFactory()),
      emit: (sessionId, name, data) => emit({ sessionId, name, data }),
      logger,
      clock,
      rtcpIntervalMs: config.rtcpIntervalMs,
      io: getUdpIo(config.io),
    };
    if (config.preloadTranscoder && config.transcoder) {
      // The first transcoded call must not start with the plugin's load time (wasm compile, libopus) as silence.
      this.factory = this.loadFactory();
      this.factory.catch((err: unknown) => logger?.warn({ err: String(err) }, 'transcoder plugin preload failed'));
    }
    // one sweep timer per host (not per session): media timeouts and generated RTCP
    if (config.mediaTimeoutMs > 0 || config.rtcpIntervalMs > 0) {
      let every = 1000;
      if (config.mediaTimeoutMs > 0) every = Math.min(every, config.mediaTimeoutMs / 4);
      if (config.rtcpIntervalMs > 0) every = Math.min(every, config.rtcpIntervalMs / 4);
      this.timer = setInterval(() => this.sweep(performance.now()), Math.max(25, every));
      this.timer.unref();
    }
  }

  /** Periodic work of every session: dead-media detection and generated RTCP. */
  sweep(nowMs: number): void {
    for (const s of this.sessions.values()) {
      if (this.config.mediaTimeoutMs > 0) s.checkTimeouts(nowMs, this.config.mediaTimeoutMs);
      if (this.config.rtcpIntervalMs > 0) s.rtcpTick(nowMs);
    }
  }

  private async loadFactory(): Promise<CreateTranscoder | null> {
    if (!this.config.transcoder) return null;
    let mod: { createTranscoder?: CreateTranscoder; default?: CreateTranscoder };
    try {
      mod = await import(pluginUrl(this.config.transcoder));
    } catch (err) {
      this.factory = undefined; // retry on the next attempt
      throw new RelayError('DPBX_ERR_RELAY_TRANSCODER', `cannot load transcoder plugin: ${(err as Error).message}`);
    }
    const f = mod.createTranscoder ?? mod.default;
    if (typeof f !== 'function') throw new RelayError('DPBX_ERR_RELAY_TRANSCODER', 'transcoder plugin exports no createTranscoder()');
    return f;
  }

  private session(id: string): MediaSession {
    const s = this.sessions.get(id);
    if (!s) throw new RelayError('DPBX_ERR_RELAY_SESSION_NOT_FOUND', `no media session ${id}`);
    return s;
  }

  async handle(req: HostRequest): Promise<unknown> {
    switch (req.op) {
      case 'createSession':
        if (this.sessions.has(req.sessionId)) throw new RelayError('DPBX_ERR_RELAY_SESSION_EXISTS', `session ${req.sessionId} exists`);
        this.sessions.set(req.sessionId, new MediaSession(req.sessionId, this.ctx));
        return null;
      case 'closeSession': {
        const s = this.sessions.get(req.sessionId);
        if (!s) return [];
        this.sessions.delete(req.sessionId);
        return s.close();
      }
      case 'addLeg':
        return this.session(req.sessionId).addLeg(req.leg, req.port);
      case 'updateLeg':
        return this.session(req.sessionId).updateLeg(req.legId, req.update);
      case 'removeLeg':
        return this.session(req.sessionId).removeLeg(req.legId);
      case 'link':
        return this.session(req.sessionId).link(req.from, req.to);
      case 'unlink':
        return this.session(req.sessionId).unlink(req.from, req.to);
      case 'play':
        return this.session(req.sessionId).play(req.legId, req.options);
      case 'stopPlay':
        return this.session(req.sessionId).stopPlay(req.legId);
      case 'stats':
        return this.session(req.sessionId).stats();
      case 'hostStats': {
        let legs = 0;
        for (const s of this.sessions.values()) legs += s.legs.size;
        return { sessions: this.sessions.size, legs, memory: process.memoryUsage().heapUsed };
      }
      case 'shutdown': {
        if (this.timer) clearInterval(this.timer);
        const ports: number[] = [];
        for (const [id, s] of this.sessions) {
          this.sessions.delete(id);
          ports.push(...(await s.close()));
        }
        return ports;
      }
    }
  }
}
