#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Quick relative throughput check of the chain target (a development aid;
# `make bench` is the real benchmark).  Run through tests/vm/run with one
# scratch disk: tests/vm/run -d 4G tests/e2e/target/quickbench.sh [RUNTIME]
# Same 256 MiB file, interleaved rounds: a 1-layer chain (dm-chain layer
# file, all blocks present), a loop device with direct I/O, dm-linear over
# that loop device; then 4 KiB random read at depth 64 (data in the base)
# vs depth 1.  Prints one line per sample and the medians.
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
set -u
rt=${1:-5}
need_module || exit 1
cd "$DMC_TMP" || exit 1
mnt=$DMC_TMP/m
fs_make xfs "${DMC_DISK_LIST[0]}" "$mnt" || exit 1
size=$((256 * 1024 * 1024))
C=$CHAINCTL

# A layer with every block present, and a raw copy for loop.
$C layer create -s $size -b 65536 "$mnt/full" > /dev/null
head -c $size /dev/urandom > "$mnt/data"
$C layer write "$mnt/full" 0 $size < "$mnt/data"
off=$($C layer info -j "$mnt/full" | jq .data_offset_bytes)
loopdev=$(losetup --show -f --direct-io=on -o "$off" --sizelimit $size "$mnt/full")
dmsetup create --noudevsync lin --table "0 $((size / 512)) linear $loopdev 0"
dmsetup mknodes lin

one() {	# one NAME DEV RW BS -> MiB/s
	local j
	j=$(fio --name=b --filename="$2" --rw="$3" --bs="$4" --iodepth=32 \
		--ioengine=libaio --direct=1 --size=$size --runtime="$rt" \
		--time_based --output-format=json 2>/dev/null) || { echo 0; return; }
	jq '[.jobs[0].read.bw_bytes, .jobs[0].write.bw_bytes] | add / 1048576 | floor' <<< "$j"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A res
for w in "read 1m" "write 1m" "randread 4k" "randwrite 4k"; do
	set -- $w
	for round in 1 2 3; do
		# the chain holds the layer exclusively; loop does not care
		dmsetup create --noudevsync chn --table "0 $((size / 512)) chain 1 $mnt/full"
		dmsetup mknodes chn
		v=$(one chain /dev/mapper/chn "$1" "$2"); res[chain $w]+="$v "
		dmsetup remove --noudevsync chn
		v=$(one loop "$loopdev" "$1" "$2"); res[loop $w]+="$v "
		v=$(one linear /dev/mapper/lin "$1" "$2"); res[linear $w]+="$v "
	done
	for who in chain loop linear; do
		echo "bench: $who $w MiB/s samples: ${res[$who $w]} median: $(tr ' ' '\n' <<< "${res[$who $w]}" | grep . | median)"
	done
done
dmsetup remove --noudevsync lin
losetup -d "$loopdev"

# depth 64 (data in the base, 63 empty layers above) vs depth 1
$C layer create --parent "$mnt/full" "$mnt/c1" > /dev/null
prev=$mnt/c1
for ((i = 2; i < 64; i++)); do
	$C layer create --parent "$prev" "$mnt/c$i" > /dev/null; prev=$mnt/c$i
done
t64="$mnt/full"; for ((i = 1; i < 64; i++)); do t64+=" $mnt/c$i"; done
for round in 1 2 3; do
	dmsetup create --noudevsync --readonly d1 --table "0 $((size / 512)) chain 1 $mnt/full 1 read_only"
	dmsetup mknodes d1
	v=$(one d1 /dev/mapper/d1 randread 4k); res[d1]+="$v "
	dmsetup remove --noudevsync d1
	dmsetup create --noudevsync --readonly d64 --table "0 $((size / 512)) chain 64 $t64 1 read_only"
	dmsetup mknodes d64
	v=$(one d64 /dev/mapper/d64 randread 4k); res[d64]+="$v "
	dmsetup remove --noudevsync d64
done
echo "bench: depth1 randread 4k MiB/s samples: ${res[d1]} median: $(tr ' ' '\n' <<< "${res[d1]}" | grep . | median)"
echo "bench: depth64 randread 4k MiB/s samples: ${res[d64]} median: $(tr ' ' '\n' <<< "${res[d64]}" | grep . | median)"
rmmod dm_chain
