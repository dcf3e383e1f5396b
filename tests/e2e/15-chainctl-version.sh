#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# chainctl version: the tool's version always; the module's over generic
# netlink once it is loaded; before, "not loaded" as an answer with exit 0
# (the tool works without the module); valid JSON with -j; the admin-only
# rule for other users (exit 1).
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

out=$("$CHAINCTL" version 2>"$DMC_TMP/version.err")
rc=$?
check_eq "version without the module: exit status 0" 0 "$rc"
check_eq "version without the module: the tool's version, module not loaded" \
	"chainctl $tool_ver
dm-chain module: not loaded (modprobe dm-chain)" "$out"
check_eq "version without the module: nothing on stderr" "" "$(cat "$DMC_TMP/version.err")"
out=$("$CHAINCTL" -V 2>/dev/null)
check_eq "-V without the module: the same answer" \
	"chainctl $tool_ver
dm-chain module: not loaded (modprobe dm-chain)" "$out"

out=$("$CHAINCTL" version -j 2>/dev/null)
rc=$?
check_eq "version -j without the module: exit status 0" 0 "$rc"
check_json "version -j without the module: module_loaded false, versions null" "$out" \
	--arg t "$tool_ver" \
	'.tool_version == $t and .module_loaded == false and .module_version == null and .family_version == null'

# --- with the module ----------------------------------------------------------
need_module || { done_testing; }

out=$("$CHAINCTL" version 2>&1)
rc=$?
check_eq "version with the module: exit status 0" 0 "$rc"
check_eq "version with the module: both versions" \
	"chainctl $tool_ver
dm-chain module $mod_ver (netlink family version 1)" "$out"

json_check "version -j with the module: valid against its schema" version "$CHAINCTL" -V -j
out=$JSON_OUT
check_json "version -j: one JSON object with both versions" "$out" \
	--arg t "$tool_ver" --arg m "$mod_ver" \
	'.tool_version == $t and .module_loaded == true and .module_version == $m and .family_version == 1'
out=$("$CHAINCTL" -j version)
check_json "global -j before the object works too" "$out" \
	--arg m "$mod_ver" '.module_version == $m'
check "-V is the same as version" "$CHAINCTL" -V

check "version help exits 0" "$CHAINCTL" version help
check_fail_msg "version with a stray argument is a usage error" \
	"unexpected argument" "$CHAINCTL" version bogus
"$CHAINCTL" version bogus > /dev/null 2>&1
check_eq "usage errors exit 2" 2 "$?"

# The global options go through the commands' own parser (cli_getopt).
check_fail_code "global: an unknown short option, exit 2" 2 \
	"^chainctl: unknown option '-x' \(try 'chainctl --help'\)$" "$CHAINCTL" -x layer info
check_fail_code "global: an unknown long option, exit 2" 2 \
	"^chainctl: unknown option '--bogus'" "$CHAINCTL" --bogus version
check_fail_code "global: a flag given a value, exit 2" 2 \
	"option '--json' takes no value" "$CHAINCTL" --json=yes version
check_eq "global: -jV (bundled) is version -j" \
	"$("$CHAINCTL" version -j)" "$("$CHAINCTL" -jV)"
check_eq "global: --verbose --json version is version -j" \
	"$("$CHAINCTL" version -j)" "$("$CHAINCTL" --verbose --json version)"
check_fail_code "global: options stop at the object (-x is the command's)" 2 \
	"^chainctl: version: unknown option '-x'" "$CHAINCTL" version -x
# A short option's mistake inside a bundle names that letter, not an
# earlier long option whose value is the same letter (--raw is 'R').
check_fail_code "a bundle's unknown letter after a long option names the letter" 2 \
	"^chainctl: layer info: unknown option '-R'" "$CHAINCTL" layer info --raw -Rj /nonexistent

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
out=$("$CHAINCTL" version 2>&1)
check_eq "after rmmod: not loaded again, exit 0" \
	"chainctl $tool_ver
dm-chain module: not loaded (modprobe dm-chain)
rc 0" "$out
rc $?"

done_testing
