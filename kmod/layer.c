// SPDX-License-Identifier: GPL-2.0
/*
 * Layer files: open and share (registry keyed by inode), validate headers,
 * load the block map, bump the generation of a leaf opened writable, write
 * back dirty map pages with data-before-map ordering.
 */
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/fadvise.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uuid.h>
#include <linux/vmalloc.h>

#include "dm-chain.h"
#include "blockmap.h"
#include "header.h"
#include "layer.h"

struct dmc_layer {
	struct list_head list;		/* on dmc_layers */
	unsigned int refs;		/* under dmc_layers_lock */
	const void *owner;		/* device holding it writable */
	char *owner_name;

	struct inode *inode;
	struct file *file;
	char *path;
	bool raw;
	bool writable;
	bool can_dio;
	bool flocked;			/* holds its flock on @file */
	unsigned int dio_align;
	u64 raw_size;

	/* Header state: changed only under @commit_lock. */
	struct dmc_hdr hdr;
	void *slot;			/* bytes of the current slot */
	unsigned int cur_slot;

	struct dmc_blockmap map;
	struct mutex commit_lock;	/* serializes commits, header writes */
	/*
	 * Commit bookkeeping, under @commit_lock (@commit_started is also
	 * read without it, see dmc_layer_commit_guarded()): commits begun
	 * and the number of the last one that succeeded.
	 */
	u64 commit_started;
	u64 commit_good;
	u8 *commit_buf;			/* DMC_COMMIT_BATCH map pages */

	/* A live merge changing this layer (under dmc_layers_lock). */
	const void *merge_owner;
	struct file *wfile;		/* read-only layer opened for writing */
};

/* Every open layer; guarded by dmc_layers_lock. */
static LIST_HEAD(dmc_layers);
static DEFINE_MUTEX(dmc_layers_lock);

/* Map pages written back per data fsync round. */
#define DMC_COMMIT_BATCH	64U
/* Default new-leaf names tried before giving up (dmc_layer_create()). */
#define DMC_LEAF_NAME_TRIES	1000U

bool dmc_layer_is_raw(const struct dmc_layer *l)
{
	return l->raw;
}

bool dmc_layer_is_writable(const struct dmc_layer *l)
{
	return l->writable;
}

const char *dmc_layer_path(const struct dmc_layer *l)
{
	return l->path;
}

struct file *dmc_layer_file(const struct dmc_layer *l)
{
	return l->file;
}

/* The file to write through: the layer's own, or one opened for a merge. */
struct file *dmc_layer_wfile(const struct dmc_layer *l)
{
	return l->writable ? l->file : l->wfile;
}

u64 dmc_layer_data_offset(const struct dmc_layer *l)
{
	return l->raw ? 0 : l->hdr.data_offset;
}

u64 dmc_layer_raw_size(const struct dmc_layer *l)
{
	return l->raw_size;
}

bool dmc_layer_can_dio(const struct dmc_layer *l)
{
	return l->can_dio;
}

unsigned int dmc_layer_dio_align(const struct dmc_layer *l)
{
	return l->dio_align;
}

const struct dmc_hdr *dmc_layer_hdr(const struct dmc_layer *l)
{
	return l->raw ? NULL : &l->hdr;
}

int dmc_layer_prepare_target(struct dmc_layer *l, const char **why)
{
	int r = l->raw ? 0 : dmc_bm_expand(&l->map);

	if (r) {
		DMERR("%s: no memory for its block map (%llu MiB) as a merge target",
		      l->path, dmc_map_length(l->hdr.nr_blocks) >> 20);
		*why = "Not enough memory for the merge target's block map (a layer held by its extent list needs its whole map to be merged into)";
	}
	return r;
}

struct dmc_blockmap *dmc_layer_map(struct dmc_layer *l)
{
	return l->raw ? NULL : &l->map;
}

static int read_exact(struct file *file, void *buf, size_t len, loff_t pos)
{
	while (len) {
		ssize_t n = kernel_read(file, buf, min_t(size_t, len, SZ_1M),
					&pos);

		if (n < 0)
			return n;
		if (!n)
			return -ENODATA;
		buf += n;
		len -= n;
	}
	return 0;
}

int dmc_write_exact(struct file *file, const void *buf, size_t len,
		    loff_t pos)
{
	while (len) {
		ssize_t n = kernel_write(file, buf, len, &pos);

		if (n < 0)
			return n;
		if (!n)
			return -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Take (F_WRLCK, F_RDLCK) or drop (F_UNLCK) the layer's flock on @file. */
static int set_flock(struct file *file, unsigned char type)
{
	struct file_lock fl;

	locks_init_lock(&fl);
	fl.fl_file = file;
	fl.fl_owner = file;
	fl.fl_pid = current->tgid;
	fl.fl_flags = FL_FLOCK;
	fl.fl_type = type;
	fl.fl_end = OFFSET_MAX;
	return locks_lock_inode_wait(file_inode(file), &fl);
}

/*
 * Read the header slots of a file of @size bytes (at least one slot) into
 * @slots (two slots long) and pick the current one (dmc_header_pick()).
 */
static int read_slots(struct file *file, u64 size, u8 *slots, int *cur)
{
	bool two = size >= 2 * DMC_SLOT_SIZE;
	int r;

	r = read_exact(file, slots, two ? 2 * DMC_SLOT_SIZE : DMC_SLOT_SIZE,
		       0);
	if (!r)
		*cur = dmc_header_pick(slots, two ? slots + DMC_SLOT_SIZE :
						    NULL);
	return r;
}

/*
 * A raw image (declared so by the table) is never read here: its bytes are
 * the guest's, whatever they look like.  Anything else must carry a valid
 * dm-chain header; there is no fallback to raw.
 */
static int load_header(struct dmc_layer *l, const char **why)
{
	u64 size = i_size_read(l->inode);
	u8 *slots;
	int r, cur;

	if (l->raw) {
		l->raw_size = size;
		if (size < DMC_SECTOR_SIZE) {
			*why = "Raw image is smaller than one sector";
			return -EINVAL;
		}
		return 0;
	}
	if (size < DMC_SLOT_SIZE) {
		*why = "Not a dm-chain layer (too small); declare raw images with raw_base";
		return -EINVAL;
	}
	slots = kvmalloc(2 * DMC_SLOT_SIZE, GFP_KERNEL);
	if (!slots) {
		*why = "Cannot allocate header buffer";
		return -ENOMEM;
	}
	r = read_slots(l->file, size, slots, &cur);
	if (r) {
		*why = "Cannot read layer header";
		goto out;
	}
	if (cur == -ENODATA) {
		*why = "Not a dm-chain layer (no header); declare raw images with raw_base";
		r = -EINVAL;
		goto out;
	}
	if (cur < 0) {
		*why = "Layer header corrupt (bad checksum or version in both slots)";
		r = -EILSEQ;
		goto out;
	}
	r = dmc_header_decode_max(slots + cur * DMC_SLOT_SIZE, size,
				  l->inode->i_sb->s_maxbytes, &l->hdr, why);
	if (r)
		goto out;
	/*
	 * A swap merge is offline only: the file at its source's path may
	 * already carry the target's identity, and only chainctl finishes
	 * it (docs/format.md, "Swap merge").
	 */
	if (dmc_hdr_has_swap(&l->hdr)) {
		*why = "Layer holds an unfinished swap merge: finish it with 'chainctl layer check -r' on this file";
		r = -EBUSY;
		goto out;
	}
	l->slot = kmemdup(slots + cur * DMC_SLOT_SIZE, DMC_SLOT_SIZE,
			  GFP_KERNEL);
	if (!l->slot) {
		*why = "Cannot allocate header buffer";
		r = -ENOMEM;
		goto out;
	}
	l->cur_slot = cur;
out:
	kvfree(slots);
	return r;
}

/* Records checked between two chances to reschedule. */
#define DMC_RUNS_CHECK_CHUNK	(1ULL << 16)

/*
 * A read-only layer whose extent list describes it is held by its runs
 * (docs/format.md, "Extent list"): memory and load time follow the runs,
 * not the virtual size.  On any doubt about the list (misplaced, a bad
 * record, a wrong checksum, a read error, no memory) the map is read
 * instead, as for a layer without one.  Returns 0 when the runs are in.
 */
static int load_runs(struct dmc_layer *l)
{
	u64 count = l->hdr.x_count, done, n, bad = 0;
	enum dmc_verify_reason why = DMC_WHY_NONE;
	struct dmc_extent_walk w;
	int r;

	switch (dmc_verify_extent_list_place(&l->hdr, i_size_read(l->inode),
					     l->inode->i_sb->s_maxbytes, &why)) {
	case DMC_XLIST_CURRENT:
		break;
	case DMC_XLIST_BAD:
		DMWARN("%s: %s; reading its block map instead", l->path,
		       dmc_verify_reason_str(why));
		return -EINVAL;
	default:
		return -ENOENT;
	}
	if (!dmc_mem_allows(count * sizeof(struct dmc_run), 2))
		return -ENOMEM;
	r = dmc_bm_init_runs(&l->map, l->hdr.nr_blocks, count);
	if (r)
		goto fail;
	r = count ? read_exact(l->file, l->map.runs, count * DMC_EXTENT_SIZE,
			       l->hdr.x_offset) : 0;
	if (r) {
		DMWARN("%s: cannot read its extent list (%d); reading its block map instead",
		       l->path, r);
		goto fail;
	}
	dmc_extent_walk_begin(&w, &l->hdr);
	for (done = 0; done < count; done += n) {
		n = min(count - done, DMC_RUNS_CHECK_CHUNK);
		r = dmc_extent_walk_feed(&w, &l->map.runs[done], n, &bad, &why);
		if (r)
			break;
		cond_resched();
	}
	if (!r)
		r = dmc_extent_walk_end(&w, &l->hdr, &why);
	if (r) {
		DMWARN("%s: %s (run %llu); reading its block map instead",
		       l->path, dmc_verify_reason_str(why), bad);
		r = -EINVAL;
		goto fail;
	}
	dmc_bm_runs_done(&l->map);
	return 0;
fail:
	dmc_bm_destroy(&l->map);
	return r;
}

static int load_map(struct dmc_layer *l, const char **why)
{
	u64 bad;
	int r;

	if (!l->writable && !load_runs(l))
		return 0;

	/*
	 * Every layer's map is held whole (4 MiB per 1 TiB of virtual size
	 * at 64 KiB blocks, 64 MiB at 4 KiB), so a deep chain of a big disk
	 * can ask for more than the machine has: its table load is refused
	 * while half of the memory available is left.
	 */
	if (!dmc_mem_allows(dmc_map_length(l->hdr.nr_blocks), 2)) {
		DMERR("%s: its block map (%llu MiB) would take more than half of the memory available",
		      l->path, dmc_map_length(l->hdr.nr_blocks) >> 20);
		*why =
			"Not enough memory for the layer's block map (each layer's map is held whole: a deep chain of a big disk needs depth times size / block size / 4 bytes)";
		return -ENOMEM;
	}
	r = dmc_bm_init(&l->map, l->hdr.nr_blocks);
	if (r) {
		*why = "Cannot allocate the layer's block map";
		return r;
	}
	r = read_exact(l->file, l->map.bits, l->map.bytes, l->hdr.map_offset);
	if (r) {
		*why = "Cannot read the layer's block map";
		return r == -ENODATA ? -EINVAL : r;
	}
	r = dmc_bm_scan(&l->map, &bad);
	if (r) {
		DMERR("%s: block %llu has an invalid map entry", l->path, bad);
		*why = "Layer block map holds an invalid entry";
	}
	return r;
}

/*
 * The flock goes now, not with the file: fput() from a kernel thread (the
 * merge worker retiring a layer, a failed open in a worker) is deferred,
 * and until the deferred close ran, chainctl or a new table opening the
 * file right after would find it locked (-EAGAIN).
 */
static void free_layer(struct dmc_layer *l)
{
	if (l->flocked)
		set_flock(l->file, F_UNLCK);
	if (l->wfile)
		fput(l->wfile);
	if (l->file)
		fput(l->file);
	dmc_bm_destroy(&l->map);
	kvfree(l->commit_buf);
	kfree(l->slot);
	kfree(l->path);
	kfree(l->owner_name);
	kfree(l);
}

static struct dmc_layer *find_layer(struct inode *inode)
{
	struct dmc_layer *l;

	list_for_each_entry(l, &dmc_layers, list)
		if (l->inode == inode)
			return l;
	return NULL;
}

static int share_layer(struct dmc_layer *l, bool writable, bool raw,
		       const void *owner, const char *owner_name,
		       const char **why)
{
	if (l->raw != raw) {
		DMERR("%s: %s is open as a %s by device %s", owner_name,
		      l->path, l->raw ? "raw image" : "layer", l->owner_name);
		*why = l->raw ?
			"File is open as a raw image by a device; it cannot be a layer too" :
			"File is open as a layer by a device; it cannot be a raw image too";
		return -EBUSY;
	}
	if (l->writable && l->owner != owner) {
		DMERR("%s: %s is held writable by device %s", owner_name,
		      l->path, l->owner_name);
		*why = "Layer is held writable by another device";
		return -EBUSY;
	}
	if (!l->writable && writable) {
		DMERR("%s: %s is in use read-only by device %s", owner_name,
		      l->path, l->owner_name);
		*why = "Layer is in use read-only by a device; cannot open it writable";
		return -EBUSY;
	}
	if (l->merge_owner && l->merge_owner != owner) {
		DMERR("%s: %s is part of a live merge on device %s",
		      owner_name, l->path, l->owner_name);
		*why = "Layer is part of a live merge on another device";
		return -EBUSY;
	}
	if (l->hdr.state == DMC_STATE_MERGED_AWAY) {
		*why = "Layer was merged away into another layer";
		return -EINVAL;
	}
	l->refs++;
	return 0;
}

static const char *open_error(int r, bool writable)
{
	switch (r) {
	case -ENOENT:
		return "Layer file does not exist";
	case -EROFS:
		return "Writable leaf is on a read-only filesystem";
	case -EACCES:
	case -EPERM:
		return writable ? "Permission denied opening the leaf writable" :
				  "Permission denied opening a layer";
	case -EISDIR:
		return "Layer path is a directory";
	default:
		return "Cannot open layer file";
	}
}

/*
 * Only regular files are opened: a FIFO or a device node named in a table
 * line must not block the table load or wake a driver.  The type is
 * checked on the path first; the open is non-blocking and checked again,
 * for a path that changed in between.
 */
static struct file *open_regular(const char *path, bool writable,
				 const char **why)
{
	struct file *file;
	struct path p;
	int r;

	r = kern_path(path, LOOKUP_FOLLOW, &p);
	if (r) {
		*why = open_error(r, writable);
		return ERR_PTR(r);
	}
	r = d_is_reg(p.dentry) ? 0 : d_is_dir(p.dentry) ? -EISDIR : -EINVAL;
	path_put(&p);
	if (r) {
		*why = r == -EISDIR ? open_error(r, writable) :
				      "Layer is not a regular file";
		return ERR_PTR(r);
	}
	file = filp_open(path, (writable ? O_RDWR : O_RDONLY) | O_LARGEFILE |
			 O_NONBLOCK, 0);
	if (IS_ERR(file)) {
		*why = open_error(PTR_ERR(file), writable);
		return file;
	}
	if (!S_ISREG(file_inode(file)->i_mode)) {
		fput(file);
		*why = "Layer is not a regular file";
		return ERR_PTR(-EINVAL);
	}
	/* O_NONBLOCK was for the open only (as fcntl(F_SETFL) clears it). */
	spin_lock(&file->f_lock);
	file->f_flags &= ~O_NONBLOCK;
	spin_unlock(&file->f_lock);
	return file;
}

static int open_file(struct dmc_layer *l, const char *path, bool writable,
		     const char **why)
{
	struct block_device *bdev;
	struct file *file;

	file = open_regular(path, writable, why);
	if (IS_ERR(file))
		return PTR_ERR(file);
	l->file = file;
	l->inode = file_inode(file);
	l->can_dio = !!(file->f_mode & FMODE_CAN_ODIRECT);
	bdev = l->inode->i_sb->s_bdev;
	l->dio_align = bdev ? bdev_logical_block_size(bdev) : SECTOR_SIZE;
	return 0;
}

static int layer_get(const char *path, bool writable, bool raw,
		     const void *owner, const char *owner_name,
		     struct dmc_layer **out, const char **why)
{
	struct dmc_layer *l, *shared;
	int r;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l) {
		*why = "Cannot allocate layer";
		return -ENOMEM;
	}
	mutex_init(&l->commit_lock);
	spin_lock_init(&l->map.lock);
	l->refs = 1;
	l->owner = owner;
	l->writable = writable;
	l->raw = raw;
	l->path = kstrdup(path, GFP_KERNEL);
	l->owner_name = kstrdup(owner_name, GFP_KERNEL);
	if (!l->path || !l->owner_name) {
		*why = "Cannot allocate layer";
		r = -ENOMEM;
		goto bad;
	}
	r = open_file(l, path, writable, why);
	if (r)
		goto bad;

	mutex_lock(&dmc_layers_lock);
	shared = find_layer(l->inode);
	if (shared) {
		r = share_layer(shared, writable, raw, owner, owner_name, why);
		mutex_unlock(&dmc_layers_lock);
		free_layer(l);
		if (!r)
			*out = shared;
		return r;
	}

	r = set_flock(l->file, writable ? F_WRLCK : F_RDLCK);
	l->flocked = !r;
	if (r) {
		*why = writable ?
		       "Layer file is locked by another process (flock); cannot hold it exclusively" :
		       "Layer file is locked exclusively by another process (flock)";
		goto bad_unlock;
	}
	r = load_header(l, why);
	if (r)
		goto bad_unlock;
	if (!l->raw) {
		r = load_map(l, why);
		if (r)
			goto bad_unlock;
	}
	list_add_tail(&l->list, &dmc_layers);
	mutex_unlock(&dmc_layers_lock);
	*out = l;
	return 0;

bad_unlock:
	mutex_unlock(&dmc_layers_lock);
bad:
	free_layer(l);
	return r;
}

int dmc_layer_get(const char *path, bool writable, const void *owner,
		  const char *owner_name, struct dmc_layer **out,
		  const char **why)
{
	return layer_get(path, writable, false, owner, owner_name, out, why);
}

int dmc_layer_get_raw(const char *path, bool writable, const void *owner,
		      const char *owner_name, struct dmc_layer **out,
		      const char **why)
{
	return layer_get(path, writable, true, owner, owner_name, out, why);
}

/*
 * Ask for the header slots of @files[i] and, once they are in, for the
 * extent list they describe: page cache readahead, not waited for.
 */
static void prefetch_headers(struct file **files, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (files[i])
			vfs_fadvise(files[i], 0, 2 * DMC_SLOT_SIZE,
				    POSIX_FADV_WILLNEED);
}

static void prefetch_lists(struct file **files, unsigned int nr, u8 *slots)
{
	enum dmc_verify_reason vwhy;
	const char *why;
	struct dmc_hdr h;
	unsigned int i;
	u64 size, max;
	int cur;

	for (i = 0; i < nr; i++) {
		if (!files[i])
			continue;
		size = i_size_read(file_inode(files[i]));
		max = file_inode(files[i])->i_sb->s_maxbytes;
		/* (no list: a length of 0 would ask for the whole file) */
		if (size < DMC_SLOT_SIZE ||
		    read_slots(files[i], size, slots, &cur) || cur < 0 ||
		    dmc_header_decode_max(slots + cur * DMC_SLOT_SIZE, size,
					  max, &h, &why) ||
		    !h.x_count ||
		    dmc_verify_extent_list_place(&h, size, max, &vwhy) !=
		    DMC_XLIST_CURRENT)
			continue;
		vfs_fadvise(files[i], h.x_offset, h.x_count * DMC_EXTENT_SIZE,
			    POSIX_FADV_WILLNEED);
	}
}

/*
 * Read ahead what loading the layer files @paths[@first..@nr) will read:
 * their header slots, then the extent lists those describe.  With a cold
 * cache, a deep chain's table load is otherwise thousands of small reads,
 * each waited for before the next is asked (1023 layers of a few thousand
 * runs: about 1.3 s of a 2 s load under emulation).  Advisory only: any
 * file it cannot open or read is skipped, and the load meets and reports
 * the same problem.  Nothing is locked or registered here.
 */
void dmc_layer_prefetch(char *const *paths, unsigned int first,
			unsigned int nr)
{
	struct file **files;
	const char *why;
	unsigned int i;
	u8 *slots;

	if (nr <= first + 1)
		return;
	files = kvcalloc(nr, sizeof(*files), GFP_KERNEL);
	slots = kvmalloc(2 * DMC_SLOT_SIZE, GFP_KERNEL);
	if (!files || !slots)
		goto out;
	for (i = first; i < nr; i++) {
		files[i] = open_regular(paths[i], false, &why);
		if (IS_ERR(files[i]))
			files[i] = NULL;
	}
	prefetch_headers(files, nr);
	prefetch_lists(files, nr, slots);
	for (i = 0; i < nr; i++)
		if (files[i])
			fput(files[i]);
out:
	kvfree(slots);
	kvfree(files);
}

void dmc_layer_put(struct dmc_layer *l)
{
	unsigned int noio;
	int r;

	mutex_lock(&dmc_layers_lock);
	if (--l->refs) {
		mutex_unlock(&dmc_layers_lock);
		return;
	}
	/* Write back while still registered, so that a new open of the
	 * same file cannot load a map older than ours.
	 */
	if (dmc_layer_wfile(l) && !l->raw && dmc_bm_any_dirty(&l->map)) {
		noio = memalloc_noio_save();
		r = dmc_layer_commit(l);
		memalloc_noio_restore(noio);
		if (r)
			DMERR("%s: writing back the block map failed: %d",
			      l->path, r);
	}
	list_del(&l->list);
	mutex_unlock(&dmc_layers_lock);
	free_layer(l);
}

int dmc_layer_begin_write(struct dmc_layer *l)
{
	unsigned int next;
	struct dmc_hdr h;
	const char *why;
	void *buf;
	int r = 0;

	if (l->raw || !l->writable)
		return 0;
	buf = kmalloc(DMC_SLOT_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	/*
	 * Every table that makes this layer its writable leaf bumps the
	 * generation, even on a handle shared with an older table: a child
	 * may have been made from the layer since that table bumped it (a
	 * snapshot, then a reload that makes the old leaf the leaf again).
	 */
	mutex_lock(&l->commit_lock);
	next = l->cur_slot ^ 1;
	dmc_header_next(buf, l->slot, l->hdr.sequence + 1,
			l->hdr.generation + 1);
	r = dmc_header_decode(buf, i_size_read(l->inode), &h, &why);
	if (!r)
		r = dmc_write_exact(l->file, buf, DMC_SLOT_SIZE,
				    (loff_t)next * DMC_SLOT_SIZE);
	if (!r)
		r = vfs_fsync(l->file, 0);
	if (r) {
		kfree(buf);
		goto out;
	}
	kfree(l->slot);
	l->slot = buf;
	l->hdr = h;
	l->cur_slot = next;
out:
	mutex_unlock(&l->commit_lock);
	return r;
}

/*
 * One round: snapshot up to DMC_COMMIT_BATCH dirty pages at or after
 * *idx, sync data, write the snapshots, sync them.  *idx moves past the
 * last page taken.  Returns pages written (0: none dirty from *idx on) or
 * -errno.
 */
static int commit_batch(struct dmc_layer *l, u8 *buf, unsigned long *idx)
{
	struct dmc_blockmap *bm = &l->map;
	struct file *wf = dmc_layer_wfile(l);
	unsigned long pages[DMC_COMMIT_BATCH];
	unsigned int n, i;
	int r;

	n = dmc_bm_take_batch(bm, idx, buf, pages, DMC_COMMIT_BATCH);
	if (!n)
		return 0;
	/* Data first: every DATA entry in the snapshot is for a write that
	 * completed before the snapshot was taken.
	 */
	r = vfs_fsync(wf, 1);
	for (i = 0; !r && i < n; i++)
		r = dmc_write_exact(wf, buf + i * DMC_MAP_PAGE_SIZE,
				    DMC_MAP_PAGE_SIZE,
				    l->hdr.map_offset +
				    (u64)pages[i] * DMC_MAP_PAGE_SIZE);
	if (!r)
		r = vfs_fsync(wf, 1);
	if (r) {
		for (i = 0; i < n; i++)
			dmc_bm_redirty(bm, pages[i]);
		return r;
	}
	return n;
}

/*
 * One pass over the whole map, in page order: every page dirty when the
 * pass starts is taken when the cursor reaches it (only commits clear
 * dirty bits, and they are serialized).  Pages dirtied behind the cursor
 * wait for the next commit; the pass ends at the last page.
 */
static int commit_pass(struct dmc_layer *l)
{
	unsigned long idx = 0;
	bool any = false;
	int r;

	for (;;) {
		r = commit_batch(l, l->commit_buf, &idx);
		if (r <= 0)
			break;
		any = true;
		cond_resched();
	}
	if (!r && !any)
		r = vfs_fsync(dmc_layer_wfile(l), 1);
	return r;
}

int dmc_layer_commit_guarded(struct dmc_layer *l, unsigned long *flags,
			     unsigned int bit)
{
	/*
	 * A commit that starts after this call did (number > @seen) covers
	 * everything dirty now: when one has succeeded by the time we hold
	 * the lock, concurrent flushes are served by it.  The acquire pairs
	 * with the map lock taken when the pages were dirtied.
	 */
	u64 seen = smp_load_acquire(&l->commit_started), nr;
	int r = 0;

	mutex_lock(&l->commit_lock);
	if (!dmc_layer_wfile(l))
		goto out;		/* nothing was ever written */
	if (flags && test_bit(bit, flags)) {
		/* A failed commit may have lost data (fsync reports a
		 * write-back error only once): never claim durability after
		 * it.  Checked under the lock, so a commit waiting for a
		 * failing one sees the failure.
		 */
		r = -EIO;
		goto out;
	}
	if (l->commit_good > seen)
		goto out;
	if (!l->raw && !l->commit_buf) {
		l->commit_buf = kvmalloc(DMC_COMMIT_BATCH * DMC_MAP_PAGE_SIZE,
					 GFP_KERNEL);
		if (!l->commit_buf) {
			r = -ENOMEM;
			goto out;
		}
	}
	nr = l->commit_started + 1;
	/* Pairs with the smp_load_acquire() on entry (see above). */
	smp_store_release(&l->commit_started, nr);
	r = l->raw ? vfs_fsync(dmc_layer_wfile(l), 1) : commit_pass(l);
	if (!r)
		l->commit_good = nr;
	else if (flags)
		set_bit(bit, flags);
out:
	mutex_unlock(&l->commit_lock);
	return r;
}

int dmc_layer_commit(struct dmc_layer *l)
{
	return dmc_layer_commit_guarded(l, NULL, 0);
}

int dmc_layer_punch(struct dmc_layer *l, u64 first, u64 nr,
		    unsigned int block_shift)
{
	int r;

	if (!nr)
		return 0;
	r = vfs_fallocate(dmc_layer_wfile(l),
			  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  dmc_layer_data_offset(l) + (first << block_shift),
			  nr << block_shift);
	return r == -EOPNOTSUPP ? 0 : r;
}

/* ---- live merge and snapshot support ---- */

int dmc_layer_claim(struct dmc_layer *l, const void *owner, const char **why)
{
	int r = 0;

	mutex_lock(&dmc_layers_lock);
	if (l->refs > 1) {
		*why = "Layer is shared with another device or table";
		r = -EBUSY;
	} else if (l->merge_owner && l->merge_owner != owner) {
		*why = "Layer is part of another live merge";
		r = -EBUSY;
	} else {
		l->merge_owner = owner;
	}
	mutex_unlock(&dmc_layers_lock);
	return r;
}

void dmc_layer_unclaim(struct dmc_layer *l)
{
	mutex_lock(&dmc_layers_lock);
	l->merge_owner = NULL;
	mutex_unlock(&dmc_layers_lock);
}

int dmc_layer_open_for_write(struct dmc_layer *l, const char **why)
{
	struct file *file;
	int r = 0;

	mutex_lock(&l->commit_lock);
	if (dmc_layer_wfile(l))
		goto out;
	file = filp_open(l->path, O_RDWR | O_LARGEFILE, 0);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		*why = r == -EROFS ? "Layer is on a read-only filesystem" :
				     "Cannot open the layer file for writing";
		goto out;
	}
	if (file_inode(file) != l->inode) {
		fput(file);
		*why = "Layer file was replaced since the device opened it";
		r = -ESTALE;
		goto out;
	}
	l->wfile = file;
out:
	mutex_unlock(&l->commit_lock);
	return r;
}

int dmc_layer_edit_header(struct dmc_layer *l, dmc_slot_edit_fn edit,
			  const void *arg)
{
	struct file *wf = dmc_layer_wfile(l);
	unsigned int next;
	struct dmc_hdr h;
	const char *why;
	void *buf;
	int r;

	if (l->raw || !wf)
		return -EBADF;
	buf = kmalloc(DMC_SLOT_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&l->commit_lock);
	memcpy(buf, l->slot, DMC_SLOT_SIZE);
	r = edit(buf, arg);
	if (r)
		goto out;
	dmc_header_seal(buf, l->hdr.sequence + 1);
	if (le32_to_cpu(((struct dmc_header *)buf)->state) ==
	    DMC_STATE_MERGED_AWAY) {
		/* The decoder refuses merged-away layers: keep ours. */
		h = l->hdr;
		h.sequence++;
		h.state = DMC_STATE_MERGED_AWAY;
		/* The last mark of a raw-base merge also ends its journal. */
		if (!((struct dmc_header *)buf)->journal.state)
			h.j_state = DMC_JOURNAL_NONE;
	} else {
		r = dmc_header_decode(buf, i_size_read(l->inode), &h, &why);
		if (r) {
			DMERR("%s: refusing to write a bad header: %s", l->path,
			      why);
			goto out;
		}
	}
	next = l->cur_slot ^ 1;
	r = dmc_write_exact(wf, buf, DMC_SLOT_SIZE, (loff_t)next * DMC_SLOT_SIZE);
	if (!r)
		r = vfs_fsync(wf, 0);
	if (r)
		goto out;
	swap(l->slot, buf);
	l->hdr = h;
	l->cur_slot = next;
out:
	mutex_unlock(&l->commit_lock);
	kfree(buf);
	return r;
}

/* The absolute path of an open file, in a __getname() buffer. */
static char *file_abs_path(struct file *file, char **buf)
{
	char *p;

	*buf = __getname();
	if (!*buf)
		return ERR_PTR(-ENOMEM);
	p = d_path(&file->f_path, *buf, PATH_MAX);
	if (IS_ERR(p)) {
		__putname(*buf);
		*buf = NULL;
	}
	return p;
}

int dmc_layer_rel_path(struct dmc_layer *from, struct dmc_layer *to,
		       char *out, size_t size)
{
	char *fb, *tb, *fp, *tp;
	int r;

	fp = file_abs_path(from->file, &fb);
	if (IS_ERR(fp))
		return PTR_ERR(fp);
	tp = file_abs_path(to->file, &tb);
	if (IS_ERR(tp)) {
		__putname(fb);
		return PTR_ERR(tp);
	}
	r = dmc_rel_path(fp, tp, out, size);
	__putname(tb);
	__putname(fb);
	return r;
}

static int fsync_parent_dir(struct file *file)
{
	struct path dir = { .mnt = file->f_path.mnt };
	struct file *df;
	int r;

	dir.dentry = dget_parent(file->f_path.dentry);
	df = dentry_open(&dir, O_RDONLY | O_DIRECTORY, current_cred());
	dput(dir.dentry);
	if (IS_ERR(df))
		return PTR_ERR(df);
	r = vfs_fsync(df, 0);
	fput(df);
	return r;
}

/*
 * Remove the file @file was opened on, if its name still leads to it: a
 * new layer nobody will use.  The same steps as unlink(2): write access
 * to the mount, the directory locked, the dentry checked under the lock.
 */
static int unlink_file(struct file *file)
{
	struct dentry *dentry = file->f_path.dentry;
	struct vfsmount *mnt = file->f_path.mnt;
	struct dentry *dir = dget_parent(dentry);
	struct inode *dinode = d_inode(dir);
	int r;

	r = mnt_want_write(mnt);
	if (r)
		goto out;
	inode_lock_nested(dinode, I_MUTEX_PARENT);
	/*
	 * A reference of our own, as unlink(2)'s lookup holds: with only
	 * the file's, d_delete() would make the dentry negative under the
	 * open file instead of unhashing it.
	 */
	dget(dentry);
	if (dentry->d_parent == dir && !d_unhashed(dentry) &&
	    d_inode(dentry) == file_inode(file))
		r = vfs_unlink(mnt_user_ns(mnt), dinode, dentry, NULL);
	else
		r = -ESTALE;
	dput(dentry);
	inode_unlock(dinode);
	mnt_drop_write(mnt);
out:
	dput(dir);
	return r;
}

void dmc_layer_create_end(struct file *file, const char *made, bool keep)
{
	int r;

	if (!keep) {
		r = unlink_file(file);
		if (r)
			DMERR("%s: could not remove the unused new leaf (%d); remove it by hand",
			      made, r);
	}
	fput(file);
}

/* Write a new empty child of @parent into the freshly created @file. */
static int init_child(struct file *file, struct dmc_layer *parent,
		      u64 parent_generation, const char **why)
{
	const struct dmc_hdr *ph = &parent->hdr;
	struct dmc_new_layer nl = {
		.block_shift = ph->block_shift,
		.virtual_size = ph->virtual_size,
		.parent_generation = parent_generation,
	};
	char *nb = NULL, *pb = NULL, *np, *pp, *rel = NULL;
	uuid_t uuid;
	void *slot;
	int r;

	slot = kmalloc(DMC_SLOT_SIZE, GFP_KERNEL);
	rel = kmalloc(DMC_PATH_MAX, GFP_KERNEL);
	if (!slot || !rel) {
		r = -ENOMEM;
		goto out;
	}
	np = file_abs_path(file, &nb);
	pp = file_abs_path(parent->file, &pb);
	if (IS_ERR(np) || IS_ERR(pp)) {
		r = IS_ERR(np) ? PTR_ERR(np) : PTR_ERR(pp);
		*why = "Cannot resolve the layer paths";
		goto out;
	}
	r = dmc_rel_path(np, pp, rel, DMC_PATH_MAX);
	if (r) {
		*why = "Parent path does not fit the header";
		goto out;
	}
	nl.parent_path = rel;
	uuid_gen(&uuid);
	memcpy(nl.uuid, uuid.b, DMC_UUID_SIZE);
	memcpy(nl.parent_uuid, ph->uuid, DMC_UUID_SIZE);
	*why = "Cannot write the new layer's header";
	r = dmc_header_build(slot, &nl, 1);
	if (!r)
		r = dmc_write_exact(file, slot, DMC_SLOT_SIZE, 0);
	if (!r) {
		dmc_header_seal(slot, 2);
		r = dmc_write_exact(file, slot, DMC_SLOT_SIZE, DMC_SLOT_SIZE);
	}
	if (!r) {
		*why = "Cannot size the new layer file";
		r = vfs_truncate(&file->f_path,
				 dmc_new_layer_size(nl.virtual_size,
						    nl.block_shift));
	}
	if (!r) {
		*why = "Cannot sync the new layer file";
		r = vfs_fsync(file, 0);
	}
	if (!r)
		r = fsync_parent_dir(file);
out:
	if (nb)
		__putname(nb);
	if (pb)
		__putname(pb);
	kfree(rel);
	kfree(slot);
	return r;
}

int dmc_layer_create(const char *path, struct dmc_layer *parent,
		     u64 parent_generation, struct dmc_layer *beside,
		     char *made, size_t made_size, struct file **filep,
		     const char **why)
{
	struct file *file = ERR_PTR(-EEXIST);
	char *pb = NULL, *pp;
	unsigned int n, first;
	int r;

	if (parent->raw) {
		*why = "A new leaf on a raw image is not supported live";
		return -EOPNOTSUPP;
	}
	if (path) {
		if (strscpy(made, path, made_size) < 0) {
			*why = "New leaf path is too long";
			return -ENAMETOOLONG;
		}
		file = filp_open(made, O_CREAT | O_EXCL | O_RDWR | O_LARGEFILE,
				 0600);
	} else {
		pp = file_abs_path(beside->file, &pb);
		if (IS_ERR(pp)) {
			*why = "Cannot resolve the leaf's path";
			return PTR_ERR(pp);
		}
		/*
		 * Count on from the leaf's own number (vm-7.dmc gives vm-8),
		 * so that the first name tried is free in the usual case
		 * however many layers the directory has seen.
		 */
		first = dmc_leaf_suffix(pp);
		if (first > UINT_MAX - DMC_LEAF_NAME_TRIES)
			first = 0;
		for (n = first + 1; n <= first + DMC_LEAF_NAME_TRIES &&
		     PTR_ERR(file) == -EEXIST; n++) {
			if (dmc_leaf_name(pp, n, made, made_size)) {
				file = ERR_PTR(-ENAMETOOLONG);
				break;
			}
			file = filp_open(made, O_CREAT | O_EXCL | O_RDWR |
					 O_LARGEFILE, 0600);
		}
		__putname(pb);
	}
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		switch (r) {
		case -EEXIST:
			*why = path ? "New leaf file already exists" :
			       "No free default name next to the leaf: name the new leaf";
			break;
		case -ENOSPC:
			*why = "No space for the new leaf file";
			break;
		case -ENOENT:
			*why = "Directory of the new leaf does not exist";
			break;
		default:
			*why = "Cannot create the new leaf file";
		}
		return r;
	}
	r = init_child(file, parent, parent_generation, why);
	if (r) {
		DMERR("%s: creating the new leaf failed (%d)", made, r);
		dmc_layer_create_end(file, made, false);
		return r;
	}
	*filep = file;
	return 0;
}
