/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error reporting for the layer library: a failing call fills a struct
 * dmc_err with one line "FILE: problem" (no "chainctl: " prefix, no
 * newline) and a kind the caller maps to an exit code.  The first error set
 * wins: later, more generic messages do not overwrite the precise one.
 */
#ifndef DMC_ERR_H
#define DMC_ERR_H

#include <stdbool.h>

enum dmc_err_kind {
	DMC_ERR_NONE = 0,
	DMC_ERR_USAGE,		/* bad argument or request */
	DMC_ERR_IO,		/* could not read/write/open: errno based */
	DMC_ERR_CORRUPT,	/* a file violates the format */
	DMC_ERR_STALE,		/* linkage broken: parent changed, merged away */
	DMC_ERR_BUSY,		/* held by a live device (lock conflict) */
	DMC_ERR_JOURNAL,	/* an interrupted merge must be finished first */
	DMC_ERR_MERGED,		/* the layer is merged away and that merge is done */
};

struct dmc_err {
	enum dmc_err_kind kind;
	int errnum;		/* errno when kind is DMC_ERR_IO, else 0 */
	char msg[1536];
};

void dmc_err_clear(struct dmc_err *err);
bool dmc_err_isset(const struct dmc_err *err);

/* Set the error unless one is already set; returns -1 for "return dmc_err(...)". */
int dmc_err(struct dmc_err *err, enum dmc_err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As dmc_err(DMC_ERR_IO), appending ": strerror(errnum)". */
int dmc_err_errno(struct dmc_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
