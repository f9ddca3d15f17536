#!/usr/bin/env node
// examples/webhook-app.js — a complete Dragon PBX application in one file: node:http, no dependencies.
//
//   npm run build && node examples/webhook-app.js              # the app alone, on http://127.0.0.1:3000
//   npm run build && node examples/webhook-app.js --with-pbx   # the app AND a dragon-pbx pointed at it
//
// It serves the three hooks of SPEC §3:
//   POST /reghook   REGISTER / client INVITE: checks the phone's digest with the library's verifyDigest() against
//                   its own user table and answers {status:"ok", dialplan} — or HTTP 403 (the PBX answers SIP 403).
//   POST /callhook  returns a CallScript: an extension 1000-1999 known to the app → ring that client; anything
//                   else → 404; a retry (count ≥ 1) → 480.
//   POST /status    StatusHook events: one JSON line each on stdout.
//   GET  /health    200 "ok".
//
// Environment:
//   PORT          listen port (default 3000; 0 = any free port — the chosen one is printed)
//   HOST          listen address (default 127.0.0.1)
//   PUBLIC_URL    the URL the PBX should use to reach this app (default http://HOST:PORT)
//   USERS         JSON {"username": "password", ...} (default: 1000 and 1001 with demo passwords)
//   HOOK_SECRET   when set, every request must carry a valid X-Dragon-Signature (give the PBX the same HOOK_SECRET)
//   DOMAIN        with --with-pbx: the SIP domain the PBX serves (default webhook.local)
// With --with-pbx every other variable (SIP_PORT, RTP_PORT_MIN, LOGLEVEL, ...) is passed on to dragon-pbx, which
// runs on a generated config: one domain whose clients `1???` are all authorised by this app's /reghook.
//
// Every line on stdout is one JSON object; the first is {"msg":"webhook-app listening","url":...}.
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The package's own entry points (Node resolves a package's name from inside it; an app of yours that depends on
// dragon-pbx imports exactly the same).
import { verifyDigest } from 'dragon-pbx/sip-stack';
import { verifyHookSignature, SIGNATURE_HEADER } from 'dragon-pbx';

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT ?? 3000);
const SECRET = process.env.HOOK_SECRET || undefined;
const USERS = process.env.USERS ? JSON.parse(process.env.USERS) : { 1000: 'change-me-1000', 1001: 'change-me-1001' };
const MAX_BODY = 64 * 1024;

const out = (obj) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');

let baseUrl = '';

// ----- the three hooks --------------------------------------------------------------------------------------------

/** RegHook: who may register (and place calls) and what their dialplan is. */
function regHook(body) {
  const password = Object.hasOwn(USERS, body.username) ? USERS[body.username] : undefined;
  // verifyDigest recomputes the digest response from the password (MD5 or SHA-256, qop=auth); nonce freshness and
  // replay were already checked by the PBX before it called us.
  const ok = typeof password === 'string' && verifyDigest(body, password);
  out({ hook: 'reghook', method: body.method, username: body.username, domain: body.domain,
    from: `${body.source_address}:${body.source_port}`, verdict: ok ? 'ok' : 'denied' });
  if (!ok) return [403, { status: 'denied' }];
  return [200, {
    status: 'ok',
    expires: 600,
    // Everything this user dials goes to /callhook; StatusHook events of those calls to /status.
    dialplan: { '*': { callHook: `${baseUrl}/callhook`, statusHook: `${baseUrl}/status` } },
    codecs: ['G722', 'PCMA', 'PCMU'],
  }];
}

/** CallHook: what to do with one call. The reply is a CallScript (SPEC §4). */
function callHook(body) {
  out({ hook: 'callhook', callId: body.callId, from: body.from, to: body.to, source: body.source, count: body.count,
    refer: body.refer });
  // Retries (count 1, 2, 3) come when the script ended without an answer: give up at once.
  if (body.count > 0) return [200, [{ verb: 'response', code: 480, reason: 'Nobody answered' }]];
  if (/^1\d{3}$/.test(body.to) && Object.hasOwn(USERS, body.to)) {
    return [200, [{
      verb: 'connect',
      statusLabel: 'extension',
      dest: { type: 'client', address: body.to, timeout: 20 },
    }]];
  }
  return [200, [{ verb: 'response', code: 404, reason: 'No such extension' }]];
}

/** StatusHook: fire-and-forget events; the PBX does not wait for the answer beyond its delivery. */
function statusHook(body) {
  const { callId, event, timestamp, label, ...data } = body;
  out({ hook: 'status', callId, event, label, at: timestamp, data });
  return [200, {}];
}

const ROUTES = { '/reghook': regHook, '/callhook': callHook, '/status': statusHook };

// ----- HTTP plumbing ----------------------------------------------------------------------------------------------

function reply(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok');
  }
  const route = ROUTES[(req.url ?? '').split('?')[0]];
  if (!route) return reply(res, 404, { error: 'not found' });
  if (req.method !== 'POST') return reply(res, 405, { error: 'POST only' });
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    // With a shared secret, only the PBX can call us: X-Dragon-Signature = HMAC-SHA256 over "<t>.<raw body>".
    if (SECRET && !verifyHookSignature(SECRET, req.headers[SIGNATURE_HEADER.toLowerCase()], raw)) {
      out({ warn: 'bad or missing signature', url: req.url });
      return reply(res, 401, { error: 'bad signature' });
    }
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      return reply(res, 400, { error: 'body is not JSON' });
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return reply(res, 400, { error: 'body must be an object' });
    try {
      const [status, obj] = route(body);
      reply(res, status, obj);
    } catch (err) {
      out({ error: String(err), url: req.url });
      reply(res, 500, { error: 'internal error' });
    }
  });
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const host = HOST.includes(':') ? `[${HOST}]` : HOST;
  baseUrl = (process.env.PUBLIC_URL || `http://${HOST === '0.0.0.0' ? '127.0.0.1' : host}:${port}`).replace(/\/+$/, '');
  out({ msg: 'webhook-app listening', url: baseUrl, signed: !!SECRET });
  if (process.argv.includes('--with-pbx')) startPbx();
});

// ----- --with-pbx: a dragon-pbx whose clients are authorised by this app --------------------------------------------

let pbx;
let work;

function startPbx() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  work = mkdtempSync(join(tmpdir(), 'dpbx-webhook-app-'));
  const domain = process.env.DOMAIN || 'webhook.local';
  const config = {
    domains: { [domain]: { domain_id: 1, clients: [{ id: 1, username: '1???', reghook: `${baseUrl}/reghook` }], trunks: [] } },
  };
  const configFile = join(work, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  pbx = spawn(process.execPath, [join(root, 'dist', 'bin', 'dragon-pbx.js')], {
    env: { ...process.env, CONFIG_FILE: configFile },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  out({ msg: 'dragon-pbx started', pid: pbx.pid, domain, config: configFile });
  pbx.on('exit', (code, signal) => {
    out({ msg: 'dragon-pbx exited', code, signal });
    pbx = undefined;
    shutdown(code ?? 1);
  });
}

function shutdown(code = 0) {
  if (pbx) {
    pbx.kill('SIGTERM'); // its 'exit' handler comes back here
    return;
  }
  if (work) rmSync(work, { recursive: true, force: true });
  server.close();
  process.exit(code);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
