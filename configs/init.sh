#!/bin/sh
# /init of tsvmm's default guest: the first process the kernel runs from the
# initramfs (scripts/build-guest.mjs packs it with busybox from Debian's
# busybox-static; src/guest/initramfs.ts lays out the archive).
#
# It mounts the kernel's file systems, loads the modules listed in
# /etc/modules (only the Debian-kernel guest has any), mounts /dev/vda (ext4)
# read/write on /mnt when there is a disk, brings up eth0 when there is a
# network card, prints a banner and starts a shell on the console. When that
# shell exits, the guest reboots: with tsvmm's "reboot=k" that is a reset
# through the i8042 controller, and the VMM exits.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The kernel opened /dev/console from the archive's own node before running
# us; devtmpfs now adds the driver-created ones (ttyS0, vda, null, ...).
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
hostname tsvmm

# Modules, dependencies first (resolved from modules.dep at build time).
modules_loaded=0
if [ -f /etc/modules ]; then
	while read -r m; do
		[ -n "$m" ] || continue
		insmod "/lib/modules/$m" || echo "init: insmod $m failed"
		modules_loaded=1
	done < /etc/modules
fi
# A driver loaded just now may add its disk a moment later: wait up to 2 s.
if [ "$modules_loaded" = 1 ]; then
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -b /dev/vda ] && break
		sleep 0.2
	done
fi

disk="no disk (tsvmm -d FILE adds one)"
if [ -b /dev/vda ]; then
	if mount -t ext4 /dev/vda /mnt; then
		disk="/dev/vda (ext4) on /mnt, read/write"
	else
		disk="/dev/vda is there but did not mount as ext4"
	fi
fi

net="no network card"
ip link set lo up 2>/dev/null
if [ -e /sys/class/net/eth0 ]; then
	ip link set eth0 up && net="eth0 up (udhcpc -i eth0 asks for an address)"
fi

cat <<EOF

tsvmm guest: Linux $(uname -r) $(uname -m), busybox sh
  disk: $disk
  net:  $net
  quit: Ctrl-A x, or "exit" (the guest reboots and tsvmm exits)

EOF

# setsid + cttyhack give the shell the console as its controlling terminal,
# so Ctrl-C and job control work.
setsid cttyhack sh -l
echo "init: shell exited; rebooting"
grep -q " /mnt " /proc/mounts && umount /mnt
sync
reboot -f
