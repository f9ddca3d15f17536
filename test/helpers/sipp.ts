/**
 * Starting sipp from the tests (not a test file): one place for the process, its captured output, the liveness
 * kill and the teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';

export interface SippResult {
  code: number | null;
  out: string;
  /** How long sipp ran, ms (a failure after its retransmissions is not one at the first answer). */
  ms?: number;
}

/** Something with tap's teardown (a Test). */
export interface HasTeardown {
  teardown(fn: () => unknown): void;
}

export interface SippProcess {
  child: ChildProcess;
  /** Resolves at exit (code -1 when sipp could not be started). */
  done: Promise<SippResult>;
  /** The exit result once sipp has exited, else undefined. */
  result(): SippResult | undefined;
}

/**
 * The one place the PBX tests start sipp: stdout+stderr captured, killed after `killAfterMs` (a liveness bound,
 * not a timing assertion) and, with `t`, at its teardown.
 */
export function spawnSipp(args: string[], killAfterMs: number, t?: HasTeardown): SippProcess {
  const child = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/tmp' });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const t0 = Date.now();
  let result: SippResult | undefined;
  const done = new Promise<SippResult>((resolve) => {
    child.on('error', (err) => {
      clearTimeout(kill);
      resolve((result = { code: -1, out: String(err), ms: Date.now() - t0 }));
    });
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve((result = { code, out, ms: Date.now() - t0 }));
    });
  });
  t?.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, done, result: () => result };
}

/**
 * What a failed run printed that tells why: sipp's error lines ("Aborting call on unexpected message ... while
 * expecting '200' (index 3), received '...'") and the scenario screen's message table, without the statistics.
 */
export function sippFailure(out: string): string {
  const stats = out.indexOf('-- Statistics Screen --');
  const before = stats >= 0 ? out.slice(0, out.lastIndexOf('\n', stats) + 1) : out;
  return before.length > 4000 ? '…' + before.slice(-4000) : before;
}

/**
 * sipp exited 0 (every call of its scenario completed); when it did not, why goes to the log, with what
 * `context()` adds (the other side's log lines).
 */
export function sippPassed(t: Test, r: SippResult, what: string, context?: () => string): boolean {
  if (t.equal(r.code, 0, what)) return true;
  const after = r.ms === undefined ? '' : ` after ${r.ms} ms`;
  t.comment(`sipp exit ${String(r.code)}${after} (${what}):\n${sippFailure(r.out)}`);
  if (context) t.comment(context());
  return false;
}
