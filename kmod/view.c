// SPDX-License-Identifier: GPL-2.0
/*
 * The read index of a chain's lower layers (see view.h): built by
 * painting the layers' maps bottom up, each layer's DATA and ZERO entries
 * over what lies below, so that an entry ends up naming the topmost
 * covered layer that holds its block.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "view.h"

/* Map words (32 blocks each) painted between two chances to reschedule. */
#define DMC_VIEW_PAINT_CHUNK	(1UL << 16)

/* Paint a map held by its runs: one fill per run. */
static void paint_runs(struct dmc_view *v, const struct dmc_blockmap *bm,
		       u16 i)
{
	const struct dmc_run *r;
	u64 k, length;

	for (k = 0; k < bm->nr_runs; k++) {
		r = &bm->runs[k];
		if (r->first >= v->nr_blocks)
			break;
		length = min(dmc_run_len(r), v->nr_blocks - r->first);
		memset16(v->src + r->first,
			 dmc_run_state(r) == DMC_BLOCK_DATA ? i : DMC_VIEW_ZERO,
			 length);
		if (!(k % DMC_VIEW_PAINT_CHUNK))
			cond_resched();
	}
}

/*
 * Paint layer @i's map over @v: 32 entries per 64-bit word of the map, or
 * one fill per run of a map held by runs.
 */
static void paint(struct dmc_view *v, const struct dmc_blockmap *bm, u16 i)
{
	const __le64 *words = (const __le64 *)smp_load_acquire(&bm->bits);
	/* A chain's maps are all this long; past a map's end is ABSENT. */
	u64 nr_words = DIV_ROUND_UP(min(bm->nr_blocks, v->nr_blocks), 32);
	unsigned int k;
	u64 w, b;

	if (!words && bm->runs) {
		paint_runs(v, bm, i);
		return;
	}
	if (!words) {
		/* A raw image: every block it covers is DATA. */
		memset16(v->src, i, min(bm->raw_blocks, v->nr_blocks));
		return;
	}
	for (w = 0; w < nr_words; w++) {
		/* A live merge's target may change meanwhile: see view.h. */
		u64 x = le64_to_cpu(READ_ONCE(words[w]));

		if (!(w % DMC_VIEW_PAINT_CHUNK))
			cond_resched();
		for (k = 0; x; k++, x >>= 2) {
			b = w * 32 + k;
			if (b >= v->nr_blocks || b >= bm->nr_blocks)
				break;
			switch (x & 3U) {
			case DMC_BLOCK_DATA:
				v->src[b] = i;
				break;
			case DMC_BLOCK_ZERO:
				v->src[b] = DMC_VIEW_ZERO;
				break;
			default:
				break;
			}
		}
	}
}

struct dmc_view *dmc_view_build(const struct dmc_blockmap *const *maps,
				unsigned int covered, u64 nr_blocks)
{
	struct dmc_view *v;
	unsigned int i;

	if (covered >= DMC_VIEW_ZERO || !nr_blocks ||
	    nr_blocks > SIZE_MAX / sizeof(*v->src))
		return NULL;
	/* An optimisation: never at the price of a quarter of the memory. */
	if (!dmc_mem_allows(nr_blocks * sizeof(*v->src), 4))
		return NULL;
	v = kzalloc(sizeof(*v), DMC_BIG_GFP);
	if (!v)
		return NULL;
	v->src = kvmalloc_array(nr_blocks, sizeof(*v->src), DMC_BIG_GFP);
	if (!v->src) {
		kfree(v);
		return NULL;
	}
	v->nr_blocks = nr_blocks;
	v->covered = covered;
	memset(v->src, 0xff, nr_blocks * sizeof(*v->src));	/* ZERO */
	for (i = 0; i < covered; i++) {
		paint(v, maps[i], i);
		cond_resched();
	}
	return v;
}

void dmc_view_free(struct dmc_view *v)
{
	if (!v)
		return;
	kvfree(v->src);
	kfree(v);
}

u64 dmc_view_mem_bytes(const struct dmc_view *v)
{
	return v ? sizeof(*v) + v->nr_blocks * sizeof(*v->src) : 0;
}

int dmc_view_resolve(const struct dmc_view *v,
		     const struct dmc_blockmap *const *maps, unsigned int nr,
		     u64 block)
{
	unsigned int lo = v ? v->covered : 0;
	int src = dmc_walk(maps, lo, nr, block);

	if (src != DMC_SRC_ABSENT)
		return src;
	if (!lo || block >= v->nr_blocks || v->src[block] == DMC_VIEW_ZERO)
		return DMC_SRC_ZERO;
	return v->src[block];
}

u64 dmc_view_resolve_run(const struct dmc_view *v,
			 const struct dmc_blockmap *const *maps,
			 unsigned int nr, u64 start, u64 max, int *src)
{
	u64 n = 1;

	if (!v)
		return dmc_resolve_run(maps, nr, start, max, src);
	*src = dmc_view_resolve(v, maps, nr, start);
	while (n < max && dmc_view_resolve(v, maps, nr, start + n) == *src)
		n++;
	return n;
}
