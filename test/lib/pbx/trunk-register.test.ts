// createPbx keeps a trunk with `register: true` registered at its carrier (sipp as the registrar: 401 answered
// with the trunk credentials, 2 s expiry refreshed), writes the trunk state to the store, and un-registers
// (Expires: 0) when it stops — the carrier scenario only completes when all of that happened.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createPbx } from '../../../lib/index.js';
import { fixturePath, skipUnlessCommand, freeUdpPort } from '../../helpers/env.js';

t.test('trunk registration lives and dies with the PBX', { skip: skipUnlessCommand('sipp'), timeout: 150000 }, async (t) => {
  const port = await freeUdpPort();
  const carrier = spawn('sipp', ['-sf', fixturePath('sipp', 'trunk-register-uas.xml'), '-p', String(port), '-i', '127.0.0.1', '-m', '1',
    '-timeout', '60', '-timeout_error', '-nostdin'], { stdio: 'ignore', cwd: '/tmp' });
  const exit = new Promise<number | null>((resolve) => carrier.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (carrier.exitCode === null) carrier.kill('SIGKILL');
  });
  await new Promise((r) => setTimeout(r, 300));
  const config = {
    domains: {
      'pbx.test': {
        trunks: [{
          id: 'c1', name: 'carrier',
          outbound: { host: '127.0.0.1', port, transport: 'udp', username: 'trunk-acct', password: 'trunk-secret-pw', register: true, expires: 60 },
          dialplan: { '*': 'file:none.json' },
        }],
      },
    },
  };
  const base = 47000 + Math.floor(Math.random() * 300) * 2;
  const pbx = createPbx({ config, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: base, rtpPortMax: base + 20 });
  await pbx.start();
  let state: { status?: string } | undefined;
  for (let i = 0; i < 100 && state?.status !== 'registered'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    state = (await pbx.store.getTrunkState('pbx.test', 'c1')) as { status?: string } | undefined;
  }
  t.equal(state?.status, 'registered', 'the trunk state says registered');
  await new Promise((r) => setTimeout(r, 2500)); // past the 2 s expiry: at least one refresh
  t.equal(((await pbx.store.getTrunkState('pbx.test', 'c1')) as { status?: string } | undefined)?.status, 'registered', 'still registered after a refresh');
  await pbx.stop();
  t.equal(await exit, 0, 'the carrier saw 401 → credentials → 200, refreshes, then Expires: 0');
});
