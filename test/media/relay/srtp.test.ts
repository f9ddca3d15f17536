import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { SrtpContext, generateSrtpKeySalt, isSrtpFailure, serializeRtcp, parseRtcp } from '../../../media/rtp/index.js';
import { Peer, rtp, hdr, randomRange, PCMU, te, until } from './helpers.js';

const SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;

for (const suite of SUITES) {
  t.test(`RTP ↔ SRTP bridging (${suite}): the plain leg gets plain RTP, the SRTP leg gets packets only its key opens`, async (t) => {
    const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 0 });
    const a = await Peer.open();
    const b = await Peer.open();
    t.teardown(async () => { a.close(); b.close(); await relay.close(); });
    const ourKey = generateSrtpKeySalt(); // what the relay protects with towards B
    const theirKey = generateSrtpKeySalt(); // what B protects with
    const s = await relay.createSession();
    const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU, te(101)] });
    const lb = await s.addLeg({
      id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU, te(101)], rtcpMux: true,
      srtp: { suite, localKey: ourKey, remoteKey: theirKey },
    });
    await s.bridge('A', 'B');
    const bTx = SrtpContext.fromSdes(suite, theirKey);
    const bRx = SrtpContext.fromSdes(suite, ourKey);

    // A (plain) → B (SRTP)
    for (let i = 0; i < 20; i++) await a.send(rtp(0, 100 + i, i * 160, 0xa1, Buffer.alloc(160, i)), la.localPort);
    await b.waitFor(20);
    t.equal(b.rx.length, 20);
    const tag = suite.endsWith('80') ? 10 : 4;
    t.ok(b.rx.every((r) => r.buf.length === 12 + 160 + tag), 'every packet carries the auth tag');
    t.notOk(b.rx[3]!.buf.subarray(12, 172).equals(Buffer.alloc(160, 3)), 'payload is encrypted on the wire');
    const opened = b.rx.map((r) => bRx.unprotectRtp(r.buf));
    t.equal(opened.filter(isSrtpFailure).length, 0, 'B opens every packet with the relay key');
    t.ok((opened[3] as Buffer).subarray(12).equals(Buffer.alloc(160, 3)), 'and gets the original payload');
    t.same(opened.map((p) => hdr(p as Buffer).seq), Array.from({ length: 20 }, (_, i) => 100 + i));

    // B (SRTP) → A (plain), including a telephone-event
    for (let i = 0; i < 10; i++) {
      const p = bTx.protectRtp(rtp(i === 9 ? 101 : 0, 500 + i, i * 160, 0xb1, i === 9 ? 4 : Buffer.alloc(160, 0x40 + i)));
      await b.send(p as Buffer, lb.localPort);
    }
    await a.waitFor(10);
    t.equal(a.rx.length, 10);
    t.ok(a.rx[2]!.buf.equals(rtp(0, 502, 320, 0xb1, Buffer.alloc(160, 0x42))), 'A receives the decrypted packet byte for byte');
    t.equal(hdr(a.rx[9]!.buf).pt, 101);

    // replayed, tampered and wrong-key packets are dropped and counted
    const replay = bTx.protectRtp(rtp(0, 510, 1600, 0xb1)) as Buffer;
    await b.send(replay, lb.localPort);
    await b.send(replay, lb.localPort);
    const tampered = Buffer.from(bTx.protectRtp(rtp(0, 511, 1760, 0xb1)) as Buffer);
    tampered[20]! ^= 1;
    await b.send(tampered, lb.localPort);
    await b.send(SrtpContext.fromSdes(suite, generateSrtpKeySalt()).protectRtp(rtp(0, 512, 1920, 0xb1)) as Buffer, lb.localPort);
    await b.send(rtp(0, 513, 2080, 0xb1), lb.localPort); // plain RTP on an SRTP leg
    await until(async () => (await s.stats()).legs.find((l) => l.id === 'B')!.drops.srtp >= 4);
    await a.waitFor(11, 300); // the one accepted copy (a second one would arrive within this wait too)
    const st = (await s.stats()).legs.find((l) => l.id === 'B')!;
    t.equal(st.drops.srtp, 4, 'replay, tamper, wrong key, plain: 4 drops');
    t.equal(st.srtp!.replays, 1);
    t.equal(st.srtp!.authFailures, 3);
    t.equal(a.rx.length, 11, 'only the first copy of the replayed packet reached A');
    t.equal(st.srtp!.suite, suite);

    // SRTCP on the muxed port → plain RTCP on A's RTCP port; A's RTCP → SRTCP for B
    const sr = serializeRtcp([{ type: 'rr', ssrc: 0xb1, reports: [] }, { type: 'sdes', chunks: [{ source: 0xb1, items: [{ type: 1, value: 'b@x' }] }] }]);
    const aRtcp = await Peer.open();
    t.teardown(() => aRtcp.close());
    await s.updateLeg('A', { remote: { address: '127.0.0.1', port: a.port, rtcpPort: aRtcp.port } });
    await b.send(bTx.protectRtcp(sr) as Buffer, lb.localPort);
    await aRtcp.waitFor(1);
    t.ok(aRtcp.rx[0]?.buf.equals(sr), 'SRTCP from B arrives at A as the original RTCP');
    const rr = serializeRtcp([{ type: 'rr', ssrc: 0xa1, reports: [] }]);
    const before = b.rx.length;
    await aRtcp.send(rr, la.localRtcpPort);
    await b.waitFor(before + 1);
    const srtcp = b.rx[before]!.buf;
    const plain = bRx.unprotectRtcp(srtcp);
    t.notOk(isSrtpFailure(plain), 'B opens the SRTCP');
    t.same(parseRtcp(plain as Buffer)[0], { type: 'rr', ssrc: 0xa1, reports: [] });
  });
}

t.test('SRTP → SRTP with different keys on each leg re-protects; a bad key is a typed error and leaks no port', async (t) => {
  const relay = await createRelay({ ...randomRange(8), bindAddress: '127.0.0.1', workers: 1 });
  const a = await Peer.open();
  const b = await Peer.open();
  t.teardown(async () => { a.close(); b.close(); await relay.close(); });
  const k = Array.from({ length: 4 }, () => generateSrtpKeySalt());
  const s = await relay.createSession();
  const suite = 'AES_CM_128_HMAC_SHA1_80';
  const la = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: a.port }, codecs: [PCMU], srtp: { suite, localKey: k[0]!, remoteKey: k[1]! } });
  await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: b.port }, codecs: [PCMU], srtp: { suite: 'AES_CM_128_HMAC_SHA1_32', localKey: k[2]!, remoteKey: k[3]! } });
  await s.bridge('A', 'B');
  const aTx = SrtpContext.fromSdes(suite, k[1]!);
  const bRx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_32', k[2]!);
  for (let i = 0; i < 5; i++) await a.send(aTx.protectRtp(rtp(0, 7 + i, i * 160, 0x77, Buffer.alloc(160, i + 1))) as Buffer, la.localPort);
  await b.waitFor(5);
  const opened = b.rx.map((r) => bRx.unprotectRtp(r.buf));
  t.equal(opened.filter(isSrtpFailure).length, 0);
  t.ok((opened[4] as Buffer).equals(rtp(0, 11, 640, 0x77, Buffer.alloc(160, 5))));
  await t.rejects(s.addLeg({ id: 'C', codecs: [PCMU], srtp: { suite, localKey: 'short', remoteKey: k[0]! } }), { code: 'DPBX_ERR_RELAY_SRTP' });
  await t.rejects(s.addLeg({ id: 'D', codecs: [PCMU], srtp: { suite: 'AEAD_AES_256_GCM', localKey: k[0]!, remoteKey: k[0]! } }), { code: 'DPBX_ERR_RELAY_SRTP' });
  t.equal(relay.ports.allocated, 2, 'the failed legs released their ports');
  // SRTP can be switched off by a re-INVITE (RTP/AVP answer)
  await s.updateLeg('B', { srtp: null });
  await a.send(aTx.protectRtp(rtp(0, 12, 800, 0x77, Buffer.alloc(160, 9))) as Buffer, la.localPort);
  await b.waitFor(6);
  t.ok(b.rx[5]!.buf.equals(rtp(0, 12, 800, 0x77, Buffer.alloc(160, 9))), 'plain after srtp: null');
});
