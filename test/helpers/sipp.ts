/**
 * Starting sipp from the tests (not a test file): one place for the process, its captured output, the liveness
 * kill and the teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface SippResult {
  code: number | null;
  out: string;
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
  let result: SippResult | undefined;
  const done = new Promise<SippResult>((resolve) => {
    child.on('error', (err) => {
      clearTimeout(kill);
      resolve((result = { code: -1, out: String(err) }));
    });
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve((result = { code, out }));
    });
  });
  t?.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, done, result: () => result };
}

