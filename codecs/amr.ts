/**
 * AMR-NB and AMR-WB through our optional N-API addon (codecs/native/amr_addon.c) over Debian's
 * libopencore-amrnb / libopencore-amrwb / libvo-amrwbenc, with the RFC 4867 RTP payload formats:
 *
 *   octet-aligned (fmtp octet-align=1):  CMR(4) R(4) | TOC bytes F(1) FT(4) Q(1) P(2) ... | frames, each padded
 *   bandwidth-efficient (the RFC default): CMR(4) | TOC entries F FT Q (6 bits) ... | frame bits back to back | pad
 *
 * One or more frames per packet (ptime 20/40/60 = 1/2/3 frames): the encoder packs frameSamples/160 (NB) or /320
 * (WB) frames in one payload; the decoder decodes every frame of a payload and returns them concatenated, and
 * accepts any frame count up to 12. Interleaving and CRC (RFC 4867 §4.4.2.1, §4.3.2) are not supported and are
 * rejected at creation. Received CMR is exposed as `lastCmr` on the decoder (a request for the opposite direction's
 * encoder, which the relay can apply with `setMode`). Decoder PLC: a lost packet (null) decodes NO_DATA frames so
 * the library runs its own error concealment; a frame with Q=0 is decoded as a bad frame (bfi=1).
 *
 * OPTIONAL: when the addon is not built or the libraries are missing, `amrStatus()` says why and listCodecs()
 * omits AMR and AMR-WB.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodecError } from './errors.js';
import type { CodecOptions, Decoder, Encoder } from './types.js';

interface AmrNative {
  nbEncoder(dtx: number): object;
  nbDecoder(): object;
  wbEncoder(): object;
  wbDecoder(): object;
  nbEncode(h: object, mode: number, pcm: Int16Array, out: Uint8Array): number;
  wbEncode(h: object, mode: number, pcm: Int16Array, out: Uint8Array, dtx: number): number;
  nbDecode(h: object, frame: Uint8Array, out: Int16Array, bfi: number): void;
  wbDecode(h: object, frame: Uint8Array, out: Int16Array, bfi: number): void;
  close(h: object): void;
}

const here = dirname(fileURLToPath(import.meta.url));
let native: AmrNative | null | undefined;
let reason = '';

function load(): AmrNative | null {
  if (native !== undefined) return native;
  // DPBX_AMR_ADDON: explicit path of dpbx_amr.node, or "off" to disable AMR (packaging, tests)
  const forced = process.env.DPBX_AMR_ADDON;
  if (forced === 'off' || forced === '0') {
    native = null;
    reason = 'AMR disabled by DPBX_AMR_ADDON=off';
    return native;
  }
  const candidates = forced
    ? [forced]
    : [join(here, 'native', 'build', 'dpbx_amr.node'), join(here, '..', '..', 'codecs', 'native', 'build', 'dpbx_amr.node')];
  const file = candidates.find((p) => existsSync(p));
  if (!file) {
    native = null;
    reason = forced
      ? `AMR addon not found at DPBX_AMR_ADDON=${forced}`
      : 'AMR addon not built (run scripts/build-codecs-native.sh; needs libopencore-amrnb/-amrwb and libvo-amrwbenc)';
    return native;
  }
  try {
    native = createRequire(import.meta.url)(file) as AmrNative;
  } catch (e) {
    native = null;
    reason = `AMR addon failed to load: ${(e as Error).message.split('\n')[0]}`;
  }
  return native;
}

/** Whether AMR / AMR-WB are usable, and one line saying why not. */
export function amrStatus(): { available: boolean; reason?: string } {
  return load() ? { available: true } : { available: false, reason };
}

/** Speech bits per frame type (RFC 4867 §3.6 / 3GPP TS 26.101 and 26.201); 0 = no data or invalid. */
const NB_BITS = [95, 103, 118, 134, 148, 159, 204, 244, 39, 0, 0, 0, 0, 0, 0, 0];
const WB_BITS = [132, 177, 253, 285, 317, 365, 397, 461, 477, 40, 0, 0, 0, 0, 0, 0];
const NO_DATA = 15;
const MAX_FRAMES = 12;

interface Variant {
  wb: boolean;
  samples: number;
  bits: readonly number[];
  maxMode: number;
  /** FTs that may carry data (speech modes + SID); 14 (speech lost, WB) and 15 carry none. */
  validFt(ft: number): boolean;
}
const NB: Variant = { wb: false, samples: 160, bits: NB_BITS, maxMode: 7, validFt: (ft) => ft <= 8 || ft === 15 };
const WB: Variant = { wb: true, samples: 320, bits: WB_BITS, maxMode: 8, validFt: (ft) => ft <= 9 || ft === 14 || ft === 15 };

function variant(name: string): Variant {
  return name.toUpperCase() === 'AMR-WB' ? WB : NB;
}

function isOctetAligned(o: CodecOptions): boolean {
  const v = o['octet-align'] ?? o.octetAlign;
  return v === 1 || v === '1' || v === true;
}

function checkUnsupported(name: string, o: CodecOptions): void {
  for (const k of ['interleaving', 'crc', 'robust-sorting']) {
    const v = o[k];
    if (v !== undefined && v !== '0' && v !== 0 && v !== false)
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${name}: fmtp ${k} is not supported`);
  }
}

function need(): AmrNative {
  const n = load();
  if (!n) throw new CodecError('DPBX_ERR_CODEC_UNAVAILABLE', reason);
  return n;
}

/** MSB-first bit writer/reader over a buffer. */
function putBits(buf: Uint8Array, pos: number, v: number, bits: number): number {
  for (let b = bits - 1; b >= 0; b--, pos++) {
    const bit = (v >> b) & 1;
    const i = pos >> 3;
    const m = 0x80 >> (pos & 7);
    buf[i] = bit ? buf[i]! | m : buf[i]! & ~m;
  }
  return pos;
}
function getBits(buf: Uint8Array, pos: number, bits: number): number {
  let v = 0;
  for (let b = 0; b < bits; b++, pos++) v = (v << 1) | ((buf[pos >> 3]! >> (7 - (pos & 7))) & 1);
  return v;
}

export class AmrEncoder implements Encoder {
  readonly sampleRate: number;
  readonly channels = 1;
  readonly octetAligned: boolean;
  private readonly v: Variant;
  private readonly n: AmrNative;
  private h: object | null;
  private mode: number;
  private readonly dtx: number;
  private readonly frames: number;
  private readonly store = new Uint8Array(64);
  private readonly fts: number[] = [];
  private readonly qs: number[] = [];
  private readonly data: Uint8Array;
  private readonly out: Buffer;
  /** CMR written into every payload (15 = no request). */
  cmr = 15;

  constructor(readonly name: string, readonly frameSamples: number, opts: CodecOptions) {
    this.v = variant(name);
    this.sampleRate = this.v.wb ? 16000 : 8000;
    checkUnsupported(name, opts);
    if (frameSamples % this.v.samples !== 0 || frameSamples / this.v.samples > MAX_FRAMES)
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${name}: ${frameSamples} samples is not 1..12 frames of ${this.v.samples}`);
    this.frames = frameSamples / this.v.samples;
    this.octetAligned = isOctetAligned(opts);
    this.dtx = opts.dtx === 1 || opts.dtx === '1' || opts.dtx === true ? 1 : 0;
    this.mode = this.pickMode(opts);
    this.n = need();
    this.h = this.v.wb ? this.n.wbEncoder() : this.n.nbEncoder(this.dtx);
    this.data = new Uint8Array(this.frames * 62);
    this.out = Buffer.alloc(2 + this.frames * 63);
  }

  private pickMode(opts: CodecOptions): number {
    if (opts.mode !== undefined) {
      const m = Number(opts.mode);
      if (!Number.isInteger(m) || m < 0 || m > this.v.maxMode)
        throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${this.name}: mode ${String(opts.mode)}`);
      return m;
    }
    if (opts['mode-set'] !== undefined) {
      const set = String(opts['mode-set'])
        .split(',')
        .map((s) => Number(s.trim()))
        .filter((m) => Number.isInteger(m) && m >= 0 && m <= this.v.maxMode);
      if (set.length === 0) throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${this.name}: mode-set ${String(opts['mode-set'])}`);
      return Math.max(...set);
    }
    return this.v.maxMode;
  }

  /** Changes the encoding mode (e.g. on a received CMR). */
  setMode(mode: number): void {
    if (Number.isInteger(mode) && mode >= 0 && mode <= this.v.maxMode) this.mode = mode;
  }

  encode(pcm: Int16Array): Buffer {
    if (!this.h) throw new CodecError('DPBX_ERR_CODEC_CLOSED', `${this.name}: codec is closed`);
    if (pcm.length !== this.frameSamples)
      throw new CodecError('DPBX_ERR_CODEC_FRAME_SIZE', `${this.name}: expected ${this.frameSamples} samples, got ${pcm.length}`);
    const S = this.v.samples;
    let dataBits = 0;
    const data = this.data;
    data.fill(0);
    for (let f = 0; f < this.frames; f++) {
      const frame = pcm.subarray(f * S, f * S + S);
      const len = this.v.wb
        ? this.n.wbEncode(this.h, this.mode, frame, this.store, this.dtx)
        : this.n.nbEncode(this.h, this.mode, frame, this.store);
      if (len < 1) throw new CodecError('DPBX_ERR_CODEC_INTERNAL', `${this.name}: encoder returned ${len}`);
      const ft = (this.store[0]! >> 3) & 15;
      this.fts[f] = ft;
      this.qs[f] = (this.store[0]! >> 2) & 1;
      const bits = this.v.bits[ft]!;
      if (this.octetAligned) {
        const bytes = (bits + 7) >> 3;
        data.set(this.store.subarray(1, 1 + bytes), dataBits >> 3);
        dataBits += bytes * 8;
      } else {
        for (let b = 0; b < bits; b++) dataBits = putBits(data, dataBits, (this.store[1 + (b >> 3)]! >> (7 - (b & 7))) & 1, 1);
      }
    }
    const out = this.out;
    out.fill(0);
    let len: number;
    if (this.octetAligned) {
      out[0] = this.cmr << 4;
      for (let f = 0; f < this.frames; f++) out[1 + f] = ((f < this.frames - 1 ? 1 : 0) << 7) | (this.fts[f]! << 3) | (this.qs[f]! << 2);
      const hdr = 1 + this.frames;
      out.set(data.subarray(0, dataBits >> 3), hdr);
      len = hdr + (dataBits >> 3);
    } else {
      let pos = putBits(out, 0, this.cmr, 4);
      for (let f = 0; f < this.frames; f++) {
        pos = putBits(out, pos, f < this.frames - 1 ? 1 : 0, 1);
        pos = putBits(out, pos, this.fts[f]!, 4);
        pos = putBits(out, pos, this.qs[f]!, 1);
      }
      for (let b = 0; b < dataBits; b++) pos = putBits(out, pos, (data[b >> 3]! >> (7 - (b & 7))) & 1, 1);
      len = (pos + 7) >> 3;
    }
    return out.subarray(0, len);
  }

  close(): void {
    if (this.h) this.n.close(this.h);
    this.h = null;
  }
}

export class AmrDecoder implements Decoder {
  readonly sampleRate: number;
  readonly channels = 1;
  readonly octetAligned: boolean;
  /** CMR of the last payload (15 = no request). */
  lastCmr = 15;
  private readonly v: Variant;
  private readonly n: AmrNative;
  private h: object | null;
  private readonly store = new Uint8Array(64);
  private readonly frame: Int16Array;
  private out: Int16Array;
  private readonly ft = new Int8Array(MAX_FRAMES);
  private readonly q = new Int8Array(MAX_FRAMES);

  constructor(readonly name: string, readonly frameSamples: number, opts: CodecOptions) {
    this.v = variant(name);
    this.sampleRate = this.v.wb ? 16000 : 8000;
    checkUnsupported(name, opts);
    if (frameSamples % this.v.samples !== 0)
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${name}: ${frameSamples} samples is not a whole number of frames`);
    this.octetAligned = isOctetAligned(opts);
    this.n = need();
    this.h = this.v.wb ? this.n.wbDecoder() : this.n.nbDecoder();
    this.frame = new Int16Array(this.v.samples);
    this.out = new Int16Array(frameSamples);
  }

  private bad(msg: string): never {
    throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', `${this.name}: ${msg}`);
  }

  private decodeOne(frame: Uint8Array | null, bfi: number, into: Int16Array, at: number): void {
    if (frame === null) {
      this.store[0] = (NO_DATA << 3) | 4;
      frame = this.store.subarray(0, 1);
    }
    if (this.v.wb) this.n.wbDecode(this.h!, frame, this.frame, bfi);
    else this.n.nbDecode(this.h!, frame, this.frame, bfi);
    into.set(this.frame, at);
  }

  private sized(frames: number): Int16Array {
    const n = frames * this.v.samples;
    if (this.out.length < n) this.out = new Int16Array(n);
    return this.out.length === n ? this.out : this.out.subarray(0, n);
  }

  decode(payload: Buffer | null): Int16Array {
    if (!this.h) throw new CodecError('DPBX_ERR_CODEC_CLOSED', `${this.name}: codec is closed`);
    const S = this.v.samples;
    if (payload === null) {
      const frames = this.frameSamples / S;
      const out = this.sized(frames);
      for (let f = 0; f < frames; f++) this.decodeOne(null, 0, out, f * S);
      return out;
    }
    const len = payload.length;
    if (len < 2) this.bad(`${len}-byte payload`);
    const bits = this.v.bits;
    let frames = 0;
    let pos: number; // bit position of the first frame's data
    let total = 0; // data bits needed
    if (this.octetAligned) {
      this.lastCmr = payload[0]! >> 4;
      let i = 1;
      for (;;) {
        if (i >= len) this.bad('TOC runs past the payload');
        if (frames >= MAX_FRAMES) this.bad('more than 12 frames');
        const toc = payload[i++]!;
        const ft = (toc >> 3) & 15;
        if (!this.v.validFt(ft)) this.bad(`invalid frame type ${ft}`);
        this.ft[frames] = ft;
        this.q[frames] = (toc >> 2) & 1;
        frames++;
        total += ((bits[ft]! + 7) >> 3) * 8;
        if (!(toc & 0x80)) break;
      }
      pos = i * 8;
    } else {
      this.lastCmr = getBits(payload, 0, 4);
      pos = 4;
      for (;;) {
        if (pos + 6 > len * 8) this.bad('TOC runs past the payload');
        if (frames >= MAX_FRAMES) this.bad('more than 12 frames');
        const more = getBits(payload, pos, 1);
        const ft = getBits(payload, pos + 1, 4);
        const q = getBits(payload, pos + 5, 1);
        pos += 6;
        if (!this.v.validFt(ft)) this.bad(`invalid frame type ${ft}`);
        this.ft[frames] = ft;
        this.q[frames] = q;
        frames++;
        total += bits[ft]!;
        if (!more) break;
      }
    }
    if (pos + total > len * 8) this.bad(`payload of ${len} bytes too short for its ${frames} frame(s)`);
    const out = this.sized(frames);
    for (let f = 0; f < frames; f++) {
      const ft = this.ft[f]!;
      const nb = bits[ft]!;
      const st = this.store;
      st.fill(0);
      st[0] = (ft << 3) | (this.q[f]! << 2);
      if (this.octetAligned) {
        const bytes = (nb + 7) >> 3;
        st.set(payload.subarray(pos >> 3, (pos >> 3) + bytes), 1);
        pos += bytes * 8;
      } else {
        for (let b = 0; b < nb; b++) putBits(st, 8 + b, getBits(payload, pos + b, 1), 1);
        pos += nb;
      }
      this.decodeOne(nb === 0 ? null : st.subarray(0, 1 + ((nb + 7) >> 3)), this.q[f] ? 0 : 1, out, f * S);
    }
    return out;
  }

  conceal(): Int16Array {
    return this.decode(null);
  }

  close(): void {
    if (this.h) this.n.close(this.h);
    this.h = null;
  }
}
