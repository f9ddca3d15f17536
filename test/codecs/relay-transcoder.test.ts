import t from 'tap';
import { createTranscoder } from '../../codecs/relay-transcoder.js';
import type { CreateTranscoder, TranscoderSpec } from '../../media/relay/index.js';
import { createDecoder, createEncoder } from '../../codecs/index.js';
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
  t.ok(tc.transcode(new Uint8Array(0), { pt: 0, seq: 60000, timestamp: 0, ssrc: 1, marker: false }) === null, 'garbage → nothing');
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
