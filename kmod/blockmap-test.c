// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: in-memory block maps (dm_chain_blockmap) and the splitting of a
 * bio range into per-layer and per-block pieces (dm_chain_split).
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "blockmap.h"

/* Build a map from a string, one character a block: . D Z (absent,
 * data, zero).
 */
static void bm_from_string(struct kunit *test, struct dmc_blockmap *bm,
			   const char *s)
{
	u64 i, n = strlen(s);

	KUNIT_ASSERT_EQ(test, dmc_bm_init(bm, n), 0);
	for (i = 0; i < n; i++) {
		unsigned int st = s[i] == 'D' ? DMC_BLOCK_DATA :
				  s[i] == 'Z' ? DMC_BLOCK_ZERO :
						DMC_BLOCK_ABSENT;

		dmc_bm_set_range(bm, i, 1, st);
	}
}

static void blockmap_get_set_counts(struct kunit *test)
{
	struct dmc_blockmap bm;
	u64 counts[4];

	/* Arrange */
	KUNIT_ASSERT_EQ(test, dmc_bm_init(&bm, 10), 0);

	/* Act */
	KUNIT_EXPECT_EQ(test, dmc_bm_set_range(&bm, 2, 5, DMC_BLOCK_DATA), 5ULL);
	KUNIT_EXPECT_EQ(test, dmc_bm_set_range(&bm, 4, 2, DMC_BLOCK_DATA), 0ULL);
	KUNIT_EXPECT_EQ(test, dmc_bm_set_range(&bm, 6, 10, DMC_BLOCK_ZERO), 4ULL);

	/* Assert */
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 0), DMC_BLOCK_ABSENT);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 2), DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 5), DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 6), DMC_BLOCK_ZERO);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 9), DMC_BLOCK_ZERO);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 10), DMC_BLOCK_ABSENT);
	dmc_bm_counts(&bm, counts);
	KUNIT_EXPECT_EQ(test, counts[DMC_BLOCK_ABSENT], 2ULL);
	KUNIT_EXPECT_EQ(test, counts[DMC_BLOCK_DATA], 4ULL);
	KUNIT_EXPECT_EQ(test, counts[DMC_BLOCK_ZERO], 4ULL);
	/* Same encoding as the on-disk helpers of format.h. */
	KUNIT_EXPECT_EQ(test, dmc_map_get(bm.bits, 3), DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_map_get(bm.bits, 7), DMC_BLOCK_ZERO);
	dmc_bm_destroy(&bm);
}

static void blockmap_raw(struct kunit *test)
{
	struct dmc_blockmap bm;
	u64 counts[4];

	dmc_bm_init_raw(&bm, 8, 5);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 0), DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 4), DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&bm, 5), DMC_BLOCK_ABSENT);
	KUNIT_EXPECT_EQ(test, dmc_bm_set_range(&bm, 0, 8, DMC_BLOCK_ZERO), 0ULL);
	dmc_bm_counts(&bm, counts);
	KUNIT_EXPECT_EQ(test, counts[DMC_BLOCK_DATA], 5ULL);
	dmc_bm_destroy(&bm);
}

static void blockmap_scan(struct kunit *test)
{
	struct dmc_blockmap bm;
	u64 bad = 0;

	KUNIT_ASSERT_EQ(test, dmc_bm_init(&bm, 9), 0);
	/* 9 blocks: bytes 0, 1 full, byte 2 holds block 8 and padding. */
	bm.bits[0] = 0x41;		/* D . . D */
	bm.bits[1] = 0x22;		/* Z . Z . */
	bm.bits[2] = 0xfd;		/* D, then padding that must be ignored */
	bm.bits[100] = 0xff;		/* past the last block */
	KUNIT_EXPECT_EQ(test, dmc_bm_scan(&bm, &bad), 0);
	KUNIT_EXPECT_EQ(test, bm.counts[DMC_BLOCK_DATA], 3ULL);
	KUNIT_EXPECT_EQ(test, bm.counts[DMC_BLOCK_ZERO], 2ULL);
	KUNIT_EXPECT_EQ(test, bm.counts[DMC_BLOCK_ABSENT], 4ULL);
	KUNIT_EXPECT_EQ(test, bm.bits[2], 0x01);
	KUNIT_EXPECT_EQ(test, bm.bits[100], 0x00);

	bm.bits[1] = 0x30;		/* block 6 INVALID */
	KUNIT_EXPECT_EQ(test, dmc_bm_scan(&bm, &bad), -EILSEQ);
	KUNIT_EXPECT_EQ(test, bad, 6ULL);
	dmc_bm_destroy(&bm);
}

static void blockmap_dirty_pages(struct kunit *test)
{
	struct dmc_blockmap bm;
	unsigned long idx = 0;
	u8 *page;

	page = kunit_kzalloc(test, DMC_MAP_PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_EQ(test, dmc_bm_init(&bm, 3 * DMC_BLOCKS_PER_MAP_PAGE), 0);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_pages(&bm), 3UL);
	KUNIT_EXPECT_FALSE(test, dmc_bm_any_dirty(&bm));

	/* A range straddling pages 0 and 1; then page 2. */
	dmc_bm_set_range(&bm, DMC_BLOCKS_PER_MAP_PAGE - 1, 2, DMC_BLOCK_DATA);
	dmc_bm_set_range(&bm, 2 * DMC_BLOCKS_PER_MAP_PAGE, 1, DMC_BLOCK_ZERO);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(&bm), 3UL);

	KUNIT_EXPECT_TRUE(test, dmc_bm_take_dirty(&bm, &idx, page));
	KUNIT_EXPECT_EQ(test, idx, 0UL);
	KUNIT_EXPECT_EQ(test, page[DMC_MAP_PAGE_SIZE - 1], 0x40);
	idx++;
	KUNIT_EXPECT_TRUE(test, dmc_bm_take_dirty(&bm, &idx, page));
	KUNIT_EXPECT_EQ(test, idx, 1UL);
	KUNIT_EXPECT_EQ(test, page[0], 0x01);
	idx++;
	KUNIT_EXPECT_TRUE(test, dmc_bm_take_dirty(&bm, &idx, page));
	KUNIT_EXPECT_EQ(test, idx, 2UL);
	KUNIT_EXPECT_EQ(test, page[0], 0x02);
	idx++;
	KUNIT_EXPECT_FALSE(test, dmc_bm_take_dirty(&bm, &idx, page));
	KUNIT_EXPECT_FALSE(test, dmc_bm_any_dirty(&bm));

	/* A failed write puts a page back. */
	dmc_bm_redirty(&bm, 1);
	idx = 0;
	KUNIT_EXPECT_TRUE(test, dmc_bm_take_dirty(&bm, &idx, page));
	KUNIT_EXPECT_EQ(test, idx, 1UL);
	/* Setting a block to its current state dirties nothing. */
	dmc_bm_set_range(&bm, 0, 1, DMC_BLOCK_ABSENT);
	KUNIT_EXPECT_FALSE(test, dmc_bm_any_dirty(&bm));
	dmc_bm_destroy(&bm);
}

/* ---- dm_chain_split: resolution across layers ---- */

#define MAX_TEST_LAYERS 4

struct resolve_case {
	const char *name;
	const char *layers[MAX_TEST_LAYERS];	/* base first */
	unsigned int nr;
	const char *want;	/* per block: layer index digit or 'z' */
};

static const struct resolve_case resolve_cases[] = {
	{ "single layer", { "D.Z." }, 1, "0zzz" },
	{ "leaf wins", { "DDDD", ".D.D" }, 2, "0101" },
	{ "zero in leaf hides data below", { "DDDD", "Z..Z" }, 2, "z00z" },
	{ "zero in the middle", { "DDDD", "ZZ..", "D..." }, 3, "2z00" },
	{ "absent everywhere reads zero", { "....", "....", "...." }, 3, "zzzz" },
	{ "depth 4", { "DDDD", ".D..", "..D.", "...D" }, 4, "0123" },
};

static void resolve_case_desc(const struct resolve_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(resolve, resolve_cases, resolve_case_desc);

static void split_resolve(struct kunit *test)
{
	const struct resolve_case *c = test->param_value;
	struct dmc_blockmap bms[MAX_TEST_LAYERS];
	const struct dmc_blockmap *maps[MAX_TEST_LAYERS];
	u64 b, n = strlen(c->want);
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		bm_from_string(test, &bms[i], c->layers[i]);
		maps[i] = &bms[i];
	}
	for (b = 0; b < n; b++) {
		int src = dmc_resolve(maps, c->nr, b);
		char got = src == DMC_SRC_ZERO ? 'z' : '0' + src;

		KUNIT_EXPECT_EQ_MSG(test, got, c->want[b], "block %llu", b);
	}
	for (i = 0; i < c->nr; i++)
		dmc_bm_destroy(&bms[i]);
}

struct run_case {
	const char *name;
	const char *layers[MAX_TEST_LAYERS];
	unsigned int nr;
	u64 start, max;
	u64 want_len;
	int want_src;
};

static const struct run_case run_cases[] = {
	{ "whole range one layer", { "DDDD" }, 1, 0, 4, 4, 0 },
	{ "stops at max", { "DDDD" }, 1, 1, 2, 2, 0 },
	{ "stops at a change", { "DDZD" }, 1, 0, 4, 2, 0 },
	{ "zero run merges zero and absent", { "D.Z.D" }, 1, 1, 4, 3, DMC_SRC_ZERO },
	{ "run across layers", { "DD..", "..DD" }, 2, 0, 4, 2, 0 },
	{ "leaf run", { "DD..", "..DD" }, 2, 2, 2, 2, 1 },
	{ "zero hides below", { "DDDD", "ZZ.." }, 2, 0, 4, 2, DMC_SRC_ZERO },
	{ "max one", { "D.D" }, 1, 0, 1, 1, 0 },
};

static void run_case_desc(const struct run_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(run, run_cases, run_case_desc);

static void split_resolve_run(struct kunit *test)
{
	const struct run_case *c = test->param_value;
	struct dmc_blockmap bms[MAX_TEST_LAYERS];
	const struct dmc_blockmap *maps[MAX_TEST_LAYERS];
	unsigned int i;
	int src;
	u64 n;

	for (i = 0; i < c->nr; i++) {
		bm_from_string(test, &bms[i], c->layers[i]);
		maps[i] = &bms[i];
	}
	n = dmc_resolve_run(maps, c->nr, c->start, c->max, &src);
	KUNIT_EXPECT_EQ(test, n, c->want_len);
	KUNIT_EXPECT_EQ(test, src, c->want_src);
	for (i = 0; i < c->nr; i++)
		dmc_bm_destroy(&bms[i]);
}

/* Write planning with 4 KiB blocks (shift 12). */
struct write_case {
	const char *name;
	const char *leaf;
	u64 dev_size;
	u64 pos, len;
	enum dmc_write_kind kind;
	u64 want_len, first, nr;
};

#define K4 4096ULL

static const struct write_case write_cases[] = {
	{ "whole block absent", "....", 4 * K4, 0, K4, DMC_WRITE_DIRECT, K4, 0, 1 },
	{ "partial block absent", "....", 4 * K4, 512, 1024, DMC_WRITE_FILL, 1024, 0, 1 },
	{ "partial block data", "D...", 4 * K4, 512, 1024, DMC_WRITE_DIRECT, 1024, 0, 1 },
	{ "partial block zero needs fill", "Z...", 4 * K4, 0, 512, DMC_WRITE_FILL, 512, 0, 1 },
	{ "fill piece stops at block end", "....", 4 * K4, 2048, K4, DMC_WRITE_FILL, 2048, 0, 1 },
	{ "data head then whole blocks", "D...", 4 * K4, 2048, 2048 + 2 * K4, DMC_WRITE_DIRECT, 2048 + 2 * K4, 0, 3 },
	{ "whole blocks then partial absent tail", "....", 4 * K4, 0, 2 * K4 + 512, DMC_WRITE_DIRECT, 2 * K4, 0, 2 },
	{ "whole blocks then partial data tail", "..D.", 4 * K4, 0, 2 * K4 + 512, DMC_WRITE_DIRECT, 2 * K4 + 512, 0, 3 },
	{ "short last block is whole", "....", 3 * K4 + 1024, 3 * K4, 1024, DMC_WRITE_DIRECT, 1024, 3, 1 },
	{ "short last block, partial", "....", 3 * K4 + 1024, 3 * K4, 512, DMC_WRITE_FILL, 512, 3, 1 },
	{ "unaligned start in absent block", "....", 4 * K4, K4 + 512, 3 * K4, DMC_WRITE_FILL, K4 - 512, 1, 1 },
	{ "all data, long", "DDDD", 4 * K4, 512, 4 * K4 - 1024, DMC_WRITE_DIRECT, 4 * K4 - 1024, 0, 4 },
};

static void write_case_desc(const struct write_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(write, write_cases, write_case_desc);

static void split_plan_write(struct kunit *test)
{
	const struct write_case *c = test->param_value;
	struct dmc_write_piece piece;
	struct dmc_blockmap bm;

	bm_from_string(test, &bm, c->leaf);
	dmc_plan_write(&bm, 12, c->dev_size, c->pos, c->len, &piece);
	KUNIT_EXPECT_EQ(test, piece.kind, c->kind);
	KUNIT_EXPECT_EQ(test, piece.len, c->want_len);
	KUNIT_EXPECT_EQ(test, piece.first_block, c->first);
	KUNIT_EXPECT_EQ(test, piece.nr_blocks, c->nr);
	dmc_bm_destroy(&bm);
}

/* Cutting a whole bio into pieces covers it exactly, in order. */
static void split_pieces_cover_range(struct kunit *test)
{
	struct dmc_write_piece piece;
	struct dmc_blockmap bm;
	u64 pos = 1536, end = 9 * K4 + 512, pieces = 0;

	bm_from_string(test, &bm, ".D.Z.DD...");
	while (pos < end) {
		dmc_plan_write(&bm, 12, 10 * K4, pos, end - pos, &piece);
		KUNIT_ASSERT_GT(test, piece.len, 0ULL);
		KUNIT_ASSERT_LE(test, pos + piece.len, end);
		KUNIT_EXPECT_EQ(test, piece.first_block, pos >> 12);
		if (piece.kind == DMC_WRITE_FILL)
			KUNIT_EXPECT_EQ(test, (pos + piece.len - 1) >> 12,
					pos >> 12);
		/* As the target does: the blocks become DATA. */
		dmc_bm_set_range(&bm, piece.first_block, piece.nr_blocks,
				 DMC_BLOCK_DATA);
		pos += piece.len;
		pieces++;
	}
	KUNIT_EXPECT_EQ(test, pos, end);
	KUNIT_EXPECT_LE(test, pieces, 10ULL);
	dmc_bm_destroy(&bm);
}

/*
 * A commit walks the dirty pages in batches while writes keep dirtying
 * pages behind it (issue 15 item 1): every page dirty when the walk
 * started must be taken, however many pages are re-dirtied at low
 * indexes between batches, and the walk must end.
 */
#define WALK_PAGES	200UL
#define WALK_BATCH	64U

static void blockmap_dirty_walk(struct kunit *test)
{
	unsigned long cursor = 0, pages[WALK_BATCH], i;
	unsigned long *taken;
	unsigned int n, batches = 0;
	struct dmc_blockmap bm;
	u8 *buf;

	/* Arrange: every page dirty (one block set in each). */
	buf = kunit_kzalloc(test, WALK_BATCH * DMC_MAP_PAGE_SIZE, GFP_KERNEL);
	taken = kunit_kzalloc(test, BITS_TO_LONGS(WALK_PAGES) * sizeof(long),
			      GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, taken);
	KUNIT_ASSERT_EQ(test, dmc_bm_init(&bm, WALK_PAGES *
					  DMC_BLOCKS_PER_MAP_PAGE), 0);
	for (i = 0; i < WALK_PAGES; i++)
		dmc_bm_set_range(&bm, i * DMC_BLOCKS_PER_MAP_PAGE + 7, 1,
				 DMC_BLOCK_DATA);
	KUNIT_ASSERT_EQ(test, dmc_bm_nr_dirty(&bm), WALK_PAGES);

	/* Act: between batches, writes dirty pages 0..19 again. */
	while ((n = dmc_bm_take_batch(&bm, &cursor, buf, pages,
				      WALK_BATCH))) {
		batches++;
		KUNIT_ASSERT_LE(test, batches, 10U);
		for (i = 0; i < n; i++)
			__set_bit(pages[i], taken);
		for (i = 0; i < 20; i++)
			dmc_bm_set_range(&bm, i * DMC_BLOCKS_PER_MAP_PAGE +
					 batches + 8, 1, DMC_BLOCK_DATA);
	}

	/* Assert: one pass took all 200; the re-dirtied pages wait. */
	KUNIT_EXPECT_EQ(test, bitmap_weight(taken, WALK_PAGES), WALK_PAGES);
	KUNIT_EXPECT_EQ(test, batches, 4U);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(&bm), 20UL);
	/* The copies are the map as it was when taken. */
	KUNIT_EXPECT_EQ(test, buf[(7 / 4)], 0x01 << (2 * (7 % 4)));
	dmc_bm_destroy(&bm);
}

/*
 * A map held by its runs (a read-only layer with an extent list) answers
 * as the 2-bit map it came from: every entry, runs from random blocks of
 * random lengths, the counts, the memory it holds, and after
 * dmc_bm_expand() its 2-bit entries are the original's.
 */
static void blockmap_runs_match_bits(struct kunit *test)
{
	struct dmc_blockmap bm, rm;
	u64 nr, b, len, k, start, max, c1[4], c2[4];
	struct rnd_state rs;
	unsigned int round;

	prandom_seed_state(&rs, 42);
	for (round = 0; round < 40; round++) {
		nr = 1 + prandom_u32_state(&rs) % (round % 5 ? 500 : 40000);
		KUNIT_ASSERT_EQ(test, dmc_bm_init(&bm, nr), 0);
		for (b = 0; b < nr; b += len) {
			u32 r = prandom_u32_state(&rs);

			len = 1 + r % (round % 2 ? 9 : 300);
			dmc_bm_set_range(&bm, b, len, (r >> 12) % 3);
		}
		KUNIT_ASSERT_EQ(test, dmc_bm_init_runs_from(&rm, &bm), 0);
		KUNIT_EXPECT_NULL(test, rm.bits);
		for (b = 0; b < nr + 5; b++)
			KUNIT_EXPECT_EQ_MSG(test, dmc_bm_get(&rm, b),
					    dmc_bm_get(&bm, b), "block %llu", b);
		for (k = 0; k < 200; k++) {
			start = prandom_u32_state(&rs) % (nr + 3);
			max = 1 + prandom_u32_state(&rs) % 400;
			KUNIT_EXPECT_EQ_MSG(test, dmc_bm_run(&rm, start, max),
					    dmc_bm_run(&bm, start, max),
					    "run from %llu, at most %llu", start,
					    max);
		}
		dmc_bm_counts(&bm, c1);
		dmc_bm_counts(&rm, c2);
		KUNIT_EXPECT_EQ(test, c2[DMC_BLOCK_ABSENT], c1[DMC_BLOCK_ABSENT]);
		KUNIT_EXPECT_EQ(test, c2[DMC_BLOCK_DATA], c1[DMC_BLOCK_DATA]);
		KUNIT_EXPECT_EQ(test, c2[DMC_BLOCK_ZERO], c1[DMC_BLOCK_ZERO]);
		KUNIT_EXPECT_EQ(test, dmc_bm_mem_bytes(&rm),
				max_t(u64, rm.nr_runs, 1) * sizeof(struct dmc_run));
		KUNIT_EXPECT_FALSE(test, dmc_bm_any_dirty(&rm));
		KUNIT_ASSERT_EQ(test, dmc_bm_expand(&rm), 0);
		KUNIT_ASSERT_NOT_NULL(test, rm.bits);
		KUNIT_EXPECT_EQ(test, memcmp(rm.bits, bm.bits, bm.bytes), 0);
		KUNIT_EXPECT_FALSE(test, dmc_bm_any_dirty(&rm));
		/* Now it takes writes, as the 2-bit map does. */
		KUNIT_EXPECT_EQ(test, dmc_bm_set_range(&rm, 0, 1, DMC_BLOCK_ZERO),
				dmc_bm_set_range(&bm, 0, 1, DMC_BLOCK_ZERO));
		KUNIT_EXPECT_EQ(test, dmc_bm_get(&rm, 0), DMC_BLOCK_ZERO);
		dmc_bm_destroy(&rm);
		dmc_bm_destroy(&bm);
	}
}

/* An empty list: one run array, no runs, every block ABSENT. */
static void blockmap_runs_empty(struct kunit *test)
{
	struct dmc_blockmap bm, rm;
	u64 counts[4];

	KUNIT_ASSERT_EQ(test, dmc_bm_init(&bm, 100), 0);
	KUNIT_ASSERT_EQ(test, dmc_bm_init_runs_from(&rm, &bm), 0);
	KUNIT_EXPECT_EQ(test, rm.nr_runs, 0ULL);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(&rm, 0), DMC_BLOCK_ABSENT);
	KUNIT_EXPECT_EQ(test, dmc_bm_run(&rm, 10, 50), 50ULL);
	dmc_bm_counts(&rm, counts);
	KUNIT_EXPECT_EQ(test, counts[DMC_BLOCK_ABSENT], 100ULL);
	dmc_bm_destroy(&rm);
	dmc_bm_destroy(&bm);
}

static struct kunit_case blockmap_cases[] = {
	KUNIT_CASE(blockmap_get_set_counts),
	KUNIT_CASE(blockmap_raw),
	KUNIT_CASE(blockmap_scan),
	KUNIT_CASE(blockmap_dirty_pages),
	KUNIT_CASE(blockmap_dirty_walk),
	KUNIT_CASE(blockmap_runs_match_bits),
	KUNIT_CASE(blockmap_runs_empty),
	{}
};

static struct kunit_suite blockmap_suite = {
	.name = "dm_chain_blockmap",
	.test_cases = blockmap_cases,
};

static struct kunit_case split_cases[] = {
	KUNIT_CASE_PARAM(split_resolve, resolve_gen_params),
	KUNIT_CASE_PARAM(split_resolve_run, run_gen_params),
	KUNIT_CASE_PARAM(split_plan_write, write_gen_params),
	KUNIT_CASE(split_pieces_cover_range),
	{}
};

static struct kunit_suite split_suite = {
	.name = "dm_chain_split",
	.test_cases = split_cases,
};

kunit_test_suites(&blockmap_suite, &split_suite);
