/**
 * G.711 µ-law and A-law (ITU-T G.711) sample conversion with lookup tables built once at load.
 * Decode: 256-entry Int16Array per law. Encode: 65536-entry Uint8Array per law indexed by the 16-bit sample
 * reinterpreted as unsigned (sample & 0xffff), so encoding a frame is one table read per sample.
 */

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

function ulawEncodeSample(sample: number): number {
  let s = sample;
  let sign = 0;
  if (s < 0) {
    sign = 0x80;
    s = -s;
  }
  if (s > ULAW_CLIP) s = ULAW_CLIP;
  s += ULAW_BIAS;
  // exponent = position of the highest set bit among bits 7..14, minus 7
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function ulawDecodeSample(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

function alawEncodeSample(sample: number): number {
  let s = sample >> 3; // 13-bit magnitude domain
  let mask: number;
  if (s >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    s = -s - 1;
  }
  // segment = number of significant bits above the 5 lowest, capped at 8
  let seg = 0;
  for (let end = 0x1f; seg < 8 && s > end; end = (end << 1) | 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (s >> 1) & 0x0f : (s >> seg) & 0x0f;
  return aval ^ mask;
}

function alawDecodeSample(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else {
    t += 0x108;
    if (seg > 1) t <<= seg - 1;
  }
  return a & 0x80 ? t : -t;
}

export const ULAW_DECODE = new Int16Array(256);
export const ALAW_DECODE = new Int16Array(256);
export const ULAW_ENCODE = new Uint8Array(65536);
export const ALAW_ENCODE = new Uint8Array(65536);
for (let i = 0; i < 256; i++) {
  ULAW_DECODE[i] = ulawDecodeSample(i);
  ALAW_DECODE[i] = alawDecodeSample(i);
}
for (let i = 0; i < 65536; i++) {
  const s = i >= 32768 ? i - 65536 : i;
  ULAW_ENCODE[i] = ulawEncodeSample(s);
  ALAW_ENCODE[i] = alawEncodeSample(s);
}

/** Silence byte of each law (the code for sample value 0). */
export const ULAW_SILENCE = ULAW_ENCODE[0]!;
export const ALAW_SILENCE = ALAW_ENCODE[0]!;

/** Encodes 16-bit PCM into `out` (1 byte per sample); returns the number of bytes written. */
export function encodeG711(law: 'PCMU' | 'PCMA', pcm: Int16Array, out: Uint8Array, outOffset = 0): number {
  const table = law === 'PCMU' ? ULAW_ENCODE : ALAW_ENCODE;
  const n = pcm.length;
  for (let i = 0; i < n; i++) out[outOffset + i] = table[pcm[i]! & 0xffff]!;
  return n;
}

/** Decodes G.711 bytes into `out` (one sample per byte); returns the number of samples written. */
export function decodeG711(law: 'PCMU' | 'PCMA', bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
  const table = law === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
  const n = bytes.length;
  for (let i = 0; i < n; i++) out[outOffset + i] = table[bytes[i]!]!;
  return n;
}
