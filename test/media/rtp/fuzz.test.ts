/**
 * Seeded fuzz over the binary parsers: random and mutated datagrams must never throw anything but RtpError,
 * and the non-throwing paths (accessors, SRTP unprotect) must never throw at all.
 */
import t from 'tap';
import {
  RtpPacket,
  RtpError,
  parseRtcp,
  serializeRtcp,
  isRtpPacket,
  isRtcpPacket,
  rtpHeaderLength,
  rtpPayloadLength,
  parseTelephoneEvent,
  SrtpContext,
  generateSrtpKeySalt,
} from '../../../media/rtp/index.js';

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let r = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = mulberry32(0xd2a60);
const int = (n: number) => Math.floor(rnd() * n);

const seeds: Buffer[] = [
  new RtpPacket({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [4, 5], extension: { profile: 0xbede, data: Buffer.alloc(8, 1) }, payload: Buffer.alloc(20, 7), paddingSize: 4 }).serialize(),
  serializeRtcp([
    { type: 'sr', ssrc: 1, ntpSeconds: 2, ntpFraction: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [{ ssrc: 7, fractionLost: 1, cumulativeLost: -1, extendedHighestSeq: 9, jitter: 10, lastSr: 11, delaySinceLastSr: 12 }] },
    { type: 'sdes', chunks: [{ source: 1, items: [{ type: 1, value: 'cname@x' }] }] },
    { type: 'bye', sources: [1], reason: 'bye' },
    { type: 'unknown', packetType: 204, count: 1, body: Buffer.from('NAME1234') },
  ]),
];

function mutate(b: Buffer): Buffer {
  const m = Buffer.from(b);
  const op = int(4);
  if (op === 0) return m.subarray(0, int(m.length + 1)); // truncate
  if (op === 1) {
    for (let k = 0, n = 1 + int(4); k < n; k++) m[int(m.length)] = int(256); // flip bytes
    return m;
  }
  if (op === 2) {
    m[int(Math.min(4, m.length))] = int(256); // header bytes (lengths, counts, flags)
    return m;
  }
  const r = Buffer.alloc(int(64));
  for (let i = 0; i < r.length; i++) r[i] = int(256);
  return r; // pure random
}

t.test('RTP/RTCP/DTMF parsers throw only RtpError on 20000 mutated or random datagrams', async (t) => {
  const wrong: string[] = [];
  let rejected = 0;
  const key = generateSrtpKeySalt();
  const srtp = SrtpContext.fromSdes('AES_CM_128_HMAC_SHA1_80', key);
  for (let i = 0; i < 20000 && wrong.length < 5; i++) {
    const b = mutate(seeds[i % seeds.length]!);
    for (const parse of [() => RtpPacket.parse(b), () => parseRtcp(b), () => parseTelephoneEvent(b)]) {
      try {
        parse();
      } catch (e) {
        if (e instanceof RtpError) rejected++;
        else wrong.push(`${b.toString('hex')}: ${String(e)}`);
      }
    }
    try {
      isRtpPacket(b);
      isRtcpPacket(b);
      rtpHeaderLength(b);
      rtpPayloadLength(b);
      srtp.unprotectRtp(b);
      srtp.unprotectRtcp(b);
    } catch (e) {
      wrong.push(`non-throwing path threw on ${b.toString('hex')}: ${String(e)}`);
    }
    // what isRtpPacket accepts must parse
    if (isRtpPacket(b)) {
      try {
        RtpPacket.parse(b);
      } catch (e) {
        wrong.push(`isRtpPacket accepted but parse rejected ${b.toString('hex')}: ${String(e)}`);
      }
    }
  }
  t.same(wrong, []);
  t.ok(rejected > 1000, `${rejected} rejections with RtpError`);
  t.equal(srtp.counters.rtpUnprotected + srtp.counters.rtcpUnprotected, 0, 'no forged packet authenticated');
});
