/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flatten: write a standalone raw image of a chain as seen at some depth,
 * cloning extents where the filesystem can, copying where it cannot.
 */
#ifndef DMC_FLATTEN_H
#define DMC_FLATTEN_H

#include "dmc_err.h"
#include "extent_copy.h"
#include "merge.h"

struct flatten_request {
	const char *layer;		/* leaf of the chain to read */
	unsigned int depth;		/* 1 (0): LAYER itself; N: N-1 below it */
	const char *out;		/* must not exist */
	enum xfer_mode mode;
	merge_progress_fn progress;
	void *progress_arg;
};

struct flatten_result {
	struct xfer_stats xfer;
	uint64_t virtual_size;
	uint64_t data_runs;
	double seconds;
};

/* On error OUT is removed. */
int flatten_run(const struct flatten_request *req, struct flatten_result *res,
		struct dmc_err *err);

#endif
