#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Faults under the layers (issue 16, "Faults"; docs/testing/faults.md): a
# matrix of file systems x disk faults x operations on a chain whose
# layers sit on XFS (merges clone) or ext4 (merges copy) on a switchable
# device-mapper device over the disk.
#   faults  werr  every write to the disk fails (dm-flakey error_writes)
#           rerr  the sectors of one layer file fail reads and writes (dm-error)
#           full  the layers' file system has no free space
#           slow  every disk I/O waits 20 ms (dm-delay)
#   ops     write, snapshot, merge-clone, merge-copy (live), offline
#           (chainctl layer merge), read
# In each cell: the operation's error reaches the caller (exit status and
# message; a slow disk must succeed instead), a write that could not be
# persisted puts the device in fail mode, the device keeps reading what was
# flushed, nothing is silently lost; then the fault is cleared, the file
# system remounted, the device created again from its leaf, the operation
# re-issued (a merge resumes) and the content compared with the reference.
# Each cell prints "# outcome CELL: ..." (tests/faults/run counts them).
# Argument: a regex of the cells to run (default: a sample for make check;
# make check-faults runs them all).
# vm-disks: 1x4G
# vm-timeout: 2400
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
disk=${DMC_DISK_LIST[0]}
disk_sectors=$(blockdev --getsz "$disk")
lwr=dmc-flt-lower
mnt=$DMC_TMP/layers
name=dmc-flt
dev=/dev/mapper/$name
ref=$DMC_TMP/ref
size=$((64 * 1024 * 1024))
bs=65536
sample='^(xfs/(werr/write|werr/merge-clone|rerr/read|slow/merge-copy)|ext4/full/(snapshot|merge-copy))$'
pattern=${1:-$sample}
cells=0

# lower_table FAULT [FILE]: the table of the device under the file system.
lower_table() {
	case "$1" in
	werr) echo "0 $disk_sectors flakey $disk 0 0 600 1 error_writes" ;;
	slow) echo "0 $disk_sectors delay $disk 0 20" ;;
	rerr) file_error_table "$disk" "$2" ;;
	*) echo "0 $disk_sectors linear $disk 0" ;;
	esac
}

# lower FAULT [FILE]: switch the device under the file system.
lower() {
	lower_table "$@" > "$DMC_TMP/lower.table" &&
		dmsetup suspend --noudevsync --nolockfs --noflush "$lwr" &&
		dmsetup reload "$lwr" "$DMC_TMP/lower.table" &&
		dmsetup resume --noudevsync "$lwr"
}

mode() { dmsetup status "$name" | awk '{ print $5 }'; }
read_errors() { dmsetup status "$name" | awk '{ print $14 }'; }
leaf_of() { dmsetup table "$name" | awk '{ print $(4 + $4) }'; }
flush() { dd if=/dev/null of="$dev" conv=notrunc,fsync status=none; }

# setup: XFS on a healthy lower device; base (16 MiB of data) <- leaf with
# 4 MiB of scattered writes through the device, flushed; REF holds it all.
setup() {
	dmsetup create --noudevsync "$lwr" --table "$(lower_table none)" &&
		dmsetup mknodes "$lwr" &&
		fs_mkfs "$fs" "/dev/mapper/$lwr" && mkdir -p "$mnt" &&
		mount "/dev/mapper/$lwr" "$mnt" || return 1
	head -c $((16 << 20)) /dev/urandom > "$DMC_TMP/d0"
	truncate -s 0 "$ref" && truncate -s $size "$ref" &&
		dd if="$DMC_TMP/d0" of="$ref" conv=notrunc status=none &&
		"$C" layer create -s $size -b $bs "$mnt/base" > /dev/null &&
		"$C" layer write "$mnt/base" 0 $((16 << 20)) < "$DMC_TMP/d0" &&
		"$C" layer create --parent "$mnt/base" "$mnt/leaf" > /dev/null &&
		"$C" device create "$name" "$mnt/leaf" &&
		live_scatter "$dev" "$ref" "$cells" 64 $bs > /dev/null && flush
}

teardown() {
	dmsetup remove --noudevsync --retry "$name" > /dev/null 2>&1
	umount "$mnt" > /dev/null 2>&1
	dmsetup remove --noudevsync --retry "$lwr" > /dev/null 2>&1
	! dmsetup info "$lwr" > /dev/null 2>&1
}

# recover ID FAULT: what an admin does once the fault is gone: the device
# down, the file system remounted (XFS may have shut down), the device up
# again from the leaf its table had.
recover() {
	local id=$1 fault=$2 leaf=
	if dmsetup info "$name" > /dev/null 2>&1; then
		leaf=$(leaf_of)
		check "$id: remove the device" dmsetup remove --noudevsync --retry "$name"
	fi
	check "$id: unmount" umount "$mnt"
	check "$id: the fault is cleared" lower none
	check "$id: the file system mounts again" mount "/dev/mapper/$lwr" "$mnt"
	[ "$fault" != full ] || rm -f "$mnt/filler"
	[ -z "$leaf" ] || check "$id: the device is created again from its leaf" \
		"$C" device create "$name" "$leaf"
}

# fill: leave no free space (but the blocks XFS keeps aside).
fill() {
	local free
	sync
	free=$(df -k --output=avail "$mnt" | tail -n 1)
	fallocate -l $((free * 1024)) "$mnt/filler" 2> /dev/null ||
		fallocate -l $(((free - 64) * 1024)) "$mnt/filler"
	# Whatever fallocate could not take, a write takes.
	dd if=/dev/zero of="$mnt/filler2" bs=64K status=none 2> /dev/null
	sync
	diag "free after filling: $(df -k --output=avail "$mnt" | tail -n 1) KiB"
}

# fault_on FAULT OP: turn the fault on; rerr picks the file the operation
# needs: the base for reads, the leaf otherwise.
fault_on() {
	case "$1" in
	full) fill ;;
	rerr)
		echo 3 > /proc/sys/vm/drop_caches
		if [ "$2" = read ]; then lower rerr "$mnt/base"; else lower rerr "$mnt/leaf"; fi
		;;
	*) lower "$1" ;;
	esac
}

# expect ID WHAT REGEX CMD...: with a fault the command must fail
# with the message; on a slow disk it must succeed.
expect() {
	local id=$1 what=$2 regex=$3
	shift 3
	if [ "$fault" = slow ]; then
		check "$id: $what succeeds on a slow disk" "$@"
	else
		check_fail_msg "$id: $what fails with the error" "$regex" "$@"
	fi
}

# blocks_old_or_new OFF LEN NEW: each block of the device in [OFF, OFF+LEN)
# holds either the reference's bytes or NEW's (a failed write may have
# landed in part); the reference is then updated to what the device holds.
blocks_old_or_new() {
	/usr/bin/python3 - "$dev" "$ref" "$1" "$2" "$3" "$bs" <<'PY'
import sys
dev, ref, off, ln, new, bs = sys.argv[1:7]
off, ln, bs = int(off), int(ln), int(bs)
with open(dev, 'rb') as d, open(ref, 'r+b') as r, open(new, 'rb') as n:
    for o in range(off, off + ln, bs):
        d.seek(o); r.seek(o); n.seek(o - off)
        got, old, want = d.read(bs), r.read(bs), n.read(bs)
        if got != old and got != want:
            sys.exit('block at %d is neither the old nor the new data' % o)
        r.seek(o); r.write(got)
PY
}

# layers_check: chainctl layer check on every file in the layers'
# directory: clean (0) or merged away (9); a file left half made by a
# failed command is a failure.
layers_check() {
	local f rc bad=0
	for f in "$mnt"/*; do
		case "$f" in */lost+found|*/filler|*/filler2) continue ;; esac
		"$C" layer check "$f" > "$DMC_TMP/lc.out" 2>&1
		rc=$?
		[ "$rc" = 0 ] || [ "$rc" = 9 ] && continue
		echo "$f: layer check exit $rc: $(head -c 300 "$DMC_TMP/lc.out")"
		ls -l "$f"
		bad=1
	done
	return $bad
}

# reads_flushed ID: during the fault the device still reads what was
# flushed; with the leaf's sectors failing (rerr) a read of them fails
# instead, and must not return other data: the readable part is compared.
reads_flushed() {
	if [ "$fault" = rerr ]; then
		check "$id: reads fail or return what was flushed, nothing else" \
			/usr/bin/python3 - "$dev" "$ref" "$bs" <<'PY'
import os, sys
dev, ref, bs = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = os.open(dev, os.O_RDONLY | os.O_DIRECT)
with open(ref, 'rb') as r:
    import mmap
    buf = mmap.mmap(-1, bs)
    off, good = 0, 0
    while True:
        try:
            n = os.preadv(d, [buf], off)
        except OSError:
            off += bs
            continue
        if n == 0:
            break
        r.seek(off)
        if buf[:n] != r.read(n):
            sys.exit('block at %d differs from what was flushed' % off)
        good += 1
        off += n
print('# blocks read:', good)
PY
	else
		check "$id: the device reads what was flushed" cmp "$dev" "$ref"
	fi
}

cell() {
	local fault=$1 op=$2 id="$fs/$1/$2" err='Input/output error|No space left|space' m
	local failed0=$_tap_failed splats
	[[ $id =~ $pattern ]] || return 0
	cells=$((cells + 1))
	diag "--- cell $id"
	if ! setup; then
		fail "$id: setup"
		teardown
		return
	fi
	[ "$op" != offline ] || check "$id: device removed for the offline merge" \
		dmsetup remove --noudevsync "$name"
	head -c $((1 << 20)) /dev/urandom > "$DMC_TMP/new"
	fault_on "$fault" "$op"
	case "$op" in
	write)
		expect "$id" "a 1 MiB write with fsync" "$err" \
			dd if="$DMC_TMP/new" of="$dev" bs=$bs seek=640 oflag=direct conv=notrunc,fsync status=none
		m=$(mode)
		if [ "$fault" = slow ]; then
			check_eq "$id: mode stays rw" rw "$m"
			dd if="$DMC_TMP/new" of="$ref" bs=$bs seek=640 conv=notrunc status=none
		else
			check_eq "$id: status: fail mode (the write could not be persisted)" fail "$m"
			check_fail_msg "$id: later flushes fail too" "$err" flush
		fi
		recover "$id" "$fault"
		check "$id: the written range holds old or new blocks, nothing else" \
			blocks_old_or_new $((640 * bs)) $((1 << 20)) "$DMC_TMP/new"
		check "$id: everything else is what was flushed" cmp "$dev" "$ref"
		check "$id: the write again" dd if="$DMC_TMP/new" of="$dev" bs=$bs seek=640 \
			oflag=direct conv=notrunc,fsync status=none
		dd if="$DMC_TMP/new" of="$ref" bs=$bs seek=640 conv=notrunc status=none
		;;
	snapshot)
		expect "$id" "device snapshot" "$err|cannot|failed" \
			"$C" device snapshot "$name" "$mnt/snap.dmc"
		reads_flushed "$id"
		m=$(mode)
		if [ "$fault" = slow ]; then
			check_eq "$id: the snapshot is the leaf" "$mnt/snap.dmc" "$(leaf_of)"
		else
			check_eq "$id: the leaf did not change" "$mnt/leaf" "$(leaf_of)"
		fi
		recover "$id" "$fault"
		[ "$fault" = slow ] || check "$id: a snapshot once the fault is gone" \
			"$C" device snapshot "$name" "$mnt/snap2.dmc"
		;;
	merge-clone|merge-copy)
		expect "$id" "live merge (--mode ${op#merge-})" "$err|failed" \
			"$C" device merge "$name" --mode "${op#merge-}"
		reads_flushed "$id"
		recover "$id" "$fault"
		[ "$fault" = slow ] || check "$id: the re-issued merge completes" \
			"$C" device merge "$name" --mode "${op#merge-}"
		check_eq "$id: the merged layers left the chain" 2 \
			"$(dmsetup table "$name" | awk '{ print $4 }')"
		;;
	offline)
		# A clone needs no free space: on a full file system the merge
		# that must fail is a copy.
		m=auto
		[ "$fault" != full ] || m=copy
		expect "$id" "layer merge --mode $m (offline)" "$err|failed" \
			"$C" layer merge --side target --mode $m "$mnt/leaf"
		recover "$id" "$fault"
		[ "$fault" = slow ] || check "$id: the re-run merge completes" \
			"$C" layer merge --side target --mode $m "$mnt/leaf"
		check "$id: the base alone is the device" "$C" device create "$name" "$mnt/base"
		;;
	read)
		check_fail_msg "$id: a direct read of the whole device fails" "Input/output error" \
			dd if="$dev" of=/dev/null bs=1M iflag=direct status=none
		check "$id: status counts the read errors" test "$(read_errors)" -gt 0
		check_eq "$id: a read error is not fail mode" rw "$(mode)"
		recover "$id" "$fault"
		;;
	esac
	check "$id: the device equals the reference" cmp "$dev" "$ref"
	check "$id: every layer file checks clean (or merged away)" layers_check
	if splats=$(kernel_log_splats); then
		fail "$id: no kernel report" "$(head -n 8 <<< "$splats")"
	else
		ok "$id: no kernel report"
	fi
	teardown || fail "$id: teardown"
	if [ "$_tap_failed" = "$failed0" ]; then
		diag "outcome $id: pass"
	else
		diag "outcome $id: FAIL ($((_tap_failed - failed0)) checks)"
	fi
}

for fs in xfs ext4; do
	for fault in werr rerr full slow; do
		for op in write snapshot merge-clone merge-copy offline read; do
			case $fs/$fault/$op in
			*/werr/read|*/full/read|*/slow/read) continue ;;	# reads need no write
			*/rerr/merge-clone) continue ;;	# a clone reads no data
			*/rerr/snapshot) continue ;;	# writes only a new file
			ext4/*/merge-clone) continue ;;	# ext4 cannot clone
			esac
			cell "$fault" "$op"
		done
	done
done
diag "fault cells run: $cells"
[ "$cells" -gt 0 ] || fail "the pattern '$pattern' selected no cell"
done_testing
