#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flush durability across a real power cut: the VM is restarted in the
# middle of its work (reboot(2) with no sync, no unmount) and booted again
# with the same disks.  Boot 1 builds two chains on XFS: one written raw
# (flushed data, FUA writes, a discard, then unflushed writes), one holding
# an ext4 filesystem with a synced file and an unsynced one; the expected
# content goes to a second disk; then the power goes.  Boot 2 mounts XFS
# (log recovery), recreates both devices and checks: everything flushed is
# there, each unflushed block holds its old or its new content, the ext4
# journal replays to a clean filesystem with the synced file intact, and
# the layer files check clean.  What the VM handed to its disks survives
# the cut; what sat in its page cache does not.  (35 cuts the disk itself
# with dm-flakey: there, writes the disk had not made durable are lost.)
# vm-disks: 2x4G
# vm-boots: 2
# vm-timeout: 900
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
disk=${DMC_DISK_LIST[0]}
state_disk=${DMC_DISK_LIST[1]}
mnt=$DMC_TMP/layers
size=$((32 * 1024 * 1024))
fsize=$((128 * 1024 * 1024))
bs=65536
dev=/dev/mapper/dmc-cut
fsdev=/dev/mapper/dmc-cutfs
st=$DMC_TMP/state

if [ "${DMC_BOOT:-1}" = 1 ]; then
	mkdir -p "$mnt" "$st"
	check "mkfs.xfs and mount" sh -c "mkfs.xfs -q -f -m reflink=1 $disk && mount $disk $mnt"
	check "build a depth-2 chain (raw base)" \
		tgt_mkchain "$mnt/c" 2 "$size" "$bs" 1 "$st/ref"
	check "create it" tgt_create dmc-cut "$mnt/c" 2 "$size"
	check "build a second depth-2 chain (layer base)" \
		tgt_mkchain "$mnt/f" 2 "$fsize" "$bs" 0 "$DMC_TMP/fref"
	check "create it" tgt_create dmc-cutfs "$mnt/f" 2 "$fsize"

	# A: flushed, FUA, discarded (blocks 0..299).
	cut_write_flushed "$dev" "$st/ref" "$DMC_TMP/a"

	# ext4 on the second chain: one file synced, one not.
	mkdir -p "$DMC_TMP/fs"
	check "mkfs.ext4 on the chain and mount" \
		sh -c "mkfs.ext4 -q -F $fsdev && mount $fsdev $DMC_TMP/fs"
	head -c $((8 * 1024 * 1024)) /dev/urandom > "$DMC_TMP/fs/synced"
	check "sync the filesystem (syncfs: journal commit, FLUSH/FUA)" sync -f "$DMC_TMP/fs/synced"
	(cd "$DMC_TMP/fs" && sha256sum synced) > "$st/synced.sha256"
	head -c $((8 * 1024 * 1024)) /dev/urandom > "$DMC_TMP/fs/unsynced"

	# B: not flushed (blocks 300..363).
	cut_write_unflushed "$dev" "$st/b"

	# What boot 2 compares with goes to the second disk, synced.
	check "save the expected content on $state_disk" \
		sh -c "tar -cf $DMC_TMP/state.tar -C $st . && dd if=$DMC_TMP/state.tar of=$state_disk bs=1M conv=fsync status=none"
	vm_power_cut
fi

# Boot 2: after the cut.
mkdir -p "$mnt" "$st" "$DMC_TMP/fs"
check "the expected content is back from $state_disk" tar -xf "$state_disk" -C "$st"
check "XFS mounts (log recovery)" mount "$disk" "$mnt"
cleanup_add umount "$mnt"
check "recreate the raw-written chain" tgt_create dmc-cut "$mnt/c" 2 "$size"
cut_verify "$dev" "$st/ref" "$st/b"
tgt_remove dmc-cut

check "recreate the ext4 chain" tgt_create dmc-cutfs "$mnt/f" 2 "$fsize"
check "ext4 mounts (journal replay)" mount "$fsdev" "$DMC_TMP/fs"
check "the synced file is intact" sh -c "cd $DMC_TMP/fs && sha256sum -c --quiet $st/synced.sha256"
diag "unsynced file after the cut: $(stat -c '%s bytes' "$DMC_TMP/fs/unsynced" 2>&1)"
umount "$DMC_TMP/fs"
check "e2fsck finds the filesystem clean" e2fsck -fn "$fsdev"
tgt_remove dmc-cutfs

check "chainctl layer check: the raw-written chain's leaf" "$CHAINCTL" layer check "$mnt/c/l1"
check "chainctl layer check: the ext4 chain's leaf" "$CHAINCTL" layer check "$mnt/f/l1"
check "rmmod dm_chain" rmmod dm_chain
done_testing
