import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HookClient, HookError, hookReply, verifyHookSignature } from '../../../lib/hooks/index.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function withServer(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

t.test('POSTs JSON with Content-Type application/json and returns the parsed reply', async (t) => {
  let seen: { method?: string; ct?: string; body?: unknown } = {};
  const srv = await withServer((req, body, res) => {
    seen = { method: req.method, ct: req.headers['content-type'], body: JSON.parse(body) };
    res.writeHead(200, { 'content-type': 'application/json' }).end('[{"verb":"pause","duration":1}]');
  });
  t.teardown(srv.close);
  const client = new HookClient();
  const reply = await client.call('callhook', srv.url, { from: '1001', to: '1002' });
  t.equal(seen.method, 'POST');
  t.equal(seen.ct, 'application/json');
  t.same(seen.body, { from: '1001', to: '1002' });
  t.equal(reply.status, 200);
  t.same(reply.body, [{ verb: 'pause', duration: 1 }]);
  t.equal(client.counters.ok, 1);
});

t.test('signs the body with X-Dragon-Signature when a secret is configured, and never otherwise', async (t) => {
  const got: Array<{ sig: string | undefined; body: string }> = [];
  const srv = await withServer((req, body, res) => {
    got.push({ sig: req.headers['x-dragon-signature'] as string | undefined, body });
    res.writeHead(200).end('{}');
  });
  t.teardown(srv.close);
  await new HookClient({ secret: 's3cret' }).call('statushook', srv.url, { a: 1 });
  await new HookClient().call('statushook', srv.url, { a: 1 });
  t.ok(got[0]!.sig && verifyHookSignature('s3cret', got[0]!.sig, got[0]!.body), 'signature verifies');
  t.notOk(verifyHookSignature('other', got[0]!.sig, got[0]!.body), 'wrong secret fails');
  t.notOk(verifyHookSignature('s3cret', got[0]!.sig, got[0]!.body + ' '), 'changed body fails');
  t.equal(got[1]!.sig, undefined);
});

t.test('a slow hook times out with DPBX_ERR_HOOK_TIMEOUT', async (t) => {
  const srv = await withServer((_req, _body, res) => {
    setTimeout(() => res.writeHead(200).end('[]'), 2000).unref();
  });
  t.teardown(srv.close);
  const client = new HookClient({ timeoutMs: 100 });
  await t.rejects(client.call('callhook', srv.url, {}), { code: 'DPBX_ERR_HOOK_TIMEOUT' });
  t.equal(client.counters.timeouts, 1);
});

t.test('an unreachable hook fails with DPBX_ERR_HOOK_UNREACHABLE and maps to SIP 503', async (t) => {
  const srv = await withServer((_q, _b, res) => res.end());
  const url = srv.url;
  await srv.close(); // nothing listens on that port any more
  const err = await new HookClient({ timeoutMs: 1000 }).call('reghook', url, {}).catch((e: unknown) => e);
  t.type(err, HookError);
  t.equal((err as HookError).code, 'DPBX_ERR_HOOK_UNREACHABLE');
  t.equal((err as HookError).sipStatus(), 503);
});

t.test('a non-2xx answer is DPBX_ERR_HOOK_STATUS carrying the HTTP status, mapped to that SIP code', async (t) => {
  const srv = await withServer((_q, _b, res) => res.writeHead(404).end('nope'));
  t.teardown(srv.close);
  const err = (await new HookClient().call('reghook', srv.url, {}).catch((e: unknown) => e)) as HookError;
  t.equal(err.code, 'DPBX_ERR_HOOK_STATUS');
  t.equal(err.httpStatus, 404);
  t.equal(err.sipStatus(), 404);
  t.equal(new HookError('DPBX_ERR_HOOK_STATUS', 'x', 302).sipStatus(), 503, 'a non-final-failure status becomes 503');
});

t.test('garbage instead of JSON is DPBX_ERR_HOOK_BAD_JSON', async (t) => {
  const srv = await withServer((_q, _b, res) => res.writeHead(200).end('<html>oops'));
  t.teardown(srv.close);
  await t.rejects(new HookClient().call('callhook', srv.url, {}), { code: 'DPBX_ERR_HOOK_BAD_JSON' });
});

t.test('an oversized reply is refused', async (t) => {
  const srv = await withServer((_q, _b, res) => res.writeHead(200).end('"' + 'x'.repeat(5000) + '"'));
  t.teardown(srv.close);
  await t.rejects(new HookClient({ maxReplyBytes: 1000 }).call('callhook', srv.url, {}), { code: 'DPBX_ERR_HOOK_BAD_JSON' });
});

t.test('secret-named fields never leave the PBX in a hook body', async (t) => {
  let body: any;
  const srv = await withServer((_q, b, res) => {
    body = JSON.parse(b);
    res.writeHead(200).end('{}');
  });
  t.teardown(srv.close);
  const client = new HookClient();
  await client.call('callhook', srv.url, { from: 'a', trunk: { id: 1, name: 'carrier', password: 'pw' }, password: 'x' });
  t.same(body, { from: 'a', trunk: { id: 1, name: 'carrier' } });
  t.equal(client.counters.redactedFields, 2);
});

t.test('function hooks: reply, hookReply status, throw and hang', async (t) => {
  const client = new HookClient({ timeoutMs: 50 });
  t.same((await client.call('callhook', (b) => [{ verb: 'pause', duration: b.count }], { count: 2 })).body, [
    { verb: 'pause', duration: 2 },
  ]);
  await t.rejects(client.call('reghook', () => hookReply(403), {}), { code: 'DPBX_ERR_HOOK_STATUS', httpStatus: 403 });
  await t.rejects(client.call('callhook', () => { throw new Error('bug'); }, {}), { code: 'DPBX_ERR_HOOK_FUNCTION' });
  await t.rejects(client.call('callhook', () => new Promise(() => {}), {}), { code: 'DPBX_ERR_HOOK_TIMEOUT' });
});

t.test('file: hooks resolve against filePath, render templates and report missing or broken files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-hook-'));
  writeFileSync(join(dir, 'script.json'), JSON.stringify([{ verb: 'connect', dest: { type: 'client', address: '{{to}}' } }]));
  writeFileSync(join(dir, 'broken.json'), '[{"verb":');
  const client = new HookClient({ filePath: dir });
  const reply = await client.call('callhook', 'file:script.json', { to: '1002', from: '1001' });
  t.same(reply.body, [{ verb: 'connect', dest: { type: 'client', address: '1002' } }]);
  await t.rejects(client.call('callhook', 'file:missing.json', {}), { code: 'DPBX_ERR_HOOK_FILE' });
  await t.rejects(client.call('callhook', 'file:broken.json', {}), { code: 'DPBX_ERR_HOOK_BAD_JSON' });
  await t.rejects(client.call('callhook', 'ftp://x', {}), { code: 'DPBX_ERR_HOOK_TARGET' });
});
