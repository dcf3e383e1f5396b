/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host shim (tests/fuzz/kshim): just enough of the kernel's headers to
 * compile kmod/table.c, the table-line parser, in a host program.  See
 * dm_args.c for the device-mapper argument helpers.
 */
#ifndef KSHIM_LINUX_TYPES_H
#define KSHIM_LINUX_TYPES_H
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* __u64, __le64 ... for include/dm-chain/format.h: the host's uapi types. */
#include_next <linux/types.h>
#endif
