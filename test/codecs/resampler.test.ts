import t from 'tap';
import { Resampler, monoToStereo, stereoToMono } from '../../codecs/index.js';
import { concat, estimateFreq, rms, snrDb, tone } from './audio.js';

function runFrames(r: Resampler, x: Int16Array, frame: number): Int16Array {
  const parts: Int16Array[] = [];
  for (let i = 0; i < x.length; i += frame) parts.push(r.process(x.subarray(i, Math.min(x.length, i + frame))).slice());
  return concat(parts);
}

t.test('1 kHz tone 8 → 48 → 8 kHz keeps SNR >= 40 dB, processed in 20 ms frames', async (t) => {
  const x = tone(1000, 8000, 8000, 10000);
  const up = runFrames(new Resampler(8000, 48000), x, 160);
  t.ok(Math.abs(up.length - 48000) <= 6 * 32, `up length ${up.length} ≈ 48000`);
  const down = runFrames(new Resampler(48000, 8000), up, 960);
  const steady = down.subarray(400, down.length - 400);
  const snr = snrDb(steady, 1000, 8000);
  t.ok(snr >= 40, `SNR ${snr.toFixed(1)} dB >= 40`);
  t.ok(Math.abs(estimateFreq(steady, 8000) - 1000) < 1, 'frequency kept');
  const gain = rms(steady) / rms(x.subarray(400, x.length - 400));
  t.ok(Math.abs(gain - 1) < 0.02, `unit pass-band gain (${gain.toFixed(4)})`);
});

t.test('48 → 8 kHz attenuates a 6 kHz tone by >= 40 dB', async (t) => {
  const x = tone(6000, 48000, 48000, 16000);
  const y = runFrames(new Resampler(48000, 8000), x, 960).subarray(200);
  const att = 20 * Math.log10(rms(x) / Math.max(rms(y), 1e-3));
  t.ok(att >= 40, `attenuation ${att.toFixed(1)} dB >= 40`);
});

t.test('no clicks at frame boundaries: frame-by-frame equals one-shot', async (t) => {
  const x = tone(440, 16000, 4800, 12000);
  const one = new Resampler(16000, 48000).process(x).slice();
  const framed = runFrames(new Resampler(16000, 48000), x, 320);
  t.equal(framed.length, one.length);
  let maxd = 0;
  for (let i = 0; i < one.length; i++) maxd = Math.max(maxd, Math.abs(one[i]! - framed[i]!));
  t.equal(maxd, 0, 'identical output regardless of framing');
});

t.test('44.1 kHz → 8 kHz (files) keeps a tone', async (t) => {
  const x = tone(1000, 44100, 44100, 10000);
  const y = runFrames(new Resampler(44100, 8000), x, 882).subarray(400);
  t.ok(Math.abs(y.length + 400 - 8000) < 10);
  t.ok(snrDb(y.subarray(0, y.length - 100), 1000, 8000) > 40);
});

t.test('stereo ↔ mono', async (t) => {
  const s = monoToStereo(Int16Array.from([1, -2, 300]));
  t.same(Array.from(s), [1, 1, -2, -2, 300, 300]);
  t.same(Array.from(stereoToMono(Int16Array.from([10, 20, -5, -7]))), [15, -6]);
  const r = new Resampler(8000, 16000, { channels: 2 });
  const out = r.process(monoToStereo(tone(500, 8000, 800)));
  for (let i = 0; i < out.length; i += 2) if (out[i] !== out[i + 1]) return t.fail('channels diverged');
  t.pass('channels processed independently and identically');
});

t.test('bad rates are a typed error', async (t) => {
  t.throws(() => new Resampler(0, 8000), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
});

t.test('the wasm SIMD inner loop and the JavaScript one (used without resample.wasm) agree to one step', async (t) => {
  // float32 (wasm) and float64 (JavaScript) sums may round a value that lies on a .5 boundary differently
  t.ok((new Resampler(8000, 16000) as unknown as { wasmBank: number }).wasmBank >= 0, 'resample.wasm is in use here');
  for (const [a, b, ch] of [[8000, 16000, 1], [16000, 8000, 1], [8000, 48000, 1], [44100, 8000, 1], [8000, 16000, 2]] as const) {
    const mono = tone(700, a, a / 2, 12000);
    const x = ch === 2 ? monoToStereo(mono) : mono;
    const viaJs = runFrames(new Resampler(a, b, { simd: false, channels: ch }), x, (a / 50) * ch);
    const viaWasm = runFrames(new Resampler(a, b, { channels: ch }), x, (a / 50) * ch);
    t.equal(viaJs.length, viaWasm.length, `${a} → ${b} (${ch} ch): same length`);
    let err = 0;
    for (let i = 0; i < viaJs.length; i++) err = Math.max(err, Math.abs(viaJs[i]! - viaWasm[i]!));
    t.ok(err <= 1, `${a} → ${b} (${ch} ch): max difference ${err} <= 1`);
  }
});
