// SPDX-License-Identifier: GPL-2.0
/* Table-driven CRC32C (slice-by-1); headers are 4 KiB so speed is moot. */
#include "crc32c.h"

static uint32_t table[256];
static int table_ready;

static void build_table(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (0x82F63B78U & (0U - (c & 1U)));
		table[i] = c;
	}
	table_ready = 1;
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (!table_ready)
		build_table();
	while (len--)
		crc = table[(crc ^ *p++) & 0xFFU] ^ (crc >> 8);
	return crc;
}

uint32_t crc32c(const void *buf, size_t len)
{
	return crc32c_update(~0U, buf, len) ^ ~0U;
}
