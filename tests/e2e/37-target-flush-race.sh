#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A flush must make every map page durable that was dirty when it arrived,
# however many there are and whatever is written meanwhile (issue 15 item
# 1): a 16 GiB chain of 4 KiB blocks (256 map pages) gets one block in
# every map page, then a flush races writer processes that keep
# allocating blocks in the low map pages; right after the flush returns
# the disk under the layers' XFS drops every write (dm-flakey), the chain
# and XFS are torn down and come back: every block written before the
# flush reads back.
# Then the layers' filesystem is frozen (fsfreeze) while writes run through
# the device (issue 15 item 4): writes into the layer file wait for the
# thaw (ext4 warns when a write reaches it frozen), nothing hangs, and the
# data is right after the thaw.
# vm-disks: 1x4G
# vm-timeout: 1200
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
disk=${DMC_DISK_LIST[0]}
mnt=$DMC_TMP/layers
size=$((16 * 1024 * 1024 * 1024))
dev=/dev/mapper/dmc-frace
race=$DMC_ROOT/tests/e2e/target/flushrace.py

check "dm-flakey over $disk (always up)" flakey_create "$disk"
check "mkfs.xfs on flakey" mkfs.xfs -q -f /dev/mapper/flk
mkdir -p "$mnt"
check "mount" mount /dev/mapper/flk "$mnt"
mkdir -p "$mnt/c"
check "a 16 GiB layer of 4 KiB blocks (256 map pages)" \
	"$CHAINCTL" layer create -s "$size" -b 4096 "$mnt/c/l0"
check "create the chain" tgt_create dmc-frace "$mnt/c" 1 "$size"

check "one block in each of 256 map pages, then a flush racing writers" \
	/usr/bin/python3 "$race" write "$dev" "$DMC_TMP/state" 256
# Power cut right after the flush: nothing written from now on survives.
check "cut: flakey drops all writes" flakey "0 600 1 drop_writes"
tgt_remove dmc-frace
umount "$mnt"
check "power back: flakey passes writes again" flakey "600 0"
check "XFS mounts (log recovery)" mount /dev/mapper/flk "$mnt"
check "recreate the chain" tgt_create dmc-frace "$mnt/c" 1 "$size"
check "every block written before the flush reads back" \
	/usr/bin/python3 "$race" verify "$dev" "$DMC_TMP/state"
diag "status: $(dmsetup status dmc-frace)"
tgt_remove dmc-frace
umount "$mnt"

# ---- freeze protection ----
fimg=$DMC_TMP/frz.img
fmnt=$DMC_TMP/frz
fsize=$((32 * 1024 * 1024))
fdev=/dev/mapper/dmc-frz
truncate -s 300M "$fimg"
loopdev=$(losetup -f --show "$fimg")
cleanup_add losetup -d "$loopdev"
mkdir -p "$fmnt"
check "ext4 on a loop device for the layer" \
	sh -c "mkfs.ext4 -q -F $loopdev && mount $loopdev $fmnt"
cleanup_add umount "$fmnt"
mkdir -p "$fmnt/c"
check "a 32 MiB layer of 64 KiB blocks" \
	"$CHAINCTL" layer create -s "$fsize" -b 65536 "$fmnt/c/l0"
check "create the chain" tgt_create dmc-frz "$fmnt/c" 1 "$fsize"
check "fill it (every block DATA), flush" \
	dd if=/dev/urandom of="$fdev" bs=1M count=32 oflag=direct conv=fsync status=none

# A writer overwriting blocks in place (no allocation) while frozen.
head -c $((4 * 1024 * 1024)) /dev/urandom > "$DMC_TMP/frz-new"
(
	for i in 1 2 3 4 5 6 7 8; do
		dd if="$DMC_TMP/frz-new" of="$fdev" bs=64K seek=$(((i - 1) * 64)) \
			count=64 oflag=direct conv=notrunc status=none || exit 1
		echo "$i" > "$DMC_TMP/frz-count"
	done
	dd if=/dev/null of="$fdev" conv=notrunc,fsync status=none
) &
writer=$!
sleep 0.5
check "fsfreeze the layers' filesystem under running writes" fsfreeze -f "$fmnt"
c0=$(cat "$DMC_TMP/frz-count" 2>/dev/null)
sleep 3
c1=$(cat "$DMC_TMP/frz-count" 2>/dev/null)
check_eq "no write through the device completes while frozen" "$c0" "$c1"
check "thaw" fsfreeze -u "$fmnt"
wait_rc=0
timeout 120 tail --pid="$writer" -f /dev/null || wait_rc=$?
check_eq "the writer finishes after the thaw" 0 "$wait_rc"
writer_rc=0
wait "$writer" || writer_rc=$?
check_eq "every write of the writer succeeded" 0 "$writer_rc"
check "what was written reads back" \
	cmp <(dd if="$fdev" bs=64K skip=448 count=64 iflag=direct status=none) "$DMC_TMP/frz-new"
tgt_remove dmc-frz
check "rmmod dm_chain" rmmod dm_chain
done_testing
