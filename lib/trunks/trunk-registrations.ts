/**
 * TrunkRegistrations: every trunk of the config with `outbound.register: true` keeps a registration alive
 * (SPEC §6): start(config) registers them, update(config) follows config changes (new trunks registered, removed
 * trunks unregistered, a trunk whose registrar/credentials/expiry changed re-registered), stop() unregisters them
 * all (Expires: 0) on shutdown. State goes to the registration store (lib/state setTrunkState).
 *
 * Wiring in the PBX (after the SIP user agent started):
 *   const trunks = new TrunkRegistrations({ ua: pbx.userAgent, store: pbx.store, logger });
 *   trunks.start(config.current());
 *   config.on('change', (c) => trunks.update(c));
 *   ...; await trunks.stop();            // before the user agent closes
 */
import type { Config } from '../config/index.js';
import type { RegisterClientOptions } from '../../sip-stack/index.js';
import { TrunkError } from './errors.js';
import { registerTarget, trunkKey, type RegisterTarget } from './register-target.js';
import { TrunkRegistration, type RegisterClientFactory, type TrunkLogger, type TrunkRegistrationInfo,
  type TrunkStateSink } from './trunk-registration.js';

export interface TrunkRegistrationsOptions {
  /** Creates REGISTER clients on the PBX's SIP endpoint: the UserAgent (`registerClient(o)`). */
  ua: RegisterClientFactory;
  /** Where trunk state is written (the registration store). Optional: without it, state lives in status() only. */
  store?: TrunkStateSink;
  logger?: TrunkLogger;
  /** Epoch ms (expiresAt). Default Date.now. */
  now?: () => number;
  /** Refresh after this fraction of the granted expiry. Default 0.5 ("about half"). */
  refreshFraction?: number;
  /** First retry delay after a failure, ms; doubles per consecutive failure. Default 30 000. */
  retryBaseMs?: number;
  /** Largest retry delay, ms. Default 1 800 000 (30 min). */
  retryMaxMs?: number;
  /** Random reduction of each retry delay (0..1). Default 0.1; 0 = deterministic. */
  retryJitter?: number;
  /** Contact to register for a trunk (default: the user agent's Contact for the registrar's transport). */
  contact?: (target: Readonly<Omit<RegisterTarget, 'auth'>>) => string | undefined;
  /** Longest wait of stop() for the Expires: 0 answers, ms. Default 5000 (the bindings then expire by themselves). */
  stopTimeoutMs?: number;
}

export interface TrunkRegistrationsCounters {
  /** Registrations started (start/update found a new or changed trunk). */
  started: number;
  /** Successful REGISTERs (first and refreshes). */
  registered: number;
  /** Failed attempts (final non-2xx, timeout, transport error). */
  failed: number;
  /** Registrations stopped (trunk removed or changed, or shutdown). */
  stopped: number;
  /** Trunks with register: true that cannot register (no username). */
  invalid: number;
  /** Store writes that failed. */
  storeErrors: number;
}

const noop = (): void => {};
const silent: TrunkLogger = { debug: noop, info: noop, warn: noop };

export class TrunkRegistrations {
  readonly counters: TrunkRegistrationsCounters = { started: 0, registered: 0, failed: 0, stopped: 0, invalid: 0, storeErrors: 0 };
  private readonly o: TrunkRegistrationsOptions;
  private readonly logger: TrunkLogger;
  private readonly regs = new Map<string, TrunkRegistration>();
  /** Registrations being stopped (removed or replaced), by trunk key: a new one of the same trunk starts after. */
  private readonly retiring = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(info: TrunkRegistrationInfo) => void>();
  private state: 'new' | 'running' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(o: TrunkRegistrationsOptions) {
    if (!o || typeof o.ua?.registerClient !== 'function') {
      throw new TrunkError('DPBX_ERR_TRUNK_OPTIONS', 'TrunkRegistrations needs `ua` with registerClient()');
    }
    for (const k of ['retryBaseMs', 'retryMaxMs', 'stopTimeoutMs'] as const) {
      const v = o[k];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new TrunkError('DPBX_ERR_TRUNK_OPTIONS', `${k} must be a number of ms >= 0`);
    }
    if (o.retryJitter !== undefined && !(o.retryJitter >= 0 && o.retryJitter <= 1)) {
      throw new TrunkError('DPBX_ERR_TRUNK_OPTIONS', 'retryJitter must be between 0 and 1');
    }
    this.o = o;
    this.logger = o.logger ?? silent;
  }

  /** Register every trunk of `config` that asks for it. Call once; later changes go through update(). */
  start(config: Config): void {
    if (this.state === 'stopped') throw new TrunkError('DPBX_ERR_TRUNK_STOPPED', 'TrunkRegistrations was stopped');
    this.state = 'running';
    this.update(config);
  }

  /**
   * Follow a new config: trunks that appeared (or now ask to register) are registered, trunks that disappeared
   * (or no longer ask) are unregistered and their state deleted, trunks whose registrar, username, password or
   * expiry changed are re-registered. Unchanged trunks keep their registration (no new REGISTER).
   */
  update(config: Config): void {
    if (this.state === 'stopped') throw new TrunkError('DPBX_ERR_TRUNK_STOPPED', 'TrunkRegistrations was stopped');
    if (this.state === 'new') {
      this.start(config);
      return;
    }
    const wanted = new Map<string, RegisterTarget>();
    for (const domain of config.domains.values()) {
      for (const trunk of domain.trunks) {
        let target: RegisterTarget | undefined;
        try {
          target = registerTarget(domain, trunk);
        } catch (err) {
          this.counters.invalid++;
          this.logger.warn({ domain: domain.name, trunk: trunk.id, code: (err as TrunkError).code, err: (err as Error).message }, 'trunk cannot register');
          void this.o.store?.setTrunkState(domain.name, trunk.id, { status: 'failed', lastError: 'outbound.username missing' })
            .catch(() => this.counters.storeErrors++);
          continue;
        }
        if (target) wanted.set(trunkKey(target.domain, target.trunkId), target);
      }
    }
    for (const [key, reg] of [...this.regs]) {
      const next = wanted.get(key);
      if (next && next.fingerprint === reg.target.fingerprint) continue;
      this.regs.delete(key);
      this.counters.stopped++;
      // Removed: unregister and forget the state. Changed: unregister; the new registration owns the state.
      this.retire(key, reg, next === undefined ? 'removed' : 'replaced');
    }
    for (const [key, target] of wanted) {
      if (this.regs.has(key)) continue;
      const reg = this.create(target);
      this.regs.set(key, reg);
      this.counters.started++;
      const previous = this.retiring.get(key);
      if (previous === undefined) {
        reg.start();
        continue;
      }
      // RFC 3261 §10.3 step 7: an Expires: 0 for our Contact removes the binding whatever its Call-ID, so the old
      // registration's unregister must be answered before the new REGISTER goes out.
      void previous.then(() => {
        if (this.state === 'running' && this.regs.get(key) === reg) reg.start();
      });
    }
  }

  private retire(key: string, reg: TrunkRegistration, mode: 'removed' | 'replaced'): void {
    const before = this.retiring.get(key) ?? Promise.resolve();
    const done = before.then(() => reg.stop(mode));
    this.retiring.set(key, done);
    void done.then(() => {
      if (this.retiring.get(key) === done) this.retiring.delete(key);
    });
  }

  private create(target: RegisterTarget): TrunkRegistration {
    const client: Omit<RegisterClientOptions, 'registrar' | 'aor' | 'expires' | 'auth'> = {
      ...(this.o.refreshFraction !== undefined ? { refreshFraction: this.o.refreshFraction } : {}),
      ...(this.o.retryBaseMs !== undefined ? { retryBaseMs: this.o.retryBaseMs } : {}),
      ...(this.o.retryMaxMs !== undefined ? { retryMaxMs: this.o.retryMaxMs } : {}),
      ...(this.o.retryJitter !== undefined ? { retryJitter: this.o.retryJitter } : {}),
    };
    const { auth: _auth, ...publicTarget } = target;
    const contact = this.o.contact?.(publicTarget);
    if (contact !== undefined) client.contact = contact;
    return new TrunkRegistration(target, {
      factory: this.o.ua,
      ...(this.o.store ? { store: this.o.store } : {}),
      logger: this.logger,
      now: this.o.now ?? Date.now,
      client,
      onChange: (info) => this.changed(info),
      onStoreError: () => this.counters.storeErrors++,
    });
  }

  private changed(info: TrunkRegistrationInfo): void {
    if (info.status === 'registered') this.counters.registered++;
    if (info.status === 'failed') this.counters.failed++;
    for (const fn of this.listeners) {
      try {
        fn(info);
      } catch (err) {
        // A buggy listener must not break registrations.
        this.logger.warn({ err: (err as Error)?.message }, 'trunk state listener threw');
      }
    }
  }

  /** Called after every status change of any trunk (registering, registered, failed, unregistered). */
  onChange(fn: (info: TrunkRegistrationInfo) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Snapshots of the live registrations (no credentials), optionally of one domain. */
  status(domain?: string): TrunkRegistrationInfo[] {
    const d = domain?.toLowerCase();
    return [...this.regs.values()].map((r) => r.snapshot()).filter((i) => d === undefined || i.domain === d);
  }

  /** Unregister every trunk (Expires: 0), waiting at most stopTimeoutMs. Idempotent; the object stays stopped. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopped';
      const all = [...this.regs.values()];
      this.regs.clear();
      this.counters.stopped += all.length;
      const done = Promise.all([...all.map((r) => r.stop('shutdown')), ...this.retiring.values()]);
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.o.stopTimeoutMs ?? 5000);
        timer.unref?.();
      });
      await Promise.race([done, limit]);
      if (timer) clearTimeout(timer);
    })();
    return this.stopping;
  }
}
