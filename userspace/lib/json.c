// SPDX-License-Identifier: GPL-2.0
/*
 * JSON output for -j, on json-c: see json.h.  The calls build a json-c
 * tree; json_finish() prints it.  Strings are made valid UTF-8 here first,
 * because json-c passes bytes >= 0x80 through as they are.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"

void json_init(struct json_writer *jw, FILE *out)
{
	memset(jw, 0, sizeof(*jw));
	jw->out = out;
}

/* Length of the valid UTF-8 sequence at P (RFC 3629), or 0. */
static size_t utf8_seq_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;	/* continuation byte, C0, C1, F5..FF */
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the terminating NUL */
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

char *json_utf8_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n, o = 0;
	char *out;

	/* At worst every byte becomes the four characters \xNN. */
	out = malloc(len * 4 + 1);
	if (!out)
		return NULL;
	while (*p) {
		n = utf8_seq_len(p);
		if (n) {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		} else {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
			p++;
		}
	}
	out[o] = '\0';
	return out;
}

/* Put V where the writer stands: the top-level value, or in the open
 * object under KEY, or at the end of the open array. */
static void add(struct json_writer *jw, const char *key, struct json_object *v)
{
	struct json_object *parent;
	char *k;

	if (jw->depth == 0) {
		json_object_put(jw->root);
		jw->root = v;
		jw->has_root = true;
		return;
	}
	parent = jw->stack[jw->depth - 1];
	if (json_object_is_type(parent, json_type_array)) {
		json_object_array_add(parent, v);
		return;
	}
	k = json_utf8_clean(key ? key : "");
	json_object_object_add(parent, k ? k : "", v);
	free(k);
}

static void push(struct json_writer *jw, const char *key, struct json_object *c)
{
	add(jw, key, c);
	if (jw->depth < JSON_MAX_DEPTH)
		jw->stack[jw->depth++] = c;
}

static void pop(struct json_writer *jw)
{
	if (jw->depth > 0)
		jw->depth--;
}

void json_object_begin(struct json_writer *jw, const char *key)
{
	push(jw, key, json_object_new_object());
}

void json_object_end(struct json_writer *jw)
{
	pop(jw);
}

void json_array_begin(struct json_writer *jw, const char *key)
{
	push(jw, key, json_object_new_array());
}

void json_array_end(struct json_writer *jw)
{
	pop(jw);
}

void json_string(struct json_writer *jw, const char *key, const char *val)
{
	char *clean;

	if (!val) {
		add(jw, key, NULL);
		return;
	}
	clean = json_utf8_clean(val);
	add(jw, key, clean ? json_object_new_string(clean) : NULL);
	free(clean);
}

void json_u64(struct json_writer *jw, const char *key, uint64_t val)
{
	add(jw, key, json_object_new_uint64(val));
}

void json_i64(struct json_writer *jw, const char *key, int64_t val)
{
	add(jw, key, json_object_new_int64(val));
}

void json_double(struct json_writer *jw, const char *key, double val)
{
	char s[64];

	/* Six decimals, as the reports always printed (json-c: %.17g). */
	snprintf(s, sizeof(s), "%.6f", val);
	add(jw, key, json_object_new_double_s(val, s));
}

void json_boolean(struct json_writer *jw, const char *key, bool val)
{
	add(jw, key, json_object_new_boolean(val));
}

void json_null(struct json_writer *jw, const char *key)
{
	add(jw, key, NULL);
}

void json_finish(struct json_writer *jw)
{
	if (jw->has_root) {
		fputs(json_object_to_json_string_ext(jw->root,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		      jw->out);
		fputc('\n', jw->out);
	}
	fflush(jw->out);
	json_object_put(jw->root);
	jw->root = NULL;
	jw->has_root = false;
	jw->depth = 0;
}

void json_document_begin(struct json_writer *jw, FILE *out)
{
	json_init(jw, out);
	json_object_begin(jw, NULL);
	json_u64(jw, "json_version", DMC_JSON_VERSION);
}

void json_document_end(struct json_writer *jw)
{
	json_object_end(jw);
	json_finish(jw);
}
