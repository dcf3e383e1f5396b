# SPDX-License-Identifier: GPL-2.0
# Body of tests/e2e/5[89]-live-merge-intermediate-*.sh and
# 60-live-merge-intermediate-ext4.sh: intermediate live merges (issue 18;
# docs/design/intermediate-live-merge.md) with the layer files on
# $LIVE_FS (clone on xfs and btrfs, copy on ext4), on dm-flakey so that
# the power can be cut:
#  - the request's range (chainctl device merge NAME --into P --from TOP,
#    DM_CHAIN_MERGE_A_TOP) is checked with a precise message for every bad
#    range, and a refusal writes nothing;
#  - daily folded into weekly under scattered guest writes and fio with
#    verification keeps the leaf, relinks it to weekly, reads what a
#    reference file holds, also from a device created again; bytes cloned
#    or copied as the filesystem allows;
#  - a cancelled range merge two layers below the leaf is resumed after
#    the device is removed and created again (live leap);
#  - a power cut in the middle of a range merge: after the "reboot" the
#    device is created again from the leaf and the re-issued merge
#    finishes, with the flushed data intact;
#  - a TOP that is the leaf is the ordinary merge;
#  - a range merge stopped between its journal and the relink of the layer
#    above (kept in another directory, made read-only) is finished offline
#    by 'layer check -r' from the journal's relink record, and live by the
#    merge issued again once that layer is writable;
#  - the status flag DM_CHAIN_MERGE_A_KEEPS_LEAF: JSON "keeps_leaf" true for
#    range merges and resumes (answer, GET), false for a merge that adds a
#    leaf; the text says "leaf unchanged" and never "new leaf" for them.
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
GENL="/usr/bin/python3 $DMC_ROOT/tests/e2e/live/genl.py"
size=$((64 * 1024 * 1024))
dev=/dev/mapper/dmc-im

x=$DMC_TMP/x
live_flakey_mount "$x" || done_testing
if [ "$LIVE_FS" = ext4 ]; then moved=copied_bytes; else moved=cloned_bytes; fi
fio_common=(--filename=$dev --ioengine=libaio --iodepth=16 --direct=1
	--offset=40m --size=24m --bsrange=512-1m
	--verify=crc32c --verify_fatal=1 --do_verify=1 --exitall_on_error
	--group_reporting)

# base <- weekly <- daily <- leaf, each with its own data (a layer is
# written before its child is made: a write moves its generation on)
M=$((1024 * 1024))
lw() { head -c "$3" /dev/urandom | "$C" layer write "$1" "$2" "$3"; }
check "base" "$C" layer create -s $size "$x/base.dmc" || done_testing
check "write base" lw "$x/base.dmc" 0 $((8 * M))
check "weekly" "$C" layer create --parent "$x/base.dmc" "$x/weekly.dmc" || done_testing
check "write weekly" lw "$x/weekly.dmc" $((4 * M)) $((8 * M))
check "daily" "$C" layer create --parent "$x/weekly.dmc" "$x/daily.dmc" || done_testing
check "write daily" lw "$x/daily.dmc" $((10 * M)) $((8 * M))
check "leaf" "$C" layer create --parent "$x/daily.dmc" "$x/leaf.dmc" || done_testing
check "device" "$C" device create dmc-im "$x/leaf.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-im
check "guest writes" dd if=/dev/urandom of=$dev bs=64k count=64 seek=200 \
	oflag=direct status=none
# text_has TEXT ERE / text_lacks TEXT ERE: a command's text output
text_has() { grep -Eq -- "$2" <<< "$1"; }
text_lacks() { ! grep -Eq -- "$2" <<< "$1"; }
hdrs() { sha256sum "$x"/*.dmc | awk '{print $1}' | tr '\n' ' '; }
h0=$(hdrs)
files0=$(ls "$x")

# --- bad ranges, each with its message
check_fail_code "--from without --into: usage error" 2 "--from needs --into" \
	"$C" device merge dmc-im --from 2
check_fail_msg "--from not above --into" \
	"Top layer of the range must be above the target" \
	"$C" device merge dmc-im --into 2 --from 2
check_fail_msg "--from below --into" \
	"Top layer of the range must be above the target" \
	"$C" device merge dmc-im --into 2 --from 1
check_fail_msg "--from beyond the leaf" "Top layer index is beyond the leaf" \
	"$C" device merge dmc-im --into 0 --from 4
check_fail_msg "--from a file that is no layer of the device" \
	"not a layer of dmc-im" \
	"$C" device merge dmc-im --into 0 --from /etc/hostname
check_fail_code "--from with --new-leaf: usage error" 2 "adds no new leaf" \
	"$C" device merge dmc-im --into 0 --from 1 --new-leaf "$x/n.dmc"
check_fail_msg "TOP without INTO (bare netlink): EINVAL" \
	"^errno=EINVAL msg=a top layer needs a target layer \(INTO\)" \
	$GENL merge-top dmc-im 2

check_eq "the refusals changed no layer file" "$h0" "$(hdrs)"
check_eq "and created none" "$files0" "$(ls "$x")"
check_json "no merge started" "$(live_get dmc-im)" \
	'.merge == null or .merge.state == "none"'

# --- fold daily into weekly while the guest writes
ref=$DMC_TMP/ref
check "reference copy" dd if=$dev of="$ref" bs=1M status=none
info() { "$C" layer info -j "$1" | jq -r "$2"; }
wgen=$(info "$x/weekly.dmc" .generation)
wuuid=$(info "$x/weekly.dmc" .uuid)
lgen=$(info "$x/leaf.dmc" .generation)
out=$("$C" device merge dmc-im --into 1 --from 2 --rate 1 --no-wait -j)
check_json "range merge started, running" "$out" \
	'.state == "running" and .source_count == 1 and .target_index == 1'
check_json "its answer: keeps_leaf (no new leaf)" "$out" '.keeps_leaf == true'
json_valid "its answer is valid against its schema" device-merge "$out"
check "guest writes during the merge" live_scatter $dev "$ref" 58 300 4096
check_json "still running after them" "$(live_get dmc-im)" \
	'.merge.state == "running"'
check "fio random write + verify during the merge" \
	fio --name=rand --rw=randwrite "${fio_common[@]}"
check "merge done" live_wait_state dmc-im done 120
st=$(live_get dmc-im)
diag "$(jq -c .merge <<< "$st")"
check_json "device status: the done range merge keeps the leaf" "$st" \
	'.merge.keeps_leaf == true'
json_valid "device status -j is valid against its schema" device-status "$st"
check "device status text: the merge line says leaf unchanged" text_has \
	"$("$C" device status dmc-im)" "^merge: .*1 layer into layer 1 .*, leaf unchanged"
check_json "8 MiB moved, $moved" "$st" ".merge.$moved == 8388608"
check "fio verifies its data after the merge" \
	fio --name=rand --rw=randwrite --verify_only "${fio_common[@]}"
# fio verified its own region; take it into the reference.
dd if=$dev of="$ref" bs=1M skip=40 seek=40 count=24 conv=notrunc status=none
check "device reads what the reference holds" cmp $dev "$ref"
check_eq "3 layers: base, weekly, leaf" \
	"$x/base.dmc $x/weekly.dmc $x/leaf.dmc" \
	"$(live_get dmc-im | jq -r '[.layers | reverse | .[].path] | join(" ")')"
check_eq "daily merged away" merged-away "$(live_state "$x/daily.dmc")"
check_eq "leaf still valid" valid "$(live_state "$x/leaf.dmc")"
check_eq "leaf's parent is weekly" "weekly.dmc $wuuid $((wgen + 1))" \
	"$(info "$x/leaf.dmc" '"\(.parent.path) \(.parent.uuid) \(.parent.generation)"')"
check_eq "leaf's generation unchanged" "$lgen" "$(info "$x/leaf.dmc" .generation)"
check_eq "weekly: new generation, no journal" "$((wgen + 1)) none" \
	"$(info "$x/weekly.dmc" '"\(.generation) \(.journal.state)"')"
check "device remove" dmsetup remove --noudevsync dmc-im
check "leaf's chain checks clean offline" "$C" layer check "$x/leaf.dmc"
check "device again from the leaf" "$C" device create dmc-im "$x/leaf.dmc"
check "reads the reference after re-create" cmp $dev "$ref"

# --- cancel, remove, create again (live leap), resume
check "snapshot: base, weekly, leaf, leaf-1" "$C" device snapshot dmc-im \
	"$x/top.dmc"
check "writes into the new leaf" live_scatter $dev "$ref" 59 100 65536
out=$("$C" device merge dmc-im --into 0 --from 1 --mode copy --rate 1 \
	--no-wait -j)
check_json "weekly into base, copy mode, started" "$out" '.state == "running" and .keeps_leaf == true'
sleep 2
check "cancel" "$C" device cancel dmc-im
check "cancelled" live_wait_state dmc-im cancelled 30
check "reads the reference after the cancel" cmp $dev "$ref"
check_eq "leaf relinked to base (leap)" "base.dmc" "$(info "$x/leaf.dmc" .parent.path)"
check_eq "base holds the journal" merging "$(info "$x/base.dmc" .journal.state)"
check "device remove mid-merge" dmsetup remove --noudevsync dmc-im
check "device create from the top leaf (live leap)" \
	"$C" device create dmc-im "$x/top.dmc"
check_eq "4 layers again" 4 "$(live_nr_layers dmc-im)"
check "reads the reference after re-create" cmp $dev "$ref"
out=$("$C" device merge dmc-im -j)
check_json "resumed, done" "$out" '.state == "done" and .resumed == true'
check_json "a resume adds no leaf: keeps_leaf" "$out" '.keeps_leaf == true'
check "reads the reference after the resume" cmp $dev "$ref"
check_eq "base, leaf, top" "$x/base.dmc $x/leaf.dmc $x/top.dmc" \
	"$(live_get dmc-im | jq -r '[.layers | reverse | .[].path] | join(" ")')"
check_eq "weekly merged away" merged-away "$(live_state "$x/weekly.dmc")"
check "device remove" dmsetup remove --noudevsync dmc-im
check "top's chain checks clean offline" "$C" layer check "$x/top.dmc"
check "device again" "$C" device create dmc-im "$x/top.dmc"
check "reads the reference" cmp $dev "$ref"

# --- TOP the leaf: the ordinary merge of everything above INTO
out=$("$C" device merge dmc-im --into 0 --from "$x/top.dmc" -j)
check_json "--from the leaf: an ordinary merge, done" "$out" \
	'.state == "done" and .source_count == 2 and .target_index == 0'
check_json "it adds a leaf: keeps_leaf false" "$out" '.keeps_leaf == false'
check_eq "then 2 layers (base, new leaf)" 2 "$(live_nr_layers dmc-im)"
check "device reads the same after it" cmp $dev "$ref"
check_eq "old leaf merged away" merged-away "$(live_state "$x/top.dmc")"
check "device remove" dmsetup remove --noudevsync dmc-im
leaf=$(ls -t "$x"/top-*.dmc | head -n 1)
check "device again from the new leaf" "$C" device create dmc-im "$leaf"
check "reads the same after re-create" cmp $dev "$ref"

# --- the text of a range merge and of one that adds a leaf
check "snapshot: base, leaf, s1" "$C" device snapshot dmc-im "$x/s1.dmc"
out=$("$C" device merge dmc-im --into 0 --from 1 2>&1)
check_eq "range merge, text: exit 0" 0 $?
sed 's/^/# /' <<< "$out"
check "its text: merged 1 layer into base" \
	text_has "$out" "^merged 1 layer into $x/base\.dmc in "
check "its text: folded, leaf unchanged (s1)" \
	text_has "$out" "^folded 1 layer into $x/base\.dmc; leaf unchanged: $x/s1\.dmc\$"
check "its text never says new leaf" text_lacks "$out" "new leaf"
check "reads the same after it" cmp $dev "$ref"
out=$("$C" device merge dmc-im 2>&1)
check_eq "merge of the leaf, text: exit 0" 0 $?
sed 's/^/# /' <<< "$out"
check "its text names a new leaf" text_has "$out" "^new leaf: $x/s1-.*\.dmc \("
check "and does not say leaf unchanged" text_lacks "$out" "leaf unchanged"
check "reads the same after it" cmp $dev "$ref"
check "remove it" dmsetup remove --noudevsync dmc-im

# --- power cut in the middle of a range merge
p=$x/p
mkdir -p "$p"
check "cut chain: base" "$C" layer create -s $size "$p/base.dmc" || done_testing
check "cut chain: write base" lw "$p/base.dmc" 0 $((16 * M))
check "cut chain: mid" "$C" layer create --parent "$p/base.dmc" "$p/mid.dmc"
check "cut chain: write mid" lw "$p/mid.dmc" $((8 * M)) $((16 * M))
check "cut chain: leaf" "$C" layer create --parent "$p/mid.dmc" "$p/leaf.dmc"
check "cut device" "$C" device create dmc-cut "$p/leaf.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-cut
cref=$DMC_TMP/ref-cut
check "writes on the cut device" dd if=/dev/urandom of=/dev/mapper/dmc-cut \
	bs=64k count=64 seek=600 oflag=direct status=none
check "flush" dd if=/dev/null of=/dev/mapper/dmc-cut conv=notrunc,fsync status=none
check "its reference" dd if=/dev/mapper/dmc-cut of="$cref" bs=1M status=none
out=$("$C" device merge dmc-cut --into 0 --from 1 --rate 1 --no-wait 2>&1)
check_eq "slow range merge (mid into base, --rate 1)" 0 $?
check "its text: running, folding 1 layer into base, leaf unchanged" \
	text_has "$out" "^dmc-cut: merge running: folding 1 layer into $p/base\.dmc; leaf unchanged\$"
check "its text never says new leaf" text_lacks "$out" "new leaf"
sleep 3
live_power_cut dmc-cut "$x" || done_testing
"$C" layer check "$p/base.dmc" > "$DMC_TMP/check.out" 2>&1
check_eq "base holds a resumable merge (check exit 6)" 6 $?
sed 's/^/# /' "$DMC_TMP/check.out"
check_eq "leaf relinked to base before the cut" "base.dmc" \
	"$(info "$p/leaf.dmc" .parent.path)"
check "device created again from the leaf (live leap)" \
	"$C" device create dmc-cut "$p/leaf.dmc"
check_eq "its table: base, mid, leaf" \
	"0 $((size / 512)) chain 3 $p/base.dmc $p/mid.dmc $p/leaf.dmc" \
	"$(dmsetup table dmc-cut)"
check "it shows everything flushed before the merge" cmp /dev/mapper/dmc-cut "$cref"
out=$("$C" device merge dmc-cut 2>&1)
check_eq "re-issued merge (text): exit 0" 0 $?
sed 's/^/# /' <<< "$out"
check_json "it resumed and completed" "$(live_get dmc-cut)" \
	'.merge.state == "done" and .merge.resumed == true and .merge.keeps_leaf == true'
check "its text: resumed, folded, leaf unchanged" text_has "$out" \
	"^folded 1 layer into $p/base\.dmc; leaf unchanged: $p/leaf\.dmc\$"
check "its text never says new leaf" text_lacks "$out" "new leaf"
check "same data after it" cmp /dev/mapper/dmc-cut "$cref"
check_eq "mid merged away" merged-away "$(live_state "$p/mid.dmc")"
check "remove" dmsetup remove --noudevsync dmc-cut
check "leaf's chain checks clean offline" "$C" layer check "$p/leaf.dmc"

# --- the relink record: the layer above the range in another directory
# base <- mid <- above <- leaf, with above kept in another directory on a
# read-only bind mount: the kernel writes the journal (with its relink
# record) and then cannot relink above, so the merge stops between the
# two, the window in which a finisher that looks for children in mid's
# directory only would mark mid merged-away under above.  Offline 'layer
# check -r' must relink above from the record (docs/format.md).
qa=$x/qa
mkdir -p "$qa" "$x/qa-rw"
check "bind mount of the other directory" mount --bind "$x/qa-rw" "$qa"
cleanup_add umount "$qa"
# record_chain DIR NAME: DIR/base <- DIR/mid <- $qa/NAME <- DIR/leaf, each
# with data; then $qa read-only.
record_chain() {
	mkdir -p "$1"
	check "record chain $1: base" "$C" layer create -s $size "$1/base.dmc" || done_testing
	check "record chain $1: write base" lw "$1/base.dmc" 0 $((8 * M))
	check "record chain $1: mid" "$C" layer create --parent "$1/base.dmc" "$1/mid.dmc"
	check "record chain $1: write mid" lw "$1/mid.dmc" $((4 * M)) $((8 * M))
	check "record chain $1: $2, in another directory" \
		"$C" layer create --parent "$1/mid.dmc" "$qa/$2"
	check "record chain $1: write $2" lw "$qa/$2" $((6 * M)) $((4 * M))
	check "record chain $1: leaf on $2" "$C" layer create --parent "$qa/$2" "$1/leaf.dmc"
	check "the other directory read-only" mount -o remount,bind,ro "$qa"
}
q=$x/q
record_chain "$q" above.dmc
check "record device" "$C" device create dmc-rec "$q/leaf.dmc" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-rec
rref=$DMC_TMP/ref-rec
check "its reference" dd if=/dev/mapper/dmc-rec of="$rref" bs=1M status=none
auuid=$(info "$qa/above.dmc" .uuid)
bgen=$(info "$q/base.dmc" .generation)
out=$("$C" device merge dmc-rec --into 0 --from 1 2>&1)
rc=$?
sed 's/^/# /' <<< "$out"
check "mid into base with above read-only: refused (exit $rc)" [ "$rc" != 0 ]
check "it says why (above is read-only) and that the merge is journalled" \
	text_has "$out" "layer above the range is on a read-only filesystem.*journalled"
jout=$("$C" layer info -j "$q/base.dmc")
json_valid "layer info -j with a relink record: valid against its schema" \
	layer-info "$jout"
check_json "base holds the journal and its relink record naming above" "$jout" \
	--arg u "$auuid" '.journal.state == "merging" and .journal.relink_uuid == $u'
rp=$(jq -r .journal.relink_path <<< "$jout")
case "$rp" in /*) ;; *) rp=$q/$rp ;; esac
check_eq "the record's path (from base's directory) is above" \
	"$(realpath "$qa/above.dmc")" "$(realpath "$rp")"
check "layer info text names the layer to relink" text_has \
	"$("$C" layer info "$q/base.dmc")" "^merge relinks: .*above\.dmc \(layer $auuid\)"
check_eq "above still on mid (not relinked)" "../q/mid.dmc" \
	"$(info "$qa/above.dmc" .parent.path)"
check "the device still reads its reference" cmp /dev/mapper/dmc-rec "$rref"
out=$("$C" device merge dmc-rec 2>&1)
rc=$?
check "re-issued live while above is read-only: refused again (exit $rc)" \
	test "$rc" != 0
check "for the same reason" text_has "$out" "read-only filesystem"
check "the device still reads its reference" cmp /dev/mapper/dmc-rec "$rref"
check "remove it" dmsetup remove --noudevsync dmc-rec
out=$("$C" layer check -r "$q/base.dmc" 2>&1)
rc=$?
sed 's/^/# /' <<< "$out"
check "check -r while above is read-only: not finished (exit $rc)" \
	test "$rc" != 0 -a "$rc" != 1
check "it says above cannot be relinked" text_has "$out" "cannot be relinked"
check_eq "mid not retired" valid "$(live_state "$q/mid.dmc")"
check "above's directory writable again" mount -o remount,bind,rw "$qa"
out=$("$C" layer check -r "$q/base.dmc" 2>&1)
rc=$?
sed 's/^/# /' <<< "$out"
check_eq "check -r finishes the merge from the record (repaired, 1)" 1 $rc
buuid=$(info "$q/base.dmc" .uuid)
check_eq "above relinked to base at its new generation" \
	"$buuid $((bgen + 1))" \
	"$(info "$qa/above.dmc" '"\(.parent.uuid) \(.parent.generation)"')"
check_eq "mid merged away" merged-away "$(live_state "$q/mid.dmc")"
check_eq "base: no journal, no record" "none null" \
	"$(info "$q/base.dmc" '"\(.journal.state) \(.journal.relink_uuid)"')"
check "leaf's chain checks clean offline" "$C" layer check "$q/leaf.dmc"
check "device again from the leaf" "$C" device create dmc-rec "$q/leaf.dmc"
check_eq "3 layers: base, above, leaf" 3 "$(live_nr_layers dmc-rec)"
check "it reads the reference" cmp /dev/mapper/dmc-rec "$rref"
check "remove" dmsetup remove --noudevsync dmc-rec

# The same window finished live: once the layer above is writable again,
# the merge issued again relinks it and finishes (find_journal()).
check "the other directory writable" mount -o remount,bind,rw "$qa"
q2=$x/q2
record_chain "$q2" above2.dmc
check "second record device" "$C" device create dmc-rec "$q2/leaf.dmc" || done_testing
check "its reference" dd if=/dev/mapper/dmc-rec of="$rref" bs=1M status=none
out=$("$C" device merge dmc-rec --into 0 --from 1 2>&1)
check "mid into base with the layer above read-only: refused" test $? != 0
check_eq "base holds the journal" merging "$(info "$q2/base.dmc" .journal.state)"
check "the other directory writable again" mount -o remount,bind,rw "$qa"
out=$("$C" device merge dmc-rec -j)
check_json "issued again, live: resumed and done" "$out" \
	'.state == "done" and .resumed == true and .keeps_leaf == true'
check "the device reads its reference" cmp /dev/mapper/dmc-rec "$rref"
check_eq "mid merged away" merged-away "$(live_state "$q2/mid.dmc")"
check_eq "above2 records base at its new generation" \
	"$(info "$q2/base.dmc" '"\(.uuid) \(.generation)"')" \
	"$(info "$qa/above2.dmc" '"\(.parent.uuid) \(.parent.generation)"')"
check "remove" dmsetup remove --noudevsync dmc-rec
check "leaf's chain checks clean offline" "$C" layer check "$q2/leaf.dmc"

check_eq "no kernel splat" "" "$(kernel_log_splats)"
done_testing
