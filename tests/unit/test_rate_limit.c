// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the offline merge's pacing (userspace/lib/rate_limit.c):
 * work reported ahead of the rate sleeps until the rate is kept (a lower
 * bound: a busy machine only makes it slower), work behind it and an
 * unlimited rate never sleep long.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "rate_limit.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_paced(void **state)
{
	struct rate_limit rl;
	double t0 = now();
	int i;

	(void)state;
	rate_limit_start(&rl, 64ULL << 20);
	for (i = 0; i < 16; i++)
		rate_limit_account(&rl, 1ULL << 20);	/* 16 MiB: 0.25 s */
	assert_true(now() - t0 >= 0.25 - 0.001);
	assert_int_equal(rl.bytes, 16ULL << 20);
}

static void test_unlimited_and_behind(void **state)
{
	struct rate_limit rl;
	struct timespec nap;
	double t0;

	(void)state;
	rate_limit_start(&rl, 0);
	t0 = now();
	rate_limit_account(&rl, 1ULL << 40);	/* would be hours at any rate */
	assert_true(now() - t0 < 5);
	/* Behind the rate: 0.7 s spent, then 512 KiB at 1 MiB/s (0.5 s of
	 * work) is due already: no sleep (one that forgot the time spent
	 * would sleep 0.5 s). */
	nap.tv_sec = 0;
	nap.tv_nsec = 700 * 1000 * 1000;
	rate_limit_start(&rl, 1ULL << 20);
	nanosleep(&nap, NULL);
	t0 = now();
	rate_limit_account(&rl, 512ULL << 10);
	assert_true(now() - t0 < 0.4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paced),
		cmocka_unit_test(test_unlimited_and_behind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
