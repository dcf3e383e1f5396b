#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The "chain" target over one raw image, declared with the raw_base
# feature: the device shows the file's bytes (buffered and direct reads,
# read-only and read-write tables), writes reach the file, bad table lines
# are refused with a precise message in the kernel log and leave nothing
# behind (a raw image not declared raw, a FIFO without blocking the load),
# and the module unloads afterwards.
# vm-timeout: 300
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing

raw=$DMC_TMP/raw.img
# 16 MiB and 3 sectors: not a multiple of the 4 KiB block.
size=$((16 * 1024 * 1024 + 1536))
sectors=$((size / 512))
head -c "$size" /dev/urandom > "$raw"
cp "$raw" "$DMC_TMP/raw.ref"

dev_remove() {
	dmsetup remove --noudevsync "$1" 2>/dev/null
	rm -f "/dev/mapper/$1"
}

# create NAME TABLE [dmsetup options]
create() {
	local name=$1 table=$2
	shift 2
	dmsetup create --noudevsync "$@" "$name" --table "$table" &&
		dmsetup mknodes "$name"
}

# refused DESC REGEX TABLE: the table is refused, the kernel log says why,
# and no device is left behind.
refused() {
	local desc=$1 regex=$2 table=$3
	dmesg -C
	if create dmc-bad "$table" 2>/dev/null; then
		fail "$desc: refused" "table accepted: $table"
		dev_remove dmc-bad
		return
	fi
	if dmesg | grep -Eq -- "$regex"; then
		ok "$desc: refused with /$regex/"
	else
		fail "$desc: refused with /$regex/" "kernel log:" \
			"$(dmesg | tail -n 5)"
	fi
	if dmsetup info dmc-bad > /dev/null 2>&1; then
		fail "$desc: no device left behind"
		dev_remove dmc-bad
	fi
}

# --- read-only table -------------------------------------------------------
check "create a read-only chain over one raw image" \
	create dmc-raw "0 $sectors chain 1 $raw 2 raw_base read_only" --readonly
check "device size equals the image size" \
	test "$(blockdev --getsize64 /dev/mapper/dmc-raw)" = "$size"
check "buffered read equals the image" cmp /dev/mapper/dmc-raw "$raw"
check "direct read equals the image" \
	sh -c "dd if=/dev/mapper/dmc-raw bs=64k iflag=direct status=none | cmp - $raw"
check "unaligned direct reads (3 sectors at sector 7) equal the image" \
	bash -c "dd if=/dev/mapper/dmc-raw bs=512 skip=7 count=3 iflag=direct status=none |
		cmp - <(dd if=$raw bs=512 skip=7 count=3 status=none)"
check "the last, partial block reads right" \
	bash -c "dd if=/dev/mapper/dmc-raw bs=512 skip=$((sectors - 3)) iflag=direct status=none |
		cmp - <(tail -c 1536 $raw)"
check_eq "table status re-emits the line" \
	"0 $sectors chain 1 $raw 2 raw_base read_only" "$(dmsetup table dmc-raw)"
status=$(dmsetup status dmc-raw)
diag "status: $status"
check "status says 1 layer, read-only" \
	grep -Eq "^0 $sectors chain 1 ro 4096 " <<< "$status"
check_fail_msg "writes to a read-only chain fail" \
	"error writing '/dev/mapper/dmc-raw': Operation not permitted" \
	dd if=/dev/zero of=/dev/mapper/dmc-raw bs=4k count=1 oflag=direct status=none
check "the image is unchanged" cmp "$raw" "$DMC_TMP/raw.ref"
check "remove the read-only device" dev_remove dmc-raw

# --- read-write table: writes land in the file -----------------------------
check "create a writable chain over the raw image" \
	create dmc-raw "0 $sectors chain 1 $raw 1 raw_base"
head -c 12288 /dev/urandom > "$DMC_TMP/patch"
check "direct write of 3 blocks at 1 MiB" \
	dd if="$DMC_TMP/patch" of=/dev/mapper/dmc-raw bs=4k seek=256 \
		oflag=direct conv=fsync status=none
check "buffered write of 7 sectors at sector 3" \
	dd if="$DMC_TMP/patch" of=/dev/mapper/dmc-raw bs=512 seek=3 count=7 \
		conv=fsync status=none
dd if="$DMC_TMP/patch" of="$DMC_TMP/raw.ref" bs=4k seek=256 conv=notrunc status=none
dd if="$DMC_TMP/patch" of="$DMC_TMP/raw.ref" bs=512 seek=3 count=7 conv=notrunc status=none
check "device equals the reference after writes" \
	cmp /dev/mapper/dmc-raw "$DMC_TMP/raw.ref"
check "a second writable device over the same image is refused" \
	bash -c "! dmsetup create --noudevsync dmc-raw2 --table '0 $sectors chain 1 $raw 1 raw_base'"
dev_remove dmc-raw2
check "remove the writable device" dev_remove dmc-raw
check "the file holds the writes" cmp "$raw" "$DMC_TMP/raw.ref"

# --- bad table lines --------------------------------------------------------
mkdir -p "$DMC_TMP/dir"
printf 'DCHAIN1\0garbage' > "$DMC_TMP/badhdr"
head -c 8192 /dev/zero >> "$DMC_TMP/badhdr"
refused "no arguments" "Missing number of layers" "0 8 chain"
refused "zero layers" "Invalid number of layers" "0 8 chain 0"
refused "not a number" "Invalid number of layers" "0 8 chain x $raw"
refused "one layer over the limit" "Invalid number of layers \\(1 \\.\\. 4096\\)" \
	"0 8 chain 4097 $raw"
refused "fewer paths than layers" "Fewer layer paths" "0 $sectors chain 2 $raw"
refused "relative path" "must be absolute" "0 $sectors chain 1 raw.img"
refused "missing file" "Layer file does not exist" \
	"0 $sectors chain 1 $DMC_TMP/nonexistent"
refused "directory" "Layer path is a directory|not a regular file" \
	"0 $sectors chain 1 $DMC_TMP/dir"
refused "character device" "Layer is not a regular file" \
	"0 $sectors chain 1 /dev/null"
refused "length larger than the image" "Target length does not match" \
	"0 $((sectors + 8)) chain 1 $raw 1 raw_base"
refused "length smaller than the image" "Target length does not match" \
	"0 8 chain 1 $raw 1 raw_base"
refused "a raw image not declared raw" "Not a dm-chain layer \\(no header\\); declare raw images with raw_base" \
	"0 $sectors chain 1 $raw"
refused "raw_base given twice" "Feature given twice" \
	"0 $sectors chain 1 $raw 2 raw_base raw_base"
refused "unknown feature" "Unknown feature" \
	"0 $sectors chain 1 $raw 1 fast"
refused "feature count too large" "Invalid number of feature arguments" \
	"0 $sectors chain 1 $raw 3 read_only"
refused "feature given twice" "Feature given twice" \
	"0 $sectors chain 1 $raw 2 read_only read_only"
refused "trailing argument" "Unexpected arguments after the features" \
	"0 $sectors chain 1 $raw 1 read_only extra"
refused "header with magic but bad checksum" "Layer header corrupt" \
	"0 16 chain 1 $DMC_TMP/badhdr 1 read_only"
refused "same file as raw base and as layer" "File is open as a raw image by a device; it cannot be a layer too" \
	"0 $sectors chain 2 $raw $raw 2 raw_base read_only"

# A FIFO: refused at once by its type, not opened (an open would block the
# table load until a writer came).
mkfifo "$DMC_TMP/fifo"
dmesg -C
SECONDS=0
check_fail_msg "a FIFO is refused, without blocking" \
	"device-mapper: reload ioctl.*failed|Invalid argument" \
	timeout 20 dmsetup create --noudevsync dmc-fifo \
		--table "0 8 chain 1 $DMC_TMP/fifo 1 read_only" --readonly
check "... within a few seconds (took ${SECONDS}s)" test "$SECONDS" -lt 15
check "... saying it is not a regular file" \
	grep -q "chain: Layer is not a regular file" <<< "$(dmesg)"
dev_remove dmc-fifo

# --- unload ----------------------------------------------------------------
check "rmmod dm_chain (no leaked references)" rmmod dm_chain
done_testing
