// Graceful stop (SPEC §7 POST /shutdown, SIGTERM): new calls are refused with 503 + Retry-After at once, a live
// call is left to finish by itself, then the PBX stops.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createPbx } from '../../../lib/index.js';
import { skipUnlessCommand, freeUdpPort } from '../../helpers/env.js';
import { rawInviteFinal } from './calls-kit.js';

t.test('stop({drainMs}) refuses new calls and waits for the live one', { skip: skipUnlessCommand('sipp'), timeout: 170000 }, async (t) => {
  const uasPort = await freeUdpPort();
  let answered = 0;
  const config = {
    domains: {
      'pbx.test': {
        trunks: [{
          id: 1, name: 'loop', inbound: ['127.0.0.1/32'],
          dialplan: { '*': { callHook: () => [{ verb: 'connect', dest: { type: 'sip', address: `sip:service@127.0.0.1:${uasPort}` } }], statusHook: (b: unknown) => { if ((b as { event: string }).event === 'connect:answered') answered++; return {}; } } },
        }],
      },
    },
  };
  const base = 48000 + Math.floor(Math.random() * 300) * 2;
  const pbx = createPbx({ config, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: base, rtpPortMax: base + 40 });
  const port = (await pbx.start()).sip.find((s) => s.transport === 'udp')!.port;
  const uas = spawn('sipp', ['-sn', 'uas', '-p', String(uasPort), '-m', '1', '-i', '127.0.0.1', '-nostdin', '-timeout', '120', '-timeout_error'], { stdio: 'ignore', cwd: '/tmp' });
  const uasExit = new Promise<number | null>((r) => uas.once('exit', (c) => r(c)));
  await new Promise((r) => setTimeout(r, 300));
  const uac = spawn('sipp', [`127.0.0.1:${port}`, '-sn', 'uac', '-s', '900', '-p', String(await freeUdpPort()), '-m', '1', '-d', '4000', '-i', '127.0.0.1', '-nostdin', '-timeout', '120', '-timeout_error'], { stdio: 'ignore', cwd: '/tmp' });
  const uacExit = new Promise<number | null>((r) => uac.once('exit', (c) => r(c)));
  t.teardown(() => { uas.kill('SIGKILL'); uac.kill('SIGKILL'); });
  for (let i = 0; i < 600 && (answered === 0 || pbx.engine.activeCalls === 0); i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(pbx.engine.activeCalls, 1, 'one live, answered call');
  const stopped = pbx.stop({ drainMs: 60000 });
  let done = false;
  void stopped.then(() => (done = true));
  const refused = await rawInviteFinal(port);
  t.equal(refused.status, 503, 'a new INVITE during the drain gets 503');
  t.ok(Number(refused.get('Retry-After')) > 0, 'with Retry-After');
  t.notOk(done, 'stop() is still waiting for the live call');
  t.equal(await uacExit, 0, 'the live call ended normally (caller BYE after its 4 s)');
  t.equal(await uasExit, 0, 'and the callee saw a normal end');
  await stopped;
  t.equal(pbx.engine.activeCalls, 0);
});
