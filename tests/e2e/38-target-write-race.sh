#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Concurrent writes to the same blocks (issue 15 item 2): a chain whose
# base holds data in every block and whose leaf is empty, so partial-block
# writes fill from the base; several writer processes issue overlapping
# O_DIRECT writes of 512 B .. 1 MiB at once, whole-block ones racing
# partial ones; after each round every sector holds what one of the writes
# covering it wrote (racemix.py), never the base's stale data.  A fresh
# leaf per seed keeps fills coming.
# Then discard and write-zeroes semantics (issue 15 item 7): a discard
# never takes new space (parts of blocks the leaf lacks are left alone),
# write-zeroes with REQ_NOUNMAP (fallocate -z) keeps the leaf's file space,
# without it (fallocate -p) the space is given back; what the leaf holds is
# read from the status line's per-layer counts and the leaf's file size.
# vm-disks: 1x4G
# vm-timeout: 1200
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
disk=${DMC_DISK_LIST[0]}
mnt=$DMC_TMP/layers
size=$((64 * 1024 * 1024))
bs=65536
sectors=$((size / 512))
dev=/dev/mapper/dmc-race
racer=$DMC_ROOT/tests/e2e/target/racemix.py
seeds=${DMC_RACE_SEEDS:-10}
rounds=${DMC_RACE_ROUNDS:-12}

check "mkfs.xfs and mount" fs_make xfs "$disk" "$mnt"
check "a base of 64 KiB blocks" \
	"$CHAINCTL" layer create -s "$size" -b "$bs" "$mnt/base"
head -c "$size" /dev/urandom > "$DMC_TMP/base-data"
check "the base holds data in every block" \
	"$CHAINCTL" layer write "$mnt/base" 0 "$size" < "$DMC_TMP/base-data"
rm -f "$DMC_TMP/base-data"

# leaf_table LEAF: the table of the chain base <- LEAF
leaf_table() { echo "0 $sectors chain 2 $mnt/base $1"; }

bad=0
for ((seed = 1; seed <= seeds; seed++)); do
	leaf=$mnt/leaf$seed
	"$CHAINCTL" layer create --parent "$mnt/base" "$leaf" > /dev/null &&
		dmsetup create --noudevsync dmc-race --table "$(leaf_table "$leaf")" &&
		dmsetup mknodes dmc-race || { bad=$((bad + 1)); break; }
	out=$(/usr/bin/python3 "$racer" "$dev" "$seed" "$rounds" 4 2>&1)
	rc=$?
	diag "$out"
	[ $rc = 0 ] || bad=$((bad + 1))
	diag "status: $(dmsetup status dmc-race)"
	tgt_remove dmc-race
	rm -f "$leaf"
	[ $bad = 0 ] || break
done
check_eq "concurrent overlapping writes over $seeds seeds: every sector as written" 0 "$bad"

# ---- discard and write zeroes ----
leaf=$mnt/zleaf
check "an empty leaf on the base" "$CHAINCTL" layer create --parent "$mnt/base" "$leaf"
check "create the chain" dmsetup create --noudevsync dmc-race --table "$(leaf_table "$leaf")"
dmsetup mknodes dmc-race
# leaf_counts: the leaf's "data:zero" from the status line
leaf_counts() { dmsetup status dmc-race | awk '{ print $NF }'; }
alloc() { stat -c %b "$leaf"; }

check "discard part of block 10 (the leaf lacks it)" \
	blkdiscard -o $((10 * bs + 4096)) -l 8192 "$dev"
check "discard 2 whole blocks with partial edges (12.5 .. 15.5)" \
	blkdiscard -o $((12 * bs + bs / 2)) -l $((3 * bs)) "$dev"
check_eq "a discard took no space: leaf holds 0 DATA, 2 ZERO blocks" "0:2" "$(leaf_counts)"
doff=$("$CHAINCTL" layer info -j "$mnt/base" | jq .data_offset_bytes)
check "block 10 still reads the base's data" \
	cmp <(dd if="$dev" bs=$bs skip=10 count=1 iflag=direct status=none) \
	    <(dd if="$mnt/base" bs=$bs skip=$((doff / bs + 10)) count=1 status=none)

check "write blocks 20 and 30..37 whole" sh -c \
	"dd if=/dev/urandom of=$dev bs=$bs seek=20 count=1 oflag=direct status=none &&
	 dd if=/dev/urandom of=$dev bs=$bs seek=30 count=8 oflag=direct conv=fsync status=none"
check "discard part of block 20 (the leaf holds it)" \
	blkdiscard -o $((20 * bs + 4096)) -l 8192 "$dev"
check "the discarded part of block 20 reads zeros" \
	cmp <(dd if="$dev" bs=4096 skip=$((20 * 16 + 1)) count=2 iflag=direct status=none) \
	    <(head -c 8192 /dev/zero)
check_eq "leaf holds 9 DATA, 2 ZERO blocks" "9:2" "$(leaf_counts)"

a0=$(alloc)
check "write zeroes keeping the space (fallocate -z, REQ_NOUNMAP) over blocks 30..33" \
	fallocate -z -o $((30 * bs)) -l $((4 * bs)) "$dev"
a1=$(alloc)
check "blocks 30..33 read zeros" \
	cmp <(dd if="$dev" bs=$bs skip=30 count=4 iflag=direct status=none) \
	    <(head -c $((4 * bs)) /dev/zero)
check_eq "leaf holds 5 DATA, 6 ZERO blocks" "5:6" "$(leaf_counts)"
check_eq "REQ_NOUNMAP kept the leaf's file space" "$a0" "$a1"
check "write zeroes giving space back (fallocate -p) over blocks 34..37" \
	fallocate -p -o $((34 * bs)) -l $((4 * bs)) "$dev"
a2=$(alloc)
check_eq "leaf holds 1 DATA, 10 ZERO blocks" "1:10" "$(leaf_counts)"
check "the leaf's file space shrank by 4 blocks" \
	test $((a1 - a2)) -ge $((4 * bs / 512))
diag "leaf allocation (512 B units): $a0 -> $a1 -> $a2"
check "commit" dmsetup message dmc-race 0 commit
tgt_remove dmc-race
check_json "chainctl layer map: blocks 30..37 are zero in the leaf" \
	"$("$CHAINCTL" layer map -j "$leaf")" \
	--argjson s $((30 * bs)) --argjson e $((38 * bs)) \
	'[.extents[] | select(.offset_bytes < $e and .offset_bytes + .length_bytes > $s)] | all(.kind == "zero" and .depth == 1)'
diag "$("$CHAINCTL" layer map "$leaf" | head -n 20)"
check "rmmod dm_chain" rmmod dm_chain
done_testing
