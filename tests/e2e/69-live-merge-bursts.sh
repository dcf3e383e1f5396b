#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bursts (docs/target.md, "Bursts under a deep guest queue"; issue 18): a
# live merge under a guest that keeps many bios in flight holds the
# device's I/O and works alone for a while, then lets it through.
#  - the module parameters are there with their documented defaults;
#  - a merge of 4096 scattered 64 KiB runs under fio random writes at
#    iodepth 16 (merge_burst_depth 1, so a burst is certain): done, it
#    counts its bursts, pause_ns holds a burst's hold and stays bounded,
#    fio's data verifies and the device reads the reference;
#  - a rate-limited range merge under the same load never bursts, nor
#    yields;
#  - `device status` names the bursts;
#  - under fio at iodepth 1 (below the burst depth) a range merge yields:
#    no burst, yield_ns > 0, the status says so.  Under writes the share
#    is merge_yield_write_pct (default 300): with it 0 the merge never
#    yields to writes, whatever merge_yield_pct; under reads it is
#    merge_yield_pct (default 100): with that 0 it never yields to reads,
#    with merge_yield_write_pct 0 it still does.  Data verified.
# vm-disks: 1x4G
# vm-timeout: 900
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
name=dmc-burst
dev=/dev/mapper/$name
P=/sys/module/dm_chain/parameters
size=$((512 * 1024 * 1024))

check "module parameters merge_burst_depth, merge_burst_ms, merge_gap_ms" \
	test -w $P/merge_burst_depth -a -w $P/merge_burst_ms -a -w $P/merge_gap_ms ||
	done_testing
check_eq "defaults (docs/target.md): depth 8, burst 64 ms, gap 4 ms, yield 100 % (reads) and 300 % (writes)" \
	"8 64 4 100 300" \
	"$(cat $P/merge_burst_depth) $(cat $P/merge_burst_ms) $(cat $P/merge_gap_ms) $(cat $P/merge_yield_pct) $(cat $P/merge_yield_write_pct 2>&1)"
cleanup_add sh -c "echo 8 > $P/merge_burst_depth"
cleanup_add sh -c "echo 100 > $P/merge_yield_pct"
cleanup_add sh -c "echo 300 > $P/merge_yield_write_pct"

d=$DMC_TMP/x
check "xfs" fs_make xfs "${DMC_DISK_LIST[0]}" "$d" || done_testing
check "base" "$C" layer create -s $size "$d/base.dmc" || done_testing
check "child" "$C" layer create --parent "$d/base.dmc" "$d/child.dmc" || done_testing
check "device on the child" "$C" device create $name "$d/child.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync $name
ref=$DMC_TMP/ref
truncate -s $size "$ref"
check "4096 scattered 64 KiB writes into the child" \
	live_scatter $dev "$ref" 69 4096 65536 || done_testing

# fio's own region, verified by fio, then taken into the reference.
fio_common=(--filename=$dev --ioengine=libaio --iodepth=16 --direct=1
	--offset=384m --size=128m --bsrange=4k-8k
	--verify=crc32c --verify_fatal=1 --exitall_on_error --group_reporting)
fio_region_to_ref() {
	dd if=$dev of="$ref" bs=1M skip=384 seek=384 count=128 conv=notrunc \
		status=none
}

# --- a merge under a deep queue, bursts certain (depth 1)
echo 1 > $P/merge_burst_depth
fio --name=load --rw=randwrite --randseed=69 --do_verify=0 "${fio_common[@]}" \
	> fio1.out 2>&1 &
fpid=$!
sleep 1
check "fio still writing when the merge starts" kill -0 $fpid
out=$("$C" device merge $name -j)
check_json "merge under fio at iodepth 16: done" "$out" '.state == "done"'
check_json "it worked in bursts" "$out" '.bursts > 0'
check_json "pause_ns holds a burst's hold, under 5 s" "$out" \
	'.pause_ns > 0 and .pause_ns < 5000000000'
diag "bursts $(jq -r .bursts <<< "$out"), longest pause $(jq -r .pause_ns <<< "$out") ns"
check "fio ran to its end" wait $fpid || diag "$(tail -n 5 fio1.out)"
check "fio verifies its data" \
	fio --name=load --rw=randwrite --randseed=69 --verify_only "${fio_common[@]}"
fio_region_to_ref
check "device reads the reference" cmp $dev "$ref"
check_eq "child merged away" merged-away "$(live_state "$d/child.dmc")"
check "device status names the bursts" \
	sh -c "'$C' device status $name | grep -Eq 'pause .*[0-9]+ bursts? under a deep guest queue'"

# --- a rate-limited range merge under the same load: no burst
check "snapshot: base, leaf, top" "$C" device snapshot $name "$d/top.dmc"
fio --name=load --rw=randwrite --randseed=70 --do_verify=0 "${fio_common[@]}" \
	> fio2.out 2>&1 &
fpid=$!
sleep 1
check "fio still writing when the merge starts" kill -0 $fpid
out=$("$C" device merge $name --into 0 --from 1 --rate 64 -j)
check_json "rate-limited range merge under fio: done" "$out" '.state == "done"'
check_json "a rate-limited merge never bursts" "$out" '.bursts == 0'
check_json "nor yields" "$out" '.yield_ns == 0'
check "fio ran to its end" wait $fpid || diag "$(tail -n 5 fio2.out)"
check "fio verifies its data" \
	fio --name=load --rw=randwrite --randseed=70 --verify_only "${fio_common[@]}"
fio_region_to_ref
check "device reads the reference" cmp $dev "$ref"
echo 8 > $P/merge_burst_depth

# --- a shallow queue (iodepth 1, below the burst depth): the merge yields
fio_shallow=(--filename=$dev --ioengine=libaio --iodepth=1 --direct=1
	--offset=384m --size=32m --bs=4k
	--verify=crc32c --verify_fatal=1 --exitall_on_error --group_reporting)
# shallow_merge N RW READ_PCT WRITE_PCT SEED: 1024 scattered runs
# written, snapshotted below a new leaf N, merged into layer 1 under fio
# RW (randwrite|randread) at iodepth 1 with merge_yield_pct READ_PCT and
# merge_yield_write_pct WRITE_PCT; the answer in $out.
shallow_merge() {
	check "1024 scattered 64 KiB writes into the leaf" \
		live_scatter $dev "$ref" "$5" 1024 65536 || return 1
	check "snapshot: leaf $1 on top of them" \
		"$C" device snapshot $name "$d/$1.dmc" || return 1
	echo "$3" > $P/merge_yield_pct
	echo "$4" > $P/merge_yield_write_pct
	if [ "$2" = randwrite ]; then
		fio --name=shallow --rw=randwrite --randseed="$5" --do_verify=0 \
			"${fio_shallow[@]}" > "fio-$1.out" 2>&1 &
	else
		fio --name=shallow --rw=randread "${fio_shallow[@]}" --verify=0 \
			--time_based --runtime=600 > "fio-$1.out" 2>&1 &
	fi
	fpid=$!
	sleep 1
	check "fio ($2) still running when the merge starts" kill -0 $fpid
	out=$("$C" device merge $name --into 1 --from 2 -j)
	check_json "range merge under fio $2 at iodepth 1 (yield $3 % / $4 %): done" "$out" \
		'.state == "done"'
	check_json "no burst at iodepth 1" "$out" '.bursts == 0'
	diag "yield_ns $(jq -r .yield_ns <<< "$out"), elapsed_ns $(jq -r .elapsed_ns <<< "$out")"
	if [ "$2" = randwrite ]; then
		check "fio ran to its end" wait $fpid || diag "$(tail -n 5 "fio-$1.out")"
		check "fio verifies its data" fio --name=shallow --rw=randwrite \
			--randseed="$5" --verify_only "${fio_shallow[@]}"
	else
		check "fio still reading at the merge's end" kill -0 $fpid
		kill -INT $fpid
		wait $fpid	# (interrupted: its status says so, not its errors)
		check "fio read without an error" grep -q 'err= *0:' "fio-$1.out" ||
			diag "$(tail -n 5 "fio-$1.out")"
	fi
	fio_region_to_ref
	check "device reads the reference" cmp $dev "$ref"
}
check "snapshot: an empty leaf for the scattered writes" \
	"$C" device snapshot $name "$d/mid.dmc"
shallow_merge leaf2 randwrite 100 300 71
check_json "it yielded to the guest's writes" "$out" '.yield_ns > 0'
check_json "no longer than it ran" "$out" '.yield_ns < .elapsed_ns'
check "device status says so" \
	sh -c "'$C' device status $name | grep -Eq '^  yielded +[0-9.]+ s to the guest'"
shallow_merge leaf3 randwrite 100 0 72
check_json "merge_yield_write_pct 0: it never yields to writes" "$out" '.yield_ns == 0'
shallow_merge leaf4 randread 0 300 73
check_json "merge_yield_pct 0: it never yields to reads" "$out" '.yield_ns == 0'
shallow_merge leaf5 randread 100 0 74
check_json "merge_yield_write_pct 0: it still yields to reads" "$out" '.yield_ns > 0'
echo 100 > $P/merge_yield_pct
echo 300 > $P/merge_yield_write_pct

check "device remove" dmsetup remove --noudevsync $name
check "the leaf's chain checks clean offline" "$C" layer check "$d/leaf5.dmc"
check "device again from the leaf" "$C" device create $name "$d/leaf5.dmc"
check "reads the reference after re-create" cmp $dev "$ref"
done_testing
