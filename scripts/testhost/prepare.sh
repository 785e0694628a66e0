#!/bin/bash
# Prepare the test host: install QEMU if missing, fetch Debian's kernel and
# busybox-static packages, build vmlinux + initramfs (cached, keyed by inputs).
# Prints the build directory (vmlinuz, vmlinux, initramfs.gz) on stdout.
# The steps both test hosts take are in ../lib/testhost-prepare.sh.
#
# Env: TESTHOST_CACHE      cache dir (default /root/.cache/tsvmm/testhost)
#      TESTHOST_KERNEL_PKG e.g. linux-image-6.1.0-56-amd64 (default: newest
#                          cached one, else what linux-image-amd64 depends on)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${TESTHOST_CACHE:-/root/.cache/tsvmm/testhost}
# tun is loaded at boot (/dev/net/tun for --net tap); dummy, veth and bridge
# are only in the initramfs, for the kernel to autoload on demand (init.sh
# points /proc/sys/kernel/modprobe at busybox).
modules="virtio_pci virtio_mmio 9pnet_virtio 9p overlay kvm_amd kvm_intel tun dummy veth bridge"
log() { echo "[testhost] $*" >&2; }
. "$here/../lib/testhost-prepare.sh"
th_prepare_lock

# Debian packages through the host's own apt.
deb_arch=amd64
apt_opts=(-o APT::Sandbox::User=root)
apt_update() { apt-get update >&2; }
apt_ready() { apt-cache show busybox-static >/dev/null 2>&1 || apt_update; }

command -v qemu-system-x86_64 >/dev/null || th_apt_install qemu-system-x86

th_kernel_pkg
kdeb=$(th_cached_deb "$kpkg")
bdeb=$(th_cached_deb busybox-static)

key=$( { basename "$kdeb"; basename "$bdeb"; echo "$modules"; } | th_key "$here/init.sh" "$0")
th_reuse_or_start "$key" initramfs.gz

log "building kernel+initramfs ($kpkg) in $out"
th_unpack_kernel "$kdeb"
dpkg-deb -x "$bdeb" "$tmp/bb"
bb=$tmp/bb/bin/busybox
# The host's busybox is the initramfs's: its depmod and cpio serve here too.
depmod=("$bb" depmod)
"${depmod[@]}" -b "$tmp/k" "$kver"

# Initramfs: busybox + wanted modules with their dependencies (from modules.dep).
rd=$tmp/rd
mkdir -p "$rd/bin" "$rd/proc" "$rd/sys" "$rd/dev"
cp "$bb" "$rd/bin/busybox"
for applet in $("$bb" --list); do [ "$applet" = busybox ] || ln -s busybox "$rd/bin/$applet"; done
th_install_init "$here/init.sh" "$rd"
th_copy_modules "$rd" modules.builtin modules.order

mkdir -p "$tmp/out"
cp "$tmp/k/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
# Uncompressed ELF vmlinux: QEMU boots it through its PVH entry point, which
# skips the firmware and the (slow under TCG) in-guest decompression.
off=$(LC_ALL=C grep -obUa $'\xfd7zXZ' "$tmp/out/vmlinuz" | cut -d: -f1 | sed -n 1p)
[ -n "$off" ] || { log "no xz stream in vmlinuz-$kver"; exit 1; }
tail -c +$((off + 1)) "$tmp/out/vmlinuz" > "$tmp/vmlinux.xz"
xz -dc --single-stream "$tmp/vmlinux.xz" > "$tmp/out/vmlinux"
(cd "$rd" && find . | "$bb" cpio -o -H newc 2>/dev/null) | gzip -1 > "$tmp/out/initramfs.gz"
th_publish
