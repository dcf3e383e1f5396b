/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live device (one "chain" target instance) as shared between the
 * device-mapper glue (target.c), the data path (io.c) and the merge part
 * (merge.c), which changes the layer list through the functions below.
 * The netlink family does not include it: it holds a device only as an
 * opaque pointer (target.h).
 */
#ifndef DM_CHAIN_CHAIN_H
#define DM_CHAIN_CHAIN_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "blockmap.h"
#include "view.h"

struct dm_target;
struct dmc_chain;
struct dmc_layer;
struct bio;

/*
 * Per-block exclusion of the bios that write the leaf ("cells", see
 * io.c): the bios holding a range of blocks and those parked behind one.
 */
struct dmc_cells {
	spinlock_t lock;		/* guards both lists (irq-safe) */
	struct list_head held;
	struct list_head waiting;
};

/* dmc_chain.flags */
#define DMC_CHAIN_FAILED	0	/* fail mode: see dmc_chain_fail() */
#define DMC_CHAIN_FAIL_TOLD	1	/* fail mode logged and signalled */

/*
 * The I/O gate: every bio holds it from map to completion; closing it
 * waits for those in flight and holds new ones in map until it opens
 * again.  This is how the layer list changes under a live device.
 */
struct dmc_gate {
	spinlock_t lock;		/* guards all below but @wait */
	bool closed;
	unsigned long inflight;
	unsigned long writes;		/* of @inflight: bios that write */
	unsigned long limit;		/* most bios in flight; 0: any */
	wait_queue_head_t wait;
};

struct dmc_merge;
struct dm_chain_merge_status;

/*
 * What the target asks of the live merge attached to a device.  The
 * merge part (merge.c) sets dmc_chain.merge_ops when it first attaches
 * a merge; the target calls through it and knows nothing else of merges
 * (the dependency runs merge -> target only).  Each may find no merge.
 */
struct dmc_merge_ops {
	/* A merge is running (a new table of the device is refused). */
	bool (*running)(struct dmc_chain *dc);
	/* Copy the current or last merge's status; false when none. */
	bool (*status)(struct dmc_chain *dc, struct dm_chain_merge_status *st);
	/*
	 * Suspend: the running merge stops moving data at its next chunk
	 * (waits until it does); resume lets it go on.
	 */
	void (*pause)(struct dmc_chain *dc);
	void (*resume)(struct dmc_chain *dc);
	/* Destructor: stop the merge (waits for its worker) and free it. */
	void (*release)(struct dmc_chain *dc);
};

struct dmc_stats {
	atomic64_t reads;		/* bios */
	atomic64_t writes;
	atomic64_t flushes;
	atomic64_t discards;		/* discard and write-zeroes bios */
	atomic64_t zero_reads;		/* read pieces served without I/O */
	atomic64_t fills;		/* copy-on-write block fills */
	atomic64_t read_errors;
	atomic64_t write_errors;
	atomic64_t flush_errors;
	atomic64_t dio_fallbacks;	/* direct I/O refused, redone buffered */
};

struct dmc_chain {
	struct dm_target *ti;
	const void *md;			/* owner cookie for layer sharing */
	struct list_head list;		/* on the device list (target.c) */
	bool live;			/* resumed: the md's active table */
	atomic_t users;			/* control requests holding it */
	wait_queue_head_t users_wait;

	/*
	 * The layer list (nr_layers, layers, maps, paths) changes only with
	 * @chain_lock held for writing and the gate closed: the I/O path
	 * relies on the gate, everything else takes @chain_lock to read.
	 */
	struct rw_semaphore chain_lock;
	struct dmc_gate gate;
	struct mutex ctl_lock;		/* merge start / cancel / snapshot */
	struct dmc_merge *merge;	/* running or last merge; ctl_lock */
	const struct dmc_merge_ops *merge_ops;	/* set with @merge */
	bool changing;			/* dmc_chain_begin_change() */

	unsigned int nr_layers;
	struct dmc_layer **layers;	/* base first; the last is the leaf */
	const struct dmc_blockmap **maps;	/* layers' maps, same order */
	/*
	 * The read index of the lower layers (view.h), or NULL: reads then
	 * walk every map.  Swapped with the list; built at the table's
	 * first resume (chain_preresume()) and at each list switch.
	 */
	struct dmc_view *view;
	bool view_tried;		/* the first resume built it or not */
	struct dmc_blockmap raw_map;	/* map of a raw base, if any */
	char **paths;			/* as given in the table line */
	unsigned int features;		/* DMC_FEATURE_* as given */

	unsigned int block_shift;
	u64 dev_size;			/* bytes */
	unsigned int dio_align;		/* strictest layer alignment */
	bool read_only;			/* leaf not writable */
	bool leaf_raw;			/* single raw image */

	struct workqueue_struct *wq;
	/*
	 * Direct I/O reads and writes waiting to be issued: one work item
	 * issues them all in order (as the loop driver's worker does), so
	 * a deep queue costs one wakeup, not one per bio.  See io.c.
	 */
	struct llist_head submit_list;
	struct work_struct submit_work;
	struct dmc_cells cells;
	struct dmc_stats stats;

	/* Fail mode: set once, never cleared (a new table starts afresh). */
	unsigned long flags;		/* DMC_CHAIN_* bits */
	int fail_err;			/* what set DMC_CHAIN_FAILED */
	const char *fail_what;
	struct work_struct fail_work;	/* logs, raises the dm event */
};

static inline struct dmc_layer *dmc_leaf(struct dmc_chain *dc)
{
	return dc->layers[dc->nr_layers - 1];
}

static inline struct dmc_blockmap *dmc_leaf_map(struct dmc_chain *dc)
{
	return (struct dmc_blockmap *)dc->maps[dc->nr_layers - 1];
}

/* io.c */
unsigned int dmc_io_size(void);
void dmc_gate_init(struct dmc_gate *g);
void dmc_submit_init(struct dmc_chain *dc);
/* Close the gate and wait until no bio is in flight.  Sleeps. */
void dmc_gate_close(struct dmc_gate *g);
/* Open it, admitting at most @limit bios in flight (0: any number). */
void dmc_gate_open(struct dmc_gate *g, unsigned long limit);
/* Admit at most @limit bios in flight from now on (0: any number). */
void dmc_gate_limit(struct dmc_gate *g, unsigned long limit);
void dmc_cells_init(struct dmc_cells *c);
int dmc_map(struct dmc_chain *dc, struct bio *bio);
/*
 * Make the leaf durable (dmc_layer_commit()); an error switches the
 * device to fail mode, and in fail mode it returns -EIO.  Sleeps; call
 * with PF_MEMALLOC_NOIO set.
 */
int dmc_chain_commit(struct dmc_chain *dc);
/* The same for layer @l of the device (the old leaf on a leaf change). */
int dmc_chain_commit_layer(struct dmc_chain *dc, struct dmc_layer *l);
/*
 * Switch to fail mode after the leaf could not be written (@err, @what
 * for the log): writes, discards and flushes fail with EIO from now on,
 * reads go on.  Logs once and raises a dm event (from a work item).  Any
 * context.
 */
void dmc_chain_fail(struct dmc_chain *dc, int err, const char *what);
bool dmc_chain_failed(struct dmc_chain *dc);

/* target.c */
/*
 * Replace the device's layer list by @layers / @paths (@nr entries, base
 * first; the handles' references and the path strings pass to the
 * device).  The old leaf's writes are committed first; I/O pauses only
 * while the arrays are swapped.  Layers no longer listed are put.
 * Returns 0 (and the pause in *pause_ns) or -ENOMEM.  Sleeps.
 */
int dmc_chain_switch(struct dmc_chain *dc, struct dmc_layer **layers,
		     char **paths, unsigned int nr, u64 *pause_ns);
/*
 * Hold the device's I/O for a burst of merge work: excludes switches of
 * the layer list, waits until no bio is in flight and holds new ones in
 * map until dmc_chain_release_io().  Sets PF_MEMALLOC_NOIO meanwhile
 * (memory reclaim must not wait for this device's I/O): the flags to
 * give back to dmc_chain_release_io() are returned.  Sleeps.
 */
unsigned int dmc_chain_hold_io(struct dmc_chain *dc);
/*
 * Let the I/O go again, at most @limit bios in flight from now on (0: any
 * number), until the next switch of the layer list or
 * dmc_chain_limit_io().
 */
void dmc_chain_release_io(struct dmc_chain *dc, unsigned int noio,
			  unsigned long limit);
/* Set the most bios in flight (0: any number). */
void dmc_chain_limit_io(struct dmc_chain *dc, unsigned long limit);
/* The bios in flight now (a snapshot, unlocked). */
unsigned long dmc_chain_inflight(struct dmc_chain *dc);
/* Of those, the ones that write (the same kind of snapshot). */
unsigned long dmc_chain_inflight_writes(struct dmc_chain *dc);
/* No other table (loaded or live) of the same device exists. */
bool dmc_chain_sole_table(struct dmc_chain *dc);
/*
 * Mark a leaf change (snapshot, merge start) in progress: -EBUSY (with a
 * reason in *why) when another table of the device is loaded; while the
 * mark is held, the constructor refuses new tables of the device.
 */
int dmc_chain_begin_change(struct dmc_chain *dc, const char **why);
void dmc_chain_end_change(struct dmc_chain *dc);
/* The device's name (DM_NAME_LEN bytes) and number. */
void dmc_chain_name(struct dmc_chain *dc, char *name);
dev_t dmc_chain_devt(struct dmc_chain *dc);

#endif /* DM_CHAIN_CHAIN_H */
