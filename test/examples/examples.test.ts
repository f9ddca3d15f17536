// The runnable examples of examples/ (README "Examples"): each is started the way the README says, as a child
// process on free loopback ports, and driven from outside — HTTP hook requests for the webhook app, sipp for the
// PBX ones — plus the office-hours `file:` script evaluated at chosen instants through the HookClient.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, hasCommand, repoRoot, skipUnless, freeUdpPort } from '../helpers/env.js';
import { spawnSipp, type SippResult, sippPassed } from '../helpers/sipp.js';
import { HookClient, signHookBody } from '../../lib/hooks/index.js';
import { parseCallScript, type ConnectVerb, type PauseVerb, type ResponseVerb } from '../../lib/script/index.js';
import { normalizeConfig } from '../../lib/config/index.js';

const examples = join(repoRoot, 'examples');
// The examples import the package by name ('dragon-pbx', 'dragon-pbx/sip-stack'), i.e. the build in dist/.
const built = existsSync(join(repoRoot, 'dist', 'lib', 'index.js')) && existsSync(join(repoRoot, 'dist', 'bin', 'dragon-pbx.js'));
const skipBuild = skipUnless(built, 'a build in dist/ (npx tsc -p tsconfig.json)');
const skipSipp = skipBuild || skipUnless(hasCommand('sipp'), "command 'sipp'");

// ---------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------

interface Example {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  text: () => string;
  /** Resolves with the first stdout JSON line (already seen or coming) that `match` accepts. */
  waitLine: (match: (l: Record<string, unknown>) => boolean, what: string, timeoutMs?: number) => Promise<Record<string, unknown>>;
  stop: () => Promise<void>;
}

function startExample(script: string, args: string[], env: Record<string, string>): Example {
  const child = spawn(process.execPath, [join(examples, script), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let all = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    all += d;
    partial += d;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        const v = JSON.parse(line);
        if (v && typeof v === 'object') lines.push(v);
      } catch {
        // not a JSON line: kept in text() only
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (all += d));
  child.on('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  const waitLine = (match: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 30000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output:\n${all.slice(-3000)}`)), timeoutMs);
      const check = () => {
        const hit = lines.find(match);
        if (hit) {
          clearTimeout(deadline);
          return resolve(hit);
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(deadline);
          return reject(new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before ${what}; output:\n${all.slice(-3000)}`));
        }
        waiters.push(check);
      };
      check();
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return { child, lines, text: () => all, waitLine, stop };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; raw: string }> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, raw: text });
      });
    });
    req.on('error', reject);
    req.end(raw);
  });
}

/** A distinct even media range per PBX in this file (the relay wants even ports). */
function rtpRange(): Record<string, string> {
  const min = 47000 + 2 * Math.floor(Math.random() * 4000);
  return { RTP_PORT_MIN: String(min), RTP_PORT_MAX: String(min + 199) };
}

function runSipp(args: string[], killAfterMs = 30000): Promise<SippResult> {
  return spawnSipp([...args, '-i', '127.0.0.1', '-nostdin'], killAfterMs).done;
}

async function sippRegister(port: number, domain: string, user: string, password: string, scenario = 'pbx-register-auth.xml') {
  const local = await freeUdpPort();
  return runSipp([
    '-p', String(local), `127.0.0.1:${port}`, '-sf', fixturePath('sipp', scenario),
    '-s', user, '-key', 'domain', domain, '-key', 'expires', '120',
    '-au', user, '-ap', password, '-auth_uri', domain, '-m', '1', '-timeout', '60', '-timeout_error',
  ]);
}

/** sipp sends one OPTIONS to the PBX; exit 0 = a 200 came back. */
async function sippOptions(port: number, domain: string) {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-examples-'));
  const xml = join(dir, 'options.xml');
  writeFileSync(xml, `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options">
  <send retrans="500"><![CDATA[

      OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:probe@[domain]>;tag=[pid]opt[call_number]
      To: <sip:[service]@[domain]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Accept: application/sdp
      Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
`);
  const local = await freeUdpPort();
  const r = await runSipp(['-p', String(local), `127.0.0.1:${port}`, '-sf', xml, '-s', 'ping', '-key', 'domain', domain,
    '-m', '1', '-timeout', '60', '-timeout_error']);
  rmSync(dir, { recursive: true, force: true });
  return r;
}

/** One OPTIONS from a plain socket; true when any SIP response comes back (used to wait until a PBX listens). */
function sipAnswers(port: number, ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (v: boolean) => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('message', (m) => done(m.toString('latin1').startsWith('SIP/2.0 ')));
    s.bind(0, '127.0.0.1', () => {
      const lp = s.address().port;
      const b = `z9hG4bK${Math.random().toString(36).slice(2)}`;
      s.send([`OPTIONS sip:127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=${b}`, 'Max-Forwards: 70',
        `From: <sip:t@127.0.0.1>;tag=${b.slice(-6)}`, `To: <sip:127.0.0.1:${port}>`, `Call-ID: ${b}`, 'CSeq: 1 OPTIONS',
        'Content-Length: 0', '', ''].join('\r\n'), port, '127.0.0.1');
    });
  });
}

async function waitSip(port: number, ex: Example, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ex.child.exitCode !== null) throw new Error(`exited before listening:\n${ex.text().slice(-3000)}`);
    if (await sipAnswers(port)) return;
  }
  throw new Error(`no SIP answer on ${port}:\n${ex.text().slice(-3000)}`);
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * A RegHook body as the PBX sends it (SPEC §3), with the digest response computed here independently of the
 * library (RFC 7616 §3.4.1, qop=auth).
 */
function regHookBody(user: string, password: string, algorithm: 'MD5' | 'SHA-256' = 'MD5', realm = 'webhook.local') {
  const h = algorithm === 'MD5' ? md5 : sha256;
  const nonce = 'bm9uY2UtZm9yLXRoZS10ZXN0';
  const uri = `sip:${realm}`;
  const nc = '00000001';
  const cnonce = 'c0ffee';
  const ha1 = h(`${user}:${realm}:${password}`);
  const ha2 = h(`REGISTER:${uri}`);
  return {
    source_address: '127.0.0.1', source_port: 5062, method: 'REGISTER', expires: 120, scheme: 'Digest',
    username: user, realm, nonce, uri, algorithm, response: h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`),
    qop: 'auth', nc, cnonce, opaque: null, domain: realm,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// examples/webhook-app.js
// ---------------------------------------------------------------------------------------------------------------

t.test('webhook-app: RegHook verifies the digest, CallHook returns a valid CallScript, StatusHook logs', { skip: skipBuild }, async (t) => {
  const app = startExample('webhook-app.js', [], { PORT: '0', HOST: '127.0.0.1', HOOK_SECRET: '' });
  t.teardown(app.stop);
  const url = String((await app.waitLine((l) => l.msg === 'webhook-app listening', 'the listening line')).url);
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'prints the URL it listens on');

  const ok = await post(`${url}/reghook`, regHookBody('1000', 'change-me-1000'));
  t.equal(ok.status, 200, 'a correct MD5 digest is accepted');
  const okBody = ok.body as { status: string; dialplan: Record<string, { callHook: string; statusHook: string }> };
  t.equal(okBody.status, 'ok');
  t.equal(okBody.dialplan['*']!.callHook, `${url}/callhook`, 'the dialplan sends calls to its own CallHook');
  t.equal(okBody.dialplan['*']!.statusHook, `${url}/status`);

  const sha = await post(`${url}/reghook`, regHookBody('1001', 'change-me-1001', 'SHA-256'));
  t.equal(sha.status, 200, 'a correct SHA-256 digest is accepted');

  const wrong = await post(`${url}/reghook`, regHookBody('1000', 'not-the-password'));
  t.equal(wrong.status, 403, 'a wrong password → HTTP 403 (the PBX answers SIP 403)');
  t.not((wrong.body as { status?: string }).status, 'ok');
  const tampered = { ...regHookBody('1000', 'change-me-1000'), nonce: 'another-nonce' };
  t.equal((await post(`${url}/reghook`, tampered)).status, 403, 'a response for another nonce is refused');
  t.equal((await post(`${url}/reghook`, regHookBody('1999', 'x'))).status, 403, 'an unknown user is refused');
  t.equal((await post(`${url}/reghook`, '{not json')).status, 400, 'a body that is not JSON → 400');

  const call = { domain: 'webhook.local', from: '1000', to: '1001', callId: 'c1@test', sourceAddress: '127.0.0.1',
    source: 'client', headers: {}, refer: false, count: 0 };
  const r1 = await post(`${url}/callhook`, call);
  t.equal(r1.status, 200);
  const s1 = parseCallScript(r1.body);
  t.equal(s1.length, 1);
  const connect = s1[0] as ConnectVerb;
  t.equal(connect.verb, 'connect', 'a known extension is connected');
  t.same(connect.dest.map((d) => [d.type, d.address]), [['client', '1001']]);

  const s2 = parseCallScript((await post(`${url}/callhook`, { ...call, to: '5551234' })).body);
  t.same([s2[0]!.verb, (s2[0] as ResponseVerb).code], ['response', 404], 'an unknown number → 404');
  const s3 = parseCallScript((await post(`${url}/callhook`, { ...call, count: 1 })).body);
  t.same([s3[0]!.verb, (s3[0] as ResponseVerb).code], ['response', 480], 'a retry → 480');

  const st = await post(`${url}/status`, { callId: 'c1@test', event: 'connect:answered', timestamp: '2026-01-01T00:00:00Z', dest: 'x', index: 0 });
  t.equal(st.status, 200, 'StatusHook events are acknowledged');
  const logged = await app.waitLine((l) => l.hook === 'status' && l.event === 'connect:answered', 'the status event on stdout');
  t.equal(logged.callId, 'c1@test', 'and logged');
  t.equal((await post(`${url}/nowhere`, {})).status, 404, 'unknown paths → 404');
  t.notMatch(app.text(), /change-me-100/, 'passwords never reach the log');
});

t.test('webhook-app with HOOK_SECRET: only signed requests are served', { skip: skipBuild }, async (t) => {
  const secret = 'example-hook-secret';
  const app = startExample('webhook-app.js', [], { PORT: '0', HOST: '127.0.0.1', HOOK_SECRET: secret });
  t.teardown(app.stop);
  const url = String((await app.waitLine((l) => l.msg === 'webhook-app listening', 'the listening line')).url);
  const body = JSON.stringify({ domain: 'webhook.local', from: '1000', to: '1001', callId: 'c2', source: 'client', count: 0 });
  t.equal((await post(`${url}/callhook`, body)).status, 401, 'unsigned → 401');
  const now = Math.floor(Date.now() / 1000);
  t.equal((await post(`${url}/callhook`, body, { 'x-dragon-signature': signHookBody('wrong-secret', body, now) })).status, 401,
    'signed with another secret → 401');
  const signed = await post(`${url}/callhook`, body, { 'x-dragon-signature': signHookBody(secret, body, now) });
  t.equal(signed.status, 200, 'signed with the shared secret → served');
  t.equal(parseCallScript(signed.body)[0]!.verb, 'connect');
});

t.test('webhook-app --with-pbx: a phone registers through the PBX and the app decides', { skip: skipSipp }, async (t) => {
  const sipPort = await freeUdpPort();
  const app = startExample('webhook-app.js', ['--with-pbx'], {
    PORT: '0', HOST: '127.0.0.1', HOOK_SECRET: '', DOMAIN: 'webhook.local', SIP_HOST: '127.0.0.1', SIP_PORT: String(sipPort),
    PUBLIC_IP: '127.0.0.1', WEBPORT: '0', LOGLEVEL: 'warn', ...rtpRange(),
  });
  t.teardown(app.stop);
  await app.waitLine((l) => l.msg === 'dragon-pbx started', 'the PBX to be spawned');
  await waitSip(sipPort, app);

  const reg = await sippRegister(sipPort, 'webhook.local', '1000', 'change-me-1000');
  sippPassed(t, reg, 'REGISTER with the right password: 401, then 200');
  const verdict = await app.waitLine((l) => l.hook === 'reghook' && l.username === '1000', 'the RegHook call');
  t.equal(verdict.verdict, 'ok', 'the app verified the digest the PBX forwarded');

  const bad = await sippRegister(sipPort, 'webhook.local', '1001', 'wrong-password', 'pbx-register-refused.xml');
  sippPassed(t, bad, 'REGISTER with a wrong password is refused');
  const denied = await app.waitLine((l) => l.hook === 'reghook' && l.username === '1001', 'the second RegHook call');
  t.equal(denied.verdict, 'denied');
});

// ---------------------------------------------------------------------------------------------------------------
// examples/embed.js
// ---------------------------------------------------------------------------------------------------------------

t.test('embed: createPbx with in-process hooks answers OPTIONS and registers phones', { skip: skipSipp }, async (t) => {
  const sipPort = await freeUdpPort();
  const ex = startExample('embed.js', [], {
    SIP_HOST: '127.0.0.1', SIP_PORT: String(sipPort), PUBLIC_IP: '127.0.0.1', WEBPORT: '0', LOGLEVEL: 'warn',
    DOMAIN: 'embed.local', ...rtpRange(),
  });
  t.teardown(ex.stop);
  const started = await ex.waitLine((l) => l.msg === 'embed: started', 'the started line');
  const udp = (started.sip as { transport: string; port: number }[]).find((s) => s.transport === 'udp');
  t.equal(udp?.port, sipPort, 'listening on SIP_PORT from the environment');

  const opt = await sippOptions(sipPort, 'embed.local');
  sippPassed(t, opt, 'OPTIONS → 200');

  const stat = await sippRegister(sipPort, 'embed.local', '1000', 'change-me-1000');
  sippPassed(t, stat, 'static-password phone registers');

  const viaHook = await sippRegister(sipPort, 'embed.local', '2000', 'change-me-2000');
  sippPassed(t, viaHook, 'phone authorised by the in-process RegHook registers');
  const v = await ex.waitLine((l) => l.hook === 'reghook' && l.username === '2000', 'the in-process RegHook call');
  t.equal(v.verdict, 'ok', 'verifyDigest accepted the forwarded digest');

  const refused = await sippRegister(sipPort, 'embed.local', '2001', 'wrong-password', 'pbx-register-refused.xml');
  sippPassed(t, refused, 'a wrong password is refused');
});

// ---------------------------------------------------------------------------------------------------------------
// examples/scripts/office-hours.json (+ examples/office-config.json, examples/webhook-config.json)
// ---------------------------------------------------------------------------------------------------------------

t.test('office-hours: the rule for the time of the call wins', async (t) => {
  const at = (iso: string, count = 0) => {
    const hooks = new HookClient({ filePath: examples, now: () => new Date(iso) });
    return hooks
      .call('callhook', 'file:scripts/office-hours.json', { domain: 'office.local', from: '+441632960001', to: '0',
        callId: `oh-${iso}`, source: 'trunk', count, refer: false, headers: {} })
      .then((r) => parseCallScript(r.body));
  };
  // 2026-11-25 is a Wednesday; London is on GMT (UTC+0) in November and on BST (UTC+1) in July.
  const open = await at('2026-11-25T10:00:00Z');
  t.equal(open[0]!.verb, 'connect', 'Wednesday 10:00 London: reception rings');
  t.same((open[0] as ConnectVerb).dest.map((d) => d.address), ['1000', '1001'], 'both reception phones in parallel');
  t.equal(open[0]!.statusLabel, 'reception');

  const retry = await at('2026-11-25T10:01:00Z', 2);
  t.same(retry.map((v) => v.verb), ['pause', 'connect'], 'a retry in office hours waits, then rings again');
  t.equal((retry[0] as PauseVerb).duration, 2);
  t.equal(retry[1]!.statusLabel, 'retry-2', 'placeholders are filled in');

  const closed = (s: Awaited<ReturnType<typeof at>>) => [s[0]!.verb, (s[0] as ResponseVerb).code, (s[0] as ResponseVerb).reason];
  t.same(closed(await at('2026-11-25T17:30:00Z')), ['response', 480, 'Office closed'], '17:30 is closing time (end exclusive)');
  t.same(closed(await at('2026-11-25T08:59:00Z')), ['response', 480, 'Office closed'], 'before 09:00');
  t.same(closed(await at('2026-11-28T12:00:00Z')), ['response', 480, 'Office closed'], 'Saturday');
  t.same(closed(await at('2026-12-25T11:00:00Z')), ['response', 480, 'Closed for the holiday'], 'Christmas Day (a Friday)');
  t.equal((await at('2026-07-15T08:30:00Z'))[0]!.verb, 'connect', 'summer: 08:30 UTC is 09:30 in London (BST), open');
  t.same(closed(await at('2026-07-15T16:45:00Z')), ['response', 480, 'Office closed'], 'summer: 16:45 UTC is 17:45 BST, closed');
  t.same(closed(await at('2026-11-26T00:30:00Z')), ['response', 480, 'Office closed'], 'Thursday 00:30 is closed');
});

t.test('example configs load with the config validator', async (t) => {
  for (const name of ['office-config.json', 'webhook-config.json']) {
    const raw = JSON.parse(readFileSync(join(examples, name), 'utf8'));
    const cfg = normalizeConfig(raw, { filePath: examples });
    t.ok(cfg, `${name} is a valid config`);
  }
});
