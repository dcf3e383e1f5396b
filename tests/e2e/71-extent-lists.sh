#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extent lists (docs/format.md, "Extent list"; issue 19): chainctl gives a
# layer its list when it gets a child, the module holds such read-only
# layers by their runs instead of their 2-bit maps (device status shows
# it and the memory it takes), reads through them are the chain's bytes,
# a damaged list is logged and the map read instead, live merges into a
# layer held by runs (intermediate, and with the leaf) give it its map
# first and keep the data, and a deep chain of a big disk takes a
# fraction of the memory its maps would.
# vm-disks: 1x4G
# vm-timeout: 900
# shellcheck disable=SC2016
. "$DMC_ROOT/tests/e2e/lib.sh"

C=$CHAINCTL
work=$DMC_TMP/e2e-xlist
mkdir -p "$work"
if [ -n "${DMC_DISK_LIST[0]:-}" ]; then
	fs_make xfs "${DMC_DISK_LIST[0]}" "$work" || fail "mkfs.xfs on the scratch disk"
fi
need_module || done_testing
for n in dmc-xl dmc-xl-deep; do
	cleanup_add dmsetup remove --noudevsync "$n"
done
cd "$work" || done_testing

# Blocks of 64 KiB: write COUNT blocks of random data at block FIRST.
put() {	# put LAYER FIRST COUNT
	head -c $(($3 * 65536)) /dev/urandom |
		"$C" layer write "$1" $(($2 * 65536)) $(($3 * 65536))
}

xlist_state() {	# xlist_state LAYER: none/stale/misplaced/present
	"$C" layer info -j "$1" | jq -r '.extent_list.state'
}

# --- chainctl writes lists -----------------------------------------------------
check "a base of 256 MiB" "$C" layer create -s 256M base.dmc || done_testing
check "its data" put base.dmc 0 64
check "its zero run" "$C" layer write --zero base.dmc $((100 * 65536)) $((8 * 65536))
check_eq "no list before a child" none "$(xlist_state base.dmc)"
check "a child of it" "$C" layer create --parent base.dmc mid.dmc
check_eq "the base has its list now" present "$(xlist_state base.dmc)"
json_check "layer info -j with a list: valid against its schema" layer-info \
	"$C" layer info -j base.dmc
check_json "the list has the base's two runs" "$JSON_OUT" '.extent_list.runs == 2'
check "mid's data, over the base and past it" put mid.dmc 32 64
check "mid's zero block" "$C" layer write --zero mid.dmc $((2000 * 65536)) 65536
check "the leaf" "$C" layer create --parent mid.dmc leaf.dmc
check_eq "mid has its list" present "$(xlist_state mid.dmc)"
check "layer check: the lists equal the maps" "$C" layer check base.dmc
check "layer check of mid" "$C" layer check mid.dmc
check "a flat image of the chain (reference)" "$C" layer flatten leaf.dmc ref.img

# --- the module holds the read-only layers by their runs --------------------------
check "device over the chain" "$C" device create dmc-xl leaf.dmc || done_testing
json_check "device status -j: valid against its schema" device-status \
	"$C" device status -j dmc-xl
status=$JSON_OUT
check_json "the base is held by its 2 runs" "$status" \
	'.layers[] | select(.path | endswith("/base.dmc")) | .runs == 2'
check_json "mid is held by its 2 runs" "$status" \
	'.layers[] | select(.path | endswith("/mid.dmc")) | .runs == 2'
check_json "the leaf holds its 2-bit map (no runs)" "$status" \
	'.layers[0] | .runs == null and .map_bytes >= 1024'
check_json "a layer held by runs takes 16 bytes a run" "$status" \
	'.layers[] | select(.path | endswith("/base.dmc")) | .map_bytes == 32'
check_json "index_bytes is reported" "$status" '.index_bytes >= 0'
out=$("$C" device status dmc-xl 2>&1)
if grep -q "memory: maps .* (2 of 3 layers held by their extent lists)" <<< "$out"; then
	ok "device status says how the maps are held"
else
	fail "device status says how the maps are held" "$out"
fi
check "reads through the runs are the chain's bytes" cmp ref.img /dev/mapper/dmc-xl
check "a write through the device" \
	dd if=/dev/urandom of=/dev/mapper/dmc-xl bs=64K seek=40 count=30 conv=fsync status=none
check "the reference takes it too" \
	dd if=/dev/mapper/dmc-xl of=ref.img bs=64K skip=40 seek=40 count=30 conv=notrunc status=none

# --- a live merge of the range mid into the base (held by runs) -----------------
check "merge mid into the base, the leaf kept" "$C" device merge dmc-xl --into 0 --from 1
json_check "device status -j after the merge" device-status "$C" device status -j dmc-xl
check_json "the base took its whole map to be merged into" "$JSON_OUT" \
	'.layers[-1] | .runs == null and .map_bytes > 32'
check "the chain reads the same after the merge" cmp ref.img /dev/mapper/dmc-xl

# --- and a merge of the leaf into the base ---------------------------------------
check "merge the leaf into the base" "$C" device merge dmc-xl --depth 1
check "the chain reads the same after it" cmp ref.img /dev/mapper/dmc-xl
leaf=$("$C" device status -j dmc-xl | jq -r .leaf_path)
check "device remove" "$C" device remove dmc-xl
check "the chain checks clean after the live merges" "$C" layer check "$leaf"
check_eq "the base's list went stale with the merge (its generation moved)" \
	stale "$(xlist_state base.dmc)"
check "the base reads as the chain did" "$C" layer flatten "$leaf" after.img
check "the merged chain is the reference" cmp ref.img after.img

# --- a damaged list: logged, the map read instead ----------------------------------
check "a fresh chain: base2" "$C" layer create -s 256M base2.dmc
check "base2 data" put base2.dmc 3 7
check "child of base2" "$C" layer create --parent base2.dmc top2.dmc
doff=$("$C" layer info -j base2.dmc | jq -r '.data_offset_bytes')
# The list is right after the data area; byte 8 is its first run's length.
printf '\xff' | dd of=base2.dmc bs=1 seek=$((doff + 256 * 1024 * 1024 + 8)) \
	conv=notrunc status=none
check_fail_code "layer check finds the damaged list (needs repair)" 5 \
	"extent list" "$C" layer check base2.dmc
check "device over the chain with the damaged list" "$C" device create dmc-xl top2.dmc
check_kernel_log "the module says it reads the map instead" \
	"base2.dmc: Layer extent list .*reading its block map instead"
json_check "device status -j" device-status "$C" device status -j dmc-xl
check_json "base2 is held by its 2-bit map" "$JSON_OUT" \
	'.layers[-1] | .runs == null and .map_bytes > 32'
check_eq "its reads are base2's blocks" \
	"$(dd if=base2.dmc bs=64K skip=$((doff / 65536 + 3)) count=7 status=none | md5sum)" \
	"$(dd if=/dev/mapper/dmc-xl bs=64K skip=3 count=7 status=none | md5sum)"
check "device remove" "$C" device remove dmc-xl
check "layer check -r writes the list again" bash -c \
	"'$C' layer check -r base2.dmc; [ \$? = 1 ]"
check "then it checks clean" "$C" layer check base2.dmc

# --- a deep chain of a big disk: memory follows the runs ----------------------------
# 32 layers of 1 TiB at 64 KiB blocks: 4 MiB of 2-bit map each (128 MiB),
# a few runs each when held by lists.
check "a 1 TiB base" "$C" layer create -s 1T d0.dmc || done_testing
for i in $(seq 1 32); do
	put "d$((i - 1)).dmc" $((i * 1000)) 2 > /dev/null 2>&1 ||
		{ fail "data in layer $((i - 1))"; break; }
	"$C" layer create --parent "d$((i - 1)).dmc" "d$i.dmc" ||
		{ fail "layer $i"; break; }
done
check "device over the 33-layer chain" "$C" device create dmc-xl-deep d32.dmc
json_check "device status -j" device-status "$C" device status -j dmc-xl-deep
deep=$JSON_OUT
check_json "32 read-only layers held by their runs" "$deep" \
	'[.layers[] | select(.runs != null)] | length == 32'
check_json "their maps take under 64 KiB together (2-bit maps: 128 MiB)" "$deep" \
	'[.layers[] | select(.runs != null) | .map_bytes] | add < 65536'
# Layer k holds blocks (k + 1) * 1000 and the one after.
doff=$("$C" layer info -j d17.dmc | jq -r '.data_offset_bytes')
check_eq "layer 17's blocks read through the chain" \
	"$(dd if=d17.dmc bs=64K skip=$((doff / 65536 + 18000)) count=2 status=none | md5sum)" \
	"$(dd if=/dev/mapper/dmc-xl-deep bs=64K skip=18000 count=2 status=none | md5sum)"
check "device remove" "$C" device remove dmc-xl-deep

check_kernel_log_clean() { ! kernel_log_splats; }
check "no kernel warning or oops" check_kernel_log_clean
done_testing
