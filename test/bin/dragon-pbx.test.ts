// The server binary: environment validation (exit 2 with one line naming the variable), start on the embedded
// defaults, graceful stop on SIGTERM, SIGHUP reload, structured JSON logs without secrets.
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../helpers/env.js';

const bin = join(repoRoot, 'dist', 'bin', 'dragon-pbx.js');
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

function run(env: Record<string, string>) {
  return spawnSync(process.execPath, [bin], { env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 20000 });
}

t.test('a bad environment variable: exit code 2 and one line that names it', async (t) => {
  for (const [name, value] of [['SIP_PORT', 'http'], ['DEFAULT_CODECS', 'G722,FOO'], ['LOGLEVEL', 'loud'], ['DATA_SOURCE', 'mongo'], ['REDIS_URL', 'nope']]) {
    const r = run({ [name!]: value! });
    t.equal(r.status, 2, `${name}=${value} exits 2`);
    const lines = r.stderr.trim().split('\n');
    t.equal(lines.length, 1, 'one line');
    t.match(lines[0], new RegExp(`^dragon-pbx: ${name}`), 'names the variable');
  }
  const r = run({ WEB_HOST: '0.0.0.0' });
  t.equal(r.status, 2, 'a non-loopback API without API_TOKEN is refused');
  t.match(r.stderr, /API_TOKEN/);
});

interface Started { child: ChildProcess; lines: Record<string, unknown>[]; started: Record<string, unknown> }

function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [bin], {
    env: { ...baseEnv, SIP_PORT: '0', SIP_HOST: '127.0.0.1', WEBPORT: '0', RTP_PORT_MIN: '42000', RTP_PORT_MAX: '42999', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no "started" line within 20 s')), 20000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        obj = { unparsable: line };
      }
      lines.push(obj);
      if (obj.msg === 'dragon-pbx started') {
        clearTimeout(timer);
        resolve({ child, lines, started: obj });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before starting`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

t.test('starts on the embedded defaults, answers /health, stops on SIGTERM with exit 0', async (t) => {
  const s = await start({ RTPENGINE_HOST: 'old', DRACHTIO_PORT: '9022', API_TOKEN: 'tok-secret-123', WEB_HOST: '127.0.0.1' });
  const api = s.started.api as { port: number };
  t.ok(api.port > 0, 'API port reported');
  const health = await fetch(`http://127.0.0.1:${api.port}/health`);
  t.equal(health.status, 200);
  const denied = await fetch(`http://127.0.0.1:${api.port}/domains`);
  t.equal(denied.status, 401, 'API_TOKEN enforced');
  const domains = await fetch(`http://127.0.0.1:${api.port}/domains`, { headers: { authorization: 'Bearer tok-secret-123' } });
  t.same(await domains.json(), [{ domain: 'pbx.local' }], 'the bundled example config is loaded');
  const warnings = s.lines.filter((l) => l.level === 40 && /DRACHTIO_PORT, RTPENGINE_HOST/.test(String(l.msg)));
  t.equal(warnings.length, 1, 'legacy variables: one warning line');
  const code = exited(s.child);
  s.child.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 300));
  s.child.kill('SIGTERM');
  t.equal(await code, 0, 'SIGTERM → exit 0');
  const all = JSON.stringify(s.lines);
  t.notMatch(all, /tok-secret-123/, 'the API token never appears in logs');
  t.notMatch(all, /change-me-100/, 'client passwords never appear in logs');
  t.ok(s.lines.some((l) => l.msg === 'config reloaded'), 'SIGHUP reloads the config');
});

t.test('POST /shutdown stops the process with exit 0', async (t) => {
  const s = await start({});
  const api = s.started.api as { port: number };
  const code = exited(s.child);
  const res = await fetch(`http://127.0.0.1:${api.port}/shutdown`, { method: 'POST' });
  t.ok(res.status < 300, 'accepted');
  t.equal(await code, 0);
});
