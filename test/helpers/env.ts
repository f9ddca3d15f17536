/**
 * Shared test helpers: where the repository is, and how a test that needs an outside service (Redis,
 * PostgreSQL, sipp, baresip, ffmpeg, ...) decides to skip. On a developer's machine a missing service skips the
 * test with a one-line reason; in CI (`DPBX_REQUIRE_SERVICES=1`, set by .ci/run) a missing service is a failure.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createSocket } from 'node:dgram';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Absolute path of the repository (the folder holding package.json), wherever the compiled test runs from. */
export const repoRoot = findRepoRoot();

/** Path of a file under test/fixtures (the sources, not dist/). */
export function fixturePath(...parts: string[]): string {
  return join(repoRoot, 'test', 'fixtures', ...parts);
}

/** True when CI demands every service: then a missing one fails instead of skipping. */
export const requireServices = process.env.DPBX_REQUIRE_SERVICES === '1';

/** True when `cmd` is an executable on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function tcpReachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * What a test passes as tap's `skip` option for a service: `false` when present (run the test), a one-line
 * reason when absent on a developer machine. When DPBX_REQUIRE_SERVICES=1 an absent service throws, so the
 * test file fails loudly instead of quietly skipping.
 */
export function skipUnless(present: boolean, what: string): false | string {
  if (present) return false;
  if (requireServices) throw new Error(`${what} is required (DPBX_REQUIRE_SERVICES=1) but not available`);
  return `${what} not available`;
}

/** skip option for a test that needs the command `cmd` (e.g. 'sipp', 'baresip', 'ffmpeg'). */
export function skipUnlessCommand(cmd: string): false | string {
  return skipUnless(hasCommand(cmd), `command '${cmd}'`);
}

/** skip option for a test that needs Redis on REDIS_URL's host (default 127.0.0.1:6379). */
export async function skipUnlessRedis(): Promise<false | string> {
  return skipUnless(await tcpReachable('127.0.0.1', 6379), 'Redis on 127.0.0.1:6379');
}

/** skip option for a test that needs PostgreSQL on 127.0.0.1:5432. */
export async function skipUnlessPostgres(): Promise<false | string> {
  return skipUnless(await tcpReachable('127.0.0.1', 5432), 'PostgreSQL on 127.0.0.1:5432');
}

/**
 * A UDP port that was free on `host` a moment ago (for peers such as sipp that need a port on their command line).
 * Taken at random from 61000–65535: above the kernel's ephemeral range (32768–60999 by default) and the ranges the
 * tests give their relays (20000–49999) and sipp's media (50000–60999), so nothing else of the suite — files run in
 * parallel — binds it before the peer does (an OS-assigned port could meanwhile become another relay's RTP port).
 */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 61000 + Math.floor(Math.random() * 4536);
    if (claimPort(p) && (await udpPortFree(host, p))) return p;
  }
  return udpPortFrom(host, 0);
}

/**
 * Two test files running at once could draw the same port, and a port a file keeps for a peer it starts later (a
 * callee's port written into a CallHook script) is not bound in between: each port handed out is claimed with a
 * file created exclusively in PORT_CLAIMS, naming this process; another live process's claim makes the port taken.
 * A process's claims go when it exits (or, after a crash, when a later process finds their owner gone).
 */
const PORT_CLAIMS = '/tmp/dpbx-test-ports';
const claimed: number[] = [];
function claimPort(port: number): boolean {
  const file = join(PORT_CLAIMS, String(port));
  try {
    mkdirSync(PORT_CLAIMS, { recursive: true });
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    let owner = 0;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      return false;
    }
    if (owner === process.pid || processAlive(owner)) return false;
    rmSync(file, { force: true }); // a dead process's claim
    return claimPort(port);
  }
  if (claimed.length === 0) process.once('exit', () => { for (const p of claimed) rmSync(join(PORT_CLAIMS, String(p)), { force: true }); });
  claimed.push(port);
  return true;
}

function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A TCP port the OS gave on `host` a moment ago and that was released (for a throwaway server, or nothing). */
export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on `host` right now. */
function udpPortFree(host: string, port: number): Promise<boolean> {
  return udpPortFrom(host, port).then(() => true, () => false);
}

/** Bind `port` (0: any) on `host`, release it, resolve with the port bound. */
function udpPortFrom(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
