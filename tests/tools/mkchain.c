// SPDX-License-Identifier: GPL-2.0
/*
 * mkchain: make a long chain of empty layers in one process, as that many
 * `chainctl layer create --parent` calls would (the same library call,
 * layer_create()), for scenarios that need thousands of layers: under
 * software emulation starting chainctl alone takes tens of milliseconds.
 *
 *   mkchain PARENT N FORMAT
 *	creates N layers, the first a child of PARENT, each later one a
 *	child of the one before; layer i (1 .. N) goes to the path FORMAT
 *	gives with i (a printf format taking one unsigned int, "%04u").
 *	Prints the last path.  Exits 1 with chainctl's message on the
 *	first error (the layers made before it stay).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmc_err.h"
#include "layer_create.h"

int main(int argc, char **argv)
{
	char parent[4096], path[4096];
	struct layer_create_opts opts;
	struct dmc_err err;
	unsigned long n, i;
	char *end;

	if (argc != 4) {
		fprintf(stderr, "Usage: mkchain PARENT N FORMAT\n");
		return 2;
	}
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno || *end || !n || n > 1000000) {
		fprintf(stderr, "mkchain: bad count '%s'\n", argv[2]);
		return 2;
	}
	snprintf(parent, sizeof(parent), "%s", argv[1]);
	for (i = 1; i <= n; i++) {
		if (snprintf(path, sizeof(path), argv[3], (unsigned int)i) >=
		    (int)sizeof(path)) {
			fprintf(stderr, "mkchain: path too long\n");
			return 1;
		}
		memset(&opts, 0, sizeof(opts));
		opts.parent = parent;
		dmc_err_clear(&err);
		if (layer_create(path, &opts, &err)) {
			fprintf(stderr, "mkchain: layer %lu: %s\n", i, err.msg);
			return 1;
		}
		memcpy(parent, path, sizeof(parent));
	}
	printf("%s\n", path);
	return 0;
}
