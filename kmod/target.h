/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "chain" target's API for control (target.c): finding and holding a
 * live device, and describing devices.  Included by module init
 * (main.c), the netlink family (netlink.c) and the merge part (merge.c);
 * the target includes none of theirs.
 */
#ifndef DM_CHAIN_TARGET_H
#define DM_CHAIN_TARGET_H

#include <linux/types.h>

struct dmc_chain;

int dm_chain_target_init(void);
void dm_chain_target_exit(void);

struct dm_chain_layer_info {
	const char *path;	/* as in the table */
	const u8 *uuid;		/* NULL for a raw image */
	u64 generation;
	u64 data_blocks;
	u64 zero_blocks;
	u64 map_bytes;		/* memory holding its map */
	u64 runs;		/* when held by runs (by_runs) */
	bool by_runs;
	bool writable;		/* the device's leaf */
};

/*
 * A merge's state as a device's report carries it (values of the UAPI
 * enums).  Filled by the merge part, through struct dmc_merge_ops for a
 * device report.
 */
#define DM_CHAIN_MSG_LEN	128
struct dm_chain_merge_status {
	u32 state;		/* enum dm_chain_merge_state */
	u32 target;		/* layer index */
	u32 nr_sources;
	u64 bytes_total;
	u64 bytes_done;
	u64 bytes_cloned;
	u64 bytes_copied;
	u64 bytes_zeroed;
	u64 elapsed_ns;
	u64 pause_ns;		/* longest I/O pause so far */
	u32 bursts;		/* times the merge held the guest's I/O */
	u64 yield_ns;		/* time it slept to let the guest's I/O by */
	u32 error;		/* positive errno */
	bool resumed;
	bool keeps_leaf;	/* added no leaf: dmc_merge_keeps_leaf() */
	char message[DM_CHAIN_MSG_LEN];
};

/*
 * One device as the netlink family reports it.  Filled by the target
 * under its locks, so a callback may not sleep long nor call back into
 * the target.
 */
struct dm_chain_dev_info {
	const char *name;	/* dm device name */
	dev_t dev;		/* block device number */
	unsigned int nr_layers;
	bool read_only;
	unsigned int block_size;
	u64 index_bytes;	/* the read index's memory, 0: none */
	const struct dm_chain_layer_info *layers;	/* base first */
	const struct dm_chain_merge_status *merge;	/* NULL: none yet */
};

/*
 * Call FN for every live chain device, in creation order, holding the
 * target's device-list mutex.  Stops at and returns the first non-zero
 * value FN returns.  May sleep.
 */
int dm_chain_for_each_device(int (*fn)(const struct dm_chain_dev_info *info,
				       void *ctx),
			     void *ctx);

/*
 * Control requests (netlink.c) on one device.  dm_chain_get() finds the
 * live device called @name and holds it (its destructor waits) until
 * dm_chain_put(); NULL when there is none.
 */
struct dmc_chain *dm_chain_get(const char *name);
void dm_chain_put(struct dmc_chain *dc);

/* Call FN once for the device @dc (as dm_chain_for_each_device does). */
int dm_chain_describe(struct dmc_chain *dc,
		      int (*fn)(const struct dm_chain_dev_info *info,
				void *ctx),
		      void *ctx);

/*
 * The same without the layers (@layers NULL, @nr_layers still the count):
 * it allocates nothing, so it cannot fail where an allocation could.
 */
int dm_chain_describe_head(struct dmc_chain *dc,
			   int (*fn)(const struct dm_chain_dev_info *info,
				     void *ctx),
			   void *ctx);

#endif /* DM_CHAIN_TARGET_H */
