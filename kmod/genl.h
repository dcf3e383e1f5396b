/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink family (netlink.c), as module init (main.c) sees
 * it.  Only main.c includes it: nothing else calls into netlink; the
 * family hears of merges through struct dmc_merge_events (merge.h).
 */
#ifndef DM_CHAIN_GENL_H
#define DM_CHAIN_GENL_H

int dm_chain_netlink_init(void);
void dm_chain_netlink_exit(void);

#endif /* DM_CHAIN_GENL_H */
