// SPDX-License-Identifier: GPL-2.0
/* Flatten a chain into a raw image: see flatten.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "flatten.h"
#include "merge_plan.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copy every DATA run of the view made of layers [first, nr) into OUT. */
static int fill_runs(const struct flatten_request *rq, struct chain *c,
		     unsigned int first, int out_fd, struct xfer_pipe *pipe,
		     struct flatten_result *res, struct dmc_err *err)
{
	struct plan_source src[DMC_MAX_LAYERS];
	struct xfer_file dst = { out_fd, rq->out }, s;
	struct xfer_opts xo = { rq->mode, true, pipe, &res->xfer }, tail_o;
	unsigned int nr = c->nr - first, i;
	uint32_t shift = c->block_shift;
	struct plan_totals totals;
	struct plan_run run;
	uint64_t pos = 0, done = 0, off, len, max_run;

	tail_o = xo;
	tail_o.mode = XFER_COPY;	/* a raw base's partial last block */
	for (i = 0; i < nr; i++)
		src[i].map = c->layers[first + i]->is_raw ? NULL :
			     c->layers[first + i]->map;
	/* The totals only feed the progress bar: without one, a pass less. */
	if (rq->progress)
		plan_count(src, nr, c->nr_blocks, 0, &totals);
	max_run = plan_max_run(rq->progress, shift);
	while (plan_next_run(src, nr, c->nr_blocks, &pos, max_run, &run)) {
		if (run.kind != PLAN_DATA)
			continue;	/* zero or absent: a hole in OUT */
		struct layer *l = c->layers[first + run.source];

		off = run.start << shift;
		len = run.count << shift;
		if (off + len > c->virtual_size)
			len = c->virtual_size - off;
		s.fd = l->fd;
		s.path = l->path;
		/* A raw base's last block may be partial: clone the aligned part. */
		if (l->is_raw && len & ((1ULL << shift) - 1)) {
			uint64_t tail = len & ((1ULL << shift) - 1);

			if (xfer_range(&s, off, &dst, off, len - tail, &xo, err) ||
			    xfer_range(&s, off + len - tail, &dst, off + len - tail,
				       tail, &tail_o, err))
				return -1;
		} else if (xfer_range(&s, layer_block_offset(l, run.start, shift),
				      &dst, off, len, &xo, err)) {
			return -1;
		}
		res->data_runs++;
		done += run.count;
		if (rq->progress)
			rq->progress(done, totals.data_blocks, rq->progress_arg);
	}
	return 0;
}

/* fill_runs() through a copy pipe (when one can be made), drained before
 * OUT is synced. */
static int fill(const struct flatten_request *rq, struct chain *c,
		unsigned int first, int out_fd, struct flatten_result *res,
		struct dmc_err *err)
{
	struct xfer_pipe *pipe = xfer_pipe_new(NULL);	/* NULL: unpiped */
	int r;

	r = fill_runs(rq, c, first, out_fd, pipe, res, err);
	if (!r)
		r = xfer_pipe_drain(pipe, err);
	xfer_pipe_free(pipe);
	return r;
}

int flatten_run(const struct flatten_request *rq, struct flatten_result *res,
		struct dmc_err *err)
{
	unsigned int depth = rq->depth ? rq->depth : 1;
	double start = now_seconds();
	struct chain c;
	int fd = -1, ret = -1;

	memset(res, 0, sizeof(*res));
	if (chain_open(rq->layer, CHAIN_LOAD_MAPS | CHAIN_LOCK_SH, &c, err))
		goto out;
	if (depth > c.nr) {
		dmc_err(err, DMC_ERR_USAGE, "%s: the chain has only %u layer%s",
			rq->layer, c.nr, c.nr == 1 ? "" : "s");
		goto out;
	}
	res->virtual_size = c.virtual_size;
	fd = open(rq->out, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		dmc_err_errno(err, errno, "%s: cannot create", rq->out);
		goto out;
	}
	if (ftruncate(fd, (off_t)c.virtual_size)) {
		dmc_err_errno(err, errno, "%s: cannot size", rq->out);
		goto out;
	}
	if (fill(rq, &c, depth - 1, fd, res, err))
		goto out;
	if (fsync(fd)) {
		dmc_err_errno(err, errno, "%s: cannot sync", rq->out);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0) {
		close(fd);
		if (ret)
			unlink(rq->out);
		else
			fsync_parent_dir(rq->out);
	}
	chain_close(&c);
	res->seconds = now_seconds() - start;
	return ret;
}
