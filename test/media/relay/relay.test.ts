import t from 'tap';
import { createRelay, RelayError, type Relay } from '../../../media/relay/index.js';
import { Peer, rtp, hdr, randomRange, PCMU, te, until } from './helpers.js';

async function setup(tt: { teardown: (fn: () => unknown) => void }, extra: Record<string, unknown> = {}) {
  const relay: Relay = await createRelay({ ...randomRange(64), bindAddress: '127.0.0.1', workers: 0, ...extra });
  const a = await Peer.open();
  const b = await Peer.open();
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU, te(101)] });
  const lb = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU, te(101)] });
  await s.bridge('A', 'B');
  tt.teardown(async () => {
    a.close();
    b.close();
    await relay.close();
  });
  return { relay, s, a, b, la, lb };
}

t.test('latching: the leg learns the real source port, follows a mid-call port change of the same SSRC, ignores strangers', async (t) => {
  const { s, a, b, la, lb } = await setup(t);
  const latched: unknown[] = [];
  s.on('latched', (e) => latched.push(e));
  // B's SDP said b.port, but its media really comes from another socket (NAT): b2
  const b2 = await Peer.open();
  t.teardown(() => b2.close());
  await b2.send(rtp(0, 1, 160, 0xbbbb), lb.localPort);
  await a.waitFor(1);
  t.equal(a.rx.length, 1, 'B → A forwarded');
  await a.send(rtp(0, 10, 1600, 0xaaaa), la.localPort);
  await b2.waitFor(1);
  t.equal(b2.rx.length, 1, 'A → B sent to the latched port, not the SDP port');
  t.equal(b.rx.length, 0);

  // a stranger (other port, other SSRC) is ignored and counted
  const stranger = await Peer.open();
  t.teardown(() => stranger.close());
  for (let i = 0; i < 5; i++) await stranger.send(rtp(0, 100 + i, 0, 0x5555), lb.localPort);
  // mid-call port change: same SSRC from a new port re-latches
  const b3 = await Peer.open();
  t.teardown(() => b3.close());
  await b3.send(rtp(0, 2, 320, 0xbbbb), lb.localPort);
  await a.waitFor(2);
  await a.send(rtp(0, 11, 1760, 0xaaaa), la.localPort);
  await b3.waitFor(1);
  t.equal(b3.rx.length, 1, 'A → B now goes to the new port');
  t.equal(b2.rx.length, 1, 'old port gets nothing more');
  t.equal(a.rx.length, 2, 'stranger packets were not forwarded');
  await until(async () => (await s.stats()).legs[1]!.drops.stranger >= 5);
  const st = await s.stats();
  const legB = st.legs.find((l) => l.id === 'B')!;
  t.equal(legB.drops.stranger, 5);
  t.equal(legB.relatches, 1);
  t.same(legB.remote, { address: '127.0.0.1', port: b3.port });
  await new Promise((r) => setImmediate(r));
  t.ok(latched.length >= 3, 'latched events emitted');
});

t.test('a re-INVITE with a new address re-opens latching for the next packet', async (t) => {
  const { s, a, la, lb } = await setup(t);
  const b2 = await Peer.open();
  const b3 = await Peer.open();
  t.teardown(() => { b2.close(); b3.close(); });
  await b2.send(rtp(0, 1, 160, 0x1111), lb.localPort);
  await a.waitFor(1);
  // new address announced; the new endpoint uses a new SSRC
  await s.updateLeg('B', { remote: { address: '127.0.0.1', port: b3.port } });
  await a.send(rtp(0, 1, 160, 0x2222), la.localPort);
  await b3.waitFor(1);
  t.equal(b3.rx.length, 1, 'sent to the newly announced address');
  await b3.send(rtp(0, 7, 999, 0x3333), lb.localPort);
  await a.waitFor(2);
  t.equal(a.rx.length, 2, 'new SSRC from the new address accepted');
  await b2.send(rtp(0, 2, 320, 0x4444), lb.localPort);
  await until(async () => (await s.stats()).legs[1]!.drops.stranger === 1);
  const st = await s.stats();
  await a.send(rtp(0, 2, 320, 0x2222), la.localPort);
  await b3.waitFor(2);
  t.equal(b2.rx.length, 0);
  t.ok(st.legs.find((l) => l.id === 'B')!.relatches >= 1);
});

t.test('garbage and truncated packets are counted and dropped; valid ones still flow', async (t) => {
  const { s, a, b, la } = await setup(t);
  const bad = [
    Buffer.from('hello world, not rtp'),
    Buffer.from([0x80, 0x00, 0x00]),
    rtp(0, 1, 1, 1).subarray(0, 11),
    (() => { const x = rtp(0, 1, 1, 1, 4); x[0] = 0x8f; return x; })(), // 15 CSRCs declared, none present
    (() => { const x = rtp(0, 1, 1, 1, 4); x[0] = 0x90; return x; })(), // extension bit without extension
    (() => { const x = rtp(0, 1, 1, 1, 4); x[0] = 0xa0; x[x.length - 1] = 200; return x; })(), // padding > payload
    Buffer.alloc(0),
  ];
  for (const p of bad) await a.send(p, la.localPort);
  for (let i = 0; i < 3; i++) await a.send(rtp(0, i, i * 160, 0xabc), la.localPort);
  await b.waitFor(3);
  t.equal(b.rx.length, 3);
  const legA = (await s.stats()).legs.find((l) => l.id === 'A')!;
  t.equal(legA.drops.malformed, bad.length);
  t.equal(legA.packetsIn, bad.length + 3);
});

t.test('SSRC switch (e.g. after a transfer) keeps the output continuous: one SSRC, +1 seq, forward ts, marker', async (t) => {
  const { a, b, la } = await setup(t);
  for (let i = 0; i < 10; i++) await a.send(rtp(0, 100 + i, 8000 + i * 160, 0x1000), la.localPort);
  for (let i = 0; i < 10; i++) await a.send(rtp(0, 60000 + i, 4000000000 + i * 160, 0x2000), la.localPort);
  await b.waitFor(20);
  const h = b.rx.map((r) => hdr(r.buf));
  t.equal(h.length, 20);
  t.ok(h.every((x) => x.ssrc === 0x1000), 'one SSRC throughout');
  t.ok(h.every((x, i) => i === 0 || x.seq === ((h[i - 1]!.seq + 1) & 0xffff)), 'sequence continuous');
  t.ok(h.every((x, i) => i === 0 || ((x.ts - h[i - 1]!.ts) >>> 0) >= 160 && ((x.ts - h[i - 1]!.ts) >>> 0) < 80000), 'timestamps advance');
  t.same(h.slice(0, 10).map((x) => x.seq), [100, 101, 102, 103, 104, 105, 106, 107, 108, 109], 'untouched before the switch');
  t.equal(h[10]!.marker, true, 'marker on the first packet of the new source');
  t.equal(h.filter((x) => x.marker).length, 1);
});

t.test('payload types are mapped per leg; telephone-event is dropped and counted when the other leg lacks it', async (t) => {
  const relay = await createRelay({ ...randomRange(16), bindAddress: '127.0.0.1', workers: 0 });
  const a = await Peer.open();
  const b = await Peer.open();
  const c = await Peer.open();
  t.teardown(async () => { a.close(); b.close(); c.close(); await relay.close(); });
  const s = await relay.createSession();
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [{ pt: 0, name: 'pcmu', rate: 8000 }, te(101)] });
  await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [{ pt: 96, name: 'PCMU', rate: 8000 }, te(100)] });
  await s.addLeg({ id: 'C', remote: { address: '127.0.0.1', port: c.port }, codecs: [PCMU] });
  await s.link('A', 'B');
  await a.send(rtp(0, 1, 160, 7), la.localPort);
  await a.send(rtp(101, 2, 320, 7, 4), la.localPort);
  await a.send(rtp(99, 3, 480, 7), la.localPort); // not negotiated
  await b.waitFor(2);
  t.same(b.rx.map((r) => hdr(r.buf).pt), [96, 100]);
  await s.unlink('A', 'B');
  await s.link('A', 'C');
  await a.send(rtp(101, 4, 640, 7, 4), la.localPort);
  await a.send(rtp(0, 5, 800, 7), la.localPort);
  await c.waitFor(1);
  t.same(c.rx.map((r) => hdr(r.buf).pt), [0]);
  const legA = (await s.stats()).legs.find((l) => l.id === 'A')!;
  t.equal(legA.drops.noTelephoneEvent, 1);
  t.equal(legA.drops.unknownPt, 1);
});

t.test('hold: a sendonly/inactive destination receives nothing; counted as direction drops', async (t) => {
  const { s, a, b, la } = await setup(t);
  await s.updateLeg('B', { direction: 'inactive' });
  await a.send(rtp(0, 1, 160, 1), la.localPort);
  await until(async () => (await s.stats()).legs[0]!.packetsIn === 1);
  await s.updateLeg('B', { direction: 'sendrecv' });
  await a.send(rtp(0, 2, 320, 1), la.localPort);
  await b.waitFor(1);
  t.equal(b.rx.length, 1);
  t.equal(hdr(b.rx[0]!.buf).seq, 2);
  t.equal((await s.stats()).legs.find((l) => l.id === 'A')!.drops.direction, 1);
});

t.test('media timeout fires once for a latched leg that went silent', async (t) => {
  const { s, a, la } = await setup(t, { mediaTimeoutMs: 150 });
  const events: { legId: string; idleMs: number }[] = [];
  const fired = new Promise<void>((resolve) => s.on('mediaTimeout', (e) => { events.push(e); resolve(); }));
  await a.send(rtp(0, 1, 160, 1), la.localPort);
  await fired;
  t.equal(events[0]!.legId, 'A');
  t.ok(events[0]!.idleMs >= 150);
  const st = await s.stats();
  t.ok(st.legs.find((l) => l.id === 'B')!.idleMs === -1, 'B never sent: no timeout for it');
  t.equal(events.length, 1);
});

t.test('errors: unknown session/leg, duplicate leg, bad SRTP key', async (t) => {
  const { relay, s } = await setup(t);
  await t.rejects(s.addLeg({ id: 'A', codecs: [PCMU] }), { code: 'DPBX_ERR_RELAY_LEG_EXISTS' });
  await t.rejects(s.link('A', 'Z'), { code: 'DPBX_ERR_RELAY_LEG_NOT_FOUND' });
  await t.rejects(
    s.addLeg({ id: 'S', codecs: [PCMU], srtp: { suite: 'AES_CM_128_HMAC_SHA1_80', localKey: 'x', remoteKey: 'y' } }),
    { code: 'DPBX_ERR_RELAY_SRTP' },
  );
  await t.rejects(relay.createSession(s.id), { code: 'DPBX_ERR_RELAY_SESSION_EXISTS' });
  await s.close();
  await t.rejects(s.stats(), RelayError);
  t.equal(relay.ports.allocated, 0, 'every port released (including the failed SRTP leg)');
});
