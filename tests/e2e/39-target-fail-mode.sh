#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fail mode (issue 15 item 3): the layers' XFS sits on a dm-linear device
# whose sectors under the leaf file can be switched to dm-error.  With the
# fault on, a flush (its map commit) fails; the device goes to fail mode:
# `dmsetup status` says "fail", `chainctl device status` says so, a dm
# event is raised, the kernel logs it once; with the fault gone, writes and
# flushes still fail and reads go on; a reload is refused while the fault
# lasts and brings the device back once it is gone, with every flushed
# block (and the unflushed ones whose data was on disk) intact.
# Then (issue 15 item 5): a leaf made writable again by a table reload
# after a snapshot bumps its generation on its first table, so the
# snapshot's child is stale.
# vm-disks: 1x4G
# vm-timeout: 900
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
disk=${DMC_DISK_LIST[0]}
mnt=$DMC_TMP/layers
size=$((64 * 1024 * 1024))
sectors=$((size / 512))
bs=65536
dev=/dev/mapper/dmc-fail

# lower_table [FILE]: dm-linear over the disk; with FILE, the sectors of
# FILE's extents map to dm-error instead.
lower_table() { file_error_table "$disk" "$@"; }
lower() {
	lower_table "$@" > "$DMC_TMP/lower.table" &&
		dmsetup suspend --noudevsync --nolockfs --noflush lwr &&
		dmsetup reload lwr "$DMC_TMP/lower.table" &&
		dmsetup resume --noudevsync lwr
}
events() { dmsetup info -c -o events --noheadings dmc-fail | tr -d ' '; }
mode() { dmsetup status dmc-fail | awk '{ print $5 }'; }

check "dm-linear over $disk" dmsetup create --noudevsync lwr --table "$(lower_table)"
dmsetup mknodes lwr
cleanup_add dmsetup remove --noudevsync lwr
check "mkfs.xfs and mount" fs_make xfs /dev/mapper/lwr "$mnt"
check "a base with data" sh -c "$CHAINCTL layer create -s $size -b $bs $mnt/base >/dev/null &&
	head -c $size /dev/urandom | $CHAINCTL layer write $mnt/base 0 $size"
check "a leaf on it, all its file space allocated" \
	sh -c "$CHAINCTL layer create --parent $mnt/base $mnt/leaf >/dev/null &&
	       fallocate -l \$(stat -c %s $mnt/leaf) $mnt/leaf"
diag "leaf extents: $(filefrag -e -b512 "$mnt/leaf" | grep -c '^ *[0-9]*:')"
table="0 $sectors chain 2 $mnt/base $mnt/leaf"
check "create the chain" dmsetup create --noudevsync dmc-fail --table "$table"
dmsetup mknodes dmc-fail

head -c $((16 * bs)) /dev/urandom > "$DMC_TMP/x"
head -c $((4 * bs)) /dev/urandom > "$DMC_TMP/y"
check "write blocks 0..15 and flush" \
	dd if="$DMC_TMP/x" of="$dev" bs=$bs oflag=direct conv=fsync status=none
check "write blocks 20..23 (direct, not flushed)" \
	dd if="$DMC_TMP/y" of="$dev" bs=$bs seek=20 oflag=direct conv=notrunc status=none
check_eq "mode before the fault" rw "$(mode)"
ev0=$(events)

check "fault: the leaf file's sectors fail" lower "$mnt/leaf"
check_fail_msg "a flush fails while the leaf cannot be written" "Input/output error" \
	dd if=/dev/null of="$dev" conv=notrunc,fsync status=none
check_eq "status: fail mode" fail "$(mode)"
check "fault gone" lower
check_fail_msg "in fail mode a write fails, storage healthy or not" "Input/output error" \
	dd if=/dev/zero of="$dev" bs=$bs seek=40 count=1 oflag=direct conv=notrunc status=none
check_fail_msg "in fail mode a flush fails" "Input/output error" \
	dd if=/dev/null of="$dev" conv=notrunc,fsync status=none
check_fail_msg "in fail mode a discard fails" "Input/output error|BLKDISCARD" \
	blkdiscard -o $((50 * bs)) -l $bs "$dev"
check "in fail mode reads go on" \
	cmp <(dd if="$dev" bs=$bs count=16 iflag=direct status=none) "$DMC_TMP/x"
check_eq "still fail mode" fail "$(mode)"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ "$(events)" != "$ev0" ] && break; sleep 0.5; done
check "a dm event was raised ($ev0 -> $(events))" test "$(events)" -gt "$ev0"
check_eq "the kernel logged fail mode once" 1 \
	"$(dmesg | grep -c 'dmc-fail: .*fail mode')"
st=$("$CHAINCTL" device status dmc-fail)
check "chainctl device status says FAILED" grep -q "FAILED" <<< "$st"
check_json "chainctl device status -j: failed" "$("$CHAINCTL" device status -j dmc-fail)" '.failed == true'

check "fault again" lower "$mnt/leaf"
check_fail_msg "a reload is refused while the leaf cannot be written" "reload ioctl on dmc-fail.*failed" \
	dmsetup reload dmc-fail --table "$table"
check_eq "the refused reload left fail mode on" fail "$(mode)"
check "fault gone" lower
check "reload once the fault is gone" \
	sh -c "dmsetup reload dmc-fail --table '$table' && dmsetup resume --noudevsync dmc-fail"
check_eq "a new table starts in rw mode" rw "$(mode)"
check_json "chainctl device status -j: not failed" "$("$CHAINCTL" device status -j dmc-fail)" '.failed == false'
check "writes and flushes work again" \
	dd if=/dev/zero of="$dev" bs=$bs seek=40 count=1 oflag=direct conv=notrunc,fsync status=none
tgt_remove dmc-fail
check "recreate the device" dmsetup create --noudevsync dmc-fail --table "$table"
dmsetup mknodes dmc-fail
check "the flushed blocks 0..15 are intact" \
	cmp <(dd if="$dev" bs=$bs count=16 iflag=direct status=none) "$DMC_TMP/x"
check "blocks 20..23, written before the fault, are intact" \
	cmp <(dd if="$dev" bs=$bs skip=20 count=4 iflag=direct status=none) "$DMC_TMP/y"
tgt_remove dmc-fail

# ---- an old leaf made writable again bumps its generation ----
g=$mnt/g
mkdir -p "$g"
check "layer A" "$CHAINCTL" layer create -s "$size" -b "$bs" "$g/A"
check "device on A" dmsetup create --noudevsync dmc-gen --table "0 $sectors chain 1 $g/A"
dmsetup mknodes dmc-gen
check "write to A" dd if=/dev/urandom of=/dev/mapper/dmc-gen bs=$bs count=4 oflag=direct conv=fsync status=none
check "snapshot: B on A" "$CHAINCTL" device snapshot dmc-gen "$g/B"
check "reload with A as the leaf again (B left out)" \
	sh -c "dmsetup reload dmc-gen --table '0 $sectors chain 1 $g/A' && dmsetup resume --noudevsync dmc-gen"
check "write to A again" dd if=/dev/urandom of=/dev/mapper/dmc-gen bs=$bs seek=8 count=4 oflag=direct conv=fsync status=none
tgt_remove dmc-gen
ga=$("$CHAINCTL" layer info -j "$g/A" | jq .generation)
gb=$("$CHAINCTL" layer info -j "$g/B" | jq .parent.generation)
diag "A generation $ga, B made from A at generation $gb"
check "A's generation moved past the one B was made from" test "$ga" -gt "$gb"
check_fail_msg "a device A <- B is refused: B is stale" "stale|generation" \
	"$CHAINCTL" device create dmc-gen "$g/B"
check "rmmod dm_chain" rmmod dm_chain
done_testing
