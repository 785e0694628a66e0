#!/bin/bash
# Prepare the test host: install QEMU if missing, fetch Debian's kernel and
# busybox-static packages, build vmlinux + initramfs (cached, keyed by inputs).
# Prints the build directory (vmlinuz, vmlinux, initramfs.gz) on stdout.
#
# Env: TESTHOST_CACHE      cache dir (default /root/.cache/tsvmm/testhost)
#      TESTHOST_KERNEL_PKG e.g. linux-image-6.1.0-56-amd64 (default: newest
#                          cached one, else what linux-image-amd64 depends on)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${TESTHOST_CACHE:-/root/.cache/tsvmm/testhost}
debs=$cache/debs
# tun is loaded at boot (/dev/net/tun for --net tap); dummy, veth and bridge
# are only in the initramfs, for the kernel to autoload on demand (init.sh
# points /proc/sys/kernel/modprobe at busybox).
modules="virtio_pci virtio_mmio 9pnet_virtio 9p overlay kvm_amd kvm_intel tun dummy veth bridge"
log() { echo "[testhost] $*" >&2; }
mkdir -p "$debs"
exec 8> "$cache/prepare.lock"
flock 8 # one build at a time

apt_ready() { apt-cache show busybox-static >/dev/null 2>&1 || apt-get update >&2; }

if ! command -v qemu-system-x86_64 >/dev/null; then
	log "installing qemu-system-x86"
	apt_ready
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 >&2
fi

# cached_deb PKG: newest cached .deb of PKG, downloading it when missing.
cached_deb() {
	local f
	f=$(ls "$debs/$1"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$f" ]; then
		apt_ready
		log "downloading $1"
		(cd "$debs" && apt-get download -o APT::Sandbox::User=root "$1" >&2)
		f=$(ls "$debs/$1"_*.deb | sort -V | tail -n 1)
	fi
	echo "$f"
}

kpkg=${TESTHOST_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
	f=$(ls "$debs"/linux-image-*-amd64_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$f" ]; then
		kpkg=$(basename "$f"); kpkg=${kpkg%%_*}
	else
		apt_ready
		kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
	fi
fi
kdeb=$(cached_deb "$kpkg")
bdeb=$(cached_deb busybox-static)

key=$( { basename "$kdeb"; basename "$bdeb"; echo "$modules"; cat "$here/init.sh" "$0"; } |
	sha256sum | cut -c1-16)
out=$cache/build-$key
if [ -f "$out/initramfs.gz" ]; then echo "$out"; exit 0; fi

log "building kernel+initramfs ($kpkg) in $out"
tmp=$(mktemp -d "$cache/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$kdeb" "$tmp/k"
dpkg-deb -x "$bdeb" "$tmp/bb"
bb=$tmp/bb/bin/busybox
kver=$(ls "$tmp/k/lib/modules")
kmods=$tmp/k/lib/modules/$kver
"$bb" depmod -b "$tmp/k" "$kver"

# Initramfs: busybox + wanted modules with their dependencies (from modules.dep).
rd=$tmp/rd
mkdir -p "$rd/bin" "$rd/proc" "$rd/sys" "$rd/dev" "$rd/lib/modules/$kver"
cp "$bb" "$rd/bin/busybox"
for applet in $("$bb" --list); do [ "$applet" = busybox ] || ln -s busybox "$rd/bin/$applet"; done
cp "$here/init.sh" "$rd/init"
chmod 755 "$rd/init"
awk -v want="$modules" '
	BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) { m = w[i]; gsub("-", "_", m); wanted[m] = 1 } }
	{ name = $1; sub(":$", "", name); sub(".*/", "", name); sub("\\.ko.*$", "", name); gsub("-", "_", name)
	  if (name in wanted) for (i = 1; i <= NF; i++) { f = $i; sub(":$", "", f); print f } }
' "$kmods/modules.dep" | sort -u | while read -r ko; do
	mkdir -p "$rd/lib/modules/$kver/$(dirname "$ko")"
	cp "$kmods/$ko" "$rd/lib/modules/$kver/$ko"
done
cp "$kmods/modules.builtin" "$kmods/modules.order" "$rd/lib/modules/$kver/"
"$bb" depmod -b "$rd" "$kver"

mkdir -p "$tmp/out"
cp "$tmp/k/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
# Uncompressed ELF vmlinux: QEMU boots it through its PVH entry point, which
# skips the firmware and the (slow under TCG) in-guest decompression.
off=$(LC_ALL=C grep -obUa $'\xfd7zXZ' "$tmp/out/vmlinuz" | cut -d: -f1 | sed -n 1p)
[ -n "$off" ] || { log "no xz stream in vmlinuz-$kver"; exit 1; }
tail -c +$((off + 1)) "$tmp/out/vmlinuz" > "$tmp/vmlinux.xz"
xz -dc --single-stream "$tmp/vmlinux.xz" > "$tmp/out/vmlinux"
(cd "$rd" && find . | "$bb" cpio -o -H newc 2>/dev/null) | gzip -1 > "$tmp/out/initramfs.gz"
echo "$kpkg $kver" > "$tmp/out/kernel-version"
rm -rf "$out" "$cache"/build-*
mv "$tmp/out" "$out"
echo "$out"
