# SPDX-License-Identifier: GPL-2.0
# Body of tests/e2e/3[0-2]-target-<fs>.sh: chains of depth 1, 2, 8 and 64
# whose layer files live on filesystem $TGT_FS (on /dev/vda).  For each:
# the device equals an independently computed reference; random buffered,
# direct, discard and zero-out I/O mirrored on the reference keeps it equal;
# fio with verification (random and sequential, 512 B .. 1 MiB, unaligned to
# the block size); no I/O errors counted; after removal the layer files
# flatten (chainctl, reading the files itself) to the same content and a
# recreated device shows it too.  Then a depth-8 chain with mkfs + files
# on the device, recreate, files intact.
# make check runs the two chains named by TGT_SAMPLE (each scenario names
# a different pair, so the three filesystems together cover all four);
# DMC_FULL=1 runs all four on every filesystem.
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
mnt=$DMC_TMP/layers
check "mkfs.$TGT_FS on ${DMC_DISK_LIST[0]} and mount" \
	fs_make "$TGT_FS" "${DMC_DISK_LIST[0]}" "$mnt" || done_testing

size=$((64 * 1024 * 1024))
fio_size=24m
fio_common=(--filename= --ioengine=libaio --iodepth=16 --direct=1
	--size="$fio_size" --bsrange=512-1m
	--verify=crc32c --verify_fatal=1 --do_verify=1 --exitall_on_error
	--group_reporting)

# run_depth DEPTH BLOCK RAWBASE
run_depth() {
	local depth=$1 block=$2 rawbase=$3
	local name=dmc-$TGT_FS-$depth dir=$mnt/d$depth ref=$DMC_TMP/ref-$depth
	local dev=/dev/mapper/dmc-$TGT_FS-$depth what
	what="$TGT_FS depth $depth ($((block / 1024)) KiB blocks$( ((rawbase)) && echo ', raw base'))"
	diag "--- $what"

	if ! check "$what: build layers with chainctl" \
		tgt_mkchain "$dir" "$depth" "$size" "$block" "$rawbase" "$ref"; then
		return
	fi
	check "$what: create the device" tgt_create "$name" "$dir" "$depth" "$size" ||
		return
	check "$what: device equals the reference" cmp "$dev" "$ref"
	check "$what: random buffered/direct/discard/zeroout I/O keeps it equal" \
		/usr/bin/python3 "$TGT_RWMIX" "$dev" "$ref" "$((depth * 7 + block))" 150
	check "$what: fio random write + verify" \
		fio --name=rand --rw=randwrite "${fio_common[@]/#--filename=/--filename=$dev}"
	check "$what: fio sequential write + verify" \
		fio --name=seq --rw=write "${fio_common[@]/#--filename=/--filename=$dev}"
	# fio verified its own region; take it into the reference.
	dd if="$dev" of="$ref" bs=1M count=24 conv=notrunc status=none
	check_eq "$what: no read/write/flush errors counted" "0 0 0" \
		"$(tgt_status_errors "$name")"
	diag "status: $(dmsetup status "$name")"
	check "$what: remove the device" tgt_remove "$name"
	rm -f "$dir/flat"
	check "$what: chainctl layer flatten of the files" \
		"$CHAINCTL" layer flatten "$dir/l$((depth - 1))" "$dir/flat"
	check "$what: flatten equals the reference" cmp "$dir/flat" "$ref"
	check "$what: recreate read-only" \
		tgt_create "$name" "$dir" "$depth" "$size" read_only
	check "$what: recreated device equals the reference" cmp "$dev" "$ref"
	check "$what: remove again" tgt_remove "$name"
	rm -f "$dir/flat"
}

# files_on_device DEPTH: mkfs.ext4 on the chain, files, recreate, check.
files_on_device() {
	local depth=$1 name=dmc-$TGT_FS-files dir=$mnt/d$1 ref=$DMC_TMP/ref-files
	local dev=/dev/mapper/dmc-$TGT_FS-files what="$TGT_FS files on depth $1"
	diag "--- $what"
	tgt_mkchain "$dir" "$depth" "$size" 16384 0 "$ref" || {
		fail "$what: build layers"; return; }
	check "$what: create" tgt_create "$name" "$dir" "$depth" "$size" || return
	check "$what: mkfs.ext4 on the device" mkfs.ext4 -q -F "$dev"
	mkdir -p "$DMC_TMP/dev"
	check "$what: mount" mount "$dev" $DMC_TMP/dev || { tgt_remove "$name"; return; }
	cp -a /usr/share/doc/bash /usr/share/doc/coreutils /usr/lib/python3.11/json \
		/usr/lib/python3.11/email $DMC_TMP/dev/ 2>/dev/null
	head -c 5000000 /dev/urandom > $DMC_TMP/dev/random.bin
	(cd $DMC_TMP/dev && find . -type f ! -name sums -exec sha256sum {} + > sums)
	check "$what: umount" umount $DMC_TMP/dev
	check "$what: remove" tgt_remove "$name"
	check "$what: recreate" tgt_create "$name" "$dir" "$depth" "$size"
	check "$what: fsck clean" fsck.ext4 -n -f "$dev"
	check "$what: mount again" mount "$dev" $DMC_TMP/dev
	check "$what: every file intact" sh -c "cd $DMC_TMP/dev && sha256sum --quiet -c sums"
	diag "$(df -h $DMC_TMP/dev | tail -1)"
	umount $DMC_TMP/dev
	check_eq "$what: no errors counted" "0 0 0" "$(tgt_status_errors "$name")"
	tgt_remove "$name"
}

depths="1 2 8 64"
[ "${DMC_FULL:-0}" = 1 ] || depths=${TGT_SAMPLE:-$depths}
diag "chains of depth $depths (DMC_FULL=${DMC_FULL:-0})"
for depth in $depths; do
	case $depth in
	1) run_depth 1 4096 0 ;;
	2) run_depth 2 65536 1 ;;
	8) run_depth 8 16384 0 ;;
	64) run_depth 64 65536 1 ;;
	*) fail "TGT_SAMPLE names depth $depth: only 1, 2, 8 and 64 exist" ;;
	esac
done
files_on_device 8
rm -f "$DMC_TMP"/ref-*

check "rmmod dm_chain" rmmod dm_chain
done_testing
