import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { parseRtcp, serializeRtcp, SDES_CNAME, type RtcpPacket } from '../../../media/rtp/index.js';
import { Peer, rtp, hdr, randomRange, PCMU, PCMA, te, until, sibling } from './helpers.js';

const rr = (ssrc: number) => serializeRtcp([{ type: 'rr', ssrc, reports: [] }, { type: 'sdes', chunks: [{ source: ssrc, items: [{ type: SDES_CNAME, value: `c${ssrc}` }] }] }]);

t.test('RTCP passes through between pass-through legs: separate RTCP ports (a=rtcp) and rtcp-mux', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0 });
  const [a, aRtcp, b] = [await Peer.open(), await Peer.open(), await Peer.open()];
  t.teardown(async () => { a.close(); aRtcp.close(); b.close(); await relay.close(); });
  const s = await relay.createSession();
  // A: classic RTP + RTCP on its own port (a=rtcp); B: rtcp-mux (RFC 5761) — RTCP on the RTP port both ways
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port, rtcpPort: aRtcp.port }, codecs: [PCMU] });
  const lb = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU], rtcpMux: true });
  t.equal(la.localRtcpPort, la.localPort + 1);
  t.equal(lb.localRtcpPort, lb.localPort);
  await s.bridge('A', 'B');
  await aRtcp.send(rr(0xa), la.localRtcpPort);
  await b.waitFor(1);
  t.ok(b.rx[0]!.buf.equals(rr(0xa)), 'A’s RTCP reaches B on its (muxed) RTP port unchanged');
  await b.send(rr(0xb), lb.localPort); // RTCP on the muxed port
  await b.send(rtp(0, 1, 160, 0xb), lb.localPort); // and RTP on the same port
  await aRtcp.waitFor(1);
  await a.waitFor(1);
  t.ok(aRtcp.rx[0]!.buf.equals(rr(0xb)), 'B’s muxed RTCP is demultiplexed and reaches A’s RTCP port');
  t.equal(hdr(a.rx[0]!.buf).ssrc, 0xb, 'RTP on the muxed port still goes to A’s RTP port');
  const st = await s.stats();
  t.equal(st.legs.find((l) => l.id === 'B')!.rtcpIn, 1);
  t.equal(st.legs.find((l) => l.id === 'A')!.rtcpOut, 1);
  t.equal(st.legs.find((l) => l.id === 'B')!.rtcpGenerated, 0, 'nothing generated while passing through');
});

t.test('RTCP is generated (SR + report block + SDES CNAME) towards a transcoded leg; the other side’s RTCP is not forwarded there', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0, rtcpIntervalMs: 100, transcoder: sibling('g711-test-transcoder') });
  const [a, b, bRtcp] = [await Peer.open(), await Peer.open(), await Peer.open()];
  t.teardown(async () => { a.close(); b.close(); bRtcp.close(); await relay.close(); });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU] });
  const lb = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port, rtcpPort: bRtcp.port }, codecs: [PCMA] });
  await s.bridge('A', 'B');
  for (let i = 0; i < 10; i++) await a.send(rtp(0, i, i * 160, 0xaa), la.localPort);
  for (let i = 0; i < 10; i++) await b.send(rtp(8, 100 + i, i * 160, 0xbb), lb.localPort);
  await b.waitFor(10);
  await a.send(rr(0xaa), la.localRtcpPort); // A's own RTCP: describes PCMU, meaningless to B → dropped
  // the first report after all media above was relayed (reports are due every ~100 ms here)
  const n0 = bRtcp.rx.length;
  await bRtcp.waitFor(n0 + 1);
  const pkts: RtcpPacket[] = parseRtcp(bRtcp.rx[n0]!.buf);
  t.equal(pkts[0]!.type, 'sr', 'we sent media to B, so the first packet is an SR');
  const sr = pkts[0] as Extract<RtcpPacket, { type: 'sr' }>;
  t.equal(sr.ssrc, hdr(b.rx[0]!.buf).ssrc, 'SR SSRC = the SSRC of the stream B receives');
  t.equal(sr.packetCount, 10);
  t.equal(sr.octetCount, 1600);
  t.equal(sr.reports.length, 1, 'one report block: what B sends us');
  t.equal(sr.reports[0]!.ssrc, 0xbb);
  t.equal(sr.reports[0]!.extendedHighestSeq, 109);
  t.equal(sr.reports[0]!.cumulativeLost, 0);
  const sdes = pkts.find((p) => p.type === 'sdes') as Extract<RtcpPacket, { type: 'sdes' }>;
  t.equal(sdes.chunks[0]!.items[0]!.type, SDES_CNAME, 'SDES CNAME present (RFC 3550 §6.1)');
  t.ok(bRtcp.rx.every((r) => !r.buf.equals(rr(0xaa))), 'A’s RTCP never reached B');
  await until(async () => (await s.stats()).legs.find((l) => l.id === 'A')!.drops.rtcp >= 1);
  const st = await s.stats();
  t.ok(st.legs.find((l) => l.id === 'B')!.rtcpGenerated >= 1);
  t.equal(st.legs.find((l) => l.id === 'A')!.drops.rtcp, 1);
});

t.test('old-style hold: c=0.0.0.0 stops media to that leg without sending anywhere; a real address resumes it', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0 });
  const [a, b] = [await Peer.open(), await Peer.open()];
  t.teardown(async () => { a.close(); b.close(); await relay.close(); });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU] });
  await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU] });
  await s.bridge('A', 'B');
  await a.send(rtp(0, 1, 160, 1), la.localPort);
  await b.waitFor(1);
  await s.updateLeg('B', { remote: { address: '0.0.0.0', port: b.port } });
  for (let i = 2; i < 5; i++) await a.send(rtp(0, i, i * 160, 1), la.localPort);
  await until(async () => (await s.stats()).legs[0]!.drops.direction >= 3);
  const held = await s.stats();
  t.equal(held.legs.find((l) => l.id === 'A')!.drops.direction, 3, 'held: counted as direction drops');
  t.equal(held.legs.find((l) => l.id === 'B')!.packetsOut, 1, 'nothing sent (in particular not to 0.0.0.0)');
  await s.updateLeg('B', { remote: { address: '127.0.0.1', port: b.port } });
  await a.send(rtp(0, 5, 800, 1), la.localPort);
  await b.waitFor(2);
  t.equal(hdr(b.rx[1]!.buf).seq, 5, 'resumed after the re-INVITE with a real address');
});

t.test('per-leg counters: packets, bytes, loss (RFC 3550 A.3) and jitter (A.8) of what each leg sends', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0 });
  const [a, b] = [await Peer.open(), await Peer.open()];
  t.teardown(async () => { a.close(); b.close(); await relay.close(); });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU, te(101)] });
  const lb = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU, te(101)] });
  await s.bridge('A', 'B');
  // A: 20 packets with sequence numbers 0..24 minus 5 gaps, paced in RTP time exactly like sent back to back
  const seqs = Array.from({ length: 25 }, (_, i) => i).filter((i) => i % 5 !== 3);
  for (const q of seqs) await a.send(rtp(0, q, 0, 0x1, 100), la.localPort);
  // B: 10 packets sent back to back but stamped one second apart: arrival spacing ≠ timestamp spacing → jitter
  for (let i = 0; i < 10; i++) await b.send(rtp(0, i, i * 8000, 0x2, 60), lb.localPort);
  await b.waitFor(seqs.length);
  await a.waitFor(10);
  const st = await s.stats();
  const A = st.legs.find((l) => l.id === 'A')!;
  const B = st.legs.find((l) => l.id === 'B')!;
  t.equal(A.packetsIn, 20);
  t.equal(A.bytesIn, 20 * 112);
  t.equal(A.lost, 5, 'five gaps in A’s sequence');
  t.equal(B.packetsOut, 20);
  t.equal(B.bytesOut, 20 * 112);
  t.equal(B.packetsIn, 10);
  t.equal(B.lost, 0);
  t.ok(B.jitterMs > 100, `jitter of B’s stream ${B.jitterMs} ms (timestamps 1 s apart, arrivals ms apart)`);
  t.ok(A.jitterMs < B.jitterMs, 'A’s stream (all timestamps equal, sent back to back) jitters far less');
  t.equal(A.packetsOut, 10);
  t.equal(A.idleMs >= 0 && B.idleMs >= 0, true);
});
