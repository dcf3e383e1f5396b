/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON output for -j, on json-c (as cryptsetup and nvme-cli use it): calls
 * in document order build a json-c tree, and json_finish() prints it on
 * one line.
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
 *	json_boolean(&jw, NULL, true);
 *	json_array_end(&jw);
 *	json_object_end(&jw);
 *	json_finish(&jw);		// prints, a newline, frees the tree
 *
 * prints {"path":"a.dmc","size":4096,"layers":[true]}.  Strings (paths
 * are bytes) that are not valid UTF-8 are never printed raw: each byte of
 * an invalid sequence becomes the four characters \xNN (JSON "\\xNN"),
 * json_utf8_clean().  Doubles print with six decimals.  Nesting deeper
 * than JSON_MAX_DEPTH is flattened into the deepest level (never needed).
 */
#ifndef DMC_JSON_H
#define DMC_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

/*
 * The version of chainctl's JSON output (docs/json.md).  Every -j document
 * is one object whose first member is "json_version": this number.  Any
 * change to a document's members (a rename, a removal, an addition, a
 * changed type or meaning) bumps it, and docs/json/ changes with it.
 */
#define DMC_JSON_VERSION 9

struct json_object;

struct json_writer {
	FILE *out;
	struct json_object *root;	/* the document so far */
	bool has_root;			/* a top-level value was given */
	int depth;			/* open containers, in stack[] */
	struct json_object *stack[JSON_MAX_DEPTH];
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
void json_boolean(struct json_writer *jw, const char *key, bool val);
void json_null(struct json_writer *jw, const char *key);
/* Prints the document and a newline, flushes, and frees the tree. */
void json_finish(struct json_writer *jw);

/*
 * A -j document: json_init() and the top-level object opened with
 * "json_version": DMC_JSON_VERSION as its first member.  Add members with
 * KEY set, then json_document_end(): it closes the object and prints it.
 */
void json_document_begin(struct json_writer *jw, FILE *out);
void json_document_end(struct json_writer *jw);

/*
 * S as valid UTF-8: valid sequences as they are, each byte of an invalid
 * one as the four characters \xNN.  Malloc'd; NULL when out of memory.
 */
char *json_utf8_clean(const char *s);

#endif
