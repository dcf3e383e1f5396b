#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-timeout: 600
# Runs inside the test VM: loading dm-chain.ko runs its KUnit suites
# (dm_chain_*); each KUnit case becomes one TAP line here, so the host counts
# them like every other test.  No suite at all is a failure, not a pass.
#
# The suites on real files (kmod/layer-test.c, dm_chain_layer_files) work
# in /tmp/dmc-kunit, made here before the insmod (6.1 runs a module's suites
# before it parses module parameters, so the path is fixed): a tmpfs of its
# own holding full/ (a 256 KiB tmpfs a case fills to ENOSPC) and ro/ (a
# read-only tmpfs with an empty file "plain").  Layer files need neither
# O_DIRECT nor reflink, so tmpfs serves.  Without the directory those cases
# skip (as at the scenarios' insmods); here such a skip is a failure.
. "$DMC_ROOT/tests/e2e/lib.sh"

# The VM itself: every scenario and benchmark assumes the guest runs on the
# CPUs tests/vm/run gives it.  A test kernel without ACPI reads SeaBIOS's MP
# table, which lists only the boot CPU: it booted one CPU for months with
# nobody noticing (5b45f51).
online=$(cat /sys/devices/system/cpu/online 2>/dev/null)
diag "guest CPUs: nproc $(nproc), online '$online', $(dmesg | grep -m1 -o 'smpboot: Allowing [0-9]* CPUs' || echo 'no smpboot line')"
if [ -z "${DMC_VM_CPUS:-}" ]; then
	fail "tests/vm/run states the guest's CPU count (DMC_VM_CPUS in the job)"
else
	check_eq "the guest sees the $DMC_VM_CPUS CPUs tests/vm/run gives it (nproc)" \
		"$DMC_VM_CPUS" "$(nproc)"
	check_eq "all $DMC_VM_CPUS CPUs are online" "0-$((DMC_VM_CPUS - 1))" "$online"
fi

kdir=/tmp/dmc-kunit
unmount_all() {
	umount "$kdir/ro" "$kdir/full" "$kdir" 2>/dev/null
}
mkdir -p "$kdir" &&
	mount -t tmpfs -o size=64m,mode=0700 dmc-kunit "$kdir" &&
	mkdir "$kdir/full" "$kdir/ro" &&
	mount -t tmpfs -o size=256k dmc-kunit-full "$kdir/full" &&
	mount -t tmpfs -o size=64k dmc-kunit-ro "$kdir/ro" &&
	: > "$kdir/ro/plain" &&
	mount -o remount,ro "$kdir/ro"
check "scratch directories for the file suites ($kdir)" [ $? = 0 ]

if ! insmod "$DMC_KO"; then
	fail "insmod dm-chain.ko"
	unmount_all
	done_testing
fi

nsuites=0
for dir in /sys/kernel/debug/kunit/dm_chain_*; do
	[ -f "$dir/results" ] || continue
	suite=${dir##*/}
	nsuites=$((nsuites + 1))
	ncases=0 nfailed=0 planned= verdict=
	# Case lines are indented once (4 spaces); deeper lines are parameters.
	# KUnit keeps 512 bytes of log per case, its verdict line included: a
	# case that logs much can lose that line, so the plan ("1..N") and the
	# suite's verdict (the last line, computed when read) are checked too.
	while IFS= read -r line; do
		if [ -z "$planned" ] && [[ $line =~ ^\ {4}1\.\.([0-9]+)$ ]]; then
			planned=${BASH_REMATCH[1]}
		elif [[ $line =~ ^(not\ )?ok\ 1\ $suite$ ]]; then
			verdict=${BASH_REMATCH[1]:-ok}
		elif [[ $line =~ ^\ {4}(not\ )?ok\ [0-9]+\ (-\ )?(.*)$ ]]; then
			ncases=$((ncases + 1))
			name=${BASH_REMATCH[3]}
			if [ -n "${BASH_REMATCH[1]}" ]; then
				nfailed=$((nfailed + 1))
				fail "$suite.$name"
				sed 's/^/#   /' "$dir/results" | head -n 60
			elif [[ $name == *"# SKIP"* && $suite == dm_chain_layer_files ]]; then
				fail "$suite.${name%% # SKIP*}" "skipped:${name#*# SKIP}"
			elif [[ $name == *"# SKIP"* ]]; then
				skip "$suite.${name%% # SKIP*}" "${name#*# SKIP}"
			else
				ok "$suite.$name"
			fi
		fi
	done < "$dir/results"
	[ "$ncases" -gt 0 ] || fail "$suite: no test case results" \
		"$(head -c 2000 "$dir/results")"
	if [ -n "$planned" ] && [ "$ncases" -lt "$planned" ]; then
		fail "$suite: $ncases of $planned case verdicts readable in debugfs (log cut; the kernel log has all)" \
			"$(dmesg | sed -n "/# Subtest: $suite\$/,/ok [0-9]* $suite\$/p" | tail -n 80)"
	elif [ "$verdict" = "not " ] && [ "$nfailed" = 0 ]; then
		fail "$suite: suite verdict is not ok" "$(tail -n 40 "$dir/results")"
	fi
done
[ "$nsuites" -gt 0 ] || fail "KUnit suites dm_chain_* found in debugfs"
check "the file suites ran (dm_chain_layer_files in debugfs)" \
	[ -f /sys/kernel/debug/kunit/dm_chain_layer_files/results ]

check "dm-chain.ko unloads after the KUnit run" rmmod dm_chain
unmount_all
done_testing
