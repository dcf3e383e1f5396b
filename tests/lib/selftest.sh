#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of the test harness, on the host (a part of `make check`):
# feeds tests/lib/tap-count.sh (how tests/check counts a log) and the
# helpers of tests/e2e/lib.sh fake inputs and checks that failures are
# failures: an empty log, a zero or missing plan, a plan/result mismatch, a
# kernel splat; a failed check returns non-zero and stops a scenario; a
# refusal check fails when the command crashed, was killed, timed out,
# printed another message, or when the kernel log has a WARN since the
# scenario started.  Prints TAP.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/dmc-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

t_ok() { n=$((n + 1)); echo "ok $n - $1"; }
t_fail() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do echo "#   $l"; done
}
# t_is DESC EXPECTED ACTUAL
t_is() {
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_fail "$1" "expected: $2" "actual:   $3"; fi
}

# --- tests/lib/tap-count.sh ----------------------------------------------------
. "$root/tests/lib/tap-count.sh"

# count TEXT RC: "PASS FAIL SKIP" for a log holding TEXT.
count() {
	printf '%b' "$1" > "$tmp/log"
	tap_count "$tmp/log" "$2"
	echo "$TAP_PASS $TAP_FAIL $TAP_SKIP"
}

t_is "count: a good log passes" "2 0 0" "$(count 'ok 1 - a\nok 2 - b\n1..2\n' 0)"
t_is "count: an empty log is a failure" "0 1 0" "$(count '' 0)"
tap_count "$tmp/no-such-log" 0
t_is "count: a missing log is a failure" "0 1" "$TAP_PASS $TAP_FAIL"
t_is "count: only comments, exit 0, is a failure" "0 1 0" "$(count '# hello\n' 0)"
t_is "count: a plan of 0 is a failure" "0 1 0" "$(count '1..0\n' 0)"
t_is "count: results with no plan are a failure" "1 1 0" "$(count 'ok 1 - a\n' 0)"
t_is "count: a plan/result mismatch is a failure" "1 1 0" "$(count 'ok 1 - a\n1..2\n' 0)"
t_is "count: more results than planned is a failure" "3 1 0" \
	"$(count 'ok 1 - a\nok 2 - b\nok 3 - c\n1..2\n' 0)"
t_is "count: a not-ok line is one failure" "1 1 0" "$(count 'ok 1 - a\nnot ok 2 - b\n1..2\n' 1)"
t_is "count: a non-zero exit with no not-ok line is a failure" "2 1 0" \
	"$(count 'ok 1 - a\nok 2 - b\n1..2\n' 1)"
t_is "count: a kernel splat (exit 126) fails a clean log" "2 1 0" \
	"$(count 'ok 1 - a\nok 2 - b\n1..2\n' 126)"
t_is "count: a kernel splat is counted besides a failed result" "1 2 0" \
	"$(count 'ok 1 - a\nnot ok 2 - b\n1..2\n' 126)"
count 'ok 1 - a\n1..1\n' 126 > /dev/null
tap_count "$tmp/log" 126
if grep -q 'kernel log' <<< "$TAP_WHY"; then
	t_ok "count: a splat is named as a kernel log finding"
else
	t_fail "count: a splat is named as a kernel log finding" "why: $TAP_WHY"
fi
t_is "count: a timeout (exit 124) with no results is one failure" "0 1 0" "$(count '' 124)"
t_is "count: a skip is not a pass" "1 0 1" "$(count 'ok 1 - a\nok 2 - b # SKIP no disk\n1..2\n' 0)"
t_is "count: two boots, two plans, add up" "3 0 0" \
	"$(count '# boot 1\nok 1 - a\nok 2 - b\n1..2\n# boot 2\nok 1 - c\n1..1\n' 0)"
t_is "count: cmocka-style plan lines first" "2 0 0" "$(count '1..2\nok 1 - a\nok 2 - b\n' 0)"

# --- tests/lib/splat.sh --------------------------------------------------------
. "$root/tests/lib/splat.sh"
for line in \
	'[   12.345678] WARNING: CPU: 1 PID: 77 at kmod/target.c:123 chain_map+0x1/0x2 [dm_chain]' \
	'[    3.1] BUG: kernel NULL pointer dereference, address: 0000000000000008' \
	'[    3.1] Oops: 0000 [#1] PREEMPT SMP' \
	'[    3.1] BUG: KASAN: slab-use-after-free in dmc_layer_commit+0x10/0x20' \
	'[    3.1] UBSAN: shift-out-of-bounds in kmod/blockmap.c:40:12' \
	'[    3.1] INFO: task kworker/u4:2:51 blocked for more than 120 seconds.' \
	'[    3.1] WARNING: possible circular locking dependency detected' \
	'[    3.1] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)' \
	'[    3.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:' \
	'[    3.1] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [kworker/0:1:9]' \
	'[    3.1] BUG kmalloc-128 (Not tainted): Redzone overwritten' \
	'[    3.1] BUG: sleeping function called from invalid context at mm/slab.h:1'; do
	if grep -Eq -- "$DMC_SPLAT_RE" <<< "$line"; then
		t_ok "splat regex matches: ${line#*] }"
	else
		t_fail "splat regex matches: ${line#*] }"
	fi
done
for line in \
	'[    3.1] device-mapper: table: 253:0: chain: Layer header corrupt' \
	'[    3.1] device-mapper: chain: dmc-a: unsupported message '"'"'frobnicate'"'" \
	'[    3.1] XFS (dm-0): Starting recovery (logdev: internal)' \
	'[    3.1] Buffer I/O error on dev dm-0, logical block 10, async page read'; do
	if grep -Eq -- "$DMC_SPLAT_RE" <<< "$line"; then
		t_fail "splat regex ignores: ${line#*] }"
	else
		t_ok "splat regex ignores: ${line#*] }"
	fi
done

# --- tests/e2e/lib.sh ----------------------------------------------------------
# lib SNIPPET: run SNIPPET in a fresh bash that sourced lib.sh (the kernel
# log faked empty unless SNIPPET fakes it); prints its output, then "rc=N".
lib() {
	local out rc
	out=$(DMC_ROOT=$root DMC_TMP=$tmp bash -c '
		dmc_kmsg_fake() { :; }
		. "$DMC_ROOT/tests/e2e/lib.sh"
		dmc_kmsg() { dmc_kmsg_fake; }
		'"$1" 2>&1)
	rc=$?
	printf '%s\nrc=%s\n' "$out" "$rc"
}

# lib_is DESC SNIPPET REGEX...: the snippet's output (with rc=N) matches
# each REGEX (grep -E, lines anchored as written).
lib_is() {
	local desc=$1 snippet=$2 out re
	shift 2
	out=$(lib "$snippet")
	for re in "$@"; do
		if ! grep -Eq -- "$re" <<< "$out"; then
			t_fail "$desc" "no line matches /$re/ in:" "$(sed 's/^/  /' <<< "$out" | head -n 20)"
			return
		fi
	done
	t_ok "$desc"
}

lib_is "check: a passing command returns 0" \
	'check "t" true; echo "ret=$?"' '^ok 1 - t$' '^ret=0$'
lib_is "check: a failing command returns non-zero" \
	'check "t" false; echo "ret=$?"' '^not ok 1 - t$' '^ret=1$'
lib_is "check X || done_testing stops the scenario with a failure" \
	'check "setup" false || done_testing; echo reached' \
	'^not ok 1 - setup$' '^1\.\.1$' '^rc=1$'
if grep -q '^reached$' <<< "$(lib 'check "setup" false || done_testing; echo reached')"; then
	t_fail "check X || done_testing: nothing runs after it"
else
	t_ok "check X || done_testing: nothing runs after it"
fi
lib_is "check_eq: a mismatch returns non-zero" \
	'check_eq "t" a b; echo "ret=$?"' '^not ok 1 - t$' '^ret=1$'
lib_is "check_eq: a match returns 0" 'check_eq "t" a a; echo "ret=$?"' '^ok 1 - t$' '^ret=0$'
lib_is "check_json: empty JSON returns non-zero" \
	'check_json "t" "" .; echo "ret=$?"' '^not ok 1 - t$' '^ret=1$'
lib_is "check_json: a false condition returns non-zero" \
	'check_json "t" "{\"a\":1}" ".a == 2"; echo "ret=$?"' '^not ok 1 - t$' '^ret=1$'
lib_is "check_json: a true condition returns 0" \
	'check_json "t" "{\"a\":1}" ".a == 1"; echo "ret=$?"' '^ok 1 - t$' '^ret=0$'
# json_check/json_valid against a real schema (docs/json/): a valid
# document passes, an extra member, a failing command or no output fails.
# (the version the schemas hold: the one place it is written)
jv=$(sed -n 's/^#define DMC_JSON_VERSION \([0-9]*\)$/\1/p' "$root/userspace/lib/json.h")
jv_doc='{"json_version":'"$jv"',"device":"d","new_leaf_path":"/l","pause_ns":1}'
lib_is "json_valid: a valid document returns 0" \
	"json_valid t device-snapshot '$jv_doc'; echo \"ret=\$?\"" '^ok 1 - t$' '^ret=0$'
lib_is "json_valid: an extra member returns non-zero, naming it" \
	"json_valid t device-snapshot '${jv_doc%\}},\"x\":1}'; echo \"ret=\$?\"" \
	'^not ok 1 - t$' "'x' was unexpected" '^ret=1$'
lib_is "json_valid: no document returns non-zero" \
	'json_valid t device-snapshot ""; echo "ret=$?"' '^not ok 1 - t$' '^ret=1$'
lib_is "json_check: a failing command returns non-zero" \
	"json_check t device-snapshot sh -c \"echo '$jv_doc'; exit 3\"; echo \"ret=\$?\"" \
	'^not ok 1 - t$' 'exit status 3' '^ret=1$'
lib_is "json_check: valid output passes and is kept in JSON_OUT" \
	"json_check t device-snapshot echo '$jv_doc'; echo \"ret=\$? \$JSON_OUT\"" \
	'^ok 1 - t$' "^ret=0 \\{\"json_version\":$jv"
lib_is "fail: every line of a multi-line detail is a comment" \
	'fail "t" "first
ok 5 kernel line"; done_testing' '^not ok 1 - t$' '^#   ok 5 kernel line$' '^1\.\.1$'
if grep -q '^ok 5' <<< "$(lib 'fail "t" "first
ok 5 kernel line"; done_testing')"; then
	t_fail "fail: a detail line never reads as a result"
else
	t_ok "fail: a detail line never reads as a result"
fi
lib_is "done_testing: a failure makes the script exit 1" \
	'fail "x"; done_testing' '^1\.\.1$' '^rc=1$'
lib_is "done_testing: all passed exits 0" 'ok "x"; done_testing' '^1\.\.1$' '^rc=0$'

lib_is "refusal: the expected refusal passes and returns 0" \
	'check_fail_msg "t" "no such thing" sh -c "echo no such thing >&2; exit 1"; echo "ret=$?"' \
	'^ok 1 - t$' '^ret=0$'
lib_is "refusal: another message fails" \
	'check_fail_msg "t" "no such thing" sh -c "echo permission denied >&2; exit 1"; echo "ret=$?"' \
	'^not ok 1 - t$' 'does not match' '^ret=1$'
lib_is "refusal: a command that succeeded fails" \
	'check_fail_msg "t" "x" true; echo "ret=$?"' '^not ok 1 - t$' 'succeeded' '^ret=1$'
lib_is "refusal: a segfault is not a refusal" \
	'check_fail_msg "t" "." sh -c "echo error; kill -SEGV \$\$"; echo "ret=$?"' \
	'^not ok 1 - t$' 'crashed or was killed: exit status 139 \(signal 11\)' '^ret=1$'
lib_is "refusal: SIGKILL is not a refusal" \
	'check_fail_msg "t" "." sh -c "echo error; kill -KILL \$\$"; echo "ret=$?"' \
	'^not ok 1 - t$' 'signal 9' '^ret=1$'
lib_is "refusal: a timeout (exit 124) is not a refusal" \
	'check_fail_msg "t" "." timeout 0.2 sleep 5; echo "ret=$?"' \
	'^not ok 1 - t$' 'exit status 124' '^ret=1$'
lib_is "refusal: command not found (exit 127) is not a refusal" \
	'check_fail_msg "t" "not found" dmc-no-such-command; echo "ret=$?"' \
	'^not ok 1 - t$' 'exit status 127' '^ret=1$'
lib_is "refusal: an empty regex is refused" \
	'check_fail_msg "t" "" false; echo "ret=$?"' '^not ok 1 - t$' 'no message regex' '^ret=1$'
lib_is "check_fail_code: the right code and message pass" \
	'check_fail_code "t" 5 "busy" sh -c "echo busy; exit 5"; echo "ret=$?"' '^ok 1 - t$' '^ret=0$'
lib_is "check_fail_code: another code fails" \
	'check_fail_code "t" 5 "busy" sh -c "echo busy; exit 1"; echo "ret=$?"' \
	'^not ok 1 - t$' 'exit status 1, expected 5' '^ret=1$'
lib_is "refusal: a kernel WARN since the scenario started fails it" \
	'dmc_kmsg_fake() { echo "7 WARNING: CPU: 0 PID: 9 at kmod/target.c:1 chain_ctr"; }
	 _kmsg_start=6
	 check_fail_msg "t" "refused" sh -c "echo refused; exit 1"; echo "ret=$?"' \
	'^not ok 1 - t$' 'kernel log' 'WARNING: CPU: 0' '^ret=1$'
lib_is "refusal: a kernel oops since the scenario started fails it" \
	'dmc_kmsg_fake() { echo "9 Oops: 0000 [#1] SMP"; }
	 _kmsg_start=6
	 check_fail_msg "t" "refused" sh -c "echo refused; exit 1"; echo "ret=$?"' \
	'^not ok 1 - t$' 'Oops' '^ret=1$'
lib_is "refusal: a WARN from before the scenario started is not counted" \
	'dmc_kmsg_fake() { echo "5 WARNING: CPU: 0 PID: 9 at boot"; echo "7 device-mapper: ok"; }
	 _kmsg_start=6
	 check_fail_msg "t" "refused" sh -c "echo refused; exit 1"; echo "ret=$?"' \
	'^ok 1 - t$' '^ret=0$'
lib_is "check_kernel_log: a line since the start passes" \
	'dmc_kmsg_fake() { echo "5 chain: old reason"; echo "7 chain: Layer header corrupt"; }
	 _kmsg_start=6
	 check_kernel_log "t" "header corrupt"; echo "ret=$?"' '^ok 1 - t$' '^ret=0$'
lib_is "check_kernel_log: a line from before the start fails" \
	'dmc_kmsg_fake() { echo "5 chain: Layer header corrupt"; echo "7 chain: other"; }
	 _kmsg_start=6
	 check_kernel_log "t" "header corrupt"; echo "ret=$?"' '^not ok 1 - t$' '^ret=1$'
lib_is "there is no bare check_fail" \
	'if declare -F check_fail > /dev/null; then echo present; else echo absent; fi' '^absent$'

# No scenario uses a bare refusal check.
bare=$(grep -rnE '(^|[^_[:alnum:]])check_fail([[:space:]]|$)' "$root/tests/e2e" "$root/tests/kunit" 2>/dev/null)
if [ -z "$bare" ]; then
	t_ok "no scenario calls a bare check_fail"
else
	t_fail "no scenario calls a bare check_fail" "$bare"
fi

# The real kernel log reader works where it can (root with /dev/kmsg).
if [ -r /dev/kmsg ]; then
	last=$(dmc_kmsg | tail -n 1)
	if [[ $last =~ ^[0-9]+\  ]]; then
		t_ok "dmc_kmsg reads /dev/kmsg as SEQ MESSAGE"
	else
		t_fail "dmc_kmsg reads /dev/kmsg as SEQ MESSAGE" "last line: $last"
	fi
fi

echo "1..$n"
[ "$failed" = 0 ]
