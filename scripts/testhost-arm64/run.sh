#!/bin/bash
# Run ONE command inside a throwaway arm64 QEMU (TCG) VM whose kernel runs at
# EL2 (virtualization=on), so the command sees a working /dev/kvm. The VM's
# root is its own initramfs (busybox, Node.js arm64, glibc); the TESTHOST_RW
# dirs (default: this repository) are shared writable at their host paths.
# cwd is kept, stdin is /dev/null, the exit status is the command's (125: the
# VM failed, 124: timeout). One VM at a time (flock in the cache dir).
#
# Usage: scripts/testhost-arm64/run.sh [--] COMMAND [ARGS...]
# Env:   TESTHOST_RW       colon-separated writable host dirs
#                          (default: the root of this repository)
#        TESTHOST_ENV      extra variable names to pass in (HOME, LANG, LC_ALL,
#                          TZ, CI, NODE_OPTIONS, NODE_ENV, TSVMM_* always; not
#                          PATH: the VM has its own)
#        TESTHOST_CPU      QEMU -cpu model (default max,pauth=off)
#        TESTHOST_SMP      vCPUs (default 1)
#        TESTHOST_MEM      MiB of guest RAM (default 2048)
#        TESTHOST_APPEND   extra kernel args
#        TESTHOST_TIMEOUT  seconds before the VM is killed (default 3600)
#        TESTHOST_VERBOSE  1: show the boot log and timings
#        TESTHOST_ARM64_CACHE  cache dir (default ~/.cache/tsvmm/testhost-arm64)
set -euo pipefail
[ "${1:-}" = -- ] && shift
if [ $# -eq 0 ]; then echo "usage: $0 [--] COMMAND [ARGS...]" >&2; exit 2; fi
here=$(cd "$(dirname "$0")" && pwd)
cache=${TESTHOST_ARM64_CACHE:-${HOME:-/root}/.cache/tsvmm/testhost-arm64}
verbose=${TESTHOST_VERBOSE:-0}
log() { echo "[testhost-arm64] $*" >&2; }

. "$here/../lib/testhost.sh"
th_job_init

# The command as a script for the VM's busybox sh. The shared checkout's
# build/Release is this machine's x86-64 addon: node-gyp-build must take the
# arm64 prebuild (build-addon.sh) instead.
th_cmd_preamble='export PREBUILDS_ONLY=1'
th_write_cmd "HOME LANG LC_ALL TZ CI NODE_OPTIONS NODE_ENV" "$@"

p9dev=virtio-9p-device
share job "$job"
th_share_rw "$(cd "$here/../.." && pwd)" "${TESTHOST_9P_CACHE:-mmap}"

th_lock_and_prepare
# virtualization=on: the kernel is entered at EL2 and KVM initialises there;
# gic-version=3 (TESTHOST_GIC): the host GIC whose virtualization interface
# KVM's vGIC uses; 2 gives a GICv2 host, whose KVM offers only a vGICv2.
# pauth=off: Debian's kernel signs every return address, and QEMU's QARMA
# emulation made boot to command 50 s instead of 6 s (pauth-impdef=on: 7-11 s).
th_run_qemu qemu-system-aarch64 -machine virt,virtualization=on,gic-version="${TESTHOST_GIC:-3}",accel=tcg \
	-cpu "${TESTHOST_CPU:-max,pauth=off}" -smp "${TESTHOST_SMP:-1}" -m "${TESTHOST_MEM:-2048}" -nic none \
	-kernel "$build/Image" -initrd "$build/initramfs.cpio" \
	-append "console=ttyAMA0 quiet panic=-1 mitigations=off ${TESTHOST_APPEND:-}"
th_finish
