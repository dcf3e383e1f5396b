#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qcow2 chains in and out (issue 17): a qcow2 chain of depth 3 made with
# qemu-img and qemu-io (patterned writes at different offsets in each
# image, a compressed cluster, a zero write and a discard in upper images
# hiding base data, a top image with 16 KiB clusters so that the chain
# needs blocks finer than the default) is imported with `chainctl layer
# import`; each layer must hold its image's own allocation (the depth-0
# data and zero ranges of `qemu-img map` of the image alone against the
# layer's own ranges in `chainctl layer map -j`), and the content must be
# the image's (`qemu-img compare` against a flattened raw image at every
# depth and against /dev/mapper/NAME over the imported leaf).  The chain is
# then exported with `chainctl layer export`: every image passes `qemu-img
# check`, the top compares equal to the original, each image holds its
# layer's allocation again, and the exported directory still works once
# moved (relative backing names).  Refusals: a missing source, a file
# qemu-img cannot read, a block size the allocation does not fit, images
# of different sizes, a DESTDIR already holding one of the names (nothing
# overwritten); a failing qemu-img and a chainctl killed mid-import
# (through a qemu-img wrapper) leave no layer that `layer check` calls
# clean while lacking data, and one killed mid-export (a qemu-io wrapper)
# no image under its name without all its data.  On XFS (export clones into qemu-io's run
# files), then on ext4 in a file on it (copies).
# vm-disks: 1x4G
# vm-timeout: 900
# jq programs below use jq variables in single quotes.
# shellcheck disable=SC2016
. "$DMC_ROOT/tests/e2e/lib.sh"

C=$CHAINCTL
MIB=$((1024 * 1024))
SIZE=$((64 * MIB))

for tool in qemu-img qemu-io jq; do
	command -v "$tool" > /dev/null || { fail "$tool is installed (qemu-utils, jq)"; done_testing; }
done
disk=${DMC_DISK_LIST[0]:-}
[ -n "$disk" ] || { fail "a scratch disk (vm-disks)"; done_testing; }
need_module || done_testing

# alone IMAGE: the json: name that opens a qcow2 IMAGE without its backing
# file, so that what it leaves to the backing file reads as not present.
alone() {
	jq -nc --arg f "$1" '"json:" + ({driver: "qcow2", backing: null,
		file: {driver: "file", filename: $f}} | tojson)' | jq -r .
}

# The ranges one image or layer holds itself, one "START END KIND" line per
# range (KIND data or zero), adjacent ranges of a kind joined.
JOIN='reduce .[] as $r ([]; if length > 0 and .[-1][1] == $r[0] and .[-1][2] == $r[2]
	then .[-1][1] = $r[1] else . + [$r] end) | .[] | "\(.[0]) \(.[1]) \(.[2])"'

# own_qemu IMAGE: depth-0 present ranges of `qemu-img map` of IMAGE alone.
own_qemu() {
	qemu-img map --output=json "$(alone "$1")" |
		jq -r "[.[] | select(.depth == 0 and .present)
			| [.start, .start + .length, (if .zero then \"zero\" else \"data\" end)]] | $JOIN"
}

# own_dmc LAYER: the ranges `chainctl layer map -j` shows LAYER itself
# providing (depth 1).  The one place that knows map -j's field names.
own_dmc() {
	"$C" layer map -j "$1" |
		jq -r "[.extents[] | select(.depth == 1 and (.kind == \"data\" or .kind == \"zero\"))
			| [.offset_bytes, .offset_bytes + .length_bytes, .kind]] | $JOIN"
}

# same_ranges DESC A B: both listings equal and not empty (a comparison of
# two empty listings proves nothing).
same_ranges() {
	if [ -z "$2" ]; then
		fail "$1" "no ranges to compare"
	else
		check_eq "$1" "$2" "$3"
	fi
}

# make_chain DIR: base.qcow2 <- mid.qcow2 <- top.qcow2, 64 MiB.
make_chain() {
	local d=$1
	qemu-img create -q -f qcow2 "$d/base.qcow2" $SIZE &&
	qemu-io -f qcow2 -c 'write -q -P 0x11 0 4M' -c 'write -q -P 0x12 16M 1M' \
		-c 'write -q -P 0x13 40M 64k' -c 'write -q -P 0x14 63M 1M' "$d/base.qcow2" &&
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$d/mid.qcow2" &&
	qemu-io -f qcow2 -c 'write -q -P 0x21 1M 256k' -c 'write -q -P 0x22 20M 2M' \
		-c 'write -q -z 16640k 256k' -c 'write -q -c -P 0x23 30M 64k' "$d/mid.qcow2" &&
	qemu-img create -q -f qcow2 -o cluster_size=16k -b mid.qcow2 -F qcow2 "$d/top.qcow2" &&
	qemu-io -f qcow2 -c 'write -q -P 0x31 48M 16k' -c 'write -q -P 0x32 3088k 48k' \
		-c 'write -q -z 0 64k' -c 'discard -q 1040k 32k' -c 'write -q -P 0x33 20M 16k' \
		"$d/top.qcow2"
}

# scenario FS DIR: everything, in DIR on filesystem FS.
scenario() {
	local fs=$1 w=$2 src imp exp n out rc
	src=$w/src
	# Quotes and spaces reach qemu intact (a table line takes no spaces:
	# the imported chain gets a device).
	imp="$w/imp'orted"
	exp="$w/exported \"dir\""
	mkdir -p "$src" "$imp" "$exp" "$w/refused"
	check "$fs: a qcow2 chain of depth 3 (qemu-img, qemu-io)" make_chain "$src" || return 1
	check_eq "$fs: the source chain has 3 images" 3 \
		"$(qemu-img info --backing-chain --output=json "$src/top.qcow2" | jq length)"

	# --- import ----------------------------------------------------------
	local t0 t1
	t0=$(date +%s.%N)
	check "$fs: layer import" "$C" layer import -f qcow2 "$src/top.qcow2" "$imp" || return 1
	t1=$(date +%s.%N)
	diag "$fs: import took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s (guest clock)"
	out=$("$C" layer info --chain -j "$imp/top.dmc")
	check_json "$fs: 3 layers, base without a parent, block size 16 KiB (the top's clusters)" \
		"$out" '.valid and (.layers | length) == 3 and
		 ([.layers[].block_size_bytes] | unique) == [16384] and
		 .layers[2].parent.kind == "none" and .layers[0].parent.path == "mid.dmc" and
		 .layers[1].parent.path == "base.dmc" and
		 ([.layers[].virtual_size_bytes] | unique) == [67108864]'
	json_valid "$fs: that layer info --chain -j matches its schema" layer-info-chain "$out"
	for n in base mid top; do
		"$C" layer check "$imp/$n.dmc" > /dev/null 2>&1
		check_eq "$fs: $n.dmc checks clean" 0 $?
		same_ranges "$fs: $n.dmc holds $n.qcow2's own allocation" \
			"$(own_qemu "$src/$n.qcow2")" "$(own_dmc "$imp/$n.dmc")"
	done
	check "$fs: the zero write in mid.qcow2 is a zero range of mid.dmc" \
		grep -qx "17039360 17301504 zero" <<< "$(own_dmc "$imp/mid.dmc")"
	check "$fs: the discard in top.qcow2 is a zero range of top.dmc" \
		grep -qx "1064960 1097728 zero" <<< "$(own_dmc "$imp/top.dmc")"

	# Content at every depth: flatten (no module needed) and compare.
	for n in top mid base; do
		rm -f "$w/flat.raw"
		check "$fs: flatten $n.dmc" "$C" layer flatten "$imp/$n.dmc" "$w/flat.raw" &&
		check "$fs: qemu-img compare $n.qcow2 with the flattened $n.dmc" \
			qemu-img compare -f qcow2 -F raw "$src/$n.qcow2" "$w/flat.raw"
	done
	rm -f "$w/flat.raw"
	local dev=dmc-e2e-q$fs
	cleanup_add dmsetup remove --noudevsync "$dev"
	if check "$fs: device create over the imported leaf (read-only)" \
		"$C" device create "$dev" "$imp/top.dmc" --read-only; then
		check "$fs: qemu-img compare top.qcow2 with /dev/mapper/$dev" \
			qemu-img compare -f qcow2 -F raw "$src/top.qcow2" "/dev/mapper/$dev"
		check "$fs: device remove" "$C" device remove "$dev"
	fi

	# --- export ----------------------------------------------------------
	t0=$(date +%s.%N)
	check "$fs: layer export" "$C" layer export "$imp/top.dmc" "$exp" || return 1
	t1=$(date +%s.%N)
	diag "$fs: export took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s (guest clock)"
	check_eq "$fs: three images and nothing else in the export directory" \
		"base.qcow2 mid.qcow2 top.qcow2" "$(ls -A "$exp" | xargs)"
	for n in base mid top; do
		check "$fs: qemu-img check $n.qcow2 (exported)" qemu-img check -f qcow2 "$exp/$n.qcow2"
		same_ranges "$fs: exported $n.qcow2 holds $n.dmc's own allocation" \
			"$(own_dmc "$imp/$n.dmc")" "$(own_qemu "$exp/$n.qcow2")"
	done
	out=$(qemu-img info --backing-chain --output=json "$exp/top.qcow2")
	check_json "$fs: exported backing names are relative, formats recorded" "$out" \
		'length == 3 and .[0]["backing-filename"] == "mid.qcow2" and
		 .[1]["backing-filename"] == "base.qcow2" and
		 .[0]["backing-filename-format"] == "qcow2" and .[0]["cluster-size"] == 16384'
	check "$fs: qemu-img compare exported top with the original top" \
		qemu-img compare "$exp/top.qcow2" "$src/top.qcow2"
	mv "$exp" "$w/moved"
	check "$fs: the exported chain, moved as a directory, still compares equal" \
		qemu-img compare "$w/moved/top.qcow2" "$src/top.qcow2"

	# --- refusals --------------------------------------------------------
	local r=$w/refused
	check_fail_msg "$fs: import of a missing source" "layer import: .*nope.qcow2: No such file" \
		"$C" layer import "$w/nope.qcow2" "$r"
	head -c 1M /dev/urandom > "$w/junk.qcow2"
	check_fail_msg "$fs: import of a file qemu-img cannot read as qcow2" \
		"layer import: .*junk.qcow2: qemu-img failed \(exit status 1\): .*(not in qcow2 format|Could not open)" \
		"$C" layer import -f qcow2 "$w/junk.qcow2" "$r"
	check_fail_msg "$fs: import with blocks coarser than the top's allocation" \
		"top.qcow2: allocation changes at byte [0-9]+, not a multiple of the block size 65536" \
		"$C" layer import -b 64K "$src/top.qcow2" "$r"
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$src/big.qcow2" $((2 * SIZE))
	check_fail_msg "$fs: import of images of different sizes" \
		"a dm-chain chain has one size" "$C" layer import "$src/big.qcow2" "$r"
	check_eq "$fs: the refused imports left nothing" "" "$(ls -A "$r")"
	echo precious > "$r/mid.dmc"
	check_fail_msg "$fs: import into a directory holding mid.dmc" \
		"layer import: .*refused/mid.dmc: exists; nothing was overwritten" \
		"$C" layer import "$src/top.qcow2" "$r"
	check_eq "$fs: mid.dmc untouched, no other layer made" "precious mid.dmc" \
		"$(cat "$r/mid.dmc") $(ls -A "$r" | xargs)"
	rm -f "$r/mid.dmc"
	mkdir -p "$w/exp2" && echo precious > "$w/exp2/base.qcow2"
	check_fail_msg "$fs: export into a directory holding base.qcow2" \
		"layer export: .*exp2/base.qcow2: exists; nothing was overwritten" \
		"$C" layer export "$imp/top.dmc" "$w/exp2"
	check_eq "$fs: base.qcow2 untouched, no other image made" "precious base.qcow2" \
		"$(cat "$w/exp2/base.qcow2") $(ls -A "$w/exp2" | xargs)"

	# A qemu-img that fails, then one that kills chainctl, at the copy
	# into top.dmc (base.dmc and mid.dmc are complete by then).
	local fake=$w/fakebin
	mkdir -p "$fake"
	cat > "$fake/qemu-img" <<-'EOF'
	#!/bin/sh
	case "$*" in
	*convert*top.dmc*)
		[ "$FAKE" = kill ] && kill -KILL "$PPID"
		echo "qemu-img: injected failure" >&2
		exit 1 ;;
	esac
	exec /usr/bin/qemu-img "$@"
	EOF
	chmod +x "$fake/qemu-img"
	check_fail_msg "$fs: a failing qemu-img fails the import, naming it" \
		"layer import: .*top.qcow2: qemu-img failed \(exit status 1\): qemu-img: injected failure" \
		env PATH="$fake:$PATH" "$C" layer import "$src/top.qcow2" "$r"
	check_eq "$fs: the failed import removed every layer it made" "" "$(ls -A "$r")"
	FAKE=kill PATH="$fake:$PATH" "$C" layer import "$src/top.qcow2" "$r" > /dev/null 2>&1
	rc=$?
	check_eq "$fs: chainctl killed mid-import (SIGKILL)" 137 "$rc"
	for n in base mid; do
		"$C" layer check "$r/$n.dmc" > /dev/null 2>&1
		check_eq "$fs: killed import: the finished $n.dmc checks clean" 0 $?
		same_ranges "$fs: killed import: $n.dmc is complete" \
			"$(own_qemu "$src/$n.qcow2")" "$(own_dmc "$r/$n.dmc")"
	done
	check_fail_code "$fs: killed import: the unfinished top.dmc is no layer (check: 3)" 3 \
		"top.dmc: not a dm-chain layer \(no header\)" "$C" layer check "$r/top.dmc"
	check_fail_msg "$fs: killed import: nothing takes top.dmc for a chain" \
		"no header" "$C" layer info --chain "$r/top.dmc"

	# A qemu-io that kills chainctl while it writes the top image.
	cat > "$fake/qemu-io" <<-'EOF'
	#!/bin/sh
	case "$*" in *top.qcow2.part*) kill -KILL "$PPID"; exit 1 ;; esac
	exec /usr/bin/qemu-io "$@"
	EOF
	chmod +x "$fake/qemu-io"
	mkdir -p "$w/exp3"
	PATH="$fake:$PATH" "$C" layer export "$imp/top.dmc" "$w/exp3" > /dev/null 2>&1
	check_eq "$fs: chainctl killed mid-export (SIGKILL)" 137 $?
	check_eq "$fs: killed export: the finished images under their names, the top only hidden" \
		".top.qcow2.part base.qcow2 mid.qcow2" \
		"$(cd "$w/exp3" && ls -A | grep -v '^\.chainctl-export' | LC_ALL=C sort | xargs)"
	check "$fs: killed export: mid.qcow2 is complete (check)" \
		qemu-img check -f qcow2 "$w/exp3/mid.qcow2"
	check "$fs: killed export: mid.qcow2 is complete (compare)" \
		qemu-img compare "$w/exp3/mid.qcow2" "$src/mid.qcow2"
}

mnt=$DMC_TMP/qcow2-xfs
fs_make xfs "$disk" "$mnt" || { fail "mkfs.xfs"; done_testing; }
scenario xfs "$mnt/w"

# ext4 in a file on the XFS volume: cheap, and no clone for the export.
truncate -s 1G "$mnt/ext4.img"
mnt4=$DMC_TMP/qcow2-ext4
if fs_mkfs ext4 "$mnt/ext4.img" && mkdir -p "$mnt4" && mount -o loop "$mnt/ext4.img" "$mnt4"; then
	cleanup_add umount "$mnt4"
	scenario ext4 "$mnt4/w"
else
	fail "ext4 on a loop file"
fi

check "rmmod dm_chain (no leaked references)" rmmod dm_chain
done_testing
