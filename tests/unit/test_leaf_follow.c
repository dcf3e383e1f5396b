// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of leaf_follow() (userspace/lib/leaf_follow.c), on real layer
 * files in a temporary directory: a configured leaf with nothing on top, a
 * chain of layers made on top of it (snapshots), a merged-away leaf (its
 * target and the target's children), a fork (refused, both named), a raw
 * image alone and with a layer on it (refused), a missing file, and files
 * that are no layers (ignored).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dmc_err.h"
#include "layer_create.h"
#include "leaf_follow.h"
#include "merge.h"

static char dir[] = "/tmp/dmc-leaf-follow.XXXXXX";

static const char *p(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void must(int ret, const struct dmc_err *err)
{
	if (ret)
		fail_msg("%s", err->msg);
}

static void mk(const char *name, const char *parent, bool raw_parent)
{
	struct layer_create_opts o = { 0 };
	struct dmc_err err;

	dmc_err_clear(&err);
	o.virtual_size = parent ? 0 : 1 << 20;
	o.parent = parent ? p(parent) : NULL;
	o.parent_raw = raw_parent;
	must(layer_create(p(name), &o, &err), &err);
}

static void file(const char *name, size_t size)
{
	FILE *f = fopen(p(name), "w");

	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), size), 0);
	fclose(f);
}

/* leaf_follow(NAME) gives WANT (a name in dir). */
static void follows(const char *name, bool raw, const char *want)
{
	struct dmc_err err;
	char *leaf;

	dmc_err_clear(&err);
	must(leaf_follow(p(name), raw, &leaf, &err), &err);
	assert_string_equal(leaf, p(want));
	free(leaf);
}

static void refused(const char *name, bool raw, const char *want)
{
	struct dmc_err err;
	char *leaf = (char *)1;

	dmc_err_clear(&err);
	assert_int_equal(leaf_follow(p(name), raw, &leaf, &err), -1);
	assert_null(leaf);
	if (!strstr(err.msg, want))
		fail_msg("got '%s', want '%s'", err.msg, want);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_follow(void **state)
{
	(void)state;
	mk("base.dmc", NULL, false);
	mk("disk.dmc", "base.dmc", false);
	file("notes.txt", 100);
	file("other.img", 1 << 20);
	follows("disk.dmc", false, "disk.dmc");
	mk("disk-1.dmc", "disk.dmc", false);
	mk("disk-2.dmc", "disk-1.dmc", false);
	follows("disk.dmc", false, "disk-2.dmc");
	follows("disk-1.dmc", false, "disk-2.dmc");
	/* The base leads to the top as well: one chain in the directory. */
	follows("base.dmc", false, "disk-2.dmc");

	mk("fork.dmc", "disk-1.dmc", false);
	refused("disk.dmc", false, "2 layers in");
	refused("disk.dmc", false, "fork.dmc");
	refused("disk.dmc", false, "disk-2.dmc");
	follows("disk-2.dmc", false, "disk-2.dmc");
	unlink(p("fork.dmc"));

	refused("nosuch.dmc", false, "No such file");
}

static void test_merged_away(void **state)
{
	struct merge_request req = { 0 };
	struct merge_result res;
	struct dmc_err err;

	(void)state;
	/* base <- disk <- disk-1 <- disk-2 from test_follow: merge the top
	 * two into disk; disk-1 and disk-2 are merged away into disk. */
	req.leaf = p("disk-2.dmc");
	req.depth = 2;
	dmc_err_clear(&err);
	must(merge_run(&req, &res, &err), &err);
	follows("disk-2.dmc", false, "disk.dmc");
	follows("disk-1.dmc", false, "disk.dmc");
	mk("disk-3.dmc", "disk.dmc", false);
	follows("disk-2.dmc", false, "disk-3.dmc");
	follows("disk.dmc", false, "disk-3.dmc");
}

static void test_raw(void **state)
{
	(void)state;
	file("image.raw", 1 << 20);
	follows("image.raw", true, "image.raw");
	mk("on-raw.dmc", "image.raw", true);
	refused("image.raw", true, "raw, but layers sit on it");
	refused("image.raw", true, "on-raw.dmc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_merged_away),
		cmocka_unit_test(test_raw),
	};

	return cmocka_run_group_tests_name("leaf_follow", tests, setup,
					   teardown);
}
