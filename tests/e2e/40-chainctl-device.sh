#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# chainctl device create/list/status/remove over libdevmapper, without udev
# (the VM has none: the tool must make /dev/mapper nodes itself), first over
# a raw file, then over a chain of layers made by `chainctl layer create`;
# and the refusals a user can reach: unknown device, missing leaf, duplicate
# name, bad name, a device of another target, a device in use.
# vm-disks: 1x1G
# vm-timeout: 600
# jq programs below use jq variables ($t, $p, ...) in single quotes.
# shellcheck disable=SC2016
. "$DMC_ROOT/tests/e2e/lib.sh"

work=$DMC_TMP/e2e-device
mkdir -p "$work"
if [ -n "${DMC_DISK_LIST[0]:-}" ]; then
	fs_make xfs "${DMC_DISK_LIST[0]}" "$work" || fail "mkfs.xfs on the scratch disk"
fi
raw=$work/base.raw
head -c 8M /dev/urandom > "$raw"
raw=$(realpath "$raw")

# Without the module there is no "chain" target: say so, leave nothing.
if ! grep -q '^dm_chain ' /proc/modules; then
	check_fail_msg "create without the module: says it is not loaded" \
		"dm-chain kernel module is not loaded" \
		"$CHAINCTL" device create dmc-e2e-raw "$raw" --raw
	check_fail_msg "create without the module: no device left behind" \
		"Device does not exist" dmsetup info dmc-e2e-raw
	json_check "list -j without the module: valid against its schema" device-list \
		"$CHAINCTL" device list -j
	check_json "list without the module: no devices" "$JSON_OUT" '.devices | length == 0'
fi

need_module || done_testing

# Remove what a failed run may leave, at exit too.
for n in dmc-e2e-raw dmc-e2e-ro dmc-e2e-chain dmc-e2e-chain2 dmc-e2e-zero; do
	cleanup_add dmsetup remove --noudevsync "$n"
done


# --- over one raw file --------------------------------------------------------

check_fail_msg "a raw file is not taken for a layer: --raw is needed" \
	"no header.*say so with --raw" \
	"$CHAINCTL" device create dmc-e2e-raw "$raw"
check_fail_msg "no device left behind" "Device does not exist" dmsetup info dmc-e2e-raw
check "create over a raw file (--raw)" \
	"$CHAINCTL" device create dmc-e2e-raw "$raw" --raw
if [ -b /dev/mapper/dmc-e2e-raw ]; then
	ok "/dev/mapper/dmc-e2e-raw exists without udev"
else
	fail "/dev/mapper/dmc-e2e-raw exists without udev" "$(ls -l /dev/mapper)"
fi
check_eq "device size is the file's size" 8388608 \
	"$(blockdev --getsize64 /dev/mapper/dmc-e2e-raw 2>&1)"
check "device reads the file's bytes" cmp "$raw" /dev/mapper/dmc-e2e-raw
check_eq "dmsetup table shows the table chainctl built" \
	"0 16384 chain 1 $raw 1 raw_base" "$(dmsetup table dmc-e2e-raw 2>&1)"

out=$("$CHAINCTL" device list)
check "list names the device" grep -Eq "^dmc-e2e-raw +[0-9]+:[0-9]+ .* 1 +rw +$raw\$" <<< "$out"
json_check "list -j: valid against its schema" device-list "$CHAINCTL" device list -j
check_json "list -j: the device with 1 layer, rw, its leaf" "$JSON_OUT" --arg p "$raw" \
	'.devices | map(select(.name == "dmc-e2e-raw")) | length == 1 and
	 .[0].layer_count == 1 and .[0].read_only == false and .[0].leaf_path == $p and
	 .[0].size_bytes == 8388608 and .[0].module_knows == true'

out=$("$CHAINCTL" device status dmc-e2e-raw)
check "status shows size, layers and the kernel's lines" \
	grep -q "^layers:     1\$" <<< "$out"
check "status names the leaf (index 0, a raw image, writable)" \
	grep -Eq "^ +0 +raw .* $raw  \(leaf\) \(writable\)$" <<< "$out"
json_check "status -j (module loaded, no merge): valid against its schema" \
	device-status "$CHAINCTL" device status dmc-e2e-raw -j
out=$JSON_OUT
majmin=$(dmsetup info -c --noheadings -o major,minor dmc-e2e-raw | tr -d ' ')
check_json "status -j agrees with dmsetup" "$out" --arg p "$raw" --arg mm "$majmin" \
	'.name == "dmc-e2e-raw" and .path == "/dev/mapper/dmc-e2e-raw" and
	 "\(.major):\(.minor)" == $mm and .size_sectors == 16384 and
	 .layers[0].depth == 1 and .layers[0].path == $p and .suspended == false and
	 .module_knows == true'
check_json "status -j: one layers array, the table's and the module's word merged" \
	"$out" --arg p "$raw" \
	'.layer_count == 1 and .merge == null and
	 .layers == [{"depth": 1, "path": $p, "raw": true, "writable": true,
	              "uuid": null, "generation": null, "data_blocks": null,
	              "zero_blocks": null, "map_bytes": null, "runs": null}]'

# --- refusals -----------------------------------------------------------------
check_fail_msg "duplicate name refused" "already exists" \
	"$CHAINCTL" device create dmc-e2e-raw "$raw" --raw
check_fail_msg "missing leaf refused" "No such file or directory" \
	"$CHAINCTL" device create dmc-e2e-nofile "$work/does-not-exist"
check_fail_msg "missing leaf: no device left behind" \
	"Device does not exist" dmsetup info dmc-e2e-nofile
check_fail_msg "leaf that is a directory refused" "$work" \
	"$CHAINCTL" device create dmc-e2e-dir "$work"
check_fail_msg "status of an unknown device" "no device named 'dmc-e2e-nope'" \
	"$CHAINCTL" device status dmc-e2e-nope
check_fail_msg "remove of an unknown device" "no device named 'dmc-e2e-nope'" \
	"$CHAINCTL" device remove dmc-e2e-nope
check_fail_msg "name with a slash refused" "invalid device name" \
	"$CHAINCTL" device create a/b "$raw" --raw
check_fail_msg "create without a leaf is a usage error" "missing argument" \
	"$CHAINCTL" device create dmc-e2e-x
check_fail_msg "unknown device command" "unknown command" \
	"$CHAINCTL" device frobnicate
check "device help" "$CHAINCTL" device help

check "a zero-target device for the next check" \
	dmsetup create --noudevsync dmc-e2e-zero --table "0 8 zero"
check_fail_msg "remove will not touch another target's device" \
	"not a chain device" "$CHAINCTL" device remove dmc-e2e-zero
check "the zero device is still there" dmsetup info dmc-e2e-zero
out=$("$CHAINCTL" device list -j)
check_json "list shows only chain devices" "$out" \
	'.devices | map(select(.name == "dmc-e2e-zero")) | length == 0'
dmsetup remove --noudevsync dmc-e2e-zero > /dev/null 2>&1

exec 7< /dev/mapper/dmc-e2e-raw
check_fail_msg "remove of an open device refused" "in use" \
	"$CHAINCTL" device remove dmc-e2e-raw
exec 7<&-

check "remove" "$CHAINCTL" device remove dmc-e2e-raw
check_fail_msg "the device is gone" "Device does not exist" dmsetup info dmc-e2e-raw
if [ -e /dev/mapper/dmc-e2e-raw ]; then
	fail "the /dev/mapper node is gone"
else
	ok "the /dev/mapper node is gone"
fi
json_check "list -j after remove: valid against its schema" device-list "$CHAINCTL" device list -j
check_json "list -j after remove is empty" "$JSON_OUT" '.devices | length == 0'

# --- read-only ----------------------------------------------------------------
check "create --read-only" \
	"$CHAINCTL" device create dmc-e2e-ro "$raw" --read-only --raw
check_eq "read-only block device" 1 \
	"$(blockdev --getro /dev/mapper/dmc-e2e-ro 2>&1)"
check_eq "dmsetup table carries the feature" \
	"0 16384 chain 1 $raw 2 raw_base read_only" "$(dmsetup table dmc-e2e-ro 2>&1)"
out=$("$CHAINCTL" device list -j)
check_json "list -j: read_only true" "$out" \
	'.devices[] | select(.name == "dmc-e2e-ro") | .read_only == true'
check_fail_msg "a write to the read-only device fails" \
	"error writing '/dev/mapper/dmc-e2e-ro': Operation not permitted" \
	dd if=/dev/zero of=/dev/mapper/dmc-e2e-ro bs=4096 count=1 oflag=direct
check "remove the read-only device" "$CHAINCTL" device remove dmc-e2e-ro

# --- over a chain of layers ---------------------------------------------------
# Needs `chainctl layer create` and a target that reads layer files; skipped
# (not failed) while either is missing.
if ! "$CHAINCTL" layer create --help > /dev/null 2>&1; then
	skip "device over a layer chain" "chainctl layer create not available"
	done_testing
fi
mid=$work/mid.dmc
leaf=$work/leaf.dmc
if "$CHAINCTL" layer create --parent "$raw" "$mid" > "$work/lc.out" 2>&1 &&
   "$CHAINCTL" layer create --parent "$mid" "$leaf" >> "$work/lc.out" 2>&1; then
	ok "layer create: raw <- mid <- leaf"
else
	fail "layer create: raw <- mid <- leaf" "$(cat "$work/lc.out")"
	done_testing
fi
check "create over a 3-file chain" \
	"$CHAINCTL" device create dmc-e2e-chain "$leaf"
check_eq "chain table lists the files base first" \
	"0 16384 chain 3 $raw $(realpath "$mid") $(realpath "$leaf") 1 raw_base" \
	"$(dmsetup table dmc-e2e-chain 2>&1)"
json_check "status -j over 3 layers: valid against its schema" device-status \
	"$CHAINCTL" device status dmc-e2e-chain -j
check_json "status -j: 3 layers, leaf at depth 1" "$JSON_OUT" \
	--arg l "$(realpath "$leaf")" --arg b "$raw" \
	'.layer_count == 3 and .layers[0].depth == 1 and .layers[0].path == $l and
	 .layers[0].writable == true and (.layers[0].uuid | type == "string") and
	 (.layers[0].generation | type == "number") and .layers[1].writable == false and
	 .layers[2].path == $b and .layers[2].raw == true and .layers[2].uuid == null'
check "an empty chain reads as its raw base" cmp "$raw" /dev/mapper/dmc-e2e-chain
check_fail_msg "a second device on the same writable leaf: the kernel's reason is shown" \
	"the kernel refused the table: .+" \
	"$CHAINCTL" device create dmc-e2e-chain2 "$leaf"
check_fail_msg "the refused second device is not left behind" \
	"Device does not exist" dmsetup info dmc-e2e-chain2
check "remove the chain device" "$CHAINCTL" device remove dmc-e2e-chain

# A leaf whose two header slots are damaged (magic kept, checksum wrong).
bad=$work/bad.dmc
cp "$leaf" "$bad"
printf 'XXXX' | dd of="$bad" bs=1 seek=200 conv=notrunc status=none
printf 'XXXX' | dd of="$bad" bs=1 seek=$((4096 + 200)) conv=notrunc status=none
check_fail_msg "a leaf with a corrupt header is refused, saying so" \
	"bad\\.dmc.*(checksum|header)" \
	"$CHAINCTL" device create dmc-e2e-chain "$bad"
check_fail_msg "no device left behind" "Device does not exist" dmsetup info dmc-e2e-chain
mv "$mid" "$mid.away"
check_fail_msg "a chain with a missing middle layer is refused, naming it" \
	"mid\\.dmc" "$CHAINCTL" device create dmc-e2e-chain "$leaf"
mv "$mid.away" "$mid"
check_fail_msg "no device left behind" "Device does not exist" dmsetup info dmc-e2e-chain

done_testing
