/**
 * Running sipp (Debian `sip-tester`) against our user agents: free ports picked at run time, loopback only, a
 * hard deadline, and the process killed at teardown whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fixturePath, freeUdpPort } from '../../../helpers/env.js';

/** Re-exported for the tests that use this kit. */
export { freeUdpPort };

/** A UDP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, released). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** An even port p with p and p+2 free (sipp's RTP echo sockets). */
async function freeMediaPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    let p = await freeUdpPort();
    if (p % 2 === 1) p -= 1;
    if (p > 1024 && p < 65530 && (await portFree(p)) && (await portFree(p + 2))) return p;
  }
  throw new Error('no free media port pair for sipp');
}

export interface SippRun {
  /** Our side's SIP port for sipp (its own -p). */
  port: number;
  /** Resolves when sipp exits (or was killed at the deadline): exit code (null when killed) and output. */
  done: Promise<{ code: number | null; output: string; killed: boolean }>;
  child: ChildProcess;
  kill(): void;
}

export interface SippOptions {
  /** A scenario file of test/fixtures/sipp or a built-in name (-sn uac / uas). */
  scenario: { file: string } | { builtin: 'uac' | 'uas' };
  /** Remote host:port for sipp as UAC. */
  remote?: string;
  /** Extra arguments (-m, -r, -l, -lost, -nr, -au, -ap, -s ...). */
  args?: string[];
  /** Kill sipp after this many ms (default 30 000). */
  deadlineMs?: number;
  /** Use this local port for sipp (default a free one). */
  port?: number;
}

/** Start sipp bound to 127.0.0.1 on free ports. Register `run.kill` with t.teardown. */
export async function startSipp(o: SippOptions): Promise<SippRun> {
  const port = o.port ?? (await freeUdpPort());
  const mp = await freeMediaPort();
  const cp = await freeUdpPort();
  const args = [
    ...('file' in o.scenario ? ['-sf', fixturePath('sipp', o.scenario.file)] : ['-sn', o.scenario.builtin]),
    ...(o.remote !== undefined ? [o.remote] : []),
    '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mp), '-cp', String(cp),
    '-nostdin', '-timeout', String(Math.ceil((o.deadlineMs ?? 30_000) / 1000)), '-timeout_error',
    ...(o.args ?? []),
  ];
  const child = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output = (output + d.toString('latin1')).slice(-20000); });
  child.stderr!.on('data', (d: Buffer) => { output = (output + d.toString('latin1')).slice(-20000); });
  let killed = false;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  const deadline = setTimeout(kill, (o.deadlineMs ?? 30_000) + 2000);
  const done = new Promise<{ code: number | null; output: string; killed: boolean }>((resolve) => {
    child.once('error', (err) => { clearTimeout(deadline); resolve({ code: null, output: output + String(err), killed }); });
    child.once('exit', (code) => {
      clearTimeout(deadline);
      resolve({ code, output, killed });
    });
  });
  return { port, done, child, kill };
}

/** The last lines of sipp's output without terminal escapes (for assertion messages). */
export function tail(output: string, lines = 25): string {
  // eslint-disable-next-line no-control-regex
  return output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}
