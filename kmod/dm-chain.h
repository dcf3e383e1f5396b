/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between the parts of dm-chain.ko: the device-mapper
 * target (target*.c), the generic netlink family (netlink.c) and module
 * init (main.c).
 */
#ifndef DM_CHAIN_H
#define DM_CHAIN_H

#include <linux/types.h>

#include <dm-chain/version.h>

#define DM_MSG_PREFIX "chain"

struct sk_buff;
struct dmc_chain;

int dm_chain_target_init(void);
void dm_chain_target_exit(void);

int dm_chain_netlink_init(void);
int dmc_merge_init(void);
void dmc_merge_exit(void);
void dm_chain_netlink_exit(void);

struct dm_chain_layer_info {
	const char *path;	/* as in the table */
	const u8 *uuid;		/* NULL for a raw image */
	u64 generation;
	u64 data_blocks;
	u64 zero_blocks;
	bool writable;		/* the device's leaf */
};

/* A merge's state as netlink reports it (values of the UAPI enums). */
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
	u32 error;		/* positive errno */
	bool resumed;
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

struct dm_chain_merge_params {
	u32 depth;		/* 0: use @into */
	u32 into;		/* target layer index, with depth 0 */
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

#endif /* DM_CHAIN_H */
