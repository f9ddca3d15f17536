import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createServer, type Socket } from 'node:net';
import { RedisStore, StateError, createRegistrationStore, describeRedisUrl } from '../../../lib/state/index.js';
import { skipUnlessRedis } from '../../helpers/env.js';
import { storeContract } from './store-contract.js';

const skip = await skipUnlessRedis();
const URL = 'redis://127.0.0.1:6379';
const prefix = `dpbx-test-${randomBytes(5).toString('hex')}:`;

t.test('RedisStore (127.0.0.1:6379)', { skip }, async (t) => {
  const admin = new Redis(URL);
  t.teardown(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  t.test('passes the store contract', async (t) => {
    storeContract(t, async (clock) => {
      const store = new RedisStore({ url: URL, keyPrefix: prefix, clock });
      t.ok(await store.waitReady(5000), 'connected');
      return { store, ttl: (aor) => store.recordTtl(aor) };
    });
  });

  t.test('records and the domain index carry PEXPIRE and vanish in Redis when the last contact expires', async (t) => {
    const store = new RedisStore({ url: URL, keyPrefix: prefix });
    t.teardown(() => store.close());
    t.ok(await store.waitReady(5000));
    const aor = { domain: 'ttl.redis.test', user: 'u1' };
    // Granted expiry of 1 s: the registrar never grants that little, the store does not care.
    await store.register(aor, { callId: 'c', cseq: 1, flow: { transport: 'udp', address: '127.0.0.1', port: 5062 }, contacts: [{ uri: 'sip:u1@h', key: 'sip:u1@h', expires: 1 }] });
    const idxTtl = await admin.pttl(`${prefix}regidx:ttl.redis.test`);
    t.ok(idxTtl > 0 && idxTtl <= 1000, `index TTL ${idxTtl}`);
    // Wait for Redis itself to expire the key (the server's own timer, not our clock).
    const deadline = Date.now() + 5000;
    while ((await admin.exists(`${prefix}reg:ttl.redis.test:u1`)) === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    t.equal(await admin.exists(`${prefix}reg:ttl.redis.test:u1`), 0, 'Redis removed the record by TTL');
    t.equal(await store.lookup(aor), undefined);
  });

  t.test('a corrupt record is counted and treated as absent', async (t) => {
    const store = new RedisStore({ url: URL, keyPrefix: prefix });
    t.teardown(() => store.close());
    t.ok(await store.waitReady(5000));
    await admin.set(`${prefix}reg:bad.redis.test:u`, '{not json', 'PX', 60000);
    t.equal(await store.lookup({ domain: 'bad.redis.test', user: 'u' }), undefined);
    t.equal(store.counters.corrupt, 1);
    const r = await store.register({ domain: 'bad.redis.test', user: 'u' }, { callId: 'c', cseq: 1, flow: { transport: 'udp', address: '127.0.0.1', port: 1 }, contacts: [{ uri: 'sip:u@h', key: 'sip:u@h', expires: 60 }] });
    t.equal(r.outcome, 'ok', 'a new registration overwrites it');
  });

  t.test('two stores on one Redis (two PBX processes) see each other and do not lose updates', async (t) => {
    const a = new RedisStore({ url: URL, keyPrefix: prefix });
    const b = new RedisStore({ url: URL, keyPrefix: prefix });
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    t.ok((await a.waitReady(5000)) && (await b.waitReady(5000)));
    const aor = { domain: 'shared.redis.test', user: '42' };
    const flow = { transport: 'udp' as const, address: '127.0.0.1', port: 5062 };
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).register(aor, { callId: `d${i}`, cseq: 1, flow, maxContacts: 20, contacts: [{ uri: `sip:d${i}@h`, key: `sip:d${i}@h`, expires: 60 }] }),
      ),
    );
    t.equal((await a.lookup(aor))!.contacts.length, 10, 'compare-and-set kept every update');
    t.equal((await b.listDomain('shared.redis.test')).length, 1);
  });

  t.test('a Redis error reply is DPBX_ERR_STATE_BACKEND, not an outage', async (t) => {
    const store = new RedisStore({ url: URL, keyPrefix: prefix });
    t.teardown(() => store.close());
    t.ok(await store.waitReady(5000));
    await admin.set(`${prefix}trunk:wrongtype.redis.test`, 'a string, not a hash');
    await t.rejects(store.getTrunkState('wrongtype.redis.test', 1), { code: 'DPBX_ERR_STATE_BACKEND' });
  });

  t.test('createRegistrationStore picks Redis for REDIS_URL; bad URLs are options errors; URLs are logged without password', async (t) => {
    const s = createRegistrationStore({ redisUrl: URL, keyPrefix: prefix });
    t.equal(s.kind, 'redis');
    await s.close();
    t.throws(() => createRegistrationStore({ redisUrl: 'http://x' }), StateError);
    t.equal(describeRedisUrl('redis://:hunter2@db.example:6380/2'), 'redis://db.example:6380/2');
  });

  t.test('a reply that came while the process was stalled longer than the command timeout is not a timeout', async (t) => {
    const store = new RedisStore({ url: URL, keyPrefix: prefix, commandTimeoutMs: 150 });
    t.teardown(() => store.close());
    t.ok(await store.waitReady(5000));
    const aor = { domain: 'stall.redis.test', user: 's1' };
    const flow = { transport: 'udp' as const, address: '127.0.0.1', port: 5062 };
    const stall = (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end); // the event loop is blocked: Redis answers meanwhile, nobody reads it
    };
    // register(): GET, then the compare-and-set script; the stall comes right after each is sent.
    const registering = store.register(aor, { callId: 'c', cseq: 1, flow, contacts: [{ uri: 'sip:s1@h', key: 'sip:s1@h', expires: 60 }] });
    stall(400);
    await new Promise((r) => setImmediate(r));
    stall(400);
    t.equal((await registering).outcome, 'ok', 'register() went through');
    const looking = store.lookup(aor);
    stall(400);
    t.equal((await looking)?.contacts.length, 1, 'lookup() read the record');
    t.equal(store.counters.unavailable, 0, 'no operation was reported unavailable');
  });
});

/**
 * A TCP server that answers what ioredis sends on connecting (+OK, and INFO for its ready check) and then never
 * answers a command. Commands are RESP arrays of bulk strings.
 */
async function silentRedis(t: Test): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    let buf = '';
    let silent = false;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        let at = m[0].length;
        const args: string[] = [];
        for (let k = 0; k < Number(m[1]); k++) {
          const l = /^\$(\d+)\r\n/.exec(buf.slice(at));
          if (!l || buf.length < at + l[0].length + Number(l[1]) + 2) return; // incomplete: wait for more
          args.push(buf.slice(at + l[0].length, at + l[0].length + Number(l[1])));
          at += l[0].length + Number(l[1]) + 2;
        }
        buf = buf.slice(at);
        if (silent) continue;
        if (args[0]?.toUpperCase() === 'INFO') {
          const info = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';
          sock.write(`$${info.length}\r\n${info}\r\n`);
          silent = true;
        } else {
          sock.write('+OK\r\n');
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

t.test('a command Redis never answers fails after the command timeout: unavailable (503), not a hang', async (t) => {
  const port = await silentRedis(t);
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: prefix, commandTimeoutMs: 200 });
  t.teardown(() => store.close());
  t.ok(await store.waitReady(5000), 'ready (the INFO check passed)');
  const t0 = Date.now();
  await t.rejects(store.lookup({ domain: 'silent.test', user: 'u' }), { code: 'DPBX_ERR_STATE_UNAVAILABLE', message: /timed out/ });
  const waited = Date.now() - t0;
  t.ok(waited >= 190, `failed after the timeout, not before (${waited} ms)`);
  await t.rejects(store.register({ domain: 'silent.test', user: 'u' }, { callId: 'c', cseq: 1, flow: { transport: 'udp', address: '127.0.0.1', port: 5062 }, contacts: [{ uri: 'sip:u@h', key: 'sip:u@h', expires: 60 }] }), { code: 'DPBX_ERR_STATE_UNAVAILABLE' });
  t.equal(store.counters.unavailable, 2, 'both counted');
  const c0 = Date.now();
  await store.close();
  t.ok(Date.now() - c0 < 2000, 'close() does not wait for the silent server beyond the command timeout');
});

