#!/bin/sh
# Builds the codecs/ WebAssembly modules from their C sources with Debian's clang + wasm-ld (no libc), and copies
# the committed .wasm files next to the compiled JS in dist/. Usage: scripts/build-codecs.sh [wasm|copy|all]
#   wasm  rebuild codecs/wasm/*.wasm from codecs/wasm/*.c (needs clang, lld); the result is committed
#   copy  copy codecs/wasm/*.wasm to dist/codecs/wasm/ (run after tsc)
# The build is deterministic: the same clang gives byte-identical output (checked by test/codecs/wasm-build.test.ts).
set -e
cd "$(dirname "$0")/.."
what="${1:-all}"
CLANG="${CLANG:-clang}"
OUT="${WASM_OUT_DIR:-codecs/wasm}"
build_one() { # name exports...
  name="$1"; shift
  exp=""
  for e in "$@"; do exp="$exp -Wl,--export=$e"; done
  # shellcheck disable=SC2086
  "$CLANG" --target=wasm32 -nostdlib -O3 -msimd128 -ffreestanding -fno-builtin -Wall -Werror \
    -ffile-prefix-map="$PWD"=. \
    -Wl,--no-entry -Wl,--export=__heap_base $exp -Wl,--strip-all \
    -o "$OUT/$name.wasm" "codecs/wasm/$name.c"
}
if [ "$what" = wasm ] || [ "$what" = all ]; then
  mkdir -p "$OUT"
  build_one g722 g722_state_size g722_reset g722_encode g722_decode g722_encode_nb g722_decode_nb
  if [ -f codecs/wasm/gsm610.c ]; then
    build_one gsm610 gsm_state_size gsm_reset gsm_encode gsm_decode
  fi
  build_one resample rs_state_size rs_fir
fi
if [ "$what" = copy ] || [ "$what" = all ]; then
  mkdir -p dist/codecs/wasm
  cp codecs/wasm/*.wasm dist/codecs/wasm/
fi
