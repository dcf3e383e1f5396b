// SPDX-License-Identifier: GPL-2.0
/*
 * Swap merge: move the target's unshadowed blocks up into the source, then
 * let the source's file become the target.  The steps and their crash
 * states are in docs/format.md ("Swap merge"); merge.c chooses the side
 * and hands over here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "extent_list.h"
#include "layer_create.h"
#include "merge_plan.h"
#include "merge_swap.h"
#include "paths.h"
#include "rate_limit.h"

/* Durable commits: every second of work or GiB moved (as merge.c). */
#define SWAP_BATCH_BYTES	(1ULL << 30)
#define SWAP_BATCH_SECONDS	1.0
#define SWAP_CLOCK_RUNS		64

struct swap_ctx {
	const struct merge_request *rq;
	struct merge_result *res;
	struct layer *t;		/* T as it was; NULL when finishing
					 * from the swapped file */
	struct layer *s;		/* the source, then the swapped file */
	struct layer_journal j;		/* as T holds it */
	uint32_t shift;
	uint64_t nr_blocks;
	struct xfer_pipe *pipe;		/* the data phase's copies in flight */
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void swap_cost_count(const uint8_t *smap, const uint8_t *tmap,
		     uint64_t nr_blocks, uint64_t from, struct swap_cost *c)
{
	struct plan_source both[2] = { { smap }, { tmap } };
	uint64_t pos = from;
	struct plan_run run;

	memset(c, 0, sizeof(*c));
	while (plan_next_run(both, 2, nr_blocks, &pos, 0, &run)) {
		if (run.kind == PLAN_ABSENT)
			continue;
		if (run.source == 0) {
			c->down_runs++;
			c->down_blocks += run.count;
		} else {
			c->up_runs++;
			c->up_blocks += run.count;
		}
	}
}

bool swap_cheaper(const struct swap_cost *c, uint32_t block_shift)
{
	double down = (double)c->down_runs +
		      (double)(c->down_blocks << block_shift) / (1 << 20);
	double up = (double)c->up_runs +
		    (double)(c->up_blocks << block_shift) / (1 << 20);

	return c->down_runs && up * 4 <= down * 3;
}

static bool same_dir(const char *a, const char *b)
{
	char *da = strdup(a), *db = strdup(b);
	char *sa, *sb;
	struct stat x, y;
	bool same = false;

	if (da && db) {
		sa = strrchr(da, '/');
		sb = strrchr(db, '/');
		if (sa)
			*(sa == da ? sa + 1 : sa) = 0;
		if (sb)
			*(sb == db ? sb + 1 : sb) = 0;
		same = !stat(sa ? da : ".", &x) && !stat(sb ? db : ".", &y) &&
		       x.st_dev == y.st_dev && x.st_ino == y.st_ino;
	}
	free(da);
	free(db);
	return same;
}

/* FD's extended attribute names ("a\0b\0"), NULL with *N = 0 for none. */
static char *xattr_names(int fd, ssize_t *n)
{
	char *names = NULL;
	ssize_t size;

	for (;;) {
		size = flistxattr(fd, NULL, 0);
		if (size <= 0) {
			/* No support for them counts as none; other errors
			 * as something we cannot compare. */
			*n = size < 0 && errno != ENOTSUP ? -1 : 0;
			return NULL;
		}
		names = malloc(size);
		if (!names) {
			*n = -1;
			return NULL;
		}
		*n = flistxattr(fd, names, size);
		if (*n >= 0)
			return names;
		free(names);
		if (errno != ERANGE) {	/* ERANGE: one was added meanwhile */
			*n = -1;
			return NULL;
		}
	}
}

/* NAME has the same value on A and B (both must have it). */
static bool xattr_same(int a, int b, const char *name)
{
	ssize_t na = fgetxattr(a, name, NULL, 0), nb = fgetxattr(b, name, NULL, 0);
	char *va, *vb;
	bool same;

	if (na < 0 || nb < 0 || na != nb)
		return false;
	if (!na)
		return true;
	va = malloc(na);
	vb = malloc(nb);
	same = va && vb && fgetxattr(a, name, va, na) == na &&
	       fgetxattr(b, name, vb, nb) == nb && !memcmp(va, vb, na);
	free(va);
	free(vb);
	return same;
}

/* The first extended attribute in which T and S differ, in BUF; NULL if none. */
static const char *xattr_differs(int t, int s, char *buf, size_t len)
{
	ssize_t nt, ns, i;
	char *lt = xattr_names(t, &nt), *ls = xattr_names(s, &ns);
	const char *why = NULL;

	if (nt < 0 || ns < 0) {
		why = "the extended attributes (ACLs, labels) of the two files cannot be read";
	} else if (nt != ns) {
		why = "the two files have different extended attributes (ACLs, labels)";
	} else {
		for (i = 0; i < nt; i += strlen(lt + i) + 1) {
			if (!xattr_same(t, s, lt + i)) {
				snprintf(buf, len, "the extended attribute %s differs between the two files",
					 lt + i);
				why = buf;
				break;
			}
		}
	}
	free(lt);
	free(ls);
	return why;
}

/*
 * The inode flags a user sets with chattr that change how the path's file
 * behaves (append-only, immutable, no copy-on-write, compression,
 * synchronous writes, no atime, no dump), and its project ID (project
 * quotas).  A file system with neither counts as having none of them.
 */
#define SWAP_FLAGS	(FS_APPEND_FL | FS_IMMUTABLE_FL | FS_NOCOW_FL | \
			 FS_COMPR_FL | FS_NOCOMP_FL | FS_SYNC_FL | \
			 FS_NOATIME_FL | FS_NODUMP_FL | FS_DAX_FL | \
			 FS_PROJINHERIT_FL)

static int inode_flags(int fd, unsigned int *flags, unsigned int *projid)
{
	struct fsxattr fsx;
	int f = 0;

	*flags = *projid = 0;
	if (!ioctl(fd, FS_IOC_GETFLAGS, &f))
		*flags = (unsigned int)f & SWAP_FLAGS;
	else if (errno != ENOTTY && errno != EOPNOTSUPP && errno != EINVAL)
		return -1;
	if (!ioctl(fd, FS_IOC_FSGETXATTR, &fsx))
		*projid = fsx.fsx_projid;
	else if (errno != ENOTTY && errno != EOPNOTSUPP && errno != EINVAL)
		return -1;
	return 0;
}

/* The inode flags or project ID in which T and S differ, in BUF; NULL if none. */
static const char *flags_differ(int t, int s, char *buf, size_t len)
{
	unsigned int tf, tp, sf, sp;

	if (inode_flags(t, &tf, &tp) || inode_flags(s, &sf, &sp))
		return "the inode flags (chattr) of the two files cannot be read";
	if (tf != sf) {
		snprintf(buf, len, "the target's inode flags (chattr) 0x%x differ from the source's 0x%x",
			 tf, sf);
		return buf;
	}
	if (tp != sp) {
		snprintf(buf, len, "the target's project ID %u differs from the source's %u",
			 tp, sp);
		return buf;
	}
	return NULL;
}

const char *swap_refusal(const struct layer *t, const struct layer *s,
			 char *buf, size_t len)
{
	struct stat ts, ss;
	const char *why;

	if (t->is_raw)
		return "the target is a raw image (it has no header to hand over)";
	if (s->is_raw || s->hdr.parent_kind != DMC_PARENT_LAYER)
		return "the source is not a layer on the target";
	if (t->dev != s->dev || !same_dir(t->path, s->path))
		return "the source and the target are not in one directory (the swap renames one over the other)";
	/*
	 * The swap puts the source's file at the target's path: whatever
	 * the path shows besides data (owner, permissions, ACLs, labels,
	 * inode flags, project) must already be the same, and no other name
	 * may hold the target.
	 */
	if (fstat(t->fd, &ts) || fstat(s->fd, &ss))
		return "the two files cannot be examined";
	if (ts.st_nlink != 1 || ss.st_nlink != 1)
		return "a file has another hard link (it would keep the old file)";
	if (ts.st_uid != ss.st_uid || ts.st_gid != ss.st_gid) {
		snprintf(buf, len, "the target's owner %u:%u differs from the source's %u:%u",
			 (unsigned int)ts.st_uid, (unsigned int)ts.st_gid,
			 (unsigned int)ss.st_uid, (unsigned int)ss.st_gid);
		return buf;
	}
	if ((ts.st_mode & 07777) != (ss.st_mode & 07777)) {
		snprintf(buf, len, "the target's permissions %04o differ from the source's %04o",
			 (unsigned int)(ts.st_mode & 07777), (unsigned int)(ss.st_mode & 07777));
		return buf;
	}
	why = flags_differ(t->fd, s->fd, buf, len);
	return why ? why : xattr_differs(t->fd, s->fd, buf, len);
}

/* Write the journal into T (the other slot, synced). */
static int write_target_journal(struct swap_ctx *c, struct dmc_err *err)
{
	struct layer_header h = c->t->hdr;

	h.journal = c->j;
	return layer_write_header(c->t, &h, err);
}

/* S's data, then its map pages [first, end), then T's cursor. */
static int commit(struct swap_ctx *c, uint64_t first, uint64_t end,
		  uint64_t cursor, struct dmc_err *err)
{
	if (xfer_pipe_drain(c->pipe, err) ||
	    layer_commit_blocks(c->s, first, end > first ? end - first : 0, err))
		return -1;
	c->j.cursor = cursor;
	return write_target_journal(c, err);
}

/* Move one run of T's blocks into S at the same index. */
static int move_up(struct swap_ctx *c, const struct plan_run *run,
		   struct dmc_err *err)
{
	struct layer *s = c->s, *t = c->t;
	struct xfer_file dst = { s->fd, s->path }, src = { t->fd, t->path };
	struct xfer_opts xo = { c->rq->mode, false, c->pipe, &c->res->xfer };
	uint64_t len = run->count << c->shift, b;
	unsigned int st = run->kind == PLAN_DATA ? DMC_BLOCK_DATA : DMC_BLOCK_ZERO;
	int r;

	if (run->kind == PLAN_ZERO)
		r = xfer_zero_range(&dst, layer_block_offset(s, run->start, c->shift),
				    len, true, err);
	else
		r = xfer_range(&src, layer_block_offset(t, run->start, c->shift), &dst,
			       layer_block_offset(s, run->start, c->shift), len,
			       &xo, err);
	if (r)
		return -1;
	for (b = run->start; b < run->start + run->count; b++)
		dmc_map_set(s->map, b, st);
	if (run->kind == PLAN_DATA) {
		c->res->data_blocks += run->count;
		c->res->data_runs++;
	} else {
		c->res->zero_blocks += run->count;
	}
	return 0;
}

/*
 * From the cursor: every run T provides where S is ABSENT moves up.  S's
 * view never changes (a block it lacked showed T's, and now holds the
 * same), so re-running from any cursor is idempotent.  The last commit
 * enters RETIRING.
 */
static int move_up_runs(struct swap_ctx *c, struct dmc_err *err)
{
	struct plan_source both[2] = { { c->s->map }, { c->t->map } };
	uint64_t batch = c->rq->batch_runs ? c->rq->batch_runs : UINT64_MAX;
	uint64_t pos = c->j.cursor, runs = 0, bytes = 0;
	uint64_t first = UINT64_MAX, end = 0;
	uint64_t done = 0, max_run;
	double last = now_seconds();
	struct swap_cost left = { 0 };
	struct rate_limit rl;
	struct plan_run run;
	bool due;

	rate_limit_start(&rl, c->rq->rate_bytes_per_s);
	max_run = plan_max_run(c->rq->progress, c->shift);
	if (c->rq->progress)	/* the work left, for the bar */
		swap_cost_count(c->s->map, c->t->map, c->nr_blocks, pos, &left);
	while (plan_next_run(both, 2, c->nr_blocks, &pos, max_run, &run)) {
		if (run.kind == PLAN_ABSENT || run.source != 1)
			continue;
		due = runs && (runs >= batch || bytes >= SWAP_BATCH_BYTES ||
			       (!c->rq->batch_runs && runs % SWAP_CLOCK_RUNS == 0 &&
				now_seconds() - last >= SWAP_BATCH_SECONDS));
		if (due) {
			if (commit(c, first, end, run.start, err))
				return -1;
			if (c->rq->stop_at == MERGE_STOP_AFTER_BATCH)
				return 1;
			last = now_seconds();
			runs = bytes = 0;
			first = UINT64_MAX;
			end = 0;
		}
		if (move_up(c, &run, err))
			return -1;
		if (run.kind == PLAN_DATA)
			rate_limit_account(&rl, run.count << c->shift);
		if (run.start < first)
			first = run.start;
		end = run.start + run.count;
		runs++;
		bytes += run.count << c->shift;
		done += run.count;
		if (c->rq->progress)
			c->rq->progress(done, left.up_blocks, c->rq->progress_arg);
	}
	c->j.state = DMC_JOURNAL_RETIRING;
	if (commit(c, first, end, c->nr_blocks, err))
		return -1;
	if (c->rq->stop_at == MERGE_STOP_AFTER_BATCH ||
	    c->rq->stop_at == MERGE_STOP_AFTER_DATA)
		return 1;
	return 0;
}

/* The data phase, its copies going through a pipe that every commit
 * drains, freed on every way out; without one they are made unpiped. */
static int data_phase(struct swap_ctx *c, struct dmc_err *err)
{
	int r;

	c->pipe = xfer_pipe_new(NULL);	/* NULL: copy unpiped, slower */
	r = move_up_runs(c, err);
	xfer_pipe_free(c->pipe);
	c->pipe = NULL;
	return r;
}

/*
 * Before S takes T's identity: S's map on disk holds every block T
 * provides (and its own), so the swapped file shows what T plus S showed.
 */
static int verify_up(struct swap_ctx *c, struct dmc_err *err)
{
	struct layer *s = c->s, *t = c->t;
	uint8_t *disk;
	uint64_t b;
	int ret = 0;

	disk = layer_read_disk_map(s, err);
	if (!disk)
		return -1;
	for (b = 0; b < c->nr_blocks; b++) {
		if (dmc_map_get(t->map, b) == DMC_BLOCK_ABSENT ||
		    dmc_map_get(disk, b) != DMC_BLOCK_ABSENT)
			continue;
		ret = dmc_err(err, DMC_ERR_CORRUPT,
			      "%s: block %llu of %s is not in its map on disk: not swapping (nothing was removed)",
			      s->path, (unsigned long long)b, t->path);
		break;
	}
	free(disk);
	return ret;
}

/* PATH relative to the directory of FILE into OUT (a journal path field). */
static int rel_path(const char *file, const char *path, char *out,
		    struct dmc_err *err)
{
	return path_relative_field(file, path, out, DMC_JOURNAL_PATH_MAX, err);
}

/*
 * The merged-away marker is made before S's file changes identity, under
 * a name of its own next to S ("." S ".swap-marker"), and linked in at
 * S's path once S's file is gone from there.
 */
static char *marker_tmp(const char *spath)
{
	const char *base = strrchr(spath, '/');
	size_t dir = base ? (size_t)(base - spath + 1) : 0;
	char *out;

	base = base ? base + 1 : spath;
	if (asprintf(&out, "%.*s.%s.swap-marker", (int)dir, spath, base) < 0)
		return NULL;
	return out;
}

/* S's header, merged away into T, in a new file with no data. */
static int make_marker(struct swap_ctx *c, struct dmc_err *err)
{
	struct layer_header h = c->s->hdr;
	char *tmp = marker_tmp(c->s->path);
	int ret;

	if (!tmp)
		return dmc_err_errno(err, ENOMEM, "%s", c->s->path);
	h.state = DMC_STATE_MERGED_AWAY;
	memcpy(h.merged_into_uuid, c->t->hdr.uuid, DMC_UUID_SIZE);
	memset(&h.journal, 0, sizeof(h.journal));
	if (unlink(tmp) && errno != ENOENT)	/* an earlier attempt's */
		ret = dmc_err_errno(err, errno, "%s: cannot replace", tmp);
	else
		ret = layer_create_with_header(tmp, &h, err);
	free(tmp);
	return ret;
}

/*
 * The marker to S's path (link: never over a file that is there), or
 * removed with --delete.  A marker deleted meanwhile leaves S's path empty.
 */
static int place_marker(struct swap_ctx *c, const char *spath, struct dmc_err *err)
{
	char *tmp = marker_tmp(spath);
	int ret = 0;

	if (!tmp)
		return dmc_err_errno(err, ENOMEM, "%s", spath);
	if (!c->rq->delete_sources && link(tmp, spath) && errno != ENOENT &&
	    errno != EEXIST &&
	    /* No hard links here: a rename, unless something is there. */
	    (access(spath, F_OK) == 0 || errno != ENOENT || rename(tmp, spath)))
		ret = dmc_err_errno(err, errno, "%s: cannot put the merged-away marker there",
				    spath);
	if (!ret && unlink(tmp) && errno != ENOENT)
		ret = dmc_err_errno(err, errno, "%s: cannot remove", tmp);
	if (!ret)
		fsync_parent_dir(spath);
	free(tmp);
	return ret;
}

/*
 * S becomes T: T's uuid and parent, the new generation, and the journal
 * (RETIRING) with its record of where the file goes: T's path.
 */
static int write_swapped_header(struct swap_ctx *c, struct dmc_err *err)
{
	const struct layer_header *th = &c->t->hdr;
	struct layer_header h = c->s->hdr;

	memcpy(h.uuid, th->uuid, DMC_UUID_SIZE);
	h.generation = c->j.new_generation;
	h.state = DMC_STATE_VALID;
	memset(h.merged_into_uuid, 0, DMC_UUID_SIZE);
	h.parent_kind = th->parent_kind;
	memcpy(h.parent_uuid, th->parent_uuid, DMC_UUID_SIZE);
	h.parent_generation = th->parent_generation;
	h.parent_raw_size = th->parent_raw_size;
	memcpy(h.parent_path, th->parent_path, DMC_PATH_MAX);
	h.journal = c->j;
	h.compat_features &= ~DMC_COMPAT_EXTENT_LIST;	/* S's, if any */
	memset(&h.xlist, 0, sizeof(h.xlist));
	if (rel_path(c->s->path, c->s->path, h.journal.top_path, err) ||
	    rel_path(c->s->path, c->t->path, h.journal.swap_target_path, err))
		return -1;
	return layer_write_header(c->s, &h, err);
}

/*
 * The swapped file (c->s) to DEST, T's path, unless it is there already;
 * the marker to SPATH; then its journal ends.
 */
static int take_place(struct swap_ctx *c, const char *dest, const char *spath,
		      bool renamed, struct dmc_err *err)
{
	struct layer_header h;
	char *newpath;

	if (!renamed) {
		if (rename(c->s->path, dest))
			return dmc_err_errno(err, errno, "%s: cannot rename to %s",
					     c->s->path, dest);
		fsync_parent_dir(dest);
		newpath = strdup(dest);
		if (!newpath)
			return dmc_err_errno(err, ENOMEM, "%s", dest);
		free(c->s->path);
		c->s->path = newpath;
		if (c->rq->stop_at == MERGE_STOP_AFTER_RENAME)
			return 1;
	}
	if (place_marker(c, spath, err))
		return -1;
	h = c->s->hdr;
	memset(&h.journal, 0, sizeof(h.journal));
	if (layer_write_header(c->s, &h, err))
		return -1;
	c->res->new_generation = h.generation;
	c->res->deleted = c->rq->delete_sources;
	snprintf(c->res->target, sizeof(c->res->target), "%s", dest);
	return 0;
}

/* From T (old generation) and S (its source): data, swap, rename, end. */
static int run_from_target(struct swap_ctx *c, struct dmc_err *err)
{
	char *dest, *spath;
	int ret;

	c->shift = c->t->hdr.block_shift;
	c->nr_blocks = layer_header_nr_blocks(&c->t->hdr);
	/* S's map gains T's blocks with no journal in S: drop its list. */
	if (c->j.state == DMC_JOURNAL_MERGING &&
	    layer_drop_extent_list(c->s, err))
		return -1;
	if (c->j.state == DMC_JOURNAL_MERGING) {
		ret = data_phase(c, err);
		if (ret)
			return ret;
	}
	if (verify_up(c, err) || make_marker(c, err) || write_swapped_header(c, err))
		return -1;
	if (c->rq->stop_at == MERGE_STOP_AFTER_SWAP_HEADER)
		return 1;
	dest = strdup(c->t->path);
	spath = strdup(c->s->path);
	ret = dest && spath ? take_place(c, dest, spath, false, err) :
			      dmc_err_errno(err, ENOMEM, "%s", c->t->path);
	free(dest);
	free(spath);
	return ret;
}

static void fill_result(struct swap_ctx *c, const struct layer *t)
{
	c->res->swapped = true;
	c->res->nr_sources = 1;
	c->res->block_size = 1ULL << t->hdr.block_shift;
	c->res->new_generation = c->j.new_generation;
	snprintf(c->res->target, sizeof(c->res->target), "%s", t->path);
}

int swap_merge(struct layer *t, struct layer *s, const struct merge_request *rq,
	       struct merge_result *res, struct dmc_err *err)
{
	struct swap_ctx c = { .rq = rq, .res = res, .t = t, .s = s };

	if (rel_path(t->path, s->path, c.j.top_path, err) ||
	    rel_path(t->path, t->path, c.j.swap_target_path, err))
		return -1;
	c.j.state = DMC_JOURNAL_MERGING;
	c.j.nr_sources = 1;
	c.j.old_generation = t->hdr.generation;
	c.j.new_generation = t->hdr.generation + 1;
	c.j.flags = DMC_JOURNAL_F_SWAP;
	memcpy(c.j.bottom_uuid, s->hdr.uuid, DMC_UUID_SIZE);
	memcpy(c.j.top_uuid, s->hdr.uuid, DMC_UUID_SIZE);
	fill_result(&c, t);
	if (write_target_journal(&c, err))
		return -1;
	if (rq->stop_at == MERGE_STOP_AFTER_JOURNAL)
		return 1;
	return run_from_target(&c, err);
}

/*
 * F is the swapped file (generation new): to T's path if not there yet,
 * checking that what is there is T as it was; the marker; the end.
 */
static int finish_swapped(struct swap_ctx *c, struct dmc_err *err)
{
	struct layer *f = c->s, *old = NULL;
	char *dest, *spath;
	struct stat st;
	bool renamed;
	int ret;

	dest = path_resolve_hint(f->path, f->hdr.journal.swap_target_path);
	spath = path_resolve_hint(f->path, f->hdr.journal.top_path);
	if (!dest || !spath) {
		ret = dmc_err_errno(err, ENOMEM, "%s", f->path);
		goto out;
	}
	/* Looked at before opening: F's own lock would refuse a second one. */
	renamed = !stat(dest, &st) && st.st_dev == f->dev && st.st_ino == f->ino;
	if (!renamed) {
		if (layer_open(dest, LAYER_RDWR | LAYER_LOCK_EX, &old, err) == 0) {
			if (memcmp(old->hdr.uuid, f->hdr.uuid, DMC_UUID_SIZE) ||
			    old->hdr.generation != c->j.old_generation ||
			    !layer_holds_swap(old)) {
				ret = dmc_err(err, DMC_ERR_JOURNAL,
					      "%s: the swapped image of %s, but %s is another layer now: not replacing it",
					      f->path, dest, dest);
				goto out;
			}
		} else if (err->kind != DMC_ERR_IO || err->errnum != ENOENT) {
			ret = -1;	/* busy, unreadable: leave both be */
			goto out;
		}
		/* Else no file at DEST: T was deleted by hand; F holds all of it. */
		dmc_err_clear(err);
	}
	ret = take_place(c, dest, spath, renamed, err);
out:
	if (old)
		layer_close(old);
	free(dest);
	free(spath);
	return ret;
}

int swap_finish(const char *path, const struct merge_request *rq,
		struct merge_result *res, struct dmc_err *err)
{
	struct swap_ctx c = { .rq = rq, .res = res };
	struct layer *f, *s = NULL;
	char *spath = NULL;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	res->resumed = true;
	if (layer_open(path, LAYER_RDWR | LAYER_LOCK_EX | LAYER_LOAD_MAP, &f, err))
		return -1;
	if (!layer_holds_swap(f)) {
		layer_close(f);
		return dmc_err(err, DMC_ERR_USAGE, "%s: holds no swap merge", path);
	}
	c.j = f->hdr.journal;
	if (f->hdr.generation == c.j.new_generation) {
		/* The swapped file: its data is complete. */
		c.s = f;
		fill_result(&c, f);
		ret = finish_swapped(&c, err);
		layer_close(f);
		return ret;
	}
	if (f->hdr.generation != c.j.old_generation) {
		layer_close(f);
		return dmc_err(err, DMC_ERR_CORRUPT,
			       "%s: swap merge journal from generation %llu, but the layer is at %llu",
			       path, (unsigned long long)c.j.old_generation,
			       (unsigned long long)f->hdr.generation);
	}
	c.t = f;
	fill_result(&c, f);
	spath = path_resolve_hint(f->path, c.j.top_path);
	if (!spath) {
		ret = dmc_err_errno(err, ENOMEM, "%s", path);
		goto out;
	}
	if (layer_open(spath, LAYER_RDWR | LAYER_LOCK_EX | LAYER_LOAD_MAP, &s, err)) {
		if (err->kind == DMC_ERR_IO && err->errnum == ENOENT)
			snprintf(err->msg, sizeof(err->msg),
				 "%s: the source of its unfinished swap merge, %s, is missing; the target alone does not hold the merged data",
				 path, spath);
		goto out;
	}
	c.s = s;
	if (!memcmp(s->hdr.uuid, c.j.bottom_uuid, DMC_UUID_SIZE) &&
	    s->hdr.parent_kind == DMC_PARENT_LAYER &&
	    !memcmp(s->hdr.parent_uuid, f->hdr.uuid, DMC_UUID_SIZE) &&
	    s->hdr.parent_generation == c.j.old_generation &&
	    s->hdr.state == DMC_STATE_VALID) {
		ret = run_from_target(&c, err);
	} else if (!memcmp(s->hdr.uuid, f->hdr.uuid, DMC_UUID_SIZE) &&
		   s->hdr.generation == c.j.new_generation && layer_holds_swap(s)) {
		/* Swapped, not yet renamed. */
		ret = take_place(&c, f->path, spath, false, err);
	} else {
		ret = dmc_err(err, DMC_ERR_JOURNAL,
			      "%s: %s is neither the source of its swap merge nor the swapped image; not touching either",
			      path, spath);
	}
out:
	if (s)
		layer_close(s);
	layer_close(f);
	free(spath);
	return ret;
}
