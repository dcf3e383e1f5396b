/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One open layer file: its current header, block map, and the I/O that
 * keeps them consistent on disk (header written to the other slot then
 * fdatasync; map pages written in place).  A file with no dm-chain magic in
 * either slot opens as a raw image (is_raw), usable only as a base.  A
 * file known to be a raw image (its child records a raw parent, or the
 * user said so) is opened with LAYER_RAW: its bytes belong to its guest,
 * who may have written anything there, a dm-chain header included, so
 * they are never parsed.
 *
 * Locking convention (docs/format.md, "Locks"): whoever modifies a layer
 * holds flock(LOCK_EX) on it; whoever needs it not to change holds
 * flock(LOCK_SH).  A live chain device holds LOCK_EX on its writable leaf
 * and LOCK_SH on every read-only layer below it, so chainctl refuses to
 * modify any layer a live device uses, and refuses to read a live leaf as
 * a stable image.  All locks are taken non-blocking.
 */
#ifndef DMC_LAYER_FILE_H
#define DMC_LAYER_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dmc_err.h"
#include "layer_header.h"

struct layer {
	char *path;			/* as opened (relative to cwd) */
	int fd;
	bool writable;
	bool is_raw;			/* no header: a raw image */
	bool declared_raw;		/* opened with LAYER_RAW */
	uint64_t file_size;
	dev_t dev;
	ino_t ino;
	struct layer_header hdr;	/* current slot's header */
	int cur_slot;
	enum slot_status slot_status[DMC_NR_SLOTS];
	uint8_t *map;			/* map_length bytes once loaded */
};

enum layer_open_flags {
	LAYER_RDWR	= 1 << 0,
	LAYER_LOCK_SH	= 1 << 1,
	LAYER_LOCK_EX	= 1 << 2,
	LAYER_LOAD_MAP	= 1 << 3,
	/* A raw image: do not read or trust a header in it. */
	LAYER_RAW	= 1 << 4,
};

/*
 * Open PATH: read and pick the header slot, validate it and the file size.
 * A file with no magic in either slot opens as raw.  Errors name PATH.
 */
int layer_open(const char *path, unsigned int flags, struct layer **out,
	       struct dmc_err *err);
void layer_close(struct layer *l);

/*
 * What the first bytes of a raw image look like, for display only (never
 * trusted): "no dm-chain header", or a warning that they look like one.
 */
const char *layer_raw_look(const struct layer *l);

/*
 * Reopen L read-write and take LOCK_EX, then re-read the header: fails
 * (DMC_ERR_BUSY) when held by someone else, or when the file changed
 * since it was opened.  Keeps the loaded map if unchanged.
 */
int layer_make_writable(struct layer *l, struct dmc_err *err);

/* Take a non-blocking flock: DMC_ERR_BUSY when held. */
int layer_lock(struct layer *l, bool exclusive, struct dmc_err *err);

int layer_load_map(struct layer *l, struct dmc_err *err);

/*
 * L's map as it is on disk now (not the loaded copy), in a new buffer of
 * map_length bytes the caller frees; NULL with ERR set on failure.  For
 * checking that a commit made it to the file before acting on it.
 */
uint8_t *layer_read_disk_map(struct layer *l, struct dmc_err *err);

/* Write the map pages that hold blocks [first, first + count). */
int layer_write_map(struct layer *l, uint64_t first, uint64_t count,
		    struct dmc_err *err);

/*
 * The write-ordering rule (docs/format.md): L's data synced, then the map
 * pages of blocks [first, first + count) written and synced (nothing to
 * write when COUNT is 0; a raw image has no map).  The header, when it
 * changes, comes after.
 */
int layer_commit_blocks(struct layer *l, uint64_t first, uint64_t count,
			struct dmc_err *err);

/*
 * Make H the current header: sequence = current + 1, written into the
 * other slot, then fdatasync.  On success l->hdr = *h (with the new
 * sequence) and l->cur_slot flips.
 */
int layer_write_header(struct layer *l, const struct layer_header *h,
		       struct dmc_err *err);

/*
 * Whole reads and writes at OFF of L's file: layer_pread() returns 0, 1
 * when the file ends first, or -1 (errno); layer_pwrite() 0 or -1.
 */
int layer_pread(const struct layer *l, void *buf, size_t len, uint64_t off);
int layer_pwrite(const struct layer *l, const void *buf, size_t len,
		 uint64_t off);

/* The largest file L's filesystem can address (its s_maxbytes). */
uint64_t layer_max_bytes(const struct layer *l);

/* Byte offset of block B in this file (raw images: B << shift). */
static inline uint64_t layer_block_offset(const struct layer *l, uint64_t b,
					  uint32_t block_shift)
{
	return (l->is_raw ? 0 : l->hdr.data_offset) + (b << block_shift);
}

/* Size of a raw image / virtual size of a layer. */
static inline uint64_t layer_virtual_size(const struct layer *l)
{
	return l->is_raw ? l->file_size : l->hdr.virtual_size;
}

/* Canonical lower-case text form of a uuid (37 bytes with the NUL). */
void uuid_to_str(const uint8_t *uuid, char out[37]);

/* fsync the directory holding PATH (after create, rename, unlink). */
int fsync_parent_dir(const char *path);

#endif
