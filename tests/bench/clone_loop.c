// SPDX-License-Identifier: GPL-2.0
/*
 * clone_loop: the bare reference loops the merge benchmark compares
 * chainctl against.  Reads a run list ("OFFSET LENGTH" in bytes, one run a
 * line) and moves every run from SRC (at SRC_BASE + OFFSET) to DST (at
 * DST_BASE + OFFSET):
 *
 *   clone  one FICLONERANGE ioctl per run, nothing else (the limit a
 *          reflink merge can reach on this filesystem)
 *   copy   pread + pwrite through one buffer (default 1 MiB), per run
 *
 * Both end with fsync(DST), as a durable merge must.  Prints one line:
 *   mode=clone runs=N bytes=B seconds=S
 * where S covers the loop and the fsync (not reading the run list).
 *
 * Usage: clone_loop clone|copy SRC SRC_BASE DST DST_BASE RUNLIST [BUFSIZE]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct run {
	uint64_t off, len;
};

static void die(const char *what)
{
	fprintf(stderr, "clone_loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "clone_loop: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (uint64_t)v;
}

static struct run *read_runs(const char *path, size_t *nr)
{
	FILE *f = fopen(path, "r");
	struct run *runs = NULL;
	size_t n = 0, cap = 0;
	unsigned long long off, len;

	if (!f)
		die(path);
	while (fscanf(f, "%llu %llu", &off, &len) == 2) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			runs = realloc(runs, cap * sizeof(*runs));
			if (!runs)
				die("realloc");
		}
		runs[n].off = off;
		runs[n].len = len;
		n++;
	}
	if (!feof(f)) {
		fprintf(stderr, "clone_loop: %s: malformed line after run %zu\n", path, n);
		exit(2);
	}
	fclose(f);
	*nr = n;
	return runs;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void copy_run(int src, uint64_t soff, int dst, uint64_t doff, uint64_t len,
		     char *buf, size_t bufsize)
{
	uint64_t done = 0;

	while (done < len) {
		size_t want = len - done > bufsize ? bufsize : (size_t)(len - done);
		ssize_t n = pread(src, buf, want, (off_t)(soff + done));
		ssize_t w, wd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			die("pread");
		}
		for (wd = 0; wd < n; wd += w) {
			w = pwrite(dst, buf + wd, (size_t)(n - wd), (off_t)(doff + done + (uint64_t)wd));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				die("pwrite");
		}
		done += (uint64_t)n;
	}
}

int main(int argc, char **argv)
{
	uint64_t sbase, dbase, bytes = 0;
	size_t nr, i, bufsize = 1U << 20;
	struct run *runs;
	char *buf = NULL;
	int clone, src, dst;
	double t0, t1;

	if (argc != 7 && argc != 8) {
		fprintf(stderr,
			"usage: clone_loop clone|copy SRC SRC_BASE DST DST_BASE RUNLIST [BUFSIZE]\n");
		return 2;
	}
	if (!strcmp(argv[1], "clone"))
		clone = 1;
	else if (!strcmp(argv[1], "copy"))
		clone = 0;
	else {
		fprintf(stderr, "clone_loop: mode must be clone or copy\n");
		return 2;
	}
	sbase = parse_u64(argv[3], "SRC_BASE");
	dbase = parse_u64(argv[5], "DST_BASE");
	if (argc == 8)
		bufsize = (size_t)parse_u64(argv[7], "BUFSIZE");
	runs = read_runs(argv[6], &nr);
	src = open(argv[2], O_RDONLY);
	if (src < 0)
		die(argv[2]);
	dst = open(argv[4], O_WRONLY);
	if (dst < 0)
		die(argv[4]);
	if (!clone) {
		buf = malloc(bufsize);
		if (!buf || !bufsize)
			die("malloc");
	}

	t0 = now();
	for (i = 0; i < nr; i++) {
		if (clone) {
			struct file_clone_range fcr = {
				.src_fd = src,
				.src_offset = sbase + runs[i].off,
				.src_length = runs[i].len,
				.dest_offset = dbase + runs[i].off,
			};

			if (ioctl(dst, FICLONERANGE, &fcr))
				die("FICLONERANGE");
		} else {
			copy_run(src, sbase + runs[i].off, dst, dbase + runs[i].off,
				 runs[i].len, buf, bufsize);
		}
		bytes += runs[i].len;
	}
	if (fsync(dst))
		die("fsync");
	t1 = now();

	printf("mode=%s runs=%zu bytes=%" PRIu64 " seconds=%.6f\n",
	       clone ? "clone" : "copy", nr, bytes, t1 - t0);
	free(buf);
	free(runs);
	close(src);
	close(dst);
	return 0;
}
