// SPDX-License-Identifier: GPL-2.0
/* Creating a layer file: see layer_create.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "extent_list.h"
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

/* Both slots valid: sequence 1 and 2, same content. */
static int write_slots(int fd, const char *path, const struct layer_header *h,
		       struct dmc_err *err)
{
	static unsigned char slot[DMC_SLOT_SIZE];
	struct layer_header copy = *h;
	unsigned int i;

	for (i = 0; i < DMC_NR_SLOTS; i++) {
		copy.sequence = i + 1;
		layer_header_encode(&copy, slot);
		if (pwrite(fd, slot, DMC_SLOT_SIZE, (off_t)i * DMC_SLOT_SIZE) !=
		    DMC_SLOT_SIZE)
			return dmc_err_errno(err, errno ? errno : EIO,
					     "%s: cannot write header", path);
	}
	return 0;
}

/* Size the new file; with HEADER, write both slots; sync. */
static int write_new_file(int fd, const char *path, const struct layer_header *h,
			  bool header, struct dmc_err *err)
{
	uint64_t size = h->data_offset +
			(layer_header_nr_blocks(h) << h->block_shift);

	if (ftruncate(fd, (off_t)size))
		return dmc_err_errno(err, errno, "%s: cannot size the file", path);
	if (header && write_slots(fd, path, h, err))
		return -1;
	if (fsync(fd))
		return dmc_err_errno(err, errno, "%s: cannot sync", path);
	return 0;
}

/*
 * P has a child now, so its map is final: give it its extent list, if it
 * is free to write (not a live device's, not read-only).  Best effort:
 * without a list, readers use the map.
 */
static void freeze_parent(struct layer *p)
{
	struct dmc_err ignored;

	dmc_err_clear(&ignored);
	(void)layer_freeze(p, &ignored);
}

static int create(const char *path, const struct layer_create_opts *o,
		  bool header, struct layer_header *out, struct dmc_err *err)
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
	ret = write_new_file(fd, path, &h, header, err);
	close(fd);
	if (ret)
		unlink(path);
	else
		fsync_parent_dir(path);
	if (!ret && out)
		*out = h;
	if (!ret && parent)
		freeze_parent(parent);
out:
	layer_close(parent);
	return ret;
}

int layer_create(const char *path, const struct layer_create_opts *o,
		 struct dmc_err *err)
{
	return create(path, o, true, NULL, err);
}

int layer_create_pending(const char *path, const struct layer_create_opts *o,
			 struct layer_header *hdr, struct dmc_err *err)
{
	return create(path, o, false, hdr, err);
}

int layer_create_commit(const char *path, const struct layer_header *h,
			const uint8_t *map, struct dmc_err *err)
{
	uint64_t done = 0;
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return dmc_err_errno(err, errno, "%s: cannot open for writing", path);
	/* The data is the caller's to have synced; the map before the header. */
	while (done < h->map_length) {
		n = pwrite(fd, map + done, h->map_length - done,
			   (off_t)(h->map_offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			dmc_err_errno(err, n < 0 ? errno : EIO, "%s: cannot write map", path);
			goto out;
		}
		done += (uint64_t)n;
	}
	if (fdatasync(fd)) {
		dmc_err_errno(err, errno, "%s: cannot sync", path);
		goto out;
	}
	if (write_slots(fd, path, h, err))
		goto out;
	if (fsync(fd)) {
		dmc_err_errno(err, errno, "%s: cannot sync", path);
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

int layer_create_with_header(const char *path, const struct layer_header *h,
			     struct dmc_err *err)
{
	int fd, ret;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return dmc_err_errno(err, errno, "%s: cannot create", path);
	ret = write_new_file(fd, path, h, true, err);
	close(fd);
	if (ret)
		unlink(path);
	else
		fsync_parent_dir(path);
	return ret;
}
