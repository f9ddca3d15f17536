/**
 * A real outage: a throwaway redis-server is started on a free port, killed, and restarted. While it is down
 * every store operation fails fast with StateUnavailableError (the registrar's 503 path); once it is back the
 * same store object works again by itself; nothing crashes and no promise rejection goes unhandled.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { RedisStore, StateUnavailableError, type RegisterUpdate } from '../../../lib/state/index.js';
import { freeTcpPort, hasCommand, skipUnless, tcpReachable } from '../../helpers/env.js';

const skip = skipUnless(hasCommand('redis-server'), "command 'redis-server'");


async function startRedis(port: number): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await tcpReachable('127.0.0.1', port, 200)) return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  p.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

const update = (cseq: number): RegisterUpdate => ({
  callId: 'outage',
  cseq,
  flow: { transport: 'udp', address: '127.0.0.1', port: 5062 },
  contacts: [{ uri: 'sip:u@127.0.0.1:5062', key: 'sip:u@127.0.0.1:5062', expires: 300 }],
});

t.test('Redis outage: fail fast with StateUnavailableError, recover by itself', { skip }, async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));

  const port = await freeTcpPort();
  let server = await startRedis(port);
  t.teardown(() => stop(server));
  const warnings: string[] = [];
  const store = new RedisStore({
    url: `redis://127.0.0.1:${port}`,
    keyPrefix: 'outage:',
    maxReconnectDelayMs: 200,
    retryAfterSeconds: 7,
    logger: { info: () => {}, warn: (_o, m) => warnings.push(m ?? '') },
  });
  t.teardown(() => store.close());
  t.ok(await store.waitReady(5000), 'connected');
  const aor = { domain: 'outage.test', user: 'u' };
  t.equal((await store.register(aor, update(1))).outcome, 'ok');

  await stop(server);
  const deadline = Date.now() + 5000;
  while (store.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.notOk(store.connected, 'the store noticed the outage');

  for (const op of [() => store.register(aor, update(2)), () => store.lookup(aor), () => store.listDomain('outage.test'), () => store.getTrunkState('outage.test', 1)]) {
    const err = await op().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, StateUnavailableError, 'rejects with StateUnavailableError');
    t.equal((err as StateUnavailableError).code, 'DPBX_ERR_STATE_UNAVAILABLE');
    t.equal((err as StateUnavailableError).retryAfter, 7, 'carries the Retry-After to send');
  }
  t.ok(store.counters.unavailable >= 4);
  t.equal(warnings.length, 1, 'one warning per outage, not one per reconnection attempt');

  // Some reconnection attempts fail against the closed port before the server is back.
  await new Promise((r) => setTimeout(r, 300));
  server = await startRedis(port);
  t.ok(await store.waitReady(10_000), 'reconnected without help');
  // Data of the killed (non-persistent) server is gone; a new REGISTER works again.
  const r = await store.register(aor, update(3));
  t.equal(r.outcome, 'ok');
  t.equal((await store.lookup(aor))!.contacts.length, 1);
  t.same(unhandled, [], 'no unhandled rejection');
});

t.test('a store whose Redis is down from the start fails fast and connects later', { skip }, async (t) => {
  const port = await freeTcpPort();
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: 'late:', maxReconnectDelayMs: 100 });
  t.teardown(() => store.close());
  t.equal(await store.waitReady(300), false);
  await t.rejects(store.lookup({ domain: 'late.test', user: 'u' }), { code: 'DPBX_ERR_STATE_UNAVAILABLE' });
  const server = await startRedis(port);
  t.teardown(() => stop(server));
  t.ok(await store.waitReady(10_000));
  t.equal(await store.lookup({ domain: 'late.test', user: 'u' }), undefined);
});
