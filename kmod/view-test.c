// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the read index (dm_chain_view).  Its answers must be the walk's
 * (dmc_resolve(), dmc_resolve_run()) for every block of random chains,
 * whatever part of the chain it covers, with and without a raw base, and
 * with some layers held by their runs (read-only layers with an extent
 * list) against the walk over 2-bit maps.
 */
#include <kunit/test.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "blockmap.h"
#include "view.h"

#define VIEW_MAX_LAYERS	12

/*
 * @maps: every layer with 2-bit entries (the oracle's); @vmaps: what the
 * index is built from and read with, some layers held by their runs
 * (rbms[i], as read-only layers with an extent list are).
 */
struct view_chain {
	struct dmc_blockmap bms[VIEW_MAX_LAYERS];
	struct dmc_blockmap rbms[VIEW_MAX_LAYERS];
	const struct dmc_blockmap *maps[VIEW_MAX_LAYERS];
	const struct dmc_blockmap *vmaps[VIEW_MAX_LAYERS];
	unsigned int nr;
	u64 nr_blocks;
};

/*
 * A chain of @nr layers over @nr_blocks blocks; layer i holds runs of
 * random states, sparser higher up (as snapshots are); a raw base when
 * @raw, covering @raw_blocks.
 */
static void make_chain(struct kunit *test, struct rnd_state *rs,
		       struct view_chain *c, unsigned int nr, u64 nr_blocks,
		       bool raw, u64 raw_blocks)
{
	unsigned int i;
	u64 b, len;

	c->nr = nr;
	c->nr_blocks = nr_blocks;
	for (i = 0; i < nr; i++) {
		struct dmc_blockmap *bm = &c->bms[i];

		c->maps[i] = bm;
		c->vmaps[i] = bm;
		memset(&c->rbms[i], 0, sizeof(c->rbms[i]));
		if (!i && raw) {
			dmc_bm_init_raw(bm, nr_blocks, raw_blocks);
			continue;
		}
		KUNIT_ASSERT_EQ(test, dmc_bm_init(bm, nr_blocks), 0);
		for (b = 0; b < nr_blocks; b += len) {
			u32 r = prandom_u32_state(rs);

			len = 1 + r % 70;
			/* About 1 in (2 + i / 2) runs is not ABSENT. */
			if ((r >> 8) % (2 + i / 2))
				continue;
			dmc_bm_set_range(bm, b, len, (r >> 16) % 5 ?
					 DMC_BLOCK_DATA : DMC_BLOCK_ZERO);
		}
	}
}

/* Hold about half of @c's layers (not raw ones) by their runs too. */
static void hold_some_by_runs(struct kunit *test, struct rnd_state *rs,
			      struct view_chain *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		if (!c->bms[i].bits || prandom_u32_state(rs) % 2)
			continue;
		KUNIT_ASSERT_EQ(test, dmc_bm_init_runs_from(&c->rbms[i],
							    &c->bms[i]), 0);
		c->vmaps[i] = &c->rbms[i];
	}
}

static void free_chain(struct view_chain *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		dmc_bm_destroy(&c->bms[i]);
		dmc_bm_destroy(&c->rbms[i]);
	}
}

/* Every block and some runs of @c, indexed up to @covered, as the walk. */
static void expect_walk(struct kunit *test, struct rnd_state *rs,
			struct view_chain *c, unsigned int covered)
{
	struct dmc_view *v = dmc_view_build(c->vmaps, covered, c->nr_blocks);
	unsigned int lists[2] = { c->nr, c->nr - 1 }, nr, k, l;
	u64 b;

	KUNIT_ASSERT_NOT_NULL(test, v);
	KUNIT_EXPECT_EQ(test, v->covered, covered);
	/* The list as the I/O path sees it, and below the leaf (fills). */
	for (l = 0; l < ARRAY_SIZE(lists); l++) {
		nr = lists[l];
		if (!nr || nr < covered)
			continue;
		for (b = 0; b < c->nr_blocks; b++)
			KUNIT_EXPECT_EQ_MSG(test,
				dmc_view_resolve(v, c->vmaps, nr, b),
				dmc_resolve(c->maps, nr, b),
				"block %llu of %u layers, %u covered", b, nr,
				covered);
		for (k = 0; k < 64; k++) {
			u64 start = prandom_u32_state(rs) % c->nr_blocks;
			u64 max = 1 + prandom_u32_state(rs) % 200;
			int want_src, got_src;
			u64 want, got;

			max = min(max, c->nr_blocks - start);
			want = dmc_resolve_run(c->maps, nr, start, max, &want_src);
			got = dmc_view_resolve_run(v, c->vmaps, nr, start, max,
						   &got_src);
			KUNIT_EXPECT_EQ(test, got, want);
			KUNIT_EXPECT_EQ(test, got_src, want_src);
		}
	}
	dmc_view_free(v);
}

static void view_matches_walk(struct kunit *test)
{
	struct view_chain *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct rnd_state rs;
	unsigned int round, covered;

	KUNIT_ASSERT_NOT_NULL(test, c);
	prandom_seed_state(&rs, 20261206);
	for (round = 0; round < 24; round++) {
		unsigned int nr = 1 + prandom_u32_state(&rs) % VIEW_MAX_LAYERS;
		/* Across map words (32 blocks) and map pages (16384). */
		u64 nr_blocks = 1 + prandom_u32_state(&rs) %
				(round % 8 ? 300 : 17000);
		bool raw = round % 3 == 0;

		make_chain(test, &rs, c, nr, nr_blocks, raw,
			   prandom_u32_state(&rs) % (nr_blocks + 40));
		if (round % 2)
			hold_some_by_runs(test, &rs, c);
		for (covered = 0; covered <= nr; covered++)
			expect_walk(test, &rs, c, covered);
		free_chain(c);
	}
}

/* With no index the answers are the walk's: the I/O path's fallback. */
static void view_null_walks(struct kunit *test)
{
	struct view_chain *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct rnd_state rs;
	int src, want_src;
	u64 b;

	KUNIT_ASSERT_NOT_NULL(test, c);
	prandom_seed_state(&rs, 7);
	make_chain(test, &rs, c, 5, 100, false, 0);
	for (b = 0; b < 100; b++) {
		KUNIT_EXPECT_EQ(test, dmc_view_resolve(NULL, c->maps, 5, b),
				dmc_resolve(c->maps, 5, b));
		KUNIT_EXPECT_EQ(test,
				dmc_view_resolve_run(NULL, c->maps, 5, b,
						     100 - b, &src),
				dmc_resolve_run(c->maps, 5, b, 100 - b,
						&want_src));
		KUNIT_EXPECT_EQ(test, src, want_src);
	}
	free_chain(c);
}

/*
 * A live merge's target gains the blocks its sources hold while the
 * index stands: the sources shadow them, so the answers do not change.
 */
static void view_merge_target_shadowed(struct kunit *test)
{
	struct view_chain *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct dmc_view *v;
	struct rnd_state rs;
	int before[200];
	u64 b;

	KUNIT_ASSERT_NOT_NULL(test, c);
	prandom_seed_state(&rs, 11);
	make_chain(test, &rs, c, 4, 200, false, 0);
	v = dmc_view_build(c->maps, 3, 200);
	KUNIT_ASSERT_NOT_NULL(test, v);
	for (b = 0; b < 200; b++)
		before[b] = dmc_view_resolve(v, c->maps, 4, b);
	/* Layer 1 (the target) takes what layer 2 (the source) holds. */
	for (b = 0; b < 200; b++) {
		unsigned int st = dmc_bm_get(c->maps[2], b);

		if (st != DMC_BLOCK_ABSENT)
			dmc_bm_set_range(&c->bms[1], b, 1, st);
	}
	for (b = 0; b < 200; b++)
		KUNIT_EXPECT_EQ(test, dmc_view_resolve(v, c->maps, 4, b),
				before[b]);
	dmc_view_free(v);
	free_chain(c);
}

/*
 * A live merge's target held by its runs gets its 2-bit map while the
 * index stands (dmc_bm_expand()), then gains its source's blocks: the
 * answers do not change at either step.
 */
static void view_runs_target_expanded(struct kunit *test)
{
	struct view_chain *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct dmc_view *v;
	int *before = kunit_kcalloc(test, 300, sizeof(*before), GFP_KERNEL);
	struct rnd_state rs;
	u64 b;

	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, before);
	prandom_seed_state(&rs, 13);
	make_chain(test, &rs, c, 4, 300, false, 0);
	KUNIT_ASSERT_EQ(test, dmc_bm_init_runs_from(&c->rbms[1], &c->bms[1]), 0);
	c->vmaps[1] = &c->rbms[1];
	v = dmc_view_build(c->vmaps, 3, 300);
	KUNIT_ASSERT_NOT_NULL(test, v);
	for (b = 0; b < 300; b++) {
		before[b] = dmc_view_resolve(v, c->vmaps, 4, b);
		KUNIT_EXPECT_EQ(test, before[b], dmc_resolve(c->maps, 4, b));
	}
	KUNIT_ASSERT_EQ(test, dmc_bm_expand(&c->rbms[1]), 0);
	KUNIT_ASSERT_NOT_NULL(test, c->rbms[1].bits);
	for (b = 0; b < 300; b++) {
		unsigned int st = dmc_bm_get(c->vmaps[2], b);

		KUNIT_EXPECT_EQ(test, dmc_bm_get(&c->rbms[1], b),
				dmc_bm_get(&c->bms[1], b));
		if (st != DMC_BLOCK_ABSENT)
			dmc_bm_set_range(&c->rbms[1], b, 1, st);
	}
	for (b = 0; b < 300; b++)
		KUNIT_EXPECT_EQ(test, dmc_view_resolve(v, c->vmaps, 4, b),
				before[b]);
	dmc_view_free(v);
	free_chain(c);
}

/*
 * A map shorter than the index (never in a valid chain, whose layers
 * share one size): its blocks past the end are ABSENT, as dmc_bm_get()
 * reads them, and painting stays inside the map.
 */
static void view_short_map(struct kunit *test)
{
	struct view_chain *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct dmc_view *v;
	struct rnd_state rs;
	u64 b;

	KUNIT_ASSERT_NOT_NULL(test, c);
	prandom_seed_state(&rs, 3);
	make_chain(test, &rs, c, 3, 40, false, 0);
	dmc_bm_set_range(&c->bms[0], 0, 40, DMC_BLOCK_DATA);
	v = dmc_view_build(c->maps, 3, 100);
	KUNIT_ASSERT_NOT_NULL(test, v);
	for (b = 0; b < 100; b++)
		KUNIT_EXPECT_EQ(test, dmc_view_resolve(v, c->maps, 3, b),
				dmc_resolve(c->maps, 3, b));
	KUNIT_EXPECT_EQ(test, dmc_view_resolve(v, c->maps, 3, 70),
			DMC_SRC_ZERO);
	dmc_view_free(v);
	free_chain(c);
}

static struct kunit_case view_test_cases[] = {
	KUNIT_CASE(view_matches_walk),
	KUNIT_CASE(view_null_walks),
	KUNIT_CASE(view_merge_target_shadowed),
	KUNIT_CASE(view_runs_target_expanded),
	KUNIT_CASE(view_short_map),
	{}
};

static struct kunit_suite view_suite = {
	.name = "dm_chain_view",
	.test_cases = view_test_cases,
};

kunit_test_suite(view_suite);
