// With REDIS_URL, Pbx.start() listens for SIP only once the Redis store is connected (a PBX that took traffic
// before would answer its first REGISTERs 503), and when Redis stays unreachable it starts anyway after its wait,
// with one warning: the registrar then answers 503 + Retry-After until Redis is back.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPbx, type Pbx } from '../../../lib/index.js';
import type { RedisStore } from '../../../lib/state/index.js';
import { captureLog, type CapturedLog } from '../../helpers/log.js';
import { freeTcpPort, hasCommand, skipUnless, tcpReachable } from '../../helpers/env.js';

const skip = skipUnless(hasCommand('redis-server'), "command 'redis-server'");

/** A throwaway redis-server on `port`, killed at the test's teardown. */
function startRedis(t: Test, port: number): ChildProcess {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.teardown(() => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  return p;
}

function pbxWithRedis(t: Test, port: number): { pbx: Pbx; lines: CapturedLog['lines'] } {
  const { logger, lines } = captureLog('info');
  const pbx = createPbx({
    config: { domains: { 'ready.test': { clients: [] } } },
    sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: 44000, rtpPortMax: 44099,
    redisUrl: `redis://127.0.0.1:${port}`,
    logger,
  });
  t.teardown(() => pbx.stop());
  return { pbx, lines };
}

const notReady = (lines: Array<{ msg: string }>) => lines.filter((l) => /store not ready/.test(l.msg));

t.test('start() resolves once Redis is connected, not before', { skip }, async (t) => {
  const port = await freeTcpPort();
  const { pbx, lines } = pbxWithRedis(t, port);
  let started = false;
  const starting = pbx.start().then((a) => {
    started = true;
    return a;
  });
  // Redis comes up 800 ms later: start() must still be waiting then.
  await new Promise((r) => setTimeout(r, 800));
  t.equal(started, false, 'start() has not resolved while Redis is unreachable');
  startRedis(t, port);
  const addr = await starting;
  t.ok(addr.sip.length > 0, 'SIP listening');
  t.equal((pbx.store as RedisStore).connected, true, 'the store is connected when start() resolves');
  t.same(notReady(lines), [], 'no not-ready warning');
  t.ok(await tcpReachable('127.0.0.1', port), 'the throwaway Redis is up');
});

t.test('start() does not wait for ever: Redis unreachable → started, one warning', { skip }, async (t) => {
  const port = await freeTcpPort(); // nothing listens there
  const { pbx, lines } = pbxWithRedis(t, port);
  const t0 = Date.now();
  const addr = await pbx.start();
  t.ok(addr.sip.length > 0, 'SIP listening');
  t.ok(Date.now() - t0 >= 4500, 'after waiting about 5 s for the store');
  t.equal((pbx.store as RedisStore).connected, false, 'the store is not connected');
  t.equal(notReady(lines).length, 1, 'one not-ready warning');
  t.match(notReady(lines)[0], { level: 40 }, 'at warn level');
});
