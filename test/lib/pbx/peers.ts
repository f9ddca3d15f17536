/**
 * Helpers for the interop tests of the assembled PBX (not a test file): run sipp scenarios, pick free loopback
 * ports, wait for a condition without fixed sleeps.
 */
import { fixturePath, freeUdpPort } from '../../helpers/env.js';
import { spawnSipp, type HasTeardown, type SippProcess, type SippResult } from '../../helpers/sipp.js';

/** Re-exported for the tests that use this kit. */
export { freeUdpPort, spawnSipp, type HasTeardown, type SippProcess, type SippResult };

/** Runs sipp to completion (killed after `killAfterMs`), stdout+stderr captured. */
export function runSipp(args: string[], killAfterMs = 30000): Promise<SippResult> {
  return spawnSipp(args, killAfterMs).done;
}

export interface RegisterArgs {
  /** The PBX's UDP port on 127.0.0.1. */
  port: number;
  domain: string;
  user: string;
  password: string;
  expires?: number;
  /** Scenario under test/fixtures/sipp (default pbx-register-auth.xml: register, then Expires: 0). */
  scenario?: string;
}

/**
 * sipp registers `user@domain` with digest (-au/-ap, -auth_uri = the domain so the digest uri is
 * `sip:<domain>`, as the Request-URI). Exit code 0 = the scenario completed (every expected response came).
 */
export async function sippRegister(a: RegisterArgs): Promise<SippResult> {
  const local = await freeUdpPort();
  return runSipp([
    '-p', String(local), `127.0.0.1:${a.port}`,
    '-sf', fixturePath('sipp', a.scenario ?? 'pbx-register-auth.xml'),
    '-s', a.user, '-key', 'domain', a.domain, '-key', 'expires', String(a.expires ?? 120),
    '-au', a.user, '-ap', a.password, '-auth_uri', a.domain,
    '-m', '1', '-i', '127.0.0.1', '-timeout', '60', '-timeout_error', '-nostdin',
  ]);
}

/** Resolves when `check()` is truthy; rejects with `what` after `timeoutMs` (a liveness bound, not a timing assertion). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
