/**
 * RIFF/WAVE reader and a minimal writer.
 *
 * Supported (anything else is a WavError with a stable code):
 *   - wFormatTag 1 (PCM) 8-bit unsigned or 16-bit signed little-endian, 6 (A-law), 7 (µ-law),
 *     0xFFFE (WAVE_FORMAT_EXTENSIBLE) whose SubFormat GUID names one of those three;
 *   - 8000, 16000, 44100 or 48000 samples/s; 1 or 2 channels.
 *
 *   RIFF header:  "RIFF" <u32 size> "WAVE"  then chunks  <4-char id> <u32 size> <data, padded to even length>
 *   fmt  chunk:   u16 formatTag, u16 channels, u32 sampleRate, u32 byteRate, u16 blockAlign, u16 bitsPerSample,
 *                 [u16 cbSize, u16 validBits, u32 channelMask, 16-byte SubFormat GUID]   (extensible)
 */
import { ALAW_DECODE, ULAW_DECODE } from './g711.js';
import { WavError } from './errors.js';

export type WavEncoding = 'pcm' | 'alaw' | 'mulaw';

export interface WavAudio {
  encoding: WavEncoding;
  bitsPerSample: number;
  sampleRate: number;
  channels: number;
  /** Interleaved samples decoded to 16-bit linear PCM. */
  samples: Int16Array;
  /** Sample frames (samples per channel). */
  frames: number;
  durationMs: number;
}

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;
export const SUPPORTED_WAV_RATES: readonly number[] = [8000, 16000, 44100, 48000];

function fourcc(buf: Buffer, off: number): string {
  return buf.toString('latin1', off, off + 4);
}

/** Parses a WAV file held in memory. */
export function readWav(buf: Buffer): WavAudio {
  if (buf.length < 12) throw new WavError('DPBX_ERR_WAV_TRUNCATED', `file too short for a RIFF header (${buf.length} bytes)`);
  if (fourcc(buf, 0) !== 'RIFF' || fourcc(buf, 8) !== 'WAVE') throw new WavError('DPBX_ERR_WAV_INVALID', 'not a RIFF/WAVE file');
  let off = 12;
  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number } | undefined;
  let data: Buffer | undefined;
  while (off + 8 <= buf.length) {
    const id = fourcc(buf, off);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    const remaining = buf.length - body;
    if (size > remaining) {
      // Streaming writers leave 0xFFFFFFFF (or 0) as the data size of the last chunk: take the rest of the file.
      if (id === 'data' && (size === 0xffffffff || size === 0)) size = remaining;
      else throw new WavError('DPBX_ERR_WAV_TRUNCATED', `chunk '${id}' declares ${size} bytes, only ${remaining} present`);
    }
    if (id === 'fmt ') {
      if (size < 16) throw new WavError('DPBX_ERR_WAV_INVALID', `fmt chunk too short (${size} bytes)`);
      let tag = buf.readUInt16LE(body);
      if (tag === FORMAT_EXTENSIBLE) {
        if (size < 40) throw new WavError('DPBX_ERR_WAV_INVALID', 'WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes');
        tag = buf.readUInt16LE(body + 24); // first two bytes of the SubFormat GUID carry the format tag
      }
      fmt = {
        tag,
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        blockAlign: buf.readUInt16LE(body + 12),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      data = buf.subarray(body, body + size);
      if (fmt) break;
    }
    off = body + size + (size & 1);
  }
  if (!fmt) throw new WavError('DPBX_ERR_WAV_INVALID', 'no fmt chunk');
  if (!data) throw new WavError('DPBX_ERR_WAV_NO_DATA', 'no data chunk');

  let encoding: WavEncoding;
  if (fmt.tag === FORMAT_PCM) {
    if (fmt.bits !== 8 && fmt.bits !== 16) {
      throw new WavError('DPBX_ERR_WAV_UNSUPPORTED', `PCM with ${fmt.bits} bits per sample (only 8 and 16 are supported)`);
    }
    encoding = 'pcm';
  } else if (fmt.tag === FORMAT_ALAW || fmt.tag === FORMAT_MULAW) {
    if (fmt.bits !== 8) throw new WavError('DPBX_ERR_WAV_UNSUPPORTED', `G.711 with ${fmt.bits} bits per sample`);
    encoding = fmt.tag === FORMAT_ALAW ? 'alaw' : 'mulaw';
  } else {
    throw new WavError('DPBX_ERR_WAV_UNSUPPORTED', `format tag 0x${fmt.tag.toString(16)} (only PCM, A-law, µ-law)`);
  }
  if (fmt.channels !== 1 && fmt.channels !== 2) {
    throw new WavError('DPBX_ERR_WAV_UNSUPPORTED', `${fmt.channels} channels (only mono and stereo)`);
  }
  if (!SUPPORTED_WAV_RATES.includes(fmt.rate)) {
    throw new WavError('DPBX_ERR_WAV_UNSUPPORTED', `sample rate ${fmt.rate} (supported: ${SUPPORTED_WAV_RATES.join(', ')})`);
  }
  const bytesPerSample = fmt.bits / 8;
  const frameBytes = bytesPerSample * fmt.channels;
  const frames = Math.floor(data.length / frameBytes);
  const n = frames * fmt.channels;
  const samples = new Int16Array(n);
  if (encoding === 'pcm' && fmt.bits === 16) {
    for (let i = 0; i < n; i++) samples[i] = data.readInt16LE(i * 2);
  } else if (encoding === 'pcm') {
    for (let i = 0; i < n; i++) samples[i] = (data[i]! - 128) << 8;
  } else {
    const table = encoding === 'alaw' ? ALAW_DECODE : ULAW_DECODE;
    for (let i = 0; i < n; i++) samples[i] = table[data[i]!]!;
  }
  return {
    encoding,
    bitsPerSample: fmt.bits,
    sampleRate: fmt.rate,
    channels: fmt.channels,
    samples,
    frames,
    durationMs: (frames * 1000) / fmt.rate,
  };
}

export interface WavWriteOptions {
  sampleRate: number;
  channels?: number;
  /** 'pcm16' (default), 'pcm8', 'alaw', 'mulaw'. */
  format?: 'pcm16' | 'pcm8' | 'alaw' | 'mulaw';
  /** Write a WAVE_FORMAT_EXTENSIBLE fmt chunk instead of the plain one. */
  extensible?: boolean;
}

/**
 * Writes interleaved samples as a WAV file. For 'alaw'/'mulaw' the `samples` must already be the encoded bytes
 * (a Uint8Array); for PCM they are 16-bit linear samples (8-bit output keeps the high byte).
 */
export function writeWav(samples: Int16Array | Uint8Array, opts: WavWriteOptions): Buffer {
  const channels = opts.channels ?? 1;
  const format = opts.format ?? 'pcm16';
  const bits = format === 'pcm16' ? 16 : 8;
  const tag = format === 'alaw' ? FORMAT_ALAW : format === 'mulaw' ? FORMAT_MULAW : FORMAT_PCM;
  const dataBytes = samples.length * (bits / 8);
  const fmtSize = opts.extensible ? 40 : 16;
  const buf = Buffer.alloc(12 + 8 + fmtSize + 8 + dataBytes + (dataBytes & 1));
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(buf.length - 8, 4);
  buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1');
  buf.writeUInt32LE(fmtSize, 16);
  buf.writeUInt16LE(opts.extensible ? FORMAT_EXTENSIBLE : tag, 20);
  buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(opts.sampleRate, 24);
  buf.writeUInt32LE((opts.sampleRate * channels * bits) / 8, 28);
  buf.writeUInt16LE((channels * bits) / 8, 32);
  buf.writeUInt16LE(bits, 34);
  if (opts.extensible) {
    buf.writeUInt16LE(22, 36); // cbSize
    buf.writeUInt16LE(bits, 38); // valid bits
    buf.writeUInt32LE(channels === 2 ? 3 : 4, 40); // channel mask: FL|FR or FC
    // SubFormat GUID 0000XXXX-0000-0010-8000-00AA00389B71
    buf.writeUInt16LE(tag, 44);
    Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(buf, 46);
  }
  const dataOff = 12 + 8 + fmtSize;
  buf.write('data', dataOff, 'latin1');
  buf.writeUInt32LE(dataBytes, dataOff + 4);
  const body = dataOff + 8;
  if (format === 'pcm16') {
    for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i]!, body + i * 2);
  } else if (format === 'pcm8') {
    for (let i = 0; i < samples.length; i++) buf[body + i] = ((samples[i]! >> 8) + 128) & 0xff;
  } else {
    for (let i = 0; i < samples.length; i++) buf[body + i] = samples[i]! & 0xff;
  }
  return buf;
}
