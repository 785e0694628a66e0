#!/bin/bash
# Cross-compile kvmprobe for arm64 and run it inside the arm64 test-host VM.
# Exit status 0 only if /dev/kvm works there (see kvmprobe.c for the checks).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/prepare.sh" >/dev/null # installs the cross compiler when missing
# The VM sees only the shared dirs: build into the repository (gitignored).
out=$here/../../.arm64-run
mkdir -p "$out"
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -o "$out/kvmprobe" "$here/kvmprobe.c"
exec "$here/run.sh" "$out/kvmprobe"
