#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The chain target refuses layer files whose header promises more than the
# file holds or than a file can address (issue 15, items 8 and 9): a layer
# truncated inside its data area (it used to load and read zeros for the
# present blocks past EOF), a data_offset past 2^63 or wrapping 2^64, a
# data area ending past loff_t, and a data_offset beyond the filesystem's
# s_maxbytes (ext4).  chainctl refuses the same files with the same rule,
# from the same validator.  Nothing is left behind; the module unloads.
# vm-timeout: 600
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
HDR=$DMC_ROOT/tests/e2e/target/hdrpatch.py
C=$CHAINCTL
d=$DMC_TMP/bounds
mkdir -p "$d"
size=$((8 * 1024 * 1024))
sectors=$((size / 512))
MiB=$((1024 * 1024))

# refused DESC REGEX TABLE-ARGS [dmsetup options]: the kernel log says why.
refused() {
	local desc=$1 regex=$2 args=$3 out
	shift 3
	dmesg -C
	if out=$(dmsetup create --noudevsync "$@" dmc-bounds \
		--table "0 $sectors chain $args" 2>&1); then
		fail "$desc: refused" "accepted: $args"
		dmsetup remove --noudevsync dmc-bounds
		return
	fi
	if dmesg | grep -Eq -- "$regex"; then
		ok "$desc: refused with /$regex/"
	else
		fail "$desc: refused with /$regex/" "$out" \
			"$(dmesg | grep -i chain | tail -n 4)"
	fi
	dmsetup info dmc-bounds > /dev/null 2>&1 &&
		{ fail "$desc: leftover device"; dmsetup remove --noudevsync dmc-bounds; }
}

accepted() {
	local desc=$1 args=$2
	shift 2
	if dmsetup create --noudevsync "$@" dmc-bounds \
		--table "0 $sectors chain $args" > /dev/null 2>&1; then
		ok "$desc"
		dmsetup remove --noudevsync dmc-bounds
	else
		fail "$desc" "$(dmesg | grep -i chain | tail -n 3)"
	fi
}

# A base with data in its last block: 64 KiB blocks, data at 1 MiB.
check "create the base" $C layer create -s $size -b 65536 "$d/base"
head -c 65536 /dev/urandom > "$d/last"
check "write its last block" sh -c "$C layer write $d/base $((size - 65536)) 65536 < $d/last"
check_eq "the base is as long as its layout" $((MiB + size)) "$(stat -c %s "$d/base")"
accepted "the whole base opens" "1 $d/base"

# Item 8: truncated inside the data area.
cp "$d/base" "$d/t1"; truncate -s $((MiB + size - 65536)) "$d/t1"
refused "last present block past EOF" "truncated: shorter than its data area" "1 $d/t1"
refused "read-only, last present block past EOF" "truncated: shorter than its data area" \
	"1 $d/t1 1 read_only" --readonly
check_fail_msg "chainctl refuses it too" "t1: truncated" $C layer info "$d/t1"
cp "$d/base" "$d/t2"; truncate -s $((MiB + 4096)) "$d/t2"
refused "data area cut to one page" "truncated: shorter than its data area" "1 $d/t2"
cp "$d/base" "$d/t3"; truncate -s $((MiB + size + 4096)) "$d/t3"
accepted "a file longer than its layout opens" "1 $d/t3"

# Item 9: data_offset bounds (hdrpatch reseals the CRC).
cp "$d/base" "$d/o1"; /usr/bin/python3 "$HDR" "$d/o1" data_offset=9223372036853727232 > /dev/null
refused "data area ending past 2^63" "beyond the largest file size" "1 $d/o1"
check_fail_msg "chainctl refuses it too" "o1: bad header: .*largest file size" $C layer info "$d/o1"
cp "$d/base" "$d/o2"; /usr/bin/python3 "$HDR" "$d/o2" data_offset=18442240474082181120 > /dev/null
refused "data_offset past 2^63 (negative loff_t)" "beyond the largest file size" "1 $d/o2"
cp "$d/base" "$d/o3"; /usr/bin/python3 "$HDR" "$d/o3" data_offset=18446744073708503040 > /dev/null
refused "data area wrapping 2^64" "beyond the largest file size" "1 $d/o3"
cp "$d/base" "$d/o4"; /usr/bin/python3 "$HDR" "$d/o4" data_offset=$((1 << 40)) > /dev/null
refused "data_offset 1 TiB in a 9 MiB file" "truncated: shorter than its data area" "1 $d/o4"

# s_maxbytes: ext4 with 4 KiB blocks addresses just under 16 TiB.
truncate -s 256M "$DMC_TMP/ext4.img"
mkdir -p "$DMC_TMP/e4"
if mkfs.ext4 -q -F -b 4096 "$DMC_TMP/ext4.img" &&
   mount -o loop "$DMC_TMP/ext4.img" "$DMC_TMP/e4"; then
	cleanup_add umount "$DMC_TMP/e4"
	cp "$d/base" "$DMC_TMP/e4/m1"
	/usr/bin/python3 "$HDR" "$DMC_TMP/e4/m1" data_offset=$((1 << 44)) > /dev/null
	refused "data_offset 16 TiB on ext4 (past s_maxbytes)" "beyond the largest file size" \
		"1 $DMC_TMP/e4/m1"
	cp "$d/base" "$DMC_TMP/e4/m2"
	accepted "the same base on ext4 opens" "1 $DMC_TMP/e4/m2"
	umount "$DMC_TMP/e4" && ok "unmount the ext4 image" || fail "unmount the ext4 image"
else
	fail "make and mount an ext4 image"
fi

check "rmmod dm_chain (no leaked references)" rmmod dm_chain
done_testing
