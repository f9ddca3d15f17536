// Issue 6 §5 through the binary: `dragon-pbx` on its embedded defaults (bundled examples/config.json: domain
// pbx.local, user 1000 / change-me-1000) logs where it listens and accepts a sipp registration; a bad config file
// makes it exit non-zero with a message naming the offending field's path.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { repoRoot, skipUnlessCommand } from '../helpers/env.js';
import { sippRegister } from '../lib/pbx/peers.js';
import { sippPassed } from '../helpers/sipp.js';

// Compiled (npm test): the built binary in dist/. From the sources (node --import tsx): the TypeScript entry.
const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
const binArgs = fromSource ? ['--import', import.meta.resolve('tsx'), join(repoRoot, 'bin', 'dragon-pbx.ts')] : [join(repoRoot, 'dist', 'bin', 'dragon-pbx.js')];
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
const listenEnv = { SIP_PORT: '0', SIP_HOST: '127.0.0.1', PUBLIC_IP: '127.0.0.1', WEBPORT: '0', RTP_PORT_MIN: '46000', RTP_PORT_MAX: '46999' };

type LogLine = Record<string, unknown>;

interface Run {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function launch(env: Record<string, string>, cwd: string): Run {
  const child = spawn(process.execPath, binArgs, { env: { ...baseEnv, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      lines.push({ unparsable: line });
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, stderr: () => err, exited };
}

function started(run: Run, timeoutMs = 30000): Promise<LogLine> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no "dragon-pbx started" line')), timeoutMs);
    const poll = setInterval(() => {
      const s = run.lines.find((l) => l.msg === 'dragon-pbx started');
      if (s) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(s);
      }
    }, 20);
    void run.exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`exited ${code} before starting: ${run.stderr()} ${JSON.stringify(run.lines)}`));
    });
  });
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('embedded defaults: logs where it listens and accepts a registration from sipp', { skip: skipUnlessCommand('sipp'), timeout: 120000 }, async (t) => {
  // An empty working directory: no ./config.json, so the bundled example config is used (SPEC §1).
  const run = launch({ ...listenEnv }, tempDir(t));
  t.teardown(async () => {
    if (run.child.exitCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  });
  const line = await started(run);
  const sip = line.sip as { transport: string; address: string; port: number }[];
  const udp = sip.find((s) => s.transport === 'udp');
  t.ok(udp && udp.port > 0, 'the started line names the UDP address and the OS-chosen port');
  t.equal(udp?.address, '127.0.0.1', 'on SIP_HOST');
  t.ok(sip.some((s) => s.transport === 'tcp' && s.port > 0), 'and the TCP listener');
  t.ok((line.api as { port?: number } | undefined)?.port, 'and the management API port');

  const r = await sippRegister({ port: udp!.port, domain: 'pbx.local', user: '1000', password: 'change-me-1000' });
  sippPassed(t, r, 'sipp registers 1000@pbx.local with the example password (and un-registers)');
  const wrong = await sippRegister({ port: udp!.port, domain: 'pbx.local', user: '1000', password: 'change-me-1001', scenario: 'pbx-register-refused.xml' });
  sippPassed(t, wrong, "another client's password is refused");

  run.child.kill('SIGTERM');
  t.equal(await run.exited, 0, 'SIGTERM → exit 0');
  t.notMatch(JSON.stringify(run.lines), /change-me-100/, 'no password in the logs');
});

t.test('a bad config file: exit non-zero with a message naming the field path', { timeout: 150000 }, async (t) => {
  const dir = tempDir(t);
  const cases: Array<{ name: string; config: unknown; path: RegExp }> = [
    {
      name: 'maxContacts of the wrong type',
      config: { domains: { 'bad.test': { clients: [{ username: '1000', password: 'pw', maxContacts: 'three' }] } } },
      path: /domains\["bad\.test"\]\.clients\[0\]\.maxContacts/,
    },
    {
      name: 'a trunk without outbound host',
      config: { domains: { 'bad.test': { clients: [], trunks: [{ id: 1, name: 'carrier', outbound: { port: 5060 } }] } } },
      path: /domains\["bad\.test"\]\.trunks\[0\]\.outbound\.host/,
    },
    {
      name: 'two problems (no password nor reghook; a dialplan value that is no hook)',
      config: { domains: { 'bad.test': { clients: [{ username: '1000' }, { username: '2000', password: 'pw', dialplan: { '1???': 42 } }] } } },
      path: /domains\["bad\.test"\]\.clients\[0\]: .*domains\["bad\.test"\]\.clients\[1\]\.dialplan\["1\?\?\?"\]/,
    },
  ];
  for (const c of cases) {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(c.config));
    const run = launch({ ...listenEnv, CONFIG_FILE: file }, dir);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 30000);
    const code = await run.exited;
    clearTimeout(timer);
    t.not(code, 0, `${c.name}: non-zero exit`);
    t.not(code, null, `${c.name}: exited by itself`);
    const failure = run.lines.find((l) => l.msg === 'dragon-pbx could not start');
    t.match(String(failure?.err), c.path, `${c.name}: the "could not start" line names the field path`);
    t.notOk(run.lines.some((l) => l.msg === 'dragon-pbx started'), `${c.name}: never reported started`);
  }
  writeFileSync(join(dir, 'broken.json'), '{"domains": {');
  const run = launch({ ...listenEnv, CONFIG_FILE: join(dir, 'broken.json') }, dir);
  t.not(await run.exited, 0, 'unparsable JSON: non-zero exit');
  const failure = run.lines.find((l) => l.msg === 'dragon-pbx could not start');
  t.match(String(failure?.err), /broken\.json/, 'the "could not start" line names the file');
});
