// Out of RTP ports (docs/pbx.md): a new INVITE that the relay cannot give a port pair is refused with
// 503 + Retry-After (try again later), not 488 (the offer was fine); counted as media unavailable. A PBX with the
// smallest RTP range, two port pairs: two calls hold them in a pause, the third gets 503; when they end the pairs
// are free again.
import t from 'tap';
import { loopTrunkConfig, rawInvite, rawInviteFinal, startTestPbx, waitFor } from './calls-kit.js';

t.test('no free RTP port pair → 503 Media Unavailable with Retry-After, and the pair serves the next call', { timeout: 60000 }, async (t) => {
  const base = 47000 + Math.floor(Math.random() * 400) * 2;
  let asked = 0;
  const tp = await startTestPbx(t, loopTrunkConfig({
    '*': (b: { count: number }) => (b.count === 0 && ++asked <= 2 ? [{ verb: 'pause', duration: 2 }] : [{ verb: 'response', code: 486 }]),
  }), {
    rtpPortMin: base,
    rtpPortMax: base + 3,
  });
  const holding = [rawInvite(tp.port), rawInvite(tp.port)];
  await waitFor(() => tp.relaySessions() === 2 && asked === 2, 'two calls hold both port pairs');
  const refused = await rawInviteFinal(tp.port);
  t.equal(refused.status, 503, 'the third INVITE gets 503');
  t.equal(refused.get('Retry-After'), '5', 'with Retry-After');
  t.equal(asked, 2, 'its CallHook was not asked');
  const metrics = tp.pbx.metrics.render();
  t.match(metrics, /^dpbx_b2bua_media_unavailable_total 1$/m, 'counted as media unavailable');
  t.match(metrics, /^dpbx_b2bua_bad_sdp_total 0$/m, 'not as bad SDP');
  t.same(await Promise.all(holding), [486, 486], 'the two calls end after their pause (the retry answers 486)');
  await waitFor(() => tp.relaySessions() === 0, 'the port pairs released');
  t.equal(await rawInvite(tp.port), 486, 'the next call gets a pair and runs its script');
});
