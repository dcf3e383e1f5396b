#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The chain target refuses bad layer files and bad chains with a precise
# message and leaves nothing behind: wrong order, missing or extra layers,
# stale children, corrupt headers and maps, unsupported features, merged-
# away layers, unfinished merges, raw images out of place or not declared
# raw (raw_base), a layer declared raw (its header is not read), a leaf on a
# read-only filesystem, layers held by another device or by chainctl.  A
# writable open bumps the leaf's generation, so older children go stale.
# The module unloads afterwards (no leaked references).
# vm-timeout: 600
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
HDR=$DMC_ROOT/tests/e2e/target/hdrpatch.py
d=$DMC_TMP/bad
mkdir -p "$d"
size=$((8 * 1024 * 1024))
sectors=$((size / 512))
C=$CHAINCTL

# refused DESC REGEX TABLE-ARGS [dmsetup options]: the kernel log says why.
refused() {
	local desc=$1 regex=$2 args=$3
	shift 3
	dmesg -C
	if dmsetup create --noudevsync "$@" dmc-bad \
		--table "0 $sectors chain $args" 2>/dev/null; then
		fail "$desc: refused" "accepted: $args"
		tgt_remove dmc-bad
		return
	fi
	if dmesg | grep -Eq -- "$regex"; then
		ok "$desc: refused with /$regex/"
	else
		fail "$desc: refused with /$regex/" "$(dmesg | grep -i chain | tail -n 4)"
	fi
	dmsetup info dmc-bad > /dev/null 2>&1 && { fail "$desc: leftover device"; tgt_remove dmc-bad; }
}

# accepted DESC TABLE-ARGS [dmsetup options]: created, then removed.
accepted() {
	local desc=$1 args=$2
	shift 2
	if dmsetup create --noudevsync "$@" dmc-good \
		--table "0 $sectors chain $args" > /dev/null 2>&1; then
		ok "$desc"
		tgt_remove dmc-good
	else
		fail "$desc" "$(dmesg | grep -i chain | tail -n 3)"
	fi
}

# base <- mid <- leaf, each with a little data
$C layer create -s $size -b 65536 "$d/base" > /dev/null
head -c 65536 /dev/urandom | $C layer write "$d/base" 0 65536
$C layer create --parent "$d/base" "$d/mid" > /dev/null
$C layer create --parent "$d/mid" "$d/leaf" > /dev/null
B=$d/base M=$d/mid L=$d/leaf

accepted "the good chain opens" "3 $B $M $L"
refused "leaf listed first" "list the chain from its base" "3 $L $M $B"
refused "middle layer missing" "parent UUID does not match" "2 $B $L"
refused "chain cut at the bottom" "list the chain from its base" "2 $M $L"
refused "a layer twice" "listed twice|in use read-only" "3 $B $M $M"
refused "raw image above the base" "Not a dm-chain layer \\(no header\\)" \
	"3 $B $DMC_ROOT/README.md $L 1 read_only" --readonly
truncate -s $size "$d/raw"
refused "raw image where a layer is expected (not declared)" "Not a dm-chain layer \\(no header\\)" \
	"2 $d/raw $L"
refused "raw image where a layer is expected (declared)" "Layer does not sit on a raw image" \
	"2 $d/raw $L 1 raw_base"
refused "a layer declared raw: its header is not read" "Layer does not sit on a raw image" \
	"2 $B $M 1 raw_base"

# stale children: a write to the parent moves its generation on
cp "$B" "$d/b2"; $C layer create --parent "$d/b2" "$d/c2" > /dev/null
head -c 65536 /dev/urandom | $C layer write "$d/b2" 65536 65536
refused "child older than its parent's last write" "generation changed" "2 $d/b2 $d/c2"

# a writable device bumps the leaf's generation: children made before go stale
$C layer create -s $size "$d/g0" > /dev/null
$C layer create --parent "$d/g0" "$d/g1" > /dev/null
accepted "chain g0 <- g1 opens" "2 $d/g0 $d/g1"
accepted "g0 alone opens writable (bumps its generation)" "1 $d/g0"
refused "g1 is stale after g0 was opened writable" "generation changed" "2 $d/g0 $d/g1"
accepted "a read-only open bumps nothing" "1 $d/g0 1 read_only" --readonly

# raw base resized
truncate -s $size "$d/r0"
$C layer create --parent "$d/r0" "$d/r1" > /dev/null
accepted "raw base <- layer opens" "2 $d/r0 $d/r1 1 raw_base"
refused "raw base not declared raw" "Not a dm-chain layer \\(no header\\)" "2 $d/r0 $d/r1"
truncate -s $((size + 4096)) "$d/r0"
refused "raw base resized" "Raw base size differs|Target length" "2 $d/r0 $d/r1 1 raw_base"
truncate -s $size "$d/r0"

# header corruption and unsupported fields (hdrpatch reseals the CRC)
cp "$B" "$d/h"; printf '\x55' | dd of="$d/h" bs=1 seek=300 conv=notrunc status=none
printf '\x55' | dd of="$d/h" bs=1 seek=$((4096 + 300)) conv=notrunc status=none
refused "both header slots corrupt" "Layer header corrupt" "1 $d/h"
cp "$B" "$d/h"; /usr/bin/python3 "$HDR" "$d/h" incompat_features=4 > /dev/null
refused "unknown incompatible feature" "unsupported incompatible features" "1 $d/h"
cp "$B" "$d/h"; /usr/bin/python3 "$HDR" "$d/h" compat_features=4 > /dev/null
accepted "unknown compatible feature is ignored" "1 $d/h"
cp "$B" "$d/h"; /usr/bin/python3 "$HDR" "$d/h" state=2 > /dev/null
refused "merged-away layer" "merged away" "1 $d/h"
cp "$B" "$d/h"; /usr/bin/python3 "$HDR" "$d/h" block_shift=25 > /dev/null
refused "block size out of range" "block size out of range" "1 $d/h"
cp "$B" "$d/h"; /usr/bin/python3 "$HDR" "$d/h" version=2 > /dev/null
accepted "current slot unreadable (unknown version): the other slot is used" "1 $d/h 1 read_only" --readonly
/usr/bin/python3 "$HDR" "$d/h" slot=0 version=2 > /dev/null
/usr/bin/python3 "$HDR" "$d/h" slot=1 version=2 > /dev/null
refused "unknown format version in both slots" "Layer header corrupt" "1 $d/h"
cp "$B" "$d/h"; /usr/bin/python3 "$HDR" "$d/h" map_length=0 > /dev/null
refused "map length wrong" "map offset or length" "1 $d/h"
cp "$B" "$d/h"; printf '\xff' | dd of="$d/h" bs=1 seek=8192 conv=notrunc status=none
refused "corrupt block map entry" "block map holds an invalid entry" "1 $d/h"
cp "$B" "$d/h"; truncate -s 9000 "$d/h"
refused "file shorter than its map" "shorter than its block map" "1 $d/h"

# unfinished merge: a journal in base naming mid as its bottom source
uuid_of() { $C layer info -j "$1" | jq -r .uuid | tr -d -; }
gen_of() { $C layer info -j "$1" | jq -r .generation; }
cp "$B" "$d/jb"; $C layer create --parent "$d/jb" "$d/jm" > /dev/null
$C layer create --parent "$d/jm" "$d/jl" > /dev/null
g=$(gen_of "$d/jb")
/usr/bin/python3 "$HDR" "$d/jb" journal.state=1 journal.nr_sources=2 \
	journal.old_generation="$g" journal.new_generation=$((g + 1)) \
	journal.bottom_uuid="$(uuid_of "$d/jm")" journal.top_uuid="$(uuid_of "$d/jl")" \
	journal.top_path=jl > /dev/null
accepted "merge under way: the chain up to the top source opens read-only" \
	"3 $d/jb $d/jm $d/jl 1 read_only" --readonly
refused "merge under way: a source cannot be the writable leaf" "source of an unfinished merge" \
	"3 $d/jb $d/jm $d/jl"
refused "merge under way: the table must reach the top source" "top source" \
	"2 $d/jb $d/jm 1 read_only" --readonly
refused "merge under way: the target cannot be the leaf" "target of an unfinished merge" \
	"1 $d/jb 1 read_only" --readonly
$C layer create --parent "$d/jb" "$d/jo" > /dev/null 2>&1 ||
	{ cp "$d/jm" "$d/jo"; /usr/bin/python3 "$HDR" "$d/jo" uuid=11111111111111111111111111111111 > /dev/null; }
refused "merge under way: another child of the target is refused" "being merged into" \
	"2 $d/jb $d/jo 1 read_only" --readonly

# leaf on a read-only filesystem
mkdir -p "$DMC_TMP/ro" && mount -t tmpfs tmpfs "$DMC_TMP/ro"
cleanup_add umount "$DMC_TMP/ro"
$C layer create -s $size "$DMC_TMP/ro/leaf" > /dev/null
mount -o remount,ro "$DMC_TMP/ro"
refused "leaf on a read-only filesystem" "read-only filesystem" "1 $DMC_TMP/ro/leaf"
accepted "the same leaf opens read-only" "1 $DMC_TMP/ro/leaf 1 read_only" --readonly

# layers in use
dmsetup create --noudevsync dmc-a --table "0 $sectors chain 3 $B $M $L" &&
	ok "device A over base <- mid <- leaf" || fail "device A over base <- mid <- leaf"
refused "second device, same leaf writable" "held writable by another device" "3 $B $M $L"
refused "second device, same leaf read-only" "held writable by another device" \
	"3 $B $M $L 1 read_only" --readonly
refused "second device writing A's read-only base" "in use read-only" "1 $B"
accepted "second device sharing A's base read-only" "1 $B 1 read_only" --readonly
check_fail_msg "chainctl layer write refuses A's live leaf" \
	"$L: in use \\(locked by a live chain device" \
	sh -c "head -c 65536 /dev/zero | $C layer write $L 0 65536"
check_fail_msg "chainctl layer write refuses A's base" \
	"$B: in use \\(locked by a live chain device" \
	sh -c "head -c 65536 /dev/zero | $C layer write $B 0 65536"
check "remove device A" tgt_remove dmc-a
check "chainctl layer write works once A is gone" \
	sh -c "head -c 65536 /dev/zero | $C layer write $L 0 65536"
exec 9< "$L"
flock -x 9
refused "leaf locked by another process (flock)" "locked by another process" "3 $B $M $L"
exec 9<&-

check "rmmod dm_chain (no leaked references)" rmmod dm_chain
done_testing
