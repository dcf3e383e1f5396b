// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the "chain" table line: building it from a list of
 * layer paths, parsing it back (as `dmsetup table` shows it), and the
 * number and size conversions around it.  No device-mapper needed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dm.h"

static char errbuf[512];

static int build(const char *const *paths, unsigned int n, bool ro, char **out)
{
	errbuf[0] = '\0';
	return dmc_table_build(paths, n, false, ro, out, errbuf, sizeof(errbuf));
}

static int build_raw(const char *const *paths, unsigned int n, bool ro,
		     char **out)
{
	errbuf[0] = '\0';
	return dmc_table_build(paths, n, true, ro, out, errbuf, sizeof(errbuf));
}

/* ---- building ------------------------------------------------------------ */

static void test_build_single_raw(void **state)
{
	const char *paths[] = { "/var/lib/img/base.raw" };
	char *line;

	(void)state;
	assert_int_equal(build_raw(paths, 1, false, &line), 0);
	assert_string_equal(line, "1 /var/lib/img/base.raw 1 raw_base");
	free(line);
	assert_int_equal(build_raw(paths, 1, true, &line), 0);
	assert_string_equal(line,
			    "1 /var/lib/img/base.raw 2 raw_base read_only");
	free(line);
}

static void test_build_single_layer(void **state)
{
	const char *paths[] = { "/var/lib/img/base.dmc" };
	char *line;

	(void)state;
	assert_int_equal(build(paths, 1, false, &line), 0);
	assert_string_equal(line, "1 /var/lib/img/base.dmc");
	free(line);
}

static void test_build_chain_base_first(void **state)
{
	const char *paths[] = { "/d/base.raw", "/d/mid.dmc", "/d/leaf.dmc" };
	char *line;

	(void)state;
	assert_int_equal(build_raw(paths, 3, false, &line), 0);
	assert_string_equal(line,
			    "3 /d/base.raw /d/mid.dmc /d/leaf.dmc 1 raw_base");
	free(line);
}

static void test_build_read_only(void **state)
{
	const char *paths[] = { "/d/a", "/d/b" };
	char *line;

	(void)state;
	assert_int_equal(build(paths, 2, true, &line), 0);
	assert_string_equal(line, "2 /d/a /d/b 1 read_only");
	free(line);
}

static void test_build_deep_chain(void **state)
{
	const char *paths[64];
	char names[64][32];
	struct dmc_table t;
	unsigned int i;
	char *line;

	(void)state;
	for (i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "/chain/layer-%02u.dmc", i);
		paths[i] = names[i];
	}
	assert_int_equal(build(paths, 64, false, &line), 0);
	assert_int_equal(strncmp(line, "64 /chain/layer-00.dmc ", 23), 0);
	assert_int_equal(dmc_table_parse(line, &t), 0);
	assert_int_equal(t.nr_layers, 64);
	for (i = 0; i < 64; i++)
		assert_string_equal(t.paths[i], names[i]);
	dmc_table_free(&t);
	free(line);
}

static void test_build_rejects_relative(void **state)
{
	const char *paths[] = { "/d/base.raw", "leaf.dmc" };
	char *line = (char *)1;

	(void)state;
	assert_int_equal(build(paths, 2, false, &line), -EINVAL);
	assert_null(line);
	assert_non_null(strstr(errbuf, "leaf.dmc"));
	assert_non_null(strstr(errbuf, "not absolute"));
}

static void test_build_rejects_whitespace(void **state)
{
	const char *space[] = { "/my disks/base.raw" };
	const char *tab[] = { "/d/a\tb" };
	const char *newline[] = { "/d/a\nb" };
	char *line;

	(void)state;
	assert_int_equal(build(space, 1, false, &line), -EINVAL);
	assert_non_null(strstr(errbuf, "whitespace"));
	assert_int_equal(build(tab, 1, false, &line), -EINVAL);
	assert_int_equal(build(newline, 1, false, &line), -EINVAL);
}

/* What the kernel's dm_split_args() would split or unescape. */
static void test_build_rejects_what_the_kernel_splits(void **state)
{
	const char *backslash[] = { "/d/a\\b" };
	const char *nbsp[] = { "/d/a\xa0" "b" };
	const char *esc[] = { "/d/a\x1b[0m" };
	const char *del[] = { "/d/a\x7f" };
	const char *utf8[] = { "/d/caf\xc3\xa9" };
	char *line;

	(void)state;
	assert_int_equal(build(backslash, 1, false, &line), -EINVAL);
	assert_non_null(strstr(errbuf, "backslash"));
	assert_int_equal(build(nbsp, 1, false, &line), -EINVAL);
	assert_int_equal(build(esc, 1, false, &line), -EINVAL);
	assert_non_null(strstr(errbuf, "control characters"));
	assert_int_equal(build(del, 1, false, &line), -EINVAL);
	assert_int_equal(build(utf8, 1, false, &line), 0);
	assert_string_equal(line, "1 /d/caf\xc3\xa9");
	free(line);
}

static void test_build_rejects_empty(void **state)
{
	char *line;

	(void)state;
	assert_int_equal(build(NULL, 0, false, &line), -EINVAL);
	assert_non_null(strstr(errbuf, "at least one"));
}

static void test_build_rejects_too_many(void **state)
{
	const char **paths;
	unsigned int i, n = DMC_MAX_LAYERS + 1;
	char *line;

	(void)state;
	paths = calloc(n, sizeof(*paths));
	assert_non_null(paths);
	for (i = 0; i < n; i++)
		paths[i] = "/x";
	assert_int_equal(build(paths, n, false, &line), -E2BIG);
	assert_int_equal(build(paths, n - 1, false, &line), 0);
	free(line);
	free(paths);
}

/* ---- parsing ------------------------------------------------------------- */

static void test_parse_round_trip(void **state)
{
	const char *paths[] = { "/d/base.raw", "/d/leaf.dmc" };
	struct dmc_table t;
	char *line;

	(void)state;
	assert_int_equal(build_raw(paths, 2, true, &line), 0);
	assert_int_equal(dmc_table_parse(line, &t), 0);
	assert_int_equal(t.nr_layers, 2);
	assert_string_equal(t.paths[0], "/d/base.raw");
	assert_string_equal(t.paths[1], "/d/leaf.dmc");
	assert_true(t.read_only);
	assert_true(t.raw_base);
	dmc_table_free(&t);
	assert_int_equal(t.nr_layers, 0);
	assert_null(t.paths);
	free(line);

	assert_int_equal(build(paths, 2, false, &line), 0);
	assert_int_equal(dmc_table_parse(line, &t), 0);
	assert_false(t.read_only);
	assert_false(t.raw_base);
	dmc_table_free(&t);
	free(line);
}

static void test_parse_extra_spaces_and_features(void **state)
{
	struct dmc_table t;

	(void)state;
	assert_int_equal(dmc_table_parse("  1   /a  0 ", &t), 0);
	assert_int_equal(t.nr_layers, 1);
	assert_false(t.read_only);
	dmc_table_free(&t);

	/* A feature this tool does not know yet is carried, not refused. */
	assert_int_equal(dmc_table_parse("2 /a /b 2 discard_passdown read_only",
					 &t), 0);
	assert_int_equal(t.nr_layers, 2);
	assert_true(t.read_only);
	dmc_table_free(&t);
}

static void test_parse_rejects_bad_lines(void **state)
{
	static const char *const bad[] = {
		"",			/* nothing */
		"1",			/* count without paths */
		"0 /a",			/* zero layers */
		"2 /a",			/* fewer paths than counted */
		"x /a",			/* count not a number */
		"-1 /a",
		"1 /a 2 read_only",	/* fewer features than counted */
		"1 /a 1 read_only x",	/* more features than counted */
		"1 /a y read_only",	/* feature count not a number */
	};
	struct dmc_table t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("line '%s'\n", bad[i]);
		assert_int_equal(dmc_table_parse(bad[i], &t), -EINVAL);
		assert_null(t.paths);
	}
}

/* ---- numbers and sizes --------------------------------------------------- */

static void test_bytes_to_sectors(void **state)
{
	uint64_t s = 99;

	(void)state;
	assert_int_equal(dmc_bytes_to_sectors(512, &s), 0);
	assert_int_equal(s, 1);
	assert_int_equal(dmc_bytes_to_sectors(4ULL << 30, &s), 0);
	assert_int_equal(s, 8388608);
	assert_int_equal(dmc_bytes_to_sectors(1ULL << 50, &s), 0);
	assert_int_equal(s, 1ULL << 41);
	s = 99;
	assert_int_equal(dmc_bytes_to_sectors(0, &s), -EINVAL);
	assert_int_equal(dmc_bytes_to_sectors(511, &s), -EINVAL);
	assert_int_equal(dmc_bytes_to_sectors(1000, &s), -EINVAL);
	assert_int_equal(s, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_single_raw),
		cmocka_unit_test(test_build_single_layer),
		cmocka_unit_test(test_build_chain_base_first),
		cmocka_unit_test(test_build_read_only),
		cmocka_unit_test(test_build_deep_chain),
		cmocka_unit_test(test_build_rejects_relative),
		cmocka_unit_test(test_build_rejects_whitespace),
		cmocka_unit_test(test_build_rejects_what_the_kernel_splits),
		cmocka_unit_test(test_build_rejects_empty),
		cmocka_unit_test(test_build_rejects_too_many),
		cmocka_unit_test(test_parse_round_trip),
		cmocka_unit_test(test_parse_extra_spaces_and_features),
		cmocka_unit_test(test_parse_rejects_bad_lines),
		cmocka_unit_test(test_bytes_to_sectors),
	};

	return cmocka_run_group_tests_name("dm_table", tests, NULL, NULL);
}
