// SPDX-License-Identifier: GPL-2.0
/*
 * mkchain: make a long chain of layers in one process, as that many
 * `chainctl layer create --parent` calls would (the same library call,
 * layer_create()), for scenarios and benchmarks that need thousands of
 * layers: under software emulation starting chainctl alone takes tens of
 * milliseconds.
 *
 *   mkchain [--scatter COUNT SEED] PARENT N FORMAT
 *	creates N layers, the first a child of PARENT, each later one a
 *	child of the one before; layer i (1 .. N) goes to the path FORMAT
 *	gives with i (a printf format taking one unsigned int, "%04u").
 *	Prints the last path.  Exits 1 with chainctl's message on the
 *	first error (the layers made before it stay).
 *
 *	With --scatter, PARENT and every layer but the last first get COUNT
 *	blocks spread at random over their disk marked DATA, before their
 *	child is made (so the extent list layer_create() gives them holds
 *	about COUNT runs).  Only their maps are written: their data area
 *	stays a hole and those blocks read as zeros.  For the deep-chain
 *	benchmark (a 1 TiB chain of 1024 layers with thousands of extents
 *	each would otherwise need terabytes of data written).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmc_err.h"
#include "layer_create.h"
#include "layer_file.h"

/* xorshift64*: a fixed sequence for a seed, the same on every host. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* COUNT random blocks of PATH marked DATA; the map pages they touch written. */
static int scatter(const char *path, unsigned long count, uint64_t seed,
		   struct dmc_err *err)
{
	uint64_t nr, b, page, pages, s = seed * 2654435761ULL + 1;
	uint8_t *touched;
	struct layer *l;
	unsigned long k;
	int ret = -1;

	if (layer_open(path, LAYER_RDWR | LAYER_LOCK_EX | LAYER_LOAD_MAP, &l, err))
		return -1;
	nr = layer_header_nr_blocks(&l->hdr);
	pages = l->hdr.map_length / DMC_SLOT_SIZE;
	touched = calloc(pages, 1);
	if (!touched) {
		dmc_err_errno(err, ENOMEM, "%s", path);
		goto out;
	}
	for (k = 0; k < count; k++) {
		b = next_rand(&s) % nr;
		dmc_map_set(l->map, b, DMC_BLOCK_DATA);
		touched[b / DMC_BLOCKS_PER_MAP_BYTE / DMC_SLOT_SIZE] = 1;
	}
	for (page = 0; page < pages; page++)
		if (touched[page] &&
		    layer_write_map(l, page * DMC_SLOT_SIZE * DMC_BLOCKS_PER_MAP_BYTE,
				    DMC_SLOT_SIZE * DMC_BLOCKS_PER_MAP_BYTE, err))
			goto out;
	if (fdatasync(l->fd)) {
		dmc_err_errno(err, errno, "%s: cannot sync", path);
		goto out;
	}
	ret = 0;
out:
	free(touched);
	layer_close(l);
	return ret;
}

static unsigned long parse_count(const char *s, const char *what)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || !n || n > 100000000) {
		fprintf(stderr, "mkchain: bad %s '%s'\n", what, s);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	char parent[4096], path[4096];
	unsigned long n, i, scatter_count = 0, seed = 0;
	struct layer_create_opts opts;
	struct dmc_err err;

	if (argc > 1 && !strcmp(argv[1], "--scatter")) {
		if (argc < 4) {
			fprintf(stderr, "mkchain: --scatter takes COUNT SEED\n");
			return 2;
		}
		scatter_count = parse_count(argv[2], "count");
		seed = parse_count(argv[3], "seed");
		argv += 3;
		argc -= 3;
	}
	if (argc != 4) {
		fprintf(stderr, "Usage: mkchain [--scatter COUNT SEED] PARENT N FORMAT\n");
		return 2;
	}
	n = parse_count(argv[2], "count");
	snprintf(parent, sizeof(parent), "%s", argv[1]);
	for (i = 1; i <= n; i++) {
		if (snprintf(path, sizeof(path), argv[3], (unsigned int)i) >=
		    (int)sizeof(path)) {
			fprintf(stderr, "mkchain: path too long\n");
			return 1;
		}
		dmc_err_clear(&err);
		if (scatter_count && scatter(parent, scatter_count, seed + i, &err)) {
			fprintf(stderr, "mkchain: layer %lu: %s\n", i - 1, err.msg);
			return 1;
		}
		memset(&opts, 0, sizeof(opts));
		opts.parent = parent;
		if (layer_create(path, &opts, &err)) {
			fprintf(stderr, "mkchain: layer %lu: %s\n", i, err.msg);
			return 1;
		}
		memcpy(parent, path, sizeof(parent));
	}
	printf("%s\n", path);
	return 0;
}
