/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between the parts of dm-chain.ko: the device-mapper
 * target (target*.c), the generic netlink family (netlink.c) and module
 * init (main.c).
 */
#ifndef DM_CHAIN_H
#define DM_CHAIN_H

#include <linux/types.h>

#define DM_MSG_PREFIX "chain"
#define DM_CHAIN_VERSION "0.1.0"

struct sk_buff;

int dm_chain_target_init(void);
void dm_chain_target_exit(void);

int dm_chain_netlink_init(void);
void dm_chain_netlink_exit(void);

/*
 * One line of the device list the netlink GET answers with.  Filled by the
 * target under its device-list mutex, so the callback may not sleep long
 * nor call back into the target.
 */
struct dm_chain_dev_info {
	const char *name;	/* dm device name */
	dev_t dev;		/* block device number */
	unsigned int nr_layers;
	bool read_only;
};

/*
 * Call FN for every live chain device, in creation order, holding the
 * target's device-list mutex.  Stops at and returns the first non-zero
 * value FN returns.  May sleep.
 */
int dm_chain_for_each_device(int (*fn)(const struct dm_chain_dev_info *info,
				       void *ctx),
			     void *ctx);

#endif /* DM_CHAIN_H */
