/**
 * Built-in conversion of decoded WAV audio to 8 kHz mono for G.711 playback before the codec layer is in:
 * stereo → mono by averaging, then a windowed-sinc low-pass (cut-off 3.6 kHz) evaluated only at the output
 * instants, which handles integer (16k, 48k) and fractional (44.1k) ratios with one routine. Not on a hot path:
 * this runs once per file (results are cached by the caller).
 */
import type { WavAudio } from './wav.js';

export function toMono(samples: Int16Array, channels: number): Int16Array {
  if (channels === 1) return samples;
  const frames = Math.floor(samples.length / channels);
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c]!;
    out[i] = Math.round(sum / channels);
  }
  return out;
}

/** Resamples mono 16-bit PCM from `fromRate` down (or up) to `toRate` with a low-pass at 0.45 × toRate. */
export function resampleMono(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return input;
  const ratio = fromRate / toRate;
  const outLen = Math.floor(input.length / ratio);
  const out = new Int16Array(outLen);
  const cutoff = (0.45 * Math.min(fromRate, toRate)) / fromRate; // normalised to the input rate
  const halfTaps = Math.max(8, Math.ceil(4 * ratio));
  for (let j = 0; j < outLen; j++) {
    const centre = j * ratio;
    const first = Math.max(0, Math.ceil(centre - halfTaps));
    const last = Math.min(input.length - 1, Math.floor(centre + halfTaps));
    let acc = 0;
    let norm = 0;
    for (let k = first; k <= last; k++) {
      const x = k - centre;
      const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
      const w = 0.5 + 0.5 * Math.cos((Math.PI * x) / (halfTaps + 1)); // Hann window
      const h = sinc * w;
      acc += input[k]! * h;
      norm += h;
    }
    const v = norm !== 0 ? acc / norm : 0;
    out[j] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
  }
  return out;
}

/** Decoded WAV → 8 kHz (or `rate`) mono 16-bit PCM. */
export function wavToMonoPcm(wav: WavAudio, rate = 8000): Int16Array {
  return resampleMono(toMono(wav.samples, wav.channels), wav.sampleRate, rate);
}
