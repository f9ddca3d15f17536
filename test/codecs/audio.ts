/**
 * Signal helpers for the codec tests: tone generation, frequency estimate, SNR against the best-fitting sinusoid,
 * ffmpeg/sox/espeak-ng wrappers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tone(freq: number, rate: number, n: number, amp = 8000, phase = 0): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin(phase + (2 * Math.PI * freq * i) / rate));
  return out;
}

/** Linear sweep f0 → f1 (Hz) over n samples. */
export function sweep(f0: number, f1: number, rate: number, n: number, amp = 12000): Int16Array {
  const out = new Int16Array(n);
  let ph = 0;
  for (let i = 0; i < n; i++) {
    const f = f0 + ((f1 - f0) * i) / n;
    ph += (2 * Math.PI * f) / rate;
    out[i] = Math.round(amp * Math.sin(ph));
  }
  return out;
}

/** Frequency by upward zero crossings with linear interpolation. */
export function estimateFreq(x: Int16Array, rate: number): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 1; i < x.length; i++) {
    if (x[i - 1]! < 0 && x[i]! >= 0) {
      const t = i - 1 + -x[i - 1]! / (x[i]! - x[i - 1]!);
      if (first < 0) first = t;
      else count++;
      last = t;
    }
  }
  return count > 0 ? (count * rate) / (last - first) : 0;
}

/** SNR (dB) of x against the least-squares sinusoid (+DC) at `freq`. */
export function snrDb(x: Int16Array, freq: number, rate: number): number {
  // normal equations for [sin, cos, 1]
  const w = (2 * Math.PI * freq) / rate;
  let ss = 0, sc = 0, s1 = 0, cc = 0, c1 = 0, n1 = 0, xs = 0, xc = 0, x1 = 0;
  for (let i = 0; i < x.length; i++) {
    const s = Math.sin(w * i), c = Math.cos(w * i), v = x[i]!;
    ss += s * s; sc += s * c; s1 += s; cc += c * c; c1 += c; n1 += 1; xs += v * s; xc += v * c; x1 += v;
  }
  const A = [[ss, sc, s1], [sc, cc, c1], [s1, c1, n1]];
  const b = [xs, xc, x1];
  const coef = solve3(A, b);
  let sig = 0, err = 0;
  for (let i = 0; i < x.length; i++) {
    const fit = coef[0]! * Math.sin(w * i) + coef[1]! * Math.cos(w * i) + coef[2]!;
    sig += fit * fit;
    err += (x[i]! - fit) ** 2;
  }
  return 10 * Math.log10(sig / Math.max(err, 1e-9));
}

function solve3(A: number[][], b: number[]): number[] {
  const m = A.map((r, i) => [...r, b[i]!]);
  for (let i = 0; i < 3; i++) {
    let p = i;
    for (let k = i + 1; k < 3; k++) if (Math.abs(m[k]![i]!) > Math.abs(m[p]![i]!)) p = k;
    [m[i], m[p]] = [m[p]!, m[i]!];
    for (let k = 0; k < 3; k++) {
      if (k === i) continue;
      const f = m[k]![i]! / m[i]![i]!;
      for (let j = i; j < 4; j++) m[k]![j]! -= f * m[i]![j]!;
    }
  }
  return [m[0]![3]! / m[0]![0]!, m[1]![3]! / m[1]![1]!, m[2]![3]! / m[2]![2]!];
}

export function rms(x: Int16Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length));
}

export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dpbx-codecs-'));
}

export function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

export function writeS16(file: string, pcm: Int16Array): void {
  writeFileSync(file, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
}

export function readS16(file: string): Int16Array {
  const b = readFileSync(file);
  const out = new Int16Array(b.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(2 * i);
  return out;
}

/** Speech from espeak-ng, resampled by sox to `rate` mono s16 raw; returns the samples. */
export function speech(dir: string, rate: number, text = 'Dragon PBX transcodes calls between codecs, bit for bit.'): Int16Array {
  const wav = join(dir, 'speech.wav');
  const raw = join(dir, `speech-${rate}.raw`);
  run('espeak-ng', ['-w', wav, text]);
  run('sox', [wav, '-r', String(rate), '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'raw', raw]);
  return readS16(raw);
}

/** First index where two byte sequences differ, or -1 (also -1 only when lengths are equal). */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Left channel of interleaved stereo. */
export function monoOf(stereo: Int16Array): Int16Array {
  const out = new Int16Array(stereo.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = stereo[2 * i]!;
  return out;
}
