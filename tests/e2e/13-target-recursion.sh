#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A layer file on a filesystem that sits on the chain device itself would
# make the device's flushes wait for themselves (a task hung in D state).
# The table is refused at load, with a clear message, when the layer's
# filesystem is on the device (a reload of the same device), on a device
# stacked right on it (dm-linear), or on another chain device whose layers
# are on it; a chain over a file on another chain's filesystem (plain
# stacking, no cycle) still loads.
# vm-timeout: 600
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
C=$CHAINCTL
d=$DMC_TMP/rec
mkdir -p "$d" && cd "$d" || exit 1
mib=$((1024 * 1024))

dev_remove() {
	dmsetup remove --noudevsync "$1" 2> /dev/null
	rm -f "/dev/mapper/$1"
}

# mkchain NAME FILE: a writable chain device over the layer FILE
mkchain() {
	local size
	size=$($C layer info -j "$2" | jq -r .virtual_size_bytes) &&
		dmsetup create --noudevsync "$1" \
			--table "0 $((size / 512)) chain 1 $2" &&
		dmsetup mknodes "$1"
}

# refused_load DESC DEVICE TABLE: a reload of DEVICE with TABLE is refused
# promptly (no hang) and the kernel log says why.
refused_load() {
	local desc=$1 dev=$2 table=$3
	dmesg -C
	SECONDS=0
	check_fail_msg "$desc: refused" "reload ioctl.*failed: Invalid argument" \
		timeout 60 dmsetup reload "$dev" --table "$table"
	check "$desc: promptly (${SECONDS}s)" test "$SECONDS" -lt 30
	check "$desc: the kernel log says it would deadlock" \
		grep -q "chain: Layer file is on a filesystem that sits on this device; it would deadlock" <<< "$(dmesg)"
	dmsetup clear "$dev" > /dev/null 2>&1
}

# c1 over a layer on tmpfs, ext4 on c1, a layer file inside.
$C layer create -s $((64 * mib)) "$d/c1.dmc" > /dev/null
check "device c1" mkchain c1 "$d/c1.dmc"
cleanup_add dev_remove c1
check "ext4 on c1, mounted" fs_make ext4 /dev/mapper/c1 "$d/m1"
check "a layer file on c1's filesystem" \
	"$C" layer create -s $((16 * mib)) "$d/m1/inner.dmc"

refused_load "reload of c1 with a layer on its own filesystem" c1 \
	"0 $((16 * mib / 512)) chain 1 $d/m1/inner.dmc 1 read_only"
refused_load "reload of c1 with that layer as a writable leaf" c1 \
	"0 $((64 * mib / 512)) chain 1 $d/m1/inner.dmc"

# Plain stacking is fine: c3 over a file on c1's filesystem.
check "a second device over a layer on c1's filesystem loads (no cycle)" \
	mkchain c3 "$d/m1/inner.dmc"
cleanup_add dev_remove c3
check "ext4 on c3, mounted" fs_make ext4 /dev/mapper/c3 "$d/m3"
check "a layer file on c3's filesystem" \
	"$C" layer create -s $((8 * mib)) "$d/m3/deep.dmc"
# ... but c1 over a file on c3's filesystem is a cycle through c3's layers.
refused_load "reload of c1 with a layer on c3's filesystem (c3 sits on c1)" c1 \
	"0 $((8 * mib / 512)) chain 1 $d/m3/deep.dmc 1 read_only"

# A device stacked right on the chain device: dm-linear over c2.
$C layer create -s $((64 * mib)) "$d/c2.dmc" > /dev/null
check "device c2" mkchain c2 "$d/c2.dmc"
cleanup_add dev_remove c2
check "dm-linear over c2" dmsetup create --noudevsync lin2 \
	--table "0 $((64 * mib / 512)) linear /dev/mapper/c2 0"
dmsetup mknodes lin2
cleanup_add dev_remove lin2
check "ext4 on the linear device, mounted" fs_make ext4 /dev/mapper/lin2 "$d/ml"
check "a layer file on it" "$C" layer create -s $((8 * mib)) "$d/ml/x.dmc"
refused_load "reload of c2 with a layer on a filesystem on a device stacked on c2" c2 \
	"0 $((8 * mib / 512)) chain 1 $d/ml/x.dmc 1 read_only"

check "c1 still works: write and flush" \
	dd if=/dev/urandom of="$d/m1/file" bs=64k count=16 conv=fsync status=none
check "c2 still works through the linear device" \
	dd if=/dev/urandom of="$d/ml/file" bs=64k count=16 conv=fsync status=none

done_testing
