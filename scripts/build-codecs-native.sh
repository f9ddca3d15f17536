#!/bin/sh
# Builds the optional AMR N-API addon (codecs/native/amr_addon.c) against Debian's libopencore-amrnb,
# libopencore-amrwb and libvo-amrwbenc. NEVER fails: on any problem it prints one line and exits 0, and AMR /
# AMR-WB are then simply not listed by listCodecs() (codecs.amrStatus() says why).
# Output: codecs/native/build/dpbx_amr.node (and a copy in dist/codecs/native/build/ when dist exists).
cd "$(dirname "$0")/.." || exit 0
CC="${CC:-cc}"
NODE_INC="${NODE_INCLUDE_DIR:-}"
if [ -z "$NODE_INC" ]; then
  for d in "$(npm config get nodedir 2>/dev/null)/include/node" "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node; do
    if [ -f "$d/node_api.h" ]; then NODE_INC="$d"; break; fi
  done
fi
if [ -z "$NODE_INC" ]; then echo "dragon-pbx: AMR addon not built (node_api.h not found; AMR disabled)"; exit 0; fi
mkdir -p codecs/native/build
if "$CC" -O2 -shared -fPIC -Wall -DNODE_GYP_MODULE_NAME=dpbx_amr -I"$NODE_INC" \
    -o codecs/native/build/dpbx_amr.node codecs/native/amr_addon.c \
    -lopencore-amrnb -lopencore-amrwb -lvo-amrwbenc 2>/tmp/dpbx-amr-build.log; then
  if [ -d dist ]; then mkdir -p dist/codecs/native/build && cp codecs/native/build/dpbx_amr.node dist/codecs/native/build/; fi
  echo "dragon-pbx: AMR addon built (codecs/native/build/dpbx_amr.node)"
else
  echo "dragon-pbx: AMR addon not built ($(head -c 200 /tmp/dpbx-amr-build.log | tr '\n' ' '); AMR disabled)"
fi
exit 0
