/**
 * G.722 64 kbit/s (ITU-T G.722 SB-ADPCM, mode 1): our C implementation (codecs/wasm/g722.c) compiled to wasm.
 * SDP says 8000 Hz (RFC 3551 §4.5.2 quirk) but the audio is 16 kHz: one payload byte per two samples.
 *
 * pcmRate 8000 (narrow-band shortcut for transcoding with 8 kHz codecs): the encoder takes 8 kHz PCM as the
 * lower sub-band directly and codes a silent upper band; the decoder returns the lower sub-band's reconstructed
 * signal at 8 kHz. One payload byte per 8 kHz sample; the stream is ordinary G.722. This skips the QMF filters
 * and an 8 ↔ 16 kHz resampler per direction (see g722.c for why it is exact enough: the QMF lower band IS the
 * 0–4 kHz signal at 8 kHz).
 */
import { CodecError } from './errors.js';
import { RepeatAttenuatePlc } from './plc.js';
import type { Decoder, Encoder } from './types.js';
import { ScratchViews, WasmCodecState, wasmHeap, type WasmCodecHeap, type WasmFn } from './wasm/wasm-heap.js';

/** Largest frame handled in one call (samples); bigger frames are processed in chunks. */
const CHUNK = 8192;

function heap(): WasmCodecHeap {
  return wasmHeap('g722', 'g722_state_size');
}

abstract class G722Base extends WasmCodecState {
  readonly name = 'G722';
  readonly channels = 1;
  /** Samples per payload byte: 2 at 16 kHz, 1 at 8 kHz (narrow-band). */
  protected readonly spb: number;

  constructor(readonly frameSamples: number, readonly sampleRate: number) {
    const h = heap();
    const e = h.exports;
    const nb = sampleRate === 8000;
    super(h, {
      reset: e.g722_reset as WasmFn,
      encode: (nb ? e.g722_encode_nb : e.g722_encode) as WasmFn,
      decode: (nb ? e.g722_decode_nb : e.g722_decode) as WasmFn,
    }, 'G722');
    this.spb = nb ? 1 : 2;
  }
}

export class G722Encoder extends G722Base implements Encoder {
  private out: Buffer;
  private readonly views: ScratchViews;
  constructor(frameSamples: number, sampleRate = 16000) {
    super(frameSamples, sampleRate);
    this.out = Buffer.allocUnsafe(Math.ceil(frameSamples / this.spb));
    this.views = new ScratchViews(this.h, CHUNK * 2);
  }

  encode(pcm: Int16Array): Buffer {
    this.live();
    const n = pcm.length;
    const spb = this.spb;
    if (n % spb) throw new CodecError('DPBX_ERR_CODEC_FRAME_SIZE', `G722: odd frame length ${n}`);
    const bytes = n / spb;
    if (bytes > this.out.length) this.out = Buffer.allocUnsafe(bytes);
    const out = bytes === this.out.length ? this.out : this.out.subarray(0, bytes);
    const h = this.h;
    const pin = h.scratchPtr;
    const pout = pin + CHUNK * 2;
    if (n <= CHUNK) {
      // one call, through cached views (no typed-array objects per packet)
      const v = this.views.get(2 * n, bytes);
      v.in16.set(pcm);
      this.fn.encode(this.state, pin, n, pout);
      out.set(v.out8);
      return out;
    }
    for (let off = 0; off < n; off += CHUNK) {
      const len = Math.min(CHUNK, n - off);
      h.i16.set(pcm.subarray(off, off + len), 0);
      this.fn.encode(this.state, pin, len, pout);
      out.set(h.u8.subarray(CHUNK * 2, CHUNK * 2 + len / spb), off / spb);
    }
    return out;
  }
}

export class G722Decoder extends G722Base implements Decoder {
  private out: Int16Array;
  private readonly plc: RepeatAttenuatePlc;
  private readonly views: ScratchViews;
  constructor(frameSamples: number, sampleRate = 16000) {
    super(frameSamples, sampleRate);
    this.out = new Int16Array(frameSamples);
    this.plc = new RepeatAttenuatePlc(frameSamples);
    this.views = new ScratchViews(this.h, CHUNK);
  }

  decode(payload: Buffer | null): Int16Array {
    this.live();
    if (payload === null) return this.plc.conceal(this.frameSamples);
    const n = payload.length;
    if (n === 0) throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', 'G722: empty payload');
    const spb = this.spb;
    if (spb * n > this.out.length) this.out = new Int16Array(spb * n);
    const out = spb * n === this.out.length ? this.out : this.out.subarray(0, spb * n);
    const h = this.h;
    const pin = h.scratchPtr;
    const half = CHUNK >> 1;
    const pout = pin + CHUNK; // bytes [0, CHUNK/2) input, samples from byte CHUNK on
    if (n <= half) {
      const v = this.views.get(n, 2 * spb * n);
      v.in8.set(payload);
      this.fn.decode(this.state, pin, n, pout);
      out.set(v.out16);
      this.plc.good(out);
      return out;
    }
    for (let off = 0; off < n; off += half) {
      const len = Math.min(half, n - off);
      h.u8.set(payload.subarray(off, off + len), 0);
      this.fn.decode(this.state, pin, len, pout);
      out.set(h.i16.subarray(CHUNK / 2, CHUNK / 2 + spb * len), spb * off);
    }
    this.plc.good(out);
    return out;
  }

  conceal(): Int16Array {
    return this.decode(null);
  }
}
