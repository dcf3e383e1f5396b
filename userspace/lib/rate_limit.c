// SPDX-License-Identifier: GPL-2.0
/* Pacing an offline merge to a byte rate: see rate_limit.h. */
#include <errno.h>
#include <time.h>

#include "rate_limit.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rate_limit_start(struct rate_limit *rl, uint64_t bytes_per_s)
{
	rl->bytes_per_s = bytes_per_s;
	rl->bytes = 0;
	rl->start = now_seconds();
}

void rate_limit_account(struct rate_limit *rl, uint64_t bytes)
{
	double ahead;
	struct timespec ts;

	if (!rl->bytes_per_s)
		return;
	rl->bytes += bytes;
	ahead = (double)rl->bytes / (double)rl->bytes_per_s -
		(now_seconds() - rl->start);
	if (ahead <= 0)
		return;
	ts.tv_sec = (time_t)ahead;
	ts.tv_nsec = (long)((ahead - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
