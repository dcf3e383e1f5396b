#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flush durability across a simulated power cut: layer files on XFS on a
# dm-flakey device; data written to the chain and flushed (fsync on the
# device: FLUSH, and O_DSYNC writes: FUA), then more data written without a
# flush; then every later write to the disk is dropped (flakey
# drop_writes), the chain and the filesystem are torn down, the disk comes
# back, XFS recovers its log, the chain is recreated: everything flushed is
# there, and each unflushed block holds either its old or its new content.
# vm-disks: 1x4G
# vm-timeout: 900
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
disk=${DMC_DISK_LIST[0]}
mnt=$DMC_TMP/layers
size=$((32 * 1024 * 1024))
bs=65536
dev=/dev/mapper/dmc-crash
ref=$DMC_TMP/ref

check "dm-flakey over $disk (always up)" flakey_create "$disk"
check "mkfs.xfs on flakey" mkfs.xfs -q -f /dev/mapper/flk
mkdir -p "$mnt"
check "mount" mount /dev/mapper/flk "$mnt"
check "build a depth-2 chain (64 KiB blocks, raw base)" \
	tgt_mkchain "$mnt/c" 2 "$size" "$bs" 1 "$ref"
check "create the chain" tgt_create dmc-crash "$mnt/c" 2 "$size"

# A: flushed, FUA, discarded (blocks 0..299).  B: not flushed (300..363).
cut_write_flushed "$dev" "$ref" "$DMC_TMP/a"
cut_write_unflushed "$dev" "$DMC_TMP/b"

# Power cut: from now on the disk drops every write.
check "cut: flakey drops all writes" flakey "0 600 1 drop_writes"
# A file synced after the cut must be gone after it: proof the cut landed
# before the teardown below, not after.
check "a file written and synced after the cut" \
	sh -c "echo after > $mnt/after-the-cut && sync"
tgt_remove dmc-crash
umount "$mnt"
check "power back: flakey passes writes again" flakey "600 0"
check "XFS mounts (log recovery)" mount /dev/mapper/flk "$mnt"
cleanup_add umount "$mnt"
check "the cut landed: the file synced after it is gone" test ! -e "$mnt/after-the-cut"
check "recreate the chain" tgt_create dmc-crash "$mnt/c" 2 "$size"

cut_verify "$dev" "$ref" "$DMC_TMP/b"

# Layer I/O errors come back as bio errors and are counted, never zeros.
check "disk failure: flakey fails every I/O" flakey "0 600"
check_fail_msg "a direct read of a leaf block fails with an error" \
	"error reading '/dev/mapper/dmc-crash': Input/output error" \
	dd if="$dev" of=/dev/null bs=$bs skip=10 count=1 iflag=direct status=none
check "disk back" flakey "600 0"
errs=$(dmsetup status dmc-crash | awk '{ print $14 }')
check "the read error is counted" test "${errs:-0}" -ge 1
check "reads work again" cmp <(head -c $((300 * bs)) "$dev") <(head -c $((300 * bs)) "$ref")
diag "status: $(dmsetup status dmc-crash)"
tgt_remove dmc-crash
check "rmmod dm_chain" rmmod dm_chain
done_testing
