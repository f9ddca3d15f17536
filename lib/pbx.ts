/**
 * createPbx(options): the ownership root `Pbx → Call → Leg → MediaSession`. It wires the config source, the
 * registration store, the SIP endpoint, the registrar, the call engine, the media relay and the management API.
 *
 * Options are the environment variables of SPEC §1 in camelCase (lib/options.ts holds the defaults, in one
 * place); a library user may also pass an in-process `config` object whose hooks are functions.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ApiServer, type ApiBackend } from './api/index.js';
import { createConfigSource, findDomain, redactConfig, type Config, type ConfigSource, type ReloadResult } from './config/index.js';
import { createLogger, silentLogger, type Logger } from './log.js';
import { MetricsRegistry } from './metrics.js';
import { optionsFromEnv, OptionsError, type PbxOptions } from './options.js';
import { Registrar } from './registrar/index.js';
import { createRegistrationStore, type RegistrationStore } from './state/index.js';
import { HookClient, StatusHookQueue } from './hooks/index.js';
import { VERSION } from './version.js';
import { PbxRouter, PBX_METHODS, PBX_OPTION_TAGS } from './b2bua/router.js';
import { CallBinding } from './b2bua/call-binding.js';
import { TrunkRegistrations } from './trunks/index.js';
import { DigestServer, UserAgent, type ListenOptions, type SipMessageAny } from '../sip-stack/index.js';
import { createRelay, type Relay } from '../media/relay/index.js';
import { CallEngine, type LadderEntry } from './call/index.js';
import { logCodecStatus } from '../codecs/index.js';

/**
 * How long start() waits for a shared store (Redis) before it listens for SIP: a PBX that took traffic before its
 * store connected would answer the first REGISTERs 503.
 */
const STORE_READY_MS = 5000;

export interface CreatePbxOptions extends Partial<PbxOptions> {
  /** An in-process config (the SPEC §2 model; hooks may be functions). Wins over dataSource/configFile. */
  config?: unknown;
  /** A pino-compatible logger. Default: a JSON logger at `logLevel` for the binary, silent for the library. */
  logger?: Logger;
  /** Start the management HTTP API. Default true. */
  api?: boolean;
}

export interface PbxAddresses {
  sip: { transport: string; address: string; port: number }[];
  api?: { address: string; port: number };
}

/** The option set: defaults of SPEC §1 (as if no variable were set), then the caller's overrides, validated. */
export function resolvePbxOptions(overrides: Partial<PbxOptions> = {}, cwd = process.cwd()): PbxOptions {
  const base = optionsFromEnv({}, cwd).options;
  const merged: PbxOptions = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  if (merged.rtpPortMax - merged.rtpPortMin < 3) throw new OptionsError('rtpPortMax', 'must be at least rtpPortMin + 3');
  if (merged.registrationMaxSecs < merged.registrationMinSecs) {
    throw new OptionsError('registrationMaxSecs', 'must not be below registrationMinSecs');
  }
  if (merged.dataSource === 'api' && !merged.configUrl) throw new OptionsError('configUrl', 'is required when dataSource is api');
  if (merged.dataSource === 'pg' && !merged.databaseUrl) throw new OptionsError('databaseUrl', 'is required when dataSource is pg');
  return merged;
}

/** Env-shaped view of the options for the config layer's factory (its contract is the env var names). */
function configEnv(o: PbxOptions): Record<string, string | undefined> {
  return {
    DATA_SOURCE: o.dataSource,
    CONFIG_FILE: o.configFile,
    CONFIG_URL: o.configUrl,
    CONFIG_TOKEN: o.configToken,
    CONFIG_TTL: String(o.configTtl),
    DATABASE_URL: o.databaseUrl,
    FILE_PATH: o.filePath,
    DEFAULT_CODECS: o.defaultCodecs.join(','),
  };
}

/** How long POST /shutdown and SIGTERM wait for live calls before ending them. */
export const SHUTDOWN_DRAIN_MS = 30_000;

export class Pbx {
  readonly options: PbxOptions;
  readonly logger: Logger;
  readonly metrics = new MetricsRegistry();
  readonly config: ConfigSource;
  readonly store: RegistrationStore;
  readonly hooks: HookClient;
  readonly registrar: Registrar;
  readonly router: PbxRouter;
  private ua: UserAgent | undefined;
  private relay: Relay | undefined;
  readonly engine: CallEngine;
  readonly status: StatusHookQueue;
  private binding: CallBinding | undefined;
  private trunks: TrunkRegistrations | undefined;
  private offTrunks: (() => void) | undefined;
  private api: ApiServer | undefined;
  private state: 'new' | 'starting' | 'running' | 'draining' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;
  private readonly wantApi: boolean;
  private readonly stoppedListeners: Array<() => void> = [];

  /** Use createPbx(). */
  constructor(opts: CreatePbxOptions = {}) {
    const { config, logger, api, ...overrides } = opts;
    this.options = resolvePbxOptions(overrides);
    this.logger = logger ?? silentLogger;
    this.wantApi = api !== false;
    this.config = createConfigSource({ env: configEnv(this.options), config, logger: this.logger.child({ ns: 'config' }) });
    this.metrics.registerCounters('dpbx_config', 'config source', () => ({ ...this.config.counters }));
    this.store = createRegistrationStore({
      ...(this.options.redisUrl ? { redisUrl: this.options.redisUrl } : {}),
      logger: this.logger.child({ ns: 'state' }),
    });
    this.hooks = new HookClient({
      timeoutMs: this.options.hookTimeoutMs,
      filePath: this.options.filePath,
      logger: this.logger.child({ ns: 'hooks' }),
      ...(this.options.hookSecret ? { secret: this.options.hookSecret } : {}),
    });
    this.registrar = new Registrar({
      config: this.config,
      store: this.store,
      hooks: this.hooks,
      digest: new DigestServer({ algorithms: [...this.options.digestAlgorithms] }),
      minExpires: this.options.registrationMinSecs,
      maxExpires: this.options.registrationMaxSecs,
      logger: this.logger.child({ ns: 'registrar' }),
    });
    this.metrics.registerCounters('dpbx_registrar', 'registrar', () => ({ ...this.registrar.counters }));
    this.router = new PbxRouter({
      config: () => this.config.current(),
      registrar: this.registrar,
      localAddresses: () => this.localAddresses(),
      logger: this.logger.child({ ns: 'sip' }),
    });
    this.metrics.registerCounters('dpbx_sip_router', 'SIP requests', () => ({ ...this.router.counters }));
    this.status = new StatusHookQueue({ client: this.hooks, logger: this.logger.child({ ns: 'statushook' }) });
    this.engine = new CallEngine({
      config: () => {
        const c = this.config.current();
        if (!c) throw new Error('config not loaded');
        return c;
      },
      registrations: this.store,
      hooks: this.hooks,
      status: this.status,
      fallback: {
        code: this.options.callFallbackCode,
        ...(this.options.callHookFallback ? { callHook: this.options.callHookFallback } : {}),
      },
      defaultRingtone: this.options.defaultRingtone,
      logger: this.logger.child({ ns: 'call' }),
    });
    this.metrics.registerCounters('dpbx_calls', 'calls', () => ({ ...this.engine.counters }));
  }

  /** Addresses that mean "this PBX" in a Request-URI. */
  private localAddresses(): string[] {
    const out = new Set<string>([this.options.publicIp, '127.0.0.1', '::1', 'localhost']);
    if (this.options.sipHost !== '0.0.0.0' && this.options.sipHost !== '::') out.add(this.options.sipHost);
    for (const l of this.ua?.transport.listeners ?? []) out.add(l.address);
    return [...out];
  }

  private listenOptions(): ListenOptions[] {
    const o = this.options;
    const list: ListenOptions[] = [
      { transport: 'udp', host: o.sipHost, port: o.sipPort },
      { transport: 'tcp', host: o.sipHost, port: o.sipPort },
    ];
    if (o.tlsCert && o.tlsKey) {
      list.push({ transport: 'tls', host: o.sipHost, port: o.sipTlsPort, tls: { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey) } });
    }
    return list;
  }

  /** Every SIP message of a live call goes into its ladder (GET /calls/:id/ladder), both directions. */
  private feedLadders(ua: UserAgent): void {
    // Messages that come before their call exists (the first INVITE, a 401, an outbound INVITE sent before its
    // Call-ID is registered) wait here briefly, bounded, and are flushed with the call's next message.
    // Entries keep the message's wire bytes; the text is built only when the API reads the ladder (SipLadder).
    type Pending = { entry: LadderEntry; bytes: Buffer };
    const pending = new Map<string, Pending[]>();
    type Remote = { address: string; port: number; transport: string };
    /** The ladder entry of a message (`leg` '' while the call is not known yet). */
    const entryOf = (direction: 'in' | 'out', m: SipMessageAny, remote: Remote, leg: string): LadderEntry => ({
      at: Date.now(),
      direction,
      leg,
      summary: m.isRequest ? `${m.method} ${m.uriText} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`,
      remote: `${remote.address}:${remote.port}`,
      transport: remote.transport,
    });
    const add = (direction: 'in' | 'out', m: SipMessageAny, bytes: Buffer, remote: Remote) => {
      if (!this.binding) return;
      const sipCallId = m.callId;
      if (!sipCallId) return;
      const where = this.binding.legOf(sipCallId);
      const call = where && this.engine.registry.getById(where.callId);
      if (!where || !call) {
        if (m.isRequest && (m.method === 'REGISTER' || m.method === 'OPTIONS')) return;
        // A message of a call that has ended (the 200 to its BYE, retransmissions): no ladder will take it, and
        // queueing it kept a thousand ended calls' messages alive under load (bench/call-rate.js).
        if (where && where.callId !== '') return;
        const entry = entryOf(direction, m, remote, '');
        let list = pending.get(sipCallId);
        if (!list) {
          if (pending.size >= 1000) pending.delete(pending.keys().next().value!);
          pending.set(sipCallId, (list = []));
        }
        if (list.length < 20) list.push({ entry, bytes });
        return;
      }
      if (pending.size > 0) {
        const early = pending.get(sipCallId);
        if (early) {
          pending.delete(sipCallId);
          for (const e of early) call.ladder.append({ ...e.entry, leg: where.leg }, e.bytes);
        }
      }
      // One entry object per message, handed over to the ladder (no copies: bench/call-rate.js).
      call.ladder.adopt(entryOf(direction, m, remote, where.leg), bytes);
    };
    const transport = ua.transport;
    const send = transport.send.bind(transport);
    transport.send = (m, target) => {
      if (Buffer.isBuffer(m)) return send(m, target);
      let bytes: Buffer;
      try {
        // Serialised once here: the same bytes go to the ladder and to the wire.
        bytes = m.toBuffer();
      } catch {
        return send(m, target); // the transport reports the failure
      }
      try {
        add('out', m as SipMessageAny, bytes, target);
      } catch {
        /* the ladder never breaks sending */
      }
      return send(bytes, target);
    };
    transport.on('message', (m, source) => {
      if (Buffer.isBuffer(m)) return;
      try {
        // A received message's own bytes while it is untouched: a view of the datagram (UDP buffers are never
        // reused); stream framing may reuse its buffer, so those are copied.
        const view = (m as SipMessageAny).toBuffer();
        add('in', m as SipMessageAny, source.transport === 'udp' ? view : Buffer.from(view), source);
      } catch {
        /* the ladder never breaks receiving */
      }
    });
  }

  /** The SIP user agent (after start()). */
  get userAgent(): UserAgent | undefined {
    return this.ua;
  }

  /** Loads the config, opens the listeners. Rejects (and releases what it opened) when something cannot start. */
  async start(): Promise<PbxAddresses> {
    if (this.state !== 'new') throw new Error(`Pbx.start() called in state ${this.state}`);
    this.state = 'starting';
    try {
      const cfg = await this.config.load();
      this.logger.info({ source: this.config.kind, domains: cfg.domains.size }, 'config loaded');
      // Redis connects while the relay starts; SIP is not listened on before it is ready (or has had its time).
      const storeReady = this.store.waitReady?.(STORE_READY_MS);
      const addresses: PbxAddresses = { sip: [] };
      logCodecStatus(this.logger.child({ ns: 'codecs' }));
      this.relay = await createRelay({
        rtpPortMin: this.options.rtpPortMin,
        rtpPortMax: this.options.rtpPortMax,
        bindAddress: this.options.sipHost === '::' ? '::' : this.options.sipHost,
        advertisedAddress: this.options.publicIp,
        mediaPath: this.options.mediaPath,
        transcoder: new URL('../codecs/relay-transcoder.js', import.meta.url).href,
        preloadTranscoder: true,
        logger: this.logger.child({ ns: 'relay' }),
      });
      this.ua = new UserAgent({
        listen: this.listenOptions(),
        publicAddress: this.options.publicIp,
        userAgent: `dragon-pbx/${VERSION}`,
        methods: [...PBX_METHODS],
        supported: [...PBX_OPTION_TAGS],
        // 100 Trying for every INVITE at once (docs/pbx.md): the caller stops retransmitting whatever the CallHook,
        // the relay or a loaded event loop take before the first real answer.
        timers: { trying: 0 },
        logger: this.logger.child({ ns: 'sip' }),
      });
      this.feedLadders(this.ua);
      this.ua.on('request', (incoming) => this.router.request(incoming));
      this.ua.on('invite', (uas) => this.router.invite(uas));
      this.binding = new CallBinding({
        ua: this.ua,
        engine: this.engine,
        relay: this.relay,
        registrar: this.registrar,
        config: () => this.config.current(),
        publicIp: this.options.publicIp,
        defaultCodecs: this.options.defaultCodecs,
        logger: this.logger.child({ ns: 'b2bua' }),
      });
      this.router.calls = this.binding;
      this.metrics.registerCounters('dpbx_sip_ua', 'SIP user agent', () => ({ ...this.ua!.counters }));
      this.metrics.registerCounters('dpbx_sip_transaction', 'SIP transactions', () => ({ ...this.ua!.transactions.counters }));
      this.metrics.registerCounters('dpbx_b2bua', 'B2BUA', () => ({ ...this.binding!.counters }));
      if (storeReady && !(await storeReady)) {
        // Not fatal: the store keeps reconnecting and the registrar answers 503 + Retry-After meanwhile.
        this.logger.warn({ waitedMs: STORE_READY_MS }, 'registration store not ready; starting anyway (REGISTER answers 503 until it is)');
      }
      const bound = await this.ua.start();
      // SPEC §6: trunks with register: true keep a registration alive; config changes add/remove them.
      this.trunks = new TrunkRegistrations({ ua: this.ua, store: this.store, logger: this.logger.child({ ns: 'trunks' }) });
      this.trunks.start(cfg);
      this.offTrunks = this.config.on('change', (c) => this.trunks?.update(c));
      this.metrics.registerCounters('dpbx_trunks', 'trunk registrations', () => ({ ...this.trunks!.counters }));
      // With SIP_PORT=0 each listener gets its own OS-chosen port.
      addresses.sip = bound.map((b) => ({ transport: b.transport, address: b.address, port: b.port }));
      if (this.wantApi) {
        this.api = new ApiServer({
          backend: this.apiBackend(),
          host: this.options.webHost,
          port: this.options.webPort,
          logger: this.logger.child({ ns: 'api' }),
          ...(this.options.apiToken ? { token: this.options.apiToken } : {}),
        });
        this.metrics.registerCounters('dpbx_api', 'management API', () => ({ ...this.api!.counters }));
        const a: AddressInfo = await this.api.listen();
        addresses.api = { address: a.address, port: a.port };
      }
      this.state = 'running';
      return addresses;
    } catch (err) {
      await this.release();
      this.state = 'stopped';
      throw err;
    }
  }

  /** Re-reads the config (SIGHUP, POST /reload). A failed reload keeps the last good config. */
  async reload(): Promise<ReloadResult> {
    const r = await this.config.reload();
    if (r.ok) this.logger.info({ changed: r.changed }, 'config reloaded');
    else this.logger.warn({ err: r.error.message }, 'config reload failed; keeping the last good config');
    return r;
  }

  /**
   * Graceful stop: new calls are refused (503 + Retry-After) at once; live calls get up to `drainMs` to end by
   * themselves (SPEC §7 POST /shutdown: "wait for active ones"); then the rest are ended, trunks un-register and
   * listeners and sources close. Idempotent (the first call's drainMs wins).
   */
  stop(opts: { drainMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'draining';
      this.router.draining = true;
      const deadline = Date.now() + Math.max(0, opts.drainMs ?? 0);
      if (this.engine.activeCalls > 0 && Date.now() < deadline) {
        this.logger.info({ calls: this.engine.activeCalls, drainMs: opts.drainMs }, 'draining: waiting for live calls');
        while (this.engine.activeCalls > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      }
      await this.release();
      this.state = 'stopped';
      this.logger.info({}, 'stopped');
      for (const fn of this.stoppedListeners) {
        try {
          fn();
        } catch (err) {
          this.logger.error({ err: String(err) }, 'stopped listener threw');
        }
      }
    })();
    return this.stopping;
  }

  /** Called once the PBX has stopped (by stop(), a signal in the binary, or POST /shutdown). */
  onStopped(fn: () => void): void {
    this.stoppedListeners.push(fn);
  }

  private async release(): Promise<void> {
    const steps: Array<() => Promise<void>> = [
      async () => this.engine.terminateAll(),
      async () => {
        this.offTrunks?.();
        await this.trunks?.stop(); // Expires: 0 for every registered trunk (waits at most 5 s)
      },
      () => this.ua?.close() ?? Promise.resolve(),
      () => this.relay?.close() ?? Promise.resolve(),
      // StatusHook events of the last calls get a short chance to leave (SPEC §3: never delays anything).
      () => Promise.race([this.status.drain(), new Promise<void>((r) => setTimeout(r, 2000).unref())]),
      () => this.api?.close() ?? Promise.resolve(),
      () => this.store.close(),
      () => this.config.close(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'error while stopping');
      }
    }
  }

  private currentConfig(): Config | undefined {
    return this.config.current();
  }

  private domainName(d: string): string | undefined {
    const cfg = this.currentConfig();
    return cfg ? findDomain(cfg, d)?.name : undefined;
  }

  private apiBackend(): ApiBackend {
    const domainView = (name: string) => {
      const cfg = this.currentConfig();
      const d = cfg && findDomain(cfg, name);
      if (!cfg || !d) return undefined;
      return redactConfig(cfg).domains[d.name];
    };
    return {
      health: () => ({ status: this.state === 'draining' ? 'draining' : 'ok' }),
      metrics: () => this.metrics.render(),
      listDomains: () => [...(this.currentConfig()?.domains.keys() ?? [])].map((domain) => ({ domain })),
      getDomain: (d) => domainView(d),
      listCalls: (d) => {
        const name = this.domainName(d);
        return name ? this.engine.registry.list(name).map((c) => c.toJSON()) : undefined;
      },
      getCall: (d, id) => {
        const name = this.domainName(d);
        return name ? this.engine.registry.get(name, id)?.toJSON() : undefined;
      },
      hangupCall: async (d, id, leg) => {
        const name = this.domainName(d);
        const exec = name ? this.engine.executorIn(name, id) : undefined;
        if (!exec) return false;
        if (leg && this.binding) return this.binding.hangupLeg(id, leg);
        exec.terminate();
        return true;
      },
      redirectCall: async (d, id, redirect) => {
        // SPEC §7: interrupt the running verb and run the new script (or ask the new CallHook); false = not found.
        const name = this.domainName(d);
        const exec = name ? this.engine.executorIn(name, id) : undefined;
        return exec ? exec.redirect(redirect) : false;
      },
      transferCall: async (d, id, target) => {
        const name = this.domainName(d);
        const exec = name ? this.engine.executorIn(name, id) : undefined;
        if (!exec) return false;
        return exec.referRequested(target, { by: 'callee' }).accepted;
      },
      muteCall: async (d, id, leg, mute) => {
        const name = this.domainName(d);
        if (!name || !this.engine.registry.get(name, id) || !this.binding) return false;
        return this.binding.mute(id, leg, mute);
      },
      listRegistrations: async (d) => {
        const name = this.domainName(d);
        return name ? this.store.listDomain(name) : undefined;
      },
      getRegistration: async (d, user) => {
        const name = this.domainName(d);
        return name ? this.store.lookup({ domain: name, user }) : undefined;
      },
      listCdrs: async (d, q) => {
        const name = this.domainName(d);
        if (!name) return undefined;
        return this.engine.registry.cdrs.query(name, {
          limit: q.limit,
          ...(q.from ? { from: q.from.getTime() } : {}),
          ...(q.to ? { to: q.to.getTime() } : {}),
        });
      },
      getLadder: (id) => this.engine.registry.ladder(id),
      reload: async () => {
        const r = await this.reload();
        return r.ok ? { ok: true } : { ok: false, error: r.error.message };
      },
      shutdown: async () => {
        setImmediate(() => void this.stop({ drainMs: SHUTDOWN_DRAIN_MS }));
      },
    };
  }
}

/** The library entry point. The binary uses it too, with options from the environment and a JSON logger. */
export function createPbx(opts: CreatePbxOptions = {}): Pbx {
  return new Pbx(opts);
}

export { createLogger };
