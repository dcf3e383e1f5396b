#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A short sample of chainfsx (tests/fsx, docs/testing/fsx.md): seeded
# random reads, writes, discards, write-zeroes and flushes on a chain
# device, checked against an in-memory model, with live snapshots and live
# merges run between operations (their hook must leave the content as it
# was: a full read follows each).  Chains on XFS (merges clone) and ext4
# (merges copy); one TAP result per seed.  The long run is `make check-fsx`.
# vm-disks: 2x4G
# vm-timeout: 900
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/target/lib.sh"

need_module || done_testing
cd "$DMC_TMP" || exit 1
C=$CHAINCTL
FSX=$DMC_ROOT/tests/fsx/chainfsx
# arguments (tests/fsx/run, the long run): OPS SEEDS FIRST_SEED HOOK_EVERY
ops=${1:-2000}
seeds=${2:-3}
first=${3:-1}
every=${4:-500}
size=$((64 * 1024 * 1024))
bs=65536
total=0

[ -x "$FSX" ] || { fail "chainfsx is built (make -C tests/fsx)"; done_testing; }

# the hook: a live snapshot, then a live merge of the top layers (waits)
hook=$DMC_TMP/fsx-hook
cat > "$hook" <<'HOOK'
#!/bin/bash
"$1" device snapshot "$2" > /dev/null || exit 1
"$1" device merge "$2" --depth 2 > /dev/null || exit 1
HOOK
chmod +x "$hook"

i=0
for fs in xfs ext4; do
	mnt=$DMC_TMP/$fs
	disk=${DMC_DISK_LIST[$i]}
	i=$((i + 1))
	check "mkfs.$fs on $disk" fs_make $fs "$disk" "$mnt" || continue
	for s in $(seq "$first" $((first + seeds - 1))); do
		seed=$((i * 1000 + s))
		name=dmc-fsx
		dir=$mnt/s$seed
		mkdir -p "$dir"
		"$C" layer create -s $size -b $bs "$dir/base" > /dev/null &&
		head -c $((size / 4)) /dev/urandom |
			"$C" layer write "$dir/base" $((size / 8)) $((size / 4)) > /dev/null &&
		"$C" layer create --parent "$dir/base" "$dir/leaf" > /dev/null &&
		"$C" device create $name "$dir/leaf" > /dev/null ||
			{ fail "$fs seed $seed: chain"; continue; }
		out=$("$FSX" -q -S $seed -N "$ops" -b $bs -M "$every" \
			-x "$hook $C $name" /dev/mapper/$name 2>&1)
		rc=$?
		dmsetup remove --noudevsync $name
		n=$(sed -n 's/.* ops=\([0-9]*\)$/\1/p' <<< "$out")
		if [ $rc = 0 ] && [ "${n:-0}" -gt 0 ]; then
			ok "$fs seed $seed: $(tail -1 <<< "$out" | sed 's/^chainfsx: //')"
			total=$((total + n))
		else
			fail "$fs seed $seed (rc $rc): reproduce with chainfsx -S $seed -N $ops -b $bs -M $every"
			tail -40 <<< "$out" | sed 's/^/# /'
		fi
		rm -rf "$dir"
	done
done
check "operations ran ($total)" test "$total" -gt 0
echo "# fsx-total-ops $total"
done_testing
