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
# that exits non-zero, or crashes the kernel, is counted as one more failure.
#
#   ok DESC                 record a pass
#   fail DESC [DETAIL...]   record a failure, DETAIL printed as TAP comments
#   skip DESC REASON        record a skip (never counted as passed)
#   check DESC CMD...       pass if CMD exits 0; its output shown on failure
#   check_fail DESC CMD...  pass if CMD exits non-zero (an expected refusal)
#   check_fail_msg DESC REGEX CMD...  as check_fail, and stderr+stdout match REGEX
#   check_eq DESC EXPECTED ACTUAL
#   check_json DESC JSON JQ-ARGS...  pass if JSON is non-empty and jq -e holds
#   diag MSG...             a TAP comment line
#   done_testing            print the plan; exit 1 if anything failed
#   need_module             insmod $DMC_KO once (fails the test if it cannot)
#   fs_make TYPE DEV MNT    mkfs TYPE on DEV and mount it at MNT
#   cleanup_add CMD...      run CMD at exit (in reverse order)
#   vm_power_cut            print the plan so far and restart the VM at once,
#                           as a power cut would (no sync, no cleanups)
set -u

: "${DMC_ROOT:?run through tests/vm/run}"
: "${DMC_KO:=$DMC_ROOT/kmod/dm-chain.ko}"
: "${CHAINCTL:=$DMC_ROOT/userspace/chainctl}"
: "${DMC_TMP:=/tmp}"
read -r -a DMC_DISK_LIST <<< "${DMC_DISKS:-}"

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
	local line
	for line in "$@"; do echo "#   $line"; done
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

check() {
	local desc=$1 out
	shift
	out=$(mktemp "$DMC_TMP/tap.XXXXXX")
	if "$@" > "$out" 2>&1; then
		ok "$desc"
	else
		fail "$desc" "command: $*" "exit status: $?"
		_tap_out "$out"
	fi
	rm -f "$out"
}

check_fail() {
	local desc=$1 out
	shift
	out=$(mktemp "$DMC_TMP/tap.XXXXXX")
	if "$@" > "$out" 2>&1; then
		fail "$desc" "command succeeded but should have failed: $*"
		_tap_out "$out"
	else
		ok "$desc"
	fi
	rm -f "$out"
}

check_fail_msg() {
	local desc=$1 regex=$2 out
	shift 2
	out=$(mktemp "$DMC_TMP/tap.XXXXXX")
	if "$@" > "$out" 2>&1; then
		fail "$desc" "command succeeded but should have failed: $*"
		_tap_out "$out"
	elif ! grep -Eq -- "$regex" "$out"; then
		fail "$desc" "refused, but the message does not match /$regex/:"
		_tap_out "$out"
	else
		ok "$desc"
	fi
	rm -f "$out"
}

check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
	fi
}

check_json() {
	local desc=$1 json=$2
	shift 2
	if [ -z "$json" ]; then
		fail "$desc" "no JSON output"
		return
	fi
	check "$desc" jq -e "$@" <<< "$json"
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
	# magic SysRq.)
	/usr/bin/python3 -c 'import ctypes; ctypes.CDLL(None).reboot(0x01234567)'
	rm -f /run/results/power-cut
	fail "vm_power_cut: reboot(2) returned"
	exit 1
}

need_module() {
	if grep -q '^dm_chain ' /proc/modules; then
		return 0
	fi
	if insmod "$DMC_KO"; then
		return 0
	fi
	fail "insmod $DMC_KO"
	return 1
}

fs_make() {
	local type=$1 dev=$2 mnt=$3
	case "$type" in
	xfs)   mkfs.xfs -q -f -m reflink=1 "$dev" ;;
	btrfs) mkfs.btrfs -q -f "$dev" ;;
	ext4)  mkfs.ext4 -q -F "$dev" ;;
	*) echo "fs_make: unknown fs $type" >&2; return 1 ;;
	esac || return 1
	mkdir -p "$mnt" && mount "$dev" "$mnt" || return 1
	cleanup_add umount "$mnt"
}
