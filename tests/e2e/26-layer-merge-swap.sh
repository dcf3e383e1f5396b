#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Swap merges ("merge by the smaller side", docs/format.md "Swap merge"): a
# leaf covering 93 % of its parent merged offline with --side auto (ext4:
# the default side) moves the parent's few uncovered blocks up (cloned on
# XFS, copied on ext4), its file takes the parent's place and a merged-away
# marker the leaf's; the kernel loads the result.  The default merges down
# instead where a swap would change what the target's path shows (mode,
# owner, chattr flags, project ID, a hard link).  Then a
# swap interrupted by a full filesystem: the kernel refuses the layers
# while the journal is there, check says resumable (6), and the plain
# merge command finishes it once space is back.  Last, the refusals.
# vm-disks: 2x4G
# vm-timeout: 900
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/layer/helpers.sh"

xfs=$DMC_TMP/xfs
ext=$DMC_TMP/ext4
fs_make xfs "${DMC_DISK_LIST[0]}" "$xfs" || { fail "mkfs.xfs"; done_testing; }
fs_make ext4 "${DMC_DISK_LIST[1]}" "$ext" || { fail "mkfs.ext4"; done_testing; }
POOL=$ext/pool
pool_make "$POOL" 16
POOL_BLOCKS=256
RANDOM=26
need_module || done_testing

# covering_chain DIR: base.dmc (64 MiB, every block written) and top.dmc on
# it writing 19 blocks of every 20: 50 runs, 950 blocks.  Left to the base:
# 49 single blocks and the last 25, 74 blocks in 50 runs.
covering_chain() {
	local d=$1 i
	mkdir -p "$d"
	truncate -s 64M "$d/ref.img"
	"$CHAINCTL" layer create -s 64M "$d/base.dmc" || return 1
	for ((i = 0; i < 4; i++)); do
		layer_put "$d/base.dmc" "$d/ref.img" $((i * 256)) 256 || return 1
	done
	"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/top.dmc" || return 1
	for ((i = 0; i < 50; i++)); do
		layer_put "$d/top.dmc" "$d/ref.img" $((i * 20)) 19 || return 1
	done
}

layer_field() { "$CHAINCTL" layer info -j "$1" | jq -r ".$2"; }

# swap_on FS DIR [ARG..]: a covering chain in DIR merged with ARGs (a
# side, or none: the default); the report (kept in OUT) and the files after.
swap_on() {
	local fs=$1 d=$2 gen uuid moved
	shift 2
	covering_chain "$d" || fail "$fs: build the chain"
	gen=$(layer_field "$d/base.dmc" generation)
	uuid=$(layer_field "$d/base.dmc" uuid)
	out=$("$CHAINCTL" layer merge -j "$@" "$d/top.dmc" 2>&1) ||
		fail "$fs: swap merge" "$out"
	check_json "$fs: the swap side was chosen, with both sides' work" "$out" \
		'.side == "source" and (.side_reason | test("source 950 blocks in 50 runs, target.s unshadowed 74 blocks in 50 runs"))'
	moved=$(jq '.cloned_bytes + .copied_bytes' <<< "$out")
	check_eq "$fs: only the target's 74 uncovered blocks moved" $((74 * BS)) "$moved"
	check_json "$fs: at the source's path a marker: merged away into the target" \
		"$("$CHAINCTL" layer info -j "$d/top.dmc")" --arg u "$uuid" \
		'.state == "merged-away" and .merged_into_uuid == $u and .data_blocks == 0'
	check_fail_code "$fs: the merge issued again: done (9)" 9 "merged away into" \
		"$CHAINCTL" layer merge --side auto "$d/top.dmc"
	check "$fs: the target reads as the chain did" same_as_ref "$d/base.dmc" "$d/ref.img"
	check_json "$fs: the target kept its uuid and moved on one generation" \
		"$("$CHAINCTL" layer info -j "$d/base.dmc")" \
		--arg u "$uuid" --argjson g "$((gen + 1))" \
		'.uuid == $u and .generation == $g and .journal.state == "none" and .parent.kind == "none"'
	check_layer_files "$fs: the target checks clean" "$d/base.dmc"
}

# --- XFS: clone up, rename over -------------------------------------------------
d=$xfs/swap
swap_on xfs "$d" --side auto
json_valid "xfs: the report is valid against its schema" layer-merge "$out"
check_json "xfs: the uncovered blocks were cloned, nothing copied" "$out" \
	'.copied_bytes == 0 and .clone_call_count == 50'
if "$CHAINCTL" device create dmc-e2e-swap "$d/base.dmc" --read-only > /dev/null 2>&1; then
	check "xfs: the kernel loads the merged target and reads the same" \
		cmp /dev/mapper/dmc-e2e-swap "$d/ref.img"
	"$CHAINCTL" device remove dmc-e2e-swap
else
	fail "xfs: the kernel loads the merged target"
fi
rm -rf "$d"

# --- ext4: copy up ------------------------------------------------------------
d=$ext/swap
swap_on ext4 "$d"
check_json "ext4: the uncovered blocks were copied (no reflink)" "$out" \
	'.cloned_bytes == 0 and (.clone_refused[0].reason | test("EOPNOTSUPP"))'
rm -rf "$d"

# --- the default keeps what the target's path shows ---------------------------
# down_on WHAT: a covering chain changed by the command after WHAT, merged
# with the default side: down, not swapped, saying why; the target keeps its
# inode (and so its mode, owner, links).
down_on() {
	local what=$1 why=$2 ino
	shift 2
	d=$xfs/keep
	covering_chain "$d" || fail "$what: build the chain"
	"$@" || fail "$what: set up"
	ino=$(stat -c %i "$d/base.dmc")
	out=$("$CHAINCTL" layer merge -j "$d/top.dmc" 2>&1) || fail "$what: merge" "$out"
	check_json "$what: the default merged down, saying why" "$out" --arg w "$why" \
		'.side == "target" and (.side_reason | startswith("no swap: " + $w))'
	check_eq "$what: the target is the same file" "$ino" "$(stat -c %i "$d/base.dmc")"
	check "$what: the target reads as the chain did" same_as_ref "$d/base.dmc" "$d/ref.img"
}
down_on "target mode 0600" "the target's permissions 0600 differ from the source's 0644" \
	chmod 0600 "$xfs/keep/base.dmc"
check_eq "target mode 0600: kept" 600 "$(stat -c %a "$d/base.dmc")"
rm -rf "$d"
down_on "source owned by another user" "the target's owner 0:0 differs from the source's 1:1" \
	chown 1:1 "$xfs/keep/top.dmc"
rm -rf "$d"
down_on "target marked no-dump (chattr +d)" \
	"the target's inode flags (chattr) 0x40 differ from the source's 0x0" \
	chattr +d "$xfs/keep/base.dmc"
check_eq "no-dump: the target keeps its flag" d \
	"$(lsattr -l "$d/base.dmc" | grep -q 'No_Dump' && echo d)"
rm -rf "$d"
down_on "source in project 7" "the target's project ID 0 differs from the source's 7" \
	xfs_io -c "chproj 7" "$xfs/keep/top.dmc"
rm -rf "$d"
down_on "target with a second link" "a file has another hard link" \
	ln "$xfs/keep/base.dmc" "$xfs/keep/base-link.dmc"
check "second link: both names still one file, merged" \
	same_as_ref "$d/base-link.dmc" "$d/ref.img"
covering_chain "$xfs/keep2" && chmod 0640 "$xfs/keep2/top.dmc"
check_fail_code "--side source with the modes apart: refused, names why" 1 \
	"permissions 0644 differ from the source's 0640" \
	"$CHAINCTL" layer merge --side source "$xfs/keep2/top.dmc"
rm -rf "$d" "$xfs/keep2"

# --- interrupted by a full filesystem -------------------------------------------
# A 400 MiB XFS (its smallest is 300 MiB): the chain, then a filler up to
# the last byte, so the copy of the first uncovered block fails.
img=$ext/small.img
small=$DMC_TMP/small
truncate -s 400M "$img"
loopdev=$(losetup -f --show "$img") && cleanup_add losetup -d "$loopdev"
fs_make xfs "$loopdev" "$small" || fail "small xfs"
d=$small/swap
covering_chain "$d" || fail "full: build the chain"
mv "$d/ref.img" "$ext/full-ref.img"
gen=$(layer_field "$d/base.dmc" generation)
uuid=$(layer_field "$d/base.dmc" uuid)
head -c 400M /dev/zero > "$small/filler" 2> /dev/null
check_fail_msg "full: the swap fails with a clear message" "No space left on device" \
	"$CHAINCTL" layer merge --side source --mode copy "$d/top.dmc"
check_eq "full: the target holds a swap journal" true "$(layer_field "$d/base.dmc" journal.swap)"
check_fail_code "full: check says the merge is interrupted and resumable (6)" 6 \
	"chainctl layer merge .*top.dmc" "$CHAINCTL" layer check "$d/base.dmc"
check "full: the chain still reads the same" same_as_ref "$d/top.dmc" "$ext/full-ref.img"
check_fail_msg "full: the kernel refuses the chain while the swap is unfinished" \
	"unfinished swap merge" "$CHAINCTL" device create dmc-e2e-swap "$d/top.dmc" --read-only
check_fail_msg "full: no device left behind" "Device does not exist" \
	dmsetup info dmc-e2e-swap
check_kernel_log "full: the kernel said why" "unfinished swap merge"
rm -f "$small/filler"
out=$("$CHAINCTL" layer merge -j "$d/top.dmc" 2>&1) || fail "full: re-run after freeing space" "$out"
check_json "full: the re-run finished the swap" "$out" '.resumed and .side == "source"'
mv "$ext/full-ref.img" "$d/ref.img"
check_fail_code "full: check on the source's path: merged away (9)" 9 "merged away into" \
	"$CHAINCTL" layer check "$d/top.dmc"
check "full: the target reads as the chain did" same_as_ref "$d/base.dmc" "$d/ref.img"
check_json "full: the target moved on one generation, journal ended" \
	"$("$CHAINCTL" layer info -j "$d/base.dmc")" --arg u "$uuid" --argjson g "$((gen + 1))" \
	'.uuid == $u and .generation == $g and .journal.state == "none"'
check_layer_files "full: the target checks clean" "$d/base.dmc"
rm -rf "$d"

# --- refusals ------------------------------------------------------------------
d=$xfs/bad
mkdir -p "$d/sub"
"$CHAINCTL" layer create -s 16M "$d/base.dmc"
"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/sub/top.dmc"
check_fail_code "--side source across directories: refused, names why" 1 \
	"one directory" "$CHAINCTL" layer merge --side source "$d/sub/top.dmc"
check_eq "--side source across directories: the target untouched" none \
	"$(layer_field "$d/base.dmc" journal.state)"
head -c 1M /dev/urandom > "$d/raw.img"
truncate -s 16M "$d/raw.img"
"$CHAINCTL" layer create --parent "$d/raw.img" "$d/onraw.dmc"
check_fail_code "--side source into a raw image: refused" 1 \
	"raw image" "$CHAINCTL" layer merge --side source "$d/onraw.dmc"
check_fail_code "--side with a bad value: usage error (2)" 2 \
	"bad side" "$CHAINCTL" layer merge --side middle "$d/onraw.dmc"
rm -rf "$d"

done_testing
