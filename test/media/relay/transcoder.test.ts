import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { ULAW_ENCODE, ULAW_DECODE, ALAW_ENCODE } from '../../../media/play/index.js';
import { Peer, rtp, hdr, randomRange, PCMU, te, sibling } from './helpers.js';

const PCMA40 = { pt: 8, name: 'PCMA', rate: 8000, ptime: 40 };

t.test('transcoder plugin: PCMU 20 ms → PCMA 40 ms re-packetised with correct seq/ts; events renumbered; reverse direction 40 → 20', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0, transcoder: sibling('g711-test-transcoder') });
  const a = await Peer.open();
  const b = await Peer.open();
  t.teardown(async () => { a.close(); b.close(); await relay.close(); });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU, te(101)] });
  const lb = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMA40, te(96)] });
  await s.bridge('A', 'B');

  // a ramp of samples so the payload mapping is checkable
  const pcm = new Int16Array(160 * 10);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(20000 * Math.sin(i / 7));
  for (let k = 0; k < 10; k++) {
    const payload = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) payload[i] = ULAW_ENCODE[pcm[k * 160 + i]! & 0xffff]!;
    await a.send(rtp(0, 500 + k, 1000 + k * 160, 0xa1, payload), la.localPort);
  }
  await b.waitFor(5);
  const h = b.rx.map((r) => hdr(r.buf));
  t.equal(h.length, 5, '10 × 20 ms in → 5 × 40 ms out');
  t.ok(h.every((x) => x.pt === 8), 'destination PT');
  t.ok(b.rx.every((r) => r.buf.length === 12 + 320), '320-byte payloads');
  t.ok(h.every((x, i) => i === 0 || (x.seq === ((h[i - 1]!.seq + 1) & 0xffff) && x.ts === ((h[i - 1]!.ts + 320) >>> 0))), 'seq +1, ts +320');
  const expected = Buffer.alloc(1600);
  for (let i = 0; i < 1600; i++) expected[i] = ALAW_ENCODE[ULAW_DECODE[ULAW_ENCODE[pcm[i]! & 0xffff]!]! & 0xffff]!;
  t.ok(Buffer.concat(b.rx.map((r) => r.buf.subarray(12))).equals(expected), 'payload = A-law of the decoded µ-law');

  // RFC 4733 event through the transcoded direction: PT mapped, numbered in the output stream, one ts per event
  const ev = Buffer.from([5, 0x0a, 0x00, 0xa0]);
  await a.send(rtp(101, 510, 2600, 0xa1, ev, true), la.localPort);
  await a.send(rtp(101, 511, 2600, 0xa1, ev), la.localPort);
  await b.waitFor(7);
  const e = b.rx.slice(5).map((r) => hdr(r.buf));
  t.same(e.map((x) => x.pt), [96, 96]);
  t.equal(e[0]!.seq, (h[4]!.seq + 1) & 0xffff);
  t.equal(e[1]!.seq, (h[4]!.seq + 2) & 0xffff);
  t.equal(e[0]!.ts, e[1]!.ts, 'same event timestamp');
  t.equal(e[0]!.ts, (h[4]!.ts + 320) >>> 0, 'event starts where the audio stream is');

  // reverse: B sends 40 ms A-law, A receives 20 ms µ-law (one packet in → two out)
  await b.send(rtp(8, 9, 0, 0xb1, Buffer.alloc(320, 0xd5)), lb.localPort);
  await a.waitFor(2);
  t.equal(a.rx.length, 2);
  t.ok(a.rx.every((r) => r.buf.length === 172 && hdr(r.buf).pt === 0));
  t.equal(hdr(a.rx[1]!.buf).ts, (hdr(a.rx[0]!.buf).ts + 160) >>> 0);
});

t.test('different codecs without a plugin: linking fails with DPBX_ERR_RELAY_NO_TRANSCODER; unsupported pair → DPBX_ERR_RELAY_TRANSCODER', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0 });
  t.teardown(() => relay.close());
  const s = await relay.createSession();
  await s.addLeg({ id: 'A', codecs: [PCMU] });
  await s.addLeg({ id: 'B', codecs: [PCMA40] });
  await t.rejects(s.link('A', 'B'), { code: 'DPBX_ERR_RELAY_NO_TRANSCODER' });

  const relay2 = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0, transcoder: sibling('g711-test-transcoder') });
  t.teardown(() => relay2.close());
  const s2 = await relay2.createSession();
  await s2.addLeg({ id: 'A', codecs: [PCMU] });
  await s2.addLeg({ id: 'B', codecs: [{ pt: 9, name: 'G722', rate: 8000 }] });
  await t.rejects(s2.link('A', 'B'), { code: 'DPBX_ERR_RELAY_TRANSCODER' });
});

t.test('the plugin is imported inside the worker thread', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 1, transcoder: sibling('g711-test-transcoder') });
  const a = await Peer.open();
  const b = await Peer.open();
  t.teardown(async () => { a.close(); b.close(); await relay.close(); });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU] });
  await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMA40] });
  await s.link('A', 'B');
  await a.send(rtp(0, 1, 0, 1, Buffer.alloc(160, 0xff)), la.localPort);
  await a.send(rtp(0, 2, 160, 1, Buffer.alloc(160, 0xff)), la.localPort);
  await b.waitFor(1);
  t.equal(b.rx.length, 1);
  t.ok(b.rx[0]!.buf.subarray(12).equals(Buffer.alloc(320, 0xd5)), 'µ-law silence → A-law silence');
});
