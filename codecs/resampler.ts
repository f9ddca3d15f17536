/**
 * Rational-ratio polyphase FIR resampler (Kaiser-windowed sinc), stateful across frames so consecutive frames
 * join without clicks, for 8/16/48 kHz and 44.1 kHz → any. Interleaved multi-channel PCM; stereo ↔ mono helpers.
 *
 * out rate / in rate = L / M (reduced). The prototype low-pass runs at in·L with cutoff at 0.9 × the lower
 * Nyquist frequency; phase p of the bank holds taps h[p + k·L]. Output n uses phase (n·M) mod L and input
 * samples ending at ⌊n·M / L⌋. Passband gain is 1 (each phase is normalised to unit DC gain).
 */
import { CodecError } from './errors.js';
import { wasmHeap, type WasmCodecHeap } from './wasm/wasm-heap.js';

export interface ResamplerOptions {
  /** Taps per phase (filter length in input samples); default 32 × max(1, in/out rate). */
  taps?: number;
  /** Cut-off as a fraction of the lower Nyquist frequency; default 0.9. */
  cutoff?: number;
  /** Kaiser window beta; default 8.5 (≈ 85 dB stop band). */
  beta?: number;
  channels?: number;
  /** false: always the JavaScript inner loop (default: the wasm SIMD loop when resample.wasm loads). */
  simd?: boolean;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

const banks = new Map<string, Float32Array[]>();

function designBank(L: number, M: number, taps: number, cutoff: number, beta: number): Float32Array[] {
  const key = `${L}/${M}/${taps}/${cutoff}/${beta}`;
  const cached = banks.get(key);
  if (cached) return cached;
  const N = taps * L; // prototype length at rate in·L
  const fc = (cutoff * 0.5) / Math.max(L, M); // cycles per prototype sample
  const centre = (N - 1) / 2;
  const i0b = besselI0(beta);
  const proto = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const t = i - centre;
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
    const r = (2 * i) / (N - 1) - 1;
    proto[i] = sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0b);
  }
  const bank: Float32Array[] = [];
  for (let p = 0; p < L; p++) {
    const ph = new Float32Array(taps);
    let sum = 0;
    for (let k = 0; k < taps; k++) sum += proto[p + k * L]!;
    // stored reversed so that ph[k] multiplies input x[base + k] with x[base + taps - 1] the newest
    for (let k = 0; k < taps; k++) ph[taps - 1 - k] = proto[p + k * L]! / sum;
    bank.push(ph);
  }
  banks.set(key, bank);
  return bank;
}

/**
 * The FIR inner loop in WebAssembly SIMD128 (codecs/wasm/resample.c): history and output pass through the shared
 * scratch area (history floats in its first 48 KiB, 16-bit output after), the Float32 banks are copied into the
 * instance once per design. null when resample.wasm is missing: the JavaScript loop below is used instead.
 */
interface WasmFir {
  h: WasmCodecHeap;
  fir: (...a: number[]) => void;
  banks: Map<string, number>;
  gen: number;
  f32: Float32Array;
  i16: Int16Array;
}
let wasmFir: WasmFir | null | undefined;
const HIST_FLOATS = 12288;
const OUT_SAMPLES = 8192;

function getWasmFir(): WasmFir | null {
  if (wasmFir === undefined) {
    try {
      const h = wasmHeap('resample', 'rs_state_size');
      wasmFir = { h, fir: h.exports.rs_fir as (...a: number[]) => void, banks: new Map(), gen: -1, f32: new Float32Array(0), i16: new Int16Array(0) };
    } catch {
      wasmFir = null;
    }
  }
  return wasmFir;
}

export class Resampler {
  readonly L: number;
  readonly M: number;
  readonly channels: number;
  private readonly taps: number;
  private readonly bank: Float32Array[];
  /** The bank flattened (phase p at [p * taps, (p + 1) * taps)) for the hot loop. */
  private readonly flat: Float64Array;
  /** Input history per channel (de-interleaved), taps-1 samples of context plus pending input. */
  private hist: Float32Array[];
  private histLen: number;
  /** Phase accumulator: position of the next output in units of 1/L input samples, relative to hist[0]. */
  private pos: number;
  private out: Int16Array = new Int16Array(0);
  /** Address of this design's Float32 bank inside the wasm instance (-1: the JavaScript loop is used). */
  private readonly wasmBank: number = -1;

  constructor(readonly inRate: number, readonly outRate: number, opts: ResamplerOptions = {}) {
    if (!(inRate > 0 && outRate > 0 && Number.isInteger(inRate) && Number.isInteger(outRate)))
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `resampler: bad rates ${inRate} → ${outRate}`);
    const g = gcd(inRate, outRate);
    this.L = outRate / g;
    this.M = inRate / g;
    this.channels = opts.channels ?? 1;
    // when decimating the filter must span as many output periods as when interpolating: scale with M/L
    this.taps = opts.taps ?? Math.ceil(32 * Math.max(1, this.M / this.L));
    this.bank = this.L === 1 && this.M === 1 ? [] : designBank(this.L, this.M, this.taps, opts.cutoff ?? 0.9, opts.beta ?? 8.5);
    this.flat = new Float64Array(this.bank.length * this.taps);
    this.bank.forEach((ph, p) => this.flat.set(ph, p * this.taps));
    this.hist = [];
    for (let c = 0; c < this.channels; c++) this.hist.push(new Float32Array(this.taps + 4096));
    this.histLen = this.taps - 1; // start with zeros as context
    this.pos = 0;
    const w = this.bank.length > 0 && this.taps <= 4096 && opts.simd !== false ? getWasmFir() : null;
    if (w) {
      const key = `${this.L}/${this.M}/${this.taps}/${opts.cutoff ?? 0.9}/${opts.beta ?? 8.5}`;
      let ptr = w.banks.get(key);
      if (ptr === undefined) {
        ptr = w.h.allocBytes(this.bank.length * this.taps * 4);
        const dst = new Float32Array(w.h.u8.buffer, ptr, this.bank.length * this.taps);
        this.bank.forEach((ph, p) => dst.set(ph, p * this.taps));
        w.banks.set(key, ptr);
      }
      this.wasmBank = ptr;
    }
  }

  /** Samples per channel that `process` returns for `n` input samples per channel from the current state. */
  outputLength(n: number): number {
    if (this.L === 1 && this.M === 1) return n;
    const avail = this.histLen + n - (this.taps - 1); // number of valid filter end positions
    if (avail <= 0) return 0;
    // outputs with floor(pos/L) < avail
    return Math.max(0, Math.ceil((avail * this.L - this.pos) / this.M));
  }

  /**
   * Resamples interleaved PCM. The returned array is reused by the next call. Works for any input length; the
   * total output tracks the exact ratio over time.
   */
  process(input: Int16Array): Int16Array {
    const ch = this.channels;
    const n = Math.floor(input.length / ch);
    if (this.L === 1 && this.M === 1) return input;
    const outN = this.outputLength(n);
    if (this.out.length < outN * ch) this.out = new Int16Array(outN * ch);
    const out = this.out.subarray(0, outN * ch);
    const need = this.histLen + n;
    if (this.hist[0]!.length < need) {
      this.hist = this.hist.map((h) => {
        const g = new Float32Array(need * 2);
        g.set(h.subarray(0, this.histLen));
        return g;
      });
    }
    for (let c = 0; c < ch; c++) {
      const h = this.hist[c]!;
      for (let i = 0; i < n; i++) h[this.histLen + i] = input[i * ch + c]!;
    }
    const taps = this.taps;
    const L = this.L;
    const M = this.M;
    let pos = this.pos;
    const bank = this.bank;
    if (this.wasmBank >= 0) {
      pos = this.firWasm(out, outN, pos);
    } else if (ch === 1) {
      // mono fast path: everything in locals so the JIT keeps the inner loop tight
      const h = this.hist[0]!;
      const flat = this.flat;
      let base = Math.floor(pos / L);
      let phase = pos - base * L;
      const t4 = taps & ~3;
      for (let o = 0; o < outN; o++) {
        const po = phase * taps;
        // four independent sums: the loop runs at multiply-add throughput instead of one addition's latency
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        let k = 0;
        for (; k < t4; k += 4) {
          a0 += flat[po + k]! * h[base + k]!;
          a1 += flat[po + k + 1]! * h[base + k + 1]!;
          a2 += flat[po + k + 2]! * h[base + k + 2]!;
          a3 += flat[po + k + 3]! * h[base + k + 3]!;
        }
        for (; k < taps; k++) a0 += flat[po + k]! * h[base + k]!;
        const v = Math.round(a0 + a1 + (a2 + a3));
        out[o] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        phase += M;
        while (phase >= L) {
          phase -= L;
          base++;
        }
      }
      pos = base * L + phase;
    } else {
      for (let o = 0; o < outN; o++) {
        const base = Math.floor(pos / L);
        const ph = bank[pos - base * L]!;
        for (let c = 0; c < ch; c++) {
          const h = this.hist[c]!;
          let acc = 0;
          for (let k = 0; k < taps; k++) acc += ph[k]! * h[base + k]!;
          const v = Math.round(acc);
          out[o * ch + c] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
        pos += M;
      }
    }
    // drop consumed input, keep taps-1 samples of context before the next output's window
    const consumed = Math.min(Math.floor(pos / L), need);
    const keep = need - consumed;
    for (let c = 0; c < ch; c++) {
      const h = this.hist[c]!;
      h.copyWithin(0, consumed, need);
    }
    this.histLen = keep;
    this.pos = pos - consumed * L;
    return out;
  }

  /** The FIR through resample.wasm, in chunks that fit the scratch area; returns the advanced phase position. */
  private firWasm(out: Int16Array, outN: number, pos: number): number {
    const w = wasmFir!;
    const h = w.h;
    if (w.gen !== h.generation) {
      w.f32 = new Float32Array(h.u8.buffer, h.scratchPtr, HIST_FLOATS);
      w.i16 = new Int16Array(h.u8.buffer, h.scratchPtr + HIST_FLOATS * 4, OUT_SAMPLES);
      w.gen = h.generation;
    }
    const { L, M, taps, channels: ch } = this;
    const maxCnt = Math.max(1, Math.min(OUT_SAMPLES, Math.floor(((HIST_FLOATS - taps - 1) * L) / M)));
    const outPtr = h.scratchPtr + HIST_FLOATS * 4;
    for (let o = 0; o < outN; ) {
      const cnt = Math.min(outN - o, maxCnt);
      const base = Math.floor(pos / L);
      const phase = pos - base * L;
      const span = Math.floor((pos + (cnt - 1) * M) / L) - base + taps;
      for (let c = 0; c < ch; c++) {
        w.f32.set(this.hist[c]!.subarray(base, base + span));
        w.fir(h.scratchPtr, 0, phase, L, M, taps, this.wasmBank, cnt, outPtr);
        if (ch === 1) out.set(w.i16.subarray(0, cnt), o);
        else for (let i = 0; i < cnt; i++) out[(o + i) * ch + c] = w.i16[i]!;
      }
      pos += cnt * M;
      o += cnt;
    }
    return pos;
  }

  reset(): void {
    for (const h of this.hist) h.fill(0);
    this.histLen = this.taps - 1;
    this.pos = 0;
  }
}

/** Interleaved stereo → mono (average). Writes into `out` when given (length ≥ n/2). */
export function stereoToMono(pcm: Int16Array, out?: Int16Array): Int16Array {
  const n = pcm.length >> 1;
  const o = out && out.length >= n ? out.subarray(0, n) : new Int16Array(n);
  for (let i = 0; i < n; i++) o[i] = (pcm[2 * i]! + pcm[2 * i + 1]!) >> 1;
  return o;
}

/** Mono → interleaved stereo (duplicate). Writes into `out` when given (length ≥ 2n). */
export function monoToStereo(pcm: Int16Array, out?: Int16Array): Int16Array {
  const n = pcm.length;
  const o = out && out.length >= 2 * n ? out.subarray(0, 2 * n) : new Int16Array(2 * n);
  for (let i = 0; i < n; i++) o[2 * i] = o[2 * i + 1] = pcm[i]!;
  return o;
}
