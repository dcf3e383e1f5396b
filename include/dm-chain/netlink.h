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
	 * per live chain device (or only the one named by DM_CHAIN_DEV_A_NAME
	 * nested in a request DM_CHAIN_A_DEVICE).  As a dump (NLM_F_DUMP):
	 * one message per device, or several for a device too large for one,
	 * each later part marked with DM_CHAIN_DEV_A_FIRST_LAYER.
	 */
	DM_CHAIN_CMD_GET,
	/*
	 * MERGE: start (or resume) a live merge on the device named in
	 * DM_CHAIN_A_DEVICE; parameters in DM_CHAIN_A_MERGE.  Answers at once
	 * with the device (new chain) and the merge's status nest.
	 */
	DM_CHAIN_CMD_MERGE,
	/* MERGE_CANCEL: stop the device's running merge (resumable). */
	DM_CHAIN_CMD_MERGE_CANCEL,
	/*
	 * SNAPSHOT: put a new empty leaf (DM_CHAIN_A_PATH, or a name chosen
	 * next to the current leaf) on top of the live device.  Answers with
	 * the device, DM_CHAIN_A_PATH and DM_CHAIN_A_PAUSE_NS.
	 */
	DM_CHAIN_CMD_SNAPSHOT,
	/* Events on the "events" group: DM_CHAIN_A_DEVICE + DM_CHAIN_A_MERGE. */
	DM_CHAIN_CMD_MERGE_PROGRESS,
	DM_CHAIN_CMD_MERGE_DONE,	/* finished, failed or cancelled */

	__DM_CHAIN_CMD_MAX,
	DM_CHAIN_CMD_MAX = __DM_CHAIN_CMD_MAX - 1
};

enum dm_chain_attr {
	DM_CHAIN_A_UNSPEC,
	DM_CHAIN_A_VERSION,		/* string: module version */
	DM_CHAIN_A_DEVICE,		/* nest: enum dm_chain_dev_attr */
	DM_CHAIN_A_MERGE,		/* nest: enum dm_chain_merge_attr */
	DM_CHAIN_A_PATH,		/* string: a layer file path */
	DM_CHAIN_A_PAUSE_NS,		/* u64: I/O pause of a leaf switch */
	DM_CHAIN_A_PAD,

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
	DM_CHAIN_DEV_A_BLOCK_SIZE,	/* u32: bytes */
	DM_CHAIN_DEV_A_LAYER,		/* nest, repeated base first:
					 * enum dm_chain_layer_attr */
	DM_CHAIN_DEV_A_MERGE,		/* nest: enum dm_chain_merge_attr,
					 * the current or last merge */
	DM_CHAIN_DEV_A_FIRST_LAYER,	/* u32, GET dumps: this part of the
					 * device goes on from this layer */
	DM_CHAIN_DEV_A_INDEX_BYTES,	/* u64: kernel memory of the read
					 * index (0: none) */
	DM_CHAIN_DEV_A_PAD,

	__DM_CHAIN_DEV_A_MAX,
	DM_CHAIN_DEV_A_MAX = __DM_CHAIN_DEV_A_MAX - 1
};

enum dm_chain_layer_attr {
	DM_CHAIN_LAYER_A_UNSPEC,
	DM_CHAIN_LAYER_A_PATH,		/* string: as in the table */
	DM_CHAIN_LAYER_A_UUID,		/* binary, 16 bytes; absent: raw */
	DM_CHAIN_LAYER_A_GENERATION,	/* u64 */
	DM_CHAIN_LAYER_A_DATA_BLOCKS,	/* u64: blocks held as data */
	DM_CHAIN_LAYER_A_ZERO_BLOCKS,	/* u64: blocks marked zero */
	DM_CHAIN_LAYER_A_WRITABLE,	/* flag: the device writes here */
	DM_CHAIN_LAYER_A_RAW,		/* flag: a raw image */
	DM_CHAIN_LAYER_A_PAD,
	DM_CHAIN_LAYER_A_MAP_BYTES,	/* u64: kernel memory holding the
					 * layer's map (0: a raw image) */
	DM_CHAIN_LAYER_A_RUNS,		/* u64, only when the map is held by
					 * its runs (its extent list): how
					 * many */

	__DM_CHAIN_LAYER_A_MAX,
	DM_CHAIN_LAYER_A_MAX = __DM_CHAIN_LAYER_A_MAX - 1
};

enum dm_chain_merge_mode {
	DM_CHAIN_MERGE_MODE_AUTO,	/* clone, copy what cannot be cloned */
	DM_CHAIN_MERGE_MODE_CLONE,	/* clone or fail */
	DM_CHAIN_MERGE_MODE_COPY,	/* never clone */
};

enum dm_chain_merge_state {
	DM_CHAIN_MERGE_STATE_NONE,
	DM_CHAIN_MERGE_STATE_RUNNING,
	DM_CHAIN_MERGE_STATE_DONE,
	DM_CHAIN_MERGE_STATE_FAILED,
	DM_CHAIN_MERGE_STATE_CANCELLED,
};

enum dm_chain_merge_attr {
	DM_CHAIN_MERGE_A_UNSPEC,
	/* request */
	DM_CHAIN_MERGE_A_DEPTH,		/* u32: merge the top N layers */
	DM_CHAIN_MERGE_A_INTO,		/* u32: ... or all above this index */
	DM_CHAIN_MERGE_A_MODE,		/* u32: enum dm_chain_merge_mode */
	DM_CHAIN_MERGE_A_RATE,		/* u32: MiB/s, 0 unlimited */
	DM_CHAIN_MERGE_A_NEW_LEAF,	/* string: path of the new leaf */
	/* status (answers and events) */
	DM_CHAIN_MERGE_A_STATE,		/* u32: enum dm_chain_merge_state */
	DM_CHAIN_MERGE_A_TARGET,	/* u32: index of the target layer */
	DM_CHAIN_MERGE_A_NR_SOURCES,	/* u32 */
	DM_CHAIN_MERGE_A_BYTES_TOTAL,	/* u64 */
	DM_CHAIN_MERGE_A_BYTES_DONE,	/* u64 */
	DM_CHAIN_MERGE_A_BYTES_CLONED,	/* u64 */
	DM_CHAIN_MERGE_A_BYTES_COPIED,	/* u64 */
	DM_CHAIN_MERGE_A_BYTES_ZEROED,	/* u64: zero blocks, no data moved */
	DM_CHAIN_MERGE_A_ELAPSED_NS,	/* u64 */
	DM_CHAIN_MERGE_A_ERROR,		/* u32: positive errno */
	DM_CHAIN_MERGE_A_MESSAGE,	/* string: why it failed */
	DM_CHAIN_MERGE_A_RESUMED,	/* flag: continued a journal */
	DM_CHAIN_MERGE_A_PAUSE_NS,	/* u64: longest I/O pause */
	DM_CHAIN_MERGE_A_PAD,
	/*
	 * request, with INTO: u32 index of the topmost layer merged (an
	 * intermediate live merge when below the leaf: the leaf and the
	 * layers above TOP stay).  Modules without it (0.3.0 and older) refuse it
	 * ("Unknown attribute type", EINVAL, with its offset).
	 */
	DM_CHAIN_MERGE_A_TOP,
	/*
	 * status flag: this run of the merge added no leaf (a range below
	 * the leaf, or any resumed merge); the answer's path is the
	 * device's unchanged leaf.  Modules 0.3.x and older never send it.
	 */
	DM_CHAIN_MERGE_A_KEEPS_LEAF,
	/*
	 * status, u32: the bursts so far, each a time the merge held the
	 * guest's I/O to work alone (docs/netlink.md); their longest hold is
	 * counted in PAUSE_NS.  Modules 0.3.x and older never send it.
	 */
	DM_CHAIN_MERGE_A_BURSTS,
	/*
	 * status, u64: nanoseconds the merge slept so far to let a guest
	 * with a shallow queue by (docs/netlink.md, "yielding").  Modules
	 * 0.3.x and older never send it.
	 */
	DM_CHAIN_MERGE_A_YIELD_NS,

	__DM_CHAIN_MERGE_A_MAX,
	DM_CHAIN_MERGE_A_MAX = __DM_CHAIN_MERGE_A_MAX - 1
};

#endif /* _DM_CHAIN_NETLINK_H */
