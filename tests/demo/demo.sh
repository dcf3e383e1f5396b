#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`, the part that runs inside the test VM (tests/demo/run boots
# it): build a 4 GiB chain (base with content + a child with 1 GiB of
# scattered writes), then merge the child into the base on XFS (clone path)
# and the same chain on ext4 (copy path), and print what happened side by
# side.  /dev/vda becomes XFS, /dev/vdb ext4.
set -uo pipefail
. "$DMC_ROOT/tests/bench/vmlib.sh"
parse_common_args "$@"

MNT=$DMC_TMP/mnt
VSIZE=4G
BASE_RUNS=256 BASE_RUN=1M	# 256 MiB of content in the base (sparse)
CHILD_RUNS=4096 CHILD_RUN=256K	# 1 GiB of scattered writes in the child
BASE_SEED=11 CHILD_SEED=22

need_tools "$CHAINCTL" "$BENCHBIN/benchdata" mkfs.xfs mkfs.ext4 jq
[ ${#DMC_DISK_LIST[@]} -ge 2 ] || die "needs two scratch disks (tests/vm/run -d 8G -d 8G)"
"$CHAINCTL" layer help > /dev/null 2>&1 || die "chainctl has no 'layer' commands yet"

say "dm-chain demo: $("$CHAINCTL" -V 2>/dev/null | head -n 1), kernel $(uname -r)"
say "making XFS (reflink) on ${DMC_DISK_LIST[0]} and ext4 on ${DMC_DISK_LIST[1]}"
fs_mount xfs "${DMC_DISK_LIST[0]}" $MNT/xfs
fs_mount ext4 "${DMC_DISK_LIST[1]}" $MNT/ext4

"$BENCHBIN/benchdata" runs $VSIZE $BASE_RUNS $BASE_RUN $BASE_SEED > "$DMC_TMP/base.runs"
"$BENCHBIN/benchdata" runs $VSIZE $CHILD_RUNS $CHILD_RUN $CHILD_SEED > "$DMC_TMP/child.runs"

# Writes go through the chain device when the target works, else straight
# into the layer file offline (benchdata fill-layer, same bytes, same map).
WRITE_HOW=
if load_module; then
	say "dm-chain module loaded"
else
	say "WARNING: dm-chain module not loaded ($MODULE_WHY)"
fi

# write_layer LEAF RUNS SEED WHAT
write_layer() {
	local leaf=$1 runs=$2 seed=$3 what=$4 t0
	t0=$(hostnow)
	if grep -q '^dm_chain ' /proc/modules && chain_create demo "$leaf"; then
		say "  writing $what through /dev/mapper/demo ($CHAIN_HOW)"
		"$BENCHBIN/benchdata" fill-raw /dev/mapper/demo "$runs" "$seed" direct ||
			die "writing through /dev/mapper/demo"
		chain_remove demo || die "removing /dev/mapper/demo"
		WRITE_HOW="through the chain device (/dev/mapper/demo, $CHAIN_HOW, O_DIRECT)"
	else
		[ -n "$CHAIN_WHY" ] && say "  WARNING: no chain device: $CHAIN_WHY"
		say "  writing $what offline into $leaf (benchdata fill-layer: data at data_offset + offset, map set to DATA)"
		"$BENCHBIN/benchdata" fill-layer "$leaf" "$runs" "$seed" || die "fill-layer $leaf"
		WRITE_HOW="offline into the layer file (tests/bench/benchdata fill-layer), the chain device did not work: ${CHAIN_WHY:-$MODULE_WHY}"
	fi
	say "  done in $(host_secs_since "$t0") s"
}

# build_chain FS: the same chain (same bytes) built on one filesystem.
build_chain() {
	local fs=$1
	cd "$MNT/$fs" || die "cd $MNT/$fs"
	say "[$fs] creating a 4 GiB base layer (64 KiB blocks) with 256 MiB of content in 1 MiB runs (sparse: the rest reads as zeros)"
	"$CHAINCTL" layer create -s $VSIZE base.img > /dev/null || die "layer create base.img"
	write_layer base.img "$DMC_TMP/base.runs" $BASE_SEED "256 MiB of base content"
	say "[$fs] creating a child layer of base.img"
	"$CHAINCTL" layer create --parent base.img child.img > /dev/null || die "layer create --parent"
	write_layer child.img "$DMC_TMP/child.runs" $CHILD_SEED "1 GiB of scattered writes (4096 runs of 256 KiB)"
	"$CHAINCTL" layer check child.img > /dev/null ||
		die "chainctl layer check child.img: $("$CHAINCTL" layer check child.img 2>&1)"
	say "[$fs] chain: $("$CHAINCTL" layer info -j child.img | jq -r '"child \(.data_blocks) data blocks of \(.block_size_bytes / 1024) KiB"'), $("$CHAINCTL" layer info -j base.img | jq -r '"base \(.data_blocks) data blocks"')"
}
build_chain xfs
build_chain ext4

declare -A R
# demo_merge FS: flatten before, merge, flatten after, record the numbers.
demo_merge() {
	local fs=$1 dir=$MNT/$1 out t0 used0 used1 json
	cd "$dir" || die "cd $dir"
	say "[$fs] flattening the chain before the merge (chainctl layer flatten child.img) and taking its digest"
	t0=$(hostnow)
	"$CHAINCTL" layer flatten child.img flat.raw > /dev/null 2> "$DMC_TMP/err" ||
		die "[$fs] flatten before: $(cat "$DMC_TMP/err")"
	R[$fs.before]=$("$BENCHBIN/benchdata" digest flat.raw | sed 's/ .*//; s/digest=//')
	rm -f flat.raw
	say "  digest $(printf %s "${R[$fs.before]}") ($(host_secs_since "$t0") s)"
	used0=$(fs_used "$dir")
	R[$fs.leaf]=base.img
	if grep -q '^dm_chain ' /proc/modules && chain_create demo child.img; then
		say "[$fs] merging child.img into base.img live, under /dev/mapper/demo: chainctl device merge demo"
		watch_start demo_merge
		json=$("$CHAINCTL" device merge demo -j 2> "$DMC_TMP/err") ||
			die "[$fs] chainctl device merge failed (exit $?): $(cat "$DMC_TMP/err")"
		watch_stop demo_merge
		R[$fs.wall]=$(watch_secs demo_merge)
		R[$fs.how]="live"
		R[$fs.cloned]=$(jq -r .cloned_bytes <<< "$json")
		R[$fs.copied]=$(jq -r .copied_bytes <<< "$json")
		R[$fs.calls]=$(jq -r '"kernel: \(.elapsed_ns / 1e6 | floor) ms, longest I/O pause \(.pause_ns / 1e3 | floor) us"' <<< "$json")
		R[$fs.leaf]=$(jq -r .new_leaf_path <<< "$json")
		chain_remove demo || die "removing /dev/mapper/demo"
		R[$fs.refused]=
	else
		say "  WARNING: no chain device (${CHAIN_WHY:-$MODULE_WHY}): merging offline"
		say "[$fs] merging child.img into base.img offline: chainctl layer merge child.img"
		watch_start demo_merge
		json=$("$CHAINCTL" layer merge -j child.img 2> "$DMC_TMP/err") ||
			die "[$fs] chainctl layer merge failed (exit $?): $(cat "$DMC_TMP/err")"
		watch_stop demo_merge
		R[$fs.wall]=$(watch_secs demo_merge)
		R[$fs.how]="offline"
		R[$fs.cloned]=$(jq -r .cloned_bytes <<< "$json")
		R[$fs.copied]=$(jq -r .copied_bytes <<< "$json")
		R[$fs.calls]=$(jq -r '"\(.clone_call_count) clone calls, \(.copy_range_count) copied ranges"' <<< "$json")
		R[$fs.refused]=$(jq -r '[.clone_refused[] | "\(.reason)"] | join("; ")' <<< "$json")
	fi
	sync
	used1=$(fs_used "$dir")
	R[$fs.used]=$((used1 - used0))
	say "  merged ${R[$fs.how]} in ${R[$fs.wall]} s: cloned $(hsize "${R[$fs.cloned]}"), copied $(hsize "${R[$fs.copied]}") (${R[$fs.calls]})"
	say "[$fs] flattening the chain after the merge (${R[$fs.leaf]}) and taking its digest"
	t0=$(hostnow)
	"$CHAINCTL" layer flatten "${R[$fs.leaf]}" flat.raw > /dev/null 2> "$DMC_TMP/err" ||
		die "[$fs] flatten after: $(cat "$DMC_TMP/err")"
	R[$fs.after]=$("$BENCHBIN/benchdata" digest flat.raw | sed 's/ .*//; s/digest=//')
	rm -f flat.raw
	say "  digest ${R[$fs.after]} ($(host_secs_since "$t0") s)"
	R[$fs.state]=$("$CHAINCTL" layer info -j child.img 2>/dev/null | jq -r .state)
}
demo_merge xfs
demo_merge ext4

match() { [ "${R[$1.before]}" = "${R[$1.after]}" ] && echo yes || echo "NO"; }
echo "=====SUMMARY====="
echo "dm-chain demo: merge a child holding 1 GiB of scattered writes into a 4 GiB base"
echo "(XFS: ${R[xfs.how]}, ext4: ${R[ext4.how]}; a live merge runs in the kernel under /dev/mapper/demo"
echo "and leaves an empty new leaf on top of the base)"
echo "writes went $WRITE_HOW"
echo
printf '%-30s %-24s %-24s\n' "" "XFS (clone path)" "ext4 (copy path)"
printf '%-30s %-24s %-24s\n' "merge time (wall)" "${R[xfs.wall]} s" "${R[ext4.wall]} s"
printf '%-30s %-24s %-24s\n' "merge" "${R[xfs.how]}" "${R[ext4.how]}"
printf '%-30s %-24s %-24s\n' "bytes cloned" "$(hsize "${R[xfs.cloned]}")" "$(hsize "${R[ext4.cloned]}")"
printf '%-30s %-24s %-24s\n' "bytes copied" "$(hsize "${R[xfs.copied]}")" "$(hsize "${R[ext4.copied]}")"
printf '%-30s %-24s %-24s\n' "free space used by the merge" "$(hsize "${R[xfs.used]}")" "$(hsize "${R[ext4.used]}")"
printf '%-30s %-24s %-24s\n' "flattened digest before" "${R[xfs.before]}" "${R[ext4.before]}"
printf '%-30s %-24s %-24s\n' "flattened digest after" "${R[xfs.after]}" "${R[ext4.after]}"
printf '%-30s %-24s %-24s\n' "before == after" "$(match xfs)" "$(match ext4)"
printf '%-30s %-24s %-24s\n' "child afterwards" "${R[xfs.state]}" "${R[ext4.state]}"
echo
[ -n "${R[ext4.refused]}" ] && echo "ext4: cloning refused: ${R[ext4.refused]}"
echo "digest: benchdata digest, a 64-bit hash of every non-zero 64 KiB chunk of the"
echo "flattened 4 GiB image with its position (holes skipped); equal digests = equal content."
echo "free space used: df on the filesystem after the merge minus before (sync'd)."
echo "Times are under QEMU software emulation: compare the two columns, not the seconds."

rc=0
[ "$(match xfs)" = yes ] || { echo "FAILED: XFS content changed by the merge"; rc=1; }
[ "$(match ext4)" = yes ] || { echo "FAILED: ext4 content changed by the merge"; rc=1; }
[ "${R[xfs.before]}" = "${R[ext4.before]}" ] || { echo "FAILED: the XFS and ext4 chains differ"; rc=1; }
[ "${R[xfs.copied]}" = 0 ] || echo "NOTE: the XFS merge copied bytes; the clone path was not used throughout"
cd /
umount $MNT/xfs $MNT/ext4 2>/dev/null
exit $rc
