import t from 'tap';
import { createTranscoder } from '../../codecs/relay-transcoder.js';
import type { CreateTranscoder, TranscoderSpec } from '../../media/relay/index.js';
import { createDecoder, createEncoder, opusStatus } from '../../codecs/index.js';
import { concat, estimateFreq, tone } from './audio.js';

// compile-time check that our plugin satisfies media/relay's contract
const asPlugin: CreateTranscoder = createTranscoder;

t.test('relay plugin: PCMU/8000 20 ms → G722 30 ms, frames with durations in the output clock', async (t) => {
  const spec: TranscoderSpec = {
    from: { name: 'PCMU', rate: 8000, channels: 1, pt: 0, ptime: 20 },
    to: { name: 'G722', rate: 8000, channels: 1, pt: 9, ptime: 30 },
  };
  const tc = (await asPlugin(spec))!;
  const enc = createEncoder('PCMU');
  const dec = createDecoder('G722', { ptime: 30 });
  const x = tone(1000, 8000, 8000, 10000);
  const out: Int16Array[] = [];
  for (let i = 0, seq = 0; i < x.length; i += 160, seq++) {
    const frames = tc.transcode(enc.encode(x.subarray(i, i + 160)), { pt: 0, seq, timestamp: i, ssrc: 1, marker: seq === 0 });
    for (const f of frames ?? []) {
      t.equal(f.durationSamples, 240) || t.end();
      out.push(dec.decode(Buffer.from(f.payload)).slice());
    }
  }
  const y = concat(out).subarray(1600);
  t.ok(Math.abs(estimateFreq(y, 16000) - 1000) < 10, 'tone survives');
  tc.close();
});

t.test('relay plugin: L16 announcements into opus; unsupported pairs throw', async (t) => {
  const tc = createTranscoder({
    from: { name: 'L16', rate: 8000, channels: 1, pt: -1, ptime: 20 },
    to: { name: 'opus', rate: 48000, channels: 2, pt: 111, ptime: 20 },
  });
  const x = tone(1000, 8000, 160);
  const b = Buffer.alloc(320);
  for (let i = 0; i < 160; i++) b.writeInt16BE(x[i]!, 2 * i);
  let n = 0;
  for (let s = 0; s < 5; s++) n += tc.transcode(b, { pt: -1, seq: s, timestamp: s * 160, ssrc: 1, marker: false })?.length ?? 0;
  t.equal(n, 5);
  t.throws(() => createTranscoder({ from: { name: 'PCMU', rate: 8000, channels: 1, pt: 0, ptime: 20 }, to: { name: 'X', rate: 8000, channels: 1, pt: 96, ptime: 20 } }), {
    code: 'DPBX_ERR_CODEC_UNKNOWN',
  });
});

t.test('relay plugin: a rejected payload throws the typed error the relay counts (drops.transcodeError); the stream goes on', async (t) => {
  const tc = createTranscoder({
    from: { name: 'GSM', rate: 8000, channels: 1, pt: 3, ptime: 20 },
    to: { name: 'PCMU', rate: 8000, channels: 1, pt: 0, ptime: 20 },
  });
  const enc = createEncoder('GSM');
  const x = tone(1000, 8000, 1600, 8000);
  const meta = (seq: number) => ({ pt: 3, seq, timestamp: seq * 160, ssrc: 9, marker: false });
  t.equal(tc.transcode(enc.encode(x.subarray(0, 160)), meta(0))!.length, 1);
  for (const [i, bad] of [Buffer.alloc(0), Buffer.alloc(32), Buffer.alloc(33, 0x11)].entries())
    t.throws(() => tc.transcode(bad, meta(1 + i)), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' });
  t.equal(tc.counters.badPayload, 3);
  const f = tc.transcode(enc.encode(x.subarray(160, 320)), meta(4))!;
  t.equal(f.length, 1, 'good packets after garbage still flow');
  t.equal(f[0]!.gapSamples, 3 * 160, 'the three dropped packets\' time passes');
  tc.close();
});

t.test('relay plugin: marker and gapSamples for re-packetisation, silence suppression and an SSRC change', async (t) => {
  const tc = createTranscoder({
    from: { name: 'PCMU', rate: 8000, channels: 1, pt: 0, ptime: 20 },
    to: { name: 'PCMA', rate: 8000, channels: 1, pt: 8, ptime: 30 },
  });
  const enc = createEncoder('PCMU');
  const x = tone(1000, 8000, 160, 8000);
  const got: Array<{ marker: boolean; gap: number; dur: number }> = [];
  const send = (seq: number, ts: number, marker: boolean, ssrc = 1) => {
    for (const f of tc.transcode(enc.encode(x), { pt: 0, seq, timestamp: ts, ssrc, marker }) ?? [])
      got.push({ marker: f.marker, gap: f.gapSamples, dur: f.durationSamples });
  };
  send(0, 0, true); // buffered: no frame yet
  send(1, 160, false); // first 30 ms frame: it holds the marker packet's first sample
  send(2, 320, false);
  send(3, 480, false);
  t.same(got, [{ marker: true, gap: 0, dur: 240 }, { marker: false, gap: 0, dur: 240 }]);
  got.length = 0;
  send(4, 480 + 160 + 4000, true); // 0.5 s silence, new talk-spurt
  t.same(got, [{ marker: false, gap: 0, dur: 240 }], 'the buffered remainder is flushed (padded) before the gap');
  send(5, 480 + 320 + 4000, false);
  t.same(got[1], { marker: true, gap: 4000 - 80, dur: 240 }, 'next talk-spurt: marker, timestamp skips the silence');
  got.length = 0;
  send(9000, 123456, false, 2); // new SSRC: no concealment of "8995 lost packets", no gap, marker
  send(9001, 123456 + 160, false, 2);
  t.equal(got.filter((g) => g.marker).length, 1, 'new source starts with the marker');
  t.ok(got.every((g) => g.gap === 0), 'no time invented between two sources');
  t.equal(tc.counters.lostConcealed, 0);
  tc.close();
});

t.test('relay plugin: DPBX_OPUS_COMPLEXITY sets the opus encoder complexity; an SDP fmtp string is honoured', { skip: opusStatus().available ? false : 'opus unavailable' }, async (t) => {
  const spec = {
    from: { name: 'PCMU', rate: 8000, channels: 1, pt: 0, ptime: 20 },
    to: { name: 'opus', rate: 48000, channels: 2, pt: 111, ptime: 20, fmtp: 'useinbandfec=1;usedtx=1;maxaveragebitrate=20000' },
  };
  process.env.DPBX_OPUS_COMPLEXITY = '4';
  const tc = createTranscoder(spec);
  delete process.env.DPBX_OPUS_COMPLEXITY;
  const enc = tc.pipeline.encoder as unknown as { complexity: number; fec: boolean; dtx: boolean; bitrate: number };
  t.equal(enc.complexity, 4);
  t.same([enc.fec, enc.dtx, enc.bitrate], [true, true, 20000], 'fmtp from the SDP string');
  const plain = createTranscoder(spec).pipeline.encoder as unknown as { complexity: number | undefined };
  t.equal(plain.complexity, 5, 'the PBX default (OPUS_DEFAULT_COMPLEXITY) without the variable');
});
