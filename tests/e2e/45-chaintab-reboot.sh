#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Devices that come back after a reboot (issue 17): chainctl tab up/down/list
# over a chaintab.  Boot 1 makes XFS on /dev/vda, a chain, a chaintab
# naming its first leaf (resume-merge), brings it up with 'tab up', writes,
# takes a snapshot, writes again, starts a slow live merge of both layers
# into the base (copy, 1 MiB/s), keeps the device's content on the disk and
# cuts the power mid-merge.  Boot 2: a chaintab with one bad line refuses
# the whole file (FILE:LINE, exit 2, nothing created); 'tab up' follows
# the configured leaf to the merge's new leaf, re-creates the device with
# the same content, resumes the merge, which completes; 'tab list' shows it
# present; 'tab down' refuses a device in use (exit 1) and then removes it.
# vm-disks: 1x4G
# vm-boots: 2
# vm-timeout: 1200
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
disk=${DMC_DISK_LIST[0]}
mnt=$DMC_TMP/layers
tab=$mnt/chaintab
name=dmc-tab
dev=/dev/mapper/$name

if [ "${DMC_BOOT:-1}" = 1 ]; then
	mkdir -p "$mnt"
	check "mkfs.xfs and mount" sh -c "mkfs.xfs -q -f -m reflink=1 $disk && mount $disk $mnt" || done_testing
	mkdir -p "$mnt/vm"
	check "base layer" "$C" layer create -s 64M "$mnt/vm/base.dmc" || done_testing
	check "leaf layer" "$C" layer create --parent "$mnt/vm/base.dmc" "$mnt/vm/disk.dmc" || done_testing
	cat > "$tab" <<-TAB
	# dm-chain devices of this test
	$name	$mnt/vm/disk.dmc	resume-merge
	TAB
	check "tab up creates the device" "$C" tab up -c "$tab" || done_testing
	check "$dev exists" test -b "$dev" || done_testing
	check_json "tab list: present" "$("$C" tab list -c "$tab" -j)" \
		'.entries[0].name == "'$name'" and .entries[0].present == true and .entries[0].resume_merge == true'

	check "32 MiB into the leaf" dd if=/dev/urandom of="$dev" bs=1M count=32 \
		oflag=direct conv=fsync status=none
	check "snapshot" "$C" device snapshot "$name" "$mnt/vm/disk-snap.dmc"
	check "8 MiB more, into the snapshot's leaf" dd if=/dev/urandom of="$dev" \
		bs=1M count=8 seek=24 oflag=direct conv=fsync status=none
	out=$("$C" device merge "$name" --depth 2 --mode copy --rate 1 --no-wait 2>&1)
	check "a slow live merge of both layers starts" test $? = 0 || { diag "$out"; done_testing; }
	diag "$out"
	check "1 MiB written during the merge" dd if=/dev/urandom of="$dev" bs=1M \
		count=1 seek=60 oflag=direct conv=fsync status=none
	check "the device's content, kept on the disk" sh -c \
		"dd if=$dev of=$mnt/expect.img bs=1M iflag=direct status=none && sync"
	power_cut_mid_merge "$C" "$name"
fi

# Boot 2.
mkdir -p "$mnt"
check "XFS mounts (log recovery)" mount "$disk" "$mnt" || done_testing
cleanup_add umount "$mnt"
cleanup_add dmsetup remove --noudevsync "$name"
check "no device yet" test ! -e "$dev"
check_json "tab list: not present" "$("$C" tab list -c "$tab" -j)" \
	'.entries | length == 1 and .[0].present == false and .[0].device_leaf_path == null'

# Refusals: the whole file is refused, naming FILE:LINE; nothing is made.
printf '%s\n%s\n' "$(grep -v '^#' "$tab")" "other relative.dmc" > "$DMC_TMP/bad.tab"
check_fail_code "a relative leaf path refuses the whole chaintab" 2 \
	"bad\.tab:2: leaf path 'relative\.dmc' is not absolute" \
	"$C" tab up -c "$DMC_TMP/bad.tab"
check "... and nothing was created" test ! -e "$dev"
printf '%s ro,fast\n' "$(grep -v '^#' "$tab" | sed 's/[[:space:]]resume-merge//')" > "$DMC_TMP/bad2.tab"
check_fail_code "an unknown option" 2 "bad2\.tab:1: unknown option 'fast'" \
	"$C" tab up -c "$DMC_TMP/bad2.tab"
check_fail_code "a name not in the chaintab" 2 "'nosuch' is not listed in" \
	"$C" tab up -c "$tab" nosuch
printf 'gone %s/vm/missing.dmc\n' "$mnt" > "$DMC_TMP/gone.tab"
check_fail_code "a missing leaf fails up" 1 "gone: .*missing\.dmc: No such file" \
	"$C" tab up -c "$DMC_TMP/gone.tab"
printf 'gone %s/vm/missing.dmc nofail\n' "$mnt" > "$DMC_TMP/gone.tab"
out=$("$C" tab up -c "$DMC_TMP/gone.tab" 2>&1)
rc=$?
check_eq "... unless nofail (exit status)" 0 "$rc"
check "... which says so" grep -q "nofail: going on" <<< "$out"

# Up: follows the leaf, re-creates the device, resumes the merge.
out=$("$C" tab up -c "$tab" 2>&1)
rc=$?
diag "tab up: $out"
check_eq "tab up after the cut" 0 "$rc" || done_testing
check "it followed the configured leaf to the merge's new leaf" \
	grep -qE "has layers on top; the current leaf is $mnt/vm/disk-snap-[0-9]+\.dmc" <<< "$out"
check "it resumed the interrupted merge" grep -q "(resumed)" <<< "$out"
check "same content as before the cut" cmp "$dev" "$mnt/expect.img"
for _ in $(seq 1 300); do
	read -r st moved total <<< "$(merge_state "$C" "$name")"
	[ "$st" = running ] || break
	sleep 1
done
check_eq "the resumed merge completes" "done" "$st"
check_json "two layers left: the base and the new leaf" \
	"$("$C" device status -j "$name")" '.layer_count == 2'
check "same content after the merge" cmp "$dev" "$mnt/expect.img"
check "the base checks clean" "$C" layer check "$mnt/vm/base.dmc"

check_json "tab list: present, with the device's leaf" "$("$C" tab list -c "$tab" -j)" \
	'.entries[0].present == true and (.entries[0].device_leaf_path | test("/vm/disk-snap-[0-9]+\\.dmc$"))'
out=$("$C" tab up -c "$tab" 2>&1)
check_eq "tab up again: nothing to do" 0 $?
check "... it says already present" grep -q "$name: already present" <<< "$out"

# Down: a device in use is refused, then removed.
exec 3< "$dev"
check_fail_code "tab down refuses a device in use" 1 "'$name' is in use" \
	"$C" tab down -c "$tab"
check "... and leaves it" test -b "$dev"
exec 3<&-
check "tab down removes it" "$C" tab down -c "$tab"
check "no device left" test ! -e "$dev"
out=$("$C" tab down -c "$tab" 2>&1)
check_eq "tab down again: nothing to do" 0 $?
check "... it says not present" grep -q "$name: not present" <<< "$out"
check_json "tab list: not present" "$("$C" tab list -c "$tab" -j)" '.entries[0].present == false'
done_testing
