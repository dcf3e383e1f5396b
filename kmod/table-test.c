// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: parsing of the "chain" table line (dm_chain_table).
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "table.h"

struct table_case {
	const char *name;
	const char *line;		/* the target's arguments */
	int ret;
	const char *error;		/* substring of the error, on failure */
	unsigned int nr_layers;
	unsigned int features;
	const char *leaf;		/* last path, on success */
};

static const struct table_case table_cases[] = {
	{ "one raw image", "1 /img", 0, NULL, 1, 0, "/img" },
	{ "three layers", "3 /b /m /l", 0, NULL, 3, 0, "/l" },
	{ "read_only", "2 /b /l 1 read_only", 0, NULL, 2,
	  DMC_FEATURE_READ_ONLY, "/l" },
	{ "both features", "1 /b 2 buffered_io read_only", 0, NULL, 1,
	  DMC_FEATURE_READ_ONLY | DMC_FEATURE_BUFFERED, "/b" },
	{ "feature case-insensitive", "1 /b 1 READ_ONLY", 0, NULL, 1,
	  DMC_FEATURE_READ_ONLY, "/b" },
	{ "zero features", "1 /b 0", 0, NULL, 1, 0, "/b" },
	{ "raw base", "2 /img /l 1 raw_base", 0, NULL, 2,
	  DMC_FEATURE_RAW_BASE, "/l" },
	{ "all three features", "1 /img 3 read_only raw_base buffered_io", 0,
	  NULL, 1,
	  DMC_FEATURE_READ_ONLY | DMC_FEATURE_RAW_BASE | DMC_FEATURE_BUFFERED,
	  "/img" },
	{ "non-ASCII path", "1 /caf\xc3\xa9", 0, NULL, 1, 0,
	  "/caf\xc3\xa9" },
	{ "tab in a path", "1 /a\tb", -EINVAL, "whitespace" },
	{ "newline in a path", "2 /a /b\nc", -EINVAL, "whitespace" },
	{ "escape character in a path", "1 /a\x1b[0m", -EINVAL,
	  "control character" },
	{ "backslash in a path", "1 /a\\b", -EINVAL, "backslash" },
	{ "no-break space byte in a path", "1 /a\xa0\x62", -EINVAL,
	  "whitespace" },
	{ "raw_base twice", "1 /a 2 raw_base raw_base", -EINVAL,
	  "Feature given twice" },
	{ "no arguments", "", -EINVAL, "Missing number of layers" },
	{ "zero layers", "0", -EINVAL, "Invalid number of layers" },
	{ "too many layers", "257 /a", -EINVAL, "Invalid number of layers" },
	{ "not a number", "one /a", -EINVAL, "Invalid number of layers" },
	{ "negative", "-1 /a", -EINVAL, "Invalid number of layers" },
	{ "missing paths", "3 /a /b", -EINVAL, "Fewer layer paths" },
	{ "relative path", "1 img", -EINVAL, "must be absolute" },
	{ "unknown feature", "1 /a 1 turbo", -EINVAL, "Unknown feature" },
	{ "feature count too big", "1 /a 4 read_only", -EINVAL,
	  "Invalid number of feature arguments" },
	{ "feature count exceeds args", "1 /a 2 read_only", -EINVAL,
	  "Invalid number of feature arguments" },
	{ "feature twice", "1 /a 2 read_only read_only", -EINVAL,
	  "Feature given twice" },
	{ "trailing words", "1 /a 1 read_only extra", -EINVAL,
	  "Unexpected arguments after the features" },
	{ "garbage feature count", "1 /a x", -EINVAL,
	  "Invalid number of feature arguments" },
};

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
	kfree(args.paths);
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
