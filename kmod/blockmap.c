// SPDX-License-Identifier: GPL-2.0
/*
 * In-memory 2-bit block maps and the pure planning on top of them (which
 * layer serves a block; how a write splits into in-place and fill pieces).
 * No I/O here; see blockmap.h for the locking rules.
 */
#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <dm-chain/layer_verify.h>

#include "blockmap.h"

bool dmc_mem_allows(u64 bytes, unsigned int share)
{
	return bytes <= (u64)si_mem_available() * PAGE_SIZE / share;
}

int dmc_bm_init(struct dmc_blockmap *bm, u64 nr_blocks)
{
	u64 bytes = dmc_map_length(nr_blocks);

	memset(bm, 0, sizeof(*bm));
	spin_lock_init(&bm->lock);
	if (!nr_blocks || bytes > (u64)INT_MAX)
		return -EFBIG;
	bm->nr_blocks = nr_blocks;
	bm->bytes = bytes;
	/* A deep chain of a big disk needs maps of many MiB each. */
	bm->bits = kvzalloc(bytes, DMC_BIG_GFP);
	if (!bm->bits)
		return -ENOMEM;
	bm->dirty = bitmap_zalloc(dmc_bm_nr_pages(bm), GFP_KERNEL);
	if (!bm->dirty) {
		kvfree(bm->bits);
		bm->bits = NULL;
		return -ENOMEM;
	}
	bm->counts[DMC_BLOCK_ABSENT] = nr_blocks;
	return 0;
}

void dmc_bm_init_raw(struct dmc_blockmap *bm, u64 nr_blocks, u64 raw_blocks)
{
	memset(bm, 0, sizeof(*bm));
	spin_lock_init(&bm->lock);
	bm->nr_blocks = nr_blocks;
	bm->raw_blocks = raw_blocks;
	bm->counts[DMC_BLOCK_DATA] = min(nr_blocks, raw_blocks);
	bm->counts[DMC_BLOCK_ABSENT] = nr_blocks - bm->counts[DMC_BLOCK_DATA];
}

void dmc_bm_destroy(struct dmc_blockmap *bm)
{
	kvfree(bm->bits);
	bitmap_free(bm->dirty);
	kvfree(bm->runs);
	bm->bits = NULL;
	bm->dirty = NULL;
	bm->runs = NULL;
	bm->nr_runs = 0;
}

int dmc_bm_init_runs(struct dmc_blockmap *bm, u64 nr_blocks, u64 nr_runs)
{
	memset(bm, 0, sizeof(*bm));
	spin_lock_init(&bm->lock);
	if (!nr_blocks || nr_runs > nr_blocks)
		return -EINVAL;
	bm->nr_blocks = nr_blocks;
	bm->nr_runs = nr_runs;
	bm->counts[DMC_BLOCK_ABSENT] = nr_blocks;
	if (!nr_runs)
		nr_runs = 1;	/* an empty list: a run array all the same */
	bm->runs = kvmalloc_array(nr_runs, sizeof(*bm->runs), DMC_BIG_GFP);
	return bm->runs ? 0 : -ENOMEM;
}

void dmc_bm_runs_done(struct dmc_blockmap *bm)
{
	u64 i, first, length;
	u32 state;

	bm->counts[DMC_BLOCK_DATA] = 0;
	bm->counts[DMC_BLOCK_ZERO] = 0;
	for (i = 0; i < bm->nr_runs; i++) {
		dmc_extent_get(&bm->runs[i], &first, &length, &state);
		bm->runs[i].first = first;
		bm->runs[i].length_state = length << DMC_EXTENT_STATE_BITS | state;
		bm->counts[state & 3U] += length;
		if (!(i % (1U << 16)))
			cond_resched();
	}
	bm->counts[DMC_BLOCK_ABSENT] = bm->nr_blocks -
		bm->counts[DMC_BLOCK_DATA] - bm->counts[DMC_BLOCK_ZERO];
}

int dmc_bm_init_runs_from(struct dmc_blockmap *bm,
			  const struct dmc_blockmap *src)
{
	u64 pos = 0, n = 0, first, length;
	u32 state;
	int r;

	while (dmc_map_next_run(src->bits, src->nr_blocks, &pos, &first,
				&length, &state))
		n++;
	r = dmc_bm_init_runs(bm, src->nr_blocks, n);
	if (r)
		return r;
	pos = 0;
	n = 0;
	while (n < bm->nr_runs &&
	       dmc_map_next_run(src->bits, src->nr_blocks, &pos, &first,
				&length, &state))
		dmc_extent_put(&bm->runs[n++], first, length, state);
	dmc_bm_runs_done(bm);
	return 0;
}

/* The last run starting at or before @block, or -1. */
static s64 run_at(const struct dmc_blockmap *bm, u64 block)
{
	s64 lo = 0, hi = (s64)bm->nr_runs - 1, found = -1;

	while (lo <= hi) {
		s64 mid = lo + (hi - lo) / 2;

		if (bm->runs[mid].first <= block) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

unsigned int dmc_bm_runs_get(const struct dmc_blockmap *bm, u64 block)
{
	s64 i = run_at(bm, block);

	if (i < 0 || block - bm->runs[i].first >= dmc_run_len(&bm->runs[i]))
		return DMC_BLOCK_ABSENT;
	return dmc_run_state(&bm->runs[i]);
}

int dmc_bm_expand(struct dmc_blockmap *bm)
{
	unsigned long flags, *dirty;
	u64 bytes = dmc_map_length(bm->nr_blocks), i, b, end;
	u8 *bits;

	if (bm->bits || !bm->runs)
		return 0;
	if (bytes > (u64)INT_MAX || !dmc_mem_allows(bytes, 2))
		return -ENOMEM;
	bits = kvzalloc(bytes, DMC_BIG_GFP);
	dirty = bitmap_zalloc(bytes / DMC_MAP_PAGE_SIZE, GFP_KERNEL);
	if (!bits || !dirty) {
		kvfree(bits);
		bitmap_free(dirty);
		return -ENOMEM;
	}
	for (i = 0; i < bm->nr_runs; i++) {
		end = bm->runs[i].first + dmc_run_len(&bm->runs[i]);
		for (b = bm->runs[i].first; b < end; b++)
			dmc_map_set(bits, b, dmc_run_state(&bm->runs[i]));
		if (!(i % (1U << 12)))
			cond_resched();
	}
	spin_lock_irqsave(&bm->lock, flags);
	bm->bytes = bytes;
	bm->dirty = dirty;
	smp_store_release(&bm->bits, bits);
	spin_unlock_irqrestore(&bm->lock, flags);
	return 0;
}

u64 dmc_bm_mem_bytes(const struct dmc_blockmap *bm)
{
	u64 n = bm->runs ? max_t(u64, bm->nr_runs, 1) * sizeof(*bm->runs) : 0;

	if (bm->bits)
		n += bm->bytes + BITS_TO_LONGS(dmc_bm_nr_pages(bm)) *
			sizeof(long);
	return n;
}

/* Blocks checked between two chances to reschedule in a map scan. */
#define DMC_BM_SCAN_CHUNK	(1ULL << 20)

int dmc_bm_scan(struct dmc_blockmap *bm, u64 *bad)
{
	u64 counts[4] = { 0 };
	u64 full_bytes = bm->nr_blocks / 4;
	u64 b, end;

	/* The map rule is the shared validator's, as in chainctl. */
	for (b = 0; b < bm->nr_blocks; b = end) {
		end = min(b + DMC_BM_SCAN_CHUNK, bm->nr_blocks);
		if (dmc_verify_map(bm->bits, b, end, counts, bad))
			return -EILSEQ;
		cond_resched();
	}
	/* Entries past the last block mean nothing; keep them zero. */
	if (bm->nr_blocks % 4)
		bm->bits[full_bytes] &= (u8)((1U << (2 * (bm->nr_blocks % 4))) - 1);
	if (bm->bytes > full_bytes + !!(bm->nr_blocks % 4))
		memset(bm->bits + full_bytes + !!(bm->nr_blocks % 4), 0,
		       bm->bytes - full_bytes - !!(bm->nr_blocks % 4));
	memcpy(bm->counts, counts, sizeof(counts));
	return 0;
}

u64 dmc_bm_set_range(struct dmc_blockmap *bm, u64 start, u64 count,
		     unsigned int state)
{
	unsigned long flags;
	u64 end, b, changed = 0;

	/* A map held by runs is read-only until dmc_bm_expand(). */
	if (WARN_ON_ONCE(!bm->bits && bm->runs))
		return 0;
	if (!bm->bits || start >= bm->nr_blocks)
		return 0;
	end = min(start + count, bm->nr_blocks);
	state &= 3U;

	spin_lock_irqsave(&bm->lock, flags);
	for (b = start; b < end; b++) {
		unsigned int old = dmc_map_get(bm->bits, b);
		unsigned int shift = 2 * (b % 4);
		u8 v;

		if (old == state)
			continue;
		v = (bm->bits[b / 4] & ~(3U << shift)) | (state << shift);
		WRITE_ONCE(bm->bits[b / 4], v);
		bm->counts[old]--;
		bm->counts[state]++;
		__set_bit(b / DMC_BLOCKS_PER_MAP_PAGE, bm->dirty);
		changed++;
	}
	spin_unlock_irqrestore(&bm->lock, flags);
	return changed;
}

/* dmc_bm_run() of a map held by runs: one bisection. */
static u64 runs_run(const struct dmc_blockmap *bm, u64 start, u64 max)
{
	s64 i = run_at(bm, start);
	u64 end;

	if (i >= 0 && start - bm->runs[i].first < dmc_run_len(&bm->runs[i]))
		end = bm->runs[i].first + dmc_run_len(&bm->runs[i]);
	else if (i + 1 < (s64)bm->nr_runs)
		end = bm->runs[i + 1].first;	/* ABSENT up to the next */
	else
		end = U64_MAX;			/* ABSENT to the end and past */
	/* Touching runs differ in state (the list's rule): the run ends. */
	return min(max, end - start);
}

u64 dmc_bm_run(const struct dmc_blockmap *bm, u64 start, u64 max)
{
	unsigned int st;
	u64 n = 1;

	if (dmc_bm_by_runs(bm))
		return max ? max_t(u64, runs_run(bm, start, max), 1) : 1;
	st = dmc_bm_get(bm, start);

	while (n < max && dmc_bm_get(bm, start + n) == st)
		n++;
	return n;
}

void dmc_bm_counts(struct dmc_blockmap *bm, u64 counts[4])
{
	unsigned long flags;

	spin_lock_irqsave(&bm->lock, flags);
	memcpy(counts, bm->counts, sizeof(bm->counts));
	spin_unlock_irqrestore(&bm->lock, flags);
}

bool dmc_bm_any_dirty(struct dmc_blockmap *bm)
{
	unsigned long flags;
	bool any;

	if (!bm->dirty)
		return false;
	spin_lock_irqsave(&bm->lock, flags);
	any = find_first_bit(bm->dirty, dmc_bm_nr_pages(bm)) <
	      dmc_bm_nr_pages(bm);
	spin_unlock_irqrestore(&bm->lock, flags);
	return any;
}

unsigned long dmc_bm_nr_dirty(struct dmc_blockmap *bm)
{
	unsigned long flags, n;

	if (!bm->dirty)
		return 0;
	spin_lock_irqsave(&bm->lock, flags);
	n = bitmap_weight(bm->dirty, dmc_bm_nr_pages(bm));
	spin_unlock_irqrestore(&bm->lock, flags);
	return n;
}

bool dmc_bm_take_dirty(struct dmc_blockmap *bm, unsigned long *idx,
		       void *dst)
{
	unsigned long flags, i;

	if (!bm->dirty)
		return false;
	spin_lock_irqsave(&bm->lock, flags);
	i = find_next_bit(bm->dirty, dmc_bm_nr_pages(bm), *idx);
	if (i < dmc_bm_nr_pages(bm)) {
		__clear_bit(i, bm->dirty);
		memcpy(dst, bm->bits + i * DMC_MAP_PAGE_SIZE,
		       DMC_MAP_PAGE_SIZE);
	}
	spin_unlock_irqrestore(&bm->lock, flags);
	*idx = i;
	return i < dmc_bm_nr_pages(bm);
}

unsigned int dmc_bm_take_batch(struct dmc_blockmap *bm,
			       unsigned long *cursor, void *dst,
			       unsigned long *pages, unsigned int max)
{
	unsigned long next = *cursor;
	unsigned int n = 0;

	while (n < max &&
	       dmc_bm_take_dirty(bm, &next, dst + n * DMC_MAP_PAGE_SIZE)) {
		pages[n++] = next;
		next++;
	}
	*cursor = next;
	return n;
}

void dmc_bm_redirty(struct dmc_blockmap *bm, unsigned long idx)
{
	unsigned long flags;

	spin_lock_irqsave(&bm->lock, flags);
	__set_bit(idx, bm->dirty);
	spin_unlock_irqrestore(&bm->lock, flags);
}

int dmc_walk(const struct dmc_blockmap *const *maps, unsigned int lo,
	     unsigned int nr, u64 block)
{
	int i;

	for (i = (int)nr - 1; i >= (int)lo; i--) {
		switch (dmc_bm_get(maps[i], block)) {
		case DMC_BLOCK_DATA:
			return i;
		case DMC_BLOCK_ZERO:
			return DMC_SRC_ZERO;
		default:
			break;
		}
	}
	return DMC_SRC_ABSENT;
}

int dmc_resolve(const struct dmc_blockmap *const *maps, unsigned int nr,
		u64 block)
{
	int src = dmc_walk(maps, 0, nr, block);

	/* Below the base, absent blocks read as zeros. */
	return src == DMC_SRC_ABSENT ? DMC_SRC_ZERO : src;
}

u64 dmc_resolve_run(const struct dmc_blockmap *const *maps, unsigned int nr,
		    u64 start, u64 max, int *src)
{
	u64 n = 1;

	*src = dmc_resolve(maps, nr, start);
	/* Fast path: a single layer needs no per-layer walk. */
	if (nr == 1 && *src != DMC_SRC_ZERO)
		return dmc_bm_run(maps[0], start, max);
	while (n < max && dmc_resolve(maps, nr, start + n) == *src)
		n++;
	return n;
}

void dmc_plan_write(const struct dmc_blockmap *leaf, unsigned int block_shift,
		    u64 dev_size, u64 pos, u64 len,
		    struct dmc_write_piece *piece)
{
	u64 bsize = 1ULL << block_shift;
	u64 end = pos + len;
	u64 b = pos >> block_shift;
	u64 bstart = b << block_shift;
	u64 bend = min(bstart + bsize, dev_size);
	bool whole = pos == bstart && end >= bend;

	piece->first_block = b;
	if (dmc_bm_get(leaf, b) != DMC_BLOCK_DATA && !whole) {
		piece->kind = DMC_WRITE_FILL;
		piece->len = min(end, bend) - pos;
		piece->nr_blocks = 1;
		return;
	}

	piece->kind = DMC_WRITE_DIRECT;
	for (;;) {
		b++;
		bstart = b << block_shift;
		if (bstart >= end)
			break;
		bend = min(bstart + bsize, dev_size);
		if (end < bend && dmc_bm_get(leaf, b) != DMC_BLOCK_DATA)
			break;
	}
	piece->nr_blocks = b - piece->first_block;
	piece->len = min(end, bstart) - pos;
}

u64 dmc_source_run(const struct dmc_blockmap *const *maps, unsigned int nr,
		   u64 start, u64 max, int *src)
{
	u64 n = 1;

	*src = dmc_walk(maps, 0, nr, start);
	if (nr == 1)
		return dmc_bm_run(maps[0], start, max);
	while (n < max && dmc_walk(maps, 0, nr, start + n) == *src)
		n++;
	return n;
}
