# What scripts/testhost/run-in-kvm-host.sh (x86) and
# scripts/testhost-arm64/run.sh share: the job directory and its clean-up,
# the writable shares, showing the command's output from the console, and
# reading the command's exit status. Sourced; the caller sets `cache`,
# `verbose`, `p9dev` (the virtio-9p device QEMU's machine takes) and a `log`
# function.

# A fresh job dir ($job) in $cache; on exit, no QEMU left behind (it would
# hold the lock) and the dir removed.
th_job_init() {
	mkdir -p "$cache"
	job=$(mktemp -d "$cache/job.XXXXXX")
	trap th_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
th_cleanup() {
	if [ -s "$job/qemu.pid" ]; then kill "$(cat "$job/qemu.pid")" 2>/dev/null || true; fi
	rm -rf "$job"
}

# Adds a 9p share of DIR, mount tag TAG (read-only with a third argument),
# to qemu_args.
qemu_args=()
n=0
share() {
	local ro=
	[ -n "${3:-}" ] && ro=,readonly=on
	qemu_args+=(-fsdev "local,id=fs$n,path=$2,security_model=none,multidevs=remap$ro"
		-device "$p9dev,fsdev=fs$n,mount_tag=$1")
	n=$((n + 1))
}

# Shares each TESTHOST_RW dir (default: the repository at $1) with `share`,
# and lists "TAG [EXTRA] DIR" in $job/mounts for the VM's init (EXTRA: $2).
th_share_rw() {
	local d rw_dirs
	: > "$job/mounts"
	IFS=: read -ra rw_dirs <<< "${TESTHOST_RW-$1}"
	for d in "${rw_dirs[@]}"; do
		[ -n "$d" ] || continue
		d=$(realpath "$d")
		share "rw$n" "$d"
		echo "rw$((n - 1)) ${2:+$2 }$d" >> "$job/mounts"
	done
}

# Takes the VM lock (one test-host VM at a time) and sets $build to the
# prepared kernel and initramfs: under the lock, because a rebuild (new
# inputs) deletes the previous build, which must not happen while another
# wrapper is about to boot it.
th_lock_and_prepare() {
	exec 9> "$cache/qemu.lock"
	flock 9
	build=$("$here/prepare.sh")
}

# The console (stdin) into $job/console.log; shown whole when verbose, else
# only the command's output: the lines between the init's markers.
th_show_console() {
	tee "$job/console.log" |
		if [ "$verbose" = 1 ]; then cat; else
			sed -u -n '/@@TESTHOST-BEGIN/,/@@TESTHOST-EXIT/ {
				/@@TESTHOST-BEGIN/d
				/@@TESTHOST-EXIT/ { s/@@TESTHOST-EXIT [0-9]*@@\r*$//; /^$/d; }
				p
			}'
		fi
}

# The command's exit status ($rc) from $job/status; when the VM reported
# none, the console tail and QEMU's errors, and exit 124 (timeout, QEMU's
# status $1) or 125.
th_read_status() {
	if [ ! -s "$job/status" ]; then
		log "VM did not report an exit status (qemu exit $1); console tail:"
		tail -n 40 "$job/console.log" >&2
		cat "$job/qemu.err" >&2
		[ "$1" = 124 ] && exit 124
		exit 125
	fi
	rc=$(cat "$job/status")
}
