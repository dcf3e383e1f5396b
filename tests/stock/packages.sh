#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages on Debian's stock kernel, as an admin installs them:
# `apt-get install ./dm-chain-dkms_*.deb ./chainctl_*.deb` of the two
# packages `make deb` built (build/deb/), the README's install command, makes
# DKMS build and install the module for the running kernel (the VM has no
# network: apt takes every dependency from the installed system or refuses
# to install); the module loads
# with modprobe, chainctl finds it, a chain device serves data; purging
# both packages leaves no file behind.  The chains it makes cover what the
# subset of part 6 does not: on XFS a snapshot, a live and an offline merge
# by clone, a device from a chaintab; on ext4 an offline merge by copy.  Runs with DMC_KERNEL=stock and
# DMC_KO=none (tests/check part 6): the root is an overlay whose writable
# layer (/mnt/dmc-overlay/upper, tests/vm/stock-init) holds every file the
# install wrote, and nothing reaches the host.
# vm-disks: 2x1G
# vm-timeout: 1500
. "$DMC_ROOT/tests/e2e/lib.sh"

version=$(sed -n 's/^#define DM_CHAIN_VERSION "\(.*\)"$/\1/p' \
	"$DMC_ROOT/include/dm-chain/version.h")
kver=$(uname -r)
upper=/mnt/dmc-overlay/upper
dkms_deb=$DMC_ROOT/build/deb/dm-chain-dkms_${version}_all.deb
tool_deb=$DMC_ROOT/build/deb/chainctl_${version}_amd64.deb
log=$DMC_TMP/packages.log
name=dmc-pkg
work=$DMC_TMP/pkg

case "$kver" in
*-amd64) ok "running Debian's stock kernel ($kver)" ;;
*) fail "running Debian's stock kernel" "uname -r: $kver"; done_testing ;;
esac
check "the packages were built (make deb)" ls -l "$dkms_deb" "$tool_deb" || done_testing
check "the overlay's writable layer is visible" test -d "$upper" || done_testing

# Files in the writable layer, but for what apt, dpkg, its triggers, depmod
# and DKMS keep by design: apt's and dpkg's state and logs, caches, the
# module index,
# and the key DKMS makes on its first build to sign every module it builds
# (its own, for all DKMS packages, kept for the next one).
files_written() {
	(cd "$upper" && find . -xdev ! -type d \
		! -path './var/lib/dpkg/*' ! -path './var/lib/apt/*' ! -path './var/log/*' \
		! -path './var/cache/*' \
		! -path './var/lib/dkms/mok.key' ! -path './var/lib/dkms/mok.pub' \
		! -path './etc/ld.so.cache' ! -path './tmp/*' ! -path './root/*' \
		! -path '*/modules/'"$kver"'/modules.*' -printf '%y %p\n' | sort)
}
before=$(files_written)

check_fail_msg "before: no dm-chain module for $kver" "not found" modinfo dm-chain

# A man-db trigger rebuilding its index over 9p under emulation takes
# minutes and tests nothing of ours.
echo "man-db man-db/auto-update boolean false" | debconf-set-selections 2> /dev/null
# apt-get wants the packages as paths ("./x.deb"), not bare names.
install=(apt-get install -y "$dkms_deb" "$tool_deb")
if DEBIAN_FRONTEND=noninteractive "${install[@]}" > "$log" 2>&1; then
	ok "apt-get install ./dm-chain-dkms ./chainctl (DKMS builds the module)"
else
	fail "apt-get install ./dm-chain-dkms ./chainctl (DKMS builds the module)" "$(tail -n 30 "$log")"
	cat /var/lib/dkms/dm-chain/"$version"/build/make.log 2> /dev/null | tail -n 20 | sed 's/^/# /'
	done_testing
fi
check "dkms status: installed for $kver" \
	bash -c "dkms status -m dm-chain -v $version -k $kver | grep -q 'installed'"
check "the module was built without warnings" \
	bash -c "! grep -q 'warning:' /var/lib/dkms/dm-chain/$version/$kver/x86_64/log/make.log"
check_eq "modinfo: the module's version" "$version" "$(modinfo -F version dm-chain 2>&1)"
check "modprobe dm-chain (its dependencies load with it)" modprobe dm-chain
check "chainctl -V names the loaded module" \
	bash -c "/usr/sbin/chainctl -V | grep -q 'module $version'"
check "man finds chainctl(8)" man -w chainctl
check "bash completion is installed" \
	test -f /usr/share/bash-completion/completions/chainctl

# A chain from the packaged tool and module, on XFS: written, snapshotted,
# merged live (clone), then offline into the base (clone).
mkdir -p "$work"
fs_make xfs "${DMC_DISK_LIST[0]}" "$work" || fail "mkfs.xfs on the scratch disk"
cleanup_add dmsetup remove --noudevsync "$name"
head -c 16M /dev/urandom > "$work/data"
check "layer create: a base and a child" bash -c \
	"/usr/sbin/chainctl layer create -s 16M $work/base.dmc &&
	 /usr/sbin/chainctl layer create --parent $work/base.dmc $work/leaf.dmc"
check "device create" /usr/sbin/chainctl device create "$name" "$work/leaf.dmc"
check "write 16 MiB through the device" \
	dd if="$work/data" of=/dev/mapper/$name bs=1M oflag=direct status=none
check "device snapshot" /usr/sbin/chainctl device snapshot "$name"
check "device merge (live, by clone)" \
	/usr/sbin/chainctl device merge "$name" --mode clone --new-leaf "$work/top.dmc"
check "the device reads what was written" cmp "$work/data" /dev/mapper/$name
check "device remove" /usr/sbin/chainctl device remove "$name"
check "layer merge (offline, by clone) into the base" \
	/usr/sbin/chainctl layer merge --into "$work/base.dmc" --mode clone "$work/top.dmc"
check "device create over the merged base" \
	/usr/sbin/chainctl device create "$name" "$work/base.dmc"
check "the merged base reads what was written" cmp "$work/data" /dev/mapper/$name
check "device remove" /usr/sbin/chainctl device remove "$name"

# The boot unit is installed and enabled; the tab commands it runs work.
check "dm-chain.service installed and enabled (sysinit.target)" \
	test -L /etc/systemd/system/sysinit.target.wants/dm-chain.service
printf '%s %s\n' "$name" "$work/base.dmc" > "$work/chaintab"
check "chainctl tab up -c CHAINTAB" /usr/sbin/chainctl tab up -c "$work/chaintab"
check "the device from the chaintab reads the data" cmp "$work/data" /dev/mapper/$name
check "chainctl tab down -c CHAINTAB" /usr/sbin/chainctl tab down -c "$work/chaintab"

# Offline merge by copy, on ext4.
mkdir -p "$work/e"
fs_make ext4 "${DMC_DISK_LIST[1]}" "$work/e" || fail "mkfs.ext4 on the second disk"
check "ext4: layer create, a base and a child" bash -c \
	"/usr/sbin/chainctl layer create -s 16M $work/e/base.dmc &&
	 /usr/sbin/chainctl layer create --parent $work/e/base.dmc $work/e/leaf.dmc"
check "ext4: write through a device" bash -c \
	"/usr/sbin/chainctl device create $name $work/e/leaf.dmc &&
	 dd if=$work/data of=/dev/mapper/$name bs=1M oflag=direct status=none &&
	 /usr/sbin/chainctl device remove $name"
check "ext4: layer merge (offline, by copy)" \
	/usr/sbin/chainctl layer merge --mode copy "$work/e/leaf.dmc"
check "ext4: the merged base reads what was written" bash -c \
	"/usr/sbin/chainctl device create $name $work/e/base.dmc &&
	 cmp $work/data /dev/mapper/$name && /usr/sbin/chainctl device remove $name"
check "modprobe -r dm-chain" modprobe -r dm-chain

if DEBIAN_FRONTEND=noninteractive apt-get purge -y chainctl dm-chain-dkms > "$log" 2>&1; then
	ok "apt-get purge chainctl dm-chain-dkms"
else
	fail "apt-get purge chainctl dm-chain-dkms" "$(tail -n 30 "$log")"
fi
check_fail_msg "after: no dm-chain module for $kver" "not found" modinfo dm-chain
check "after: dkms knows no dm-chain" bash -c "! dkms status -m dm-chain | grep -q ."
after=$(files_written)
left=$(comm -13 <(echo "$before") <(echo "$after"))
check_eq "after: no file left behind (written, or deleted from the host's)" "" "$left"
done_testing
