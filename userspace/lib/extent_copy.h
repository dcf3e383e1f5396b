/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Moving a byte range from one file to another: by sharing extents
 * (FICLONERANGE, one call for the whole range) where the filesystem agrees,
 * else by copying (pread/pwrite through a large buffer).  Counts what went
 * which way and why cloning was refused.
 */
#ifndef DMC_EXTENT_COPY_H
#define DMC_EXTENT_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include "dmc_err.h"

enum xfer_mode {
	XFER_AUTO = 0,	/* clone, copy where refused */
	XFER_CLONE,	/* clone only: a refusal is an error */
	XFER_COPY,	/* copy only (never shares extents) */
};

/* Why FICLONERANGE was refused, counted per cause. */
enum clone_refusal {
	REFUSED_XDEV = 0,	/* EXDEV: different filesystems */
	REFUSED_UNSUPPORTED,	/* EOPNOTSUPP/ENOTTY: no reflink support */
	REFUSED_INVALID,	/* EINVAL: misaligned or unsupported range */
	REFUSED_NR,
};

struct xfer_stats {
	uint64_t bytes_cloned;
	uint64_t bytes_copied;
	uint64_t clone_calls;		/* successful FICLONERANGE calls */
	uint64_t copy_ranges;
	uint64_t refusals[REFUSED_NR];	/* ranges refused, per cause */
	uint64_t bytes_refused[REFUSED_NR];
};

struct xfer_file {
	int fd;
	const char *path;		/* for messages */
};

/*
 * Move LEN bytes from SRC at SRC_OFF to DST at DST_OFF.  SKIP_ZEROES (copy
 * path only): leave all-zero chunks unwritten (DST is known to read zero
 * there, as a fresh sparse file).  Returns 0, or -1 with ERR set.
 */
int xfer_range(const struct xfer_file *src, uint64_t src_off,
	       const struct xfer_file *dst, uint64_t dst_off, uint64_t len,
	       enum xfer_mode mode, bool skip_zeroes, struct xfer_stats *st,
	       struct dmc_err *err);

/*
 * Make [OFF, OFF + LEN) of FD read zero: punch a hole, or write zeros when
 * the filesystem cannot punch.  ALLOW_FAIL: punching is a space
 * optimisation only (the map already says zero), so give up quietly.
 */
int xfer_zero_range(const struct xfer_file *f, uint64_t off, uint64_t len,
		    bool allow_fail, struct dmc_err *err);

const char *clone_refusal_str(enum clone_refusal r);

#endif
