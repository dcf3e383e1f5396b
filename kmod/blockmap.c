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
	bm->bits = NULL;
	bm->dirty = NULL;
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

u64 dmc_bm_run(const struct dmc_blockmap *bm, u64 start, u64 max)
{
	unsigned int st = dmc_bm_get(bm, start);
	u64 n = 1;

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
