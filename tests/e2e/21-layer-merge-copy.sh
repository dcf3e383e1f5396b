#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Offline merges by the copy path: on ext4 (no reflink: every range refused
# with EOPNOTSUPP and copied), across two filesystems (EXDEV), and on a full
# tmpfs (ENOSPC mid-merge: the chain reads the same, a re-run after freeing
# space finishes).  Then the bad-input refusals a user can reach: --mode
# clone across filesystems, an immutable layer, corrupt and truncated files,
# a missing parent, and the documented exit codes of `layer check` (merge
# states apart from damage: 6 interrupted, 9 merged away); last, range
# merges (--into P --from TOP) by copy (layer/merge-range.sh).
# vm-disks: 2x4G
# vm-timeout: 1200
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/layer/helpers.sh"

xfs=$DMC_TMP/xfs
ext=$DMC_TMP/ext4
fs_make xfs "${DMC_DISK_LIST[0]}" "$xfs" || { fail "mkfs.xfs"; done_testing; }
fs_make ext4 "${DMC_DISK_LIST[1]}" "$ext" || { fail "mkfs.ext4"; done_testing; }
POOL=$ext/pool
pool_make "$POOL" 16
POOL_BLOCKS=256
RANDOM=21

# check_rc DESC WANT CMD...: CMD exits with status WANT.
check_rc() {
	local desc=$1 want=$2 rc
	shift 2
	"$@" > /dev/null 2>&1
	rc=$?
	check_eq "$desc" "$want" "$rc"
}

# --- ext4: every depth of a depth-4 chain -------------------------------------
src=$ext/chain
chain_build "$src" 4 32 1 || fail "ext4: build the chain"
for n in 1 2 3 4; do
	dir=$ext/m$n
	cp -a "$src" "$dir"
	target=$(chain_target "$dir" 4 "$n")
	out=$("$CHAINCTL" layer merge -j --depth "$n" "$dir/l4.dmc" 2>&1) ||
		fail "ext4 merge $n" "$out"
	if same_as_ref "$target" "$dir/ref.img" &&
	   [ "$(jq -r .cloned_bytes <<< "$out")" = 0 ] &&
	   jq -e '.clone_refused[0].reason | test("EOPNOTSUPP")' <<< "$out" > /dev/null; then
		ok "ext4 merge --depth $n: same data, copied, refusal reported (EOPNOTSUPP)"
	else
		fail "ext4 merge --depth $n" "$out"
	fi
	rm -rf "$dir"
done
rm -rf "$src"

# --- across two filesystems ----------------------------------------------------
mkdir -p "$xfs/up" "$ext/down"
truncate -s 32M "$ext/down/ref.img"
"$CHAINCTL" layer create -s 32M "$ext/down/base.dmc"
layer_scribble "$ext/down/base.dmc" "$ext/down/ref.img" 512 8
"$CHAINCTL" layer create --parent "$ext/down/base.dmc" "$xfs/up/a.dmc"
layer_scribble "$xfs/up/a.dmc" "$ext/down/ref.img" 512 8
check_eq "cross-fs: parent hint is relative to the child's directory" \
	"../../ext4/down/base.dmc" \
	"$("$CHAINCTL" layer info -j "$xfs/up/a.dmc" | jq -r .parent.path)"
seq_before=$("$CHAINCTL" layer info -j "$ext/down/base.dmc" | jq -r .sequence)
check_fail_msg "cross-fs --mode clone: refused up front" \
	"another filesystem" "$CHAINCTL" layer merge --mode clone "$xfs/up/a.dmc"
check_eq "cross-fs --mode clone: target untouched" "$seq_before" \
	"$("$CHAINCTL" layer info -j "$ext/down/base.dmc" | jq -r .sequence)"
out=$("$CHAINCTL" layer merge --side target -j "$xfs/up/a.dmc")
check "cross-fs merge: refusal reported as EXDEV" \
	jq -e '.cloned_bytes == 0 and (.clone_refused[0].reason | test("EXDEV"))' <<< "$out"
check "cross-fs merge: same data" same_as_ref "$ext/down/base.dmc" "$ext/down/ref.img"
rm -rf "$xfs/up" "$ext/down"

# --- ENOSPC in the middle of a merge, on a small tmpfs -------------------------
small=$DMC_TMP/small
mkdir -p "$small"
mount -t tmpfs -o size=48M tmpfs "$small" && cleanup_add umount "$small"
truncate -s 64M "$ext/full-ref.img"
"$CHAINCTL" layer create -s 64M "$small/base.dmc"
"$CHAINCTL" layer create --parent "$small/base.dmc" "$small/top.dmc"
for ((i = 0; i < 20; i++)); do layer_put "$small/top.dmc" "$ext/full-ref.img" $((i * 40)) 16; done
head -c 20M /dev/zero > "$small/filler" 2> /dev/null
check_fail_msg "full tmpfs: merge fails with a clear message" \
	"No space left on device" "$CHAINCTL" layer merge --side target "$small/top.dmc"
check_rc "full tmpfs: check says the merge is interrupted and resumable (6)" 6 \
	"$CHAINCTL" layer check "$small/base.dmc"
check "full tmpfs: check names the command that resumes it" sh -c \
	"'$CHAINCTL' layer check '$small/base.dmc' | grep -q \"run 'chainctl layer merge .*top.dmc'\""
check "full tmpfs: the chain still reads the same" \
	same_as_ref "$small/top.dmc" "$ext/full-ref.img"
rm -f "$small/filler"
check "full tmpfs: re-run after freeing space finishes" \
	"$CHAINCTL" layer merge --side target "$small/top.dmc"
check "full tmpfs: merged data correct" \
	same_as_ref "$small/base.dmc" "$ext/full-ref.img"
check_rc "full tmpfs: check on the target afterwards: clean (0)" 0 \
	"$CHAINCTL" layer check "$small/base.dmc"
check_rc "full tmpfs: check on the merged-away top: done, not corrupt (9)" 9 \
	"$CHAINCTL" layer check "$small/top.dmc"
check "full tmpfs: check says where the merged-away top went" sh -c \
	"'$CHAINCTL' layer check '$small/top.dmc' | grep -q 'merged away into .*base.dmc'"

# --- the progress bar of a long copy on a terminal ------------------------------
# One 256 MiB run: the bar moves within it (runs are cut at 16 MiB when a
# bar is shown), with the time left.  script(1) gives chainctl a terminal.
# --rate 64 makes it last 4 s: the direct copy would take well under one.
d=$ext/bar
mkdir -p "$d"
head -c 256M /dev/urandom > "$d/data"
"$CHAINCTL" layer create -s 256M "$d/base.dmc" &&
	"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/top.dmc" &&
	"$CHAINCTL" layer write "$d/top.dmc" 0 $((256 << 20)) < "$d/data" ||
	fail "bar: make a 256 MiB layer"
script -qec "'$CHAINCTL' layer merge --side target -p --rate 64 '$d/top.dmc'" "$DMC_TMP/bar.typescript" \
	> /dev/null 2>&1
check_eq "bar: the merge on a terminal succeeds" 0 "$?"
check "bar: the merged base holds the data" bash -c \
	"'$CHAINCTL' layer check '$d/base.dmc' && '$CHAINCTL' layer flatten '$d/base.dmc' '$d/flat' && cmp '$d/data' '$d/flat'"
bars=$(tr '\r' '\n' < "$DMC_TMP/bar.typescript" | grep -E '^merging \[.*%.* left')
diag "progress lines: $(grep -c . <<< "$bars"), last: $(tail -n 1 <<< "$bars")"
check "bar: redrawn at 3 or more percentages within one run, with the time left" \
	test "$(grep -oE '[0-9]+%' <<< "$bars" | sort -u | wc -l)" -ge 3
rm -f "$d"/*

# --- refusals and check exit codes ----------------------------------------------
d=$ext/bad
mkdir -p "$d"
"$CHAINCTL" layer create -s 16M "$d/base.dmc"
"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/child.dmc"
"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/sib.dmc"
check_rc "check clean: 0" 0 "$CHAINCTL" layer check "$d/child.dmc"
check_rc "check usage error: 2" 2 "$CHAINCTL" layer check
check_rc "check missing file: 4" 4 "$CHAINCTL" layer check "$d/none.dmc"

chattr +i "$d/base.dmc"
check_fail_msg "immutable target: merge refused, names the file" \
	"base.dmc: cannot open for writing" "$CHAINCTL" layer merge --side target "$d/child.dmc"
check_eq "immutable target: child untouched" valid \
	"$("$CHAINCTL" layer info -j "$d/child.dmc" | jq -r .state)"
chattr -i "$d/base.dmc"

exec 9< "$d/base.dmc"
flock -s 9
check_fail_msg "layer held by a live device (flock): merge refused" \
	"base.dmc: in use" "$CHAINCTL" layer merge --side target "$d/child.dmc"
exec 9<&-

check "merge child into base" "$CHAINCTL" layer merge --side target "$d/child.dmc"
check_fail_msg "sibling made before the merge: refused, says why" \
	"generation .* modified \(merged into\)" "$CHAINCTL" layer map "$d/sib.dmc"
check_rc "check on the stale sibling: 3" 3 "$CHAINCTL" layer check "$d/sib.dmc"

cp "$d/base.dmc" "$d/torn.dmc"
seq=$("$CHAINCTL" layer info -j "$d/torn.dmc" | jq -r .header_slot)
printf 'garbage' | dd of="$d/torn.dmc" bs=1 seek=$(((1 - seq) * 4096 + 200)) conv=notrunc status=none
check_rc "torn header slot: check says needs repair (5)" 5 "$CHAINCTL" layer check "$d/torn.dmc"
check_rc "torn header slot: check -r repairs (1)" 1 "$CHAINCTL" layer check -r "$d/torn.dmc"
check_rc "torn header slot: clean afterwards (0)" 0 "$CHAINCTL" layer check "$d/torn.dmc"
printf 'garbage' | dd of="$d/torn.dmc" bs=1 seek=200 conv=notrunc status=none
printf 'garbage' | dd of="$d/torn.dmc" bs=1 seek=4296 conv=notrunc status=none
check_rc "both slots bad: corrupt (3)" 3 "$CHAINCTL" layer check "$d/torn.dmc"
check_fail_msg "both slots bad: info names the problem" \
	"torn.dmc: no valid header" "$CHAINCTL" layer info "$d/torn.dmc"

cp "$d/base.dmc" "$d/short.dmc"
truncate -s 1M "$d/short.dmc"
check_fail_msg "truncated layer: refused" "short.dmc: truncated" \
	"$CHAINCTL" layer info "$d/short.dmc"
"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/orphan.dmc"
mv "$d/base.dmc" "$d/moved.dmc"
check_fail_msg "missing parent: named with its path hint" \
	"parent .*base.dmc is missing" "$CHAINCTL" layer info --chain "$d/orphan.dmc"
check_rc "missing parent: check could not check (4)" 4 "$CHAINCTL" layer check "$d/orphan.dmc"
check_fail_msg "create over an existing file: refused" "exists" \
	"$CHAINCTL" layer create -s 1M "$d/orphan.dmc"
check_fail_msg "bad block size: usage error" "power of two" \
	"$CHAINCTL" layer create -s 1M -b 3K "$d/x.dmc"
rm -rf "$d"

# --- range merges (--into P --from TOP), by copy on ext4 -------------------------
RANGE_DIR=$ext RANGE_PATH=copy
. "$DMC_ROOT/tests/e2e/layer/merge-range.sh"

done_testing
