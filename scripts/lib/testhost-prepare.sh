# What scripts/testhost/prepare.sh (x86) and scripts/testhost-arm64/prepare.sh
# share: the lock, host packages, Debian packages cached in $cache/debs, the
# kernel package and its modules, the build's key, and publishing a build.
# Sourced; the caller sets `cache`, a `log` function, and for the Debian
# packages `deb_arch` (amd64, arm64), `apt_opts` (an array of apt options)
# and the functions `apt_ready` (apt knows the packages) and `apt_update`.

th_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# $debs, and the lock: one prepare at a time.
th_prepare_lock() {
	debs=$cache/debs
	mkdir -p "$debs"
	exec 8> "$cache/prepare.lock"
	flock 8
}

# Installs the host packages named (apt-get update first if apt does not
# know the first one).
th_apt_install() {
	log "installing $*"
	apt-cache show "$1" >/dev/null 2>&1 || apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}

# The newest cached $deb_arch .deb of package $1, downloaded when missing.
th_cached_deb() {
	local f
	f=$(ls "$debs/$1"_*_"$deb_arch".deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$f" ]; then
		apt_ready
		log "downloading $1 ($deb_arch)"
		(cd "$debs" && apt-get "${apt_opts[@]}" download "$1" >&2) ||
			{ apt_update; (cd "$debs" && apt-get "${apt_opts[@]}" download "$1" >&2); }
		f=$(ls "$debs/$1"_*_"$deb_arch".deb | sort -V | tail -n 1)
	fi
	echo "$f"
}

# Sets $kpkg, the kernel package: TESTHOST_KERNEL_PKG, else the newest one
# cached, else the one linux-image-$deb_arch depends on.
th_kernel_pkg() {
	local f
	kpkg=${TESTHOST_KERNEL_PKG:-}
	[ -z "$kpkg" ] || return 0
	f=$(ls "$debs"/linux-image-*-"$deb_arch"_*_"$deb_arch".deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$f" ]; then
		kpkg=$(basename "$f")
		kpkg=${kpkg%%_*}
		return 0
	fi
	apt_ready
	kpkg=$(apt-cache "${apt_opts[@]}" depends "linux-image-$deb_arch" | awk '/Depends: linux-image-/ {print $2; exit}')
	[ -n "$kpkg" ] || { log "no $deb_arch kernel package found"; exit 1; }
}

# The build's key on stdout: 16 hex digits of the SHA-256 of the lines on
# stdin (package file names, options), the shared scripts that go into a
# build (this one, testhost-init.sh) and the files named (the host's own).
th_key() {
	{ cat; cat "$th_lib/testhost-prepare.sh" "$th_lib/testhost-init.sh" "$@"; } | sha256sum | cut -c1-16
}

# Prints $cache/build-$1 and exits when that build is there with its file $2;
# otherwise sets $out to it, and $tmp to a work dir removed on exit.
th_reuse_or_start() {
	out=$cache/build-$1
	if [ -f "$out/$2" ]; then echo "$out"; exit 0; fi
	tmp=$(mktemp -d "$cache/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
}

# Unpacks the kernel package's .deb $1 into $tmp/k; sets $kver and $kmods
# (its modules folder).
th_unpack_kernel() {
	dpkg-deb -x "$1" "$tmp/k"
	kver=$(ls "$tmp/k/lib/modules")
	kmods=$tmp/k/lib/modules/$kver
}

# Copies the modules named in $modules, with every module they depend on
# (modules.dep in $kmods), into the root $1, and the index files named after
# it; then runs depmod there ("${depmod[@]}").
th_copy_modules() {
	local rd=$1 ko f
	shift
	mkdir -p "$rd/lib/modules/$kver"
	awk -v want="$modules" '
		BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) { m = w[i]; gsub("-", "_", m); wanted[m] = 1 } }
		{ name = $1; sub(":$", "", name); sub(".*/", "", name); sub("\\.ko.*$", "", name); gsub("-", "_", name)
		  if (name in wanted) for (i = 1; i <= NF; i++) { f = $i; sub(":$", "", f); print f } }
	' "$kmods/modules.dep" | sort -u | while read -r ko; do
		mkdir -p "$rd/lib/modules/$kver/$(dirname "$ko")"
		cp "$kmods/$ko" "$rd/lib/modules/$kver/$ko"
	done
	for f in "$@"; do cp "$kmods/$f" "$rd/lib/modules/$kver/"; done
	"${depmod[@]}" -b "$rd" "$kver"
}

# /init ($1) and the shared init steps it sources, into the root $2.
th_install_init() {
	mkdir -p "$2/lib"
	cp "$1" "$2/init"
	cp "$th_lib/testhost-init.sh" "$2/lib/testhost-init.sh"
	chmod 755 "$2/init"
}

# Moves the finished build ($tmp/out) to $out, removing the older ones, and
# prints its path.
th_publish() {
	echo "$kpkg $kver" > "$tmp/out/kernel-version"
	rm -rf "$out" "$cache"/build-*
	mv "$tmp/out" "$out"
	echo "$out"
}
