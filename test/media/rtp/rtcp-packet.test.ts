import t from 'tap';
import { parseRtcp, serializeRtcp, ntpFromUnixMs, ntpMiddle32, RtpError, isRtcpPacket } from '../../../media/rtp/index.js';
import type { RtcpPacket } from '../../../media/rtp/index.js';

// A compound datagram assembled by hand from RFC 3550 §6.4.1/§6.5/§6.6/§6.7: SR with one report block,
// SDES CNAME, APP (subtype 3, name DRGN), BYE with a reason.
const sr =
  '81c8000c' + '11223344' + 'e8a1b2c3' + '80000000' + '000003e8' + '00000032' + '00001f40' +
  '55667788' + '40' + 'fffffe' + '0001000a' + '00000014' + 'b2c38000' + '00010000';
const sdes = '81ca0005' + '11223344' + '010a' + Buffer.from('abc@host.x').toString('hex') + '00000000';
const app = '83cc0002' + Buffer.from('DRGN').toString('hex') + '01020304';
const bye = '81cb0003' + '11223344' + '06' + Buffer.from('hangup').toString('hex') + '00';
const compound = Buffer.from(sr + sdes + app + bye, 'hex');

t.test('a compound SR+SDES+APP+BYE parses field by field', async (t) => {
  t.equal(isRtcpPacket(compound), true);
  const pkts = parseRtcp(compound);
  t.equal(pkts.length, 4);
  const [a, b, c, d] = pkts as [RtcpPacket, RtcpPacket, RtcpPacket, RtcpPacket];
  t.equal(a.type, 'sr');
  if (a.type === 'sr') {
    t.same(
      [a.ssrc, a.ntpSeconds, a.ntpFraction, a.rtpTimestamp, a.packetCount, a.octetCount],
      [0x11223344, 0xe8a1b2c3, 0x80000000, 1000, 50, 8000],
    );
    t.same(a.reports, [
      {
        ssrc: 0x55667788,
        fractionLost: 0x40,
        cumulativeLost: -2,
        extendedHighestSeq: 0x1000a,
        jitter: 20,
        lastSr: 0xb2c38000,
        delaySinceLastSr: 0x10000,
      },
    ]);
    t.equal(a.extension, undefined);
  }
  t.same(b, { type: 'sdes', chunks: [{ source: 0x11223344, items: [{ type: 1, value: 'abc@host.x' }] }] });
  t.equal(c.type, 'unknown', 'APP is kept verbatim');
  if (c.type === 'unknown') {
    t.equal(c.packetType, 204);
    t.equal(c.count, 3);
    t.equal(c.body.toString('hex'), Buffer.from('DRGN').toString('hex') + '01020304');
  }
  t.same(d, { type: 'bye', sources: [0x11223344], reason: 'hangup' });
});

t.test('serializeRtcp reproduces the compound datagram byte for byte', async (t) => {
  t.same(serializeRtcp(parseRtcp(compound)).toString('hex'), compound.toString('hex'));
});

t.test('RR, empty RR, multi-chunk SDES and BYE without reason round-trip', async (t) => {
  const pkts: RtcpPacket[] = [
    {
      type: 'rr',
      ssrc: 1,
      reports: [
        { ssrc: 2, fractionLost: 255, cumulativeLost: 0x7fffff, extendedHighestSeq: 0xffffffff, jitter: 3, lastSr: 4, delaySinceLastSr: 5 },
        { ssrc: 6, fractionLost: 0, cumulativeLost: -0x800000, extendedHighestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 },
      ],
    },
    { type: 'rr', ssrc: 9, reports: [] },
    {
      type: 'sdes',
      chunks: [
        { source: 1, items: [{ type: 1, value: 'a' }, { type: 6, value: 'dragon-pbx ü' }] },
        { source: 2, items: [{ type: 1, value: 'xyz1' }] },
        { source: 3, items: [] },
      ],
    },
    { type: 'bye', sources: [1, 2] },
  ];
  const wire = serializeRtcp(pkts);
  t.equal(wire.length % 4, 0);
  t.same(parseRtcp(wire), pkts);
});

t.test('RTCP padding (P bit) is removed from the body', async (t) => {
  // RR with no blocks + 4 bytes padding: length 2 → 12 bytes
  const buf = Buffer.from('a0c90002' + '00000007' + '00000004', 'hex');
  t.same(parseRtcp(buf), [{ type: 'rr', ssrc: 7, reports: [] }]);
  t.throws(() => parseRtcp(Buffer.from('a0c90002' + '00000007' + '00000000', 'hex')), { code: 'DPBX_ERR_RTCP_BAD_PADDING' });
});

t.test('malformed RTCP is rejected with RtpError codes', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['3 bytes', '81c800', 'DPBX_ERR_RTCP_TRUNCATED'],
    ['version 1', '41c90001' + '00000001', 'DPBX_ERR_RTCP_BAD_VERSION'],
    ['length past end', '80c90004' + '00000001', 'DPBX_ERR_RTCP_BAD_LENGTH'],
    ['RC=1 without block', '81c90001' + '00000001', 'DPBX_ERR_RTCP_BAD_LENGTH'],
    ['SR without sender info', '80c80001' + '00000001', 'DPBX_ERR_RTCP_BAD_LENGTH'],
    ['SDES without null item', '81ca0002' + '00000001' + '01020a0b', 'DPBX_ERR_RTCP_BAD_LENGTH'],
    ['BYE count too large', '82cb0001' + '00000001', 'DPBX_ERR_RTCP_BAD_LENGTH'],
    ['trailing garbage', '80c90001' + '00000001' + '80', 'DPBX_ERR_RTCP_TRUNCATED'],
  ];
  for (const [name, hex, code] of cases) t.throws(() => parseRtcp(Buffer.from(hex, 'hex')), { code }, name);
  t.throws(() => parseRtcp(Buffer.alloc(0)), RtpError);
});

t.test('NTP helpers: Unix epoch offset and LSR middle bits', async (t) => {
  const n = ntpFromUnixMs(1500);
  t.equal(n.ntpSeconds, 2208988801);
  t.equal(n.ntpFraction, 0x80000000);
  t.equal(ntpMiddle32(0xe8a1b2c3, 0x80000000), 0xb2c38000);
});
