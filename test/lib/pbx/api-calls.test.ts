// The management API over a live call: list and read it (domain-scoped), its SIP ladder (no credentials), mute,
// hang up by DELETE (both legs released), then its CDR. Redirect (PUT) is tested in api-redirect.test.ts.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPbx } from '../../../lib/index.js';
import { skipUnlessCommand, freeUdpPort } from '../../helpers/env.js';

function sipp(args: string[]): ChildProcess {
  return spawn('sipp', [...args, '-nostdin', '-i', '127.0.0.1'], { stdio: 'ignore', cwd: '/tmp' });
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

t.test('list, ladder, mute, hang up and CDR of a live call', { skip: skipUnlessCommand('sipp'), timeout: 150000 }, async (t) => {
  let uasPort = await freeUdpPort();
  const base = 44000 + Math.floor(Math.random() * 400) * 2;
  const config = {
    domains: {
      'pbx.test': {
        trunks: [{ id: 1, name: 'loop', inbound: ['127.0.0.1/32'], dialplan: { '*': () => [{ verb: 'connect', dest: { type: 'sip', address: `sip:service@127.0.0.1:${uasPort}` } }] } }],
      },
      'other.test': { clients: [] },
    },
  };
  const pbx = createPbx({ config, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', webPort: 0, apiToken: 'api-tok-1', rtpPortMin: base, rtpPortMax: base + 60 });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  const sipPort = addr.sip.find((s) => s.transport === 'udp')!.port;
  const api = `http://127.0.0.1:${addr.api!.port}`;
  const get = async (path: string) => {
    const r = await fetch(api + path, { headers: { authorization: 'Bearer api-tok-1' } });
    return { status: r.status, body: (await r.json()) as unknown };
  };
  const call = async (method: string, path: string, body?: unknown) =>
    (await fetch(api + path, { method, headers: { authorization: 'Bearer api-tok-1', 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })).status;

  const uas = sipp(['-sn', 'uas', '-p', String(uasPort), '-m', '1']);
  const uac = sipp([`127.0.0.1:${sipPort}`, '-sn', 'uac', '-s', '777', '-p', String(await freeUdpPort()), '-m', '1', '-d', '60000']);
  t.teardown(() => {
    uas.kill('SIGKILL');
    uac.kill('SIGKILL');
  });

  const live = await until(async () => {
    const r = await get('/domains/pbx.test/calls');
    const list = r.body as Array<{ id: string; state: string }>;
    return list.length === 1 && /answer|connected|bridged/i.test(JSON.stringify(list[0])) ? list[0] : undefined;
  });
  t.ok(live, 'the answered call is listed');
  const id = live!.id;
  t.equal((await get(`/domains/other.test/calls/${id}`)).status, 404, "another domain's call is not found");
  t.equal((await get(`/domains/pbx.test/calls/${id}`)).status, 200);
  const ladder = (await get(`/calls/${id}/ladder`)).body as Array<{ summary: string; direction: string; leg: string }>;
  t.ok(ladder.some((e) => e.direction === 'in' && /^INVITE /.test(e.summary) && e.leg === 'A'), 'the ladder holds the caller INVITE');
  t.ok(ladder.some((e) => e.direction === 'out' && /^INVITE /.test(e.summary) && e.leg !== 'A'), 'and the outbound INVITE');
  t.ok(ladder.some((e) => /^SIP\/2.0 200/.test(e.summary)), 'and 200 OKs');
  t.equal(await call('POST', `/domains/pbx.test/calls/${id}/mute`, { leg: 'A' }), 200, 'mute A');
  t.equal(await call('POST', `/domains/pbx.test/calls/${id}/mute`, { leg: 'A', mute: false }), 200, 'unmute A');
  t.equal(await call('DELETE', `/domains/pbx.test/calls/${id}`), 200, 'hang up');
  const gone = await until(async () => ((await get('/domains/pbx.test/calls')).body as unknown[]).length === 0 ? true : undefined);
  t.ok(gone, 'the call is gone');
  t.equal(pbx.engine.activeCalls, 0);
  const cdrs = (await get('/domains/pbx.test/cdrs')).body as Array<{ callId?: string; id?: string }>;
  t.ok(cdrs.some((c) => JSON.stringify(c).includes(id)), 'a CDR was written');
  t.equal(((await get('/domains/other.test/cdrs')).body as unknown[]).length, 0, 'not visible from another domain');
  const after = (await get(`/calls/${id}/ladder`)).body as Array<{ summary: string }>;
  t.ok(after.some((e) => /^BYE /.test(e.summary)), 'the ladder shows the BYEs after the end');

  // A second call: hang up only the callee side; without `reconnect` the engine then releases the caller too.
  uasPort = await freeUdpPort(); // the first callee may still hold its port for a moment
  const uas2 = sipp(['-sn', 'uas', '-p', String(uasPort), '-m', '1']);
  const uac2 = sipp([`127.0.0.1:${sipPort}`, '-sn', 'uac', '-s', '778', '-p', String(await freeUdpPort()), '-m', '1', '-d', '60000']);
  t.teardown(() => {
    uas2.kill('SIGKILL');
    uac2.kill('SIGKILL');
  });
  const second = await until(async () => {
    const list = (await get('/domains/pbx.test/calls')).body as Array<{ id: string }>;
    return list.length === 1 && /answer|connected|bridged/i.test(JSON.stringify(list[0])) ? list[0] : undefined;
  });
  t.ok(second, 'the second call is up');
  t.equal(await call('DELETE', `/domains/pbx.test/calls/${second!.id}?leg=B`), 200, 'hang up leg B');
  t.ok(await until(async () => ((await get('/domains/pbx.test/calls')).body as unknown[]).length === 0 ? true : undefined), 'the call ends');
  const ladder2 = (await get(`/calls/${second!.id}/ladder`)).body as Array<{ summary: string; leg: string; direction: string }>;
  t.ok(ladder2.some((e) => /^BYE /.test(e.summary) && e.leg !== 'A' && e.direction === 'out'), 'BYE sent to the callee first');
});
