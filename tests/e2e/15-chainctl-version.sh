#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# chainctl version: the tool's version always; the module's over generic
# netlink once it is loaded; a plain "not loaded" message and a non-zero
# exit before; valid JSON with -j; the admin-only rule for other users.
# vm-timeout: 300
# jq programs below use jq variables ($t, $p, ...) in single quotes.
# shellcheck disable=SC2016
. "$DMC_ROOT/tests/e2e/lib.sh"

# One release version, from include/dm-chain/version.h, for both parts.
tool_ver=$(sed -n 's/^#define DM_CHAIN_VERSION "\(.*\)"$/\1/p' \
	"$DMC_ROOT/include/dm-chain/version.h")
mod_ver=$(modinfo -F version "$DMC_KO" 2>/dev/null)
diag "version.h $tool_ver, module file $mod_ver"
[ -n "$tool_ver" ] || fail "DM_CHAIN_VERSION found in version.h"
[ -n "$mod_ver" ] || fail "modinfo shows the module's version"
check_eq "the module carries the release version of version.h" "$tool_ver" "$mod_ver"

# --- before the module is loaded --------------------------------------------
if grep -q '^dm_chain ' /proc/modules; then
	rmmod dm_chain || fail "rmmod dm_chain left over from an earlier scenario"
fi

check_fail_msg "version without the module: says so plainly, exits non-zero" \
	'dm-chain kernel module is not loaded \(modprobe dm-chain\)' \
	"$CHAINCTL" version
out=$("$CHAINCTL" version 2>/dev/null)
rc=$?
check_eq "version without the module: exit status 1" 1 "$rc"
check_eq "version without the module: still prints the tool's version" \
	"chainctl $tool_ver" "$out"

out=$("$CHAINCTL" version -j 2>/dev/null)
rc=$?
check_eq "version -j without the module: exit status 1" 1 "$rc"
check_json "version -j without the module: JSON with module_version null" "$out" \
	--arg t "$tool_ver" \
	'.tool_version == $t and .module_version == null'

# --- with the module ----------------------------------------------------------
need_module || { done_testing; }

out=$("$CHAINCTL" version 2>&1)
rc=$?
check_eq "version with the module: exit status 0" 0 "$rc"
check_eq "version with the module: both versions" \
	"chainctl $tool_ver
dm-chain module $mod_ver (netlink family version 1)" "$out"

out=$("$CHAINCTL" version -j)
check_json "version -j: one JSON object with both versions" "$out" \
	--arg t "$tool_ver" --arg m "$mod_ver" \
	'.tool_version == $t and .module_version == $m and .family_version == 1'
out=$("$CHAINCTL" -j version)
check_json "global -j before the object works too" "$out" \
	--arg m "$mod_ver" '.module_version == $m'
check "-V is the same as version" "$CHAINCTL" -V

check "version help exits 0" "$CHAINCTL" version help
check_fail_msg "version with a stray argument is a usage error" \
	"unexpected argument" "$CHAINCTL" version bogus
"$CHAINCTL" version bogus > /dev/null 2>&1
check_eq "usage errors exit 2" 2 "$?"

# The family is admin-only: an unprivileged caller gets a clear refusal.
if command -v setpriv > /dev/null; then
	check_fail_msg "unprivileged version: refused, says why" \
		'admin-only' \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$CHAINCTL" version
else
	skip "unprivileged version" "setpriv not installed"
fi

# The family goes away with the module.
check "rmmod dm_chain" rmmod dm_chain
check_fail_msg "after rmmod: not loaded again" 'is not loaded' \
	"$CHAINCTL" version

done_testing
