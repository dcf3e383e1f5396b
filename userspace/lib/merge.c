// SPDX-License-Identifier: GPL-2.0
/*
 * Offline merge engine: choose target and sources, write the journal, move
 * the data in block order with durable commits, retire the sources, finish
 * the target.  See merge.h and docs/format.md ("Merge journal").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "chain.h"
#include "extent_list.h"
#include "layer_file.h"
#include "leaf_follow.h"
#include "merge.h"
#include "merge_plan.h"
#include "merge_swap.h"
#include "paths.h"
#include "rate_limit.h"

/*
 * A durable commit (data sync, map, journal) bounds the work redone after a
 * crash.  It is paced by time, not by runs: each costs a filesystem log
 * force, and a count of runs would commit every few milliseconds when
 * clones are quick.  The interval is a second of work, or longer (up to
 * BATCH_SECONDS_MAX) when the last commit was slow, so that commits take
 * at most 1/SYNC_SHARE of the merge.  The byte cap bounds a slow copy's
 * dirty data.
 */
#define BATCH_BYTES		(1ULL << 30)
#define BATCH_SECONDS		1.0
#define BATCH_SECONDS_MAX	10.0
#define SYNC_SHARE		20.0
/*
 * Reading the clock can be a system call (an emulated guest without a vDSO
 * clock: about 5 us), so it is read every CLOCK_RUNS runs or CLOCK_BYTES
 * bytes, not after each run.
 */
#define CLOCK_RUNS		64
#define CLOCK_BYTES		(16ULL << 20)

struct merge_ctx {
	const struct merge_request *req;
	struct merge_result *res;
	struct chain chain;
	unsigned int t;			/* index of the target in chain */
	struct layer *target;
	struct layer *holder;		/* the layer holding the journal */
	struct layer_journal journal;
	uint32_t shift;
	uint64_t nr_blocks;
	uint64_t total_work;		/* data + zero blocks left to do */
	uint64_t done_work;
	/*
	 * A range merge (--from): the layer right above the top source in the
	 * leaf's chain, relinked to the target after the journal; and the
	 * uuids of the top source and target seen from the leaf, checked
	 * again once the chain is opened from the top source.
	 */
	const char *above;
	uint8_t above_uuid[DMC_UUID_SIZE];
	char *above_found;		/* A from a journal's relink record */
	uint8_t top_uuid[DMC_UUID_SIZE];
	uint8_t target_uuid[DMC_UUID_SIZE];
	bool target_raw;
	char *swap_holder;		/* a swap merge's journal found: finish it */
	struct xfer_pipe *pipe;		/* the data phase's copies in flight */
};

/*
 * A layer of chain C named as 'device merge' names one: the path of a
 * layer in the chain, else an index from the base (0).  -1 if neither.
 */
static int find_layer_spec(const struct chain *c, const char *spec)
{
	unsigned long v;
	char *end;
	int i;

	i = chain_find_file(c, spec);
	if (i >= 0 || spec[0] < '0' || spec[0] > '9' || access(spec, F_OK) == 0)
		return i;
	errno = 0;
	v = strtoul(spec, &end, 10);
	if (*end || errno || v >= c->nr)
		return -1;
	return (int)(c->nr - 1 - v);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write the journal into the holder's header (the other slot, synced). */
static int write_journal(struct merge_ctx *m, struct dmc_err *err)
{
	struct layer_header h = m->holder->hdr;

	h.journal = m->journal;
	return layer_write_header(m->holder, &h, err);
}

/*
 * An unfinished merge anywhere in the chain: the index of the layer that
 * holds its journal, or -1.
 */
static int find_journal(const struct chain *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		if (!c->layers[i]->is_raw &&
		    c->layers[i]->hdr.journal.state != DMC_JOURNAL_NONE)
			return (int)i;
	return -1;
}

/* Target and holder of the journal found in layer H of the chain. */
static int adopt_journal(struct merge_ctx *m, unsigned int h, struct dmc_err *err)
{
	const struct merge_request *rq = m->req;
	struct layer *l = m->chain.layers[h];
	const struct layer_journal *j = &l->hdr.journal;
	unsigned int t = layer_is_merge_target(l) ? h : h + 1;
	char *top;

	if (t == 0 || t >= m->chain.nr || (t != h && !m->chain.layers[t]->is_raw) ||
	    memcmp(j->top_uuid, m->chain.layers[0]->hdr.uuid, DMC_UUID_SIZE) ||
	    j->nr_sources != t ||
	    memcmp(j->bottom_uuid, m->chain.layers[t - 1]->hdr.uuid, DMC_UUID_SIZE)) {
		top = path_resolve_hint(l->path, j->top_path);
		dmc_err(err, DMC_ERR_JOURNAL,
			"%s: holds an unfinished merge from %s; finish it first with 'chainctl layer check -r %s'",
			l->path, top ? top : j->top_path, l->path);
		free(top);
		return -1;
	}
	if ((rq->depth && rq->depth != t) ||
	    (rq->into && find_layer_spec(&m->chain, rq->into) != (int)t))
		return dmc_err(err, DMC_ERR_JOURNAL,
			       "%s: an unfinished merge of it into %s exists; run 'chainctl layer merge %s' without --depth/--into to finish it",
			       rq->leaf, m->chain.layers[t]->path, rq->leaf);
	m->t = t;
	m->holder = l;
	m->journal = *j;
	m->res->resumed = true;
	return 0;
}

/*
 * A merged-away layer (WHAT) in the chain of LEAF: let the strict open say
 * what is wrong and what to do (DMC_ERR_MERGED when that merge is done).
 * Returns -1.
 */
static int explain_merged_away(const char *leaf, const char *what,
			       struct dmc_err *err)
{
	struct chain strict;

	dmc_err_clear(err);
	if (chain_open(leaf, 0, &strict, err) == 0)
		dmc_err(err, DMC_ERR_STALE, "%s: merged away", what);
	chain_close(&strict);
	return -1;
}

/*
 * A fresh offline merge starts at the chain's leaf.  Started at a layer
 * with layers on it, it would mark that layer merged-away under them and
 * leave them, the newest data of the chain, unusable: nothing relinks them
 * to the target.  The layers on it are looked for as leaf_follow() does
 * (its directory, linkage by uuid); a directory that cannot be searched is
 * refused too, since nothing then shows that the merge is safe.
 */
static int refuse_layers_above(const char *leaf, struct dmc_err *err)
{
	struct dmc_err why;
	struct stat a, b;
	char *top = NULL;
	int ret = 0;

	dmc_err_clear(&why);
	if (leaf_follow(leaf, false, &top, &why))
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: cannot tell whether layers sit on it, so it is not merged (%s)",
			       leaf, why.msg);
	if (stat(leaf, &a) || stat(top, &b) ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		ret = dmc_err(err, DMC_ERR_USAGE,
			      "%s: not the chain's leaf: %s is, and merging %s would leave the layers above it unusable; name the leaf (with --depth or --into to choose the target)",
			      leaf, top, leaf);
	free(top);
	return ret;
}

/*
 * LEAF sits, through the live leap, on an unfinished merge below it (an
 * intermediate merge whose relink is done): name what finishes it instead
 * of the broken link.  ERR is left as it is otherwise.
 */
static void explain_leap(const char *leaf, struct dmc_err *err)
{
	struct dmc_err why;
	struct chain c;
	int j;

	dmc_err_clear(&why);
	if (chain_open(leaf, CHAIN_ALLOW_LIVE_LEAP | CHAIN_ALLOW_MERGED_AWAY, &c,
		       &why) == 0) {
		j = find_journal(&c);
		if (j >= 0) {
			dmc_err_clear(err);
			dmc_err(err, DMC_ERR_JOURNAL,
				"%s: sits on an unfinished merge into %s; finish it first with 'chainctl layer check -r %s' (or the 'chainctl layer merge %s --into .. --from ..' that began it)",
				leaf, c.layers[j]->path, c.layers[j]->path, leaf);
		}
	}
	chain_close(&c);
}

/* Target of a new merge from the request; the chain must be sound. */
static int pick_target(struct merge_ctx *m, struct dmc_err *err)
{
	const struct merge_request *rq = m->req;
	unsigned int i;
	int t;

	for (i = 0; i < m->chain.nr; i++) {
		if (!m->chain.layers[i]->is_raw &&
		    m->chain.layers[i]->hdr.state != DMC_STATE_VALID)
			return explain_merged_away(rq->leaf,
						   m->chain.layers[i]->path, err);
	}
	if (rq->into) {
		t = find_layer_spec(&m->chain, rq->into);
		if (t < 0)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: not in the chain below %s", rq->into,
				       rq->leaf);
		if (t == 0)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: cannot merge a layer into itself", rq->into);
		if (rq->depth && rq->depth != (unsigned int)t)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: --depth %u and --into disagree", rq->leaf,
				       rq->depth);
	} else {
		t = rq->depth ? (int)rq->depth : 1;
		if ((unsigned int)t >= m->chain.nr)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: the chain has %u layer%s: nothing below depth %d to merge into",
				       rq->leaf, m->chain.nr, m->chain.nr == 1 ? "" : "s", t);
	}
	m->t = (unsigned int)t;
	return 0;
}

/* One source, holding the journal, merged into a raw target. */
static bool single_retire(const struct merge_ctx *m)
{
	return m->target->is_raw && m->t == 1 && m->holder == m->chain.layers[0];
}

/*
 * PATH relative to the journal holder's directory into OUT (a journal
 * path field, DMC_JOURNAL_PATH_MAX bytes).
 */
static int journal_path(const struct merge_ctx *m, const char *path, char *out,
			struct dmc_err *err)
{
	return path_relative_field(m->holder->path, path, out,
				   DMC_JOURNAL_PATH_MAX, err);
}

static int begin_journal(struct merge_ctx *m, struct dmc_err *err)
{
	struct layer_journal *j = &m->journal;
	struct layer *top = m->chain.layers[0];

	m->holder = m->target->is_raw ? m->chain.layers[m->t - 1] : m->target;
	memset(j, 0, sizeof(*j));
	if (journal_path(m, top->path, j->top_path, err))
		return -1;
	j->state = DMC_JOURNAL_MERGING;
	j->nr_sources = m->t;
	j->cursor = 0;
	j->old_generation = m->target->is_raw ? 0 : m->target->hdr.generation;
	j->new_generation = j->old_generation + 1;
	memcpy(j->bottom_uuid, m->chain.layers[m->t - 1]->hdr.uuid, DMC_UUID_SIZE);
	memcpy(j->top_uuid, top->hdr.uuid, DMC_UUID_SIZE);
	if (m->above) {
		/* The relink record: any finisher relinks A from it. */
		if (journal_path(m, m->above, j->relink_path, err))
			return -1;
		memcpy(j->relink_uuid, m->above_uuid, DMC_UUID_SIZE);
	}
	if (single_retire(m))
		return 0;	/* written by the first commit (step 1) */
	return write_journal(m, err);
}

/* Lock and reopen read-write the sources and the target. */
static int open_for_writing(struct merge_ctx *m, struct dmc_err *err)
{
	unsigned int i;

	for (i = 0; i <= m->t; i++) {
		struct layer *l = m->chain.layers[i];

		if (layer_make_writable(l, err))
			return -1;
		if (m->req->mode == XFER_CLONE && l->dev != m->target->dev)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: on another filesystem than %s: cannot clone (use --mode auto or copy)",
				       l->path, m->target->path);
	}
	return 0;
}

/* Make blocks [first, first + count) durable in the target's map, and the
 * cursor durable in the journal. */
static int commit(struct merge_ctx *m, uint64_t dirty_first, uint64_t dirty_end,
		  uint64_t cursor, struct dmc_err *err)
{
	if (xfer_pipe_drain(m->pipe, err) ||
	    layer_commit_blocks(m->target, dirty_first,
				dirty_end > dirty_first ? dirty_end - dirty_first : 0,
				err))
		return -1;
	m->journal.cursor = cursor;
	return write_journal(m, err);
}

static void set_map(struct layer *t, const struct plan_run *run, unsigned int st)
{
	uint64_t b;

	for (b = run->start; b < run->start + run->count; b++)
		dmc_map_set(t->map, b, st);
}

/* Apply one DATA or ZERO run to the target. */
static int apply_run(struct merge_ctx *m, const struct plan_run *run,
		     struct dmc_err *err)
{
	struct layer *t = m->target, *s;
	uint64_t off = run->start << m->shift, len = run->count << m->shift;
	uint64_t vsize = m->chain.virtual_size, tail = 0;
	struct xfer_file dst = { t->fd, t->path }, src;
	struct xfer_opts xo = { m->req->mode, false, m->pipe, &m->res->xfer };

	if (t->is_raw && off + len > vsize) {
		len = vsize - off;	/* a raw image ends inside its last block */
		tail = len & ((1ULL << m->shift) - 1);
		len -= tail;
	}
	if (run->kind == PLAN_ZERO) {
		if (!t->is_raw)
			set_map(t, run, DMC_BLOCK_ZERO);
		return xfer_zero_range(&dst, layer_block_offset(t, run->start, m->shift),
				       len + tail, !t->is_raw, err);
	}
	s = m->chain.layers[run->source];
	src.fd = s->fd;
	src.path = s->path;
	if (xfer_range(&src, layer_block_offset(s, run->start, m->shift), &dst,
		       layer_block_offset(t, run->start, m->shift), len, &xo, err))
		return -1;
	/* The partial tail of a raw target is never clonable: copy it. */
	xo.mode = XFER_COPY;
	if (tail && xfer_range(&src, layer_block_offset(s, run->start, m->shift) + len,
			       &dst, layer_block_offset(t, run->start, m->shift) + len,
			       tail, &xo, err))
		return -1;
	if (!t->is_raw)
		set_map(t, run, DMC_BLOCK_DATA);
	return 0;
}

static int move_runs(struct merge_ctx *m, struct dmc_err *err)
{
	struct plan_source src[DMC_MAX_LAYERS];
	uint64_t batch = m->req->batch_runs ? m->req->batch_runs : UINT64_MAX;
	uint64_t pos = m->journal.cursor, runs = 0, bytes = 0;
	uint64_t dirty_first = UINT64_MAX, dirty_end = 0;
	uint64_t clocked_runs = 0, clocked_bytes = 0, max_run;
	double last_commit = now_seconds(), interval = BATCH_SECONDS, t0;
	bool due;
	struct plan_totals totals;
	struct rate_limit rl;
	struct plan_run run;
	unsigned int i;

	rate_limit_start(&rl, m->req->rate_bytes_per_s);
	for (i = 0; i < m->t; i++)
		src[i].map = m->chain.layers[i]->map;
	/* The totals only feed the progress callback: without one, the map
	 * is walked once instead of twice. */
	if (m->req->progress) {
		plan_count(src, m->t, m->nr_blocks, pos, &totals);
		m->total_work = totals.data_blocks + totals.zero_blocks;
	}
	max_run = plan_max_run(m->req->progress, m->shift);
	while (plan_next_run(src, m->t, m->nr_blocks, &pos, max_run, &run)) {
		if (run.kind == PLAN_ABSENT)
			continue;
		/* A batch is committed when the next run is found, so the last
		 * batch is left to the final commit below instead of costing a
		 * journal write of its own. */
		due = runs && (runs >= batch || bytes >= BATCH_BYTES);
		if (!due && runs && (runs - clocked_runs >= CLOCK_RUNS ||
				     bytes - clocked_bytes >= CLOCK_BYTES)) {
			clocked_runs = runs;
			clocked_bytes = bytes;
			due = now_seconds() - last_commit >= interval;
		}
		if (due) {
			t0 = now_seconds();
			if (commit(m, dirty_first, dirty_end, run.start, err))
				return -1;
			if (m->req->stop_at == MERGE_STOP_AFTER_BATCH)
				return 1;
			last_commit = now_seconds();
			interval = SYNC_SHARE * (last_commit - t0);
			if (interval < BATCH_SECONDS)
				interval = BATCH_SECONDS;
			if (interval > BATCH_SECONDS_MAX)
				interval = BATCH_SECONDS_MAX;
			runs = bytes = clocked_runs = clocked_bytes = 0;
			dirty_first = UINT64_MAX;
			dirty_end = 0;
		}
		if (apply_run(m, &run, err))
			return -1;
		if (run.kind == PLAN_DATA) {
			m->res->data_blocks += run.count;
			m->res->data_runs++;
			rate_limit_account(&rl, run.count << m->shift);
		} else {
			m->res->zero_blocks += run.count;
		}
		if (run.start < dirty_first)
			dirty_first = run.start;
		dirty_end = run.start + run.count;
		m->done_work += run.count;
		runs++;
		bytes += run.count << m->shift;
		if (m->req->progress)
			m->req->progress(m->done_work, m->total_work,
					 m->req->progress_arg);
	}
	if (single_retire(m)) {
		/* One source into a raw target: once the target's data is
		 * durable, retiring is the one header write that marks the
		 * source merged-away and ends the journal (step 4), so the
		 * RETIRING state is skipped; a crash before it re-runs the
		 * data phase from the cursor. */
		if (xfer_pipe_drain(m->pipe, err))
			return -1;
		if (fdatasync(m->target->fd))
			return dmc_err_errno(err, errno, "%s: cannot sync data",
					     m->target->path);
		return 0;
	}
	/* The data is complete once this commit is durable: the same
	 * journal write moves the merge on to RETIRING. */
	m->journal.state = DMC_JOURNAL_RETIRING;
	if (commit(m, dirty_first, dirty_end, m->nr_blocks, err))
		return -1;
	if (m->req->stop_at == MERGE_STOP_AFTER_BATCH)
		return 1;
	return 0;
}

/* The data phase, its copies going through a pipe that every commit
 * drains, freed on every way out; without one they are made unpiped. */
static int data_phase(struct merge_ctx *m, struct dmc_err *err)
{
	int r;

	m->pipe = xfer_pipe_new(NULL);	/* NULL: copy unpiped, slower */
	r = move_runs(m, err);
	xfer_pipe_free(m->pipe);
	m->pipe = NULL;
	return r;
}

/*
 * Before the first source is marked merged-away: the data phase is
 * complete, and every block the sources show (top first, as the plan
 * reads them) is in the target's map as it is on disk (synced by the
 * commit that entered RETIRING).  A source is never retired on a map that
 * lost one of its blocks.  A raw target has no map: its data phase ran to
 * the end in this process and was synced (single_retire).
 */
static int verify_moved(struct merge_ctx *m, struct dmc_err *err)
{
	struct plan_source src[DMC_MAX_LAYERS];
	struct layer *t = m->target;
	uint64_t pos = 0, b;
	struct plan_run run;
	unsigned int i, want;
	uint8_t *disk;
	int ret = 0;

	if (!single_retire(m) && (m->journal.state != DMC_JOURNAL_RETIRING ||
				  m->journal.cursor != m->nr_blocks))
		return dmc_err(err, DMC_ERR_CORRUPT,
			       "%s: merge data phase incomplete (cursor %llu of %llu): not retiring its sources",
			       m->holder->path, (unsigned long long)m->journal.cursor,
			       (unsigned long long)m->nr_blocks);
	if (t->is_raw)
		return 0;
	disk = layer_read_disk_map(t, err);
	if (!disk)
		return -1;
	for (i = 0; i < m->t; i++)
		src[i].map = m->chain.layers[i]->map;
	while (!ret && plan_next_run(src, m->t, m->nr_blocks, &pos, 0, &run)) {
		if (run.kind == PLAN_ABSENT)
			continue;
		want = run.kind == PLAN_DATA ? DMC_BLOCK_DATA : DMC_BLOCK_ZERO;
		for (b = run.start; b < run.start + run.count; b++) {
			if (dmc_map_get(disk, b) == want)
				continue;
			ret = dmc_err(err, DMC_ERR_CORRUPT,
				      "%s: block %llu of %s is not in the target's map on disk: not marking the sources merged-away (no data was removed)",
				      t->path, (unsigned long long)b,
				      m->chain.layers[run.source]->path);
			break;
		}
	}
	free(disk);
	return ret;
}

/* A layer whose header records TOP (a layer) as its parent exactly. */
static bool child_of(const struct layer *l, const struct layer *top)
{
	return !l->is_raw && l->hdr.state == DMC_STATE_VALID &&
	       l->hdr.parent_kind == DMC_PARENT_LAYER &&
	       !memcmp(l->hdr.parent_uuid, top->hdr.uuid, DMC_UUID_SIZE) &&
	       l->hdr.parent_generation == top->hdr.generation;
}

/*
 * Relink PATH, found to be a child of the top source, to the target at
 * the merge's new generation, as the kernel's relink_above() does: the
 * parent's uuid, generation and path change, nothing else.  Reopened
 * locked, and checked again under the lock.  0 relinked or no longer a
 * child, -1 with ERR set.
 */
static int relink_one(struct merge_ctx *m, const char *path, struct dmc_err *err)
{
	struct layer *top = m->chain.layers[0], *l;
	struct layer_header h;
	struct dmc_err why;
	char *rel;
	int ret;

	dmc_err_clear(&why);
	if (layer_open(path, LAYER_RDWR | LAYER_LOCK_EX, &l, &why)) {
		/* Built apart: snprintf into err->msg cannot read it too. */
		dmc_err(err, why.kind,
			"%s: sits on %s, which this merge retires, but cannot be relinked to %s (%.400s); the merge is not finished",
			path, top->path, m->target->path, why.msg);
		err->errnum = why.errnum;
		return -1;
	}
	if (!child_of(l, top)) {
		layer_close(l);
		return 0;
	}
	rel = path_relative_to_file(path, m->target->path);
	if (!rel) {
		layer_close(l);
		return dmc_err_errno(err, errno ? errno : ENOMEM,
				     "%s: cannot resolve the path of %s from it",
				     path, m->target->path);
	}
	if (strlen(rel) >= sizeof(h.parent_path)) {
		free(rel);
		layer_close(l);
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: the path of %s does not fit its header; the merge is not finished",
			       path, m->target->path);
	}
	h = l->hdr;
	if (m->target->is_raw) {
		/* What a child made on the raw image records. */
		h.parent_kind = DMC_PARENT_RAW;
		memset(h.parent_uuid, 0, DMC_UUID_SIZE);
		h.parent_generation = 0;
		h.parent_raw_size = m->target->file_size;
	} else {
		memcpy(h.parent_uuid, m->target->hdr.uuid, DMC_UUID_SIZE);
		h.parent_generation = m->journal.new_generation;
	}
	memset(h.parent_path, 0, sizeof(h.parent_path));
	strcpy(h.parent_path, rel);
	free(rel);
	ret = layer_write_header(l, &h, err);
	layer_close(l);
	if (ret)
		return -1;
	if (m->res->nr_relinked < MERGE_RELINK_NAMED)
		snprintf(m->res->relinked[m->res->nr_relinked],
			 sizeof(m->res->relinked[0]), "%s", path);
	m->res->nr_relinked++;
	return 0;
}

/* dir_each_file() callback: relink PATH if it is a child of the top source. */
static int relink_if_child(const char *path, const struct stat *st,
			   void *arg, struct dmc_err *err)
{
	struct merge_ctx *m = arg;
	struct layer *top = m->chain.layers[0], *l;
	struct dmc_err why;
	bool child;

	if (st->st_dev == top->dev && st->st_ino == top->ino)
		return 0;
	dmc_err_clear(&why);
	if (layer_open(path, 0, &l, &why))
		return 0;	/* not a dm-chain layer */
	child = child_of(l, top);
	layer_close(l);
	return child ? relink_one(m, path, err) : 0;
}

/*
 * An intermediate live merge (kmod/merge.c) writes the target's journal,
 * then relinks the layer A above its top source to the target at the new
 * generation.  Stopped between the two, A is still an ordinary child of
 * the top source, which finishing would mark merged-away under it.  So a
 * resumed merge into a layer target first relinks every child of the top
 * source found as leaf_follow() finds layers: in the top source's
 * directory, at most LEAF_FOLLOW_MAX_FILES files, linkage by uuid and
 * generation.  Done at any point before retiring, the state is the one
 * the kernel's relink leaves; a leaf-including merge's new leaf already
 * records the target, so it is never a candidate.  A layer elsewhere is
 * not seen.
 */
static int relink_children(struct merge_ctx *m, struct dmc_err *err)
{
	return dir_each_file(m->chain.layers[0]->path, relink_if_child, m, err);
}

/* Whether L records the raw image RAW (the same file) as its parent. */
static bool records_raw(const struct layer *l, const struct layer *raw)
{
	struct stat st;
	char *parent;
	bool same;

	if (l->is_raw || l->hdr.parent_kind != DMC_PARENT_RAW)
		return false;
	parent = path_resolve_hint(l->path, l->hdr.parent_path);
	same = parent && !stat(parent, &st) && st.st_dev == raw->dev &&
	       st.st_ino == raw->ino;
	free(parent);
	return same;
}

/*
 * A range merge's relink of the layer above the top source, known from
 * the leaf's chain, with the kernel's rules (relink_above()): written
 * when it records the top source, skipped when it already records the
 * target at the new generation, refused otherwise (then nothing is
 * retired).
 */
static int relink_above(struct merge_ctx *m, struct dmc_err *err)
{
	unsigned int before = m->res->nr_relinked;
	struct layer *l;
	bool done;

	if (relink_one(m, m->above, err))
		return -1;
	if (m->res->nr_relinked != before)
		return 0;
	if (layer_open(m->above, 0, &l, err))
		return -1;
	if (m->target->is_raw)
		done = records_raw(l, m->target);
	else
		done = !l->is_raw && l->hdr.parent_kind == DMC_PARENT_LAYER &&
		       !memcmp(l->hdr.parent_uuid, m->target->hdr.uuid,
			       DMC_UUID_SIZE) &&
		       l->hdr.parent_generation == m->journal.new_generation;
	layer_close(l);
	if (!done)
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: sat on %s, but now records neither it nor %s at generation %llu; not relinked, no source retired",
			       m->above, m->chain.layers[0]->path, m->target->path,
			       (unsigned long long)m->journal.new_generation);
	return 0;
}

/*
 * A resumed merge whose journal has a relink record (a range merge, live
 * or offline): the layer above the range, A, must record the target before
 * any source is retired, wherever A is kept.  A range merge issued again
 * knows A from the leaf's chain: it must be the recorded one.  Any other
 * finisher ('layer check -r', 'layer merge TOP') takes A from the record;
 * an A that is not there (moved, deleted, another file in its place) stops
 * the merge before anything is written: finishing would orphan it.
 */
static int adopt_relink(struct merge_ctx *m, struct dmc_err *err)
{
	const struct layer_journal *j = &m->journal;
	struct dmc_err why;
	struct layer *l;
	char *path;
	bool same;

	if (uuid_is_zero(j->relink_uuid))
		return 0;	/* none: a merge of the leaf, or an older journal */
	if (m->above) {
		if (memcmp(m->above_uuid, j->relink_uuid, DMC_UUID_SIZE))
			return dmc_err(err, DMC_ERR_STALE,
				       "%s: its unfinished merge was begun with another layer above the range than %s (the journal names %s); nothing written",
				       m->holder->path, m->above, j->relink_path);
		return 0;
	}
	path = path_resolve_hint(m->holder->path, j->relink_path);
	if (!path)
		return dmc_err_errno(err, errno ? errno : ENOMEM,
				     "%s: cannot resolve %s", m->holder->path,
				     j->relink_path);
	dmc_err_clear(&why);
	same = !layer_open(path, 0, &l, &why);
	if (!same && why.kind == DMC_ERR_IO && why.errnum == ENOENT &&
	    m->req->above_deleted) {
		free(path);
		return 0;	/* gone for good, says the caller */
	}
	if (same) {
		same = !l->is_raw &&
		       !memcmp(l->hdr.uuid, j->relink_uuid, DMC_UUID_SIZE);
		layer_close(l);
		if (!same)
			snprintf(why.msg, sizeof(why.msg),
				 "another layer is there");
	}
	if (!same) {
		dmc_err(err, DMC_ERR_STALE,
			"%s: its unfinished merge must relink the layer above the merged range, %s, before it retires anything, and that layer is not there (%.300s); nothing written. Put it back, or finish with 'chainctl layer merge LEAF --into %s --from %s' from a leaf whose chain holds it; if it was deleted on purpose, add --above-deleted",
			m->holder->path, path, why.msg, m->target->path,
			m->chain.layers[0]->path);
		free(path);
		return -1;
	}
	m->above_found = path;
	m->above = path;
	memcpy(m->above_uuid, j->relink_uuid, DMC_UUID_SIZE);
	return 0;
}

/*
 * A range merge leaves the target under the layer above it, frozen: its
 * last header write (H) also gives it the extent list of its new map.
 * Best effort: without a list, readers use the map.
 */
static void stage_target_list(struct merge_ctx *m, struct layer_header *h)
{
	struct layer_header staged = *h;
	struct dmc_err ignored;

	dmc_err_clear(&ignored);
	staged.compat_features &= ~DMC_COMPAT_EXTENT_LIST;
	memset(&staged.xlist, 0, sizeof(staged.xlist));
	if (layer_load_map(m->target, &ignored) == 0 &&
	    extent_list_stage(m->target, &staged, &ignored) == 0)
		*h = staged;
}

/* Sources become MERGED_AWAY, top first; then the target moves on. */
static int retire_phase(struct merge_ctx *m, struct dmc_err *err)
{
	struct layer_header h;
	unsigned int i;

	if (verify_moved(m, err))
		return -1;
	for (i = 0; i < m->t; i++) {
		struct layer *s = m->chain.layers[i];

		if (s->hdr.state == DMC_STATE_MERGED_AWAY)
			continue;
		h = s->hdr;
		h.state = DMC_STATE_MERGED_AWAY;
		memset(h.merged_into_uuid, 0, DMC_UUID_SIZE);
		if (!m->target->is_raw)
			memcpy(h.merged_into_uuid, m->target->hdr.uuid, DMC_UUID_SIZE);
		if (s == m->holder)
			memset(&h.journal, 0, sizeof(h.journal));
		if (layer_write_header(s, &h, err))
			return -1;
		if (i == 0 && m->req->stop_at == MERGE_STOP_AFTER_FIRST_MARK)
			return 1;
	}
	if (m->req->stop_at == MERGE_STOP_BEFORE_FINISH)
		return 1;
	if (!m->target->is_raw) {
		h = m->target->hdr;
		h.generation = m->journal.new_generation;
		memset(&h.journal, 0, sizeof(h.journal));
		if (m->above)
			stage_target_list(m, &h);
		if (layer_write_header(m->target, &h, err))
			return -1;
	}
	return 0;
}

static int delete_sources(struct merge_ctx *m, struct dmc_err *err)
{
	unsigned int i;

	for (i = 0; i < m->t; i++) {
		if (unlink(m->chain.layers[i]->path))
			return dmc_err_errno(err, errno, "%s: merged, but cannot delete",
					     m->chain.layers[i]->path);
		fsync_parent_dir(m->chain.layers[i]->path);
	}
	m->res->deleted = true;
	return 0;
}

/*
 * A new merge of one source into a layer: which side moves (swap_cost),
 * and why.  Returns 1 to swap, 0 for the classic merge, -1 when a swap
 * was asked for and cannot run.
 */
static int choose_side(struct merge_ctx *m, struct dmc_err *err)
{
	struct layer *s = m->chain.layers[0];
	const char *no;
	char because[160];
	struct swap_cost c;
	char *why = m->res->side_why;
	size_t len = sizeof(m->res->side_why);

	if (m->req->side == MERGE_SIDE_TARGET)
		return 0;
	no = m->t != 1 ? "more than one source" : m->above ? "a range merge" :
	     swap_refusal(m->target, s, because, sizeof(because));
	if (no) {
		if (m->req->side == MERGE_SIDE_SOURCE)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: cannot merge by swapping: %s", m->req->leaf, no);
		snprintf(why, len, "no swap: %s", no);
		return 0;
	}
	swap_cost_count(s->map, m->target->map, m->chain.nr_blocks, 0, &c);
	snprintf(why, len,
		 "source %llu blocks in %llu runs, target's unshadowed %llu blocks in %llu runs",
		 (unsigned long long)c.down_blocks, (unsigned long long)c.down_runs,
		 (unsigned long long)c.up_blocks, (unsigned long long)c.up_runs);
	return m->req->side == MERGE_SIDE_SOURCE ||
	       swap_cheaper(&c, m->chain.block_shift);
}

static int run_locked(struct merge_ctx *m, struct dmc_err *err)
{
	int j, ret;

	if (chain_open(m->req->leaf, CHAIN_ALLOW_MERGED_AWAY | CHAIN_LOAD_MAPS,
		       &m->chain, err)) {
		/*
		 * A leaf whose merge is done sits on a target whose generation
		 * has moved on, so the link check above refuses it: say that
		 * the merge is done, as the strict open does (DMC_ERR_MERGED).
		 */
		if (m->chain.nr && !m->chain.layers[0]->is_raw &&
		    m->chain.layers[0]->hdr.state == DMC_STATE_MERGED_AWAY)
			explain_merged_away(m->req->leaf, m->req->leaf, err);
		else if (err->kind == DMC_ERR_STALE)
			explain_leap(m->req->leaf, err);
		return -1;
	}
	j = find_journal(&m->chain);
	if (j >= 0 && layer_holds_swap(m->chain.layers[j])) {
		/* Finished after the chain is closed (merge_run()). */
		m->swap_holder = strdup(m->chain.layers[j]->path);
		if (!m->swap_holder)
			return dmc_err_errno(err, ENOMEM, "%s", m->req->leaf);
		return 0;
	}
	if (j >= 0) {
		if (adopt_journal(m, (unsigned int)j, err))
			return -1;
	} else if (m->req->resume_only) {
		return dmc_err(err, DMC_ERR_USAGE, "%s: no unfinished merge to finish",
			       m->req->leaf);
	} else if (pick_target(m, err) ||
		   (!m->above && refuse_layers_above(m->req->leaf, err))) {
		return -1;
	}
	m->target = m->chain.layers[m->t];
	if (m->above &&
	    (memcmp(m->chain.layers[0]->hdr.uuid, m->top_uuid, DMC_UUID_SIZE) ||
	     m->target->is_raw != m->target_raw ||
	     (!m->target_raw &&
	      memcmp(m->target->hdr.uuid, m->target_uuid, DMC_UUID_SIZE))))
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: its chain changed while the merge was starting; nothing written",
			       m->req->leaf);
	if (m->res->resumed && adopt_relink(m, err))
		return -1;
	m->shift = m->chain.block_shift;
	m->nr_blocks = m->chain.nr_blocks;
	m->res->nr_sources = m->t;
	m->res->raw_target = m->target->is_raw;
	m->res->block_size = 1ULL << m->shift;
	snprintf(m->res->target, sizeof(m->res->target), "%s", m->target->path);
	if (!m->res->resumed) {
		ret = choose_side(m, err);
		if (ret < 0)
			return -1;
		if (ret) {
			if (open_for_writing(m, err))
				return -1;
			return swap_merge(m->target, m->chain.layers[0], m->req,
					  m->res, err);
		}
	}
	if (open_for_writing(m, err))
		return -1;
	if (!m->res->resumed) {
		if (begin_journal(m, err))
			return -1;
		if (m->req->stop_at == MERGE_STOP_AFTER_JOURNAL)
			return 1;
	}
	m->res->new_generation = m->journal.new_generation;
	if (m->res->resumed && !m->target->is_raw && m->holder == m->target &&
	    relink_children(m, err))
		return -1;
	/*
	 * A range merge: journal, relink, data, retire, as the kernel does;
	 * into a raw base the relink waits for the data (below).
	 */
	if (m->above && !m->target->is_raw) {
		if (m->journal.state != DMC_JOURNAL_NONE && relink_above(m, err))
			return -1;
		if (m->req->stop_at == MERGE_STOP_AFTER_RELINK)
			return 1;
	}
	if (m->journal.state == DMC_JOURNAL_MERGING) {
		ret = data_phase(m, err);
		if (ret)
			return ret;
		if (m->req->stop_at == MERGE_STOP_AFTER_DATA)
			return 1;
	}
	/*
	 * Into a raw base the layer above the top source is relinked only
	 * once the data is in (the base has no header to hold that layer
	 * back before).  A range merge knows that layer; a resumed one
	 * (a live merge stopped early, 'check -r') finds it as a child of
	 * the top source, still, since the data only now is complete.
	 */
	if (m->above && m->target->is_raw) {
		if (relink_above(m, err))
			return -1;
		if (m->req->stop_at == MERGE_STOP_AFTER_RELINK)
			return 1;
	} else if (m->res->resumed && m->target->is_raw &&
		   relink_children(m, err)) {
		return -1;
	}
	ret = retire_phase(m, err);
	if (ret)
		return ret;
	if (m->req->delete_sources)
		return delete_sources(m, err);
	return 0;
}

/* dir_each_file() callback: refuse a child of the top source but A. */
struct range_check {
	const struct layer *top, *above;
};

static int refuse_other_child(const char *path, const struct stat *st,
			      void *arg, struct dmc_err *err)
{
	const struct range_check *rc = arg;
	struct dmc_err why;
	struct layer *l;
	bool child;

	if ((st->st_dev == rc->top->dev && st->st_ino == rc->top->ino) ||
	    (st->st_dev == rc->above->dev && st->st_ino == rc->above->ino))
		return 0;
	dmc_err_clear(&why);
	if (layer_open(path, 0, &l, &why))
		return 0;	/* not a dm-chain layer */
	child = child_of(l, rc->top);
	layer_close(l);
	if (child)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: also sits on %s, which this merge retires: it would be left unusable; nothing written",
			       path, rc->top->path);
	return 0;
}

/*
 * Whether FROM, not in chain C, is a layer a finished merge retired into
 * C's layer P: the same range merge issued again once it is done.
 */
static bool range_already_merged(const struct chain *c, unsigned int p,
				 const char *from)
{
	const struct layer *t = c->layers[p];
	struct layer *l;
	struct dmc_err ignored;
	bool done;

	if (t->is_raw || access(from, F_OK))
		return false;
	if (layer_open(from, 0, &l, &ignored))
		return false;
	done = !l->is_raw && l->hdr.state == DMC_STATE_MERGED_AWAY &&
	       !memcmp(l->hdr.merged_into_uuid, t->hdr.uuid, DMC_UUID_SIZE);
	layer_close(l);
	return done;
}

/*
 * Into a raw base the layer above the range is relinked once the data is
 * in, before the sources are marked: from then on FROM is no longer in
 * the leaf's chain, and FROM's own chain down to the raw base P tells
 * what is left.  A journal in the source right above P, from FROM: the
 * merge stopped after the relink, finished from that holder (its path in
 * HOLDER).  No journal and FROM merged away: done.
 */
enum raw_range_left { RAW_RANGE_NONE, RAW_RANGE_RESUME, RAW_RANGE_DONE };

static enum raw_range_left raw_range_leftover(const struct chain *c, unsigned int p,
					      const char *from, char **holder)
{
	const struct layer *raw = c->layers[p], *bottom;
	enum raw_range_left left = RAW_RANGE_NONE;
	struct dmc_err ignored;
	struct chain fc;
	int j;

	if (!raw->is_raw || access(from, F_OK))
		return RAW_RANGE_NONE;
	memset(&fc, 0, sizeof(fc));
	if (chain_open(from, CHAIN_ALLOW_MERGED_AWAY, &fc, &ignored))
		goto out;
	if (fc.nr < 2)
		goto out;
	bottom = fc.layers[fc.nr - 1];
	if (fc.layers[0]->is_raw || !bottom->is_raw ||
	    bottom->dev != raw->dev || bottom->ino != raw->ino)
		goto out;
	j = find_journal(&fc);
	if (j >= 0 && (unsigned int)j == fc.nr - 2 &&
	    !memcmp(fc.layers[j]->hdr.journal.top_uuid, fc.layers[0]->hdr.uuid,
		    DMC_UUID_SIZE)) {
		*holder = strdup(fc.layers[j]->path);
		if (*holder)
			left = RAW_RANGE_RESUME;
	} else if (j < 0 && fc.layers[0]->hdr.state == DMC_STATE_MERGED_AWAY) {
		left = RAW_RANGE_DONE;
	}
out:
	chain_close(&fc);
	return left;
}

/*
 * The layers of LEAF's chain that a range merge (--into P --from TOP)
 * needs: the top source's index K, the target's P, and with them the
 * layer above, A (K - 1).  Refusals write nothing.  A range into a raw
 * base stopped after its relink is no longer in the chain: HOLDER is set
 * to the layer its journal is in, K is not.
 */
static int pick_range(const struct merge_request *rq, const struct chain *c,
		      unsigned int *k_out, unsigned int *p_out, char **holder,
		      struct dmc_err *err)
{
	int p, k;

	p = find_layer_spec(c, rq->into);
	if (p < 0)
		return dmc_err(err, DMC_ERR_USAGE, "--into %s: not a layer of the chain of %s",
			       rq->into, rq->leaf);
	k = find_layer_spec(c, rq->from);
	if (k < 0 && (range_already_merged(c, (unsigned int)p, rq->from) ||
		      raw_range_leftover(c, (unsigned int)p, rq->from, holder) ==
		      RAW_RANGE_DONE))
		return dmc_err(err, DMC_ERR_MERGED,
			       "--from %s: already merged into %s; nothing to do",
			       rq->from, c->layers[p]->path);
	if (k < 0 && *holder)
		return 0;	/* into a raw base, stopped after the relink */
	if (k < 0)
		return dmc_err(err, DMC_ERR_USAGE, "--from %s: not a layer of the chain of %s",
			       rq->from, rq->leaf);
	if (k >= p)
		return dmc_err(err, DMC_ERR_USAGE,
			       "--from %s: the top layer of the range must be above the target %s",
			       rq->from, c->layers[p]->path);
	if (k == 0)
		return dmc_err(err, DMC_ERR_USAGE,
			       "--from %s: that is the leaf: an ordinary merge, run without --from",
			       rq->from);
	if (rq->depth && rq->depth != (unsigned int)(p - k))
		return dmc_err(err, DMC_ERR_USAGE, "%s: --depth %u and --into/--from disagree",
			       rq->leaf, rq->depth);
	*k_out = (unsigned int)k;
	*p_out = (unsigned int)p;
	return 0;
}

/*
 * A range merge: the chain is opened from the leaf (so that A is the
 * layer the leaf's chain has above the top source, not one searched for),
 * checked, closed, and the merge run as an ordinary merge of the top
 * source with depth P - K, which relinks A right after its journal (into
 * a raw base: after the data).  An unfinished one (this range's journal
 * in P, or in the bottom source for a raw P) is finished the same way;
 * one into a raw base stopped after the relink, from its holder.
 */
static int run_range(struct merge_ctx *m, struct dmc_err *err)
{
	const struct merge_request *rq = m->req;
	struct merge_request inner = *rq;
	struct chain c;
	struct range_check rc;
	unsigned int i, k = 0, p = 0, h;
	char *top = NULL, *above = NULL, *holder = NULL;
	int j, ret = -1;

	if (!rq->into)
		return dmc_err(err, DMC_ERR_USAGE,
			       "--from needs --into (the layer merged into)");
	memset(&c, 0, sizeof(c));
	if (chain_open(rq->leaf, CHAIN_ALLOW_MERGED_AWAY | CHAIN_ALLOW_LIVE_LEAP,
		       &c, err))
		goto out;
	if (pick_range(rq, &c, &k, &p, &holder, err))
		goto out;
	if (holder) {
		chain_close(&c);
		ret = merge_resume_holder(holder, rq, m->res, err);
		goto out;
	}
	/* The journal is in the target, or in the bottom source (raw). */
	h = c.layers[p]->is_raw ? p - 1 : p;
	j = find_journal(&c);
	if (j >= 0) {
		const struct layer_journal *jn = &c.layers[j]->hdr.journal;

		if ((unsigned int)j != h || jn->nr_sources != p - k ||
		    memcmp(jn->top_uuid, c.layers[k]->hdr.uuid, DMC_UUID_SIZE)) {
			dmc_err(err, DMC_ERR_JOURNAL,
				"%s: holds another unfinished merge; finish it first with 'chainctl layer check -r %s'",
				c.layers[j]->path, c.layers[j]->path);
			goto out;
		}
	} else {
		for (i = 0; i < c.nr; i++)
			if (!c.layers[i]->is_raw &&
			    c.layers[i]->hdr.state != DMC_STATE_VALID) {
				explain_merged_away(rq->leaf, c.layers[i]->path, err);
				goto out;
			}
		rc.top = c.layers[k];
		rc.above = c.layers[k - 1];
		if (dir_each_file(rc.top->path, refuse_other_child, &rc, err))
			goto out;
	}
	top = strdup(c.layers[k]->path);
	above = strdup(c.layers[k - 1]->path);
	if (!top || !above) {
		dmc_err_errno(err, ENOMEM, "%s", rq->leaf);
		goto out;
	}
	memcpy(m->top_uuid, c.layers[k]->hdr.uuid, DMC_UUID_SIZE);
	memcpy(m->above_uuid, c.layers[k - 1]->hdr.uuid, DMC_UUID_SIZE);
	memcpy(m->target_uuid, c.layers[p]->hdr.uuid, DMC_UUID_SIZE);
	m->target_raw = c.layers[p]->is_raw;
	/* Its locks go before the top source's chain takes them again. */
	chain_close(&c);
	inner.leaf = top;
	inner.depth = p - k;
	inner.into = NULL;
	inner.from = NULL;
	m->req = &inner;
	m->above = above;
	ret = run_locked(m, err);
	m->req = rq;
out:
	chain_close(&c);
	free(top);
	free(above);
	free(holder);
	return ret;
}

/* PATH itself holds a swap merge's journal (looked at without a lock). */
static bool leaf_holds_swap(const char *path)
{
	struct dmc_err ignored;
	struct layer *l;
	bool swap;

	dmc_err_clear(&ignored);
	if (layer_open(path, 0, &l, &ignored))
		return false;
	swap = layer_holds_swap(l);
	layer_close(l);
	return swap;
}

int merge_run(const struct merge_request *req, struct merge_result *res,
	      struct dmc_err *err)
{
	struct merge_ctx m;
	double start = now_seconds();
	int ret;

	memset(&m, 0, sizeof(m));
	memset(res, 0, sizeof(*res));
	m.req = req;
	m.res = res;
	if (!req->from && leaf_holds_swap(req->leaf)) {
		/* The swapped file, or T named as the leaf: finish it. */
		ret = swap_finish(req->leaf, req, res, err);
		res->seconds = now_seconds() - start;
		return ret;
	}
	ret = req->from ? run_range(&m, err) : run_locked(&m, err);
	chain_close(&m.chain);
	if (!ret && m.swap_holder)
		ret = swap_finish(m.swap_holder, req, res, err);
	free(m.swap_holder);
	free(m.above_found);
	res->seconds = now_seconds() - start;
	return ret;
}

/*
 * RETIRING with the sources gone (deleted by hand): the data is complete,
 * so the target can still be finished on its own.
 */
static int finish_orphaned_target(const char *holder, struct merge_result *res,
				  struct dmc_err *err)
{
	struct layer_header h;
	struct layer *t;
	int ret;

	if (layer_open(holder, LAYER_RDWR | LAYER_LOCK_EX, &t, err))
		return -1;
	h = t->hdr;
	h.generation = h.journal.new_generation;
	memset(&h.journal, 0, sizeof(h.journal));
	ret = layer_write_header(t, &h, err);
	res->resumed = true;
	res->new_generation = h.generation;
	res->block_size = 1ULL << h.block_shift;
	snprintf(res->target, sizeof(res->target), "%s", holder);
	layer_close(t);
	return ret;
}

int merge_resume_holder(const char *holder, const struct merge_request *tmpl,
			struct merge_result *res, struct dmc_err *err)
{
	struct merge_request req = *tmpl;
	bool retiring_target;
	struct layer *h;
	char *top;
	int ret;

	if (layer_open(holder, 0, &h, err))
		return -1;
	if (layer_holds_swap(h)) {
		layer_close(h);
		return swap_finish(holder, tmpl, res, err);
	}
	if (h->is_raw || h->hdr.journal.state == DMC_JOURNAL_NONE) {
		layer_close(h);
		return dmc_err(err, DMC_ERR_USAGE, "%s: no unfinished merge to finish",
			       holder);
	}
	retiring_target = layer_is_merge_target(h) &&
			  h->hdr.journal.state == DMC_JOURNAL_RETIRING;
	top = path_resolve_hint(holder, h->hdr.journal.top_path);
	layer_close(h);
	if (!top)
		return dmc_err_errno(err, ENOMEM, "%s", holder);
	if (retiring_target && access(top, F_OK) && errno == ENOENT) {
		free(top);
		memset(res, 0, sizeof(*res));
		return finish_orphaned_target(holder, res, err);
	}
	req.leaf = top;
	req.depth = 0;
	req.into = NULL;
	req.from = NULL;
	req.resume_only = true;
	ret = merge_run(&req, res, err);
	if (ret < 0 && err->kind == DMC_ERR_IO && err->errnum == ENOENT)
		snprintf(err->msg, sizeof(err->msg),
			 "%s: the top layer of its unfinished merge, %s, is missing",
			 holder, top);
	free(top);
	return ret;
}
