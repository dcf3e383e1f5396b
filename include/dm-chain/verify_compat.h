/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The portability shim of the shared format validator (layer_verify.c):
 * the fixed-width types, bool and size_t it needs, from <linux/types.h> in
 * the kernel and from the C library's freestanding headers in userland.
 * Nothing else: the validator makes no kernel or library calls.
 */
#ifndef _DM_CHAIN_VERIFY_COMPAT_H
#define _DM_CHAIN_VERIFY_COMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>	/* __u64, __le64 of format.h (UAPI) */
#endif

#define DMC_S64_MAX	((__u64)0x7fffffffffffffffULL)	/* loff_t, off_t */

#endif /* _DM_CHAIN_VERIFY_COMPAT_H */
