# SPDX-License-Identifier: GPL-2.0
# Body of tests/e2e/5[0-2]-live-merge-<fs>.sh: live merges on a chain whose
# layer files live on $LIVE_FS, expected to take the $LIVE_PATH path
# (clone or copy).  A depth-3 chain gets scattered writes through the
# device; then, with fio writing and verifying in one half of the device
# the whole time, the top two layers merge into the base (rate-limited so
# the merge lasts): the merge reports the expected path, the device keeps
# showing the reference outside fio's region, fio verifies its own, the
# chain becomes base + new leaf, the sources are marked merged-away, and
# the device recreated from the new leaf shows the same data.  Then a live
# snapshot, a merge of it, the forced modes, cancel, a snapshot on the
# cancelled merge and resume, and
# requests the module must refuse.  A live merge of depth N always leaves
# a new leaf on top (it holds the writes made during the merge), so the
# chain goes from L layers to L - N + 1.
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
mnt=$DMC_TMP/layers
check "mkfs.$LIVE_FS on ${DMC_DISK_LIST[0]} and mount" \
	fs_make "$LIVE_FS" "${DMC_DISK_LIST[0]}" "$mnt" || done_testing

size=$((128 * 1024 * 1024))
block=65536
name=dmc-live-$LIVE_FS
dev=/dev/mapper/$name
ref=$DMC_TMP/ref
fio_off=$((size / 2))
fio_len=$((size / 4))

check "build a depth-3 chain (64 KiB blocks)" \
	tgt_mkchain "$mnt/c" 3 "$size" "$block" 0 "$ref" || done_testing
check "create the device from the leaf" \
	"$C" device create "$name" "$mnt/c/l2" || done_testing
cleanup_add dmsetup remove --noudevsync "$name"
check "device equals the reference" cmp "$dev" "$ref"
check "32 MiB of scattered 64 KiB writes through the device" \
	live_scatter "$dev" "$ref" 7 512 65536
check "device equals the reference after the writes" cmp "$dev" "$ref"
check_eq "module reports 3 layers" 3 "$(live_nr_layers "$name")"
json_check "device status -j, no merge yet: valid against its schema" device-status \
	"$C" device status "$name" -j
check_json "device status -j: 3 layers, the module's uuids, no merge" "$JSON_OUT" \
	'(.layers | length) == 3 and all(.layers[]; .uuid != null) and
	 (.merge == null or .merge.state == "none")'

# --- merge the top two layers into the base, live, with fio running
used0=$(df -k --output=used "$mnt" | tail -n 1)
fio --name=during-merge --filename="$dev" --offset=$fio_off --size=$fio_len \
	--rw=randwrite --bsrange=4k-256k --ioengine=libaio --iodepth=8 \
	--direct=1 --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--loops=2 --output="$DMC_TMP/fio.out" &
fio_pid=$!
sleep 1
out=$("$C" device merge "$name" --depth 2 --rate 64 -j)
check "merge --depth 2 succeeds" test $? -eq 0
diag "merge: $out"
json_valid "device merge -j (waited for the end): valid against its schema" device-merge "$out"
check_json "device merge -j: 2 source paths, nothing deleted (no --delete)" "$out" \
	'(.source_paths | length) == 2 and .deleted_paths == null'
check_json "merge state is done" "$out" '.state == "done"'
check_json "merge moved data" "$out" '.done_bytes > 0 and .done_bytes == .total_bytes'
if [ "$LIVE_PATH" = clone ]; then
	check_json "clone path: everything cloned, nothing copied" "$out" \
		'.cloned_bytes > 0 and .copied_bytes == 0'
else
	check_json "copy path: everything copied, nothing cloned" "$out" \
		'.copied_bytes > 0 and .cloned_bytes == 0'
fi
check_json "merge reports the I/O pause" "$out" '.pause_ns | type == "number"'
newleaf=$(jq -r '.new_leaf_path' <<< "$out")
diag "new leaf: $newleaf"
check "fio wrote and verified throughout the merge" wait $fio_pid
grep -E "err=|verify" "$DMC_TMP/fio.out" | head -n 3 | sed 's/^/# /'
used1=$(df -k --output=used "$mnt" | tail -n 1)
diag "filesystem use: $used0 KiB before, $used1 KiB after the merge"

check_eq "chain is base + new leaf" 2 "$(live_nr_layers "$name")"
check_eq "new leaf is the writable top" "$newleaf" "$(live_layer_path "$name" 1)"
check_eq "TABLE shows the new chain" \
	"0 $((size / 512)) chain 2 $mnt/c/l0 $newleaf" "$(dmsetup table "$name")"
check_eq "l1 marked merged-away" merged-away "$(live_state "$mnt/c/l1")"
check_eq "l2 marked merged-away" merged-away "$(live_state "$mnt/c/l2")"
check_eq "base is valid again" valid "$(live_state "$mnt/c/l0")"
check "device equals the reference outside fio's region" \
	live_cmp_outside "$dev" "$ref" $fio_off $fio_len
dd if="$dev" of="$ref" bs=1M skip=$((fio_off >> 20)) seek=$((fio_off >> 20)) \
	count=$((fio_len >> 20)) conv=notrunc status=none
check "writes after the merge" live_scatter "$dev" "$ref" 8 64 65536
check "remove the device" dmsetup remove --noudevsync "$name"
check "chain of the new leaf is valid offline" "$C" layer info --chain "$newleaf"
check "recreate the device from the new leaf" "$C" device create "$name" "$newleaf"
check "recreated device equals the reference" cmp "$dev" "$ref"
check_fail_msg "merged-away layer refused as a device" "merged" \
	"$C" device create "$name-old" "$mnt/c/l2"

# --- live snapshot, then merge it back
out=$("$C" device snapshot "$name" -j)
check "snapshot succeeds" test $? -eq 0
diag "snapshot: $out"
check_json "snapshot reports its pause" "$out" '.pause_ns | type == "number"'
json_valid "device snapshot -j: valid against its schema" device-snapshot "$out"
snap=$(jq -r '.new_leaf_path' <<< "$out")
check_eq "snapshot adds a layer" 3 "$(live_nr_layers "$name")"
check "writes into the snapshot" live_scatter "$dev" "$ref" 9 64 65536
check "device equals the reference after the snapshot" cmp "$dev" "$ref"
out=$("$C" device merge "$name" -j)
check_json "merge of depth 1 (default) succeeds" "$out" '.state == "done"'
check_eq "still three layers: a new leaf replaces the merged snapshot" 3 \
	"$(live_nr_layers "$name")"
check_eq "snapshot file merged away" merged-away "$(live_state "$snap")"
check "device equals the reference after merging the snapshot" cmp "$dev" "$ref"

# --- forced modes
if [ "$LIVE_PATH" = clone ]; then
	check "writes for a copy-mode merge" live_scatter "$dev" "$ref" 10 64 65536
	out=$("$C" device merge "$name" --mode copy -j)
	check_json "mode copy copies on a reflink filesystem" "$out" \
		'.state == "done" and .copied_bytes > 0 and .cloned_bytes == 0'
else
	check "writes for a clone-mode merge" live_scatter "$dev" "$ref" 10 64 65536
	check_fail_msg "mode clone refused on a filesystem without reflink" \
		"clone" "$C" device merge "$name" --mode clone
	check_json "the failed merge is reported" "$(live_get "$name")" \
		'.merge.state == "failed"'
	check "device still equals the reference" cmp "$dev" "$ref"
	out=$("$C" device merge "$name" -j)
	check_json "re-issued merge resumes and completes" "$out" \
		'.state == "done" and .resumed == true'
fi
check "device equals the reference after the forced mode" cmp "$dev" "$ref"

# --- cancel and resume
check "64 MiB of writes to merge" live_scatter "$dev" "$ref" 11 1024 65536
# monitor -j sees its events: one JSON object per line
timeout 60 "$C" monitor -j --count 2 > "$DMC_TMP/monitor.json" 2>&1 &
mon=$!
sleep 0.5
check "start a slow merge (--rate 2, --no-wait -j)" \
	sh -c '"$0" device merge "$1" --rate 2 --no-wait -j > "$2"' "$C" "$name" "$DMC_TMP/nowait.json"
check_fail_msg "a second merge is refused while one runs" "already running" \
	"$C" device merge "$name"
check_fail_msg "a table load is refused while the merge runs" \
	"reload ioctl on $name .*failed: Device or resource busy" \
	dmsetup reload "$name" --table "$(dmsetup table "$name")"
check_kernel_log "the kernel log says why the table was refused" \
	"A live merge is running on this device"
sleep 1
# The cancel must land in the middle of the merge, not after its end.
st=$(live_get "$name")
diag "before the cancel: $(jq -c .merge <<< "$st")"
check_json "the cancel lands mid-merge: still running, part of it done" "$st" \
	'.merge.state == "running" and .merge.done_bytes < .merge.total_bytes'
check "cancel" "$C" device cancel "$name"
check "merge reports cancelled" live_wait_state "$name" cancelled 30
# The JSON of the running merge, validated only now: the validator's
# seconds in the VM must not delay the cancel (the resume below needs
# most of the merge left to show its progress bar).
json_valid "device merge --no-wait -j: valid against its schema" device-merge \
	"$(cat "$DMC_TMP/nowait.json")"
check_json "device merge --no-wait -j: running" "$(cat "$DMC_TMP/nowait.json")" \
	'.state == "running"'
json_valid "device status -j, a merge running: valid against its schema" device-status "$st"
wait $mon
check_eq "monitor -j --count 2: exits 0" 0 $?
json_valid "monitor -j: each event line is valid against its schema" monitor-event \
	"$(cat "$DMC_TMP/monitor.json")"
check_json "monitor -j: two lines, events of this device" \
	"$(jq -s -c . "$DMC_TMP/monitor.json")" --arg n "$name" \
	'length == 2 and all(.[]; .device == $n)'
check_fail_msg "cancel with no merge running is refused" "No merge" \
	"$C" device cancel "$name"
check_eq "cancelled merge keeps its source below the new leaf" 4 \
	"$(live_nr_layers "$name")"
check "device equals the reference after the cancel" cmp "$dev" "$ref"
check "writes after the cancel" live_scatter "$dev" "$ref" 12 64 65536
# A snapshot on the cancelled merge puts a layer above the merge's leaf
# (as one taken while it runs does): the resume must still find and finish
# the merge, which once needed the merge's leaf to be the device's leaf.
check "snapshot on the cancelled merge" "$C" device snapshot "$name"
check "writes into that snapshot" live_scatter "$dev" "$ref" 13 64 65536
# Resumed on a terminal (script(1) gives it one): the progress bar on
# stderr moves between the module's events, with a rate and time left.
script -qec "$C device merge $name --rate 16 -j > $DMC_TMP/resume.json" \
	"$DMC_TMP/bar.typescript" > /dev/null 2>&1
out=$(cat "$DMC_TMP/resume.json")
check_json "re-issued merge resumes the journal" "$out" \
	'.state == "done" and .resumed == true'
bars=$(tr '\r' '\n' < "$DMC_TMP/bar.typescript" | grep -E '^merge \[.*%.*/s, [0-9:]+ left')
diag "progress lines: $(wc -l <<< "$bars"), last: $(tail -n 1 <<< "$bars")"
check "the bar on a terminal redrew at 3 or more percentages, with rate and time left" \
	test "$(grep -oE '[0-9]+%' <<< "$bars" | sort -u | wc -l)" -ge 3
check_eq "source gone after the resumed merge, the snapshot kept" 4 \
	"$(live_nr_layers "$name")"
check "device equals the reference after the resumed merge" cmp "$dev" "$ref"

# --- requests the module refuses
check_fail_msg "depth as deep as the chain is refused" "Depth" \
	"$C" device merge "$name" --depth 4
check_fail_msg "target index of the leaf is refused" "below the leaf" \
	"$C" device merge "$name" --into 3
check_fail_msg "unknown device is refused" "no chain device" \
	"$C" device merge nosuchdev
check_fail_msg "snapshot to an existing file is refused" "exists" \
	"$C" device snapshot "$name" "$mnt/c/l0"
check_fail_msg "unprivileged merge is refused" \
	"ermission|CAP_SYS_ADMIN|not permitted" \
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$C" device merge "$name"
check_fail_msg "unprivileged snapshot is refused" \
	"ermission|CAP_SYS_ADMIN|not permitted" \
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$C" device snapshot "$name"
check "device equals the reference at the end" cmp "$dev" "$ref"
check_eq "no I/O errors counted" "0 0 0" "$(tgt_status_errors "$name")"
check "remove the device" dmsetup remove --noudevsync "$name"
check "rmmod dm_chain" rmmod dm_chain
done_testing
