#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, the part that runs inside the test VM (tests/bench/run boots
# it with /dev/vda -> XFS and /dev/vdb -> ext4).  Measures, interleaved
# (A B C .. A B C ..) and repeated, with byte-identical data for everyone:
#
#  merge (issue 3): a child holding 1 GiB of changed data over a 4 GiB raw
#    base, (a) 16384 scattered 64 KiB runs, (b) 1024 scattered 1 MiB runs,
#    merged by chainctl (clone path on XFS, --mode copy on XFS and ext4),
#    qemu-img commit of a qcow2 overlay with the same data over the same
#    raw base (XFS and ext4), a bare FICLONERANGE loop and a bare
#    read+write loop (tests/bench/clone_loop).
#  device (issue 4), when the chain target works: fio on a 1-layer chain vs
#    a loop device (direct I/O) on the same file and dm-linear over it;
#    4 KiB random read at depth 64 vs depth 1; kernel memory per layer.
#
# Every measurement is one JSON line; they are printed at the end between
# "=====BEGIN dmc-bench-samples=====" and "=====END dmc-bench-samples====="
# (tests/bench/run extracts them and writes bench/results/).
# Usage: vm-bench.sh [--bin DIR] [--quick] [--scale N]
set -uo pipefail
. "$DMC_ROOT/tests/bench/vmlib.sh"

parse_common_args "$@"
QUICK=0 SCALE=1 ONLY=
set -- "${REST_ARGS[@]}"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; shift ;;
	--scale) SCALE=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;	# merge | device (development)
	*) die "vm-bench.sh: unknown argument $1" ;;
	esac
done
if [ $QUICK = 1 ]; then
	VSIZE=512M; WA_COUNT=1024; WB_COUNT=64	# 64 MiB changed
	BASE_CONTENT_RUNS=16; REPEATS=3
	FIO_SIZE=128M; FIO_RUNTIME=3; DEPTH=64
else
	VSIZE=4G; WA_COUNT=16384; WB_COUNT=1024	# 1 GiB changed
	BASE_CONTENT_RUNS=64; REPEATS=3
	FIO_SIZE=512M; FIO_RUNTIME=6; DEPTH=64
fi
# --scale N: 1/N of the changed data (same disk, same run lengths), for
# hosts too slow or too busy for the full sizes; recorded in the results.
WA_COUNT=$((WA_COUNT / SCALE)); WB_COUNT=$((WB_COUNT / SCALE))
CHANGED=$((WA_COUNT * 65536))
MNT=$DMC_TMP/mnt
SAMPLES=$DMC_TMP/samples.jsonl
: > "$SAMPLES"
BD=$BENCHBIN/benchdata
CL=$BENCHBIN/clone_loop

# The samples go back to the host however the script ends (a failure
# late in the run keeps what was measured before it).
print_samples() {
	clock_check 2>/dev/null
	echo "=====BEGIN dmc-bench-samples====="
	cat "$SAMPLES"
	echo "=====END dmc-bench-samples====="
}
trap print_samples EXIT

# emit JSON-OBJECT: one sample line.
emit() { echo "$1" >> "$SAMPLES"; }
# emitj JQ-ARGS... -- FILTER: a sample built with jq -n.
emitj() { jq -cn "$@" >> "$SAMPLES"; }

need_tools "$CHAINCTL" "$BD" "$CL" mkfs.xfs mkfs.ext4 jq qemu-img fio losetup dmsetup
[ ${#DMC_DISK_LIST[@]} -ge 2 ] || die "needs two scratch disks"
"$CHAINCTL" layer merge --help > /dev/null 2>&1 || die "chainctl has no 'layer merge' yet"

say "dm-chain bench ($([ $QUICK = 1 ] && echo quick || echo full)$([ "$SCALE" = 1 ] || echo ", scale 1/$SCALE")): virtual disk $VSIZE, $(hsize $CHANGED) changed, repeats $REPEATS"
emitj --arg quick "$QUICK" --arg vsize "$VSIZE" --arg reps "$REPEATS" \
	--arg scale "$SCALE" --arg changed "$CHANGED" --arg wa "$WA_COUNT" --arg wb "$WB_COUNT" \
	--arg chainctl "$("$CHAINCTL" -V 2>/dev/null | head -n 1)" \
	--arg kernel "$(uname -r)" --arg qemu_img "$(qemu-img --version | head -n 1)" \
	--arg fio "$(fio --version)" --arg xfs "$(mkfs.xfs -V)" \
	--arg e2fs "$(mkfs.ext4 -V 2>&1 | head -n 1)" \
	--arg cpu "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" \
	--arg ncpu "$(nproc)" --arg mem "$(awk '/MemTotal/ {print $2 * 1024}' /proc/meminfo)" \
	'{section: "meta", quick: ($quick == "1"), virtual_size: $vsize,
	  scale: ($scale | tonumber), changed_bytes: ($changed | tonumber),
	  runs_a: ($wa | tonumber), runs_b: ($wb | tonumber),
	  repeats: ($reps | tonumber), versions: {chainctl: $chainctl, kernel: $kernel,
	  qemu_img: $qemu_img, fio: $fio, xfsprogs: $xfs, e2fsprogs: $e2fs},
	  vm: {cpu: $cpu, cpus: ($ncpu | tonumber), mem_bytes: ($mem | tonumber)}}'
say "versions: $("$CHAINCTL" -V 2>/dev/null | head -n 1); $(qemu-img --version | head -n 1); $(fio --version); kernel $(uname -r)"

hostclock_works || say "WARNING: cannot read the host's clock through /run/results; timing with the guest's clock"
CLK_G0=$(now) CLK_H0=$(hostnow)
# At the end: how the guest's clock ran against the host's (1.0 = true).
clock_check() {
	local g h
	g=$(secs_since "$CLK_G0"); h=$(host_secs_since "$CLK_H0")
	emitj --arg g "$g" --arg h "$h" --arg cs "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)" \
		--argjson hc "$(hostclock_works && echo true || echo false)" \
		'{section: "clock", guest_seconds: ($g | tonumber), host_seconds: ($h | tonumber),
		  guest_per_host: (($g | tonumber) / ($h | tonumber)), clocksource: $cs,
		  timed_by_host_clock: $hc}'
}

fs_mount xfs "${DMC_DISK_LIST[0]}" "$MNT/xfs"
fs_mount ext4 "${DMC_DISK_LIST[1]}" "$MNT/ext4"

# ---------------------------------------------------------------- merge --
# The base: a sparse raw image of VSIZE with some content (1 MiB runs).
say "merge: base image $VSIZE raw with $BASE_CONTENT_RUNS MiB of content"
"$BD" runs $VSIZE $BASE_CONTENT_RUNS 1M 101 > "$DMC_TMP/base.runs"
truncate -s $VSIZE "$MNT/xfs/pristine.raw"
"$BD" fill-raw "$MNT/xfs/pristine.raw" "$DMC_TMP/base.runs" 101 || die "base content"
cp --sparse=always "$MNT/xfs/pristine.raw" "$MNT/ext4/pristine.raw" || die "cp pristine"

# reset FSDIR: the base back to pristine (a real copy, no shared extents),
# the child's two header slots back to before any merge (a merge changes
# nothing else in it: data and map are only read), caches dropped.
reset() {
	local d=$1
	rm -f "$d/base.raw"
	cp --sparse=always --reflink=never "$(dirname "$d")/pristine.raw" "$d/base.raw" ||
		die "reset $d: cp"
	dd if="$DMC_TMP/child.hdr" of="$d/child.img" bs=8192 count=1 conv=notrunc,fsync \
		status=none || die "reset $d: header"
	drop_caches
}

# setup_workload W COUNT LEN: child layer, qcow2 overlay, run lists, on both.
setup_workload() {
	local w=$1 count=$2 len=$3 seed t0 d e
	[ "$w" = a ] && seed=1 || seed=2
	d=$MNT/xfs/$w; e=$MNT/ext4/$w
	mkdir -p "$d" "$e"
	t0=$(now)
	"$BD" runs $VSIZE "$count" "$len" $seed > "$DMC_TMP/$w.runs"
	awk 'NR % 16 == 1' "$DMC_TMP/$w.runs" > "$DMC_TMP/$w.sample"
	truncate -s $VSIZE "$d/base.raw"	# reset() copies the content in
	"$CHAINCTL" layer create -b 64K --parent "$d/base.raw" "$d/child.img" > /dev/null ||
		die "layer create child ($w)"
	"$BD" fill-layer "$d/child.img" "$DMC_TMP/$w.runs" $((seed + 10)) || die "fill child ($w)"
	"$CHAINCTL" layer check "$d/child.img" > /dev/null || die "child ($w) does not check clean"
	dd if="$d/child.img" of="$DMC_TMP/child.hdr" bs=8192 count=1 status=none
	DOFF=$("$BD" layer-info "$d/child.img" | sed 's/.*data_offset=\([0-9]*\).*/\1/')
	# The qcow2 overlay: the same runs, same bytes (cloned out of the child
	# into a sparse raw delta, then converted), over the same raw base.
	truncate -s $VSIZE "$d/delta.raw"
	"$CL" clone "$d/child.img" "$DOFF" "$d/delta.raw" 0 "$DMC_TMP/$w.runs" > /dev/null ||
		die "delta ($w)"
	"$BD" verify "$d/delta.raw" 0 "$DMC_TMP/$w.sample" $((seed + 10)) > /dev/null ||
		die "delta ($w) does not hold the child's data"
	(cd "$d" && qemu-img create -q -f qcow2 -b base.raw -F raw overlay.qcow2 &&
	 qemu-img convert -n --target-is-zero -f raw -O qcow2 delta.raw overlay.qcow2) ||
		die "building the qcow2 overlay ($w)"
	rm -f "$d/delta.raw"
	local alloc
	alloc=$(qemu-img map --output=json "$d/overlay.qcow2" |
		jq '[.[] | select(.depth == 0 and .data) | .length] | add')
	[ "$alloc" = "$(awk '{s += $2} END {print s}' "$DMC_TMP/$w.runs")" ] ||
		die "qcow2 overlay ($w) holds $alloc bytes, expected the run list's"
	cp --sparse=always "$d/child.img" "$d/overlay.qcow2" "$e/" || die "cp to ext4 ($w)"
	truncate -s $VSIZE "$e/base.raw"
	sync
	# A merge, then the header restore that reset() does, must give back
	# a child that checks clean (the merge changes nothing else in it).
	"$CHAINCTL" layer merge "$d/child.img" > /dev/null 2>&1 || die "trial merge ($w)"
	reset "$d"
	"$CHAINCTL" layer check "$d/child.img" > /dev/null 2>&1 ||
		die "child.img ($w) does not check clean after a merge and the header restore: $("$CHAINCTL" layer check "$d/child.img" 2>&1)"
	say "  workload $w: $count runs of $(hsize "$(numfmt --from=iec "$len")") = $(hsize $((count * $(numfmt --from=iec "$len")))) changed; child and overlay ready on XFS and ext4 ($(secs_since "$t0") s)"
}

# run_contender W REP NAME FS: reset, time one merge, verify, emit.
run_contender() {
	local w=$1 rep=$2 name=$3 fs=$4 d t0 secs out tool_secs= cloned=null copied=null ok=true
	d=$MNT/$fs/$w
	reset "$d"
	t0=$(hostnow)
	case "$name" in
	bare-clone) out=$("$CL" clone "$d/child.img" "$DOFF" "$d/base.raw" 0 "$DMC_TMP/$w.runs") ;;
	rw-loop)    out=$("$CL" copy "$d/child.img" "$DOFF" "$d/base.raw" 0 "$DMC_TMP/$w.runs") ;;
	chainctl-clone) out=$("$CHAINCTL" layer merge -j "$d/child.img") ;;
	chainctl-copy)  out=$("$CHAINCTL" layer merge -j --mode copy "$d/child.img") ;;
	qemu-commit) out=$(cd "$d" && qemu-img commit -q -d overlay.qcow2) ;;
	*) die "unknown contender $name" ;;
	esac 2> "$DMC_TMP/err" || die "$name on $fs ($w, repeat $rep) failed: $out $(cat "$DMC_TMP/err")"
	secs=$(host_secs_since "$t0")
	case "$name" in
	bare-*|rw-*) tool_secs=$(sed 's/.*seconds=//' <<< "$out") ;;
	chainctl-*)
		tool_secs=$(jq -r .seconds <<< "$out")
		cloned=$(jq -r .bytes_cloned <<< "$out")
		copied=$(jq -r .bytes_copied <<< "$out")
		if [ "$name" = chainctl-clone ] && [ "$copied" != 0 ]; then
			say "  WARNING: chainctl-clone copied $copied bytes (clone refused: $(jq -c .clone_refused <<< "$out"))"
		fi ;;
	esac
	if ! "$BD" verify "$d/base.raw" 0 "$DMC_TMP/$w.sample" $(( $([ "$w" = a ] && echo 1 || echo 2) + 10 )) > /dev/null; then
		ok=false
		say "  FAILED: $name on $fs ($w): merged base does not hold the child's data"
	fi
	emitj --arg w "$w" --arg rep "$rep" --arg name "$name" --arg fs "$fs" \
		--arg secs "$secs" --arg tool "${tool_secs:-null}" --arg cl "$cloned" \
		--arg cp "$copied" --argjson ok "$ok" \
		'{section: "merge", workload: $w, rep: ($rep | tonumber), contender: $name,
		  fs: $fs, seconds: ($secs | tonumber), tool_seconds: ($tool | tonumber? // null),
		  bytes_cloned: ($cl | tonumber? // null), bytes_copied: ($cp | tonumber? // null),
		  verified: $ok}'
	say "  $w rep $rep  $(printf '%-15s %-5s %9s s' "$name" "$fs" "$secs")$([ $ok = true ] || echo '  VERIFY FAILED')"
	$ok
}

CONTENDERS=(
	"bare-clone xfs" "chainctl-clone xfs" "rw-loop xfs" "chainctl-copy xfs"
	"qemu-commit xfs" "rw-loop ext4" "chainctl-copy ext4" "qemu-commit ext4"
)
merge_fail=0
[ "$ONLY" = device ] && say "merge benchmarks skipped (--only device)"
[ "$ONLY" = device ] || for wl in "a $WA_COUNT 64K" "b $WB_COUNT 1M"; do
	read -r w count len <<< "$wl"
	say "merge workload $w: setting up"
	setup_workload "$w" "$count" "$len"
	for rep in $(seq 1 "$REPEATS"); do
		for c in "${CONTENDERS[@]}"; do
			# shellcheck disable=SC2086
			run_contender "$w" "$rep" $c || merge_fail=1
		done
	done
	rm -rf "$MNT/xfs/$w" "$MNT/ext4/$w"
done
rm -f "$MNT/xfs/pristine.raw" "$MNT/ext4/pristine.raw"

# --------------------------------------------------------------- device --
# fio_run DEV RW BS DEPTH -> "bw_bytes iops lat_mean_us fio_bw_bytes fio_iops"
# The first two by the host's clock (bytes and I/Os fio did / host seconds
# the run took, fio's start-up included, the same for every device); the
# rest as fio measured them with the guest's clock.
fio_run() {
	local dev=$1 rw=$2 bs=$3 qd=$4 dir t0 secs
	case "$rw" in *read) dir=read ;; *) dir=write ;; esac
	t0=$(hostnow)
	fio --name=b --filename="$dev" --direct=1 --ioengine=libaio --iodepth="$qd" \
		--rw="$rw" --bs="$bs" --size="$FIO_SIZE" --runtime="$FIO_RUNTIME" \
		--time_based --randrepeat=0 --norandommap \
		--output-format=json > "$DMC_TMP/fio.json" 2> "$DMC_TMP/fio.err" || return 1
	secs=$(host_secs_since "$t0")
	jq -r --arg s "$secs" ".jobs[0].$dir | \"\(.io_bytes / (\$s | tonumber)) \(.total_ios / (\$s | tonumber)) \(.clat_ns.mean / 1000) \(.bw_bytes) \(.iops)\"" "$DMC_TMP/fio.json"
}

device_section() {
	local d=$MNT/xfs/fio doff sectors loopdev t0 rep job rw bs dev name r
	mkdir -p "$d"
	if ! load_module; then
		DEVICE_WHY="dm-chain module not loaded: $MODULE_WHY"
		return 1
	fi
	"$CHAINCTL" layer create -s "$FIO_SIZE" "$d/dev.img" > /dev/null || die "layer create dev.img"
	if ! chain_create bfio "$d/dev.img"; then
		DEVICE_WHY="cannot create a chain device: $CHAIN_WHY"
		return 1
	fi
	say "device: filling the 1-layer chain ($FIO_SIZE) through /dev/mapper/bfio ($CHAIN_HOW)"
	echo "0 $(numfmt --from=iec "$FIO_SIZE")" > "$DMC_TMP/all.runs"
	if ! "$BD" fill-raw /dev/mapper/bfio "$DMC_TMP/all.runs" 77 direct; then
		DEVICE_WHY="writing through the chain device failed"
		chain_remove bfio
		return 1
	fi
	if ! "$BD" verify /dev/mapper/bfio 0 "$DMC_TMP/all.runs" 77 > /dev/null; then
		DEVICE_WHY="the chain device does not read back what was written"
		chain_remove bfio
		return 1
	fi
	doff=$("$BD" layer-info "$d/dev.img" | sed 's/.*data_offset=\([0-9]*\).*/\1/')
	loopdev=$(losetup --direct-io=on -o "$doff" --sizelimit "$(numfmt --from=iec "$FIO_SIZE")" \
		-f --show "$d/dev.img") || die "losetup"
	sectors=$(( $(numfmt --from=iec "$FIO_SIZE") / 512 ))
	dmsetup create --noudevsync bfiolin --table "0 $sectors linear $loopdev 0" &&
		dmsetup mknodes bfiolin || die "dm-linear over $loopdev"
	"$BD" verify "$loopdev" 0 "$DMC_TMP/all.runs" 77 > /dev/null ||
		die "the loop device over the same file reads other data than the chain"
	say "device: the same file as a 1-layer chain, as $loopdev (direct I/O, offset $doff) and dm-linear over it"
	for rep in $(seq 1 "$REPEATS"); do
		for job in "read 1M" "write 1M" "randread 4k" "randwrite 4k"; do
			read -r rw bs <<< "$job"
			for name in chain loop linear; do
				case $name in
				chain) dev=/dev/mapper/bfio ;; loop) dev=$loopdev ;; linear) dev=/dev/mapper/bfiolin ;;
				esac
				r=$(fio_run "$dev" "$rw" "$bs" 32) || r=
				[ -n "$r" ] || die "fio $rw on $dev: $(tail -n 3 "$DMC_TMP/fio.err")"
				read -r bw iops lat fbw fiops <<< "$r"
				emitj --arg rep "$rep" --arg job "$rw-$bs" --arg dev "$name" --arg bw "$bw" \
					--arg iops "$iops" --arg lat "$lat" --arg fbw "$fbw" --arg fiops "$fiops" \
					'{section: "fio", rep: ($rep | tonumber), job: $job, device: $dev,
					  depth: 1, iodepth: 32, bw_bytes: ($bw | tonumber),
					  iops: ($iops | tonumber), lat_us: ($lat | tonumber),
					  fio_bw_bytes: ($fbw | tonumber), fio_iops: ($fiops | tonumber)}'
				say "  fio rep $rep $(printf '%-13s %-7s %8.1f MiB/s %9.0f IOPS' "$rw-$bs" "$name" \
					"$(awk -v b="$bw" 'BEGIN {print b / 1048576}')" "$iops")"
			done
		done
	done
	dmsetup remove bfiolin; losetup -d "$loopdev"; chain_remove bfio

	# Depth: DEPTH-1 children over dev.img, child k holding every block
	# whose index is k mod DEPTH, so reads come from every layer.
	say "device: building a depth-$DEPTH chain over the same base (child k holds blocks k mod $DEPTH)"
	t0=$(now)
	local prev=$d/dev.img k bsz nblk leaf
	bsz=$("$BD" layer-info "$d/dev.img" | sed 's/.*block_size=\([0-9]*\).*/\1/')
	nblk=$(( $(numfmt --from=iec "$FIO_SIZE") / bsz ))
	for k in $(seq 1 $((DEPTH - 1))); do
		"$CHAINCTL" layer create --parent "$prev" "$d/c$k.img" > /dev/null || die "layer create c$k"
		awk -v k="$k" -v n="$nblk" -v bs="$bsz" -v D="$DEPTH" \
			'BEGIN { for (b = k; b < n; b += D) print b * bs, bs }' > "$DMC_TMP/c.runs"
		"$BD" fill-layer "$d/c$k.img" "$DMC_TMP/c.runs" $((1000 + k)) > /dev/null || die "fill c$k"
		prev=$d/c$k.img
	done
	leaf=$prev
	say "  built in $(secs_since "$t0") s"
	local m0 m1
	mem_kb() { awk '/^(Slab|VmallocUsed|Percpu):/ {s += $2} END {print s}' /proc/meminfo; }
	sync; drop_caches; m0=$(mem_kb)
	chain_create bdeep "$leaf" --read-only || die "depth-$DEPTH chain device: $CHAIN_WHY"
	sync; m1=$(mem_kb)
	chain_remove bdeep
	emitj --arg m0 "$m0" --arg m1 "$m1" --arg layers "$DEPTH" \
		--arg size "$(numfmt --from=iec "$FIO_SIZE")" --arg bsz "$bsz" \
		'{section: "kmem", layers: ($layers | tonumber), size_bytes: ($size | tonumber),
		  block_size: ($bsz | tonumber), delta_kib: (($m1 | tonumber) - ($m0 | tonumber)),
		  kib_per_layer_per_gib: ((($m1 | tonumber) - ($m0 | tonumber)) / ($layers | tonumber)
		  / (($size | tonumber) / 1073741824))}'
	for rep in $(seq 1 "$REPEATS"); do
		for name in depth1 depth$DEPTH; do
			if [ $name = depth1 ]; then
				chain_create bdeep "$d/dev.img" --read-only || die "depth-1 device: $CHAIN_WHY"
			else
				chain_create bdeep "$leaf" --read-only || die "depth-$DEPTH device: $CHAIN_WHY"
			fi
			r=$(fio_run /dev/mapper/bdeep randread 4k 32) || r=
			chain_remove bdeep
			[ -n "$r" ] || die "fio randread on $name: $(tail -n 3 "$DMC_TMP/fio.err")"
			read -r bw iops lat fbw fiops <<< "$r"
			emitj --arg rep "$rep" --arg dev "$name" --arg bw "$bw" --arg iops "$iops" \
				--arg lat "$lat" --arg depth "${name#depth}" --arg fbw "$fbw" --arg fiops "$fiops" \
				'{section: "depth", rep: ($rep | tonumber), job: "randread-4k",
				  device: $dev, depth: ($depth | tonumber), iodepth: 32,
				  bw_bytes: ($bw | tonumber), iops: ($iops | tonumber),
				  lat_us: ($lat | tonumber), fio_bw_bytes: ($fbw | tonumber),
				  fio_iops: ($fiops | tonumber)}'
			say "  randread-4k rep $rep $(printf '%-8s %9.0f IOPS %8.1f us' "$name" "$iops" "$lat")"
		done
	done
	return 0
}
DEVICE_WHY=
if [ "$ONLY" = merge ]; then
	say "device benchmarks skipped (--only merge)"
elif ! device_section; then
	say "device benchmarks NOT RUN: $DEVICE_WHY"
	emitj --arg why "$DEVICE_WHY" '{section: "device-not-run", why: $why}'
fi

say "done"
cd /
umount "$MNT/xfs" "$MNT/ext4" 2>/dev/null
exit $merge_fail
