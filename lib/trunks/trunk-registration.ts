/**
 * TrunkRegistration: keeps one trunk registered (SPEC §6 "trunks with `register: true` keep a registration alive").
 * The protocol work — REGISTER, 401/407 with the trunk credentials, refresh at about half the granted expiry,
 * exponential backoff after failures, Expires: 0 on stop — is the REGISTER client's (sip-stack/ua RegisterClient,
 * RFC 3261 §10.2). This object maps its events to the trunk state in the registration store
 * (`setTrunkState`: registering → registered {expiresAt} | failed {lastError} → unregistered), logs them without
 * credentials, and reports a snapshot for the management API.
 */
import type { SipResponse } from '../../sip-stack/index.js';
import type { RegisterClientOptions } from '../../sip-stack/index.js';
import type { TrunkRegistrationState, TrunkRegistrationStatus } from '../state/index.js';
import type { RegisterTarget } from './register-target.js';

/**
 * The REGISTER client a trunk registration drives: sip-stack/ua's RegisterClient satisfies it. Tests may pass a
 * fake with the same events.
 */
export interface RegisterClientLike {
  readonly state: string;
  /** Granted expiry of the last 2xx, seconds. */
  readonly expires: number | undefined;
  readonly failureCount: number;
  /** Clock time (ms) of the next refresh or retry. */
  readonly nextAttemptAt: number | undefined;
  start(): void;
  stop(): Promise<void>;
  on(event: 'registered', fn: (expires: number, response: SipResponse) => void): unknown;
  on(event: 'failed', fn: (status: number, reason: string, retryInMs: number, response: SipResponse | undefined) => void): unknown;
  on(event: 'unregistered', fn: (response: SipResponse | undefined) => void): unknown;
}

/** Creates REGISTER clients bound to the PBX's SIP endpoint: a UserAgent (`ua.registerClient(o)`). */
export interface RegisterClientFactory {
  registerClient(o: RegisterClientOptions): RegisterClientLike;
}

/** What a trunk registration writes its state to (the registration store, lib/state). */
export interface TrunkStateSink {
  setTrunkState(domain: string, trunkId: string | number, state: Omit<TrunkRegistrationState, 'updatedAt'>): Promise<unknown>;
  deleteTrunkState(domain: string, trunkId: string | number): Promise<void>;
}

export interface TrunkLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Snapshot of one trunk registration (management API, tests). Never holds credentials. */
export interface TrunkRegistrationInfo {
  domain: string;
  trunkId: number | string;
  trunkName: string;
  /** host:port/transport of the registrar. */
  registrar: string;
  status: TrunkRegistrationStatus;
  /** Granted expiry of the current registration, seconds. */
  expires?: number;
  /** When the current registration expires (epoch ms). */
  expiresAt?: number;
  /** Consecutive failures. */
  failures: number;
  /** Delay before the next retry after the last failure (ms). */
  retryInMs?: number;
  /** Last failure in words ("403 Forbidden", "408 Request Timeout"). */
  lastError?: string;
  /** Successful REGISTERs (first registration and refreshes). */
  registrations: number;
}

export interface TrunkRegistrationDeps {
  factory: RegisterClientFactory;
  store?: TrunkStateSink;
  logger: TrunkLogger;
  now: () => number;
  /** Extra RegisterClient options (retry timing, refresh fraction, contact). */
  client: Omit<RegisterClientOptions, 'registrar' | 'aor' | 'expires' | 'auth'>;
  /** Called after every status change (TrunkRegistrations re-emits it). */
  onChange: (info: TrunkRegistrationInfo) => void;
  /** Counts store failures. */
  onStoreError: () => void;
}

export class TrunkRegistration {
  readonly target: RegisterTarget;
  private readonly deps: TrunkRegistrationDeps;
  private readonly client: RegisterClientLike;
  private info: TrunkRegistrationInfo;
  /** Store writes of this trunk, in order (a later state never lands before an earlier one). */
  private writes: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(target: RegisterTarget, deps: TrunkRegistrationDeps) {
    this.target = target;
    this.deps = deps;
    this.info = {
      domain: target.domain,
      trunkId: target.trunkId,
      trunkName: target.trunkName,
      registrar: target.display,
      status: 'unregistered',
      failures: 0,
      registrations: 0,
    };
    this.client = deps.factory.registerClient({
      ...deps.client,
      registrar: target.registrar,
      aor: target.aor,
      expires: target.expires,
      ...(target.auth ? { auth: { ...target.auth } } : {}),
    });
    this.client.on('registered', (expires) => this.registered(expires));
    this.client.on('failed', (status, reason, retryInMs) => this.failed(status, reason, retryInMs));
  }

  private get logFields(): Record<string, unknown> {
    // Never the credentials: domain, trunk identity and the registrar address only.
    return { domain: this.target.domain, trunk: this.target.trunkId, trunkName: this.target.trunkName, registrar: this.target.display };
  }

  /** The current snapshot. */
  snapshot(): TrunkRegistrationInfo {
    return { ...this.info };
  }

  start(): void {
    this.set({ status: 'registering' });
    this.deps.logger.info({ ...this.logFields, expires: this.target.expires }, 'trunk registering');
    this.client.start();
  }

  private registered(expires: number): void {
    const first = this.info.status !== 'registered';
    const { retryInMs: _r, lastError: _e, ...rest } = this.info;
    this.info = { ...rest, status: 'registered', expires, expiresAt: this.deps.now() + expires * 1000, failures: 0, registrations: this.info.registrations + 1 };
    this.persist();
    this.deps.onChange(this.snapshot());
    // A refresh is routine (debug); the first success and a recovery are news (info).
    if (first) this.deps.logger.info({ ...this.logFields, expires }, 'trunk registered');
    else this.deps.logger.debug({ ...this.logFields, expires }, 'trunk registration refreshed');
  }

  private failed(status: number, reason: string, retryInMs: number): void {
    const lastError = `${status} ${reason}`;
    const { expires: _x, expiresAt: _a, ...rest } = this.info;
    this.info = { ...rest, status: 'failed', lastError, retryInMs, failures: this.client.failureCount };
    this.persist();
    this.deps.onChange(this.snapshot());
    this.deps.logger.warn({ ...this.logFields, status, reason, failures: this.info.failures, retryInMs }, 'trunk registration failed');
  }

  private set(patch: Partial<TrunkRegistrationInfo>): void {
    this.info = { ...this.info, ...patch };
    this.persist();
    this.deps.onChange(this.snapshot());
  }

  /** Writes the current status to the store (queued behind earlier writes; a store failure is counted, logged). */
  private persist(): void {
    const store = this.deps.store;
    if (!store) return;
    const i = this.info;
    const state: Omit<TrunkRegistrationState, 'updatedAt'> = {
      status: i.status,
      ...(i.status === 'registered' && i.expiresAt !== undefined ? { expiresAt: i.expiresAt } : {}),
      ...(i.lastError !== undefined ? { lastError: i.lastError } : {}),
    };
    this.writes = this.writes.then(() => store.setTrunkState(i.domain, i.trunkId, state)).then(
      () => undefined,
      (err: unknown) => this.storeFailed(err),
    );
  }

  private storeFailed(err: unknown): void {
    this.deps.onStoreError();
    this.deps.logger.warn({ ...this.logFields, code: (err as { code?: string })?.code, err: (err as Error)?.message }, 'trunk state not stored');
  }

  /**
   * Stop refreshing and unregister (Expires: 0, RFC 3261 §10.2.2), then settle the stored state by `mode`:
   *  - 'shutdown': stored as "unregistered";
   *  - 'removed': the trunk left the config, its state is deleted;
   *  - 'replaced': a new registration of the same trunk owns the state; nothing is written.
   * Resolves after the unregister was answered (or failed) and the store writes settled. Idempotent.
   */
  stop(mode: 'shutdown' | 'removed' | 'replaced'): Promise<void> {
    this.stopped ??= (async () => {
      const wasBound = this.info.status === 'registered';
      try {
        await this.client.stop();
      } catch (err) {
        this.deps.logger.warn({ ...this.logFields, err: (err as Error)?.message }, 'trunk unregister failed');
      }
      const { expires: _x, expiresAt: _a, retryInMs: _r, ...rest } = this.info;
      this.info = { ...rest, status: 'unregistered' };
      const store = this.deps.store;
      if (mode === 'shutdown') {
        this.persist();
      } else if (mode === 'removed' && store) {
        this.writes = this.writes.then(() => store.deleteTrunkState(this.target.domain, this.target.trunkId)).then(
          () => undefined,
          (err: unknown) => this.storeFailed(err),
        );
      }
      if (mode !== 'replaced') this.deps.onChange(this.snapshot());
      this.deps.logger.info({ ...this.logFields, wasRegistered: wasBound, reason: mode }, 'trunk unregistered');
      await this.writes;
    })();
    return this.stopped;
  }

  /** Resolves when every queued store write has settled. */
  flushed(): Promise<void> {
    return this.writes;
  }
}
