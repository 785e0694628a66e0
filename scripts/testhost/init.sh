#!/bin/sh
# /init of the test-host initramfs (busybox sh, PID 1 inside the QEMU VM).
# Mounts the host's root read-only (9p) under a tmpfs overlay, adds the
# writable shares listed in the job, loads KVM, runs the job's command in a
# chroot and powers off. The exit status goes to the job share ("status").
PATH=/bin
export PATH

say() { echo "@@TESTHOST-$*@@"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
die() { say "ERROR $*"; dmesg | tail -n 30; sync; poweroff -f; sleep 5; }

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say "INIT $(uptime_s)"

modprobe virtio_mmio 2>/dev/null # microvm
modprobe virtio_pci 2>/dev/null # pc, q35
for m in 9pnet_virtio 9p overlay; do
	modprobe "$m" || die "modprobe $m failed"
done
# kvm_amd/kvm_intel read options such as kvm_amd.npt=0 from the kernel command line.
if grep -qw svm /proc/cpuinfo; then kvm_mod=kvm_amd; else kvm_mod=kvm_intel; fi
modprobe "$kvm_mod" || say "WARN modprobe $kvm_mod failed"
[ -c /dev/kvm ] || say "WARN no /dev/kvm"
# TAP networking (tsvmm --net tap:NAME): /dev/net/tun. devtmpfs creates the
# node when the module loads; make it by hand if it did not.
modprobe tun || say "WARN modprobe tun failed"
if [ ! -c /dev/net/tun ]; then
	mkdir -p /dev/net
	mknod -m 0666 /dev/net/tun c 10 200 || say "WARN no /dev/net/tun"
fi
# Module autoload (e.g. `ip link add ... type dummy|veth|bridge`) runs this
# helper in our root, not the chroot's: use busybox modprobe and the modules
# in the initramfs.
echo /bin/modprobe > /proc/sys/kernel/modprobe

p9="trans=virtio,version=9p2000.L,msize=524288"
mkdir -p /lower /upper /newroot
mount -t 9p -o "$p9,cache=loose,ro" hostroot /lower || die "mount hostroot"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
	die "overlay mount"

r=/newroot
mount -t proc proc $r/proc
mount -t sysfs sys $r/sys
mount -t devtmpfs dev $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs shm $r/dev/shm
mount -t tmpfs -o mode=1777 tmp $r/tmp
mount -t tmpfs -o mode=0755 run $r/run
job=$r/run/testhost
mkdir -p $job
mount -t 9p -o "$p9,cache=none" job $job || die "mount job"
# Each line of "mounts": <9p tag> <absolute path>, shared writable.
while read -r tag path; do
	[ -n "$tag" ] || continue
	mkdir -p "$r$path"
	mount -t 9p -o "$p9,cache=mmap" "$tag" "$r$path" || die "mount $tag on $path"
done < $job/mounts

ip link set lo up
hostname testhost
stty -F /dev/console -onlcr 2>/dev/null
dmesg -n 1

t0=$(uptime_s)
say "BEGIN $t0"
chroot $r /bin/bash /run/testhost/cmd.sh </dev/null >/dev/console 2>&1
rc=$?
t1=$(uptime_s)
echo "$t0 $t1" > $job/timing
echo "$rc" > $job/status
sync
say "EXIT $rc"
poweroff -f
sleep 5
