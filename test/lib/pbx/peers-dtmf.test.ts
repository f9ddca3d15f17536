// RFC 4733 DTMF through createPbx across a transcoded call: a sipp caller offers PCMU + telephone-event/8000 as
// PT 101 and plays sipp's dtmf_2833_1.pcap (event "1", ten packets, the last three with the end bit); the callee
// (a sipp uas) answers G.722 + telephone-event/8000 as PT 96 with its RTP address pointing at a node socket. The
// PBX transcodes the audio (no common codec) and must deliver the event to the callee as PT 96 packets: same
// event, growing duration, one RTP timestamp for the whole event, the end bit at the end, its own sequence
// numbers, nothing left in the caller's numbering (PT 101).
import { createSocket } from 'node:dgram';
import t from 'tap';
import { skipUnlessCommand } from '../../helpers/env.js';
import { freeMediaPort, freeUdpPort, loopTrunkConfig, settled, sipp, startTestPbx, udpBound, waitFor } from './calls-kit.js';
import { sippPassed } from '../../helpers/sipp.js';

const skip = skipUnlessCommand('sipp');

interface Captured {
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  payload: Buffer;
}

t.test('telephone-event crosses a PCMU ↔ G.722 call with its payload type remapped', { skip, timeout: 90000 }, async (t) => {
  const sink = createSocket('udp4');
  const got: Captured[] = [];
  sink.on('message', (m) => {
    if (m.length < 12 || m[0]! >> 6 !== 2) return;
    const pt = m[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) return; // RTCP
    got.push({ pt, marker: (m[1]! & 0x80) !== 0, seq: m.readUInt16BE(2), ts: m.readUInt32BE(4), payload: Buffer.from(m.subarray(12 + 4 * (m[0]! & 0x0f))) });
  });
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => sink.close(() => r())));

  const calleePort = await freeUdpPort();
  const config = loopTrunkConfig({ '*': { callHook: () => [{ verb: 'connect', dest: { type: 'sip', address: `sip:agent@127.0.0.1:${calleePort}` } }] } }, { codecs: ['PCMU'] });
  const tp = await startTestPbx(t, config);
  const callee = sipp(t, {
    scenario: 'call-uas-answer-g722-te.xml', port: calleePort, mediaPort: await freeMediaPort(),
    args: ['-key', 'rtp_port', String(sink.address().port)],
  });
  await udpBound(calleePort, callee);
  const caller = sipp(t, {
    scenario: 'call-uac-dtmf.xml', port: await freeUdpPort(), mediaPort: await freeMediaPort(),
    target: `127.0.0.1:${tp.port}`, args: ['-s', '5550150', '-d', '1500'],
  });
  await waitFor(() => got.some((p) => p.pt === 96 && (p.payload[1]! & 0x80) !== 0), 'an event end packet at the callee', 20000).catch(() => undefined);
  const [c, d] = await Promise.all([caller.done, callee.done]);
  sippPassed(t, c, 'caller completes');
  sippPassed(t, d, 'callee completes');

  const offer = callee.messages().split(/^-{20,} .*$/m).find((m) => /message received[\s\S]*?\nINVITE /.test(m)) ?? '';
  t.match(offer, /a=rtpmap:\d+ G722\/8000/, 'the PBX offered G.722 to the callee');
  t.match(offer, /a=rtpmap:\d+ telephone-event\/8000/, 'and telephone-event');
  t.notOk(got.some((p) => p.pt === 101), 'no packet keeps the caller\'s telephone-event payload type');
  t.notOk(got.some((p) => p.pt === 0), 'no PCMU reaches the G.722-only callee');
  const events = got.filter((p) => p.pt === 96);
  t.ok(events.length >= 7, `the event arrived as PT 96 packets (${events.length})`);
  t.ok(events.every((p) => p.payload.length === 4 && p.payload[0] === 1), 'every packet carries event 1 in a 4-byte payload');
  t.equal(new Set(events.map((p) => p.ts)).size, 1, 'one RTP timestamp for the whole event');
  const durations = events.map((p) => p.payload.readUInt16BE(2));
  t.ok(durations.every((v, i) => i === 0 || v >= durations[i - 1]!), `durations never shrink (${durations.join(',')})`);
  t.equal(durations.at(-1), 2240, 'the final duration is the caller\'s (same 8 kHz clock)');
  t.ok(events.at(-1)!.payload[1]! & 0x80, 'the last packet has the end bit');
  t.ok(events[0]!.marker, 'the first packet of the event has the marker bit');
  const seqs = events.map((p) => p.seq);
  t.ok(seqs.every((v, i) => i === 0 || v === ((seqs[i - 1]! + 1) & 0xffff) || v === seqs[i - 1]), `sequence numbers advance by one or repeat (end retransmissions): ${seqs.join(',')}`);
  await settled(tp);
});
