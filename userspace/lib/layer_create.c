// SPDX-License-Identifier: GPL-2.0
/* Creating a layer file: see layer_create.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "layer_create.h"
#include "layer_file.h"
#include "paths.h"

/* Fill in the parent fields of H from the open parent P. */
static int link_to_parent(struct layer_header *h, const char *path,
			  const struct layer *p, struct dmc_err *err)
{
	char *rel;

	if (p->is_raw) {
		h->parent_kind = DMC_PARENT_RAW;
		h->parent_raw_size = p->file_size;
	} else {
		h->parent_kind = DMC_PARENT_LAYER;
		memcpy(h->parent_uuid, p->hdr.uuid, DMC_UUID_SIZE);
		h->parent_generation = p->hdr.generation;
	}
	rel = path_relative_to_file(path, p->path);
	if (!rel)
		return dmc_err_errno(err, errno, "%s: cannot resolve the path to %s",
				     path, p->path);
	if (strlen(rel) >= DMC_PATH_MAX) {
		free(rel);
		return dmc_err(err, DMC_ERR_USAGE, "%s: relative path to %s is too long",
			       path, p->path);
	}
	strcpy(h->parent_path, rel);
	free(rel);
	return 0;
}

/* Size and block size of the new layer from the options and parent. */
static int pick_geometry(const char *path, const struct layer_create_opts *o,
			 const struct layer *p, uint64_t *size, uint32_t *shift,
			 struct dmc_err *err)
{
	uint64_t psize = p ? layer_virtual_size(p) : 0;

	*shift = o->block_shift ? o->block_shift :
		 (p && !p->is_raw) ? p->hdr.block_shift : DMC_DEFAULT_BLOCK_SHIFT;
	*size = o->virtual_size ? o->virtual_size : psize;
	if (*shift < DMC_MIN_BLOCK_SHIFT || *shift > DMC_MAX_BLOCK_SHIFT)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: block size must be a power of two from 4K to 2M", path);
	if (p && !p->is_raw && *shift != p->hdr.block_shift)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: block size %u differs from parent %s's %u",
			       path, 1U << *shift, p->path, 1U << p->hdr.block_shift);
	if (p && *size != psize)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: size %llu differs from parent %s's %llu (a chain has one size)",
			       path, (unsigned long long)*size, p->path,
			       (unsigned long long)psize);
	if (!*size)
		return dmc_err(err, DMC_ERR_USAGE, "%s: size required (-s SIZE)%s",
			       path, p ? ": the parent is empty" : "");
	if (*size % DMC_SECTOR_SIZE || *size > DMC_MAX_VIRTUAL_SIZE)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: size %llu must be a multiple of 512 and at most 1 PiB",
			       p ? p->path : path, (unsigned long long)*size);
	return 0;
}

static int check_parent_usable(const struct layer *p, struct dmc_err *err)
{
	if (p->is_raw)
		return 0;
	if (p->hdr.state != DMC_STATE_VALID)
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: merged away; cannot be a parent", p->path);
	if (p->hdr.journal.state != DMC_JOURNAL_NONE)
		return dmc_err(err, DMC_ERR_JOURNAL,
			       "%s: a merge involving this layer is unfinished: run 'chainctl layer check -r %s' first",
			       p->path, p->path);
	return 0;
}

static int write_new_file(int fd, const char *path, const struct layer_header *h,
			  struct dmc_err *err)
{
	static unsigned char slot[DMC_SLOT_SIZE];
	struct layer_header copy = *h;
	uint64_t size = h->data_offset +
			(layer_header_nr_blocks(h) << h->block_shift);
	unsigned int i;

	if (ftruncate(fd, (off_t)size))
		return dmc_err_errno(err, errno, "%s: cannot size the file", path);
	/* Both slots valid from the start: sequence 1 and 2, same content. */
	for (i = 0; i < DMC_NR_SLOTS; i++) {
		copy.sequence = i + 1;
		layer_header_encode(&copy, slot);
		if (pwrite(fd, slot, DMC_SLOT_SIZE, (off_t)i * DMC_SLOT_SIZE) !=
		    DMC_SLOT_SIZE)
			return dmc_err_errno(err, errno ? errno : EIO,
					     "%s: cannot write header", path);
	}
	if (fsync(fd))
		return dmc_err_errno(err, errno, "%s: cannot sync", path);
	return 0;
}

int layer_create(const char *path, const struct layer_create_opts *o,
		 struct dmc_err *err)
{
	struct layer *parent = NULL;
	struct layer_header h;
	uint64_t size;
	uint32_t shift;
	int fd, ret = -1;

	if (o->parent &&
	    (layer_open(o->parent,
			LAYER_LOCK_SH | (o->parent_raw ? LAYER_RAW : 0),
			&parent, err) ||
	     check_parent_usable(parent, err)))
		goto out;
	if (pick_geometry(path, o, parent, &size, &shift, err))
		goto out;
	layer_header_init(&h, size, shift);
	uuid_generate(h.uuid);
	if (parent && link_to_parent(&h, path, parent, err))
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		dmc_err_errno(err, errno, "%s: cannot create", path);
		goto out;
	}
	ret = write_new_file(fd, path, &h, err);
	close(fd);
	if (ret)
		unlink(path);
	else
		fsync_parent_dir(path);
out:
	layer_close(parent);
	return ret;
}
