# What the test hosts' /init scripts share (scripts/testhost/init.sh, x86,
# and scripts/testhost-arm64/init.sh): prepare.sh puts this file in the
# initramfs as /lib/testhost-init.sh and /init sources it (busybox sh, PID 1
# inside the QEMU VM). The console markers (@@TESTHOST-...@@, read by
# th_show_console in testhost.sh), the mounts, the modules for 9p and TAP
# networking, the job share, and running the job's command.

say() { echo "@@TESTHOST-$*@@"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
die() { say "ERROR $*"; dmesg | tail -n 30; sync; poweroff -f; sleep 5; }

# proc, sysfs and devtmpfs in the root $1 ("" for /).
th_mount_kernel_fs() {
	mount -t proc proc "$1/proc"
	mount -t sysfs sys "$1/sys"
	mount -t devtmpfs dev "$1/dev"
}

# devpts, /dev/shm, /tmp and /run in the root $1 ("" for /).
th_mount_runtime_fs() {
	mkdir -p "$1/dev/pts" "$1/dev/shm"
	mount -t devpts -o ptmxmode=0666 devpts "$1/dev/pts"
	mount -t tmpfs shm "$1/dev/shm"
	mount -t tmpfs -o mode=1777 tmp "$1/tmp"
	mount -t tmpfs -o mode=0755 run "$1/run"
}

# Loads each module named, or stops the VM.
th_modprobe() {
	for m in "$@"; do
		modprobe "$m" || die "modprobe $m failed"
	done
}

# TAP networking (tsvmm --net tap:NAME): /dev/net/tun. devtmpfs creates the
# node when the module loads; make it by hand if it did not. Module autoload
# (e.g. `ip link add ... type dummy|veth|bridge`) runs this helper in our
# root, even for a command in a chroot: busybox modprobe with the modules in
# the initramfs.
th_net_modules() {
	modprobe tun || say "WARN modprobe tun failed"
	if [ ! -c /dev/net/tun ]; then
		mkdir -p /dev/net
		mknod -m 0666 /dev/net/tun c 10 200 || say "WARN no /dev/net/tun"
	fi
	echo /bin/modprobe > /proc/sys/kernel/modprobe
}

p9="trans=virtio,version=9p2000.L,msize=524288"

# Mounts the job share on $1 (sets $job) and each writable share listed in
# its "mounts", one a line: <9p tag> <9p cache mode> <absolute path>, at
# that path under the root $2 ("" for /).
th_mount_job() {
	job=$1
	mkdir -p "$job"
	mount -t 9p -o "$p9,cache=none" job "$job" || die "mount job"
	while read -r tag cache path; do
		[ -n "$tag" ] || continue
		mkdir -p "$2$path"
		mount -t 9p -o "$p9,cache=$cache" "$tag" "$2$path" || die "mount $tag on $path"
	done < "$job/mounts"
}

# Loopback up, hostname $1, the console quiet (no CR added, kernel
# messages off).
th_settle() {
	ip link set lo up
	hostname "$1"
	stty -F /dev/console -onlcr 2>/dev/null
	dmesg -n 1
}

# Runs the command (the arguments after $1) on the console between the
# BEGIN and EXIT markers; writes "$1 t0 t1" ($1: fields to put first, may be
# empty; t0, t1: uptime at start and end) to $job/timing and the command's
# exit status to $job/status, then powers off.
th_run_job() {
	timing_prefix=$1
	shift
	t0=$(uptime_s)
	say "BEGIN $t0"
	"$@" </dev/null >/dev/console 2>&1
	rc=$?
	t1=$(uptime_s)
	echo "${timing_prefix:+$timing_prefix }$t0 $t1" > "$job/timing"
	echo "$rc" > "$job/status"
	sync
	say "EXIT $rc"
	poweroff -f
	sleep 5
}
