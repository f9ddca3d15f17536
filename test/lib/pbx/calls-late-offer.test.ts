// Late offer (RFC 3261 §13.2.1) through createPbx with real sipp peers: a caller's INVITE without SDP gets the
// PBX's offer in the 200 and answers in the ACK. The offer lists the trunk's codecs with the callee's codec first
// (PCMA: pass-through likely); the caller picks PCMU anyway, so the callee's PCMA speech (sipp's g711a.pcap, 30 ms
// packets) must reach the caller's RTP address — known only from the ACK — as PCMU in 20 ms packets, the same
// sound. A caller whose ACK brings no answer gets a BYE with Reason cause 488 and the callee is released.
import t from 'tap';
import { existsSync } from 'node:fs';
import { createDecoder } from '../../../codecs/index.js';
import { skipUnless, skipUnlessCommand } from '../../helpers/env.js';
import { concat, rms } from '../../codecs/audio.js';
import {
  G711A_PCAP,
  freeMediaPort,
  freeUdpPort,
  loopTrunkConfig,
  pcapRtpPayloadList,
  rtpSink,
  settled,
  sipMessages,
  sipp,
  startTestPbx,
  udpBound,
} from './calls-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp') || skipUnless(existsSync(G711A_PCAP), `sipp's ${G711A_PCAP}`);

/** The loop trunk (PCMU, PCMA) connecting every call to a sipp callee on `port`. */
function connectTo(port: number): unknown {
  const dest = { type: 'sip', address: `sip:agent@127.0.0.1:${port}` };
  return loopTrunkConfig({ '*': { callHook: () => [{ verb: 'connect', dest }] } }, { codecs: ['PCMU', 'PCMA'] });
}

/**
 * The SNR (dB) of the loudest `n`-sample window of `got` against its best-matching place in `ref` (exhaustive
 * search by least squared error).
 */
function bestMatchSnr(got: Int16Array, ref: Int16Array, n: number): number {
  let start = 0;
  let loud = -1;
  for (let i = 0; i + n <= got.length; i += n) {
    const e = rms(got.subarray(i, i + n));
    if (e > loud) [loud, start] = [e, i];
  }
  const w = got.subarray(start, start + n);
  let best = Infinity;
  for (let off = 0; off + n <= ref.length; off++) {
    let err = 0;
    for (let k = 0; k < n && err < best; k++) {
      const d = w[k]! - ref[off + k]!;
      err += d * d;
    }
    if (err < best) best = err;
  }
  let sig = 0;
  for (const v of w) sig += v * v;
  return 10 * Math.log10(sig / Math.max(1, best));
}

t.test('an INVITE without SDP: our offer in the 200, the answer in the ACK, the callee heard', { skip, timeout: 90000 }, async (t) => {
  const calleePort = await freeUdpPort();
  const tp = await startTestPbx(t, connectTo(calleePort));
  const sink = await rtpSink(t);
  const callee = sipp(t, { scenario: 'call-uas-answer-pcma-play.xml', port: calleePort, mediaPort: await freeMediaPort() });
  await udpBound(calleePort, callee);
  const caller = sipp(t, {
    scenario: 'call-uac-late-offer.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(), target: `127.0.0.1:${tp.port}`,
    args: ['-s', '5550170', '-key', 'rtp_port', String(sink.port), '-d', '3000'],
  });
  const [c, d] = await Promise.all([caller.done, callee.done]);
  sippPassed(t, c, 'caller completes');
  sippPassed(t, d, 'callee completes');

  const ok = sipMessages(caller.messages()).find((m) => m.dir === 'received' && m.startLine.startsWith('SIP/2.0 200') && m.header('CSeq')?.endsWith('INVITE'));
  t.ok(ok, 'the caller got a 200 for its INVITE');
  const offer = ok?.body ?? '';
  const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)$/m.exec(offer);
  t.ok(m, `the 200 carries an SDP offer: ${offer}`);
  const pts = (m?.[2] ?? '').trim().split(' ');
  t.equal(pts[0], '8', "the callee's codec (PCMA) is offered first");
  t.ok(pts.includes('0'), 'PCMU, the trunk\'s other codec, is offered too');
  const earlyWithSdp = sipMessages(caller.messages()).filter((x) => x.dir === 'received' && /^SIP\/2\.0 18\d/.test(x.startLine) && x.body);
  t.equal(earlyWithSdp.length, 0, 'no provisional carries SDP (an offer may not go in an unreliable 18x)');

  const pcmu = sink.packets.filter((p) => p.pt === 0);
  t.ok(pcmu.length >= 50, `the callee's audio reached the address from the ACK as PCMU (${pcmu.length} packets)`);
  t.notOk(sink.packets.some((p) => p.pt === 8), 'no PCMA packet reached the PCMU caller');
  t.ok(pcmu.every((p) => p.payload.length === 160), 'in 20 ms packets (the callee sent 30 ms)');
  // The same sound: a 200 ms window of what arrived is found in the recording, and there A-law → linear → µ-law
  // is nearly lossless (both G.711 quantisations), so the two agree within G.711's own noise.
  const ulaw = createDecoder('PCMU');
  const heard = concat(pcmu.map((p) => ulaw.decode(p.payload).slice()));
  const alaw = createDecoder('PCMA');
  const played = concat(pcapRtpPayloadList(G711A_PCAP).map((b) => alaw.decode(b).slice()));
  t.ok(rms(heard) > 100, `speech, not silence (rms ${rms(heard).toFixed(0)})`);
  const snr = bestMatchSnr(heard, played, 1600);
  t.ok(snr > 25, `what arrived is the recording (best-aligned 200 ms window: SNR ${snr.toFixed(1)} dB)`);
  t.ok(tp.pbx.metrics.render().includes('dpbx_b2bua_late_offers_total 1'), 'counted as a late offer');
  await settled(tp);
});

t.test('a late-offer caller whose ACK has no answer gets a BYE (cause 488), the callee is released', { skip, timeout: 90000 }, async (t) => {
  const calleePort = await freeUdpPort();
  const tp = await startTestPbx(t, connectTo(calleePort));
  const callee = sipp(t, { scenario: 'call-uas-answer.xml', port: calleePort, mediaPort: await freeMediaPort() });
  await udpBound(calleePort, callee);
  const caller = sipp(t, {
    scenario: 'call-uac-late-offer-no-answer.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(), target: `127.0.0.1:${tp.port}`,
    args: ['-s', '5550171'],
  });
  const [c, d] = await Promise.all([caller.done, callee.done]);
  sippPassed(t, c, 'caller gets its BYE');
  sippPassed(t, d, 'callee gets its BYE');
  const bye = sipMessages(caller.messages()).find((m) => m.dir === 'received' && m.startLine.startsWith('BYE '));
  t.match(bye?.header('Reason') ?? '', /cause=488/, 'the BYE says why (Reason: SIP;cause=488)');
  await settled(tp);
});
