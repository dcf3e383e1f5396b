// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the fuzzers' seed corpora (committed in seeds/; `make seeds`
 * rewrites them): every case of the shared validator table
 * (include/dm-chain/verify_cases.h) and a valid layer with its block map
 * for fuzz_layer_verify, and well-formed kernel answers of each kind, as
 * the module builds them (kmod/netlink*.c, docs/netlink.md), for
 * fuzz_nl_reply.  Each seed is in the harness's own input format (see
 * the top of each harness).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include <dm-chain/netlink.h>
#include <dm-chain/verify_cases.h>

static const char *outdir;

static void put_le64(FILE *f, __u64 v)
{
	int i;

	for (i = 0; i < 8; i++)
		fputc((int)(v >> (8 * i)) & 0xff, f);
}

static FILE *seed_open(const char *kind, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, kind, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

static void seed_close(FILE *f)
{
	if (fclose(f)) {
		perror("mkseeds: write");
		exit(1);
	}
}

/* ---- layer files -------------------------------------------------------- */

static void layer_seeds(void)
{
	static __u8 buf[2 * DMC_SLOT_SIZE + DMC_SLOT_SIZE];
	enum dmc_verify_reason why;
	struct dmc_hdr h;
	char name[32];
	size_t i;
	int slot;
	FILE *f;

	for (i = 0; i < DMC_VERIFY_NR_CASES; i++) {
		const struct dmc_verify_case *c = &dmc_verify_cases[i];

		dmc_verify_case_run(c, buf, &h, &slot, &why);
		snprintf(name, sizeof(name), "case-%03zu", i);
		f = seed_open("layer_verify", name);
		fwrite(buf, 1, c->len ? c->len : 2 * DMC_SLOT_SIZE, f);
		put_le64(f, c->file_size ? c->file_size : VC_FILE_SIZE);
		put_le64(f, c->max_bytes);
		seed_close(f);
	}

	/* The valid base with its map: absent, data, zero blocks, a bad tail. */
	dmc_verify_case_run(&dmc_verify_cases[0], buf, &h, &slot, &why);
	memset(buf + DMC_MAP_OFFSET, 0, DMC_SLOT_SIZE);
	for (i = 0; i < 64; i++)
		buf[DMC_MAP_OFFSET + i] = (__u8)(0x24 + i);	/* 0,1,2 entries */
	f = seed_open("layer_verify", "with-map");
	fwrite(buf, 1, sizeof(buf), f);
	put_le64(f, VC_FILE_SIZE);
	put_le64(f, 0);
	seed_close(f);

	/*
	 * Every extent list case, its header in slot 0, followed by the
	 * records of the first run case (where the harness reads records).
	 */
	for (i = 0; i < DMC_VERIFY_NR_XLIST_CASES; i++) {
		const struct dmc_verify_xlist_case *c = &dmc_verify_xlist_cases[i];
		const struct dmc_verify_run_case *rc = &dmc_verify_run_cases[0];
		__u8 rec[DMC_EXTENT_SIZE];
		unsigned int k;

		memset(buf, 0, sizeof(buf));
		dmc_verify_xlist_case_run(c, buf, &why);
		snprintf(name, sizeof(name), "xlist-%03zu", i);
		f = seed_open("layer_verify", name);
		fwrite(buf, 1, 2 * DMC_SLOT_SIZE, f);
		for (k = 0; k < rc->nr; k++) {
			dmc_extent_put(rec, rc->run[k][0], rc->run[k][1],
				       (__u32)rc->run[k][2]);
			fwrite(rec, 1, sizeof(rec), f);
		}
		put_le64(f, c->file_size ? c->file_size : VC_XFILE);
		put_le64(f, c->max_bytes);
		seed_close(f);
	}
}

/* ---- netlink answers ---------------------------------------------------- */

enum { P_GET, P_GET_TWICE, P_MERGE, P_SNAPSHOT, P_EVENT, P_ERROR };

static char msgbuf[65536];

static struct nlmsghdr *genl_start(uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msgbuf);
	struct genlmsghdr *g;

	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = 0x20;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = DM_CHAIN_GENL_VERSION;
	return nlh;
}

/* Writes [which][byte1][the payload after the genetlink header]. */
static void nl_seed(const char *name, int which, uint8_t byte1,
		    const struct nlmsghdr *nlh, size_t hdr)
{
	FILE *f = seed_open("nl_reply", name);

	fputc(which, f);
	fputc(byte1, f);
	fwrite((const char *)nlh + hdr, 1, nlh->nlmsg_len - hdr, f);
	seed_close(f);
}

static void put_merge(struct nlmsghdr *nlh, uint16_t type, uint32_t state,
		      const char *message)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, state);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_TARGET, 0);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_NR_SOURCES, 1);
	mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_BYTES_TOTAL, 1 << 20);
	mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_BYTES_DONE, 1 << 19);
	mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_BYTES_CLONED, 1 << 18);
	mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_BYTES_COPIED, 1 << 17);
	mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_BYTES_ZEROED, 4096);
	mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_ELAPSED_NS, 123456789);
	mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_PAUSE_NS, 1000);
	if (message) {
		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_ERROR, ENOSPC);
		mnl_attr_put_strz(nlh, DM_CHAIN_MERGE_A_MESSAGE, message);
	}
	mnl_attr_put(nlh, DM_CHAIN_MERGE_A_RESUMED, 0, NULL);
	mnl_attr_nest_end(nlh, n);
}

static void put_layer(struct nlmsghdr *nlh, const char *path, int raw,
		      int writable)
{
	static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
					  9, 10, 11, 12, 13, 14, 15, 16 };
	struct nlattr *n = mnl_attr_nest_start(nlh, DM_CHAIN_DEV_A_LAYER);

	mnl_attr_put_strz(nlh, DM_CHAIN_LAYER_A_PATH, path);
	if (raw) {
		mnl_attr_put(nlh, DM_CHAIN_LAYER_A_RAW, 0, NULL);
	} else {
		mnl_attr_put(nlh, DM_CHAIN_LAYER_A_UUID, sizeof(uuid), uuid);
		mnl_attr_put_u64(nlh, DM_CHAIN_LAYER_A_GENERATION, 7);
		mnl_attr_put_u64(nlh, DM_CHAIN_LAYER_A_DATA_BLOCKS, 100);
		mnl_attr_put_u64(nlh, DM_CHAIN_LAYER_A_ZERO_BLOCKS, 3);
	}
	if (writable)
		mnl_attr_put(nlh, DM_CHAIN_LAYER_A_WRITABLE, 0, NULL);
	mnl_attr_nest_end(nlh, n);
}

static void put_device(struct nlmsghdr *nlh, const char *name, int first,
		       int with_merge)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);

	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, 253);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MINOR, 4);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_NR_LAYERS, 3);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_BLOCK_SIZE, 65536);
	if (first) {
		mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_FIRST_LAYER, 2);
		put_layer(nlh, "/var/lib/chain/leaf.dmc", 0, 1);
	} else {
		put_layer(nlh, "/var/lib/chain/base.img", 1, 0);
		put_layer(nlh, "/var/lib/chain/mid.dmc", 0, 0);
		put_layer(nlh, "/var/lib/chain/leaf.dmc", 0, 1);
	}
	if (with_merge)
		put_merge(nlh, DM_CHAIN_DEV_A_MERGE,
			  DM_CHAIN_MERGE_STATE_RUNNING, NULL);
	mnl_attr_nest_end(nlh, n);
}

static void nl_seeds(void)
{
	struct nlmsghdr *nlh;
	const size_t genl_hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));
	struct nlmsgerr *err;

	nlh = genl_start(DM_CHAIN_CMD_GET);
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.3.0");
	nl_seed("get-version-only", P_GET, DM_CHAIN_CMD_GET, nlh, genl_hdr);
	put_device(nlh, "vm1", 0, 1);
	put_device(nlh, "vm2", 0, 0);
	nl_seed("get-two-devices", P_GET, DM_CHAIN_CMD_GET, nlh, genl_hdr);

	nlh = genl_start(DM_CHAIN_CMD_GET);
	put_device(nlh, "vm1", 1, 0);
	nl_seed("get-dump-part", P_GET_TWICE, DM_CHAIN_CMD_GET, nlh, genl_hdr);

	nlh = genl_start(DM_CHAIN_CMD_MERGE);
	put_device(nlh, "vm1", 0, 0);
	put_merge(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_RUNNING, NULL);
	nl_seed("merge-reply", P_MERGE, DM_CHAIN_CMD_MERGE, nlh, genl_hdr);

	nlh = genl_start(DM_CHAIN_CMD_SNAPSHOT);
	put_device(nlh, "vm1", 0, 0);
	mnl_attr_put_strz(nlh, DM_CHAIN_A_PATH, "/var/lib/chain/leaf-2.dmc");
	mnl_attr_put_u64(nlh, DM_CHAIN_A_PAUSE_NS, 250000);
	nl_seed("snapshot-reply", P_SNAPSHOT, DM_CHAIN_CMD_SNAPSHOT, nlh, genl_hdr);

	nlh = genl_start(DM_CHAIN_CMD_MERGE_DONE);
	put_device(nlh, "vm1", 0, 0);
	put_merge(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_FAILED,
		  "No space left on device while copying block 12");
	nl_seed("event-failed", P_EVENT, DM_CHAIN_CMD_MERGE_DONE, nlh, genl_hdr);

	/* An extended ACK: error, the capped request header, message, offset. */
	memset(msgbuf, 0, sizeof(msgbuf));
	nlh = mnl_nlmsg_put_header(msgbuf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
	err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
	err->error = -EINVAL;
	err->msg.nlmsg_len = MNL_NLMSG_HDRLEN + 64;
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Unknown merge mode");
	mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 36);
	nl_seed("error-extack", P_ERROR, 3, nlh, MNL_NLMSG_HDRLEN);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR (writes DIR/layer_verify, DIR/nl_reply)\n");
		return 2;
	}
	outdir = argv[1];
	layer_seeds();
	nl_seeds();
	return 0;
}
