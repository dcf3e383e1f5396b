/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live merges and snapshots (merge.c): the API the netlink family
 * (netlink.c) and module init (main.c) call, the events interface, and
 * the pure parts KUnit tests (merge-test.c).  The target (target.c,
 * io.c) must not include it: it reaches a merge through struct
 * dmc_merge_ops (chain.h) only.
 */
#ifndef DM_CHAIN_MERGE_H
#define DM_CHAIN_MERGE_H

#include <linux/types.h>

struct dmc_chain;
struct dm_chain_merge_status;

/* The merge workqueue, created before the target and destroyed after. */
int dmc_merge_init(void);
void dmc_merge_exit(void);

struct dm_chain_merge_params {
	u32 depth;		/* 0: use @into */
	u32 into;		/* target layer index, with depth 0 */
	bool has_top;		/* @top given (with @into, depth 0) */
	u32 top;		/* index of the topmost layer merged */
	u32 mode;		/* enum dm_chain_merge_mode */
	u32 rate;		/* MiB/s, 0 unlimited */
	const char *new_leaf;	/* NULL: a name next to the leaf */
};

/*
 * Start or resume the device's merge.  On success *st holds its first
 * status and @new_leaf the path of the leaf writes now go to.  On
 * failure returns -errno with a static reason in *why.
 */
int dm_chain_merge_start(struct dmc_chain *dc,
			 const struct dm_chain_merge_params *p,
			 struct dm_chain_merge_status *st, char *new_leaf,
			 size_t new_leaf_size, const char **why);
int dm_chain_merge_cancel(struct dmc_chain *dc, const char **why);
int dm_chain_snapshot(struct dmc_chain *dc, const char *path, char *made,
		      size_t made_size, u64 *pause_ns, const char **why);

/*
 * The target layer of a fresh live merge of a chain of @nr_layers with
 * parameters @p (depth, or into with an optional top), and in *top the
 * index of its topmost source.  Refused with -EINVAL for a depth or
 * index out of range or a top not above the target, and with -E2BIG
 * when a merge that includes the leaf finds DMC_MAX_LAYERS layers: it
 * first adds a new leaf, and a longer chain could not be loaded again.
 * An intermediate merge (*top below the leaf) adds no leaf.  The reason
 * goes to *why.
 */
int dmc_merge_pick_target(unsigned int nr_layers,
			  const struct dm_chain_merge_params *p,
			  unsigned int *target, unsigned int *top,
			  const char **why);

/*
 * Whether a merge that starts or resumes now leaves the device's leaf as
 * it is (status flag DM_CHAIN_MERGE_A_KEEPS_LEAF): a fresh merge whose
 * top source @top is below the leaf of a chain of @nr_layers (an
 * intermediate merge), and every resumed merge.  A resume never adds a
 * leaf: the layer above its top source is already there, whether a range
 * merge found it or a leaf-including merge made it when it started (the
 * two look the same on disk once that layer records the target), and the
 * device's leaf, that layer or one above it, stays.
 */
bool dmc_merge_keeps_leaf(unsigned int nr_layers, unsigned int top,
			  bool resumed);

/*
 * A run at byte @off of *@len bytes merged into a raw base, whose size is
 * the chain's @virtual_size: *@len is clipped so nothing is written past
 * the end (the file must keep its size), and the bytes of a partial last
 * block are taken off *@len and returned, to be copied on their own (a
 * clone of a partial block is refused, and that refusal must not make
 * the rest of the source a copy).
 */
u64 dmc_merge_raw_clip(u64 virtual_size, unsigned int block_shift, u64 off,
		       u64 *len);

/*
 * Merge events: how the merge worker reports, without knowing who
 * listens.  @progress at most every 250 ms while a merge moves data,
 * @done once when it ends (done, cancelled or failed: st->state).
 * @name is the device's name, @dev its number.  Called from the merge
 * worker, may sleep; must not call back into the merge part.
 */
struct dmc_merge_events {
	void (*progress)(const char *name, dev_t dev,
			 const struct dm_chain_merge_status *st);
	void (*done)(const char *name, dev_t dev,
		     const struct dm_chain_merge_status *st);
};

/*
 * One listener at a time (the netlink family): -EBUSY when one is
 * registered.  Unregistering waits for the calls in flight; after it
 * returns none of @ev's functions runs again.  Both may sleep.
 */
int dmc_merge_events_register(const struct dmc_merge_events *ev);
void dmc_merge_events_unregister(const struct dmc_merge_events *ev);

#endif /* DM_CHAIN_MERGE_H */
