# SPDX-License-Identifier: GPL-2.0
# Helpers for the live merge scenarios (tests/e2e/5*-live-*.sh).  Sourced
# after tests/e2e/lib.sh and tests/e2e/target/lib.sh.
#
#   live_get NAME              the device's netlink description (JSON)
#   live_nr_layers NAME        number of layers the module reports
#   live_layer_path NAME I     path of layer I (0 = base)
#   live_wait_state NAME STATE [SECONDS]
#                              poll until the merge state is STATE
#   live_scatter DEV REF SEED COUNT RUN
#                              COUNT writes of RUN bytes at random
#                              RUN-aligned offsets, on DEV and on REF
#   live_cmp_outside DEV REF OFF LEN
#                              DEV equals REF outside [OFF, OFF + LEN)
#   live_state FILE            "valid" or "merged-away" (chainctl layer info)
#   live_flakey_mount MNT      $LIVE_FS on dm-flakey, mounted at MNT
#   live_power_cut NAME MNT    cut the power under NAME's running merge

live_get() {
	"$CHAINCTL" device status "$1" -j
}

live_nr_layers() {
	live_get "$1" | jq -r '.layers | length'
}

live_layer_path() {
	live_get "$1" | jq -r ".layers | reverse | .[$2].path"
}

live_wait_state() {
	local name=$1 want=$2 secs=${3:-120} i state
	for ((i = 0; i < secs * 10; i++)); do
		state=$(live_get "$name" | jq -r '.merge.state // "none"')
		[ "$state" = "$want" ] && return 0
		sleep 0.1
	done
	echo "merge state is $state, not $want, after $secs s" >&2
	return 1
}

live_scatter() {
	/usr/bin/python3 "$DMC_ROOT/tests/e2e/live/scatter.py" "$@"
}

live_cmp_outside() {
	local dev=$1 ref=$2 off=$3 len=$4
	cmp <(head -c "$off" "$dev") <(head -c "$off" "$ref") &&
	cmp <(tail -c +$((off + len + 1)) "$dev") \
	    <(tail -c +$((off + len + 1)) "$ref")
}

live_state() {
	"$CHAINCTL" layer info -j "$1" 2>/dev/null | jq -r '.state'
}

# live_flakey_mount MNT: $LIVE_FS made on dm-flakey (flk, see
# tests/e2e/target/lib.sh) over the first scratch disk and mounted at MNT,
# so that live_power_cut can cut the power under it.
live_flakey_mount() {
	check "dm-flakey over ${DMC_DISK_LIST[0]}" flakey_create "${DMC_DISK_LIST[0]}" ||
		return 1
	check "$LIVE_FS on it" fs_mkfs "$LIVE_FS" /dev/mapper/flk || return 1
	mkdir -p "$1" && mount /dev/mapper/flk "$1" || return 1
	cleanup_add umount "$1"
}

# live_power_cut NAME MNT: the power cut of the live scenarios, under the
# running merge of device NAME whose layer files sit on $LIVE_FS on
# dm-flakey (flk, tests/e2e/target/lib.sh) mounted at MNT: every write
# dropped while the merge is checked to be mid-way, the device removed,
# the filesystem unmounted, the power back and MNT mounted again.
# Returns 1 when it does not mount again.
live_power_cut() {
	local name=$1 mnt=$2
	check_json "running before the cut" "$(live_get "$name")" \
		'.merge.state == "running"'
	check "cut: the disk drops every write" flakey "0 600 1 drop_writes"
	check_json "the cut landed mid-merge" "$(live_get "$name")" \
		'.merge.state == "running" and .merge.done_bytes < .merge.total_bytes'
	check "remove the cut device (stops the merge)" dmsetup remove --noudevsync "$name"
	umount "$mnt"
	check "power back" flakey "600 0"
	check "$LIVE_FS mounts again" mount /dev/mapper/flk "$mnt" || return 1
	cleanup_add umount "$mnt"
}
