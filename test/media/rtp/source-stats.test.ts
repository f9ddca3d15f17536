import t from 'tap';
import { RtpSourceStats } from '../../../media/rtp/index.js';

/** Feed `seqs` as 20 ms PCMU packets (160 samples each) arriving exactly on time unless `arrival` is given. */
function feed(s: RtpSourceStats, seqs: number[], startTs = 0, arrival?: (i: number) => number): boolean[] {
  return seqs.map((seq, i) => s.update(seq, (startTs + i * 160) >>> 0, arrival ? arrival(i) : i * 20, 160));
}

t.test('A.1: a source is valid after MIN_SEQUENTIAL=2 sequential packets; the probation packet is not counted', async (t) => {
  const s = new RtpSourceStats({ clockRate: 8000 });
  const r = feed(s, [100, 101, 102]);
  t.same(r, [false, true, true]);
  t.equal(s.valid, true);
  t.equal(s.received, 2);
  t.equal(s.packets, 3);
  t.equal(s.bytes, 480);
  t.equal(s.expected, 2);
  t.equal(s.lost, 0);
});

t.test('probation 0 accepts the first packet', async (t) => {
  const s = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  t.same(feed(s, [7, 8]), [true, true]);
  t.equal(s.expected, 2);
});

t.test('A.1/A.3: wrap-around increments cycles; losses are expected minus received', async (t) => {
  const s = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  const seqs: number[] = [];
  for (let q = 65530; q < 65536 + 10; q++) if (q !== 65535 && q !== 65536 + 3) seqs.push(q & 0xffff);
  feed(s, seqs);
  t.equal(s.extendedMaxSeq, 65536 + 9);
  t.equal(s.expected, 16);
  t.equal(s.received, 14);
  t.equal(s.lost, 2);
  const rep = s.report(1000);
  t.equal(rep.cumulativeLost, 2);
  t.equal(rep.fractionLost, Math.floor((2 * 256) / 16));
  t.equal(rep.extendedHighestSeq, 65536 + 9);
  feed(s, [10, 11, 12, 13], 16 * 160);
  t.equal(s.report(2000).fractionLost, 0, 'fraction lost covers only the new interval');
});

t.test('A.1: duplicates count as received (lost can go negative) and reordering keeps max_seq', async (t) => {
  const s = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  feed(s, [1, 2, 3, 3, 2, 4]);
  t.equal(s.extendedMaxSeq, 4);
  t.equal(s.received, 6);
  t.equal(s.lost, -2);
  t.equal(s.report(0).fractionLost, 0);
});

t.test('A.1: a large jump is rejected once, and two sequential packets after it restart the source', async (t) => {
  const s = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  feed(s, [1, 2, 3]);
  t.equal(s.update(30000, 0, 100, 160), false, 'single big jump rejected');
  t.equal(s.update(30001, 160, 120, 160), true, 'second sequential packet restarts');
  t.equal(s.restarts, 1);
  t.equal(s.expected, 1);
  t.equal(s.received, 1);
  t.equal(s.invalid, 1);
});

t.test('A.8: jitter is 0 for perfectly paced packets and tracks a constant alternating delay', async (t) => {
  const s = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  feed(s, Array.from({ length: 50 }, (_, i) => i), 0xffffff00); // timestamps wrap
  t.equal(s.jitter, 0, 'timestamp wrap does not create jitter');
  const j = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  // every other packet arrives 5 ms late → |D| = 40 timestamp units for every packet after the first
  feed(j, Array.from({ length: 400 }, (_, i) => i), 0, (i) => i * 20 + (i % 2) * 5);
  t.ok(Math.abs(j.jitter - 40) < 0.01, `jitter converges to 40 units, got ${j.jitter}`);
  t.ok(Math.abs(j.jitterMs - 5) < 0.01);
  t.equal(j.report(0).jitter, 39, 'report block carries the integer part');
});

t.test('LSR/DLSR: report carries the last SR NTP middle bits and the delay in 1/65536 s', async (t) => {
  const s = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  s.update(1, 0, 0, 160, 0x1234);
  let r = s.report(10);
  t.equal(r.lastSr, 0);
  t.equal(r.delaySinceLastSr, 0);
  s.onSenderReport(0xabcd1234, 1000);
  r = s.report(1500);
  t.equal(r.ssrc, 0x1234);
  t.equal(r.lastSr, 0xabcd1234);
  t.equal(r.delaySinceLastSr, 32768);
});

t.test('report() output is an RTCP report block: it serializes into an RR and parses back', async (t) => {
  const { serializeRtcp, parseRtcp } = await import('../../../media/rtp/index.js');
  const s = new RtpSourceStats({ clockRate: 8000, probation: 0 });
  for (const q of [1, 2, 4, 5]) s.update(q, q * 160, q * 20 + (q % 2) * 3, 160, 0xabc);
  const block = s.report(200);
  const rr = parseRtcp(serializeRtcp([{ type: 'rr', ssrc: 1, reports: [block] }]));
  t.same(rr, [{ type: 'rr', ssrc: 1, reports: [block] }]);
  t.equal(block.cumulativeLost, 1);
  t.equal(block.fractionLost, 51);
});
