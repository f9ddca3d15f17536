// TrunkRegistrations against a carrier registrar played by sipp (UAS), over real UDP on loopback, with the
// sip-stack/ua UserAgent the PBX uses: the 401 is answered with the trunk credentials (sipp verifies the digest),
// the short granted expiry (2 s) is refreshed, stop() un-registers with Expires: 0; a registrar that answers 403
// makes the registration back off exponentially. State lands in the registration store.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { UserAgent } from '../../../sip-stack/index.js';
import { normalizeConfig } from '../../../lib/config/index.js';
import { MemoryStore } from '../../../lib/state/index.js';
import { TrunkRegistrations, type TrunkRegistrationInfo } from '../../../lib/trunks/index.js';
import { fixturePath, skipUnlessCommand } from '../../helpers/env.js';
import { freeUdpPort, waitFor } from '../pbx/peers.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

interface Carrier {
  port: number;
  exit: Promise<{ code: number | null; out: string }>;
  child: ChildProcess;
}

/** sipp as the carrier's registrar (UAS) on a free loopback port. */
async function carrier(t: Test, scenario: string): Promise<Carrier> {
  const port = await freeUdpPort();
  const child = spawn('sipp', ['-sf', fixturePath('sipp', scenario), '-p', String(port), '-i', '127.0.0.1', '-m', '1',
    '-timeout', '40', '-timeout_error', '-nostdin', '-trace_err', '-error_file', `/tmp/dpbx-trunk-sipp-${process.pid}-${port}.log`],
  { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/tmp' });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<{ code: number | null; out: string }>((resolve) => child.once('exit', (code) => resolve({ code, out })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { port, exit, child };
}

async function endpoint(t: Test): Promise<UserAgent> {
  const ua = new UserAgent({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], publicAddress: '127.0.0.1' });
  await ua.start();
  t.teardown(() => ua.close());
  return ua;
}

function trunkConfig(port: number, password = 'trunk-secret-pw') {
  return normalizeConfig({
    domains: {
      'pbx.test': {
        clients: [],
        trunks: [{
          id: 7, name: 'carrier',
          outbound: { host: '127.0.0.1', port, transport: 'udp', username: 'trunk-acct', password, register: true, expires: 600 },
          dialplan: { '*': 'file:in.json' },
        }],
      },
    },
  });
}

function logCapture() {
  const lines: string[] = [];
  const log = (obj: object, msg?: string) => lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  return { lines, logger: { debug: log, info: log, warn: log } };
}

t.test('401 answered with the trunk credentials, short expiry refreshed, un-register on stop', { skip }, async (t) => {
  const sipp = await carrier(t, 'trunk-register-uas.xml');
  const ua = await endpoint(t);
  const store = new MemoryStore();
  t.teardown(() => store.close());
  const { lines, logger } = logCapture();
  const trunks = new TrunkRegistrations({ ua, store, logger, retryBaseMs: 500, retryJitter: 0 });
  const seen: TrunkRegistrationInfo[] = [];
  trunks.onChange((i) => seen.push(i));
  trunks.start(trunkConfig(sipp.port));

  await waitFor(() => seen.some((i) => i.status === 'registered'), 'the first registration', 20000);
  const first = trunks.status()[0]!;
  t.equal(first.expires, 2, "the registrar's 2 s expiry is used");
  const stored = await store.getTrunkState('pbx.test', 7);
  t.equal(stored?.status, 'registered', 'state in the store: registered');
  t.ok(stored?.expiresAt !== undefined && stored.expiresAt > Date.now() - 5000, 'with its expiry time');

  // The refresh: about half of 2 s later, a new REGISTER with the same credentials gets 200 again.
  await waitFor(() => (trunks.status()[0]?.registrations ?? 0) >= 2, 'a refresh', 20000);
  t.ok(trunks.status()[0]!.registrations >= 2, 'refreshed before expiry');
  t.notOk(seen.some((i) => i.status === 'failed'), 'no attempt failed (the digest was accepted every time)');

  await trunks.stop();
  const done = await sipp.exit;
  sippPassed(t, done, 'the carrier saw 401 → authenticated REGISTER → refresh(es) → Expires: 0 (sipp scenario passed)');
  if (done.code !== 0) t.comment(done.out.slice(-2000));
  t.equal((await store.getTrunkState('pbx.test', 7))?.status, 'unregistered', 'state: unregistered after stop');
  t.notMatch(lines.join('\n'), /trunk-secret-pw/, 'the trunk password is never logged');
});

t.test('403: exponential backoff between attempts, state failed with the reason', { skip }, async (t) => {
  const sipp = await carrier(t, 'trunk-register-forbidden-uas.xml');
  const ua = await endpoint(t);
  const store = new MemoryStore();
  t.teardown(() => store.close());
  const trunks = new TrunkRegistrations({ ua, store, retryBaseMs: 300, retryMaxMs: 10_000, retryJitter: 0 });
  const failures: TrunkRegistrationInfo[] = [];
  let stopped: Promise<void> | undefined;
  trunks.onChange((i) => {
    if (i.status !== 'failed') return;
    failures.push(i);
    // After the third refusal, stop (before the next retry): the scenario then expects the un-REGISTER.
    if (failures.length === 3) stopped = trunks.stop();
  });
  trunks.start(trunkConfig(sipp.port));

  await waitFor(() => stopped !== undefined, 'three refusals', 30000).catch(async (err: Error) => {
    t.comment(JSON.stringify(failures));
    sipp.child.kill('SIGTERM');
    t.comment((await sipp.exit).out.slice(-3000));
    throw err;
  });
  t.same(failures.map((f) => f.retryInMs), [300, 600, 1200], 'the retry delay doubles after each failure');
  t.same(failures.map((f) => f.failures), [1, 2, 3], 'consecutive failures counted');
  t.same(failures.map((f) => f.lastError), ['403 Forbidden', '403 Forbidden', '403 Forbidden'], 'with the reason');
  t.equal(trunks.counters.registered, 0, 'never registered');
  const st = await store.getTrunkState('pbx.test', 7);
  t.ok(st?.status === 'failed' || st?.status === 'unregistered', 'state: failed (then unregistered by stop)');
  await stopped;
  const done = await sipp.exit;
  sippPassed(t, done, 'the carrier saw exactly three REGISTERs, then the Expires: 0 (sipp scenario passed)');
  if (done.code !== 0) t.comment(done.out.slice(-2000));
});
