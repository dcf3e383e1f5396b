// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of merge planning: which layer provides each block (upper
 * layers take precedence, zero hides data below, absent looks below), and
 * coalescing of consecutive blocks into one run per provider.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <dm-chain/format.h>

#include "merge_plan.h"

#define NB 16

/* Build a map from a string: '.' absent, 'D' data, 'Z' zero. */
static void map_from(uint8_t *map, const char *s)
{
	uint64_t b;

	memset(map, 0, NB / 4);
	for (b = 0; s[b]; b++)
		dmc_map_set(map, b, s[b] == 'D' ? DMC_BLOCK_DATA :
				    s[b] == 'Z' ? DMC_BLOCK_ZERO : DMC_BLOCK_ABSENT);
}

struct expect_run {
	uint64_t start, count;
	enum plan_kind kind;
	int source;
};

static void expect_runs(const struct plan_source *src, unsigned int nr,
			uint64_t max, const struct expect_run *want, size_t nwant)
{
	struct plan_run run;
	uint64_t pos = 0;
	size_t i = 0;

	while (plan_next_run(src, nr, NB, &pos, max, &run)) {
		assert_true(i < nwant);
		assert_int_equal(run.start, want[i].start);
		assert_int_equal(run.count, want[i].count);
		assert_int_equal(run.kind, want[i].kind);
		assert_int_equal(run.source, want[i].source);
		i++;
	}
	assert_int_equal(i, nwant);
	assert_int_equal(pos, NB);
}

static void test_single_layer_runs(void **state)
{
	uint8_t m[NB / 4];
	struct plan_source src[1] = { { m } };
	static const struct expect_run want[] = {
		{ 0, 3, PLAN_DATA, 0 },
		{ 3, 2, PLAN_ABSENT, -1 },
		{ 5, 1, PLAN_ZERO, 0 },
		{ 6, 1, PLAN_DATA, 0 },
		{ 7, 9, PLAN_ABSENT, -1 },
	};

	(void)state;
	map_from(m, "DDD..ZD.........");
	expect_runs(src, 1, 0, want, 5);
}

/* Top first: the upper layer wins; zero hides data; absent looks below. */
static void test_precedence(void **state)
{
	uint8_t top[NB / 4], mid[NB / 4], bot[NB / 4];
	struct plan_source src[3] = { { top }, { mid }, { bot } };
	static const struct expect_run want[] = {
		{ 0, 2, PLAN_DATA, 0 },
		{ 2, 2, PLAN_ZERO, 0 },
		{ 4, 2, PLAN_DATA, 1 },
		{ 6, 1, PLAN_ZERO, 1 },
		{ 7, 1, PLAN_DATA, 2 },
		{ 8, 8, PLAN_ABSENT, -1 },
	};
	int s;

	(void)state;
	map_from(top, "DDZZ............");
	map_from(mid, "DZDDDDZ.........");
	map_from(bot, "DDDDDDDD........");
	expect_runs(src, 3, 0, want, 6);
	assert_int_equal(plan_block(src, 3, 5, &s), PLAN_DATA);
	assert_int_equal(s, 1);
	assert_int_equal(plan_block(src, 3, 9, &s), PLAN_ABSENT);
	assert_int_equal(s, -1);
}

/* Adjacent blocks from different layers are separate runs (separate
 * clone calls); adjacent blocks of the same layer are one. */
static void test_coalescing(void **state)
{
	uint8_t top[NB / 4], bot[NB / 4];
	struct plan_source src[2] = { { top }, { bot } };
	static const struct expect_run want[] = {
		{ 0, 4, PLAN_DATA, 1 },
		{ 4, 4, PLAN_DATA, 0 },
		{ 8, 8, PLAN_DATA, 1 },
	};
	struct plan_totals t;

	(void)state;
	map_from(top, "....DDDD........");
	map_from(bot, "DDDDDDDDDDDDDDDD");
	expect_runs(src, 2, 0, want, 3);
	plan_count(src, 2, NB, 0, &t);
	assert_int_equal(t.data_blocks, 16);
	assert_int_equal(t.data_runs, 3);
	plan_count(src, 2, NB, 6, &t);		/* from a resume cursor */
	assert_int_equal(t.data_blocks, 10);
	assert_int_equal(t.data_runs, 2);
}

static void test_max_count_splits(void **state)
{
	uint8_t m[NB / 4];
	struct plan_source src[1] = { { m } };
	static const struct expect_run want[] = {
		{ 0, 5, PLAN_DATA, 0 },
		{ 5, 5, PLAN_DATA, 0 },
		{ 10, 2, PLAN_DATA, 0 },
		{ 12, 4, PLAN_ABSENT, -1 },
	};

	(void)state;
	map_from(m, "DDDDDDDDDDDD....");
	expect_runs(src, 1, 5, want, 4);
}

/* A raw image (no map) at the bottom provides every block. */
static void test_raw_base(void **state)
{
	uint8_t top[NB / 4];
	struct plan_source src[2] = { { top }, { NULL } };
	static const struct expect_run want[] = {
		{ 0, 2, PLAN_DATA, 1 },
		{ 2, 1, PLAN_ZERO, 0 },
		{ 3, 1, PLAN_DATA, 0 },
		{ 4, 12, PLAN_DATA, 1 },
	};
	struct plan_totals t;

	(void)state;
	map_from(top, "..ZD............");
	expect_runs(src, 2, 0, want, 4);
	plan_count(src, 2, NB, 0, &t);
	assert_int_equal(t.zero_blocks, 1);
	assert_int_equal(t.zero_runs, 1);
}

static void test_empty_stack(void **state)
{
	uint8_t m[NB / 4];
	struct plan_source src[1] = { { m } };
	static const struct expect_run want[] = { { 0, NB, PLAN_ABSENT, -1 } };
	struct plan_run run;
	uint64_t pos = NB;

	(void)state;
	map_from(m, "");
	expect_runs(src, 1, 0, want, 1);
	assert_false(plan_next_run(src, 1, NB, &pos, 0, &run));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_layer_runs),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_max_count_splits),
		cmocka_unit_test(test_raw_base),
		cmocka_unit_test(test_empty_stack),
	};

	return cmocka_run_group_tests_name("merge_plan", tests, NULL, NULL);
}
