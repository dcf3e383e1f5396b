/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRC32C (Castagnoli), bit-reflected polynomial 0x82F63B78, as the kernel's
 * crc32c(): crc32c(~0, buf, len) ^ ~0 is the standard check value
 * (0xE3069283 for "123456789").
 */
#ifndef DMC_CRC32C_H
#define DMC_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Raw update with no pre/post inversion (kernel crc32c() semantics). */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);

/* The standard CRC32C of BUF: seed ~0, final xor ~0. */
uint32_t crc32c(const void *buf, size_t len);

#endif
