/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Moving a byte range from one file to another: by sharing extents
 * (FICLONERANGE, one call for the whole range) where the filesystem agrees,
 * else by copying.  Counts what went which way and why cloning was refused.
 *
 * A copy goes one of two ways.  Without a pipe, through a large buffer and
 * the page cache, written before xfer_range() returns.  Through a pipe
 * (struct xfer_pipe, one per merge or flatten), the caller reads and a
 * writer thread writes, so that reading the next range overlaps writing
 * the last one; aligned ranges of at least 64 KiB bypass the page cache
 * (O_DIRECT), and the source's holes (SEEK_HOLE/SEEK_DATA) are not read but
 * made holes in the destination.  A pipe's writes are done, and their
 * errors known, only after xfer_pipe_drain(): drain before any sync that
 * makes the copied data durable.
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
	uint64_t bytes_copied;		/* the copy path's, holes included */
	uint64_t clone_calls;		/* successful FICLONERANGE calls */
	uint64_t copy_ranges;
	uint64_t refusals[REFUSED_NR];	/* ranges refused, per cause */
	uint64_t bytes_refused[REFUSED_NR];
	uint64_t bytes_direct;		/* copied bypassing the page cache */
	uint64_t bytes_holes;		/* source holes made holes, not read */
};

struct xfer_file {
	int fd;
	const char *path;		/* for messages */
};

struct xfer_pipe;

struct xfer_opts {
	enum xfer_mode mode;
	/*
	 * Copy path only: the destination reads zero in the range already (a
	 * fresh sparse file), so all-zero chunks and source holes are left
	 * unwritten.
	 */
	bool skip_zeroes;
	struct xfer_pipe *pipe;		/* NULL: copy before returning */
	struct xfer_stats *st;
};

/*
 * Move LEN bytes from SRC at SRC_OFF to DST at DST_OFF.  Returns 0, or -1
 * with ERR set.  Through a pipe a copy may still be in flight on return,
 * and an earlier range's write error may be what this call reports.
 */
int xfer_range(const struct xfer_file *src, uint64_t src_off,
	       const struct xfer_file *dst, uint64_t dst_off, uint64_t len,
	       const struct xfer_opts *o, struct dmc_err *err);

/*
 * A pipe.  Its writer thread and buffers are made at its first copy (a
 * merge that only clones never starts them; where they cannot be had, the
 * copies are made unpiped).  The files handed to it must stay open, as
 * the same files, until it is freed.  Returns NULL with ERR set (unless
 * ERR is NULL): the caller may go on without a pipe.
 */
struct xfer_pipe *xfer_pipe_new(struct dmc_err *err);

/* Wait until every queued write is done.  Returns 0, or -1 with ERR set
 * to the first write that failed (the pipe then refuses further work). */
int xfer_pipe_drain(struct xfer_pipe *p, struct dmc_err *err);

/* Wait for the writer and free the pipe (NULL: nothing).  Writes not
 * drained may be lost: drain first where they matter. */
void xfer_pipe_free(struct xfer_pipe *p);

/*
 * Make [OFF, OFF + LEN) of FD read zero: punch a hole, or write zeros when
 * the filesystem cannot punch.  ALLOW_FAIL: punching is a space
 * optimisation only (the map already says zero), so give up quietly.
 */
int xfer_zero_range(const struct xfer_file *f, uint64_t off, uint64_t len,
		    bool allow_fail, struct dmc_err *err);

const char *clone_refusal_str(enum clone_refusal r);

#endif
