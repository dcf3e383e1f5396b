/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The read index: which layer serves each block of a chain's lower
 * layers, resolved once, so that a read looks at the few layers above the
 * index and then one entry, however deep the chain is.  Without it a read
 * walks every layer's map from the leaf down (dmc_resolve()), a cost that
 * grows with the depth.
 *
 * The index covers layers [0, covered) of a layer list; it is built from
 * their maps, which must not change the chain's view meanwhile (a live
 * merge's target may gain blocks: its sources, higher up, shadow them).
 * One 16-bit entry per block: the serving layer, or DMC_VIEW_ZERO (a ZERO
 * entry, or no layer below the covered ones holds the block).  Pure
 * planning: no I/O, no locks; the caller swaps it with the layer list.
 */
#ifndef DM_CHAIN_VIEW_H
#define DM_CHAIN_VIEW_H

#include <linux/types.h>

#include "blockmap.h"

#define DMC_VIEW_ZERO	0xffffU

struct dmc_view {
	u64 nr_blocks;
	unsigned int covered;		/* layers [0, covered) */
	u16 *src;			/* nr_blocks entries */
};

/*
 * Index layers [0, @covered) of @maps (all of @nr_blocks blocks).  NULL
 * when memory is short (the index is an optimisation: reads then walk)
 * or @covered exceeds what an entry can name.  May sleep.
 */
struct dmc_view *dmc_view_build(const struct dmc_blockmap *const *maps,
				unsigned int covered, u64 nr_blocks);
void dmc_view_free(struct dmc_view *v);

/* Bytes of memory @v holds (0 for NULL). */
u64 dmc_view_mem_bytes(const struct dmc_view *v);

/*
 * dmc_resolve() and dmc_resolve_run() over the list @maps of @nr layers
 * (base first) whose layers [0, v->covered) @v indexes: the layers
 * above are walked, then the index answers.  @v may be NULL (walk all);
 * v->covered must not exceed @nr.
 */
int dmc_view_resolve(const struct dmc_view *v,
		     const struct dmc_blockmap *const *maps, unsigned int nr,
		     u64 block);
u64 dmc_view_resolve_run(const struct dmc_view *v,
			 const struct dmc_blockmap *const *maps,
			 unsigned int nr, u64 start, u64 max, int *src);

#endif /* DM_CHAIN_VIEW_H */
