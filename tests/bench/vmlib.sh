# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the in-VM scripts of `make demo` (tests/demo/demo.sh) and
# `make bench` (tests/bench/vm-bench.sh): progress lines, timing, scratch
# filesystems, the module, chain devices.  Sourced, never run.

: "${DMC_ROOT:?run through tests/vm/run}"
: "${DMC_KO:=$DMC_ROOT/kmod/dm-chain.ko}"
: "${CHAINCTL:=$DMC_ROOT/userspace/chainctl}"
: "${DMC_TMP:=/tmp}"
BENCHBIN=$DMC_ROOT/tests/bench/bin

# The host scripts pass snapshots of chainctl, the module and the bench
# tools taken when the run started (--bin DIR), so that a rebuild in the
# work tree during the run cannot change what is measured.
# parse_common_args ARGS...: sets CHAINCTL, DMC_KO, BENCHBIN; leaves the
# other arguments in REST_ARGS.
REST_ARGS=()
parse_common_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--bin)
			CHAINCTL=$2/chainctl; DMC_KO=$2/dm-chain.ko; BENCHBIN=$2
			shift 2 ;;
		*) REST_ARGS+=("$1"); shift ;;
		esac
	done
}
read -r -a DMC_DISK_LIST <<< "${DMC_DISKS:-}"

# Seconds since the script started (host clock, see hostnow), one decimal.
elapsed() { awk -v a="$_t_start" -v b="$(hostnow)" 'BEGIN { printf "%.1f", b - a }'; }

# A progress line: "[  12.3s] text".
say() { printf '[%7ss] %s\n' "$(elapsed)" "$*"; }

# rotated REP ITEM...: the items, one per line, starting at item REP
# (1-based, wrapping): each repeat starts with another contender, so that
# no contender always runs first (cold caches, a fresh filesystem) or
# always after the same one.
rotated() {
	local r=$1
	shift
	printf '%s\n' "$@" | awk -v r="$r" '{ d[NR - 1] = $0 }
		END { for (i = 0; i < NR; i++) print d[(i + r - 1) % NR] }'
}

# Stop with a loud message.
die() {
	printf '[%7ss] FAILED: %s\n' "$(elapsed)" "$*"
	exit 1
}

now() { date +%s.%N; }
# secs_since T0: seconds since T0 (from now), 3 decimals.
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

# The host's clock, read through the results share: the guest's own clock
# is not to be trusted for timing when the host is busy (under TCG the
# guest may find its TSC "unstable" and fall back to jiffies, which then
# run several times too fast).  Truncating a file on the 9p share makes
# the host stamp it with its own time.  Falls back to the guest clock.
HOSTCLOCK_FILE=/run/results/.hostclock
hostnow() {
	if : > "$HOSTCLOCK_FILE" 2>/dev/null; then
		stat -c %.9Y "$HOSTCLOCK_FILE"
	else
		date +%s.%N
	fi
}
hostclock_works() { : > "$HOSTCLOCK_FILE" 2>/dev/null && stat -c %.9Y "$HOSTCLOCK_FILE" > /dev/null 2>&1; }
# host_secs_since T0 (a hostnow value): seconds, 3 decimals.  For progress
# lines; a timed figure uses the stopwatch below.
host_secs_since() { awk -v a="$1" -v b="$(hostnow)" 'BEGIN { printf "%.3f", b - a }'; }

# A stopwatch on the host's clock with nothing but the timed work inside:
# watch_start NAME and watch_stop NAME each truncate a file of their own
# on the results share (a builtin redirection: no fork, no program start)
# and watch_secs NAME reads both stamps afterwards.  hostnow itself cannot
# do that: the stat that reads its stamp, and the subshell that captures
# it, run inside the interval, and under a saturating guest load each
# program start costs several hundred milliseconds here (issue 18's notes).  Falls back to the
# guest's clock ($EPOCHREALTIME, also fork-free).  NAME: a shell word.
HOSTCLOCK_DIR=/run/results/.stopwatch
watch_mark() {
	: > "$HOSTCLOCK_DIR/$1.$2" 2>/dev/null ||
		printf -v "_watch_${1}_$2" '%s' "$EPOCHREALTIME"
}
watch_start() {
	[ -d "$HOSTCLOCK_DIR" ] || mkdir "$HOSTCLOCK_DIR" 2>/dev/null
	rm -f "$HOSTCLOCK_DIR/$1.0" "$HOSTCLOCK_DIR/$1.1"
	unset "_watch_${1}_0" "_watch_${1}_1"
	watch_mark "$1" 0
}
watch_stop() { watch_mark "$1" 1; }
watch_secs() {
	local a b v
	if [ -e "$HOSTCLOCK_DIR/$1.0" ] && [ -e "$HOSTCLOCK_DIR/$1.1" ]; then
		{ read -r a; read -r b; } < <(stat -c %.9Y "$HOSTCLOCK_DIR/$1.0" "$HOSTCLOCK_DIR/$1.1")
	else
		v=_watch_${1}_0; a=${!v:-}
		v=_watch_${1}_1; b=${!v:-}
	fi
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "stopwatch $1: no start or no stop stamp" >&2
		return 1
	fi
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }'
}
_t_start=$(hostnow)

# The guest kernel's clocksource (tsc, refined-jiffies, ...).
clocksource() {
	cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null
}

# lat_window LOG T0 T1: the completions of a fio latency log (written with
# --write_lat_log --log_avg_msec=0 --log_unix_epoch=1: one line per I/O,
# "epoch ms, latency ns, ...") stamped within [T0, T1] (epoch seconds, as
# $EPOCHREALTIME gives them), as JSON: seconds, ios, iops and completion
# latency mean, p50, p99, p99.9 and max in us (nearest rank).  Fails when
# no completion falls in the window.  The log's stamps have 1 ms steps.
lat_window() {
	awk -F', *' -v t0="$2" -v t1="$3" '
		$1 >= t0 * 1000 && $1 <= t1 * 1000 { print $2 }' "$1" | sort -n |
	awk -v t0="$2" -v t1="$3" '
		BEGIN { secs = t1 - t0 }
		{ v[NR] = $1; sum += $1 }
		function rank(p,   i) { i = int(p * NR + 0.999999); return v[i < 1 ? 1 : i] }
		END {
			if (NR == 0 || secs <= 0) exit 1
			printf "{\"seconds\": %.6f, \"ios\": %d, \"iops\": %.3f, \"mean_us\": %.3f, \"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f}\n",
				secs, NR, NR / secs, sum / NR / 1000, rank(0.5) / 1000,
				rank(0.99) / 1000, rank(0.999) / 1000, v[NR] / 1000
		}'
}

# fio_stop PID: end a time-based fio run (SIGINT: it writes its report),
# killed if it has not stopped within a minute.
fio_stop() {
	local i
	kill -INT "$1" 2>/dev/null
	for i in $(seq 1 120); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.5
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# Human size of a byte count.
hsize() {
	awk -v b="$1" 'BEGIN {
		s = b < 0 ? "-" : ""; if (b < 0) b = -b
		split("B KiB MiB GiB TiB", u, " "); i = 1
		while (b >= 1024 && i < 5) { b /= 1024; i++ }
		printf (i == 1 ? "%s%d %s" : "%s%.2f %s"), s, b, u[i] }'
}

need_tools() {
	local t
	for t in "$@"; do
		[ -x "$t" ] || command -v "$t" > /dev/null 2>&1 || die "missing tool: $t"
	done
}

# fs_mount TYPE DEV MNT: a fresh filesystem (XFS with reflink).
fs_mount() {
	local type=$1 dev=$2 mnt=$3
	case "$type" in
	xfs)  mkfs.xfs -q -f -m reflink=1 "$dev" ;;
	ext4) mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev" ;;
	*) die "fs_mount: unknown filesystem $type" ;;
	esac || die "mkfs.$type $dev"
	mkdir -p "$mnt" && mount "$dev" "$mnt" || die "mount $dev $mnt"
}

# Bytes used on the filesystem holding $1 (after a sync).
fs_used() {
	sync
	df -B1 --output=used "$1" | tail -n 1 | tr -d ' '
}

# drop_caches: sync, let XFS finish freeing, drop the page cache, then read
# back the programs in WARM_PROGRAMS.
drop_caches() {
	local m
	sync
	# XFS frees a deleted file's extents in the background (inodegc): a
	# base with thousands of reflinked extents, deleted by a reset, would
	# otherwise be paid for by whichever contender runs next.  Wait for it.
	for m in $(findmnt -n -t xfs -o TARGET); do
		xfs_spaceman -c 'prealloc -s' "$m" > /dev/null 2>&1
	done
	sync
	echo 3 > /proc/sys/vm/drop_caches
	warm_programs
}

# Programs whose runs are timed (the caller's list): drop_caches reads them
# and their shared libraries back in, so that a timing covers the work and
# not a cold load over the VM's 9p root, which costs a program with more
# libraries more (qemu-img loads about twenty, chainctl three, the bare clone
# loop one).
# The files (programs and libraries) are listed once, on first use: ldd
# is itself a program start under emulation.
WARM_PROGRAMS=()
WARM_FILES=()
warm_programs() {
	local p
	if [ ${#WARM_FILES[@]} = 0 ]; then
		for p in "${WARM_PROGRAMS[@]}"; do
			WARM_FILES+=("$p")
			mapfile -t -O ${#WARM_FILES[@]} WARM_FILES < <(ldd "$p" 2> /dev/null |
				awk '$2 == "=>" && $3 ~ /^\// {print $3}')
		done
	fi
	[ ${#WARM_FILES[@]} = 0 ] || cat "${WARM_FILES[@]}" > /dev/null 2>&1
}

# load_module: 0 when the dm-chain module is loaded; says why not otherwise.
MODULE_WHY=
load_module() {
	grep -q '^dm_chain ' /proc/modules && return 0
	if [ ! -f "$DMC_KO" ]; then
		MODULE_WHY="$DMC_KO was not built"
		return 1
	fi
	local out
	if ! out=$(insmod "$DMC_KO" 2>&1); then
		MODULE_WHY="insmod failed: $out"
		return 1
	fi
	return 0
}

# chain_create NAME LEAF [--read-only]: /dev/mapper/NAME over the chain
# ending at LEAF, through `chainctl device create`, else through dmsetup
# with a table line built here (docs/target.md: nr_layers, base first).
# Sets CHAIN_HOW to the way that worked; returns 1 (reason in CHAIN_WHY).
CHAIN_HOW=
CHAIN_WHY=
chain_create() {
	local name=$1 leaf=$2 ro=${3:-} out paths sectors table feat=
	CHAIN_WHY=
	if out=$("$CHAINCTL" device create "$name" "$leaf" $ro 2>&1); then
		[ -b "/dev/mapper/$name" ] || dmsetup mknodes "$name" > /dev/null 2>&1
		if [ -b "/dev/mapper/$name" ]; then
			CHAIN_HOW="chainctl device create"
			return 0
		fi
		CHAIN_WHY="chainctl device create: no /dev/mapper/$name appeared"
		"$CHAINCTL" device remove "$name" > /dev/null 2>&1
	else
		CHAIN_WHY="chainctl device create: $out"
	fi
	# Fallback: dmsetup with the layer list from chainctl layer info --chain.
	paths=$("$CHAINCTL" layer info --chain -j "$leaf" 2>/dev/null |
		jq -r '.layers | reverse | .[].path' 2>/dev/null) || paths=
	[ -n "$paths" ] || return 1
	local dir n=0 list=()
	dir=$(dirname "$(realpath "$leaf")")
	while IFS= read -r p; do
		case "$p" in /*) ;; *) p=$(realpath -m "$(dirname "$leaf")/$p" 2>/dev/null || echo "$dir/$p") ;; esac
		list+=("$p"); n=$((n + 1))
	done <<< "$paths"
	sectors=$(( $("$CHAINCTL" layer info -j "$leaf" | jq -r .virtual_size_bytes) / 512 ))
	# the base is raw when the layer above it records a raw parent
	if [ "$("$CHAINCTL" layer info --chain -j "$leaf" 2>/dev/null |
		jq -r '.layers[-1].format' 2>/dev/null)" = raw ]; then
		feat=" raw_base"
	fi
	[ -n "$ro" ] && feat+=" read_only"
	[ -n "$feat" ] && feat=" $(wc -w <<< "$feat")$feat"
	table="0 $sectors chain $n ${list[*]}$feat"
	if out=$(dmsetup create --noudevsync "$name" --table "$table" 2>&1); then
		dmsetup mknodes "$name" > /dev/null 2>&1
		if [ -b "/dev/mapper/$name" ]; then
			CHAIN_HOW="dmsetup create (chainctl device create failed: ${CHAIN_WHY#chainctl device create: })"
			return 0
		fi
		dmsetup remove "$name" > /dev/null 2>&1
		CHAIN_WHY="$CHAIN_WHY; dmsetup create: no device node"
	else
		CHAIN_WHY="$CHAIN_WHY; dmsetup create '$table': $out"
	fi
	return 1
}

chain_remove() {
	local name=$1
	sync
	"$CHAINCTL" device remove "$name" > /dev/null 2>&1 ||
		dmsetup remove "$name" > /dev/null 2>&1 ||
		{ udevadm settle > /dev/null 2>&1; sleep 1; dmsetup remove "$name"; }
}
