import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { Peer, rtp, hdr, randomRange, PCMU, canBind } from './helpers.js';

t.test('1,000 packets in = 1,000 out with continuous sequence numbers, through a worker thread on real UDP sockets', async (t) => {
  const relay = await createRelay({ ...randomRange(16), bindAddress: '127.0.0.1', workers: 1, socketBufferBytes: 1 << 20 });
  const a = await Peer.open();
  const b = await Peer.open();
  t.teardown(async () => { a.close(); b.close(); await relay.close(); });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU] });
  await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU] });
  await s.bridge('A', 'B');
  const start = 65000; // crosses the 16-bit wrap
  for (let i = 0; i < 1000; i++) {
    await a.send(rtp(0, (start + i) & 0xffff, i * 160, 0xfeed), la.localPort);
    if (i % 50 === 49) await b.waitFor(i + 1, 2000); // window of 50: the test's own receive buffer must not overflow
  }
  await b.waitFor(1000);
  t.equal(b.rx.length, 1000, 'every packet relayed');
  const seqs = b.rx.map((r) => hdr(r.buf).seq);
  const missing = seqs.filter((s, i) => i > 0 && s !== ((seqs[i - 1]! + 1) & 0xffff)).length;
  t.equal(missing, 0, 'continuous (arrival order)');
  t.equal(seqs[0], start);
  t.equal(seqs[999], (start + 999) & 0xffff);
  t.ok(b.rx.every((r, i) => r.buf.subarray(12).equals(Buffer.alloc(160, (start + i) & 0xff))), 'payload bytes untouched');
  const st = await s.stats();
  const A = st.legs.find((l) => l.id === 'A')!;
  const B = st.legs.find((l) => l.id === 'B')!;
  t.equal(A.packetsIn, 1000);
  t.equal(B.packetsOut, 1000);
  t.equal(A.lost, 0);
  t.equal(B.bytesOut, 1000 * 172);
  const ports = [la.localPort, la.localPort + 1];
  await s.close();
  for (const p of ports) t.ok(await canBind(p), `port ${p} re-bindable after close`);
});

t.test('sessions spread over the worker pool; relay.close() stops everything', async (t) => {
  const relay = await createRelay({ ...randomRange(16), bindAddress: '127.0.0.1', workers: 2 });
  const s1 = await relay.createSession();
  const s2 = await relay.createSession();
  await s1.addLeg({ id: 'A', codecs: [PCMU] });
  await s2.addLeg({ id: 'A', codecs: [PCMU] });
  const per = await relay.workerStats();
  t.same(per.map((w) => w.sessions), [1, 1]);
  await relay.close();
  t.equal(relay.ports.allocated, 0);
  await t.rejects(relay.createSession(), { code: 'DPBX_ERR_RELAY_CLOSED' });
});
