// 100 Trying at once (docs/pbx.md): the PBX answers every INVITE with 100 Trying as it arrives, before its
// CallHook, the relay or the dialplan have decided anything — so a caller stops retransmitting the INVITE even when
// the first real answer takes longer than T1 (a slow CallHook, a loaded PBX).
import t from 'tap';
import { loopTrunkConfig, rawInviteFinal, startTestPbx } from './calls-kit.js';

t.test('an INVITE gets 100 Trying before the answer of a CallHook that decides at once', { timeout: 60000 }, async (t) => {
  let asked = 0;
  const tp = await startTestPbx(t, loopTrunkConfig({
    '*': () => {
      asked++;
      return [{ verb: 'response', code: 486 }];
    },
  }));
  // The first call of a fresh process can take longer than the 200 ms of the RFC 3261 §17.2.1 timer (JIT, first
  // relay session), which would send a 100 anyway; the second is answered well within it, where the timer sends none.
  t.equal((await rawInviteFinal(tp.port)).status, 486, 'a first call warms the PBX up');
  const r = await rawInviteFinal(tp.port);
  t.equal(r.status, 486, 'the script answers 486');
  t.same(r.provisional, [100], 'preceded by exactly one 100 Trying');
  t.equal(asked, 2, 'the CallHook was asked once per call');
});
