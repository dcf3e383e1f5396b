#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A live chain device: table reload and suspend/resume keep unflushed
# writes, the map reaches the files on suspend, "commit" message, status and
# table output, buffered_io and layer files without direct I/O (tmpfs),
# O_SYNC (FUA) writes, discard freeing leaf space, fills counted.
# vm-disks: 1x4G
# vm-timeout: 900
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
mnt=$DMC_TMP/layers
check "mkfs.xfs and mount" fs_make xfs "${DMC_DISK_LIST[0]}" "$mnt" || done_testing
size=$((32 * 1024 * 1024))
sectors=$((size / 512))
dev=/dev/mapper/dmc-live
ref=$DMC_TMP/ref

check "build a depth-3 chain (64 KiB blocks)" \
	tgt_mkchain "$mnt/c" 3 "$size" 65536 0 "$ref"
check "create" tgt_create dmc-live "$mnt/c" 3 "$size"
table=$(dmsetup table dmc-live)
check_eq "TABLE status re-emits the line" \
	"0 $sectors chain 3 $mnt/c/l0 $mnt/c/l1 $mnt/c/l2" "$table"
status=$(dmsetup status dmc-live)
diag "status: $status"
check "INFO status: 3 layers, rw, block size, I/O mode" \
	grep -Eq "^0 $sectors chain 3 rw 65536 direct( [0-9]+){10}( [0-9]+:[0-9]+){3}$" <<< "$status"

# Partial-block writes into blocks the leaf lacks are filled from below.
fills0=$(dmsetup status dmc-live | awk '{print $13}')
head -c 4096 /dev/urandom > "$DMC_TMP/p"
dd if="$DMC_TMP/p" of="$dev" bs=4096 seek=1000 oflag=direct status=none
dd if="$DMC_TMP/p" of="$ref" bs=4096 seek=1000 conv=notrunc status=none
fills1=$(dmsetup status dmc-live | awk '{print $13}')
check "a 4 KiB write into a 64 KiB block counts a fill" test "$fills1" -gt "$fills0"
check "content after the fill" cmp "$dev" "$ref"

# Unflushed direct writes survive a table reload (shared in-memory map).
head -c $((3 * 65536)) /dev/urandom > "$DMC_TMP/p"
dd if="$DMC_TMP/p" of="$dev" bs=65536 seek=100 oflag=direct status=none
dd if="$DMC_TMP/p" of="$ref" bs=65536 seek=100 conv=notrunc status=none
check "reload the same table" dmsetup reload dmc-live --table "$table"
check "resume (swap tables)" dmsetup resume --noudevsync dmc-live
check "content after the reload" cmp "$dev" "$ref"
check "suspend" dmsetup suspend --noudevsync dmc-live
check "resume" dmsetup resume --noudevsync dmc-live
check "content after suspend/resume" cmp "$dev" "$ref"
check "message commit" dmsetup message dmc-live 0 commit
check_fail_msg "unknown message refused" \
	"message ioctl on dmc-live .*failed: Invalid argument" \
	dmsetup message dmc-live 0 frobnicate
check_kernel_log "the kernel log names the unsupported message" \
	"chain: .*unsupported message 'frobnicate'"

# O_SYNC writes (FUA) and a discard that frees leaf space
check "O_DSYNC writes" dd if=/dev/urandom of="$dev" bs=8k count=16 seek=300 \
	oflag=direct,dsync status=none
dd if="$dev" of="$ref" bs=8k count=16 skip=300 seek=300 conv=notrunc status=none
check "fio with fsync after every write, verify" \
	fio --name=fsync --filename="$dev" --rw=randwrite --bs=4k --size=4m \
		--offset=8m --fsync=1 --verify=crc32c --verify_fatal=1 \
		--ioengine=psync --direct=1
dd if="$dev" of="$ref" bs=1M count=4 skip=8 seek=8 conv=notrunc status=none
check "write 8 MiB at 16 MiB" dd if=/dev/urandom of="$dev" bs=1M seek=16 count=8 \
	oflag=direct conv=fsync status=none
before=$(du -k "$mnt/c/l2" | cut -f1)
check "discard 16 MiB" blkdiscard -o $((16 * 1024 * 1024)) -l $((16 * 1024 * 1024)) "$dev"
dd if=/dev/zero of="$ref" bs=1M count=16 seek=16 conv=notrunc status=none
check "discarded range reads zeros" cmp "$dev" "$ref"
after=$(du -k "$mnt/c/l2" | cut -f1)
diag "leaf uses $before KiB before the discard, $after KiB after"
check "discard gave at least 7 MiB of leaf file space back" \
	test $((before - after)) -ge $((7 * 1024))
check "remove" tgt_remove dmc-live
check "flatten of the files equals the reference" \
	sh -c "rm -f $mnt/flat && $C layer flatten $mnt/c/l2 $mnt/flat && cmp $mnt/flat $ref"
tgt_create dmc-live "$mnt/c" 3 "$size" && check "recreated device equals the reference" cmp "$dev" "$ref"
tgt_remove dmc-live

# buffered_io feature
check "create with buffered_io" tgt_create dmc-live "$mnt/c" 3 "$size" buffered_io
check "status says buffered" grep -q " buffered " <<< "$(dmsetup status dmc-live)"
check "random I/O with buffered_io" \
	/usr/bin/python3 "$TGT_RWMIX" "$dev" "$ref" 7 120
check_eq "TABLE keeps the feature" \
	"0 $sectors chain 3 $mnt/c/l0 $mnt/c/l1 $mnt/c/l2 1 buffered_io" \
	"$(dmsetup table dmc-live)"
tgt_remove dmc-live

# layer files on tmpfs (no direct I/O in 6.1): buffered path
check "chain on tmpfs" tgt_mkchain "$DMC_TMP/t" 2 $((8 * 1024 * 1024)) 4096 1 "$DMC_TMP/tref"
check "create on tmpfs" tgt_create dmc-tmp "$DMC_TMP/t" 2 $((8 * 1024 * 1024))
check "device equals reference (tmpfs)" cmp /dev/mapper/dmc-tmp "$DMC_TMP/tref"
check "status shows the effective I/O mode: buffered (tmpfs refuses direct I/O)" \
	grep -Eq "^0 [0-9]+ chain 2 rw 4096 buffered " <<< "$(dmsetup status dmc-tmp)"
check "random I/O on tmpfs layers" \
	/usr/bin/python3 "$TGT_RWMIX" /dev/mapper/dmc-tmp "$DMC_TMP/tref" 11 120
check_eq "no errors counted (tmpfs)" "0 0 0" "$(tgt_status_errors dmc-tmp)"
diag "status: $(dmsetup status dmc-tmp)"
tgt_remove dmc-tmp

check "rmmod dm_chain" rmmod dm_chain
done_testing
