#!/usr/bin/env bash
# What the tests (npm test, npm run guest + test:boot, test:arm64) need from
# the system, each with the Debian package that provides it and why: checked
# before anything runs, so that a machine missing a package fails in its
# first minute with one line per missing piece, not 20 minutes later with a
# failing (or, worse, skipping) test. .ci/run installs these packages and then
# runs this; test/ci.test.ts checks that .ci/run installs every package named
# here.
#
# Usage: scripts/check-packages.sh              one line per missing piece; exit 1 if any
#        scripts/check-packages.sh --packages   the packages, one per line (for apt-get install)
set -uo pipefail

# kind name package why. kind: cmd (on PATH, or in /usr/sbin, /sbin), file.
# The qemu-system-x86 line applies only where /dev/kvm is missing (the tests
# then run in the test host).
NEEDS=(
	"cmd gcc build-essential the native addon (node-gyp) and the test guests"
	"cmd make build-essential node-gyp, the guest kernel build"
	"cmd readelf binutils test/guests/build.sh checks each guest's entry point"
	"cmd nm binutils test/guests/build.sh checks the interrupt stubs"
	"cmd python3 python3 node-gyp; test/helpers/pty_driver.py drives tsvmm on a terminal"
	"cmd xz xz-utils extract-vmlinux (xz and lzma payloads); the guest build"
	"cmd lz4 lz4 extract-vmlinux (lz4 payloads); the guest kernel's LZ4 compression"
	"cmd zstd zstd extract-vmlinux (zstd payloads)"
	"cmd cpio cpio initrds for the banner tests"
	"cmd mkfs.ext4 e2fsprogs the guest's ext4 disk"
	"cmd debugfs e2fsprogs test:boot and test:arm64 read the disk back"
	"cmd e2fsck e2fsprogs test:boot and test:arm64 check the disk"
	"cmd dumpe2fs e2fsprogs test:boot checks the root's mount count"
	"cmd ip iproute2 the TAP and network-namespace tests"
	"cmd setpriv util-linux tests that drop CAP_NET_ADMIN"
	"cmd flock util-linux the test hosts' one-VM-at-a-time lock"
	"cmd dtc device-tree-compiler the arm64 device tree tests decompile the blob"
	"cmd aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu the arm64 UAPI checks and the arm64 addon"
	"file /usr/aarch64-linux-gnu/include/stdio.h libc6-dev-arm64-cross the arm64 addon's C library headers"
	"file /usr/aarch64-linux-gnu/include/linux/kvm.h linux-libc-dev-arm64-cross the arm64 UAPI checks (linux/kvm.h)"
	"file /usr/include/x86_64-linux-gnu/asm/unistd_64.h linux-libc-dev the x86_64 seccomp numbers are checked against it"
	"file /usr/include/asm-generic/unistd.h linux-libc-dev the aarch64 seccomp numbers are checked against it"
	"cmd bc bc the guest kernel build (npm run guest)"
	"cmd bison bison the guest kernel build"
	"cmd flex flex the guest kernel build"
	"cmd patch patch the guest kernel build (configs/patches)"
	"cmd perl perl the guest kernel build"
	"file /usr/include/libelf.h libelf-dev the guest kernel build (objtool)"
	"cmd depmod kmod the arm64 test host's initramfs"
	"cmd qemu-system-aarch64 qemu-system-arm the arm64 test host (test:arm64)"
	"cmd qemu-system-x86_64 qemu-system-x86 the x86 test host (where /dev/kvm is missing)"
	"cmd dpkg-deb dpkg unpacking Debian's kernel and busybox"
	"cmd apt-get apt fetching Debian's kernel and the guest's packages"
)

applies() { # the line's name: skip qemu-system-x86_64 where /dev/kvm works
	[ "$1" != qemu-system-x86_64 ] || [ ! -e "${TSVMM_KVM_DEVICE:-/dev/kvm}" ]
}

if [ "${1:-}" = --packages ]; then
	for line in "${NEEDS[@]}"; do
		read -r _ name pkg _ <<< "$line"
		applies "$name" && echo "$pkg"
	done | awk '!seen[$0]++'
	exit 0
fi

present() { # kind name
	if [ "$1" = cmd ]; then
		command -v "$2" >/dev/null 2>&1 || [ -x "/usr/sbin/$2" ] || [ -x "/sbin/$2" ]
	else
		[ -e "$2" ]
	fi
}

missing=()
for line in "${NEEDS[@]}"; do
	read -r kind name pkg why <<< "$line"
	applies "$name" || continue
	if ! present "$kind" "$name"; then
		echo "missing: $name (Debian package $pkg): $why"
		missing+=("$pkg")
	fi
done

# Node.js itself (not from Debian's archive: bookworm's nodejs is 18): >= 20,
# and the headers node-gyp is told to use, if any.
node_missing=0
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
	echo "missing: node >= 20 (found ${node_major/#0/none}; from nodejs.org or NodeSource, Debian's is older): everything"
	node_missing=1
fi
nodedir=$(npm config get nodedir 2>/dev/null || true)
if [ "$node_major" -ge 20 ] && [ -n "$nodedir" ] && [ "$nodedir" != undefined ] && [ "$nodedir" != null ] && [ ! -e "$nodedir/include/node/node_api.h" ]; then
	echo "missing: $nodedir/include/node/node_api.h (npm's nodedir: the headers of the Node.js package): node-gyp builds the addon against it"
	node_missing=1
fi

if [ ${#missing[@]} -gt 0 ] || [ $node_missing = 1 ]; then
	n=$(( $(printf '%s\n' "${missing[@]}" | awk 'NF && !seen[$0]++' | wc -l) ))
	hint=
	[ "$n" -gt 0 ] && hint="; install: apt-get install -y --no-install-recommends $(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++' | tr '\n' ' ')"
	echo "check-packages: $(( ${#missing[@]} + node_missing )) missing$hint" >&2
	exit 1
fi
echo "check-packages: everything the tests need is installed"
