/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Little-endian 64-bit fields, as dm-log-writes and the crash stamps
 * store them (tests/crash: replay-log.c, crashcheck.c).
 */
#ifndef DMC_CRASH_LE64_H
#define DMC_CRASH_LE64_H

#include <stdint.h>

static inline uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#endif
