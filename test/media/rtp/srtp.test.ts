import t from 'tap';
import {
  AesCmKeystream,
  srtpKdf,
  deriveSrtpSessionKeys,
  SrtpContext,
  ReplayWindow,
  RtpPacket,
  isSrtpFailure,
  generateSrtpKeySalt,
  parseRtcp,
  serializeRtcp,
} from '../../../media/rtp/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

t.test('RFC 3711 B.2: AES-CM keystream for session key/salt, SSRC 0, index 0', async (t) => {
  const ks = new AesCmKeystream(hex('2B7E151628AED2A6ABF7158809CF4F3C')).keystream(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0, 0xff02 * 16);
  const block = (i: number) => ks.subarray(i * 16, i * 16 + 16).toString('hex').toUpperCase();
  t.equal(block(0x0000), 'E03EAD0935C95E80E166B16DD92B4EB4');
  t.equal(block(0x0001), 'D23513162B02D0F72A43A2FE4A5F97AB');
  t.equal(block(0x0002), '41E95B3BB0A2E8DD477901E4FCA894C0');
  t.equal(block(0xfeff), 'EC8CDF7398607CB0F2D21675EA9EA1E4');
  t.equal(block(0xff00), '362B7C3C6773516318A077D7FC5073AE');
  t.equal(block(0xff01), '6A2CC3787889374FBEB4C81B17BA6C44');
});

t.test('RFC 3711 B.3: key derivation (labels 0, 1, 2 with kdr 0)', async (t) => {
  t.equal(srtpKdf(MASTER_KEY, MASTER_SALT, 0, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  t.equal(srtpKdf(MASTER_KEY, MASTER_SALT, 2, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  t.equal(
    srtpKdf(MASTER_KEY, MASTER_SALT, 1, 94).toString('hex').toUpperCase(),
    'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCEE049646C43D9327AD175578EF7227098' +
      '6371C10C9A369AC2F94A8C5FBCDDDC256D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2',
  );
  const k = deriveSrtpSessionKeys(MASTER_KEY, MASTER_SALT);
  t.equal(k.rtp.authKey.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  t.not(k.rtcp.encryptionKey.toString('hex'), k.rtp.encryptionKey.toString('hex'), 'SRTCP uses its own labels 3–5');
});

// libsrtp's reference packet (test/srtp_driver.c) with the B.3 master key: AES_CM_128_HMAC_SHA1_80.
const PLAIN_RTP = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
const SRTP_REF = hex('800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb');
const PLAIN_RTCP = hex('81c8000bcafebabe' + 'ab'.repeat(16));
const SRTCP_REF = hex('81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798');
const ctx = (suite = 'AES_CM_128_HMAC_SHA1_80') => new SrtpContext({ suite, masterKey: MASTER_KEY, masterSalt: MASTER_SALT });

t.test('protect/unprotect the reference SRTP packet exactly', async (t) => {
  const out = ctx().protectRtp(PLAIN_RTP);
  t.equal(Buffer.isBuffer(out) && out.toString('hex'), SRTP_REF.toString('hex'));
  const back = ctx().unprotectRtp(SRTP_REF);
  t.equal(Buffer.isBuffer(back) && back.toString('hex'), PLAIN_RTP.toString('hex'));
});

t.test('SRTCP reference packet: unprotect, and protect with SRTCP index 1', async (t) => {
  const back = ctx().unprotectRtcp(SRTCP_REF);
  t.equal(Buffer.isBuffer(back) && back.toString('hex'), PLAIN_RTCP.toString('hex'));
  const c = ctx();
  const first = c.protectRtcp(PLAIN_RTCP) as Buffer;
  t.equal(first.readUInt32BE(PLAIN_RTCP.length), 0x80000000, 'our first SRTCP index is 0 with E set');
  t.equal((c.protectRtcp(PLAIN_RTCP) as Buffer).toString('hex'), SRTCP_REF.toString('hex'), 'index 1 matches libsrtp');
  const rx = ctx();
  t.ok(Buffer.isBuffer(rx.unprotectRtcp(first)));
  t.equal(rx.unprotectRtcp(first), 'DPBX_ERR_SRTP_REPLAY');
  t.equal(rx.counters.replays, 1);
});

t.test('_32 suite: 4-byte RTP tag, SRTCP keeps the 80-bit tag', async (t) => {
  const tx = ctx('AES_CM_128_HMAC_SHA1_32');
  const rx = ctx('AES_CM_128_HMAC_SHA1_32');
  const s = tx.protectRtp(PLAIN_RTP) as Buffer;
  t.equal(s.length, PLAIN_RTP.length + 4);
  t.same(s.subarray(0, PLAIN_RTP.length), SRTP_REF.subarray(0, PLAIN_RTP.length), 'same encryption as _80');
  t.equal(s.subarray(PLAIN_RTP.length).toString('hex'), SRTP_REF.subarray(PLAIN_RTP.length, PLAIN_RTP.length + 4).toString('hex'), 'tag is the truncated HMAC');
  t.same(rx.unprotectRtp(s), PLAIN_RTP);
  t.equal((tx.protectRtcp(PLAIN_RTCP) as Buffer).length, PLAIN_RTCP.length + 4 + 10);
});

function rtp(seq: number, ssrc = 0x11223344, payload = Buffer.alloc(160, seq & 0xff)): Buffer {
  return new RtpPacket({ payloadType: 0, sequenceNumber: seq & 0xffff, timestamp: (seq * 160) >>> 0, ssrc, payload }).serialize();
}

t.test('authentication failure, replay and too-short packets are result codes and counted', async (t) => {
  const key = generateSrtpKeySalt();
  const tx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const rx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const p = tx.protectRtp(rtp(1)) as Buffer;
  const bad = Buffer.from(p);
  bad[20]! ^= 1;
  t.equal(rx.unprotectRtp(bad), 'DPBX_ERR_SRTP_AUTH_FAILED');
  t.equal(rx.rolloverCounter(0x11223344), -1, 'a forged packet does not create stream state');
  t.ok(Buffer.isBuffer(rx.unprotectRtp(p)));
  t.equal(rx.unprotectRtp(p), 'DPBX_ERR_SRTP_REPLAY');
  t.equal(rx.unprotectRtp(p.subarray(0, 15)), 'DPBX_ERR_SRTP_TOO_SHORT');
  const wrongKey = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', generateSrtpKeySalt());
  t.equal(wrongKey.unprotectRtp(p), 'DPBX_ERR_SRTP_AUTH_FAILED');
  t.same(rx.counters, { rtpProtected: 0, rtpUnprotected: 1, rtcpProtected: 0, rtcpUnprotected: 0, authFailures: 1, replays: 1, tooShort: 1, badPackets: 0 });
  t.ok(isSrtpFailure('DPBX_ERR_SRTP_REPLAY'));
  t.notOk(isSrtpFailure(p));
});

t.test('ROC follows the sequence wrap, with reordering around it (§3.3.1)', async (t) => {
  const key = generateSrtpKeySalt();
  const tx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const rx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const sent = new Map<number, Buffer>();
  for (let i = 65530; i < 65536 + 8; i++) sent.set(i, tx.protectRtp(rtp(i)) as Buffer);
  t.equal(tx.rolloverCounter(0x11223344), 1, 'sender ROC incremented after 65535');
  const order = [65530, 65531, 65532, 65534, 65536, 65533, 65537, 65535, 65538, 65539, 65540, 65541, 65542, 65543];
  const failures: string[] = [];
  for (const i of order) {
    const r = rx.unprotectRtp(sent.get(i)!);
    if (isSrtpFailure(r)) failures.push(`${i}: ${r}`);
    else if (!r.equals(rtp(i))) failures.push(`${i}: wrong plaintext`);
  }
  t.same(failures, [], 'late packets from before the wrap decrypt with ROC 0');
  t.equal(rx.rolloverCounter(0x11223344), 1);
  t.equal(rx.unprotectRtp(sent.get(65533)!), 'DPBX_ERR_SRTP_REPLAY');
});

t.test('packets older than the replay window are rejected', async (t) => {
  const key = generateSrtpKeySalt();
  const tx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const rx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key, { replayWindow: 64 });
  const pkts = Array.from({ length: 200 }, (_, i) => tx.protectRtp(rtp(i)) as Buffer);
  t.ok(Buffer.isBuffer(rx.unprotectRtp(pkts[0]!)));
  t.ok(Buffer.isBuffer(rx.unprotectRtp(pkts[150]!)));
  t.equal(rx.unprotectRtp(pkts[50]!), 'DPBX_ERR_SRTP_REPLAY', '100 behind with a 64-packet window');
  t.ok(Buffer.isBuffer(rx.unprotectRtp(pkts[100]!)), '50 behind, never seen: accepted');
});

t.test('ReplayWindow marks each index once and forgets what slid out', async (t) => {
  const w = new ReplayWindow(4);
  t.ok(w.check(10));
  w.accept(10);
  t.notOk(w.check(10));
  t.ok(w.check(8));
  w.accept(8);
  t.notOk(w.check(8));
  t.ok(w.check(9));
  t.notOk(w.check(6), 'left of the window');
  w.accept(14);
  t.notOk(w.check(10), 'slid out');
  t.ok(w.check(12));
  t.notOk(w.check(-1));
});

t.test('CSRC/extension headers stay in clear; output buffers are reused; input untouched', async (t) => {
  const key = generateSrtpKeySalt();
  const tx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const rx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const plain = new RtpPacket({
    payloadType: 8,
    sequenceNumber: 9,
    timestamp: 1,
    ssrc: 5,
    csrcs: [7],
    extension: { profile: 0xbede, data: hex('10ff0000') },
    payload: Buffer.from('payload bytes'),
    paddingSize: 3,
  }).serialize();
  const copy = Buffer.from(plain);
  const out = Buffer.alloc(1500);
  const s = tx.protectRtp(plain, plain.length, out) as Buffer;
  t.equal(s.buffer, out.buffer, 'written into the supplied buffer');
  t.same(plain, copy, 'input not modified');
  t.same(s.subarray(0, 24), plain.subarray(0, 24), 'header, CSRC and extension in clear');
  t.notSame(s.subarray(24, plain.length), plain.subarray(24), 'payload and padding encrypted');
  const back = rx.unprotectRtp(s) as Buffer;
  const p = RtpPacket.parse(back);
  t.equal(p.payload.toString(), 'payload bytes');
  t.equal(p.paddingSize, 3);
});

t.test('SRTCP round trip of a compound packet', async (t) => {
  const key = generateSrtpKeySalt();
  const tx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const rx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  const pkt = serializeRtcp([
    { type: 'rr', ssrc: 42, reports: [] },
    { type: 'sdes', chunks: [{ source: 42, items: [{ type: 1, value: 'dragon@example' }] }] },
  ]);
  const s = tx.protectRtcp(pkt) as Buffer;
  t.notSame(s.subarray(8, pkt.length), pkt.subarray(8), 'encrypted after the first 8 bytes');
  const tampered = Buffer.from(s);
  tampered[s.length - 1]! ^= 0x80;
  t.equal(rx.unprotectRtcp(tampered), 'DPBX_ERR_SRTP_AUTH_FAILED');
  const back = rx.unprotectRtcp(s) as Buffer;
  t.same(parseRtcp(back), parseRtcp(pkt));
  t.equal(rx.unprotectRtcp(s), 'DPBX_ERR_SRTP_REPLAY');
  t.equal(rx.unprotectRtcp(s.subarray(0, 21)), 'DPBX_ERR_SRTP_TOO_SHORT');
});

t.test('bad keys and suites are typed errors', async (t) => {
  t.throws(() => SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', 'AAAA'), { code: 'DPBX_ERR_SRTP_BAD_KEY' });
  t.throws(() => SrtpContext.fromSdes('AEAD_AES_256_GCM', generateSrtpKeySalt()), { code: 'DPBX_ERR_SRTP_UNSUPPORTED_SUITE' });
  t.throws(() => new SrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: MASTER_KEY }), { code: 'DPBX_ERR_SRTP_BAD_KEY' });
  t.equal(Buffer.from(generateSrtpKeySalt(), 'base64').length, 30);
});

t.test('srtcpTagLength 4 (ffmpeg interop) shortens only the SRTCP tag', async (t) => {
  const key = generateSrtpKeySalt();
  const tx = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_32', key, { srtcpTagLength: 4 });
  const s = tx.protectRtcp(PLAIN_RTCP) as Buffer;
  t.equal(s.length, PLAIN_RTCP.length + 4 + 4);
  t.equal(SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_32', key).unprotectRtcp(s), 'DPBX_ERR_SRTP_AUTH_FAILED', 'the RFC default rejects it');
  t.same(SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_32', key, { srtcpTagLength: 4 }).unprotectRtcp(s), PLAIN_RTCP);
});
