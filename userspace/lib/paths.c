// SPDX-License-Identifier: GPL-2.0
/* Relative path hints: see paths.h. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmc_err.h"
#include "paths.h"

char *path_relative(const char *from_dir, const char *to)
{
	size_t common = 0, i, ups = 0;
	const char *rest;
	char *out, *p;

	if (!strcmp(from_dir, "/"))
		return strdup(to[1] ? to + 1 : ".");
	/* Longest common prefix that ends at a component boundary of both. */
	for (i = 0; from_dir[i] && from_dir[i] == to[i]; i++)
		if (from_dir[i] == '/')
			common = i;
	if (!from_dir[i] && (to[i] == '/' || !to[i]))
		common = i;
	/* One ".." for each component of FROM_DIR after the common part. */
	for (i = common; from_dir[i]; i++)
		if (from_dir[i] == '/')
			ups++;
	rest = to + common;
	if (*rest == '/')
		rest++;
	out = malloc(ups * 3 + strlen(rest) + 2);
	if (!out)
		return NULL;
	p = out;
	for (i = 0; i < ups; i++)
		p = stpcpy(p, "../");
	p = stpcpy(p, rest);
	if (p == out)
		strcpy(out, ".");
	else if (p > out + 1 && p[-1] == '/')
		p[-1] = '\0';
	return out;
}

char *path_relative_to_file(const char *file, const char *target)
{
	char dir_abs[PATH_MAX], to_abs[PATH_MAX];
	char *copy = strdup(file);

	if (!copy)
		return NULL;
	if (!realpath(dirname(copy), dir_abs) || !realpath(target, to_abs)) {
		free(copy);
		return NULL;
	}
	free(copy);
	return path_relative(dir_abs, to_abs);
}

char *path_resolve_hint(const char *file, const char *hint)
{
	char *copy, *dir, *out;

	if (hint[0] == '/')
		return strdup(hint);
	copy = strdup(file);
	if (!copy)
		return NULL;
	dir = dirname(copy);
	if (!strcmp(dir, "."))
		out = strdup(hint);
	else if (asprintf(&out, "%s/%s", dir, hint) < 0)
		out = NULL;
	free(copy);
	return out;
}

int path_relative_field(const char *file, const char *target, char *out,
			size_t size, struct dmc_err *err)
{
	char *rel = path_relative_to_file(file, target);

	if (!rel)
		return dmc_err_errno(err, errno, "%s: cannot resolve path", target);
	if (strlen(rel) >= size) {
		free(rel);
		return dmc_err(err, DMC_ERR_USAGE, "%s: path too long for the journal",
			       target);
	}
	memset(out, 0, size);
	strcpy(out, rel);
	free(rel);
	return 0;
}
