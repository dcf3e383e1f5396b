// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the netlink client's pure parts: the dm-chain GET,
 * MERGE and SNAPSHOT answer parsers, the event parser, the request
 * builders and the extended-ACK error parser, fed with messages built in
 * memory with libmnl exactly as the kernel lays them out (PAD attributes
 * before u64s as nla_put_u64_64bit() puts them, repeated layer nests).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <dm-chain/netlink.h>

#include "nl.h"

static char buf[8192] __attribute__((aligned(8)));

/* A GET answer header as genlmsg_put_reply() writes it. */
static struct nlmsghdr *reply_start(void)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = 0x20;		/* some dynamic family id */
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = DM_CHAIN_CMD_GET;
	genl->version = DM_CHAIN_GENL_VERSION;
	return nlh;
}

static void put_device(struct nlmsghdr *nlh, const char *name, uint32_t major,
		       uint32_t minor, uint32_t nr_layers, int read_only)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);

	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, major);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MINOR, minor);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_NR_LAYERS, nr_layers);
	if (read_only)
		mnl_attr_put(nlh, DM_CHAIN_DEV_A_READ_ONLY, 0, NULL);
	mnl_attr_nest_end(nlh, nest);
}

/* ---- GET answer ---------------------------------------------------------- */

static void test_get_version_and_devices(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();

	(void)state;
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.1.0");
	put_device(nlh, "vm1", 253, 0, 3, 0);
	put_device(nlh, "ro-disk", 253, 7, 1, 1);

	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	assert_string_equal(info.version, "0.1.0");
	assert_int_equal(info.nr_devices, 2);
	assert_string_equal(info.devices[0].name, "vm1");
	assert_int_equal(info.devices[0].major, 253);
	assert_int_equal(info.devices[0].minor, 0);
	assert_int_equal(info.devices[0].nr_layers, 3);
	assert_true(info.devices[0].has_devno);
	assert_true(info.devices[0].has_nr_layers);
	assert_false(info.devices[0].read_only);
	assert_string_equal(info.devices[1].name, "ro-disk");
	assert_int_equal(info.devices[1].minor, 7);
	assert_true(info.devices[1].read_only);

	assert_non_null(dmc_nl_find(&info, "ro-disk"));
	assert_ptr_equal(dmc_nl_find(&info, "vm1"), &info.devices[0]);
	assert_null(dmc_nl_find(&info, "vm"));
	assert_ptr_equal(dmc_nl_find_devno(&info, 253, 7), &info.devices[1]);
	assert_ptr_equal(dmc_nl_find_devno(&info, 253, 0), &info.devices[0]);
	assert_null(dmc_nl_find_devno(&info, 253, 1));
	assert_null(dmc_nl_find_devno(&info, 8, 0));
	dmc_nl_info_free(&info);
	assert_int_equal(info.nr_devices, 0);
	assert_null(info.devices);
}

static void test_get_no_devices(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();

	(void)state;
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "1.2.3-rc1");
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	assert_string_equal(info.version, "1.2.3-rc1");
	assert_int_equal(info.nr_devices, 0);
	dmc_nl_info_free(&info);
}

/* Parts of a multi-part answer accumulate. */
static void test_get_accumulates(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh;

	(void)state;
	nlh = reply_start();
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.1.0");
	put_device(nlh, "a", 253, 1, 1, 0);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	nlh = reply_start();
	put_device(nlh, "b", 253, 2, 2, 0);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	assert_int_equal(info.nr_devices, 2);
	assert_string_equal(info.devices[1].name, "b");
	assert_string_equal(info.version, "0.1.0");
	dmc_nl_info_free(&info);
}

/* A newer module's attributes are skipped, not refused. */
static void test_get_ignores_unknown_attrs(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();
	struct nlattr *nest;

	(void)state;
	mnl_attr_put_u64(nlh, DM_CHAIN_A_MAX + 5, 42);
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.2.0");
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAX + 3, 7);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "x");
	mnl_attr_nest_end(nlh, nest);

	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	assert_string_equal(info.version, "0.2.0");
	assert_int_equal(info.nr_devices, 1);
	assert_string_equal(info.devices[0].name, "x");
	assert_false(info.devices[0].has_devno);
	assert_false(info.devices[0].has_nr_layers);
	/* Without numbers it cannot match by number, even 0:0. */
	assert_null(dmc_nl_find_devno(&info, 0, 0));
	dmc_nl_info_free(&info);
}

static void test_get_rejects_nameless_device(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();
	struct nlattr *nest;

	(void)state;
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.1.0");
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, 253);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
	dmc_nl_info_free(&info);
}

static void test_get_rejects_unterminated_version(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();

	(void)state;
	mnl_attr_put(nlh, DM_CHAIN_A_VERSION, 3, "abc");
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
}

static void test_get_rejects_short_u32(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();
	struct nlattr *nest;

	(void)state;
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "x");
	mnl_attr_put_u16(nlh, DM_CHAIN_DEV_A_NR_LAYERS, 2);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
	assert_int_equal(info.nr_devices, 0);
}

static void test_get_rejects_flag_with_payload(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();
	struct nlattr *nest;

	(void)state;
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "x");
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_READ_ONLY, 1);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
}

static void test_get_rejects_overlong_name(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();
	char name[DMC_NL_NAME_LEN + 1];
	struct nlattr *nest;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
}

static void test_get_rejects_truncated_message(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();

	(void)state;
	nlh->nlmsg_len = sizeof(struct nlmsghdr) + 2;	/* half a genl header */
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
}

/* ---- kernel-side helpers ------------------------------------------------- */

/*
 * nla_put_u64_64bit(): a zero-length PAD attribute first when the u64's
 * payload would not be 8-byte aligned; FORCE_PAD puts one regardless (a
 * different architecture's layout), which a parser must skip as well.
 */
static void put_u64_pad(struct nlmsghdr *nlh, uint16_t type, uint64_t val,
			uint16_t pad, bool force_pad)
{
	char *tail = mnl_nlmsg_get_payload_tail(nlh);

	if (force_pad || ((uintptr_t)(tail + MNL_ATTR_HDRLEN) & 7))
		mnl_attr_put(nlh, pad, 0, NULL);
	mnl_attr_put_u64(nlh, type, val);
}

static const uint8_t uuid_a[16] = {
	0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x11, 0xd2,
	0x88, 0x3f, 0x00, 0x16, 0xd3, 0xcc, 0xa4, 0x27,
};

static void put_layer(struct nlmsghdr *nlh, const char *path,
		      const uint8_t *uuid, uint64_t gen, uint64_t data,
		      uint64_t zero, bool writable, bool force_pad)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, DM_CHAIN_DEV_A_LAYER);

	mnl_attr_put_strz(nlh, DM_CHAIN_LAYER_A_PATH, path);
	if (uuid)
		mnl_attr_put(nlh, DM_CHAIN_LAYER_A_UUID, 16, uuid);
	put_u64_pad(nlh, DM_CHAIN_LAYER_A_GENERATION, gen,
		    DM_CHAIN_LAYER_A_PAD, force_pad);
	put_u64_pad(nlh, DM_CHAIN_LAYER_A_DATA_BLOCKS, data,
		    DM_CHAIN_LAYER_A_PAD, force_pad);
	put_u64_pad(nlh, DM_CHAIN_LAYER_A_ZERO_BLOCKS, zero,
		    DM_CHAIN_LAYER_A_PAD, force_pad);
	/* A layer's map: read-only ones held by runs, one per data block. */
	if (uuid)
		put_u64_pad(nlh, DM_CHAIN_LAYER_A_MAP_BYTES,
			    writable ? 4104 : data * 16, DM_CHAIN_LAYER_A_PAD,
			    force_pad);
	if (uuid && !writable)
		put_u64_pad(nlh, DM_CHAIN_LAYER_A_RUNS, data,
			    DM_CHAIN_LAYER_A_PAD, force_pad);
	if (writable)
		mnl_attr_put(nlh, DM_CHAIN_LAYER_A_WRITABLE, 0, NULL);
	if (!uuid)
		mnl_attr_put(nlh, DM_CHAIN_LAYER_A_RAW, 0, NULL);
	mnl_attr_put_u32(nlh, DM_CHAIN_LAYER_A_MAX + 1, 99);	/* newer */
	mnl_attr_nest_end(nlh, nest);
}

/* A status nest: TYPE is DM_CHAIN_A_MERGE or DM_CHAIN_DEV_A_MERGE. */
static void put_status(struct nlmsghdr *nlh, uint16_t type, uint32_t state,
		       uint64_t total, uint64_t done, const char *message,
		       uint32_t error, bool resumed)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);
	const uint16_t pad = DM_CHAIN_MERGE_A_PAD;

	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, state);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_TARGET, 0);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_NR_SOURCES, 2);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_BYTES_TOTAL, total, pad, false);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_BYTES_DONE, done, pad, false);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_BYTES_CLONED, done - done / 4, pad,
		    true);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_BYTES_COPIED, done / 4, pad, false);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_BYTES_ZEROED, 65536, pad, false);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_ELAPSED_NS, 123456789, pad, false);
	if (error)
		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_ERROR, error);
	if (message)
		mnl_attr_put_strz(nlh, DM_CHAIN_MERGE_A_MESSAGE, message);
	if (resumed)
		mnl_attr_put(nlh, DM_CHAIN_MERGE_A_RESUMED, 0, NULL);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_PAUSE_NS, 1234567, pad, false);
	mnl_attr_put_strz(nlh, DM_CHAIN_MERGE_A_MAX + 2, "newer");
	mnl_attr_nest_end(nlh, nest);
}

/* The chain after a MERGE: base (raw), two sources, the new leaf. */
static struct nlattr *put_chain_device(struct nlmsghdr *nlh, const char *name,
				       bool merge_inside)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);

	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, 253);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MINOR, 4);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_NR_LAYERS, 4);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_BLOCK_SIZE, 65536);
	put_u64_pad(nlh, DM_CHAIN_DEV_A_INDEX_BYTES, 32768, DM_CHAIN_DEV_A_PAD,
		    true);
	put_layer(nlh, "/d/base.img", NULL, 0, 0, 0, false, false);
	put_layer(nlh, "/d/vm.dmc", uuid_a, 3, 100, 5, false, true);
	put_layer(nlh, "/d/vm-1.dmc", uuid_a, 1, 7, 0, false, false);
	put_layer(nlh, "/d/vm-2.dmc", uuid_a, 1, 0, 0, true, false);
	if (merge_inside)
		put_status(nlh, DM_CHAIN_DEV_A_MERGE,
			   DM_CHAIN_MERGE_STATE_RUNNING, 1 << 30, 1 << 20,
			   NULL, 0, false);
	mnl_attr_nest_end(nlh, nest);
	return nest;
}

static struct nlmsghdr *msg_start_cmd(uint8_t cmd)
{
	struct nlmsghdr *nlh = reply_start();
	struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	genl->cmd = cmd;
	return nlh;
}

/* ---- GET answer: layers and merge ---------------------------------------- */

static void test_get_layers_and_merge(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();
	const struct dmc_nl_device *d;
	const struct dmc_nl_merge *m;

	(void)state;
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.2.0");
	put_chain_device(nlh, "vm", true);
	put_device(nlh, "other", 253, 5, 1, 0);

	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	assert_int_equal(info.nr_devices, 2);
	d = &info.devices[0];
	assert_string_equal(d->name, "vm");
	assert_true(d->has_block_size);
	assert_int_equal(d->block_size, 65536);
	assert_int_equal(d->nr_layers, 4);
	assert_int_equal(d->nr_listed, 4);

	assert_string_equal(d->layers[0].path, "/d/base.img");
	assert_false(d->layers[0].has_uuid);
	assert_true(d->layers[0].raw);
	assert_false(d->layers[0].writable);

	assert_string_equal(d->layers[1].path, "/d/vm.dmc");
	assert_true(d->layers[1].has_uuid);
	assert_memory_equal(d->layers[1].uuid, uuid_a, 16);
	assert_false(d->layers[1].raw);
	assert_int_equal(d->layers[1].generation, 3);
	assert_int_equal(d->layers[1].data_blocks, 100);
	assert_int_equal(d->layers[1].zero_blocks, 5);
	assert_true(d->layers[1].has_map_bytes);
	assert_int_equal(d->layers[1].map_bytes, 1600);
	assert_true(d->layers[1].by_runs);
	assert_int_equal(d->layers[1].runs, 100);
	assert_false(d->layers[0].has_map_bytes);
	assert_false(d->layers[0].by_runs);
	assert_true(d->layers[3].has_map_bytes);
	assert_int_equal(d->layers[3].map_bytes, 4104);
	assert_false(d->layers[3].by_runs);
	assert_true(d->has_index_bytes);
	assert_int_equal(d->index_bytes, 32768);

	assert_string_equal(d->layers[3].path, "/d/vm-2.dmc");
	assert_true(d->layers[3].writable);
	assert_false(d->layers[2].writable);
	assert_int_equal(d->layers[2].data_blocks, 7);

	assert_true(d->has_merge);
	m = &d->merge;
	assert_int_equal(m->state, DM_CHAIN_MERGE_STATE_RUNNING);
	assert_int_equal(m->target, 0);
	assert_int_equal(m->nr_sources, 2);
	assert_int_equal(m->bytes_total, 1ULL << 30);
	assert_int_equal(m->bytes_done, 1ULL << 20);
	assert_int_equal(m->bytes_cloned, (1ULL << 20) - (1ULL << 18));
	assert_int_equal(m->bytes_copied, 1ULL << 18);
	assert_int_equal(m->bytes_zeroed, 65536);
	assert_int_equal(m->elapsed_ns, 123456789);
	assert_int_equal(m->pause_ns, 1234567);
	assert_int_equal(m->error, 0);
	assert_string_equal(m->message, "");
	assert_false(m->resumed);
	assert_false(m->keeps_leaf);

	/* The second device has none of the new attributes. */
	d = &info.devices[1];
	assert_string_equal(d->name, "other");
	assert_false(d->has_block_size);
	assert_int_equal(d->nr_listed, 0);
	assert_null(d->layers);
	assert_false(d->has_merge);
	dmc_nl_info_free(&info);
	assert_null(info.devices);
}

/* One part of a device as a GET dump sends it: layers [first, first + n). */
static void put_dump_part(struct nlmsghdr *nlh, const char *name,
			  uint32_t nr_layers, uint32_t first, uint32_t n,
			  bool status)
{
	struct nlattr *nest;
	char path[32];
	uint32_t i;

	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.3.0");
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, name);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, 253);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MINOR, 7);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_NR_LAYERS, nr_layers);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_BLOCK_SIZE, 65536);
	if (first)
		mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_FIRST_LAYER, first);
	for (i = first; i < first + n; i++) {
		snprintf(path, sizeof(path), "/d/l%u.dmc", i);
		put_layer(nlh, path, uuid_a, i, i, 0, i == nr_layers - 1,
			  false);
	}
	if (status)
		put_status(nlh, DM_CHAIN_DEV_A_MERGE, DM_CHAIN_MERGE_STATE_DONE,
			   1 << 20, 1 << 20, NULL, 0, false);
	mnl_attr_nest_end(nlh, nest);
}

/* A device split over three dump messages comes back as one device. */
static void test_get_dump_parts(void **state)
{
	struct dmc_nl_info info = { 0 };
	const struct dmc_nl_device *d;
	struct nlmsghdr *nlh;
	unsigned int i;
	char path[32];

	(void)state;
	nlh = reply_start();
	put_dump_part(nlh, "big", 5, 0, 2, false);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	nlh = reply_start();
	put_dump_part(nlh, "big", 5, 2, 3, false);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	/* The status alone in the last part. */
	nlh = reply_start();
	put_dump_part(nlh, "big", 5, 5, 0, true);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	nlh = reply_start();
	put_dump_part(nlh, "next", 1, 0, 1, false);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);

	assert_string_equal(info.version, "0.3.0");
	assert_int_equal(info.nr_devices, 2);
	d = &info.devices[0];
	assert_string_equal(d->name, "big");
	assert_int_equal(d->nr_layers, 5);
	assert_int_equal(d->nr_listed, 5);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/d/l%u.dmc", i);
		assert_string_equal(d->layers[i].path, path);
		assert_int_equal(d->layers[i].generation, i);
	}
	assert_true(d->layers[4].writable);
	assert_true(d->has_merge);
	assert_int_equal(d->merge.state, DM_CHAIN_MERGE_STATE_DONE);
	assert_string_equal(info.devices[1].name, "next");
	assert_int_equal(info.devices[1].nr_listed, 1);
	dmc_nl_info_free(&info);
}

/*
 * A "do" answer of a device too large for one nest: its parts are
 * consecutive nests of one message, read as a dump's.
 */
static void test_get_do_parts(void **state)
{
	struct dmc_nl_info info = { 0 };
	const struct dmc_nl_device *d;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = reply_start();
	put_dump_part(nlh, "big", 5, 0, 3, false);
	put_dump_part(nlh, "big", 5, 3, 2, true);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	assert_int_equal(info.nr_devices, 1);
	d = &info.devices[0];
	assert_int_equal(d->nr_listed, 5);
	assert_string_equal(d->layers[3].path, "/d/l3.dmc");
	assert_true(d->layers[4].writable);
	assert_true(d->has_merge);
	dmc_nl_info_free(&info);
}

/* A later part that does not continue the last device: ask again. */
static void test_get_dump_part_mismatch(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh;

	(void)state;
	nlh = reply_start();
	put_dump_part(nlh, "big", 5, 2, 3, false);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EAGAIN);
	assert_int_equal(info.nr_devices, 0);

	nlh = reply_start();
	put_dump_part(nlh, "big", 5, 0, 2, false);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	/* A gap: layers 2 .. 2 missing. */
	nlh = reply_start();
	put_dump_part(nlh, "big", 5, 3, 2, false);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EAGAIN);
	/* Another device's part. */
	nlh = reply_start();
	put_dump_part(nlh, "other", 5, 2, 3, false);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EAGAIN);
	assert_int_equal(info.nr_devices, 1);
	assert_int_equal(info.devices[0].nr_listed, 2);
	dmc_nl_info_free(&info);
}

/* A refused device leaves nothing behind (and leaks nothing). */
static void test_get_rejects_bad_layer(void **state)
{
	static const uint8_t short_uuid[15] = { 1 };
	struct dmc_nl_info info = { 0 };
	struct nlattr *dev, *layer;
	struct nlmsghdr *nlh;
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		nlh = reply_start();
		dev = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
		mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "vm");
		put_layer(nlh, "/d/ok.dmc", uuid_a, 1, 1, 1, false, false);
		layer = mnl_attr_nest_start(nlh, DM_CHAIN_DEV_A_LAYER);
		switch (i) {
		case 0:		/* UUID of 15 bytes */
			mnl_attr_put_strz(nlh, DM_CHAIN_LAYER_A_PATH, "/d/x");
			mnl_attr_put(nlh, DM_CHAIN_LAYER_A_UUID, 15,
				     short_uuid);
			break;
		case 1:		/* UUID of 17 bytes */
			mnl_attr_put_strz(nlh, DM_CHAIN_LAYER_A_PATH, "/d/x");
			mnl_attr_put(nlh, DM_CHAIN_LAYER_A_UUID, 17,
				     "0123456789abcdefg");
			break;
		case 2:		/* u64 sent as u32 */
			mnl_attr_put_strz(nlh, DM_CHAIN_LAYER_A_PATH, "/d/x");
			mnl_attr_put_u32(nlh, DM_CHAIN_LAYER_A_GENERATION, 1);
			break;
		case 3:		/* no path */
			mnl_attr_put_u64(nlh, DM_CHAIN_LAYER_A_GENERATION, 1);
			break;
		case 4:		/* path not NUL-terminated */
			mnl_attr_put(nlh, DM_CHAIN_LAYER_A_PATH, 4, "/d/x");
			break;
		case 5:		/* flag with a payload */
			mnl_attr_put_strz(nlh, DM_CHAIN_LAYER_A_PATH, "/d/x");
			mnl_attr_put_u32(nlh, DM_CHAIN_LAYER_A_WRITABLE, 1);
			break;
		}
		mnl_attr_nest_end(nlh, layer);
		mnl_attr_nest_end(nlh, dev);
		assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
		assert_int_equal(info.nr_devices, 0);
	}
}

/* An attribute claiming more bytes than its nest holds is not read. */
static void test_get_attr_overruns_nest(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh = reply_start();
	struct nlattr *dev, *layer, *path;

	(void)state;
	dev = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "vm");
	layer = mnl_attr_nest_start(nlh, DM_CHAIN_DEV_A_LAYER);
	path = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_strz(nlh, DM_CHAIN_LAYER_A_PATH, "/d/x");
	mnl_attr_nest_end(nlh, layer);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MINOR, 1);
	mnl_attr_nest_end(nlh, dev);
	path->nla_len += 8;	/* runs into the MINOR after the nest */
	assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
	assert_int_equal(info.nr_devices, 0);
}

static void test_get_rejects_bad_merge_nest(void **state)
{
	struct dmc_nl_info info = { 0 };
	struct nlattr *dev, *m;
	struct nlmsghdr *nlh;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		nlh = reply_start();
		dev = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
		mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "vm");
		m = mnl_attr_nest_start(nlh, DM_CHAIN_DEV_A_MERGE);
		if (i != 0)
			mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, 1);
		switch (i) {
		case 0:		/* no state */
			mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_BYTES_DONE, 1);
			break;
		case 1:		/* short u64 */
			mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_BYTES_TOTAL, 1);
			break;
		case 2:		/* long u32 */
			mnl_attr_put_u64(nlh, DM_CHAIN_MERGE_A_ERROR, 5);
			break;
		case 3:		/* unterminated message */
			mnl_attr_put(nlh, DM_CHAIN_MERGE_A_MESSAGE, 3, "bad");
			break;
		}
		mnl_attr_nest_end(nlh, m);
		mnl_attr_nest_end(nlh, dev);
		assert_int_equal(dmc_nl_parse_get(nlh, &info), -EINVAL);
		assert_int_equal(info.nr_devices, 0);
	}
}

/* A message longer than the buffer is cut, not refused. */
static void test_merge_long_message_cut(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE_DONE);
	char text[DMC_NL_MESSAGE_LEN + 100];
	struct nlattr *dev;

	(void)state;
	memset(text, 'm', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	dev = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "vm");
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, 253);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MINOR, 4);
	mnl_attr_nest_end(nlh, dev);
	put_status(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_FAILED, 10, 5,
		   text, EIO, false);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), 0);
	assert_int_equal(strlen(a.merge.message), DMC_NL_MESSAGE_LEN - 1);
	assert_int_equal(a.merge.error, EIO);
	dmc_nl_answer_free(&a);
}

/* ---- MERGE answer -------------------------------------------------------- */

static void test_merge_reply(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);

	(void)state;
	put_chain_device(nlh, "vm", false);
	put_status(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_RUNNING,
		   1 << 30, 0, NULL, 0, true);
	mnl_attr_put_u32(nlh, DM_CHAIN_A_MAX + 1, 1);	/* newer: skipped */

	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), 0);
	assert_int_equal(a.cmd, DM_CHAIN_CMD_MERGE);
	assert_true(a.has_device);
	assert_true(a.has_merge);
	assert_false(a.has_path);
	assert_string_equal(a.dev.name, "vm");
	assert_true(a.dev.has_devno);
	assert_int_equal(a.dev.major, 253);
	assert_int_equal(a.dev.minor, 4);
	assert_int_equal(a.dev.nr_listed, 4);
	assert_string_equal(a.dev.layers[a.merge.target].path, "/d/base.img");
	assert_string_equal(a.dev.layers[a.dev.nr_listed - 1].path,
			    "/d/vm-2.dmc");
	assert_int_equal(a.merge.state, DM_CHAIN_MERGE_STATE_RUNNING);
	assert_int_equal(a.merge.nr_sources, 2);
	assert_int_equal(a.merge.bytes_total, 1ULL << 30);
	assert_true(a.merge.resumed);
	assert_false(a.merge.keeps_leaf);
	dmc_nl_answer_free(&a);
	assert_null(a.dev.layers);
}

/* A status nested in the device stands in for a missing A_MERGE. */
static void test_merge_reply_status_in_device(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);

	(void)state;
	put_chain_device(nlh, "vm", true);
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), 0);
	assert_true(a.has_merge);
	assert_int_equal(a.merge.bytes_done, 1ULL << 20);
	dmc_nl_answer_free(&a);
}

static void test_merge_reply_rejects(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh;
	struct nlattr *dev;

	(void)state;
	/* No status. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	put_chain_device(nlh, "vm", false);
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), -EINVAL);
	assert_false(a.has_device);
	assert_null(a.dev.layers);

	/* No device. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	put_status(nlh, DM_CHAIN_A_MERGE, 1, 1, 0, NULL, 0, false);
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), -EINVAL);

	/* Device without a name. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	dev = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, 253);
	mnl_attr_nest_end(nlh, dev);
	put_status(nlh, DM_CHAIN_A_MERGE, 1, 1, 0, NULL, 0, false);
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), -EINVAL);

	/* Two devices. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	put_chain_device(nlh, "vm", false);
	put_chain_device(nlh, "vm2", false);
	put_status(nlh, DM_CHAIN_A_MERGE, 1, 1, 0, NULL, 0, false);
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), -EINVAL);
	assert_null(a.dev.layers);

	/* Status not a nest. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	put_chain_device(nlh, "vm", false);
	mnl_attr_put_u16(nlh, DM_CHAIN_A_MERGE, 1);
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), -EINVAL);

	/* Truncated. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	nlh->nlmsg_len = sizeof(*nlh) + 1;
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), -EINVAL);
}

/* ---- SNAPSHOT answer ----------------------------------------------------- */

static void test_snapshot_reply(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_SNAPSHOT);

	(void)state;
	put_chain_device(nlh, "vm", false);
	mnl_attr_put_strz(nlh, DM_CHAIN_A_PATH, "/d/vm-2.dmc");
	put_u64_pad(nlh, DM_CHAIN_A_PAUSE_NS, 987654, DM_CHAIN_A_PAD, true);

	assert_int_equal(dmc_nl_parse_snapshot_reply(nlh, &a), 0);
	assert_int_equal(a.cmd, DM_CHAIN_CMD_SNAPSHOT);
	assert_string_equal(a.dev.name, "vm");
	assert_true(a.has_path);
	assert_string_equal(a.path, "/d/vm-2.dmc");
	assert_true(a.has_pause_ns);
	assert_int_equal(a.pause_ns, 987654);
	assert_false(a.has_merge);
	dmc_nl_answer_free(&a);
}

static void test_snapshot_reply_rejects(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh;

	(void)state;
	/* No path. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_SNAPSHOT);
	put_chain_device(nlh, "vm", false);
	mnl_attr_put_u64(nlh, DM_CHAIN_A_PAUSE_NS, 1);
	assert_int_equal(dmc_nl_parse_snapshot_reply(nlh, &a), -EINVAL);

	/* Pause of the wrong length. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_SNAPSHOT);
	put_chain_device(nlh, "vm", false);
	mnl_attr_put_strz(nlh, DM_CHAIN_A_PATH, "/d/vm-2.dmc");
	mnl_attr_put_u32(nlh, DM_CHAIN_A_PAUSE_NS, 1);
	assert_int_equal(dmc_nl_parse_snapshot_reply(nlh, &a), -EINVAL);
	assert_null(a.dev.layers);

	/* No device. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_SNAPSHOT);
	mnl_attr_put_strz(nlh, DM_CHAIN_A_PATH, "/d/vm-2.dmc");
	assert_int_equal(dmc_nl_parse_snapshot_reply(nlh, &a), -EINVAL);
}

/* ---- events -------------------------------------------------------------- */

/* An event's header and device nest; the caller adds the status. */
static struct nlmsghdr *event(uint8_t cmd, bool major)
{
	struct nlmsghdr *nlh = msg_start_cmd(cmd);
	struct nlattr *dev;

	nlh->nlmsg_seq = 0;	/* multicast */
	dev = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "vm");
	if (major)
		mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MAJOR, 253);
	mnl_attr_put_u32(nlh, DM_CHAIN_DEV_A_MINOR, 4);
	mnl_attr_nest_end(nlh, dev);
	return nlh;
}

static void test_event_progress(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = event(DM_CHAIN_CMD_MERGE_PROGRESS, true);
	put_status(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_RUNNING,
		   1000 << 20, 420 << 20, NULL, 0, false);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), 0);
	assert_int_equal(a.cmd, DM_CHAIN_CMD_MERGE_PROGRESS);
	assert_string_equal(a.dev.name, "vm");
	assert_int_equal(a.dev.major, 253);
	assert_int_equal(a.dev.minor, 4);
	assert_int_equal(a.merge.state, DM_CHAIN_MERGE_STATE_RUNNING);
	assert_int_equal(a.merge.bytes_done, 420ULL << 20);
	assert_int_equal(a.merge.bytes_total, 1000ULL << 20);
	dmc_nl_answer_free(&a);
}

static void test_event_done(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = event(DM_CHAIN_CMD_MERGE_DONE, true);
	put_status(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_FAILED,
		   100, 50, "cannot clone: different filesystems", EXDEV,
		   false);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), 0);
	assert_int_equal(a.cmd, DM_CHAIN_CMD_MERGE_DONE);
	assert_int_equal(a.merge.state, DM_CHAIN_MERGE_STATE_FAILED);
	assert_int_equal(a.merge.error, EXDEV);
	assert_string_equal(a.merge.message,
			    "cannot clone: different filesystems");
	assert_int_equal(a.merge.pause_ns, 1234567);
	dmc_nl_answer_free(&a);

	nlh = event(DM_CHAIN_CMD_MERGE_DONE, true);
	put_status(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_DONE,
		   100, 100, NULL, 0, false);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), 0);
	assert_int_equal(a.merge.state, DM_CHAIN_MERGE_STATE_DONE);
	assert_int_equal(a.merge.bytes_done, 100);
	dmc_nl_answer_free(&a);
}

static void test_event_rejects(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh;

	(void)state;
	/* Another command: not an event, skipped. */
	nlh = msg_start_cmd(DM_CHAIN_CMD_GET);
	mnl_attr_put_strz(nlh, DM_CHAIN_A_VERSION, "0.2.0");
	assert_int_equal(dmc_nl_parse_event(nlh, &a), -ENOMSG);

	/* No status. */
	nlh = event(DM_CHAIN_CMD_MERGE_DONE, true);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), -EINVAL);

	/* No major. */
	nlh = event(DM_CHAIN_CMD_MERGE_PROGRESS, false);
	put_status(nlh, DM_CHAIN_A_MERGE, 1, 1, 0, NULL, 0, false);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), -EINVAL);

	/* Wrong-length u64 in the status. */
	nlh = event(DM_CHAIN_CMD_MERGE_PROGRESS, true);
	{
		struct nlattr *m = mnl_attr_nest_start(nlh, DM_CHAIN_A_MERGE);

		mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, 1);
		mnl_attr_put(nlh, DM_CHAIN_MERGE_A_ELAPSED_NS, 6, "123456");
		mnl_attr_nest_end(nlh, m);
	}
	assert_int_equal(dmc_nl_parse_event(nlh, &a), -EINVAL);

	/* Truncated. */
	nlh = event(DM_CHAIN_CMD_MERGE_DONE, true);
	nlh->nlmsg_len = sizeof(*nlh) + 3;
	assert_int_equal(dmc_nl_parse_event(nlh, &a), -EINVAL);
}

/*
 * A range merge's status (DM_CHAIN_MERGE_A_KEEPS_LEAF, 21): the flag alone,
 * with PAYLOAD bytes when that is not 0 (refused, as for any flag).
 */
static void put_keeps_leaf_status(struct nlmsghdr *nlh, uint16_t type,
				  uint32_t state, size_t payload)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);
	const uint32_t one = 1;

	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, state);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_TARGET, 1);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_NR_SOURCES, 1);
	mnl_attr_put(nlh, DM_CHAIN_MERGE_A_KEEPS_LEAF, payload, &one);
	mnl_attr_nest_end(nlh, nest);
}

static void test_merge_keeps_leaf(void **state)
{
	struct dmc_nl_answer a;
	struct dmc_nl_info info = { 0 };
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	(void)state;
	assert_int_equal(DM_CHAIN_MERGE_A_KEEPS_LEAF, 21);	/* netlink.md */

	/* the MERGE answer of a range merge */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	put_chain_device(nlh, "vm", false);
	put_keeps_leaf_status(nlh, DM_CHAIN_A_MERGE,
			      DM_CHAIN_MERGE_STATE_RUNNING, 0);
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), 0);
	assert_true(a.has_merge);
	assert_true(a.merge.keeps_leaf);
	assert_false(a.merge.resumed);
	assert_int_equal(a.merge.target, 1);
	assert_int_equal(a.merge.nr_sources, 1);
	dmc_nl_answer_free(&a);

	/* its done event */
	nlh = event(DM_CHAIN_CMD_MERGE_DONE, true);
	put_keeps_leaf_status(nlh, DM_CHAIN_A_MERGE, DM_CHAIN_MERGE_STATE_DONE,
			      0);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), 0);
	assert_int_equal(a.merge.state, DM_CHAIN_MERGE_STATE_DONE);
	assert_true(a.merge.keeps_leaf);
	dmc_nl_answer_free(&a);

	/* GET: the device's merge nest */
	nlh = reply_start();
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_DEVICE);
	mnl_attr_put_strz(nlh, DM_CHAIN_DEV_A_NAME, "vm");
	put_keeps_leaf_status(nlh, DM_CHAIN_DEV_A_MERGE,
			      DM_CHAIN_MERGE_STATE_RUNNING, 0);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(dmc_nl_parse_get(nlh, &info), 0);
	assert_int_equal(info.nr_devices, 1);
	assert_true(info.devices[0].has_merge);
	assert_true(info.devices[0].merge.keeps_leaf);
	dmc_nl_info_free(&info);

	/* a flag with a payload is malformed */
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	put_chain_device(nlh, "vm", false);
	put_keeps_leaf_status(nlh, DM_CHAIN_A_MERGE,
			      DM_CHAIN_MERGE_STATE_RUNNING, sizeof(uint32_t));
	assert_int_equal(dmc_nl_parse_merge_reply(nlh, &a), -EINVAL);
}

/*
 * A progress event of a running merge whose status carries
 * DM_CHAIN_MERGE_A_BURSTS as LEN bytes at BURSTS (none when LEN is 0).
 */
static struct nlmsghdr *bursts_event(const void *bursts, size_t len)
{
	struct nlmsghdr *nlh = event(DM_CHAIN_CMD_MERGE_PROGRESS, true);
	struct nlattr *nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_MERGE);

	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, DM_CHAIN_MERGE_STATE_RUNNING);
	if (len)
		mnl_attr_put(nlh, DM_CHAIN_MERGE_A_BURSTS, len, bursts);
	mnl_attr_nest_end(nlh, nest);
	return nlh;
}

/*
 * The bursts count (DM_CHAIN_MERGE_A_BURSTS, 22): read as a u32, 0 when a
 * module does not send it, and a wrong size is malformed.
 */
static void test_merge_bursts(void **state)
{
	struct dmc_nl_answer a;
	const uint32_t bursts = 41;
	const uint64_t wide = 7;

	(void)state;
	assert_int_equal(DM_CHAIN_MERGE_A_BURSTS, 22);	/* netlink.md */

	assert_int_equal(dmc_nl_parse_event(bursts_event(&bursts, sizeof(bursts)), &a), 0);
	assert_int_equal(a.merge.bursts, 41);
	dmc_nl_answer_free(&a);

	/* an older module: none sent */
	assert_int_equal(dmc_nl_parse_event(bursts_event(NULL, 0), &a), 0);
	assert_int_equal(a.merge.bursts, 0);
	dmc_nl_answer_free(&a);

	/* a u64 where a u32 belongs */
	assert_int_equal(dmc_nl_parse_event(bursts_event(&wide, sizeof(wide)), &a),
			 -EINVAL);
}

/*
 * The time yielded to the guest (DM_CHAIN_MERGE_A_YIELD_NS, 23): a u64,
 * 0 when a module does not send it; a u32 there is malformed.
 */
static void test_merge_yield(void **state)
{
	struct dmc_nl_answer a;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	const uint64_t yield = 12345678901ULL;
	const uint32_t narrow = 7;

	(void)state;
	assert_int_equal(DM_CHAIN_MERGE_A_YIELD_NS, 23);	/* netlink.md */

	nlh = event(DM_CHAIN_CMD_MERGE_PROGRESS, true);
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_MERGE);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, DM_CHAIN_MERGE_STATE_RUNNING);
	put_u64_pad(nlh, DM_CHAIN_MERGE_A_YIELD_NS, yield, DM_CHAIN_MERGE_A_PAD, false);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), 0);
	assert_true(a.merge.yield_ns == yield);
	dmc_nl_answer_free(&a);

	/* an older module: none sent */
	assert_int_equal(dmc_nl_parse_event(bursts_event(NULL, 0), &a), 0);
	assert_true(a.merge.yield_ns == 0);
	dmc_nl_answer_free(&a);

	nlh = event(DM_CHAIN_CMD_MERGE_PROGRESS, true);
	nest = mnl_attr_nest_start(nlh, DM_CHAIN_A_MERGE);
	mnl_attr_put_u32(nlh, DM_CHAIN_MERGE_A_STATE, DM_CHAIN_MERGE_STATE_RUNNING);
	mnl_attr_put(nlh, DM_CHAIN_MERGE_A_YIELD_NS, sizeof(narrow), &narrow);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(dmc_nl_parse_event(nlh, &a), -EINVAL);
}

static void test_merge_state_str(void **state)
{
	static const struct {
		uint32_t state;
		const char *name;
	} names[] = {
		{ DM_CHAIN_MERGE_STATE_NONE, "none" },
		{ DM_CHAIN_MERGE_STATE_RUNNING, "running" },
		{ DM_CHAIN_MERGE_STATE_DONE, "done" },
		{ DM_CHAIN_MERGE_STATE_FAILED, "failed" },
		{ DM_CHAIN_MERGE_STATE_CANCELLED, "cancelled" },
		{ 77, "unknown" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(dmc_nl_merge_state_str(names[i].state),
				    names[i].name);
}

/* ---- request builders ---------------------------------------------------- */

/* Attributes of one level, by type; fails on a duplicate. */
static int collect_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type > 16 || tb[type])
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static void parse_request(const struct nlmsghdr *nlh,
			  const struct nlattr *top[17],
			  const struct nlattr *dev[17])
{
	assert_int_equal(mnl_attr_parse(nlh, sizeof(struct genlmsghdr),
					collect_cb, top), MNL_CB_OK);
	assert_non_null(top[DM_CHAIN_A_DEVICE]);
	assert_int_equal(mnl_attr_validate(top[DM_CHAIN_A_DEVICE],
					   MNL_TYPE_NESTED), 0);
	assert_int_equal(mnl_attr_parse_nested(top[DM_CHAIN_A_DEVICE],
					       collect_cb, dev), MNL_CB_OK);
	assert_non_null(dev[DM_CHAIN_DEV_A_NAME]);
	assert_int_equal(mnl_attr_validate(dev[DM_CHAIN_DEV_A_NAME],
					   MNL_TYPE_NUL_STRING), 0);
}

static void test_put_merge_all(void **state)
{
	struct dmc_nl_merge_params p = {
		.depth = 3, .has_into = true, .into = 0, .has_mode = true,
		.mode = DM_CHAIN_MERGE_MODE_COPY, .has_rate = true, .rate = 0,
		.new_leaf = "/d/new.dmc",
	};
	const struct nlattr *top[17] = { NULL }, *dev[17] = { NULL };
	const struct nlattr *m[17] = { NULL };
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);

	(void)state;
	assert_int_equal(dmc_nl_put_merge(nlh, "vm", &p), 0);
	parse_request(nlh, top, dev);
	assert_string_equal(mnl_attr_get_str(dev[DM_CHAIN_DEV_A_NAME]), "vm");
	assert_non_null(top[DM_CHAIN_A_MERGE]);
	assert_int_equal(mnl_attr_parse_nested(top[DM_CHAIN_A_MERGE],
					       collect_cb, m), MNL_CB_OK);
	assert_int_equal(mnl_attr_validate(m[DM_CHAIN_MERGE_A_DEPTH],
					   MNL_TYPE_U32), 0);
	assert_int_equal(mnl_attr_get_u32(m[DM_CHAIN_MERGE_A_DEPTH]), 3);
	assert_int_equal(mnl_attr_validate(m[DM_CHAIN_MERGE_A_INTO],
					   MNL_TYPE_U32), 0);
	assert_int_equal(mnl_attr_get_u32(m[DM_CHAIN_MERGE_A_INTO]), 0);
	assert_int_equal(mnl_attr_get_u32(m[DM_CHAIN_MERGE_A_MODE]),
			 DM_CHAIN_MERGE_MODE_COPY);
	assert_int_equal(mnl_attr_validate(m[DM_CHAIN_MERGE_A_RATE],
					   MNL_TYPE_U32), 0);
	assert_int_equal(mnl_attr_get_u32(m[DM_CHAIN_MERGE_A_RATE]), 0);
	assert_int_equal(mnl_attr_validate(m[DM_CHAIN_MERGE_A_NEW_LEAF],
					   MNL_TYPE_NUL_STRING), 0);
	assert_string_equal(mnl_attr_get_str(m[DM_CHAIN_MERGE_A_NEW_LEAF]),
			    "/d/new.dmc");
	assert_null(top[DM_CHAIN_A_PATH]);
}

static void test_put_merge_minimal(void **state)
{
	struct dmc_nl_merge_params p = { .depth = 1 };
	const struct nlattr *top[17] = { NULL }, *dev[17] = { NULL };
	const struct nlattr *m[17] = { NULL };
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	int i;

	(void)state;
	assert_int_equal(dmc_nl_put_merge(nlh, "vm", &p), 0);
	parse_request(nlh, top, dev);
	assert_int_equal(mnl_attr_parse_nested(top[DM_CHAIN_A_MERGE],
					       collect_cb, m), MNL_CB_OK);
	assert_int_equal(mnl_attr_get_u32(m[DM_CHAIN_MERGE_A_DEPTH]), 1);
	for (i = 0; i < 17; i++)
		if (i != DM_CHAIN_MERGE_A_DEPTH)
			assert_null(m[i]);
	/* The device nest holds the name only. */
	for (i = 0; i < 17; i++)
		if (i != DM_CHAIN_DEV_A_NAME)
			assert_null(dev[i]);
}

static int collect32_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type > 31 || tb[type])
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* --into 1 --from 2: INTO and TOP (20), no DEPTH (issue 18). */
static void test_put_merge_top(void **state)
{
	struct dmc_nl_merge_params p = {
		.has_into = true, .into = 1, .has_top = true, .top = 2,
	};
	const struct nlattr *top[17] = { NULL }, *dev[17] = { NULL };
	const struct nlattr *m[32] = { NULL };
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	int i;

	(void)state;
	assert_int_equal(DM_CHAIN_MERGE_A_TOP, 20);
	assert_int_equal(dmc_nl_put_merge(nlh, "vm", &p), 0);
	parse_request(nlh, top, dev);
	assert_int_equal(mnl_attr_parse_nested(top[DM_CHAIN_A_MERGE],
					       collect32_cb, m), MNL_CB_OK);
	assert_int_equal(mnl_attr_validate(m[DM_CHAIN_MERGE_A_TOP],
					   MNL_TYPE_U32), 0);
	assert_int_equal(mnl_attr_get_u32(m[DM_CHAIN_MERGE_A_TOP]), 2);
	assert_int_equal(mnl_attr_get_u32(m[DM_CHAIN_MERGE_A_INTO]), 1);
	for (i = 0; i < 32; i++)
		if (i != DM_CHAIN_MERGE_A_INTO && i != DM_CHAIN_MERGE_A_TOP)
			assert_null(m[i]);
}

static void test_put_merge_rejects(void **state)
{
	struct dmc_nl_merge_params p = { .depth = 1 };
	char name[DMC_NL_NAME_LEN + 1], path[DMC_NL_PATH_LEN + 1];
	struct nlmsghdr *nlh;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE);
	assert_int_equal(dmc_nl_put_merge(nlh, name, &p), -EINVAL);
	assert_int_equal(dmc_nl_put_merge(nlh, "", &p), -EINVAL);
	assert_int_equal(dmc_nl_put_device_name(nlh, NULL), -EINVAL);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	p.new_leaf = path;
	assert_int_equal(dmc_nl_put_merge(nlh, "vm", &p), -ENAMETOOLONG);
	p.new_leaf = "";
	assert_int_equal(dmc_nl_put_merge(nlh, "vm", &p), -EINVAL);
	/* Nothing was added by the refusals. */
	assert_int_equal(nlh->nlmsg_len,
			 mnl_nlmsg_size(sizeof(struct genlmsghdr)));
}

static void test_put_snapshot(void **state)
{
	const struct nlattr *top[17] = { NULL }, *dev[17] = { NULL };
	struct nlmsghdr *nlh;

	(void)state;
	nlh = msg_start_cmd(DM_CHAIN_CMD_SNAPSHOT);
	assert_int_equal(dmc_nl_put_snapshot(nlh, "vm", "/d/snap.dmc"), 0);
	parse_request(nlh, top, dev);
	assert_string_equal(mnl_attr_get_str(dev[DM_CHAIN_DEV_A_NAME]), "vm");
	assert_non_null(top[DM_CHAIN_A_PATH]);
	assert_int_equal(mnl_attr_validate(top[DM_CHAIN_A_PATH],
					   MNL_TYPE_NUL_STRING), 0);
	assert_string_equal(mnl_attr_get_str(top[DM_CHAIN_A_PATH]),
			    "/d/snap.dmc");
	assert_null(top[DM_CHAIN_A_MERGE]);

	memset(top, 0, sizeof(top));
	memset(dev, 0, sizeof(dev));
	nlh = msg_start_cmd(DM_CHAIN_CMD_SNAPSHOT);
	assert_int_equal(dmc_nl_put_snapshot(nlh, "vm", NULL), 0);
	parse_request(nlh, top, dev);
	assert_null(top[DM_CHAIN_A_PATH]);
}

/* MERGE_CANCEL carries the device nest alone. */
static void test_put_device_name(void **state)
{
	const struct nlattr *top[17] = { NULL }, *dev[17] = { NULL };
	struct nlmsghdr *nlh = msg_start_cmd(DM_CHAIN_CMD_MERGE_CANCEL);
	int i;

	(void)state;
	assert_int_equal(dmc_nl_put_device_name(nlh, "vm"), 0);
	parse_request(nlh, top, dev);
	for (i = 0; i < 17; i++)
		if (i != DM_CHAIN_A_DEVICE)
			assert_null(top[i]);
	assert_string_equal(mnl_attr_get_str(dev[DM_CHAIN_DEV_A_NAME]), "vm");
}

/* ---- extended ACK -------------------------------------------------------- */

/* An NLMSG_ERROR as the kernel writes it with NETLINK_EXT_ACK set. */
static struct nlmsghdr *error_msg(int error, bool capped, const char *text,
				  uint32_t offs)
{
	struct nlmsghdr *nlh, *orig;
	struct nlmsgerr *err;
	size_t echo = capped ? 0 : 24;	/* request payload echoed back */

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
	err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err) + echo);
	err->error = error;
	orig = &err->msg;
	orig->nlmsg_len = sizeof(*orig) + echo;
	orig->nlmsg_type = 0x20;
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	if (offs)
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, offs);
	return nlh;
}

static void test_extack_capped(void **state)
{
	char msg[NL_ERRMSG_LEN];
	uint32_t offs;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = error_msg(-ENODEV, true, "no chain device of that name", 28);
	assert_int_equal(nl_parse_error(nlh, msg, sizeof(msg), &offs), -ENODEV);
	assert_string_equal(msg, "no chain device of that name");
	assert_int_equal(offs, 28);
}

static void test_extack_uncapped(void **state)
{
	char msg[NL_ERRMSG_LEN];
	uint32_t offs;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = error_msg(-EINVAL, false, "device nest needs a name", 0);
	assert_int_equal(nl_parse_error(nlh, msg, sizeof(msg), &offs), -EINVAL);
	assert_string_equal(msg, "device nest needs a name");
	assert_int_equal(offs, 0);
}

static void test_extack_absent(void **state)
{
	char msg[NL_ERRMSG_LEN] = "stale";
	struct nlmsghdr *nlh;

	(void)state;
	nlh = error_msg(-EPERM, true, NULL, 0);
	nlh->nlmsg_flags = NLM_F_CAPPED;	/* kernel added no TLVs */
	assert_int_equal(nl_parse_error(nlh, msg, sizeof(msg), NULL), -EPERM);
	assert_string_equal(msg, "");
}

static void test_extack_truncated_text(void **state)
{
	char msg[8];
	struct nlmsghdr *nlh;

	(void)state;
	nlh = error_msg(-EINVAL, true, "a rather long explanation", 0);
	assert_int_equal(nl_parse_error(nlh, msg, sizeof(msg), NULL), -EINVAL);
	assert_string_equal(msg, "a rathe");
}

/*
 * MERGE with DEPTH 0: the policy (NLA_POLICY_MIN 1) refuses it with
 * ERANGE and its own text, pointing at the attribute (docs/netlink.md).
 */
static void test_extack_depth_zero_erange(void **state)
{
	char msg[NL_ERRMSG_LEN];
	uint32_t offs;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = error_msg(-ERANGE, true, "integer out of range", 36);
	assert_int_equal(nl_parse_error(nlh, msg, sizeof(msg), &offs), -ERANGE);
	assert_string_equal(msg, "integer out of range");
	assert_int_equal(offs, 36);
}

static void test_ack_is_zero(void **state)
{
	char msg[NL_ERRMSG_LEN];
	struct nlmsghdr *nlh;

	(void)state;
	nlh = error_msg(0, true, NULL, 0);
	nlh->nlmsg_flags = NLM_F_CAPPED;
	assert_int_equal(nl_parse_error(nlh, msg, sizeof(msg), NULL), 0);
	assert_string_equal(msg, "");
}

static void test_error_too_short(void **state)
{
	char msg[NL_ERRMSG_LEN];
	struct nlmsghdr *nlh;

	(void)state;
	nlh = error_msg(-EINVAL, true, NULL, 0);
	nlh->nlmsg_len = sizeof(*nlh) + 2;
	assert_int_equal(nl_parse_error(nlh, msg, sizeof(msg), NULL), -EBADMSG);
}

/* ---- user-facing text ---------------------------------------------------- */

static void test_strerror_not_loaded(void **state)
{
	(void)state;
	assert_string_equal(dmc_nl_strerror(NULL, -ENOENT),
			    "dm-chain kernel module is not loaded (modprobe dm-chain)");
	assert_non_null(strstr(dmc_nl_strerror(NULL, -EPERM), "admin-only"));
	assert_string_equal(dmc_nl_strerror(NULL, -ENODEV), strerror(ENODEV));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_version_and_devices),
		cmocka_unit_test(test_get_no_devices),
		cmocka_unit_test(test_get_accumulates),
		cmocka_unit_test(test_get_ignores_unknown_attrs),
		cmocka_unit_test(test_get_rejects_nameless_device),
		cmocka_unit_test(test_get_rejects_unterminated_version),
		cmocka_unit_test(test_get_rejects_short_u32),
		cmocka_unit_test(test_get_rejects_flag_with_payload),
		cmocka_unit_test(test_get_rejects_overlong_name),
		cmocka_unit_test(test_get_rejects_truncated_message),
		cmocka_unit_test(test_get_layers_and_merge),
		cmocka_unit_test(test_get_rejects_bad_layer),
		cmocka_unit_test(test_get_dump_parts),
		cmocka_unit_test(test_get_do_parts),
		cmocka_unit_test(test_get_dump_part_mismatch),
		cmocka_unit_test(test_get_attr_overruns_nest),
		cmocka_unit_test(test_get_rejects_bad_merge_nest),
		cmocka_unit_test(test_merge_long_message_cut),
		cmocka_unit_test(test_merge_reply),
		cmocka_unit_test(test_merge_reply_status_in_device),
		cmocka_unit_test(test_merge_keeps_leaf),
		cmocka_unit_test(test_merge_bursts),
		cmocka_unit_test(test_merge_yield),
		cmocka_unit_test(test_merge_reply_rejects),
		cmocka_unit_test(test_snapshot_reply),
		cmocka_unit_test(test_snapshot_reply_rejects),
		cmocka_unit_test(test_event_progress),
		cmocka_unit_test(test_event_done),
		cmocka_unit_test(test_event_rejects),
		cmocka_unit_test(test_merge_state_str),
		cmocka_unit_test(test_put_merge_all),
		cmocka_unit_test(test_put_merge_minimal),
		cmocka_unit_test(test_put_merge_top),
		cmocka_unit_test(test_put_merge_rejects),
		cmocka_unit_test(test_put_snapshot),
		cmocka_unit_test(test_put_device_name),
		cmocka_unit_test(test_extack_capped),
		cmocka_unit_test(test_extack_uncapped),
		cmocka_unit_test(test_extack_absent),
		cmocka_unit_test(test_extack_truncated_text),
		cmocka_unit_test(test_extack_depth_zero_erange),
		cmocka_unit_test(test_ack_is_zero),
		cmocka_unit_test(test_error_too_short),
		cmocka_unit_test(test_strerror_not_loaded),
	};

	return cmocka_run_group_tests_name("nl", tests, NULL, NULL);
}
