#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live control at its limits (issue 15 items 12, 15 part, 6, and 13's dump):
#  - a device of DMC_MAX_LAYERS layers (4096, include/dm-chain/format.h;
#    long layer paths): it loads and reads back what its base and leaf
#    hold; a GET dump lists all its layers, split over several messages;
#    chainctl shows them; a live merge is refused before it adds one layer
#    more, and nothing is created; chainctl refuses a chain of one more;
#    a deep chain of a big disk whose maps do not fit in memory is
#    refused at load, with its reason, and nothing is OOM-killed;
#  - the documented errors of docs/netlink.md, each through chainctl (or the
#    bare client for what chainctl never sends), with its errno and text;
#  - table reloads racing snapshots: each side either works or is refused
#    with its EBUSY reason; no splat, and every block written reads back,
#    also from a device created again from the final leaf.
# vm-disks: 1x4G
# vm-timeout: 1200
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
GENL="/usr/bin/python3 $DMC_ROOT/tests/e2e/live/genl.py"
size=$((16 * 1024 * 1024))

x=$DMC_TMP/x
check "xfs" fs_make xfs "${DMC_DISK_LIST[0]}" "$x" || done_testing

# --- the most layers a chain may have
max=$(awk '$1 == "#define" && $2 == "DMC_MAX_LAYERS" {print $3}' \
	"$DMC_ROOT/include/dm-chain/format.h")
check_eq "the limit, from the shared header" 4096 "$max"
long=$x/$(printf 'd%.0s' {1..100})
mkdir -p "$long"
lname() { printf '%s/l%04d.dmc' "$long" "$1"; }
check "base" "$C" layer create -s $size "$(lname 0)" || done_testing
# blk WORD: one 64 KiB block starting with WORD 100 times.
blk() { printf "$1 %.0s" {1..100}; head -c $((65536 - 100 * (${#1} + 1))) /dev/zero; }
check "base data" "$C" layer write "$(lname 0)" 0 65536 < <(blk base) ||
	done_testing
# The children in one process (tests/tools/mkchain, the library call of
# chainctl layer create): 4095 chainctl starts alone take minutes here.
t0=$(date +%s)
top=$(lname $((max - 1)))
check_eq "$((max - 1)) children" "$top" \
	"$("$DMC_ROOT/tests/tools/mkchain" "$(lname 0)" $((max - 1)) "$long/l%04u.dmc")"
diag "$((max - 1)) children made in $(($(date +%s) - t0)) s"
check "a child in the middle checks" "$C" layer check "$(lname 2048)"
check "leaf data" "$C" layer write "$top" 65536 65536 < <(blk leaf) ||
	done_testing
t0=$(date +%s%N)
check "$max-layer device" "$C" device create dmc-deep "$top" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-deep
diag "device create took $((($(date +%s%N) - t0) / 1000000)) ms"
check_eq "the base's block reads through $max layers" \
	"$(printf 'base %.0s' {1..100})" "$(head -c 500 /dev/mapper/dmc-deep)"
check_eq "the leaf's block reads back" "$(printf 'leaf %.0s' {1..100})" \
	"$(dd if=/dev/mapper/dmc-deep bs=64k skip=1 count=1 status=none | head -c 500)"
check "data on it" dd if=/dev/urandom of=/dev/mapper/dmc-deep bs=64k count=16 \
	seek=4 oflag=direct status=none

out=$($GENL dump)
diag "$(grep '^dmc-deep ' <<<"$out")"
check "GET dump: all $max layers" grep -q "^dmc-deep nr_layers=$max listed=$max " <<<"$out"
parts=$(sed -n 's/^dmc-deep .*parts=\([0-9]*\).*/\1/p' <<<"$out")
check "GET dump split the device over several messages" test "${parts:-0}" -gt 1
check_json "chainctl device status: $max layers" "$(live_get dmc-deep)" \
	".layers | length == $max"
# One named device, "do": its nest would overflow a 16-bit length, so
# the module answers in parts; every layer is the module's (not null).
check_json "chainctl device status: the module reports all $max layers" \
	"$("$C" device status -j dmc-deep)" \
	"[.layers[] | select(.generation == null or .map_bytes == null)] | length == 0"
check_json "chainctl device list (dump) lists it" "$("$C" device list -j)" \
	'[.devices[] | select(.name == "dmc-deep")] | length == 1'

check_fail_msg "live merge at $max layers refused" \
	"maximum depth \($max layers\).*live merge first adds a new leaf" \
	"$C" device merge dmc-deep
check_fail_msg "live merge --into 0 at $max layers refused" "maximum depth" \
	"$C" device merge dmc-deep --into 0
check_eq "still $max layers" "$max" "$(live_nr_layers dmc-deep)"
check_eq "no new layer file" "$max" "$(ls "$long" | wc -l)"
check_json "no merge was started" "$(live_get dmc-deep)" \
	'.merge == null or .merge.state == "none"'
check_fail_msg "snapshot at $max layers refused (E2BIG)" \
	"Chain is at its maximum depth" "$C" device snapshot dmc-deep
check "remove the deep device" dmsetup remove --noudevsync dmc-deep
# A deep chain of a big disk: 48 layers of 1 TiB at 4 KiB blocks.  With
# the extent lists their children gave them, the 47 read-only layers take
# a few bytes each and the chain loads in a 2 GiB guest.  Without lists
# they want 3 GiB of maps (64 MiB each): the table load stops while half
# of the memory available is left, with its reason; nothing is killed,
# and the machine goes on.
big=$x/big
mkdir -p "$big"
check "a 1 TiB base, 4 KiB blocks" "$C" layer create -s 1T -b 4K "$big/b00" ||
	done_testing
check "47 children" "$DMC_ROOT/tests/tools/mkchain" "$big/b00" 47 "$big/b%02u"
check "with their extent lists: the 48-layer chain of 1 TiB loads" \
	"$C" device create dmc-big "$big/b47" --read-only
check_json "its 47 read-only layers are held by their lists, in under 64 KiB" \
	"$("$C" device status -j dmc-big)" \
	'([.layers[] | select(.runs != null)] | length) == 47 and
	 ([.layers[] | select(.runs != null) | .map_bytes] | add) < 65536'
check "remove it" "$C" device remove dmc-big
for f in "$big"/b[0-4][0-9]; do
	[ "$f" = "$big/b47" ] && continue
	python3 "$DMC_ROOT/tests/e2e/target/hdrpatch.py" "$f" compat_features=0 > /dev/null ||
		fail "drop the extent list of $f"
done
check_eq "lists dropped: the base has none" none \
	"$("$C" layer info -j "$big/b00" | jq -r .extent_list.state)"
dmesg -C
check_fail_msg "48 maps of 64 MiB in 2 GiB: refused" \
	"Not enough memory for the layer's block map" \
	"$C" device create dmc-big "$big/b47"
check "the kernel log names the layer and the map size" \
	bash -c "dmesg | grep -q 'b[0-9]*: its block map (64 MiB) would take more than half'"
check "no OOM kill" bash -c "! dmesg | grep -qi 'out of memory\|oom-kill'"
check "no device left" bash -c "! dmsetup info dmc-big > /dev/null 2>&1"
rm -rf "$big"

check "one layer more" "$C" layer create --parent "$top" "$(lname "$max")"
check_fail_msg "chainctl refuses a chain of $((max + 1)) layers" \
	"deeper than $max layers" "$C" device create dmc-deep "$(lname "$max")"
rm -f "$(lname "$max")"

# --- documented errors
s=$x/s
mkdir -p "$s"
check "small base" "$C" layer create -s $size "$s/l0" || done_testing
check "small leaf" "$C" layer create --parent "$s/l0" "$s/l1" || done_testing
check "small device" "$C" device create dmc-err "$s/l1" || done_testing
cleanup_add dmsetup remove --noudevsync dmc-err
check "data" dd if=/dev/urandom of=/dev/mapper/dmc-err bs=64k count=128 \
	oflag=direct status=none

check_fail_msg "MERGE DEPTH 0: ERANGE from the policy" \
	"^errno=ERANGE msg=integer out of range" $GENL merge dmc-err 0
check_fail_msg "MERGE on no such device: ENODEV" \
	"^errno=ENODEV msg=no chain device of that name" $GENL merge dmc-nosuch 1
check_fail_msg "MERGE depth not below the layer count: EINVAL" \
	"Depth must be less than the number of layers" \
	"$C" device merge dmc-err --depth 2
check_fail_msg "MERGE into the leaf: EINVAL" \
	"Target index must be below the leaf" \
	"$C" device merge dmc-err --into 1
check_fail_msg "CANCEL without a merge: ENOENT" \
	"No merge is running on this device" "$C" device cancel dmc-err
check_fail_msg "SNAPSHOT onto an existing file: EEXIST" \
	"New leaf file already exists" "$C" device snapshot dmc-err "$s/l0"

check "another table loaded (inactive)" \
	dmsetup reload dmc-err --table "$(dmsetup table dmc-err)"
check_fail_msg "SNAPSHOT with another table loaded: EBUSY" \
	"Device has another table loaded" "$C" device snapshot dmc-err
check_fail_msg "MERGE with another table loaded: EBUSY" \
	"Device has another table loaded" "$C" device merge dmc-err
check "clear the inactive table" dmsetup clear dmc-err

check "slow merge running" "$C" device merge dmc-err --mode copy --rate 1 \
	--no-wait --new-leaf "$s/l2"
check_fail_msg "second MERGE: EBUSY" \
	"A merge is already running on this device" "$C" device merge dmc-err
check_fail_msg "table load during the merge: refused" "failed" \
	dmsetup reload dmc-err --table "$(dmsetup table dmc-err)"
check "the refusal says why" bash -c \
	"dmesg | grep -q 'A live merge is running on this device'"
check "cancel" "$C" device cancel dmc-err
check "cancelled" live_wait_state dmc-err cancelled 30
out=$("$C" device merge dmc-err -j)
check_json "resumed merge completes" "$out" '.state == "done"'

# --- reloads racing snapshots
for ((i = 0; i < 40; i++)); do
	printf 'marker %04d\n' $i | dd of=/dev/mapper/dmc-err bs=512 \
		seek=$((i * 128)) conv=notrunc,fsync status=none
done
snaps_ok=0 snaps_busy=0 loads_ok=0 loads_busy=0 other=0
(
	for ((i = 0; i < 12; i++)); do
		if out=$("$C" device snapshot dmc-err 2>&1); then
			echo snap-ok
		elif grep -q "Device has another table loaded" <<<"$out"; then
			echo snap-busy
		else
			echo "snap-other $out"
		fi
	done
) > "$DMC_TMP/snaps.log" &
snapper=$!
for ((i = 0; i < 12; i++)); do
	t=$(dmsetup table dmc-err)
	if dmsetup reload dmc-err --table "$t" 2>/dev/null; then
		if dmsetup resume --noudevsync dmc-err; then echo load-ok; else echo load-resume-failed; fi
	else
		echo load-busy
	fi
done > "$DMC_TMP/loads.log"
wait $snapper
dmsetup clear dmc-err 2>/dev/null
dmsetup resume --noudevsync dmc-err 2>/dev/null
diag "snapshots: $(sort "$DMC_TMP/snaps.log" | uniq -c | tr '\n' ' ')"
diag "loads: $(sort "$DMC_TMP/loads.log" | uniq -c | tr '\n' ' ')"
check "every snapshot worked or was refused as busy" \
	bash -c "! grep -v -e '^snap-ok' -e '^snap-busy' '$DMC_TMP/snaps.log'"
check "no resume failed" bash -c "! grep -q load-resume-failed '$DMC_TMP/loads.log'"
check "some snapshots worked" grep -q '^snap-ok' "$DMC_TMP/snaps.log"

markers_ok() {
	local i
	for ((i = 0; i < 40; i++)); do
		[ "$(dd if="$1" bs=512 skip=$((i * 128)) count=1 status=none |
			head -c 12)" = "$(printf 'marker %04d' $i)" ] || return 1
	done
}
check "every marker reads back" markers_ok /dev/mapper/dmc-err
leaf=$(live_layer_path dmc-err $(($(live_nr_layers dmc-err) - 1)))
diag "final chain: $(live_nr_layers dmc-err) layers, leaf $leaf"
check "remove" dmsetup remove --noudevsync dmc-err
check "create again from the final leaf" "$C" device create dmc-err "$leaf"
check "every marker reads back after re-creating" markers_ok /dev/mapper/dmc-err
check "remove again" dmsetup remove --noudevsync dmc-err
done_testing
