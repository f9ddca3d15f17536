/*
 * Dragon PBX: a small N-API addon over Debian's AMR libraries.
 *   AMR-NB encode + decode: libopencore-amrnb (Encoder_Interface_*, Decoder_Interface_*)
 *   AMR-WB decode: libopencore-amrwb (D_IF_*), AMR-WB encode: libvo-amrwbenc (E_IF_*)
 * All four speak the RFC 4867 §5 storage format per frame: one header byte (FT << 3 | Q << 2) followed by the
 * speech bits, octet aligned. Payload formats (octet-aligned / bandwidth-efficient, CMR, TOC) live in codecs/amr.ts.
 *
 * JS API (all synchronous, no allocation per call):
 *   nbEncoder(dtx) / nbDecoder() / wbEncoder() / wbDecoder()  -> handle (external, freed by GC or close())
 *   nbEncode(h, mode, Int16Array[160], Uint8Array out) -> bytes written;  wbEncode(h, mode, Int16Array[320], out, dtx)
 *   nbDecode(h, Uint8Array frame, Int16Array[160] out, bfi) ; wbDecode(h, frame, Int16Array[320] out, bfi)
 *   close(h)
 */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrnb/interf_enc.h>
#include <opencore-amrwb/dec_if.h>
#include <vo-amrwbenc/enc_if.h>

enum kind { NB_ENC = 1, NB_DEC, WB_ENC, WB_DEC };
typedef struct {
  int kind;
  void *st;
} handle_t;

static void release(handle_t *h) {
  if (!h->st) return;
  switch (h->kind) {
    case NB_ENC: Encoder_Interface_exit(h->st); break;
    case NB_DEC: Decoder_Interface_exit(h->st); break;
    case WB_ENC: E_IF_exit(h->st); break;
    case WB_DEC: D_IF_exit(h->st); break;
  }
  h->st = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release((handle_t *)data);
  free(data);
}

#define CHECK(call)                                                       \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      napi_throw_error(env, "DPBX_ERR_CODEC_INTERNAL", "amr addon: " #call); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

static napi_value make(napi_env env, int kind, void *st) {
  napi_value v;
  if (!st) {
    napi_throw_error(env, "DPBX_ERR_CODEC_INTERNAL", "amr addon: codec init failed");
    return NULL;
  }
  handle_t *h = malloc(sizeof *h);
  h->kind = kind;
  h->st = st;
  CHECK(napi_create_external(env, h, finalize, NULL, &v));
  return v;
}

static handle_t *get_handle(napi_env env, napi_value v, int kind) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p || ((handle_t *)p)->kind != kind || !((handle_t *)p)->st) {
    napi_throw_error(env, "DPBX_ERR_CODEC_CLOSED", "amr addon: bad or closed handle");
    return NULL;
  }
  return (handle_t *)p;
}

static void *typed(napi_env env, napi_value v, napi_typedarray_type want, size_t min_len) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok || type != want || len < min_len) {
    napi_throw_type_error(env, "DPBX_ERR_CODEC_BAD_OPTION", "amr addon: bad typed array argument");
    return NULL;
  }
  return data;
}

static int32_t int_arg(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

static napi_value nb_encoder(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return make(env, NB_ENC, Encoder_Interface_init(argc > 0 ? int_arg(env, argv[0]) : 0));
}
static napi_value nb_decoder(napi_env env, napi_callback_info info) {
  (void)info;
  return make(env, NB_DEC, Decoder_Interface_init());
}
static napi_value wb_encoder(napi_env env, napi_callback_info info) {
  (void)info;
  return make(env, WB_ENC, E_IF_init());
}
static napi_value wb_decoder(napi_env env, napi_callback_info info) {
  (void)info;
  return make(env, WB_DEC, D_IF_init());
}

static napi_value encode(napi_env env, napi_callback_info info, int kind) {
  size_t argc = 5;
  napi_value argv[5], res;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_error(env, "DPBX_ERR_CODEC_BAD_OPTION", "amr addon: encode(h, mode, pcm, out)");
    return NULL;
  }
  handle_t *h = get_handle(env, argv[0], kind);
  if (!h) return NULL;
  int32_t mode = int_arg(env, argv[1]);
  size_t samples = kind == NB_ENC ? 160 : 320;
  int16_t *pcm = typed(env, argv[2], napi_int16_array, samples);
  if (!pcm) return NULL;
  uint8_t *out = typed(env, argv[3], napi_uint8_array, 64);
  if (!out) return NULL;
  int n;
  if (kind == NB_ENC) {
    if (mode < 0 || mode > 7) mode = 7;
    n = Encoder_Interface_Encode(h->st, (enum Mode)mode, pcm, out, 0);
  } else {
    if (mode < 0 || mode > 8) mode = 8;
    n = E_IF_encode(h->st, mode, pcm, out, argc > 4 ? int_arg(env, argv[4]) : 0);
  }
  CHECK(napi_create_int32(env, n, &res));
  return res;
}
static napi_value nb_encode(napi_env env, napi_callback_info info) { return encode(env, info, NB_ENC); }
static napi_value wb_encode(napi_env env, napi_callback_info info) { return encode(env, info, WB_ENC); }

static napi_value decode(napi_env env, napi_callback_info info, int kind) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_error(env, "DPBX_ERR_CODEC_BAD_OPTION", "amr addon: decode(h, frame, out, bfi)");
    return NULL;
  }
  handle_t *h = get_handle(env, argv[0], kind);
  if (!h) return NULL;
  /* the storage-format frame: header + up to 60 bytes; copied so the library never reads past the caller's data */
  uint8_t frame[64];
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array || len < 1) {
    napi_throw_type_error(env, "DPBX_ERR_CODEC_BAD_PAYLOAD", "amr addon: bad frame");
    return NULL;
  }
  memset(frame, 0, sizeof frame);
  memcpy(frame, data, len > sizeof frame ? sizeof frame : len);
  size_t samples = kind == NB_DEC ? 160 : 320;
  int16_t *out = typed(env, argv[2], napi_int16_array, samples);
  if (!out) return NULL;
  int bfi = int_arg(env, argv[3]);
  if (kind == NB_DEC) Decoder_Interface_Decode(h->st, frame, out, bfi);
  else D_IF_decode(h->st, frame, out, bfi);
  return NULL;
}
static napi_value nb_decode(napi_env env, napi_callback_info info) { return decode(env, info, NB_DEC); }
static napi_value wb_decode(napi_env env, napi_callback_info info) { return decode(env, info, WB_DEC); }

static napi_value close_handle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *p = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc > 0 && napi_get_value_external(env, argv[0], &p) == napi_ok && p) release((handle_t *)p);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"nbEncoder", NULL, nb_encoder, NULL, NULL, NULL, napi_default, NULL},
      {"nbDecoder", NULL, nb_decoder, NULL, NULL, NULL, napi_default, NULL},
      {"wbEncoder", NULL, wb_encoder, NULL, NULL, NULL, napi_default, NULL},
      {"wbDecoder", NULL, wb_decoder, NULL, NULL, NULL, napi_default, NULL},
      {"nbEncode", NULL, nb_encode, NULL, NULL, NULL, napi_default, NULL},
      {"wbEncode", NULL, wb_encode, NULL, NULL, NULL, napi_default, NULL},
      {"nbDecode", NULL, nb_decode, NULL, NULL, NULL, napi_default, NULL},
      {"wbDecode", NULL, wb_decode, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_handle, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
