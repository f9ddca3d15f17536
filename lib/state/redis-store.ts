/**
 * The Redis store (REDIS_URL, ioredis). Layout under a key prefix (default `dpbx:`):
 *
 *   <p>reg:<domain>:<user%>   string  JSON Registration; PEXPIRE = the latest contact expiry
 *   <p>regidx:<domain>        zset    user → latest contact expiry (epoch ms), for listDomain; PEXPIRE likewise
 *   <p>trunk:<domain>         hash    trunk id → JSON TrunkRegistrationState
 *
 * Updates are read–modify–write with a compare-and-set Lua script (the record is written only if it still holds
 * what was read), so several PBX processes can share one Redis; inside one process, updates of one AOR are
 * queued so they do not race each other. The registration logic is the shared pure `applyRegister()`.
 *
 * Outages: the client does not queue commands while disconnected (enableOfflineQueue false, no per-request
 * retries, a command timeout that a stalled event loop does not trip: timed()), so every operation fails fast
 * with StateUnavailableError — the registrar answers 503 + Retry-After — while ioredis keeps reconnecting in the
 * background. Connection errors are logged once per outage and never escape as unhandled 'error' events or
 * rejections.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { applyRegister, latestExpiry, liveContacts } from './binding.js';
import { newStateCounters, systemStateClock } from './clock.js';
import { StateError, StateUnavailableError } from './errors.js';
import type {
  Aor,
  ContactBinding,
  RegisterResult,
  RegisterUpdate,
  Registration,
  RegistrationStore,
  StateClock,
  StateCounters,
  TrunkRegistrationState,
} from './types.js';
import { normalizeAor, normalizeDomain, trunkKey } from './validate.js';

export interface StateLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RedisStoreOptions {
  /** redis://[:password@]host[:port][/db] or rediss://... (REDIS_URL). Default redis://127.0.0.1:6379. */
  url?: string;
  /** Key prefix (tests use a random one). Default `dpbx:`. */
  keyPrefix?: string;
  clock?: StateClock;
  /**
   * A command that gets no answer within this many ms fails (default 1000). The timer's verdict waits one turn of
   * the event loop, so a reply that arrived while the process was stalled (GC, a starved CPU) is read first.
   */
  commandTimeoutMs?: number;
  /** TCP connect timeout, ms (default 2000). */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts, ms (default 2000). */
  maxReconnectDelayMs?: number;
  /** Retry-After (seconds) carried by StateUnavailableError (default 5). */
  retryAfterSeconds?: number;
  logger?: StateLogger;
  /** Extra ioredis options (tests); the outage-related ones above win. */
  redisOptions?: RedisOptions;
}

const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur == false then cur = '' end
if cur ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
  local t = redis.call('PTTL', KEYS[2])
  if t < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
return 1
`;

/** How many times an optimistic update is retried when another writer got there first. */
const MAX_CAS_ATTEMPTS = 8;

/** Redis replies that mean "not now" rather than "wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/;

type CasClient = Redis & {
  dpbxCas(k1: string, k2: string, expect: string, next: string, ttl: number, member: string, score: number, now: number): Promise<number>;
};

interface StoredRecord {
  v: 1;
  aor: Aor;
  contacts: ContactBinding[];
  assignment?: Registration['assignment'];
  updatedAt: number;
}

/** host:port of a Redis URL without credentials (for logs). */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return '(invalid url)';
  }
}

export class RedisStore implements RegistrationStore {
  readonly kind = 'redis' as const;
  readonly counters: StateCounters = newStateCounters();

  private readonly client: CasClient;
  private readonly prefix: string;
  private readonly clock: StateClock;
  private readonly retryAfter: number;
  private readonly commandTimeoutMs: number;
  private readonly logger: StateLogger | undefined;
  private readonly where: string;
  /** Per-AOR queue: the tail promise of the updates waiting for that key. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private closed = false;
  private everReady = false;
  private outageLogged = false;

  constructor(opts: RedisStoreOptions = {}) {
    const url = opts.url ?? 'redis://127.0.0.1:6379';
    if (!/^rediss?:\/\//i.test(url)) throw new StateError('DPBX_ERR_STATE_OPTIONS', 'REDIS_URL must start with redis:// or rediss://');
    this.where = describeRedisUrl(url);
    this.prefix = opts.keyPrefix ?? 'dpbx:';
    this.clock = opts.clock ?? systemStateClock;
    this.retryAfter = opts.retryAfterSeconds ?? 5;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 1000;
    this.logger = opts.logger;
    const maxDelay = opts.maxReconnectDelayMs ?? 2000;
    this.client = new Redis(url, {
      ...opts.redisOptions,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Only a backstop that lets ioredis drop a command nobody waits for any more: timed() decides first.
      commandTimeout: Math.max(10_000, 5 * this.commandTimeoutMs),
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      // Reconnect forever with a capped exponential backoff; the store stays usable once Redis is back.
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 8), maxDelay),
      reconnectOnError: () => false,
    }) as CasClient;
    this.client.defineCommand('dpbxCas', { numberOfKeys: 2, lua: CAS_SCRIPT });
    // One warning per outage: when a ready connection closes, or when the first connection attempt fails.
    const outage = (err: string) => {
      if (this.outageLogged || this.closed) return;
      this.outageLogged = true;
      this.logger?.warn({ redis: this.where, err }, 'redis unavailable; registrations answer 503 until it is back');
    };
    this.client.on('error', (err: Error) => outage(err.message));
    this.client.on('close', () => outage('connection closed'));
    this.client.on('ready', () => {
      if (this.everReady && this.outageLogged) this.logger?.info({ redis: this.where }, 'redis reconnected');
      this.everReady = true;
      this.outageLogged = false;
    });
  }

  /** Resolves true once connected and ready, false after `timeoutMs` (the store keeps trying either way). */
  waitReady(timeoutMs = 2000): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref?.();
      this.client.on('ready', onReady);
    });
  }

  /** True while the connection is up. */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  // ------------------------------------------------------------ keys and codec

  private regKey(aor: Aor): string {
    return `${this.prefix}reg:${aor.domain}:${encodeURIComponent(aor.user)}`;
  }
  private idxKey(domain: string): string {
    return `${this.prefix}regidx:${domain}`;
  }
  private trunkHash(domain: string): string {
    return `${this.prefix}trunk:${domain}`;
  }

  private decode(raw: string | null): StoredRecord | undefined {
    if (raw === null || raw === '') return undefined;
    try {
      const r = JSON.parse(raw) as StoredRecord;
      if (r && r.v === 1 && Array.isArray(r.contacts) && r.aor) return r;
    } catch {
      // fall through
    }
    this.counters.corrupt++;
    return undefined;
  }

  private toRegistration(r: StoredRecord, now: number): Registration | undefined {
    const contacts = liveContacts(r.contacts, now);
    this.counters.expired += r.contacts.length - contacts.length;
    if (contacts.length === 0) return undefined;
    const reg: Registration = { aor: r.aor, contacts, updatedAt: r.updatedAt };
    if (r.assignment) reg.assignment = r.assignment;
    return reg;
  }

  // ------------------------------------------------------------ error mapping

  private fail(err: unknown): StateError {
    if (err instanceof StateError) return err;
    const e = err as Error;
    if (this.closed) return new StateError('DPBX_ERR_STATE_CLOSED', 'registration store is closed');
    if (e?.name === 'ReplyError' && !TRANSIENT_REPLY.test(e.message ?? '')) {
      return new StateError('DPBX_ERR_STATE_BACKEND', `redis error: ${e.message}`, err);
    }
    this.counters.unavailable++;
    return new StateUnavailableError(`redis unavailable: ${e?.message ?? String(err)}`, err, this.retryAfter);
  }

  /** Runs a Redis operation: fails fast while disconnected, maps every error to a StateError. */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StateError('DPBX_ERR_STATE_CLOSED', 'registration store is closed');
    if (this.client.status !== 'ready') {
      this.counters.unavailable++;
      throw new StateUnavailableError(`redis unavailable (${this.client.status})`, undefined, this.retryAfter);
    }
    try {
      return await op();
    } catch (err) {
      throw this.fail(err);
    }
  }

  /**
   * One Redis command, failed with 'Command timed out' when no reply came within commandTimeoutMs. A timer is
   * only late when the event loop was busy; the reply may then already wait in the socket, and the poll phase
   * that follows the timers phase reads it: so the verdict is taken in the check phase (setImmediate) after it.
   * ioredis' own commandTimeout rejects in the timers phase, before that read (a false 503 after any stall
   * longer than the timeout: seen under CI load).
   */
  private timed<T>(command: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(new Error('Command timed out'));
        });
      }, this.commandTimeoutMs);
      command.then(
        (v) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** Serialises the updates of one key inside this process. */
  private queued<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  /**
   * Optimistic read–modify–write of one AOR record. `fn` gets the current registration (expired contacts already
   * dropped) and returns the next one (undefined = delete) or `null` to leave the record untouched.
   */
  private mutate<T>(aor: Aor, fn: (cur: Registration | undefined, now: number) => { next: Registration | undefined | null; result: T }): Promise<T> {
    const key = this.regKey(aor);
    const idx = this.idxKey(aor.domain);
    const member = encodeURIComponent(aor.user);
    return this.queued(key, () =>
      this.run(async () => {
        for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
          const raw = await this.timed(this.client.get(key));
          const now = this.clock.now();
          const rec = this.decode(raw);
          const cur = rec ? this.toRegistration(rec, now) : undefined;
          const { next, result } = fn(cur, now);
          if (next === null) return result;
          let nextRaw = '';
          let ttl = 1;
          let score = 0;
          if (next && next.contacts.length > 0) {
            const stored: StoredRecord = { v: 1, aor, contacts: next.contacts, updatedAt: next.updatedAt };
            if (next.assignment) stored.assignment = next.assignment;
            nextRaw = JSON.stringify(stored);
            score = latestExpiry(next.contacts);
            ttl = Math.max(1, score - now);
          }
          if (nextRaw === '' && (raw === null || raw === '')) return result;
          const ok = await this.timed(this.client.dpbxCas(key, idx, raw ?? '', nextRaw, ttl, member, score, now));
          if (ok === 1) return result;
          this.counters.conflicts++;
        }
        throw new StateError('DPBX_ERR_STATE_CONFLICT', `registration of ${aor.user}@${aor.domain} changed concurrently ${MAX_CAS_ATTEMPTS} times`);
      }),
    );
  }

  // ------------------------------------------------------------ RegistrationStore

  async register(aorIn: Aor, update: RegisterUpdate): Promise<RegisterResult> {
    const aor = normalizeAor(aorIn);
    const result = await this.mutate(aor, (cur, now) => {
      const applied = applyRegister(cur?.contacts ?? [], update, now);
      if (applied.outcome === 'out-of-order') {
        const r: RegisterResult = { outcome: 'out-of-order', contacts: applied.contacts, evicted: [], removed: [] };
        if (cur?.assignment) r.assignment = cur.assignment;
        return { next: null, result: r };
      }
      const r: RegisterResult = { outcome: 'ok', contacts: applied.contacts, evicted: applied.evicted, removed: applied.removed };
      if (!applied.changed) {
        if (cur?.assignment) r.assignment = cur.assignment;
        return { next: null, result: r };
      }
      if (applied.contacts.length === 0) return { next: undefined, result: r };
      const assignment = update.assignment ?? cur?.assignment;
      const next: Registration = { aor, contacts: applied.contacts, updatedAt: now };
      if (assignment) next.assignment = r.assignment = assignment;
      return { next, result: r };
    });
    if (result.outcome === 'out-of-order') this.counters.outOfOrder++;
    else {
      this.counters.registers++;
      this.counters.evictions += result.evicted.length;
    }
    return structuredClone(result);
  }

  async lookup(aorIn: Aor): Promise<Registration | undefined> {
    const aor = normalizeAor(aorIn);
    return this.run(async () => {
      const rec = this.decode(await this.timed(this.client.get(this.regKey(aor))));
      return rec ? this.toRegistration(rec, this.clock.now()) : undefined;
    });
  }

  async listDomain(domainIn: string): Promise<Registration[]> {
    const domain = normalizeDomain(domainIn);
    return this.run(async () => {
      const now = this.clock.now();
      const members = await this.timed(this.client.zrangebyscore(this.idxKey(domain), `(${now}`, '+inf'));
      const out: Registration[] = [];
      for (let i = 0; i < members.length; i += 500) {
        const chunk = members.slice(i, i + 500);
        const raws = await this.timed(this.client.mget(...chunk.map((m) => `${this.prefix}reg:${domain}:${m}`)));
        for (const raw of raws) {
          const rec = this.decode(raw);
          const reg = rec && this.toRegistration(rec, now);
          if (reg) out.push(reg);
        }
      }
      return out;
    });
  }

  async removeContact(aorIn: Aor, keyOrUri: string): Promise<boolean> {
    const aor = normalizeAor(aorIn);
    return this.mutate(aor, (cur, now) => {
      if (!cur) return { next: null, result: false };
      const rest = cur.contacts.filter((c) => c.key !== keyOrUri && c.uri !== keyOrUri);
      if (rest.length === cur.contacts.length) return { next: null, result: false };
      if (rest.length === 0) return { next: undefined, result: true };
      return { next: { ...cur, contacts: rest, updatedAt: now }, result: true };
    });
  }

  async removeAll(aorIn: Aor): Promise<number> {
    const aor = normalizeAor(aorIn);
    return this.mutate(aor, (cur) => (cur ? { next: undefined, result: cur.contacts.length } : { next: null, result: 0 }));
  }

  async setTrunkState(domainIn: string, trunkId: string | number, state: Omit<TrunkRegistrationState, 'updatedAt'>): Promise<TrunkRegistrationState> {
    const domain = normalizeDomain(domainIn);
    const id = trunkKey(trunkId);
    const full: TrunkRegistrationState = { ...state, updatedAt: this.clock.now() };
    await this.run(() => this.timed(this.client.hset(this.trunkHash(domain), id, JSON.stringify(full))));
    return structuredClone(full);
  }

  async getTrunkState(domainIn: string, trunkId: string | number): Promise<TrunkRegistrationState | undefined> {
    const domain = normalizeDomain(domainIn);
    const id = trunkKey(trunkId);
    const raw = await this.run(() => this.timed(this.client.hget(this.trunkHash(domain), id)));
    return raw === null ? undefined : this.decodeTrunk(raw);
  }

  async deleteTrunkState(domainIn: string, trunkId: string | number): Promise<void> {
    const domain = normalizeDomain(domainIn);
    const id = trunkKey(trunkId);
    await this.run(() => this.timed(this.client.hdel(this.trunkHash(domain), id)));
  }

  async listTrunkStates(domainIn: string): Promise<Record<string, TrunkRegistrationState>> {
    const domain = normalizeDomain(domainIn);
    const all = await this.run(() => this.timed(this.client.hgetall(this.trunkHash(domain))));
    const out: Record<string, TrunkRegistrationState> = {};
    for (const [id, raw] of Object.entries(all)) {
      const s = this.decodeTrunk(raw);
      if (s) out[id] = s;
    }
    return out;
  }

  private decodeTrunk(raw: string): TrunkRegistrationState | undefined {
    try {
      const s = JSON.parse(raw) as TrunkRegistrationState;
      if (s && typeof s.status === 'string') return s;
    } catch {
      // fall through
    }
    this.counters.corrupt++;
    return undefined;
  }

  /** Milliseconds until Redis expires an AOR's record (-2 absent, -1 no TTL). For tests and diagnostics. */
  async recordTtl(aorIn: Aor): Promise<number> {
    const aor = normalizeAor(aorIn);
    return this.run(() => this.timed(this.client.pttl(this.regKey(aor))));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.removeAllListeners('ready');
    this.client.removeAllListeners('close');
    // Keep an 'error' listener: a late socket error after close must not become an uncaught exception.
    this.client.removeAllListeners('error');
    this.client.on('error', () => {});
    if (this.client.status === 'ready') {
      try {
        await this.timed(this.client.quit());
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.client.disconnect(false);
  }
}
