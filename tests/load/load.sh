#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The load tier of issue 16 (docs/testing/load.md), run inside the test VM
# by tests/load/run (make check-load) and, short, by scenario 67 (make
# check).  N chain devices, each on its own file system (the last on ext4,
# so its merges copy; the others on XFS, whose merges clone), run fio at
# iodepth 64 with crc32c verification all at once: first a quiet phase
# without merges, then a phase in which one control loop per device keeps
# taking snapshots, starting live merges, cancelling and resuming them, and
# asking for a second merge while one runs.  Checks: every fio run exits 0
# with no verify error, every control operation succeeds or is a documented
# refusal, no merge fails, every layer checks clean after teardown, the
# kernel logs no splat, and after teardown and rmmod kernel memory (Slab,
# SUnreclaim, VmallocUsed) is back to its baseline within a tolerance; on a
# kmemleak kernel a scan must report nothing.  Prints "# load ..." lines
# with the figures (IOPS per phase, operations, bytes verified) that
# tests/load/run turns into a table.
# Parameters: environment variables or KEY=VALUE arguments:
#   DMC_LOAD_DEVICES        devices (default 4; one scratch disk each)
#   DMC_LOAD_SECONDS        fio time in all, both phases (default 600)
#   DMC_LOAD_QUIET_SECONDS  of which the first phase, without merges
#                           (default a fifth, at least 10)
#   DMC_LOAD_SIZE_MB        size of each device (default 256)
#   DMC_LOAD_SEED           the control loops' random seed (default 1)
#   DMC_LOAD_TOLERANCE_KB   allowed growth of Slab, SUnreclaim and
#                           VmallocUsed after teardown (default 8192)
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/live/lib.sh"

for kv in "$@"; do
	case "$kv" in
	DMC_LOAD_*=*) export "${kv?}" ;;
	*) echo "load.sh: unknown argument $kv" >&2; exit 2 ;;
	esac
done
ndev=${DMC_LOAD_DEVICES:-4}
secs=${DMC_LOAD_SECONDS:-600}
quiet=${DMC_LOAD_QUIET_SECONDS:-$((secs / 5 > 10 ? secs / 5 : 10))}
busy=$((secs - quiet))
size_mb=${DMC_LOAD_SIZE_MB:-256}
seed=${DMC_LOAD_SEED:-1}
tol=${DMC_LOAD_TOLERANCE_KB:-8192}
C=$CHAINCTL
w=$DMC_TMP/load
stop=$w/stop
mkdir -p "$w" || exit 1
cd "$DMC_TMP" || exit 1
diag "load devices=$ndev seconds=$secs quiet=$quiet busy=$busy size_mb=$size_mb seed=$seed tolerance_kb=$tol"
[ "$busy" -gt 0 ] || { fail "DMC_LOAD_SECONDS ($secs) leaves no time after the quiet phase ($quiet)"; done_testing; }
[ "${#DMC_DISK_LIST[@]}" -ge "$ndev" ] ||
	{ fail "$ndev devices need $ndev scratch disks, the VM has ${#DMC_DISK_LIST[@]}"; done_testing; }

# meminfo: "Slab SUnreclaim VmallocUsed" in kB, after dropping the caches.
meminfo() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 2
	awk '$1 == "Slab:" { s = $2 } $1 == "SUnreclaim:" { u = $2 }
		$1 == "VmallocUsed:" { v = $2 } END { print s, u, v }' /proc/meminfo
}

kmemleak=/sys/kernel/debug/kmemleak
[ ! -w "$kmemleak" ] || { echo scan > "$kmemleak"; echo clear > "$kmemleak"; }
read -r base_slab base_sunr base_vmal <<< "$(meminfo)"
cp /proc/slabinfo "$w/slabinfo.before" 2> /dev/null
diag "memory before: Slab $base_slab kB, SUnreclaim $base_sunr kB, VmallocUsed $base_vmal kB"
need_module || done_testing

mklayers() {
	"$C" layer create -s "$size" -b 65536 "$1/base.dmc" > /dev/null &&
		"$C" layer create --parent "$1/base.dmc" "$1/vm.dmc" > /dev/null
}
fs_of() { [ "$1" = $((ndev - 1)) ] && [ "$ndev" -gt 1 ] && echo ext4 || echo xfs; }
size=$((size_mb << 20))
for ((i = 0; i < ndev; i++)); do
	d=$w/fs$i
	fs=$(fs_of $i)
	check "mkfs.$fs on ${DMC_DISK_LIST[$i]}" fs_make "$fs" "${DMC_DISK_LIST[$i]}" "$d" || done_testing
	check "device $i: base and leaf on $fs" mklayers "$d" || done_testing
	check "device $i: create dmc-load$i" "$C" device create "dmc-load$i" "$d/vm.dmc" || done_testing
	cleanup_add dmsetup remove --noudevsync "dmc-load$i"
done

# run_fio PHASE SECONDS: fio on every device at once, one process each,
# JSON to $w/fio.PHASE.I.json; sets fio_pids.
fio_pids=()
run_fio() {
	local phase=$1 t=$2 i
	fio_pids=()
	for ((i = 0; i < ndev; i++)); do
		fio --name="load$i-$phase" --filename="/dev/mapper/dmc-load$i" \
			--rw=randwrite --bs=4k --ioengine=libaio --direct=1 --iodepth=64 \
			--verify=crc32c --verify_backlog=32 --verify_fatal=1 \
			--time_based --runtime="$t" --size=$size --randseed=$((seed * 10 + i)) \
			--output-format=json --output="$w/fio.$phase.$i.json" \
			> "$w/fio.$phase.$i.out" 2>&1 &
		fio_pids+=($!)
	done
}

# check_fio PHASE: every device's fio of PHASE exited 0, reported no error,
# and did I/O; prints "# load iops PHASE DEV WRITE_IOS READ_IOS RUNTIME_MS
# READ_BYTES" lines for tests/load/run.
check_fio() {
	local phase=$1 i rc j
	for ((i = 0; i < ndev; i++)); do
		wait "${fio_pids[$i]}"
		rc=$?
		j=$w/fio.$phase.$i.json
		if [ "$rc" = 0 ] && jq -e '.jobs[0].error == 0 and .jobs[0].write.total_ios > 0
			and .jobs[0].read.total_ios > 0' "$j" > /dev/null 2>&1; then
			ok "fio $phase on dmc-load$i ($(fs_of $i)): exit 0, verified, no error"
		else
			fail "fio $phase on dmc-load$i ($(fs_of $i)): exit 0, verified, no error" \
				"exit status $rc; fio's output, then its error, writes and (verifying) reads:" \
				"$(head -n 20 "$w/fio.$phase.$i.out")" \
				"$(jq -c '.jobs[0] | {error, w: .write.total_ios, r: .read.total_ios}' "$j" 2>&1)"
		fi
		jq -r --arg p "$phase" --arg d "$i" '.jobs[0] |
			"# load iops \($p) \($d) \(.write.total_ios) \(.read.total_ios) \(.job_runtime) \(.read.io_bytes)"' \
			"$j" 2> /dev/null
	done
}

# ---- the control loop of one device ------------------------------------
# op NAME ALLOWED CMD...: run CMD; log "NAME ok", "NAME refused" (exit
# status 1..123 and the message matches the regex ALLOWED, a documented
# refusal) or "NAME unexpected ..." to the loop's log.  Returns CMD's
# status (0 ok, 1 refused, 2 unexpected).
op() {
	local name=$1 allowed=$2 out rc t0=$EPOCHREALTIME ms
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
	if [ "$rc" = 0 ]; then
		echo "$name ok $ms ms"
		return 0
	elif [ -n "$allowed" ] && [ "$rc" -lt 124 ] && grep -Eq -- "$allowed" <<< "$out"; then
		echo "$name refused $ms ms: $(head -n 1 <<< "$out")"
		return 1
	fi
	echo "$name unexpected exit $rc: $* -> $(tr '\n' ' ' <<< "$out" | head -c 400)"
	return 2
}

# reap DIR STATUS: delete the layer files of DIR that the device no longer
# uses; each must say merged-away.
reap() {
	local dir=$1 js=$2 f st
	for f in "$dir"/*.dmc; do
		jq -e --arg f "$f" 'any(.layers[]; .path == $f)' <<< "$js" > /dev/null && continue
		st=$(live_state "$f")
		if [ "$st" = merged-away ]; then
			rm -f "$f" && echo "reap ok"
		else
			echo "reap unexpected: $f is not in the chain and its state is '$st'"
		fi
	done
}

control() {
	local i=$1 name dir pending=0 cancelled=0 js st n r depth mode
	name=dmc-load$i
	dir=$w/fs$i
	RANDOM=$((seed * 100 + i))
	while [ ! -e "$stop" ]; do
		if ! js=$("$C" device status "$name" -j 2>&1); then
			echo "status unexpected: $js"
			sleep 1
			continue
		fi
		st=$(jq -r '.merge.state // "none"' <<< "$js")
		n=$(jq -r '.layers | length' <<< "$js")
		[ "$(jq -r .failed <<< "$js")" = false ] || echo "device unexpected: in fail mode: $js"
		if [ "$pending" = 1 ]; then
			case "$st" in
			done) echo "merge-done ok"; pending=0; reap "$dir" "$js" ;;
			cancelled) echo "merge-cancelled ok"; pending=0 ;;
			failed) echo "merge-failed unexpected: $(jq -c .merge <<< "$js")"; pending=0 ;;
			esac
		fi
		r=$((RANDOM % 10))
		if [ "$st" = running ]; then
			# The first running merge is always cancelled (and then
			# resumed), so that even a short run does both.
			if [ "$cancelled" = 0 ]; then
				op cancel 'No merge is running on this device' \
					"$C" device cancel "$name" && cancelled=1
			elif [ $r -lt 3 ]; then
				op snapshot '' "$C" device snapshot "$name"
			elif [ $r -lt 5 ]; then
				op cancel 'No merge is running on this device' "$C" device cancel "$name"
			elif [ $r -lt 6 ]; then
				op merge-busy 'A merge is already running on this device' \
					"$C" device merge "$name" --depth 2 --no-wait && pending=1
			fi
		elif [ "$st" = cancelled ] || [ "$st" = failed ]; then
			# The journal stays: a merge request resumes it.
			op resume '' "$C" device merge "$name" --no-wait -j && pending=1
		elif [ "$n" -ge 3 ] && [ $r -lt 7 ]; then
			depth=$((2 + RANDOM % (n - 2)))
			mode=auto
			[ $((RANDOM % 4)) != 0 ] || mode=copy
			if [ "$n" -ge 6 ]; then
				op merge '' "$C" device merge "$name" --into 0 --mode $mode --no-wait -j && pending=1
			else
				op merge '' "$C" device merge "$name" --depth $depth --mode $mode --no-wait -j &&
					pending=1
			fi
		else
			op snapshot '' "$C" device snapshot "$name"
		fi
		sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	done
}

# ---- phase 1: fio without merges ---------------------------------------
# First every block of each leaf is written once, so that the quiet phase
# measures overwrites in place, not the leaf's first allocations.
for ((i = 0; i < ndev; i++)); do
	dd if=/dev/zero of="/dev/mapper/dmc-load$i" bs=1M count="$size_mb" oflag=direct \
		status=none > "$w/fill.$i.out" 2>&1 &
	fio_pids[i]=$!
done
for ((i = 0; i < ndev; i++)); do
	check "fill dmc-load$i once" wait "${fio_pids[$i]}"
done
diag "at $SECONDS s: phase quiet: fio on $ndev devices for $quiet s, no merges"
run_fio quiet "$quiet"
check_fio quiet

# ---- phase 2: fio with the control loops -------------------------------
diag "at $SECONDS s: phase merging: fio on $ndev devices for $busy s, merges, snapshots and cancels looping"
rm -f "$stop"
run_fio merging "$busy"
ctl_pids=()
for ((i = 0; i < ndev; i++)); do
	control "$i" > "$w/ctl.$i.log" 2>&1 &
	ctl_pids+=($!)
done
check_fio merging
touch "$stop"
for p in "${ctl_pids[@]}"; do wait "$p"; done

# Let every device's last merge end (resume a cancelled one).
for ((i = 0; i < ndev; i++)); do
	name=dmc-load$i
	st=$(live_get "$name" | jq -r '.merge.state // "none"')
	if [ "$st" = cancelled ]; then
		op resume '' "$C" device merge "$name" >> "$w/ctl.$i.log" 2>&1
		st=$(live_get "$name" | jq -r '.merge.state // "none"')
	fi
	[ "$st" != running ] || live_wait_state "$name" "done" 600 >> "$w/ctl.$i.log" 2>&1
	js=$(live_get "$name")
	st=$(jq -r '.merge.state // "none"' <<< "$js")
	case "$st" in
	done) echo "merge-done ok" >> "$w/ctl.$i.log"; reap "$w/fs$i" "$js" >> "$w/ctl.$i.log" ;;
	none) ;;
	*) echo "final-merge unexpected: state $st: $(jq -c .merge <<< "$js")" >> "$w/ctl.$i.log" ;;
	esac
	jq -r '.layers[].path' <<< "$js" > "$w/layers.$i"
done

count() { cat "$w"/ctl.*.log | grep -c -E "^$1\$"; }
for ((i = 0; i < ndev; i++)); do sed "s/^/# ctl $i: /" "$w/ctl.$i.log"; done
for ((i = 0; i < ndev; i++)); do
	if grep -q unexpected "$w/ctl.$i.log"; then
		fail "dmc-load$i: every merge, snapshot and cancel succeeded or was a documented refusal" \
			"$(grep unexpected "$w/ctl.$i.log" | head -n 10)"
	else
		ok "dmc-load$i: every merge, snapshot and cancel succeeded or was a documented refusal ($(grep -c . "$w/ctl.$i.log") lines in its control log)"
	fi
done
merges=$(count 'merge-done ok')
check "merges completed during the load" test "$merges" -gt 0
echo "# load ops merges_started $(count '(merge|resume|merge-busy) ok .*')"
echo "# load ops merges_completed $merges"
echo "# load ops merges_cancelled $(count 'merge-cancelled ok')"
echo "# load ops cancel_refused $(count 'cancel refused.*')"
echo "# load ops merge_busy_refused $(count 'merge-busy refused.*')"
echo "# load ops snapshots $(count 'snapshot ok .*')"
echo "# load ops files_reaped $(count 'reap ok')"
echo "# load ops snapshot_ms_max $(cat "$w"/ctl.*.log | awk '$1 == "snapshot" && $2 == "ok" && $3 > m { m = $3 } END { print m + 0 }')"

# ---- teardown ----------------------------------------------------------
diag "at $SECONDS s: teardown"
for ((i = 0; i < ndev; i++)); do
	check "remove dmc-load$i" dmsetup remove --noudevsync "dmc-load$i"
	bad=
	while read -r f; do
		"$C" layer check "$f" > "$w/check.out" 2>&1 || bad+="$f: $(head -c 300 "$w/check.out") "
	done < "$w/layers.$i"
	check_eq "dmc-load$i: every layer of the final chain ($(wc -l < "$w/layers.$i")) checks clean" "" "$bad"
done
vmal_dmc=$(grep -c 'dm_chain' /proc/vmallocinfo)
check_eq "no vmalloc area of dm_chain left once the devices are gone" 0 "$vmal_dmc"
check "rmmod dm_chain" rmmod dm_chain
for ((i = 0; i < ndev; i++)); do
	rm -f "$w/fs$i"/*.dmc
	umount "$w/fs$i"
done
if splats=$(kernel_log_splats); then
	fail "no kernel splat during the load" "$(head -n 20 <<< "$splats")"
else
	ok "no kernel splat during the load"
fi

read -r slab sunr vmal <<< "$(meminfo)"
diag "memory after: Slab $slab kB, SUnreclaim $sunr kB, VmallocUsed $vmal kB"
echo "# load mem Slab $base_slab $slab"
echo "# load mem SUnreclaim $base_sunr $sunr"
echo "# load mem VmallocUsed $base_vmal $vmal"
for k in Slab:$base_slab:$slab SUnreclaim:$base_sunr:$sunr VmallocUsed:$base_vmal:$vmal; do
	IFS=: read -r what before after <<< "$k"
	if [ $((after - before)) -le "$tol" ]; then
		ok "$what back to baseline after teardown: $before -> $after kB (tolerance $tol kB)"
	else
		fail "$what back to baseline after teardown: $before -> $after kB (tolerance $tol kB)" \
			"slab caches that grew most:" \
			"$(awk 'FNR == NR { if (NR > 2) b[$1] = $3 * $4; next }
				FNR > 2 { d = $3 * $4 - b[$1]; if (d > 0) print d, $1 }' \
				"$w/slabinfo.before" /proc/slabinfo | sort -rn | head -n 8)"
	fi
done
if [ -w "$kmemleak" ]; then
	sleep 5
	echo scan > "$kmemleak"
	echo scan > "$kmemleak"
	leaks=$(grep -c '^unreferenced object' "$kmemleak")
	check_eq "kmemleak: nothing leaked" 0 "$leaks" || head -n 40 "$kmemleak" | sed 's/^/#   /'
else
	diag "kmemleak: not in this kernel (the debug kernel of make check-debug has it, and tests/vm/init scans there after every scenario too)"
fi
diag "at $SECONDS s: done"
done_testing
