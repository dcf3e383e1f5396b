/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink client over libmnl: resolves a family by name
 * (CTRL_CMD_GETFAMILY), sends requests with NETLINK_EXT_ACK so the kernel's
 * extack text reaches the user, iterates multi-part (dump) answers, and
 * subscribes to multicast groups.  The second half holds the dm-chain
 * family's own pieces: the GET request and the parser of its answer, which
 * is pure (works on a message in memory) so host unit tests can drive it.
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

struct dmc_nl_device {
	char name[DMC_NL_NAME_LEN];
	uint32_t major, minor;
	uint32_t nr_layers;
	bool read_only;
	bool has_devno;			/* MAJOR and MINOR were present */
	bool has_nr_layers;
};

/* What a GET answers: the module version and the chain devices. */
struct dmc_nl_info {
	char version[DMC_NL_VERSION_LEN];
	unsigned int nr_devices;
	struct dmc_nl_device *devices;	/* malloc'd, free with dmc_nl_info_free */
};

/*
 * Pure: parse one GET answer message (genlmsghdr + attributes) and append
 * to INFO.  Returns 0 or -EINVAL for a malformed message (wrong attribute
 * type or length, device nest without a name), -ENOMEM.
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
 * Ask the module (GET).  NAME non-NULL asks about that device only.  Fills
 * INFO (free with dmc_nl_info_free).  Negative errno on failure; see
 * nl_errmsg() for the kernel's text.
 */
int dmc_nl_get(struct nl_sock *nl, const char *name, struct dmc_nl_info *info);

void dmc_nl_info_free(struct dmc_nl_info *info);

/* Find NAME in INFO, or NULL. */
const struct dmc_nl_device *dmc_nl_find(const struct dmc_nl_info *info,
					const char *name);

/* Find the device numbered MAJOR:MINOR in INFO, or NULL. */
const struct dmc_nl_device *dmc_nl_find_devno(const struct dmc_nl_info *info,
					      uint32_t major, uint32_t minor);

#endif
