// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "dm-chain": the control channel chainctl uses.
 *
 * The UAPI (commands, attributes, multicast groups) is defined once, in
 * include/dm-chain/netlink.h, and described in docs/netlink.md.  Every
 * operation is admin-only, as the dm ioctl interface is, and so is joining
 * the events group.  The family lives in the initial network namespace only:
 * device-mapper devices are global.
 */
#include <linux/dm-ioctl.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <net/genetlink.h>

#include <dm-chain/netlink.h>
#include "dm-chain.h"

static struct genl_family dm_chain_genl_family;

static const struct nla_policy dm_chain_dev_policy[DM_CHAIN_DEV_A_MAX + 1] = {
	[DM_CHAIN_DEV_A_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
};

static const struct nla_policy dm_chain_get_policy[DM_CHAIN_A_MAX + 1] = {
	[DM_CHAIN_A_DEVICE] = NLA_POLICY_NESTED(dm_chain_dev_policy),
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

/* State of one GET reply being filled by dm_chain_for_each_device(). */
struct get_ctx {
	struct sk_buff *msg;
	const char *only_name;	/* NULL: every device */
	unsigned int nr_found;
};

static int put_chain_device(const struct dm_chain_dev_info *info, void *data)
{
	struct get_ctx *ctx = data;
	struct nlattr *nest;

	if (ctx->only_name && strcmp(ctx->only_name, info->name))
		return 0;

	nest = nla_nest_start(ctx->msg, DM_CHAIN_A_DEVICE);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(ctx->msg, DM_CHAIN_DEV_A_NAME, info->name) ||
	    nla_put_u32(ctx->msg, DM_CHAIN_DEV_A_MAJOR, MAJOR(info->dev)) ||
	    nla_put_u32(ctx->msg, DM_CHAIN_DEV_A_MINOR, MINOR(info->dev)) ||
	    nla_put_u32(ctx->msg, DM_CHAIN_DEV_A_NR_LAYERS, info->nr_layers) ||
	    (info->read_only && nla_put_flag(ctx->msg, DM_CHAIN_DEV_A_READ_ONLY))) {
		nla_nest_cancel(ctx->msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(ctx->msg, nest);
	ctx->nr_found++;
	return 0;
}

static int dm_chain_nl_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *dev_attrs[DM_CHAIN_DEV_A_MAX + 1];
	struct get_ctx ctx = { };
	size_t size = NLMSG_GOODSIZE;
	void *hdr;
	int ret;

	if (info->attrs[DM_CHAIN_A_DEVICE]) {
		ret = nla_parse_nested(dev_attrs, DM_CHAIN_DEV_A_MAX,
				       info->attrs[DM_CHAIN_A_DEVICE],
				       dm_chain_dev_policy, info->extack);
		if (ret)
			return ret;
		if (!dev_attrs[DM_CHAIN_DEV_A_NAME]) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[DM_CHAIN_A_DEVICE],
					    "device nest needs a name");
			return -EINVAL;
		}
		ctx.only_name = nla_data(dev_attrs[DM_CHAIN_DEV_A_NAME]);
	}

	/* Grow the reply until every device fits (devices come and go). */
	for (;;) {
		ctx.msg = genlmsg_new(size, GFP_KERNEL);
		if (!ctx.msg)
			return -ENOMEM;
		ctx.nr_found = 0;
		hdr = genlmsg_put_reply(ctx.msg, info, &dm_chain_genl_family,
					0, DM_CHAIN_CMD_GET);
		if (!hdr) {
			ret = -EMSGSIZE;
		} else {
			ret = nla_put_string(ctx.msg, DM_CHAIN_A_VERSION,
					     DM_CHAIN_VERSION);
			if (!ret)
				ret = dm_chain_for_each_device(put_chain_device, &ctx);
		}
		if (ret != -EMSGSIZE || size >= (1U << 24))
			break;
		nlmsg_free(ctx.msg);
		size *= 4;
	}
	if (ret) {
		nlmsg_free(ctx.msg);
		return ret;
	}
	if (ctx.only_name && !ctx.nr_found) {
		nlmsg_free(ctx.msg);
		NL_SET_ERR_MSG_ATTR(info->extack, dev_attrs[DM_CHAIN_DEV_A_NAME],
				    "no chain device of that name");
		return -ENODEV;
	}
	genlmsg_end(ctx.msg, hdr);
	return genlmsg_reply(ctx.msg, info);
}

static const struct genl_ops dm_chain_genl_ops[] = {
	{
		.cmd = DM_CHAIN_CMD_GET,
		.doit = dm_chain_nl_get_doit,
		.policy = dm_chain_get_policy,
		.maxattr = DM_CHAIN_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family dm_chain_genl_family __ro_after_init = {
	.name = DM_CHAIN_GENL_NAME,
	.version = DM_CHAIN_GENL_VERSION,
	.maxattr = DM_CHAIN_A_MAX,
	.module = THIS_MODULE,
	.ops = dm_chain_genl_ops,
	.n_ops = ARRAY_SIZE(dm_chain_genl_ops),
	.mcgrps = dm_chain_mcgrps,
	.n_mcgrps = ARRAY_SIZE(dm_chain_mcgrps),
};

int __init dm_chain_netlink_init(void)
{
	return genl_register_family(&dm_chain_genl_family);
}

void dm_chain_netlink_exit(void)
{
	genl_unregister_family(&dm_chain_genl_family);
}
