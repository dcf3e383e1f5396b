// SPDX-License-Identifier: GPL-2.0
/*
 * dm-chain module entry: creates the merge workqueue, registers the "chain"
 * device-mapper target and the "dm-chain" generic netlink family, and
 * tears them down in reverse order.  It is the only file that sees all
 * three parts' headers (genl.h, merge.h, target.h).
 */
#include <linux/module.h>

#include "dm-chain.h"
#include "genl.h"
#include "merge.h"
#include "target.h"

static int __init dm_chain_init(void)
{
	int r;

	r = dmc_merge_init();
	if (r)
		return r;
	r = dm_chain_target_init();
	if (r)
		goto bad_target;
	r = dm_chain_netlink_init();
	if (r)
		goto bad_netlink;
	return 0;

bad_netlink:
	dm_chain_target_exit();
bad_target:
	dmc_merge_exit();
	return r;
}

static void __exit dm_chain_exit(void)
{
	dm_chain_netlink_exit();
	dm_chain_target_exit();
	dmc_merge_exit();
}

module_init(dm_chain_init);
module_exit(dm_chain_exit);

MODULE_DESCRIPTION("device-mapper target for chains of differencing-disk layers");
MODULE_AUTHOR("dm-chain developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DM_CHAIN_VERSION);
