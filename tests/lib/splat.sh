# SPDX-License-Identifier: GPL-2.0
# DMC_SPLAT_RE: an extended regex (grep -E) for the kernel log lines that
# fail a test run: WARN (WARNING:), BUG:, oops, panics, lockdep reports,
# hung tasks, RCU stalls, soft lockups, KASAN, UBSAN, kmemleak, SLUB debug
# reports, list corruption.  Used on the host by tests/vm/run (console
# log and the guest's dmesg) and in the VM by tests/e2e/lib.sh (refusal
# checks).  Sourced.
DMC_SPLAT_RE='BUG:|WARNING:|Oops|general protection|Kernel panic|kernel BUG'
DMC_SPLAT_RE+='|possible circular locking|possible recursive locking|inconsistent lock state'
DMC_SPLAT_RE+='|suspicious RCU usage|INFO: task .* blocked for more than|sleeping function called from invalid'
DMC_SPLAT_RE+='|UBSAN:|KASAN:|KFENCE:|list_add corruption|list_del corruption|watchdog: BUG'
DMC_SPLAT_RE+='|Unable to handle|unreferenced object|suspected memory leak|DEBUG_LOCKS_WARN_ON'
DMC_SPLAT_RE+='|rcu: INFO:|detected stalls? on CPU|self-detected stall|soft lockup|hard LOCKUP'
DMC_SPLAT_RE+='|^(\[[ 0-9.]+\] )?BUG [^ ]+ \(|Bad page state|bad unlock balance'

# dmc_kmsg: every message the kernel's log buffer still holds, one a line
# as "SEQ MESSAGE", read from /dev/kmsg (so `dmesg -C` does not hide
# anything; continuation lines are dropped).  Needs root.
dmc_kmsg() {
	dd if=/dev/kmsg iflag=nonblock bs=65536 status=none 2>/dev/null |
		awk '/^[0-9]+,[0-9]+,/ {
			split($0, h, ","); sub(/^[^;]*;/, ""); print h[2], $0 }'
}
