// SPDX-License-Identifier: GPL-2.0
/*
 * crashcheck: the content check of the crash-replay tests, in C because it
 * runs at every replay point (crashmodel.py writes; this reads; the stamp
 * format and the rule are the same: see crashmodel.py).
 *
 *   crashcheck DEV MODEL SEED SYNCED
 *
 * Every 4 KiB unit of DEV must hold the stamp of the last round up to
 * SYNCED that wrote it (MODEL lists each round's units), or the stamp of
 * round SYNCED+1 if that round writes the unit.  A stamp is 32 bytes
 * {"dmccrash", seed, unit, round} (little-endian u64s) repeated over the
 * unit.  Exit 0 when every unit checks out, 1 with the first bad units on
 * stderr, 2 on a usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le64.h"

#define UNIT		4096
#define STAMP		32
#define CHUNK_UNITS	256
#define NO_ROUND	UINT64_MAX

static int fail_io(const char *what, const char *path)
{
	fprintf(stderr, "crashcheck: %s %s: %s\n", what, path, strerror(errno));
	return 2;
}

/* last[u]: the last round <= synced writing u; next[u]: round synced+1 writes u. */
static int load_model(const char *path, uint64_t synced, uint64_t units, uint64_t *last,
		      bool *next)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *p, *end;
	size_t cap = 0;
	uint64_t rnd, u;

	if (!f)
		return fail_io("opening", path);
	while (getline(&line, &cap, f) > 0) {
		errno = 0;
		rnd = strtoull(line, &end, 10);
		if (errno || end == line) {
			fprintf(stderr, "crashcheck: %s: bad line '%s'\n", path, line);
			fclose(f);
			free(line);
			return 2;
		}
		for (p = end; ; p = end) {
			u = strtoull(p, &end, 10);
			if (end == p)
				break;
			if (u >= units) {
				fprintf(stderr, "crashcheck: %s: unit %" PRIu64 " past the device\n",
					path, u);
				fclose(f);
				free(line);
				return 2;
			}
			if (rnd <= synced)
				last[u] = rnd;
			else if (rnd == synced + 1)
				next[u] = true;
		}
	}
	fclose(f);
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[CHUNK_UNITS * UNIT];
	uint64_t seed, synced, units, u, *last, bad = 0;
	unsigned char want[STAMP];
	bool *next;
	struct stat st;
	int fd, rc, i;

	if (argc != 5) {
		fprintf(stderr, "usage: crashcheck DEV MODEL SEED SYNCED\n");
		return 2;
	}
	seed = strtoull(argv[3], NULL, 10);
	synced = strtoull(argv[4], NULL, 10);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail_io("opening", argv[1]);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &units) < 0)
			return fail_io("sizing", argv[1]);
	} else {
		units = (uint64_t)st.st_size;
	}
	units /= UNIT;
	last = malloc(units * sizeof(*last));
	next = calloc(units, sizeof(*next));
	if (!last || !next) {
		fprintf(stderr, "crashcheck: out of memory\n");
		return 2;
	}
	for (u = 0; u < units; u++)
		last[u] = NO_ROUND;
	rc = load_model(argv[2], synced, units, last, next);
	if (rc)
		return rc;
	for (u = 0; u < units; ) {
		uint64_t n = units - u < CHUNK_UNITS ? units - u : CHUNK_UNITS, j;
		ssize_t got = pread(fd, buf, n * UNIT, (off_t)(u * UNIT));

		if (got < 0)
			return fail_io("reading", argv[1]);
		if ((uint64_t)got != n * UNIT) {
			fprintf(stderr, "crashcheck: short read at unit %" PRIu64 "\n", u);
			return 2;
		}
		for (j = 0; j < n; j++, u++) {
			const unsigned char *blk = buf + j * UNIT;
			uint64_t rnd = le64(blk + 24);
			bool magic = !memcmp(blk, "dmccrash", 8), ok, torn = false;

			ok = magic && le64(blk + 8) == seed && le64(blk + 16) == u &&
			     ((last[u] != NO_ROUND && rnd == last[u]) ||
			      (next[u] && rnd == synced + 1));
			if (magic) {
				memcpy(want, blk, STAMP);
				for (i = 1; i < UNIT / STAMP; i++)
					if (memcmp(blk + i * STAMP, want, STAMP)) {
						torn = true;
						break;
					}
				ok = ok && !torn;
			}
			if (!magic && last[u] == NO_ROUND && !next[u])
				ok = true;	/* never written yet */
			if (ok)
				continue;
			if (bad++ < 8) {
				fprintf(stderr, "crashcheck: unit %" PRIu64 " (byte %" PRIu64 "): ",
					u, u * UNIT);
				if (!magic)
					fprintf(stderr, "no stamp");
				else if (torn)
					fprintf(stderr, "torn (starts with round %" PRIu64 ")", rnd);
				else
					fprintf(stderr, "seed %" PRIu64 " unit %" PRIu64
						" round %" PRIu64, le64(blk + 8),
						le64(blk + 16), rnd);
				if (last[u] == NO_ROUND)
					fprintf(stderr, ", expected none");
				else
					fprintf(stderr, ", expected round %" PRIu64, last[u]);
				if (next[u])
					fprintf(stderr, " or %" PRIu64, synced + 1);
				fputc('\n', stderr);
			}
		}
	}
	close(fd);
	free(last);
	free(next);
	if (bad) {
		fprintf(stderr, "crashcheck: %" PRIu64 " of %" PRIu64
			" units bad after sync-%" PRIu64 "\n", bad, units, synced);
		return 1;
	}
	return 0;
}
