#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every reader refuses a layer whose block map holds the invalid value 3
# (issue 15, item 16): the kernel at table load, and chainctl's merge,
# flatten, check, info and map; the merge writes nothing (the source is not
# marked merged-away, the target keeps its generation).  chainctl refuses a
# FIFO (item 11) at once instead of blocking in open(), and `layer check`
# tells merge states from damage (item 17).
# vm-timeout: 600
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
d=$DMC_TMP/refusals
mkdir -p "$d"
size=$((8 * 1024 * 1024))
sectors=$((size / 512))

check "base" $C layer create -s $size -b 65536 "$d/base.dmc"
check "base data" sh -c "head -c 262144 /dev/urandom | $C layer write $d/base.dmc 0 262144"
check "child" $C layer create --parent "$d/base.dmc" "$d/top.dmc"
check "child data at blocks 4..7" sh -c "head -c 262144 /dev/urandom | $C layer write $d/top.dmc 262144 262144"
cp "$d/top.dmc" "$d/top.orig"
base_gen=$($C layer info -j "$d/base.dmc" | jq -r .generation)
# Block 5 (map byte 1, bits 2-3) becomes 3; block 4 keeps its DATA.
printf '\x0d' | dd of="$d/top.dmc" bs=1 seek=$((8192 + 1)) conv=notrunc status=none

M="corrupt block map: block 5 has the invalid entry 3"
check_fail_msg "merge refuses the corrupt map" "top.dmc: $M" $C layer merge "$d/top.dmc"
check_eq "the target's generation did not move" "$base_gen" \
	"$($C layer info -j "$d/base.dmc" | jq -r .generation)"
check_eq "the target holds no journal" none \
	"$($C layer info -j "$d/base.dmc" | jq -r .journal.state)"
check_fail_msg "flatten refuses it" "top.dmc: $M" $C layer flatten "$d/top.dmc" "$d/flat.img"
check "flatten left no output" sh -c "! test -e $d/flat.img"
check_fail_msg "info refuses it" "top.dmc: $M" $C layer info "$d/top.dmc"
check_fail_msg "map refuses it" "top.dmc: $M" $C layer map "$d/top.dmc"
"$C" layer check "$d/top.dmc" > "$d/check.out" 2>&1
check_eq "check: corrupt (3)" 3 "$?"
check "check names the block" grep -q "$M" "$d/check.out"
out=$("$C" layer check -j "$d/top.dmc" 2> /dev/null)
json_valid "check -j on the corrupt map: valid against its schema" layer-check "$out"
check_json "check -j: corrupt, exit code 3, the finding names the block" "$out" \
	--arg m "$M" '.verdict == "corrupt" and .exit_code == 3 and
	 any(.findings[]; .kind == "corrupt" and (.message | contains($m)))'
json_valid "info -j --chain on the corrupt map: valid against its schema" layer-info-chain \
	"$("$C" layer info -j --chain "$d/top.dmc" 2> /dev/null)"
dmesg -C
if dmsetup create --noudevsync dmc-ref --table "0 $sectors chain 2 $d/base.dmc $d/top.dmc" 2>/dev/null; then
	fail "the kernel refuses it" "accepted"
	dmsetup remove --noudevsync dmc-ref
else
	check "the kernel refuses it" sh -c "dmesg | grep -q 'block map holds an invalid entry'"
fi
# The original entry back (blocks 4..7 DATA): the header was never touched.
printf '\x55' | dd of="$d/top.dmc" bs=1 seek=$((8192 + 1)) conv=notrunc status=none
check_eq "the source was not marked merged away" valid \
	"$($C layer info -j "$d/top.dmc" | jq -r .state)"
check "the source is byte for byte as before" cmp "$d/top.dmc" "$d/top.orig"
check "with the map intact the merge runs" $C layer merge --side target "$d/top.dmc"
"$C" layer check "$d/top.dmc" > "$d/check.out" 2>&1
check_eq "check on the merged-away source: done, not corrupt (9)" 9 "$?"
check "check says where it went" grep -q "merged away into .*base.dmc" "$d/check.out"

# A FIFO is refused at once, not waited on.
mkfifo "$d/fifo"
check_fail_msg "info on a FIFO: refused, not blocked" "fifo: not a regular file \(a FIFO\)" \
	timeout 20 $C layer info "$d/fifo"
check_fail_msg "check on a FIFO: refused, not blocked" "not a regular file \(a FIFO\)" \
	timeout 20 $C layer check "$d/fifo"
check_fail_msg "create on a FIFO parent: refused, not blocked" "not a regular file \(a FIFO\)" \
	timeout 20 $C layer create --parent "$d/fifo" "$d/onfifo.dmc"

# A path that is not UTF-8 (bytes are legal in file names): -j prints
# valid JSON, the bad byte as \xNN, never raw.
bad=$d/$'caf\xe9.dmc'
check "a layer whose name is not UTF-8" $C layer create -s 1M "$bad"
out=$($C layer info -j "$bad")
check_json "layer info -j: valid JSON, the byte as \\xe9" "$out" \
	'.path | endswith("caf\\xe9.dmc")'
json_valid "layer info -j of a non-UTF-8 path: valid against its schema" layer-info "$out"
check "layer info -j: no raw 0xe9 byte in the output" \
	bash -c "! printf '%s' \"\$1\" | LC_ALL=C grep -q \$'\\xe9'" _ "$out"

check "rmmod dm_chain (no leaked references)" rmmod dm_chain
done_testing
