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

#endif
