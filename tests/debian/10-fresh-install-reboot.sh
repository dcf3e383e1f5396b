#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Issue 17 on a fresh Debian 12 booted with systemd (tests/vm/debian-image,
# DMC_KERNEL=debian tests/vm/run), the packages of `make deb` installed as
# the README says, and the real dm-chain.service bringing the device back.
#
# Boot 1: nothing of ours is there; `apt install linux-headers-$(uname -r)`
# and `apt install ./dm-chain-dkms_*.deb ./chainctl_*.deb` (offline, from
# the image's apt cache), DKMS builds the module for the running kernel;
# the README's quick start on XFS (/dev/vdb); then a device for
# /etc/dm-chain/chaintab (resume-merge) with its layers on XFS mounted by
# /etc/fstab (/dev/vdc at /var/lib/dm-chain), created by `systemctl start
# dm-chain`, data with its checksum, a snapshot, a slow live merge, and the
# power cut mid-merge.
# Boot 2: systemd brought the device back at boot: the unit is active, the
# data matches, the merge resumed and completes; `systemctl stop` removes
# the device, `systemctl start` makes it again; the VM then powers off
# through systemd with the device up.
# Boot 3: that shutdown stopped the unit ('tab down' removed the device)
# before unmounting the layers' file system, and the device is back again.
# vm-disks: 2x2G
# vm-boots: 3
# vm-timeout: 1500
# vm-mem: 2G
. "$DMC_ROOT/tests/e2e/lib.sh"

export DEBIAN_FRONTEND=noninteractive
name=vm1
layers=/var/lib/dm-chain
leaf=$layers/$name/disk.dmc
dev=/dev/mapper/$name
sums=$layers/expect.sha256
qdisk=${DMC_DISK_LIST[0]}
tdisk=${DMC_DISK_LIST[1]}

# dev_sum: the checksum of the device's whole content.
dev_sum() {
	dd if="$dev" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1
}

# wait_merge: until the merge is no longer running (at most 10 minutes).
wait_merge() {
	local _
	for _ in $(seq 1 600); do
		read -r st moved total <<< "$(merge_state chainctl "$name")"
		[ "$st" = running ] || return 0
		sleep 1
	done
}

case "${DMC_BOOT:-1}" in
1)
	# --- a fresh Debian --------------------------------------------------
	check "a fresh system: no chainctl" bash -c '! command -v chainctl'
	check "... no dm-chain module for $(uname -r)" bash -c '! modinfo dm-chain'
	check "... no dkms, no C compiler" bash -c '! command -v dkms && ! command -v gcc && ! command -v gcc-12'
	check_eq "systemd is PID 1" systemd "$(cat /proc/1/comm)"

	# --- the README's install section, literally -------------------------
	mkdir -p /tmp/deb/build/deb
	cp "$DMC_ROOT"/build/deb/dm-chain-dkms_*_all.deb "$DMC_ROOT"/build/deb/chainctl_*_amd64.deb \
		/tmp/deb/build/deb/ 2> /dev/null
	check "the packages of make deb (build/deb/)" \
		bash -c 'ls /tmp/deb/build/deb/dm-chain-dkms_*_all.deb /tmp/deb/build/deb/chainctl_*_amd64.deb' ||
		done_testing
	cd /tmp/deb || exit 1
	check "apt install linux-headers-\$(uname -r)" apt-get install -y "linux-headers-$(uname -r)" ||
		done_testing
	SECONDS=0
	out=$(apt install -y ./build/deb/dm-chain-dkms_*_all.deb ./build/deb/chainctl_*_amd64.deb 2>&1)
	rc=$?
	diag "apt install of the two packages: ${SECONDS}s"
	if ! check_eq "apt install ./build/deb/dm-chain-dkms_*.deb ./build/deb/chainctl_*.deb" 0 "$rc"; then
		tail -n 40 <<< "$out" | sed 's/^/#   /'
		done_testing
	fi
	# dkms wants "gcc | c-compiler": gcc-12, which the headers need,
	# satisfies it.
	check "... it pulled in dkms and a C compiler as dependencies" \
		bash -c 'dpkg -s dkms > /dev/null && command -v gcc-12'
	version=$(dpkg-query -W -f='${Version}' chainctl)
	check "DKMS built and installed the module for $(uname -r)" \
		grep -q "^dm-chain/$version, $(uname -r), x86_64: installed" <<< "$(dkms status 2>&1)"
	check "the module is there for modprobe" \
		bash -c "modinfo -n dm-chain | grep -q '^/lib/modules/$(uname -r)/updates/dkms/'"
	check "modprobe dm-chain" modprobe dm-chain || done_testing
	out=$(chainctl -V 2>&1)
	diag "chainctl -V: $(tr "\n" " " <<< "$out")"
	check "chainctl -V names the tool and the loaded module's version" \
		grep -q "module.*$version" <<< "$out"
	check_eq "dm-chain.service is enabled by the package" enabled \
		"$(systemctl is-enabled dm-chain.service 2>&1)"

	# --- the quick start, on XFS -------------------------------------------
	readme_quickstart > /tmp/quickstart.sh
	D=$(sed -n 's/^D=\([^ ]*\).*$/\1/p' /tmp/quickstart.sh | head -n 1)
	check "the README's quick start block, with its D" test -n "$D" -a "${D#/}" != "$D" ||
		done_testing
	mkdir -p "$D"
	check "mkfs.xfs on $qdisk, mounted at $D" fs_make xfs "$qdisk" "$D" || done_testing
	bash -e -x /tmp/quickstart.sh > /tmp/quickstart.out 2>&1
	rc=$?
	if ! check_eq "the quick start runs to its end under bash -e" 0 "$rc"; then
		tail -n 40 /tmp/quickstart.out | sed 's/^/#   /'
		done_testing
	fi
	check "its live merge cloned (XFS)" grep -Eq '^merged 2 layers into .*base\.dmc .*cloned' /tmp/quickstart.out
	check "its offline merge ran and the base checks clean" grep -q 'base.dmc' /tmp/quickstart.out
	check "its data was verified after both merges" grep -q 'data.bin: OK' /tmp/quickstart.out

	# --- a device for the boot: chaintab, fstab, the unit ------------------
	check "mkfs.xfs on $tdisk" fs_mkfs xfs "$tdisk" || done_testing
	printf '%s\t%s\txfs\tdefaults\t0\t2\n' "$tdisk" "$layers" >> /etc/fstab
	mkdir -p "$layers"
	systemctl daemon-reload
	check "$layers mounted from /etc/fstab" mount "$layers" || done_testing
	mkdir -p "$layers/$name"
	check "a 64 MiB base layer and a leaf" bash -c "chainctl layer create -s 64M $layers/$name/base.dmc &&
		chainctl layer create --parent $layers/$name/base.dmc $leaf" || done_testing
	mkdir -p /etc/dm-chain
	printf '# NAME\tLEAF-PATH\tOPTIONS\n%s\t%s\tresume-merge\n' "$name" "$leaf" > /etc/dm-chain/chaintab
	sync
	check "systemctl start dm-chain.service" systemctl start dm-chain.service || done_testing
	check "$dev exists" test -b "$dev" || done_testing
	check "32 MiB into the device" dd if=/dev/urandom of="$dev" bs=1M count=32 \
		oflag=direct conv=fsync status=none
	check "snapshot" chainctl device snapshot "$name" "$layers/$name/disk-snap.dmc"
	check "8 MiB more, into the snapshot's leaf" dd if=/dev/urandom of="$dev" \
		bs=1M count=8 seek=24 oflag=direct conv=fsync status=none
	dev_sum > "$sums"
	sync
	diag "device checksum: $(cat "$sums")"
	out=$(chainctl device merge "$name" --depth 2 --mode copy --rate 1 --no-wait 2>&1)
	check "a slow live merge of both layers starts (copy, 1 MiB/s)" test $? = 0 ||
		{ diag "$out"; done_testing; }
	power_cut_mid_merge chainctl "$name"
	;;
2)
	# --- systemd brought it back --------------------------------------------
	check "$layers was mounted at boot (fstab)" mountpoint -q "$layers"
	check_eq "dm-chain.service is active" active "$(systemctl is-active dm-chain.service 2>&1)"
	journal=$(journalctl -b -o cat -u dm-chain.service 2>&1)
	diag "the unit's journal:"
	sed 's/^/#   /' <<< "$journal"
	check "tab up followed the leaf and resumed the merge" grep -q "(resumed)" <<< "$journal"
	check "dmsetup ls lists $name" grep -q "^$name[[:space:]]" <<< "$(dmsetup ls 2>&1)"
	check "chainctl device list lists $name" grep -qw "$name" <<< "$(chainctl device list 2>&1)"
	check_eq "the data matches the checksum taken before the cut" "$(cat "$sums" 2>&1)" "$(dev_sum)"
	wait_merge
	check_eq "the resumed merge completes" done "$st"
	check_json "two layers left: the base and the new leaf" \
		"$(chainctl device status -j "$name")" '.layer_count == 2'
	check_eq "the data still matches after the merge" "$(cat "$sums")" "$(dev_sum)"
	check "the base checks clean" chainctl layer check "$layers/$name/base.dmc"

	check "systemctl stop dm-chain.service" systemctl stop dm-chain.service
	check "... removed the device (tab down)" test ! -e "$dev"
	check_json "tab list: not present" "$(chainctl tab list -j)" '.entries[0].present == false'
	check "systemctl start dm-chain.service" systemctl start dm-chain.service
	check "... the device is back" test -b "$dev"
	check_eq "... with the same data" "$(cat "$sums")" "$(dev_sum)"
	# The VM now powers off through systemd, with the device up.
	;;
3)
	# --- the clean shutdown of boot 2 ----------------------------------------
	prev=$(journalctl -b -1 -o short-monotonic 2>&1)
	check "the last boot's journal is kept" grep -q 'dm-chain' <<< "$prev" || done_testing
	stop_unit=$(grep -n 'Stopping dm-chain.service\|Stopping dm-chain devices' <<< "$prev" | tail -n 1 | cut -d: -f1)
	removed=$(grep -n "chainctl\[[0-9]*\]: $name: removed" <<< "$prev" | tail -n 1 | cut -d: -f1)
	stopped=$(grep -n 'Stopped dm-chain.service\|Stopped dm-chain devices\|dm-chain.service: Deactivated successfully' <<< "$prev" | tail -n 1 | cut -d: -f1)
	umounted=$(grep -n "Unmounted $layers\|Unmounted var-lib-dm" <<< "$prev" | tail -n 1 | cut -d: -f1)
	diag "shutdown lines: stopping $stop_unit, removed $removed, stopped $stopped, unmounted $umounted"
	grep -E 'dm-chain|Unmount|chainctl' <<< "$prev" | tail -n 20 | sed 's/^/#   /'
	check "at shutdown the unit stopped" test -n "$stop_unit" -a -n "$stopped"
	check "... tab down removed $name" test -n "$removed"
	check "... before $layers was unmounted" test -n "$umounted" -a -n "$stopped" &&
		test "${stopped:-0}" -lt "${umounted:-0}"
	check "no unit timed out at shutdown" bash -c "! grep -Ei 'timed out|timeout' <<< \"\$1\"" _ \
		"$(grep -E 'dm-chain|Unmount|var-lib' <<< "$prev")"
	check_eq "dm-chain.service is active again" active "$(systemctl is-active dm-chain.service 2>&1)"
	check_eq "the device is back with its data" "$(cat "$sums" 2>&1)" "$(dev_sum)"
	;;
esac
done_testing
