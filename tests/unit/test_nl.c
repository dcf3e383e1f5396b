// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the netlink client's pure parts: the dm-chain GET
 * answer parser and the extended-ACK error parser, fed with messages built
 * in memory with libmnl exactly as the kernel lays them out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
		cmocka_unit_test(test_extack_capped),
		cmocka_unit_test(test_extack_uncapped),
		cmocka_unit_test(test_extack_absent),
		cmocka_unit_test(test_extack_truncated_text),
		cmocka_unit_test(test_ack_is_zero),
		cmocka_unit_test(test_error_too_short),
		cmocka_unit_test(test_strerror_not_loaded),
	};

	return cmocka_run_group_tests_name("nl", tests, NULL, NULL);
}
