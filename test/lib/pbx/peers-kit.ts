/**
 * Shared pieces of the real-peer PBX tests (test/lib/pbx/peers-*.test.ts; not a test file itself): a PBX on
 * loopback with its own RTP range, sipp processes run in the background, free ports, sipp log files, polling.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pbx } from '../../../lib/index.js';
import { fixturePath, freeUdpPort } from '../../helpers/env.js';

import { loopTrunkConfig, startTestPbx } from './calls-kit.js';
import { spawnSipp, waitFor, type HasTeardown } from './peers.js';

/** Re-exported for the tests that use this kit. */
export { freeUdpPort, loopTrunkConfig, waitFor };

export type Teardown = HasTeardown;

/** createPbx on 127.0.0.1 (SIP port 0, no API, its own RTP range) with `config`; stopped at teardown. */
export const startPbx: (t: Teardown, config: unknown, extra?: Record<string, unknown>) => Promise<{ pbx: Pbx; port: number }> = startTestPbx;

export interface SippRun {
  child: ChildProcess;
  /** Exit code 0 = the scenario completed (every expected message came, every check held). */
  done: Promise<{ code: number | null; out: string }>;
  /** The `<log>` lines of the scenario (when started with `logs: true`), read after exit. */
  logs(): string;
}

let seq = 0;

/**
 * Starts sipp in the background (`-nostdin`, bound to `ip`, killed after `killAfterMs` as a liveness bound and at
 * teardown). `scenario`: a built-in (`uac`, `uas`) or a file under test/fixtures/sipp.
 */
export function sipp(
  t: Teardown,
  o: { scenario: string; port: number; remote?: string; ip?: string; args?: string[]; logs?: boolean; killAfterMs?: number },
): SippRun {
  const logFile = join(tmpdir(), `dpbx-peers-${process.pid}-${++seq}.log`);
  const scen = o.scenario === 'uac' || o.scenario === 'uas' ? ['-sn', o.scenario] : ['-sf', fixturePath('sipp', o.scenario)];
  const args = [
    ...(o.remote ? [o.remote] : []),
    ...scen,
    '-p', String(o.port), '-i', o.ip ?? '127.0.0.1', '-m', '1', '-nostdin', '-timeout', '60', '-timeout_error',
    ...(o.logs ? ['-trace_logs', '-log_file', logFile] : []),
    ...(o.args ?? []),
  ];
  const p = spawnSipp(args, o.killAfterMs ?? 90000, t);
  t.teardown(() => rmSync(logFile, { force: true }));
  return { child: p.child, done: p.done, logs: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') };
}

/**
 * sipp registers `user@domain` from 127.0.0.1:`port` with digest auth (test/fixtures/sipp/peer-register.xml) and
 * exits, leaving the binding in place; a sipp UAS started afterwards on the same port is reached through that
 * flow (UDP: the same address and port).
 */
export async function sippRegister(t: Teardown, o: { pbxPort: number; port: number; domain: string; user: string; password: string }) {
  return sipp(t, {
    scenario: 'peer-register.xml', port: o.port, remote: `127.0.0.1:${o.pbxPort}`,
    args: ['-s', o.user, '-key', 'domain', o.domain, '-au', o.user, '-ap', o.password, '-auth_uri', o.domain],
  }).done;
}

/** The values logged by a scenario's `<log message="TAG ...">` lines for TAG, in order. */
export function logged(logs: string, tag: string): string[] {
  const out: string[] = [];
  for (const line of logs.split('\n')) {
    const i = line.indexOf(tag + ' ');
    if (i >= 0) out.push(line.slice(i + tag.length + 1).trim());
  }
  return out;
}
