// SPDX-License-Identifier: GPL-2.0
/*
 * The shared layer format validator, include/dm-chain/layer_verify.c,
 * compiled into the module (Kbuild builds only sources under kmod/).
 * chainctl compiles the same file; see layer_verify.h.  Its CRC32C here is
 * the kernel's __crc32c_le() (lib/crc32.c, slice-by-8, built in wherever
 * CONFIG_CRC32 is, as in Debian's kernels): the same function, several
 * times faster than the shared byte-wise table, and no dependency on the
 * libcrc32c module, which a stock kernel does not load by itself
 * (header-test.c checks the two agree).
 */
#include <linux/crc32.h>

#define DMC_CRC32C_ELSEWHERE
#include <dm-chain/layer_verify.c>

__u32 dmc_crc32c(__u32 crc, const void *buf, size_t len)
{
	return __crc32c_le(crc, buf, len);
}
