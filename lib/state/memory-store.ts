/**
 * The default, embedded store: everything in process memory. Expiry is lazy on every read plus a periodic sweep
 * driven by the injected clock, so tests advance virtual time instead of sleeping.
 */
import { applyRegister, liveContacts } from './binding.js';
import { newStateCounters, systemStateClock } from './clock.js';
import { StateError } from './errors.js';
import type {
  Aor,
  RegisterResult,
  RegisterUpdate,
  Registration,
  RegistrationStore,
  StateClock,
  StateCounters,
  TrunkRegistrationState,
} from './types.js';
import { normalizeAor, normalizeDomain, trunkKey } from './validate.js';

export interface MemoryStoreOptions {
  clock?: StateClock;
  /** How often expired contacts are swept, ms (default 30 000; 0 = only lazily on read). */
  sweepIntervalMs?: number;
}

export class MemoryStore implements RegistrationStore {
  readonly kind = 'memory' as const;
  readonly counters: StateCounters = newStateCounters();

  private readonly clock: StateClock;
  private readonly sweepIntervalMs: number;
  /** domain → user → registration. */
  private readonly domains = new Map<string, Map<string, Registration>>();
  /** domain → trunk id → state. */
  private readonly trunks = new Map<string, Map<string, TrunkRegistrationState>>();
  private timer: unknown;
  private closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.clock = opts.clock ?? systemStateClock;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 30_000;
    if (!(this.sweepIntervalMs >= 0)) throw new StateError('DPBX_ERR_STATE_OPTIONS', 'sweepIntervalMs must be >= 0');
    this.schedule();
  }

  private schedule(): void {
    if (this.sweepIntervalMs === 0 || this.closed) return;
    this.timer = this.clock.setTimeout(() => {
      this.sweep();
      this.schedule();
    }, this.sweepIntervalMs);
  }

  /** Drop every expired contact (and registrations left without contacts); returns how many contacts went. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [domain, users] of this.domains) {
      for (const [user, reg] of users) {
        const live = liveContacts(reg.contacts, now);
        if (live.length === reg.contacts.length) continue;
        n += reg.contacts.length - live.length;
        if (live.length === 0) users.delete(user);
        else reg.contacts = live;
      }
      if (users.size === 0) this.domains.delete(domain);
    }
    this.counters.expired += n;
    return n;
  }

  private check(): void {
    if (this.closed) throw new StateError('DPBX_ERR_STATE_CLOSED', 'registration store is closed');
  }

  /** The stored registration with expired contacts dropped (the stored object, not a copy). */
  private current(aor: Aor, now: number): Registration | undefined {
    const users = this.domains.get(aor.domain);
    const reg = users?.get(aor.user);
    if (!reg) return undefined;
    const live = liveContacts(reg.contacts, now);
    if (live.length !== reg.contacts.length) {
      this.counters.expired += reg.contacts.length - live.length;
      reg.contacts = live;
    }
    if (live.length === 0) {
      users!.delete(aor.user);
      if (users!.size === 0) this.domains.delete(aor.domain);
      return undefined;
    }
    return reg;
  }

  private put(aor: Aor, reg: Registration | undefined): void {
    let users = this.domains.get(aor.domain);
    if (!reg) {
      users?.delete(aor.user);
      if (users && users.size === 0) this.domains.delete(aor.domain);
      return;
    }
    if (!users) this.domains.set(aor.domain, (users = new Map()));
    users.set(aor.user, reg);
  }

  async register(aorIn: Aor, update: RegisterUpdate): Promise<RegisterResult> {
    this.check();
    const aor = normalizeAor(aorIn);
    const now = this.clock.now();
    const reg = this.current(aor, now);
    const applied = applyRegister(reg?.contacts ?? [], structuredClone(update), now);
    if (applied.outcome === 'out-of-order') {
      this.counters.outOfOrder++;
      return clone({ outcome: applied.outcome, contacts: applied.contacts, evicted: [], removed: [], ...(reg?.assignment ? { assignment: reg.assignment } : {}) });
    }
    this.counters.registers++;
    this.counters.evictions += applied.evicted.length;
    let assignment = reg?.assignment;
    if (applied.changed) {
      if (applied.contacts.length === 0) {
        this.put(aor, undefined);
        assignment = undefined;
      } else {
        if (update.assignment) assignment = structuredClone(update.assignment);
        const next: Registration = { aor, contacts: applied.contacts, updatedAt: now };
        if (assignment) next.assignment = assignment;
        this.put(aor, next);
      }
    }
    return clone({
      outcome: 'ok',
      contacts: applied.contacts,
      evicted: applied.evicted,
      removed: applied.removed,
      ...(assignment ? { assignment } : {}),
    });
  }

  async lookup(aorIn: Aor): Promise<Registration | undefined> {
    this.check();
    const aor = normalizeAor(aorIn);
    const reg = this.current(aor, this.clock.now());
    return reg ? clone(reg) : undefined;
  }

  async listDomain(domainIn: string): Promise<Registration[]> {
    this.check();
    const domain = normalizeDomain(domainIn);
    const users = this.domains.get(domain);
    if (!users) return [];
    const now = this.clock.now();
    const out: Registration[] = [];
    for (const user of [...users.keys()]) {
      const reg = this.current({ domain, user }, now);
      if (reg) out.push(clone(reg));
    }
    return out;
  }

  async removeContact(aorIn: Aor, keyOrUri: string): Promise<boolean> {
    this.check();
    const aor = normalizeAor(aorIn);
    const reg = this.current(aor, this.clock.now());
    if (!reg) return false;
    const rest = reg.contacts.filter((c) => c.key !== keyOrUri && c.uri !== keyOrUri);
    if (rest.length === reg.contacts.length) return false;
    if (rest.length === 0) this.put(aor, undefined);
    else {
      reg.contacts = rest;
      reg.updatedAt = this.clock.now();
    }
    return true;
  }

  async removeAll(aorIn: Aor): Promise<number> {
    this.check();
    const aor = normalizeAor(aorIn);
    const reg = this.current(aor, this.clock.now());
    if (!reg) return 0;
    this.put(aor, undefined);
    return reg.contacts.length;
  }

  async setTrunkState(domainIn: string, trunkId: string | number, state: Omit<TrunkRegistrationState, 'updatedAt'>): Promise<TrunkRegistrationState> {
    this.check();
    const domain = normalizeDomain(domainIn);
    const id = trunkKey(trunkId);
    const full: TrunkRegistrationState = { ...structuredClone(state), updatedAt: this.clock.now() };
    let m = this.trunks.get(domain);
    if (!m) this.trunks.set(domain, (m = new Map()));
    m.set(id, full);
    return clone(full);
  }

  async getTrunkState(domainIn: string, trunkId: string | number): Promise<TrunkRegistrationState | undefined> {
    this.check();
    const s = this.trunks.get(normalizeDomain(domainIn))?.get(trunkKey(trunkId));
    return s ? clone(s) : undefined;
  }

  async deleteTrunkState(domainIn: string, trunkId: string | number): Promise<void> {
    this.check();
    const domain = normalizeDomain(domainIn);
    const m = this.trunks.get(domain);
    m?.delete(trunkKey(trunkId));
    if (m && m.size === 0) this.trunks.delete(domain);
  }

  async listTrunkStates(domainIn: string): Promise<Record<string, TrunkRegistrationState>> {
    this.check();
    const out: Record<string, TrunkRegistrationState> = {};
    for (const [id, s] of this.trunks.get(normalizeDomain(domainIn)) ?? []) out[id] = clone(s);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.domains.clear();
    this.trunks.clear();
  }
}

function clone<T>(v: T): T {
  return structuredClone(v);
}
