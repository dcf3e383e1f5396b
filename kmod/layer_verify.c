// SPDX-License-Identifier: GPL-2.0
/*
 * The shared layer format validator, include/dm-chain/layer_verify.c,
 * compiled into the module (Kbuild builds only sources under kmod/).
 * chainctl compiles the same file; see layer_verify.h.  Its CRC32C is the
 * kernel's crc32c() here: the same function, many times faster than the
 * shared byte-wise table on a CPU with a CRC instruction (header-test.c
 * checks the two agree).
 */
#include <linux/crc32c.h>
#include <linux/kernel.h>
#include <linux/sizes.h>

#define DMC_CRC32C_ELSEWHERE
#include <dm-chain/layer_verify.c>

__u32 dmc_crc32c(__u32 crc, const void *buf, size_t len)
{
	const u8 *p = buf;
	unsigned int n;

	/* crc32c() takes an unsigned int length. */
	while (len) {
		n = min_t(size_t, len, SZ_1G);
		crc = crc32c(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}
