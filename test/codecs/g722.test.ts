/**
 * G.722 (our C → wasm) is bit-identical to Debian ffmpeg's native g722 encoder and decoder (raw -f g722), on a
 * tone sweep and on espeak-ng speech resampled to 16 kHz by sox (so only the codec differs). ffmpeg's
 * adpcm_g722 without -trellis is a straight implementation of the Recommendation, like ours.
 */
import t from 'tap';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { createDecoder, createEncoder } from '../../codecs/index.js';
import { skipUnlessCommand } from '../helpers/env.js';
import { concat, estimateFreq, firstDiff, readS16, rms, run, snrDb, speech, sweep, tmp, tone, writeS16 } from './audio.js';

function encodeAll(pcm: Int16Array): Buffer {
  const enc = createEncoder('G722');
  const parts: Buffer[] = [];
  for (let i = 0; i + 320 <= pcm.length; i += 320) parts.push(Buffer.from(enc.encode(pcm.subarray(i, i + 320))));
  enc.close();
  return Buffer.concat(parts);
}

function decodeAll(bytes: Buffer): Int16Array {
  const dec = createDecoder('G722');
  const parts: Int16Array[] = [];
  for (let i = 0; i + 160 <= bytes.length; i += 160) parts.push(dec.decode(bytes.subarray(i, i + 160)).slice());
  dec.close();
  return concat(parts);
}

t.test('registry: SDP clock 8000, audio 16 kHz, static PT 9', async (t) => {
  const enc = createEncoder('g722', { rate: 8000 });
  t.equal(enc.sampleRate, 16000);
  t.equal(enc.frameSamples, 320, '20 ms default ptime = 320 samples at 16 kHz');
  t.equal(enc.encode(new Int16Array(320)).length, 160, '64 kbit/s: one byte per two samples');
  t.throws(() => enc.encode(new Int16Array(3)), { code: 'DPBX_ERR_CODEC_FRAME_SIZE' });
  t.throws(() => createEncoder('G722', { rate: 16000 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
});

t.test('1 kHz tone round trip', async (t) => {
  const x = tone(1000, 16000, 16000);
  const y = decodeAll(encodeAll(x)).subarray(1600);
  const f = estimateFreq(y, 16000);
  t.ok(Math.abs(f - 1000) < 10, `frequency ${f.toFixed(2)} Hz within 1000 ± 10`);
  const snr = snrDb(y, 1000, 16000);
  t.ok(snr > 20, `SNR ${snr.toFixed(1)} dB > 20`);
});

t.test('bit-exact against ffmpeg g722', { skip: skipUnlessCommand('ffmpeg') || skipUnlessCommand('sox') || skipUnlessCommand('espeak-ng') }, async (t) => {
  const dir = tmp();
  const inputs: Array<[string, Int16Array]> = [
    ['sweep', sweep(50, 7900, 16000, 16000 * 3)],
    ['speech', speech(dir, 16000)],
  ];
  for (const [label, pcm0] of inputs) {
    const pcm = pcm0.subarray(0, pcm0.length - (pcm0.length % 320));
    const rawIn = join(dir, `${label}.raw`);
    writeS16(rawIn, pcm);
    const ffG722 = join(dir, `${label}.g722`);
    run('ffmpeg', ['-v', 'error', '-y', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', rawIn, '-c:a', 'g722', '-f', 'g722', ffG722]);
    const theirs = readFileSync(ffG722);
    const ours = encodeAll(pcm);
    t.equal(ours.length, pcm.length / 2);
    t.equal(firstDiff(ours, theirs.subarray(0, ours.length)), -1, `${label}: encoder output identical to ffmpeg (${ours.length} bytes)`);

    const ffDec = join(dir, `${label}.dec.raw`);
    run('ffmpeg', ['-v', 'error', '-y', '-f', 'g722', '-i', ffG722, '-f', 's16le', ffDec]);
    const theirPcm = readS16(ffDec);
    const ourPcm = decodeAll(theirs.subarray(0, ours.length));
    const a = Buffer.from(ourPcm.buffer, ourPcm.byteOffset, ourPcm.byteLength);
    const b = Buffer.from(theirPcm.buffer, theirPcm.byteOffset, ourPcm.byteLength);
    t.equal(firstDiff(a, b), -1, `${label}: decoder output identical to ffmpeg (${ourPcm.length} samples)`);
  }
});

t.test('loss concealment and garbage', async (t) => {
  const dec = createDecoder('G722');
  t.throws(() => dec.decode(Buffer.alloc(0)), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' });
  const g = dec.decode(Buffer.from(Array.from({ length: 160 }, (_, i) => (i * 37) & 255)));
  t.equal(g.length, 320, 'any byte is a valid G.722 code: garbage decodes to noise, not an error');
  const c = dec.decode(null);
  t.equal(c.length, 320);
  dec.close();
  dec.close();
  t.throws(() => dec.decode(null), { code: 'DPBX_ERR_CODEC_CLOSED' });
});

t.test('narrow-band shortcut (pcmRate 8000): ordinary G.722 stream, tone kept at unit gain both ways', async (t) => {
  const enc = createEncoder('G722', { pcmRate: 8000 });
  t.equal(enc.sampleRate, 8000);
  t.equal(enc.frameSamples, 160, '20 ms at 8 kHz');
  const x = tone(1000, 8000, 8000, 10000);
  const parts: Buffer[] = [];
  for (let i = 0; i < x.length; i += 160) parts.push(Buffer.from(enc.encode(x.subarray(i, i + 160))));
  t.ok(parts.every((p) => p.length === 160), '160 bytes per 20 ms: 64 kbit/s as always');
  const bytes = Buffer.concat(parts);
  const hiCodes = new Set(Array.from(bytes.subarray(320)).map((b) => b >> 6));
  t.equal(hiCodes.size, 1, 'the silent upper band settles to one constant code (its fixed point)');
  // a standard (full-band) decoder hears the tone at the input level
  const y = decodeAll(bytes).subarray(3200);
  const f = estimateFreq(y, 16000);
  t.ok(Math.abs(f - 1000) < 10, `full decoder: ${f.toFixed(2)} Hz`);
  const gain = rms(y) / rms(x);
  t.ok(gain > 0.85 && gain < 1.15, `full decoder: gain ${gain.toFixed(3)} ≈ 1`);
  t.ok(snrDb(y, 1000, 16000) > 20, 'full decoder: SNR > 20 dB');
  // the narrow-band decoder on an ordinary 16 kHz-encoded stream gives the 0–4 kHz signal at 8 kHz
  const wide = encodeAll(tone(1000, 16000, 16000, 10000));
  const dec = createDecoder('G722', { pcmRate: 8000 });
  const out: Int16Array[] = [];
  for (let i = 0; i < wide.length; i += 160) out.push(dec.decode(wide.subarray(i, i + 160)).slice());
  const z = concat(out).subarray(800);
  t.equal(z.length + 800, 8000, 'one sample per byte');
  t.ok(Math.abs(estimateFreq(z, 8000) - 1000) < 10, 'narrow-band decoder: 1 kHz');
  const g2 = rms(z) / rms(x);
  t.ok(g2 > 0.85 && g2 < 1.15, `narrow-band decoder: gain ${g2.toFixed(3)} ≈ 1`);
  t.ok(snrDb(z, 1000, 8000) > 20, 'narrow-band decoder: SNR > 20 dB');
  t.throws(() => createEncoder('G722', { pcmRate: 48000 }), { code: 'DPBX_ERR_CODEC_BAD_OPTION' });
});

t.test('ffmpeg decodes the narrow-band encoder\'s stream to the same samples as our decoder', { skip: skipUnlessCommand('ffmpeg') }, async (t) => {
  const dir = tmp();
  const enc = createEncoder('G722', { pcmRate: 8000 });
  const x = sweep(100, 3800, 8000, 8000 * 2);
  const parts: Buffer[] = [];
  for (let i = 0; i < x.length; i += 160) parts.push(Buffer.from(enc.encode(x.subarray(i, i + 160))));
  const file = join(dir, 'nb.g722');
  writeFileSync(file, Buffer.concat(parts));
  const raw = join(dir, 'nb.raw');
  run('ffmpeg', ['-v', 'error', '-y', '-f', 'g722', '-i', file, '-f', 's16le', raw]);
  const theirs = readS16(raw);
  const ours = decodeAll(Buffer.concat(parts));
  t.equal(firstDiff(Buffer.from(ours.buffer, ours.byteOffset, ours.byteLength), Buffer.from(theirs.buffer, theirs.byteOffset, ours.byteLength)), -1);
});

t.test('codec objects keep working when the shared wasm memory grows (cached scratch views are rebuilt)', async (t) => {
  for (const [name, opts, n] of [['G722', {}, 320], ['G722', { pcmRate: 8000 }, 160], ['GSM', {}, 160]] as const) {
    const x = sweep(100, 3000, 8000, n * 20);
    const run2 = (grow: boolean): Buffer => {
      const enc = createEncoder(name, opts);
      const dec = createDecoder(name, opts);
      const out: Buffer[] = [];
      const held: Array<{ close(): void }> = [];
      for (let i = 0; i < x.length; i += n) {
        // mid-stream, create enough codec objects to grow the instance's memory by several pages
        if (grow && i === n * 10) for (let k = 0; k < 2000; k++) held.push(createEncoder(name, opts));
        const p = enc.encode(x.subarray(i, i + n));
        const y = dec.decode(p);
        out.push(Buffer.from(p), Buffer.from(y.buffer, y.byteOffset, y.byteLength));
      }
      for (const h of held) h.close();
      return Buffer.concat(out);
    };
    t.ok(run2(true).equals(run2(false)), `${name} ${JSON.stringify(opts)}: same output with and without memory growth`);
  }
});
