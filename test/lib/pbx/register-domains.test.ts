// Issue 6 §5 through createPbx: domains are isolated (SPEC §2) — two domains with the same usernames and different
// passwords: one domain's password never registers the other's user — and the same sipp registrations work with
// the memory store (no REDIS_URL) and with Redis (REDIS_URL=redis://127.0.0.1:6379).
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createPbx, type Pbx } from '../../../lib/index.js';
import { skipUnlessCommand, skipUnlessRedis } from '../../helpers/env.js';
import { sippRegister } from './peers.js';
import { sippPassed, type SippResult } from '../../helpers/sipp.js';
import { captureLog } from '../../helpers/log.js';

const sippSkip = skipUnlessCommand('sipp');
const redisSkip = sippSkip || (await skipUnlessRedis());
const REDIS_URL = 'redis://127.0.0.1:6379';

/** Unique domain names per run, so parallel runs sharing one Redis never see each other's keys. */
function domains() {
  const tag = randomBytes(4).toString('hex');
  const a = `a-${tag}.test`;
  const b = `b-${tag}.test`;
  const client = (password: string) => ({ id: 1, username: '1000', password, dialplan: { '1???': 'file:nothing.json' } });
  return {
    a,
    b,
    config: { domains: { [a]: { clients: [client('pw-alpha-111')] }, [b]: { clients: [client('pw-bravo-222')] } } },
  };
}

/** A PBX whose debug log is kept: a failed sipp run prints its last lines (drops, answers, store errors). */
async function startPbx(t: Test, config: unknown, redisUrl?: string): Promise<{ pbx: Pbx; port: number; passed: (r: SippResult, what: string) => boolean }> {
  const log = captureLog('debug');
  const pbx = createPbx({ config, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: 43000, rtpPortMax: 43999, logger: log.logger, ...(redisUrl ? { redisUrl } : {}) });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  const passed = (r: SippResult, what: string) => sippPassed(t, r, what, () => `the PBX's last log lines:\n${log.tail()}`);
  return { pbx, port: addr.sip.find((s) => s.transport === 'udp')!.port, passed };
}

async function isolationSuite(t: Test, redisUrl: string | undefined, d = domains()): Promise<Pbx> {
  const { a, b, config } = d;
  const { pbx, port, passed } = await startPbx(t, config, redisUrl);
  t.equal(pbx.store.kind, redisUrl ? 'redis' : 'memory', `the ${redisUrl ? 'Redis' : 'memory'} store is in use`);

  // Register, then un-register (Expires: 0): the full cycle of the shared scenario.
  const cycle = await sippRegister({ port, domain: a, user: '1000', password: 'pw-alpha-111' });
  passed(cycle, 'register + un-register on domain A completes');
  t.equal(await pbx.store.lookup({ domain: a, user: '1000' }), undefined, 'no binding left after Expires: 0');

  // Cross-domain: A's password for B's user and B's password for A's user are both refused.
  const aForB = await sippRegister({ port, domain: b, user: '1000', password: 'pw-alpha-111', scenario: 'pbx-register-refused.xml' });
  passed(aForB, "domain A's password is refused for 1000@B (401/403)");
  const bForA = await sippRegister({ port, domain: a, user: '1000', password: 'pw-bravo-222', scenario: 'pbx-register-refused.xml' });
  passed(bForA, "domain B's password is refused for 1000@A (401/403)");
  t.equal(await pbx.store.lookup({ domain: a, user: '1000' }), undefined, 'no binding for 1000@A');
  t.equal(await pbx.store.lookup({ domain: b, user: '1000' }), undefined, 'no binding for 1000@B');
  t.ok(pbx.registrar.counters.authFailures >= 2, 'both counted as authentication failures');

  // Each domain's own password registers its own user only.
  const okA = await sippRegister({ port, domain: a, user: '1000', password: 'pw-alpha-111', scenario: 'pbx-register-only.xml' });
  passed(okA, '1000@A registers with its password');
  const regA = await pbx.store.lookup({ domain: a, user: '1000' });
  t.equal(regA?.contacts.length, 1, '1000@A has one binding');
  t.equal(await pbx.store.lookup({ domain: b, user: '1000' }), undefined, '1000@B is still not registered');
  t.same((await pbx.store.listDomain(b)).length, 0, "domain B's registration list does not show A's binding");
  const okB = await sippRegister({ port, domain: b, user: '1000', password: 'pw-bravo-222', scenario: 'pbx-register-only.xml' });
  passed(okB, '1000@B registers with its password');
  const regB = await pbx.store.lookup({ domain: b, user: '1000' });
  t.equal(regB?.contacts.length, 1, '1000@B has one binding');
  t.match(regB?.contacts[0]?.uri, /^sip:1000@127\.0\.0\.1:/, "the binding is the phone's Contact");
  t.equal((await pbx.store.lookup({ domain: a, user: '1000' }))?.contacts.length, 1, "B's registration leaves A's binding alone");
  return pbx;
}

// A subtest that hangs fails on its own (with what it printed) instead of expiring the whole file.
const timeout = 75_000;

t.test('memory store (no REDIS_URL): domains isolated, register / un-register', { skip: sippSkip, timeout }, async (t) => {
  await isolationSuite(t, undefined);
});

t.test('Redis store (REDIS_URL): the same registrations, bindings in Redis', { skip: redisSkip, timeout }, async (t) => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // Disconnected at teardown whatever happens below: an open client kept the file's process alive until tap's
  // timeout after a failed assertion threw (seen in CI).
  const d = domains();
  const { a, b } = d;
  t.teardown(async () => {
    try {
      if (redis.status === 'ready') {
        const keys = [...(await redis.keys(`dpbx:*${a}*`)), ...(await redis.keys(`dpbx:*${b}*`))];
        if (keys.length) await redis.del(...keys);
      }
    } finally {
      redis.disconnect();
    }
  });
  await redis.connect();
  await isolationSuite(t, REDIS_URL, d);
  t.equal(await redis.exists(`dpbx:reg:${a}:1000`), 1, "1000@A's registration is a Redis key");
  t.equal(await redis.exists(`dpbx:reg:${b}:1000`), 1, "1000@B's registration is a Redis key");
  t.ok((await redis.pttl(`dpbx:reg:${a}:1000`)) > 0, 'with a TTL');
});
