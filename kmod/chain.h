/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live device (one "chain" target instance) as shared between the
 * device-mapper glue (target.c) and the data path (io.c).
 */
#ifndef DM_CHAIN_CHAIN_H
#define DM_CHAIN_CHAIN_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "blockmap.h"

struct dm_target;
struct dmc_layer;
struct bio;

/* Blocks being filled (copy-on-write) at once, per device. */
#define DMC_MAX_FILLS	32U

/* Per-block exclusion for fills; see io.c. */
struct dmc_fill_locks {
	spinlock_t lock;		/* guards @blocks */
	wait_queue_head_t wait;
	u64 blocks[DMC_MAX_FILLS];	/* U64_MAX: free slot */
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

	unsigned int nr_layers;
	struct dmc_layer **layers;	/* base first; the last is the leaf */
	const struct dmc_blockmap **maps;	/* layers' maps, same order */
	struct dmc_blockmap raw_map;	/* map of a raw base, if any */
	char **paths;			/* as given in the table line */
	unsigned int features;		/* DMC_FEATURE_* as given */

	unsigned int block_shift;
	u64 dev_size;			/* bytes */
	unsigned int dio_align;		/* strictest layer alignment */
	bool read_only;			/* leaf not writable */
	bool leaf_raw;			/* single raw image */

	struct workqueue_struct *wq;
	struct dmc_fill_locks fills;
	struct dmc_stats stats;
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
void dmc_fill_locks_init(struct dmc_fill_locks *fl);
int dmc_map(struct dmc_chain *dc, struct bio *bio);
int dmc_chain_commit(struct dmc_chain *dc);

#endif /* DM_CHAIN_CHAIN_H */
