/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * dm-chain generic netlink family: the UAPI shared by dm-chain.ko and
 * chainctl.  docs/netlink.md is the prose contract.  Numbers are never
 * reused or reordered; new commands and attributes are appended and the
 * family version bumped when behaviour changes incompatibly.
 */
#ifndef _DM_CHAIN_NETLINK_H
#define _DM_CHAIN_NETLINK_H

#define DM_CHAIN_GENL_NAME		"dm-chain"
#define DM_CHAIN_GENL_VERSION		1
#define DM_CHAIN_GENL_MCGRP_EVENTS	"events"

enum dm_chain_cmd {
	DM_CHAIN_CMD_UNSPEC,
	/*
	 * GET: answers with DM_CHAIN_A_VERSION and one DM_CHAIN_A_DEVICE nest
	 * per live chain device (or only the one named by DM_CHAIN_A_DEV_NAME
	 * nested in a request DM_CHAIN_A_DEVICE).
	 */
	DM_CHAIN_CMD_GET,

	__DM_CHAIN_CMD_MAX,
	DM_CHAIN_CMD_MAX = __DM_CHAIN_CMD_MAX - 1
};

enum dm_chain_attr {
	DM_CHAIN_A_UNSPEC,
	DM_CHAIN_A_VERSION,		/* string: module version */
	DM_CHAIN_A_DEVICE,		/* nest: enum dm_chain_dev_attr */

	__DM_CHAIN_A_MAX,
	DM_CHAIN_A_MAX = __DM_CHAIN_A_MAX - 1
};

enum dm_chain_dev_attr {
	DM_CHAIN_DEV_A_UNSPEC,
	DM_CHAIN_DEV_A_NAME,		/* string: dm device name */
	DM_CHAIN_DEV_A_MAJOR,		/* u32 */
	DM_CHAIN_DEV_A_MINOR,		/* u32 */
	DM_CHAIN_DEV_A_NR_LAYERS,	/* u32 */
	DM_CHAIN_DEV_A_READ_ONLY,	/* flag */

	__DM_CHAIN_DEV_A_MAX,
	DM_CHAIN_DEV_A_MAX = __DM_CHAIN_DEV_A_MAX - 1
};

#endif /* _DM_CHAIN_NETLINK_H */
