/**
 * RegisterClient against a registrar played by another UserAgent (loopback UDP, virtual time): digest challenge
 * answered, refresh at half the granted expiry with the same Call-ID and increasing CSeq (RFC 3261 §10.2.4),
 * exponential backoff after failures, 423 with Min-Expires (§10.2.8), unregister with Expires: 0 on stop (§10.2.2).
 */
import t, { type Test } from 'tap';
import { DigestServer, VirtualClock, type SipRequest } from '../../../sip-stack/index.js';
import { RegisterState, type IncomingRequest } from '../../../sip-stack/ua/index.js';
import { DEFAULT_UA_METHODS } from '../../../sip-stack/ua/index.js';
import { makeUa, next, until } from './helpers.js';

type Behaviour = (req: IncomingRequest) => void;

async function setup(t: Test) {
  const clock = new VirtualClock();
  const client = await makeUa({ clock });
  const registrar = await makeUa({ clock, methods: [...DEFAULT_UA_METHODS, 'REGISTER'] });
  t.teardown(() => Promise.all([client.ua.close(), registrar.ua.close()]));
  const got: SipRequest[] = [];
  const ctl: { behaviour: Behaviour } = { behaviour: (r) => r.respond(200) };
  registrar.ua.on('request', (req) => {
    got.push(req.request);
    ctl.behaviour(req);
  });
  return { clock, client, registrar, got, ctl };
}

function grant(seconds: number): Behaviour {
  return (req) => {
    const c = req.request.get('Contact')!;
    const exp = req.request.expires ?? 3600;
    req.respond(200, { headers: [['Contact', `${c};expires=${exp === 0 ? 0 : seconds}`]] });
  };
}

t.test('registers through a digest challenge and refreshes at half the granted expiry (§10.2.4)', async (t) => {
  const { clock, client, registrar, got, ctl } = await setup(t);
  const digest = new DigestServer();
  ctl.behaviour = (req) => {
    const v = digest.verify(req.request, (u) => (u === 'alice' ? { password: 'pw' } : undefined));
    if (!v.ok) {
      const ch = digest.challenge('example.org', { stale: v.stale === true });
      req.respond(401, { headers: ch.values.map((x) => [ch.header, x] as [string, string]) });
      return;
    }
    grant(120)(req);
  };
  const rc = client.ua.registerClient({ registrar: registrar.uri, aor: 'sip:alice@example.org', expires: 3600, auth: { username: 'alice', password: 'pw' } });
  const states: string[] = [];
  rc.on('state', (s) => states.push(s));
  const registered = next<[number]>(rc, 'registered');
  rc.start();
  t.equal((await registered)[0], 120, 'registered for 120 s');
  t.equal(rc.expires, 120, 'granted expiry from our Contact\'s expires parameter');
  t.equal(rc.nextAttemptAt! - clock.now(), 60_000, 'refresh scheduled at half of 120 s');
  t.equal(got.length, 2, 'REGISTER, 401, REGISTER with credentials');
  clock.advance(60_000);
  await until(() => got.length >= 3 && rc.state === RegisterState.Registered, 'refresh');
  t.same(states.slice(0, 4), ['registering', 'registered', 'refreshing', 'registered']);
  t.equal(new Set(got.map((r) => r.callId)).size, 1, 'same Call-ID for every REGISTER');
  const seqs = got.map((r) => r.cseq!.seq);
  t.same(seqs, [...seqs].sort((x, y) => x - y), 'CSeq increases');
  t.equal(new Set(seqs).size, seqs.length, 'CSeq never repeats');
  t.ok(got[2]!.get('Authorization'), 'the refresh carries credentials from the cached challenge (nc+1)');
  await rc.stop();
});

t.test('failures back off exponentially up to the maximum, then a success resets the count', async (t) => {
  const { clock, client, registrar, got, ctl } = await setup(t);
  ctl.behaviour = (req) => req.respond(503);
  const rc = client.ua.registerClient({ registrar: registrar.uri, aor: 'sip:bob@example.org', retryBaseMs: 1000, retryMaxMs: 3000, retryJitter: 0 });
  const delays: number[] = [];
  rc.on('failed', (status, _r, ms) => { t.equal(status, 503); delays.push(ms); });
  rc.start();
  for (let i = 1; i <= 4; i++) {
    await until(() => delays.length === i, `failure ${i}`);
    if (i < 4) clock.advance(delays[i - 1]!);
  }
  t.same(delays, [1000, 2000, 3000, 3000], 'base × 2^n, capped');
  t.equal(rc.failureCount, 4);
  ctl.behaviour = grant(300);
  clock.advance(3000);
  await until(() => rc.state === RegisterState.Registered, 'registered after the failures');
  t.equal(rc.failureCount, 0, 'a success resets the backoff');
  t.equal(got.length, 5);
  await rc.stop();
});

t.test('503 with Retry-After waits at least that long', async (t) => {
  const { client, registrar, ctl } = await setup(t);
  ctl.behaviour = (req) => req.respond(503, { headers: [['Retry-After', 20]] });
  const rc = client.ua.registerClient({ registrar: registrar.uri, aor: 'sip:bob@example.org', retryBaseMs: 1000, retryJitter: 0 });
  const failed = next<[number, string, number]>(rc, 'failed');
  rc.start();
  t.equal((await failed)[2], 20_000);
  await rc.stop();
});

t.test('§10.2.8: 423 Interval Too Brief is retried with Min-Expires', async (t) => {
  const { client, registrar, got, ctl } = await setup(t);
  ctl.behaviour = (req) => {
    if ((req.request.expires ?? 0) < 600) req.respond(423, { headers: [['Min-Expires', 600]] });
    else grant(600)(req);
  };
  const rc = client.ua.registerClient({ registrar: registrar.uri, aor: 'sip:bob@example.org', expires: 60 });
  const registered = next<[number]>(rc, 'registered');
  rc.start();
  t.equal((await registered)[0], 600);
  t.same(got.map((r) => r.expires), [60, 600]);
  await rc.stop();
});

t.test('§10.2.2: stop() unregisters with Expires: 0 and no refresh follows', async (t) => {
  const { clock, client, registrar, got, ctl } = await setup(t);
  ctl.behaviour = grant(100);
  const rc = client.ua.registerClient({ registrar: registrar.uri, aor: 'sip:bob@example.org' });
  const registered = next(rc, 'registered');
  rc.start();
  await registered;
  const unregistered = next(rc, 'unregistered');
  await rc.stop();
  await unregistered;
  t.equal(rc.state, RegisterState.Stopped);
  t.equal(got.at(-1)!.expires, 0, 'Expires: 0');
  t.equal(got.at(-1)!.get('Contact'), got[0]!.get('Contact'), 'for our Contact');
  const n = got.length;
  clock.advance(3_600_000);
  await new Promise((r) => setImmediate(r));
  t.equal(got.length, n, 'nothing sent after stop');
});

t.test('a registrar that never answers: local 408 after Timer F, then a retry', async (t) => {
  const { clock, client, registrar, got, ctl } = await setup(t);
  ctl.behaviour = () => {};
  const rc = client.ua.registerClient({ registrar: registrar.uri, aor: 'sip:bob@example.org', retryBaseMs: 5000, retryJitter: 0 });
  const failed = next<[number, string, number]>(rc, 'failed');
  rc.start();
  await until(() => got.length === 1);
  clock.advance(32_000);
  const [status, , ms] = await failed;
  t.equal(status, 408);
  t.equal(ms, 5000);
  clock.advance(5000);
  await until(() => got.length === 2, 'retry');
  const stopped = rc.stop();
  await until(() => got.length === 3, 'unregister sent');
  t.equal(got[2]!.expires, 0);
  clock.advance(32_000);
  await stopped;
  t.equal(rc.state, RegisterState.Stopped, 'stopped even though the registrar never answered');
});
