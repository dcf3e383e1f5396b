#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The README's quick start, as a user would type it: the fenced block after
# the line "<!-- quickstart: tested by tests/e2e/46-readme-quickstart.sh -->"
# runs under `bash -e` with `chainctl` on PATH, its layer directory ($D) on
# an XFS scratch disk.  Then what it leaves is checked: no device, a base
# layer that checks clean and holds the files written through the chain,
# the merged-away layers refused with the messages the README quotes.
# vm-disks: 1x2G
# vm-timeout: 600
. "$DMC_ROOT/tests/e2e/lib.sh"

need_module || done_testing
work=$DMC_TMP/e2e-quickstart
mkdir -p "$work/bin"

# --- the block -----------------------------------------------------------------
readme_quickstart > "$work/quickstart.sh"
n=$(grep -cEv '^[[:space:]]*(#|$)' "$work/quickstart.sh")
if [ "$n" -gt 0 ]; then
	ok "README holds the quick start block ($n commands)"
else
	fail "README holds the quick start block after the marker"
	done_testing
fi
for cmd in 'chainctl layer create' 'chainctl device create' 'mkfs.ext4' \
	   'chainctl device snapshot' 'chainctl device merge' \
	   'chainctl device status' 'chainctl device remove' \
	   'chainctl layer merge'; do
	check "the quick start runs '$cmd'" grep -q "^$cmd" "$work/quickstart.sh"
done

D=$(sed -n 's/^D=\([^ ]*\).*$/\1/p' "$work/quickstart.sh" | head -n 1)
M=$(sed -n 's/^M=\([^ ]*\).*$/\1/p' "$work/quickstart.sh" | head -n 1)
check "the block sets D and M to absolute paths" \
	test "${D#/}" != "$D" -a "${M#/}" != "$M" -a "$D" != / -a "$M" != / ||
	done_testing

# The VM's root is the host's, read-only: a tmpfs over the parents of D
# and M lets the block make them, and XFS goes on D.
for p in "$(dirname "$D")" "$(dirname "$M")"; do
	mountpoint -q "$p" && continue
	check "tmpfs over $p" mount -t tmpfs -o mode=0755 tmpfs "$p" || done_testing
	cleanup_add umount -l "$p"
done
mkdir -p "$D" "$M"
check "mkfs.xfs on ${DMC_DISK_LIST[0]}, mounted at $D" \
	fs_make xfs "${DMC_DISK_LIST[0]}" "$D" || done_testing
cleanup_add dmsetup remove --noudevsync demo
cleanup_add umount "$M"

ln -s "$CHAINCTL" "$work/bin/chainctl"
cd "$work" || exit 1
PATH=$work/bin:$PATH bash -e -x "$work/quickstart.sh" > "$work/run.out" 2>&1
rc=$?
grep -v '^+' "$work/run.out" | sed 's/^/# /'	# its output, without the trace
if [ "$rc" = 0 ]; then
	ok "the quick start runs to its end under bash -e"
else
	fail "the quick start runs to its end under bash -e" "exit status: $rc"
	tail -n 40 "$work/run.out" | sed 's/^/#   /'
	done_testing
fi
check "its live merge merged 2 layers by cloning (XFS)" \
	grep -Eq '^merged 2 layers into .*base\.dmc .*: [1-9][0-9.]* ([KMGT]i)?B cloned' "$work/run.out"
check "its status showed the device" grep -q '^layers:' "$work/run.out"
check "its checksums were verified" grep -q 'data.bin: OK' "$work/run.out"

# --- what it leaves ------------------------------------------------------------
check_fail_msg "no device demo is left" "Device does not exist" dmsetup info demo
check "nothing is mounted at $M" bash -c "! mountpoint -q '$M'"
check "base.dmc checks clean" "$CHAINCTL" layer check "$D/base.dmc"
for l in child snap top; do
	check_fail_code "$l.dmc: layer check says merged away (9)" 9 \
		"merged away" "$CHAINCTL" layer check "$D/$l.dmc"
done
check_fail_code "layer merge issued again: done, exit 9" 9 \
	"layer merge: $D/top.dmc: merged away into $D/base.dmc; use that layer instead \(the merge is done\)" \
	"$CHAINCTL" layer merge "$D/top.dmc"
check_fail_msg "a merged-away leaf is refused as a device, naming the target" \
	"device create: $D/child.dmc: merged away into $D/base.dmc; use that layer instead" \
	"$CHAINCTL" device create demo "$D/child.dmc"

check "a device over the merged base" "$CHAINCTL" device create demo "$D/base.dmc" ||
	done_testing
check "mount it" mount -o ro /dev/mapper/demo "$M"
check_eq "first.txt reads back" "written before the snapshot" "$(cat "$M/first.txt" 2>&1)"
check "every file matches the checksums taken through the chain" \
	bash -c "cd '$M' && sha256sum -c '$D/files.sha256'"
check_fail_msg "remove refused while mounted, as the README says" \
	"device remove: 'demo' is in use \(open count [0-9]+\)" \
	"$CHAINCTL" device remove demo
check "umount" umount "$M"
check "remove the device" "$CHAINCTL" device remove demo

# Messages the troubleshooting section quotes.
head -c 1M /dev/zero > "$D/disk.raw"
check_fail_msg "a raw file needs --raw" \
	"device create: $D/disk.raw: not a dm-chain layer \(no header\); to use a raw image alone, say so with --raw" \
	"$CHAINCTL" device create demo "$D/disk.raw"
check "layer create -s 1G for a stale sibling" "$CHAINCTL" layer create -s 1G "$D/p.dmc"
check "two children of it" bash -c \
	"'$CHAINCTL' layer create --parent '$D/p.dmc' '$D/a.dmc' && '$CHAINCTL' layer create --parent '$D/p.dmc' '$D/b.dmc'"
check "merge a.dmc into p.dmc" "$CHAINCTL" layer merge "$D/a.dmc"
check_fail_msg "the sibling b.dmc is refused: generation" \
	"$D/b.dmc: parent $D/p.dmc is at generation 2 but this layer was made at generation 1: the parent was modified \(merged into\) since, so this layer is no longer valid" \
	"$CHAINCTL" device create demo "$D/b.dmc"
done_testing
