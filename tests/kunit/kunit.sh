#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-timeout: 600
# Runs inside the test VM: loading dm-chain.ko runs its KUnit suites
# (dm_chain_*); each KUnit case becomes one TAP line here, so the host counts
# them like every other test.  No suite at all is a failure, not a pass.
. "$DMC_ROOT/tests/e2e/lib.sh"

if ! insmod "$DMC_KO"; then
	fail "insmod dm-chain.ko"
	done_testing
fi

nsuites=0
for dir in /sys/kernel/debug/kunit/dm_chain_*; do
	[ -f "$dir/results" ] || continue
	suite=${dir##*/}
	nsuites=$((nsuites + 1))
	ncases=0
	# Case lines are indented once (4 spaces); deeper lines are parameters.
	while IFS= read -r line; do
		if [[ $line =~ ^\ {4}(not\ )?ok\ [0-9]+\ (-\ )?(.*)$ ]]; then
			ncases=$((ncases + 1))
			name=${BASH_REMATCH[3]}
			if [ -n "${BASH_REMATCH[1]}" ]; then
				fail "$suite.$name"
				sed 's/^/#   /' "$dir/results" | head -n 60
			elif [[ $name == *"# SKIP"* ]]; then
				skip "$suite.${name%% # SKIP*}" "${name#*# SKIP}"
			else
				ok "$suite.$name"
			fi
		fi
	done < "$dir/results"
	[ "$ncases" -gt 0 ] || fail "$suite: no test case results" \
		"$(head -c 2000 "$dir/results")"
done
[ "$nsuites" -gt 0 ] || fail "KUnit suites dm_chain_* found in debugfs"

check "dm-chain.ko unloads after the KUnit run" rmmod dm_chain
done_testing
