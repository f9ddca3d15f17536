/**
 * RegHook clients (SPEC §3): the PBX inspects the digest (nonce, realm, uri, replay), then asks the application,
 * which verifies the response itself with verifyDigest(). Served by a real HTTP server on 127.0.0.1:0, and by a
 * function hook; with the memory store and with Redis.
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { parseMessage, verifyDigest, type SipRequest } from '../../../sip-stack/index.js';
import { HookClient, hookReply } from '../../../lib/hooks/index.js';
import { createLogger } from '../../../lib/log.js';
import { skipUnlessRedis } from '../../helpers/env.js';
import { contactsOf, DOMAIN, makeConfig, makeRig, TestUa, udpSource, type StoreKind } from './harness.js';

const redisSkip = await skipUnlessRedis();

/** The app's user database: never sent to or stored by the PBX. */
const APP_PASSWORDS: Record<string, string> = { '1001': 'app-pass-1001', '1002': 'app-pass-1002' };

type Behaviour = (body: Record<string, unknown>, res: ServerResponse) => void;

interface App {
  url: string;
  bodies: Record<string, unknown>[];
  behave(b: Behaviour | undefined): void;
}

/** A RegHook application: verifies the digest with the library helper and answers like a real app would. */
function defaultApp(body: Record<string, unknown>, res: ServerResponse): void {
  const pw = APP_PASSWORDS[String(body.username)];
  const ok = pw !== undefined && verifyDigest(body as never, pw);
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify(
      ok
        ? { status: 'ok', expires: 120, dialplan: { '2???': 'https://app.test/internal', '9*': { callHook: 'https://app.test/out', statusHook: 'https://app.test/status' } }, codecs: ['pcmu', 'G722'] }
        : { status: 'denied' },
    ),
  );
}

async function startApp(t: Test): Promise<App> {
  const bodies: Record<string, unknown>[] = [];
  let behaviour: Behaviour | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      bodies.push(body);
      (behaviour ?? defaultApp)(body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/reghook`,
    bodies,
    behave: (b) => (behaviour = b),
  };
}

const SPEC_BODY_KEYS = [
  'algorithm', 'cnonce', 'domain', 'expires', 'method', 'nc', 'nonce', 'opaque', 'qop', 'realm', 'response', 'scheme',
  'source_address', 'source_port', 'uri', 'username',
].sort();

function suite(t: Test, kind: StoreKind): void {
  t.test('HTTP RegHook accepts: body per SPEC §3 without any password; dialplan, codecs and expires applied', async (t) => {
    const app = await startApp(t);
    const { registrar, store } = await makeRig(kind, { config: makeConfig(app.url) });
    t.teardown(() => store.close());
    const ua = new TestUa(registrar, '1001', APP_PASSWORDS['1001']!);
    const r = await ua.send({ user: '1001', expires: 600 });
    t.same(r.responses.map((x) => x.status), [401, 200]);
    t.same(contactsOf(r.final).map((c) => c[1]), [120], 'granted min(requested 600, hook 120, MAX)');
    t.equal(app.bodies.length, 1, 'the hook is called once, for the request with credentials');
    const body = app.bodies[0]!;
    t.same(Object.keys(body).sort(), SPEC_BODY_KEYS);
    t.match(body, {
      source_address: udpSource.address,
      source_port: udpSource.port,
      method: 'REGISTER',
      expires: 600,
      scheme: 'Digest',
      username: '1001',
      realm: DOMAIN,
      domain: DOMAIN,
      uri: `sip:${DOMAIN}`,
      algorithm: 'SHA-256',
      qop: 'auth',
      nc: '00000001',
    });
    t.notMatch(JSON.stringify(body), /app-pass|s3cret|pw-3000|password|ha1/i, 'no secret in the RegHook body');
    const reg = await store.lookup({ domain: DOMAIN, user: '1001' });
    t.same(reg!.assignment, {
      source: 'reghook',
      dialplan: { '2???': 'https://app.test/internal', '9*': { callHook: 'https://app.test/out', statusHook: 'https://app.test/status' } },
      codecs: ['PCMU', 'G722'],
      clientId: 3,
    });
  });

  t.test('RegHook status other than "ok" → 403 (counted as a failed attempt)', async (t) => {
    const app = await startApp(t);
    const { registrar, store } = await makeRig(kind, { config: makeConfig(app.url) });
    t.teardown(() => store.close());
    const r = await new TestUa(registrar, '1001', 'wrong').send({ user: '1001' });
    t.same(r.responses.map((x) => x.status), [401, 403]);
    t.equal(registrar.counters.hookRejected, 1);
    t.equal(registrar.counters.authFailures, 1);
    t.equal(await store.lookup({ domain: DOMAIN, user: '1001' }), undefined);
  });

  t.test('non-200 HTTP → that SIP code; 401 → a fresh challenge', async (t) => {
    const app = await startApp(t);
    const { registrar, store } = await makeRig(kind, { config: makeConfig(app.url) });
    t.teardown(() => store.close());
    for (const code of [404, 480, 500, 603]) {
      app.behave((_b, res) => {
        res.statusCode = code;
        res.end('{}');
      });
      const r = await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' });
      t.equal(r.final.status, code, `HTTP ${code} → SIP ${code}`);
    }
    app.behave((_b, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://127.0.0.1:9/');
      res.end();
    });
    t.equal((await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' })).final.status, 503, 'HTTP 3xx (not a SIP failure code) → 503');
    app.behave((_b, res) => {
      res.statusCode = 401;
      res.end();
    });
    const r = await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' });
    t.same(r.responses.map((x) => x.status), [401, 401], 'the UA gives up after the second challenge');
    t.ok(r.final.has('WWW-Authenticate'), 'a SIP 401 always carries a challenge');
  });

  t.test('timeout and unreachable → 503 with Retry-After', async (t) => {
    const app = await startApp(t);
    const { registrar, store } = await makeRig(kind, { config: makeConfig(app.url), hooks: new HookClient({ timeoutMs: 200 }) });
    t.teardown(() => store.close());
    app.behave(() => {
      /* never answers */
    });
    const slow = await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' });
    t.equal(slow.final.status, 503);
    t.ok(Number(slow.final.get('Retry-After')) > 0);
    const dead = await makeRig(kind, { config: makeConfig('http://127.0.0.1:9/reghook') });
    t.teardown(() => dead.store.close());
    const r = await new TestUa(dead.registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' });
    t.equal(r.final.status, 503);
    t.equal(dead.registrar.counters.hookErrors, 1);
  });

  t.test('a malformed "ok" reply (bad dialplan, bad codecs, not JSON) → 503, nothing stored', async (t) => {
    const app = await startApp(t);
    const { registrar, store } = await makeRig(kind, { config: makeConfig(app.url) });
    t.teardown(() => store.close());
    const replies = [
      { status: 'ok', dialplan: { '1???': 42 } },
      { status: 'ok', dialplan: { '1???': 'ftp://nope' } },
      { status: 'ok', dialplan: {}, codecs: ['NOT-A-CODEC'] },
      { status: 'ok', dialplan: {}, expires: -5 },
      'not json at all',
    ];
    for (const reply of replies) {
      app.behave((_b, res) => res.end(typeof reply === 'string' ? reply : JSON.stringify(reply)));
      const r = await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' });
      t.equal(r.final.status, 503, JSON.stringify(reply));
    }
    t.equal(await store.lookup({ domain: DOMAIN, user: '1001' }), undefined);
    app.behave((_b, res) => res.end(JSON.stringify({ status: 'ok' })));
    const r = await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' });
    t.equal(r.final.status, 200, 'a reply without dialplan is an empty dialplan');
    t.same((await store.lookup({ domain: DOMAIN, user: '1001' }))!.assignment!.dialplan, {});
  });

  t.test('the PBX checks what it can before asking the app: username = To user, stale nonce, replay', async (t) => {
    const app = await startApp(t);
    const { registrar, store, clock } = await makeRig(kind, { config: makeConfig(app.url) });
    t.teardown(() => store.close());
    // 1002's valid credentials for 1001's AOR.
    const r = await new TestUa(registrar, '1002', APP_PASSWORDS['1002']!).send({ user: '1001' });
    t.equal(r.final.status, 403);
    t.equal(app.bodies.length, 0, 'the hook was not asked');
    const ua = new TestUa(registrar, '1001', APP_PASSWORDS['1001']!);
    const ok = await ua.send({ user: '1001', expires: 600 });
    t.equal(ok.final.status, 200);
    t.equal(app.bodies.length, 1);
    const replayed = await registrar.handleRegister(parseMessage(ok.requests[1]!.toBuffer()) as SipRequest, udpSource);
    t.equal(replayed.status, 401, 'a replayed nonce-count is challenged again');
    t.equal(app.bodies.length, 1, 'and never reaches the hook');
    clock.advance(301_000);
    const again = await ua.send({ user: '1001', expires: 600 });
    t.match(again.responses[0]!.get('WWW-Authenticate'), /stale=true/);
    t.equal(again.final.status, 200);
    t.equal(app.bodies.length, 2, 'stale: re-challenged without asking the hook');
  });
}

t.test('RegHook with the memory store', async (t) => suite(t, 'memory'));
t.test('RegHook with the Redis store', { skip: redisSkip }, async (t) => suite(t, 'redis'));

t.test('a function hook (library users) instead of a URL', async (t) => {
  const seen: Record<string, unknown>[] = [];
  const fn = (body: Record<string, unknown>) => {
    seen.push(body);
    if (body.username === '1002') return hookReply(403);
    return verifyDigest(body as never, APP_PASSWORDS[String(body.username)]!)
      ? { status: 'ok', dialplan: { '*': 'https://app.test/any' } }
      : { status: 'nope' };
  };
  const { registrar, store } = await makeRig('memory', { config: makeConfig(fn) });
  t.teardown(() => store.close());
  const r = await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001', expires: 600 });
  t.equal(r.final.status, 200);
  t.same(contactsOf(r.final).map((c) => c[1]), [600]);
  t.same((await store.lookup({ domain: DOMAIN, user: '1001' }))!.assignment!.codecs, ['G722', 'PCMA', 'PCMU'], 'no codecs in the reply: the client default');
  t.equal((await new TestUa(registrar, '1001', 'bad').send({ user: '1001' })).final.status, 403);
  t.equal((await new TestUa(registrar, '1002', APP_PASSWORDS['1002']!).send({ user: '1002' })).final.status, 403, 'hookReply(403) → 403');
  t.equal(seen.length, 3);
  const throwing = await makeRig('memory', {
    config: makeConfig(() => {
      throw new Error('app bug');
    }),
  });
  t.teardown(() => throwing.store.close());
  t.equal((await new TestUa(throwing.registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' })).final.status, 503, 'a throwing function → 503');
});

t.test('secrets never reach the logs (static passwords, RegHook flows, failures)', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'trace', destination: sink as never });
  const app = await startApp(t);
  const { registrar, store } = await makeRig('memory', {
    config: makeConfig(app.url),
    logger,
    hooks: new HookClient({ timeoutMs: 500, logger }),
    throttle: { maxFailures: 2 },
  });
  t.teardown(() => store.close());
  await new TestUa(registrar, '2001', 's3cret-2001').send();
  await new TestUa(registrar, '2001', 'wrong-guess-xyz').send();
  await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' });
  await new TestUa(registrar, '1001', 'app-wrong-abc').send({ user: '1001' });
  await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!).send({ user: '1001' }); // throttled now
  app.behave((_b, res) => {
    res.statusCode = 500;
    res.end();
  });
  await new TestUa(registrar, '1001', APP_PASSWORDS['1001']!, undefined, { ...udpSource, address: '203.0.113.77' }).send({ user: '1001' });
  await new Promise((r) => setImmediate(r));
  const text = lines.join('');
  t.ok(lines.length >= 5, `logged ${lines.length} lines`);
  for (const secret of ['s3cret-2001', 'wrong-guess-xyz', 'app-pass-1001', 'app-wrong-abc', 'pw-3000']) {
    t.notOk(text.includes(secret), `"${secret}" not in the logs`);
  }
  t.notMatch(text, /Digest username=|response="/, 'no Authorization header in the logs');
});
