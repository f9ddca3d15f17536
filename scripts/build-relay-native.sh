#!/bin/sh
# Builds the optional batched UDP I/O addon of the media relay (media/native/udp_io.c: epoll + recvmmsg/sendmmsg,
# N-API). NEVER fails: on any problem it prints one line and exits 0; the relay then uses node:dgram (slower per
# packet, same behaviour). Linux only.
# Output: media/native/build/dpbx_udp_io.node (and a copy in dist/media/native/build/ when dist exists).
cd "$(dirname "$0")/.." || exit 0
CC="${CC:-cc}"
NODE_INC="${NODE_INCLUDE_DIR:-}"
if [ -z "$NODE_INC" ]; then
  for d in "$(npm config get nodedir 2>/dev/null)/include/node" "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node; do
    if [ -f "$d/node_api.h" ] && [ -f "$d/uv.h" ]; then NODE_INC="$d"; break; fi
  done
fi
if [ -z "$NODE_INC" ]; then echo "dragon-pbx: relay I/O addon not built (node_api.h/uv.h not found; node:dgram used)"; exit 0; fi
if [ "$(uname -s)" != "Linux" ]; then echo "dragon-pbx: relay I/O addon not built (Linux only; node:dgram used)"; exit 0; fi
mkdir -p media/native/build
if "$CC" -O2 -shared -fPIC -Wall -DNODE_GYP_MODULE_NAME=dpbx_udp_io -I"$NODE_INC" \
    -o media/native/build/dpbx_udp_io.node media/native/udp_io.c 2>/tmp/dpbx-udp-io-build.log; then
  if [ -d dist ]; then mkdir -p dist/media/native/build && cp media/native/build/dpbx_udp_io.node dist/media/native/build/; fi
  echo "dragon-pbx: relay I/O addon built (media/native/build/dpbx_udp_io.node)"
else
  echo "dragon-pbx: relay I/O addon not built ($(head -c 200 /tmp/dpbx-udp-io-build.log | tr '\n' ' '); node:dgram used)"
fi
exit 0
