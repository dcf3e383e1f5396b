// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the pure parts of live merges and snapshots (dm_chain_merge):
 * merge run planning over the sources' maps, building a new leaf's
 * header, journal edits, and the linkage of a leaf made during a live
 * merge at every step of the journal (the crash points of
 * docs/format.md).
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-chain.h"
#include "blockmap.h"
#include "header.h"
#include "merge.h"
#include "table.h"

#define MERGE_TEST_SIZE		(1ULL << 30)
#define MERGE_TEST_SHIFT	16

/* ---- planning ---- */

/* Two sources over 12 blocks; s1 below s0 is the lower one (bottom first). */
static void merge_source_runs(struct kunit *test)
{
	static const u8 s0[12] = { 1, 1, 0, 0, 2, 2, 0, 1, 0, 0, 0, 2 };
	static const u8 s1[12] = { 0, 1, 1, 0, 1, 0, 0, 2, 0, 0, 0, 0 };
	/* Expected (src, length) runs: bottom s0 (index 0), top s1 (1). */
	static const struct { int src; u64 len; } want[] = {
		{ 0, 1 },			/* s0 DATA */
		{ 1, 2 },			/* s1 DATA over s0, then alone */
		{ DMC_SRC_ABSENT, 1 },
		{ 1, 1 },			/* s1 DATA over s0 ZERO */
		{ DMC_SRC_ZERO, 1 },		/* s0 ZERO */
		{ DMC_SRC_ABSENT, 1 },
		{ DMC_SRC_ZERO, 1 },		/* s1 ZERO over s0 DATA */
		{ DMC_SRC_ABSENT, 3 },
		{ DMC_SRC_ZERO, 1 },
	};
	struct dmc_blockmap a, b;
	const struct dmc_blockmap *maps[2] = { &a, &b };
	u64 blk = 0, n;
	unsigned int i;
	int src;

	KUNIT_ASSERT_EQ(test, dmc_bm_init(&a, 12), 0);
	KUNIT_ASSERT_EQ(test, dmc_bm_init(&b, 12), 0);
	for (i = 0; i < 12; i++) {
		dmc_bm_set_range(&a, i, 1, s0[i]);
		dmc_bm_set_range(&b, i, 1, s1[i]);
	}
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		KUNIT_ASSERT_LT(test, blk, 12ULL);
		n = dmc_source_run(maps, 2, blk, 12 - blk, &src);
		KUNIT_EXPECT_EQ_MSG(test, src, want[i].src, "run %u", i);
		KUNIT_EXPECT_EQ_MSG(test, n, want[i].len, "run %u", i);
		blk += n;
	}
	KUNIT_EXPECT_EQ(test, blk, 12ULL);

	/* One source: runs follow its map; @max bounds the run. */
	n = dmc_source_run(maps, 1, 0, 12, &src);
	KUNIT_EXPECT_EQ(test, src, 0);
	KUNIT_EXPECT_EQ(test, n, 2ULL);
	n = dmc_source_run(maps, 1, 8, 2, &src);
	KUNIT_EXPECT_EQ(test, src, DMC_SRC_ABSENT);
	KUNIT_EXPECT_EQ(test, n, 2ULL);
	dmc_bm_destroy(&a);
	dmc_bm_destroy(&b);
}

/* ---- headers ---- */

static void *new_layer(struct kunit *test, u8 uuid, u8 parent_uuid,
		       u64 parent_gen)
{
	struct dmc_new_layer nl = {
		.block_shift = MERGE_TEST_SHIFT,
		.virtual_size = MERGE_TEST_SIZE,
		.parent_generation = parent_gen,
		.parent_path = "parent.dmc",
	};
	void *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, slot);
	memset(nl.uuid, uuid, DMC_UUID_SIZE);
	memset(nl.parent_uuid, parent_uuid, DMC_UUID_SIZE);
	KUNIT_ASSERT_EQ(test, dmc_header_build(slot, &nl, 1), 0);
	return slot;
}

static void decode_ok(struct kunit *test, const void *slot, struct dmc_hdr *h)
{
	const char *why = NULL;
	int r;

	r = dmc_header_decode(slot, dmc_new_layer_size(MERGE_TEST_SIZE,
						       MERGE_TEST_SHIFT),
			      h, &why);
	KUNIT_ASSERT_EQ_MSG(test, r, 0, "%s", why ?: "");
}

static void merge_header_build(struct kunit *test)
{
	void *slot = new_layer(test, 0x22, 0x11, 7);
	struct dmc_hdr h;
	struct dmc_new_layer nl = { .parent_path = "" };
	char *long_path;

	KUNIT_EXPECT_EQ(test, dmc_slot_check(slot), 0);
	decode_ok(test, slot, &h);
	KUNIT_EXPECT_EQ(test, h.generation, 1ULL);
	KUNIT_EXPECT_EQ(test, h.sequence, 1ULL);
	KUNIT_EXPECT_EQ(test, h.parent_kind, (u32)DMC_PARENT_LAYER);
	KUNIT_EXPECT_EQ(test, h.parent_generation, 7ULL);
	KUNIT_EXPECT_EQ(test, h.parent_uuid[0], 0x11);
	KUNIT_EXPECT_EQ(test, h.block_shift, (u32)MERGE_TEST_SHIFT);
	KUNIT_EXPECT_FALSE(test, dmc_hdr_journal_active(&h));
	/* The file size the header asks for holds every block. */
	KUNIT_EXPECT_EQ(test, dmc_new_layer_size(MERGE_TEST_SIZE,
						 MERGE_TEST_SHIFT),
			h.data_offset + MERGE_TEST_SIZE);

	long_path = kunit_kzalloc(test, DMC_PATH_MAX + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, long_path);
	memset(long_path, 'a', DMC_PATH_MAX);
	nl.parent_path = long_path;
	KUNIT_EXPECT_EQ(test, dmc_header_build(slot, &nl, 1), -ENAMETOOLONG);
}

/*
 * A live merge of S1..Sk into T (generation 3) puts a new leaf L on top,
 * made as a child of T at generation 4.  Walk the journal's steps and
 * check what the format's linkage rule says of L on T at each (what a
 * crash at that point leaves), and that S1 stays valid on T until T is
 * finished.
 */
static void merge_journal_crash_points(struct kunit *test)
{
	void *t = new_layer(test, 0x10, 0x01, 1);
	void *s1 = new_layer(test, 0x20, 0x10, 3);
	void *leaf = new_layer(test, 0x30, 0x10, 4);
	/* On the heap: with KASAN's redzones they would overflow the frame. */
	struct dmc_hdr *hs = kunit_kcalloc(test, 3, sizeof(*hs), GFP_KERNEL);
	struct dmc_hdr *th = &hs[0], *s1h = &hs[1], *lh = &hs[2];
	u8 s1_uuid[DMC_UUID_SIZE], top_uuid[DMC_UUID_SIZE];
	struct dmc_journal_args j = {
		.state = DMC_JOURNAL_MERGING,
		.nr_sources = 2,
		.old_generation = 3,
		.new_generation = 4,
		.bottom_uuid = s1_uuid,
		.top_uuid = top_uuid,
		.top_path = "top.dmc",
	};
	const char *why;
	u64 cursor = 1000;

	KUNIT_ASSERT_NOT_NULL(test, hs);
	memset(s1_uuid, 0x20, DMC_UUID_SIZE);
	memset(top_uuid, 0x21, DMC_UUID_SIZE);
	dmc_header_set_generation(t, 3);
	dmc_header_seal(t, 2);
	decode_ok(test, s1, s1h);
	decode_ok(test, leaf, lh);

	/* Before the journal: L is stale on T, S1 fits. */
	decode_ok(test, t, th);
	KUNIT_EXPECT_NE(test, dmc_link_check(lh, th, 0, &why), 0);
	KUNIT_EXPECT_EQ(test, dmc_link_check(s1h, th, 0, &why), 0);

	/* MERGING, any cursor: only the bottom source fits. */
	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(t, &j), 0);
	dmc_header_seal(t, 3);
	decode_ok(test, t, th);
	KUNIT_EXPECT_TRUE(test, dmc_hdr_journal_active(th));
	KUNIT_EXPECT_EQ(test, th->j_cursor, 0ULL);
	KUNIT_EXPECT_EQ(test, dmc_link_check(s1h, th, 0, &why), 0);
	KUNIT_EXPECT_NE(test, dmc_link_check(lh, th, 0, &why), 0);
	((struct dmc_header *)t)->journal.cursor = cpu_to_le64(cursor);
	dmc_header_seal(t, 4);
	decode_ok(test, t, th);
	KUNIT_EXPECT_EQ(test, th->j_cursor, cursor);
	KUNIT_EXPECT_EQ(test, dmc_link_check(s1h, th, 0, &why), 0);

	/* RETIRING: still only S1. */
	((struct dmc_header *)t)->journal.state =
		cpu_to_le32(DMC_JOURNAL_RETIRING);
	dmc_header_seal(t, 5);
	decode_ok(test, t, th);
	KUNIT_EXPECT_EQ(test, th->j_state, (u32)DMC_JOURNAL_RETIRING);
	KUNIT_EXPECT_NE(test, dmc_link_check(lh, th, 0, &why), 0);

	/* A source marked merged-away no longer opens. */
	dmc_header_set_merged_away(s1, th->uuid);
	dmc_header_seal(s1, 2);
	KUNIT_EXPECT_EQ(test, dmc_slot_check(s1), 0);
	KUNIT_EXPECT_EQ(test, dmc_header_decode(s1, dmc_new_layer_size(
				MERGE_TEST_SIZE, MERGE_TEST_SHIFT), s1h, &why),
			-EINVAL);

	/* Finished: generation 4, no journal; L fits. */
	dmc_header_set_generation(t, 4);
	KUNIT_EXPECT_EQ(test, dmc_header_set_journal(t, NULL), 0);
	dmc_header_seal(t, 6);
	decode_ok(test, t, th);
	KUNIT_EXPECT_FALSE(test, dmc_hdr_journal_active(th));
	KUNIT_EXPECT_EQ(test, th->generation, 4ULL);
	KUNIT_EXPECT_EQ(test, dmc_link_check(lh, th, 0, &why), 0);

	/* A journal whose path does not fit is refused, not truncated. */
	j.top_path = kunit_kzalloc(test, DMC_JOURNAL_PATH_MAX + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, j.top_path);
	memset((char *)j.top_path, 'x', DMC_JOURNAL_PATH_MAX);
	KUNIT_EXPECT_EQ(test, dmc_header_set_journal(t, &j), -ENAMETOOLONG);
}

/*
 * The live leap: T (journal: sources S1, S2) below S1, S2, then L made
 * during the merge.  L on S2 is accepted; a wrong generation, a wrong
 * top, a finished journal or a missing source is not.
 */
static void merge_live_leap(struct kunit *test)
{
	void *t = new_layer(test, 0x10, 0x01, 1);
	void *s1 = new_layer(test, 0x20, 0x10, 3);
	void *s2 = new_layer(test, 0x21, 0x20, 1);
	void *leaf = new_layer(test, 0x30, 0x10, 4);
	/* On the heap: with KASAN's redzones they would overflow the frame. */
	struct dmc_hdr *hs = kunit_kcalloc(test, 4, sizeof(*hs), GFP_KERNEL);
	struct dmc_hdr *th = &hs[0], *s1h = &hs[1], *s2h = &hs[2], *lh = &hs[3];
	const struct dmc_hdr *hdrs[4] = { th, s1h, s2h, lh };
	const struct dmc_hdr *short_hdrs[3] = { th, s2h, lh };
	u8 bottom[DMC_UUID_SIZE], top[DMC_UUID_SIZE];
	struct dmc_journal_args j = {
		.state = DMC_JOURNAL_MERGING,
		.nr_sources = 2,
		.old_generation = 3,
		.new_generation = 4,
		.bottom_uuid = bottom,
		.top_uuid = top,
		.top_path = "s2.dmc",
	};

	KUNIT_ASSERT_NOT_NULL(test, hs);
	memset(bottom, 0x20, DMC_UUID_SIZE);
	memset(top, 0x21, DMC_UUID_SIZE);
	dmc_header_set_generation(t, 3);
	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(t, &j), 0);
	dmc_header_seal(t, 2);
	decode_ok(test, t, th);
	decode_ok(test, s1, s1h);
	decode_ok(test, s2, s2h);
	decode_ok(test, leaf, lh);

	KUNIT_EXPECT_TRUE(test, dmc_live_leap(hdrs, 3));
	/* Only the leap position: S2 on S1 is an ordinary link. */
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(hdrs, 2));
	/* A source left out of the table. */
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(short_hdrs, 2));
	/* L made at the old generation is no child of the merge. */
	lh->parent_generation = 3;
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(hdrs, 3));
	lh->parent_generation = 4;
	/* The layer below L is not the journal's top. */
	s2h->uuid[0] ^= 1;
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(hdrs, 3));
	s2h->uuid[0] ^= 1;
	/* Finished: L sits on T itself, not on the sources. */
	th->j_state = DMC_JOURNAL_NONE;
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(hdrs, 3));
	/* A raw layer in the table is never a merge target. */
	th->j_state = DMC_JOURNAL_MERGING;
	hdrs[0] = NULL;
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(hdrs, 3));
}

/*
 * An intermediate merge of S1, S2 into T (generation 3) with a layer A
 * above S2 and a leaf on A: once A is relinked (dmc_header_set_parent())
 * to T at 4, it is no ordinary child of S2 any more but a live-leap child
 * of T while the journal is active, and an ordinary child of T once T is
 * finished; the leaf on A is untouched throughout.
 */
static void merge_relink_above(struct kunit *test)
{
	void *t = new_layer(test, 0x10, 0x01, 1);
	void *s1 = new_layer(test, 0x20, 0x10, 3);
	void *s2 = new_layer(test, 0x21, 0x20, 1);
	void *a = new_layer(test, 0x30, 0x21, 1);
	void *leaf = new_layer(test, 0x40, 0x30, 1);
	struct dmc_hdr *hs = kunit_kcalloc(test, 5, sizeof(*hs), GFP_KERNEL);
	struct dmc_hdr *th = &hs[0], *s2h = &hs[2], *ah = &hs[3], *lh = &hs[4];
	const struct dmc_hdr *hdrs[5] = { th, &hs[1], s2h, ah, lh };
	u8 bottom[DMC_UUID_SIZE], top[DMC_UUID_SIZE], tuuid[DMC_UUID_SIZE];
	struct dmc_journal_args j = {
		.state = DMC_JOURNAL_MERGING,
		.nr_sources = 2,
		.old_generation = 3,
		.new_generation = 4,
		.bottom_uuid = bottom,
		.top_uuid = top,
		.top_path = "s2.dmc",
	};
	struct dmc_parent_args pa = {
		.uuid = tuuid, .generation = 4, .path = "t.dmc",
	};
	const char *why;
	char *long_path;

	KUNIT_ASSERT_NOT_NULL(test, hs);
	memset(bottom, 0x20, DMC_UUID_SIZE);
	memset(top, 0x21, DMC_UUID_SIZE);
	memset(tuuid, 0x10, DMC_UUID_SIZE);
	dmc_header_set_generation(t, 3);
	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(t, &j), 0);
	dmc_header_seal(t, 2);
	decode_ok(test, t, th);
	decode_ok(test, s1, &hs[1]);
	decode_ok(test, s2, s2h);
	decode_ok(test, a, ah);
	decode_ok(test, leaf, lh);

	/* Before the relink: A is an ordinary child of S2. */
	KUNIT_EXPECT_EQ(test, dmc_link_check(ah, s2h, 0, &why), 0);
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(hdrs, 3));

	KUNIT_ASSERT_EQ(test, dmc_header_set_parent(a, &pa), 0);
	dmc_header_seal(a, 2);
	decode_ok(test, a, ah);
	KUNIT_EXPECT_EQ(test, ah->parent_generation, 4ULL);
	KUNIT_EXPECT_EQ(test, ah->parent_uuid[0], 0x10);
	KUNIT_EXPECT_EQ(test, ah->uuid[0], 0x30);
	KUNIT_EXPECT_EQ(test, ah->generation, 1ULL);
	KUNIT_EXPECT_STREQ(test, ((struct dmc_header *)a)->parent_path,
			   "t.dmc");
	/* Relinked: no child of S2, a leap child of T; the leaf unchanged. */
	KUNIT_EXPECT_NE(test, dmc_link_check(ah, s2h, 0, &why), 0);
	KUNIT_EXPECT_TRUE(test, dmc_live_leap(hdrs, 3));
	KUNIT_EXPECT_EQ(test, dmc_link_check(lh, ah, 0, &why), 0);
	KUNIT_EXPECT_FALSE(test, dmc_live_leap(hdrs, 4));
	/* While T holds the journal, A on T itself is refused ... */
	KUNIT_EXPECT_NE(test, dmc_link_check(ah, th, 0, &why), 0);
	/* ... and valid once T is finished at 4. */
	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(t, NULL), 0);
	dmc_header_set_generation(t, 4);
	dmc_header_seal(t, 3);
	decode_ok(test, t, th);
	KUNIT_EXPECT_EQ(test, dmc_link_check(ah, th, 0, &why), 0);

	/* Into a raw base: A records a raw image of the chain's size. */
	pa = (struct dmc_parent_args) {
		.raw_size = ah->virtual_size, .path = "base.raw",
	};
	KUNIT_ASSERT_EQ(test, dmc_header_set_parent(a, &pa), 0);
	dmc_header_seal(a, 3);
	decode_ok(test, a, ah);
	KUNIT_EXPECT_EQ(test, ah->parent_kind, (u32)DMC_PARENT_RAW);
	KUNIT_EXPECT_EQ(test, ah->parent_generation, 0ULL);
	KUNIT_EXPECT_EQ(test, ah->parent_uuid[0], 0);
	KUNIT_EXPECT_EQ(test, ah->uuid[0], 0x30);
	KUNIT_EXPECT_EQ(test, dmc_link_check(ah, NULL, ah->virtual_size, &why),
			0);
	KUNIT_EXPECT_NE(test, dmc_link_check(ah, NULL, ah->virtual_size + 1,
					     &why), 0);
	KUNIT_EXPECT_NE(test, dmc_link_check(ah, th, 0, &why), 0);

	long_path = kunit_kzalloc(test, DMC_PATH_MAX + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, long_path);
	memset(long_path, 'a', DMC_PATH_MAX);
	pa.path = long_path;
	KUNIT_EXPECT_EQ(test, dmc_header_set_parent(a, &pa), -ENAMETOOLONG);
}

/* ---- paths ---- */

struct path_case {
	const char *a, *b, *want;
	unsigned int n;
};

static void merge_rel_path(struct kunit *test)
{
	static const struct path_case cases[] = {
		{ "/v/a/leaf.dmc", "/v/a/base.dmc", "base.dmc" },
		{ "/v/a/leaf.dmc", "/v/b/base.dmc", "/v/b/base.dmc" },
		{ "/v/ab/leaf.dmc", "/v/a/base.dmc", "/v/a/base.dmc" },
		{ "/leaf.dmc", "/base.dmc", "base.dmc" },
	};
	char out[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_ASSERT_EQ(test, dmc_rel_path(cases[i].a, cases[i].b, out,
						   sizeof(out)), 0);
		KUNIT_EXPECT_STREQ(test, out, cases[i].want);
	}
	KUNIT_EXPECT_EQ(test, dmc_rel_path("/a/x", "/b/very-long-name", out, 8),
			-ENAMETOOLONG);
}

static void merge_leaf_name(struct kunit *test)
{
	static const struct path_case cases[] = {
		{ "/v/child.dmc", NULL, "/v/child-1.dmc", 1 },
		{ "/v/child-1.dmc", NULL, "/v/child-2.dmc", 2 },
		{ "/v/child-12.dmc", NULL, "/v/child-3.dmc", 3 },
		{ "/v/child", NULL, "/v/child-1.dmc", 1 },
		{ "/v/img.raw", NULL, "/v/img.raw-1.dmc", 1 },
		{ "/v/-5.dmc", NULL, "/v/-5-1.dmc", 1 },
		{ "/v/.dmc", NULL, "/v/.dmc-1.dmc", 1 },
	};
	char out[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_ASSERT_EQ(test, dmc_leaf_name(cases[i].a, cases[i].n, out,
						    sizeof(out)), 0);
		KUNIT_EXPECT_STREQ(test, out, cases[i].want);
	}
	KUNIT_EXPECT_EQ(test, dmc_leaf_name("/v/child.dmc", 1, out, 8),
			-ENAMETOOLONG);
}

/* New default names count on from the number the leaf's name ends in. */
static void merge_leaf_suffix(struct kunit *test)
{
	static const struct {
		const char *leaf;
		unsigned int want;
	} cases[] = {
		{ "/v/child.dmc", 0 },
		{ "/v/child-12.dmc", 12 },
		{ "/v/child-007.dmc", 7 },
		{ "/v/child-3", 3 },
		{ "/v/child-4294967295.dmc", 4294967295U },
		{ "/v/child-4294967296.dmc", 0 },	/* overflows */
		{ "/v/child-99999999999999999999.dmc", 0 },
		{ "/v/-5.dmc", 0 },			/* no stem */
		{ "/v/child-5x.dmc", 0 },
		{ "/v-3/child.dmc", 0 },		/* the directory's */
		{ "child-9.dmc", 9 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		KUNIT_EXPECT_EQ_MSG(test, dmc_leaf_suffix(cases[i].leaf),
				    cases[i].want, "%s", cases[i].leaf);
}

/* Which layer a fresh live merge targets, and the layer limit (item 12). */
static void merge_pick_target(struct kunit *test)
{
	struct dm_chain_merge_params p = { .depth = 1 };
	const char *why = NULL;
	unsigned int t = 99, top = 99;

	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(3, &p, &t, &top, &why), 0);
	KUNIT_EXPECT_EQ(test, t, 1U);
	KUNIT_EXPECT_EQ(test, top, 2U);
	p.depth = 2;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(3, &p, &t, &top, &why), 0);
	KUNIT_EXPECT_EQ(test, t, 0U);
	p.depth = 3;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(3, &p, &t, &top, &why), -EINVAL);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, strstr(why, "Depth must be less"));
	p.depth = 0;
	p.into = 2;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(3, &p, &t, &top, &why), -EINVAL);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, strstr(why, "below the leaf"));
	p.into = 0;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(1, &p, &t, &top, &why), -EINVAL);
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(3, &p, &t, &top, &why), 0);
	KUNIT_EXPECT_EQ(test, t, 0U);

	/* One below the limit: the new leaf makes it exactly 256. */
	p.depth = 1;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(DMC_MAX_LAYERS - 1, &p, &t,
						    &top, &why), 0);
	/* At the limit: refused before anything is written. */
	why = NULL;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(DMC_MAX_LAYERS, &p, &t,
						    &top, &why), -E2BIG);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, why);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, strstr(why, "maximum depth"));
	p.depth = 0;
	p.into = 0;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(DMC_MAX_LAYERS, &p, &t,
						    &top, &why), -E2BIG);
}

/* An intermediate range (issue 18): INTO with a TOP below the leaf. */
static void merge_pick_range(struct kunit *test)
{
	struct dm_chain_merge_params p = { .into = 1, .has_top = true, .top = 2 };
	const char *why = NULL;
	unsigned int t = 99, top = 99;

	/* base 0 <- 1 <- 2 <- leaf 3: fold 2 into 1, the leaf stays */
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(4, &p, &t, &top, &why), 0);
	KUNIT_EXPECT_EQ(test, t, 1U);
	KUNIT_EXPECT_EQ(test, top, 2U);
	/* TOP the leaf: the ordinary merge of everything above INTO */
	p.top = 3;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(4, &p, &t, &top, &why), 0);
	KUNIT_EXPECT_EQ(test, top, 3U);
	p.top = 4;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(4, &p, &t, &top, &why),
			-EINVAL);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, strstr(why, "beyond the leaf"));
	p.top = 1;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(4, &p, &t, &top, &why),
			-EINVAL);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, strstr(why, "above the target"));
	p.into = 2;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(4, &p, &t, &top, &why),
			-EINVAL);
	/* No new leaf: a full chain may still fold a range below its leaf. */
	p.into = 0;
	p.top = 1;
	why = NULL;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(DMC_MAX_LAYERS, &p, &t,
						    &top, &why), 0);
	p.top = DMC_MAX_LAYERS - 1;
	KUNIT_EXPECT_EQ(test, dmc_merge_pick_target(DMC_MAX_LAYERS, &p, &t,
						    &top, &why), -E2BIG);
}

/* DM_CHAIN_MERGE_A_KEEPS_LEAF: which merges add no leaf. */
static void merge_keeps_leaf(struct kunit *test)
{
	/* base 0 <- 1 <- 2 <- leaf 3 */
	KUNIT_EXPECT_TRUE(test, dmc_merge_keeps_leaf(4, 2, false));
	KUNIT_EXPECT_TRUE(test, dmc_merge_keeps_leaf(4, 1, false));
	/* TOP the leaf (and --depth, --into): a new leaf */
	KUNIT_EXPECT_FALSE(test, dmc_merge_keeps_leaf(4, 3, false));
	KUNIT_EXPECT_FALSE(test, dmc_merge_keeps_leaf(2, 1, false));
	KUNIT_EXPECT_FALSE(test, dmc_merge_keeps_leaf(DMC_MAX_LAYERS,
						      DMC_MAX_LAYERS - 1,
						      false));
	KUNIT_EXPECT_TRUE(test, dmc_merge_keeps_leaf(DMC_MAX_LAYERS,
						     DMC_MAX_LAYERS - 2,
						     false));
	/*
	 * A resume adds no leaf: its top source is always below the layer
	 * the journal's merge relinked or made (top + 1 < nr_layers).
	 */
	KUNIT_EXPECT_TRUE(test, dmc_merge_keeps_leaf(3, 1, true));
	KUNIT_EXPECT_TRUE(test, dmc_merge_keeps_leaf(5, 2, true));
}

/*
 * Runs merged into a raw base never write past its end, and the partial
 * last block is handed back to be copied apart.  64 KiB blocks.
 */
static void merge_raw_clip(struct kunit *test)
{
	const u64 bs = 65536, vsize = 10 * bs + 4096;
	u64 len;

	len = 2 * bs;		/* well inside: unchanged */
	KUNIT_EXPECT_EQ(test, dmc_merge_raw_clip(vsize, 16, 0, &len), 0ULL);
	KUNIT_EXPECT_EQ(test, len, 2 * bs);
	len = bs;		/* the last whole block */
	KUNIT_EXPECT_EQ(test, dmc_merge_raw_clip(vsize, 16, 9 * bs, &len), 0ULL);
	KUNIT_EXPECT_EQ(test, len, bs);
	len = 2 * bs;		/* over the end: the 4 KiB tail apart */
	KUNIT_EXPECT_EQ(test, dmc_merge_raw_clip(vsize, 16, 9 * bs, &len),
			4096ULL);
	KUNIT_EXPECT_EQ(test, len, bs);
	len = bs;		/* the partial block alone */
	KUNIT_EXPECT_EQ(test, dmc_merge_raw_clip(vsize, 16, 10 * bs, &len),
			4096ULL);
	KUNIT_EXPECT_EQ(test, len, 0ULL);
	len = bs;		/* a size of whole blocks: nothing to clip */
	KUNIT_EXPECT_EQ(test, dmc_merge_raw_clip(10 * bs, 16, 9 * bs, &len),
			0ULL);
	KUNIT_EXPECT_EQ(test, len, bs);
}

static struct kunit_case merge_cases[] = {
	KUNIT_CASE(merge_source_runs),
	KUNIT_CASE(merge_header_build),
	KUNIT_CASE(merge_journal_crash_points),
	KUNIT_CASE(merge_live_leap),
	KUNIT_CASE(merge_relink_above),
	KUNIT_CASE(merge_rel_path),
	KUNIT_CASE(merge_leaf_name),
	KUNIT_CASE(merge_leaf_suffix),
	KUNIT_CASE(merge_pick_target),
	KUNIT_CASE(merge_pick_range),
	KUNIT_CASE(merge_keeps_leaf),
	KUNIT_CASE(merge_raw_clip),
	{}
};

static struct kunit_suite merge_suite = {
	.name = "dm_chain_merge",
	.test_cases = merge_cases,
};

kunit_test_suites(&merge_suite);
