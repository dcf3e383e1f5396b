// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for chainctl's parsing of what the kernel sends it
 * over netlink (userspace/lib/nl.c): GET answers and dump parts, MERGE and
 * SNAPSHOT answers, merge events, and error messages with extended-ACK
 * attributes.  A module of another version, or a hostile process that
 * owns the family name, can send anything; chainctl must refuse it
 * cleanly, never read past the message or leak.
 *
 * Input: byte 0 picks the parser, byte 1 is the genetlink command (and,
 * for errors, the message flags); the rest is the message payload after
 * the genetlink header (the nlmsgerr and its TLVs for errors).  Messages
 * are built in a fresh buffer of their size rounded up to 4 bytes with
 * zero padding, as the kernel sends them (libmnl walks attributes up to
 * the aligned end, NLMSG_ALIGN(nlmsg_len)), so a read past that is an
 * ASan report.  libmnl itself is not instrumented: its bounds checks are
 * trusted, what the callbacks do with the attributes is checked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "nl.h"

#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

enum { P_GET, P_GET_TWICE, P_MERGE, P_SNAPSHOT, P_EVENT, P_ERROR, P_NR };

static struct nlmsghdr *build(const uint8_t *payload, size_t len,
			      uint16_t type, uint16_t flags, uint8_t cmd,
			      int genl)
{
	size_t hdr = sizeof(struct nlmsghdr) +
		     (genl ? sizeof(struct genlmsghdr) : 0);
	struct nlmsghdr *nlh;

	if (len > 65536)
		return NULL;
	nlh = calloc(1, MNL_ALIGN(hdr + len));
	if (!nlh)
		return NULL;
	nlh->nlmsg_len = hdr + len;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	if (genl) {
		struct genlmsghdr *g = (void *)(nlh + 1);

		g->cmd = cmd;
		g->version = 1;
	}
	memcpy((char *)nlh + hdr, payload, len);
	return nlh;
}

static void parse_answer(int which, const struct nlmsghdr *nlh)
{
	struct dmc_nl_answer a;
	int ret;

	if (which == P_MERGE)
		ret = dmc_nl_parse_merge_reply(nlh, &a);
	else if (which == P_SNAPSHOT)
		ret = dmc_nl_parse_snapshot_reply(nlh, &a);
	else
		ret = dmc_nl_parse_event(nlh, &a);
	PROMISE(ret <= 0);
	if (!ret) {
		if (a.has_path)
			PROMISE(memchr(a.path, '\0', sizeof(a.path)));
		if (a.has_device)
			PROMISE(memchr(a.dev.name, '\0', sizeof(a.dev.name)));
		if (a.has_merge)
			PROMISE(memchr(a.merge.message, '\0',
				       sizeof(a.merge.message)));
	}
	dmc_nl_answer_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmc_nl_info info;
	struct nlmsghdr *nlh;
	char msg[256];
	uint32_t offset;
	int which, ret;

	if (size < 2)
		return 0;
	which = data[0] % P_NR;

	if (which == P_ERROR) {
		/* flags: NLM_F_CAPPED (0x100) and NLM_F_ACK_TLVS (0x200). */
		nlh = build(data + 2, size - 2, NLMSG_ERROR,
			    (uint16_t)(data[1] & 3) << 8, 0, 0);
		if (!nlh)
			return 0;
		memset(msg, 'x', sizeof(msg));
		nl_parse_error(nlh, msg, sizeof(msg), &offset);
		PROMISE(memchr(msg, '\0', sizeof(msg)));
		free(nlh);
		return 0;
	}

	nlh = build(data + 2, size - 2, 0x20, 0, data[1], 1);
	if (!nlh)
		return 0;
	if (which == P_GET || which == P_GET_TWICE) {
		unsigned int i, j;

		memset(&info, 0, sizeof(info));
		ret = dmc_nl_parse_get(nlh, &info);
		/* A dump arrives in parts: a second one continues the first. */
		if (!ret && which == P_GET_TWICE)
			ret = dmc_nl_parse_get(nlh, &info);
		PROMISE(ret <= 0);
		PROMISE(memchr(info.version, '\0', sizeof(info.version)));
		for (i = 0; i < info.nr_devices; i++) {
			const struct dmc_nl_device *d = &info.devices[i];

			PROMISE(memchr(d->name, '\0', sizeof(d->name)));
			for (j = 0; j < d->nr_listed; j++)
				PROMISE(d->layers[j].path != NULL);
		}
		dmc_nl_info_free(&info);
	} else {
		parse_answer(which, nlh);
	}
	free(nlh);
	return 0;
}
