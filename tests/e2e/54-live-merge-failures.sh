#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live merges that fail part-way, and a power cut in the middle of one.
#  - ENOSPC: the target's filesystem fills up during a copy merge; the merge
#    fails with the reason, the device keeps reading the same data (and
#    writing, once space is freed); then the re-issued merge resumes and completes.
#  - Power cut: layer files on XFS on dm-flakey; a slow merge is cut by
#    dropping every later disk write; after "reboot" (teardown, log
#    recovery) the device is created again from the new leaf (its table
#    lists the target, the source and the new leaf), shows everything that
#    was flushed before the merge, and the re-issued merge resumes from the
#    saved cursor and completes.
# vm-disks: 2x4G
# vm-timeout: 900
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
size=$((64 * 1024 * 1024))

# --- ENOSPC: ext4 of 160 MiB on a loop device
host=$DMC_TMP/host
check "xfs to hold the loop file" fs_make xfs "${DMC_DISK_LIST[1]}" "$host" || done_testing
truncate -s 160M "$host/small.img"
loop=$(losetup -f --show "$host/small.img")
cleanup_add losetup -d "$loop"
small=$DMC_TMP/small
check "small ext4" fs_make ext4 "$loop" "$small" || done_testing
name=dmc-nospc
dev=/dev/mapper/$name
ref=$DMC_TMP/ref-nospc
truncate -s $size "$ref"
check "base" "$C" layer create -s $size -b 65536 "$small/l0"
check "leaf" "$C" layer create --parent "$small/l0" "$small/l1"
check "device" "$C" device create "$name" "$small/l1"
cleanup_add dmsetup remove --noudevsync "$name"
check "48 MiB written into the leaf" live_scatter "$dev" "$ref" 31 768 65536
sync
free=$(df -k --output=avail "$small" | tail -n 1)
check "filler leaves about 24 MiB free" \
	fallocate -l $(((free - 24 * 1024) * 1024)) "$small/filler"
diag "free before the merge: $(df -k --output=avail "$small" | tail -n 1) KiB"
check_fail_msg "merge fails for lack of space" "space" \
	"$C" device merge "$name"
check_json "status: failed with ENOSPC" "$(live_get "$name")" \
	'.merge.state == "failed" and .merge.errno == 28'
check "device still reads the same data" cmp "$dev" "$ref"
check "free the space" rm "$small/filler"
check "device takes writes again" live_scatter "$dev" "$ref" 32 16 65536
out=$("$C" device merge "$name" -j)
check_json "re-issued merge resumes and completes" "$out" \
	'.state == "done" and .resumed == true'
check "device equals the reference" cmp "$dev" "$ref"
check "remove" dmsetup remove --noudevsync "$name"

# --- power cut during a merge
disk=${DMC_DISK_LIST[0]}
check "dm-flakey over $disk" flakey_create "$disk"
mnt=$DMC_TMP/cut
check "xfs on flakey" sh -c "mkfs.xfs -q -f -m reflink=1 /dev/mapper/flk && mkdir -p $mnt && mount /dev/mapper/flk $mnt"
name=dmc-cut
dev=/dev/mapper/$name
ref=$DMC_TMP/ref-cut
check "depth-2 chain" tgt_mkchain "$mnt/c" 2 "$size" 65536 0 "$ref"
check "device" "$C" device create "$name" "$mnt/c/l1"
check "32 MiB of writes" live_scatter "$dev" "$ref" 41 512 65536
check "flush" dd if=/dev/null of="$dev" conv=notrunc,fsync status=none
check "slow merge started (--rate 1)" "$C" device merge "$name" --rate 1 --no-wait
sleep 2
newleaf=$(live_layer_path "$name" 2)
st=$(live_get "$name")
diag "new leaf: $newleaf; merge: $(jq -c .merge <<< "$st")"
check_json "the merge is still running at the cut" "$st" \
	'.merge.state == "running"'
check "cut: the disk drops every write" flakey "0 600 1 drop_writes"
# The cut must land in the middle of the merge, not after its end.
st=$(live_get "$name")
check_json "the cut landed mid-merge: still running, part of it done" "$st" \
	'.merge.state == "running" and .merge.done_bytes < .merge.total_bytes'
check "remove the device (stops the merge)" dmsetup remove --noudevsync "$name"
umount "$mnt"
check "power back" flakey "600 0"
check "XFS mounts (log recovery)" mount /dev/mapper/flk "$mnt"
cleanup_add umount "$mnt"
"$C" layer check "$mnt/c/l0" > "$DMC_TMP/check.out" 2>&1
check_eq "check reports the interrupted merge, resumable (exit 6)" 6 $?
sed 's/^/# /' "$DMC_TMP/check.out"
check_fail_msg "offline, the new leaf's chain shows the unfinished merge" \
	"merg" "$C" layer info --chain "$newleaf"
check "the device is created again from the new leaf" \
	"$C" device create "$name" "$newleaf"
check_eq "its table lists the target, the source and the new leaf" \
	"0 $((size / 512)) chain 3 $mnt/c/l0 $mnt/c/l1 $newleaf" \
	"$(dmsetup table "$name")"
check "it shows everything flushed before the merge" cmp "$dev" "$ref"
out=$("$C" device merge "$name" -j)
check_json "the re-issued merge resumes from the saved cursor and completes" \
	"$out" '.state == "done" and .resumed == true'
check_eq "the source is merged away" merged-away "$(live_state "$mnt/c/l1")"
check_eq "target and new leaf remain" 2 "$(live_nr_layers "$name")"
check "the data is unchanged" cmp "$dev" "$ref"
check "remove" dmsetup remove --noudevsync "$name"
check "the new leaf's chain is valid offline" "$C" layer info --chain "$newleaf"
check "and recreates the same device" "$C" device create "$name" "$newleaf"
check "with the same data" cmp "$dev" "$ref"
check "remove" dmsetup remove --noudevsync "$name"
check "rmmod dm_chain" rmmod dm_chain
done_testing
