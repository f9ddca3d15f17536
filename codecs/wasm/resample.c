/*
 * Inner loop of codecs/resampler.ts (rational polyphase FIR) for WebAssembly SIMD128: each output is the dot
 * product of one phase of the filter bank with `taps` consecutive history samples, four products per instruction.
 * Written for Dragon PBX; freestanding C compiled to wasm32 by scripts/build-codecs.sh. The history, the bank and
 * the output live in the caller's scratch memory; the phase accumulator stays in JavaScript (the caller advances
 * it with the same arithmetic).
 */
#include <wasm_simd128.h> /* clang's own header (freestanding) */

typedef short int16;

/* Output o uses phase p (p advances by M modulo L, the history base by the carries) and samples h[base..]. The
 * sum is rounded half up (like Math.round) and saturated to 16 bits. */
void rs_fir(const float *h, int base, int phase, int L, int M, int taps, const float *bank, int outN, int16 *out) {
  int t4 = taps & ~3;
  for (int o = 0; o < outN; o++) {
    const float *c = bank + phase * taps;
    const float *x = h + base;
    v128_t acc = wasm_f32x4_splat(0.0f);
    int k = 0;
    for (; k < t4; k += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(c + k), wasm_v128_load(x + k)));
    acc = wasm_f32x4_add(acc, wasm_i32x4_shuffle(acc, acc, 2, 3, 0, 1));
    acc = wasm_f32x4_add(acc, wasm_i32x4_shuffle(acc, acc, 1, 0, 3, 2));
    float s = wasm_f32x4_extract_lane(acc, 0);
    for (; k < taps; k++) s += c[k] * x[k];
    float r = __builtin_floorf(s + 0.5f);
    out[o] = (int16)(r > 32767.0f ? 32767 : (r < -32768.0f ? -32768 : (int)r));
    phase += M;
    while (phase >= L) {
      phase -= L;
      base++;
    }
  }
}

/* The loader wants a state size; the resampler keeps no state in wasm memory. */
int rs_state_size(void) { return 16; }
