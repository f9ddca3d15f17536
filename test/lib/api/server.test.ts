import t from 'tap';
import { ApiServer, type ApiBackend, type CallRedirect, type CdrQuery } from '../../../lib/api/index.js';

/** An in-memory backend with two isolated domains, recording what the API asked of it. */
function fakeBackend() {
  const calls: Record<string, Record<string, { id: string }>> = { 'a.example': { c1: { id: 'c1' } }, 'b.example': { c2: { id: 'c2' } } };
  const asked: Array<[string, ...unknown[]]> = [];
  let reloadOk = true;
  const has = (d: string, id: string) => !!calls[d]?.[id];
  const backend: ApiBackend = {
    health: () => ({ status: 'ok' }),
    metrics: () => 'dpbx_up 1\n',
    listDomains: () => Object.keys(calls).map((domain) => ({ domain })),
    getDomain: (d) => (calls[d] ? { domain: d } : undefined),
    listCalls: (d) => (calls[d] ? Object.values(calls[d]) : undefined),
    getCall: (d, id) => calls[d]?.[id],
    hangupCall: async (d, id, leg) => { asked.push(['hangup', d, id, leg]); return has(d, id); },
    redirectCall: async (d, id, r: CallRedirect) => { asked.push(['redirect', d, id, r]); return has(d, id); },
    transferCall: async (d, id, target) => { asked.push(['transfer', d, id, target]); return has(d, id); },
    muteCall: async (d, id, leg, mute) => { asked.push(['mute', d, id, leg, mute]); return has(d, id); },
    listRegistrations: async (d) => (calls[d] ? [{ user: '1001' }] : undefined),
    getRegistration: async (d, u) => (calls[d] && u === '1001' ? { user: u } : undefined),
    listCdrs: async (d, q: CdrQuery) => { asked.push(['cdrs', d, q]); return calls[d] ? [] : undefined; },
    getLadder: (id) => (id === 'c1' ? [{ dir: 'in', method: 'INVITE' }] : undefined),
    reload: async () => (reloadOk ? { ok: true } : { ok: false, error: 'domains.x: bad' }),
    shutdown: async () => { asked.push(['shutdown']); },
  };
  return { backend, asked, failReload: () => (reloadOk = false) };
}

async function start(t: any, token?: string) {
  const fake = fakeBackend();
  const api = new ApiServer({ backend: fake.backend, port: 0, ...(token ? { token } : {}) });
  const addr = await api.listen();
  t.teardown(() => api.close());
  const base = `http://127.0.0.1:${addr.port}`;
  const req = async (method: string, path: string, body?: unknown, auth = token) => {
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = `Bearer ${auth}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: res.status, body: json as any, headers: res.headers };
  };
  return { ...fake, api, req };
}

t.test('GET /health needs no token; everything else does', async (t) => {
  const { req, api } = await start(t, 'tok');
  t.same((await req('GET', '/health', undefined, '')).body, { status: 'ok' });
  const denied = await req('GET', '/domains', undefined, '');
  t.equal(denied.status, 401);
  t.equal(denied.headers.get('www-authenticate'), 'Bearer realm="dragon-pbx"');
  t.equal((await req('GET', '/domains', undefined, 'wrong')).status, 401);
  t.equal((await req('GET', '/domains')).status, 200);
  t.equal(api.counters.unauthorized, 2);
});

t.test('domain-scoped paths: a call of another domain is 404', async (t) => {
  const { req } = await start(t, 'tok');
  t.same((await req('GET', '/domains/a.example/calls/c1')).body, { id: 'c1' });
  t.equal((await req('GET', '/domains/a.example/calls/c2')).status, 404);
  t.equal((await req('DELETE', '/domains/a.example/calls/c2')).status, 404);
  t.equal((await req('GET', '/domains/nope.example')).status, 404);
  t.equal((await req('GET', '/domains/nope.example/calls')).status, 404);
  t.same((await req('GET', '/domains/b.example/calls')).body, [{ id: 'c2' }]);
});

t.test('hangup, transfer and mute validate their input and reach the backend', async (t) => {
  const { req, asked } = await start(t, 'tok');
  t.equal((await req('DELETE', '/domains/a.example/calls/c1?leg=B')).status, 200);
  t.equal((await req('DELETE', '/domains/a.example/calls/c1?leg=C')).status, 400);
  t.equal((await req('POST', '/domains/a.example/calls/c1/transfer', { target: '1003' })).status, 202);
  t.equal((await req('POST', '/domains/a.example/calls/c1/transfer', { target: 'a\r\nb' })).status, 400);
  t.equal((await req('POST', '/domains/a.example/calls/c1/mute', { leg: 'A' })).status, 200);
  t.equal((await req('POST', '/domains/a.example/calls/c1/mute', { leg: 'X' })).status, 400);
  t.same(asked, [
    ['hangup', 'a.example', 'c1', 'B'],
    ['transfer', 'a.example', 'c1', '1003'],
    ['mute', 'a.example', 'c1', 'A', true],
  ]);
});

t.test('PUT redirect takes a validated CallScript or {callHook, statusHook}', async (t) => {
  const { req, asked } = await start(t, 'tok');
  t.equal((await req('PUT', '/domains/a.example/calls/c1', [{ verb: 'pause', duration: 1 }])).status, 200);
  t.equal((await req('PUT', '/domains/a.example/calls/c1', { callHook: 'https://app/x', statusHook: 'file:s.json' })).status, 200);
  const bad = await req('PUT', '/domains/a.example/calls/c1', [{ verb: 'connect', dest: [] }]);
  t.equal(bad.status, 400);
  t.match(bad.body.error, /\[0\]\.dest/);
  t.equal((await req('PUT', '/domains/a.example/calls/c1', '{not json')).status, 400);
  t.equal((await req('PUT', '/domains/a.example/calls/c1', { callHook: 'ftp://x' })).status, 400);
  t.same(asked.map((a) => a[3]), [
    { script: [{ verb: 'pause', duration: 1 }] },
    { callHook: 'https://app/x', statusHook: 'file:s.json' },
  ]);
});

t.test('oversized bodies are refused with 413', async (t) => {
  const { req } = await start(t, 'tok');
  t.equal((await req('PUT', '/domains/a.example/calls/c1', '"' + 'x'.repeat(70 * 1024) + '"')).status, 413);
});

t.test('registrations, cdrs query parsing, ladder, metrics', async (t) => {
  const { req, asked } = await start(t, 'tok');
  t.same((await req('GET', '/domains/a.example/registrations/1001')).body, { user: '1001' });
  t.equal((await req('GET', '/domains/a.example/registrations/1002')).status, 404);
  t.equal((await req('GET', '/domains/a.example/cdrs?from=2026-11-01T00:00:00Z&to=1795000000&limit=5')).status, 200);
  t.equal((await req('GET', '/domains/a.example/cdrs?limit=0')).status, 400);
  t.equal((await req('GET', '/domains/a.example/cdrs?from=yesterday')).status, 400);
  const q = asked.find((a) => a[0] === 'cdrs')![2] as CdrQuery;
  t.equal(q.limit, 5);
  t.equal(q.from?.toISOString(), '2026-11-01T00:00:00.000Z');
  t.equal(q.to?.getTime(), 1795000000 * 1000);
  t.same((await req('GET', '/calls/c1/ladder')).body, [{ dir: 'in', method: 'INVITE' }]);
  t.equal((await req('GET', '/calls/zz/ladder')).status, 404);
  const m = await req('GET', '/metrics');
  t.equal(m.body, 'dpbx_up 1\n');
  t.match(m.headers.get('content-type'), /^text\/plain/);
  t.equal((await req('GET', '/nothing/here')).status, 404);
});

t.test('reload reports failure with 422 and keeps serving; shutdown answers 202 then drains', async (t) => {
  const { req, failReload, asked } = await start(t, 'tok');
  t.same((await req('POST', '/reload')).body, { ok: true });
  failReload();
  const r = await req('POST', '/reload');
  t.equal(r.status, 422);
  t.same(r.body, { ok: false, error: 'domains.x: bad' });
  t.equal((await req('POST', '/shutdown')).status, 202);
  await new Promise((r) => setImmediate(r));
  t.ok(asked.some((a) => a[0] === 'shutdown'));
});

t.test('without a token every route is open (only allowed on loopback by the options parser)', async (t) => {
  const { req } = await start(t);
  t.equal((await req('GET', '/domains', undefined, '')).status, 200);
});
