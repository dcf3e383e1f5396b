// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: parsing of the "chain" table line (dm_chain_table), the cases of
 * table-cases.h.  tests/fuzz runs the same cases on the host against
 * table.c built over a shim of dm_read_arg() and friends, so the shim the
 * table fuzzer uses is held to the kernel's behaviour.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "table.h"

#include "table-cases.h"

static void table_case_desc(const struct table_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(table, table_cases, table_case_desc);

static void table_parse(struct kunit *test)
{
	const struct table_case *c = test->param_value;
	struct dmc_table_args args;
	char *line, *p, *word, **argv;
	unsigned int argc = 0;
	char *error = NULL;
	int r;

	/* Arrange: split the line into words as dm-table does. */
	line = kunit_kzalloc(test, strlen(c->line) + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, line);
	strcpy(line, c->line);
	argv = kunit_kcalloc(test, 16, sizeof(*argv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, argv);
	p = line;
	while ((word = strsep(&p, " ")) != NULL)
		if (*word)
			argv[argc++] = word;

	/* Act */
	r = dmc_parse_table(argc, argv, &args, &error);

	/* Assert */
	KUNIT_EXPECT_EQ(test, r, c->ret);
	if (c->ret) {
		KUNIT_ASSERT_NOT_NULL(test, error);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(error, c->error),
					  "error was '%s'", error);
		KUNIT_EXPECT_NULL(test, args.paths);
		return;
	}
	KUNIT_EXPECT_EQ(test, args.nr_layers, c->nr_layers);
	KUNIT_EXPECT_EQ(test, args.features, c->features);
	KUNIT_EXPECT_STREQ(test, args.paths[args.nr_layers - 1], c->leaf);
	kvfree(args.paths);
}

static struct kunit_case table_test_cases[] = {
	KUNIT_CASE_PARAM(table_parse, table_gen_params),
	{}
};

static struct kunit_suite table_suite = {
	.name = "dm_chain_table",
	.test_cases = table_test_cases,
};

kunit_test_suite(table_suite);
