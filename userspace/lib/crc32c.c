// SPDX-License-Identifier: GPL-2.0
/* CRC32C: the shared validator's table (include/dm-chain/layer_verify.c). */
#include <dm-chain/layer_verify.h>

#include "crc32c.h"

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return dmc_crc32c(crc, buf, len);
}

uint32_t crc32c(const void *buf, size_t len)
{
	return crc32c_update(~0U, buf, len) ^ ~0U;
}
