# SPDX-License-Identifier: GPL-2.0
# Counting a TAP log, for tests/check and its self-test (tests/selftest).
# Sourced; no side effects beyond the variables named below.
#
# tap_count LOGFILE EXIT_STATUS
#   Sets TAP_PASS, TAP_FAIL, TAP_SKIP, TAP_PLANNED, TAP_RESULTS from the
#   "ok N" / "not ok N" / "1..N" lines of LOGFILE, and TAP_WHY to the
#   reasons, one a line, for the failures added on top of the "not ok"
#   lines.  A part passes only when TAP_FAIL is 0.  Each of these is one
#   failure more:
#     - no result line at all (an empty log, a script that died first);
#     - a total plan of 0, or no plan;
#     - a plan that does not match the number of results;
#     - a non-zero exit status with no "not ok" line to show for it;
#     - exit status 124, 125 or 126 from tests/vm/run (timeout, VM died,
#       kernel splat): always one failure more, even when results failed
#       too, so a kernel WARN/BUG/oops is never hidden behind another
#       failure.
#   A skip is never a pass.  A missing LOGFILE reads as an empty one.
tap_count() {
	local log=$1 rc=$2 ok
	TAP_WHY=
	if [ -r "$log" ]; then
		ok=$(grep -Ec '^ok [0-9]+' "$log")
		TAP_SKIP=$(grep -Ec '^ok [0-9]+.*# SKIP' "$log")
		TAP_FAIL=$(grep -Ec '^not ok [0-9]+' "$log")
		TAP_PLANNED=$(grep -E '^1\.\.[0-9]+' "$log" | sed 's/^1\.\.//; s/[^0-9].*//' |
			awk '{s += $1} END {print s + 0}')
	else
		ok=0 TAP_SKIP=0 TAP_FAIL=0 TAP_PLANNED=0
	fi
	TAP_PASS=$((ok - TAP_SKIP))
	TAP_RESULTS=$((ok + TAP_FAIL))
	local why=()
	case "$rc" in
	124) why+=("the VM timed out (exit 124)") ;;
	125) why+=("the VM died before the script finished (exit 125)") ;;
	126) why+=("the kernel log reports a WARN/BUG/oops/lockdep/hung task (exit 126)") ;;
	0) ;;
	*) [ "$TAP_FAIL" != 0 ] || why+=("exited with status $rc") ;;
	esac
	if [ "$TAP_RESULTS" = 0 ]; then
		why+=("no TAP result lines (empty log or the script died first)")
	elif [ "$TAP_PLANNED" = 0 ]; then
		why+=("no plan (or a plan of 0) for $TAP_RESULTS results")
	elif [ "$TAP_PLANNED" != "$TAP_RESULTS" ]; then
		why+=("planned $TAP_PLANNED results, got $TAP_RESULTS")
	fi
	if [ ${#why[@]} -gt 0 ]; then
		TAP_FAIL=$((TAP_FAIL + 1))
		TAP_WHY=$(printf '%s\n' "${why[@]}")
	fi
}
