#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A raw image is declared (raw_base), never recognized by its bytes: a
# guest that writes a valid dm-chain header naming another host file into
# block 0 of its raw image gets its own bytes back, never that file's, when
# the device is created again by chainctl (--raw, or from a child layer that
# records a raw parent, made with --raw-parent) or from the TABLE status
# line; `chainctl layer info --raw` says what the bytes look like without
# trusting them.
# vm-timeout: 300
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
C=$CHAINCTL
d=$DMC_TMP/rawdecl
mkdir -p "$d" && cd "$d" || exit 1
size=$((8 * 1024 * 1024))
sectors=$((size / 512))

dev_remove() {
	dmsetup remove --noudevsync "$1" 2> /dev/null
	rm -f "/dev/mapper/$1"
}

# The host's secret: a layer file full of a marker, and a child of it whose
# header (both slots) the guest will copy into its raw image.
$C layer create -s $size "$d/secret.dmc" > /dev/null
yes SECRET | head -c $size | $C layer write "$d/secret.dmc" 0 $size
$C layer create --parent "$d/secret.dmc" "$d/evil.dmc" > /dev/null
head -c 8192 "$d/evil.dmc" > "$d/evil.hdr"
check_json "the crafted header names the secret as its parent" \
	"$($C layer info -j "$d/evil.dmc")" \
	'.parent.kind == "layer" and .parent.path == "secret.dmc"'

# The guest's raw image, alone in a device.
head -c $size /dev/urandom > "$d/img"
check "create a device over the raw image (--raw)" \
	"$C" device create dmc-guest "$d/img" --raw
check_eq "its table declares the raw base" \
	"0 $sectors chain 1 $d/img 1 raw_base" "$(dmsetup table dmc-guest)"
table=$(dmsetup table dmc-guest)

# The guest writes the header into block 0 and 1 of its disk.
check "the guest writes a dm-chain header into its first 8 KiB" \
	dd if="$d/evil.hdr" of=/dev/mapper/dmc-guest bs=4096 count=2 \
		oflag=direct conv=fsync status=none
cp "$d/img" "$d/img.ref"
check "remove the device" dev_remove dmc-guest
check "the image holds the guest's header bytes" \
	cmp -n 8192 "$d/img" "$d/evil.hdr"

out=$($C layer info --raw "$d/img")
diag "$out"
check "layer info --raw: a raw image whose bytes look like a header written by its guest" \
	grep -q "^content: .*bytes look like a dm-chain header; as this is a raw image, its guest wrote them" <<< "$out"
head -c 65536 /dev/urandom > "$d/plain"
check "layer info --raw on an untouched image: no dm-chain header" \
	grep -q "^content: *no dm-chain header" <<< "$($C layer info --raw "$d/plain")"

# Re-created by chainctl with the declaration: the guest's bytes, unchanged.
check "chainctl re-creates the device over the raw image" \
	"$C" device create dmc-guest "$d/img" --raw
check "the device reads the image's bytes (the guest's header included)" \
	cmp /dev/mapper/dmc-guest "$d/img.ref"
check "... and not the secret" \
	bash -c '! grep -q SECRET "$0"' /dev/mapper/dmc-guest
check "remove it" dev_remove dmc-guest

# Re-created from the TABLE status line.
check "the saved TABLE line creates the device again" \
	dmsetup create --noudevsync dmc-guest --table "$table"
dmsetup mknodes dmc-guest
check "it reads the image's bytes unchanged" cmp /dev/mapper/dmc-guest "$d/img.ref"
check "remove it" dev_remove dmc-guest
check "the image was not changed by any of this" cmp "$d/img" "$d/img.ref"

# A raw image under a layer, with a header in its bytes (written by its
# guest while it was alone): the child records a raw parent, so chainctl
# and the kernel open the image as raw whatever its bytes say.
head -c $size /dev/urandom > "$d/base"
check "a layer on a raw image" \
	"$C" layer create --parent "$d/base" "$d/top.dmc"
dd if="$d/evil.hdr" of="$d/base" conv=notrunc status=none
cp "$d/base" "$d/base.ref"
check "chainctl follows the child's parent kind (raw), not the bytes" \
	"$C" device create dmc-top "$d/top.dmc"
check_eq "its table declares the raw base" \
	"0 $sectors chain 2 $d/base $d/top.dmc 1 raw_base" \
	"$(dmsetup table dmc-top)"
check "the device reads the raw image's bytes" cmp /dev/mapper/dmc-top "$d/base.ref"
check "... and not the secret" bash -c '! grep -q SECRET "$0"' /dev/mapper/dmc-top
check "remove it" dev_remove dmc-top
out=$($C layer info --chain "$d/top.dmc" 2>&1)
diag "$out"
check "layer info --chain opens the raw parent as raw, linkage valid" \
	grep -q "linkage valid" <<< "$out"

# A snapshot of the written image, made with --raw-parent: the new layer
# records a raw parent, so the header bytes in the image stay data.
check "layer create --raw-parent on the image with the guest's header" \
	"$C" layer create --raw-parent "$d/img" "$d/snap.dmc"
check_json "the snapshot records a raw parent" \
	"$($C layer info -j "$d/snap.dmc")" '.parent.kind == "raw"'
check "a device from the snapshot" "$C" device create dmc-snap "$d/snap.dmc"
check_eq "its table declares the raw base" \
	"0 $sectors chain 2 $d/img $d/snap.dmc 1 raw_base" \
	"$(dmsetup table dmc-snap)"
check "it reads the image's bytes" cmp /dev/mapper/dmc-snap "$d/img.ref"
check "remove it" dev_remove dmc-snap

# Without the declaration the kernel does not fall back to raw, nor trusts
# the bytes as a header for the chain the table names.
dmesg -C
check_fail_msg "the image as a layer is refused by the kernel (its header is a child's)" \
	"reload ioctl.*failed|Invalid argument" \
	dmsetup create --noudevsync dmc-bad --table "0 $sectors chain 1 $d/img"
diag "$(dmesg | grep 'chain:')"
check "... saying why (the guest's header does not fit the file, its map is random bytes, or its base has a parent)" \
	grep -Eq "chain: (Layer file is truncated|Layer block map holds an invalid entry|Base layer has a parent layer)" <<< "$(dmesg)"
dev_remove dmc-bad

check "rmmod dm_chain (no leaked references)" rmmod dm_chain
done_testing
