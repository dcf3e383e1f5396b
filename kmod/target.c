// SPDX-License-Identifier: GPL-2.0
/*
 * Device-mapper target "chain": constructor and destructor, bio mapping
 * entry, suspend/resume, status, messages, queue limits, and the list of
 * live chain devices the netlink family reports.
 *
 * Dependencies: the target knows neither netlink nor the merge worker.
 * A live merge attaches itself to a device through dc->merge_ops
 * (struct dmc_merge_ops in chain.h), which suspend, resume, the
 * destructor, the device report and the table check call.
 */
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <linux/kernfs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-chain.h"
#include "blockmap.h"
#include "chain.h"
#include "header.h"
#include "layer.h"
#include "table.h"
#include "target.h"

/* Live chain devices in creation order; guarded by dmc_devices_lock. */
static LIST_HEAD(dmc_devices);
static DEFINE_MUTEX(dmc_devices_lock);

/* The merge attached to @dc, if any (see struct dmc_merge_ops). */
static const struct dmc_merge_ops *merge_ops(struct dmc_chain *dc)
{
	return READ_ONCE(dc->merge_ops);
}

/*
 * From how many indexed layers a device keeps a read index (view.h): two
 * bytes a block, as much memory as eight layers' maps, for reads that no
 * longer walk the layers.  0: never.
 */
static unsigned int read_index_layers = 8;
module_param(read_index_layers, uint, 0644);
MODULE_PARM_DESC(read_index_layers,
		 "lower layers from which a device keeps a read index (0: never)");

/*
 * The read index of layers [0, @covered) of @maps, or NULL when there are
 * too few of them for it to pay (or no memory).  Under PF_MEMALLOC_NOIO
 * where the device may hold I/O.
 */
static struct dmc_view *build_view(struct dmc_chain *dc,
				   const struct dmc_blockmap *const *maps,
				   unsigned int covered)
{
	unsigned int min = READ_ONCE(read_index_layers);

	if (!min || covered < min)
		return NULL;
	return dmc_view_build(maps, covered,
			      dmc_nr_blocks(dc->dev_size, dc->block_shift));
}

/* Largest discard / write-zeroes bio handed to us, in sectors (2 GiB). */
#define DMC_MAX_DISCARD_SECTORS	(1U << 22)

static struct mapped_device *chain_md(struct dmc_chain *dc)
{
	return dm_table_get_md(dc->ti->table);
}

static const char *chain_name(struct dmc_chain *dc)
{
	return dm_device_name(chain_md(dc));
}

/* The name users gave the device; @name holds DM_NAME_LEN bytes. */
static void copy_name(struct dmc_chain *dc, char *name)
{
	/*
	 * dm_device_name() is "major:minor"; the name users gave lives in
	 * dm-ioctl's hash cell.  Copying it takes only dm_hash_cells_mutex,
	 * which device-mapper never holds while calling into a target, so
	 * nesting it under our locks is safe.  A table loaded on a device
	 * being removed has no cell any more.
	 */
	if (dm_copy_name_and_uuid(chain_md(dc), name, NULL))
		strscpy(name, chain_name(dc), DM_NAME_LEN);
}

static int describe(struct dmc_chain *dc, bool with_layers,
		    int (*fn)(const struct dm_chain_dev_info *info, void *ctx),
		    void *ctx)
{
	const struct dmc_merge_ops *ops;
	struct dm_chain_layer_info *layers = NULL;
	struct dm_chain_merge_status ms;
	struct dm_chain_dev_info info;
	char name[DM_NAME_LEN];
	unsigned int i;
	u64 counts[4];
	int r;

	copy_name(dc, name);
	down_read(&dc->chain_lock);
	if (with_layers) {
		layers = kvcalloc(dc->nr_layers, sizeof(*layers), GFP_KERNEL);
		if (!layers) {
			up_read(&dc->chain_lock);
			return -ENOMEM;
		}
	}
	for (i = 0; layers && i < dc->nr_layers; i++) {
		const struct dmc_hdr *h = dmc_layer_hdr(dc->layers[i]);

		dmc_bm_counts((struct dmc_blockmap *)dc->maps[i], counts);
		layers[i].path = dc->paths[i];
		layers[i].uuid = h ? h->uuid : NULL;
		layers[i].generation = h ? h->generation : 0;
		layers[i].data_blocks = counts[DMC_BLOCK_DATA];
		layers[i].zero_blocks = counts[DMC_BLOCK_ZERO];
		layers[i].map_bytes = dmc_bm_mem_bytes(dc->maps[i]);
		layers[i].by_runs = dmc_bm_by_runs(dc->maps[i]);
		layers[i].runs = dc->maps[i]->nr_runs;
		layers[i].writable = !dc->read_only && i == dc->nr_layers - 1;
	}
	info.index_bytes = dmc_view_mem_bytes(dc->view);
	info.name = name;
	info.dev = disk_devt(dm_disk(chain_md(dc)));
	info.nr_layers = dc->nr_layers;
	info.read_only = dc->read_only;
	info.block_size = 1U << dc->block_shift;
	info.layers = layers;
	ops = merge_ops(dc);
	info.merge = ops && ops->status(dc, &ms) ? &ms : NULL;
	r = fn(&info, ctx);
	up_read(&dc->chain_lock);
	kvfree(layers);
	return r;
}

int dm_chain_describe(struct dmc_chain *dc,
		      int (*fn)(const struct dm_chain_dev_info *info,
				void *ctx),
		      void *ctx)
{
	return describe(dc, true, fn, ctx);
}

int dm_chain_describe_head(struct dmc_chain *dc,
			   int (*fn)(const struct dm_chain_dev_info *info,
				     void *ctx),
			   void *ctx)
{
	return describe(dc, false, fn, ctx);
}

int dm_chain_for_each_device(int (*fn)(const struct dm_chain_dev_info *info,
				       void *ctx),
			     void *ctx)
{
	struct dmc_chain *dc;
	int r = 0;

	mutex_lock(&dmc_devices_lock);
	list_for_each_entry(dc, &dmc_devices, list) {
		/* A table loaded but not resumed is not the device yet. */
		if (!READ_ONCE(dc->live))
			continue;
		r = dm_chain_describe(dc, fn, ctx);
		if (r)
			break;
	}
	mutex_unlock(&dmc_devices_lock);
	return r;
}

struct dmc_chain *dm_chain_get(const char *name)
{
	char cur[DM_NAME_LEN];
	struct dmc_chain *dc, *found = NULL;

	mutex_lock(&dmc_devices_lock);
	/* Newest first: during a table swap the new table is the device. */
	list_for_each_entry_reverse(dc, &dmc_devices, list) {
		if (!READ_ONCE(dc->live))
			continue;
		copy_name(dc, cur);
		if (!strcmp(cur, name)) {
			atomic_inc(&dc->users);
			found = dc;
			break;
		}
	}
	mutex_unlock(&dmc_devices_lock);
	return found;
}

void dm_chain_put(struct dmc_chain *dc)
{
	if (atomic_dec_and_test(&dc->users))
		wake_up_all(&dc->users_wait);
}

bool dmc_chain_sole_table(struct dmc_chain *dc)
{
	struct dmc_chain *other;
	bool sole = true;

	mutex_lock(&dmc_devices_lock);
	list_for_each_entry(other, &dmc_devices, list)
		if (other != dc && other->md == dc->md)
			sole = false;
	mutex_unlock(&dmc_devices_lock);
	return sole;
}

int dmc_chain_begin_change(struct dmc_chain *dc, const char **why)
{
	struct dmc_chain *other;
	int r = 0;

	mutex_lock(&dmc_devices_lock);
	list_for_each_entry(other, &dmc_devices, list)
		if (other != dc && other->md == dc->md)
			r = -EBUSY;
	if (r)
		*why = "Device has another table loaded; resume or clear it first";
	else
		dc->changing = true;
	mutex_unlock(&dmc_devices_lock);
	return r;
}

void dmc_chain_end_change(struct dmc_chain *dc)
{
	mutex_lock(&dmc_devices_lock);
	dc->changing = false;
	mutex_unlock(&dmc_devices_lock);
}

void dmc_chain_name(struct dmc_chain *dc, char *name)
{
	copy_name(dc, name);
}

dev_t dmc_chain_devt(struct dmc_chain *dc)
{
	return disk_devt(dm_disk(chain_md(dc)));
}

unsigned int dmc_chain_hold_io(struct dmc_chain *dc)
{
	unsigned int noio;

	down_write(&dc->chain_lock);
	noio = memalloc_noio_save();
	dmc_gate_close(&dc->gate);
	return noio;
}

void dmc_chain_release_io(struct dmc_chain *dc, unsigned int noio,
			  unsigned long limit)
{
	dmc_gate_open(&dc->gate, limit);
	memalloc_noio_restore(noio);
	up_write(&dc->chain_lock);
}

void dmc_chain_limit_io(struct dmc_chain *dc, unsigned long limit)
{
	dmc_gate_limit(&dc->gate, limit);
}

unsigned long dmc_chain_inflight(struct dmc_chain *dc)
{
	return data_race(READ_ONCE(dc->gate.inflight));
}

unsigned long dmc_chain_inflight_writes(struct dmc_chain *dc)
{
	return data_race(READ_ONCE(dc->gate.writes));
}

int dmc_chain_switch(struct dmc_chain *dc, struct dmc_layer **layers,
		     char **paths, unsigned int nr, u64 *pause_ns)
{
	const struct dmc_blockmap **maps, **old_maps;
	struct dmc_layer **old_layers, *old_leaf;
	struct dmc_view *view, *old_view;
	unsigned int old_nr, i, j, noio;
	char **old_paths;
	ktime_t t0;
	int r = 0;

	maps = kvcalloc(nr, sizeof(*maps), GFP_KERNEL);
	if (!maps)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		maps[i] = dmc_layer_is_raw(layers[i]) ? &dc->raw_map :
			  dmc_layer_map(layers[i]);
	/*
	 * The index leaves out the leaf and the layer below it: a snapshot's
	 * old leaf takes writes until the gate closes.  The rest does not
	 * change the view (a running merge's target is shadowed).
	 */
	noio = memalloc_noio_save();
	view = nr > 2 ? build_view(dc, maps, nr - 2) : NULL;
	memalloc_noio_restore(noio);

	down_write(&dc->chain_lock);
	old_leaf = dmc_leaf(dc);
	noio = memalloc_noio_save();
	/* The bulk of the old leaf's commit happens before the pause. */
	if (old_leaf != layers[nr - 1] && !dc->read_only)
		r = dmc_chain_commit_layer(dc, old_leaf);
	t0 = ktime_get();
	if (!r) {
		dmc_gate_close(&dc->gate);
		if (old_leaf != layers[nr - 1] && !dc->read_only)
			r = dmc_chain_commit_layer(dc, old_leaf);
	}
	if (r) {
		dmc_gate_open(&dc->gate, 0);
		memalloc_noio_restore(noio);
		up_write(&dc->chain_lock);
		kvfree(maps);
		dmc_view_free(view);
		return r;
	}
	old_layers = dc->layers;
	old_paths = dc->paths;
	old_maps = dc->maps;
	old_view = dc->view;
	old_nr = dc->nr_layers;
	dc->layers = layers;
	dc->paths = paths;
	dc->maps = maps;
	dc->view = view;
	dc->nr_layers = nr;
	dmc_gate_open(&dc->gate, 0);
	*pause_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	memalloc_noio_restore(noio);
	up_write(&dc->chain_lock);

	for (i = 0; i < old_nr; i++) {
		for (j = 0; j < nr && layers[j] != old_layers[i]; j++)
			;
		if (j == nr)
			dmc_layer_put(old_layers[i]);
		for (j = 0; j < nr && paths[j] != old_paths[i]; j++)
			;
		if (j == nr)
			kfree(old_paths[i]);
	}
	kvfree(old_layers);
	kvfree(old_paths);
	kvfree(old_maps);
	dmc_view_free(old_view);
	return 0;
}

static void free_chain(struct dmc_chain *dc)
{
	unsigned int i;

	if (dc->wq)
		destroy_workqueue(dc->wq);
	for (i = 0; i < dc->nr_layers; i++) {
		if (dc->layers && dc->layers[i])
			dmc_layer_put(dc->layers[i]);
		if (dc->paths)
			kfree(dc->paths[i]);
	}
	dmc_bm_destroy(&dc->raw_map);
	dmc_view_free(dc->view);
	kvfree(dc->layers);
	kvfree(dc->maps);
	kvfree(dc->paths);
	kfree(dc);
}

static int open_layers(struct dmc_chain *dc, char **error)
{
	const char *name = chain_name(dc);
	unsigned int i, j;
	const char *why;
	int r;

	/* A raw base's bytes are the guest's: never read as a header. */
	dmc_layer_prefetch(dc->paths,
			   dc->features & DMC_FEATURE_RAW_BASE ? 1 : 0,
			   dc->nr_layers);
	for (i = 0; i < dc->nr_layers; i++) {
		bool writable = !dc->read_only && i == dc->nr_layers - 1;

		/* Raw-ness comes from the table line, never from the bytes. */
		if (!i && (dc->features & DMC_FEATURE_RAW_BASE))
			r = dmc_layer_get_raw(dc->paths[i], writable, dc->md,
					      name, &dc->layers[i], &why);
		else
			r = dmc_layer_get(dc->paths[i], writable, dc->md, name,
					  &dc->layers[i], &why);
		if (r) {
			DMERR("%s: layer %u (%s): %s (%d)", name, i,
			      dc->paths[i], why, r);
			*error = (char *)why;
			return r;
		}
		for (j = 0; j < i; j++) {
			if (dc->layers[j] == dc->layers[i]) {
				DMERR("%s: layers %u and %u are the same file",
				      name, j, i);
				*error = "The same layer file is listed twice";
				return -EINVAL;
			}
		}
	}
	return 0;
}

/*
 * Recursion.  loop refuses a backing file that is the loop device itself;
 * here the trap is a layer file on a filesystem that sits on this device:
 * the device's flush would wait on the filesystem, whose I/O waits on the
 * device, forever.  What can be checked at table load: the disk under each
 * layer's filesystem is this device, or a device stacked right on it (it
 * has this device among its "slaves", as device-mapper and md record), or
 * another chain device (or one stacked right on it) whose own layer files
 * are, recursively.  Filesystems with no single block device (btrfs,
 * network filesystems) and deeper stacks of other drivers are not seen.
 */
#define DMC_MAX_STACK	32U

struct stack_walk {
	unsigned int nr;
	struct gendisk *disks[DMC_MAX_STACK];
	unsigned int layer[DMC_MAX_STACK];	/* our layer it came from */
};

/* Whether @upper holds @lower (sysfs: /sys/block/UPPER/slaves/LOWER). */
static bool disk_stacked_on(struct gendisk *upper, struct gendisk *lower)
{
#ifdef CONFIG_BLOCK_HOLDER_DEPRECATED
	struct kernfs_node *kn;

	if (!upper->slave_dir)
		return false;
	kn = kernfs_find_and_get(upper->slave_dir->sd, lower->disk_name);
	if (!kn)
		return false;
	kernfs_put(kn);
	return true;
#else
	return false;
#endif
}

static void walk_add_layers(struct stack_walk *w, struct dmc_layer **layers,
			    unsigned int nr, int from)
{
	unsigned int i, j;

	for (i = 0; i < nr && w->nr < DMC_MAX_STACK; i++) {
		struct block_device *bdev;

		bdev = file_inode(dmc_layer_file(layers[i]))->i_sb->s_bdev;
		if (!bdev)
			continue;
		for (j = 0; j < w->nr && w->disks[j] != bdev->bd_disk; j++)
			;
		if (j < w->nr)
			continue;
		w->disks[w->nr] = bdev->bd_disk;
		w->layer[w->nr++] = from < 0 ? i : from;
	}
}

static int check_recursion(struct dmc_chain *dc, char **error)
{
	struct gendisk *self = dm_disk(chain_md(dc));
	struct stack_walk *w;
	struct dmc_chain *other;
	unsigned int next;
	int r = 0;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w) {
		*error = "Cannot allocate memory";
		return -ENOMEM;
	}
	walk_add_layers(w, dc->layers, dc->nr_layers, -1);
	mutex_lock(&dmc_devices_lock);
	for (next = 0; next < w->nr; next++) {
		struct gendisk *disk = w->disks[next];

		if (disk == self || disk_stacked_on(disk, self)) {
			r = -EINVAL;
			break;
		}
		list_for_each_entry(other, &dmc_devices, list) {
			struct gendisk *od = dm_disk(chain_md(other));

			if (other->md == dc->md ||
			    (od != disk && !disk_stacked_on(disk, od)))
				continue;
			down_read(&other->chain_lock);
			walk_add_layers(w, other->layers, other->nr_layers,
					w->layer[next]);
			up_read(&other->chain_lock);
		}
	}
	mutex_unlock(&dmc_devices_lock);
	if (r) {
		DMERR("%s: layer %u (%s) is on a filesystem that sits on this device (%s)",
		      chain_name(dc), w->layer[next],
		      dc->paths[w->layer[next]], w->disks[next]->disk_name);
		*error =
			"Layer file is on a filesystem that sits on this device; it would deadlock";
	}
	kfree(w);
	return r;
}

/* Merge journals: what may be opened while a merge is unfinished. */
static int check_journal(struct dmc_chain *dc, unsigned int i, char **error)
{
	const struct dmc_hdr *h = dmc_layer_hdr(dc->layers[i]);
	unsigned int leaf = dc->nr_layers - 1, j, lowest;

	if (!h || !dmc_hdr_journal_active(h))
		return 0;
	if (dmc_hdr_journal_targets_raw_parent(h)) {
		lowest = i;		/* the raw base below is the target */
	} else {
		if (i == leaf) {
			*error = "Leaf is the target of an unfinished merge; finish or resume the merge first";
			return -EBUSY;
		}
		lowest = i + 1;
	}
	for (j = lowest; j <= leaf; j++) {
		const struct dmc_hdr *s = dmc_layer_hdr(dc->layers[j]);

		if (!dc->read_only && j == leaf) {
			*error = "Leaf is a source of an unfinished merge; it cannot be opened writable";
			return -EBUSY;
		}
		if (!memcmp(s->uuid, h->j_top_uuid, DMC_UUID_SIZE))
			return 0;
	}
	*error = "Unfinished merge: the table must include the merge's top source layer";
	return -EINVAL;
}

/* Whether layer @i sits on its merge's top source (dmc_live_leap()). */
static bool live_leap(struct dmc_chain *dc, unsigned int i)
{
	const struct dmc_hdr **hdrs;
	unsigned int j;
	bool r;

	hdrs = kvcalloc(i + 1, sizeof(*hdrs), GFP_KERNEL);
	if (!hdrs)
		return false;
	for (j = 0; j <= i; j++)
		hdrs[j] = dmc_layer_hdr(dc->layers[j]);
	r = dmc_live_leap(hdrs, i);
	kvfree(hdrs);
	return r;
}

/* Linkage, block size, device size: the rules of chainctl layer info --chain. */
static int check_chain(struct dmc_chain *dc, char **error)
{
	const char *name = chain_name(dc);
	struct dmc_layer *leaf = dmc_leaf(dc);
	unsigned int i;
	const char *why;
	int r;

	dc->block_shift = DMC_MIN_BLOCK_SHIFT;
	for (i = 0; i < dc->nr_layers; i++) {
		struct dmc_layer *l = dc->layers[i];
		const struct dmc_hdr *h = dmc_layer_hdr(l);

		if (!h)
			continue;	/* the raw base (open_layers()) */
		dc->block_shift = h->block_shift;
		if (!i && h->parent_kind != DMC_PARENT_NONE) {
			*error = h->parent_kind == DMC_PARENT_RAW ?
				"Base layer sits on a raw image; list it first, with raw_base" :
				"Base layer has a parent layer; list the chain from its base";
			return -EINVAL;
		}
		if (i) {
			struct dmc_layer *p = dc->layers[i - 1];

			r = dmc_link_check(h, dmc_layer_hdr(p),
					   dmc_layer_is_raw(p) ?
					   dmc_layer_raw_size(p) : 0, &why);
			if (r && live_leap(dc, i))
				r = 0;
			if (r) {
				DMERR("%s: layer %u (%s) on layer %u (%s): %s",
				      name, i, dc->paths[i], i - 1,
				      dc->paths[i - 1], why);
				*error = (char *)why;
				return r;
			}
		}
	}
	/* After all links: a broken link explains more than a journal rule. */
	for (i = 0; i < dc->nr_layers; i++) {
		r = check_journal(dc, i, error);
		if (r) {
			DMERR("%s: layer %u (%s): %s", name, i, dc->paths[i],
			      *error);
			return r;
		}
	}

	if (dmc_layer_is_raw(leaf)) {
		dc->leaf_raw = true;
		dc->dev_size = round_down(dmc_layer_raw_size(leaf),
					  SECTOR_SIZE);
	} else {
		dc->dev_size = dmc_layer_hdr(leaf)->virtual_size;
	}
	if (dc->ti->len != dc->dev_size >> SECTOR_SHIFT) {
		DMERR("%s: target length %llu sectors, chain size %llu sectors",
		      name, (unsigned long long)dc->ti->len,
		      dc->dev_size >> SECTOR_SHIFT);
		*error = "Target length does not match the chain's virtual size";
		return -EINVAL;
	}

	for (i = 0; i < dc->nr_layers; i++) {
		struct dmc_layer *l = dc->layers[i];

		if (dmc_layer_is_raw(l)) {
			u64 bsize = 1ULL << dc->block_shift;

			dmc_bm_init_raw(&dc->raw_map,
					dmc_nr_blocks(dc->dev_size,
						      dc->block_shift),
					DIV_ROUND_UP(dmc_layer_raw_size(l),
						     bsize));
			dc->maps[i] = &dc->raw_map;
		} else {
			dc->maps[i] = dmc_layer_map(l);
		}
		dc->dio_align = max(dc->dio_align, dmc_layer_dio_align(l));
	}
	return 0;
}

/*
 * Put a new table on the device list, unless another table of the same
 * device runs a live merge or is changing its leaf (snapshot, merge
 * start).  Checked and listed under one lock, the same that
 * dmc_chain_begin_change() takes: a table loaded while a snapshot adds
 * a leaf would name the chain without the new leaf, and the snapshot
 * sees the new table and refuses.
 */
static int list_table(struct dmc_chain *dc, char **error)
{
	const struct dmc_merge_ops *ops;
	struct dmc_chain *other;
	int r = 0;

	mutex_lock(&dmc_devices_lock);
	list_for_each_entry(other, &dmc_devices, list) {
		if (other->md != dc->md)
			continue;
		ops = merge_ops(other);
		if (ops && ops->running(other)) {
			*error = "A live merge is running on this device; wait for it or cancel it first";
			r = -EBUSY;
		} else if (other->changing) {
			*error = "A snapshot or merge start is changing this device's leaf; load the table again";
			r = -EBUSY;
		}
	}
	if (!r)
		list_add_tail(&dc->list, &dmc_devices);
	mutex_unlock(&dmc_devices_lock);
	return r;
}

/*
 * Construct a chain device; see table.c for the line's grammar:
 *
 *   <nr_layers> <layer path>{nr_layers} [<nr_features> <feature>*]
 *
 *   features: raw_base read_only buffered_io
 */
static int chain_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dmc_table_args args;
	struct dmc_chain *dc;
	unsigned int i;
	int r;

	r = dmc_parse_table(argc, argv, &args, &ti->error);
	if (r)
		return r;

	dc = kzalloc(sizeof(*dc), GFP_KERNEL);
	if (!dc) {
		kvfree(args.paths);
		ti->error = "Cannot allocate chain context";
		return -ENOMEM;
	}
	dc->ti = ti;
	dc->md = dm_table_get_md(ti->table);
	dc->nr_layers = args.nr_layers;
	dc->features = args.features;
	dc->read_only = (args.features & DMC_FEATURE_READ_ONLY) ||
			!(dm_table_get_mode(ti->table) & FMODE_WRITE);
	INIT_LIST_HEAD(&dc->list);
	atomic_set(&dc->users, 0);
	init_waitqueue_head(&dc->users_wait);
	init_rwsem(&dc->chain_lock);
	dmc_gate_init(&dc->gate);
	mutex_init(&dc->ctl_lock);
	dmc_cells_init(&dc->cells);
	dmc_submit_init(dc);

	dc->layers = kvcalloc(dc->nr_layers, sizeof(*dc->layers), GFP_KERNEL);
	dc->maps = kvcalloc(dc->nr_layers, sizeof(*dc->maps), GFP_KERNEL);
	dc->paths = kvcalloc(dc->nr_layers, sizeof(*dc->paths), GFP_KERNEL);
	if (!dc->layers || !dc->maps || !dc->paths) {
		ti->error = "Cannot allocate layer arrays";
		r = -ENOMEM;
		goto bad;
	}
	for (i = 0; i < dc->nr_layers; i++) {
		dc->paths[i] = kstrdup(args.paths[i], GFP_KERNEL);
		if (!dc->paths[i]) {
			ti->error = "Cannot allocate layer path";
			r = -ENOMEM;
			goto bad;
		}
	}

	r = list_table(dc, &ti->error);
	if (r)
		goto bad;
	r = open_layers(dc, &ti->error);
	if (r)
		goto bad;
	r = check_recursion(dc, &ti->error);
	if (r)
		goto bad;
	r = check_chain(dc, &ti->error);
	if (r)
		goto bad;
	if (!dc->read_only) {
		unsigned int noio = memalloc_noio_save();

		/*
		 * A new table starts in rw mode only when the leaf takes
		 * writes: its header (the generation bump) and the map pages
		 * a failed table may have left dirty.
		 */
		r = dmc_layer_begin_write(dmc_leaf(dc));
		if (r) {
			DMERR("%s: %s: cannot bump the leaf's generation: %d",
			      chain_name(dc), dc->paths[dc->nr_layers - 1], r);
			ti->error = "Cannot update the leaf's header";
		} else {
			r = dmc_layer_commit(dmc_leaf(dc));
			if (r) {
				DMERR("%s: %s: cannot write back the leaf's block map: %d",
				      chain_name(dc),
				      dc->paths[dc->nr_layers - 1], r);
				ti->error = "Cannot write back the leaf's block map";
			}
		}
		memalloc_noio_restore(noio);
		if (r)
			goto bad;
	}

	dc->wq = alloc_workqueue("kdmchaind", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!dc->wq) {
		ti->error = "Cannot allocate workqueue";
		r = -ENOMEM;
		goto bad;
	}

	ti->private = dc;
	ti->per_io_data_size = dmc_io_size();
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	if (!dc->read_only && !dc->leaf_raw) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
		ti->num_write_zeroes_bios = 1;
	}

	kvfree(args.paths);
	return 0;

bad:
	mutex_lock(&dmc_devices_lock);
	list_del_init(&dc->list);
	mutex_unlock(&dmc_devices_lock);
	kvfree(args.paths);
	free_chain(dc);
	return r;
}

static void chain_dtr(struct dm_target *ti)
{
	struct dmc_chain *dc = ti->private;
	const struct dmc_merge_ops *ops;

	mutex_lock(&dmc_devices_lock);
	list_del(&dc->list);
	mutex_unlock(&dmc_devices_lock);
	/* Control requests in progress finish first; then the merge stops. */
	wait_event(dc->users_wait, !atomic_read(&dc->users));
	flush_work(&dc->fail_work);
	ops = merge_ops(dc);
	if (ops)
		ops->release(dc);
	free_chain(dc);
}

/*
 * The read index is built at the table's first resume, not in the
 * constructor: a layer this table reads may be the leaf of the table it
 * replaces, which takes writes until it is suspended, just before this.
 */
static int chain_preresume(struct dm_target *ti)
{
	struct dmc_chain *dc = ti->private;
	unsigned int noio;

	if (dc->view_tried)
		return 0;
	dc->view_tried = true;
	noio = memalloc_noio_save();
	dc->view = build_view(dc, dc->maps, dc->read_only ? dc->nr_layers :
							    dc->nr_layers - 1);
	memalloc_noio_restore(noio);
	return 0;
}

static void chain_resume(struct dm_target *ti)
{
	struct dmc_chain *dc = ti->private;
	const struct dmc_merge_ops *ops;

	WRITE_ONCE(dc->live, true);
	ops = merge_ops(dc);
	if (ops)
		ops->resume(dc);
}

static int chain_map(struct dm_target *ti, struct bio *bio)
{
	return dmc_map(ti->private, bio);
}

static void chain_postsuspend(struct dm_target *ti)
{
	struct dmc_chain *dc = ti->private;
	const struct dmc_merge_ops *ops;
	unsigned int noio;

	ops = merge_ops(dc);
	if (ops)
		ops->pause(dc);
	flush_workqueue(dc->wq);
	down_read(&dc->chain_lock);
	noio = memalloc_noio_save();
	/* A failure switches to fail mode, which logs it. */
	dmc_chain_commit(dc);
	memalloc_noio_restore(noio);
	up_read(&dc->chain_lock);
}

static void emit_table(struct dmc_chain *dc, char *result, unsigned int maxlen,
		       unsigned int *out)
{
	unsigned int sz = *out, i, nr_features, features = dc->features;

	/* From the handle: live merges and snapshots keep the raw base. */
	features &= ~DMC_FEATURE_RAW_BASE;
	if (dmc_layer_is_raw(dc->layers[0]))
		features |= DMC_FEATURE_RAW_BASE;
	DMEMIT("%u", dc->nr_layers);
	for (i = 0; i < dc->nr_layers; i++)
		DMEMIT(" %s", dc->paths[i]);
	nr_features = hweight32(features);
	if (nr_features) {
		DMEMIT(" %u", nr_features);
		if (features & DMC_FEATURE_RAW_BASE)
			DMEMIT(" raw_base");
		if (features & DMC_FEATURE_READ_ONLY)
			DMEMIT(" read_only");
		if (features & DMC_FEATURE_BUFFERED)
			DMEMIT(" buffered_io");
	}
	*out = sz;
}

/*
 * The I/O mode in effect: "buffered" with the buffered_io feature or when
 * no layer file takes direct I/O (tmpfs), "mixed" when only some do.
 */
static const char *io_mode(struct dmc_chain *dc)
{
	unsigned int i, dio = 0;

	if (dc->features & DMC_FEATURE_BUFFERED)
		return "buffered";
	for (i = 0; i < dc->nr_layers; i++)
		dio += dmc_layer_can_dio(dc->layers[i]);
	return dio == dc->nr_layers ? "direct" : dio ? "mixed" : "buffered";
}

static void chain_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct dmc_chain *dc = ti->private;
	struct dmc_stats *s = &dc->stats;
	unsigned int sz = 0, i;
	u64 counts[4];

	down_read(&dc->chain_lock);
	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u %s %u %s", dc->nr_layers,
		       dc->read_only ? "ro" :
		       dmc_chain_failed(dc) ? "fail" : "rw",
		       1U << dc->block_shift, io_mode(dc));
		DMEMIT(" %lld %lld %lld %lld %lld %lld",
		       atomic64_read(&s->reads), atomic64_read(&s->writes),
		       atomic64_read(&s->flushes), atomic64_read(&s->discards),
		       atomic64_read(&s->zero_reads), atomic64_read(&s->fills));
		DMEMIT(" %lld %lld %lld %lld",
		       atomic64_read(&s->read_errors),
		       atomic64_read(&s->write_errors),
		       atomic64_read(&s->flush_errors),
		       atomic64_read(&s->dio_fallbacks));
		for (i = 0; i < dc->nr_layers; i++) {
			dmc_bm_counts((struct dmc_blockmap *)dc->maps[i],
				      counts);
			DMEMIT(" %llu:%llu", counts[DMC_BLOCK_DATA],
			       counts[DMC_BLOCK_ZERO]);
		}
		break;
	case STATUSTYPE_TABLE:
		emit_table(dc, result, maxlen, &sz);
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",nr_layers=%u,read_only=%c,block_size=%u",
		       dc->nr_layers, dc->read_only ? 'y' : 'n',
		       1U << dc->block_shift);
		for (i = 0; i < dc->nr_layers; i++) {
			const struct dmc_hdr *h = dmc_layer_hdr(dc->layers[i]);

			if (h)
				DMEMIT(",layer%u_uuid=%pUb", i, h->uuid);
			else
				DMEMIT(",layer%u_uuid=raw", i);
		}
		DMEMIT(";");
		break;
	}
	up_read(&dc->chain_lock);
}

static void chain_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct dmc_chain *dc = ti->private;
	unsigned int lbs = max_t(unsigned int, dc->dio_align, SECTOR_SIZE);

	lbs = min_t(unsigned int, lbs, PAGE_SIZE);
	limits->logical_block_size = max_t(unsigned int,
					   limits->logical_block_size, lbs);
	limits->physical_block_size = max_t(unsigned int,
					    limits->physical_block_size,
					    limits->logical_block_size);
	blk_limits_io_min(limits, limits->logical_block_size);
	blk_limits_io_opt(limits, 1U << dc->block_shift);
	if (ti->discards_supported) {
		limits->discard_granularity = 1U << dc->block_shift;
		limits->max_discard_sectors = DMC_MAX_DISCARD_SECTORS;
		limits->max_hw_discard_sectors = DMC_MAX_DISCARD_SECTORS;
		limits->max_write_zeroes_sectors = DMC_MAX_DISCARD_SECTORS;
	}
}

/*
 * No underlying block devices.  Without this method device-mapper never
 * calls .io_hints (and never enables write zeroes), so report an empty set.
 */
static int chain_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	return 0;
}

/* "commit": write back the leaf's block map now (used by tests). */
static int process_commit_mesg(struct dmc_chain *dc)
{
	unsigned int noio;
	int r;

	down_read(&dc->chain_lock);
	noio = memalloc_noio_save();
	r = dmc_chain_commit(dc);
	memalloc_noio_restore(noio);
	up_read(&dc->chain_lock);
	return r;
}

static int chain_message(struct dm_target *ti, unsigned int argc, char **argv,
			 char *result, unsigned int maxlen)
{
	struct dmc_chain *dc = ti->private;

	if (argc == 1 && !strcasecmp(argv[0], "commit"))
		return process_commit_mesg(dc);
	DMWARN("%s: unsupported message '%s'", chain_name(dc),
	       argc ? argv[0] : "");
	return -EINVAL;
}

static struct target_type chain_target = {
	.name = "chain",
	.version = { 0, 3, 0 },
	.module = THIS_MODULE,
	.ctr = chain_ctr,
	.dtr = chain_dtr,
	.map = chain_map,
	.postsuspend = chain_postsuspend,
	.preresume = chain_preresume,
	.resume = chain_resume,
	.status = chain_status,
	.message = chain_message,
	.io_hints = chain_io_hints,
	.iterate_devices = chain_iterate_devices,
};

int dm_chain_target_init(void)
{
	int r = dm_register_target(&chain_target);

	if (r)
		DMERR("registering target 'chain' failed: %d", r);
	return r;
}

void dm_chain_target_exit(void)
{
	dm_unregister_target(&chain_target);
}
