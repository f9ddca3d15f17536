// Issue 6 §5 through createPbx: a real softphone (baresip) registers to a RegHook-controlled account. The RegHook
// is a real node:http server in this test; it receives the SPEC §3 body (digest fields, never a password),
// verifies the digest with the library's `verifyDigest` and answers {status: "ok", dialplan, codecs}, which the
// PBX stores with the registration. A second account with a wrong password is refused by the hook.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPbx } from '../../../lib/index.js';
import { verifyDigest } from '../../../sip-stack/index.js';
import { skipUnlessCommand } from '../../helpers/env.js';
import { freeUdpPort, waitFor } from './peers.js';

const skip = skipUnlessCommand('baresip');

/** The SPEC §3 RegHook body fields. */
const BODY_FIELDS = ['source_address', 'source_port', 'method', 'expires', 'scheme', 'username', 'realm', 'nonce', 'uri',
  'algorithm', 'response', 'qop', 'nc', 'cnonce', 'opaque', 'domain'];

/** The application's user database: only the application knows these passwords, never the PBX. */
const PASSWORDS: Record<string, string> = { '2001': 'pw-2001-hook-only', '2002': 'pw-2002-hook-only' };

interface HookApp {
  url: string;
  bodies: Record<string, unknown>[];
  verdicts: { username: string; ok: boolean }[];
  close(): Promise<void>;
}

async function startRegHookApp(): Promise<HookApp> {
  const bodies: Record<string, unknown>[] = [];
  const verdicts: { username: string; ok: boolean }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end();
        return;
      }
      bodies.push(body);
      const username = String(body.username);
      const password = PASSWORDS[username];
      // The application verifies the digest itself (SPEC §3), with the helper the library exports.
      const ok = req.url === '/reghook' && password !== undefined &&
        verifyDigest(body as unknown as Parameters<typeof verifyDigest>[0], password);
      verdicts.push({ username, ok });
      const reply = ok
        ? { status: 'ok', expires: 120, dialplan: { '2???': 'http://127.0.0.1:9/call', '9*': { callHook: 'file:out.json' } }, codecs: ['PCMU', 'PCMA'] }
        : { status: 'wrong password' };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/reghook`,
    bodies,
    verdicts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A headless baresip: a temp config dir with `config` (SIP listener on loopback, no audio) and `accounts`. */
async function startBaresip(t: Test, pbxPort: number, domain: string, accounts: { user: string; password: string }[]): Promise<{ child: ChildProcess; out: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-baresip-'));
  const sipPort = await freeUdpPort();
  writeFileSync(join(dir, 'config'), [
    `sip_listen\t\t127.0.0.1:${sipPort}`,
    'module_path\t\t/usr/lib/baresip/modules',
    // account.so reads the accounts file; nothing else is needed to register (no audio, no UI).
    'module_app\t\taccount.so',
    'audio_player\t\tnone',
    'audio_source\t\tnone',
    'audio_alert\t\tnone',
    'net_interface\t\t127.0.0.1',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), accounts.map((a) =>
    // The outbound proxy sends everything to the PBX (the domain has no DNS); regint = requested expiry.
    `<sip:${a.user}@${domain}>;auth_user=${a.user};auth_pass=${a.password};outbound="sip:127.0.0.1:${pbxPort}";regint=60;answermode=manual\n`,
  ).join(''));
  writeFileSync(join(dir, 'contacts'), '');
  const child = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { child, out: () => out };
}


t.test('baresip registers to a RegHook account; the hook verifies the digest and assigns the dialplan', { skip }, async (t) => {
  const app = await startRegHookApp();
  t.teardown(() => app.close());
  const domain = `rh-${randomBytes(4).toString('hex')}.test`;
  const pbx = createPbx({
    config: { domains: { [domain]: { clients: [{ id: 7, username: '2???', reghook: app.url }] } } },
    sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: 44000, rtpPortMax: 44999,
    // Debian's baresip 1.0 (libre 1.x) gives up with ENOSYS ("Register: Function not implemented") as soon as a
    // 401 carries any WWW-Authenticate with algorithm=SHA-256, whatever its position: challenge with MD5 only.
    digestAlgorithms: ['MD5'],
  });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  const port = addr.sip.find((s) => s.transport === 'udp')!.port;

  const phone = await startBaresip(t, port, domain, [
    { user: '2001', password: PASSWORDS['2001']! },
    { user: '2002', password: 'not-the-password' },
  ]);

  const reg = await waitFor(() => pbx.store.lookup({ domain, user: '2001' }), 'baresip 2001 registered').catch((err: Error) => {
    t.comment(phone.out());
    throw err;
  });
  t.equal(reg.contacts.length, 1, 'one binding for 2001');
  t.match(reg.contacts[0]!.uri, /^sip:2001[^@]*@127\.0\.0\.1:\d+/, "the binding is baresip's Contact");
  t.ok(reg.contacts[0]!.expiresAt - Date.now() <= 120_000, "the hook's expires (120 s) caps the granted expiry");
  t.equal(reg.assignment?.source, 'reghook', 'the assignment comes from the RegHook');
  t.same(reg.assignment?.dialplan, { '2???': 'http://127.0.0.1:9/call', '9*': { callHook: 'file:out.json' } }, "the hook's dialplan is stored");
  t.same(reg.assignment?.codecs, ['PCMU', 'PCMA'], "the hook's codecs are stored");

  // The hook records its verdict before it answers: wait until the PBX has acted on the refusal too.
  await waitFor(() => app.verdicts.some((v) => v.username === '2002') && pbx.registrar.counters.authFailures >= 1, 'the refusal of 2002');
  t.ok(app.verdicts.every((v) => v.ok === (v.username === '2001')), 'the hook accepts 2001 and refuses the wrong password of 2002');
  t.equal(await pbx.store.lookup({ domain, user: '2002' }), undefined, '2002 (refused by the hook) is not registered');

  const body = app.bodies.find((b) => b.username === '2001')!;
  t.same(Object.keys(body).filter((k) => BODY_FIELDS.includes(k)).sort(), [...BODY_FIELDS].sort(), 'the body has every SPEC §3 field');
  t.equal(body.method, 'REGISTER', 'method');
  t.equal(body.realm, domain, 'realm = the domain');
  t.equal(body.domain, domain, 'domain');
  t.equal(body.source_address, '127.0.0.1', 'source_address = the phone');
  const text = JSON.stringify(app.bodies);
  t.notMatch(text, /pw-2001-hook-only|not-the-password/, 'no password in any RegHook body');
  t.notOk(app.bodies.some((b) => 'password' in b || 'ha1' in b), 'no password or HA1 field');
});
