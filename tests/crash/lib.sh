# SPDX-License-Identifier: GPL-2.0
# Crash-consistency replay in the test VM (docs/testing/crash.md).
# Sourced by tests/e2e/65-crash-sample.sh and the long run (tests/crash/run)
# after tests/e2e/lib.sh.
#
#   crash_scenario FS KIND SEED SEGMENTS ROUNDS SAMPLE
#       Record, then replay and check, one scenario on disks ORIG, LOG and
#       REPLAY (crash_disks sets them):
#       record  dm-log-writes "crlw" over ORIG logs to LOG; FS is made on
#               it and mounted at $CRASH_MNT; a chain base <- l0 (64 KiB
#               blocks) is built and opened as dmc-crash; crashmodel.py
#               writes SEGMENTS segments of ROUNDS rounds each, each round
#               ending in an fdatasync and a "sync-G" mark; between two
#               segments the operation of KIND runs (below) and marks the
#               log with what it changed; then everything is torn down.
#       replay  onto REPLAY, from the mark "ready" (chain built, every
#               unit stamped and synced) to the end, stopping at every
#               flush and FUA entry and every "merge-start" mark: a point.
#               At each point a throw-away dm-snapshot of REPLAY is
#               mounted at $CRASH_MNT (the filesystem's recovery runs
#               there) and checked: every layer file passes `chainctl
#               layer check` (_crash_files_check says what passes), the
#               chain opens, and crashcheck finds every synced round and
#               nothing older (crashmodel.py explains the stamps).  At
#               every SAMPLE-th point, at "merge-start" and at the first
#               point after each operation's marks, a merge is issued
#               again on the snapshot and must finish with the same
#               content.  One TAP result per point.
#   KIND:
#       writes   `chainctl device snapshot` (the device's new leaf)
#       live     `chainctl device merge --depth 1` started (--no-wait)
#                while the next segment writes; waited for before the next
#       offline  the device removed, `chainctl layer merge` of the leaf into
#                the base, a new leaf created and the device opened on it
#       swap     the same with `--side source`: the base's blocks the leaf
#                lacks move up, the leaf's file becomes the base by rename
#                and a merged-away marker takes the leaf's path
#       cancel   odd operations start a live merge at 1 MiB/s and cancel
#                it a second later; even ones resume it (and wait)
#   Marks (one word each: dm-log-writes splits a message at spaces):
#   "ready", "sync-G", "leaf=NAME" (the chain now ends at NAME),
#   "next-leaf=NAME" (the leaf the next operation makes), "merge-start",
#   "merge-cancelled", "merge-done", "end".
#   With CRASH_CUTS=PERMILLE, that share of the plain writes between two
#   flushes are points too ("cut"): a power cut that kept only the writes
#   logged before it (replay-log --cuts), checked the same way.
#   With CRASH_CANARY=1 a last case proves the checks can fail (see
#   _crash_canary).
#   The totals go to stdout as "# crash-points FS KIND N" (cuts included),
#   "# crash-cuts FS KIND N" and "# crash-reissued FS KIND N".

CRASH_MODEL=$DMC_ROOT/tests/crash/crashmodel.py
CRASH_CHECK=$DMC_ROOT/tests/crash/crashcheck
CRASH_REPLAY=$DMC_ROOT/tests/crash/replay-log
CRASH_MNT=${CRASH_MNT:-$DMC_TMP/crash-mnt}
CRASH_SIZE=$((16 * 1024 * 1024))
CRASH_DEV=dmc-crash

# crash_disks ORIG LOG REPLAY
crash_disks() {
	CRASH_ORIG=$1
	CRASH_LOG=$2
	CRASH_REPLAY_DEV=$3
}

_crash_dm_remove() {
	dmsetup remove --noudevsync "$1" && rm -f "/dev/mapper/$1"
}

_crash_mark() {
	dmsetup message crlw 0 mark "$1"
}

# The merge's data path: clone where the filesystem shares extents.
_crash_mode() {
	case "$1" in
	ext4) echo copy ;;
	*) echo clone ;;
	esac
}

# _crash_live_wait [STATE...]: until the device's merge is no longer
# running; fails unless it then is in one of STATEs (default: done, none).
_crash_live_wait() {
	local state i want=" ${*:-done none} "
	for ((i = 0; i < 600; i++)); do
		state=$("$CHAINCTL" device status "$CRASH_DEV" -j 2> /dev/null |
			jq -r '[.. | objects | select(has("done_bytes")) | .state][0] // "none"')
		if [ "$state" != running ]; then
			[[ $want = *" $state "* ]] && return 0
			echo "the merge ended $state"
			return 1
		fi
		sleep 0.2
	done
	echo "the merge still runs after 120 s"
	return 1
}

# _crash_record FS KIND SEED SEGMENTS ROUNDS: everything up to the log.
_crash_record() {
	local fs=$1 kind=$2 seed=$3 segs=$4 rounds=$5 dir=$CRASH_MNT/c
	local s leaf=l0 n=0 mode sz
	mode=$(_crash_mode "$fs")
	sz=$(blockdev --getsz "$CRASH_ORIG") || return 1
	dd if=/dev/zero of="$CRASH_LOG" bs=4096 count=1 conv=fsync status=none || return 1
	dmsetup create --noudevsync crlw --table "0 $sz log-writes $CRASH_ORIG $CRASH_LOG" &&
		dmsetup mknodes crlw || return 1
	fs_mkfs "$fs" /dev/mapper/crlw || return 1
	mkdir -p "$CRASH_MNT" && mount /dev/mapper/crlw "$CRASH_MNT" || return 1
	mkdir -p "$dir" &&
	"$CHAINCTL" layer create -s $CRASH_SIZE -b 64K "$dir/base" > /dev/null &&
	"$CHAINCTL" layer create --parent "$dir/base" "$dir/l0" > /dev/null &&
	"$CHAINCTL" device create $CRASH_DEV "$dir/l0" > /dev/null || return 1
	rm -f "$DMC_TMP/crash-model"
	# round 0 stamps every unit
	python3 "$CRASH_MODEL" run /dev/mapper/$CRASH_DEV "$DMC_TMP/crash-model" \
		--seed "$seed" --first 0 --rounds 1 --lw crlw || return 1
	sync -f "$dir/l0" && _crash_mark ready || return 1
	for ((s = 0; s < segs; s++)); do
		python3 "$CRASH_MODEL" run /dev/mapper/$CRASH_DEV "$DMC_TMP/crash-model" \
			--seed "$seed" --first $((1 + s * rounds)) --rounds "$rounds" \
			--lw crlw || return 1
		((s == segs - 1)) && break
		n=$((n + 1))
		case "$kind" in
		writes)
			_crash_mark "next-leaf=s$n" || return 1
			_crash_mark merge-start || return 1
			"$CHAINCTL" device snapshot $CRASH_DEV "$dir/s$n" > /dev/null || return 1
			leaf=s$n
			_crash_mark "leaf=$leaf" || return 1
			_crash_mark merge-done || return 1
			;;
		live)
			if ((n > 1)); then
				_crash_live_wait || return 1
				_crash_mark merge-done || return 1
			fi
			_crash_mark "next-leaf=m$n" || return 1
			_crash_mark merge-start || return 1
			"$CHAINCTL" device merge $CRASH_DEV --depth 1 --mode "$mode" \
				--new-leaf "$dir/m$n" --no-wait > /dev/null || return 1
			leaf=m$n
			_crash_mark "leaf=$leaf" || return 1
			;;
		cancel)
			if ((n % 2)); then
				# start slowly, cancel after a second
				_crash_mark "next-leaf=m$n" || return 1
				_crash_mark merge-start || return 1
				"$CHAINCTL" device merge $CRASH_DEV --depth 1 --mode "$mode" \
					--rate 1 --new-leaf "$dir/m$n" --no-wait > /dev/null ||
					return 1
				leaf=m$n
				_crash_mark "leaf=$leaf" || return 1
				sleep 1
				"$CHAINCTL" device cancel $CRASH_DEV > /dev/null || return 1
				_crash_live_wait cancelled || return 1
				_crash_mark merge-cancelled || return 1
			else
				# resume it (a merge that had ended starts anew on r$n)
				_crash_mark "next-leaf=r$n" || return 1
				"$CHAINCTL" device merge $CRASH_DEV --depth 1 --mode "$mode" \
					--new-leaf "$dir/r$n" > /dev/null || return 1
				leaf=$(basename "$("$CHAINCTL" device status $CRASH_DEV -j |
					jq -r '[.. | objects | .leaf_path? // empty][0]')")
				_crash_mark "leaf=$leaf" || return 1
				_crash_mark merge-done || return 1
			fi
			;;
		offline|swap)
			_crash_dm_remove $CRASH_DEV || return 1
			_crash_mark "next-leaf=base" || return 1
			_crash_mark merge-start || return 1
			"$CHAINCTL" layer merge --depth 1 --mode "$mode" \
				--side "$([ "$kind" = swap ] && echo source || echo target)" \
				"$dir/$leaf" > /dev/null || return 1
			_crash_mark "leaf=base" || return 1
			_crash_mark merge-done || return 1
			leaf=o$n
			"$CHAINCTL" layer create --parent "$dir/base" "$dir/$leaf" > /dev/null &&
			"$CHAINCTL" device create $CRASH_DEV "$dir/$leaf" > /dev/null || return 1
			_crash_mark "leaf=$leaf" || return 1
			;;
		esac
	done
	if [ "$kind" = cancel ] && ((n % 2)); then
		"$CHAINCTL" device merge $CRASH_DEV > /dev/null || return 1
		_crash_mark merge-done || return 1
	fi
	if [ "$kind" = live ] && ((n > 0)); then
		_crash_live_wait || return 1
		_crash_mark merge-done || return 1
	fi
	_crash_mark end
	_crash_dm_remove $CRASH_DEV && umount "$CRASH_MNT" && _crash_dm_remove crlw
}

# _crash_snap_up / _crash_snap_down: REPLAY's throw-away view, mounted.
_crash_snap_up() {
	local sz
	sz=$(blockdev --getsz "$CRASH_REPLAY_DEV") || return 1
	dmsetup create --noudevsync crsnap \
		--table "0 $sz snapshot $CRASH_REPLAY_DEV $CRASH_COW N 8" &&
	dmsetup mknodes crsnap &&
	mount /dev/mapper/crsnap "$CRASH_MNT"
}

_crash_snap_down() {
	_crash_dm_remove $CRASH_DEV 2> /dev/null
	umount "$CRASH_MNT" 2> /dev/null
	_crash_dm_remove crsnap
}

# _crash_layers_check LEAF MERGING: every layer of the chain from LEAF.
_crash_layers_check() {
	local leaf=$1 merging=$2 paths p rc out
	out=$("$CHAINCTL" layer info --chain -j "$leaf" 2>&1) &&
	paths=$(jq -r '.layers[].path' <<< "$out" 2> /dev/null) ||
		{ echo "layer info --chain $leaf: $out"; return 1; }
	[ -n "$paths" ] || { echo "layer info --chain $leaf: no layers"; return 1; }
	for p in $paths; do
		[[ $p = /* ]] || p=$(dirname "$leaf")/$p
		out=$("$CHAINCTL" layer check "$p" 2>&1)
		rc=$?
		case $rc in
		0) ;;
		6|7) ((merging)) || { echo "layer check $p: exit $rc outside a merge: $out"; return 1; } ;;
		*) echo "layer check $p: exit $rc: $out"; return 1 ;;
		esac
	done
}

# _crash_files_check LEAF NEXT MERGING: `layer check` on every layer file
# on the replayed filesystem, and which leaf to open (CRASH_LEAF).  Clean
# (0) or merged away (9) always pass; an interrupted merge (6, 7) passes
# while an operation runs (MERGING).  While one runs, the chain ends at
# its new leaf NEXT once that file checks out (a live merge's journal is
# durable only after the new leaf is: then the old leaf is a merge source
# and cannot be opened writable); before that NEXT may be a half-made file
# nothing refers to, which is reported but not failed.
_crash_files_check() {
	local leaf=$1 next=$2 merging=$3 f rc out bad=0 next_rc=
	CRASH_LEAF=$leaf
	for f in "$CRASH_MNT"/c/*; do
		[ -f "$f" ] || continue
		out=$("$CHAINCTL" layer check "$f" 2>&1)
		rc=$?
		if ((merging)) && [ "$f" = "$next" ] && [ "$next" != "$leaf" ]; then
			next_rc=$rc
			case $rc in
			0|6|7) CRASH_LEAF=$next ;;
			*) echo "not yet usable: the new leaf $f (layer check exit $rc)" ;;
			esac
			continue
		fi
		case $rc in
		0|9) ;;
		6|7) ((merging)) || { echo "layer check $f: exit $rc outside an operation: $out"; bad=1; } ;;
		*) echo "layer check $f: exit $rc: $out"; bad=1 ;;
		esac
	done
	[ -f "$CRASH_LEAF" ] || { echo "the leaf $CRASH_LEAF is missing"; return 1; }
	return $bad
}

# _crash_content SYNCED SEED: the open chain against the model.
_crash_content() {
	"$CRASH_CHECK" /dev/mapper/$CRASH_DEV "$DMC_TMP/crash-model" "$2" "$1" 2>&1
}

# _crash_point KIND LEAF NEXT SYNCED MERGING REISSUE SEED: checks at one
# point; prints what failed.  While an operation runs (MERGING) the chain
# may already end at the operation's new leaf NEXT: a crash there leaves
# the old leaf behind the new one, and NEXT is the one to open.
_crash_point() {
	local kind=$1 leaf=$CRASH_MNT/c/$2 next=$CRASH_MNT/c/$3 synced=$4 merging=$5
	local reissue=$6 seed=$7 dir=$CRASH_MNT/c out target p
	_crash_snap_up || { echo "snapshot of the replay disk: cannot mount"; return 1; }
	if { [ "$kind" = offline ] || [ "$kind" = swap ]; } && ((merging)); then
		# The leaf may hold an unfinished merge, or be merged away
		# already: the device refuses it until the merge is issued
		# again (always, here).  A swap leaves the leaf's path empty
		# between its rename and its marker.
		for p in "$leaf" "$dir/base"; do
			[ "$kind" = swap ] && [ "$p" = "$leaf" ] && [ ! -e "$p" ] && continue
			out=$("$CHAINCTL" layer check "$p" 2>&1)
			case $? in
			0|6|7|9) ;;
			*) echo "layer check $p during an offline merge: $out"; return 1 ;;
			esac
		done
		if [ "$kind" = swap ] &&
		   [ "$("$CHAINCTL" layer info -j "$dir/base" | jq -r .journal.state)" != none ]; then
			out=$("$CHAINCTL" layer check -r "$dir/base" 2>&1)
			case $? in
			1) ;;
			*) echo "check -r of the swap's target: $out"; return 1 ;;
			esac
		else
			out=$("$CHAINCTL" layer merge --depth 1 \
				--side "$([ "$kind" = swap ] && echo source || echo target)" "$leaf" 2>&1)
			case $? in
			0|9) ;;
			*) echo "re-issued layer merge: $out"; return 1 ;;
			esac
		fi
		leaf=$dir/base
		_crash_layers_check "$leaf" 0 || return 1
	else
		_crash_files_check "$leaf" "$next" "$merging" || return 1
		leaf=$CRASH_LEAF
	fi
	out=$("$CHAINCTL" device create $CRASH_DEV "$leaf" 2>&1) ||
		{ echo "device create on $leaf: $out"; return 1; }
	out=$(_crash_content "$synced" "$seed") || { echo "$out"; return 1; }
	if ((reissue)) && [ "$kind" != offline ] && [ "$kind" != swap ]; then
		out=$("$CHAINCTL" device merge $CRASH_DEV --depth 1 --new-leaf "$dir/chk-leaf" 2>&1) ||
			{ echo "re-issued device merge: $out"; return 1; }
		out=$(_crash_content "$synced" "$seed") ||
			{ echo "after the re-issued merge: $out"; return 1; }
		target=$("$CHAINCTL" device status $CRASH_DEV -j |
			jq -r '[.. | objects | .leaf_path? // empty][0] // empty')
		_crash_dm_remove $CRASH_DEV || return 1
		_crash_layers_check "${target:-$dir/chk-leaf}" 0 || return 1
	fi
	return 0
}

# _crash_canary FS KIND LEAF SYNCED SEED: the checks must be able to fail.
# The whole log replayed again, leaving out every write that holds a
# stamp's magic (the chain's data in the layer files): the chain must then
# fail the content check, naming bad units.
_crash_canary() {
	local fs=$1 kind=$2 leaf=$CRASH_MNT/c/$3 synced=$4 seed=$5 out rc
	local state=$DMC_TMP/crash-canary.state
	rm -f "$state"
	blkdiscard -z "$CRASH_REPLAY_DEV" 2> /dev/null
	out=$("$CRASH_REPLAY" replay --to-end --skip-matching dmccrash "$CRASH_LOG" \
		"$CRASH_REPLAY_DEV" "$state" 2>&1) ||
		{ fail "$fs/$kind canary: replay without the data writes" "$out"; return; }
	if ! _crash_snap_up > /dev/null 2>&1; then
		fail "$fs/$kind canary: mount the replay"
	elif ! out=$("$CHAINCTL" device create $CRASH_DEV "$leaf" 2>&1); then
		# a header lost with the data is caught as well
		ok "$fs/$kind canary: without its data writes the chain is refused"
	else
		out=$(_crash_content "$synced" "$seed")
		rc=$?
		if [ $rc = 1 ] && [[ $out = *"units bad"* ]]; then
			ok "$fs/$kind canary: without its data writes the content check fails"
		else
			fail "$fs/$kind canary: without its data writes the content check fails" \
				"exit $rc: $out"
		fi
	fi
	_crash_snap_down > /dev/null 2>&1
}

crash_scenario() {
	local fs=$1 kind=$2 seed=$3 segs=$4 rounds=$5 sample=$6
	local state=$DMC_TMP/crash-replay.state out line rc points=0 reissued=0
	local leaf=l0 next=l0 synced=0 merging=0 before_op=0 after_op=0
	local entry fl why reissue kw e1 m1 what cuts=0
	diag "crash scenario $fs/$kind: seed $seed, $segs segments of $rounds rounds"
	if ! out=$(_crash_record "$fs" "$kind" "$seed" "$segs" "$rounds" 2>&1); then
		fail "$fs/$kind: record the workload" "$out"
		_crash_dm_remove $CRASH_DEV 2> /dev/null
		umount "$CRASH_MNT" 2> /dev/null
		_crash_dm_remove crlw 2> /dev/null
		return 1
	fi
	diag "$("$CRASH_REPLAY" info "$CRASH_LOG")"
	rm -f "$state"
	blkdiscard -z "$CRASH_REPLAY_DEV" 2> /dev/null ||
		dd if=/dev/zero of="$CRASH_REPLAY_DEV" bs=1M count=$(( $(blockdev --getsize64 "$CRASH_REPLAY_DEV") >> 20 )) conv=fsync status=none
	out=$("$CRASH_REPLAY" replay --to-mark ready "$CRASH_LOG" "$CRASH_REPLAY_DEV" "$state") ||
		{ fail "$fs/$kind: replay to the mark 'ready'" "$out"; return 1; }
	while :; do
		out=$("$CRASH_REPLAY" replay --stop-mark merge-start \
			--cuts "${CRASH_CUTS:-0}" --cut-seed "$seed" \
			"$CRASH_LOG" "$CRASH_REPLAY_DEV" "$state")
		rc=$?
		[ $rc = 0 ] || [ $rc = 3 ] || { fail "$fs/$kind: replay-log" "$out"; return 1; }
		entry=
		while read -r kw e1 m1; do
			if [ "$kw" = mark ]; then
				case "$m1" in
				sync-*) synced=${m1#sync-} ;;
				leaf=*) leaf=${m1#leaf=} ;;
				next-leaf=*) next=${m1#next-leaf=} ;;
				merge-start) merging=1; before_op=1 ;;
				merge-done) merging=0; after_op=1 ;;
				esac
			elif [ "$kw" = point ]; then
				entry=$e1
				fl=$m1
			fi
		done <<< "$out"
		[ -n "$entry" ] || break	# the log ended: no more points
		points=$((points + 1))
		case $fl in
		*F*|*U*|*M*) what=point ;;
		*) what=cut; cuts=$((cuts + 1)) ;;
		esac
		# re-issue a merge: every SAMPLE-th point, at the mark
		# "merge-start" (the last state before an operation: replay-log
		# stops there too), and at the first point after it and after
		# its "merge-done"
		reissue=0
		why=
		((points % sample == 0)) && { reissue=1; why=" sample"; }
		if ((before_op)); then
			reissue=1; why="$why before-op"; before_op=0; after_op=1
		elif ((after_op)); then
			reissue=1; why="$why after-op"; after_op=0
		fi
		{ [ "$kind" = offline ] || [ "$kind" = swap ]; } && ((merging)) && reissue=1
		if ((reissue)); then
			reissued=$((reissued + 1))
		fi
		out=$(_crash_point "$kind" "$leaf" "$next" "$synced" "$merging" "$reissue" \
			"$seed" 2>&1)
		rc=$?
		_crash_snap_down > /dev/null 2>&1
		if [ $rc = 0 ]; then
			ok "$fs/$kind $what $points (entry $entry $fl, sync-$synced, leaf $leaf${why:+,$why re-merge})"
		else
			fail "$fs/$kind $what $points (entry $entry $fl, sync-$synced, leaf $leaf)" "$out"
		fi
		kernel_log_splats > /dev/null && { fail "$fs/$kind: kernel report at point $points" "$(kernel_log_splats | head -20)"; return 1; }
	done
	((${CRASH_CANARY:-0})) && _crash_canary "$fs" "$kind" "$leaf" "$synced" "$seed"
	echo "# crash-points $fs $kind $points"
	echo "# crash-cuts $fs $kind $cuts"
	echo "# crash-reissued $fs $kind $reissued"
	((points > 0)) || { fail "$fs/$kind: the replay found no point"; return 1; }
}
