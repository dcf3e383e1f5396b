/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The table-line cases: run by KUnit (table-test.c) against the kernel's
 * dm_read_arg() and by the host (tests/fuzz/table_cases.c) against the
 * shim the table fuzzer uses.  Test code only.  A line is split into
 * words at spaces only (so a tab or other blank stays in its word, as
 * dm_split_args() would never leave it, to pin dm_read_arg()'s own
 * blank skipping).
 */
#ifndef DM_CHAIN_TABLE_CASES_H
#define DM_CHAIN_TABLE_CASES_H

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
	{ "too many layers", "4097 /a", -EINVAL,
	  "Invalid number of layers (1 .. 4096)" },
	/* The count passes at the limit; the paths are then missing. */
	{ "the most layers", "4096 /a", -EINVAL, "Fewer layer paths" },
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
	/*
	 * Numbers are read as dm_read_arg() reads them (sscanf "%u%c"):
	 * leading blanks (isspace(), 0xa0 included) skipped, decimal digits
	 * only, nothing after them, the value taken modulo 2^32.  These pin
	 * that behaviour for the host shim the table fuzzer uses
	 * (tests/fuzz/kshim/dm_args.c).
	 */
	{ "leading zeros", "01 /a", 0, NULL, 1, 0, "/a" },
	{ "leading tab in a count", "\t2 /a /b", 0, NULL, 2, 0, "/b" },
	{ "leading no-break space byte in a count", "\xa0\x31 /a", 0, NULL,
	  1, 0, "/a" },
	{ "count wraps at 2^32 as dm_read_arg does", "4294967297 /a", 0, NULL,
	  1, 0, "/a" },
	{ "count 2^32 wraps to zero", "4294967296 /a", -EINVAL,
	  "Invalid number of layers" },
	{ "plus sign", "+1 /a", -EINVAL, "Invalid number of layers" },
	{ "trailing tab in a count", "1\t /a", -EINVAL,
	  "Invalid number of layers" },
	{ "hexadecimal count", "0x1 /a", -EINVAL, "Invalid number of layers" },
	{ "trailing letter", "1x /a", -EINVAL, "Invalid number of layers" },
	{ "feature count with leading zeros", "1 /a 001 raw_base", 0, NULL, 1,
	  DMC_FEATURE_RAW_BASE, "/a" },
	{ "feature count alone", "1 /a 1", -EINVAL,
	  "Invalid number of feature arguments" },
	{ "feature in mixed case", "1 /a 1 Buffered_IO", 0, NULL, 1,
	  DMC_FEATURE_BUFFERED, "/a" },
	{ "feature prefix", "1 /a 1 read", -EINVAL, "Unknown feature" },
	{ "feature with a Latin-1 capital", "1 /a 1 r\xc9" "ad_only", -EINVAL,
	  "Unknown feature" },
	{ "DEL in a path", "1 /a\x7f", -EINVAL, "control character" },
	{ "path of a slash", "1 /", 0, NULL, 1, 0, "/" },
};

#endif /* DM_CHAIN_TABLE_CASES_H */
