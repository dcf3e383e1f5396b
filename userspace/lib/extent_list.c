// SPDX-License-Identifier: GPL-2.0
/* A layer's extent list: see extent_list.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extent_list.h"

/* Records read and compared per step of a check. */
#define XLIST_CHUNK	4096U

/*
 * What L's current header says of its list, and (when it has one) the
 * header as the shared validator decodes it in *DH, for reading the list.
 */
static enum dmc_xlist_verdict state_of(const struct layer *l,
				       struct dmc_hdr *dh,
				       enum dmc_verify_reason *why)
{
	static unsigned char slot[DMC_SLOT_SIZE];

	*why = DMC_WHY_NONE;
	if (l->is_raw || !(l->hdr.compat_features & DMC_COMPAT_EXTENT_LIST))
		return DMC_XLIST_NONE;
	layer_header_encode(&l->hdr, slot);
	if (dmc_verify_header(slot, l->file_size, layer_max_bytes(l), dh, why))
		return DMC_XLIST_STALE;	/* not reached: the file opened */
	return dmc_verify_extent_list_place(dh, l->file_size,
					    layer_max_bytes(l), why);
}

enum dmc_xlist_verdict extent_list_state(const struct layer *l,
					 enum dmc_verify_reason *why)
{
	struct dmc_hdr dh;

	return state_of(l, &dh, why);
}

const char *extent_list_state_str(enum dmc_xlist_verdict v)
{
	switch (v) {
	case DMC_XLIST_NONE:	return "none";
	case DMC_XLIST_STALE:	return "stale";
	case DMC_XLIST_BAD:	return "misplaced";
	case DMC_XLIST_CURRENT:	return "present";
	}
	return "?";
}

uint8_t *extent_list_build(const struct layer *l, uint64_t *count,
			   struct dmc_err *err)
{
	uint64_t nr = layer_header_nr_blocks(&l->hdr), n = 0, cap = 64;
	__u64 first, length, pos = 0;
	__u32 state;
	uint8_t *recs = malloc(cap * DMC_EXTENT_SIZE), *grown;

	if (!recs)
		goto nomem;
	while (dmc_map_next_run(l->map, nr, &pos, &first, &length, &state)) {
		if (n == cap) {
			cap *= 2;
			grown = realloc(recs, cap * DMC_EXTENT_SIZE);
			if (!grown)
				goto nomem;
			recs = grown;
		}
		dmc_extent_put(recs + n++ * DMC_EXTENT_SIZE, first, length, state);
	}
	*count = n;
	return recs;
nomem:
	free(recs);
	dmc_err_errno(err, ENOMEM, "%s: extent list", l->path);
	return NULL;
}

int layer_drop_extent_list(struct layer *l, struct dmc_err *err)
{
	struct layer_header h = l->hdr;

	if (!(h.compat_features & DMC_COMPAT_EXTENT_LIST))
		return 0;
	h.compat_features &= ~DMC_COMPAT_EXTENT_LIST;
	memset(&h.xlist, 0, sizeof(h.xlist));
	return layer_write_header(l, &h, err);
}

int extent_list_stage(struct layer *l, struct layer_header *h,
		      struct dmc_err *err)
{
	uint64_t off = l->hdr.data_offset +
		       (layer_header_nr_blocks(&l->hdr) << l->hdr.block_shift);
	enum dmc_verify_reason why;
	uint64_t count, len;
	uint8_t *recs;
	int ret = -1;

	if (l->is_raw || !l->map || h->state != DMC_STATE_VALID ||
	    h->journal.state != DMC_JOURNAL_NONE ||
	    extent_list_state(l, &why) == DMC_XLIST_CURRENT)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: cannot write an extent list here (a raw image, a merged-away layer, a merge journal, or a list in use)",
			       l->path);
	recs = extent_list_build(l, &count, err);
	if (!recs)
		return -1;
	len = count * DMC_EXTENT_SIZE;
	if (ftruncate(l->fd, (off_t)(off + len)) ||
	    (len && layer_pwrite(l, recs, len, off)) || fdatasync(l->fd)) {
		dmc_err_errno(err, errno, "%s: cannot write the extent list",
			      l->path);
		goto out;
	}
	l->file_size = off + len;
	h->compat_features |= DMC_COMPAT_EXTENT_LIST;
	h->xlist.offset = off;
	h->xlist.count = count;
	h->xlist.generation = h->generation;
	memcpy(h->xlist.uuid, h->uuid, DMC_UUID_SIZE);
	h->xlist.checksum = ~dmc_crc32c(~0U, recs, len);
	ret = 0;
out:
	free(recs);
	return ret;
}

int layer_write_extent_list(struct layer *l, struct dmc_err *err)
{
	struct layer_header h;

	if (layer_drop_extent_list(l, err))
		return -1;
	h = l->hdr;
	if (extent_list_stage(l, &h, err))
		return -1;
	return layer_write_header(l, &h, err);
}

int layer_freeze(struct layer *l, struct dmc_err *err)
{
	enum dmc_verify_reason why;
	struct stat st;

	if (l->is_raw || extent_list_state(l, &why) == DMC_XLIST_CURRENT)
		return 0;
	/* Read-only by its mode (a golden image): root could, we do not. */
	if (fstat(l->fd, &st) || !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)))
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: read-only file: no extent list written", l->path);
	if (layer_make_writable(l, err) || layer_load_map(l, err) ||
	    layer_write_extent_list(l, err))
		return -1;
	return 1;
}

static int list_problem(struct extent_list_check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int list_problem(struct extent_list_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
	va_end(ap);
	c->ok = false;
	return 0;
}

/* Compare N records with the map's next runs (from *POS). */
static bool same_as_map(const struct layer *l, const uint8_t *recs, uint64_t n,
			__u64 *pos, uint64_t *at)
{
	uint64_t nr = layer_header_nr_blocks(&l->hdr), i;
	__u64 f, len, mf, mlen;
	__u32 st, mst;

	for (i = 0; i < n; i++) {
		dmc_extent_get(recs + i * DMC_EXTENT_SIZE, &f, &len, &st);
		if (!dmc_map_next_run(l->map, nr, pos, &mf, &mlen, &mst) ||
		    mf != f || mlen != len || mst != st) {
			*at = f < mf ? f : mf;
			return false;
		}
	}
	return true;
}

int layer_check_extent_list(const struct layer *l, struct extent_list_check *c,
			    struct dmc_err *err)
{
	uint64_t nr = layer_header_nr_blocks(&l->hdr), done = 0, at;
	enum dmc_verify_reason why;
	struct dmc_extent_walk w;
	struct dmc_hdr dh;
	uint8_t *buf;
	__u64 bad, f, len, pos = 0;
	__u32 st;
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->state = state_of(l, &dh, &why);
	c->ok = true;
	if (c->state == DMC_XLIST_BAD)
		return list_problem(c, "%s", dmc_verify_reason_str(why));
	if (c->state != DMC_XLIST_CURRENT)
		return 0;
	c->count = l->hdr.xlist.count;
	buf = malloc((size_t)XLIST_CHUNK * DMC_EXTENT_SIZE);
	if (!buf)
		return dmc_err_errno(err, ENOMEM, "%s: extent list", l->path);
	dmc_extent_walk_begin(&w, &dh);
	while (done < c->count) {
		uint64_t n = c->count - done < XLIST_CHUNK ? c->count - done :
							      XLIST_CHUNK;

		r = layer_pread(l, buf, n * DMC_EXTENT_SIZE,
				l->hdr.xlist.offset + done * DMC_EXTENT_SIZE);
		if (r) {
			r = dmc_err_errno(err, r < 0 ? errno : EIO,
					  "%s: cannot read the extent list", l->path);
			goto out;
		}
		if (dmc_extent_walk_feed(&w, buf, n, &bad, &why)) {
			list_problem(c, "%s (record %llu)", dmc_verify_reason_str(why),
				     (unsigned long long)bad);
			goto out;
		}
		if (!same_as_map(l, buf, n, &pos, &at)) {
			list_problem(c, "extent list differs from the block map at block %llu",
				     (unsigned long long)at);
			goto out;
		}
		done += n;
	}
	if (dmc_extent_walk_end(&w, &dh, &why))
		list_problem(c, "%s", dmc_verify_reason_str(why));
	else if (dmc_map_next_run(l->map, nr, &pos, &f, &len, &st))
		list_problem(c, "extent list differs from the block map at block %llu",
			     (unsigned long long)f);
out:
	free(buf);
	return r;
}
