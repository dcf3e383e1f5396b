/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink client over libmnl: resolves a family by name
 * (CTRL_CMD_GETFAMILY), sends requests with NETLINK_EXT_ACK so the kernel's
 * extack text reaches the user, iterates multi-part (dump) answers, and
 * subscribes to multicast groups.  The second half holds the dm-chain
 * family's own pieces: the requests (GET, MERGE, MERGE_CANCEL, SNAPSHOT),
 * and the parsers of their answers and of the merge events, which are pure
 * (work on a message in memory) so host unit tests can drive them.
 */
#ifndef DMC_NL_H
#define DMC_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#define NL_MAX_MCGRPS	8
#define NL_ERRMSG_LEN	256

struct nl_mcgrp {
	char name[32];
	uint32_t id;
};

/* One open generic netlink socket bound to one resolved family. */
struct nl_sock {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	uint16_t family_id;
	uint32_t family_version;
	unsigned int nr_mcgrps;
	struct nl_mcgrp mcgrps[NL_MAX_MCGRPS];
	char *buf;			/* send and receive buffer */
	size_t buf_size;
	char errmsg[NL_ERRMSG_LEN];	/* kernel extack text of the last error */
	uint32_t err_offset;		/* extack offset of the bad attribute, 0 if none */
};

/*
 * Open a generic netlink socket and resolve FAMILY.  Returns 0 and fills
 * *OUT, or a negative errno: -ENOENT when the kernel has no such family
 * (for dm-chain: the module is not loaded).  Never prints.
 */
int nl_open(struct nl_sock **out, const char *family);
void nl_close(struct nl_sock *nl);

/*
 * Start a request for command CMD of the resolved family in nl->buf
 * (NLM_F_REQUEST | NLM_F_ACK | FLAGS), speaking family version VERSION.
 * Add attributes with mnl_attr_put*; the buffer holds nl->buf_size bytes.
 */
struct nlmsghdr *nl_msg_start(struct nl_sock *nl, uint8_t cmd, uint8_t version,
			      uint16_t flags);

/*
 * Send NLH and receive until the final ACK, NLMSG_DONE or an error.  CB
 * (may be NULL) is called for every data message (dump parts included); a
 * negative return of CB aborts and is returned.  On a kernel error the
 * negative errno is returned and nl_errmsg() holds the extack text (empty
 * when the kernel gave none).  NLH lives in nl->buf, which receiving may
 * reallocate: do not use it after this call.
 */
int nl_request(struct nl_sock *nl, struct nlmsghdr *nlh,
	       int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* The kernel's extack message of the last failed request, or "". */
const char *nl_errmsg(const struct nl_sock *nl);

/*
 * Join multicast group GROUP of the family (resolved by name); then
 * nl_recv_events() delivers its messages.  -ENOENT if there is no such group.
 */
int nl_subscribe(struct nl_sock *nl, const char *group);

/*
 * Receive one batch of messages and call CB for each; blocks.  Returns
 * 0, or a negative errno (CB's negative value included).
 */
int nl_recv_events(struct nl_sock *nl,
		   int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/*
 * Pure: extract the extack message (NLMSGERR_ATTR_MSG) and offset of a
 * NLMSG_ERROR message into MSG (size LEN, "" if none).  Returns the error
 * as a negative errno (0 for an ACK).
 */
int nl_parse_error(const struct nlmsghdr *nlh, char *msg, size_t len,
		   uint32_t *offset);

/* ---- dm-chain family ---------------------------------------------------- */

#define DMC_NL_VERSION_LEN	64
#define DMC_NL_NAME_LEN		128	/* DM_NAME_LEN */
#define DMC_NL_UUID_LEN		16
#define DMC_NL_PATH_LEN		4096	/* PATH_MAX */
#define DMC_NL_MESSAGE_LEN	512	/* longer merge messages are cut */

/* One DM_CHAIN_DEV_A_LAYER nest. */
struct dmc_nl_layer {
	char *path;			/* malloc'd, as in the table */
	uint8_t uuid[DMC_NL_UUID_LEN];
	bool has_uuid;			/* absent: a raw image */
	uint64_t generation;
	uint64_t data_blocks;
	uint64_t zero_blocks;
	bool has_map_bytes;		/* a module that reports it */
	uint64_t map_bytes;		/* kernel memory of its map */
	bool by_runs;			/* held by its extent list's runs */
	uint64_t runs;
	bool writable;
	bool raw;
};

/*
 * A merge's status nest (DM_CHAIN_A_MERGE, DM_CHAIN_DEV_A_MERGE): in GET
 * and MERGE answers and in events.  STATE is required in every status nest.
 */
struct dmc_nl_merge {
	uint32_t state;			/* enum dm_chain_merge_state */
	uint32_t target;		/* index of the target layer, base 0 */
	uint32_t nr_sources;		/* the layers just above the target */
	uint64_t bytes_total;
	uint64_t bytes_done;
	uint64_t bytes_cloned;
	uint64_t bytes_copied;
	uint64_t bytes_zeroed;
	uint64_t elapsed_ns;
	uint32_t error;			/* positive errno, 0 if none */
	char message[DMC_NL_MESSAGE_LEN];
	bool resumed;
	uint64_t pause_ns;		/* longest I/O pause */
	bool keeps_leaf;		/* added no leaf (range or resume) */
	uint32_t bursts;		/* times it held the guest's I/O */
	uint64_t yield_ns;		/* time it slept to let guest I/O by */
};

struct dmc_nl_device {
	char name[DMC_NL_NAME_LEN];
	uint32_t major, minor;
	uint32_t nr_layers;
	bool read_only;
	bool has_devno;			/* MAJOR and MINOR were present */
	bool has_nr_layers;
	bool has_block_size;
	uint32_t block_size;		/* bytes */
	bool has_index_bytes;		/* a module that reports it */
	uint64_t index_bytes;		/* kernel memory of the read index */
	unsigned int nr_listed;		/* entries in layers */
	struct dmc_nl_layer *layers;	/* base first; malloc'd */
	bool has_merge;
	struct dmc_nl_merge merge;	/* the current or last merge */
	bool has_first_layer;		/* a later part of a GET dump */
	uint32_t first_layer;		/* its first layer's index */
};

/* Free what a parsed device owns (its layers); the struct stays usable. */
void dmc_nl_device_free(struct dmc_nl_device *dev);

/* What a GET answers: the module version and the chain devices. */
struct dmc_nl_info {
	char version[DMC_NL_VERSION_LEN];
	unsigned int nr_devices;
	struct dmc_nl_device *devices;	/* malloc'd, free with dmc_nl_info_free */
};

/*
 * Pure: parse one GET answer message (genlmsghdr + attributes) and append
 * to INFO, each device with its layers and merge status when the module
 * sends them.  A GET dump sends a device too large for one message in
 * parts: a part with DM_CHAIN_DEV_A_FIRST_LAYER continues the last device
 * of INFO (same name and number, FIRST_LAYER equal to the layers listed so
 * far); one that does not fit it gives -EAGAIN (the device changed during
 * the dump: ask again).  Returns 0 or -EINVAL for a malformed message
 * (wrong attribute type or length, device nest without a name, layer nest
 * without a path, status nest without a state), -ENOMEM.  Unknown
 * attributes (PAD included) are skipped.
 */
int dmc_nl_parse_get(const struct nlmsghdr *nlh, struct dmc_nl_info *info);

/* What to tell the user when the family is missing (nl_open's -ENOENT). */
#define DMC_NL_NOT_LOADED_MSG \
	"dm-chain kernel module is not loaded (modprobe dm-chain)"

/* nl_open() of the dm-chain family. */
int dmc_nl_open(struct nl_sock **out);

/*
 * One line for a failed dm-chain request: "not loaded", "permission
 * denied ... (admin-only)", or strerror plus the kernel's extack text.
 * NL may be NULL (nl_open failed).  Returns a static buffer.
 */
const char *dmc_nl_strerror(const struct nl_sock *nl, int err);

/*
 * Ask the module (GET).  NAME non-NULL asks about that device only (one
 * answer); without, every device is asked for as a dump, which any number
 * of devices and layers fits (a module without the dump is asked the old
 * way).  Fills INFO (free with dmc_nl_info_free).  Negative errno on
 * failure; see nl_errmsg() for the kernel's text.
 */
int dmc_nl_get(struct nl_sock *nl, const char *name, struct dmc_nl_info *info);

void dmc_nl_info_free(struct dmc_nl_info *info);

/* Find NAME in INFO, or NULL. */
const struct dmc_nl_device *dmc_nl_find(const struct dmc_nl_info *info,
					const char *name);

/* Find the device numbered MAJOR:MINOR in INFO, or NULL. */
const struct dmc_nl_device *dmc_nl_find_devno(const struct dmc_nl_info *info,
					      uint32_t major, uint32_t minor);

/* "none", "running", "done", "failed", "cancelled" or "unknown". */
const char *dmc_nl_merge_state_str(uint32_t state);

/* ---- merge, cancel, snapshot, events ------------------------------------ */

/* MERGE parameters; zero-initialise, then set what the user asked for. */
struct dmc_nl_merge_params {
	uint32_t depth;			/* 0: not sent (kernel default) */
	bool has_into;
	uint32_t into;			/* layer index from the base */
	bool has_top;			/* with has_into: DM_CHAIN_MERGE_A_TOP */
	uint32_t top;			/* topmost layer merged (index) */
	bool has_mode;
	uint32_t mode;			/* enum dm_chain_merge_mode */
	bool has_rate;
	uint32_t rate;			/* MiB/s, 0 unlimited */
	const char *new_leaf;		/* NULL: the kernel picks the name */
};

/*
 * An answer to MERGE or SNAPSHOT, or an event.  Free with
 * dmc_nl_answer_free().
 */
struct dmc_nl_answer {
	uint8_t cmd;			/* the genlmsghdr command */
	bool has_device;
	struct dmc_nl_device dev;
	bool has_merge;
	struct dmc_nl_merge merge;
	bool has_path;
	char path[DMC_NL_PATH_LEN];	/* SNAPSHOT: the new leaf */
	bool has_pause_ns;
	uint64_t pause_ns;		/* SNAPSHOT: the I/O pause */
};

void dmc_nl_answer_free(struct dmc_nl_answer *a);

/*
 * Pure: add the request attributes to NLH (a message started for the
 * command).  DM_CHAIN_A_DEVICE holds DM_CHAIN_DEV_A_NAME; MERGE adds the
 * DM_CHAIN_A_MERGE nest (only the parameters set in P), SNAPSHOT adds
 * DM_CHAIN_A_PATH when PATH is non-NULL.  -EINVAL for an empty or overlong
 * name, -ENAMETOOLONG for an overlong path.
 */
int dmc_nl_put_device_name(struct nlmsghdr *nlh, const char *name);
int dmc_nl_put_merge(struct nlmsghdr *nlh, const char *name,
		     const struct dmc_nl_merge_params *p);
int dmc_nl_put_snapshot(struct nlmsghdr *nlh, const char *name,
			const char *path);

/*
 * Pure: parse a MERGE answer (A_DEVICE with the new chain, A_MERGE status;
 * a status nested in the device stands in for a missing A_MERGE) into *A.
 * Returns 0, -EINVAL for a malformed message or a missing part, -ENOMEM.
 * *A is zeroed first and left empty on failure.
 */
int dmc_nl_parse_merge_reply(const struct nlmsghdr *nlh,
			     struct dmc_nl_answer *a);

/* Pure: the same for a SNAPSHOT answer (A_DEVICE, A_PATH, A_PAUSE_NS). */
int dmc_nl_parse_snapshot_reply(const struct nlmsghdr *nlh,
				struct dmc_nl_answer *a);

/*
 * Pure: parse an event (MERGE_PROGRESS or MERGE_DONE; a->cmd tells which):
 * A_DEVICE with NAME, MAJOR and MINOR, and the A_MERGE status.  Returns 0,
 * -ENOMSG for a message of another command (skip it), -EINVAL, -ENOMEM.
 */
int dmc_nl_parse_event(const struct nlmsghdr *nlh, struct dmc_nl_answer *a);

/*
 * Start (or resume) a live merge on device NAME; *REPLY gets the answer
 * (free with dmc_nl_answer_free).  Negative errno on failure, extack text
 * in nl_errmsg().
 */
int dmc_nl_merge(struct nl_sock *nl, const char *name,
		 const struct dmc_nl_merge_params *params,
		 struct dmc_nl_answer *reply);

/* Stop device NAME's running merge. */
int dmc_nl_merge_cancel(struct nl_sock *nl, const char *name);

/* Put a new empty leaf (PATH, or NULL for a kernel-chosen name) on NAME. */
int dmc_nl_snapshot(struct nl_sock *nl, const char *name, const char *path,
		    struct dmc_nl_answer *reply);

#endif
