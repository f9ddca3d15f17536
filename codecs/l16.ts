/**
 * L16 (RFC 3551 §4.5.11): 16-bit big-endian linear PCM, used by the relay for announcements into non-G.711 legs.
 */
import { CodecError } from './errors.js';
import type { Decoder, Encoder } from './types.js';

export class L16Encoder implements Encoder {
  readonly name = 'L16';
  private out: Buffer;
  constructor(readonly sampleRate: number, readonly channels: number, readonly frameSamples: number) {
    this.out = Buffer.allocUnsafe(frameSamples * channels * 2);
  }
  encode(pcm: Int16Array): Buffer {
    if (pcm.length * 2 > this.out.length) this.out = Buffer.allocUnsafe(pcm.length * 2);
    const out = this.out.subarray(0, pcm.length * 2);
    for (let i = 0; i < pcm.length; i++) out.writeInt16BE(pcm[i]!, 2 * i);
    return out;
  }
  close(): void {}
}

export class L16Decoder implements Decoder {
  readonly name = 'L16';
  private out: Int16Array;
  constructor(readonly sampleRate: number, readonly channels: number, readonly frameSamples: number) {
    this.out = new Int16Array(frameSamples * channels);
  }
  decode(payload: Buffer | null): Int16Array {
    if (payload === null) {
      const z = this.out.subarray(0, this.frameSamples * this.channels);
      z.fill(0);
      return z;
    }
    if (payload.length === 0 || payload.length % (2 * this.channels) !== 0)
      throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', `L16: ${payload.length}-byte payload`);
    const n = payload.length >> 1;
    if (n > this.out.length) this.out = new Int16Array(n);
    const out = this.out.subarray(0, n);
    for (let i = 0; i < n; i++) out[i] = payload.readInt16BE(2 * i);
    return out;
  }
  conceal(): Int16Array {
    return this.decode(null);
  }
  close(): void {}
}
