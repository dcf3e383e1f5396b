#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two small table-load defects.  A table refused because its leaf is on a
# read-only filesystem leaves no claim behind: after a remount read-write
# the same table loads, and once that device is gone the layers are free
# (no flock, no handle left in the module).  Layer paths the TABLE status
# could not re-emit as they came (whitespace, control characters, a
# backslash) are refused at load by the kernel and by chainctl, with a
# clear message, and leave nothing behind.
# vm-timeout: 300
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
C=$CHAINCTL
d=$DMC_TMP/claims
mkdir -p "$d" && cd "$d" || exit 1
size=$((8 * 1024 * 1024))
sectors=$((size / 512))

dev_remove() {
	dmsetup remove --noudevsync "$1" 2> /dev/null
	rm -f "/dev/mapper/$1"
}

# --- leaf on a read-only filesystem ---------------------------------------
$C layer create -s $size "$d/base.dmc" > /dev/null
head -c 65536 /dev/urandom | $C layer write "$d/base.dmc" 0 65536
mkdir -p "$d/ro" && mount -t tmpfs tmpfs "$d/ro"
cleanup_add umount "$d/ro"
$C layer create --parent "$d/base.dmc" "$d/ro/leaf.dmc" > /dev/null
table="0 $sectors chain 2 $d/base.dmc $d/ro/leaf.dmc"
check "remount the leaf's filesystem read-only" mount -o remount,ro "$d/ro"
for i in 1 2; do
	dmesg -C
	check_fail_msg "load $i with the leaf on a read-only filesystem: refused" \
		"reload ioctl.*failed|Read-only file system" \
		dmsetup create --noudevsync dmc-ro --table "$table"
	check "... the kernel says why" \
		grep -q "chain: Writable leaf is on a read-only filesystem" <<< "$(dmesg)"
	dev_remove dmc-ro
done
check "the base is not left locked by the refused loads" \
	flock -n -x "$d/base.dmc" true
check "remount read-write" mount -o remount,rw "$d/ro"
check "the same table loads now" \
	dmsetup create --noudevsync dmc-ro --table "$table"
check "remove it" dev_remove dmc-ro
check "the leaf is free afterwards (no flock)" flock -n -x "$d/ro/leaf.dmc" true
check "the base is free afterwards (no flock)" flock -n -x "$d/base.dmc" true
check "another device can take the base writable (no handle left)" \
	dmsetup create --noudevsync dmc-b --table "0 $sectors chain 1 $d/base.dmc"
dev_remove dmc-b
check "the module holds nothing: it unloads" rmmod dm_chain
need_module || done_testing

# --- a live merge refused for a target on a read-only filesystem -------------
# The merge claims the target (other devices may not open it meanwhile)
# and then opens it for writing; when that open fails, the claim must go.
mkdir -p "$d/ro2" && mount -t tmpfs tmpfs "$d/ro2"
cleanup_add umount "$d/ro2"
$C layer create -s $size "$d/ro2/t.dmc" > /dev/null
$C layer create --parent "$d/ro2/t.dmc" "$d/l.dmc" > /dev/null
check "remount the target's filesystem read-only" mount -o remount,ro "$d/ro2"
check "a device over target <- leaf" \
	dmsetup create --noudevsync dmc-m --table "0 $sectors chain 2 $d/ro2/t.dmc $d/l.dmc"
check_fail_msg "a live merge into the read-only target is refused" \
	"read-only filesystem" "$C" device merge dmc-m --depth 1
dmesg -C
check "another device can share the target read-only (no claim left)" \
	dmsetup create --noudevsync --readonly dmc-t \
		--table "0 $sectors chain 1 $d/ro2/t.dmc 1 read_only"
grep "chain:" <<< "$(dmesg)" | while read -r line; do diag "$line"; done
dev_remove dmc-t
dev_remove dmc-m
check "the module holds nothing: it unloads" rmmod dm_chain
need_module || done_testing

# --- paths the table line cannot carry ---------------------------------------
# refused_path DESC FILE-NAME: a raw image at that name, named (escaped, as
# dm_split_args() reads it) in a table: refused with the reason, no device.
refused_path() {
	local desc=$1 name=$2 esc
	head -c $size /dev/zero > "$d/$name"
	esc=$(printf '%s' "$d/$name" | sed 's/[\\ \t]/\\&/g')
	dmesg -C
	check_fail_msg "kernel: $desc: refused" "reload ioctl.*failed: Invalid argument" \
		dmsetup create --noudevsync dmc-path --table "0 $sectors chain 1 $esc 2 raw_base read_only" --readonly
	check "kernel: $desc: the log says why" \
		grep -q "chain: Layer path holds whitespace, a control character or a backslash" <<< "$(dmesg)"
	check_fail_msg "kernel: $desc: no device left behind" "Device does not exist" \
		dmsetup info dmc-path
	dev_remove dmc-path
}
refused_path "a space" "a b.raw"
refused_path "a tab" "$(printf 'a\tb.raw')"
refused_path "a backslash" 'a\b.raw'

# chainctl: the same rule, before the kernel sees anything
mkdir -p "$d/my disks" "$d/back\\slash" "$d/$(printf 'ctl\001')"
for dir in "my disks" "back\\slash" "$(printf 'ctl\001')"; do
	$C layer create -s $size "$d/$dir/l.dmc" > /dev/null
	check_fail_msg "chainctl: a layer path with '$(printf '%q' "$dir")' is refused" \
		"cannot go in a device-mapper table" \
		"$C" device create dmc-path "$d/$dir/l.dmc"
	check_fail_msg "chainctl: no device left behind" "Device does not exist" \
		dmsetup info dmc-path
done

# a live snapshot's new leaf joins the layer list and the TABLE line too
$C layer create -s $size "$d/snapbase.dmc" > /dev/null
check "a device for snapshots" \
	dmsetup create --noudevsync dmc-snap --table "0 $sectors chain 1 $d/snapbase.dmc"
check_fail_msg "kernel: a snapshot leaf path with a backslash is refused" \
	"New leaf path holds whitespace, a control character or a backslash" \
	"$C" device snapshot dmc-snap "$d/new\\leaf.dmc"
check "... and no file was made" test ! -e "$d/new\\leaf.dmc"
check_eq "... and the device is unchanged" "0 $sectors chain 1 $d/snapbase.dmc" \
	"$(dmsetup table dmc-snap)"
dev_remove dmc-snap

# a path that round-trips: non-ASCII bytes are fine
mkdir -p "$d/café"
$C layer create -s $size "$d/café/l.dmc" > /dev/null
check "chainctl: a non-ASCII path is accepted" \
	"$C" device create dmc-path "$d/café/l.dmc"
check_eq "... and the TABLE line carries it as it is" \
	"0 $sectors chain 1 $d/café/l.dmc" "$(dmsetup table dmc-path)"
dev_remove dmc-path

check "rmmod dm_chain (no leaked references)" rmmod dm_chain
done_testing
