# What scripts/testhost/run-in-kvm-host.sh (x86) and
# scripts/testhost-arm64/run.sh share: the job directory and its clean-up,
# the command's script, the writable shares, running QEMU with the console
# shown, and the command's exit status and timings. Sourced; the caller sets
# `cache`, `verbose`, `p9dev` (the virtio-9p device QEMU's machine takes) and
# a `log` function. The VM's side is testhost-init.sh.

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

# $1 single-quoted: bash and busybox sh both read it back as it was.
th_quote() {
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

# $job/cmd.sh, the command as a script for the VM: cd to this directory, the
# lines in $th_cmd_preamble, an export of each variable named in $1 that is
# set (and of TESTHOST_ENV's and every TSVMM_* one), then exec the command
# (the other arguments).
th_write_cmd() {
	local vars=$1 v a
	shift
	{
		printf 'cd %s || exit 125\n' "$(th_quote "$PWD")"
		[ -z "${th_cmd_preamble:-}" ] || printf '%s\n' "$th_cmd_preamble"
		for v in $vars ${TESTHOST_ENV:-} $(compgen -e | grep '^TSVMM_' || true); do
			if [ -n "${!v+set}" ]; then printf 'export %s=%s\n' "$v" "$(th_quote "${!v}")"; fi
		done
		printf 'exec'
		for a in "$@"; do printf ' %s' "$(th_quote "$a")"; done
		printf '\n'
	} > "$job/cmd.sh"
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
# and lists "TAG CACHE DIR" in $job/mounts for the VM's init (th_mount_job),
# CACHE being the 9p cache mode $2 (default mmap).
th_share_rw() {
	local d rw_dirs
	: > "$job/mounts"
	IFS=: read -ra rw_dirs <<< "${TESTHOST_RW-$1}"
	for d in "${rw_dirs[@]}"; do
		[ -n "$d" ] || continue
		d=$(realpath "$d")
		share "rw$n" "$d"
		echo "rw$((n - 1)) ${2:-mmap} $d" >> "$job/mounts"
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

# Runs QEMU ($1) with the options every test host takes, the other
# arguments and the shares; its console goes through th_show_console, and
# TESTHOST_TIMEOUT (default 3600 s) ends it. Sets qemu_rc, start and end.
th_run_qemu() {
	local bin=$1
	shift
	start=$(date +%s.%N)
	set +e
	timeout --foreground -k 5 "${TESTHOST_TIMEOUT:-3600}" "$bin" -pidfile "$job/qemu.pid" \
		-nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot \
		"$@" "${qemu_args[@]}" </dev/null 2> "$job/qemu.err" |
		th_show_console
	qemu_rc=${PIPESTATUS[0]}
	set -e
	end=$(date +%s.%N)
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

# Exits with the command's status; when verbose, logs the timings first
# ($job/timing: [KVM ready] t0 t1, the guest's uptime) and QEMU's messages.
th_finish() {
	th_read_status "$qemu_rc"
	if [ "$verbose" = 1 ]; then
		local f tk=
		read -ra f < "$job/timing"
		[ "${#f[@]}" -lt 3 ] || tk=${f[0]}
		log "$(awk -v s="$start" -v e="$end" -v tk="$tk" -v t0="${f[-2]}" -v t1="${f[-1]}" 'BEGIN {
			printf "wall %.2fs; command %.2fs; guest kernel start->%scommand %.2fs; qemu start->command ~%.2fs",
				e - s, t1 - t0, (tk == "" ? "" : "KVM ready " tk "s, ->"), t0, e - s - (t1 - t0) }')"
		if [ -s "$job/qemu.err" ]; then cat "$job/qemu.err" >&2; fi
	fi
	exit "$rc"
}
