/*
 * GSM 06.10 full-rate speech codec (RPE-LTP, 13 kbit/s), written for Dragon PBX from ETSI EN 300 961 (GSM 06.10)
 * clause 4 ("Functional description of the encoder / decoder") and its fixed-point arithmetic (clause 5). Section
 * numbers in comments are the standard's. Frame format: RFC 3551 §4.5.8 — 33 bytes, a 0xD signature nibble, then
 * the 260 parameter bits MSB first in the order of Table 1.1 (LARc[1..8], then per sub-frame Nc, bc, Mc, xmaxc,
 * xMc[0..12]).
 *
 * Freestanding C (no libc) compiled to wasm32 by scripts/build-codecs.sh; state in a caller-owned struct.
 */

typedef int int32;
typedef short int16;
typedef unsigned char uint8;

#define MIN_W (-32768)
#define MAX_W 32767

/* ---- basic operators (clause 5.1) ---- */
static inline int32 sat(int32 v) { return v < MIN_W ? MIN_W : (v > MAX_W ? MAX_W : v); }
static inline int32 add(int32 a, int32 b) { return sat(a + b); }
static inline int32 sub(int32 a, int32 b) { return sat(a - b); }
static inline int32 mult(int32 a, int32 b) {
  if (a == MIN_W && b == MIN_W) return MAX_W;
  return (a * b) >> 15;
}
static inline int32 mult_r(int32 a, int32 b) {
  if (a == MIN_W && b == MIN_W) return MAX_W;
  return (int32)(int16)((a * b + 16384) >> 15);
}
/* mult_r for a coefficient b that is never -32768 (filter coefficients, interpolated reflection coefficients
 * |rp| <= 32767, constants) and a 16-bit a: the special case cannot occur and (a * b + 16384) >> 15 already lies in
 * [-32768, 32767], so the result is the same as mult_r's without the test and the 16-bit truncation. */
static inline int32 mult_rc(int32 a, int32 b) { return (a * b + 16384) >> 15; }
static inline int32 wabs(int32 a) { return a < 0 ? (a == MIN_W ? MAX_W : -a) : a; }
static inline int32 L_add(int32 a, int32 b) {
  long long s = (long long)a + b;
  return s > 2147483647LL ? 2147483647 : (s < -2147483647LL - 1 ? (int32)(-2147483647 - 1) : (int32)s);
}
/* arithmetic shifts with the standard's conventions for out-of-range counts */
static inline int32 asr(int32 a, int32 n) {
  if (n >= 16) return a < 0 ? -1 : 0;
  if (n <= -16) return 0;
  if (n < 0) return sat(a << -n);
  return a >> n;
}
static inline int32 asl(int32 a, int32 n) {
  if (n >= 16) return 0;
  if (n <= -16) return a < 0 ? -1 : 0;
  if (n < 0) return asr(a, -n);
  return sat(a << n);
}
/* norm: left shifts that normalise a non-zero 32-bit value */
static int32 norm(int32 a) {
  if (a < 0) {
    if (a <= -1073741824) return 0;
    a = ~a;
  }
  int32 n = 0;
  while (a < 0x40000000) {
    a <<= 1;
    n++;
  }
  return n;
}
/* div: num / denum as a 15-bit fraction, 0 <= num <= denum */
static int32 div15(int32 num, int32 denum) {
  int32 L_num = num, L_denum = denum, d = 0;
  if (num == 0) return 0;
  for (int k = 0; k < 15; k++) {
    d <<= 1;
    L_num <<= 1;
    if (L_num >= L_denum) {
      L_num -= L_denum;
      d++;
    }
  }
  return d;
}

/* ---- tables (clause 5.2 / 4.2) ---- */
static const int32 LAR_A[8] = {20480, 20480, 20480, 20480, 13964, 15360, 8534, 9036};
static const int32 LAR_B[8] = {0, 0, 2048, -2560, 94, -1792, -341, -1144};
static const int32 LAR_MIC[8] = {-32, -32, -16, -16, -8, -8, -4, -4};
static const int32 LAR_MAC[8] = {31, 31, 15, 15, 7, 7, 3, 3};
static const int32 LAR_INVA[8] = {13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708};
static const int32 LAR_BITS[8] = {6, 6, 5, 5, 4, 4, 3, 3};
static const int32 DLB[4] = {6554, 16384, 26214, 32767};
static const int32 QLB[4] = {3277, 11469, 21299, 32767};
static const int32 H[11] = {-134, -374, 0, 2054, 5741, 8192, 5741, 2054, 0, -374, -134};
static const int32 NRFAC[8] = {29128, 26215, 23832, 21846, 20165, 18725, 17476, 16384};
static const int32 FAC[8] = {18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767};

typedef struct {
  /* encoder */
  int32 z1, L_z2, mp;      /* offset compensation and pre-emphasis memories */
  int32 u[8];              /* short-term analysis lattice memory */
  int32 dp[120];           /* past reconstructed short-term residual dp[-120..-1] */
  int32 e_larpp[2][8];     /* LARpp of the previous (j-1) and current (j) frame, encoder */
  int32 e_j;
  /* decoder */
  int32 v[9];              /* short-term synthesis lattice memory */
  int32 drp[120];          /* drp[-120..-1] */
  int32 nrp;               /* last valid lag */
  int32 msr;               /* de-emphasis memory */
  int32 d_larpp[2][8];
  int32 d_j;
} gsm_t;

int gsm_state_size(void) { return (int)sizeof(gsm_t); }

void gsm_reset(gsm_t *st) {
  uint8 *p = (uint8 *)st;
  for (unsigned i = 0; i < sizeof(gsm_t); i++) p[i] = 0;
  st->nrp = 40;
}

/* 4.2.8: decoding of the coded log-area ratios (LARc are offset codes 0..2^bits-1) */
static void decode_lar(const int32 *LARc, int32 *LARpp) {
  for (int i = 0; i < 8; i++) {
    int32 t = add(LARc[i], LAR_MIC[i]) << 10;
    t = sub(t, LAR_B[i] << 1);
    t = mult_r(LAR_INVA[i], t);
    LARpp[i] = add(t, t);
  }
}

/* 4.2.9.1 interpolation of LARpp for the four segments, and 4.2.9.2 LARp → rp */
static void interpolate_rp(const int32 *prev, const int32 *cur, int seg, int32 *rp) {
  for (int i = 0; i < 8; i++) {
    int32 l;
    switch (seg) {
      case 0: l = add(add(prev[i] >> 2, cur[i] >> 2), prev[i] >> 1); break;
      case 1: l = add(prev[i] >> 1, cur[i] >> 1); break;
      case 2: l = add(add(prev[i] >> 2, cur[i] >> 2), cur[i] >> 1); break;
      default: l = cur[i]; break;
    }
    int32 t = wabs(l);
    if (t < 11059) t <<= 1;
    else if (t < 20070) t += 11059;
    else t = add(t >> 2, 26112);
    rp[i] = l < 0 ? -t : t;
  }
}

static const int SEG_START[5] = {0, 13, 27, 40, 160};

/* 4.2.16: APCM inverse quantisation; 4.2.15 exponent/mantissa of xmaxc */
static void xmaxc_to_exp_mant(int32 xmaxc, int32 *exp_out, int32 *mant_out) {
  int32 exp = 0, mant;
  if (xmaxc > 15) exp = (xmaxc >> 3) - 1;
  mant = xmaxc - (exp << 3);
  if (mant == 0) {
    exp = -4;
    mant = 7;
  } else {
    while (mant <= 7) {
      mant = (mant << 1) | 1;
      exp--;
    }
    mant -= 8;
  }
  *exp_out = exp;
  *mant_out = mant;
}

static void apcm_inverse(const int32 *xMc, int32 exp, int32 mant, int32 *xMp) {
  int32 t1 = FAC[mant];
  int32 t2 = sub(6, exp);
  int32 t3 = asl(1, sub(t2, 1));
  for (int i = 0; i < 13; i++) {
    int32 t = ((xMc[i] << 1) - 7) << 12;
    t = mult_r(t1, t);
    t = add(t, t3);
    xMp[i] = asr(t, t2);
  }
}

/* ---- bit packing (MSB first) ---- */
typedef struct {
  uint8 *p;
  int32 acc, n; /* the n low bits of acc are pending (n < 8) */
} bw_t;
static inline void put(bw_t *w, int32 v, int bits) {
  w->acc = (w->acc << bits) | (v & ((1 << bits) - 1));
  w->n += bits;
  while (w->n >= 8) {
    w->n -= 8;
    *w->p++ = (uint8)(w->acc >> w->n);
  }
}
typedef struct {
  const uint8 *p;
  int32 pos;
} br_t;
/* A field (<= 7 bits) starting at bit pos spans at most two bytes; the byte after the 33-byte frame is not read. */
static inline int32 get(br_t *r, int bits) {
  int32 i = r->pos >> 3;
  int32 w = (r->p[i] << 8) | (i + 1 < 33 ? r->p[i + 1] : 0);
  int32 v = (w >> (16 - (r->pos & 7) - bits)) & ((1 << bits) - 1);
  r->pos += bits;
  return v;
}

/* ---- encoder (4.2) ---- */
static void encode_frame(gsm_t *st, const int16 *in, uint8 *out) {
  int32 s[160];
  int32 LARc[8], Nc[4], bc[4], Mc[4], xmaxc[4], xMc[4][13];
  int k, i;

  /* 4.2.1 downscaling, 4.2.2 offset compensation, 4.2.3 pre-emphasis */
  for (k = 0; k < 160; k++) {
    int32 so = (in[k] >> 3) << 2;
    int32 s1 = so - st->z1;
    st->z1 = so;
    int32 L_s2 = s1 << 15;
    int32 msp = st->L_z2 >> 15;
    int32 lsp = st->L_z2 - (msp << 15);
    L_s2 += mult_rc(lsp, 32735);
    st->L_z2 = L_add(msp * 32735, L_s2);
    int32 sof = L_add(st->L_z2, 16384) >> 15;
    s[k] = add(sof, mult_r(st->mp, -28180));
    st->mp = sof;
  }

  /* 4.2.4 autocorrelation with dynamic scaling */
  int32 L_ACF[9];
  {
    int32 smax = 0, scalauto;
    for (k = 0; k < 160; k++) {
      int32 t = wabs(s[k]);
      if (t > smax) smax = t;
    }
    scalauto = smax == 0 ? 0 : 4 - norm(smax << 16);
    if (scalauto > 0) {
      int32 f = 16384 >> (scalauto - 1);
      for (k = 0; k < 160; k++) s[k] = mult_r(s[k], f);
    }
    for (k = 0; k < 9; k++) {
      int32 acc = 0;
      for (i = k; i < 160; i++) acc += s[i] * s[i - k];
      L_ACF[k] = acc << 1;
    }
    if (scalauto > 0)
      for (k = 0; k < 160; k++) s[k] = s[k] << scalauto;
  }

  /* 4.2.5 Schur recursion → reflection coefficients r[1..8] (stored r[0..7]) */
  int32 r[8];
  {
    int32 ACF[9], P[9], K[9], n, m;
    if (L_ACF[0] == 0) {
      for (i = 0; i < 8; i++) r[i] = 0;
    } else {
      int32 t = norm(L_ACF[0]);
      for (i = 0; i < 9; i++) ACF[i] = (L_ACF[i] << t) >> 16;
      for (i = 1; i < 8; i++) K[i] = ACF[i];
      for (i = 0; i < 9; i++) P[i] = ACF[i];
      for (n = 1; n <= 8; n++) {
        int32 a = wabs(P[1]);
        if (P[0] < a) {
          for (i = n; i <= 8; i++) r[i - 1] = 0;
          break;
        }
        r[n - 1] = div15(a, P[0]);
        if (P[1] > 0) r[n - 1] = -r[n - 1];
        if (n == 8) break;
        P[0] = add(P[0], mult_r(P[1], r[n - 1]));
        for (m = 1; m <= 8 - n; m++) {
          P[m] = add(P[m + 1], mult_r(K[m], r[n - 1]));
          K[m] = add(K[m], mult_r(P[m + 1], r[n - 1]));
        }
      }
    }
  }

  /* 4.2.6 reflection coefficients → log-area ratios; 4.2.7 quantisation and coding */
  for (i = 0; i < 8; i++) {
    int32 t = wabs(r[i]);
    if (t < 22118) t >>= 1;
    else if (t < 31130) t -= 11059;
    else t = (t - 26112) << 2;
    int32 lar = r[i] < 0 ? -t : t;
    t = mult(LAR_A[i], lar);
    t = add(t, LAR_B[i]);
    t = add(t, 256);
    t >>= 9;
    LARc[i] = t > LAR_MAC[i] ? LAR_MAC[i] - LAR_MIC[i] : (t < LAR_MIC[i] ? 0 : t - LAR_MIC[i]);
  }

  /* 4.2.8 - 4.2.10 decode LARs, interpolate, short-term analysis filtering (in place: s becomes d) */
  {
    int32 *prev = st->e_larpp[st->e_j ^ 1], *cur = st->e_larpp[st->e_j];
    decode_lar(LARc, cur);
    for (int seg = 0; seg < 4; seg++) {
      int32 rp[8];
      interpolate_rp(prev, cur, seg, rp);
      for (k = SEG_START[seg]; k < SEG_START[seg + 1]; k++) {
        int32 di = s[k], sav = di;
        for (i = 0; i < 8; i++) {
          int32 ui = st->u[i];
          st->u[i] = sav;
          sav = add(ui, mult_rc(di, rp[i]));
          di = add(di, mult_rc(ui, rp[i]));
        }
        s[k] = di;
      }
    }
    st->e_j ^= 1;
  }

  /* per sub-frame: LTP (4.2.11, 4.2.12), RPE (4.2.13 - 4.2.17), dp update (4.2.18) */
  int32 dpbuf[160 + 120];
  for (i = 0; i < 120; i++) dpbuf[i] = st->dp[i];
  for (int j = 0; j < 4; j++) {
    const int32 *d = s + 40 * j;
    int32 *dp = dpbuf + 120 + 40 * j; /* dp[-120..-1] valid */
    int32 dpp[40], e[50], x[40], xM[13], xMp[13];

    /* 4.2.11 LTP parameters */
    int32 dmax = 0, scal, t = 0, lambda, L_max = 0, nc = 40, bcj;
    for (k = 0; k < 40; k++) {
      int32 a = wabs(d[k]);
      if (a > dmax) dmax = a;
    }
    if (dmax != 0) t = norm(dmax << 16);
    scal = t > 6 ? 0 : 6 - t;
    int32 wt[40];
    for (k = 0; k < 40; k++) wt[k] = d[k] >> scal;
    for (lambda = 40; lambda <= 120; lambda++) {
      int32 L = 0;
      for (k = 0; k < 40; k++) L += wt[k] * dp[k - lambda];
      if (L > L_max) {
        nc = lambda;
        L_max = L;
      }
    }
    L_max <<= 1;
    L_max = L_max >> (6 - scal);
    int32 L_power = 0;
    for (k = 0; k < 40; k++) {
      int32 v = dp[k - nc] >> 3;
      L_power += v * v;
    }
    L_power <<= 1;
    if (L_max <= 0) bcj = 0;
    else if (L_max >= L_power) bcj = 3;
    else {
      int32 tn = norm(L_power);
      int32 R = (L_max << tn) >> 16;
      int32 S = (L_power << tn) >> 16;
      for (bcj = 0; bcj <= 2; bcj++)
        if (R <= mult(S, DLB[bcj])) break;
    }
    Nc[j] = nc;
    bc[j] = bcj;

    /* 4.2.12 long-term analysis filtering */
    for (k = 0; k < 40; k++) {
      dpp[k] = mult_rc(dp[k - nc], QLB[bcj]);
      e[5 + k] = sub(d[k], dpp[k]);
    }
    for (k = 0; k < 5; k++) e[k] = e[45 + k] = 0;

    /* 4.2.13 weighting filter */
    for (k = 0; k < 40; k++) {
      int32 L = 4096;
      for (i = 0; i < 11; i++) L += e[k + i] * H[i];
      x[k] = sat(L >> 13);
    }

    /* 4.2.14 RPE grid selection */
    int32 EM = 0, mc = 0;
    for (int m = 0; m < 4; m++) {
      int32 L = 0;
      for (i = 0; i < 13; i++) {
        int32 v = x[m + 3 * i] >> 2;
        L += v * v;
      }
      L <<= 1;
      if (L > EM) {
        mc = m;
        EM = L;
      }
    }
    Mc[j] = mc;
    for (i = 0; i < 13; i++) xM[i] = x[mc + 3 * i];

    /* 4.2.15 APCM quantisation */
    int32 xmax = 0, exp = 0, mant, itest = 0;
    for (i = 0; i < 13; i++) {
      int32 a = wabs(xM[i]);
      if (a > xmax) xmax = a;
    }
    t = xmax >> 9;
    for (i = 0; i < 6; i++) {
      itest |= (t <= 0);
      t >>= 1;
      if (itest == 0) exp++;
    }
    xmaxc[j] = add(xmax >> (exp + 5), exp << 3);
    xmaxc_to_exp_mant(xmaxc[j], &exp, &mant);
    for (i = 0; i < 13; i++) {
      int32 v = (int32)(int16)(xM[i] << (6 - exp));
      v = mult(v, NRFAC[mant]);
      xMc[j][i] = (v >> 12) + 4;
    }

    /* 4.2.16 inverse quantisation, 4.2.17 grid positioning, 4.2.18 dp update */
    apcm_inverse(xMc[j], exp, mant, xMp);
    for (k = 0; k < 40; k++) e[5 + k] = 0;
    for (i = 0; i < 13; i++) e[5 + mc + 3 * i] = xMp[i];
    for (k = 0; k < 40; k++) dp[k] = add(e[5 + k], dpp[k]);
  }
  for (i = 0; i < 120; i++) st->dp[i] = dpbuf[160 + i];

  /* pack */
  bw_t w = {out, 0, 0};
  put(&w, 0xD, 4);
  for (i = 0; i < 8; i++) put(&w, LARc[i], LAR_BITS[i]);
  for (int j = 0; j < 4; j++) {
    put(&w, Nc[j], 7);
    put(&w, bc[j], 2);
    put(&w, Mc[j], 2);
    put(&w, xmaxc[j], 6);
    for (i = 0; i < 13; i++) put(&w, xMc[j][i], 3);
  }
}

/* ---- decoder (4.3) ---- */
static int decode_frame(gsm_t *st, const uint8 *in, int16 *out) {
  br_t r = {in, 0};
  int32 LARc[8], wt[160];
  int i, k;
  if (get(&r, 4) != 0xD) return -1;
  for (i = 0; i < 8; i++) LARc[i] = get(&r, LAR_BITS[i]);
  int32 drpbuf[120 + 40];
  for (i = 0; i < 120; i++) drpbuf[i] = st->drp[i];
  int32 *drp = drpbuf + 120;
  for (int j = 0; j < 4; j++) {
    int32 Ncr = get(&r, 7), bcr = get(&r, 2), Mcr = get(&r, 2), xmaxcr = get(&r, 6), xMc[13], xMp[13], erp[40];
    for (i = 0; i < 13; i++) xMc[i] = get(&r, 3);
    /* 4.3.1 RPE decoding */
    int32 exp, mant;
    xmaxc_to_exp_mant(xmaxcr, &exp, &mant);
    apcm_inverse(xMc, exp, mant, xMp);
    for (k = 0; k < 40; k++) erp[k] = 0;
    for (i = 0; i < 13; i++) erp[Mcr + 3 * i] = xMp[i];
    /* 4.3.2 long-term synthesis filtering */
    int32 Nr = (Ncr < 40 || Ncr > 120) ? st->nrp : Ncr;
    st->nrp = Nr;
    int32 brp = QLB[bcr];
    for (k = 0; k < 40; k++) drp[k] = add(erp[k], mult_rc(drp[k - Nr], brp));
    for (k = 0; k < 40; k++) wt[40 * j + k] = drp[k];
    for (k = 0; k < 120; k++) drpbuf[k] = drpbuf[k + 40];
  }
  for (i = 0; i < 120; i++) st->drp[i] = drpbuf[i];

  /* 4.3.3 - 4.3.4 LAR decoding, interpolation, short-term synthesis filtering */
  int32 *prev = st->d_larpp[st->d_j ^ 1], *cur = st->d_larpp[st->d_j];
  decode_lar(LARc, cur);
  int32 *v = st->v;
  for (int seg = 0; seg < 4; seg++) {
    int32 rrp[8];
    interpolate_rp(prev, cur, seg, rrp);
    for (k = SEG_START[seg]; k < SEG_START[seg + 1]; k++) {
      int32 sri = wt[k];
      for (i = 7; i >= 0; i--) {
        sri = sub(sri, mult_rc(v[i], rrp[i]));
        v[i + 1] = add(v[i], mult_rc(sri, rrp[i]));
      }
      v[0] = sri;
      wt[k] = sri;
    }
  }
  st->d_j ^= 1;

  /* 4.3.5 post-processing: de-emphasis, upscaling, truncation to 13 bits */
  for (k = 0; k < 160; k++) {
    st->msr = add(wt[k], mult_rc(st->msr, 28180));
    out[k] = (int16)(add(st->msr, st->msr) & 0xFFF8);
  }
  return 0;
}

/* Encode `frames` frames of 160 samples into 33-byte frames. */
void gsm_encode(gsm_t *st, const int16 *in, int frames, uint8 *out) {
  for (int f = 0; f < frames; f++) encode_frame(st, in + 160 * f, out + 33 * f);
}

/* Decode `frames` 33-byte frames; returns 0, or -(1 + index) of the first frame without the 0xD signature. */
int gsm_decode(gsm_t *st, const uint8 *in, int frames, int16 *out) {
  for (int f = 0; f < frames; f++)
    if (decode_frame(st, in + 33 * f, out + 160 * f) != 0) return -(1 + f);
  return 0;
}
