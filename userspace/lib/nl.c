// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink client (libmnl) and the dm-chain family's requests (GET,
 * MERGE, MERGE_CANCEL, SNAPSHOT) and events.  Modelled on ethtool's
 * netlink/nlsock.c and iproute2's devlink/mnlg.c: one socket per family,
 * the family id resolved with CTRL_CMD_GETFAMILY, extended ACKs turned on
 * so the kernel's reason for a refusal reaches the user, and one
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
	bool answered;		/* a reply to this request came */
};

static int request_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *ctx = data;
	int ret;

	if (nlh->nlmsg_seq)	/* (not an event: those have no sequence) */
		ctx->answered = true;
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
			const struct nlattr *attr;

			ctx->err = ret;
			ctx->nl->errmsg[0] = '\0';
			if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
			    mnl_nlmsg_size(sizeof(int)) >= nlh->nlmsg_len)
				return MNL_CB_ERROR;
			mnl_attr_for_each(attr, nlh, sizeof(int))
				if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
				    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
					snprintf(ctx->nl->errmsg,
						 sizeof(ctx->nl->errmsg), "%s",
						 mnl_attr_get_str(attr));
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/*
 * Receive one datagram into nl->buf, growing it first if the datagram is
 * larger (a GET answer grows with the number of devices), as iproute2's
 * rtnl_recvmsg() does.  FLAGS: 0, or MSG_DONTWAIT.  Returns its length or
 * a negative errno.
 */
static ssize_t nl_recv(struct nl_sock *nl, int flags)
{
	ssize_t need, n;
	char *grown;

	need = recv(mnl_socket_get_fd(nl->sk), NULL, 0,
		    MSG_PEEK | MSG_TRUNC | flags);
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
	bool dump, lost = false;
	uint32_t seq;
	ssize_t n;
	int ret;

	nl->errmsg[0] = '\0';
	nl->err_offset = 0;
	seq = nlh->nlmsg_seq = ++nl->seq;
	/* (NLH is in the buffer the answers overwrite) */
	dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	do {
		const struct nlmsghdr *first;

		n = nl_recv(nl, lost ? MSG_DONTWAIT : 0);
		/*
		 * ENOBUFS: the kernel could not queue part of the answer,
		 * most often the ACK that follows a reply (netlink_ack()
		 * then sets the socket's error, which the next receive
		 * reports ahead of a reply still queued).  The request ran
		 * inside our sendto(), so all that will ever come is queued
		 * now: read it without waiting.  A reply among it means the
		 * request was carried out.  (Not for a dump, whose later
		 * parts may be what was lost.)
		 */
		ret = 1;
		if (n == -ENOBUFS && !dump && !lost) {
			lost = true;
			continue;
		}
		if (lost && n == -EAGAIN)
			return ctx.answered && !ctx.err ? 0 : -ENOBUFS;
		if (n < 0)
			return (int)n;
		first = (const void *)nl->buf;
		/*
		 * A datagram an earlier request left (its ACK, after that
		 * request stopped reading at an error) belongs to no one now:
		 * skip it rather than fail every later request on its
		 * sequence number.  Events carry no sequence number.
		 */
		if ((size_t)n >= sizeof(*first) && first->nlmsg_seq &&
		    first->nlmsg_seq != seq)
			continue;
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

	n = nl_recv(nl, 0);
	if (n < 0)
		return (int)n;
	ret = mnl_cb_run(nl->buf, n, 0, 0, request_data_cb, &ctx);
	if (ret < 0)
		return ctx.err ? ctx.err : -errno;
	return 0;
}

/* ---- dm-chain answers: attribute helpers -------------------------------- */

/*
 * Every parser below validates each attribute it knows (type and exact
 * length) before reading it and skips those it does not know (PAD included),
 * so a newer module's additions pass and a malformed message is -EINVAL.
 * libmnl stops at an attribute that would run past its nest or message.
 */

static int cb_result(int *err, int ret)
{
	if (ret) {
		*err = ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int copy_str(const struct nlattr *attr, char *dst, size_t size)
{
	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return -EINVAL;
	if (strlen(mnl_attr_get_str(attr)) >= size)
		return -EINVAL;
	strcpy(dst, mnl_attr_get_str(attr));
	return 0;
}

/* A string for humans: cut, not refused, when longer than DST. */
static int copy_str_cut(const struct nlattr *attr, char *dst, size_t size)
{
	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return -EINVAL;
	snprintf(dst, size, "%s", mnl_attr_get_str(attr));
	return 0;
}

static int dup_str(const struct nlattr *attr, char **dst, size_t max)
{
	char *s;

	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return -EINVAL;
	if (strlen(mnl_attr_get_str(attr)) >= max)
		return -EINVAL;
	s = strdup(mnl_attr_get_str(attr));
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int get_u32(const struct nlattr *attr, uint32_t *val)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return -EINVAL;
	*val = mnl_attr_get_u32(attr);
	return 0;
}

/* nla_put_u64_64bit() may put a PAD first; the u64 itself is exact. */
static int get_u64(const struct nlattr *attr, uint64_t *val)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
		return -EINVAL;
	*val = mnl_attr_get_u64(attr);
	return 0;
}

static int get_flag(const struct nlattr *attr, bool *val)
{
	if (mnl_attr_validate(attr, MNL_TYPE_FLAG) < 0)
		return -EINVAL;
	*val = true;
	return 0;
}

/* Parse nest ATTR with CB; CB leaves its errno in *ERR. */
static int parse_nest(const struct nlattr *attr, mnl_attr_cb_t cb, void *ctx,
		      int *err)
{
	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return -EINVAL;
	if (mnl_attr_parse_nested(attr, cb, ctx) < 0)
		return *err ? *err : -EINVAL;
	return 0;
}

/* ---- merge status nest -------------------------------------------------- */

struct merge_ctx {
	struct dmc_nl_merge *m;
	bool seen_state;
	int err;
};

static int merge_attr_cb(const struct nlattr *attr, void *data)
{
	struct merge_ctx *ctx = data;
	struct dmc_nl_merge *m = ctx->m;
	int ret;

	switch (mnl_attr_get_type(attr)) {
	case DM_CHAIN_MERGE_A_STATE:
		ret = get_u32(attr, &m->state);
		ctx->seen_state = true;
		break;
	case DM_CHAIN_MERGE_A_TARGET:
		ret = get_u32(attr, &m->target);
		break;
	case DM_CHAIN_MERGE_A_NR_SOURCES:
		ret = get_u32(attr, &m->nr_sources);
		break;
	case DM_CHAIN_MERGE_A_BYTES_TOTAL:
		ret = get_u64(attr, &m->bytes_total);
		break;
	case DM_CHAIN_MERGE_A_BYTES_DONE:
		ret = get_u64(attr, &m->bytes_done);
		break;
	case DM_CHAIN_MERGE_A_BYTES_CLONED:
		ret = get_u64(attr, &m->bytes_cloned);
		break;
	case DM_CHAIN_MERGE_A_BYTES_COPIED:
		ret = get_u64(attr, &m->bytes_copied);
		break;
	case DM_CHAIN_MERGE_A_BYTES_ZEROED:
		ret = get_u64(attr, &m->bytes_zeroed);
		break;
	case DM_CHAIN_MERGE_A_ELAPSED_NS:
		ret = get_u64(attr, &m->elapsed_ns);
		break;
	case DM_CHAIN_MERGE_A_ERROR:
		ret = get_u32(attr, &m->error);
		break;
	case DM_CHAIN_MERGE_A_MESSAGE:
		ret = copy_str_cut(attr, m->message, sizeof(m->message));
		break;
	case DM_CHAIN_MERGE_A_RESUMED:
		ret = get_flag(attr, &m->resumed);
		break;
	case DM_CHAIN_MERGE_A_PAUSE_NS:
		ret = get_u64(attr, &m->pause_ns);
		break;
	case DM_CHAIN_MERGE_A_KEEPS_LEAF:
		ret = get_flag(attr, &m->keeps_leaf);
		break;
	case DM_CHAIN_MERGE_A_BURSTS:
		ret = get_u32(attr, &m->bursts);
		break;
	case DM_CHAIN_MERGE_A_YIELD_NS:
		ret = get_u64(attr, &m->yield_ns);
		break;
	default:
		ret = 0;	/* request attributes, PAD, newer ones */
		break;
	}
	return cb_result(&ctx->err, ret);
}

static int parse_merge(const struct nlattr *attr, struct dmc_nl_merge *m)
{
	struct merge_ctx ctx = { .m = m };
	int ret;

	memset(m, 0, sizeof(*m));
	ret = parse_nest(attr, merge_attr_cb, &ctx, &ctx.err);
	if (!ret && !ctx.seen_state)
		ret = -EINVAL;
	if (ret)
		memset(m, 0, sizeof(*m));
	return ret;
}

/* ---- layer nest --------------------------------------------------------- */

struct layer_ctx {
	struct dmc_nl_layer *l;
	int err;
};

static int layer_attr_cb(const struct nlattr *attr, void *data)
{
	struct layer_ctx *ctx = data;
	struct dmc_nl_layer *l = ctx->l;
	int ret;

	switch (mnl_attr_get_type(attr)) {
	case DM_CHAIN_LAYER_A_PATH:
		ret = dup_str(attr, &l->path, DMC_NL_PATH_LEN);
		break;
	case DM_CHAIN_LAYER_A_UUID:
		if (mnl_attr_get_payload_len(attr) != DMC_NL_UUID_LEN) {
			ret = -EINVAL;
			break;
		}
		memcpy(l->uuid, mnl_attr_get_payload(attr), DMC_NL_UUID_LEN);
		l->has_uuid = true;
		ret = 0;
		break;
	case DM_CHAIN_LAYER_A_GENERATION:
		ret = get_u64(attr, &l->generation);
		break;
	case DM_CHAIN_LAYER_A_DATA_BLOCKS:
		ret = get_u64(attr, &l->data_blocks);
		break;
	case DM_CHAIN_LAYER_A_ZERO_BLOCKS:
		ret = get_u64(attr, &l->zero_blocks);
		break;
	case DM_CHAIN_LAYER_A_MAP_BYTES:
		ret = get_u64(attr, &l->map_bytes);
		l->has_map_bytes = !ret;
		break;
	case DM_CHAIN_LAYER_A_RUNS:
		ret = get_u64(attr, &l->runs);
		l->by_runs = !ret;
		break;
	case DM_CHAIN_LAYER_A_WRITABLE:
		ret = get_flag(attr, &l->writable);
		break;
	case DM_CHAIN_LAYER_A_RAW:
		ret = get_flag(attr, &l->raw);
		break;
	default:
		ret = 0;
		break;
	}
	return cb_result(&ctx->err, ret);
}

/* Parse one layer nest and append it to DEV; a layer needs its path. */
static int append_layer(struct dmc_nl_device *dev, const struct nlattr *attr)
{
	struct dmc_nl_layer l, *grown;
	struct layer_ctx ctx = { .l = &l };
	int ret;

	memset(&l, 0, sizeof(l));
	ret = parse_nest(attr, layer_attr_cb, &ctx, &ctx.err);
	if (!ret && !l.path)
		ret = -EINVAL;
	if (!ret) {
		grown = realloc(dev->layers, (dev->nr_listed + 1) * sizeof(l));
		if (grown) {
			grown[dev->nr_listed++] = l;
			dev->layers = grown;
			return 0;
		}
		ret = -ENOMEM;
	}
	free(l.path);
	return ret;
}

/* ---- device nest -------------------------------------------------------- */

struct dev_ctx {
	struct dmc_nl_device *dev;
	bool seen_major, seen_minor;
	int err;
};

static int dev_attr_cb(const struct nlattr *attr, void *data)
{
	struct dev_ctx *ctx = data;
	struct dmc_nl_device *dev = ctx->dev;
	int ret;

	switch (mnl_attr_get_type(attr)) {
	case DM_CHAIN_DEV_A_NAME:
		ret = copy_str(attr, dev->name, sizeof(dev->name));
		break;
	case DM_CHAIN_DEV_A_MAJOR:
		ret = get_u32(attr, &dev->major);
		ctx->seen_major = true;
		break;
	case DM_CHAIN_DEV_A_MINOR:
		ret = get_u32(attr, &dev->minor);
		ctx->seen_minor = true;
		break;
	case DM_CHAIN_DEV_A_NR_LAYERS:
		ret = get_u32(attr, &dev->nr_layers);
		dev->has_nr_layers = true;
		break;
	case DM_CHAIN_DEV_A_READ_ONLY:
		ret = get_flag(attr, &dev->read_only);
		break;
	case DM_CHAIN_DEV_A_BLOCK_SIZE:
		ret = get_u32(attr, &dev->block_size);
		dev->has_block_size = true;
		break;
	case DM_CHAIN_DEV_A_INDEX_BYTES:
		ret = get_u64(attr, &dev->index_bytes);
		dev->has_index_bytes = !ret;
		break;
	case DM_CHAIN_DEV_A_LAYER:
		ret = append_layer(dev, attr);
		break;
	case DM_CHAIN_DEV_A_MERGE:
		ret = parse_merge(attr, &dev->merge);
		dev->has_merge = !ret;
		break;
	case DM_CHAIN_DEV_A_FIRST_LAYER:
		ret = get_u32(attr, &dev->first_layer);
		dev->has_first_layer = !ret;
		break;
	default:
		ret = 0;	/* newer module: ignore what we do not know */
		break;
	}
	return cb_result(&ctx->err, ret);
}

void dmc_nl_device_free(struct dmc_nl_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nr_listed; i++)
		free(dev->layers[i].path);
	free(dev->layers);
	dev->layers = NULL;
	dev->nr_listed = 0;
}

/* Parse a device nest into DEV (zeroed first); a device needs its name. */
static int parse_device(const struct nlattr *attr, struct dmc_nl_device *dev)
{
	struct dev_ctx ctx = { .dev = dev };
	int ret;

	memset(dev, 0, sizeof(*dev));
	ret = parse_nest(attr, dev_attr_cb, &ctx, &ctx.err);
	if (!ret && !dev->name[0])
		ret = -EINVAL;
	if (ret) {
		dmc_nl_device_free(dev);
		memset(dev, 0, sizeof(*dev));
		return ret;
	}
	dev->has_devno = ctx.seen_major && ctx.seen_minor;
	return 0;
}

/* ---- GET answer --------------------------------------------------------- */

struct get_ctx {
	struct dmc_nl_info *info;
	int err;
};

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

/*
 * A later part of a device in a GET dump: its layers (and status) go to
 * the device before it, which must be the same and have exactly
 * first_layer layers so far.
 */
static int continue_device(struct dmc_nl_info *info, struct dmc_nl_device *dev)
{
	struct dmc_nl_device *last;
	struct dmc_nl_layer *grown;

	if (!info->nr_devices)
		return -EAGAIN;
	last = &info->devices[info->nr_devices - 1];
	if (strcmp(last->name, dev->name) || last->major != dev->major ||
	    last->minor != dev->minor || last->nr_layers != dev->nr_layers ||
	    last->nr_listed != dev->first_layer)
		return -EAGAIN;
	if (dev->nr_listed) {
		grown = realloc(last->layers, (last->nr_listed + dev->nr_listed) *
					      sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memcpy(grown + last->nr_listed, dev->layers,
		       dev->nr_listed * sizeof(*grown));
		last->layers = grown;
		last->nr_listed += dev->nr_listed;
	}
	if (dev->has_merge) {
		last->has_merge = true;
		last->merge = dev->merge;
	}
	/* The paths moved to LAST; only the array is left to free. */
	free(dev->layers);
	dev->layers = NULL;
	dev->nr_listed = 0;
	return 0;
}

static int get_attr_cb(const struct nlattr *attr, void *data)
{
	struct get_ctx *ctx = data;
	struct dmc_nl_device dev;
	int ret;

	switch (mnl_attr_get_type(attr)) {
	case DM_CHAIN_A_VERSION:
		ret = copy_str(attr, ctx->info->version,
			       sizeof(ctx->info->version));
		break;
	case DM_CHAIN_A_DEVICE:
		ret = parse_device(attr, &dev);
		if (ret)
			break;
		if (dev.has_first_layer && dev.first_layer)
			ret = continue_device(ctx->info, &dev);
		else
			ret = append_device(ctx->info, &dev);
		if (ret)
			dmc_nl_device_free(&dev);
		break;
	default:
		ret = 0;
		break;
	}
	return cb_result(&ctx->err, ret);
}

int dmc_nl_parse_get(const struct nlmsghdr *nlh, struct dmc_nl_info *info)
{
	struct get_ctx ctx = { .info = info };

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)))
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), get_attr_cb,
			   &ctx) < 0)
		return ctx.err ? ctx.err : -EINVAL;
	return 0;
}

/* ---- MERGE and SNAPSHOT answers, events --------------------------------- */

struct answer_ctx {
	struct dmc_nl_answer *a;
	int err;
};

static int answer_attr_cb(const struct nlattr *attr, void *data)
{
	struct answer_ctx *ctx = data;
	struct dmc_nl_answer *a = ctx->a;
	int ret;

	switch (mnl_attr_get_type(attr)) {
	case DM_CHAIN_A_DEVICE:
		if (a->has_device) {
			ret = -EINVAL;	/* these answers name one device */
			break;
		}
		ret = parse_device(attr, &a->dev);
		a->has_device = !ret;
		break;
	case DM_CHAIN_A_MERGE:
		ret = parse_merge(attr, &a->merge);
		a->has_merge = !ret;
		break;
	case DM_CHAIN_A_PATH:
		ret = copy_str(attr, a->path, sizeof(a->path));
		a->has_path = !ret;
		break;
	case DM_CHAIN_A_PAUSE_NS:
		ret = get_u64(attr, &a->pause_ns);
		a->has_pause_ns = !ret;
		break;
	default:
		ret = 0;
		break;
	}
	return cb_result(&ctx->err, ret);
}

void dmc_nl_answer_free(struct dmc_nl_answer *a)
{
	dmc_nl_device_free(&a->dev);
}

static int parse_answer(const struct nlmsghdr *nlh, struct dmc_nl_answer *a)
{
	struct answer_ctx ctx = { .a = a };
	const struct genlmsghdr *genl;

	memset(a, 0, sizeof(*a));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*genl)))
		return -EINVAL;
	genl = mnl_nlmsg_get_payload(nlh);
	a->cmd = genl->cmd;
	if (mnl_attr_parse(nlh, sizeof(*genl), answer_attr_cb, &ctx) < 0)
		return ctx.err ? ctx.err : -EINVAL;
	return 0;
}

/* Leave *A empty after a failed parse, as promised. */
static int answer_fail(struct dmc_nl_answer *a, int ret)
{
	dmc_nl_answer_free(a);
	memset(a, 0, sizeof(*a));
	return ret;
}

int dmc_nl_parse_merge_reply(const struct nlmsghdr *nlh,
			     struct dmc_nl_answer *a)
{
	int ret = parse_answer(nlh, a);

	if (ret)
		return answer_fail(a, ret);
	if (!a->has_merge && a->has_device && a->dev.has_merge) {
		a->merge = a->dev.merge;
		a->has_merge = true;
	}
	if (!a->has_device || !a->has_merge)
		return answer_fail(a, -EINVAL);
	return 0;
}

int dmc_nl_parse_snapshot_reply(const struct nlmsghdr *nlh,
				struct dmc_nl_answer *a)
{
	int ret = parse_answer(nlh, a);

	if (ret)
		return answer_fail(a, ret);
	if (!a->has_device || !a->has_path)
		return answer_fail(a, -EINVAL);
	return 0;
}

int dmc_nl_parse_event(const struct nlmsghdr *nlh, struct dmc_nl_answer *a)
{
	const struct genlmsghdr *genl;
	int ret;

	memset(a, 0, sizeof(*a));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*genl)))
		return -EINVAL;
	genl = mnl_nlmsg_get_payload(nlh);
	if (genl->cmd != DM_CHAIN_CMD_MERGE_PROGRESS &&
	    genl->cmd != DM_CHAIN_CMD_MERGE_DONE)
		return -ENOMSG;
	ret = parse_answer(nlh, a);
	if (ret)
		return answer_fail(a, ret);
	if (!a->has_device || !a->dev.has_devno || !a->has_merge)
		return answer_fail(a, -EINVAL);
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

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
			 "%s: the dm-chain netlink family is admin-only (CAP_NET_ADMIN and CAP_SYS_ADMIN): run as root",
			 strerror(-err));
		return buf;
	}
	if (ext[0])
		snprintf(buf, sizeof(buf), "%s (%s)", ext, strerror(-err));
	else
		snprintf(buf, sizeof(buf), "%s", strerror(-err));
	return buf;
}

struct get_reply_ctx {
	struct dmc_nl_info *info;
	int err;
};

/*
 * A parse failure is kept, not returned: a dump goes on arriving until
 * its DONE, which the request must still read off the socket.
 */
static int get_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_reply_ctx *ctx = data;
	int ret;

	if (!ctx->err) {
		ret = dmc_nl_parse_get(nlh, ctx->info);
		if (ret)
			ctx->err = ret;
	}
	return 0;
}

static int get_once(struct nl_sock *nl, const char *name, bool dump,
		    struct dmc_nl_info *info)
{
	struct get_reply_ctx ctx = { .info = info };
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	int ret;

	memset(info, 0, sizeof(*info));
	nlh = nl_msg_start(nl, DM_CHAIN_CMD_GET, DM_CHAIN_GENL_VERSION,
			   dump ? NLM_F_DUMP : 0);
	if (name) {
		nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
		mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
		mnl_attr_nest_end(nlh, nest);
	}
	ret = nl_request(nl, nlh, get_reply_cb, &ctx);
	if (!ret)
		ret = ctx.err;
	if (ret)
		dmc_nl_info_free(info);
	return ret;
}

int dmc_nl_get(struct nl_sock *nl, const char *name, struct dmc_nl_info *info)
{
	unsigned int tries;
	int ret;

	if (name)
		return get_once(nl, name, false, info);
	for (tries = 0; tries < 5; tries++) {
		ret = get_once(nl, NULL, true, info);
		if (ret == -EOPNOTSUPP)		/* module 0.2.0: no dump */
			return get_once(nl, NULL, false, info);
		if (ret != -EAGAIN)
			break;
	}
	return ret;
}

void dmc_nl_info_free(struct dmc_nl_info *info)
{
	unsigned int i;

	for (i = 0; i < info->nr_devices; i++)
		dmc_nl_device_free(&info->devices[i]);
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

const char *dmc_nl_merge_state_str(uint32_t state)
{
	switch (state) {
	case DM_CHAIN_MERGE_STATE_NONE:		return "none";
	case DM_CHAIN_MERGE_STATE_RUNNING:	return "running";
	case DM_CHAIN_MERGE_STATE_DONE:		return "done";
	case DM_CHAIN_MERGE_STATE_FAILED:	return "failed";
	case DM_CHAIN_MERGE_STATE_CANCELLED:	return "cancelled";
	default:				return "unknown";
	}
}

int dmc_nl_put_device_name(struct nlmsghdr *nlh, const char *name)
{
	struct nlattr *nest;

	if (!name || !name[0] || strlen(name) >= DMC_NL_NAME_LEN)
		return -EINVAL;
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

int dmc_nl_put_merge(struct nlmsghdr *nlh, const char *name,
		     const struct dmc_nl_merge_params *p)
{
	struct nlattr *nest;
	int ret;

	if (p->new_leaf && (!p->new_leaf[0] ||
			    strlen(p->new_leaf) >= DMC_NL_PATH_LEN))
		return p->new_leaf[0] ? -ENAMETOOLONG : -EINVAL;
	ret = dmc_nl_put_device_name(nlh, name);
	if (ret)
		return ret;
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_MERGE);
	if (p->depth)
		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_DEPTH, p->depth);
	if (p->has_into)
		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_INTO, p->into);
	if (p->has_top)
		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_TOP, p->top);
	if (p->has_mode)
		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_MODE, p->mode);
	if (p->has_rate)
		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_RATE, p->rate);
	if (p->new_leaf)
		mnl_attr_put_strz(nlh, DM_CHAIN_MERGE_A_NEW_LEAF, p->new_leaf);
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

int dmc_nl_put_snapshot(struct nlmsghdr *nlh, const char *name,
			const char *path)
{
	int ret;

	if (path && (!path[0] || strlen(path) >= DMC_NL_PATH_LEN))
		return path[0] ? -ENAMETOOLONG : -EINVAL;
	ret = dmc_nl_put_device_name(nlh, name);
	if (ret)
		return ret;
	if (path)
		mnl_attr_put_strz(nlh, DM_CHAIN_A_PATH, path);
	return 0;
}

struct reply_ctx {
	int (*parse)(const struct nlmsghdr *nlh, struct dmc_nl_answer *a);
	struct dmc_nl_answer *a;
	bool got;
};

static int answer_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct reply_ctx *ctx = data;
	int ret;

	if (ctx->got) {
		/* One answer is expected; keep the last. */
		dmc_nl_answer_free(ctx->a);
		ctx->got = false;
	}
	ret = ctx->parse(nlh, ctx->a);
	if (ret)
		return ret == -ENOMEM ? ret : -EPROTO;	/* answered nonsense */
	ctx->got = true;
	return 0;
}

static int answer_request(struct nl_sock *nl, struct nlmsghdr *nlh,
			  int (*parse)(const struct nlmsghdr *nlh,
				       struct dmc_nl_answer *a),
			  struct dmc_nl_answer *reply)
{
	struct reply_ctx ctx = { .parse = parse, .a = reply };
	int ret;

	ret = nl_request(nl, nlh, answer_reply_cb, &ctx);
	if (!ret && !ctx.got)
		ret = -EPROTO;	/* acknowledged without an answer */
	if (ret && ctx.got)
		dmc_nl_answer_free(reply);
	if (ret)
		memset(reply, 0, sizeof(*reply));
	return ret;
}

int dmc_nl_merge(struct nl_sock *nl, const char *name,
		 const struct dmc_nl_merge_params *params,
		 struct dmc_nl_answer *reply)
{
	struct nlmsghdr *nlh;
	int ret;

	memset(reply, 0, sizeof(*reply));
	nlh = nl_msg_start(nl, DM_CHAIN_CMD_MERGE, DM_CHAIN_GENL_VERSION, 0);
	ret = dmc_nl_put_merge(nlh, name, params);
	if (ret)
		return ret;
	return answer_request(nl, nlh, dmc_nl_parse_merge_reply, reply);
}

int dmc_nl_merge_cancel(struct nl_sock *nl, const char *name)
{
	struct nlmsghdr *nlh;
	int ret;

	nlh = nl_msg_start(nl, DM_CHAIN_CMD_MERGE_CANCEL, DM_CHAIN_GENL_VERSION,
			   0);
	ret = dmc_nl_put_device_name(nlh, name);
	if (ret)
		return ret;
	return nl_request(nl, nlh, NULL, NULL);
}

int dmc_nl_snapshot(struct nl_sock *nl, const char *name, const char *path,
		    struct dmc_nl_answer *reply)
{
	struct nlmsghdr *nlh;
	int ret;

	memset(reply, 0, sizeof(*reply));
	nlh = nl_msg_start(nl, DM_CHAIN_CMD_SNAPSHOT, DM_CHAIN_GENL_VERSION, 0);
	ret = dmc_nl_put_snapshot(nlh, name, path);
	if (ret)
		return ret;
	return answer_request(nl, nlh, dmc_nl_parse_snapshot_reply, reply);
}
