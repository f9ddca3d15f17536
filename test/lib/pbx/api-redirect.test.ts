// PUT /domains/:d/calls/:id (SPEC §7) over a live call: sipp uac → PBX → sipp uas #1, answered; the call is
// redirected to a script connecting a second sipp uas. The first callee gets a BYE (with an RFC 3326 Reason), the
// second receives the INVITE and answers, the caller stays up throughout; then the call is hung up by DELETE.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPbx } from '../../../lib/index.js';
import { skipUnlessCommand, freeUdpPort } from '../../helpers/env.js';

function sipp(args: string[]): ChildProcess {
  return spawn('sipp', [...args, '-nostdin', '-i', '127.0.0.1'], { stdio: 'ignore', cwd: '/tmp' });
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve(p.exitCode);
    else p.once('exit', (code) => resolve(code));
  });
}

/** The exit code of `p`, or 'timeout' after `ms` (the timer does not keep the process alive). */
function exitWithin(p: ChildProcess, ms = 30000): Promise<number | null | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
    void exited(p).then((code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function until<T>(fn: () => Promise<T | undefined>, ms = 30000): Promise<T | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

interface LadderEntry {
  direction: 'in' | 'out';
  leg: string;
  summary: string;
  remote?: string;
  raw?: string;
}
interface CallJson {
  id: string;
  state: string;
  legs: Array<{ id: string; role: string; state: string; dest?: { address: string } }>;
}

t.test('redirect an answered call to a second callee: callee #1 BYEd, callee #2 rung, caller stays', { skip: skipUnlessCommand('sipp'), timeout: 150000 }, async (t) => {
  const uas1Port = await freeUdpPort();
  const uas2Port = await freeUdpPort();
  const base = 46000 + Math.floor(Math.random() * 400) * 2;
  const config = {
    domains: {
      'pbx.test': {
        trunks: [{ id: 1, name: 'loop', inbound: ['127.0.0.1/32'], dialplan: { '*': () => [{ verb: 'connect', dest: { type: 'sip', address: `sip:first@127.0.0.1:${uas1Port}` } }] } }],
      },
      'other.test': { clients: [] },
    },
  };
  const pbx = createPbx({ config, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', webPort: 0, apiToken: 'api-tok-r', rtpPortMin: base, rtpPortMax: base + 60 });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  const sipPort = addr.sip.find((s) => s.transport === 'udp')!.port;
  const api = `http://127.0.0.1:${addr.api!.port}`;
  const get = async <T>(path: string) => {
    const r = await fetch(api + path, { headers: { authorization: 'Bearer api-tok-r' } });
    return { status: r.status, body: (await r.json()) as T };
  };
  const send = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(api + path, { method, headers: { authorization: 'Bearer api-tok-r', 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, body: (await r.json()) as unknown };
  };

  const uas1 = sipp(['-sn', 'uas', '-p', String(uas1Port), '-m', '1']);
  const uas2 = sipp(['-sn', 'uas', '-p', String(uas2Port), '-m', '1']);
  const uac = sipp([`127.0.0.1:${sipPort}`, '-sn', 'uac', '-s', '779', '-p', String(await freeUdpPort()), '-m', '1', '-d', '60000']);
  t.teardown(() => {
    for (const p of [uas1, uas2, uac]) p.kill('SIGKILL');
  });

  const live = await until(async () => {
    const list = (await get<CallJson[]>('/domains/pbx.test/calls')).body;
    return list.length === 1 && list[0]!.state === 'answered' ? list[0] : undefined;
  });
  t.ok(live, 'the call is answered by callee #1');
  const id = live!.id;

  // Input checks and domain scoping of the route.
  t.equal((await send('PUT', `/domains/pbx.test/calls/${id}`, [{ verb: 'dance' }])).status, 400, 'an invalid script is 400');
  t.equal((await send('PUT', `/domains/other.test/calls/${id}`, [{ verb: 'pause', duration: 1 }])).status, 404, "another domain's call is not found");
  t.equal((await send('PUT', '/domains/pbx.test/calls/no-such-call', [{ verb: 'pause', duration: 1 }])).status, 404, 'an unknown call is 404');
  t.equal((await get<CallJson>(`/domains/pbx.test/calls/${id}`)).body.state, 'answered', 'those requests changed nothing');

  const put = await send('PUT', `/domains/pbx.test/calls/${id}`, [{ verb: 'connect', dest: { type: 'sip', address: `sip:second@127.0.0.1:${uas2Port}` } }]);
  t.same(put, { status: 200, body: { ok: true } }, 'redirect accepted');

  // Callee #1 receives the BYE and its sipp scenario completes successfully.
  const code1 = await exitWithin(uas1);
  t.equal(code1, 0, 'callee #1 got a BYE and ended its call normally');

  // Callee #2 receives the INVITE and answers; the caller is bridged to it.
  const second = await until(async () => {
    const c = (await get<CallJson>(`/domains/pbx.test/calls/${id}`)).body;
    return c.legs.some((l) => l.role === 'callee' && l.state === 'answered' && l.dest?.address.includes(`:${uas2Port}`)) ? c : undefined;
  });
  t.ok(second, 'callee #2 answered the redirected call');
  t.equal(second?.state, 'answered', 'the call is still answered');

  const ladder = (await get<LadderEntry[]>(`/calls/${id}/ladder`)).body;
  t.ok(
    ladder.some((e) => e.direction === 'out' && /^INVITE /.test(e.summary) && e.remote === `127.0.0.1:${uas2Port}`),
    'the ladder shows the INVITE sent to callee #2',
  );
  const bye1 = ladder.find((e) => e.direction === 'out' && /^BYE /.test(e.summary) && e.remote === `127.0.0.1:${uas1Port}`);
  t.ok(bye1, 'and the BYE sent to callee #1');
  t.match(bye1?.raw ?? '', /^Reason: SIP;cause=487;text="Call redirected"\r?$/im, 'the BYE carries the RFC 3326 Reason');
  t.notOk(ladder.some((e) => e.leg === 'A' && /^BYE /.test(e.summary)), 'no BYE to or from the caller: it stayed');

  t.equal((await send('DELETE', `/domains/pbx.test/calls/${id}`)).status, 200, 'hang up');
  t.ok(await until(async () => ((await get<unknown[]>('/domains/pbx.test/calls')).body.length === 0 ? true : undefined)), 'the call is gone');
  t.equal((await send('PUT', `/domains/pbx.test/calls/${id}`, [{ verb: 'pause', duration: 1 }])).status, 404, 'an ended call cannot be redirected');
  const code2 = await exitWithin(uas2);
  t.equal(code2, 0, 'callee #2 got the BYE at the end');
  t.equal(pbx.engine.counters.redirects, 1);
});
