#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A live merge of a chain split across two filesystems: base and middle
# layer on XFS, leaf on ext4.  Merging both into the base clones the
# middle layer's runs (same volume) and copies the leaf's (the filesystem
# refuses a cross-volume clone), automatically, while fio writes and
# verifies; the result equals the reference and survives a recreate.
# vm-disks: 2x4G
# vm-timeout: 900
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
x=$DMC_TMP/xfs
e=$DMC_TMP/ext4
check "mkfs.xfs on ${DMC_DISK_LIST[0]}" fs_make xfs "${DMC_DISK_LIST[0]}" "$x" || done_testing
check "mkfs.ext4 on ${DMC_DISK_LIST[1]}" fs_make ext4 "${DMC_DISK_LIST[1]}" "$e" || done_testing
size=$((128 * 1024 * 1024))
name=dmc-mixed
dev=/dev/mapper/$name
ref=$DMC_TMP/ref
truncate -s $size "$ref"

check "base on xfs" "$C" layer create -s $size -b 65536 "$x/l0"
check "middle layer on xfs" "$C" layer create --parent "$x/l0" "$x/l1"
check "device on the middle layer" "$C" device create "$name" "$x/l1"
check "writes into the middle layer" live_scatter "$dev" "$ref" 21 256 65536
check "remove" dmsetup remove --noudevsync "$name"
check "leaf on ext4" "$C" layer create --parent "$x/l1" "$e/l2"
check "device on the leaf" "$C" device create "$name" "$e/l2"
cleanup_add dmsetup remove --noudevsync "$name"
check "writes into the leaf" live_scatter "$dev" "$ref" 22 256 65536
check "device equals the reference" cmp "$dev" "$ref"

fio --name=mixed --filename="$dev" --offset=$((size / 2)) --size=$((size / 4)) \
	--rw=randwrite --bsrange=4k-128k --ioengine=libaio --iodepth=8 \
	--direct=1 --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--output="$DMC_TMP/fio.out" &
fio_pid=$!
out=$("$C" device merge "$name" --depth 2 --new-leaf "$e/l3" -j)
check "merge --depth 2 into the xfs base" test $? -eq 0
diag "merge: $out"
check_json "merge done" "$out" '.state == "done"'
check_json "the xfs layer's runs were cloned" "$out" '.cloned_bytes > 0'
check_json "the ext4 layer's runs were copied" "$out" '.copied_bytes > 0'
check_json "the new leaf is where it was asked for" "$out" ".new_leaf_path == \"$e/l3\""
check "fio verified throughout" wait $fio_pid
check "outside fio's region the device equals the reference" \
	live_cmp_outside "$dev" "$ref" $((size / 2)) $((size / 4))
dd if="$dev" of="$ref" bs=1M skip=64 seek=64 count=32 conv=notrunc status=none
check_eq "chain is base + new leaf" 2 "$(live_nr_layers "$name")"
check "remove" dmsetup remove --noudevsync "$name"
check "delete the merged-away files" rm "$x/l1" "$e/l2"
check "recreate from the new leaf" "$C" device create "$name" "$e/l3"
check "recreated device equals the reference" cmp "$dev" "$ref"
check "remove" dmsetup remove --noudevsync "$name"
check "rmmod dm_chain" rmmod dm_chain
done_testing
