/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pacing an offline merge to at most a number of bytes a second (as
 * qemu-img commit -r does): after each piece of work the caller reports
 * its bytes, and is put to sleep for as long as it ran ahead of the rate
 * since it started.  Sleeping is by the monotonic clock, so a machine
 * that is slower than the limit never sleeps.
 */
#ifndef DMC_RATE_LIMIT_H
#define DMC_RATE_LIMIT_H

#include <stdint.h>

struct rate_limit {
	uint64_t bytes_per_s;		/* 0: unlimited */
	uint64_t bytes;			/* reported since the start */
	double start;			/* monotonic seconds */
};

/* Start pacing at BYTES_PER_S (0: never sleep). */
void rate_limit_start(struct rate_limit *rl, uint64_t bytes_per_s);

/* BYTES more were moved: sleep while that is ahead of the rate. */
void rate_limit_account(struct rate_limit *rl, uint64_t bytes);

#endif
