import t from 'tap';
import { readWav, writeWav, encodeG711, wavToMonoPcm, WavError } from '../../../media/play/index.js';

function sine(freq: number, rate: number, seconds: number, channels = 1, amp = 10000): Int16Array {
  const frames = Math.round(rate * seconds);
  const out = new Int16Array(frames * channels);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
    for (let c = 0; c < channels; c++) out[i * channels + c] = c === 0 ? v : Math.round(v / 2);
  }
  return out;
}

/** Goertzel power of `freq` in `x` (normalised by length). */
function goertzel(x: Int16Array, rate: number, freq: number): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.length * x.length);
}

const formats = ['pcm16', 'pcm8', 'alaw', 'mulaw'] as const;
for (const rate of [8000, 16000, 44100, 48000]) {
  for (const channels of [1, 2]) {
    for (const format of formats) {
      for (const extensible of [false, true]) {
        t.test(`reads ${format} ${rate} Hz ${channels === 1 ? 'mono' : 'stereo'}${extensible ? ' extensible' : ''}`, async (t) => {
          const pcm = sine(1000, rate, 0.25, channels);
          let body: Int16Array | Uint8Array = pcm;
          if (format === 'alaw' || format === 'mulaw') {
            body = new Uint8Array(pcm.length);
            encodeG711(format === 'alaw' ? 'PCMA' : 'PCMU', pcm, body);
          }
          const wav = readWav(writeWav(body, { sampleRate: rate, channels, format, extensible }));
          t.equal(wav.sampleRate, rate);
          t.equal(wav.channels, channels);
          t.equal(wav.frames, Math.round(rate * 0.25));
          t.equal(wav.encoding, format.startsWith('pcm') ? 'pcm' : format);
          // decoded samples close to the original (8-bit keeps only the top byte)
          let worst = 0;
          for (let i = 0; i < pcm.length; i++) worst = Math.max(worst, Math.abs(wav.samples[i]! - pcm[i]!));
          t.ok(worst <= (format === 'pcm16' ? 0 : 700), `max error ${worst}`);
          // converted to 8 kHz mono, the 1 kHz tone dominates over 2.5 kHz and survives at a sane level
          const mono = wavToMonoPcm(wav);
          t.ok(Math.abs(mono.length - 2000) <= 1, `8 kHz length ${mono.length}`);
          const p1k = goertzel(mono, 8000, 1000);
          const p25 = goertzel(mono, 8000, 2500);
          t.ok(p1k > 100 * p25, '1 kHz dominant after conversion');
        });
      }
    }
  }
}

t.test('the low-pass removes content above 4 kHz when decimating 48 kHz', async (t) => {
  const wav = readWav(writeWav(sine(6000, 48000, 0.25), { sampleRate: 48000 }));
  const mono = wavToMonoPcm(wav);
  let energy = 0;
  for (const s of mono) energy += s * s;
  const rms = Math.sqrt(energy / mono.length);
  t.ok(rms < 300, `6 kHz tone suppressed (rms ${rms.toFixed(0)} of ~7071)`);
});

function expectCode(tt: { ok: typeof t.ok }, buf: Buffer, code: string, what: string) {
  let got: unknown;
  try {
    readWav(buf);
  } catch (err) {
    got = err;
  }
  tt.ok(got instanceof WavError && got.code === code, `${what}: ${code} (got ${(got as WavError)?.code})`);
}

t.test('rejects unsupported and broken files with typed errors', async (t) => {
  const good = writeWav(sine(440, 8000, 0.1), { sampleRate: 8000 });
  // 24-bit PCM
  const b24 = Buffer.from(good);
  b24.writeUInt16LE(24, 34);
  expectCode(t, b24, 'DPBX_ERR_WAV_UNSUPPORTED', '24-bit');
  // IMA ADPCM tag 0x11
  const adpcm = Buffer.from(good);
  adpcm.writeUInt16LE(0x11, 20);
  expectCode(t, adpcm, 'DPBX_ERR_WAV_UNSUPPORTED', 'ADPCM');
  // 22050 Hz
  const r = Buffer.from(good);
  r.writeUInt32LE(22050, 24);
  expectCode(t, r, 'DPBX_ERR_WAV_UNSUPPORTED', '22.05 kHz');
  // 6 channels
  const ch = Buffer.from(good);
  ch.writeUInt16LE(6, 22);
  expectCode(t, ch, 'DPBX_ERR_WAV_UNSUPPORTED', '6 channels');
  // truncated: data chunk cut in half
  expectCode(t, good.subarray(0, good.length - 50), 'DPBX_ERR_WAV_TRUNCATED', 'truncated data');
  expectCode(t, good.subarray(0, 8), 'DPBX_ERR_WAV_TRUNCATED', 'truncated header');
  // no data chunk
  expectCode(t, good.subarray(0, 36), 'DPBX_ERR_WAV_NO_DATA', 'no data chunk');
  // not RIFF
  const notRiff = Buffer.from(good);
  notRiff.write('RIFX', 0, 'latin1');
  expectCode(t, notRiff, 'DPBX_ERR_WAV_INVALID', 'not RIFF');
});

t.test('accepts a streaming data size (0xFFFFFFFF) on the last chunk and skips unknown chunks', async (t) => {
  const good = writeWav(sine(440, 8000, 0.1), { sampleRate: 8000 });
  const streaming = Buffer.from(good);
  streaming.writeUInt32LE(0xffffffff, 40);
  t.equal(readWav(streaming).frames, 800);
  // insert a LIST chunk (odd size, padded) before data
  const list = Buffer.alloc(8 + 5 + 1);
  list.write('LIST', 0, 'latin1');
  list.writeUInt32LE(5, 4);
  const withList = Buffer.concat([good.subarray(0, 36), list, good.subarray(36)]);
  t.equal(readWav(withList).frames, 800);
});
