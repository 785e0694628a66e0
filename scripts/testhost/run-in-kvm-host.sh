#!/bin/bash
# Run ONE command inside a throwaway QEMU (TCG) VM whose virtual CPU has
# AMD SVM, so the command sees a working /dev/kvm. The host's / is shared
# read-only under a tmpfs overlay (writes succeed but are discarded); the
# TESTHOST_RW dirs are shared writable; /tmp is a fresh tmpfs. cwd is kept,
# stdin is /dev/null, the exit status is the command's (125: the VM failed,
# 124: timeout). Only one VM runs at a time (flock on the cache dir).
#
# Usage: scripts/testhost/run-in-kvm-host.sh [--] COMMAND [ARGS...]
# Env:   TESTHOST_RW       colon-separated writable host dirs
#                          (default: the root of this repository)
#        TESTHOST_ENV      extra variable names to pass in (PATH, HOME, LANG,
#                          LC_ALL, TZ, CI, NODE_OPTIONS, NODE_ENV, TSVMM_* always)
#        TESTHOST_MACHINE  pc (default), q35 or microvm
#        TESTHOST_CPU      QEMU -cpu model (default max)
#        TESTHOST_MEM      MiB of guest RAM (default 2048)
#        TESTHOST_APPEND   extra kernel args, e.g. kvm_amd.npt=0
#        TESTHOST_TIMEOUT  seconds before the VM is killed (default 3600)
#        TESTHOST_VERBOSE  1: show the boot log and timings
set -euo pipefail
[ "${1:-}" = -- ] && shift
if [ $# -eq 0 ]; then echo "usage: $0 [--] COMMAND [ARGS...]" >&2; exit 2; fi
here=$(cd "$(dirname "$0")" && pwd)
cache=${TESTHOST_CACHE:-/root/.cache/tsvmm/testhost}
verbose=${TESTHOST_VERBOSE:-0}
log() { echo "[testhost] $*" >&2; }

. "$here/../lib/testhost.sh"
th_job_init

# The command as a bash script, run in the chroot by the VM's init.
th_write_cmd "PATH HOME LANG LC_ALL TZ CI NODE_OPTIONS NODE_ENV" "$@"

machine=${TESTHOST_MACHINE:-pc}
case $machine in
microvm)
	# No PIT/HPET reference for the TSC here: give its rate (TCG's guest TSC
	# runs at the host's) and skip the jiffies watchdog.
	p9dev=virtio-9p-device
	machine_opts=microvm,accel=tcg,rtc=off
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	kernel_args="tsc_early_khz=$khz tsc=reliable no_timer_check" ;;
*)
	p9dev=virtio-9p-pci
	machine_opts=$machine,accel=tcg
	kernel_args= ;;
esac

share hostroot / ro
share job "$job"
th_share_rw "$(cd "$here/../.." && pwd)"

th_lock_and_prepare
th_run_qemu qemu-system-x86_64 -machine "$machine_opts" -cpu "${TESTHOST_CPU:-max}" \
	-smp 1 -m "${TESTHOST_MEM:-2048}" \
	-kernel "$build/vmlinux" -initrd "$build/initramfs.gz" \
	-append "console=ttyS0 quiet panic=-1 mitigations=off $kernel_args ${TESTHOST_APPEND:-}"
th_finish
