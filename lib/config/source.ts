/**
 * ConfigSource: the one interface every backend (json, api, pg, static) implements. The PBX calls `get()` when
 * it needs the config, `reload()` on SIGHUP / POST /reload, and listens for `change`.
 *
 * Rules shared by all backends (implemented once here):
 *  - the first `load()` failing throws a typed error (ConfigValidationError or ConfigError DPBX_ERR_CONFIG_LOAD);
 *  - a later reload that fails keeps the last good config, emits `error`, logs a warning, counts it, and
 *    resolves `{ok: false, error}` — reload() never rejects;
 *  - `change` fires only when the content really changed.
 */
import { ConfigError } from './errors.js';
import type { Config } from './types.js';

/** Structurally compatible with pino. */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};
export const silentLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export type ReloadResult = { ok: true; config: Config; changed: boolean } | { ok: false; error: Error; config: Config | undefined };

export interface ConfigSourceEvents {
  change: (config: Config) => void;
  error: (error: Error) => void;
}

export interface ConfigCounters {
  loads: number;
  loadFailures: number;
  changes: number;
}

export interface ConfigSource {
  readonly kind: 'json' | 'api' | 'pg' | 'static';
  /** First load (or the current config when already loaded). Rejects with a typed error when nothing loads. */
  load(): Promise<Config>;
  /** The config to use now. The api backend refreshes here when older than CONFIG_TTL (stale is served on failure). */
  get(): Promise<Config>;
  /** The last good config, synchronously (undefined before the first load). */
  current(): Config | undefined;
  /** Re-reads the source now. Never rejects. */
  reload(): Promise<ReloadResult>;
  on<E extends keyof ConfigSourceEvents>(event: E, listener: ConfigSourceEvents[E]): () => void;
  readonly counters: Readonly<ConfigCounters>;
  /** Stops timers and connections. Idempotent. */
  close(): Promise<void>;
}

export interface Fetched {
  config: Config;
  /** Equal fingerprints = same content (no `change` event). */
  fingerprint: string;
}

export abstract class BaseConfigSource implements ConfigSource {
  abstract readonly kind: ConfigSource['kind'];
  readonly counters: ConfigCounters = { loads: 0, loadFailures: 0, changes: 0 };
  protected readonly logger: Logger;
  protected closed = false;
  private last: Fetched | undefined;
  private inflight: Promise<ReloadResult> | undefined;
  private queued: Promise<ReloadResult> | undefined;
  private readonly listeners = { change: new Set<ConfigSourceEvents['change']>(), error: new Set<ConfigSourceEvents['error']>() };

  constructor(logger: Logger | undefined) {
    this.logger = logger ?? silentLogger;
  }

  /** Reads and normalises the source; throws on any failure (message must hold no secret). */
  protected abstract fetch(): Promise<Fetched>;

  current(): Config | undefined {
    return this.last?.config;
  }

  async load(): Promise<Config> {
    if (this.last) return this.last.config;
    const r = await this.reload();
    if (r.ok) return r.config;
    throw r.error;
  }

  async get(): Promise<Config> {
    return this.last ? this.last.config : this.load();
  }

  reload(): Promise<ReloadResult> {
    if (this.closed) {
      return Promise.resolve({ ok: false, error: new ConfigError('DPBX_ERR_CONFIG_CLOSED', `${this.kind} config source is closed`), config: this.current() });
    }
    // A reload asked for while one runs must see changes made before the ask: queue one more read after the
    // running one (several asks while it runs share that one queued read).
    if (this.inflight) {
      this.queued ??= this.inflight.then(() => {
        this.queued = undefined;
        return this.reload();
      });
      return this.queued;
    }
    this.inflight = this.doReload().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async doReload(): Promise<ReloadResult> {
    try {
      const f = await this.fetch();
      this.counters.loads++;
      const changed = this.last !== undefined && this.last.fingerprint !== f.fingerprint;
      const first = this.last === undefined;
      if (first || changed) this.last = f;
      if (changed) {
        this.counters.changes++;
        this.logger.info({ source: this.kind }, 'config changed');
        this.emit('change', f.config);
      }
      return { ok: true, config: this.last!.config, changed };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.counters.loadFailures++;
      this.logger.warn(
        { source: this.kind, code: (error as { code?: string }).code, err: error.message, keptLastGood: this.last !== undefined },
        this.last ? 'config reload failed, keeping last good config' : 'config load failed',
      );
      this.emit('error', error);
      return { ok: false, error, config: this.current() };
    }
  }

  on<E extends keyof ConfigSourceEvents>(event: E, listener: ConfigSourceEvents[E]): () => void {
    const set = this.listeners[event] as Set<ConfigSourceEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  protected emit<E extends keyof ConfigSourceEvents>(event: E, arg: Parameters<ConfigSourceEvents[E]>[0]): void {
    for (const l of this.listeners[event]) {
      try {
        (l as (a: typeof arg) => void)(arg);
      } catch (err) {
        // A buggy listener must not break config handling.
        this.logger.error({ source: this.kind, err: (err as Error)?.message }, 'config listener threw');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
