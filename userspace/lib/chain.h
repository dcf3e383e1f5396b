/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A chain opened from its leaf: layers[0] is the leaf (depth 1),
 * layers[nr - 1] the base (a layer with no parent, or a raw image).
 * Opening follows each parent path hint and validates every link
 * (docs/format.md, "Linkage"), so an open chain is one whose view is sound.
 * A parent the child records as raw (DMC_PARENT_RAW) is opened as a raw
 * image (LAYER_RAW) whatever its bytes look like, and ends the chain.
 */
#ifndef DMC_CHAIN_H
#define DMC_CHAIN_H

#include <stdbool.h>

#include <dm-chain/format.h>	/* DMC_MAX_LAYERS */

#include "dmc_err.h"
#include "layer_file.h"

struct chain {
	unsigned int nr;
	struct layer *layers[DMC_MAX_LAYERS];
	uint32_t block_shift;
	uint64_t virtual_size;
	uint64_t nr_blocks;
};

enum chain_open_flags {
	/* Load every layer's map. */
	CHAIN_LOAD_MAPS		= 1 << 0,
	/* Accept merged-away layers (finishing an interrupted merge). */
	CHAIN_ALLOW_MERGED_AWAY	= 1 << 1,
	/* Accept a leaf that is the target of an unfinished merge. */
	CHAIN_ALLOW_JOURNAL_LEAF = 1 << 2,
	/* Take LOCK_SH on every layer (a stable view for reading). */
	CHAIN_LOCK_SH		= 1 << 3,
	/*
	 * Accept a layer made during a live merge (docs/format.md, "Live
	 * merges"): a child of target T recording T's post-merge generation
	 * while T's journal is still active sits, for the device, on the
	 * merge's top source; the chain then goes on through the sources.
	 */
	CHAIN_ALLOW_LIVE_LEAP	= 1 << 4,
};

/*
 * Open the chain ending at LEAF.  On failure C holds the layers opened so
 * far (C->nr of them; callers may show them) and must still be closed.
 */
int chain_open(const char *leaf, unsigned int flags, struct chain *c,
	       struct dmc_err *err);
void chain_close(struct chain *c);

/*
 * The linkage rule between CHILD and the layer below it, PARENT (which may
 * be raw).  Returns 0, or -1 with DMC_ERR_STALE / DMC_ERR_CORRUPT naming
 * CHILD.  ALLOW_MERGED_AWAY as in chain_open.
 */
int chain_check_link(const struct layer *child, const struct layer *parent,
		     bool allow_merged_away, struct dmc_err *err);

/*
 * Is L the target of an unfinished merge (a journal naming its child as the
 * bottom source)?  The journal of a raw target lives in its bottom source,
 * which is then not a target itself.
 */
bool layer_is_merge_target(const struct layer *l);

/* Index of the layer in C that is the same file as PATH, or -1. */
int chain_find_file(const struct chain *c, const char *path);

#endif
