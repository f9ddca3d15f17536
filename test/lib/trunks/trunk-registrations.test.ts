// TrunkRegistrations over a scripted REGISTER client (no network, no timers): which trunks register and with
// what REGISTER target, the state written to the registration store, config updates (added / removed / changed /
// unchanged trunks), stop() unregistering everything, and trunk passwords never reaching a log line.
import t from 'tap';
import type { SipResponse, RegisterClientOptions, UserAgent } from '../../../sip-stack/index.js';
import { normalizeConfig, type Config } from '../../../lib/config/index.js';
import { MemoryStore } from '../../../lib/state/index.js';
import { TrunkError, TrunkRegistrations, registerTarget, type RegisterClientFactory, type RegisterClientLike } from '../../../lib/trunks/index.js';

type Handler = (...args: never[]) => void;

/** A REGISTER client whose outcomes the test decides. */
class FakeClient implements RegisterClientLike {
  state = 'idle';
  expires: number | undefined;
  failureCount = 0;
  nextAttemptAt: number | undefined;
  started = 0;
  stopped = 0;
  private readonly handlers = new Map<string, Handler[]>();
  constructor(readonly options: RegisterClientOptions) {}
  on(event: string, fn: Handler): this {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
    return this;
  }
  private emit(event: string, ...args: unknown[]): void {
    for (const fn of this.handlers.get(event) ?? []) (fn as (...a: unknown[]) => void)(...args);
  }
  start(): void {
    this.started++;
    this.state = 'registering';
  }
  grant(expires: number): void {
    this.state = 'registered';
    this.expires = expires;
    this.failureCount = 0;
    this.emit('registered', expires, {} as SipResponse);
  }
  fail(status: number, reason: string, retryInMs: number): void {
    this.state = 'failed';
    this.failureCount++;
    this.emit('failed', status, reason, retryInMs, undefined);
  }
  unregisterAnswer: (() => void) | undefined;
  stop(): Promise<void> {
    this.stopped++;
    this.state = 'stopped';
    // The Expires: 0 answer comes when the test says so (or at once when it never asks).
    return new Promise((resolve) => {
      this.unregisterAnswer = resolve;
      if (!this.holdUnregister) resolve();
    });
  }
  holdUnregister = false;
}

function factory(): RegisterClientFactory & { clients: FakeClient[] } {
  const clients: FakeClient[] = [];
  return {
    clients,
    registerClient(o: RegisterClientOptions) {
      const c = new FakeClient(o);
      clients.push(c);
      return c;
    },
  };
}

function config(trunks: unknown[], domain = 'pbx.test'): Config {
  return normalizeConfig({ domains: { [domain]: { clients: [], trunks } } });
}

const carrier = (over: Record<string, unknown> = {}) => ({
  id: 1,
  name: 'carrier',
  outbound: { host: 'sip.carrier.test', port: 5080, username: 'acct-1', password: 'trunk-secret-pw', register: true, expires: 600, ...over },
  dialplan: { '*': 'file:in.json' },
});

function capture() {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) => lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { lines, logger: { debug: log('debug'), info: log('info'), warn: log('warn') } };
}

/** Let queued store writes land. */
const settle = () => new Promise<void>((r) => setImmediate(r));

t.test('the REGISTER target of a trunk (RFC 3261 §10.2)', async (t) => {
  const cfg = normalizeConfig({
    domains: {
      'pbx.test': {
        clients: [],
        trunks: [
          carrier(),
          { id: 2, name: 'tls', outbound: { host: '2001:db8::5', transport: 'tls', port: 5061, username: 'u@x', password: 'p', register: true } },
          { id: 3, name: 'no-register', outbound: { host: 'a.test', username: 'u', password: 'p' } },
          { id: 4, name: 'inbound-only', inbound: ['198.51.100.0/24'] },
        ],
      },
    },
  });
  const d = cfg.domains.get('pbx.test')!;
  const a = registerTarget(d, d.trunks[0]!)!;
  t.equal(a.registrar, 'sip:sip.carrier.test:5080', 'Request-URI = the registrar host and its non-default port');
  t.equal(a.aor, 'sip:acct-1@sip.carrier.test', 'To/From = username@host');
  t.equal(a.expires, 600);
  t.same(a.auth, { username: 'acct-1', password: 'trunk-secret-pw' });
  t.notMatch(a.fingerprint, /trunk-secret-pw/, 'the fingerprint holds no password');
  const b = registerTarget(d, d.trunks[1]!)!;
  t.equal(b.registrar, 'sip:[2001:db8::5];transport=tls', 'IPv6 host in brackets; default TLS port omitted; transport parameter');
  t.equal(b.aor, 'sip:u%40x@[2001:db8::5]', 'the username is escaped in the user part');
  t.equal(registerTarget(d, d.trunks[2]!), undefined, 'register: false → no registration');
  t.equal(registerTarget(d, d.trunks[3]!), undefined, 'no outbound → no registration');
  // The validator already refuses register without username; a hand-built config still gets a typed error.
  const noUser = { ...d.trunks[0]!, outbound: { ...d.trunks[0]!.outbound!, username: undefined } };
  t.throws(() => registerTarget(d, noUser as never), { code: 'DPBX_ERR_TRUNK_CONFIG' }, 'register without username is a config error');
});

t.test('options are validated', async (t) => {
  t.throws(() => new TrunkRegistrations({} as never), TrunkError);
  t.throws(() => new TrunkRegistrations({ ua: factory(), retryBaseMs: -1 }), { code: 'DPBX_ERR_TRUNK_OPTIONS' });
  t.throws(() => new TrunkRegistrations({ ua: factory(), retryJitter: 2 }), { code: 'DPBX_ERR_TRUNK_OPTIONS' });
  // The PBX's UserAgent is a valid `ua` (compile-time check).
  const asFactory = (ua: UserAgent): RegisterClientFactory => ua;
  t.type(asFactory, 'function');
});

t.test('registers trunks that ask for it and writes their state to the store', async (t) => {
  const f = factory();
  const store = new MemoryStore();
  t.teardown(() => store.close());
  const { lines, logger } = capture();
  let now = 1_000_000;
  const trunks = new TrunkRegistrations({ ua: f, store, logger, now: () => now, retryBaseMs: 1000, retryJitter: 0 });
  trunks.start(config([carrier(), { id: 2, name: 'quiet', outbound: { host: 'q.test', username: 'q', password: 'qq-secret', register: false } }]));
  t.equal(f.clients.length, 1, 'one client: only the trunk with register: true');
  const c = f.clients[0]!;
  t.equal(c.started, 1, 'started');
  t.equal(c.options.registrar, 'sip:sip.carrier.test:5080');
  t.same(c.options.auth, { username: 'acct-1', password: 'trunk-secret-pw' }, 'credentials for 401/407');
  t.equal(c.options.retryBaseMs, 1000, 'retry options passed through');
  await settle();
  t.equal((await store.getTrunkState('pbx.test', 1))?.status, 'registering', 'state: registering');

  c.grant(120);
  await settle();
  const st = await store.getTrunkState('pbx.test', 1);
  t.equal(st?.status, 'registered', 'state: registered');
  t.equal(st?.expiresAt, 1_000_000 + 120_000, 'expiresAt = now + granted expiry');
  t.match(trunks.status()[0], { status: 'registered', expires: 120, registrations: 1, failures: 0 });

  now += 60_000;
  c.grant(120); // the refresh
  t.equal(trunks.status()[0]!.registrations, 2, 'a refresh counts as a registration');
  c.fail(403, 'Forbidden', 1000);
  c.fail(403, 'Forbidden', 2000);
  await settle();
  const failed = await store.getTrunkState('pbx.test', 1);
  t.equal(failed?.status, 'failed', 'state: failed');
  t.equal(failed?.lastError, '403 Forbidden', 'with the reason');
  t.equal(failed?.expiresAt, undefined, 'no expiry while failed');
  t.match(trunks.status()[0], { status: 'failed', failures: 2, retryInMs: 2000 });
  t.equal(trunks.counters.failed, 2);

  await trunks.stop();
  t.equal(c.stopped, 1, 'stop() unregisters (Expires: 0 through the client)');
  t.equal((await store.getTrunkState('pbx.test', 1))?.status, 'unregistered', 'state: unregistered after shutdown');
  t.throws(() => trunks.update(config([])), { code: 'DPBX_ERR_TRUNK_STOPPED' }, 'stays stopped');
  t.notMatch(lines.join('\n'), /trunk-secret-pw|qq-secret/, 'no trunk password in any log line');
  t.ok(lines.some((l) => l.startsWith('warn trunk registration failed')), 'failures are logged');
});

t.test('update(): added trunks register, removed ones unregister and lose their state, changed ones re-register after the old unregister', async (t) => {
  const f = factory();
  const store = new MemoryStore();
  t.teardown(() => store.close());
  const trunks = new TrunkRegistrations({ ua: f, store });
  trunks.start(config([carrier()]));
  const first = f.clients[0]!;
  first.grant(300);

  // Unchanged config (a reload with the same content, or other parts changed): nothing happens.
  trunks.update(config([carrier()]));
  t.equal(f.clients.length, 1, 'unchanged trunk: no new client');
  t.equal(first.stopped, 0, 'and the registration is kept');

  // A second trunk appears.
  trunks.update(config([carrier(), { ...carrier({ host: 'b.test', username: 'acct-b' }), id: 2, name: 'second' }]));
  t.equal(f.clients.length, 2, 'the new trunk gets a client');
  t.equal(f.clients[1]!.started, 1, 'and registers');
  t.equal(f.clients[1]!.options.aor, 'sip:acct-b@b.test');

  // The first trunk's password changes: the old registration unregisters first, then the new one starts.
  first.holdUnregister = true;
  trunks.update(config([carrier({ password: 'rotated-pw' }), { ...carrier({ host: 'b.test', username: 'acct-b' }), id: 2, name: 'second' }]));
  await settle();
  t.equal(first.stopped, 1, 'the old registration unregisters');
  t.equal(f.clients.length, 3, 'a new client with the new credentials');
  const renewed = f.clients[2]!;
  t.same(renewed.options.auth, { username: 'acct-1', password: 'rotated-pw' });
  await settle();
  t.equal(renewed.started, 0, 'not started while the old Expires: 0 is unanswered (it would remove the new binding)');
  first.unregisterAnswer!();
  await settle();
  await settle();
  t.equal(renewed.started, 1, 'started once the unregister was answered');
  renewed.grant(300);
  await settle();
  t.equal((await store.getTrunkState('pbx.test', 1))?.status, 'registered', 'the replaced registration did not overwrite the new state');

  // The second trunk is removed: unregistered, state deleted.
  f.clients[1]!.grant(300);
  await settle();
  t.ok(await store.getTrunkState('pbx.test', 2), 'trunk 2 has state');
  trunks.update(config([carrier({ password: 'rotated-pw' })]));
  await settle();
  t.equal(f.clients[1]!.stopped, 1, 'the removed trunk unregisters');
  await settle();
  await settle();
  t.equal(await store.getTrunkState('pbx.test', 2), undefined, "the removed trunk's state is deleted");
  t.same(trunks.status().map((s) => s.trunkId), [1], 'status lists the remaining trunk');

  // register: false now → unregistered like a removal.
  trunks.update(config([carrier({ password: 'rotated-pw', register: false })]));
  await settle();
  t.equal(renewed.stopped, 1, 'register: false unregisters');
  t.same(trunks.status(), [], 'nothing registered');
  t.match(trunks.counters, { started: 3, stopped: 3 });
  await trunks.stop();
});

t.test('a trunk that cannot register is reported in its state, the others still register', async (t) => {
  const f = factory();
  const store = new MemoryStore();
  t.teardown(() => store.close());
  const trunks = new TrunkRegistrations({ ua: f, store });
  // The validator refuses this shape, so build it by hand (a library user's own Config object could hold it).
  const cfg = config([{ ...carrier({ host: 'h.test', username: 'x' }), id: 5, name: 'nouser' }, carrier()]);
  const bad = cfg.domains.get('pbx.test')!.trunks[0]!;
  (bad.outbound as { username?: string }).username = undefined;
  trunks.start(cfg);
  t.equal(f.clients.length, 1, 'the valid trunk registers');
  await settle();
  t.match(await store.getTrunkState('pbx.test', 5), { status: 'failed', lastError: 'outbound.username missing' });
  t.equal(trunks.counters.invalid, 1);
  await trunks.stop();
});

t.test('a store failure is counted and logged, never thrown; listeners are shielded', async (t) => {
  const f = factory();
  const { lines, logger } = capture();
  const broken = {
    setTrunkState: () => Promise.reject(Object.assign(new Error('redis down'), { code: 'DPBX_ERR_STATE_UNAVAILABLE' })),
    deleteTrunkState: () => Promise.reject(new Error('redis down')),
  };
  const trunks = new TrunkRegistrations({ ua: f, store: broken, logger });
  const seen: string[] = [];
  trunks.onChange((i) => seen.push(i.status));
  trunks.onChange(() => {
    throw new Error('buggy listener');
  });
  trunks.start(config([carrier()]));
  f.clients[0]!.grant(60);
  await settle();
  await settle();
  t.ok(trunks.counters.storeErrors >= 2, 'store errors counted');
  t.ok(lines.some((l) => l.includes('trunk state not stored')), 'and logged');
  t.same(seen, ['registering', 'registered'], 'listeners see every change');
  t.ok(lines.some((l) => l.includes('listener threw')), 'a throwing listener is logged, not propagated');
  await trunks.stop();
});
