#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A sample of the crash-consistency replay (tests/crash, docs/testing/
# crash.md): dm-log-writes under the filesystem that holds the layers
# records every write of a workload through a chain device (fsync'd
# rounds, snapshots, live merges, offline and swap merges); the log is replayed
# onto another disk to every flush and FUA point, and at each point the
# layers check clean, the chain opens and holds every synced round and
# nothing older, and at sampled points a re-issued merge finishes with the
# same content.  One TAP result per point.  The long run is
# `make check-crash` (tests/crash/run), which passes its own arguments.
# vm-disks: 3x4G
# vm-timeout: 1500
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/crash/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
# arguments (tests/crash/run): "FS:KIND ..." SEGMENTS ROUNDS SAMPLE SEED CUTS
# make check's sample: a live merge by clone running under the writes,
# an offline merge by copy, and a swap merge (--side source) by clone;
# about 150 points, 6 to 9 minutes.
# DMC_FULL=1 adds plain writes with snapshots on ext4 and a cancelled
# live merge on XFS.
if [ "${DMC_FULL:-0}" = 1 ]; then
	cases=${1:-xfs:live ext4:offline xfs:swap ext4:writes xfs:cancel ext4:swap}
else
	cases=${1:-xfs:live ext4:offline xfs:swap}
fi
segs=${2:-2}
rounds=${3:-1}
sample=${4:-10}
seed=${5:-1}
export CRASH_CUTS=${6:-30}
# the first case ends with the canary: the checks must be able to fail
export CRASH_CANARY=1

[ -x "$CRASH_REPLAY" ] && [ -x "$CRASH_CHECK" ] ||
	{ fail "replay-log and crashcheck are built (make -C tests/crash)"; done_testing; }
crash_disks "${DMC_DISK_LIST[0]}" "${DMC_DISK_LIST[1]}" "${DMC_DISK_LIST[2]}"
truncate -s 1G "$DMC_TMP/crash-cow" &&
CRASH_COW=$(losetup -f --show "$DMC_TMP/crash-cow") ||
	{ fail "a loop device for the snapshots' copy-on-write store"; done_testing; }
cleanup_add losetup -d "$CRASH_COW"

for c in $cases; do
	blkdiscard -z "$CRASH_ORIG" 2> /dev/null
	crash_scenario "${c%%:*}" "${c#*:}" "$seed" "$segs" "$rounds" "$sample"
	seed=$((seed + 1))
	CRASH_CANARY=0
done
check "rmmod dm_chain" rmmod dm_chain
done_testing
