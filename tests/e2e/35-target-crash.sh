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

# A: flushed.  Blocks 0..199: whole-block and partial-block writes.
head -c $((64 * bs)) /dev/urandom > "$DMC_TMP/a"
dd if="$DMC_TMP/a" of="$dev" bs=$bs seek=10 count=32 oflag=direct status=none
dd if="$DMC_TMP/a" of="$ref" bs=$bs seek=10 count=32 conv=notrunc status=none
dd if="$DMC_TMP/a" of="$dev" bs=4096 seek=$((60 * 16 + 3)) count=5 oflag=direct status=none
dd if="$DMC_TMP/a" of="$ref" bs=4096 seek=$((60 * 16 + 3)) count=5 conv=notrunc status=none
check "flush (fsync of the device)" \
	dd if=/dev/null of="$dev" conv=notrunc,fsync status=none
check "O_DSYNC (FUA) writes into absent blocks" \
	dd if="$DMC_TMP/a" of="$dev" bs=512 seek=$((150 * 128 + 7)) count=9 \
		oflag=direct,dsync conv=notrunc status=none
dd if="$DMC_TMP/a" of="$ref" bs=512 seek=$((150 * 128 + 7)) count=9 conv=notrunc status=none
check "blkdiscard of 4 blocks, then flush" \
	sh -c "blkdiscard -o $((20 * bs)) -l $((4 * bs)) $dev && dd if=/dev/null of=$dev conv=notrunc,fsync status=none"
dd if=/dev/zero of="$ref" bs=$bs seek=20 count=4 conv=notrunc status=none

# B: not flushed.  Blocks 300..363.
head -c $((64 * bs)) /dev/urandom > "$DMC_TMP/b"
dd if="$DMC_TMP/b" of="$dev" bs=$bs seek=300 count=64 oflag=direct status=none
check "unflushed data is readable before the cut" \
	cmp <(dd if="$dev" bs=$bs skip=300 count=64 status=none) "$DMC_TMP/b"

# Power cut: from now on the disk drops every write.
check "cut: flakey drops all writes" flakey "0 600 1 drop_writes"
tgt_remove dmc-crash
umount "$mnt"
check "power back: flakey passes writes again" flakey "600 0"
check "XFS mounts (log recovery)" mount /dev/mapper/flk "$mnt"
cleanup_add umount "$mnt"
check "recreate the chain" tgt_create dmc-crash "$mnt/c" 2 "$size"

diffblocks() {	# diffblocks A B: 64 KiB blocks that differ (first 10)
	cmp -l "$1" "$2" 2>/dev/null | awk -v bs=$bs '{ b = int(($1 - 1) / bs); if (!(b in s)) { s[b]; print b } }' | head -n 10 | tr '\n' ' '
}
check "flushed data survived: blocks 0..299 equal the reference" \
	cmp <(head -c $((300 * bs)) "$dev") <(head -c $((300 * bs)) "$ref")
check "blocks after 364 equal the reference" \
	cmp <(tail -c +$((364 * bs + 1)) "$dev") <(tail -c +$((364 * bs + 1)) "$ref")
diag "blocks differing from the reference: $(diffblocks "$dev" "$ref")"
check "each unflushed block holds its old or its new content" \
	/usr/bin/python3 - "$dev" "$ref" "$DMC_TMP/b" <<'PY'
import sys
bs = 65536
dev, ref, new = (open(p, "rb") for p in sys.argv[1:4])
kept = lost = 0
for i in range(64):
    dev.seek((300 + i) * bs); ref.seek((300 + i) * bs); new.seek(i * bs)
    d, r, n = dev.read(bs), ref.read(bs), new.read(bs)
    if d == n:
        kept += 1
    elif d == r:
        lost += 1
    else:
        sys.exit(f"block {300 + i}: neither old nor new content")
print(f"unflushed blocks: {kept} kept, {lost} rolled back")
PY

# Layer I/O errors come back as bio errors and are counted, never zeros.
check "disk failure: flakey fails every I/O" flakey "0 600"
check_fail "a direct read of a leaf block fails with an error" \
	dd if="$dev" of=/dev/null bs=$bs skip=10 count=1 iflag=direct status=none
check "disk back" flakey "600 0"
errs=$(dmsetup status dmc-crash | awk '{ print $14 }')
check "the read error is counted" test "${errs:-0}" -ge 1
check "reads work again" cmp <(head -c $((300 * bs)) "$dev") <(head -c $((300 * bs)) "$ref")
diag "status: $(dmsetup status dmc-crash)"
tgt_remove dmc-crash
check "rmmod dm_chain" rmmod dm_chain
done_testing
