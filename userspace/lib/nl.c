// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink client (libmnl) and the dm-chain family's GET.  Modelled
 * on ethtool's netlink/nlsock.c and iproute2's devlink/mnlg.c: one socket
 * per family, the family id resolved with CTRL_CMD_GETFAMILY, extended ACKs
 * turned on so the kernel's reason for a refusal reaches the user, and one
 * validating attribute callback per nesting level.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <dm-chain/netlink.h>

#include "nl.h"

/* Initial buffer: requests, dump parts (the kernel sizes those by the
 * reader's buffer) and GET answers of ~1000 devices; grown on demand. */
#define NL_BUF_SIZE	(64 * 1024)

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK	11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK	10
#endif

/* ---- error messages ---------------------------------------------------- */

int nl_parse_error(const struct nlmsghdr *nlh, char *msg, size_t len,
		   uint32_t *offset)
{
	const struct nlmsgerr *err;
	const struct nlattr *attr;
	unsigned int tlv_off;

	if (len)
		msg[0] = '\0';
	if (offset)
		*offset = 0;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return -EBADMSG;
	err = mnl_nlmsg_get_payload(nlh);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return err->error;

	/* The TLVs follow the echoed request, or only its header if capped. */
	tlv_off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return err->error;
		tlv_off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (mnl_nlmsg_size(tlv_off) >= nlh->nlmsg_len)
		return err->error;

	mnl_attr_for_each(attr, nlh, tlv_off) {
		switch (mnl_attr_get_type(attr)) {
		case NLMSGERR_ATTR_MSG:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
				break;
			if (len) {
				strncpy(msg, mnl_attr_get_str(attr), len - 1);
				msg[len - 1] = '\0';
			}
			break;
		case NLMSGERR_ATTR_OFFS:
			if (offset && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				*offset = mnl_attr_get_u32(attr);
			break;
		default:
			break;
		}
	}
	return err->error;
}

/* ---- request/response --------------------------------------------------- */

struct request_ctx {
	struct nl_sock *nl;
	int (*cb)(const struct nlmsghdr *nlh, void *data);
	void *data;
	int err;		/* first failure, negative errno */
};

static int request_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *ctx = data;
	int ret;

	if (!ctx->cb)
		return MNL_CB_OK;
	ret = ctx->cb(nlh, ctx->data);
	if (ret < 0) {
		ctx->err = ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int request_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *ctx = data;
	int ret;

	ret = nl_parse_error(nlh, ctx->nl->errmsg, sizeof(ctx->nl->errmsg),
			     &ctx->nl->err_offset);
	if (ret == 0)
		return MNL_CB_STOP;	/* the final ACK */
	ctx->err = ret < 0 ? ret : -EPROTO;
	return MNL_CB_ERROR;
}

static int request_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *ctx = data;
	int ret;

	/* A dump's DONE carries the dump callback's status (and extack). */
	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
		ret = *(const int *)mnl_nlmsg_get_payload(nlh);
		if (ret < 0) {
			ctx->err = ret;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/*
 * Receive one datagram into nl->buf, growing it first if the datagram is
 * larger (a GET answer grows with the number of devices), as iproute2's
 * rtnl_recvmsg() does.  Returns its length or a negative errno.
 */
static ssize_t nl_recv(struct nl_sock *nl)
{
	ssize_t need, n;
	char *grown;

	need = recv(mnl_socket_get_fd(nl->sk), NULL, 0, MSG_PEEK | MSG_TRUNC);
	if (need < 0)
		return -errno;
	if ((size_t)need > nl->buf_size) {
		grown = realloc(nl->buf, (size_t)need);
		if (!grown)
			return -ENOMEM;
		nl->buf = grown;
		nl->buf_size = (size_t)need;
	}
	n = mnl_socket_recvfrom(nl->sk, nl->buf, nl->buf_size);
	return n < 0 ? -errno : n;
}

static int nl_transact(struct nl_sock *nl, struct nlmsghdr *nlh,
		       int (*cb)(const struct nlmsghdr *nlh, void *data),
		       void *data)
{
	static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = request_error_cb,
		[NLMSG_DONE] = request_done_cb,
	};
	struct request_ctx ctx = { .nl = nl, .cb = cb, .data = data };
	uint32_t seq;
	ssize_t n;
	int ret;

	nl->errmsg[0] = '\0';
	nl->err_offset = 0;
	seq = nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	do {
		n = nl_recv(nl);
		if (n < 0)
			return (int)n;
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, request_data_cb,
				  &ctx, ctl_cbs, NLMSG_MIN_TYPE);
	} while (ret > 0);

	if (ret < 0)
		return ctx.err ? ctx.err : (errno ? -errno : -EPROTO);
	return 0;
}

static struct nlmsghdr *msg_start(struct nl_sock *nl, uint16_t type,
				  uint8_t cmd, uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	/* libmnl 1.0.4 leaves attribute padding as it finds it: start clean. */
	memset(nl->buf, 0, nl->buf_size);
	nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

struct nlmsghdr *nl_msg_start(struct nl_sock *nl, uint8_t cmd, uint8_t version,
			      uint16_t flags)
{
	return msg_start(nl, nl->family_id, cmd, version, flags);
}

int nl_request(struct nl_sock *nl, struct nlmsghdr *nlh,
	       int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	return nl_transact(nl, nlh, cb, data);
}

const char *nl_errmsg(const struct nl_sock *nl)
{
	return nl->errmsg;
}

/* ---- family resolution ------------------------------------------------- */

static int mcgrp_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, CTRL_ATTR_MCAST_GRP_MAX) < 0)
		return MNL_CB_OK;	/* newer kernel: ignore */
	switch (type) {
	case CTRL_ATTR_MCAST_GRP_NAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		break;
	case CTRL_ATTR_MCAST_GRP_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

static int parse_mcgrps(const struct nlattr *nest, struct nl_sock *nl)
{
	const struct nlattr *grp;

	mnl_attr_for_each_nested(grp, nest) {
		const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1] = { NULL };
		struct nl_mcgrp *g;

		if (mnl_attr_parse_nested(grp, mcgrp_attr_cb, tb) < 0)
			return -EINVAL;
		if (!tb[CTRL_ATTR_MCAST_GRP_NAME] || !tb[CTRL_ATTR_MCAST_GRP_ID])
			continue;
		if (nl->nr_mcgrps >= NL_MAX_MCGRPS)
			break;
		g = &nl->mcgrps[nl->nr_mcgrps++];
		strncpy(g->name, mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]),
			sizeof(g->name) - 1);
		g->name[sizeof(g->name) - 1] = '\0';
		g->id = mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return 0;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);
	enum mnl_attr_data_type want;

	if (mnl_attr_type_valid(attr, CTRL_ATTR_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case CTRL_ATTR_FAMILY_ID:
		want = MNL_TYPE_U16;
		break;
	case CTRL_ATTR_VERSION:
		want = MNL_TYPE_U32;
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		want = MNL_TYPE_NESTED;
		break;
	default:
		return MNL_CB_OK;
	}
	if (mnl_attr_validate(attr, want) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int family_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1] = { NULL };
	struct nl_sock *nl = data;

	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb,
			   tb) < 0)
		return -EINVAL;
	if (!tb[CTRL_ATTR_FAMILY_ID])
		return -EINVAL;
	nl->family_id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (tb[CTRL_ATTR_VERSION])
		nl->family_version = mnl_attr_get_u32(tb[CTRL_ATTR_VERSION]);
	if (tb[CTRL_ATTR_MCAST_GROUPS])
		return parse_mcgrps(tb[CTRL_ATTR_MCAST_GROUPS], nl);
	return 0;
}

static int resolve_family(struct nl_sock *nl, const char *family)
{
	struct nlmsghdr *nlh;
	int ret;

	nlh = msg_start(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, family);
	ret = nl_transact(nl, nlh, family_reply_cb, nl);
	if (ret == 0 && !nl->family_id)
		ret = -EPROTO;
	return ret;
}

int nl_open(struct nl_sock **out, const char *family)
{
	struct nl_sock *nl;
	int one = 1;
	int ret;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->buf_size = NL_BUF_SIZE;
	nl->buf = malloc(nl->buf_size);
	if (!nl->buf) {
		ret = -ENOMEM;
		goto free_nl;
	}
	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk) {
		ret = -errno;
		goto free_buf;
	}
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto close_sk;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	/* Best effort: kernels before 4.12 lack extended ACKs. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->seq = (uint32_t)time(NULL);

	ret = resolve_family(nl, family);
	if (ret)
		goto close_sk;
	*out = nl;
	return 0;

close_sk:
	mnl_socket_close(nl->sk);
free_buf:
	free(nl->buf);
free_nl:
	free(nl);
	return ret;
}

void nl_close(struct nl_sock *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sk);
	free(nl->buf);
	free(nl);
}

/* ---- multicast ---------------------------------------------------------- */

int nl_subscribe(struct nl_sock *nl, const char *group)
{
	unsigned int i;

	for (i = 0; i < nl->nr_mcgrps; i++) {
		if (strcmp(nl->mcgrps[i].name, group))
			continue;
		if (mnl_socket_setsockopt(nl->sk, NETLINK_ADD_MEMBERSHIP,
					  &nl->mcgrps[i].id,
					  sizeof(nl->mcgrps[i].id)) < 0)
			return -errno;
		return 0;
	}
	return -ENOENT;
}

int nl_recv_events(struct nl_sock *nl,
		   int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	struct request_ctx ctx = { .nl = nl, .cb = cb, .data = data };
	ssize_t n;
	int ret;

	n = nl_recv(nl);
	if (n < 0)
		return (int)n;
	ret = mnl_cb_run(nl->buf, n, 0, 0, request_data_cb, &ctx);
	if (ret < 0)
		return ctx.err ? ctx.err : -errno;
	return 0;
}

/* ---- dm-chain GET ------------------------------------------------------- */

static int copy_str(const struct nlattr *attr, char *dst, size_t size)
{
	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return -EINVAL;
	if (strlen(mnl_attr_get_str(attr)) >= size)
		return -EINVAL;
	strcpy(dst, mnl_attr_get_str(attr));
	return 0;
}

struct parse_ctx {
	struct dmc_nl_device *dev;
	bool seen_major, seen_minor;
	struct dmc_nl_info *info;
	int err;
};

static int dev_attr_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *ctx = data;
	struct dmc_nl_device *dev = ctx->dev;
	int ret = 0;

	switch (mnl_attr_get_type(attr)) {
	case DM_CHAIN_DEV_A_NAME:
		ret = copy_str(attr, dev->name, sizeof(dev->name));
		break;
	case DM_CHAIN_DEV_A_MAJOR:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			ret = -EINVAL;
		else
			dev->major = mnl_attr_get_u32(attr);
		ctx->seen_major = true;
		break;
	case DM_CHAIN_DEV_A_MINOR:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			ret = -EINVAL;
		else
			dev->minor = mnl_attr_get_u32(attr);
		ctx->seen_minor = true;
		break;
	case DM_CHAIN_DEV_A_NR_LAYERS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) {
			ret = -EINVAL;
		} else {
			dev->nr_layers = mnl_attr_get_u32(attr);
			dev->has_nr_layers = true;
		}
		break;
	case DM_CHAIN_DEV_A_READ_ONLY:
		if (mnl_attr_validate(attr, MNL_TYPE_FLAG) < 0)
			ret = -EINVAL;
		else
			dev->read_only = true;
		break;
	default:
		break;		/* newer module: ignore what we do not know */
	}
	if (ret) {
		ctx->err = ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int append_device(struct dmc_nl_info *info,
			 const struct dmc_nl_device *dev)
{
	struct dmc_nl_device *devs;

	devs = realloc(info->devices, (info->nr_devices + 1) * sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	devs[info->nr_devices++] = *dev;
	info->devices = devs;
	return 0;
}

static int get_attr_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *ctx = data;
	struct dmc_nl_device dev;
	struct parse_ctx dev_ctx = { .dev = &dev };
	int ret = 0;

	switch (mnl_attr_get_type(attr)) {
	case DM_CHAIN_A_VERSION:
		ret = copy_str(attr, ctx->info->version,
			       sizeof(ctx->info->version));
		break;
	case DM_CHAIN_A_DEVICE:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0) {
			ret = -EINVAL;
			break;
		}
		memset(&dev, 0, sizeof(dev));
		if (mnl_attr_parse_nested(attr, dev_attr_cb, &dev_ctx) < 0) {
			ret = dev_ctx.err ? dev_ctx.err : -EINVAL;
			break;
		}
		if (!dev.name[0]) {
			ret = -EINVAL;
			break;
		}
		dev.has_devno = dev_ctx.seen_major && dev_ctx.seen_minor;
		ret = append_device(ctx->info, &dev);
		break;
	default:
		break;
	}
	if (ret) {
		ctx->err = ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int dmc_nl_parse_get(const struct nlmsghdr *nlh, struct dmc_nl_info *info)
{
	struct parse_ctx ctx = { .info = info };

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)))
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), get_attr_cb,
			   &ctx) < 0)
		return ctx.err ? ctx.err : -EINVAL;
	return 0;
}

int dmc_nl_open(struct nl_sock **out)
{
	return nl_open(out, DM_CHAIN_GENL_NAME);
}

const char *dmc_nl_strerror(const struct nl_sock *nl, int err)
{
	static char buf[NL_ERRMSG_LEN + 128];
	const char *ext = nl ? nl_errmsg(nl) : "";

	if (err == -ENOENT && !nl)
		return DMC_NL_NOT_LOADED_MSG;
	if (err == -EPERM || err == -EACCES) {
		snprintf(buf, sizeof(buf),
			 "%s: the dm-chain netlink family is admin-only (CAP_NET_ADMIN): run as root",
			 strerror(-err));
		return buf;
	}
	if (ext[0])
		snprintf(buf, sizeof(buf), "%s (%s)", ext, strerror(-err));
	else
		snprintf(buf, sizeof(buf), "%s", strerror(-err));
	return buf;
}

static int get_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	return dmc_nl_parse_get(nlh, data);
}

int dmc_nl_get(struct nl_sock *nl, const char *name, struct dmc_nl_info *info)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	int ret;

	memset(info, 0, sizeof(*info));
	nlh = nl_msg_start(nl, DM_CHAIN_CMD_GET, DM_CHAIN_GENL_VERSION, 0);
	if (name) {
		nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
		mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
		mnl_attr_nest_end(nlh, nest);
	}
	ret = nl_request(nl, nlh, get_reply_cb, info);
	if (ret)
		dmc_nl_info_free(info);
	return ret;
}

void dmc_nl_info_free(struct dmc_nl_info *info)
{
	free(info->devices);
	info->devices = NULL;
	info->nr_devices = 0;
}

const struct dmc_nl_device *dmc_nl_find(const struct dmc_nl_info *info,
					const char *name)
{
	unsigned int i;

	for (i = 0; i < info->nr_devices; i++)
		if (!strcmp(info->devices[i].name, name))
			return &info->devices[i];
	return NULL;
}

const struct dmc_nl_device *dmc_nl_find_devno(const struct dmc_nl_info *info,
					      uint32_t major, uint32_t minor)
{
	unsigned int i;

	for (i = 0; i < info->nr_devices; i++)
		if (info->devices[i].has_devno &&
		    info->devices[i].major == major &&
		    info->devices[i].minor == minor)
			return &info->devices[i];
	return NULL;
}
