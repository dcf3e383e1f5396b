/* SPDX-License-Identifier: GPL-2.0 */
/* The pure parts of live merges (merge.c), for KUnit (merge-test.c). */
#ifndef DM_CHAIN_MERGE_H
#define DM_CHAIN_MERGE_H

struct dm_chain_merge_params;

/*
 * The target layer of a fresh live merge of a chain of @nr_layers with
 * parameters @p (depth or into).  Refused with -EINVAL for a depth or
 * index out of range, and with -E2BIG when the chain has DMC_MAX_LAYERS
 * layers: the merge first adds a new leaf, and a longer chain could not
 * be loaded again.  The reason goes to *why.
 */
int dmc_merge_pick_target(unsigned int nr_layers,
			  const struct dm_chain_merge_params *p,
			  unsigned int *target, const char **why);

struct dm_chain_merge_status;

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
