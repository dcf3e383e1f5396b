// SPDX-License-Identifier: GPL-2.0
/*
 * Exporting a dm-chain chain as a qcow2 backing chain: see export_qcow2.h.
 * Per layer, base first: `qemu-img create` (backing: the previous image,
 * by its name in the same directory), then qemu-io writes the layer's runs
 * in batches: `write -z OFF LEN` for a zero run (a zero cluster hides the
 * backing file), `write -s FILE OFF LEN` for a data run, FILE holding the
 * run's bytes (cloned out of the layer where the filesystem can, else
 * copied) in a scratch directory inside DESTDIR.  A batch is one qemu-io
 * process for up to BATCH_CMDS runs or BATCH_BYTES of data, so thousands
 * of runs do not fork thousands of processes.  A raw base becomes a qcow2
 * base through `qemu-img convert`.  Last, `qemu-img check` on each image,
 * written as DESTDIR/.NAME.qcow2.part and renamed to NAME.qcow2 once
 * checked (never over an existing file).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dm-chain/format.h>

#include "chain.h"
#include "export_qcow2.h"
#include "merge_plan.h"
#include "qemu_img.h"

/* One qemu-io process: at most this many runs, this much data. */
#define BATCH_CMDS	1024
#define BATCH_BYTES	(256ULL << 20)
/* qemu-io reads a `write -s` run into memory whole: data pieces stay
 * small; a zero run costs nothing but must stay under qemu's request
 * limit. */
#define PIECE_DATA	(32ULL << 20)
#define PIECE_ZERO	(1ULL << 30)

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void export_result_free(struct export_result *res)
{
	unsigned int i;

	for (i = 0; res->images && i < res->nr; i++) {
		free(res->images[i].layer);
		free(res->images[i].image);
	}
	free(res->images);
	res->images = NULL;
	res->nr = 0;
}

struct batch {
	const struct export_request *rq;
	const char *scratch;		/* the run files' directory */
	int scratch_fd;
	const char *out_abs;		/* the image qemu-io writes */
	const char *out;		/* the same, for messages */
	char *cmds[BATCH_CMDS];
	unsigned int nr, files;
	uint64_t bytes;
	struct export_result *res;
	uint64_t done, total;		/* data bytes, for rq->progress */
};

static void progress(struct batch *b, uint64_t bytes)
{
	b->done += bytes;
	if (b->rq->progress)
		b->rq->progress(b->done, b->total, b->rq->progress_arg);
}

static void batch_clear(struct batch *b)
{
	char name[32];
	unsigned int i;

	for (i = 0; i < b->nr; i++)
		free(b->cmds[i]);
	for (i = 0; i < b->files; i++) {
		snprintf(name, sizeof(name), "run%u", i);
		unlinkat(b->scratch_fd, name, 0);
	}
	b->nr = b->files = 0;
	b->bytes = 0;
}

/* Run the batch's commands in one qemu-io. */
static int batch_flush(struct batch *b, struct dmc_err *err)
{
	struct qtool_opts o = { .cwd = b->scratch, .stop = b->rq->stop };
	char *argv[4 + 2 * BATCH_CMDS + 2];
	unsigned int i, n = 0;
	int ret;

	if (!b->nr)
		return 0;
	argv[n++] = "qemu-io";
	argv[n++] = "-f";
	argv[n++] = "qcow2";
	for (i = 0; i < b->nr; i++) {
		argv[n++] = "-c";
		argv[n++] = b->cmds[i];
	}
	argv[n++] = (char *)b->out_abs;
	argv[n] = NULL;
	ret = qtool_run(argv, &o, b->out, NULL, err);
	b->res->qemu_io_runs++;
	if (!ret)
		progress(b, b->bytes);
	batch_clear(b);
	return ret;
}

static int batch_add(struct batch *b, char *cmd, uint64_t data, struct dmc_err *err)
{
	if (!cmd)
		return dmc_err_errno(err, ENOMEM, "%s", b->out);
	b->cmds[b->nr++] = cmd;
	b->bytes += data;
	if (b->nr == BATCH_CMDS || b->bytes >= BATCH_BYTES)
		return batch_flush(b, err);
	return 0;
}

static char *fmt_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_cmd(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

/* A data piece: its bytes into a run file, then `write -s`. */
static int add_data(struct batch *b, struct layer *l, uint64_t file_off,
		    uint64_t off, uint64_t len, struct dmc_err *err)
{
	struct xfer_file src = { l->fd, l->path }, dst;
	struct xfer_opts xo = { XFER_AUTO, true, NULL, &b->res->xfer };
	char name[32];
	int fd, ret;

	snprintf(name, sizeof(name), "run%u", b->files);
	fd = openat(b->scratch_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return dmc_err_errno(err, errno, "%s/%s: cannot create", b->scratch, name);
	b->files++;
	dst.fd = fd;
	dst.path = name;
	ret = ftruncate(fd, (off_t)len) ? dmc_err_errno(err, errno, "%s/%s: cannot size",
							b->scratch, name) :
	      xfer_range(&src, file_off, &dst, 0, len, &xo, err);
	close(fd);
	if (ret)
		return -1;
	return batch_add(b, fmt_cmd("write -q -s %s %llu %llu", name,
				    (unsigned long long)off, (unsigned long long)len),
			 len, err);
}

/* Every DATA and ZERO run of layer L into the image the batch writes. */
static int write_runs(struct batch *b, struct layer *l, struct export_image *im,
		      struct dmc_err *err)
{
	struct plan_source src = { l->map };
	uint32_t shift = l->hdr.block_shift;
	uint64_t nr_blocks = layer_header_nr_blocks(&l->hdr), pos = 0;
	uint64_t size = l->hdr.virtual_size, off, len, piece;
	struct plan_run run;

	while (plan_next_run(&src, 1, nr_blocks, &pos, 0, &run)) {
		if (run.kind == PLAN_ABSENT)
			continue;
		off = run.start << shift;
		len = run.count << shift;
		if (off + len > size)
			len = size - off;
		if (run.kind == PLAN_DATA)
			im->data_bytes += len;
		else
			im->zero_bytes += len;
		for (; len; off += piece, len -= piece) {
			if (b->rq->stop && *b->rq->stop)
				return dmc_err(err, DMC_ERR_IO, "%s: interrupted", b->out);
			if (run.kind == PLAN_ZERO) {
				piece = len < PIECE_ZERO ? len : PIECE_ZERO;
				if (batch_add(b, fmt_cmd("write -q -z %llu %llu",
							 (unsigned long long)off,
							 (unsigned long long)piece), 0, err))
					return -1;
			} else {
				piece = len < PIECE_DATA ? len : PIECE_DATA;
				if (add_data(b, l, l->hdr.data_offset + off, off, piece, err))
					return -1;
			}
		}
	}
	return batch_flush(b, err);
}

/* Bytes of L's DATA blocks (the last one maybe partial). */
static uint64_t layer_data_bytes(const struct layer *l)
{
	struct plan_source src = { l->map };
	uint64_t pos = 0, n = 0, off, len;
	struct plan_run run;

	while (plan_next_run(&src, 1, layer_header_nr_blocks(&l->hdr), &pos, 0, &run)) {
		if (run.kind != PLAN_DATA)
			continue;
		off = run.start << l->hdr.block_shift;
		len = run.count << l->hdr.block_shift;
		n += off + len > l->hdr.virtual_size ? l->hdr.virtual_size - off : len;
	}
	return n;
}

/* The name the next image records for its backing file: the previous
 * image's, in the same directory ("./" when qemu would read a protocol). */
static char *backing_name(const char *image)
{
	const char *base = strrchr(image, '/');

	base = base ? base + 1 : image;
	return strchr(base, ':') ? qimg_plain_path(base) : strdup(base);
}

static int create_image(const struct export_request *rq, const struct chain *c,
			unsigned int depth_from_base, const char *out_abs,
			const char *prev_abs, const char *out, struct dmc_err *err)
{
	const struct layer *l = c->layers[c->nr - 1 - depth_from_base];
	struct qtool_opts o = { .stop = rq->stop };
	char cluster[64], size[32], *back = prev_abs ? backing_name(prev_abs) : NULL;
	char *src = l->is_raw ? qimg_plain_path(l->path) : NULL;
	int ret;

	snprintf(cluster, sizeof(cluster), "cluster_size=%llu",
		 1ULL << c->block_shift);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)c->virtual_size);
	if ((prev_abs && !back) || (l->is_raw && !src)) {
		ret = dmc_err_errno(err, ENOMEM, "%s", out);
	} else if (l->is_raw) {
		/* A raw base holds every block: its bytes, zeros left out. */
		char *argv[] = { "qemu-img", "convert", "-f", "raw", "-O", "qcow2",
				 "-o", cluster, src, (char *)out_abs, NULL };

		ret = qtool_run(argv, &o, out, NULL, err);
	} else if (back) {
		char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-o", cluster,
				 "-b", back, "-F", "qcow2", (char *)out_abs, size, NULL };

		ret = qtool_run(argv, &o, out, NULL, err);
	} else {
		char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-o", cluster,
				 (char *)out_abs, size, NULL };

		ret = qtool_run(argv, &o, out, NULL, err);
	}
	free(back);
	free(src);
	return ret;
}

static int check_image(const struct export_request *rq, const char *out_abs,
		       const char *out, struct dmc_err *err)
{
	char *argv[] = { "qemu-img", "check", "-q", "-f", "qcow2", (char *)out_abs, NULL };
	struct qtool_opts o = { .stop = rq->stop };

	return qtool_run(argv, &o, out, NULL, err);
}

/* DESTDIR/STEM.qcow2 for every layer, none existing, no two the same. */
static int name_images(const struct export_request *rq, const struct chain *c,
		       struct export_result *res, struct dmc_err *err)
{
	unsigned int i, j;
	struct stat st;

	res->images = calloc(c->nr, sizeof(*res->images));
	if (!res->images)
		return dmc_err_errno(err, ENOMEM, "%s", rq->leaf);
	res->nr = c->nr;
	for (i = 0; i < c->nr; i++) {
		const struct layer *l = c->layers[c->nr - 1 - i];
		struct export_image *im = &res->images[i];
		char *stem = qimg_stem(l->path);

		im->layer = strdup(l->path);
		if (!stem || !im->layer ||
		    asprintf(&im->image, "%s/%s.qcow2", rq->destdir, stem) < 0) {
			im->image = NULL;
			free(stem);
			return dmc_err_errno(err, ENOMEM, "%s", rq->leaf);
		}
		free(stem);
		for (j = 0; j < i; j++)
			if (!strcmp(res->images[j].image, im->image))
				return dmc_err(err, DMC_ERR_USAGE,
					       "%s and %s would both become %s: rename one first",
					       res->images[j].layer, im->layer, im->image);
		if (!lstat(im->image, &st))
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: exists; nothing was overwritten (export into another directory, or move it away)",
				       im->image);
	}
	return 0;
}

int export_qcow2_chain(const struct export_request *rq, struct export_result *res,
		       struct dmc_err *err)
{
	char destabs[PATH_MAX], *scratch = NULL, **abs = NULL, *part = NULL;
	double start = now_seconds();
	bool part_live = false;
	struct batch b = { .rq = rq, .scratch_fd = -1, .res = res };
	unsigned int i, created = 0;
	struct chain c;
	struct stat st;
	int ret = -1, fd;

	memset(res, 0, sizeof(*res));
	if (chain_open(rq->leaf, CHAIN_LOAD_MAPS | CHAIN_LOCK_SH, &c, err))
		goto out;
	res->virtual_size = c.virtual_size;
	res->block_shift = c.block_shift;
	if (stat(rq->destdir, &st) || !realpath(rq->destdir, destabs)) {
		dmc_err_errno(err, errno, "%s", rq->destdir);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		dmc_err(err, DMC_ERR_USAGE, "%s: not a directory", rq->destdir);
		goto out;
	}
	if (name_images(rq, &c, res, err))
		goto out;
	abs = calloc(c.nr, sizeof(*abs));
	if (!abs || asprintf(&scratch, "%s/.chainctl-export.XXXXXX", destabs) < 0) {
		scratch = NULL;
		dmc_err_errno(err, ENOMEM, "%s", rq->leaf);
		goto out;
	}
	for (i = 0; i < c.nr; i++) {
		const char *slash = strrchr(res->images[i].image, '/');

		if (asprintf(&abs[i], "%s%s", destabs, slash) < 0) {
			abs[i] = NULL;
			dmc_err_errno(err, ENOMEM, "%s", rq->leaf);
			goto out;
		}
	}
	if (!mkdtemp(scratch)) {
		dmc_err_errno(err, errno, "%s: cannot make a scratch directory", rq->destdir);
		free(scratch);
		scratch = NULL;
		goto out;
	}
	b.scratch = scratch;
	b.scratch_fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.scratch_fd < 0) {
		dmc_err_errno(err, errno, "%s", scratch);
		goto out;
	}
	for (i = 0; i < c.nr; i++)
		b.total += c.layers[i]->is_raw ? c.virtual_size : layer_data_bytes(c.layers[i]);
	for (i = 0; i < c.nr; i++) {
		struct layer *l = c.layers[c.nr - 1 - i];
		struct export_image *im = &res->images[i];
		const char *base = strrchr(abs[i], '/') + 1;

		/* Written under a hidden name, renamed once checked: a killed
		 * export leaves no image under its name without all its data.
		 * Claimed first, so that qemu-img overwrites nothing. */
		free(part);
		if (asprintf(&part, "%s/.%s.part", destabs, base) < 0) {
			part = NULL;
			dmc_err_errno(err, ENOMEM, "%s", im->image);
			goto out;
		}
		fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			dmc_err_errno(err, errno, "%s: cannot create", part);
			goto out;
		}
		close(fd);
		part_live = true;
		if (create_image(rq, &c, i, part, i ? abs[i - 1] : NULL, im->image, err))
			goto out;
		if (!l->is_raw) {
			b.out_abs = part;
			b.out = im->image;
			if (write_runs(&b, l, im, err))
				goto out;
		} else {
			im->data_bytes = c.virtual_size;
			progress(&b, c.virtual_size);
		}
		if (check_image(rq, part, im->image, err))
			goto out;
		if (renameat2(AT_FDCWD, part, AT_FDCWD, abs[i], RENAME_NOREPLACE)) {
			if (errno == EEXIST)
				dmc_err(err, DMC_ERR_USAGE,
					"%s: appeared meanwhile; nothing was overwritten", im->image);
			else
				dmc_err_errno(err, errno, "%s: cannot rename %s to it",
					      im->image, part);
			goto out;
		}
		part_live = false;
		created = i + 1;
	}
	fsync_parent_dir(abs[0]);
	ret = 0;
out:
	if (b.scratch_fd >= 0) {
		batch_clear(&b);
		close(b.scratch_fd);
	}
	if (scratch)
		rmdir(scratch);
	if (part_live)
		unlink(part);
	free(part);
	if (ret)
		while (created--)
			unlink(res->images[created].image);
	for (i = 0; abs && i < res->nr; i++)
		free(abs[i]);
	free(abs);
	free(scratch);
	chain_close(&c);
	res->seconds = now_seconds() - start;
	return ret;
}
