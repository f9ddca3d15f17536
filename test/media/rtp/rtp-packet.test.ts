import t from 'tap';
import {
  RtpPacket,
  RtpError,
  isRtpPacket,
  isRtcpPacket,
  rtpHeaderLength,
  rtpPayloadLength,
  rtpSeq,
  setRtpSeq,
  rtpTimestamp,
  setRtpTimestamp,
  rtpSsrc,
  setRtpSsrc,
  rtpPayloadType,
  setRtpPayloadType,
  rtpMarker,
  setRtpMarker,
  writeRtpHeader,
} from '../../../media/rtp/index.js';

// A PCMU packet: V=2, M=1, PT=0, seq=0x1234, ts=0xdeadbeef, ssrc=0x01020304, 4 payload bytes.
const simple = Buffer.from('80801234deadbeef01020304' + 'fffefdfc', 'hex');

t.test('parse reads every fixed-header field of RFC 3550 §5.1', async (t) => {
  const p = RtpPacket.parse(simple);
  t.equal(p.marker, true);
  t.equal(p.payloadType, 0);
  t.equal(p.sequenceNumber, 0x1234);
  t.equal(p.timestamp, 0xdeadbeef);
  t.equal(p.ssrc, 0x01020304);
  t.same(p.csrcs, []);
  t.equal(p.extension, null);
  t.equal(p.payload.toString('hex'), 'fffefdfc');
  t.equal(p.paddingSize, 0);
  t.equal(p.payload.buffer, simple.buffer, 'payload is a view, not a copy');
});

t.test('CSRC list, header extension and padding round-trip', async (t) => {
  const p = new RtpPacket({
    marker: false,
    payloadType: 96,
    sequenceNumber: 65535,
    timestamp: 0xffffffff,
    ssrc: 0xcafebabe,
    csrcs: [1, 0xffffffff],
    extension: { profile: 0xbede, data: Buffer.from('1011223300000000', 'hex') },
    payload: Buffer.from('hello'),
    paddingSize: 3,
  });
  const wire = p.serialize();
  t.equal(wire.length, 12 + 8 + 4 + 8 + 5 + 3);
  t.equal(wire[0], 0x80 | 0x20 | 0x10 | 2);
  t.equal(wire[wire.length - 1], 3, 'last octet is the padding count');
  const q = RtpPacket.parse(wire);
  t.same(q.csrcs, [1, 0xffffffff]);
  t.equal(q.extension?.profile, 0xbede);
  t.equal(q.extension?.data.toString('hex'), '1011223300000000');
  t.equal(q.payload.toString(), 'hello', 'padding is stripped from the payload');
  t.equal(q.paddingSize, 3);
  t.same(q.serialize(), wire);
  t.equal(rtpHeaderLength(wire), 12 + 8 + 4 + 8);
  t.equal(rtpPayloadLength(wire), 5);
});

t.test('serializeInto reuses a buffer and reports the length', async (t) => {
  const out = Buffer.alloc(100, 0xaa);
  const n = RtpPacket.parse(simple).serializeInto(out, 10);
  t.equal(n, simple.length);
  t.same(out.subarray(10, 10 + n), simple);
  t.equal(out[9], 0xaa);
});

t.test('truncated, wrong-version and bad-padding packets are rejected with RtpError codes', async (t) => {
  const cases: Array<[string, Buffer, string]> = [
    ['11 bytes', simple.subarray(0, 11), 'DPBX_ERR_RTP_TRUNCATED'],
    ['version 1', Buffer.from('40001234deadbeef01020304', 'hex'), 'DPBX_ERR_RTP_BAD_VERSION'],
    ['CC=2 without CSRCs', Buffer.from('82001234deadbeef01020304aaaa', 'hex'), 'DPBX_ERR_RTP_TRUNCATED'],
    ['extension header cut', Buffer.from('90001234deadbeef01020304be', 'hex'), 'DPBX_ERR_RTP_TRUNCATED'],
    ['extension longer than packet', Buffer.from('90001234deadbeef01020304bede0002aabbccdd', 'hex'), 'DPBX_ERR_RTP_TRUNCATED'],
    ['padding count 0', Buffer.from('a0001234deadbeef01020304aa00', 'hex'), 'DPBX_ERR_RTP_BAD_PADDING'],
    ['padding into header', Buffer.from('a0001234deadbeef01020304aa09', 'hex'), 'DPBX_ERR_RTP_BAD_PADDING'],
  ];
  for (const [name, buf, code] of cases) {
    t.throws(() => RtpPacket.parse(buf), { code }, name);
    t.equal(isRtpPacket(buf), false, `isRtpPacket rejects ${name}`);
  }
  t.throws(() => RtpPacket.parse(Buffer.alloc(0)), RtpError);
});

t.test('serialize rejects out-of-range fields', async (t) => {
  t.throws(() => new RtpPacket({ payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0 }).serialize(), {
    code: 'DPBX_ERR_RTP_BAD_FIELD',
  });
  t.throws(() => new RtpPacket({ payloadType: 0, sequenceNumber: 65536, timestamp: 0, ssrc: 0 }).serialize(), {
    code: 'DPBX_ERR_RTP_BAD_FIELD',
  });
  t.throws(
    () => new RtpPacket({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: new Array(16).fill(1) }).serialize(),
    { code: 'DPBX_ERR_RTP_BAD_FIELD' },
  );
});

t.test('in-place accessors read and write fields without touching the rest', async (t) => {
  const b = Buffer.from(simple);
  t.equal(rtpSeq(b), 0x1234);
  t.equal(rtpTimestamp(b), 0xdeadbeef);
  t.equal(rtpSsrc(b), 0x01020304);
  t.equal(rtpPayloadType(b), 0);
  t.equal(rtpMarker(b), true);
  setRtpSeq(b, 0xfffe);
  setRtpTimestamp(b, 0x100000005); // wraps modulo 2^32
  setRtpSsrc(b, 0xffffffff);
  setRtpPayloadType(b, 8);
  t.equal(rtpMarker(b), true, 'setting PT keeps the marker');
  setRtpMarker(b, false);
  t.equal(rtpPayloadType(b), 8, 'clearing the marker keeps PT');
  const p = RtpPacket.parse(b);
  t.equal(p.sequenceNumber, 0xfffe);
  t.equal(p.timestamp, 5);
  t.equal(p.ssrc, 0xffffffff);
  t.equal(p.payloadType, 8);
  t.equal(p.marker, false);
  t.equal(p.payload.toString('hex'), 'fffefdfc');
  const h = Buffer.alloc(12);
  writeRtpHeader(h, 18, 7, 160, 42, true);
  const q = RtpPacket.parse(h);
  t.same([q.payloadType, q.sequenceNumber, q.timestamp, q.ssrc, q.marker], [18, 7, 160, 42, true]);
});

t.test('RFC 5761 §4 demultiplexing: second octet 192–223 is RTCP, RTP otherwise', async (t) => {
  const sr = Buffer.from('80c80006' + '00'.repeat(24), 'hex');
  const rr = Buffer.from('81c90007' + '00'.repeat(28), 'hex');
  t.equal(isRtcpPacket(sr), true);
  t.equal(isRtcpPacket(rr), true);
  t.equal(isRtpPacket(sr), false, 'an SR is not RTP');
  t.equal(isRtcpPacket(simple), false);
  const pt95m = Buffer.from(simple);
  pt95m[1] = 0x80 | 95;
  t.equal(isRtcpPacket(pt95m), true, 'PT 95 with marker = 223 is RTCP');
  const pt96m = Buffer.from(simple);
  pt96m[1] = 0x80 | 96;
  t.equal(isRtcpPacket(pt96m), false);
  t.equal(isRtpPacket(pt96m), true);
  t.equal(isRtcpPacket(Buffer.from('00c8000600000000', 'hex')), false, 'version 0 is neither');
});
