// SPDX-License-Identifier: GPL-2.0
/*
 * The -j writer (lib/json.c, on json-c): documents come out compact, in
 * call order, with RFC 8259 escapes, full-range integers, six-decimal
 * doubles, nulls; and strings that are not valid UTF-8 are never printed
 * raw (each byte of an invalid sequence as \xNN).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

/* The text one document printed. */
struct doc {
	struct json_writer jw;
	char *buf;
	size_t len;
	FILE *f;
};

static void doc_open(struct doc *d)
{
	d->buf = NULL;
	d->len = 0;
	d->f = open_memstream(&d->buf, &d->len);
	assert_non_null(d->f);
	json_init(&d->jw, d->f);
}

static const char *doc_close(struct doc *d)
{
	json_finish(&d->jw);
	fclose(d->f);
	return d->buf;
}

static void test_document(void **state)
{
	struct doc d;

	(void)state;
	doc_open(&d);
	json_object_begin(&d.jw, NULL);
	json_string(&d.jw, "path", "/a/b.dmc");
	json_u64(&d.jw, "size_bytes", UINT64_MAX);
	json_i64(&d.jw, "delta", INT64_MIN);
	json_double(&d.jw, "seconds", 0.25);
	json_boolean(&d.jw, "ok", true);
	json_null(&d.jw, "error");
	json_string(&d.jw, "none", NULL);
	json_array_begin(&d.jw, "layers");
	json_object_begin(&d.jw, NULL);
	json_u64(&d.jw, "index", 1);
	json_object_end(&d.jw);
	json_array_begin(&d.jw, NULL);
	json_array_end(&d.jw);
	json_boolean(&d.jw, NULL, false);
	json_array_end(&d.jw);
	json_object_begin(&d.jw, "empty");
	json_object_end(&d.jw);
	json_object_end(&d.jw);
	assert_string_equal(doc_close(&d),
		"{\"path\":\"/a/b.dmc\",\"size_bytes\":18446744073709551615,"
		"\"delta\":-9223372036854775808,\"seconds\":0.250000,\"ok\":true,"
		"\"error\":null,\"none\":null,\"layers\":[{\"index\":1},[],false],"
		"\"empty\":{}}\n");
	free(d.buf);
}

static void test_escapes(void **state)
{
	struct doc d;

	(void)state;
	doc_open(&d);
	json_string(&d.jw, NULL, "q\" b\\ n\n t\t c\x01 /");
	assert_string_equal(doc_close(&d),
			    "\"q\\\" b\\\\ n\\n t\\t c\\u0001 /\"\n");
	free(d.buf);
}

static void test_utf8(void **state)
{
	static const char *const cases[][2] = {
		/* valid: as they are */
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe" },
		/* a Latin-1 byte, a lone continuation byte */
		{ "caf\xe9", "caf\\xe9" },
		{ "a\x80z", "a\\x80z" },
		/* overlong '/', a surrogate, past U+10FFFF, a cut sequence */
		{ "\xc0\xaf", "\\xc0\\xaf" },
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
		{ "x\xe2\x82", "x\\xe2\\x82" },
		{ "\xff", "\\xff" },
		{ "", "" },
	};
	unsigned int i;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = json_utf8_clean(cases[i][0]);
		assert_non_null(out);
		assert_string_equal(out, cases[i][1]);
		free(out);
	}
}

static void test_invalid_utf8_never_raw(void **state)
{
	struct doc d;

	(void)state;
	doc_open(&d);
	json_object_begin(&d.jw, NULL);
	json_string(&d.jw, "path", "/x/\xff\xfe.dmc");
	json_object_end(&d.jw);
	/* JSON escapes the backslash: the text holds \\xff. */
	assert_string_equal(doc_close(&d), "{\"path\":\"/x/\\\\xff\\\\xfe.dmc\"}\n");
	free(d.buf);
}

static void test_documents_in_a_row(void **state)
{
	struct doc d;

	(void)state;
	doc_open(&d);
	json_u64(&d.jw, NULL, 1);
	json_finish(&d.jw);
	json_array_begin(&d.jw, NULL);
	json_array_end(&d.jw);
	assert_string_equal(doc_close(&d), "1\n[]\n");
	free(d.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_invalid_utf8_never_raw),
		cmocka_unit_test(test_documents_in_a_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
