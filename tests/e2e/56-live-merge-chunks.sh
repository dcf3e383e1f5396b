#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A live merge of one very long run is chunked and pauses while the device
# is suspended (issue 15 item 14).  The leaf holds 256 MiB written as one run
# of present blocks, on XFS, in two passes (even blocks, then odd ones) so
# that the file has one extent per block.
#  - suspend during a copy merge: suspend returns quickly, the merge stays
#    running but moves nothing while suspended, and goes on after resume
#    (before: it kept copying while the device was suspended) at its rate,
#    without a burst: the time suspended does not count toward --rate;
#  - a rate-limited clone of the rest of the run: progress shows less
#    cloned than is left to do (before: the whole run was one clone call,
#    so everything left counted as cloned at once); cancel then lands
#    mid-run and is done within 2 s;
#  - the resumed merge completes and the device reads the same data.
# vm-disks: 1x4G
# vm-timeout: 1200
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
name=dmc-long
dev=/dev/mapper/$name
bs=65536
nblocks=4096
size=$((nblocks * bs))

d=$DMC_TMP/x
check "xfs" fs_make xfs "${DMC_DISK_LIST[0]}" "$d" || done_testing
check "base" "$C" layer create -s $size -b $bs "$d/l0" || done_testing
check "leaf" "$C" layer create --parent "$d/l0" "$d/l1" || done_testing
check "device" "$C" device create "$name" "$d/l1" || done_testing
cleanup_add dmsetup remove --noudevsync "$name"

# Block i holds (i, 0x5eed) repeated: checkable without a reference file.
pattern() {
	/usr/bin/python3 - "$@" <<'EOF'
import mmap, os, struct, sys
mode, dev, n, bs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
buf = mmap.mmap(-1, bs)
if mode == "write":
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    for start in (0, 1):
        for i in range(start, n, 2):
            buf.seek(0)
            buf.write(struct.pack("<QQ", i, 0x5eed) * (bs // 16))
            os.pwrite(fd, buf, i * bs)
        os.fsync(fd)
    os.close(fd)
else:
    fd = os.open(dev, os.O_RDONLY)
    bad = 0
    for i in range(n):
        if os.pread(fd, bs, i * bs) != struct.pack("<QQ", i, 0x5eed) * (bs // 16):
            bad += 1
    os.close(fd)
    print("bad blocks: %d" % bad)
    sys.exit(1 if bad else 0)
EOF
}
check "256 MiB written, even blocks then odd" pattern write "$dev" $nblocks $bs || done_testing
check "blocks read back" pattern check "$dev" $nblocks $bs
diag "leaf extents: $(xfs_io -c 'fiemap' "$d/l1" 2>/dev/null | wc -l)"

merge_field() {
	live_get "$name" | jq -r ".merge.$1"
}

# --- suspend during a copy merge (throttled so it lasts: at 8 MiB/s the
# 256 MiB take 32 s, several times what the steps below need even when a
# loaded host makes every chainctl call slow)
rate=8
check "copy merge at $rate MiB/s" "$C" device merge "$name" --depth 1 --mode copy \
	--rate $rate --no-wait --new-leaf "$d/l3"
for ((i = 0; i < 100; i++)); do
	[ "$(merge_field copied_bytes)" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
t0=$(date +%s%N)
check "suspend" dmsetup suspend --noudevsync "$name"
t1=$(date +%s%N)
diag "suspend took $(((t1 - t0) / 1000000)) ms"
check "suspend answers within 5 s" test $(((t1 - t0) / 1000000)) -lt 5000
c1=$(merge_field copied_bytes)
sleep 5
c2=$(merge_field copied_bytes)
diag "copied while suspended: $c1 -> $c2"
check_eq "merge still running while suspended" running "$(merge_field state)"
check_eq "nothing copied while suspended" "$c1" "$c2"
t2=$(date +%s%N)
check "resume" dmsetup resume --noudevsync "$name"
sleep 2
c3=$(merge_field copied_bytes)
t3=$(date +%s%N)
diag "copied after resume: $c3"
check "copying goes on after resume" test "$c3" -gt "$c2"
# The rate does not count the time suspended: no burst to make up for it
# (the 5 s suspended would be 40 MiB more at once).  Allowed: the rate over
# the time measured from before the resume to after the read (slow when the
# host is loaded), half as much again, plus one 4 MiB chunk.
ms=$(((t3 - t2) / 1000000))
allowed=$(((rate << 20) * ms * 3 / 2 / 1000 + (4 << 20)))
diag "copied in $ms ms after resume: $((c3 - c2)) bytes, allowed $allowed"
check "no catch-up burst after resume" test $((c3 - c2)) -le $allowed
check "cancel the copy merge" "$C" device cancel "$name"
check "copy merge cancelled" live_wait_state "$name" cancelled 30

# --- a chunked clone of the rest of the run, cancelled mid-run
check "resume the merge as a clone at 16 MiB/s" "$C" device merge "$name" \
	--mode clone --rate 16 --no-wait
mid=0
for ((i = 0; i < 20; i++)); do
	st=$(live_get "$name" | jq -c '.merge | [.state, .cloned_bytes, .done_bytes, .total_bytes]')
	diag "clone progress: $st"
	if jq -e '.[0] == "running" and .[1] > 0 and .[1] < .[3] - .[2]' <<<"$st" >/dev/null; then
		mid=1
		break
	fi
	sleep 0.3
done
check_eq "part of the run cloned while the merge runs" 1 "$mid"
check_eq "clone merge running" running "$(merge_field state)"
t0=$(date +%s%N)
check "cancel" "$C" device cancel "$name"
check "clone merge cancelled" live_wait_state "$name" cancelled 120
t1=$(date +%s%N)
diag "cancel to cancelled: $(((t1 - t0) / 1000000)) ms"
check "cancelled within 5 s (TCG, polling included)" test $(((t1 - t0) / 1000000)) -lt 5000
st=$(live_get "$name")
diag "$(jq -c '.merge' <<<"$st")"
check_json "cancelled before the run was merged" "$st" \
	'.merge.done_bytes < .merge.total_bytes'

# --- finish, same data
out=$("$C" device merge "$name" -j)
check_json "resumed merge completes" "$out" '.state == "done" and .resumed == true'
check_eq "2 layers left" 2 "$(live_nr_layers "$name")"
check "device reads the same blocks" pattern check "$dev" $nblocks $bs
check "remove" dmsetup remove --noudevsync "$name"
done_testing
