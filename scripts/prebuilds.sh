#!/bin/bash
# The package's prebuilt addons, in node-gyp-build's layout (what prebuildify
# writes: <platform>-<arch>/<runtime>.napi.<libc>.node):
#   prebuilds/linux-x64/node.napi.glibc.node    node-gyp, natively
#   prebuilds/linux-arm64/node.napi.glibc.node  aarch64-linux-gnu-gcc (scripts/testhost-arm64/build-addon.sh)
# The glibc tag keeps node-gyp-build from picking them on musl, which then
# builds from source. `npm pack` and `npm publish` run this as the prepack
# script, then the prepare script (the TypeScript build), then pack.
# Runs through npm (`npm run prepack`), which puts its node-gyp on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -m)" != x86_64 ]; then
	echo "prebuilds.sh: builds linux-x64 natively, so it runs on x86-64 (this is $(uname -m))" >&2
	exit 1
fi
node-gyp rebuild >&2
rm -rf prebuilds/linux-x64
mkdir -p prebuilds/linux-x64
strip --strip-unneeded -o prebuilds/linux-x64/node.napi.glibc.node build/Release/tsvmm.node
scripts/testhost-arm64/build-addon.sh >/dev/null
