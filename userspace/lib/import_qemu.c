// SPDX-License-Identifier: GPL-2.0
/*
 * Importing a qemu-img backing chain as a dm-chain chain: see
 * import_qemu.h.  Per image, base first: `qemu-img map` of the image alone
 * (its backing cut off) gives its own allocation; `qemu-img convert` of
 * the image alone writes its bytes straight into the new layer's data
 * area (a raw window of the layer file, which reads zero: unallocated and
 * zero ranges are left holes); then the map and, last, the header.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dm-chain/format.h>

#include "chain.h"
#include "import_qemu.h"
#include "layer_create.h"
#include "layer_file.h"
#include "qemu_img.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void import_result_free(struct import_result *res)
{
	unsigned int i;

	for (i = 0; res->layers && i < res->nr; i++) {
		free(res->layers[i].image);
		free(res->layers[i].format);
		free(res->layers[i].layer);
	}
	free(res->layers);
	res->layers = NULL;
	res->nr = 0;
}

static bool stopped(const struct import_request *rq, struct dmc_err *err)
{
	if (rq->stop && *rq->stop) {
		dmc_err(err, DMC_ERR_IO, "%s: interrupted", rq->source);
		return true;
	}
	return false;
}

/* The images of the chain, top first, checked for what dm-chain can hold. */
static int read_chain(const struct import_request *rq, const char *abs,
		      struct qimg_chain *c, struct dmc_err *err)
{
	char *argv[] = { "qemu-img", "info", "--backing-chain", "--output=json",
			 (char *)abs, NULL, NULL, NULL };
	struct qtool_opts o = { .stop = rq->stop, .want_stdout = true };
	char why[256], *out;
	unsigned int i;
	struct stat st;

	if (rq->format) {
		argv[4] = "-f";
		argv[5] = (char *)rq->format;
		argv[6] = (char *)abs;
	}
	if (qtool_run(argv, &o, rq->source, &out, err))
		return -1;
	if (qimg_parse_info(out, c, why, sizeof(why))) {
		free(out);
		return dmc_err(err, DMC_ERR_IO, "%s: cannot read qemu-img info: %s",
			       rq->source, why);
	}
	free(out);
	if (c->nr > DMC_MAX_LAYERS)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: a chain of %u images; a dm-chain chain holds at most %d layers",
			       rq->source, c->nr, DMC_MAX_LAYERS);
	for (i = 0; i < c->nr; i++) {
		const struct qimg_image *im = &c->images[i];

		if (im->filename[0] != '/' || stat(im->filename, &st) || !S_ISREG(st.st_mode))
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: '%s' is not a local image file: only files can be imported",
				       rq->source, im->filename);
		/* Probing a backing file's format trusts its bytes: a raw
		 * image a guest wrote could pass for anything. */
		if (im->has_backing && !im->backing_format)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: the format of its backing file is not recorded and would be guessed; "
				       "record it first (qemu-img rebase -u -b BACKING -F FORMAT)",
				       im->filename);
		if (im->encrypted)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: encrypted; decrypt it first (qemu-img convert)",
				       im->filename);
		if (im->data_file)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: has an external data file, which import does not handle; "
				       "make a plain copy first (qemu-img convert)", im->filename);
		if (im->virtual_size != c->images[0].virtual_size)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: %llu bytes, but %s is %llu: a dm-chain chain has one size; "
				       "resize the images to one size first (qemu-img resize)",
				       im->filename, (unsigned long long)im->virtual_size,
				       c->images[0].filename,
				       (unsigned long long)c->images[0].virtual_size);
	}
	if (!c->images[0].virtual_size ||
	    c->images[0].virtual_size % DMC_SECTOR_SIZE ||
	    c->images[0].virtual_size > DMC_MAX_VIRTUAL_SIZE)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: size %llu: a layer's must be a multiple of 512 up to 1 PiB",
			       rq->source, (unsigned long long)c->images[0].virtual_size);
	return 0;
}

/* DESTDIR/STEM.dmc for every image, none existing, no two the same. */
static int name_layers(const struct import_request *rq, const struct qimg_chain *c,
		       struct import_result *res, struct dmc_err *err)
{
	unsigned int i, j;
	struct stat st;

	if (stat(rq->destdir, &st))
		return dmc_err_errno(err, errno, "%s", rq->destdir);
	if (!S_ISDIR(st.st_mode))
		return dmc_err(err, DMC_ERR_USAGE, "%s: not a directory", rq->destdir);
	res->layers = calloc(c->nr, sizeof(*res->layers));
	if (!res->layers)
		return dmc_err_errno(err, ENOMEM, "%s", rq->source);
	res->nr = c->nr;
	for (i = 0; i < c->nr; i++) {
		const struct qimg_image *im = &c->images[c->nr - 1 - i];
		struct import_layer *l = &res->layers[i];
		char *stem = qimg_stem(im->filename);

		l->image = strdup(im->filename);
		l->format = strdup(im->format);
		if (!stem || !l->image || !l->format ||
		    asprintf(&l->layer, "%s/%s.dmc", rq->destdir, stem) < 0) {
			l->layer = NULL;
			free(stem);
			return dmc_err_errno(err, ENOMEM, "%s", rq->source);
		}
		free(stem);
		for (j = 0; j < i; j++)
			if (!strcmp(res->layers[j].layer, l->layer))
				return dmc_err(err, DMC_ERR_USAGE,
					       "%s and %s would both become %s: rename one first",
					       res->layers[j].image, l->image, l->layer);
		if (!lstat(l->layer, &st))
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: exists; nothing was overwritten (import into another directory, or move it away)",
				       l->layer);
	}
	return 0;
}

/* The allocation of image IM alone. */
static int map_image(const struct import_request *rq, const struct qimg_image *im,
		     struct qimg_map *m, struct dmc_err *err)
{
	struct qtool_opts o = { .stop = rq->stop, .want_stdout = true };
	char *spec = qimg_spec_alone(im->filename, im->format, im->has_backing);
	char *argv[] = { "qemu-img", "map", "--output=json", spec, NULL };
	char why[256], *out;
	int ret;

	if (!spec)
		return dmc_err_errno(err, ENOMEM, "%s", im->filename);
	ret = qtool_run(argv, &o, im->filename, &out, err);
	free(spec);
	if (ret)
		return -1;
	ret = qimg_parse_map(out, im->virtual_size, m, why, sizeof(why));
	free(out);
	if (ret)
		return dmc_err(err, DMC_ERR_IO, "%s: cannot read qemu-img map: %s",
			       im->filename, why);
	return 0;
}

static unsigned int shift_of(uint64_t block)
{
	return (unsigned int)__builtin_ctzll(block);
}

/* The block size: asked for (every map must fit it), or picked. */
static int pick_block(const struct import_request *rq, const struct qimg_chain *c,
		      const struct qimg_map *maps, struct import_result *res,
		      struct dmc_err *err)
{
	uint64_t block, bad;
	unsigned int i;

	res->cluster_size = 0;
	for (i = 0; i < c->nr; i++)
		if (c->images[i].cluster_size &&
		    (!res->cluster_size || c->images[i].cluster_size < res->cluster_size))
			res->cluster_size = c->images[i].cluster_size;
	if (rq->block_shift) {
		block = 1ULL << rq->block_shift;
		for (i = 0; i < c->nr; i++)
			if (qimg_map_misaligned(&maps[i], block, &bad))
				return dmc_err(err, DMC_ERR_USAGE,
					       "%s: allocation changes at byte %llu, not a multiple of the block size %llu: "
					       "a block would mix this image's data with its backing file's; "
					       "use a smaller -b, or leave -b out",
					       c->images[i].filename, (unsigned long long)bad,
					       (unsigned long long)block);
	} else {
		block = qimg_pick_block(c, maps, 1ULL << DMC_DEFAULT_BLOCK_SHIFT,
					1ULL << DMC_MIN_BLOCK_SHIFT,
					1ULL << DMC_MAX_BLOCK_SHIFT);
		if (!block) {
			for (i = 0; i < c->nr; i++)
				if (qimg_map_misaligned(&maps[i], 1ULL << DMC_MIN_BLOCK_SHIFT, &bad))
					break;
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: allocation changes at byte %llu, not a multiple of 4 KiB, "
				       "the smallest dm-chain block: its allocation cannot be kept",
				       i < c->nr ? c->images[i].filename : rq->source,
				       i < c->nr ? (unsigned long long)bad : 0ULL);
		}
	}
	res->block_shift = shift_of(block);
	return 0;
}

/* Data bytes copied so far, for the progress callback. */
struct import_progress {
	const struct import_request *rq;
	uint64_t done;		/* the layers finished */
	uint64_t layer;		/* the data bytes of the one being copied */
	uint64_t total;
};

/* qemu-img convert -p's percentage of the current layer. */
static void on_convert_output(const char *data, size_t len, void *arg)
{
	struct import_progress *p = arg;
	double f;

	if (qimg_parse_percent(data, len, &f))
		p->rq->progress(p->done + (uint64_t)(f * (double)p->layer), p->total,
				p->rq->progress_arg);
}

/* Copy IM's own bytes into the data area of the new layer PATH. */
static int copy_data(const struct import_request *rq, const struct qimg_image *im,
		     const char *path, const struct layer_header *h,
		     struct import_progress *pg, struct dmc_err *err)
{
	struct qtool_opts o = { .stop = rq->stop };
	char *src = qimg_spec_alone(im->filename, im->format, im->has_backing);
	char *dst = qimg_spec_window(path, h->data_offset, h->virtual_size);
	/* -n: into the layer file as it is; --target-is-zero: it reads zero
	 * (fresh and sparse), so only data is written. */
	char *argv[] = { "qemu-img", "convert", "-n", "--target-is-zero", "-O", "raw",
			 src, dst, NULL, NULL };
	int ret = -1, fd;

	if (rq->progress) {
		argv[8] = argv[7];	/* "-p" before the names */
		argv[7] = argv[6];
		argv[6] = "-p";
		o.on_stdout = on_convert_output;
		o.arg = pg;
	}
	if (!src || !dst) {
		dmc_err_errno(err, ENOMEM, "%s", path);
		goto out;
	}
	if (qtool_run(argv, &o, im->filename, NULL, err))
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fdatasync(fd)) {
		dmc_err_errno(err, errno, "%s: cannot sync", path);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	ret = 0;
out:
	free(src);
	free(dst);
	return ret;
}

/* The block map of M in a layer with header H. */
static uint8_t *build_map(const struct qimg_map *m, const struct layer_header *h,
			  struct import_layer *res)
{
	uint8_t *map = calloc(1, h->map_length);
	uint64_t bs = 1ULL << h->block_shift, b, first, end;
	size_t i;

	if (!map)
		return NULL;
	for (i = 0; i < m->nr; i++) {
		const struct qimg_extent *e = &m->ext[i];

		if (e->kind == QIMG_ABSENT)
			continue;
		if (e->kind == QIMG_DATA)
			res->data_bytes += e->length;
		else
			res->zero_bytes += e->length;
		first = e->start / bs;
		end = (e->start + e->length + bs - 1) / bs;
		for (b = first; b < end; b++)
			dmc_map_set(map, b, e->kind == QIMG_DATA ? DMC_BLOCK_DATA :
						    DMC_BLOCK_ZERO);
	}
	return map;
}

static uint64_t data_bytes(const struct qimg_map *m)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->ext[i].kind == QIMG_DATA)
			n += m->ext[i].length;
	return n;
}

/* Layer I of RES (0 the base) from image IM, its map M. */
static int import_one(const struct import_request *rq, const struct qimg_image *im,
		      const struct qimg_map *m, struct import_result *res,
		      unsigned int i, unsigned int *created, struct import_progress *pg,
		      struct dmc_err *err)
{
	struct layer_create_opts o = {
		.virtual_size = im->virtual_size,
		.block_shift = res->block_shift,
		.parent = i ? res->layers[i - 1].layer : NULL,
	};
	struct import_layer *l = &res->layers[i];
	struct layer_header h;
	uint8_t *map;
	int ret;

	if (layer_create_pending(l->layer, &o, &h, err))
		return -1;
	*created = i + 1;
	pg->layer = data_bytes(m);
	if (stopped(rq, err) || (pg->layer && copy_data(rq, im, l->layer, &h, pg, err)) ||
	    stopped(rq, err))
		return -1;
	pg->done += pg->layer;
	if (rq->progress)
		rq->progress(pg->done, pg->total, rq->progress_arg);
	map = build_map(m, &h, l);
	if (!map)
		return dmc_err_errno(err, ENOMEM, "%s", l->layer);
	ret = layer_create_commit(l->layer, &h, map, err);
	free(map);
	return ret;
}

int import_qemu_chain(const struct import_request *rq, struct import_result *res,
		      struct dmc_err *err)
{
	struct import_progress pg = { .rq = rq };
	double start = now_seconds();
	struct qimg_map *maps = NULL;
	struct qimg_chain c = { 0 };
	unsigned int i, created = 0;
	char abs[PATH_MAX];
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (!realpath(rq->source, abs))
		return dmc_err_errno(err, errno, "%s", rq->source);
	if (read_chain(rq, abs, &c, err) || name_layers(rq, &c, res, err))
		goto out;
	res->virtual_size = c.images[0].virtual_size;
	/* maps[i] belongs to c.images[i] (top first). */
	maps = calloc(c.nr, sizeof(*maps));
	if (!maps) {
		dmc_err_errno(err, ENOMEM, "%s", rq->source);
		goto out;
	}
	for (i = 0; i < c.nr; i++)
		if (stopped(rq, err) || map_image(rq, &c.images[i], &maps[i], err))
			goto out;
	if (pick_block(rq, &c, maps, res, err))
		goto out;
	for (i = 0; i < c.nr; i++)
		pg.total += data_bytes(&maps[i]);
	for (i = 0; i < c.nr; i++) {
		unsigned int k = c.nr - 1 - i;

		if (import_one(rq, &c.images[k], &maps[k], res, i, &created, &pg, err))
			goto out;
	}
	ret = 0;
out:
	/* No half chain left: every layer made goes, top first. */
	if (ret) {
		while (created--)
			unlink(res->layers[created].layer);
		if (res->nr)
			fsync_parent_dir(res->layers[0].layer);
	}
	for (i = 0; maps && i < c.nr; i++)
		qimg_map_free(&maps[i]);
	free(maps);
	qimg_chain_free(&c);
	res->seconds = now_seconds() - start;
	return ret;
}
