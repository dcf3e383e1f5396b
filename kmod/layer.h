/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layer files: opening, header validation and update, block map load and
 * write-back.  The target sees a layer only through this opaque handle and
 * the accessors below; it never touches on-disk structures.
 *
 * Layers are shared: every open of the same file (same inode) by the same
 * dm device, and every read-only open of a file that nobody holds
 * writable, returns the same refcounted handle, so a table reload keeps the
 * leaf's in-memory map and lock.  A writable layer is held with an
 * exclusive flock(2) lock and read-only layers with a shared one, so
 * offline tools that take the same locks see that a live device uses them.
 */
#ifndef DM_CHAIN_LAYER_H
#define DM_CHAIN_LAYER_H

#include <linux/types.h>

struct dmc_layer;
struct dmc_blockmap;
struct dmc_hdr;
struct file;

/*
 * Read ahead, without waiting, what opening the layer files @paths[@first]
 * to @paths[@nr - 1] will read (their headers and extent lists), so that a
 * deep chain's table load does not wait for each small read in turn.
 * Advisory: errors are left for dmc_layer_get() to meet and report.
 */
void dmc_layer_prefetch(char *const *paths, unsigned int first,
			unsigned int nr);

/*
 * Open (or share) the layer file at @path for @owner (an opaque cookie,
 * the dm device; @owner_name for messages).  @writable opens it read-write
 * and exclusively.  The file must be a regular file with a valid dm-chain
 * header.  On failure returns -errno and a static reason in *why.  Blocks
 * (file I/O); takes the global layer registry mutex.
 */
int dmc_layer_get(const char *path, bool writable, const void *owner,
		  const char *owner_name, struct dmc_layer **out,
		  const char **why);

/*
 * The same for a raw image the table declared (raw_base): its bytes are
 * never parsed, so dmc_layer_is_raw() comes from the table, not from the
 * content.  A file cannot be shared as a raw image and as a layer at once.
 */
int dmc_layer_get_raw(const char *path, bool writable, const void *owner,
		      const char *owner_name, struct dmc_layer **out,
		      const char **why);

/*
 * Drop a reference; the last one writes back a dirty map (best effort,
 * errors logged) and closes the file.  Blocks.
 */
void dmc_layer_put(struct dmc_layer *l);

/* Accessors: constant for the handle's life, no locks needed. */
/* Opened by dmc_layer_get_raw(): set from the table, never from content. */
bool dmc_layer_is_raw(const struct dmc_layer *l);
bool dmc_layer_is_writable(const struct dmc_layer *l);
const char *dmc_layer_path(const struct dmc_layer *l);
struct file *dmc_layer_file(const struct dmc_layer *l);
/* File offset of device byte 0 (data_offset; 0 for a raw image). */
u64 dmc_layer_data_offset(const struct dmc_layer *l);
/* Raw image size in bytes (raw layers only). */
u64 dmc_layer_raw_size(const struct dmc_layer *l);
/* Whether the file takes direct I/O, and the alignment it needs. */
bool dmc_layer_can_dio(const struct dmc_layer *l);
unsigned int dmc_layer_dio_align(const struct dmc_layer *l);

/*
 * The decoded current header (NULL for raw).  Changes only in
 * dmc_layer_begin_write(), which the constructor calls before the device
 * goes live.
 */
const struct dmc_hdr *dmc_layer_hdr(const struct dmc_layer *l);

/* The in-memory map (NULL for raw); see blockmap.h for its locking. */
struct dmc_blockmap *dmc_layer_map(struct dmc_layer *l);

/*
 * Before a live merge writes into @l: a read-only layer held by its runs
 * gets its whole 2-bit map (dmc_bm_expand()).  0, or -ENOMEM with *why.
 * Blocks.
 */
int dmc_layer_prepare_target(struct dmc_layer *l, const char **why);

/*
 * Prepare a writable layer for writes: bump its generation by writing the
 * other header slot and fsync.  Called by every table that makes the
 * layer its writable leaf, also on a shared handle: a child may have been
 * made from it since.  Blocks; takes the layer's commit mutex.
 */
int dmc_layer_begin_write(struct dmc_layer *l);

/*
 * Make everything written to the layer before the call durable: fdatasync
 * the data, then write every map page dirty at the call and fdatasync
 * again (data before map).  Raw images just get fdatasync.  Concurrent
 * callers are served by one commit that started after they arrived.
 * Blocks; takes the layer's commit mutex.  Call with PF_MEMALLOC_NOIO set.
 */
int dmc_layer_commit(struct dmc_layer *l);

/*
 * dmc_layer_commit() for a device: fails with -EIO at once when bit @bit
 * of *@flags is set, and sets it when the commit fails, both under the
 * commit mutex, so no caller can commit (and be told its data is durable)
 * between a failure and the device learning of it.
 */
int dmc_layer_commit_guarded(struct dmc_layer *l, unsigned long *flags,
			     unsigned int bit);

/*
 * Give back the file space of blocks [first, first + nr) (punch a hole);
 * a filesystem that cannot punch holes is not an error.  Blocks.
 */
int dmc_layer_punch(struct dmc_layer *l, u64 first, u64 nr,
		    unsigned int block_shift);

#endif /* DM_CHAIN_LAYER_H */

/* ---- live merge and snapshot support ---- */

/* Write all @len bytes at @pos (kernel_write() until done); 0 or -errno. */
int dmc_write_exact(struct file *file, const void *buf, size_t len,
		    loff_t pos);

/* The file writes go through (NULL while nothing may write the layer). */
struct file *dmc_layer_wfile(const struct dmc_layer *l);

/*
 * Reserve a layer for a live merge of @owner: refused when another table
 * or device shares the handle.  Other devices cannot open it until
 * dmc_layer_unclaim().  Takes the layer registry mutex.
 */
int dmc_layer_claim(struct dmc_layer *l, const void *owner, const char **why);
void dmc_layer_unclaim(struct dmc_layer *l);

/*
 * Open a read-only layer's file for writing too (merge target, a raw
 * base included, and sources).
 */
int dmc_layer_open_for_write(struct dmc_layer *l, const char **why);

/*
 * Change the header: @edit works on a copy of the current slot, which is
 * then sealed with the next sequence number, validated, written to the
 * other slot and synced.  Blocks; takes the layer's commit mutex.
 */
typedef int (*dmc_slot_edit_fn)(void *slot, const void *arg);
int dmc_layer_edit_header(struct dmc_layer *l, dmc_slot_edit_fn edit,
			  const void *arg);

/* How @from's header names @to (see dmc_rel_path()). */
int dmc_layer_rel_path(struct dmc_layer *from, struct dmc_layer *to,
		       char *out, size_t size);

/*
 * Create a new empty child layer of @parent recording @parent_generation,
 * at @path, or when @path is NULL at the first free default name next to
 * @beside (dmc_leaf_name()).  The path used is copied to @made.  The file
 * is synced, and so is its directory.  Blocks.  On success the new file
 * is held in *@filep until dmc_layer_create_end(); on failure nothing is
 * left: a file made half way is removed.
 */
int dmc_layer_create(const char *path, struct dmc_layer *parent,
		     u64 parent_generation, struct dmc_layer *beside,
		     char *made, size_t made_size, struct file **filep,
		     const char **why);

/*
 * Let go of the file dmc_layer_create() made at @made: @keep once the
 * device uses it (or a durable journal may need it after a crash), else
 * it is removed, so that a refused snapshot or merge leaves no file.
 */
void dmc_layer_create_end(struct file *file, const char *made, bool keep);
