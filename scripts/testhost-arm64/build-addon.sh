#!/bin/bash
# Cross-build the N-API addon (native/tsvmm.c) for arm64:
# native/build-arm64/Release/tsvmm.node, which src/native/addon.ts loads first
# when process.arch is arm64. N-API is ABI-stable, so the headers of the Node
# build that runs in the arm64 test host (from prepare.sh) serve any Node >= 20.
# Rebuilt only when tsvmm.c or this script is newer than the output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src=$root/native/tsvmm.c
out=$root/native/build-arm64/Release/tsvmm.node
if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then echo "$out"; exit 0; fi
build=$("$here/prepare.sh") # installs aarch64-linux-gnu-gcc; has the N-API headers
mkdir -p "$(dirname "$out")"
# The flags and define of native/binding.gyp.
aarch64-linux-gnu-gcc -std=gnu11 -Wall -Wextra -Wno-unused-parameter -O2 -DNAPI_VERSION=8 \
	-fPIC -shared -I"$build/node-include" -o "$out.tmp" "$src"
mv "$out.tmp" "$out"
echo "$out"
