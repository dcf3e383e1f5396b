#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Intermediate live merge (issue 18), first piece: the request's range
# (chainctl device merge NAME --into P --from TOP, DM_CHAIN_MERGE_A_TOP)
# is checked with a precise message for every bad range; a range that
# stops below the leaf is refused (not implemented yet, see
# docs/design/intermediate-live-merge.md) without changing any layer; a
# TOP that is the leaf is the ordinary merge and finishes with the data
# intact.
# vm-disks: 1x4G
# vm-timeout: 900
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
check "xfs" fs_make xfs "${DMC_DISK_LIST[0]}" "$x" || done_testing

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
sum0=$(sha256sum < $dev)
hdrs() { sha256sum "$x"/*.dmc | awk '{print $1}' | tr '\n' ' '; }
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

# --- a range below the leaf: refused until it is built, nothing changes
h0=$(hdrs)
check_fail_msg "fold daily into weekly: not implemented yet (EOPNOTSUPP)" \
	"intermediate merge\) is not implemented by this module yet" \
	"$C" device merge dmc-im --into 1 --from 2
check_fail_msg "the same by paths" "not implemented by this module yet" \
	"$C" device merge dmc-im --into "$x/weekly.dmc" --from "$x/daily.dmc"
check_eq "no layer file changed" "$h0" "$(hdrs)"
check_eq "no file created" "$files0" "$(ls "$x")"
check_eq "still 4 layers" 4 "$(live_nr_layers dmc-im)"
check_json "no merge started" "$(live_get dmc-im)" \
	'.merge == null or .merge.state == "none"'
check_eq "device reads the same" "$sum0" "$(sha256sum < $dev)"

# --- TOP the leaf: the ordinary merge of everything above INTO
out=$("$C" device merge dmc-im --into 1 --from "$x/leaf.dmc" -j)
check_json "--from the leaf: an ordinary merge, done" "$out" \
	'.state == "done" and .source_count == 2 and .target_index == 1'
check_eq "then 3 layers (base, weekly, new leaf)" 3 "$(live_nr_layers dmc-im)"
check_eq "device reads the same after it" "$sum0" "$(sha256sum < $dev)"
check_eq "daily merged away" merged-away "$(live_state "$x/daily.dmc")"
check_eq "old leaf merged away" merged-away "$(live_state "$x/leaf.dmc")"
check "device remove" dmsetup remove --noudevsync dmc-im
leaf=$(ls -t "$x"/leaf-*.dmc | head -n 1)
check "device again from the new leaf" "$C" device create dmc-im "$leaf"
check_eq "reads the same after re-create" "$sum0" "$(sha256sum < $dev)"
check_eq "no kernel splat" "" "$(kernel_log_splats)"
done_testing
