// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the copy path (userspace/lib/extent_copy.c) on real files
 * in a temporary directory: ranges copied through a pipe (aligned and not,
 * across its 1 MiB chunks, over the source's holes) equal a byte model and
 * the unpiped copy's result; holes in the source become holes or zeros in
 * the destination; a fresh destination is left sparse where the source is
 * zero; a write error surfaces at the drain and refuses later work, also
 * for ranges that would have gone by O_DIRECT; a truncated source is
 * corrupt; the direct path is taken where the directory's file system
 * takes O_DIRECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dmc_err.h"
#include "extent_copy.h"

#define MIB	(1ULL << 20)
#define FSIZE	(6 * MIB)

static char dir[] = "/tmp/dmc-extent-copy.XXXXXX";

static const char *p(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static uint64_t rnd_state = 12345;

static uint64_t rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return rnd_state >> 33;
}

/* A source of FSIZE: random bytes, with two holes (one across the 1 MiB
 * chunk boundary at 2 MiB, one of the last 512 KiB) and a zero-filled
 * (allocated) stretch.  Returns its bytes as read. */
static unsigned char *make_source(const char *path)
{
	unsigned char *b = malloc(FSIZE);
	uint64_t i;
	int fd;

	assert_non_null(b);
	for (i = 0; i < FSIZE; i++)
		b[i] = (unsigned char)(rnd() | 1);
	memset(b + 2 * MIB - 192 * 1024, 0, 320 * 1024);	/* hole */
	memset(b + 4 * MIB, 0, 256 * 1024);			/* written zeros */
	memset(b + FSIZE - 512 * 1024, 0, 512 * 1024);		/* hole */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, 2 * MIB - 192 * 1024, 0), 2 * MIB - 192 * 1024);
	assert_int_equal(pwrite(fd, b + 2 * MIB + 128 * 1024,
				FSIZE - 512 * 1024 - (2 * MIB + 128 * 1024),
				2 * MIB + 128 * 1024),
			 FSIZE - 512 * 1024 - (2 * MIB + 128 * 1024));
	assert_int_equal(ftruncate(fd, FSIZE), 0);
	assert_int_equal(fsync(fd), 0);
	close(fd);
	return b;
}

/* A destination of FSIZE filled with 0xAA; the model of it in *MODEL. */
static int make_dest(const char *path, unsigned char **model, int flags)
{
	unsigned char *b = malloc(FSIZE);
	int fd;

	assert_non_null(b);
	memset(b, 0xAA, FSIZE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, FSIZE, 0), FSIZE);
	close(fd);
	fd = open(path, flags);
	assert_true(fd >= 0);
	*model = b;
	return fd;
}

static void assert_file_is(const char *path, const unsigned char *want)
{
	unsigned char *got = malloc(FSIZE);
	uint64_t i;
	int fd = open(path, O_RDONLY);

	assert_non_null(got);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, FSIZE, 0), FSIZE);
	close(fd);
	for (i = 0; i < FSIZE; i++)
		if (got[i] != want[i])
			fail_msg("%s: byte %llu is %#x, expected %#x", path,
				 (unsigned long long)i, got[i], want[i]);
	free(got);
}

struct range {
	uint64_t src, dst, len;
};

/* Disjoint destination ranges, each from anywhere in the source: aligned
 * ones that cross chunks and holes, and unaligned small ones. */
static const struct range ranges[] = {
	{ 0, 0, 1 * MIB + 64 * 1024 },			/* aligned, 2 chunks */
	{ 2 * MIB - 256 * 1024, 2 * MIB - 256 * 1024, 512 * 1024 }, /* the hole */
	{ 3 * MIB + 100, 1 * MIB + 200 * 1024, 5000 },	/* unaligned */
	{ 4 * MIB, 3 * MIB, 1 * MIB + 4096 },		/* zeros, then data */
	{ 5 * MIB, 4 * MIB + 512 * 1024, 1 * MIB },	/* data, then the end hole */
	{ 777, 5 * MIB + 600 * 1024, 4096 },		/* small */
};

static void copy_all(struct xfer_pipe *pipe, bool skip_zeroes, int sfd,
		     int dfd, const unsigned char *src, unsigned char *model,
		     struct xfer_stats *st)
{
	struct xfer_file s = { sfd, "src" }, d = { dfd, "dst" };
	struct xfer_opts o = { XFER_COPY, skip_zeroes, pipe, st };
	struct dmc_err err;
	uint64_t sum = 0;
	size_t i;

	dmc_err_clear(&err);
	memset(st, 0, sizeof(*st));
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range *r = &ranges[i];

		assert_int_equal(xfer_range(&s, r->src, &d, r->dst, r->len, &o, &err), 0);
		memcpy(model + r->dst, src + r->src, r->len);
		sum += r->len;
	}
	assert_int_equal(xfer_pipe_drain(pipe, &err), 0);
	assert_false(dmc_err_isset(&err));
	assert_int_equal(st->bytes_copied, sum);
	assert_int_equal(st->copy_ranges, sizeof(ranges) / sizeof(ranges[0]));
	assert_int_equal(st->bytes_cloned, 0);
}

/* Whether the test directory's file system takes O_DIRECT. */
static bool dir_takes_direct(void)
{
	int fd = open(p("probe"), O_RDWR | O_CREAT | O_DIRECT, 0644);

	if (fd < 0)
		return false;
	close(fd);
	unlink(p("probe"));
	return true;
}

static void test_pipe_equals_model(void **state)
{
	unsigned char *src = make_source(p("src")), *model, *model2;
	struct dmc_err err;
	struct xfer_stats st, st2;
	struct xfer_pipe *pipe;
	int sfd, dfd;

	(void)state;
	dmc_err_clear(&err);
	sfd = open(p("src"), O_RDONLY);
	assert_true(sfd >= 0);
	dfd = make_dest(p("dst"), &model, O_RDWR);
	pipe = xfer_pipe_new(&err);
	assert_non_null(pipe);
	copy_all(pipe, false, sfd, dfd, src, model, &st);
	xfer_pipe_free(pipe);
	close(dfd);
	assert_file_is(p("dst"), model);
	/* The holes were not read: the hole at 2 MiB (320 KiB in the range)
	 * and the last 512 KiB.  Only where the file system reports holes. */
	if (lseek(sfd, 2 * MIB, SEEK_HOLE) == (off_t)(2 * MIB - 192 * 1024))
		assert_true(st.bytes_holes >= 320 * 1024 + 512 * 1024);
	if (dir_takes_direct())
		assert_true(st.bytes_direct >= 2 * MIB);
	else
		assert_int_equal(st.bytes_direct, 0);

	/* The unpiped copy gives the same file. */
	dfd = make_dest(p("dst2"), &model2, O_RDWR);
	copy_all(NULL, false, sfd, dfd, src, model2, &st2);
	close(dfd);
	assert_memory_equal(model, model2, FSIZE);
	assert_file_is(p("dst2"), model2);
	assert_int_equal(st2.bytes_direct + st2.bytes_holes, 0);
	close(sfd);
	free(src);
	free(model);
	free(model2);
}

/* A fresh sparse destination (skip_zeroes): zeros and holes stay holes. */
static void test_pipe_fresh_sparse(void **state)
{
	unsigned char *src = make_source(p("src")), *model = calloc(1, FSIZE);
	struct xfer_stats st;
	struct dmc_err err;
	struct xfer_pipe *pipe;
	struct stat sb;
	int sfd, dfd;

	(void)state;
	dmc_err_clear(&err);
	assert_non_null(model);
	sfd = open(p("src"), O_RDONLY);
	dfd = open(p("fresh"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(sfd >= 0 && dfd >= 0);
	assert_int_equal(ftruncate(dfd, FSIZE), 0);
	pipe = xfer_pipe_new(&err);
	assert_non_null(pipe);
	copy_all(pipe, true, sfd, dfd, src, model, &st);
	xfer_pipe_free(pipe);
	assert_int_equal(fsync(dfd), 0);
	assert_int_equal(fstat(dfd, &sb), 0);
	close(dfd);
	close(sfd);
	assert_file_is(p("fresh"), model);
	/* Data written: 1088 + 192 + 5 + 772 + 512 + 4 KiB, about 2.5 MiB;
	 * the ranges are 3.6 MiB with their zeros and holes. */
	assert_true((uint64_t)sb.st_blocks * 512 <= 3 * MIB);
	free(src);
	free(model);
}

/* A write error (the destination open read-only) surfaces at the drain,
 * for buffered and would-be direct ranges alike, and refuses what follows. */
static void test_pipe_write_error(void **state)
{
	unsigned char *src = make_source(p("src")), *model;
	struct xfer_stats st = { 0 };
	struct xfer_opts o = { XFER_COPY, false, NULL, &st };
	struct xfer_file s, d;
	struct dmc_err err;
	int sfd, dfd, pass;

	(void)state;
	sfd = open(p("src"), O_RDONLY);
	assert_true(sfd >= 0);
	for (pass = 0; pass < 2; pass++) {
		uint64_t len = pass ? 1 * MIB : 5000;	/* direct-sized, or not */

		dmc_err_clear(&err);
		dfd = make_dest(p("ro"), &model, O_RDONLY);
		s = (struct xfer_file){ sfd, "src" };
		d = (struct xfer_file){ dfd, "ro-dst" };
		o.pipe = xfer_pipe_new(&err);
		assert_non_null(o.pipe);
		/* Queued: the failure may come now or at the drain. */
		if (xfer_range(&s, 0, &d, 0, len, &o, &err) == 0)
			assert_int_equal(xfer_pipe_drain(o.pipe, &err), -1);
		assert_int_equal(err.kind, DMC_ERR_IO);
		assert_int_equal(err.errnum, EBADF);
		assert_non_null(strstr(err.msg, "ro-dst: write failed"));
		dmc_err_clear(&err);
		assert_int_equal(xfer_range(&s, 0, &d, 2 * MIB, 4096, &o, &err), -1);
		assert_int_equal(err.errnum, EBADF);
		xfer_pipe_free(o.pipe);
		close(dfd);
		assert_file_is(p("ro"), model);	/* nothing written */
		free(model);
	}
	close(sfd);
	free(src);
}

/* A source that ends inside the range is corrupt, piped or not. */
static void test_truncated_source(void **state)
{
	unsigned char *src = make_source(p("src")), *model;
	struct xfer_stats st = { 0 };
	struct xfer_opts o = { XFER_COPY, false, NULL, &st };
	struct xfer_file s, d;
	struct dmc_err err;
	int sfd, dfd, pass;

	(void)state;
	assert_int_equal(truncate(p("src"), 5 * MIB + 4096), 0);
	sfd = open(p("src"), O_RDONLY);
	dfd = make_dest(p("dst"), &model, O_RDWR);
	assert_true(sfd >= 0);
	s = (struct xfer_file){ sfd, "short-src" };
	d = (struct xfer_file){ dfd, "dst" };
	for (pass = 0; pass < 2; pass++) {
		dmc_err_clear(&err);
		o.pipe = pass ? xfer_pipe_new(&err) : NULL;
		assert_int_equal(xfer_range(&s, 5 * MIB - 64 * 1024, &d, 0, 1 * MIB,
					    &o, &err), -1);
		assert_int_equal(err.kind, DMC_ERR_CORRUPT);
		assert_non_null(strstr(err.msg, "short-src: ends inside a data block"));
		xfer_pipe_free(o.pipe);
	}
	close(sfd);
	close(dfd);
	free(src);
	free(model);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	const char *names[] = { "src", "dst", "dst2", "fresh", "ro", "probe" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(p(names[i]));
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_equals_model),
		cmocka_unit_test(test_pipe_fresh_sparse),
		cmocka_unit_test(test_pipe_write_error),
		cmocka_unit_test(test_truncated_source),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
