// SPDX-License-Identifier: GPL-2.0
/* Streaming JSON writer: see json.h. */
#include <inttypes.h>

#include "json.h"

void json_init(struct json_writer *jw, FILE *out)
{
	jw->out = out;
	jw->depth = 0;
	jw->has_items[0] = false;
}

static void put_escaped(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	for (; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Comma and "key": before any value. */
static void begin_value(struct json_writer *jw, const char *key)
{
	if (jw->has_items[jw->depth])
		fputc(',', jw->out);
	jw->has_items[jw->depth] = true;
	if (key) {
		put_escaped(jw->out, key);
		fputc(':', jw->out);
	}
}

static void push(struct json_writer *jw, const char *key, char open)
{
	begin_value(jw, key);
	fputc(open, jw->out);
	if (jw->depth < JSON_MAX_DEPTH - 1)
		jw->depth++;
	jw->has_items[jw->depth] = false;
}

static void pop(struct json_writer *jw, char close)
{
	fputc(close, jw->out);
	if (jw->depth > 0)
		jw->depth--;
}

void json_object_begin(struct json_writer *jw, const char *key)
{
	push(jw, key, '{');
}

void json_object_end(struct json_writer *jw)
{
	pop(jw, '}');
}

void json_array_begin(struct json_writer *jw, const char *key)
{
	push(jw, key, '[');
}

void json_array_end(struct json_writer *jw)
{
	pop(jw, ']');
}

void json_string(struct json_writer *jw, const char *key, const char *val)
{
	begin_value(jw, key);
	if (val)
		put_escaped(jw->out, val);
	else
		fputs("null", jw->out);
}

void json_u64(struct json_writer *jw, const char *key, uint64_t val)
{
	begin_value(jw, key);
	fprintf(jw->out, "%" PRIu64, val);
}

void json_i64(struct json_writer *jw, const char *key, int64_t val)
{
	begin_value(jw, key);
	fprintf(jw->out, "%" PRId64, val);
}

void json_double(struct json_writer *jw, const char *key, double val)
{
	begin_value(jw, key);
	fprintf(jw->out, "%.6f", val);
}

void json_bool(struct json_writer *jw, const char *key, bool val)
{
	begin_value(jw, key);
	fputs(val ? "true" : "false", jw->out);
}

void json_null(struct json_writer *jw, const char *key)
{
	begin_value(jw, key);
	fputs("null", jw->out);
}

void json_finish(struct json_writer *jw)
{
	fputc('\n', jw->out);
	fflush(jw->out);
	jw->depth = 0;
	jw->has_items[0] = false;
}
