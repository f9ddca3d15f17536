/**
 * GSM 06.10 full rate (RPE-LTP, RFC 3551 payload type 3): our C implementation of ETSI GSM 06.10
 * (codecs/wasm/gsm610.c) compiled to wasm — C rather than TypeScript because the standard is specified in 16/32-bit
 * saturating fixed point, which C expresses directly (int16/int32 wrap, arithmetic shifts) and wasm runs at
 * native speed; the same build, loader and byte-identity test as G.722 apply.
 * 160 samples at 8 kHz ↔ one 33-byte frame with the 0xD signature; a payload may hold several frames (ptime 40/60).
 */
import { existsSync } from 'node:fs';
import { CodecError } from './errors.js';
import { RepeatAttenuatePlc } from './plc.js';
import type { Decoder, Encoder } from './types.js';
import { ScratchViews, WasmCodecState, wasmCandidates, wasmHeap, type WasmFn } from './wasm/wasm-heap.js';

const FRAME = 160;
const BYTES = 33;
/** Frames per wasm call (scratch: 2 * 160 * 50 + 33 * 50 bytes < 64 KiB). */
const CHUNK_FRAMES = 50;

export function gsmStatus(): { available: boolean; reason?: string } {
  return wasmCandidates('gsm610').some((p) => existsSync(p))
    ? { available: true }
    : { available: false, reason: 'gsm610.wasm not found (run scripts/build-codecs.sh)' };
}

abstract class GsmBase extends WasmCodecState {
  readonly name = 'GSM';
  readonly sampleRate = 8000;
  readonly channels = 1;

  constructor(readonly frameSamples: number) {
    if (frameSamples % FRAME !== 0)
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `GSM: frame of ${frameSamples} samples is not a multiple of 160`);
    const h = wasmHeap('gsm610', 'gsm_state_size');
    const e = h.exports;
    super(h, { reset: e.gsm_reset as WasmFn, encode: e.gsm_encode as WasmFn, decode: e.gsm_decode as WasmFn }, 'GSM');
  }
}

export class GsmEncoder extends GsmBase implements Encoder {
  private out: Buffer;
  private readonly views: ScratchViews;
  constructor(frameSamples: number) {
    super(frameSamples);
    this.out = Buffer.allocUnsafe((frameSamples / FRAME) * BYTES);
    this.views = new ScratchViews(this.h, CHUNK_FRAMES * FRAME * 2);
  }

  encode(pcm: Int16Array): Buffer {
    this.live();
    const n = pcm.length;
    if (n === 0 || n % FRAME !== 0) throw new CodecError('DPBX_ERR_CODEC_FRAME_SIZE', `GSM: ${n} samples is not a multiple of 160`);
    const frames = n / FRAME;
    if (frames * BYTES > this.out.length) this.out = Buffer.allocUnsafe(frames * BYTES);
    const out = frames * BYTES === this.out.length ? this.out : this.out.subarray(0, frames * BYTES);
    const h = this.h;
    const pin = h.scratchPtr;
    const outOff = CHUNK_FRAMES * FRAME * 2;
    if (frames <= CHUNK_FRAMES) {
      // one call, through cached views (no typed-array objects per packet)
      const v = this.views.get(2 * n, frames * BYTES);
      v.in16.set(pcm);
      this.fn.encode(this.state, pin, frames, pin + outOff);
      out.set(v.out8);
      return out;
    }
    for (let f = 0; f < frames; f += CHUNK_FRAMES) {
      const cnt = Math.min(CHUNK_FRAMES, frames - f);
      h.i16.set(pcm.subarray(f * FRAME, (f + cnt) * FRAME), 0);
      this.fn.encode(this.state, pin, cnt, pin + outOff);
      out.set(h.u8.subarray(outOff, outOff + cnt * BYTES), f * BYTES);
    }
    return out;
  }
}

export class GsmDecoder extends GsmBase implements Decoder {
  private out: Int16Array;
  private readonly plc: RepeatAttenuatePlc;
  private readonly views: ScratchViews;
  constructor(frameSamples: number) {
    super(frameSamples);
    this.out = new Int16Array(frameSamples);
    this.plc = new RepeatAttenuatePlc(frameSamples);
    this.views = new ScratchViews(this.h, CHUNK_FRAMES * BYTES + 2);
  }

  decode(payload: Buffer | null): Int16Array {
    this.live();
    if (payload === null) return this.plc.conceal(this.frameSamples);
    const n = payload.length;
    if (n === 0 || n % BYTES !== 0) throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', `GSM: ${n}-byte payload is not a multiple of 33`);
    const frames = n / BYTES;
    for (let f = 0; f < frames; f++)
      if (payload[f * BYTES]! >> 4 !== 0xd) throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', `GSM: frame ${f} lacks the 0xD signature`);
    if (frames * FRAME > this.out.length) this.out = new Int16Array(frames * FRAME);
    const out = frames * FRAME === this.out.length ? this.out : this.out.subarray(0, frames * FRAME);
    const h = this.h;
    const pin = h.scratchPtr;
    const outOff = CHUNK_FRAMES * BYTES + 2; // even
    if (frames <= CHUNK_FRAMES) {
      const v = this.views.get(n, 2 * frames * FRAME);
      v.in8.set(payload);
      if (this.fn.decode(this.state, pin, frames, pin + outOff) !== 0)
        throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', 'GSM: bad frame signature');
      out.set(v.out16);
      this.plc.good(out);
      return out;
    }
    for (let f = 0; f < frames; f += CHUNK_FRAMES) {
      const cnt = Math.min(CHUNK_FRAMES, frames - f);
      h.u8.set(payload.subarray(f * BYTES, (f + cnt) * BYTES), 0);
      const rc = this.fn.decode(this.state, pin, cnt, pin + outOff);
      if (rc !== 0) throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', 'GSM: bad frame signature');
      out.set(h.i16.subarray(outOff / 2, outOff / 2 + cnt * FRAME), f * FRAME);
    }
    this.plc.good(out);
    return out;
  }

  conceal(): Int16Array {
    return this.decode(null);
  }
}
