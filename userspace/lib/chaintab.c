// SPDX-License-Identifier: GPL-2.0
/* chaintab parsing: see chaintab.h and docs/chaintab.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaintab.h"
#include "dm.h"
#include "sizes.h"

static int refuse(char *err, size_t errlen, const char *file,
		  unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int refuse(char *err, size_t errlen, const char *file,
		  unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "%s:%u: ", file, line);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

void chaintab_free(struct chaintab *tab)
{
	unsigned int i;

	for (i = 0; i < tab->nr; i++) {
		free(tab->entries[i].name);
		free(tab->entries[i].leaf);
	}
	free(tab->entries);
	memset(tab, 0, sizeof(*tab));
}

const struct chaintab_entry *chaintab_find(const struct chaintab *tab,
					   const char *name)
{
	unsigned int i;

	for (i = 0; i < tab->nr; i++)
		if (!strcmp(tab->entries[i].name, name))
			return &tab->entries[i];
	return NULL;
}

char *chaintab_opts_str(const struct chaintab_entry *e, char *buf, size_t len)
{
	static const struct { unsigned int bit; const char *s; } names[] = {
		{ CHAINTAB_RO, "ro" }, { CHAINTAB_RAW, "raw" },
		{ CHAINTAB_NOFAIL, "nofail" },
		{ CHAINTAB_RESUME_MERGE, "resume-merge" },
	};
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (e->opts & names[i].bit)
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      n ? "," : "", names[i].s);
	if (e->opts & CHAINTAB_RATE)
		n += snprintf(buf + n, n < len ? len - n : 0, "%srate=%uM",
			      n ? "," : "", e->rate);
	if (!n)
		snprintf(buf, len, "defaults");
	return buf;
}

/* rate=SIZE: bytes per second, a whole number of MiB that fits a u32. */
static int parse_rate(const char *s, uint32_t *mib)
{
	uint64_t bytes;

	if (parse_size(s, &bytes) || bytes % (1ULL << 20) ||
	    (bytes >> 20) > UINT32_MAX)
		return -1;
	*mib = (uint32_t)(bytes >> 20);
	return 0;
}

static int parse_opts(char *s, struct chaintab_entry *e, const char *file,
		      char *err, size_t errlen)
{
	char *tok, *save = NULL;
	unsigned int bit;

	if (!s[0] || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return refuse(err, errlen, file, e->line,
			      "empty option in '%s'", s);
	for (tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "defaults")) {
			continue;
		} else if (!strncmp(tok, "rate=", 5)) {
			if (parse_rate(tok + 5, &e->rate))
				return refuse(err, errlen, file, e->line,
					      "bad rate '%s' (MiB per second, as 64M; 0 for unlimited)",
					      tok + 5);
			bit = CHAINTAB_RATE;
		} else if (!strcmp(tok, "ro")) {
			bit = CHAINTAB_RO;
		} else if (!strcmp(tok, "raw")) {
			bit = CHAINTAB_RAW;
		} else if (!strcmp(tok, "nofail")) {
			bit = CHAINTAB_NOFAIL;
		} else if (!strcmp(tok, "resume-merge")) {
			bit = CHAINTAB_RESUME_MERGE;
		} else {
			return refuse(err, errlen, file, e->line,
				      "unknown option '%s' (known: ro, raw, nofail, resume-merge, rate=SIZE, defaults)",
				      tok);
		}
		if (e->opts & bit)
			return refuse(err, errlen, file, e->line,
				      "option '%s' given twice", tok);
		e->opts |= bit;
	}
	if ((e->opts & CHAINTAB_RO) && (e->opts & CHAINTAB_RESUME_MERGE))
		return refuse(err, errlen, file, e->line,
			      "resume-merge needs a writable device; it cannot go with ro");
	if ((e->opts & CHAINTAB_RATE) && !(e->opts & CHAINTAB_RESUME_MERGE))
		return refuse(err, errlen, file, e->line,
			      "rate= applies to resume-merge only");
	return 0;
}

static int check_leaf(const char *leaf, unsigned int line, const char *file,
		      char *err, size_t errlen)
{
	if (leaf[0] != '/')
		return refuse(err, errlen, file, line,
			      "leaf path '%s' is not absolute", leaf);
	if (strlen(leaf) >= 4096)
		return refuse(err, errlen, file, line, "leaf path too long");
	/* Blanks cannot reach here: they separate the fields. */
	if (!dmc_table_path_safe(leaf))
		return refuse(err, errlen, file, line,
			      "leaf path contains a backslash, control characters or byte 0xa0 (a table line cannot name it)");
	return 0;
}

/* One line, NUL-terminated in place.  0 (maybe nothing added) or -1. */
static int parse_line(char *s, unsigned int line, const char *file,
		      struct chaintab *tab, char *err, size_t errlen)
{
	char *field[4], *save = NULL, *tok;
	struct chaintab_entry e, *grown;
	const char *why;
	int nf = 0;

	for (tok = strtok_r(s, " \t\r\v\f", &save); tok;
	     tok = strtok_r(NULL, " \t\r\v\f", &save)) {
		if (tok[0] == '#')
			break;
		if (nf == 3)
			return refuse(err, errlen, file, line,
				      "too many fields at '%s' (NAME LEAF-PATH [OPTIONS]; options are separated by commas, not blanks)",
				      tok);
		field[nf++] = tok;
	}
	if (nf == 0)
		return 0;
	if (nf == 1)
		return refuse(err, errlen, file, line,
			      "'%s' has no leaf path (NAME LEAF-PATH [OPTIONS])",
			      field[0]);
	if (!dmc_dm_valid_name(field[0], &why))
		return refuse(err, errlen, file, line,
			      "invalid device name '%s': %s", field[0], why);
	if (chaintab_find(tab, field[0]))
		return refuse(err, errlen, file, line,
			      "device '%s' is listed twice (first on line %u)",
			      field[0], chaintab_find(tab, field[0])->line);
	if (check_leaf(field[1], line, file, err, errlen))
		return -1;
	if (tab->nr >= CHAINTAB_MAX_ENTRIES)
		return refuse(err, errlen, file, line,
			      "more than %u devices", CHAINTAB_MAX_ENTRIES);
	memset(&e, 0, sizeof(e));
	e.line = line;
	if (nf == 3 && parse_opts(field[2], &e, file, err, errlen))
		return -1;
	e.name = strdup(field[0]);
	e.leaf = strdup(field[1]);
	grown = realloc(tab->entries, (tab->nr + 1) * sizeof(*grown));
	if (!e.name || !e.leaf || !grown) {
		free(e.name);
		free(e.leaf);
		if (grown)
			tab->entries = grown;
		return refuse(err, errlen, file, line, "%s", strerror(ENOMEM));
	}
	tab->entries = grown;
	tab->entries[tab->nr++] = e;
	return 0;
}

int chaintab_parse_buf(const char *buf, size_t len, const char *file,
		       struct chaintab *tab, char *err, size_t errlen)
{
	char line[CHAINTAB_MAX_LINE + 1];
	unsigned int nr = 0;
	size_t pos = 0, end, n;

	memset(tab, 0, sizeof(*tab));
	err[0] = '\0';
	while (pos < len) {
		nr++;
		for (end = pos; end < len && buf[end] != '\n'; end++)
			if (buf[end] == '\0') {
				chaintab_free(tab);
				return refuse(err, errlen, file, nr,
					      "NUL byte (not a text file)");
			}
		n = end - pos;
		if (n > CHAINTAB_MAX_LINE) {
			chaintab_free(tab);
			return refuse(err, errlen, file, nr,
				      "line longer than %u bytes",
				      CHAINTAB_MAX_LINE);
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		if (parse_line(line, nr, file, tab, err, errlen)) {
			chaintab_free(tab);
			return -1;
		}
		pos = end + 1;
	}
	return 0;
}

int chaintab_parse_stream(FILE *f, const char *file, struct chaintab *tab,
			  char *err, size_t errlen)
{
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *grown;
	int ret;

	memset(tab, 0, sizeof(*tab));
	for (;;) {
		if (cap - len < 4096) {
			if (cap > (size_t)CHAINTAB_MAX_ENTRIES * CHAINTAB_MAX_LINE) {
				free(buf);
				snprintf(err, errlen, "%s: too large", file);
				return -1;
			}
			cap = cap ? cap * 2 : 8192;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				snprintf(err, errlen, "%s: %s", file,
					 strerror(ENOMEM));
				return -1;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		snprintf(err, errlen, "%s: read error", file);
		return -1;
	}
	ret = chaintab_parse_buf(buf ? buf : "", len, file, tab, err, errlen);
	free(buf);
	return ret;
}
