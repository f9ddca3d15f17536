// SPEC §3: when the CallHook fails, the configured fallback CallHook (CALLHOOK_FALLBACK) runs; without one (or
// when it fails too) the call ends with CALL_FALLBACK_CODE (default 480).
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPbx } from '../../../lib/index.js';
import { rawInvite as invite } from './calls-kit.js';

function configWith(callHook: () => unknown) {
  return { domains: { 'pbx.test': { trunks: [{ id: 1, name: 't', inbound: ['127.0.0.1/32'], dialplan: { '*': callHook } }] } } };
}

t.test('the fallback CallHook runs when the CallHook fails; CALL_FALLBACK_CODE otherwise', { timeout: 170000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-fb-'));
  writeFileSync(join(dir, 'fallback.json'), JSON.stringify([{ verb: 'response', code: 486, reason: 'Busy Here' }]));
  const base = 46000 + Math.floor(Math.random() * 300) * 2;
  let asked = 0;
  const failing = () => {
    asked++;
    throw new Error('the app is broken');
  };
  const a = createPbx({ config: configWith(failing), filePath: dir, callHookFallback: 'file:fallback.json', sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: base, rtpPortMax: base + 20 });
  const pa = (await a.start()).sip.find((s) => s.transport === 'udp')!.port;
  t.teardown(() => a.stop());
  t.equal(await invite(pa), 486, 'the fallback script answered 486');
  t.ok(asked >= 1, 'the CallHook was asked first');

  const b = createPbx({ config: configWith(failing), callFallbackCode: 503, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: base + 40, rtpPortMax: base + 60 });
  const pb = (await b.start()).sip.find((s) => s.transport === 'udp')!.port;
  t.teardown(() => b.stop());
  t.equal(await invite(pb), 503, 'no fallback hook: CALL_FALLBACK_CODE');
});
