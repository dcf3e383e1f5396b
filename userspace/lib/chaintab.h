/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /etc/dm-chain/chaintab: the chain devices to create at boot, one a line,
 * in the spirit of /etc/crypttab (docs/chaintab.md):
 *
 *   # NAME      LEAF-PATH                   [OPTIONS]
 *   vm1         /srv/vm/vm1/disk.dmc        resume-merge,rate=64M
 *   golden      /srv/img/golden.raw         raw,ro,nofail
 *
 * Fields are separated by blanks (spaces, tabs); '#' starts a comment
 * when it begins a field; blank lines are ignored.  OPTIONS is a comma
 * separated list of: ro, raw, nofail, resume-merge, rate=SIZE (MiB/s,
 * sizes.h syntax: "64M"; a whole number of MiB), or "defaults" (none).
 * Parsing is pure (no file system access besides reading the stream), so
 * it is unit tested (tests/unit/test_chaintab.c).  Every refusal names
 * FILE:LINE.
 */
#ifndef DMC_CHAINTAB_H
#define DMC_CHAINTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHAINTAB_DEFAULT_PATH	"/etc/dm-chain/chaintab"
/* Longest line accepted (a leaf path is at most PATH_MAX). */
#define CHAINTAB_MAX_LINE	8192
/* Most entries in one file. */
#define CHAINTAB_MAX_ENTRIES	4096

enum chaintab_opt {
	CHAINTAB_RO		= 1 << 0,	/* ro: a read-only device */
	CHAINTAB_RAW		= 1 << 1,	/* raw: LEAF is a raw image alone */
	CHAINTAB_NOFAIL		= 1 << 2,	/* nofail: a failure does not fail 'up' */
	CHAINTAB_RESUME_MERGE	= 1 << 3,	/* resume-merge: resume an interrupted merge */
	CHAINTAB_RATE		= 1 << 4,	/* rate=SIZE given */
};

struct chaintab_entry {
	char *name;
	char *leaf;		/* absolute */
	unsigned int opts;	/* enum chaintab_opt */
	uint32_t rate;		/* MiB/s when CHAINTAB_RATE (0: unlimited) */
	unsigned int line;	/* 1-based line in the file */
};

struct chaintab {
	unsigned int nr;
	struct chaintab_entry *entries;	/* file order */
};

/*
 * Parse LEN bytes of BUF, a chaintab named FILE (for messages).  Returns 0
 * with *TAB filled (free with chaintab_free()), or -1 with a one-line
 * "FILE:LINE: why" in ERR (ERRLEN bytes) and *TAB empty.  One bad line
 * refuses the whole file: 'tab up' then creates nothing.
 */
int chaintab_parse_buf(const char *buf, size_t len, const char *file,
		       struct chaintab *tab, char *err, size_t errlen);

/* The same from a stream (read to its end). */
int chaintab_parse_stream(FILE *f, const char *file, struct chaintab *tab,
			  char *err, size_t errlen);

void chaintab_free(struct chaintab *tab);

/* The entry named NAME, or NULL. */
const struct chaintab_entry *chaintab_find(const struct chaintab *tab,
					   const char *name);

/* The options as they would be written ("ro,nofail", "defaults"). */
char *chaintab_opts_str(const struct chaintab_entry *e, char *buf, size_t len);

#endif
