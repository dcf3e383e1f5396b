// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the chaintab parser (userspace/lib/chaintab.c): good lines,
 * comments and blank lines, options, and every refusal, each naming
 * FILE:LINE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "chaintab.h"

static char err[512];

static int parse(const char *text, struct chaintab *t)
{
	return chaintab_parse_buf(text, strlen(text), "tab", t, err,
				  sizeof(err));
}

/* TEXT is refused with a message starting "tab:LINE: " and holding WANT. */
static void refused(const char *text, unsigned int line, const char *want)
{
	struct chaintab t;
	char prefix[32];

	assert_int_equal(parse(text, &t), -1);
	assert_int_equal(t.nr, 0);
	assert_null(t.entries);
	snprintf(prefix, sizeof(prefix), "tab:%u: ", line);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, want))
		fail_msg("for '%s': got '%s', want '%s...%s'", text, err,
			 prefix, want);
}

static void test_good_lines(void **state)
{
	struct chaintab t;
	char buf[128];

	(void)state;
	assert_int_equal(parse("vm1 /srv/vm1/disk.dmc\n"
			       "golden\t/srv/img/golden.raw\traw,ro,nofail\n"
			       "vm2   /srv/vm2/d.dmc   resume-merge,rate=64M\n"
			       "vm3 /srv/vm3/d.dmc defaults", &t), 0);
	assert_int_equal(t.nr, 4);
	assert_string_equal(t.entries[0].name, "vm1");
	assert_string_equal(t.entries[0].leaf, "/srv/vm1/disk.dmc");
	assert_int_equal(t.entries[0].opts, 0);
	assert_int_equal(t.entries[0].line, 1);
	assert_int_equal(t.entries[1].opts,
			 CHAINTAB_RAW | CHAINTAB_RO | CHAINTAB_NOFAIL);
	assert_string_equal(chaintab_opts_str(&t.entries[1], buf, sizeof(buf)),
			    "ro,raw,nofail");
	assert_int_equal(t.entries[2].opts,
			 CHAINTAB_RESUME_MERGE | CHAINTAB_RATE);
	assert_int_equal(t.entries[2].rate, 64);
	assert_string_equal(chaintab_opts_str(&t.entries[2], buf, sizeof(buf)),
			    "resume-merge,rate=64M");
	assert_int_equal(t.entries[3].opts, 0);
	assert_int_equal(t.entries[3].line, 4);
	assert_string_equal(chaintab_opts_str(&t.entries[3], buf, sizeof(buf)),
			    "defaults");
	assert_ptr_equal(chaintab_find(&t, "vm2"), &t.entries[2]);
	assert_null(chaintab_find(&t, "vm"));
	chaintab_free(&t);
	assert_int_equal(t.nr, 0);
}

static void test_comments_blank(void **state)
{
	struct chaintab t;

	(void)state;
	assert_int_equal(parse("# a comment\n\n   \t\n"
			       "  # indented comment\n"
			       "vm1 /a/b.dmc ro # trailing comment\n"
			       "vm2 /a/c.dmc #no options\r\n"
			       "\n", &t), 0);
	assert_int_equal(t.nr, 2);
	assert_int_equal(t.entries[0].line, 5);
	assert_int_equal(t.entries[0].opts, CHAINTAB_RO);
	assert_string_equal(t.entries[1].leaf, "/a/c.dmc");
	assert_int_equal(t.entries[1].line, 6);
	chaintab_free(&t);

	assert_int_equal(parse("", &t), 0);
	assert_int_equal(t.nr, 0);
	chaintab_free(&t);
}

static void test_rate(void **state)
{
	struct chaintab t;

	(void)state;
	assert_int_equal(parse("a /x resume-merge,rate=0\n"
			       "b /x resume-merge,rate=1G\n"
			       "c /x rate=2MiB,resume-merge\n", &t), 0);
	assert_int_equal(t.entries[0].rate, 0);
	assert_int_equal(t.entries[1].rate, 1024);
	assert_int_equal(t.entries[2].rate, 2);
	chaintab_free(&t);
	refused("a /x resume-merge,rate=1K", 1, "bad rate '1K'");
	refused("a /x resume-merge,rate=fast", 1, "bad rate 'fast'");
	refused("a /x resume-merge,rate=", 1, "bad rate ''");
	refused("a /x rate=8M", 1, "rate= applies to resume-merge only");
}

static void test_bad_name(void **state)
{
	char long_name[200];

	(void)state;
	refused("a/b /x", 1, "invalid device name 'a/b': contains '/'");
	refused("\n.. /x", 2, "invalid device name '..': reserved");
	refused("control /x", 1, "reserved");
	refused("a\x01 /x", 1, "control characters");
	memset(long_name, 'n', sizeof(long_name));
	strcpy(long_name + 130, " /x");
	refused(long_name, 1, "longer than 127 characters");
}

static void test_relative_path(void **state)
{
	(void)state;
	refused("vm disk.dmc", 1, "leaf path 'disk.dmc' is not absolute");
	refused("# c\nvm ./disk.dmc ro", 2, "not absolute");
	refused("vm /a\\b", 1, "backslash");
	/* The kernel's isspace() takes 0xa0 for a blank: the table's rule. */
	refused("vm /a\xa0" "b", 1, "byte 0xa0");
}

static void test_unknown_option(void **state)
{
	(void)state;
	refused("vm /x ro,discard", 1, "unknown option 'discard'");
	refused("vm /x RO", 1, "unknown option 'RO'");
	refused("vm /x ro,,raw", 1, "empty option");
	refused("vm /x ro,", 1, "empty option");
	refused("vm /x ro,ro", 1, "option 'ro' given twice");
	refused("vm /x ro,resume-merge", 1, "cannot go with ro");
}

static void test_duplicate_name(void **state)
{
	(void)state;
	refused("vm /x\n# c\nvm /y\n", 3,
		"device 'vm' is listed twice (first on line 1)");
}

static void test_fields(void **state)
{
	(void)state;
	refused("vm /x ro raw", 1, "too many fields at 'raw'");
	refused("ok /y\nvm\n", 2, "'vm' has no leaf path");
	{
		static const char nul[] = "vm /x ro\0raw\n";
		struct chaintab t;

		assert_int_equal(chaintab_parse_buf(nul, sizeof(nul) - 1, "tab",
						    &t, err, sizeof(err)), -1);
		assert_string_equal(err, "tab:1: NUL byte (not a text file)");
	}
}

static void test_long_line(void **state)
{
	static char text[CHAINTAB_MAX_LINE + 64];

	(void)state;
	strcpy(text, "vm /");
	memset(text + 4, 'a', CHAINTAB_MAX_LINE);
	text[CHAINTAB_MAX_LINE + 4] = '\0';
	refused(text, 1, "line longer than");
}

static void test_stream(void **state)
{
	static const char text[] = "vm /srv/vm.dmc nofail\nbad\n";
	struct chaintab t;
	FILE *f;

	(void)state;
	f = fmemopen((void *)text, 22, "r");
	assert_non_null(f);
	assert_int_equal(chaintab_parse_stream(f, "s", &t, err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(t.nr, 1);
	assert_int_equal(t.entries[0].opts, CHAINTAB_NOFAIL);
	chaintab_free(&t);

	f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	assert_int_equal(chaintab_parse_stream(f, "s", &t, err, sizeof(err)), -1);
	fclose(f);
	assert_string_equal(err, "s:2: 'bad' has no leaf path (NAME LEAF-PATH [OPTIONS])");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_lines),
		cmocka_unit_test(test_comments_blank),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_bad_name),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_duplicate_name),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests_name("chaintab", tests, NULL, NULL);
}
