#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel's fault injection (issue 16, faults): failslab fails one
# memory allocation at a time (/proc/thread-self/fail-nth) in the
# synchronous path of the table load (the target's constructor), of
# SNAPSHOT, of MERGE (depth 1), of an intermediate MERGE (the layer under
# the leaf into its parent) and of MERGE_CANCEL, on XFS, until an attempt
# runs with no failure left to inject (tests/faults/failnth.c).  After
# each attempt: a refused load leaves no device and a loaded one reads the
# same data; a refused snapshot leaves the chain, the content and the
# directory as they were and the device takes writes; a refused merge runs
# nothing, a started one ends done or says why (and an uninjected merge
# then finishes it); a refused cancel leaves the merge running, a done one
# ends it; the content never changes.  At the end every layer file checks clean
# and the module unloads (nothing left holding it); the runner fails on
# any kernel report.  Arguments: MAX attempts per operation (default
# 4000).
#
# make check and make check-debug run it (a few minutes under emulation).
# vm-disks: 1x4G
# vm-timeout: 900
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
FN=$DMC_ROOT/tests/faults/failnth
C=$CHAINCTL
max=${1:-4000}
[ -x "$FN" ] || { fail "tests/faults/failnth is built (tests/check builds it)"; done_testing; }
fs=/sys/kernel/debug/failslab
if [ ! -w /proc/self/fail-nth ] || [ ! -d $fs ]; then
	fail "the test kernel has fault injection (CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"
	done_testing
fi
# Count GFP_KERNEL allocations too (by default failslab skips those that
# may sleep), and keep the log quiet: every failure would dump a stack.
check "failslab counts allocations that may sleep" sh -c "echo N > $fs/ignore-gfp-wait"
check "failslab quiet" sh -c "echo 0 > $fs/verbose"

x=$DMC_TMP/x
check "xfs for the layers" fs_make xfs "${DMC_DISK_LIST[0]}" "$x" || done_testing
check "base layer" "$C" layer create -s 16M -b 64K "$x/base.dmc" || done_testing
check "leaf layer" "$C" layer create --parent "$x/base.dmc" "$x/leaf.dmc" || done_testing
check "device fa" "$C" device create fa "$x/leaf.dmc" || done_testing
check "data on it" dd if=/dev/urandom of=/dev/mapper/fa bs=64K count=100 oflag=direct \
	status=none || done_testing

# run_failnth DESC ARGS...: one operation, every allocation point.
run_failnth() {
	local desc=$1 out rc
	shift
	out=$("$FN" -m "$max" "$@" 2>&1)
	rc=$?
	grep -E '^BROKEN' <<< "$out" | head -n 20 | sed 's/^/# /'
	diag "$(grep '^failnth:' <<< "$out")"
	if [ $rc = 0 ]; then
		ok "$desc: $(sed -n 's/^failnth: [a-z]*: //p' <<< "$out")"
	else
		fail "$desc: exit $rc" "$(tail -n 5 <<< "$out")"
		diag "kernel log: $(dmesg | grep -v 'FAULT_INJECTION' | tail -n 15)"
	fi
}

# The table load: the same table as fa's, on a second name, fa removed
# first (the leaf is claimed by one device at a time).
read -r _ sectors target params <<< "$(dmsetup table fa)"
check_eq "fa's table is a chain table" chain "$target"
want=$(md5sum < /dev/mapper/fa)
check "remove fa for the load test" dmsetup remove --noudevsync fa
run_failnth "table load (constructor), one allocation failed at a time" create fb "$sectors" "$params"
check "fa again" "$C" device create fa "$x/leaf.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync fa
check_eq "fa reads what was written" "$want" "$(md5sum < /dev/mapper/fa)"

mkdir -p "$x/snaps"
run_failnth "SNAPSHOT, one allocation failed at a time" snapshot fa "$x/snaps"
run_failnth "MERGE (depth 1), one allocation failed at a time" merge fa "$x/snaps"
run_failnth "MERGE of the layer under the leaf (intermediate), one allocation failed at a time" \
	range fa "$x/snaps"
run_failnth "MERGE_CANCEL of a running merge, one allocation failed at a time" cancel fa
want=$(md5sum < /dev/mapper/fa)

# The layers as a crash would leave them: every one checks clean (or is
# merged away), and the chain opens again from its leaf.
# (the JSON lists the leaf first)
leaf=$("$C" device status fa -j 2>/dev/null | jq -r '.layers[0].path // empty')
diag "fa's layers: $(dmsetup table fa | cut -d' ' -f4- | tr ' ' '\n' | grep -c /) in its table, leaf $leaf"
check "remove fa" dmsetup remove --noudevsync fa
check_layer_files "every layer file checks clean or merged away" "$x"/*.dmc "$x"/snaps/*.dmc
if [ -n "$leaf" ]; then
	check "the chain opens again from its leaf" "$C" device create fa "$leaf"
	check_eq "and reads the same" "$want" "$(md5sum < /dev/mapper/fa)"
	check "remove fa" dmsetup remove --noudevsync fa
else
	fail "device status -j named the leaf"
fi
# Nothing left holding the module (a leaked reference keeps it loaded).
check "the module unloads" rmmod dm_chain
done_testing
