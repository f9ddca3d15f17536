/**
 * Turns a media reference into encoded 20 ms frames for a leg's codec.
 * `file:NAME` URLs resolve against MEDIA_PATH (default: the bundled media/sounds folder); `tone:uk|us|eu` is the
 * generated ringback. PCMU/PCMA at 8 kHz are built in; other codecs get 8 kHz 16-bit PCM frames ('L16') that the
 * relay passes through its transcoder plugin.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlayError } from './errors.js';
import { readWav } from './wav.js';
import { wavToMonoPcm } from './resample.js';
import { encodeG711, ULAW_SILENCE, ALAW_SILENCE } from './g711.js';
import { generateRingback, RINGBACK_TONES, type RingbackCountry } from './tones.js';

/** The bundled sounds folder (media/sounds in the source tree, next to dist/ after the build). */
export const BUNDLED_MEDIA_PATH: string = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  // source: <repo>/media/play → <repo>/media/sounds ; built: <repo>/dist/media/play → <repo>/media/sounds
  const candidates = [join(here, '..', 'sounds'), join(here, '..', '..', '..', 'media', 'sounds')];
  return candidates.find((p) => existsSync(join(p, 'uk.wav'))) ?? candidates[0]!;
})();

export const DEFAULT_RINGTONE = 'file:/uk.wav';

/** MEDIA_PATH from the environment, else the bundled folder. */
export function defaultMediaPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.MEDIA_PATH && env.MEDIA_PATH.length > 0 ? env.MEDIA_PATH : BUNDLED_MEDIA_PATH;
}

/**
 * Resolves `file:NAME` (or `file:/NAME`) against `mediaPath`; the result must stay inside it (no `..` escape).
 * A plain absolute path is accepted as is (trusted configuration).
 */
export function resolveMediaUrl(url: string, mediaPath: string = defaultMediaPath()): string {
  if (url.startsWith('file:')) {
    const rel = url.slice(5).replace(/^\/+/, '');
    const root = resolve(mediaPath);
    const full = normalize(join(root, rel));
    if (full !== root && !full.startsWith(root + sep)) {
      throw new PlayError('DPBX_ERR_MEDIA_URL', `media URL escapes MEDIA_PATH: ${url}`);
    }
    return full;
  }
  if (isAbsolute(url)) return url;
  throw new PlayError('DPBX_ERR_MEDIA_URL', `unsupported media URL (use file:NAME or tone:uk|us|eu): ${url}`);
}

export type BuiltinCodec = 'PCMU' | 'PCMA' | 'L16';

/** Encoded audio cut into fixed frames: frame i is `data.subarray(i * frameBytes, (i + 1) * frameBytes)`. */
export interface FrameSource {
  codec: BuiltinCodec;
  rate: number;
  samplesPerFrame: number;
  frameBytes: number;
  frameCount: number;
  data: Buffer;
  durationMs: number;
}

export function frame(src: FrameSource, i: number): Buffer {
  return src.data.subarray(i * src.frameBytes, (i + 1) * src.frameBytes);
}

/** Encodes 8 kHz mono PCM into whole frames (last one padded with silence). L16 is big-endian (RFC 3551). */
export function pcmToFrames(pcm: Int16Array, codec: BuiltinCodec, ptimeMs = 20): FrameSource {
  const rate = 8000;
  const samplesPerFrame = (rate * ptimeMs) / 1000;
  const frameCount = Math.ceil(pcm.length / samplesPerFrame);
  const bytesPerSample = codec === 'L16' ? 2 : 1;
  const frameBytes = samplesPerFrame * bytesPerSample;
  const data = Buffer.alloc(frameCount * frameBytes);
  if (codec === 'L16') {
    for (let i = 0; i < pcm.length; i++) data.writeInt16BE(pcm[i]!, i * 2);
  } else {
    data.fill(codec === 'PCMU' ? ULAW_SILENCE : ALAW_SILENCE);
    encodeG711(codec, pcm, data, 0);
  }
  return { codec, rate, samplesPerFrame, frameBytes, frameCount, data, durationMs: (pcm.length * 1000) / rate };
}

const cache = new Map<string, FrameSource>();

/** Loads `tone:COUNTRY`, `file:NAME` or an absolute path as frames of `codec`; results are cached per process. */
export function loadFrames(url: string, codec: BuiltinCodec, mediaPath?: string, ptimeMs = 20): FrameSource {
  const key = `${codec}|${ptimeMs}|${mediaPath ?? ''}|${url}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let pcm: Int16Array;
  if (url.startsWith('tone:')) {
    const country = url.slice(5) as RingbackCountry;
    if (!(country in RINGBACK_TONES)) throw new PlayError('DPBX_ERR_MEDIA_URL', `unknown tone: ${url}`);
    pcm = generateRingback(country);
  } else {
    const path = resolveMediaUrl(url, mediaPath);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new PlayError('DPBX_ERR_MEDIA_URL', `cannot read ${url}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    pcm = wavToMonoPcm(readWav(bytes));
  }
  const frames = pcmToFrames(pcm, codec, ptimeMs);
  if (cache.size > 256) cache.clear();
  cache.set(key, frames);
  return frames;
}
