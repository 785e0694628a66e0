#!/bin/sh
# /init of the arm64 test-host initramfs (busybox sh, PID 1 inside the QEMU VM).
# The initramfs is the whole root: busybox, Node.js for arm64 and its glibc.
# Mounts the job share and the writable shares listed in it (9p, each at its
# host path), runs the job's command and powers off. The exit status goes to
# the job share ("status"), the timings to "timing". The steps both test
# hosts take are in /lib/testhost-init.sh (scripts/lib/testhost-init.sh).
PATH=/usr/local/bin:/usr/bin:/bin
HOME=/root
export PATH HOME
/bin/busybox --install -s /bin
. /lib/testhost-init.sh

th_mount_kernel_fs ""
th_mount_runtime_fs ""
say "INIT $(uptime_s)"

# KVM is built into Debian's arm64 kernel: /dev/kvm exists if the kernel was
# entered at EL2 (QEMU's virtualization=on) and KVM initialised there.
[ -c /dev/kvm ] || say "WARN no /dev/kvm"
th_modprobe virtio_mmio 9pnet_virtio 9p
th_net_modules

th_mount_job /run/testhost ""

th_settle testhost-arm64
# When KVM came up: the kernel's timestamp of its "initialized successfully" line.
kvm_t=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] kvm .*initialized successfully.*/\1/p' | head -n 1)
th_run_job "${kvm_t:-none}" sh $job/cmd.sh
