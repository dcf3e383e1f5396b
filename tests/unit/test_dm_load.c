// SPDX-License-Identifier: GPL-2.0
/*
 * Loading libdevmapper on first use (lib/dm.c): a missing library and one
 * without the functions chainctl calls are refused with a reason naming
 * them; the one chainctl was built against loads, once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "dm.h"

static void test_missing_library(void **state)
{
	(void)state;
	assert_int_equal(dmc_dm_load("libdevmapper-not-here.so.9"), -ELIBACC);
	assert_non_null(strstr(dmc_dm_errmsg(), "cannot load libdevmapper-not-here.so.9"));
}

static void test_library_without_the_functions(void **state)
{
	(void)state;
	/* libuuid is loaded already (chainctl links it) and has no dm_*. */
	assert_int_equal(dmc_dm_load("libuuid.so.1"), -ELIBBAD);
	assert_non_null(strstr(dmc_dm_errmsg(), "libuuid.so.1 has no dm_log_with_errno_init"));
}

static void test_real_library_loads_once(void **state)
{
	(void)state;
	/* NULL: the library chainctl was built against. */
	assert_int_equal(dmc_dm_load(NULL), 0);
	/* Loaded: a second call, whatever it names, keeps that library. */
	assert_int_equal(dmc_dm_load("libdevmapper-not-here.so.9"), 0);
}

int main(void)
{
	/* In this order: the failures must come before the library is in. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_library_without_the_functions),
		cmocka_unit_test(test_real_library_loads_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
