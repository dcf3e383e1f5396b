# SPDX-License-Identifier: GPL-2.0
# TAP helpers for end-to-end scenarios run inside the test VM.
#
# A scenario is a bash script tests/e2e/NN-name.sh that sources this file.
# Its first comment lines may ask the runner for resources:
#   # vm-disks: 2x8G      two sparse 8 GiB scratch disks (/dev/vda, /dev/vdb)
#   # vm-timeout: 900     seconds before the VM is killed (default 600)
#   # vm-mem: 3G          guest memory (default 2G)
#   # vm-boots: 2         boot it twice with the same disks, DMC_BOOT=1 then 2
#                         (the first boot ends in vm_power_cut)
# It prints TAP: one "ok N - what" / "not ok N - what" per check, then the
# plan "1..N" from done_testing.  The runner counts these lines; a script
# that exits non-zero, prints no result or no plan, or crashes the kernel,
# is counted as one more failure (tests/lib/tap-count.sh).
#
# The check* helpers return 0 when they passed and 1 when they failed, so
# `check "setup step" CMD || done_testing` stops a scenario at a failed
# setup step.  (Scenarios run with `set -u`, never `set -e`.)
#
#   ok DESC                 record a pass
#   fail DESC [DETAIL...]   record a failure, DETAIL printed as TAP comments
#   skip DESC REASON        record a skip (never counted as passed)
#   check DESC CMD...       pass if CMD exits 0; its output shown on failure
#   check_fail_msg DESC REGEX CMD...
#                           an expected refusal: pass if CMD exits with a
#                           status from 1 to 123 (never a crash: 124 and up
#                           are timeouts, "not found" and signals), its
#                           stdout+stderr match the extended regex REGEX,
#                           and the kernel log holds no WARN/BUG/oops/...
#                           since the scenario started
#   check_fail_code DESC CODE REGEX CMD...
#                           the same, and the exit status is exactly CODE
#   (There is no bare check_fail: a refusal always names its message.)
#   check_eq DESC EXPECTED ACTUAL
#   check_json DESC JSON JQ-ARGS...  pass if JSON is non-empty and jq -e holds
#   json_check DESC SCHEMA CMD...
#                           pass if CMD exits 0 and its standard output is
#                           valid against docs/json/SCHEMA.schema.json
#                           (tests/lib/json-validate); the output is left
#                           in JSON_OUT for further checks
#   json_valid DESC SCHEMA JSON
#                           pass if JSON (one document a line) is valid
#                           against docs/json/SCHEMA.schema.json
#   check_kernel_log DESC REGEX
#                           pass if a kernel log line logged since the
#                           scenario started matches REGEX (the reason a
#                           kernel refusal gives: ti->error, DMWARN)
#   kernel_log_splats       print the kernel log lines matching
#                           DMC_SPLAT_RE (tests/lib/splat.sh) logged since
#                           the scenario started; exit 0 if there are any
#   diag MSG...             a TAP comment line
#   done_testing            print the plan; exit 1 if anything failed
#   need_module             insmod $DMC_KO once (fails the test if it cannot)
#   fs_mkfs TYPE DEV        mkfs TYPE (xfs with reflink, btrfs, ext4) on DEV
#   fs_make TYPE DEV MNT    fs_mkfs, and mount it at MNT (unmounted at exit)
#   cleanup_add CMD...      run CMD at exit (in reverse order)
#   vm_power_cut            print the plan so far and restart the VM at once,
#                           as a power cut would (no sync, no cleanups)
set -u

: "${DMC_ROOT:?run through tests/vm/run}"
: "${DMC_KO:=$DMC_ROOT/kmod/dm-chain.ko}"
: "${CHAINCTL:=$DMC_ROOT/userspace/chainctl}"
: "${DMC_TMP:=/tmp}"
read -r -a DMC_DISK_LIST <<< "${DMC_DISKS:-}"
# shellcheck source=tests/lib/splat.sh
. "$DMC_ROOT/tests/lib/splat.sh"

_tap_n=0
_tap_failed=0
_cleanups=()

diag() { echo "# $*"; }

_tap_out() {
	sed 's/^/#   /' "$1" | head -n 40
}

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

fail() {
	local desc=$1
	shift
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $desc"
	# Every line of every DETAIL is a comment, so that no line of a
	# command's output (a kernel "ok 5 suite" line) reads as a result.
	local line
	for line in "$@"; do printf '%s\n' "$line" | sed 's/^/#   /'; done
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

check() {
	local desc=$1 out rc
	shift
	out=$(mktemp "$DMC_TMP/tap.XXXXXX")
	"$@" > "$out" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		ok "$desc"
	else
		fail "$desc" "command: $*" "exit status: $rc"
		_tap_out "$out"
	fi
	rm -f "$out"
	[ "$rc" = 0 ]
}

# The kernel log's last sequence number when the scenario started.
_kmsg_start=$(dmc_kmsg | tail -n 1 | cut -d' ' -f1)
: "${_kmsg_start:=-1}"

# _kmsg_since_start: the kernel log's messages since the scenario started.
_kmsg_since_start() {
	dmc_kmsg | awk -v s="$_kmsg_start" '$1 > s' | cut -d' ' -f2-
}

kernel_log_splats() {
	_kmsg_since_start | grep -E -- "$DMC_SPLAT_RE"
}

check_kernel_log() {
	local desc=$1 regex=$2
	if _kmsg_since_start | grep -Eq -- "$regex"; then
		ok "$desc"
	else
		fail "$desc" "no kernel log line since the scenario started matches /$regex/:" \
			"$(_kmsg_since_start | tail -n 5)"
		return 1
	fi
}

# _check_refusal DESC CODE REGEX CMD...: CODE empty means any refusal.
_check_refusal() {
	local desc=$1 want=$2 regex=$3 out rc why=() splats
	shift 3
	out=$(mktemp "$DMC_TMP/tap.XXXXXX")
	"$@" > "$out" 2>&1
	rc=$?
	if [ -z "$regex" ]; then
		why=("no message regex given: a refusal must name its message")
	elif [ "$rc" = 0 ]; then
		why=("command succeeded but should have failed: $*")
	elif [ "$rc" -ge 124 ]; then
		why=("the command did not refuse, it crashed or was killed: exit status $rc$(
			[ "$rc" -le 128 ] || echo " (signal $((rc - 128)))"): $*")
	elif [ -n "$want" ] && [ "$rc" != "$want" ]; then
		why=("refused with exit status $rc, expected $want: $*")
	elif ! grep -Eq -- "$regex" "$out"; then
		why=("refused (exit status $rc), but the message does not match /$regex/:")
	elif splats=$(kernel_log_splats); then
		why=("refused as expected, but the kernel log since the scenario started has:")
		mapfile -t -O 1 why <<< "$(head -n 8 <<< "$splats")"
	fi
	if [ ${#why[@]} = 0 ]; then
		ok "$desc"
		rm -f "$out"
		return 0
	fi
	fail "$desc" "${why[@]}"
	_tap_out "$out"
	rm -f "$out"
	return 1
}

check_fail_msg() {
	local desc=$1 regex=${2-}
	shift 2
	_check_refusal "$desc" "" "$regex" "$@"
}

check_fail_code() {
	local desc=$1 code=$2 regex=${3-}
	shift 3
	_check_refusal "$desc" "$code" "$regex" "$@"
}

check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
		return 1
	fi
}

# check_layer_files DESC FILE...: one check that every FILE passes
# `chainctl layer check` (exit 0) or is merged away (exit 9, a merge
# retired it); each other one is printed with its output.  No files fail.
check_layer_files() {
	local desc=$1 f rc bad=0 n=0
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		"$CHAINCTL" layer check "$f" > "$DMC_TMP/lc.out" 2>&1
		rc=$?
		if [ $rc != 0 ] && [ $rc != 9 ]; then
			bad=$((bad + 1))
			diag "layer check $f: exit $rc: $(head -c 300 "$DMC_TMP/lc.out")"
		fi
	done
	[ $n -gt 0 ] || { fail "$desc" "no layer files"; return 1; }
	check_eq "$desc ($n files)" 0 "$bad"
}

check_json() {
	local desc=$1 json=$2
	shift 2
	if [ -z "$json" ]; then
		fail "$desc" "no JSON output"
		return 1
	fi
	check "$desc" jq -e "$@" <<< "$json"
}

json_valid() {
	local desc=$1 schema=$DMC_ROOT/docs/json/$2.schema.json json=$3 why
	if why=$(printf '%s\n' "$json" | /usr/bin/python3 \
		"$DMC_ROOT/tests/lib/json-validate" "$schema" - 2>&1); then
		ok "$desc"
		return 0
	fi
	fail "$desc" "not valid against ${schema#"$DMC_ROOT"/}:" "$why" \
		"document: ${json:0:1500}"
	return 1
}

JSON_OUT=
json_check() {
	local desc=$1 schema=$2 rc
	shift 2
	JSON_OUT=$("$@" 2> "$DMC_TMP/json_check.err")
	rc=$?
	if [ $rc != 0 ]; then
		fail "$desc" "exit status $rc from $*:" "$(head -n 5 "$DMC_TMP/json_check.err")" \
			"output: ${JSON_OUT:0:500}"
		return 1
	fi
	json_valid "$desc" "$schema" "$JSON_OUT"
}

cleanup_add() {
	_cleanups+=("$*")
}

_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" > /dev/null 2>&1 || true
	done
	_cleanups=()
}
trap _run_cleanups EXIT

done_testing() {
	_run_cleanups
	echo "1..$_tap_n"
	[ "$_tap_failed" = 0 ]
	exit $?
}

vm_power_cut() {
	echo "1..$_tap_n"
	diag "boot ${DMC_BOOT:-1}: cutting the power (reboot(2) without a sync)"
	# tests/vm/run takes the missing exit status for a deliberate cut.
	echo "$_tap_failed" > /run/results/power-cut
	# RESTART straight away: nothing synced, nothing unmounted; QEMU runs
	# with -no-reboot, so the VM ends here.  (The test kernel has no
	# magic SysRq.)  Debian's own kernel has it, and the fresh Debian
	# image (tests/vm/debian-image) has no python3: SysRq 'b' there,
	# which restarts as abruptly.
	if [ -x /usr/bin/python3 ]; then
		/usr/bin/python3 -c 'import ctypes; ctypes.CDLL(None).reboot(0x01234567)'
	else
		echo b > /proc/sysrq-trigger
	fi
	sleep 5
	rm -f /run/results/power-cut
	fail "vm_power_cut: reboot(2) returned"
	exit 1
}

# merge_state CHAINCTL NAME: device NAME's merge as "state done total"
# (CHAINCTL: the tool to ask, the built one or an installed one).
merge_state() {
	"$1" device status -j "$2" 2> /dev/null |
		jq -r '.merge | "\(.state) \(.done_bytes) \(.total_bytes)"'
}

# power_cut_mid_merge CHAINCTL NAME: wait (60 s at most) until NAME's
# live merge has moved some bytes, check it is still part-way, and cut the
# power (vm_power_cut): a reboot test's cut lands in the middle of a merge.
power_cut_mid_merge() {
	local st moved total
	for _ in $(seq 1 60); do
		read -r st moved total <<< "$(merge_state "$1" "$2")"
		[ "${moved:-0}" -gt 0 ] && break
		sleep 1
	done
	diag "merge before the cut: $st $moved/$total bytes"
	check "the merge is mid-way when the power goes" \
		test "$st" = running -a "${moved:-0}" -gt 0 -a "${moved:-0}" -lt "${total:-0}"
	vm_power_cut
}

# readme_quickstart: the README's quick start block (the fenced block after
# the marker line), as a script on stdout.
readme_quickstart() {
	awk -v m='<!-- quickstart: tested by tests/e2e/46-readme-quickstart.sh -->' '
		$0 == m { found = 1; next }
		found && !infence && /^```/ { infence = 1; next }
		infence && /^```/ { exit }
		infence { print }
		found && !infence && NF { exit }	# text between marker and fence
	' "$DMC_ROOT/README.md"
}

# need_module: dm-chain.ko loaded.  Scenarios load it with
# read_index_layers=1 (DMC_READ_INDEX_LAYERS overrides): every chain with
# a layer below its leaf then reads through the read index (kmod/view.h),
# which the module's default keeps for chains of 8 lower layers and more,
# so its builds at resume, snapshot and merge run everywhere; the KUnit
# suite checks its answers against the walk.
need_module() {
	if grep -q '^dm_chain ' /proc/modules; then
		return 0
	fi
	if insmod "$DMC_KO" read_index_layers="${DMC_READ_INDEX_LAYERS:-1}"; then
		return 0
	fi
	fail "insmod $DMC_KO"
	return 1
}

fs_mkfs() {
	local type=$1 dev=$2
	case "$type" in
	xfs)   mkfs.xfs -q -f -m reflink=1 "$dev" ;;
	btrfs) mkfs.btrfs -q -f "$dev" ;;
	ext4)  mkfs.ext4 -q -F "$dev" ;;
	*) echo "fs_mkfs: unknown fs $type" >&2; return 1 ;;
	esac
}

fs_make() {
	local type=$1 dev=$2 mnt=$3
	fs_mkfs "$type" "$dev" || return 1
	mkdir -p "$mnt" && mount "$dev" "$mnt" || return 1
	cleanup_add umount "$mnt"
}
