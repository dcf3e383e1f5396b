/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Path hints stored in layer headers are relative to the directory of the
 * file that stores them, so a chain can be moved or copied as a directory.
 */
#ifndef DMC_PATHS_H
#define DMC_PATHS_H

#include <stddef.h>

/*
 * The path of TARGET relative to the directory that holds FILE (both may be
 * relative to the cwd; FILE need not exist yet, its directory must).
 * Returns a malloc'd string, or NULL with errno set.
 */
char *path_relative_to_file(const char *file, const char *target);

/*
 * TARGET relative to the directory of FILE into the SIZE-byte header
 * field OUT (zero padded): a journal's or a record's path.  Fails
 * (DMC_ERR_USAGE) when it does not fit.
 */
struct dmc_err;
int path_relative_field(const char *file, const char *target, char *out,
			size_t size, struct dmc_err *err);

/*
 * Pure part of the above: the relative path from absolute directory FROM to
 * absolute path TO, both canonical (no "." / ".." / "//").  Malloc'd.
 */
char *path_relative(const char *from_dir, const char *to);

/* Resolve HINT stored in FILE's header: absolute stays, relative is joined
 * to FILE's directory.  Malloc'd, NULL on ENOMEM. */
char *path_resolve_hint(const char *file, const char *hint);

#endif
