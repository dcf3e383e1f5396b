/* SPDX-License-Identifier: GPL-2.0 */
/* Creating a layer file: a new base, or a new empty child of a parent. */
#ifndef DMC_LAYER_CREATE_H
#define DMC_LAYER_CREATE_H

#include <stdbool.h>
#include <stdint.h>

#include "dmc_err.h"

struct layer_create_opts {
	uint64_t virtual_size;	/* 0: the parent's size (required for a base) */
	uint32_t block_shift;	/* 0: the parent's, else DMC_DEFAULT_BLOCK_SHIFT */
	const char *parent;	/* NULL: a base layer */
	bool parent_raw;	/* PARENT is a raw image: do not read a header */
};

/*
 * Create PATH (which must not exist).  A parent that is a dm-chain layer
 * must be VALID with no unfinished merge; a file with no header, or any
 * file with PARENT_RAW (whatever its bytes look like: a guest may have
 * written a header into its image), is taken as a raw base of its size.
 * On error nothing is left behind.
 */
int layer_create(const char *path, const struct layer_create_opts *opts,
		 struct dmc_err *err);

/*
 * A layer that is filled before anyone may take it for one (an import):
 * layer_create_pending() creates PATH as layer_create() does, full size,
 * but leaves both header slots zero, so that every reader refuses it
 * ("not a dm-chain layer (no header)"; `layer check` exits 3) while its
 * data and map are written; *HDR receives the header it will get.
 * layer_create_commit() then writes MAP (HDR->map_length bytes), syncs,
 * and writes both header slots, synced: from then on PATH is a layer.
 * A process killed in between leaves a file no reader calls a layer.
 */
struct layer_header;
int layer_create_pending(const char *path, const struct layer_create_opts *opts,
			 struct layer_header *hdr, struct dmc_err *err);
int layer_create_commit(const char *path, const struct layer_header *hdr,
			const uint8_t *map, struct dmc_err *err);

/*
 * Create PATH (which must not exist) as a file with header H in both
 * slots, full size, an empty map (every block ABSENT), synced with its
 * directory.  For a file whose header is already decided (the marker a
 * swap merge leaves at its source's path).  On error nothing is left.
 */
int layer_create_with_header(const char *path, const struct layer_header *h,
			     struct dmc_err *err);

#endif
