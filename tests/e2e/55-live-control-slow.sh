#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Slow storage does not stall generic netlink (issue 15 item 13).  The layers
# of device "slow" live on XFS over dm-delay (every write waits 1.5 s), so a
# snapshot (create the new leaf, sync it, commit the old leaf's map) takes
# many seconds.  While it runs, the generic netlink controller
# (CTRL_CMD_GETFAMILY, which takes genl_mutex), chainctl's status of another
# device, and a GET dump of every device answer within a second.  Before
# parallel_ops they waited for the snapshot.
# vm-disks: 2x4G
# vm-timeout: 900
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
GENL="/usr/bin/python3 $DMC_ROOT/tests/e2e/live/genl.py"
size=$((64 * 1024 * 1024))

# Fast device on the second disk.
fast=$DMC_TMP/fast
check "xfs for the fast device" fs_make xfs "${DMC_DISK_LIST[1]}" "$fast" || done_testing
check "fast base" "$C" layer create -s $size "$fast/l0" || done_testing
check "fast leaf" "$C" layer create --parent "$fast/l0" "$fast/l1" || done_testing
check "fast device" "$C" device create dmc-fast "$fast/l1" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-fast

# Slow device: XFS on dm-delay; no delay while preparing.
disk=${DMC_DISK_LIST[0]}
sectors=$(blockdev --getsz "$disk")
check "dm-delay" dmsetup create --noudevsync dly \
	--table "0 $sectors delay $disk 0 0 $disk 0 0" || done_testing
check "its node" dmsetup mknodes dly
cleanup_add dmsetup remove --noudevsync dly
slow=$DMC_TMP/slow
check "xfs on dm-delay" fs_make xfs /dev/mapper/dly "$slow" || done_testing
check "slow base" "$C" layer create -s $size "$slow/l0" || done_testing
check "slow leaf" "$C" layer create --parent "$slow/l0" "$slow/l1" || done_testing
check "slow device" "$C" device create dmc-slow "$slow/l1" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-slow
check "data on the slow device" dd if=/dev/urandom of=/dev/mapper/dmc-slow \
	bs=64k count=64 oflag=direct status=none
sync

check "writes now wait 1.5 s" dmsetup suspend --noudevsync --nolockfs --noflush dly
check "delay table" dmsetup reload dly \
	--table "0 $sectors delay $disk 0 0 $disk 0 1500"
check "resume dm-delay" dmsetup resume --noudevsync dly

t0=$(date +%s%N)
"$C" device snapshot dmc-slow "$slow/l2" > "$DMC_TMP/snap.out" 2>&1 &
snap=$!
sleep 1
check "snapshot still running after 1 s" kill -0 $snap

out=$($GENL getfamily dm-chain)
diag "controller: $out"
ms=$(sed -n 's/.*ms=\([0-9]*\).*/\1/p' <<<"$out")
check "CTRL_CMD_GETFAMILY answers within 1 s during the snapshot" \
	test "${ms:-99999}" -lt 1000

t1=$(date +%s%N)
st=$("$C" device status dmc-fast -j)
t2=$(date +%s%N)
diag "status of the fast device: $(((t2 - t1) / 1000000)) ms"
check "status of another device answers within 2 s" \
	test $(((t2 - t1) / 1000000)) -lt 2000
check_json "it is the fast device, 2 layers" "$st" \
	'.layers | length == 2'

check "snapshot still running after the requests" kill -0 $snap
wait $snap
rc=$?
t3=$(date +%s%N)
diag "snapshot took $(((t3 - t0) / 1000000)) ms: $(cat "$DMC_TMP/snap.out")"
check_eq "snapshot succeeded" 0 "$rc"

check "no delay any more" dmsetup suspend --noudevsync --nolockfs --noflush dly
check "delay table off" dmsetup reload dly \
	--table "0 $sectors delay $disk 0 0 $disk 0 0"
check "resume dm-delay" dmsetup resume --noudevsync dly
check_eq "slow device has 3 layers" 3 "$(live_nr_layers dmc-slow)"

# The dump lists both devices whole.
out=$($GENL dump)
diag "$out"
check "GET dump lists the slow device" grep -q "^dmc-slow nr_layers=3 listed=3 " <<<"$out"
check "GET dump lists the fast device" grep -q "^dmc-fast nr_layers=2 listed=2 " <<<"$out"
list=$("$C" device list -j)
check_json "chainctl device list (dump) shows both" "$list" \
	'[.devices[] | .name] | sort == ["dmc-fast", "dmc-slow"]'

check "remove slow" dmsetup remove --noudevsync dmc-slow
check "remove fast" dmsetup remove --noudevsync dmc-fast
done_testing
