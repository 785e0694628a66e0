#!/bin/sh
# /init of the test-host initramfs (busybox sh, PID 1 inside the QEMU VM).
# Mounts the host's root read-only (9p) under a tmpfs overlay, adds the
# writable shares listed in the job, loads KVM, runs the job's command in a
# chroot and powers off. The exit status goes to the job share ("status").
# The steps both test hosts take are in /lib/testhost-init.sh
# (scripts/lib/testhost-init.sh).
PATH=/bin
export PATH
. /lib/testhost-init.sh

th_mount_kernel_fs ""
say "INIT $(uptime_s)"

modprobe virtio_mmio 2>/dev/null # microvm
modprobe virtio_pci 2>/dev/null # pc, q35
th_modprobe 9pnet_virtio 9p overlay
# kvm_amd/kvm_intel read options such as kvm_amd.npt=0 from the kernel command line.
if grep -qw svm /proc/cpuinfo; then kvm_mod=kvm_amd; else kvm_mod=kvm_intel; fi
modprobe "$kvm_mod" || say "WARN modprobe $kvm_mod failed"
[ -c /dev/kvm ] || say "WARN no /dev/kvm"
th_net_modules

mkdir -p /lower /upper /newroot
mount -t 9p -o "$p9,cache=loose,ro" hostroot /lower || die "mount hostroot"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
	die "overlay mount"

r=/newroot
th_mount_kernel_fs $r
th_mount_runtime_fs $r
th_mount_job $r/run/testhost $r

th_settle testhost
th_run_job "" chroot $r /bin/bash /run/testhost/cmd.sh
