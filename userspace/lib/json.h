/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny streaming JSON writer for -j output.  No allocation, no DOM: calls
 * emit text in order and the writer only tracks commas and nesting.
 *
 * Every value call takes KEY: pass the member name inside an object, NULL
 * inside an array or for the top-level value.  Example:
 *
 *	struct json_writer jw;
 *
 *	json_init(&jw, stdout);
 *	json_object_begin(&jw, NULL);
 *	json_string(&jw, "path", "a.dmc");
 *	json_u64(&jw, "size", 4096);
 *	json_array_begin(&jw, "layers");
 *	json_bool(&jw, NULL, true);
 *	json_array_end(&jw);
 *	json_object_end(&jw);
 *	json_finish(&jw);		// newline after the top-level value
 *
 * prints {"path":"a.dmc","size":4096,"layers":[true]}.  Strings are
 * escaped per RFC 8259 (quotes, backslash, control characters as \uXXXX);
 * bytes >= 0x80 pass through unchanged, so give it UTF-8.
 * Nesting deeper than JSON_MAX_DEPTH is silently flattened (never needed).
 */
#ifndef DMC_JSON_H
#define DMC_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *out;
	int depth;
	bool has_items[JSON_MAX_DEPTH];	/* a comma is due at this level */
};

void json_init(struct json_writer *jw, FILE *out);
void json_object_begin(struct json_writer *jw, const char *key);
void json_object_end(struct json_writer *jw);
void json_array_begin(struct json_writer *jw, const char *key);
void json_array_end(struct json_writer *jw);
void json_string(struct json_writer *jw, const char *key, const char *val);
void json_u64(struct json_writer *jw, const char *key, uint64_t val);
void json_i64(struct json_writer *jw, const char *key, int64_t val);
void json_double(struct json_writer *jw, const char *key, double val);
void json_bool(struct json_writer *jw, const char *key, bool val);
void json_null(struct json_writer *jw, const char *key);
/* Ends the document with a newline and flushes. */
void json_finish(struct json_writer *jw);

#endif
