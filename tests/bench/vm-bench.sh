#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, the part that runs inside the test VM (tests/bench/run boots
# it with /dev/vda -> XFS and /dev/vdb -> ext4).  Measures, interleaved
# and repeated, each repeat starting at another contender (A B C, B C A,
# C A B ..), with byte-identical data for everyone, and checks every merge
# byte for byte at every changed run:
#
#  merge (issue 3): a child holding 1 GiB of changed data over a 4 GiB raw
#    base, (a) 16384 scattered 64 KiB runs, (b) 1024 scattered 1 MiB runs,
#    merged by chainctl (clone path on XFS, --mode copy on XFS and ext4),
#    qemu-img commit of a qcow2 overlay with the same data over the same
#    raw base (XFS and ext4), a bare FICLONERANGE loop and a bare
#    read+write loop (tests/bench/clone_loop), and (issue 6) dm-snapshot:
#    the same bytes written through a persistent snapshot (64 KiB chunks,
#    COW store on a loop device over a file) of the same raw base, merged
#    back with a snapshot-merge table (XFS; ext4 see CONTENDERS).
#  live (issue 6), when the module loads: the same two workloads in a chain
#    whose base is a layer (a live merge cannot go into a raw base), merged
#    live (`chainctl device merge`, clone path) and offline (`chainctl
#    layer merge`) interleaved; a live --mode copy merge unlimited and with
#    --rate 32 MiB/s (workload b); the I/O pause of `chainctl device
#    snapshot` repeated on a device under fio random writes.
#  gentle (issue 18), when the module loads: 4 KiB random read and write
#    latency (p50, p99, max) and IOPS on a live device with no merge,
#    during a live clone merge and during a live copy merge (the range
#    under the leaf, workload a's data), and a clone merge under
#    saturating writes against the same merge with no guest I/O.
#  size sweep (issue 6): merge time against changed data, 64 MiB, 256 MiB,
#    1 GiB and 4 GiB (every block) in 64 KiB runs, on XFS: chainctl clone,
#    live clone, chainctl copy, qemu-img commit, dm-snapshot, bare loop.
#  length sweep (issue 6): merge time against run length at 1 GiB changed,
#    runs of 64 KiB .. 2 MiB, on XFS: chainctl clone, bare loop, chainctl
#    copy, qemu-img commit.  Points the merge and live sections (or the
#    size sweep) measure in the same run are not measured twice: the
#    report takes them from there (1 GiB in 64 KiB runs is workload a,
#    1 MiB runs workload b).
#  device (issue 4), when the chain target works: fio on a 1-layer chain vs
#    a loop device (direct I/O) on the same file and dm-linear over it;
#    4 KiB random read at depth 1, 8, 64, 256, 1024 and 4096 (the most layers a chain
#    may have), then depth 1 and 1024 back to back in pairs (the graded
#    ratio); kernel memory per layer.
#
# --scale N divides every amount of changed data by N (same disk, same run
# lengths); --quick uses a 512 MiB disk and 1/16 of the sizes.
#
# Every measurement is one JSON line.  Each is printed as it is made, as
# "=====SAMPLE {...}" (so that a run that dies still hands back what it
# measured), and all of them again at the end between
# "=====BEGIN dmc-bench-samples=====" and "=====END dmc-bench-samples=====",
# followed by "=====BENCH-STATUS N=====" (this script's exit status).
# tests/bench/run extracts them and writes bench/results/.
# Usage: vm-bench.sh [--bin DIR] [--quick] [--scale N] [--only PART[,PART..]]
#                    [--sizes SIZE[,SIZE..]] [--repeats N]
#                    [--gentle-cases CASE[,CASE..]]
#   PART: merge, live, gentle, size-sweep, length-sweep, sweep (both sweeps),
#   device (fio and depth), depth (the depth part alone); for development.
#   --sizes: the size sweep's points instead of the default ones.
#   --repeats N: N repeats instead of 3 (development).
#   --gentle-cases: only those of the gentle section's runs (development):
#   JOB-MODE (randread|randwrite - none|clone|copy) and saturated.
set -uo pipefail
. "$DMC_ROOT/tests/bench/vmlib.sh"

parse_common_args "$@"
QUICK=0 SCALE=1 ONLY= SIZES= REPEATS_ARG= GENTLE_CASES=
set -- "${REST_ARGS[@]}"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; shift ;;
	--scale) SCALE=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;	# PART[,PART..] (development; see above)
	--sizes) SIZES=$2; shift 2 ;;
	--repeats) REPEATS_ARG=$2; shift 2 ;;
	--gentle-cases) GENTLE_CASES=,$2,; shift 2 ;;
	*) die "vm-bench.sh: unknown argument $1" ;;
	esac
done
for p in ${ONLY//,/ }; do
	case "$p" in
	merge|swap|live|gentle|size-sweep|length-sweep|sweep|device|depth|fsync|bigchain) ;;
	*) die "vm-bench.sh: --only: unknown part $p" ;;
	esac
done
# SWEEP_SIZES: the size sweep's changed data (64 KiB runs), before
# --scale; SWEEP_LENS: the length sweep's run lengths (at CHANGED).
if [ $QUICK = 1 ]; then
	VSIZE=512M; WA_COUNT=1024; WB_COUNT=64	# 64 MiB changed
	BASE_CONTENT_RUNS=16; REPEATS=3
	FIO_SIZE=128M; FIO_RUNTIME=3
	SWEEP_SIZES="4M 16M 64M 256M"
else
	VSIZE=4G; WA_COUNT=16384; WB_COUNT=1024	# 1 GiB changed
	BASE_CONTENT_RUNS=64; REPEATS=3
	FIO_SIZE=512M; FIO_RUNTIME=6
	SWEEP_SIZES="64M 256M 1G 4G"
fi
[ -z "$SIZES" ] || SWEEP_SIZES=${SIZES//,/ }
[ -z "$REPEATS_ARG" ] || REPEATS=$REPEATS_ARG
SWEEP_LENS="64K 128K 256K 512K 1M 2M"
SIZE_CONTENDERS="chainctl-clone live-clone chainctl-copy qemu-commit snapshot-merge bare-clone"
LENGTH_CONTENDERS="chainctl-clone bare-clone chainctl-copy qemu-commit"
DEPTHS="1 8 64 256 1024 4096"	# 4096: DMC_MAX_LAYERS, the deepest chain there is
# The big chain (issue 19's memory and load goals): 1 TiB of 64 KiB
# blocks, BIG_DEPTH layers of BIG_EXTENTS scattered extents each.
BIG_SIZE=1T BIG_DEPTH=1024 BIG_EXTENTS=3000
[ "$QUICK" = 1 ] && BIG_DEPTH=64
# --scale N: 1/N of the changed data (same disk, same run lengths), for
# hosts too slow or too busy for the full sizes; recorded in the results.
WA_COUNT=$((WA_COUNT / SCALE)); WB_COUNT=$((WB_COUNT / SCALE))
# Live section: the rate limit of the rate-limited copy (the workload b
# data), and how many snapshots are timed under fio.
# The second, lower limit is one the emulated machine can exceed (its
# unlimited live copy runs at about 30 MiB/s), so that the limiter itself
# is checked even where 32 MiB/s is more than the machine can do.
LIVE_RATE=32	# MiB/s
[ $QUICK = 1 ] && LIVE_RATE_LOW=8 || LIVE_RATE_LOW=16
SNAPS=10
# Gentle section: fio's iodepth for the latency runs, and the seconds of
# the no-merge run.
GENTLE_QD=1
GENTLE_IDLE=15
[ $QUICK = 1 ] && GENTLE_IDLE=5
# Repeats of the saturated pair: at least 5 (see gentle_section).
GENTLE_SAT_REPEATS=$(( REPEATS > 5 ? REPEATS : 5 ))
# Repeats of the depth reads: at least 5.  Their graded ratio (depth 1024
# against depth 1, goal 0.95) came out at 0.85, 1.06, 1.13 and 0.92 in
# four runs of the same read code at 3 or 5 repeats; within one of those
# runs depth 1 alone spread from 9182 to 11193 IOPS.
DEPTH_REPEATS=$(( REPEATS > 5 ? REPEATS : 5 ))
# The graded ratio's own pairs (depth_compare): depth 1 and DEPTH_GRADED
# back to back, 10 times.
DEPTH_GRADED=1024
DEPTH_PAIRS=10
SNAP_CHUNK=128	# dm-snapshot chunk, sectors: 64 KiB (the chain's blocks, qcow2's clusters)
CHANGED=$((WA_COUNT * 65536))
MNT=$DMC_TMP/mnt
SAMPLES=$DMC_TMP/samples.jsonl
: > "$SAMPLES"
BD=$BENCHBIN/benchdata
CL=$BENCHBIN/clone_loop
MKCHAIN=$BENCHBIN/mkchain

# The samples go back to the host however the script ends (a failure
# late in the run keeps what was measured before it); each was also
# printed as it was made (record), for a run that does not get here.
print_samples() {
	local rc=$?
	clock_check 2>/dev/null
	echo "=====BEGIN dmc-bench-samples====="
	cat "$SAMPLES"
	echo "=====END dmc-bench-samples====="
	echo "=====BENCH-STATUS $rc====="
	sync
}
trap print_samples EXIT

# record LINE: keep one sample line that is known to be a JSON object.
record() {
	echo "$1" >> "$SAMPLES"
	echo "=====SAMPLE $1"
}
# emit JSON-OBJECT: one sample line; anything that is not one JSON object
# is recorded as an "emit-error" sample instead (never a broken line).
emit() {
	if [ "$(wc -l <<< "$1")" = 1 ] &&
	   jq -R -e 'fromjson | type == "object"' <<< "$1" > /dev/null 2>&1; then
		record "$1"
	else
		say "WARNING: not a JSON sample, recorded as emit-error: ${1:0:200}"
		record "$(jq -cn --arg l "${1:0:500}" '{section: "emit-error", line: $l}')"
	fi
}
# emitj JQ-ARGS... FILTER: a sample built with jq -n.  The filter may use
# "num" (a string argument to a number, null when it is empty, N/A, ...)
# so that one odd value cannot lose the sample.
emitj() {
	local args=("$@") n=$# out line
	args[n - 1]='def num: (tonumber? // null); '"${args[n - 1]}"
	if ! out=$(jq -cn "${args[@]}" 2> "$DMC_TMP/emitj.err") || [ -z "$out" ]; then
		say "WARNING: a sample could not be built: $(head -c 300 "$DMC_TMP/emitj.err")"
		record "$(jq -cn --arg e "$(head -c 300 "$DMC_TMP/emitj.err")" \
			--arg f "${args[n - 1]:0:300}" '{section: "emit-error", error: $e, filter: $f}')"
		return 0
	fi
	while IFS= read -r line; do
		emit "$line"
	done <<< "$out"
}

need_tools "$CHAINCTL" "$BD" "$CL" mkfs.xfs mkfs.ext4 xfs_spaceman jq qemu-img fio losetup dmsetup blockdev
WARM_PROGRAMS=("$CHAINCTL" "$CL" "$(command -v qemu-img)" "$(command -v dmsetup)" "$(command -v fio)")
[ ${#DMC_DISK_LIST[@]} -ge 2 ] || die "needs two scratch disks"
"$CHAINCTL" layer merge --help > /dev/null 2>&1 || die "chainctl has no 'layer merge' yet"

say "dm-chain bench ($([ $QUICK = 1 ] && echo quick || echo full)$([ "$SCALE" = 1 ] || echo ", scale 1/$SCALE")): virtual disk $VSIZE, $(hsize $CHANGED) changed, repeats $REPEATS"
emitj --arg quick "$QUICK" --arg vsize "$VSIZE" --arg reps "$REPEATS" \
	--arg rate "$LIVE_RATE" --arg rate_low "$LIVE_RATE_LOW" --arg snaps "$SNAPS" \
	--arg scale "$SCALE" --arg changed "$CHANGED" --arg wa "$WA_COUNT" --arg wb "$WB_COUNT" \
	--arg chainctl "$("$CHAINCTL" -V 2>/dev/null | head -n 1)" \
	--arg kernel "$(uname -r)" --arg qemu_img "$(qemu-img --version | head -n 1)" \
	--arg fio "$(fio --version)" --arg xfs "$(mkfs.xfs -V)" \
	--arg e2fs "$(mkfs.ext4 -V 2>&1 | head -n 1)" \
	--arg cpu "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" \
	--arg ncpu "$(nproc)" --arg mem "$(awk '/MemTotal/ {print $2 * 1024}' /proc/meminfo)" \
	--arg sizes "$SWEEP_SIZES" --arg lens "$SWEEP_LENS" --arg depths "$DEPTHS" \
	--arg sizec "$SIZE_CONTENDERS" --arg lenc "$LENGTH_CONTENDERS" \
	--arg only "$ONLY" --arg chunk "$SNAP_CHUNK" --arg vbytes "$(numfmt --from=iec "$VSIZE")" \
	--arg cs "$(clocksource)" --arg accel "${DMC_VM_ACCEL:-}" --arg vmem "${DMC_VM_MEM:-}" \
	--arg vcpus "${DMC_VM_CPUS:-}" \
	--arg gqd "$GENTLE_QD" --arg gidle "$GENTLE_IDLE" \
	--arg dreps "$DEPTH_REPEATS" --arg dgraded "$DEPTH_GRADED" --arg dpairs "$DEPTH_PAIRS" \
	'{section: "meta", quick: ($quick == "1"), virtual_size: $vsize,
	  vsize_bytes: ($vbytes | num),
	  scale: ($scale | num), changed_bytes: ($changed | num),
	  runs_a: ($wa | num), runs_b: ($wb | num),
	  sweep_sizes: ($sizes | split(" ")), sweep_lens: ($lens | split(" ")),
	  size_contenders: ($sizec | split(" ")), length_contenders: ($lenc | split(" ")),
	  depths: ($depths | split(" ") | map(num)), only: (if $only == "" then null else $only end),
	  snapshot_chunk_sectors: ($chunk | num),
	  repeats: ($reps | num), live_rate_mib_s: ($rate | num),
	  live_rate_low_mib_s: ($rate_low | num), snapshots: ($snaps | num),
	  versions: {chainctl: $chainctl, kernel: $kernel,
	  qemu_img: $qemu_img, fio: $fio, xfsprogs: $xfs, e2fsprogs: $e2fs},
	  gentle_iodepth: ($gqd | num), gentle_idle_seconds: ($gidle | num),
	  depth_repeats: ($dreps | num), depth_graded: ($dgraded | num), depth_pairs: ($dpairs | num),
	  contender_order: "rotated", verified_runs: "all", stopwatch: "stamps",
	  live_offline_side: "target", gentle_window: "merge",
	  vm: {cpu: $cpu, cpus: ($ncpu | num), mem_bytes: ($mem | num), clocksource: $cs,
	       qemu_accel: (if $accel == "" then null else $accel end),
	       qemu_smp: (if $vcpus == "" then null else ($vcpus | num) end),
	       qemu_mem: (if $vmem == "" then null else $vmem end)}}'
say "versions: $("$CHAINCTL" -V 2>/dev/null | head -n 1); $(qemu-img --version | head -n 1); $(fio --version); kernel $(uname -r)"

hostclock_works || say "WARNING: cannot read the host's clock through /run/results; timing with the guest's clock"
CLK_G0=$(now) CLK_H0=$(hostnow)
# At the end: how the guest's clock ran against the host's (1.0 = true).
clock_check() {
	local g h
	g=$(secs_since "$CLK_G0"); h=$(host_secs_since "$CLK_H0")
	emitj --arg g "$g" --arg h "$h" --arg cs "$(clocksource)" \
		--argjson hc "$(hostclock_works && echo true || echo false)" \
		'{section: "clock", guest_seconds: ($g | num), host_seconds: ($h | num),
		  guest_per_host: (try (($g | num) / ($h | num)) catch null), clocksource: $cs,
		  timed_by_host_clock: $hc}'
}

fs_mount xfs "${DMC_DISK_LIST[0]}" "$MNT/xfs"
fs_mount ext4 "${DMC_DISK_LIST[1]}" "$MNT/ext4"

# want PART: run the section PART (merge, live, size-sweep, length-sweep,
# device, depth); --only picks some ("sweep": both sweeps; "device"
# includes depth).
want() {
	[ -z "$ONLY" ] && return 0
	local p
	for p in ${ONLY//,/ }; do
		[ "$p" = "$1" ] && return 0
		case "$1:$p" in
		size-sweep:sweep|length-sweep:sweep|depth:device) return 0 ;;
		esac
	done
	return 1
}

# ---------------------------------------------------------------- merge --
# The base content (1 MiB runs) and the workloads' run lists; the live
# section and the sweeps use the same base content.
"$BD" runs $VSIZE $BASE_CONTENT_RUNS 1M 101 > "$DMC_TMP/base.runs"
# Workload W: COUNT runs of LEN bytes (runs_for); a and b are the merge
# and live sections', s<SIZE> and l<LEN> the sweeps' points.
declare -A WL_COUNT WL_LEN
# layer_field LAYER KEY: data_offset, block_size or virtual_size of LAYER.
# kmem_kb: kernel memory in KiB that a table's allocations show in.
kmem_kb() { awk '/^(Slab|VmallocUsed|Percpu):/ {s += $2} END {print s}' /proc/meminfo; }
layer_field() {
	"$BD" layer-info "$1" | sed -n "s/.*\b$2=\([0-9]*\).*/\1/p"
}
# wseed W: the seed of W's run positions; its data's seed is this + 10.
wseed() {
	case "$1" in
	a) echo 1 ;;
	b) echo 2 ;;
	*) echo $(( $(cksum <<< "$1" | cut -d' ' -f1) % 100000 + 1000 )) ;;
	esac
}
# runs_for W COUNT LEN: $DMC_TMP/W.runs, the same for a given W every
# time.  Every merge is checked against all of them (W.sample is the list
# the checks read: every run, so that no result rests on a sample).
runs_for() {
	local w=$1 count=$2 len=$3
	WL_COUNT[$w]=$count
	WL_LEN[$w]=$(numfmt --from=iec "$len")
	"$BD" runs $VSIZE "$count" "$len" "$(wseed "$w")" > "$DMC_TMP/$w.runs" || die "run list ($w)"
	cp "$DMC_TMP/$w.runs" "$DMC_TMP/$w.sample"
}

# Which (runs, run length, contender) this run has measured on XFS, so
# that a sweep does not measure a point again (the report takes it from
# the section that did).  covered_mark W CONTENDER...
declare -A COVERED
covered_mark() {
	local w=$1 c
	shift
	for c in "$@"; do
		COVERED["${WL_COUNT[$w]} ${WL_LEN[$w]} $c"]=1
	done
}

# make_pristine FS...: FS/pristine.raw, the base: a sparse raw image of
# VSIZE with the base content (made on XFS, copied to the others).
make_pristine() {
	local fs
	say "base image $VSIZE raw with $BASE_CONTENT_RUNS MiB of content ($*)"
	truncate -s $VSIZE "$MNT/xfs/pristine.raw"
	"$BD" fill-raw "$MNT/xfs/pristine.raw" "$DMC_TMP/base.runs" 101 || die "base content"
	for fs in "$@"; do
		[ "$fs" = xfs ] && continue
		cp --sparse=always "$MNT/xfs/pristine.raw" "$MNT/$fs/pristine.raw" || die "cp pristine ($fs)"
	done
}

# reset FSDIR [CONTENDER]: the base back to pristine (a real copy, no
# shared extents), the child's two header slots back to before any merge
# (a merge changes nothing else in it: data and map are only read), for
# snapshot-merge a fresh copy of the COW store, caches dropped.
reset() {
	local d=$1
	rm -f "$d/base.raw" "$d/cow.img"
	cp --sparse=always --reflink=never "$(dirname "$d")/pristine.raw" "$d/base.raw" ||
		die "reset $d: cp"
	dd if="$DMC_TMP/child.hdr" of="$d/child.img" bs=8192 count=1 conv=notrunc,fsync \
		status=none || die "reset $d: header"
	if [ "${2:-}" = snapshot-merge ]; then
		cp --sparse=always --reflink=never "$d/cow.pristine" "$d/cow.img" ||
			die "reset $d: cp cow"
	fi
	drop_caches
}

# dm-snapshot (issue 6).  The origin is a loop device over the workload's
# raw base (D/base.raw), the COW store a loop device over D/cow.img, both
# with direct I/O (no second page cache in the guest), chunks of
# SNAP_CHUNK sectors, persistent (P).  SNAP_WHY says what failed.
SNAP_WHY= SNAP_LO= SNAP_LC= SNAP_SECS=
# snap_loops D: SNAP_LO (origin) and SNAP_LC (COW store).
snap_loops() {
	SNAP_LO=$(losetup --direct-io=on -f --show "$1/base.raw" 2> "$DMC_TMP/err") ||
		{ SNAP_WHY="losetup base.raw: $(tail -n 2 "$DMC_TMP/err")"; SNAP_LO=; return 1; }
	SNAP_LC=$(losetup --direct-io=on -f --show "$1/cow.img" 2> "$DMC_TMP/err") ||
		{ SNAP_WHY="losetup cow.img: $(tail -n 2 "$DMC_TMP/err")"; SNAP_LC=; snap_teardown; return 1; }
}
# snap_teardown [DM-NAME...]: remove those devices, then the two loops.
snap_teardown() {
	local n
	for n in "$@"; do
		dmsetup info "$n" > /dev/null 2>&1 || continue
		dmsetup remove --noudevsync "$n" > /dev/null 2>&1 ||
			{ sleep 1; dmsetup remove --noudevsync "$n" > /dev/null 2>&1; }
	done
	[ -z "$SNAP_LC" ] || losetup -d "$SNAP_LC"
	[ -z "$SNAP_LO" ] || losetup -d "$SNAP_LO"
	SNAP_LO= SNAP_LC=
}
# snap_status NAME: "ALLOCATED METADATA" from the status line of a
# snapshot or snapshot-merge device ("0 LEN TYPE ALLOCATED/TOTAL
# METADATA", Documentation/admin-guide/device-mapper/snapshot.rst), or
# nothing when the line is anything else (Invalid, Merge failed, ...).
snap_status() {
	dmsetup status "$1" 2>&1 |
		sed -n 's|^0 [0-9]* snapshot[a-z-]* \([0-9]*\)/[0-9]* \([0-9]*\)$|\1 \2|p'
}
# snap_cow_build D W: D/cow.pristine, the COW store of a snapshot of the
# pristine D/base.raw after W's runs (the child's bytes) were written
# through the snapshot device with O_DIRECT; D/cow.data the data bytes it
# holds.  Returns 1 (SNAP_WHY).
snap_cow_build() {
	local d=$1 w=$2 seed changed sectors alloc meta held st
	seed=$(( $(wseed "$w") + 10 ))
	changed=$(awk '{s += $2} END {printf "%.0f\n", s}' "$DMC_TMP/$w.runs")
	rm -f "$d/cow.img" "$d/cow.pristine" "$d/cow.data"
	# Data chunks, a metadata chunk per 4096 of them and the header: sparse.
	truncate -s $((changed + changed / 8 + 4194304)) "$d/cow.img"
	snap_loops "$d" || return 1
	sectors=$(blockdev --getsz "$SNAP_LO")
	if ! dmsetup create --noudevsync bdms-snap \
		--table "0 $sectors snapshot $SNAP_LO $SNAP_LC P $SNAP_CHUNK" 2> "$DMC_TMP/err"; then
		SNAP_WHY="dmsetup create (snapshot): $(tail -n 2 "$DMC_TMP/err")"
		snap_teardown
		return 1
	fi
	[ -b /dev/mapper/bdms-snap ] || dmsetup mknodes bdms-snap > /dev/null 2>&1
	if ! "$BD" fill-raw /dev/mapper/bdms-snap "$DMC_TMP/$w.runs" "$seed" direct 2> "$DMC_TMP/err"; then
		SNAP_WHY="writing through the snapshot: $(tail -n 2 "$DMC_TMP/err"); status $(dmsetup status bdms-snap 2>&1)"
		snap_teardown bdms-snap
		return 1
	fi
	if ! "$BD" verify /dev/mapper/bdms-snap 0 "$DMC_TMP/$w.sample" "$seed" > /dev/null 2>&1; then
		SNAP_WHY="the snapshot does not read back what was written"
		snap_teardown bdms-snap
		return 1
	fi
	st=$(dmsetup status bdms-snap 2>&1)
	read -r alloc meta <<< "$(snap_status bdms-snap)"
	snap_teardown bdms-snap
	[ -n "$meta" ] || { SNAP_WHY="snapshot status after the writes: $st"; return 1; }
	held=$(( (alloc - meta) * 512 ))
	# (One chunk more when the last metadata area is exactly full.)
	if [ "$held" -lt "$changed" ] || [ "$held" -gt $((changed + SNAP_CHUNK * 512)) ]; then
		SNAP_WHY="the COW store holds $held bytes of data, expected $changed"
		return 1
	fi
	echo "$changed" > "$d/cow.data"
	mv "$d/cow.img" "$d/cow.pristine"
}
# snap_merge D: with D/base.raw and D/cow.img fresh and caches dropped
# (reset), the origin as LVM has it (snapshot-origin over the base), then
# timed: its table replaced by snapshot-merge (suspend, reload, resume),
# the status polled until the merge is complete (allocated = metadata
# sectors), and a final fsync of the origin device.  SNAP_SECS: host
# seconds.  Returns 1 (SNAP_WHY).
snap_merge() {
	local d=$1 sectors alloc meta
	snap_loops "$d" || return 1
	sectors=$(blockdev --getsz "$SNAP_LO")
	if ! dmsetup create --noudevsync bdms --table "0 $sectors snapshot-origin $SNAP_LO" 2> "$DMC_TMP/err"; then
		SNAP_WHY="dmsetup create (snapshot-origin): $(tail -n 2 "$DMC_TMP/err")"
		snap_teardown
		return 1
	fi
	[ -b /dev/mapper/bdms ] || dmsetup mknodes bdms > /dev/null 2>&1
	watch_start snapmerge
	if ! { dmsetup suspend bdms &&
	       dmsetup reload bdms --table "0 $sectors snapshot-merge $SNAP_LO $SNAP_LC P $SNAP_CHUNK" &&
	       dmsetup resume --noudevsync bdms; } 2> "$DMC_TMP/err"; then
		SNAP_WHY="loading the snapshot-merge table: $(tail -n 2 "$DMC_TMP/err")"
		dmsetup resume --noudevsync bdms > /dev/null 2>&1
		snap_teardown bdms
		return 1
	fi
	SECONDS=0
	while :; do
		read -r alloc meta <<< "$(snap_status bdms)"
		if [ -z "$meta" ]; then
			SNAP_WHY="snapshot-merge status: $(dmsetup status bdms 2>&1)"
			snap_teardown bdms
			return 1
		fi
		[ "$alloc" = "$meta" ] && break
		if [ $SECONDS -gt 7200 ]; then
			SNAP_WHY="the merge did not finish within 2 hours (status $(dmsetup status bdms 2>&1))"
			snap_teardown bdms
			return 1
		fi
		sleep 0.1
	done
	if ! sync /dev/mapper/bdms 2> "$DMC_TMP/err"; then
		SNAP_WHY="fsync of the origin: $(tail -n 2 "$DMC_TMP/err")"
		snap_teardown bdms
		return 1
	fi
	watch_stop snapmerge
	SNAP_SECS=$(watch_secs snapmerge)
	snap_teardown bdms
}

# setup_workload W COUNT LEN "FS..." "CONTENDER...": the run lists and
# the child layer over the raw base, and for the contenders named the
# qcow2 overlay (qemu-commit) and the dm-snapshot COW store
# (snapshot-merge); built on XFS, copied to the other filesystems named.
setup_workload() {
	local w=$1 count=$2 len=$3 fss=$4 cs=" $5 " seed t0 d e fs
	seed=$(( $(wseed "$w") + 10 ))
	d=$MNT/xfs/$w
	mkdir -p "$d"
	t0=$(now)
	runs_for "$w" "$count" "$len"
	truncate -s $VSIZE "$d/base.raw"	# reset() copies the content in
	"$CHAINCTL" layer create -b 64K --parent "$d/base.raw" "$d/child.img" > /dev/null ||
		die "layer create child ($w)"
	"$BD" fill-layer "$d/child.img" "$DMC_TMP/$w.runs" "$seed" || die "fill child ($w)"
	"$CHAINCTL" layer check "$d/child.img" > /dev/null || die "child ($w) does not check clean"
	dd if="$d/child.img" of="$DMC_TMP/child.hdr" bs=8192 count=1 status=none
	DOFF=$(layer_field "$d/child.img" data_offset)
	if [[ "$cs" = *" qemu-commit "* ]]; then
		# The qcow2 overlay: the same runs, same bytes (cloned out of the
		# child into a sparse raw delta, then converted), over the same
		# raw base.
		truncate -s $VSIZE "$d/delta.raw"
		"$CL" clone "$d/child.img" "$DOFF" "$d/delta.raw" 0 "$DMC_TMP/$w.runs" > /dev/null ||
			die "delta ($w)"
		"$BD" verify "$d/delta.raw" 0 "$DMC_TMP/$w.sample" "$seed" > /dev/null ||
			die "delta ($w) does not hold the child's data"
		(cd "$d" && qemu-img create -q -f qcow2 -b base.raw -F raw overlay.qcow2 &&
		 qemu-img convert -n --target-is-zero -f raw -O qcow2 delta.raw overlay.qcow2) ||
			die "building the qcow2 overlay ($w)"
		rm -f "$d/delta.raw"
		local alloc
		alloc=$(qemu-img map --output=json "$d/overlay.qcow2" |
			jq '[.[] | select(.depth == 0 and .data) | .length] | add')
		[ "$alloc" = "$(awk '{s += $2} END {printf "%.0f\n", s}' "$DMC_TMP/$w.runs")" ] ||
			die "qcow2 overlay ($w) holds $alloc bytes, expected the run list's"
	fi
	for fs in $fss; do
		[ "$fs" = xfs ] && continue
		e=$MNT/$fs/$w
		mkdir -p "$e"
		cp --sparse=always "$d/child.img" "$e/" || die "cp to $fs ($w)"
		if [ -f "$d/overlay.qcow2" ]; then
			cp --sparse=always "$d/overlay.qcow2" "$e/" || die "cp to $fs ($w)"
		fi
		truncate -s $VSIZE "$e/base.raw"
	done
	sync
	# A merge, then the header restore that reset() does, must give back
	# a child that checks clean (the merge changes nothing else in it).
	"$CHAINCTL" layer merge "$d/child.img" > /dev/null 2>&1 || die "trial merge ($w)"
	reset "$d"
	"$CHAINCTL" layer check "$d/child.img" > /dev/null 2>&1 ||
		die "child.img ($w) does not check clean after a merge and the header restore: $("$CHAINCTL" layer check "$d/child.img" 2>&1)"
	# The dm-snapshot COW store, over the pristine base (reset just now).
	if [[ "$cs" = *" snapshot-merge "* ]]; then
		if snap_cow_build "$d" "$w"; then
			for fs in $fss; do
				[ "$fs" = xfs ] && continue
				cp --sparse=always "$d/cow.pristine" "$d/cow.data" "$MNT/$fs/$w/" ||
					die "cp cow to $fs ($w)"
			done
		else
			say "  WARNING: no dm-snapshot contender for workload $w: $SNAP_WHY"
			emitj --arg w "$w" --arg why "$SNAP_WHY" \
				'{section: "snapshot-merge-not-run", workload: $w, why: $why}'
			rm -f "$d/cow.img" "$d/cow.pristine"
		fi
		sync
	fi
	say "  workload $w: $count runs of $(hsize "${WL_LEN[$w]}") = $(hsize $((count * WL_LEN[$w]))) changed; ready on $fss ($(secs_since "$t0") s)"
}

# run_contender W REP NAME FS [SWEEP]: reset, time one merge, verify, emit
# (section "merge", or "sweep" with SWEEP size|length).  Returns 1 when the
# merge failed or did not verify.  snapshot-merge is skipped (return 0)
# when its COW store could not be built (setup_workload said why).
run_contender() {
	local w=$1 rep=$2 name=$3 fs=$4 sweep=${5:-} d secs= out tool_secs= cloned=null copied=null
	local direct=null
	local ok=true why=
	d=$MNT/$fs/$w
	[ "$name" = snapshot-merge ] && [ ! -f "$d/cow.pristine" ] && return 0
	reset "$d" "$name"
	if [ "$name" = snapshot-merge ]; then
		if snap_merge "$d"; then
			secs=$SNAP_SECS
			copied=$(cat "$d/cow.data")
			cloned=0
		else
			ok=false
			why=$SNAP_WHY
			say "  FAILED: snapshot-merge on $fs ($w, repeat $rep): $SNAP_WHY"
		fi
	else
		watch_start merge
		case "$name" in
		bare-clone) out=$("$CL" clone "$d/child.img" "$DOFF" "$d/base.raw" 0 "$DMC_TMP/$w.runs") ;;
		rw-loop)    out=$("$CL" copy "$d/child.img" "$DOFF" "$d/base.raw" 0 "$DMC_TMP/$w.runs") ;;
		chainctl-clone) out=$("$CHAINCTL" layer merge -j "$d/child.img") ;;
		chainctl-copy)  out=$("$CHAINCTL" layer merge -j --mode copy "$d/child.img") ;;
		qemu-commit) out=$(cd "$d" && qemu-img commit -q -d overlay.qcow2) ;;
		seq-write) out=$(fio --name=seq --filename="$d/seq.img" --rw=write --bs=1M \
				--size=$((WL_COUNT[$w] * WL_LEN[$w])) --direct=1 --ioengine=psync \
				--fallocate=none --end_fsync=1 --output-format=terse --terse-version=3) ;;
		*) die "unknown contender $name" ;;
		esac 2> "$DMC_TMP/err" || die "$name on $fs ($w, repeat $rep) failed: $out $(cat "$DMC_TMP/err")"
		watch_stop merge
		secs=$(watch_secs merge)
	fi
	case "$name" in
	bare-*|rw-*) tool_secs=$(sed 's/.*seconds=//' <<< "$out") ;;
	chainctl-*)
		tool_secs=$(jq -r .elapsed_seconds <<< "$out")
		cloned=$(jq -r .cloned_bytes <<< "$out")
		copied=$(jq -r .copied_bytes <<< "$out")
		direct=$(jq -r .direct_bytes <<< "$out")
		if [ "$name" = chainctl-clone ] && [ "$copied" != 0 ]; then
			say "  WARNING: chainctl-clone copied $copied bytes (clone refused: $(jq -c .clone_refused <<< "$out"))"
		fi ;;
	esac
	if [ "$name" = seq-write ]; then
		# The reference, no merge: fio wrote every byte, without error.
		rm -f "$d/seq.img"
		if [ "$(awk -F';' '{print $5 " " $47 * 1024}' <<< "$out")" != "0 $((WL_COUNT[$w] * WL_LEN[$w]))" ]; then
			ok=false
			why="fio did not write the workload's bytes: $out"
			say "  FAILED: $name on $fs ($w): $why"
		fi
	elif $ok && ! "$BD" verify "$d/base.raw" 0 "$DMC_TMP/$w.sample" $(( $(wseed "$w") + 10 )) > /dev/null; then
		ok=false
		why="merged base does not hold the child's data"
		say "  FAILED: $name on $fs ($w): $why"
	fi
	emitj --arg w "$w" --arg rep "$rep" --arg name "$name" --arg fs "$fs" \
		--arg secs "$secs" --arg tool "${tool_secs:-null}" --arg cl "$cloned" \
		--arg cp "$copied" --arg dr "$direct" --argjson ok "$ok" --arg why "$why" \
		--arg sweep "$sweep" --arg runs "${WL_COUNT[$w]}" --arg len "${WL_LEN[$w]}" \
		'{section: (if $sweep == "" then "merge" else "sweep" end),
		  sweep: (if $sweep == "" then null else $sweep end),
		  workload: $w, rep: ($rep | num), contender: $name,
		  fs: $fs, runs: ($runs | num), run_len: ($len | num),
		  changed_bytes: (($runs | num) * ($len | num)),
		  seconds: ($secs | num), tool_seconds: ($tool | num),
		  bytes_cloned: ($cl | num), bytes_copied: ($cp | num),
		  bytes_direct: ($dr | num), verified: $ok, error: (if $why == "" then null else $why end)}'
	say "  $w rep $rep  $(printf '%-15s %-5s %9s s' "$name" "$fs" "$secs")$([ $ok = true ] || echo '  FAILED')"
	$ok
}

# dm-snapshot on XFS only: on ext4 it measured within 20 % of XFS (its
# I/O goes through loop devices either way) and cost 2-4 minutes of a
# --scale 8 run; add "snapshot-merge ext4" here to measure it.
CONTENDERS=(
	"bare-clone xfs" "chainctl-clone xfs" "rw-loop xfs" "chainctl-copy xfs"
	"qemu-commit xfs" "snapshot-merge xfs" "rw-loop ext4" "chainctl-copy ext4"
	"qemu-commit ext4" "seq-write xfs" "seq-write ext4"
)
merge_fail=0
if want merge; then
	make_pristine xfs ext4
	for wl in "a $WA_COUNT 64K" "b $WB_COUNT 1M"; do
		read -r w count len <<< "$wl"
		say "merge workload $w: setting up"
		setup_workload "$w" "$count" "$len" "xfs ext4" \
			"$(printf '%s\n' "${CONTENDERS[@]}" | awk '{print $1}' | sort -u | tr '\n' ' ')"
		for rep in $(seq 1 "$REPEATS"); do
			mapfile -t order < <(rotated "$rep" "${CONTENDERS[@]}")
			for c in "${order[@]}"; do
				# shellcheck disable=SC2086
				run_contender "$w" "$rep" $c || merge_fail=1
			done
		done
		covered_mark "$w" bare-clone chainctl-clone chainctl-copy qemu-commit
		[ -f "$MNT/xfs/$w/cow.pristine" ] && covered_mark "$w" snapshot-merge
		rm -rf "$MNT/xfs/$w" "$MNT/ext4/$w"
	done
	rm -f "$MNT/xfs/pristine.raw" "$MNT/ext4/pristine.raw"
else
	say "merge benchmarks skipped (--only $ONLY)"
fi

# ----------------------------------------------------------------- swap --
# Merge by the smaller side (issue 19).  A layer base of VSIZE with every
# block written (1 MiB runs) and a child covering 90 % of it in 64 KiB
# runs (benchdata's evenly spread runs: about one block in ten is left to
# the base).  Contenders on XFS: the bare FICLONERANGE loop over the
# child's runs, `chainctl layer merge --side target` (the classic merge:
# the child's blocks down) and `--side auto` (which swaps: the base's
# uncovered blocks up, then the child's file renamed over the base); on
# ext4 (copies) the same two chainctl sides.  Every merge starts from
# fresh copies of both files (a swap renames the child over the base),
# caches dropped, and is verified: the child's runs and the base's
# content between them, read from the file at the base's path.
SWAP_CONTENDERS=(
	"bare-clone xfs" "chainctl-target xfs" "chainctl-swap xfs"
	"chainctl-copy-target ext4" "chainctl-copy-swap ext4"
)
# swap_setup FS...: xfs/swap/pristine/{base,child}.dmc and a work
# directory FS/swap on each; the child records its parent as base.dmc,
# next to it.
swap_setup() {
	local d=$MNT/xfs/swap/pristine fs bytes
	bytes=$(numfmt --from=iec "$VSIZE")
	mkdir -p "$d"
	WL_COUNT[swap90]=$(( bytes / 65536 * 9 / 10 ))
	WL_LEN[swap90]=65536
	"$BD" runs $VSIZE $(( bytes >> 20 )) 1M 201 > "$DMC_TMP/swapbase.runs" || die "swap: base runs"
	"$BD" runs $VSIZE "${WL_COUNT[swap90]}" 64K 202 > "$DMC_TMP/swap90.runs" || die "swap: child runs"
	# The base's content left between the child's runs.
	# (printf: awk may print numbers past 2^31 as 4.29497e+09)
	awk -v end="$bytes" '{ if ($1 > p) printf "%.0f %.0f\n", p, $1 - p; p = $1 + $2 }
		END { if (end > p) printf "%.0f %.0f\n", p, end - p }' "$DMC_TMP/swap90.runs" > "$DMC_TMP/swapgaps.runs"
	"$CHAINCTL" layer create -b 64K -s $VSIZE "$d/base.dmc" > /dev/null || die "swap: base"
	"$BD" fill-layer "$d/base.dmc" "$DMC_TMP/swapbase.runs" 211 || die "swap: fill base"
	"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/child.dmc" > /dev/null ||
		die "swap: child"
	"$BD" fill-layer "$d/child.dmc" "$DMC_TMP/swap90.runs" 212 || die "swap: fill child"
	"$CHAINCTL" layer check "$d/child.dmc" > /dev/null || die "swap: child does not check"
	# The pristine pair stays on the XFS disk (the ext4 one cannot hold
	# two pairs and a merge's growth); resets copy it across.
	for fs in "$@"; do
		mkdir -p "$MNT/$fs/swap"
	done
	sync
	say "  swap: base $VSIZE all written, child ${WL_COUNT[swap90]} runs of 64 KiB ($(wc -l < "$DMC_TMP/swapgaps.runs") gaps)"
}
# swap_reset D: real copies of the pristine pair at D/base.dmc and
# D/child.dmc (the child's parent path names base.dmc), caches dropped.
swap_reset() {
	local d=$1 p=$MNT/xfs/swap/pristine
	rm -f "$d/base.dmc" "$d/child.dmc"
	cp --sparse=always --reflink=never "$p/base.dmc" "$p/child.dmc" "$d/" ||
		die "swap reset $d"
	drop_caches
}
# swap_contender REP NAME FS
swap_contender() {
	local rep=$1 name=$2 fs=$3 d=$MNT/$3/swap secs out= tool=null cloned=null copied=null
	local side=null why= ok=true
	swap_reset "$d"
	watch_start swap
	case "$name" in
	bare-clone) out=$("$CL" clone "$d/child.dmc" "$(layer_field "$d/child.dmc" data_offset)" \
			"$d/base.dmc" "$(layer_field "$d/base.dmc" data_offset)" "$DMC_TMP/swap90.runs") ;;
	chainctl-target|chainctl-copy-target)
		out=$("$CHAINCTL" layer merge -j --side target \
			$([ "$fs" = ext4 ] && echo --mode copy) "$d/child.dmc") ;;
	chainctl-swap|chainctl-copy-swap)
		out=$("$CHAINCTL" layer merge -j --side auto \
			$([ "$fs" = ext4 ] && echo --mode copy) "$d/child.dmc") ;;
	*) die "unknown swap contender $name" ;;
	esac 2> "$DMC_TMP/err" || die "swap: $name on $fs (repeat $rep) failed: $out $(cat "$DMC_TMP/err")"
	watch_stop swap
	secs=$(watch_secs swap)
	case "$name" in
	bare-clone) tool=$(sed 's/.*seconds=//' <<< "$out") ;;
	*)	tool=$(jq -r .elapsed_seconds <<< "$out")
		cloned=$(jq -r .cloned_bytes <<< "$out")
		copied=$(jq -r .copied_bytes <<< "$out")
		side=$(jq -r .side <<< "$out")
		why=$(jq -r .side_reason <<< "$out") ;;
	esac
	if ! "$BD" verify "$d/base.dmc" layer "$DMC_TMP/swap90.runs" 212 > /dev/null ||
	   ! "$BD" verify "$d/base.dmc" layer "$DMC_TMP/swapgaps.runs" 211 > /dev/null; then
		ok=false
		why="the merged base does not hold the child's runs and the base between them"
		say "  FAILED: $name on $fs: $why"
	elif [[ "$name" = *swap ]] && [ "$side" != source ]; then
		ok=false
		why="--side auto did not swap: $why"
		say "  FAILED: $name on $fs: $why"
	fi
	emitj --arg rep "$rep" --arg name "$name" --arg fs "$fs" --arg secs "$secs" \
		--arg tool "$tool" --arg cl "$cloned" --arg cp "$copied" --argjson ok "$ok" \
		--arg why "$why" --arg side "$side" --arg runs "${WL_COUNT[swap90]}" \
		'{section: "merge", workload: "swap90", rep: ($rep | num), contender: $name,
		  fs: $fs, runs: ($runs | num), run_len: 65536,
		  changed_bytes: (($runs | num) * 65536),
		  seconds: ($secs | num), tool_seconds: ($tool | num),
		  bytes_cloned: ($cl | num), bytes_copied: ($cp | num),
		  side: (if $side == "null" then null else $side end),
		  side_reason: (if $why == "" or ($ok | not) then null else $why end),
		  verified: $ok, error: (if $ok then null else $why end)}'
	say "  swap rep $rep  $(printf '%-22s %-5s %9s s' "$name" "$fs" "$secs")$([ $ok = true ] || echo '  FAILED')"
	rm -f "$d/base.dmc" "$d/child.dmc"
	$ok
}
if want swap; then
	say "swap merge: setting up"
	swap_setup xfs ext4
	for rep in $(seq 1 "$REPEATS"); do
		mapfile -t order < <(rotated "$rep" "${SWAP_CONTENDERS[@]}")
		for c in "${order[@]}"; do
			# shellcheck disable=SC2086
			swap_contender "$rep" $c || merge_fail=1
		done
	done
	rm -rf "$MNT/xfs/swap" "$MNT/ext4/swap"
else
	say "swap merge benchmark skipped (--only $ONLY)"
fi

# ----------------------------------------------------------------- live --
# Live merge (issue 6).  A live merge goes into a layer, never into a raw
# base, so the chain here is a layer base (VSIZE, 64 KiB blocks, the same
# base content) with the same child as above, on XFS; the offline
# contender is `chainctl layer merge --side target` of that same chain, so
# the two merge identical files the same way.  Each rep: offline-clone and
# live-clone (auto mode, the clone path on XFS), alternating which goes
# first; for workload b also a live --mode copy merge, unlimited, with
# --rate $LIVE_RATE MiB/s and with --rate $LIVE_RATE_LOW MiB/s.
# Every merge starts from a fresh copy of the base with caches dropped;
# the live device is created (`chainctl device create`) before the timer
# starts and removed after it stops.  Then the snapshot pause: SNAPS
# `chainctl device snapshot` on a device under fio random writes.
LIVE_WHY=

# live_reset W: no device, base layer pristine (a real copy), the child's
# header slots back to before any merge or device use, no new leaf,
# caches dropped.
live_reset() {
	local d=$MNT/xfs/live-$1
	if dmsetup info blive > /dev/null 2>&1; then
		chain_remove blive > /dev/null 2>&1 || { LIVE_WHY="cannot remove device blive"; return 1; }
	fi
	# A merge that swapped (layer merge --side auto) would have renamed the
	# child's file over the base: the header alone cannot bring it back.
	# (Its size is no identity: an extent list may grow it.)
	[ "$(stat -c %i "$d/child.dmc" 2> /dev/null)" = "$(cat "$d/child.ino")" ] ||
		{ LIVE_WHY="reset live-$1: child.dmc is not the file live_setup made (a swap merge consumed it?)"; return 1; }
	rm -f "$d/new.dmc" "$d/lbase.dmc"
	cp --sparse=always --reflink=never "$d/lbase.pristine" "$d/lbase.dmc" ||
		{ LIVE_WHY="reset live-$1: cp"; return 1; }
	dd if="$d/child.hdr" of="$d/child.dmc" bs=8192 count=1 conv=notrunc,fsync \
		status=none || { LIVE_WHY="reset live-$1: header"; return 1; }
	drop_caches
}

# live_setup W COUNT LEN: lbase.dmc (+ its pristine copy) and child.dmc.
live_setup() {
	local w=$1 count=$2 len=$3 seed d t0
	seed=$(wseed "$w")
	d=$MNT/xfs/live-$w
	rm -rf "$d"; mkdir -p "$d"
	t0=$(hostnow)
	runs_for "$w" "$count" "$len"
	"$CHAINCTL" layer create -b 64K -s $VSIZE "$d/lbase.dmc" > /dev/null ||
		{ LIVE_WHY="layer create lbase ($w)"; return 1; }
	"$BD" fill-layer "$d/lbase.dmc" "$DMC_TMP/base.runs" 101 ||
		{ LIVE_WHY="fill lbase ($w)"; return 1; }
	"$CHAINCTL" layer create --parent "$d/lbase.dmc" "$d/child.dmc" > /dev/null ||
		{ LIVE_WHY="layer create child ($w)"; return 1; }
	"$BD" fill-layer "$d/child.dmc" "$DMC_TMP/$w.runs" $((seed + 10)) ||
		{ LIVE_WHY="fill child ($w)"; return 1; }
	"$CHAINCTL" layer check "$d/child.dmc" > /dev/null 2>&1 ||
		{ LIVE_WHY="child.dmc ($w) does not check clean"; return 1; }
	dd if="$d/child.dmc" of="$d/child.hdr" bs=8192 count=1 status=none
	stat -c %i "$d/child.dmc" > "$d/child.ino"
	cp --sparse=always --reflink=never "$d/lbase.dmc" "$d/lbase.pristine" ||
		{ LIVE_WHY="cp lbase.pristine ($w)"; return 1; }
	sync
	# One live merge, then the reset, must give back a chain that checks
	# clean and opens again (the merge changes nothing else in the child).
	live_contender "$w" 0 live-clone || return 1
	live_reset "$w" || return 1
	"$CHAINCTL" layer check "$d/child.dmc" > /dev/null 2>&1 ||
		{ LIVE_WHY="child.dmc ($w) does not check clean after a live merge and the reset: $("$CHAINCTL" layer check "$d/child.dmc" 2>&1 | tail -n 2)"; return 1; }
	say "  live workload $w: layer base $VSIZE + child with $count runs of $len, trial live merge done ($(host_secs_since "$t0") s)"
}

# live_contender W REP NAME [SWEEP]: reset, time one merge, verify, emit
# (section "live", or "sweep" with SWEEP size|length; REP 0: the trial in
# live_setup, not recorded).  Returns 1 when the section cannot go on
# (LIVE_WHY), 2 when this merge failed or did not verify.
live_contender() {
	local w=$1 rep=$2 name=$3 sweep=${4:-} d seed secs out= ok=true rate=null args=() st
	d=$MNT/xfs/live-$w
	seed=$(( $(wseed "$w") + 10 ))
	live_reset "$w" || return 1
	case "$name" in
	offline-clone)
		# Into the base's file, as the live merge does: the default side
		# (auto) would swap here, where the child covers more than the
		# base, and leave a child.dmc that live_reset cannot restore.
		watch_start live
		out=$("$CHAINCTL" layer merge -j --side target "$d/child.dmc" 2> "$DMC_TMP/err") || ok=false
		watch_stop live
		secs=$(watch_secs live)
		;;
	live-*)
		case "$name" in
		live-clone) ;;
		live-copy) args=(--mode copy) ;;
		live-copy-rate) args=(--mode copy --rate "$LIVE_RATE"); rate=$LIVE_RATE ;;
		live-copy-rate-low) args=(--mode copy --rate "$LIVE_RATE_LOW"); rate=$LIVE_RATE_LOW ;;
		*) die "unknown live contender $name" ;;
		esac
		if ! out=$("$CHAINCTL" device create blive "$d/child.dmc" 2>&1); then
			LIVE_WHY="chainctl device create: $out"
			return 1
		fi
		[ -b /dev/mapper/blive ] || dmsetup mknodes blive > /dev/null 2>&1
		watch_start live
		out=$("$CHAINCTL" device merge blive "${args[@]}" --new-leaf "$d/new.dmc" -j \
			2> "$DMC_TMP/err") || ok=false
		watch_stop live
		secs=$(watch_secs live)
		# The device now reads base + new leaf: it must show the child's data.
		if $ok && ! "$BD" verify /dev/mapper/blive 0 "$DMC_TMP/$w.sample" $seed > /dev/null; then
			ok=false
			say "  FAILED: $name ($w): the device does not read the child's data after the merge"
		fi
		chain_remove blive > /dev/null 2>&1
		;;
	esac
	if ! jq -e 'type == "object"' <<< "$out" > /dev/null 2>&1; then
		say "  FAILED: $name ($w, rep $rep): no JSON answer: ${out:0:200} $(tail -n 2 "$DMC_TMP/err")"
		out='{}'
		ok=false
	fi
	st=$(jq -r '.state // "done"' <<< "$out")
	if [ "$st" != "done" ]; then
		ok=false
		say "  FAILED: $name ($w, rep $rep): merge state $st: $(jq -r '.message // ""' <<< "$out") $(tail -n 2 "$DMC_TMP/err")"
	fi
	if ! "$BD" verify "$d/lbase.dmc" layer "$DMC_TMP/$w.sample" $seed > /dev/null; then
		ok=false
		say "  FAILED: $name ($w): the merged base layer does not hold the child's data"
	fi
	[ "$name" = live-clone ] && [ "$(jq -r '.copied_bytes // 0' <<< "$out")" != 0 ] &&
		say "  WARNING: live-clone copied $(jq -r .copied_bytes <<< "$out") bytes"
	if [ "$rep" = 0 ]; then
		$ok || LIVE_WHY="the trial live merge ($w) failed: state $st, $(tail -n 2 "$DMC_TMP/err" | tr '\n' ' ')"
		$ok && return 0 || return 1
	fi
	emitj --arg w "$w" --arg rep "$rep" --arg name "$name" --arg secs "$secs" \
		--arg rate "$rate" --argjson ok "$ok" --argjson out "$out" --arg sweep "$sweep" \
		--arg runs "${WL_COUNT[$w]}" --arg len "${WL_LEN[$w]}" \
		'{section: (if $sweep == "" then "live" else "sweep" end),
		  sweep: (if $sweep == "" then null else $sweep end),
		  workload: $w, rep: ($rep | num), contender: $name, fs: "xfs",
		  runs: ($runs | num), run_len: ($len | num),
		  changed_bytes: (($runs | num) * ($len | num)),
		  seconds: ($secs | num), rate_limit_mib_s: ($rate | num),
		  state: ($out.state // (if $out.seconds then "done" else null end)),
		  tool_seconds: ($out.seconds // (if $out.elapsed_ns then $out.elapsed_ns / 1e9 else null end)),
		  elapsed_ns: $out.elapsed_ns, pause_ns: $out.pause_ns,
		  bytes_total: ($out.total_bytes // $out.bytes_total),
		  bytes_cloned: ($out.cloned_bytes // $out.bytes_cloned),
		  bytes_copied: ($out.copied_bytes // $out.bytes_copied),
		  bytes_zeroed: ($out.zeroed_bytes // $out.bytes_zeroed),
		  verified: $ok}'
	say "  $w rep $rep  $(printf '%-15s xfs   %9s s' "$name" "$secs")$(
		jq -r 'if .elapsed_ns then "  (kernel \(.elapsed_ns / 1e9 * 1000 | round / 1000) s, \((.cloned_bytes + .copied_bytes) / 1048576 / (.elapsed_ns / 1e9) | round) MiB/s, pause \(.pause_ns / 1e6) ms)" else "" end' <<< "$out" 2>/dev/null)$($ok || echo '  FAILED')"
	$ok || return 2
}

# snapshot_pause: SNAPS snapshots of a device under 4 KiB random writes.
snapshot_pause() {
	local d=$MNT/xfs/snap i out secs fiopid clk
	rm -rf "$d"; mkdir -p "$d"
	"$CHAINCTL" layer create -s "$FIO_SIZE" "$d/s0.dmc" > /dev/null ||
		{ LIVE_WHY="snapshot: layer create"; return 1; }
	if ! out=$("$CHAINCTL" device create bsnap "$d/s0.dmc" 2>&1); then
		LIVE_WHY="snapshot: chainctl device create: $out"
		return 1
	fi
	[ -b /dev/mapper/bsnap ] || dmsetup mknodes bsnap > /dev/null 2>&1
	clk=$("$BD" clockres)
	say "live: $SNAPS snapshots under fio randwrite 4k iodepth 32 ($(clocksource) clocksource, $clk)"
	fio --name=snapw --filename=/dev/mapper/bsnap --direct=1 --ioengine=libaio \
		--iodepth=32 --rw=randwrite --bs=4k --size="$FIO_SIZE" --runtime=1800 \
		--time_based --randrepeat=0 --norandommap --output-format=json \
		> "$DMC_TMP/snapfio.json" 2> "$DMC_TMP/snapfio.err" &
	fiopid=$!
	sleep 3
	for i in $(seq 1 "$SNAPS"); do
		if ! kill -0 "$fiopid" 2>/dev/null; then
			LIVE_WHY="snapshot: fio stopped: $(tail -n 3 "$DMC_TMP/snapfio.err")"
			chain_remove bsnap
			return 1
		fi
		watch_start snapshot
		if ! out=$("$CHAINCTL" device snapshot bsnap "$d/s$i.dmc" -j 2> "$DMC_TMP/err"); then
			LIVE_WHY="chainctl device snapshot: $(tail -n 2 "$DMC_TMP/err")"
			kill -INT "$fiopid" 2>/dev/null; wait "$fiopid" 2>/dev/null
			chain_remove bsnap
			return 1
		fi
		watch_stop snapshot
		secs=$(watch_secs snapshot)
		emitj --arg i "$i" --arg secs "$secs" --arg out "$out" \
			'($out | fromjson? // {}) as $o
			 | {section: "snapshot", rep: ($i | num), pause_ns: ($o.pause_ns // null),
			    command_seconds: ($secs | num), layers_after: (($i | num) + 1),
			    under_fio: true}'
		say "  snapshot $i: kernel pause $(jq -r '(.pause_ns // 0) / 1e6' <<< "$out") ms, command $secs s (host clock)"
		sleep 1
	done
	fio_stop "$fiopid"
	emitj --arg clk "$clk" --arg cs "$(clocksource)" \
		--arg fio "$(sed -n '/^{/,$p' "$DMC_TMP/snapfio.json" |
			jq -c '.jobs[0].write | {iops, io_bytes, clat_max_ns: .clat_ns.max, clat_mean_ns: .clat_ns.mean}' 2>/dev/null)" \
		'($clk | [scan("([a-z_]+)=([0-9]+)") | {(.[0]): (.[1] | num)}] | add // {}) as $c
		 | {section: "snapshot-env", clocksource: $cs, clock_step_min_ns: $c.step_min_ns,
		    clock_step_max_ns: $c.step_max_ns, clock_getres_ns: $c.getres_ns,
		    fio: ($fio | fromjson? // null)}'
	chain_remove bsnap
	rm -rf "$d"
	return 0
}

live_section() {
	local wl w count len rep c order r
	if ! load_module; then
		LIVE_WHY="dm-chain module not loaded: $MODULE_WHY"
		return 1
	fi
	"$CHAINCTL" device merge --help > /dev/null 2>&1 || { LIVE_WHY="chainctl has no 'device merge'"; return 1; }
	for wl in "a $WA_COUNT 64K" "b $WB_COUNT 1M"; do
		read -r w count len <<< "$wl"
		say "live workload $w: setting up"
		live_setup "$w" "$count" "$len" || return 1
		for rep in $(seq 1 "$REPEATS"); do
			order="offline-clone live-clone"
			[ "$w" = b ] && order+=" live-copy live-copy-rate live-copy-rate-low"
			# shellcheck disable=SC2086
			for c in $(rotated "$rep" $order); do
				live_contender "$w" "$rep" "$c"
				r=$?
				[ $r = 1 ] && return 1
				[ $r = 2 ] && live_fail=1
			done
		done
		covered_mark "$w" live-clone
		rm -rf "$MNT/xfs/live-$w"
	done
	snapshot_pause || return 1
	return 0
}
live_fail=0
if ! want live; then
	say "live merge benchmarks skipped (--only $ONLY)"
elif ! live_section; then
	say "live merge benchmarks NOT RUN (or stopped): $LIVE_WHY"
	emitj --arg why "$LIVE_WHY" '{section: "live-not-run", why: $why}'
	dmsetup remove blive > /dev/null 2>&1
	dmsetup remove bsnap > /dev/null 2>&1
	rm -rf "$MNT/xfs/live-a" "$MNT/xfs/live-b" "$MNT/xfs/snap"
fi

# --------------------------------------------------------------- gentle --
# The guest's I/O during a live merge (issue 18, "gentle to the guest").
# Workload a's chain (a layer base, the child with 16384 runs of 64 KiB,
# / SCALE) with an empty leaf on top, as device blive: the merge is the
# range `device merge blive --into 0 --from 1` (the child into the base,
# the leaf untouched), so the guest's writes land in the leaf whatever
# the merge does.  Per rep, for each job (4 KiB random read, then 4 KiB
# random write; fio, libaio, direct, iodepth GENTLE_QD, over the whole
# device): no merge for GENTLE_IDLE s, a live clone merge, a live copy
# merge with the default rate policy (no --rate); fio starts 1 s before
# the merge and stops at its end.  The graded figures ("window") count
# the I/Os that completed while the merge ran (with no merge: after the
# same 1 s lead-in), from fio's per-I/O latency log (lat_window), so that
# neither fio's start nor the second before the merge counts as "during";
# fio's whole-run figures are kept beside them, with IOPS by the host
# clock (I/Os / the host seconds fio ran).  Then the saturating-writes
# check: the same clone merge with no guest I/O and under fio 4 KiB
# random writes at iodepth 32 (host clock).  The guest's clock is the TSC
# (tests/bench/run boots with tsc=reliable), so fio's stamps and
# percentiles are fine-grained and run at the host's pace.
GENTLE_WHY=

# gentle_device: workload a's chain reset, an empty leaf on the child,
# device blive on it.
gentle_device() {
	local d=$MNT/xfs/live-a out
	live_reset a || { GENTLE_WHY=$LIVE_WHY; return 1; }
	"$CHAINCTL" layer create --parent "$d/child.dmc" "$d/new.dmc" > /dev/null ||
		{ GENTLE_WHY="layer create new.dmc"; return 1; }
	if ! out=$("$CHAINCTL" device create blive "$d/new.dmc" 2>&1); then
		GENTLE_WHY="chainctl device create: $out"
		return 1
	fi
	[ -b /dev/mapper/blive ] || dmsetup mknodes blive > /dev/null 2>&1
}

# gentle_fio_start RW QD: fio on blive in the background (GENTLE_FIO pid).
gentle_fio_start() {
	rm -f "$DMC_TMP"/glat_*.log
	fio --name=g --filename=/dev/mapper/blive --direct=1 --ioengine=libaio \
		--iodepth="$2" --rw="$1" --bs=4k --runtime=3600 --time_based \
		--randrepeat=0 --norandommap --percentile_list=50:99:99.9 \
		--write_lat_log="$DMC_TMP/glat" --log_avg_msec=0 --log_unix_epoch=1 \
		--output-format=json > "$DMC_TMP/gfio.json" 2> "$DMC_TMP/gfio.err" &
	GENTLE_FIO=$!
	watch_start gentle_fio
}

# gentle_fio_stop: stop fio; GENTLE_FIO_SECS the host seconds it ran.
gentle_fio_stop() {
	fio_stop "$GENTLE_FIO"
	watch_stop gentle_fio
	GENTLE_FIO_SECS=$(watch_secs gentle_fio)
}

# gentle_merge MODE: the range merge, waited for (GENTLE_OUT, GENTLE_SECS;
# GENTLE_W0 and GENTLE_W1 its start and end by the guest's clock).
gentle_merge() {
	local args=()
	[ "$1" = copy ] && args=(--mode copy)
	watch_start gentle_merge
	GENTLE_W0=$EPOCHREALTIME
	GENTLE_OUT=$("$CHAINCTL" device merge blive --into 0 --from 1 "${args[@]}" -j \
		2> "$DMC_TMP/err") || GENTLE_OUT=
	GENTLE_W1=$EPOCHREALTIME
	watch_stop gentle_merge
	GENTLE_SECS=$(watch_secs gentle_merge)
	jq -e '.state == "done"' <<< "$GENTLE_OUT" > /dev/null 2>&1
}

# gentle_verify: the merged base holds the child's data.
gentle_verify() {
	"$BD" verify "$MNT/xfs/live-a/lbase.dmc" layer "$DMC_TMP/a.sample" \
		$(( $(wseed a) + 10 )) > /dev/null
}

# gentle_one REP JOB MODE: one fio run (JOB randread|randwrite) with MODE
# none (GENTLE_IDLE s)|clone|copy; emits a "gentle" sample.
gentle_one() {
	local rep=$1 job=$2 mode=$3 ok=true merge_secs=null out='{}' dir win
	gentle_device || return 1
	drop_caches
	gentle_fio_start "$job" "$GENTLE_QD"
	sleep 1
	if [ "$mode" = none ]; then
		GENTLE_W0=$EPOCHREALTIME
		sleep "$GENTLE_IDLE"
		GENTLE_W1=$EPOCHREALTIME
	else
		gentle_merge "$mode" || { ok=false; say "  FAILED: $mode merge under $job: $(jq -r '.message // .state // ""' <<< "$GENTLE_OUT" 2>/dev/null) $(tail -n 2 "$DMC_TMP/err")"; }
		merge_secs=$GENTLE_SECS
		out=${GENTLE_OUT:-'{}'}
	fi
	gentle_fio_stop
	chain_remove blive > /dev/null 2>&1
	if [ "$mode" != none ] && $ok && ! gentle_verify; then
		ok=false
		say "  FAILED: $mode merge under $job: the merged base does not hold the child's data"
	fi
	dir=${job#rand}
	if ! sed -n '/^{/,$p' "$DMC_TMP/gfio.json" | jq -e '.jobs[0]' > /dev/null 2>&1; then
		say "  FAILED: fio $job ($mode): no result: $(tail -n 3 "$DMC_TMP/gfio.err")"
		return 2
	fi
	if ! win=$(lat_window "$DMC_TMP/glat_clat.1.log" "$GENTLE_W0" "$GENTLE_W1"); then
		say "  FAILED: fio $job ($mode): no completion logged during the $([ "$mode" = none ] && echo "window" || echo merge)"
		return 2
	fi
	emitj --arg rep "$rep" --arg job "$job" --arg mode "$mode" --arg secs "$GENTLE_FIO_SECS" \
		--arg msecs "$merge_secs" --argjson ok "$ok" --argjson out "$out" --arg qd "$GENTLE_QD" \
		--argjson win "$win" \
		--argjson fio "$(sed -n '/^{/,$p' "$DMC_TMP/gfio.json" | jq -c --arg d "$dir" '.jobs[0][$d]
			| {ios: .total_ios, iops: .iops, mean_ns: .clat_ns.mean, max_ns: .clat_ns.max,
			   p50_ns: .clat_ns.percentile["50.000000"], p99_ns: .clat_ns.percentile["99.000000"],
			   p999_ns: .clat_ns.percentile["99.900000"]}')" \
		'{section: "gentle", rep: ($rep | num), job: $job, mode: $mode, iodepth: ($qd | num),
		  fio_seconds: ($secs | num), iops_host: ($fio.ios / ($secs | num)),
		  iops_guest: $fio.iops, p50_us: ($fio.p50_ns / 1000), p99_us: ($fio.p99_ns / 1000),
		  p999_us: ($fio.p999_ns / 1000), max_us: ($fio.max_ns / 1000),
		  mean_us: ($fio.mean_ns / 1000), merge_seconds: ($msecs | num),
		  bytes_cloned: ($out.cloned_bytes // $out.bytes_cloned),
		  bytes_copied: ($out.copied_bytes // $out.bytes_copied),
		  pause_ns: $out.pause_ns, window: $win, verified: $ok}'
	say "  rep $rep $(printf '%-9s %-5s' "$job" "$mode") $(jq -r 'select(.section == "gentle") | "\(.window.iops | round) IOPS, p50 \(.window.p50_us) us, p99 \(.window.p99_us) us, max \(.window.max_us | round) us (whole fio run: \(.iops_host | round) IOPS by the host clock, max \(.max_us | round) us)"' <<< "$(tail -n 1 "$SAMPLES")")$([ "$merge_secs" = null ] || echo ", merge $merge_secs s")$($ok || echo '  FAILED')"
	$ok || return 2
}

# gentle_saturated REP: the clone merge with no guest I/O and under fio
# random writes at iodepth 32 (which first alternates); host seconds each.
gentle_saturated() {
	local rep=$1 load secs ok
	for load in $(rotated "$rep" idle saturated); do
		gentle_device || return 1
		drop_caches
		[ "$load" = idle ] || { gentle_fio_start randwrite 32; sleep 1; }
		ok=true
		gentle_merge clone || ok=false
		secs=$GENTLE_SECS
		[ "$load" = idle ] || gentle_fio_stop
		chain_remove blive > /dev/null 2>&1
		$ok && gentle_verify || ok=false
		emitj --arg rep "$rep" --arg load "$load" --arg secs "$secs" --argjson ok "$ok" \
			--argjson out "${GENTLE_OUT:-"{}"}" \
			'{section: "gentle-saturated", rep: ($rep | num), load: $load,
			  merge_seconds: ($secs | num), verified: $ok,
			  kernel_seconds: (($out.elapsed_ns // null) | if . == null then null else . / 1e9 end),
			  bursts: $out.bursts, pause_ns: $out.pause_ns, yield_ns: $out.yield_ns}'
		say "  rep $rep clone merge, $load: $secs s$($ok || echo '  FAILED') $(jq -r '"(kernel \(.elapsed_ns / 1e9) s, \(.bursts // 0) bursts, longest hold \((.pause_ns // 0) / 1e6) ms)"' <<< "${GENTLE_OUT:-"{}"}" 2>/dev/null)"
		$ok || return 2
	done
}

# gentle_case CASE: CASE is one of the runs asked for (--gentle-cases).
gentle_case() {
	[ -z "$GENTLE_CASES" ] || [[ $GENTLE_CASES == *",$1,"* ]]
}

gentle_section() {
	local rep job mode r
	if ! load_module; then
		GENTLE_WHY="dm-chain module not loaded: $MODULE_WHY"
		return 1
	fi
	say "gentle: workload a with a leaf on top, fio 4 KiB iodepth $GENTLE_QD, clocksource $(clocksource)"
	live_setup a "$WA_COUNT" 64K || { GENTLE_WHY=$LIVE_WHY; return 1; }
	for rep in $(seq 1 "$REPEATS"); do
		for job in randread randwrite; do
			for mode in $(rotated "$rep" none clone copy); do
				gentle_case "$job-$mode" || continue
				gentle_one "$rep" "$job" "$mode"
				r=$?
				[ $r = 1 ] && return 1
				[ $r = 2 ] && gentle_fail=1
			done
		done
	done
	# The saturated pair is the noisiest figure (one run's ratio swung
	# from 1.34x to 1.55x between repeats of one configuration), so it
	# gets more repeats than the rest.
	if gentle_case saturated; then
		for rep in $(seq 1 "$GENTLE_SAT_REPEATS"); do
			gentle_saturated "$rep"
			r=$?
			[ $r = 1 ] && return 1
			[ $r = 2 ] && gentle_fail=1
		done
	fi
	rm -rf "$MNT/xfs/live-a"
	return 0
}
gentle_fail=0
if ! want gentle; then
	say "gentle (guest I/O during merges) skipped (--only $ONLY)"
elif ! gentle_section; then
	say "gentle benchmarks NOT RUN (or stopped): $GENTLE_WHY"
	emitj --arg why "$GENTLE_WHY" '{section: "gentle-not-run", why: $why}'
	dmsetup remove blive > /dev/null 2>&1
	rm -rf "$MNT/xfs/live-a"
fi

# --------------------------------------------------------------- sweeps --
# Merge time against changed data and against run length (issue 6), on
# XFS over the same raw base (the live clone: over the same base content
# as a layer, as in the live section), each point its own workload:
#  size sweep: SWEEP_SIZES / SCALE changed in 64 KiB runs (all of VSIZE:
#    every block), workload s<SIZE>;
#  length sweep: CHANGED in runs of each of SWEEP_LENS, workload l<LEN>.
# Contenders interleaved, REPEATS each.  A point and contender that an
# earlier section of this run measured (COVERED: workloads a and b are
# the size sweep's 1 GiB point and the length sweep's 64 KiB and 1 MiB
# points) is not measured again; the report takes it from there.

# sweep_point SWEEP W COUNT LEN CONTENDER...: set up what the contenders
# not measured yet need, REPEATS x them, clean up.  Returns 1 when a merge
# failed or did not verify.
sweep_point() {
	local sweep=$1 w=$2 count=$3 len=$4 c rep r todo=() raw=() fail=0 lb
	shift 4
	lb=$(numfmt --from=iec "$len")
	for c in "$@"; do
		[ -n "${COVERED["$count $lb $c"]:-}" ] || todo+=("$c")
	done
	if [ ${#todo[@]} = 0 ]; then
		say "$sweep sweep: $count x $len measured earlier in this run (the report takes it from there)"
		return 0
	fi
	say "$sweep sweep $w: $count runs of $len = $(hsize $((count * lb))) changed: ${todo[*]}$([ ${#todo[@]} = $# ] || echo " (the others measured earlier in this run)")"
	for c in "${todo[@]}"; do
		[ "$c" = live-clone ] || raw+=("$c")
	done
	if [[ " ${todo[*]} " = *" live-clone "* ]]; then
		LIVE_WHY=
		if ! load_module; then
			LIVE_WHY="dm-chain module not loaded: $MODULE_WHY"
		elif "$CHAINCTL" device merge --help > /dev/null 2>&1; then
			live_setup "$w" "$count" "$len"
		else
			LIVE_WHY="chainctl has no 'device merge'"
		fi
		if [ -n "$LIVE_WHY" ]; then
			say "  WARNING: no live-clone at this point: $LIVE_WHY"
			emitj --arg s "$sweep" --arg w "$w" --arg why "$LIVE_WHY" \
				'{section: "sweep-not-run", sweep: $s, workload: $w, contender: "live-clone", why: $why}'
			dmsetup remove blive > /dev/null 2>&1
			todo=("${raw[@]}")
			fail=1
		fi
	fi
	[ ${#raw[@]} = 0 ] || setup_workload "$w" "$count" "$len" xfs "${raw[*]}"
	for rep in $(seq 1 "$REPEATS"); do
		for c in $(rotated "$rep" "${todo[@]}"); do
			if [ "$c" = live-clone ]; then
				live_contender "$w" "$rep" live-clone "$sweep"
				r=$?
				[ $r = 1 ] && say "  FAILED: live-clone ($w, rep $rep): $LIVE_WHY"
				[ $r = 0 ] || fail=1
			else
				run_contender "$w" "$rep" "$c" xfs "$sweep" || fail=1
			fi
		done
	done
	[ ${#raw[@]} = 0 ] || [ -f "$MNT/xfs/$w/cow.pristine" ] ||
		mapfile -t todo < <(printf '%s\n' "${todo[@]}" | grep -vx snapshot-merge)
	covered_mark "$w" "${todo[@]}"
	rm -rf "${MNT:?}/xfs/$w" "$MNT/xfs/live-$w"
	return $fail
}

sweep_fail=0
if want size-sweep || want length-sweep; then
	make_pristine xfs
	if want size-sweep; then
		for s in $SWEEP_SIZES; do
			count=$(( $(numfmt --from=iec "$s") / SCALE / 65536 ))
			if [ "$count" -lt 1 ]; then
				say "size sweep: $s / $SCALE is less than one 64 KiB run, skipped"
				continue
			fi
			# shellcheck disable=SC2086
			sweep_point size "s$s" "$count" 64K $SIZE_CONTENDERS || sweep_fail=1
		done
	else
		say "size sweep skipped (--only $ONLY)"
	fi
	if want length-sweep; then
		for l in $SWEEP_LENS; do
			count=$(( CHANGED / $(numfmt --from=iec "$l") ))
			if [ "$count" -lt 1 ]; then
				say "length sweep: $(hsize $CHANGED) is less than one $l run, skipped"
				continue
			fi
			# shellcheck disable=SC2086
			sweep_point length "l$l" "$count" "$l" $LENGTH_CONTENDERS || sweep_fail=1
		done
	else
		say "length sweep skipped (--only $ONLY)"
	fi
	rm -f "$MNT/xfs/pristine.raw"
else
	say "sweeps skipped (--only $ONLY)"
fi

# --------------------------------------------------------------- device --
# fio_run DEV RW BS DEPTH -> "bw_bytes iops lat_mean_us fio_bw_bytes fio_iops
# lat_p99_us"
# The first two by the host's clock (bytes and I/Os fio did / host seconds
# the run took, fio's start-up included, the same for every device); the
# rest as fio measured them with the guest's clock.
fio_run() {
	local dev=$1 rw=$2 bs=$3 qd=$4 dir secs
	case "$rw" in *read) dir=read ;; *) dir=write ;; esac
	watch_start fio
	fio --name=b --filename="$dev" --direct=1 --ioengine=libaio --iodepth="$qd" \
		--rw="$rw" --bs="$bs" --size="$FIO_SIZE" --runtime="$FIO_RUNTIME" \
		--time_based --randrepeat=0 --norandommap \
		--output-format=json > "$DMC_TMP/fio.json" 2> "$DMC_TMP/fio.err" || return 1
	watch_stop fio
	secs=$(watch_secs fio)
	jq -r --arg s "$secs" ".jobs[0].$dir | \"\(.io_bytes / (\$s | tonumber)) \(.total_ios / (\$s | tonumber)) \(.clat_ns.mean / 1000) \(.bw_bytes) \(.iops) \((.clat_ns.percentile[\"99.000000\"] // 0) / 1000)\"" "$DMC_TMP/fio.json"
}

# fio_compare DIR LOOPDEV-OFFSET: fio on the filled 1-layer chain bfio, on
# a loop device (direct I/O) over the same file and on dm-linear over it.
fio_compare() {
	local d=$1 doff=$2 sectors loopdev rep job rw bs dev name r bw iops lat fbw fiops p99
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
			for name in $(rotated "$rep" chain loop linear); do
				case $name in
				chain) dev=/dev/mapper/bfio ;; loop) dev=$loopdev ;; linear) dev=/dev/mapper/bfiolin ;;
				esac
				r=$(fio_run "$dev" "$rw" "$bs" 32) || r=
				[ -n "$r" ] || die "fio $rw on $dev: $(tail -n 3 "$DMC_TMP/fio.err")"
				read -r bw iops lat fbw fiops p99 <<< "$r"
				emitj --arg rep "$rep" --arg job "$rw-$bs" --arg dev "$name" --arg bw "$bw" \
					--arg iops "$iops" --arg lat "$lat" --arg fbw "$fbw" --arg fiops "$fiops" \
					'{section: "fio", rep: ($rep | num), job: $job, device: $dev,
					  depth: 1, iodepth: 32, bw_bytes: ($bw | num),
					  iops: ($iops | num), lat_us: ($lat | num),
					  fio_bw_bytes: ($fbw | num), fio_iops: ($fiops | num)}'
				say "  fio rep $rep $(printf '%-13s %-7s %8.1f MiB/s %9.0f IOPS' "$rw-$bs" "$name" \
					"$(awk -v b="$bw" 'BEGIN {print b / 1048576}')" "$iops")"
			done
		done
	done
	dmsetup remove bfiolin; losetup -d "$loopdev"
}

# depth_not_run DEPTH WHY: a chain depth that could not be measured.
depth_not_run() {
	say "  FAILED: depth $1: $2"
	emitj --arg depth "$1" --arg why "$2" '{section: "depth-not-run", depth: ($depth | num), why: $why}'
	depth_fail=1
}

# deep_create D: /dev/mapper/bdeep, read-only, over the chain of D layers
# ending at leaf[D] (chain_create); when chainctl cannot (it may walk
# fewer layers than the target takes), with dmsetup and a table line of
# the layers the caller lists in layers[D] (base first, docs/target.md),
# saying so once per depth (DEEP_HOW[D], a "depth-note" sample).
declare -A DEEP_HOW
deep_create() {
	local D=$1 sectors out
	chain_create bdeep "${leaf[$D]}" --read-only && { DEEP_HOW[$D]=$CHAIN_HOW; return 0; }
	sectors=$(( $(numfmt --from=iec "$FIO_SIZE") / 512 ))
	# shellcheck disable=SC2086
	if out=$(dmsetup create --noudevsync bdeep \
		--table "0 $sectors chain $D ${layers[$D]} 1 read_only" 2>&1); then
		dmsetup mknodes bdeep > /dev/null 2>&1
		if [ "${DEEP_HOW[$D]:-}" != dmsetup ]; then
			say "  NOTE: depth $D: chainctl could not create the device ($CHAIN_WHY); created with dmsetup and the layer list instead"
			emitj --arg depth "$D" --arg why "$CHAIN_WHY" \
				'{section: "depth-note", depth: ($depth | num), created_by: "dmsetup", chainctl_error: $why}'
		fi
		DEEP_HOW[$D]=dmsetup
		return 0
	fi
	CHAIN_WHY="$CHAIN_WHY; dmsetup create with the $D layers: $out"
	return 1
}

# depth_read D REP SECTION: 4 KiB random reads (fio, iodepth 32) on the
# read-only chain of D layers (deep_create), as a SECTION sample; on
# failure says so (depth_not_run) and returns 1.  Uses depth_compare's
# leaf and layers.
depth_read() {
	local D=$1 rep=$2 sec=$3 r bw iops lat fbw fiops p99
	if ! deep_create "$D"; then
		depth_not_run "$D" "chain device of $D layers ($sec $rep): $CHAIN_WHY"
		return 1
	fi
	r=$(fio_run /dev/mapper/bdeep randread 4k 32) || r=
	chain_remove bdeep
	if [ -z "$r" ]; then
		depth_not_run "$D" "fio randread ($sec $rep): $(tail -n 3 "$DMC_TMP/fio.err")"
		return 1
	fi
	read -r bw iops lat fbw fiops p99 <<< "$r"
	emitj --arg rep "$rep" --arg bw "$bw" --arg iops "$iops" --arg p99 "$p99" \
		--arg lat "$lat" --arg depth "$D" --arg fbw "$fbw" --arg fiops "$fiops" \
		--arg how "${DEEP_HOW[$D]:-}" --arg sec "$sec" \
		'{section: $sec, rep: ($rep | num), job: "randread-4k",
		  device: "depth\($depth)", depth: ($depth | num), iodepth: 32,
		  created_by: $how,
		  bw_bytes: ($bw | num), iops: ($iops | num),
		  lat_us: ($lat | num), lat_p99_us: ($p99 | num),
		  lat_host_us: (try (32 / ($iops | num) * 1e6) catch null),
		  fio_bw_bytes: ($fbw | num), fio_iops: ($fiops | num)}'
	say "  randread-4k $sec $rep $(printf '%-9s %9.0f IOPS %8.1f us' "depth$D" "$iops" "$lat")"
}

# depth_compare DIR: for each depth D of DEPTHS, a chain of D layers over
# dev.img (D-1 children, child k holding every block whose index is k mod
# D, so reads come from every layer); kernel memory per chain; then 4 KiB
# random reads, iodepth 32, on each, interleaved (each repeat starting
# at another depth), DEPTH_REPEATS times; then the graded pair.
depth_compare() {
	local d=$1 D prev k bsz nblk t0 m0 m1 rep bad
	local -A leaf=([1]="$d/dev.img") layers=([1]="$d/dev.img")
	bsz=$(layer_field "$d/dev.img" block_size)
	nblk=$(( $(numfmt --from=iec "$FIO_SIZE") / bsz ))
	# stride_runs K STRIDE: a run list of blocks K, K + STRIDE, ... (one
	# block each) in $DMC_TMP/c.runs.
	stride_runs() {
		awk -v k="$1" -v s="$2" -v n="$nblk" -v bs="$bsz" \
			'BEGIN { for (b = k; b < n; b += s) print b * bs, bs }' > "$DMC_TMP/c.runs"
	}
	for D in $DEPTHS; do
		[ "$D" = 1 ] && continue
		say "device: building a depth-$D chain over the same base (child k holds blocks k mod $D)"
		t0=$(hostnow)
		# The children in one process each (chainctl's layer_create()
		# and fill-layer's writes): a process start per layer took
		# minutes at depth 4096 under emulation.
		if ! prev=$("$MKCHAIN" "$d/dev.img" $((D - 1)) "$d/d$D-c%u.img" 2> "$DMC_TMP/err"); then
			depth_not_run "$D" "layer create: $(tail -n 2 "$DMC_TMP/err")"
			continue
		fi
		"$BD" fill-strides "$d/d$D-c%u.img" 1 $((D - 1)) "$D" "$nblk" "$bsz" 1000 > /dev/null ||
			die "fill the depth-$D children"
		layers[$D]=$d/dev.img
		for k in $(seq 1 $((D - 1))); do
			layers[$D]+=" $d/d$D-c$k.img"
		done
		say "  built in $(host_secs_since "$t0") s"
		leaf[$D]=$prev
		drop_caches; m0=$(kmem_kb)
		if ! deep_create "$D"; then
			depth_not_run "$D" "chain device of $D layers: $CHAIN_WHY"
			unset "leaf[$D]"
			continue
		fi
		sync; m1=$(kmem_kb)
		# Blocks of the base (k = 0) and of the top child (k = D - 1) read
		# back what was written there.
		bad=
		for k in 0 $((D - 1)); do
			stride_runs "$k" $((D * 4))
			"$BD" verify /dev/mapper/bdeep 0 "$DMC_TMP/c.runs" \
				"$([ "$k" = 0 ] && echo 77 || echo $((1000 + k)))" > /dev/null 2>&1 ||
				{ bad=$k; break; }
		done
		chain_remove bdeep
		if [ -n "$bad" ]; then
			depth_not_run "$D" "the $D-layer chain does not read back what layer $bad holds"
			unset "leaf[$D]"
			continue
		fi
		emitj --arg m0 "$m0" --arg m1 "$m1" --arg layers "$D" \
			--arg size "$(numfmt --from=iec "$FIO_SIZE")" --arg bsz "$bsz" \
			'{section: "kmem", layers: ($layers | num), size_bytes: ($size | num),
			  block_size: ($bsz | num), delta_kib: (try (($m1 | num) - ($m0 | num)) catch null),
			  kib_per_layer_per_gib: (try ((($m1 | num) - ($m0 | num)) / ($layers | num)
			  / (($size | num) / 1073741824)) catch null)}'
	done
	for rep in $(seq 1 "$DEPTH_REPEATS"); do
		# Each repeat starts at another depth.
		# shellcheck disable=SC2086
		for D in $(rotated "$rep" $DEPTHS); do
			[ -n "${leaf[$D]:-}" ] || continue
			depth_read "$D" "$rep" depth || unset "leaf[$D]"
		done
	done
	# The graded pair back to back: depth 1 and depth DEPTH_GRADED, which
	# goes first alternating, DEPTH_PAIRS times.  The report grades the
	# median of the pairs' ratios, which a slow stretch of the host moves
	# far less than the ratio of two medians taken minutes apart.
	if [ -n "${leaf[1]:-}" ] && [ -n "${leaf[$DEPTH_GRADED]:-}" ]; then
		for rep in $(seq 1 "$DEPTH_PAIRS"); do
			for D in $(rotated "$rep" 1 "$DEPTH_GRADED"); do
				depth_read "$D" "$rep" depth-pair || break 2
			done
		done
	fi
	rm -f "$d"/d*-c*.img
}

device_section() {
	local d=$MNT/xfs/fio doff
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
	doff=$(layer_field "$d/dev.img" data_offset)
	if want device; then
		fio_compare "$d" "$doff"
		# fio wrote over the base: give it back its known content, which
		# the deep chains below are checked against.
		"$BD" fill-raw /dev/mapper/bfio "$DMC_TMP/all.runs" 77 direct ||
			{ DEVICE_WHY="refilling the base after fio failed"; chain_remove bfio; return 1; }
	else
		say "device: fio chain / loop / linear skipped (--only $ONLY)"
	fi
	chain_remove bfio
	depth_compare "$d"
	return 0
}
# ---------------------------------------------------------------- fsync --
# Flushes (issue 19): fio 4 KiB random writes with fsync=1 (psync, direct
# I/O), 1 and 16 jobs, on a 1-layer and an 8-layer chain, against a loop
# device with direct I/O over a file of the same size on the same XFS.
# Each device is filled through itself first, so that the writes then
# overwrite in place everywhere (a first write into a 64 KiB block of a
# layer copies the rest of the block from below: a different cost, not
# the flush's).  The 8-layer chain's leaf holds every block over 7 empty
# layers: what is measured is that the layers below add nothing to a
# flush.  Samples: section "fsync", device chain1 / chain8 / loop.
fsync_section() {
	local d=$MNT/xfs/fsync size rep jobs name dev i parent loopdev r iops lat
	size=$(numfmt --from=iec "$FIO_SIZE")
	mkdir -p "$d"
	load_module || { FSYNC_WHY="dm-chain module not loaded: $MODULE_WHY"; return 1; }
	echo "0 $size" > "$DMC_TMP/fsync.runs"
	"$CHAINCTL" layer create -s "$FIO_SIZE" "$d/one.dmc" > /dev/null || die "fsync: one.dmc"
	"$CHAINCTL" layer create -s "$FIO_SIZE" "$d/d0.dmc" > /dev/null || die "fsync: d0.dmc"
	parent=$d/d0.dmc
	for ((i = 1; i < 8; i++)); do
		"$CHAINCTL" layer create --parent "$parent" "$d/d$i.dmc" > /dev/null || die "fsync: d$i"
		parent=$d/d$i.dmc
	done
	truncate -s "$FIO_SIZE" "$d/loop.img"
	chain_create bfs1 "$d/one.dmc" || { FSYNC_WHY="chain1: $CHAIN_WHY"; return 1; }
	chain_create bfs8 "$d/d7.dmc" ||
		{ FSYNC_WHY="chain8: $CHAIN_WHY"; chain_remove bfs1; return 1; }
	loopdev=$(losetup --direct-io=on -f --show "$d/loop.img") || die "fsync: losetup"
	for dev in /dev/mapper/bfs1 /dev/mapper/bfs8 "$loopdev"; do
		"$BD" fill-raw "$dev" "$DMC_TMP/fsync.runs" 91 direct || die "fsync: fill $dev"
	done
	say "fsync: 1-layer and 8-layer chains and a loop device (direct I/O), $FIO_SIZE each, filled"
	for rep in $(seq 1 "$REPEATS"); do
		for jobs in 1 16; do
			for name in $(rotated "$rep" chain1 chain8 loop); do
				case $name in
				chain1) dev=/dev/mapper/bfs1 ;; chain8) dev=/dev/mapper/bfs8 ;; loop) dev=$loopdev ;;
				esac
				fio --name=f --filename="$dev" --direct=1 --ioengine=psync --rw=randwrite \
					--bs=4k --fsync=1 --numjobs="$jobs" --group_reporting \
					--size="$FIO_SIZE" --runtime="$FIO_RUNTIME" --time_based \
					--randrepeat=0 --norandommap --output-format=json \
					> "$DMC_TMP/fio.json" 2> "$DMC_TMP/fio.err" ||
					die "fsync: fio on $dev: $(tail -n 3 "$DMC_TMP/fio.err")"
				r=$(jq -r '.jobs[0].write | "\(.iops) \(.clat_ns.mean / 1000)"' "$DMC_TMP/fio.json")
				read -r iops lat <<< "$r"
				emitj --arg rep "$rep" --arg jobs "$jobs" --arg dev "$name" \
					--arg iops "$iops" --arg lat "$lat" \
					'{section: "fsync", rep: ($rep | num), jobs: ($jobs | num),
					  device: $dev, iops: ($iops | num), lat_us: ($lat | num)}'
				say "  fsync rep $rep $(printf '%2s job%s %-7s %9.0f IOPS' "$jobs" \
					"$([ "$jobs" = 1 ] && echo ' ' || echo s)" "$name" "$iops")"
			done
		done
	done
	chain_remove bfs1
	chain_remove bfs8
	losetup -d "$loopdev"
	rm -rf "$d"
}
FSYNC_WHY=
if ! want fsync; then
	say "fsync benchmark skipped (--only $ONLY)"
elif ! fsync_section; then
	say "fsync benchmark NOT RUN: $FSYNC_WHY"
	emitj --arg why "$FSYNC_WHY" '{section: "fsync-not-run", why: $why}'
fi

# ------------------------------------------------------------- bigchain --
# A deep chain of a big disk (issue 19): BIG_SIZE at 64 KiB blocks,
# BIG_DEPTH layers, every layer but the leaf holding BIG_EXTENTS extents
# of one block scattered over the disk (mkchain --scatter: their maps and
# the extent lists they get when their child is made are written, their
# data area is left a hole), loaded read-only.  Each repeat, caches
# dropped: chainctl device create's time (chain walk and table load and
# resume), what the module reports of its maps' and read index's memory
# (device status -j), the meminfo delta (Slab + VmallocUsed + Percpu);
# then the same table again through dmsetup, its load and its resume
# timed apart (the kernel's part).  Host clock.  Samples: "bigchain".
bigchain_section() {
	local d=$MNT/xfs/big D=$BIG_DEPTH t0 leaf rep m0 m1 js create load resume table
	mkdir -p "$d"
	load_module || { BIG_WHY="dm-chain module not loaded: $MODULE_WHY"; return 1; }
	"$CHAINCTL" layer create -s "$BIG_SIZE" -b 64K "$d/b0.dmc" > /dev/null || die "bigchain: b0"
	say "bigchain: $D layers of $BIG_SIZE, $BIG_EXTENTS scattered 64 KiB extents in each but the leaf"
	t0=$(hostnow)
	leaf=$("$MKCHAIN" --scatter "$BIG_EXTENTS" 19 "$d/b0.dmc" $((D - 1)) "$d/b%u.dmc" \
		2> "$DMC_TMP/err") || { BIG_WHY="mkchain: $(tail -n 2 "$DMC_TMP/err")"; return 1; }
	say "  built in $(host_secs_since "$t0") s ($(du -sh "$d" | cut -f1) on disk)"
	for rep in $(seq 1 "$REPEATS"); do
		drop_caches; m0=$(kmem_kb)
		watch_start big_create
		chain_create bbig "$leaf" --read-only ||
			{ BIG_WHY="chain device of $D layers: $CHAIN_WHY"; return 1; }
		watch_stop big_create
		create=$(watch_secs big_create)
		sync; m1=$(kmem_kb)
		# (a file: at 1024 layers the document is past an argument's limit)
		"$CHAINCTL" device status -j bbig > "$DMC_TMP/big-status.json" ||
			echo '{}' > "$DMC_TMP/big-status.json"
		js=$DMC_TMP/big-status.json
		table=$(dmsetup table bbig)
		chain_remove bbig
		drop_caches
		dmsetup create --noudevsync --notable bbig > /dev/null || die "bigchain: dmsetup create"
		watch_start big_load
		dmsetup load bbig --table "$table" > /dev/null 2> "$DMC_TMP/err" ||
			{ BIG_WHY="dmsetup load: $(tail -n 2 "$DMC_TMP/err")"; dmsetup remove bbig; return 1; }
		watch_stop big_load
		load=$(watch_secs big_load)
		watch_start big_resume
		dmsetup resume --noudevsync bbig > /dev/null || die "bigchain: dmsetup resume"
		watch_stop big_resume
		resume=$(watch_secs big_resume)
		dmsetup remove bbig > /dev/null 2>&1 || chain_remove bbig
		emitj --arg rep "$rep" --arg depth "$D" --arg ext "$BIG_EXTENTS" \
			--arg size "$(numfmt --from=iec "$BIG_SIZE")" --arg create "$create" \
			--arg load "$load" --arg resume "$resume" --arg m0 "$m0" --arg m1 "$m1" \
			--slurpfile sts "$js" \
			'$sts[0] as $st | {section: "bigchain", rep: ($rep | num), depth: ($depth | num),
			  extents_per_layer: ($ext | num), size_bytes: ($size | num),
			  create_s: ($create | num), load_s: ($load | num), resume_s: ($resume | num),
			  map_bytes: ([$st.layers[]?.map_bytes // 0] | add),
			  index_bytes: $st.index_bytes,
			  layers_by_runs: ([$st.layers[]? | select(.runs != null)] | length),
			  runs: ([$st.layers[]?.runs // 0] | add),
			  kmem_delta_kib: (try (($m1 | num) - ($m0 | num)) catch null)}'
		say "  rep $rep: device create $create s (table load $load s, resume $resume s), maps $(jq '[.layers[]?.map_bytes // 0] | add / 1048576 | floor' "$js") MiB, index $(jq '(.index_bytes // 0) / 1048576 | floor' "$js") MiB"
	done
	bigchain_reads "$d" "$leaf" ||
		emitj --arg why "$BIG_WHY" '{section: "bigchain-read-not-run", why: $why}'
	rm -rf "$d"
}

# bigchain_reads DIR LEAF: 4 KiB random reads (fio, iodepth 32) over the
# whole disk of the deep chain at LEAF against a 2-layer chain whose base
# holds as many scattered one-block extents as all the deep chain's
# layers together, its leaf empty: the same share of the disk resolves to
# a layer's data (a hole in its file) and the rest to zeros, so only the
# depth differs.  Both read-only; repeats alternate which goes first.
# Samples: "bigchain-read".
bigchain_reads() {
	local d=$1 leaf=$2 flat rep which l depth r bw iops lat fbw fiops p99
	"$CHAINCTL" layer create -s "$BIG_SIZE" -b 64K "$d/f0.dmc" > /dev/null ||
		{ BIG_WHY="layer create f0.dmc failed"; return 1; }
	flat=$("$MKCHAIN" --scatter $(((BIG_DEPTH - 1) * BIG_EXTENTS)) 23 "$d/f0.dmc" 1 "$d/f%u.dmc" \
		2> "$DMC_TMP/err") || { BIG_WHY="mkchain (2 layers): $(tail -n 2 "$DMC_TMP/err")"; return 1; }
	for rep in $(seq 1 "$REPEATS"); do
		for which in $(rotated "$rep" deep flat); do
			if [ "$which" = deep ]; then l=$leaf depth=$BIG_DEPTH; else l=$flat depth=2; fi
			drop_caches
			chain_create bbig "$l" --read-only ||
				{ BIG_WHY="reads: chain device ($which): $CHAIN_WHY"; return 1; }
			r=$(FIO_SIZE=$BIG_SIZE fio_run /dev/mapper/bbig randread 4k 32) || r=
			chain_remove bbig
			[ -n "$r" ] || { BIG_WHY="fio randread ($which): $(tail -n 3 "$DMC_TMP/fio.err")"; return 1; }
			read -r bw iops lat fbw fiops p99 <<< "$r"
			emitj --arg rep "$rep" --arg which "$which" --arg iops "$iops" --arg lat "$lat" \
				--arg p99 "$p99" --arg fiops "$fiops" \
				--arg depth "$depth" \
				'{section: "bigchain-read", rep: ($rep | num), chain: $which,
				  depth: ($depth | num), job: "randread-4k", iodepth: 32,
				  iops: ($iops | num), lat_us: ($lat | num), lat_p99_us: ($p99 | num),
				  fio_iops: ($fiops | num)}'
			say "  randread-4k rep $rep $(printf '%-5s depth %-5s %9.0f IOPS %8.1f us' "$which" \
				"$depth" "$iops" "$lat")"
		done
	done
}
BIG_WHY=
if ! want bigchain; then
	say "bigchain benchmark skipped (--only $ONLY)"
elif ! bigchain_section; then
	say "bigchain benchmark NOT RUN: $BIG_WHY"
	emitj --arg why "$BIG_WHY" '{section: "bigchain-not-run", why: $why}'
	chain_remove bbig > /dev/null 2>&1 || true
fi

DEVICE_WHY=
depth_fail=0
if ! want depth; then
	say "device benchmarks skipped (--only $ONLY)"
elif ! device_section; then
	say "device benchmarks NOT RUN: $DEVICE_WHY"
	emitj --arg why "$DEVICE_WHY" '{section: "device-not-run", why: $why}'
fi

say "done"
cd /
umount "$MNT/xfs" "$MNT/ext4" 2>/dev/null
[ $merge_fail = 0 ] && [ $live_fail = 0 ] && [ $gentle_fail = 0 ] && [ $sweep_fail = 0 ] &&
	[ $depth_fail = 0 ]
