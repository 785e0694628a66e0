#!/bin/bash
# Cross-build the N-API addon (native/tsvmm.c) for arm64 as the package's
# arm64 prebuild, prebuilds/linux-arm64/node.napi.glibc.node: node-gyp-build
# (src/native/addon.ts) loads it on an arm64 host that has no build/Release,
# and in the arm64 test host (run.sh sets PREBUILDS_ONLY: the shared checkout's
# build/Release is x86-64). scripts/prebuild.sh (npm pack) runs it too.
# N-API is ABI-stable, so the headers of the Node build that runs in the arm64
# test host (prepare.sh --headers) serve any Node >= 20.
# Rebuilt only when tsvmm.c or this script is newer than the output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src=$root/native/tsvmm.c
out=$root/prebuilds/linux-arm64/node.napi.glibc.node
if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then echo "$out"; exit 0; fi
headers=$("$here/prepare.sh" --headers) # installs the cross toolchain; has the N-API headers
mkdir -p "$(dirname "$out")"
# The flags and define of binding.gyp; stripped, as prebuildify --strip does.
aarch64-linux-gnu-gcc -std=gnu11 -Wall -Wextra -Wno-unused-parameter -O2 -DNAPI_VERSION=8 \
	-fPIC -shared -I"$headers/node-include" -o "$out.tmp" "$src"
aarch64-linux-gnu-strip --strip-unneeded "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
