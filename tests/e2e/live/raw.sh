# SPDX-License-Identifier: GPL-2.0
# Body of tests/e2e/62-live-merge-raw-xfs.sh and 64-live-merge-raw-ext4.sh:
# live merges into a raw base (issue 18; docs/design/raw-live-merge.md),
# the layer files and the raw image on $LIVE_FS (clone on xfs, copy on
# ext4), on dm-flakey so that the power can be cut.  The raw base ends
# 4 KiB into its last 64 KiB block and the top of the range writes there.
#  - weekly folded into base.raw under guest writes and fio with
#    verification: the leaf and daily untouched, daily relinked to the raw
#    base, the raw file the same size, what a reference holds read back,
#    also from a device created again;
#  - everything folded into base.raw (a new leaf on top), cancelled,
#    the device removed and created again, then resumed;
#  - cancelled, then finished offline (`layer check -r` on the journal's
#    holder), which relinks the layer above itself;
#  - a power cut in the middle of a range merge, then the device created
#    again and the re-issued merge finishing, with the flushed data.
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
M=$((1024 * 1024))
size=$((64 * M + 4096))
dev=/dev/mapper/dmc-raw

x=$DMC_TMP/x
live_flakey_mount "$x" || done_testing
if [ "$LIVE_FS" = ext4 ]; then moved=copied_bytes; else moved=cloned_bytes; fi
fio_common=(--filename=$dev --ioengine=libaio --iodepth=16 --direct=1
	--offset=40m --size=16m --bsrange=512-1m
	--verify=crc32c --verify_fatal=1 --do_verify=1 --exitall_on_error
	--group_reporting)
lw() { head -c "$3" /dev/urandom | "$C" layer write "$1" "$2" "$3"; }
info() { "$C" layer info -j "$1" | jq -r "$2"; }
layers() { live_get "$1" | jq -r '[.layers | reverse | .[].path] | join(" ")'; }
text_has() { grep -Eq -- "$2" <<< "$1"; }

# base.raw <- weekly <- daily <- leaf; weekly writes the partial last
# block and zeroes a range the raw base holds data in.
# The raw base is synced: a power cut must not take what the test
# wrote before it (btrfs commits only every 30 s).
rawfill() { head -c "$2" /dev/urandom > "$1" && sync "$1"; }
check "base.raw, 64 MiB + 4 KiB of random bytes" rawfill "$x/base.raw" $size
check "weekly on the raw base" "$C" layer create --parent "$x/base.raw" \
	"$x/weekly.dmc" || done_testing
check "write weekly" lw "$x/weekly.dmc" $((4 * M)) $((8 * M))
check "write weekly's partial last block" lw "$x/weekly.dmc" $((size - 4096)) 4096
check "zero a range in weekly" "$C" layer write --zero "$x/weekly.dmc" \
	$((20 * M)) $((2 * M))
check "daily" "$C" layer create --parent "$x/weekly.dmc" "$x/daily.dmc" || done_testing
check "write daily" lw "$x/daily.dmc" $((10 * M)) $((8 * M))
check "leaf" "$C" layer create --parent "$x/daily.dmc" "$x/leaf.dmc" || done_testing
check "device" "$C" device create dmc-raw "$x/leaf.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-raw
check_eq "4 layers, the base raw" "$x/base.raw $x/weekly.dmc $x/daily.dmc $x/leaf.dmc" \
	"$(layers dmc-raw)"
check "guest writes" dd if=/dev/urandom of=$dev bs=64k count=64 seek=500 \
	oflag=direct status=none

# --- fold weekly into base.raw while the guest writes
ref=$DMC_TMP/ref
check "reference copy" dd if=$dev of="$ref" bs=1M status=none
dgen=$(info "$x/daily.dmc" .generation)
duuid=$(info "$x/daily.dmc" .uuid)
out=$("$C" device merge dmc-raw --into 0 --from 1 --rate 2 --no-wait -j)
check_json "weekly into the raw base: started, running" "$out" \
	'.state == "running" and .source_count == 1 and .target_index == 0 and .keeps_leaf == true'
check "guest writes during the merge" live_scatter $dev "$ref" 62 200 4096
check "fio random write + verify during the merge" \
	fio --name=rand --rw=randwrite "${fio_common[@]}"
check "merge done" live_wait_state dmc-raw done 120
st=$(live_get dmc-raw)
diag "$(jq -c .merge <<< "$st")"
check_json "weekly's 8 MiB moved, $moved, and the 4 KiB tail copied" "$st" \
	".merge.$moved >= 8388608 and .merge.cloned_bytes + .merge.copied_bytes == 8392704"
check "fio verifies its data after the merge" \
	fio --name=rand --rw=randwrite --verify_only "${fio_common[@]}"
dd if=$dev of="$ref" bs=1M skip=40 seek=40 count=16 conv=notrunc status=none
check "device reads what the reference holds" cmp $dev "$ref"
check_eq "the raw base keeps its size" $size "$(stat -c %s "$x/base.raw")"
check_eq "3 layers: base.raw, daily, leaf" "$x/base.raw $x/daily.dmc $x/leaf.dmc" \
	"$(layers dmc-raw)"
check_eq "weekly merged away into the raw base (no uuid)" \
	"merged-away 00000000-0000-0000-0000-000000000000 none" \
	"$(info "$x/weekly.dmc" '"\(.state) \(.merged_into_uuid // "00000000-0000-0000-0000-000000000000") \(.journal.state)"')"
check_eq "daily records the raw base, same uuid and generation" \
	"raw base.raw $size $duuid $dgen" \
	"$(info "$x/daily.dmc" '"\(.parent.kind) \(.parent.path) \(.parent.size_bytes) \(.uuid) \(.generation)"')"
check "device remove" dmsetup remove --noudevsync dmc-raw
check "leaf's chain checks clean offline" "$C" layer check "$x/leaf.dmc"
check "device again from the leaf" "$C" device create dmc-raw "$x/leaf.dmc"
check "reads the reference after re-create" cmp $dev "$ref"

# --- everything into base.raw: new leaf, cancel, re-create, resume
out=$("$C" device merge dmc-raw --into 0 --mode copy --rate 1 --no-wait -j)
check_json "daily + leaf into the raw base: started with a new leaf" "$out" \
	'.state == "running" and .source_count == 2 and .keeps_leaf == false'
nleaf=$(jq -r .new_leaf_path <<< "$out")
check "writes into the new leaf" live_scatter $dev "$ref" 63 100 65536
sleep 2
check "cancel" "$C" device cancel dmc-raw
check "cancelled" live_wait_state dmc-raw cancelled 30
check "reads the reference after the cancel" cmp $dev "$ref"
check_eq "daily holds the journal" merging "$(info "$x/daily.dmc" .journal.state)"
check_eq "the new leaf sits on the old one until the data is in" \
	"layer leaf.dmc" "$(info "$nleaf" '"\(.parent.kind) \(.parent.path)"')"
check "device remove mid-merge" dmsetup remove --noudevsync dmc-raw
check "device create from the new leaf" "$C" device create dmc-raw "$nleaf"
check "reads the reference after re-create" cmp $dev "$ref"
out=$("$C" device merge dmc-raw -j)
check_json "resumed, done" "$out" '.state == "done" and .resumed == true'
check "reads the reference after the resume" cmp $dev "$ref"
check_eq "base.raw and the new leaf" "$x/base.raw $nleaf" "$(layers dmc-raw)"
check_eq "daily and leaf merged away" "merged-away merged-away" \
	"$(live_state "$x/daily.dmc") $(live_state "$x/leaf.dmc")"
check_eq "the new leaf records the raw base" "raw base.raw" \
	"$(info "$nleaf" '"\(.parent.kind) \(.parent.path)"')"
check_eq "the raw base keeps its size" $size "$(stat -c %s "$x/base.raw")"
check "device remove" dmsetup remove --noudevsync dmc-raw
check "the new leaf's chain checks clean offline" "$C" layer check "$nleaf"
check "device again" "$C" device create dmc-raw "$nleaf"
check "reads the reference" cmp $dev "$ref"

# --- cancelled, then finished offline from the journal's holder
check "snapshot: s1" "$C" device snapshot dmc-raw "$x/s1.dmc"
check "writes into s1" live_scatter $dev "$ref" 64 100 65536
out=$("$C" device merge dmc-raw --into 0 --from 1 --mode copy --rate 1 --no-wait -j)
check_json "the new leaf into the raw base: started" "$out" '.state == "running"'
sleep 2
check "cancel" "$C" device cancel dmc-raw
check "cancelled" live_wait_state dmc-raw cancelled 30
check "device remove" dmsetup remove --noudevsync dmc-raw
check_eq "s1 still sits on the layer merged" "layer ${nleaf##*/}" \
	"$(info "$x/s1.dmc" '"\(.parent.kind) \(.parent.path)"')"
"$C" layer check "$nleaf" > /dev/null 2>&1
check_eq "check: the holder's merge is resumable (6)" 6 $?
out=$("$C" layer check -r "$nleaf" 2>&1)
rc=$?
sed 's/^/# /' <<< "$out"
check_eq "check -r finishes it (repaired, 1)" 1 $rc
check_eq "and relinks s1 to the raw base itself" "raw base.raw" \
	"$(info "$x/s1.dmc" '"\(.parent.kind) \(.parent.path)"')"
check_eq "the holder is merged away" merged-away "$(live_state "$nleaf")"
check "s1's chain checks clean" "$C" layer check "$x/s1.dmc"
check "device from s1" "$C" device create dmc-raw "$x/s1.dmc"
check "reads the reference" cmp $dev "$ref"
check "remove it" dmsetup remove --noudevsync dmc-raw

# --- power cut in the middle of a range merge into a raw base
p=$x/p
mkdir -p "$p"
check "cut chain: base.raw, 32 MiB" rawfill "$p/base.raw" $((32 * M))
check "cut chain: mid on a raw base" "$C" layer create --parent "$p/base.raw" \
	"$p/mid.dmc" || done_testing
check "cut chain: write mid" lw "$p/mid.dmc" 0 $((16 * M))
check "cut chain: leaf" "$C" layer create --parent "$p/mid.dmc" "$p/leaf.dmc"
check "cut device" "$C" device create dmc-cut "$p/leaf.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-cut
cref=$DMC_TMP/ref-cut
check "writes on the cut device" dd if=/dev/urandom of=/dev/mapper/dmc-cut \
	bs=64k count=64 seek=300 oflag=direct status=none
check "flush" dd if=/dev/null of=/dev/mapper/dmc-cut conv=notrunc,fsync status=none
check "its reference" dd if=/dev/mapper/dmc-cut of="$cref" bs=1M status=none
out=$("$C" device merge dmc-cut --into 0 --from 1 --mode copy --rate 1 --no-wait 2>&1)
check_eq "slow range merge (mid into base.raw, --rate 1)" 0 $?
sleep 3
live_power_cut dmc-cut "$x" || done_testing
"$C" layer check "$p/mid.dmc" > "$DMC_TMP/check.out" 2>&1
check_eq "mid holds a resumable merge (check exit 6)" 6 $?
sed 's/^/# /' "$DMC_TMP/check.out"
check_eq "leaf still sits on mid (relinked only after the data)" "layer mid.dmc" \
	"$(info "$p/leaf.dmc" '"\(.parent.kind) \(.parent.path)"')"
check "device created again from the leaf" "$C" device create dmc-cut "$p/leaf.dmc"
check "it shows everything flushed before the merge" cmp /dev/mapper/dmc-cut "$cref"
out=$("$C" device merge dmc-cut -j)
check_json "the re-issued merge resumed and completed" "$out" \
	'.state == "done" and .resumed == true'
check "same data after it" cmp /dev/mapper/dmc-cut "$cref"
check_eq "mid merged away" merged-away "$(live_state "$p/mid.dmc")"
check_eq "leaf records the raw base" "raw base.raw" \
	"$(info "$p/leaf.dmc" '"\(.parent.kind) \(.parent.path)"')"
check_eq "the raw base keeps its size" $((32 * M)) "$(stat -c %s "$p/base.raw")"
check "remove" dmsetup remove --noudevsync dmc-cut
check "leaf's chain checks clean offline" "$C" layer check "$p/leaf.dmc"

check_eq "no kernel splat" "" "$(kernel_log_splats)"
done_testing
