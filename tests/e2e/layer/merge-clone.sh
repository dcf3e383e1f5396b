# SPDX-License-Identifier: GPL-2.0
# Body of the clone-path merge scenarios (20-layer-merge-xfs.sh,
# 22-layer-merge-btrfs.sh): LAYER_FS names the filesystem made on the first
# scratch disk.  Random chains of depth 1 to 8 over raw and layer bases,
# merged at every depth and compared with a reference built by applying the
# same writes to a raw file; proof that data is shared (fiemap's shared
# flag, free space that does not move, nothing copied); SIGKILL in the middle
# of merges, then a re-run; range merges (layer/merge-range.sh).  Sourced
# after lib.sh and layer/helpers.sh.

mnt=$DMC_TMP/$LAYER_FS
fs_make "$LAYER_FS" "${DMC_DISK_LIST[0]}" "$mnt" || { fail "mkfs.$LAYER_FS"; done_testing; }
POOL=$mnt/pool
pool_make "$POOL" 16
POOL_BLOCKS=256
RANDOM=20

# --- every depth of every chain depth ------------------------------------------
# make check merges chains of depth 2 (layer base), 3 (raw base) and 8 at
# every depth; the complete matrix (every depth 1..8) runs with DMC_FULL=1.
if [ "${DMC_FULL:-0}" = 1 ]; then
	default_depths="1 2 3 4 5 6 7 8"
else
	default_depths="2 3 8"
fi
for depth in ${LAYER_DEPTHS:-$default_depths}; do
	raw=$((depth % 2))
	src=$mnt/chain$depth
	if ! chain_build "$src" "$depth" 32 "$raw"; then
		fail "depth $depth: build the chain"
		continue
	fi
	check "depth $depth: chain reads as the reference before merging" \
		same_as_ref "$src/l$depth.dmc" "$src/ref.img"
	for ((n = 1; n <= depth; n++)); do
		dir=$mnt/m$depth-$n
		cp -a --reflink=always "$src" "$dir"
		target=$(chain_target "$dir" "$depth" "$n")
		out=$("$CHAINCTL" layer merge --side target -j --depth "$n" "$dir/l$depth.dmc" 2>&1)
		if [ $? -ne 0 ]; then
			fail "depth $depth, merge $n: merge" "$out"
			continue
		fi
		copied=$(jq -r .copied_bytes <<< "$out")
		cloned=$(jq -r .cloned_bytes <<< "$out")
		if same_as_ref "$target" "$dir/ref.img" && [ "$copied" = 0 ]; then
			ok "depth $depth, merge $n into $(basename "$target"): same data, $cloned bytes cloned, none copied"
		else
			fail "depth $depth, merge $n into $(basename "$target")" "$out"
		fi
		rm -rf "$dir"
	done
	rm -rf "$src"
done

# --- the data is shared, not copied -------------------------------------------
dir=$mnt/share
mkdir -p "$dir"
"$CHAINCTL" layer create -s 1G "$dir/base.dmc"
"$CHAINCTL" layer create --parent "$dir/base.dmc" "$dir/child.dmc"
head -c 256M /dev/urandom > "$DMC_TMP/big"
"$CHAINCTL" layer write "$dir/child.dmc" 0 256M < "$DMC_TMP/big"
rm -f "$DMC_TMP/big"
sync
free_before=$(df --output=avail -B1M "$mnt" | tail -1)
out=$("$CHAINCTL" layer merge --side target -j "$dir/child.dmc")
sync
free_after=$(df --output=avail -B1M "$mnt" | tail -1)
diag "merge of 256 MiB: $(jq -c '{cloned_bytes,copied_bytes,clone_call_count,elapsed_seconds}' <<< "$out")"
check_eq "256 MiB merge: all of it cloned" 268435456 "$(jq -r .cloned_bytes <<< "$out")"
check_eq "256 MiB merge: in one clone call (one run)" 1 "$(jq -r .clone_call_count <<< "$out")"
used=$((free_before - free_after))
if ((used < 16)); then
	ok "256 MiB merge: free space moved by $used MiB only"
else
	fail "256 MiB merge: free space moved by $used MiB"
fi
# fiemap -v rows: "N: [a..b]: c..d TOTAL FLAGS"; 0x2000 is FIEMAP_EXTENT_SHARED.
shared=$(xfs_io -r -c "fiemap -v" "$dir/base.dmc" | tail -n +3 | {
	n=0
	while read -r _ _ range _ flags; do
		[ "$range" = hole ] || [ -z "$flags" ] && continue
		(( flags & 0x2000 )) && n=$((n + 1))
	done
	echo "$n"
})
if ((shared > 0)); then
	ok "fiemap: the target's data extents are shared ($shared extents)"
else
	fail "fiemap: the target's data extents are shared" \
		"$(xfs_io -r -c 'fiemap -v' "$dir/base.dmc" | head -5)"
fi
check_fail_msg "the merged-away child is refused with the reason" \
	"child.dmc: merged away into .*base.dmc" "$CHAINCTL" layer map "$dir/child.dmc"
check "check on the target: clean" "$CHAINCTL" layer check "$dir/base.dmc"
rm -rf "$dir"

# --- SIGKILL in the middle of merges, then re-run --------------------------------
# journal_state: "STATE CURSOR" of the merge journal in the `layer info -j`
# output on stdin ("none 0" when there is none).
journal_state() {
	jq -r '.journal.state + " " + (.journal.cursor_blocks // 0 | tostring)'
}

# journal_of LAYER: the same, read from LAYER.
journal_of() {
	"$CHAINCTL" layer info -j "$1" | journal_state
}

# kill_merge PID LAYER WHEN: SIGKILL the merge PID after WHEN seconds, or
# once LAYER holds its journal (WHEN "journal") or a committed cursor past
# 0 (WHEN "commit"), or N seconds after the journal appeared (WHEN
# "journal+N"), then reap it.  `layer info` reads the header while the
# merge holds its lock.  KILL_STATUS is the merge's exit status: 137 when
# the kill hit it running, anything else when it had ended by itself.
kill_merge() {
	local pid=$1 layer=$2 when=$3 t j
	case "$when" in
	journal|journal+*|commit)
		for ((t = 0; t < 400; t++)); do
			j=$(journal_of "$layer")
			if [ "$when" = commit ]; then
				[ "${j#* }" = 0 ] || break
			else
				[ "${j%% *}" = none ] || break
			fi
			kill -0 "$pid" 2> /dev/null || break
			sleep 0.05
		done
		[ "${when#journal+}" = "$when" ] || sleep "${when#journal+}"
		;;
	*)
		sleep "$when"
		;;
	esac
	kill -9 "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	KILL_STATUS=$?
}

# kill_moment JOURNAL_STATE SOURCE_STATE [TARGET_TOUCHED]: where a kill
# landed, from the merge's exit status (KILL_STATUS), the holder's journal
# and the top source's state: "late" (the merge had ended by itself, or
# had finished: no journal and the source merged away), "early" (nothing
# done yet: no journal, the source valid, and TARGET_TOUCHED "no") or
# "mid".
kill_moment() {
	local state=$1 src=$2 touched=${3:-}
	if [ "$KILL_STATUS" != 137 ] ||
	   { [ "${state%% *}" = none ] && [ "$src" = merged-away ]; }; then
		echo late
	elif [ "${state%% *}" = none ] && [ "$touched" != yes ]; then
		echo early
	else
		echo mid
	fi
}

# check_kill_landed WHAT MOMENT TRIES DETAIL: a kill case tests a merge
# stopped in the middle, never one that had finished (or not started).
check_kill_landed() {
	if [ "$2" = mid ]; then
		ok "$1: the kill landed mid-merge ($4)"
	else
		fail "$1: the kill landed mid-merge" \
			"after $(($3 > 3 ? 3 : $3)) tries the last kill landed $2: $4"
	fi
}

# Copy mode over 128 runs of 2 MiB at --rate 32 (MiB/s) keeps the merge
# busy for seconds however fast the disk copies, so it is killed before
# its first commit (at fixed delays) and after one (once the journal's
# cursor has moved: commits come about every second).
dir=$mnt/kill
mkdir -p "$dir"
"$CHAINCTL" layer create -s 256M "$dir/base.dmc"
truncate -s 256M "$dir/ref.img"
pool_make "$POOL" 64
POOL_BLOCKS=1024
for ((i = 0; i < 8; i++)); do layer_put "$dir/base.dmc" "$dir/ref.img" $((i * 512)) 64; done
# Each layer is written before its child is made: writing a layer moves its
# generation on, which would make an older child stale.
"$CHAINCTL" layer create --parent "$dir/base.dmc" "$dir/mid.dmc"
for ((i = 0; i < 64; i++)); do layer_put "$dir/mid.dmc" "$dir/ref.img" $((i * 64)) 32 || break; done
"$CHAINCTL" layer create --parent "$dir/mid.dmc" "$dir/top.dmc"
for ((i = 0; i < 64; i++)); do layer_put "$dir/top.dmc" "$dir/ref.img" $((i * 64 + 16)) 32 || break; done
layer_zero "$dir/top.dmc" "$dir/ref.img" 100 50
rm -rf "$dir.orig"
cp -a --reflink=always "$dir" "$dir.orig"
# The journal is written at the start (before the first commit), so the
# timed kills count from its appearance: both land before the first
# commit, with the journal at cursor 0.  A kill that landed after the
# merge had finished (or before it wrote its journal) tests nothing: it
# is tried again (up to 3 times), then fails.
for when in journal+0.2 journal+0.6 commit; do
	for ((try = 1; try <= 3; try++)); do
		rm -rf "$dir"
		cp -a --reflink=always "$dir.orig" "$dir"
		"$CHAINCTL" layer merge --mode copy --rate 32 --depth 2 "$dir/top.dmc" \
			> /dev/null 2>&1 &
		kill_merge $! "$dir/base.dmc" "$when"
		state=$(journal_of "$dir/base.dmc")
		top_state=$("$CHAINCTL" layer info -j "$dir/top.dmc" | jq -r .state)
		moment=$(kill_moment "$state" "$top_state" no)
		[ "$moment" != mid ] || break
		diag "kill at $when, try $try: landed $moment (merge exit $KILL_STATUS, journal $state, top $top_state)"
	done
	[ "$when" = commit ] && at="after a commit" || at="${when#journal+}s after the journal"
	diag "killed $at: journal $state"
	check_kill_landed "killed $at" "$moment" "$try" \
		"merge exit $KILL_STATUS, journal $state, top $top_state"
	if [ "$when" = commit ]; then
		check_eq "killed $at: the merge was stopped past its start" yes \
			"$([ "${state%% *}" != none ] && [ "${state#* }" != 0 ] && echo yes || echo "no: journal $state")"
	fi
	if [ "$top_state" = valid ]; then
		check "killed $at: the chain still reads the same" \
			same_as_ref "$dir/top.dmc" "$dir/ref.img"
	elif [ "${state%% *}" != none ]; then
		check_fail_msg "killed $at: the merged-away leaf says how to finish" \
			"chainctl layer merge .*top.dmc' or 'chainctl layer check -r" \
			"$CHAINCTL" layer map "$dir/top.dmc"
	fi
	if [ "${state%% *}" != none ]; then
		"$CHAINCTL" layer check "$dir/base.dmc" > /dev/null 2>&1
		rc=$?
		# 6: interrupted while copying, 7: after the data (finishing).
		want=6
		[ "${state%% *}" = retiring ] && want=7
		check_eq "killed $at: check says the merge is interrupted, resumable ($want)" \
			"$want" "$rc"
	fi
	if [ "${state%% *}" != none ] || [ "$top_state" = valid ]; then
		check "killed $at: re-running the merge finishes it" \
			"$CHAINCTL" layer merge --depth 2 "$dir/top.dmc"
	fi
	check "killed $at: the target reads as the reference" \
		same_as_ref "$dir/base.dmc" "$dir/ref.img"
	check "killed $at: check clean" "$CHAINCTL" layer check "$dir/base.dmc"
done
# --rate paces the whole merge: never faster than the limit (a lower
# bound only: a slow machine may take longer).
rm -rf "$dir"
cp -a --reflink=always "$dir.orig" "$dir"
t0=$(date +%s.%N)
out=$("$CHAINCTL" layer merge -j --mode copy --rate 64 --depth 2 "$dir/top.dmc")
t1=$(date +%s.%N)
diag "merge at --rate 64: $(jq -c '{copied_bytes, direct_bytes, elapsed_seconds}' <<< "$out"), $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
check_eq "--rate 64: the merge took at least its bytes at 64 MiB/s" yes \
	"$(awk -v a="$t0" -v b="$t1" -v n="$(jq .copied_bytes <<< "$out")" \
		'BEGIN { print (n > 0 && b - a >= 0.95 * n / (64 * 1048576)) ? "yes" : "no: " n " bytes in " b - a " s" }')"
check "--rate 64: the target reads as the reference" same_as_ref "$dir/base.dmc" "$dir/ref.img"
rm -rf "$dir" "$dir.orig"

# One source into a raw base writes its journal only at its first commit
# (docs/format.md, step 1): killed before it, the source holds no journal
# and a re-run starts over; killed once the journal is there, the re-run
# resumes.  Which case the early kill hit is printed; both must leave the
# chain reading the same.
dir=$mnt/killraw
mkdir -p "$dir"
head -c 256M /dev/urandom > "$dir/base.img"
cp "$dir/base.img" "$dir/ref.img"
"$CHAINCTL" layer create --parent "$dir/base.img" "$dir/top.dmc"
# 224 MiB to copy at --rate 32: the merge must outlast its first commit
# (about 1 s in) by more than a poll of `layer info` takes, also on two
# guest CPUs (with 128 MiB and no limit the merge ended before three polls
# in a row saw the journal; direct I/O now copies that in well under 1 s).
for ((i = 0; i < 16; i++)); do layer_put "$dir/top.dmc" "$dir/ref.img" $((i * 256 + 16)) 224 || break; done
rm -rf "$dir.orig"
cp -a --reflink=always "$dir" "$dir.orig"
# A kill that landed after the merge had finished, or before it wrote
# anything, is tried again (the timed one later or sooner), then fails.
for when in 0.6 journal; do
	delay=$when
	for ((try = 1; try <= 3; try++)); do
		rm -rf "$dir"
		cp -a --reflink=always "$dir.orig" "$dir"
		"$CHAINCTL" layer merge --side target --mode copy --rate 32 "$dir/top.dmc" > /dev/null 2>&1 &
		kill_merge $! "$dir/top.dmc" "$delay"
		info=$("$CHAINCTL" layer info -j "$dir/top.dmc")
		state=$(journal_state <<< "$info")
		touched=$(cmp -s "$dir/base.img" "$dir.orig/base.img" && echo no || echo yes)
		moment=$(kill_moment "$state" "$(jq -r .state <<< "$info")" "$touched")
		[ "$moment" != mid ] || break
		diag "raw base, kill at $delay, try $try: landed $moment (merge exit $KILL_STATUS, journal $state, base touched: $touched)"
		if [ "$when" != journal ]; then
			[ "$moment" = late ] && delay=$(awk -v d="$delay" 'BEGIN { print d / 2 }') ||
				delay=$(awk -v d="$delay" 'BEGIN { print d * 2 }')
		fi
	done
	[ "$when" = journal ] && at="at its journal" || at="after ${delay}s"
	diag "raw base, killed $at: source $(jq -r .state <<< "$info"), journal $state, base $([ "$touched" = yes ] && echo written || echo untouched)"
	check_kill_landed "raw base, killed $at" "$moment" "$try" \
		"merge exit $KILL_STATUS, source $(jq -r .state <<< "$info"), journal $state, base touched: $touched"
	if [ "$when" = journal ]; then
		check_eq "raw base, killed $at: the merge was stopped with its journal" yes \
			"$([ "${state%% *}" != none ] && echo yes || echo "no: journal $state")"
	fi
	if [ "$(jq -r .state <<< "$info")" = valid ]; then
		check "raw base, killed $at: the chain still reads the same" \
			same_as_ref "$dir/top.dmc" "$dir/ref.img"
		out=$("$CHAINCTL" layer merge --side target -j "$dir/top.dmc" 2>&1)
		check_eq "raw base, killed $at: the re-run $([ "${state%% *}" = none ] && echo "starts over" || echo resumes)" \
			"$([ "${state%% *}" = none ] && echo false || echo true)" "$(jq -r .resumed <<< "$out" 2>&1)"
	fi
	check "raw base, killed $at: the base reads as the reference" \
		cmp -s "$dir/base.img" "$dir/ref.img"
	check_eq "raw base, killed $at: the source is merged away" \
		merged-away "$("$CHAINCTL" layer info -j "$dir/top.dmc" | jq -r .state)"
done
rm -rf "$dir" "$dir.orig"

# --- range merges (--into P --from TOP), by clone --------------------------------
RANGE_DIR=$mnt RANGE_PATH=clone
. "$DMC_ROOT/tests/e2e/layer/merge-range.sh"

done_testing
