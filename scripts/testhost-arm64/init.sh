#!/bin/sh
# /init of the arm64 test-host initramfs (busybox sh, PID 1 inside the QEMU VM).
# The initramfs is the whole root: busybox, Node.js for arm64 and its glibc.
# Mounts the job share and the writable shares listed in it (9p, each at its
# host path), runs the job's command and powers off. The exit status goes to
# the job share ("status"), the timings to "timing".
PATH=/usr/local/bin:/usr/bin:/bin
HOME=/root
export PATH HOME
/bin/busybox --install -s /bin

say() { echo "@@TESTHOST-$*@@"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
die() { say "ERROR $*"; dmesg | tail -n 30; sync; poweroff -f; sleep 5; }

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs shm /dev/shm
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
say "INIT $(uptime_s)"

# KVM is built into Debian's arm64 kernel: /dev/kvm exists if the kernel was
# entered at EL2 (QEMU's virtualization=on) and KVM initialised there.
[ -c /dev/kvm ] || say "WARN no /dev/kvm"
for m in virtio_mmio 9pnet_virtio 9p; do
	modprobe "$m" || die "modprobe $m failed"
done
# TAP networking (tsvmm --net tap:NAME): /dev/net/tun.
modprobe tun || say "WARN modprobe tun failed"
if [ ! -c /dev/net/tun ]; then
	mkdir -p /dev/net
	mknod -m 0666 /dev/net/tun c 10 200 || say "WARN no /dev/net/tun"
fi
# Module autoload (dummy, veth, bridge on `ip link add`) through busybox.
echo /bin/modprobe > /proc/sys/kernel/modprobe

p9="trans=virtio,version=9p2000.L,msize=524288"
job=/run/testhost
mkdir -p $job
mount -t 9p -o "$p9,cache=none" job $job || die "mount job"
# Each line of "mounts": <9p tag> <9p cache mode> <absolute path>, shared writable.
while read -r tag cache path; do
	[ -n "$tag" ] || continue
	mkdir -p "$path"
	mount -t 9p -o "$p9,cache=$cache" "$tag" "$path" || die "mount $tag on $path"
done < $job/mounts

ip link set lo up
hostname testhost-arm64
stty -F /dev/console -onlcr 2>/dev/null
dmesg -n 1
# When KVM came up: the kernel's timestamp of its "initialized successfully" line.
kvm_t=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] kvm .*initialized successfully.*/\1/p' | head -n 1)

t0=$(uptime_s)
say "BEGIN $t0"
sh $job/cmd.sh </dev/null >/dev/console 2>&1
rc=$?
t1=$(uptime_s)
echo "${kvm_t:-none} $t0 $t1" > $job/timing
echo "$rc" > $job/status
sync
say "EXIT $rc"
poweroff -f
sleep 5
