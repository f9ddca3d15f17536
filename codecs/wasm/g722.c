/*
 * ITU-T G.722 (09/2012) 64 kbit/s sub-band ADPCM, mode 1 (6 bits lower band + 2 bits upper band per 16 kHz
 * sample pair), written for Dragon PBX from the block descriptions of the Recommendation (clause 3 encoder,
 * clause 4 decoder, clause 6 block-by-block description). Block names in comments are the Recommendation's.
 *
 * Freestanding C: no libc, compiled to wasm32 by scripts/build-codecs.sh. All state lives in a caller-owned
 * struct so one wasm instance serves any number of encoders/decoders.
 *
 * Sample scaling: the Recommendation's QMF takes 14-bit uniform PCM. Like the usual 16-bit interfaces we feed
 * 16-bit samples to the transmit QMF and shift its output by 14 (so the sub-band signals get one bit less
 * headroom than the ITU 14-bit scaling); the receive QMF output is shifted by 11 and saturated to 16 bits.
 *
 * Speed (compiled with -O3 -msimd128): the six-tap zero predictor (UPZERO, DELAYA, FILTEZ) of each band runs on
 * two SIMD vectors, the 24-tap QMFs are three 16-bit dot products per output, QUANTL compares the difference with
 * all its decision levels at once, and SCALEL/SCALEH are one table look-up. Every operation keeps the
 * Recommendation's integer arithmetic (same truncations, same saturations), so the output is bit-identical to
 * the plain scalar form (test/codecs/g722.test.ts checks against ffmpeg).
 */

#include <wasm_simd128.h> /* clang's own header (freestanding): WebAssembly SIMD128 intrinsics */

typedef int int32;
typedef short int16;
typedef unsigned char uint8;

/*
 * QMF coefficients (Table 11) scaled by 2^13: H(0..11) = 3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53,
 * -11. The 24-tap filter is symmetric (h(i) = h(23-i)), so the odd taps h(2i+1) are the even taps h(2i) in reverse
 * order and the polyphase form needs only H(i) = h(2i). Below they are interleaved for 16-bit dot products over 24
 * consecutive values x[0..23]: sum(x[2i] H(i)) + sum(x[2i+1] H(11-i)) with QMF_SUM, the odd part minus the even
 * part with QMF_DIF, and each part alone with QMF_EVN (x[2i] H(i)) and QMF_ODD (x[2i+1] H(11-i)).
 */
static const int16 QMF_SUM[24] __attribute__((aligned(16))) = {3,   -11, -11, 53,   12,   -156, 32,  362,
                                                            -210, -805, 951, 3876, 3876, 951, -805, -210,
                                                            362, 32,   -156, 12,  53,  -11,  -11, 3};
static const int16 QMF_DIF[24] __attribute__((aligned(16))) = {-3,  -11, 11,  53,   -12,  -156, -32, 362,
                                                            210, -805, -951, 3876, -3876, 951, 805, -210,
                                                            -362, 32,  156, 12,  -53, -11,  11,  3};
static const int16 QMF_EVN[24] __attribute__((aligned(16))) = {3,    0, -11, 0, 12,  0, 32,  0, -210, 0, 951, 0,
                                                            3876, 0, -805, 0, 362, 0, -156, 0, 53,  0, -11, 0};
static const int16 QMF_ODD[24] __attribute__((aligned(16))) = {0, -11, 0, 53,  0, -156, 0, 362, 0, -805, 0, 3876,
                                                            0, 951, 0, -210, 0, 32,  0, 12,  0, -11, 0, 3};

/* QUANTL output codes for negative (ILN) and positive (ILP) differences, indexed by mil (Table 7). */
static const int32 ILN[31] = {0,  63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
                              18, 17, 16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4};
static const int32 ILP[31] = {0,  61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
                              46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32};
/* INVQAL: 4-bit inverse quantiser outputs QM4 indexed by the 4-bit code ILT (Table 9). */
static const int32 QM4[16] = {0,    -20456, -12896, -8968, -6288, -4240, -2584, -1200,
                              20456, 12896, 8968,   6288,  4240,  2584,  1200,  0};
/* INVQBL: 6-bit inverse quantiser outputs QM6 indexed by the 6-bit code ILR (Table 10). */
static const int32 QM6[64] = {
    -136,  -136,  -136,  -136,  -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576,  -6000,  -5456,  -4944,  -4464,  -4008,  -3576,  -3168,  -2776,
    -2400, -2032, -1688, -1360, -1040,  -728,   24808,  21904,  19008,  16704,  14984,  13512,  12280,
    11192, 10232, 9360,  8576,  7856,   7192,   6576,   6000,   5456,   4944,   4464,   4008,   3576,
    3168,  2776,  2400,  2032,  1688,   1360,   1040,   728,    432,    136,    -432,   -136};
/* Upper band: INVQAH outputs QM2, LOGSCH RH2 and WH (Tables 13-14). */
static const int32 QM2[4] = {-7408, -1616, 7408, 1616};
static const int32 RH2[4] = {2, 1, 2, 1};
static const int32 WH[3] = {0, -214, 798};
/* SCALEL/SCALEH: ILA2, 2^11 * 2^(i/32) rounded (Table 15). */
static const int32 ILA2[32] = {2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543,
                               2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228,
                               3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008};

/* QUANTL decision levels Q6 (Table 7) for mil = 1..29, padded with 32767 to 32 entries (index 0 unused). */
static const int32 Q6P[32] __attribute__((aligned(16))) = {
    0,   35,  72,  110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
    786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 32767, 32767};

/*
 * State of one sub-band's adaptive predictor and quantiser scale (same layout for both bands). The zero section
 * lives in two vectors of four 32-bit lanes: B1..B4 | B5 B6 0 0 and the matching delayed differences, stored
 * already doubled and saturated as FILTEZ uses them (sat16(DLT + DLT) has DLT's sign, which is all UPZERO needs).
 * Lanes 6 and 7 stay zero. Of R and P only what is used later is kept: sat16(2R) for FILTEP, P's signs for UPPOL.
 */
typedef struct {
  v128_t b0, b1;  /* zero coefficients B1..B4 | B5 B6 0 0 */
  v128_t dd0, dd1; /* sat16(2 DLT(n-1..n-4)) | sat16(2 DLT(n-5..n-6)) 0 0 */
  int32 s;        /* predictor output SL / SH */
  int32 sz;       /* zero-section output SZL / SZH */
  int32 rd1, rd2; /* sat16(2 R(n-1)), sat16(2 R(n-2)) */
  int32 sg1, sg2; /* signs (0 / -1) of P(n-1), P(n-2) */
  int32 a1, a2;   /* pole coefficients A1, A2 */
  int32 nb;       /* log scale factor NBL / NBH */
  int32 det;      /* scale factor DETL / DETH */
  int32 pad[2];
} band_t;

typedef struct {
  band_t band[2]; /* [0] lower, [1] upper */
  int16 x[24];    /* QMF delay line: the last 22 input samples (encoder) or sub-band sums (decoder) in x[0..21] */
  int32 hi_still; /* g722_encode_nb: the upper band (silent input) reached its fixed point ... */
  int32 hi_code;  /* ... and emits this code forever */
  int32 pad[2];
} g722_t;

/* Samples per block of the local QMF window (even). */
#define QBLK 320

/* SCALEL / SCALEH as one look-up: DET = (ILA2[(NB >> 6) & 31] shifted by 8 - (NB >> 11), resp. 10 - ...) << 2,
 * a function of NB >> 6 alone (NBL <= 18432, NBH <= 22528). Filled on first reset. */
static int32 DETL[18432 / 64 + 1], DETH[22528 / 64 + 1];
static int16 QLEV[18432 / 64 + 1][32] __attribute__((aligned(16))); /* see quantl() */

static int32 sat16(int32 v) { return v > 32767 ? 32767 : (v < -32768 ? -32768 : v); }

int g722_state_size(void) { return (int)sizeof(g722_t); }

static int32 scale_of(int32 i, int32 top) {
  int32 wd2 = top - (i >> 5);
  int32 wd3 = (wd2 < 0) ? (ILA2[i & 31] << -wd2) : (ILA2[i & 31] >> wd2);
  return wd3 << 2;
}

void g722_reset(g722_t *st) {
  uint8 *p = (uint8 *)st;
  for (unsigned i = 0; i < sizeof(g722_t); i++) p[i] = 0;
  st->band[0].det = 32; /* DETL initial value (clause 6.2.1.3) */
  st->band[1].det = 8;  /* DETH initial value */
  if (DETL[0] == 0) {
    for (int32 i = 0; i <= 18432 / 64; i++) DETL[i] = scale_of(i, 8);
    for (int32 i = 0; i <= 22528 / 64; i++) DETH[i] = scale_of(i, 10);
    for (int32 i = 0; i <= 18432 / 64; i++)
      for (int k = 0; k < 32; k++) {
        int32 v = (Q6P[k] * DETL[i]) >> 12;
        QLEV[i][k] = (int16)(v > 32767 ? 32767 : v);
      }
  }
}

/* Blocks 4L / 4H: RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC. */
static inline __attribute__((always_inline)) void adapt_predictor(band_t *b, int32 dq) {
  /* RECONS: R = S + DQ; PARREC: P = SZ + DQ (only its sign is used) */
  int32 r0 = sat16(b->s + dq);
  int32 sg0 = sat16(b->sz + dq) >> 15;
  int32 sg1 = b->sg1, sg2 = b->sg2, a1 = b->a1;

  /* UPPOL2: A2 update from the signs of P(n), P(n-1), P(n-2) */
  int32 wd1 = sat16(a1 * 4);
  int32 wd2 = (sg0 == sg1) ? -wd1 : wd1;
  if (wd2 > 32767) wd2 = 32767;
  int32 apl2 = (wd2 >> 7) + ((sg0 == sg2) ? 128 : -128) + ((b->a2 * 32512) >> 15);
  if (apl2 > 12288) apl2 = 12288;
  if (apl2 < -12288) apl2 = -12288;

  /* UPPOL1: A1 update, limited to +-(15360 - A2) (15360 - A2 needs no saturation: |A2| <= 12288) */
  int32 apl1 = sat16(((sg0 == sg1) ? 192 : -192) + ((a1 * 32640) >> 15));
  int32 lim = 15360 - apl2;
  if (apl1 > lim) apl1 = lim;
  if (apl1 < -lim) apl1 = -lim;

  /* UPZERO: B(i) = B(i) (1 - 2^-8) +- 2^-7 (sign-sign; 0 when DQ = 0). The saturation of the Recommendation
   * never acts: |B| <= 32768 - 128 before the increment keeps the result in [-32768, 32767]. */
  v128_t vdq = wasm_i32x4_splat(dq);
  v128_t w = wasm_i32x4_splat(dq == 0 ? 0 : 128);
  v128_t m0 = wasm_i32x4_shr(wasm_v128_xor(b->dd0, vdq), 31); /* -1 where the signs differ */
  v128_t m1 = wasm_i32x4_shr(wasm_v128_xor(b->dd1, vdq), 31);
  v128_t w0 = wasm_i32x4_sub(wasm_v128_xor(w, m0), m0);
  v128_t w1 = wasm_v128_and(wasm_i32x4_sub(wasm_v128_xor(w, m1), m1), wasm_i32x4_const(-1, -1, 0, 0));
  const v128_t leak = wasm_i32x4_const(32640, 32640, 32640, 32640);
  v128_t b0 = wasm_i32x4_add(wasm_i32x4_shr(wasm_i32x4_mul(b->b0, leak), 15), w0);
  v128_t b1 = wasm_i32x4_add(wasm_i32x4_shr(wasm_i32x4_mul(b->b1, leak), 15), w1);

  /* DELAYA: DLT(n) enters the delay line (doubled and saturated, as FILTEZ takes it) */
  v128_t dd0 = wasm_i32x4_shuffle(b->dd0, wasm_i32x4_splat(sat16(dq + dq)), 4, 0, 1, 2);
  v128_t dd1 = wasm_i32x4_shuffle(b->dd0, b->dd1, 3, 4, 6, 7);
  b->b0 = b0;
  b->b1 = b1;
  b->dd0 = dd0;
  b->dd1 = dd1;

  /* FILTEZ: sum of (B(i) * 2 DLT) >> 15 */
  v128_t z = wasm_i32x4_add(wasm_i32x4_shr(wasm_i32x4_mul(b0, dd0), 15), wasm_i32x4_shr(wasm_i32x4_mul(b1, dd1), 15));
  z = wasm_i32x4_add(z, wasm_i32x4_shuffle(z, z, 2, 3, 0, 1));
  z = wasm_i32x4_add(z, wasm_i32x4_shuffle(z, z, 1, 0, 3, 2));
  int32 sz = sat16(wasm_i32x4_extract_lane(z, 0));

  /* FILTEP: pole section on R(n), R(n-1) */
  int32 rd1 = sat16(r0 + r0);
  int32 sp = sat16(((apl1 * rd1) >> 15) + ((apl2 * b->rd1) >> 15));

  b->rd2 = b->rd1;
  b->rd1 = rd1;
  b->sg2 = sg1;
  b->sg1 = sg0;
  b->a1 = apl1;
  b->a2 = apl2;
  b->sz = sz;
  /* PREDIC */
  b->s = sat16(sp + sz);
}

/* LOGSCL: RIL → log-scale increment WL[RL42[ILT]] (Table 12), indexed by the 4-bit code directly. */
static const int32 WLI[16] = {-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60};

/* Lower band after quantisation: INVQAL on the 4-bit truncated code drives the predictor (embedded property);
 * LOGSCL + SCALEL. */
static inline __attribute__((always_inline)) void update_low(band_t *b, int32 il) {
  int32 ilt = il >> 2;
  int32 dlt = (b->det * QM4[ilt]) >> 15;
  int32 nb = ((b->nb * 32512) >> 15) + WLI[ilt];
  if (nb < 0) nb = 0;
  if (nb > 18432) nb = 18432;
  b->nb = nb;
  b->det = DETL[nb >> 6];
  adapt_predictor(b, dlt);
}

/* Upper band: INVQAH, LOGSCH + SCALEH */
static inline __attribute__((always_inline)) void update_high(band_t *b, int32 ih) {
  int32 dh = (b->det * QM2[ih]) >> 15;
  int32 nb = ((b->nb * 32512) >> 15) + WH[RH2[ih]];
  if (nb < 0) nb = 0;
  if (nb > 22528) nb = 22528;
  b->nb = nb;
  b->det = DETH[nb >> 6];
  adapt_predictor(b, dh);
}

/*
 * QUANTL: mil = the first index in 1..29 whose decision level Q6[mil] * DETL exceeds wd, else 30 — the
 * Recommendation's sequential comparison. The levels grow with mil, so mil - 1 = the number of levels 1..29 that
 * wd reaches. DETL is a function of NBL >> 6, so the scaled levels (Q6[mil] * DETL) >> 12 are tabulated per
 * NBL >> 6 (QLEV, filled on first reset; levels 1..29 stay below 22852, so 16 bits hold them) and wd is compared
 * with all 32 entries (level 0 and the 32767 padding included) at once; the count is capped at 29.
 */
static inline __attribute__((always_inline)) int32 quantl(int32 el, int32 wd, int32 nb) {
  const v128_t *q = (const v128_t *)QLEV[nb >> 6];
  v128_t vwd = wasm_i16x8_splat((int16)wd); /* 0 <= wd <= 32767 */
  v128_t n = wasm_i16x8_add(wasm_i16x8_ge(vwd, q[0]), wasm_i16x8_ge(vwd, q[1]));
  n = wasm_i16x8_add(n, wasm_i16x8_add(wasm_i16x8_ge(vwd, q[2]), wasm_i16x8_ge(vwd, q[3])));
  v128_t c = wasm_i32x4_extadd_pairwise_i16x8(n); /* -1 per level reached, level 0 (threshold 0) included */
  c = wasm_i32x4_add(c, wasm_i32x4_shuffle(c, c, 2, 3, 0, 1));
  c = wasm_i32x4_add(c, wasm_i32x4_shuffle(c, c, 1, 0, 3, 2));
  int32 m = -wasm_i32x4_extract_lane(c, 0) - 1;
  int32 mil = (m > 29 ? 29 : m) + 1;
  return (el < 0) ? ILN[mil] : ILP[mil];
}

/* SUBTH + QUANTH: upper band 2-bit code */
static inline __attribute__((always_inline)) int32 quanth(int32 xh, const band_t *hi) {
  int32 eh = sat16(xh - hi->s);
  int32 wd = (eh >= 0) ? eh : -(eh + 1);
  int32 mih = (wd >= ((564 * hi->det) >> 12)) ? 2 : 1;
  return (eh < 0) ? (mih == 1 ? 1 : 0) : (mih == 1 ? 3 : 2);
}

/* Sum of the four 32-bit lanes of a and of b: returns (sum a, sum b) in lanes 0 and 2. */
static inline __attribute__((always_inline)) v128_t hsum2(v128_t a, v128_t b) {
  v128_t t = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 1, 4, 5), wasm_i32x4_shuffle(a, b, 2, 3, 6, 7));
  return wasm_i32x4_add(t, wasm_i32x4_shuffle(t, t, 1, 0, 3, 2));
}

/* 24-tap dot product of x[0..23] with c[0..23] (16-bit, exact 32-bit sums) as four partial lanes. */
static inline __attribute__((always_inline)) v128_t dot24(const int16 *x, const int16 *c) {
  v128_t s = wasm_i32x4_dot_i16x8(wasm_v128_load(x), wasm_v128_load(c));
  s = wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(wasm_v128_load(x + 8), wasm_v128_load(c + 8)));
  return wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(wasm_v128_load(x + 16), wasm_v128_load(c + 16)));
}

static void load_band(band_t *to, const band_t *from) { *to = *from; }

/*
 * Encode n 16 kHz samples (n even) into n/2 bytes, each (IH << 6) | IL.
 */
void g722_encode(g722_t *st, const int16 *in, int n, uint8 *out) {
  band_t lo, hi;
  load_band(&lo, &st->band[0]);
  load_band(&hi, &st->band[1]);
  st->hi_still = 0;
  /* Transmit QMF over a local window: 22 samples of history then up to QBLK new ones, so the delay line is
   * shifted once per block instead of once per sample pair. Pair j uses the 24 samples ending at in[j + 1]. */
  int16 h[22 + QBLK] __attribute__((aligned(16)));
  for (int i = 0; i < 22; i++) h[i] = st->x[i];
  for (int j0 = 0; j0 + 1 < n; j0 += QBLK) {
    int m = n - j0 < QBLK ? (n - j0) & ~1 : QBLK;
    for (int k = 0; k < m; k++) h[22 + k] = in[j0 + k];
    for (int k = 0; k < m; k += 2) {
      /* xl = (sum_even + sum_odd) >> 14, xh = (sum_even - sum_odd) >> 14 */
      v128_t t = hsum2(dot24(&h[k], QMF_SUM), dot24(&h[k], QMF_DIF));
      int32 xl = wasm_i32x4_extract_lane(t, 0) >> 14;
      int32 xh = wasm_i32x4_extract_lane(t, 2) >> 14;

      /* SUBTL + QUANTL */
      int32 el = sat16(xl - lo.s);
      int32 wd = (el >= 0) ? el : -(el + 1);
      int32 il = quantl(el, wd, lo.nb);
      /* SUBTH + QUANTH */
      int32 ih = quanth(xh, &hi);

      update_low(&lo, il);
      update_high(&hi, ih);
      out[(j0 + k) >> 1] = (uint8)((ih << 6) | il);
    }
    for (int i = 0; i < 22; i++) h[i] = h[m + i];
  }
  for (int i = 0; i < 22; i++) st->x[i] = h[i];
  st->band[0] = lo;
  st->band[1] = hi;
}

/*
 * Decode n bytes into 2n 16 kHz samples (mode 1: 6-bit lower band).
 */
void g722_decode(g722_t *st, const uint8 *in, int n, int16 *out) {
  band_t lo, hi;
  load_band(&lo, &st->band[0]);
  load_band(&hi, &st->band[1]);
  /* Receive QMF over a local window, as in the encoder: 22 values of history, then two per decoded byte. RL + RH
   * and RL - RH fit 16 bits (both are limited to [-16384, 16383]). */
  int16 h[22 + QBLK] __attribute__((aligned(16)));
  for (int i = 0; i < 22; i++) h[i] = st->x[i];
  for (int j0 = 0; j0 < n; j0 += QBLK / 2) {
    int m = n - j0 < QBLK / 2 ? n - j0 : QBLK / 2;
    for (int k = 0; k < m; k++) {
      int32 ilr = in[j0 + k] & 63;
      int32 ih = in[j0 + k] >> 6;
      /* INVQBL (6-bit) + RECONS, limited to 15 bits (LIMIT block) */
      int32 dl = (lo.det * QM6[ilr]) >> 15;
      int32 rl = lo.s + dl;
      if (rl > 16383) rl = 16383;
      if (rl < -16384) rl = -16384;
      /* INVQAH + RECONS */
      int32 dh = (hi.det * QM2[ih]) >> 15;
      int32 rh = hi.s + dh;
      if (rh > 16383) rh = 16383;
      if (rh < -16384) rh = -16384;

      update_low(&lo, ilr);
      update_high(&hi, ih);

      /* Receive QMF: interpolate by two (xout2 = sum x[2i] H(i), xout1 = sum x[2i+1] H(11-i)) */
      h[22 + 2 * k] = (int16)(rl + rh);
      h[23 + 2 * k] = (int16)(rl - rh);
      v128_t t = hsum2(dot24(&h[2 * k], QMF_ODD), dot24(&h[2 * k], QMF_EVN));
      out[2 * (j0 + k)] = (int16)sat16(wasm_i32x4_extract_lane(t, 0) >> 11);
      out[2 * (j0 + k) + 1] = (int16)sat16(wasm_i32x4_extract_lane(t, 2) >> 11);
    }
    for (int i = 0; i < 22; i++) h[i] = h[2 * m + i];
  }
  for (int i = 0; i < 22; i++) st->x[i] = h[i];
  st->band[0] = lo;
  st->band[1] = hi;
}

/*
 * Narrow-band shortcuts for transcoding to and from 8 kHz codecs (not part of the Recommendation's interfaces,
 * deliberately): the transmit QMF splits 0-8 kHz into a lower band that IS the 0-4 kHz signal decimated to 8 kHz
 * (at half amplitude: the filter's DC gain is 2^13 and its output is shifted by 14) and an upper band. When the
 * source is 8 kHz audio there is nothing above 4 kHz, so the QMF and the 8 -> 16 kHz resampler are skipped: each
 * 8 kHz sample, halved, is the lower-band input and the upper band encodes silence. The bit stream is ordinary
 * G.722 (any decoder plays it). Likewise the decoder can stop at the lower band's reconstructed signal RL and
 * give it, doubled, as 8 kHz output, skipping the receive QMF, the upper band and the 16 -> 8 kHz resampler.
 */
#define BAND_WORDS (sizeof(band_t) / sizeof(int32))

static int same_band(const band_t *a, const band_t *b) {
  const int32 *p = (const int32 *)a, *q = (const int32 *)b;
  for (unsigned i = 0; i < BAND_WORDS; i++)
    if (p[i] != q[i]) return 0;
  return 1;
}

void g722_encode_nb(g722_t *st, const int16 *in, int n, uint8 *out) {
  band_t lo;
  load_band(&lo, &st->band[0]);
  band_t *hi = &st->band[1];
  for (int j = 0; j < n; j++) {
    int32 xl = in[j] >> 1;
    int32 el = sat16(xl - lo.s);
    int32 wd = (el >= 0) ? el : -(el + 1);
    int32 il = quantl(el, wd, lo.nb);
    update_low(&lo, il);
    int32 ih;
    if (st->hi_still) {
      ih = st->hi_code;
    } else {
      /* The upper band's input is 0, so its next state depends on its state alone: once one update leaves the
       * state unchanged it never changes again (from reset that happens after ~220 samples) and the code is
       * constant. Skipping its updates from then on is exact, not an approximation. */
      band_t before = *hi;
      ih = quanth(0, hi);
      update_high(hi, ih);
      if (same_band(&before, hi)) {
        st->hi_still = 1;
        st->hi_code = ih;
      }
    }
    out[j] = (uint8)((ih << 6) | il);
  }
  st->band[0] = lo;
}

void g722_decode_nb(g722_t *st, const uint8 *in, int n, int16 *out) {
  band_t lo;
  load_band(&lo, &st->band[0]);
  for (int j = 0; j < n; j++) {
    int32 ilr = in[j] & 63;
    int32 dl = (lo.det * QM6[ilr]) >> 15;
    int32 rl = lo.s + dl;
    if (rl > 16383) rl = 16383;
    if (rl < -16384) rl = -16384;
    update_low(&lo, ilr);
    out[j] = (int16)sat16(rl * 2);
  }
  st->band[0] = lo;
}
