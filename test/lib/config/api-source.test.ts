import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiConfigSource, ConfigValidationError, findDomain, matchClient } from '../../../lib/config/index.js';

const TOKEN = 'tok-SECRET-123';
let mode: 'ok' | 'down' | 'garbage' | 'bad' = 'ok';
let user = '1000';
const requests: IncomingMessage[] = [];

const server = createServer((req, res) => {
  requests.push(req);
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401).end();
    return;
  }
  if (mode === 'down') return void res.writeHead(503).end('maintenance');
  if (mode === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"domains": [');
  const clients = mode === 'bad' ? [{ username: user }] : [{ id: 7, username: user, password: 'pw', dialplan: { '*': 'https://app.test/x' } }];
  const body = { domains: [{ id: 3, domain: 'api.test', clients, trunks: [{ id: 1, name: 'c', inbound: ['192.0.2.0/24'] }] }], count: 1 };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => server.close());
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/config?x=1`;

const captured: string[] = [];
const logger = {
  trace() {},
  debug() {},
  info() {},
  error: (o: object, m?: string) => captured.push(JSON.stringify(o) + m),
  warn: (o: object, m?: string) => captured.push(JSON.stringify(o) + m),
};

t.test('loads the original API payload with the bearer token; cached for CONFIG_TTL', async (t) => {
  let now = 1_000_000;
  const src = new ApiConfigSource({ url, token: TOKEN, ttlSeconds: 60, autoRefresh: false, now: () => now, logger });
  t.teardown(() => src.close());
  requests.length = 0;
  const cfg = await src.load();
  const d = findDomain(cfg, 'api.test')!;
  t.equal(d.id, 3);
  t.equal(matchClient(d, '1000')!.id, 7);
  t.equal(requests.length, 1);
  t.equal(requests[0]!.headers.authorization, `Bearer ${TOKEN}`);

  user = '2000';
  now += 59_000;
  t.equal(await src.get(), cfg, 'within TTL: cached, no request');
  t.equal(requests.length, 1);
  now += 2_000;
  const fresh = await src.get();
  t.equal(requests.length, 2, 'after TTL: fetched again');
  t.ok(matchClient(findDomain(fresh, 'api.test')!, '2000'));
  t.not(fresh, cfg);
  user = '1000';
});

t.test('API down / non-200 / garbage / invalid → last good kept, warning without the token', async (t) => {
  let now = 0;
  const src = new ApiConfigSource({ url, token: TOKEN, ttlSeconds: 10, autoRefresh: false, now: () => now, logger });
  t.teardown(() => src.close());
  mode = 'ok';
  const good = await src.load();
  captured.length = 0;
  for (const m of ['down', 'garbage', 'bad'] as const) {
    mode = m;
    now += 11_000;
    t.equal(await src.get(), good, `${m}: last good config served`);
  }
  t.equal(src.counters.loadFailures, 3);
  t.equal(captured.length, 3, 'one warning per failure');
  t.match(captured[0], /HTTP 503/);
  t.match(captured[1], /invalid JSON/);
  t.match(captured[2], /clients\[0\]: must have a reghook or a password/);
  t.notMatch(captured.join('\n'), /tok-SECRET/, 'the token never appears in logs');
  t.notMatch(captured.join('\n'), /x=1/, 'nor the query string');
  const reqs = requests.length;
  t.equal(await src.get(), good, 'a failed attempt also waits a TTL before retrying');
  t.equal(requests.length, reqs);
  mode = 'ok';
});

t.test('first load failing → typed error', async (t) => {
  mode = 'down';
  await t.rejects(new ApiConfigSource({ url, token: TOKEN, autoRefresh: false }).load(), { code: 'DPBX_ERR_CONFIG_LOAD' });
  mode = 'ok';
  await t.rejects(new ApiConfigSource({ url, token: 'wrong', autoRefresh: false }).load(), { code: 'DPBX_ERR_CONFIG_LOAD', message: /HTTP 401/ });
  // Nothing listens on port 1 of loopback.
  const e = await new ApiConfigSource({ url: 'http://127.0.0.1:1/', token: TOKEN, autoRefresh: false }).load().catch((e) => e);
  t.equal(e.code, 'DPBX_ERR_CONFIG_LOAD');
  t.notMatch(e.message, /tok-SECRET/);
  mode = 'bad';
  const v = await new ApiConfigSource({ url, token: TOKEN, autoRefresh: false }).load().catch((e) => e);
  t.ok(v instanceof ConfigValidationError);
  t.equal(v.issues[0].path, 'domains["api.test"].clients[0]');
  mode = 'ok';
});
