// SPDX-License-Identifier: GPL-2.0
/*
 * genl-fuzz: sends the dm-chain generic netlink family seeded random
 * requests, for every command and some it does not have, with malformed,
 * missing, oversized, duplicated and wrongly typed attributes, and checks
 * each answer (run in the VM by tests/e2e/63-genl-fuzz.sh; the VM runner
 * fails the run on any kernel report).
 *
 *   genl-fuzz [-s SEED] [-n COUNT] [-d DEVICE] [-p DIR] [-u]
 *
 * -d names a live chain device that some requests target (the rest name
 * devices that do not exist), -p the directory every snapshot or new-leaf
 * path it sends points into (or a path that cannot be used).  -u: the
 * caller is unprivileged, and every request must be refused (EPERM).
 *
 * Rules checked: every request gets exactly one answer (an error, or a
 * reply then its ACK); an error from the family's own handlers or from
 * attribute validation carries an extended-ACK message; the only errors
 * allowed without one are genetlink's own for a command the family does
 * not have (EOPNOTSUPP, also for a dump of a command without one) and,
 * unprivileged, EPERM (genetlink looks the command up before it checks
 * the caller's capabilities).  Prints the counts per
 * command and outcome, and each violation with the request in hex; exits
 * 1 if any rule was broken.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <dm-chain/netlink.h>

#include "nl.h"

#define NR_CMDS		8	/* 0 .. 7: the family's and a few more */

static unsigned long long rng;
static const char *device = "genl-fuzz-none";
static const char *dir = "/tmp";
static int unprivileged;

static unsigned int rnd(unsigned int n)
{
	/* xorshift64*: reproducible from the seed. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned int)((rng * 2685821657736338717ULL) >> 33) % n;
}

/* A string attribute in one of its interesting shapes. */
static void put_string(struct nlmsghdr *nlh, uint16_t type, int is_path)
{
	static char big[5000];
	char buf[300];

	switch (rnd(9)) {
	case 0:	/* not terminated */
		mnl_attr_put(nlh, type, 5, "abcde");
		break;
	case 1:	/* empty payload */
		mnl_attr_put(nlh, type, 0, NULL);
		break;
	case 2:	/* longer than any limit */
		memset(big, 'x', sizeof(big) - 1);
		big[0] = '/';
		mnl_attr_put_strz(nlh, type, big);
		break;
	case 3:	/* empty string */
		mnl_attr_put_strz(nlh, type, "");
		break;
	case 4:	/* the live device, or a path in the scratch directory */
		if (is_path) {
			snprintf(buf, sizeof(buf), "%s/leaf-%u.dmc", dir, rnd(4));
			mnl_attr_put_strz(nlh, type, buf);
		} else {
			mnl_attr_put_strz(nlh, type, device);
		}
		break;
	case 5:	/* relative, or with bytes a table line cannot hold */
		mnl_attr_put_strz(nlh, type, rnd(2) ? "relative.dmc" : "/tmp/a b\\c\n");
		break;
	case 6:	/* a name that is not a device */
		mnl_attr_put_strz(nlh, type, "no-such-chain");
		break;
	case 7:	/* a u32 where a string goes */
		mnl_attr_put_u32(nlh, type, rnd(1000));
		break;
	default:	/* random bytes, terminated */
		snprintf(buf, sizeof(buf), "%s/%08x%08x", rnd(2) ? dir : "/proc/self",
			 rnd(~0U), rnd(~0U));
		mnl_attr_put_strz(nlh, type, buf);
		break;
	}
}

/* A u32 attribute, right or wrong in size and value. */
static void put_u32ish(struct nlmsghdr *nlh, uint16_t type)
{
	static const uint32_t values[] = { 0, 1, 2, 3, 4, 255, 256, 65536,
					   0x7fffffff, 0xffffffff };

	switch (rnd(6)) {
	case 0:
		mnl_attr_put_u8(nlh, type, (uint8_t)rnd(256));
		break;
	case 1:
		mnl_attr_put_u64(nlh, type, ((uint64_t)rnd(~0U) << 32) | rnd(~0U));
		break;
	case 2:
		mnl_attr_put(nlh, type, 0, NULL);
		break;
	default:
		mnl_attr_put_u32(nlh, type, values[rnd(sizeof(values) / sizeof(values[0]))]);
		break;
	}
}

static void put_random(struct nlmsghdr *nlh, uint16_t max_type)
{
	char bytes[64];
	unsigned int i, len = rnd(sizeof(bytes) + 1);

	for (i = 0; i < len; i++)
		bytes[i] = (char)rnd(256);
	mnl_attr_put(nlh, (uint16_t)(rnd(max_type + 3) | (rnd(8) ? 0 : NLA_F_NESTED)),
		     len, bytes);
}

static void put_device_nest(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	unsigned int i, n = rnd(4);

	for (i = 0; i < n; i++) {
		if (rnd(3))
			put_string(nlh, DM_CHAIN_DEV_A_NAME, 0);
		else
			put_random(nlh, DM_CHAIN_DEV_A_MAX);
	}
	mnl_attr_nest_end(nlh, nest);
}

static void put_merge_nest(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_MERGE);
	unsigned int i, n = rnd(5);

	for (i = 0; i < n; i++) {
		uint16_t t = (uint16_t)(1 + rnd(DM_CHAIN_MERGE_A_MAX + 2));

		if (t == DM_CHAIN_MERGE_A_NEW_LEAF || t == DM_CHAIN_MERGE_A_MESSAGE)
			put_string(nlh, t, 1);
		else if (rnd(5))
			put_u32ish(nlh, t);
		else
			put_random(nlh, DM_CHAIN_MERGE_A_MAX);
	}
	mnl_attr_nest_end(nlh, nest);
}

static void build(struct nlmsghdr *nlh, uint16_t family, uint8_t cmd, uint32_t seq)
{
	struct genlmsghdr *g;
	unsigned int i, n = rnd(5);

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (rnd(6) ? 0 : NLM_F_DUMP);
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = rnd(10) ? DM_CHAIN_GENL_VERSION : (uint8_t)rnd(256);
	for (i = 0; i < n; i++) {
		switch (rnd(6)) {
		case 0: case 1:
			put_device_nest(nlh);
			break;
		case 2:
			put_merge_nest(nlh);
			break;
		case 3:
			put_string(nlh, DM_CHAIN_A_PATH, 1);
			break;
		case 4:
			put_u32ish(nlh, (uint16_t)(1 + rnd(DM_CHAIN_A_MAX + 2)));
			break;
		default:
			put_random(nlh, DM_CHAIN_A_MAX);
			break;
		}
	}
}

struct outcome {
	unsigned long ok, err_ext, err_bare_allowed, violations;
};

static void dump_request(const struct nlmsghdr *nlh)
{
	const unsigned char *p = (const void *)nlh;
	unsigned int i, len = nlh->nlmsg_len < 256 ? nlh->nlmsg_len : 256;

	printf("#   request (%u bytes):", nlh->nlmsg_len);
	for (i = 0; i < len; i++)
		printf("%s%02x", i % 32 ? "" : "\n#     ", p[i]);
	printf("\n");
}

/* A dump's DONE: an int status, then extack TLVs if NLM_F_ACK_TLVS. */
static int done_status(const struct nlmsghdr *nlh, char *msg, size_t len)
{
	const struct nlattr *attr;
	int status = 0;

	msg[0] = '\0';
	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int)))
		memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(int));
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    mnl_nlmsg_size(sizeof(int)) >= nlh->nlmsg_len)
		return status;
	mnl_attr_for_each(attr, nlh, sizeof(int)) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(msg, len, "%s", mnl_attr_get_str(attr));
	}
	return status;
}

/*
 * Read the answers to request SEQ up to its ACK (error 0 or not).
 * Returns the error (0 or negative) and fills MSG with the extack text.
 */
static int await(struct nl_sock *nl, uint32_t seq, char *msg, size_t len, int *timed_out)
{
	char buf[65536];

	*timed_out = 0;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf));
		struct nlmsghdr *nlh;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				*timed_out = 1;
			return -errno;
		}
		for (nlh = (void *)buf; mnl_nlmsg_ok(nlh, (int)n); nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			if (nlh->nlmsg_seq != seq)
				continue;	/* a late part of an earlier answer */
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return nl_parse_error(nlh, msg, len, NULL);
			/*
			 * A dump ends with DONE, which holds its status and
			 * no ACK follows (6.1); a data message: go on.
			 */
			if (nlh->nlmsg_type == NLMSG_DONE)
				return done_status(nlh, msg, len);
		}
	}
}

int main(int argc, char **argv)
{
	static const char *cmd_names[NR_CMDS] = { "unspec", "get", "merge", "cancel",
		"snapshot", "progress-event", "done-event", "none" };
	struct outcome out[NR_CMDS] = { { 0 } };
	unsigned long count = 2000, i, total_bad = 0;
	unsigned long long seed = 1;
	struct timeval tv = { .tv_sec = 30 };
	struct nl_sock *nl;
	char buf[16384];
	int c, r;

	while ((c = getopt(argc, argv, "s:n:d:p:u")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'd': device = optarg; break;
		case 'p': dir = optarg; break;
		case 'u': unprivileged = 1; break;
		default:
			fprintf(stderr, "usage: genl-fuzz [-s SEED] [-n COUNT] [-d DEVICE] [-p DIR] [-u]\n");
			return 2;
		}
	}
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	r = nl_open(&nl, DM_CHAIN_GENL_NAME);
	if (r) {
		fprintf(stderr, "genl-fuzz: cannot open the %s family: %s\n",
			DM_CHAIN_GENL_NAME, strerror(-r));
		return 2;
	}
	setsockopt(mnl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	for (i = 0; i < count; i++) {
		struct nlmsghdr *nlh;
		uint8_t cmd = (uint8_t)rnd(NR_CMDS);
		uint32_t seq = (uint32_t)(i + 1000);
		char msg[NL_ERRMSG_LEN];
		int timed_out, known = cmd >= DM_CHAIN_CMD_GET && cmd <= DM_CHAIN_CMD_SNAPSHOT;

		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		build(nlh, nl->family_id, cmd, seq);
		if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0) {
			printf("# request %lu (%s): send: %s\n", i, cmd_names[cmd], strerror(errno));
			out[cmd].violations++;
			continue;
		}
		r = await(nl, seq, msg, sizeof(msg), &timed_out);
		if (timed_out) {
			printf("# request %lu (%s): no answer in %ld s\n", i, cmd_names[cmd],
			       (long)tv.tv_sec);
			dump_request(nlh);
			out[cmd].violations++;
			break;	/* the socket is out of step now */
		}
		if (!r) {
			if (unprivileged) {
				printf("# request %lu (%s): an unprivileged request succeeded\n",
				       i, cmd_names[cmd]);
				dump_request(nlh);
				out[cmd].violations++;
			} else {
				out[cmd].ok++;
			}
		} else if (unprivileged) {
			if (r == -EPERM ||
			    (r == -EOPNOTSUPP && (!known || (nlh->nlmsg_flags & NLM_F_DUMP)))) {
				out[cmd].err_bare_allowed++;
			} else {
				printf("# request %lu (%s): unprivileged: %s, not EPERM\n",
				       i, cmd_names[cmd], strerror(-r));
				dump_request(nlh);
				out[cmd].violations++;
			}
		} else if (msg[0]) {
			out[cmd].err_ext++;
		} else if (r == -EOPNOTSUPP && (!known || (nlh->nlmsg_flags & NLM_F_DUMP))) {
			out[cmd].err_bare_allowed++;	/* genetlink's: no such op */
		} else {
			printf("# request %lu (%s): %s without an extack message\n",
			       i, cmd_names[cmd], strerror(-r));
			dump_request(nlh);
			out[cmd].violations++;
		}
	}

	printf("# seed %llu, %lu requests%s\n", seed, i, unprivileged ? ", unprivileged" : "");
	printf("# %-15s %8s %12s %12s %10s\n", "command", "answered", "error+extack",
	       "error(core)", "violations");
	for (c = 0; c < NR_CMDS; c++) {
		printf("# %-15s %8lu %12lu %12lu %10lu\n", cmd_names[c], out[c].ok,
		       out[c].err_ext, out[c].err_bare_allowed, out[c].violations);
		total_bad += out[c].violations;
	}
	printf("# answered get=%lu merge=%lu cancel=%lu snapshot=%lu\n",
	       out[DM_CHAIN_CMD_GET].ok, out[DM_CHAIN_CMD_MERGE].ok,
	       out[DM_CHAIN_CMD_MERGE_CANCEL].ok, out[DM_CHAIN_CMD_SNAPSHOT].ok);
	nl_close(nl);
	return total_bad || i < count ? 1 : 0;
}
