/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The current leaf of a chain named by an older one.  A configuration
 * (chaintab) names a leaf once, but the leaf moves: 'device snapshot' and
 * 'device merge' put a new leaf on top, by default next to the old one.
 * Creating the device from the configured, older leaf would show old data
 * and, written, break the layers above it.  leaf_follow() finds the layer
 * that is now on top: among the dm-chain layers in the configured leaf's
 * directory, those whose chain (opened as 'device create' opens it, live
 * leaps included) holds the configured leaf, or, when that one was merged
 * away, the layer it was merged into; of these, the one no other one sits
 * on.  Linkage is by the parent's random uuid and generation, so a file
 * cannot pose as a child without having read its parent's header.
 */
#ifndef DMC_LEAF_FOLLOW_H
#define DMC_LEAF_FOLLOW_H

#include <stdbool.h>
#include <sys/stat.h>

#include "dmc_err.h"

/* Most files looked at in the directory. */
#define LEAF_FOLLOW_MAX_FILES 4096

/*
 * Set *LEAF (malloc'd) to the current leaf of the chain that LEAF_PATH
 * was the leaf of: LEAF_PATH itself when nothing sits on it.  With RAW,
 * LEAF_PATH is a raw image used alone: its bytes are never parsed, and a
 * layer on top of it is refused rather than followed (a guest writing
 * into another raw image in the directory could otherwise pose as one).
 * Returns 0, or -1 with ERR set: LEAF_PATH missing, several layers on top
 * (named), or nothing usable.
 */
int leaf_follow(const char *leaf_path, bool raw, char **leaf,
		struct dmc_err *err);

/*
 * Call FN for each regular file in the directory of FILE, FILE itself
 * included, '.' and '..' not: with its path and stat.  At most
 * LEAF_FOLLOW_MAX_FILES entries are looked at; more is refused, as the
 * layers on FILE could then be missed.  FN returns 0 to go on, or -1 with
 * ERR set to stop.  Returns 0, or -1 with ERR set.
 */
int dir_each_file(const char *file,
		  int (*fn)(const char *path, const struct stat *st,
			    void *arg, struct dmc_err *err),
		  void *arg, struct dmc_err *err);

#endif
