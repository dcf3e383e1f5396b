#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dm-chain generic netlink family under random requests (issue 16,
# fuzzing in the VM): tests/fuzz/genl-fuzz sends seeded malformed, missing,
# oversized, duplicated and wrongly typed attributes for every command and
# some the family does not have, as root against a live device (so some
# merges, cancels and snapshots really run) and unprivileged.  Every answer
# must be an error with an extack message (genetlink's own "no such
# command" and EPERM aside); the runner fails on any kernel report.
# Afterwards the device still reads what was written, and every layer
# file passes `chainctl layer check`.
# vm-disks: 1x4G
# vm-timeout: 900
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
FUZZ=$DMC_ROOT/tests/fuzz/genl-fuzz
C=$CHAINCTL
[ -x "$FUZZ" ] || { fail "tests/fuzz/genl-fuzz is built (tests/check builds it)"; done_testing; }
n=${1:-1500}
seeds=${2:-3}

x=$DMC_TMP/x
check "xfs for the layers" fs_make xfs "${DMC_DISK_LIST[0]}" "$x" || done_testing
check "base layer" "$C" layer create -s 64M "$x/base.dmc" || done_testing
check "leaf layer" "$C" layer create --parent "$x/base.dmc" "$x/leaf.dmc" || done_testing
check "device gf" "$C" device create gf "$x/leaf.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync gf
check "data on it" dd if=/dev/urandom of=/dev/mapper/gf bs=1M count=16 oflag=direct \
	status=none || done_testing
want=$(md5sum < /dev/mapper/gf)

answered=0
for ((s = 1; s <= seeds; s++)); do
	out=$("$FUZZ" -s "$s" -n "$n" -d gf -p "$x" 2>&1)
	rc=$?
	echo "$out" | grep -E '^# (seed|command|answered| )' | sed 's/^#/# root:/'
	a=$(echo "$out" | sed -n 's/^# answered get=\([0-9]*\) merge=\([0-9]*\) cancel=\([0-9]*\) snapshot=\([0-9]*\)$/\1 \2 \3 \4/p')
	for v in $a; do answered=$((answered + v)); done
	if [ $rc = 0 ]; then
		ok "root, seed $s: $n requests, every error with its extack message"
	else
		fail "root, seed $s: exit $rc" "$(echo "$out" | grep -v '^#   ' | head -n 40)"
	fi
	# A merge the fuzzer started may still run: stop it before the next.
	"$C" device cancel gf > /dev/null 2>&1
done
# Not everything may be refused: valid requests must have been answered.
if [ "$answered" -gt 0 ]; then
	ok "requests that were valid were answered ($answered)"
else
	fail "requests that were valid were answered (none was)"
fi

if command -v setpriv > /dev/null; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$FUZZ" -u -s 7 -n 300 -d gf -p "$x" 2>&1)
	rc=$?
	echo "$out" | grep -E '^# (seed|command| )' | sed 's/^#/# unprivileged:/'
	check_eq "unprivileged: 300 requests, every one refused" 0 "$rc"
else
	skip "unprivileged requests" "setpriv not installed"
fi

# The device is whole: wait out a merge, then compare.
for ((t = 0; t < 120; t++)); do
	"$C" device status gf 2>/dev/null | grep -q 'running' || break
	sleep 1
done
check_eq "the device reads what was written before the fuzzing" "$want" \
	"$(md5sum < /dev/mapper/gf)"
check "remove the device" dmsetup remove --noudevsync gf
check_layer_files "every layer file passes layer check" "$x"/*.dmc
done_testing
