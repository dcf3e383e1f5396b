# SPDX-License-Identifier: GPL-2.0
# vm_follow LOG SCRIPT ARGS...: run tests/vm/run ARGS... with its stdout in
# LOG, and meanwhile show the VM script's output live (tests/vm/run only
# prints it once the VM has ended): it follows results/output in the newest
# /tmp/dmc-vm.* work directory whose job names SCRIPT.  When the run fails,
# the part of LOG not shown live (console log, errors) is printed.  Lines
# between =====BEGIN and =====END markers and "=====SAMPLE ..." and
# "=====BENCH-STATUS ..." lines (data for the caller) are not shown live;
# the lines after a "=====SUMMARY=====" line are printed once at the end,
# from LOG, which holds everything.  DMC_VM_RUN: the VM runner to use
# (default tests/vm/run; tests/bench/run passes a copy).  Returns
# tests/vm/run's exit status.  Sourced by tests/demo/run and tests/bench/run.
vm_follow() {
	local log=$1 script=$2 rc pid tailpid= w= i shown
	shift 2
	local marker
	marker=$(mktemp /tmp/dmc-follow.XXXXXX)
	"${DMC_VM_RUN:-tests/vm/run}" "$@" > "$log" 2>&1 &
	pid=$!
	for i in $(seq 1 600); do
		for w in $(ls -dt /tmp/dmc-vm.* 2>/dev/null); do
			[ "$w" -nt "$marker" ] && grep -qs -- "$script" "$w/results/job" && break 2
			w=
		done
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if [ -n "$w" ]; then
		while kill -0 "$pid" 2>/dev/null && [ ! -f "$w/results/output" ]; do sleep 0.5; done
		if [ -f "$w/results/output" ]; then
			tail --pid="$pid" -n +1 -F "$w/results/output" 2>/dev/null |
				sed -u -e '/^=====BEGIN /,/^=====END /d' -e '/^=====SAMPLE /d' \
					-e '/^=====BENCH-STATUS /d' -e '/^=====SUMMARY=====/,$d' &
			tailpid=$!
		fi
	fi
	wait "$pid"
	rc=$?
	if [ -n "$tailpid" ]; then
		# tail --pid ends by itself once tests/vm/run has ended.
		wait "$tailpid" 2>/dev/null
		shown=1
	else
		shown=0
	fi
	rm -f "$marker"
	if [ "$shown" = 0 ]; then
		sed -e '/^=====BEGIN /,/^=====END /d' -e '/^=====SAMPLE /d' \
			-e '/^=====BENCH-STATUS /d' -e '/^=====SUMMARY=====/d' "$log"
	else
		# The summary is printed from LOG (complete), not from the live view.
		sed -n '/^=====SUMMARY=====/,$p' "$log" | sed -e 1d -e '/^----- vm\/run/,$d'
	fi
	if [ "$shown" = 1 ] && [ "$rc" != 0 ]; then
		echo "--- the last lines of the VM script's output:"
		sed -e '/^=====BEGIN /,/^=====END /d' -e '/^=====SAMPLE /d' \
			-e '/^=====BENCH-STATUS /d' -e '/^----- vm\/run/,$d' "$log" | tail -n 5
		# What tests/vm/run printed besides the script's output.
		grep -n -m1 -- '----- vm/run' "$log" > /dev/null &&
			sed -n '/----- vm\/run/,$p' "$log"
		tail -n 3 "$log" | grep -E '^vm/run|^build-kernel' || true
	fi
	return "$rc"
}
