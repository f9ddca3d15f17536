import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readWav, BUNDLED_MEDIA_PATH, resolveMediaUrl, DEFAULT_RINGTONE, loadFrames, PlayError } from '../../../media/play/index.js';
import { repoRoot } from '../../helpers/env.js';

function goertzel(x: Int16Array, from: number, to: number, rate: number, freq: number): number {
  const c = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const n = to - from;
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (n * n);
}

/** On/off pattern of 50 ms blocks (true = tone present), then run-lengths in seconds. */
function cadence(x: Int16Array, rate: number): number[] {
  const block = rate / 20;
  const runs: number[] = [];
  let last: boolean | undefined;
  for (let i = 0; i + block <= x.length; i += block) {
    let e = 0;
    for (let k = i; k < i + block; k++) e += x[k]! * x[k]!;
    const on = Math.sqrt(e / block) > 500;
    if (on === last) runs[runs.length - 1]! += 0.05;
    else runs.push(0.05);
    last = on;
  }
  return runs.map((r) => Math.round(r * 100) / 100);
}

const expected = {
  uk: { freqs: [400, 450], absent: [350, 440, 480, 425], cadence: [0.4, 0.2, 0.4, 2.0] },
  us: { freqs: [440, 480], absent: [350, 400, 620], cadence: [2.0, 4.0] },
  eu: { freqs: [425], absent: [350, 400, 480], cadence: [1.0, 4.0] },
};

for (const [country, spec] of Object.entries(expected)) {
  t.test(`bundled ${country}.wav: 8 kHz 16-bit mono, dominant ${spec.freqs.join('+')} Hz, cadence ${spec.cadence.join('/')}`, async (t) => {
    const file = join(repoRoot, 'media', 'sounds', `${country}.wav`);
    const wav = readWav(readFileSync(file));
    t.equal(wav.sampleRate, 8000);
    t.equal(wav.bitsPerSample, 16);
    t.equal(wav.channels, 1);
    t.same(cadence(wav.samples, 8000), spec.cadence);
    // analyse the first 0.4 s (tone on in every cadence)
    const n = 3200;
    const present = spec.freqs.map((f) => goertzel(wav.samples, 0, n, 8000, f));
    const absent = spec.absent.map((f) => goertzel(wav.samples, 0, n, 8000, f));
    for (const p of present) for (const a of absent) t.ok(p > 50 * a, `present ${p.toFixed(0)} ≫ absent ${a.toFixed(1)}`);
  });
}

t.test('DEFAULT_RINGTONE resolves against the bundled MEDIA_PATH; escapes are refused', async (t) => {
  t.equal(resolveMediaUrl(DEFAULT_RINGTONE, BUNDLED_MEDIA_PATH), join(BUNDLED_MEDIA_PATH, 'uk.wav'));
  t.throws(() => resolveMediaUrl('file:../../etc/passwd', BUNDLED_MEDIA_PATH), PlayError);
  const frames = loadFrames(DEFAULT_RINGTONE, 'PCMU', BUNDLED_MEDIA_PATH);
  t.equal(frames.frameCount, 150, '3 s of 20 ms frames');
  t.equal(frames.frameBytes, 160);
  const tone = loadFrames('tone:us', 'PCMA');
  t.equal(tone.frameCount, 300);
});
