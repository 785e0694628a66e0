#!/bin/bash
# Compile kvmprobe on the host and run it inside the test-host VM.
# Exit status 0 only if /dev/kvm works there (see kvmprobe.c for the checks).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${TESTHOST_CACHE:-/root/.cache/tsvmm/testhost}
mkdir -p "$cache"
gcc -O2 -Wall -Wextra -o "$cache/kvmprobe" "$here/kvmprobe.c"
exec "$here/run-in-kvm-host.sh" "$cache/kvmprobe"
