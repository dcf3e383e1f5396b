// SPDX-License-Identifier: GPL-2.0
/* Offline block writes into a layer: see layer_write.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "chain.h"
#include "extent_copy.h"
#include "extent_list.h"
#include "layer_file.h"
#include "layer_write.h"

static int check_range(const struct layer *l, uint64_t offset, uint64_t len,
		       struct dmc_err *err)
{
	uint64_t bs = 1ULL << l->hdr.block_shift, size = l->hdr.virtual_size;

	if (l->is_raw)
		return dmc_err(err, DMC_ERR_USAGE, "%s: not a dm-chain layer", l->path);
	if (l->hdr.state != DMC_STATE_VALID)
		return dmc_err(err, DMC_ERR_STALE, "%s: merged away", l->path);
	if (l->hdr.journal.state != DMC_JOURNAL_NONE)
		return dmc_err(err, DMC_ERR_JOURNAL,
			       "%s: a merge involving it is unfinished", l->path);
	if (!len || offset >= size || len > size - offset)
		return dmc_err(err, DMC_ERR_USAGE, "%s: range beyond the virtual size",
			       l->path);
	if (offset % bs || (len % bs && offset + len != size))
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: offset and length must be multiples of the block size %llu",
			       l->path, (unsigned long long)bs);
	return 0;
}

/*
 * The chain below must open cleanly and hold no unfinished merge: a source
 * of an interrupted merge must not change before the merge is finished.
 */
static int check_chain_below(const char *path, struct dmc_err *err)
{
	struct chain c;
	unsigned int i;
	int ret;

	ret = chain_open(path, 0, &c, err);
	for (i = 0; !ret && i < c.nr; i++) {
		const struct layer *l = c.layers[i];

		if (!l->is_raw && l->hdr.journal.state != DMC_JOURNAL_NONE)
			ret = dmc_err(err, DMC_ERR_JOURNAL,
				      "%s: %s holds an unfinished merge; finish it first with 'chainctl layer check -r %s'",
				      path, l->path, l->path);
	}
	chain_close(&c);
	return ret;
}

static int write_data(struct layer *l, uint64_t offset, const void *buf,
		      uint64_t len, struct dmc_err *err)
{
	uint64_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(l->fd, (const char *)buf + done, len - done,
			   (off_t)(l->hdr.data_offset + offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dmc_err_errno(err, errno, "%s: write failed", l->path);
		done += (uint64_t)n;
	}
	return 0;
}

int layer_write_range(const char *path, uint64_t offset, const void *buf,
		      uint64_t len, struct dmc_err *err)
{
	struct layer_header h;
	struct layer *l;
	uint64_t first, count, b;
	int ret = -1;

	if (check_chain_below(path, err) ||
	    layer_open(path, LAYER_RDWR | LAYER_LOCK_EX | LAYER_LOAD_MAP, &l, err))
		return -1;
	/* The map changes before the generation moves: drop the list first. */
	if (check_range(l, offset, len, err) || layer_drop_extent_list(l, err))
		goto out;
	first = offset >> l->hdr.block_shift;
	count = dmc_nr_blocks(len, l->hdr.block_shift);
	if (buf) {
		if (write_data(l, offset, buf, len, err))
			goto out;
	} else {
		struct xfer_file f = { l->fd, l->path };

		xfer_zero_range(&f, l->hdr.data_offset + offset,
				count << l->hdr.block_shift, true, err);
	}
	for (b = first; b < first + count; b++)
		dmc_map_set(l->map, b, buf ? DMC_BLOCK_DATA : DMC_BLOCK_ZERO);
	if (layer_commit_blocks(l, first, count, err))
		goto out;
	h = l->hdr;
	h.generation++;
	ret = layer_write_header(l, &h, err);
out:
	layer_close(l);
	return ret;
}
