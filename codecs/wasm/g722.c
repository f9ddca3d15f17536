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
 */

typedef int int32;
typedef short int16;
typedef unsigned char uint8;

/*
 * QMF coefficients (Table 11) scaled by 2^13. The 24-tap filter is symmetric (h(i) = h(23-i)), so the odd taps
 * h(2i+1) are the even taps h(2i) in reverse order: the polyphase form needs only E[i] = h(2i), i = 0..11.
 */
static const int32 QMF_H[12] = {3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11};

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
/* LOGSCL: RIL → magnitude index (RL42) and log-scale increments WL (Table 12). */
static const int32 RL42[16] = {0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0};
static const int32 WL[8] = {-60, -30, 58, 172, 334, 538, 1198, 3042};
/* Upper band: INVQAH outputs QM2, LOGSCH RH2 and WH (Tables 13-14). */
static const int32 QM2[4] = {-7408, -1616, 7408, 1616};
static const int32 RH2[4] = {2, 1, 2, 1};
static const int32 WH[3] = {0, -214, 798};
/* SCALEL/SCALEH: ILA2, 2^11 * 2^(i/32) rounded (Table 15). */
static const int32 ILA2[32] = {2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543,
                               2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228,
                               3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008};

/* State of one sub-band's adaptive predictor and quantiser scale (same layout for both bands). */
typedef struct {
  int32 s;      /* predictor output SL / SH */
  int32 sz;     /* zero-section output SZL / SZH */
  int32 r[3];   /* reconstructed signal R(n), R(n-1), R(n-2) */
  int32 p[3];   /* partially reconstructed signal P(n), P(n-1), P(n-2) */
  int32 a[3];   /* pole coefficients A1, A2 (index 1, 2) */
  int32 b[7];   /* zero coefficients B1..B6 */
  int32 d[7];   /* quantised difference DLT(n)..DLT(n-6) */
  int32 nb;     /* log scale factor NBL / NBH */
  int32 det;    /* scale factor DETL / DETH */
} band_t;

typedef struct {
  band_t band[2]; /* [0] lower, [1] upper */
  int32 x[24];    /* QMF delay line */
  int32 hi_still; /* g722_encode_nb: the upper band (silent input) reached its fixed point ... */
  int32 hi_code;  /* ... and emits this code forever */
} g722_t;

/* Samples per block of the local QMF window (even). */
#define QBLK 320

static int32 sat16(int32 v) { return v > 32767 ? 32767 : (v < -32768 ? -32768 : v); }

int g722_state_size(void) { return (int)sizeof(g722_t); }

void g722_reset(g722_t *st) {
  uint8 *p = (uint8 *)st;
  for (unsigned i = 0; i < sizeof(g722_t); i++) p[i] = 0;
  st->band[0].det = 32; /* DETL initial value (clause 6.2.1.3) */
  st->band[1].det = 8;  /* DETH initial value */
}

/* Blocks 4L / 4H: RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC. */
static void adapt_predictor(band_t *b, int32 dq) {
  int32 i, wd1, wd2, wd3, sg0, sg1, sg2, apl1, apl2;
  /* RECONS: R = S + DQ; PARREC: P = SZ + DQ */
  b->r[0] = sat16(b->s + dq);
  b->p[0] = sat16(b->sz + dq);

  /* UPPOL2: A2 update from the signs of P(n), P(n-1), P(n-2) */
  sg0 = b->p[0] >> 15;
  sg1 = b->p[1] >> 15;
  sg2 = b->p[2] >> 15;
  wd1 = sat16(b->a[1] * 4);
  wd2 = (sg0 == sg1) ? -wd1 : wd1;
  if (wd2 > 32767) wd2 = 32767;
  wd3 = (wd2 >> 7) + ((sg0 == sg2) ? 128 : -128);
  wd3 += (b->a[2] * 32512) >> 15;
  if (wd3 > 12288) wd3 = 12288;
  if (wd3 < -12288) wd3 = -12288;
  apl2 = wd3;

  /* UPPOL1: A1 update, limited to +-(15360 - A2) */
  wd1 = (sg0 == sg1) ? 192 : -192;
  wd2 = (b->a[1] * 32640) >> 15;
  apl1 = sat16(wd1 + wd2);
  wd3 = sat16(15360 - apl2);
  if (apl1 > wd3) apl1 = wd3;
  if (apl1 < -wd3) apl1 = -wd3;

  /* UPZERO: sign-sign update of B1..B6 */
  wd1 = (dq == 0) ? 0 : 128;
  sg0 = dq >> 15;
  for (i = 1; i < 7; i++) {
    int32 sgi = b->d[i] >> 15;
    wd2 = (sgi == sg0) ? wd1 : -wd1;
    wd3 = (b->b[i] * 32640) >> 15;
    b->b[i] = sat16(wd2 + wd3);
  }

  /* DELAYA */
  b->d[0] = dq;
  for (i = 6; i > 0; i--) b->d[i] = b->d[i - 1];
  b->r[2] = b->r[1];
  b->r[1] = b->r[0];
  b->p[2] = b->p[1];
  b->p[1] = b->p[0];
  b->a[1] = apl1;
  b->a[2] = apl2;

  /* FILTEP: pole section */
  wd1 = (b->a[1] * sat16(b->r[1] + b->r[1])) >> 15;
  wd2 = (b->a[2] * sat16(b->r[2] + b->r[2])) >> 15;
  int32 sp = sat16(wd1 + wd2);

  /* FILTEZ: zero section */
  int32 sz = 0;
  for (i = 6; i > 0; i--) sz += (b->b[i] * sat16(b->d[i] + b->d[i])) >> 15;
  b->sz = sat16(sz);

  /* PREDIC */
  b->s = sat16(sp + b->sz);
}

/* LOGSCL + SCALEL (lower band) */
static void adapt_scale_low(band_t *b, int32 ilt) {
  int32 nb = ((b->nb * 32512) >> 15) + WL[RL42[ilt]];
  if (nb < 0) nb = 0;
  if (nb > 18432) nb = 18432;
  b->nb = nb;
  int32 wd1 = (nb >> 6) & 31;
  int32 wd2 = 8 - (nb >> 11);
  int32 wd3 = (wd2 < 0) ? (ILA2[wd1] << -wd2) : (ILA2[wd1] >> wd2);
  b->det = wd3 << 2;
}

/* LOGSCH + SCALEH (upper band) */
static void adapt_scale_high(band_t *b, int32 ih) {
  int32 nb = ((b->nb * 32512) >> 15) + WH[RH2[ih]];
  if (nb < 0) nb = 0;
  if (nb > 22528) nb = 22528;
  b->nb = nb;
  int32 wd1 = (nb >> 6) & 31;
  int32 wd2 = 10 - (nb >> 11);
  int32 wd3 = (wd2 < 0) ? (ILA2[wd1] << -wd2) : (ILA2[wd1] >> wd2);
  b->det = wd3 << 2;
}

/* Lower band after quantisation: INVQAL on the 4-bit truncated code drives the predictor (embedded property). */
static void update_low(band_t *b, int32 il) {
  int32 ilt = il >> 2;
  int32 dlt = (b->det * QM4[ilt]) >> 15;
  adapt_scale_low(b, ilt);
  adapt_predictor(b, dlt);
}

static void update_high(band_t *b, int32 ih) {
  int32 dh = (b->det * QM2[ih]) >> 15;
  adapt_scale_high(b, ih);
  adapt_predictor(b, dh);
}

/*
 * QUANTL: mil = the first index in 1..29 whose decision level Q6[mil] * DETL exceeds wd, else 30 — the
 * Recommendation's sequential comparison. The levels grow with mil, so mil - 1 = the number of levels that wd
 * reaches, counted here by a branch-free binary search over Q6 padded to 32 entries (the padding only makes the
 * count overshoot past 29, which the final cap removes).
 */
/* QUANTL decision levels Q6 (Table 7) for mil = 1..29, padded to 32 entries. */
static const int32 Q6P[32] = {0,   35,  72,  110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
                              786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
                              32767, 32767};
static int32 quantl(int32 el, int32 wd, int32 det) {
  int32 m = 0;
  m += (wd >= ((Q6P[m + 16] * det) >> 12)) ? 16 : 0;
  m += (wd >= ((Q6P[m + 8] * det) >> 12)) ? 8 : 0;
  m += (wd >= ((Q6P[m + 4] * det) >> 12)) ? 4 : 0;
  m += (wd >= ((Q6P[m + 2] * det) >> 12)) ? 2 : 0;
  m += (wd >= ((Q6P[m + 1] * det) >> 12)) ? 1 : 0;
  int32 mil = (m > 29 ? 29 : m) + 1;
  return (el < 0) ? ILN[mil] : ILP[mil];
}

/* SUBTH + QUANTH: upper band 2-bit code */
static int32 quanth(int32 xh, const band_t *hi) {
  int32 eh = sat16(xh - hi->s);
  int32 wd = (eh >= 0) ? eh : -(eh + 1);
  int32 mih = (wd >= ((564 * hi->det) >> 12)) ? 2 : 1;
  return (eh < 0) ? (mih == 1 ? 1 : 0) : (mih == 1 ? 3 : 2);
}

/*
 * Encode n 16 kHz samples (n even) into n/2 bytes, each (IH << 6) | IL.
 */
void g722_encode(g722_t *st, const int16 *in, int n, uint8 *out) {
  band_t *lo = &st->band[0], *hi = &st->band[1];
  st->hi_still = 0;
  /* Transmit QMF over a local window: 22 samples of history then up to QBLK new ones, so the delay line is
   * shifted once per block instead of once per sample pair. Pair j uses the 24 samples ending at in[j + 1]. */
  int32 h[22 + QBLK];
  for (int i = 0; i < 22; i++) h[i] = st->x[i + 2];
  for (int j0 = 0; j0 + 1 < n; j0 += QBLK) {
    int m = n - j0 < QBLK ? (n - j0) & ~1 : QBLK;
    for (int k = 0; k < m; k++) h[22 + k] = in[j0 + k];
    for (int k = 0; k < m; k += 2) {
      const int32 *x = &h[k];
      int32 sum_odd = 0, sum_even = 0;
      for (int i = 0; i < 12; i++) {
        sum_odd += x[2 * i] * QMF_H[i];
        sum_even += x[2 * i + 1] * QMF_H[11 - i];
      }
      int32 xl = (sum_even + sum_odd) >> 14;
      int32 xh = (sum_even - sum_odd) >> 14;

      /* SUBTL + QUANTL */
      int32 el = sat16(xl - lo->s);
      int32 wd = (el >= 0) ? el : -(el + 1);
      int32 il = quantl(el, wd, lo->det);
      /* SUBTH + QUANTH */
      int32 ih = quanth(xh, hi);

      update_low(lo, il);
      update_high(hi, ih);
      out[(j0 + k) >> 1] = (uint8)((ih << 6) | il);
    }
    for (int i = 0; i < 22; i++) h[i] = h[m + i];
  }
  for (int i = 0; i < 22; i++) st->x[i + 2] = h[i];
}

/*
 * Decode n bytes into 2n 16 kHz samples (mode 1: 6-bit lower band).
 */
void g722_decode(g722_t *st, const uint8 *in, int n, int16 *out) {
  band_t *lo = &st->band[0], *hi = &st->band[1];
  /* Receive QMF over a local window, as in the encoder: 22 values of history, then two per decoded byte. */
  int32 h[22 + QBLK];
  for (int i = 0; i < 22; i++) h[i] = st->x[i + 2];
  for (int j0 = 0; j0 < n; j0 += QBLK / 2) {
    int m = n - j0 < QBLK / 2 ? n - j0 : QBLK / 2;
    for (int k = 0; k < m; k++) {
      int32 ilr = in[j0 + k] & 63;
      int32 ih = in[j0 + k] >> 6;
      /* INVQBL (6-bit) + RECONS, limited to 15 bits (LIMIT block) */
      int32 dl = (lo->det * QM6[ilr]) >> 15;
      int32 rl = lo->s + dl;
      if (rl > 16383) rl = 16383;
      if (rl < -16384) rl = -16384;
      /* INVQAH + RECONS */
      int32 dh = (hi->det * QM2[ih]) >> 15;
      int32 rh = hi->s + dh;
      if (rh > 16383) rh = 16383;
      if (rh < -16384) rh = -16384;

      update_low(lo, ilr);
      update_high(hi, ih);

      /* Receive QMF: interpolate by two */
      h[22 + 2 * k] = rl + rh;
      h[23 + 2 * k] = rl - rh;
      const int32 *x = &h[2 * k];
      int32 xout1 = 0, xout2 = 0;
      for (int i = 0; i < 12; i++) {
        xout2 += x[2 * i] * QMF_H[i];
        xout1 += x[2 * i + 1] * QMF_H[11 - i];
      }
      out[2 * (j0 + k)] = (int16)sat16(xout1 >> 11);
      out[2 * (j0 + k) + 1] = (int16)sat16(xout2 >> 11);
    }
    for (int i = 0; i < 22; i++) h[i] = h[2 * m + i];
  }
  for (int i = 0; i < 22; i++) st->x[i + 2] = h[i];
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

static void save_band(int32 *to, const band_t *b) {
  const int32 *p = (const int32 *)b;
  for (unsigned i = 0; i < BAND_WORDS; i++) to[i] = p[i];
}

static int same_band(const int32 *saved, const band_t *b) {
  const int32 *p = (const int32 *)b;
  for (unsigned i = 0; i < BAND_WORDS; i++)
    if (saved[i] != p[i]) return 0;
  return 1;
}

void g722_encode_nb(g722_t *st, const int16 *in, int n, uint8 *out) {
  band_t *lo = &st->band[0], *hi = &st->band[1];
  for (int j = 0; j < n; j++) {
    int32 xl = in[j] >> 1;
    int32 el = sat16(xl - lo->s);
    int32 wd = (el >= 0) ? el : -(el + 1);
    int32 il = quantl(el, wd, lo->det);
    update_low(lo, il);
    int32 ih;
    if (st->hi_still) {
      ih = st->hi_code;
    } else {
      /* The upper band's input is 0, so its next state depends on its state alone: once one update leaves the
       * state unchanged it never changes again (from reset that happens after ~220 samples) and the code is
       * constant. Skipping its updates from then on is exact, not an approximation. */
      int32 before[BAND_WORDS];
      save_band(before, hi);
      ih = quanth(0, hi);
      update_high(hi, ih);
      if (same_band(before, hi)) {
        st->hi_still = 1;
        st->hi_code = ih;
      }
    }
    out[j] = (uint8)((ih << 6) | il);
  }
}

void g722_decode_nb(g722_t *st, const uint8 *in, int n, int16 *out) {
  band_t *lo = &st->band[0];
  for (int j = 0; j < n; j++) {
    int32 ilr = in[j] & 63;
    int32 dl = (lo->det * QM6[ilr]) >> 15;
    int32 rl = lo->s + dl;
    if (rl > 16383) rl = 16383;
    if (rl < -16384) rl = -16384;
    update_low(lo, ilr);
    out[j] = (int16)sat16(rl * 2);
  }
}
