/**
 * Interop: sipp (sip-tester) registers to the registrar over real UDP and TCP on loopback. The glue here is a
 * minimal stand-in for the transaction layer: each REGISTER from the transport goes to handleRegister() and the
 * response goes back to the Via/rport target. sipp 3.6 only computes MD5 digests, so the registrar offers MD5
 * first here (SHA-256 is covered with DigestClient in registrar.test.ts).
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTransportLayer,
  DigestServer,
  responseTarget,
  SipRequest,
  type MessageSource,
  type SipMessage,
} from '../../../sip-stack/index.js';
import { MemoryStore } from '../../../lib/state/index.js';
import { Registrar } from '../../../lib/registrar/index.js';
import { freeTcpPort, skipUnlessCommand } from '../../helpers/env.js';
import { DOMAIN, makeConfig } from './harness.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');


const register = (cseq: number, expires: number, auth: boolean) => `
  <send retrans="1000"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[service]@${DOMAIN}>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: ${cseq} REGISTER
Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Expires: ${expires}
${auth ? '[authentication]\n' : ''}User-Agent: sipp
Content-Length: 0

]]></send>`;

/** REGISTER with digest, refresh with a new challenge, de-register with Expires: 0. */
const LIFECYCLE = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register, refresh, unregister">
${register(1, 300, false)}
  <recv response="401" auth="true"/>
${register(2, 300, true)}
  <recv response="200">
    <action>
      <ereg regexp="expires=300" search_in="hdr" header="Contact:" check_it="true" assign_to="e1"/>
      <ereg regexp="GMT" search_in="hdr" header="Date:" check_it="true" assign_to="d1"/>
    </action>
  </recv>
${register(3, 600, false)}
  <recv response="401" auth="true"/>
${register(4, 600, true)}
  <recv response="200">
    <action><ereg regexp="expires=600" search_in="hdr" header="Contact:" check_it="true" assign_to="e2"/></action>
  </recv>
${register(5, 0, false)}
  <recv response="401" auth="true"/>
${register(6, 0, true)}
  <recv response="200"/>
  <Reference variables="e1,d1,e2"/>
</scenario>
`;

/** A wrong password: 401, then a final refusal whose status the test passes in. */
const refused = (status: number) => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="refused">
${register(1, 300, false)}
  <recv response="401" auth="true"/>
${register(2, 300, true)}
  <recv response="${status}"/>
</scenario>
`;

const throttled = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="throttled">
${register(1, 300, false)}
  <recv response="403">
    <action><ereg regexp="[0-9]+" search_in="hdr" header="Retry-After:" check_it="true" assign_to="r"/></action>
  </recv>
  <Reference variables="r"/>
</scenario>
`;

interface SippResult {
  code: number;
  out: string;
}

/** Runs sipp in `cwd`; on failure `out` holds sipp's error log (-trace_err) rather than its screen. */
function runSipp(args: string[], cwd: string): Promise<SippResult> {
  return new Promise((resolve) => {
    execFile('sipp', [...args, '-trace_err'], { timeout: 30_000, cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      let out = '';
      for (const f of readdirSync(cwd)) {
        if (f.endsWith('_errors.log')) {
          out += readFileSync(join(cwd, f), 'utf8');
          rmSync(join(cwd, f));
        }
      }
      resolve({ code, out: (out || `${stdout}\n${stderr}`).slice(-3000) });
    });
  });
}

async function pbx(t: Test) {
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  const registrar = new Registrar({
    config: makeConfig(),
    store,
    digest: new DigestServer({ algorithms: ['MD5', 'SHA-256'] }),
    throttle: { maxFailures: 2, windowSeconds: 60 },
  });
  const layer = createTransportLayer({
    listen: [
      { transport: 'udp', host: '127.0.0.1', port: 0 },
      { transport: 'tcp', host: '127.0.0.1', port: 0 },
    ],
  });
  const seen: MessageSource[] = [];
  // Stand-in for the server transaction (RFC 3261 §17.2.2): a retransmitted REGISTER (same branch) gets the
  // same response again instead of being processed twice.
  const answered = new Map<string, Promise<import('../../../sip-stack/index.js').SipResponse>>();
  layer.on('message', (msg: SipMessage, source: MessageSource) => {
    if (!(msg instanceof SipRequest) || msg.method !== 'REGISTER') return;
    const branch = `${msg.topVia?.branch}|${source.address}:${source.port}`;
    let res = answered.get(branch);
    if (!res) {
      seen.push(source);
      res = registrar.handleRegister(msg, source);
      answered.set(branch, res);
    }
    void res.then((r) => layer.send(r, responseTarget(msg.topVia!, source)));
  });
  await layer.listen();
  t.teardown(async () => {
    await layer.close();
    await store.close();
  });
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-sipp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const scenario = (name: string, xml: string) => {
    const p = join(dir, `${name}.xml`);
    writeFileSync(p, xml);
    return p;
  };
  const sipp = async (transport: 'udp' | 'tcp', file: string, user: string, password: string) => {
    const port = layer.listener(transport)!.port;
    const localPort = await freeTcpPort();
    return runSipp([
      `127.0.0.1:${port}`, '-sf', file, '-m', '1', '-i', '127.0.0.1', '-p', String(localPort), '-t', transport === 'udp' ? 'u1' : 't1',
      '-s', user, '-au', user, '-ap', password, '-timeout', '20s', '-timeout_error', '-nostdin', '-max_recv_loops', '1000',
    ], dir);
  };
  return { registrar, store, seen, scenario, sipp };
}

t.test('sipp registers with MD5 digest, refreshes and de-registers (UDP and TCP)', { skip }, async (t) => {
  const { registrar, store, seen, scenario, sipp } = await pbx(t);
  const file = scenario('lifecycle', LIFECYCLE);
  for (const transport of ['udp', 'tcp'] as const) {
    const r = await sipp(transport, file, '3000', 'pw-3000'); // 3000 has no config expires: 600 is granted
    sippPassed(t, r, `sipp over ${transport} passed the scenario`);
    const src = seen[seen.length - 1]!;
    t.equal(src.transport, transport);
  }
  t.equal(await store.lookup({ domain: DOMAIN, user: '3000' }), undefined, 'de-registered');
  t.equal(registrar.counters.ok, 6);
  t.equal(registrar.counters.authFailures, 0);
});

t.test('sipp with a wrong password gets 403, and repeated failures are throttled with Retry-After', { skip }, async (t) => {
  const { registrar, scenario, sipp } = await pbx(t);
  const bad = scenario('refused', refused(403));
  for (let i = 0; i < 2; i++) {
    const r = await sipp('udp', bad, '2001', `wrong-${i}`);
    sippPassed(t, r, `attempt ${i + 1}: 401 then 403`);
  }
  const r = await sipp('udp', scenario('throttled', throttled), '2001', 's3cret-2001');
  sippPassed(t, r, 'third attempt refused at once with 403 + Retry-After, even with the right password');
  t.equal(registrar.counters.throttled, 1);
});
