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

/* Deterministic pseudo-random numbers (xorshift64). */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(uint64_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

#define BIG_NB		1100	/* not a multiple of 32 */
#define BIG_LAYERS	4

/* Stretches of one state, short and long, so that whole map words and
 * bytes of one state occur, and their edges fall anywhere. */
static void map_random(uint8_t *map)
{
	uint64_t b = 0, len, i;
	unsigned int st;

	while (b < BIG_NB) {
		len = rnd(4) ? 1 + rnd(8) : 1 + rnd(150);
		st = (unsigned int)rnd(4);
		st = st == 3 ? DMC_BLOCK_ABSENT : st;	/* absent twice as often */
		for (i = 0; i < len && b < BIG_NB; i++, b++)
			dmc_map_set(map, b, st);
	}
}

/*
 * The word- and byte-wide shortcuts of plan_next_run must find exactly the
 * runs a block-by-block walk finds: random stacks (sometimes over a raw
 * image), random starting points and run caps, checked against
 * plan_block.
 */
static void test_runs_match_block_walk(void **state)
{
	static uint8_t maps[BIG_LAYERS][(BIG_NB + 3) / 4];
	struct plan_source src[BIG_LAYERS];
	unsigned int iter, nr, i;

	(void)state;
	for (iter = 0; iter < 400; iter++) {
		struct plan_run run;
		uint64_t pos, max, b;
		int source, s;

		nr = 1 + (unsigned int)rnd(BIG_LAYERS);
		for (i = 0; i < nr; i++) {
			memset(maps[i], 0, sizeof(maps[i]));
			map_random(maps[i]);
			src[i].map = maps[i];
		}
		if (nr > 1 && !rnd(3))
			src[nr - 1].map = NULL;	/* a raw image at the bottom */
		pos = rnd(4) ? 0 : rnd(BIG_NB);
		max = rnd(3) ? 0 : 1 + rnd(70);
		while (plan_next_run(src, nr, BIG_NB, &pos, max, &run)) {
			assert_int_equal(run.kind, plan_block(src, nr, run.start, &source));
			assert_int_equal(run.source, source);
			for (b = run.start + 1; b < BIG_NB; b++) {
				if (max && b - run.start >= max)
					break;
				if (plan_block(src, nr, b, &s) != run.kind || s != source)
					break;
			}
			assert_int_equal(run.count, b - run.start);
			assert_int_equal(pos, b);
		}
		assert_int_equal(pos, BIG_NB);
	}
}

static void test_max_run(void **state)
{
	(void)state;
	/* Unlimited without a bar; 16 MiB of blocks with one, never 0. */
	assert_int_equal(plan_max_run(false, 16), 0);
	assert_int_equal(plan_max_run(true, 12), 4096);
	assert_int_equal(plan_max_run(true, 16), 256);
	assert_int_equal(plan_max_run(true, 21), 8);
	assert_int_equal(plan_max_run(true, 30), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_run),
		cmocka_unit_test(test_single_layer_runs),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_max_count_splits),
		cmocka_unit_test(test_raw_base),
		cmocka_unit_test(test_empty_stack),
		cmocka_unit_test(test_runs_match_block_walk),
	};

	return cmocka_run_group_tests_name("merge_plan", tests, NULL, NULL);
}
