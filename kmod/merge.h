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

#endif /* DM_CHAIN_MERGE_H */
