/**
 * GSM 06.10 (our C → wasm) is bit-identical to Debian ffmpeg's libgsm encoder (-c:a libgsm, raw -f gsm) and to
 * ffmpeg's native gsm decoder, on a tone sweep and on espeak-ng speech resampled to 8 kHz by sox.
 */
import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createDecoder, createEncoder } from '../../codecs/index.js';
import { skipUnless, skipUnlessCommand } from '../helpers/env.js';
import { concat, estimateFreq, firstDiff, readS16, run, snrDb, speech, sweep, tmp, tone, writeS16 } from './audio.js';

function encodeAll(pcm: Int16Array): Buffer {
  const enc = createEncoder('GSM');
  const parts: Buffer[] = [];
  for (let i = 0; i + 160 <= pcm.length; i += 160) parts.push(Buffer.from(enc.encode(pcm.subarray(i, i + 160))));
  enc.close();
  return Buffer.concat(parts);
}

function decodeAll(bytes: Buffer, ptime = 20): Int16Array {
  const dec = createDecoder('GSM', { ptime });
  const per = (33 * ptime) / 20;
  const parts: Int16Array[] = [];
  for (let i = 0; i + per <= bytes.length; i += per) parts.push(dec.decode(bytes.subarray(i, i + per)).slice());
  dec.close();
  return concat(parts);
}

t.test('frames: 160 samples ↔ 33 bytes with the 0xD signature', async (t) => {
  const enc = createEncoder('GSM');
  t.equal(enc.frameSamples, 160);
  const p = enc.encode(tone(440, 8000, 160));
  t.equal(p.length, 33);
  t.equal(p[0]! >> 4, 0xd);
  t.throws(() => enc.encode(new Int16Array(100)), { code: 'DPBX_ERR_CODEC_FRAME_SIZE' });
  const e40 = createEncoder('GSM', { ptime: 40 });
  t.equal(e40.encode(new Int16Array(320)).length, 66, 'ptime 40: two frames per payload');
});

t.test('1 kHz tone round trip, also with 2 frames per packet', async (t) => {
  const x = tone(1000, 8000, 8000, 10000);
  const bytes = encodeAll(x);
  for (const ptime of [20, 40]) {
    const y = decodeAll(bytes, ptime).subarray(800);
    const f = estimateFreq(y, 8000);
    t.ok(Math.abs(f - 1000) < 10, `ptime ${ptime}: ${f.toFixed(2)} Hz`);
    const snr = snrDb(y, 1000, 8000);
    t.ok(snr > 8, `ptime ${ptime}: SNR ${snr.toFixed(1)} dB > 8 (RPE-LTP is not waveform-exact)`);
  }
});

const hasLibgsm = (): false | string => {
  const skip = skipUnlessCommand('ffmpeg') || skipUnlessCommand('sox') || skipUnlessCommand('espeak-ng');
  if (skip) return skip;
  const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  return skipUnless(/libgsm\s/.test(r.stdout), "ffmpeg's libgsm encoder");
};

t.test('bit-exact against ffmpeg (libgsm encoder, native gsm decoder)', { skip: hasLibgsm() }, async (t) => {
  const dir = tmp();
  const inputs: Array<[string, Int16Array]> = [
    ['sweep', sweep(50, 3950, 8000, 8000 * 3)],
    ['speech', speech(dir, 8000)],
  ];
  for (const [label, pcm0] of inputs) {
    const pcm = pcm0.subarray(0, pcm0.length - (pcm0.length % 160));
    const rawIn = join(dir, `${label}.raw`);
    writeS16(rawIn, pcm);
    const ffGsm = join(dir, `${label}.gsm`);
    run('ffmpeg', ['-v', 'error', '-y', '-f', 's16le', '-ar', '8000', '-ac', '1', '-i', rawIn, '-c:a', 'libgsm', '-f', 'gsm', ffGsm]);
    const theirs = readFileSync(ffGsm);
    const ours = encodeAll(pcm);
    t.equal(ours.length, (pcm.length / 160) * 33);
    t.equal(firstDiff(ours, theirs.subarray(0, ours.length)), -1, `${label}: encoder identical to libgsm (${ours.length / 33} frames)`);

    const ffDec = join(dir, `${label}.dec.raw`);
    run('ffmpeg', ['-v', 'error', '-y', '-f', 'gsm', '-i', ffGsm, '-f', 's16le', ffDec]);
    const theirPcm = readS16(ffDec);
    const ourPcm = decodeAll(theirs);
    t.equal(ourPcm.length, theirPcm.length);
    const a = Buffer.from(ourPcm.buffer, ourPcm.byteOffset, ourPcm.byteLength);
    const b = Buffer.from(theirPcm.buffer, theirPcm.byteOffset, theirPcm.byteLength);
    t.equal(firstDiff(a, b), -1, `${label}: decoder identical to ffmpeg's gsm decoder (${ourPcm.length} samples)`);
  }
});

t.test('malformed payloads are typed errors; loss conceals', async (t) => {
  const dec = createDecoder('GSM');
  t.throws(() => dec.decode(Buffer.alloc(32)), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' });
  t.throws(() => dec.decode(Buffer.alloc(33)), { code: 'DPBX_ERR_CODEC_BAD_PAYLOAD' }, 'no 0xD signature');
  const junk = Buffer.alloc(33);
  for (let i = 0; i < 33; i++) junk[i] = (i * 97 + 13) & 255;
  junk[0] = 0xd0 | (junk[0]! & 15);
  t.equal(dec.decode(junk).length, 160, 'any bits after a valid signature decode (lag out of range → previous lag)');
  t.equal(dec.decode(null).length, 160);
});
