// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "dm-chain": the control channel chainctl uses.
 *
 * The UAPI (commands, attributes, multicast groups) is defined once, in
 * include/dm-chain/netlink.h, and described in docs/netlink.md.  Every
 * operation is admin-only, as the dm ioctl interface is (GENL_ADMIN_PERM,
 * and CAP_SYS_ADMIN in pre_doit and the dump's start), and so is joining
 * the events group.  The family lives in the initial network namespace
 * only: device-mapper devices are global.
 *
 * The family runs with parallel_ops: genl_mutex is not held around the
 * handlers, as they may create and fsync layer files on slow storage.
 * What they share is guarded by the target's locks: the device list
 * mutex (dm_chain_get, the device walk), the per-device ctl_lock (merge
 * start, cancel, snapshot), chain_lock (describing a device), and the
 * users count that keeps a device's destructor waiting for a request.
 * Nothing in this file keeps state between requests except a dump's
 * position in its netlink_callback.
 *
 * Dependencies (docs/target.md, "Code layout"): netlink parses requests
 * and calls the merge (merge.h) and target (target.h) APIs; nobody calls
 * into it but module init (genl.h).  Merge events reach it through the
 * struct dmc_merge_events it registers once the family is registered.
 */
#include <linux/capability.h>
#include <linux/dm-ioctl.h>
#include <linux/kdev_t.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <net/genetlink.h>

#include <dm-chain/netlink.h>
#include "dm-chain.h"
#include "genl.h"
#include "merge.h"
#include "target.h"

static struct genl_family dm_chain_genl_family;

static const struct nla_policy dm_chain_dev_policy[DM_CHAIN_DEV_A_MAX + 1] = {
	[DM_CHAIN_DEV_A_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
};

static const struct nla_policy dm_chain_merge_policy[DM_CHAIN_MERGE_A_MAX + 1] = {
	[DM_CHAIN_MERGE_A_DEPTH] = NLA_POLICY_MIN(NLA_U32, 1),
	[DM_CHAIN_MERGE_A_INTO] = { .type = NLA_U32 },
	[DM_CHAIN_MERGE_A_MODE] = NLA_POLICY_MAX(NLA_U32,
						 DM_CHAIN_MERGE_MODE_COPY),
	[DM_CHAIN_MERGE_A_RATE] = { .type = NLA_U32 },
	[DM_CHAIN_MERGE_A_NEW_LEAF] = { .type = NLA_NUL_STRING,
					.len = PATH_MAX - 1 },
	[DM_CHAIN_MERGE_A_TOP] = { .type = NLA_U32 },
};

/* Per command: an attribute the command does not take is refused. */
static const struct nla_policy dm_chain_get_policy[DM_CHAIN_A_MAX + 1] = {
	[DM_CHAIN_A_DEVICE] = NLA_POLICY_NESTED(dm_chain_dev_policy),
};

static const struct nla_policy dm_chain_merge_req_policy[DM_CHAIN_A_MAX + 1] = {
	[DM_CHAIN_A_DEVICE] = NLA_POLICY_NESTED(dm_chain_dev_policy),
	[DM_CHAIN_A_MERGE] = NLA_POLICY_NESTED(dm_chain_merge_policy),
};

static const struct nla_policy dm_chain_snapshot_policy[DM_CHAIN_A_MAX + 1] = {
	[DM_CHAIN_A_DEVICE] = NLA_POLICY_NESTED(dm_chain_dev_policy),
	[DM_CHAIN_A_PATH] = { .type = NLA_NUL_STRING, .len = PATH_MAX - 1 },
};

enum dm_chain_mcgrp {
	DM_CHAIN_MCGRP_EVENTS,
};

static const struct genl_multicast_group dm_chain_mcgrps[] = {
	[DM_CHAIN_MCGRP_EVENTS] = {
		.name = DM_CHAIN_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_SYS_ADMIN,
	},
};

/* ---- encoding ---- */

static int put_u64(struct sk_buff *msg, int type, u64 v, int pad)
{
	return nla_put_u64_64bit(msg, type, v, pad);
}

static int put_merge_status(struct sk_buff *msg, int type,
			    const struct dm_chain_merge_status *st)
{
	struct nlattr *nest = nla_nest_start(msg, type);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(msg, DM_CHAIN_MERGE_A_STATE, st->state) ||
	    nla_put_u32(msg, DM_CHAIN_MERGE_A_TARGET, st->target) ||
	    nla_put_u32(msg, DM_CHAIN_MERGE_A_NR_SOURCES, st->nr_sources) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_BYTES_TOTAL, st->bytes_total,
		    DM_CHAIN_MERGE_A_PAD) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_BYTES_DONE, st->bytes_done,
		    DM_CHAIN_MERGE_A_PAD) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_BYTES_CLONED, st->bytes_cloned,
		    DM_CHAIN_MERGE_A_PAD) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_BYTES_COPIED, st->bytes_copied,
		    DM_CHAIN_MERGE_A_PAD) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_BYTES_ZEROED, st->bytes_zeroed,
		    DM_CHAIN_MERGE_A_PAD) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_ELAPSED_NS, st->elapsed_ns,
		    DM_CHAIN_MERGE_A_PAD) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_PAUSE_NS, st->pause_ns,
		    DM_CHAIN_MERGE_A_PAD) ||
	    (st->error && nla_put_u32(msg, DM_CHAIN_MERGE_A_ERROR, st->error)) ||
	    (st->message[0] &&
	     nla_put_string(msg, DM_CHAIN_MERGE_A_MESSAGE, st->message)) ||
	    (st->resumed && nla_put_flag(msg, DM_CHAIN_MERGE_A_RESUMED)) ||
	    (st->keeps_leaf &&
	     nla_put_flag(msg, DM_CHAIN_MERGE_A_KEEPS_LEAF)) ||
	    nla_put_u32(msg, DM_CHAIN_MERGE_A_BURSTS, st->bursts) ||
	    put_u64(msg, DM_CHAIN_MERGE_A_YIELD_NS, st->yield_ns,
		    DM_CHAIN_MERGE_A_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_layer(struct sk_buff *msg, const struct dm_chain_layer_info *l)
{
	struct nlattr *nest = nla_nest_start(msg, DM_CHAIN_DEV_A_LAYER);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(msg, DM_CHAIN_LAYER_A_PATH, l->path) ||
	    (l->uuid && nla_put(msg, DM_CHAIN_LAYER_A_UUID, 16, l->uuid)) ||
	    (!l->uuid && nla_put_flag(msg, DM_CHAIN_LAYER_A_RAW)) ||
	    put_u64(msg, DM_CHAIN_LAYER_A_GENERATION, l->generation,
		    DM_CHAIN_LAYER_A_PAD) ||
	    put_u64(msg, DM_CHAIN_LAYER_A_DATA_BLOCKS, l->data_blocks,
		    DM_CHAIN_LAYER_A_PAD) ||
	    put_u64(msg, DM_CHAIN_LAYER_A_ZERO_BLOCKS, l->zero_blocks,
		    DM_CHAIN_LAYER_A_PAD) ||
	    put_u64(msg, DM_CHAIN_LAYER_A_MAP_BYTES, l->map_bytes,
		    DM_CHAIN_LAYER_A_PAD) ||
	    (l->by_runs && put_u64(msg, DM_CHAIN_LAYER_A_RUNS, l->runs,
				   DM_CHAIN_LAYER_A_PAD)) ||
	    (l->writable && nla_put_flag(msg, DM_CHAIN_LAYER_A_WRITABLE))) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_dev_head(struct sk_buff *msg,
			const struct dm_chain_dev_info *info)
{
	if (nla_put_string(msg, DM_CHAIN_DEV_A_NAME, info->name) ||
	    nla_put_u32(msg, DM_CHAIN_DEV_A_MAJOR, MAJOR(info->dev)) ||
	    nla_put_u32(msg, DM_CHAIN_DEV_A_MINOR, MINOR(info->dev)) ||
	    nla_put_u32(msg, DM_CHAIN_DEV_A_NR_LAYERS, info->nr_layers) ||
	    nla_put_u32(msg, DM_CHAIN_DEV_A_BLOCK_SIZE, info->block_size) ||
	    put_u64(msg, DM_CHAIN_DEV_A_INDEX_BYTES, info->index_bytes,
		    DM_CHAIN_DEV_A_PAD) ||
	    (info->read_only && nla_put_flag(msg, DM_CHAIN_DEV_A_READ_ONLY)))
		return -EMSGSIZE;
	return 0;
}

/*
 * An attribute's length is 16 bits: a device nest stops taking layers
 * once it holds this many bytes, room left for the merge status, and the
 * device goes on in another nest (a part, as in a dump).
 */
#define DMC_NEST_LAYER_BYTES	(U16_MAX - 4096)

/*
 * One device in a "do" answer: its head, layers and merge status in one
 * DM_CHAIN_A_DEVICE nest, or in several consecutive ones when its layers
 * would overflow a nest's length (a few hundred layers): each part
 * carries the head, later parts DM_CHAIN_DEV_A_FIRST_LAYER, the last the
 * merge status, as the parts of a dump do (docs/netlink.md).
 */
static int put_dev_nest(struct sk_buff *msg, const struct dm_chain_dev_info *info)
{
	unsigned int nr = info->layers ? info->nr_layers : 0, i = 0, first;
	struct nlattr *nest;
	unsigned char *mark;

	do {
		first = i;
		nest = nla_nest_start(msg, DM_CHAIN_A_DEVICE);
		if (!nest)
			return -EMSGSIZE;
		if (put_dev_head(msg, info) ||
		    (first && nla_put_u32(msg, DM_CHAIN_DEV_A_FIRST_LAYER, first)))
			goto cancel;
		/* (no layers: the head alone, see reply_change()) */
		for (; i < nr; i++) {
			mark = skb_tail_pointer(msg);
			if (put_layer(msg, &info->layers[i]))
				goto cancel;
			if (skb_tail_pointer(msg) - (unsigned char *)nest >
			    DMC_NEST_LAYER_BYTES) {
				nlmsg_trim(msg, mark);
				break;
			}
		}
		if (i == first && i < nr)
			goto cancel;	/* not one layer: cannot happen */
		if (i == nr && info->merge &&
		    put_merge_status(msg, DM_CHAIN_DEV_A_MERGE, info->merge))
			goto cancel;
		nla_nest_end(msg, nest);
	} while (i < nr);
	return 0;
cancel:
	nla_nest_cancel(msg, nest);
	return -EMSGSIZE;
}

/* ---- replies that grow until they fit ---- */

struct reply_ctx {
	struct sk_buff *msg;
	const char *only_name;	/* GET: NULL for every device */
	unsigned int nr_found;
	/* MERGE / SNAPSHOT extras */
	const struct dm_chain_merge_status *merge;
	const char *path;
	u64 pause_ns;
	bool has_pause;
};

static int put_device_cb(const struct dm_chain_dev_info *info, void *data)
{
	struct reply_ctx *ctx = data;

	if (ctx->only_name && strcmp(ctx->only_name, info->name))
		return 0;
	if (put_dev_nest(ctx->msg, info))
		return -EMSGSIZE;
	ctx->nr_found++;
	return 0;
}

/*
 * Build the answer to @info's request in ctx->msg: @fill adds the
 * attributes after the genl header; the message grows until they fit.
 */
static int build_reply(struct genl_info *info, u8 cmd, struct reply_ctx *ctx,
		       int (*fill)(struct reply_ctx *ctx, void *arg), void *arg)
{
	size_t size = NLMSG_GOODSIZE;
	void *hdr;
	int r;

	for (;;) {
		ctx->msg = genlmsg_new(size, GFP_KERNEL);
		if (!ctx->msg)
			return -ENOMEM;
		ctx->nr_found = 0;
		hdr = genlmsg_put_reply(ctx->msg, info, &dm_chain_genl_family,
					0, cmd);
		r = hdr ? fill(ctx, arg) : -EMSGSIZE;
		if (!r)
			break;
		nlmsg_free(ctx->msg);
		ctx->msg = NULL;
		if (r != -EMSGSIZE || size >= (1U << 24))
			return r;
		size *= 4;
	}
	genlmsg_end(ctx->msg, hdr);
	return 0;
}

/* Build and send the answer to @info's request (see build_reply()). */
static int reply(struct genl_info *info, u8 cmd, struct reply_ctx *ctx,
		 int (*fill)(struct reply_ctx *ctx, void *arg), void *arg)
{
	int r = build_reply(info, cmd, ctx, fill, arg);

	return r ? r : genlmsg_reply(ctx->msg, info);
}

/* ---- request helpers ---- */

/* The target's reasons are static strings, as extack messages must be. */
static void set_why(struct genl_info *info, const char *why)
{
	if (info->extack && why)
		info->extack->_msg = why;
}

/* The device a request names; held until dm_chain_put(). */
static int get_device_arg(struct genl_info *info, struct dmc_chain **dc)
{
	struct nlattr *dev_attrs[DM_CHAIN_DEV_A_MAX + 1];
	struct nlattr *nest = info->attrs[DM_CHAIN_A_DEVICE];
	int r;

	if (!nest) {
		NL_SET_ERR_MSG(info->extack, "request needs a device nest with a name");
		return -EINVAL;
	}
	r = nla_parse_nested(dev_attrs, DM_CHAIN_DEV_A_MAX, nest,
			     dm_chain_dev_policy, info->extack);
	if (r)
		return r;
	if (!dev_attrs[DM_CHAIN_DEV_A_NAME]) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest, "device nest needs a name");
		return -EINVAL;
	}
	*dc = dm_chain_get(nla_data(dev_attrs[DM_CHAIN_DEV_A_NAME]));
	if (!*dc) {
		NL_SET_ERR_MSG_ATTR(info->extack, dev_attrs[DM_CHAIN_DEV_A_NAME],
				    "no chain device of that name");
		return -ENODEV;
	}
	return 0;
}

/* ---- GET ---- */

static int fill_get(struct reply_ctx *ctx, void *arg)
{
	int r = nla_put_string(ctx->msg, DM_CHAIN_A_VERSION, DM_CHAIN_VERSION);

	return r ?: dm_chain_for_each_device(put_device_cb, ctx);
}

static int fill_get_one(struct reply_ctx *ctx, void *arg)
{
	int r = nla_put_string(ctx->msg, DM_CHAIN_A_VERSION, DM_CHAIN_VERSION);

	return r ?: dm_chain_describe(arg, put_device_cb, ctx);
}

static int dm_chain_nl_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *dev_attrs[DM_CHAIN_DEV_A_MAX + 1];
	struct reply_ctx ctx = { };
	int r;

	if (info->attrs[DM_CHAIN_A_DEVICE]) {
		r = nla_parse_nested(dev_attrs, DM_CHAIN_DEV_A_MAX,
				     info->attrs[DM_CHAIN_A_DEVICE],
				     dm_chain_dev_policy, info->extack);
		if (r)
			return r;
		if (!dev_attrs[DM_CHAIN_DEV_A_NAME]) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[DM_CHAIN_A_DEVICE],
					    "device nest needs a name");
			return -EINVAL;
		}
		ctx.only_name = nla_data(dev_attrs[DM_CHAIN_DEV_A_NAME]);
	}
	/*
	 * A named device is described alone: a device whose layer list is
	 * being switched on slow storage does not hold up the others.
	 */
	if (ctx.only_name) {
		struct dmc_chain *dc = dm_chain_get(ctx.only_name);

		if (!dc) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    dev_attrs[DM_CHAIN_DEV_A_NAME],
					    "no chain device of that name");
			return -ENODEV;
		}
		r = reply(info, DM_CHAIN_CMD_GET, &ctx, fill_get_one, dc);
		dm_chain_put(dc);
		return r;
	}
	return reply(info, DM_CHAIN_CMD_GET, &ctx, fill_get, NULL);
}

/*
 * GET as a dump: one message per device, so that the answer is not
 * bounded by one message.  A device too large for one message (256
 * layers with long paths) is split between layers: every part carries the
 * device's head attributes, later parts DM_CHAIN_DEV_A_FIRST_LAYER.
 * cb->args[0] is the index of the next device to send (among those the
 * request matches), cb->args[1] its next layer.
 */
#define DMC_DUMP_ALLOC	(16U << 10)	/* a layer nest holds a PATH_MAX path */

struct dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	const char *only_name;
	unsigned long idx;
};

/* The device name a GET request gives, or NULL; validated by the policy. */
static const char *dump_name(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *di = genl_dumpit_info(cb);
	struct nlattr *dev_attrs[DM_CHAIN_DEV_A_MAX + 1];

	if (!di->attrs || !di->attrs[DM_CHAIN_A_DEVICE] ||
	    nla_parse_nested(dev_attrs, DM_CHAIN_DEV_A_MAX,
			     di->attrs[DM_CHAIN_A_DEVICE], dm_chain_dev_policy,
			     NULL) ||
	    !dev_attrs[DM_CHAIN_DEV_A_NAME])
		return NULL;
	return nla_data(dev_attrs[DM_CHAIN_DEV_A_NAME]);
}

/* Returns 0 for a device sent whole, 1 to stop (skb full), -EMSGSIZE. */
static int dump_device_cb(const struct dm_chain_dev_info *info, void *data)
{
	struct dump_ctx *ctx = data;
	struct netlink_callback *cb = ctx->cb;
	struct sk_buff *skb = ctx->skb;
	unsigned int first, i;
	struct nlattr *nest;
	void *hdr;

	if (ctx->only_name && strcmp(ctx->only_name, info->name))
		return 0;
	if (ctx->idx++ < cb->args[0])
		return 0;
	first = min_t(unsigned long, cb->args[1], info->nr_layers);
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &dm_chain_genl_family, NLM_F_MULTI, DM_CHAIN_CMD_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, DM_CHAIN_A_VERSION, DM_CHAIN_VERSION))
		goto full;
	nest = nla_nest_start(skb, DM_CHAIN_A_DEVICE);
	if (!nest || put_dev_head(skb, info) ||
	    (first && nla_put_u32(skb, DM_CHAIN_DEV_A_FIRST_LAYER, first)))
		goto full;
	for (i = first; i < info->nr_layers; i++)
		if (put_layer(skb, &info->layers[i]))
			break;
	if (i == info->nr_layers && info->merge &&
	    put_merge_status(skb, DM_CHAIN_DEV_A_MERGE, info->merge)) {
		if (i == first)		/* the status alone does not fit */
			goto full;
		/* The status goes in a part of its own. */
	} else if (i == info->nr_layers) {
		nla_nest_end(skb, nest);
		genlmsg_end(skb, hdr);
		cb->args[0] = ctx->idx;
		cb->args[1] = 0;
		return 0;
	} else if (i == first) {
		goto full;		/* not one layer fits: next skb */
	}
	/* Part of the device sent; the next dump call goes on at layer i. */
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	cb->args[0] = ctx->idx - 1;
	cb->args[1] = i;
	return 1;
full:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int dm_chain_nl_get_start(struct netlink_callback *cb)
{
	/*
	 * pre_doit does not run for dumps.  (On 6.1, cb->extack is set only
	 * while ->dumpit runs, so this message reaches the caller from 6.2
	 * on; EPERM speaks for itself.)
	 */
	if (!netlink_capable(cb->skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(cb->extack, "dm-chain requests need CAP_SYS_ADMIN");
		return -EPERM;
	}
	cb->min_dump_alloc = DMC_DUMP_ALLOC;
	return 0;
}

/*
 * The device a dump names must exist, and a device nest must name one,
 * as for "do".  Checked in the first ->dumpit call, not in ->start: only
 * there can the reason travel with the error (in the dump's DONE).
 */
static int dump_check_name(struct netlink_callback *cb, const char *name)
{
	const struct genl_dumpit_info *di = genl_dumpit_info(cb);
	struct dmc_chain *dc;

	if (!name && di->attrs && di->attrs[DM_CHAIN_A_DEVICE]) {
		NL_SET_ERR_MSG_ATTR(cb->extack, di->attrs[DM_CHAIN_A_DEVICE],
				    "device nest needs a name");
		return -EINVAL;
	}
	if (name) {
		dc = dm_chain_get(name);
		if (!dc) {
			NL_SET_ERR_MSG(cb->extack, "no chain device of that name");
			return -ENODEV;
		}
		dm_chain_put(dc);
	}
	return 0;
}

static int dm_chain_nl_get_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct dump_ctx ctx = {
		.skb = skb,
		.cb = cb,
		.only_name = dump_name(cb),
	};
	void *hdr;
	int r;

	/*
	 * The first message carries the module version alone, so that a
	 * dump that matches no device still says which module answered.
	 * cb->args[2] records that it went out.
	 */
	if (!cb->args[2]) {
		r = dump_check_name(cb, ctx.only_name);
		if (r)
			return r;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &dm_chain_genl_family,
				  NLM_F_MULTI, DM_CHAIN_CMD_GET);
		if (!hdr)
			return -EMSGSIZE;
		if (nla_put_string(skb, DM_CHAIN_A_VERSION, DM_CHAIN_VERSION)) {
			genlmsg_cancel(skb, hdr);
			return -EMSGSIZE;
		}
		genlmsg_end(skb, hdr);
		cb->args[2] = 1;
	}
	r = dm_chain_for_each_device(dump_device_cb, &ctx);
	if (r == -EMSGSIZE && !skb->len) {
		NL_SET_ERR_MSG(cb->extack, "a device does not fit a dump message");
		return r;
	}
	if (r < 0 && r != -EMSGSIZE)
		return r;
	return skb->len;
}

/* ---- MERGE, SNAPSHOT answers: the device, then the extras ---- */

/* What the answer to a change adds after the device. */
static int fill_change_extras(struct reply_ctx *ctx)
{
	if (ctx->merge && put_merge_status(ctx->msg, DM_CHAIN_A_MERGE,
					   ctx->merge))
		return -EMSGSIZE;
	if (ctx->path && nla_put_string(ctx->msg, DM_CHAIN_A_PATH, ctx->path))
		return -EMSGSIZE;
	if (ctx->has_pause &&
	    put_u64(ctx->msg, DM_CHAIN_A_PAUSE_NS, ctx->pause_ns,
		    DM_CHAIN_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int fill_change(struct reply_ctx *ctx, void *arg)
{
	int r = dm_chain_describe(arg, put_device_cb, ctx);

	return r ? r : fill_change_extras(ctx);
}

/*
 * The answer to a change (MERGE, SNAPSHOT) is made after the change, and
 * a change that happened must never be answered with an error: the caller
 * would take it that nothing changed (and, say, snapshot again).  So the
 * handler allocates @spare before it makes the change, large enough for
 * the answer without the layers (the device's head, the merge status, the
 * new leaf's path, the pause).  When the full answer cannot be built
 * afterwards (an allocation failed), @spare carries that; the caller
 * asks GET for the layers.  Consumes @spare.
 */
#define DMC_CHANGE_SPARE_SIZE	(NLMSG_GOODSIZE + PATH_MAX)

/*
 * Send in @spare the device's head and @ctx's extras (none when @ctx is
 * empty).  Consumes @spare.  A reply the socket could not take is not an
 * error: the change was made, and the ACK says so.
 */
static void reply_head(struct genl_info *info, u8 cmd, struct reply_ctx *ctx,
		       struct dmc_chain *dc, struct sk_buff *spare)
{
	void *hdr;
	int r;

	ctx->msg = spare;
	hdr = genlmsg_put_reply(spare, info, &dm_chain_genl_family, 0, cmd);
	r = hdr ? dm_chain_describe_head(dc, put_device_cb, ctx) : -EMSGSIZE;
	if (!r)
		r = fill_change_extras(ctx);
	if (WARN_ON_ONCE(r)) {
		/* Cannot happen (sized for it); the ACK still says done. */
		nlmsg_free(spare);
		return;
	}
	genlmsg_end(spare, hdr);
	genlmsg_reply(spare, info);
}

static int reply_change(struct genl_info *info, u8 cmd, struct reply_ctx *ctx,
			struct dmc_chain *dc, struct sk_buff *spare)
{
	if (!build_reply(info, cmd, ctx, fill_change, dc)) {
		nlmsg_free(spare);
		genlmsg_reply(ctx->msg, info);	/* (see reply_head()) */
		return 0;
	}
	reply_head(info, cmd, ctx, dc, spare);
	return 0;
}

static int dm_chain_nl_merge_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *ma[DM_CHAIN_MERGE_A_MAX + 1] = { };
	struct dm_chain_merge_params p = { .depth = 1 };
	struct dm_chain_merge_status st;
	struct reply_ctx ctx = { };
	struct sk_buff *spare;
	struct dmc_chain *dc;
	const char *why = NULL;
	char *new_leaf;
	int r;

	if (info->attrs[DM_CHAIN_A_MERGE]) {
		r = nla_parse_nested(ma, DM_CHAIN_MERGE_A_MAX,
				     info->attrs[DM_CHAIN_A_MERGE],
				     dm_chain_merge_policy, info->extack);
		if (r)
			return r;
	}
	if (ma[DM_CHAIN_MERGE_A_DEPTH] && ma[DM_CHAIN_MERGE_A_INTO]) {
		NL_SET_ERR_MSG_ATTR(info->extack, ma[DM_CHAIN_MERGE_A_INTO],
				    "give a depth or a target layer, not both");
		return -EINVAL;
	}
	if (ma[DM_CHAIN_MERGE_A_TOP] && !ma[DM_CHAIN_MERGE_A_INTO]) {
		NL_SET_ERR_MSG_ATTR(info->extack, ma[DM_CHAIN_MERGE_A_TOP],
				    "a top layer needs a target layer (INTO)");
		return -EINVAL;
	}
	if (ma[DM_CHAIN_MERGE_A_DEPTH])
		p.depth = nla_get_u32(ma[DM_CHAIN_MERGE_A_DEPTH]);
	if (ma[DM_CHAIN_MERGE_A_INTO]) {
		p.depth = 0;
		p.into = nla_get_u32(ma[DM_CHAIN_MERGE_A_INTO]);
	}
	if (ma[DM_CHAIN_MERGE_A_TOP]) {
		p.has_top = true;
		p.top = nla_get_u32(ma[DM_CHAIN_MERGE_A_TOP]);
	}
	if (ma[DM_CHAIN_MERGE_A_MODE])
		p.mode = nla_get_u32(ma[DM_CHAIN_MERGE_A_MODE]);
	if (ma[DM_CHAIN_MERGE_A_RATE])
		p.rate = nla_get_u32(ma[DM_CHAIN_MERGE_A_RATE]);
	if (ma[DM_CHAIN_MERGE_A_NEW_LEAF])
		p.new_leaf = nla_data(ma[DM_CHAIN_MERGE_A_NEW_LEAF]);

	r = get_device_arg(info, &dc);
	if (r)
		return r;
	new_leaf = kmalloc(PATH_MAX, GFP_KERNEL);
	spare = genlmsg_new(DMC_CHANGE_SPARE_SIZE, GFP_KERNEL);
	if (!new_leaf || !spare) {
		kfree(new_leaf);
		nlmsg_free(spare);
		dm_chain_put(dc);
		return -ENOMEM;
	}
	r = dm_chain_merge_start(dc, &p, &st, new_leaf, PATH_MAX, &why);
	if (r) {
		set_why(info, why);
		nlmsg_free(spare);
	} else {
		ctx.merge = &st;
		ctx.path = new_leaf;
		ctx.pause_ns = st.pause_ns;
		ctx.has_pause = true;
		r = reply_change(info, DM_CHAIN_CMD_MERGE, &ctx, dc, spare);
	}
	kfree(new_leaf);
	dm_chain_put(dc);
	return r;
}

/*
 * MERGE_CANCEL is answered with the device's head before the ACK: were
 * the ACK alone lost (its allocation failed: ENOBUFS on the socket), the
 * caller could not tell a cancel from a refusal.  The answer is allocated
 * before the cancel, as a change's is (reply_change()).
 */
static int dm_chain_nl_cancel_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct reply_ctx ctx = { };
	struct sk_buff *spare;
	struct dmc_chain *dc;
	const char *why = NULL;
	int r;

	r = get_device_arg(info, &dc);
	if (r)
		return r;
	spare = genlmsg_new(DMC_CHANGE_SPARE_SIZE, GFP_KERNEL);
	if (!spare) {
		r = -ENOMEM;
		goto out;
	}
	r = dm_chain_merge_cancel(dc, &why);
	if (r) {
		set_why(info, why);
		nlmsg_free(spare);
		goto out;
	}
	reply_head(info, DM_CHAIN_CMD_MERGE_CANCEL, &ctx, dc, spare);
out:
	dm_chain_put(dc);
	return r;
}

static int dm_chain_nl_snapshot_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct reply_ctx ctx = { };
	const char *path = NULL;
	const char *why = NULL;
	struct sk_buff *spare;
	struct dmc_chain *dc;
	char *made;
	int r;

	if (info->attrs[DM_CHAIN_A_PATH])
		path = nla_data(info->attrs[DM_CHAIN_A_PATH]);
	r = get_device_arg(info, &dc);
	if (r)
		return r;
	made = kmalloc(PATH_MAX, GFP_KERNEL);
	spare = genlmsg_new(DMC_CHANGE_SPARE_SIZE, GFP_KERNEL);
	if (!made || !spare) {
		kfree(made);
		nlmsg_free(spare);
		dm_chain_put(dc);
		return -ENOMEM;
	}
	r = dm_chain_snapshot(dc, path, made, PATH_MAX, &ctx.pause_ns, &why);
	if (r) {
		set_why(info, why);
		nlmsg_free(spare);
	} else {
		ctx.path = made;
		ctx.has_pause = true;
		r = reply_change(info, DM_CHAIN_CMD_SNAPSHOT, &ctx, dc, spare);
	}
	kfree(made);
	dm_chain_put(dc);
	return r;
}

/* ---- events ---- */

static void merge_event(u8 cmd, const char *name, dev_t dev,
			const struct dm_chain_merge_status *st)
{
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &dm_chain_genl_family, 0, cmd);
	if (!hdr)
		goto bad;
	nest = nla_nest_start(msg, DM_CHAIN_A_DEVICE);
	if (!nest || nla_put_string(msg, DM_CHAIN_DEV_A_NAME, name) ||
	    nla_put_u32(msg, DM_CHAIN_DEV_A_MAJOR, MAJOR(dev)) ||
	    nla_put_u32(msg, DM_CHAIN_DEV_A_MINOR, MINOR(dev)))
		goto bad;
	nla_nest_end(msg, nest);
	if (put_merge_status(msg, DM_CHAIN_A_MERGE, st))
		goto bad;
	genlmsg_end(msg, hdr);
	/* -ESRCH (nobody listens) is not an error. */
	genlmsg_multicast(&dm_chain_genl_family, msg, 0, DM_CHAIN_MCGRP_EVENTS,
			  GFP_KERNEL);
	return;
bad:
	nlmsg_free(msg);
}

static void merge_progress(const char *name, dev_t dev,
			   const struct dm_chain_merge_status *st)
{
	merge_event(DM_CHAIN_CMD_MERGE_PROGRESS, name, dev, st);
}

static void merge_done(const char *name, dev_t dev,
		       const struct dm_chain_merge_status *st)
{
	merge_event(DM_CHAIN_CMD_MERGE_DONE, name, dev, st);
}

static const struct dmc_merge_events dm_chain_nl_events = {
	.progress = merge_progress,
	.done = merge_done,
};

/* ---- family ---- */

/* GENL_ADMIN_PERM checks CAP_NET_ADMIN; device-mapper wants CAP_SYS_ADMIN. */
static int dm_chain_nl_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
				struct genl_info *info)
{
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(info->extack, "dm-chain requests need CAP_SYS_ADMIN");
		return -EPERM;
	}
	return 0;
}

static const struct genl_ops dm_chain_genl_ops[] = {
	{
		.cmd = DM_CHAIN_CMD_GET,
		.doit = dm_chain_nl_get_doit,
		.start = dm_chain_nl_get_start,
		.dumpit = dm_chain_nl_get_dumpit,
		.policy = dm_chain_get_policy,
		.maxattr = DM_CHAIN_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = DM_CHAIN_CMD_MERGE,
		.doit = dm_chain_nl_merge_doit,
		.policy = dm_chain_merge_req_policy,
		.maxattr = DM_CHAIN_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = DM_CHAIN_CMD_MERGE_CANCEL,
		.doit = dm_chain_nl_cancel_doit,
		.policy = dm_chain_get_policy,
		.maxattr = DM_CHAIN_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = DM_CHAIN_CMD_SNAPSHOT,
		.doit = dm_chain_nl_snapshot_doit,
		.policy = dm_chain_snapshot_policy,
		.maxattr = DM_CHAIN_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family dm_chain_genl_family __ro_after_init = {
	.name = DM_CHAIN_GENL_NAME,
	.version = DM_CHAIN_GENL_VERSION,
	.maxattr = DM_CHAIN_A_MAX,
	.module = THIS_MODULE,
	.parallel_ops = true,
	.pre_doit = dm_chain_nl_pre_doit,
	.ops = dm_chain_genl_ops,
	.n_ops = ARRAY_SIZE(dm_chain_genl_ops),
	.mcgrps = dm_chain_mcgrps,
	.n_mcgrps = ARRAY_SIZE(dm_chain_mcgrps),
};

/*
 * The family first, then the events that go out through it; on exit the
 * events stop (waiting for one being sent) before the family goes.
 */
int __init dm_chain_netlink_init(void)
{
	int r;

	r = genl_register_family(&dm_chain_genl_family);
	if (r)
		return r;
	r = dmc_merge_events_register(&dm_chain_nl_events);
	if (r)
		genl_unregister_family(&dm_chain_genl_family);
	return r;
}

void dm_chain_netlink_exit(void)
{
	dmc_merge_events_unregister(&dm_chain_nl_events);
	genl_unregister_family(&dm_chain_genl_family);
}
