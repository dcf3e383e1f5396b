// SPDX-License-Identifier: GPL-2.0
/*
 * chainfsx: a random-operation exerciser for a dm-chain device (or a file on
 * a filesystem made on one).  It keeps a model of the whole content in
 * memory, runs seeded random reads, writes, discards, write-zeroes and
 * flushes at 512-byte granular, overlapping offsets (512 B .. 1 MiB, O_DIRECT
 * and buffered), checks every read against the model, and every M
 * operations runs an external command (a snapshot, a live merge) after
 * which a full read must still match.  On a mismatch it prints the last K
 * operations, the offset and the expected and read bytes, and exits 1.
 *
 * Discards follow docs/target.md: a discarded sector may read as zeros or
 * keep its content (parts of blocks the leaf lacks are left alone); with
 * -b BS, sectors in chain blocks covered whole must read zeros.  Such a
 * sector is tracked as "old or zero" until a read tells which.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECT ((uint64_t)512)
#define MAXLEN ((uint64_t)1024 * 1024)

enum { OP_READ, OP_WRITE, OP_DISCARD, OP_ZEROOUT, OP_FZERO, OP_PUNCH,
       OP_FLUSH, OP_HOOK, OP_VERIFY, NR_OPS };
static const char *const op_name[NR_OPS] = {
	"read", "write", "discard", "zeroout", "fzero", "punch", "flush",
	"hook", "verify" };

struct logent { uint64_t n; int op; int direct; uint64_t off, len; };

static uint64_t rng;
static uint64_t size, nsect, blocksize, opno, counts[NR_OPS];
static unsigned char *model, *maybe_zero, *buf;
static int fd_b, fd_d, file_mode;
static struct logent *ring;
static unsigned int ring_len = 32;

static uint64_t rnd(void)
{
	/* splitmix64: small, good enough, reproducible everywhere */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void die(const char *what)
{
	fprintf(stderr, "chainfsx: op %" PRIu64 ": %s: %s\n", opno, what,
		strerror(errno));
	exit(2);
}

static void log_op(int op, int direct, uint64_t off, uint64_t len)
{
	struct logent *e = &ring[opno % ring_len];

	e->n = opno; e->op = op; e->direct = direct; e->off = off; e->len = len;
	counts[op]++;
}

static void dump_log(void)
{
	uint64_t first = opno + 1 > ring_len ? opno + 1 - ring_len : 0;

	fprintf(stderr, "last %" PRIu64 " operations:\n", opno + 1 - first);
	for (uint64_t i = first; i <= opno; i++) {
		struct logent *e = &ring[i % ring_len];

		if (e->n != i)
			continue;
		fprintf(stderr, "  %8" PRIu64 " %-7s %s off 0x%" PRIx64
			" len 0x%" PRIx64 " (end 0x%" PRIx64 ")\n", e->n,
			op_name[e->op], e->direct ? "direct  " : "buffered",
			e->off, e->len, e->off + e->len);
	}
}

static void hexrow(const char *tag, const unsigned char *p, uint64_t off,
		   uint64_t n)
{
	fprintf(stderr, "  %s 0x%08" PRIx64 ":", tag, off);
	for (uint64_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fputc('\n', stderr);
}

static void xpread(int fd, unsigned char *p, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, p + done, len - done, off + done);

		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			die("pread");
		}
		done += r;
	}
}

static void xpwrite(int fd, const unsigned char *p, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t r = pwrite(fd, p + done, len - done, off + done);

		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			die("pwrite");
		}
		done += r;
	}
}

static int all_zero(const unsigned char *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* compare what was read at [off, off+len) with the model; settle "old or zero" */
static void check(const unsigned char *got, uint64_t off, uint64_t len)
{
	for (uint64_t s = off / SECT; s < (off + len) / SECT; s++) {
		const unsigned char *g = got + (s * SECT - off);
		unsigned char *m = model + s * SECT;
		uint64_t i;

		/*
		 * An "old or zero" sector stays so until it is written: the
		 * block layer zeroes the discarded part of a cached page
		 * (truncate_bdev_range) while the device may keep the old
		 * content, so buffered and direct reads may differ.
		 */
		if (!memcmp(g, m, SECT) || (maybe_zero[s] && all_zero(g, SECT)))
			continue;
		for (i = 0; i < SECT && g[i] == m[i]; i++)
			;
		fprintf(stderr, "chainfsx: MISMATCH at op %" PRIu64
			" offset 0x%" PRIx64 " (sector %" PRIu64 "%s)\n",
			opno, s * SECT + i, s,
			maybe_zero[s] ? ", old content or zeros allowed" : "");
		uint64_t a = i & ~15ULL, n = SECT - a < 32 ? SECT - a : 32;

		hexrow("expected", m + a, s * SECT + a, n);
		hexrow("got     ", g + a, s * SECT + a, n);
		dump_log();
		exit(1);
	}
}

static void full_verify(void)
{
	log_op(OP_VERIFY, 1, 0, size);
	for (uint64_t off = 0; off < size; off += MAXLEN) {
		uint64_t len = size - off < MAXLEN ? size - off : MAXLEN;

		xpread(fd_d, buf, len, off);
		check(buf, off, len);
	}
}

static void pick(uint64_t *off, uint64_t *len)
{
	uint64_t maxs = MAXLEN / SECT, n;

	/* favour small requests, sometimes large ones */
	n = (rnd() % 4 == 0) ? 1 + rnd() % maxs : 1 + rnd() % 32;
	if (n > nsect)
		n = nsect;
	*off = (rnd() % (nsect - n + 1)) * SECT;
	*len = n * SECT;
}

/* a discard: whole chain blocks read zeros (with -b), the rest old or zeros */
static void model_discard(uint64_t off, uint64_t len)
{
	for (uint64_t s = off / SECT; s < (off + len) / SECT; s++) {
		uint64_t b0 = blocksize ? (s * SECT) / blocksize * blocksize : 0;

		if (file_mode || (blocksize && b0 >= off &&
				  b0 + blocksize <= off + len)) {
			memset(model + s * SECT, 0, SECT);
			maybe_zero[s] = 0;
		} else if (!all_zero(model + s * SECT, SECT)) {
			maybe_zero[s] = 1;
		}
	}
}

static void model_zero(uint64_t off, uint64_t len)
{
	memset(model + off, 0, len);
	memset(maybe_zero + off / SECT, 0, len / SECT);
}

static void run_hook(const char *cmd)
{
	int rc;

	log_op(OP_HOOK, 0, 0, 0);
	if (fsync(fd_b))
		die("fsync before hook");
	rc = system(cmd);
	if (rc != 0) {
		fprintf(stderr, "chainfsx: op %" PRIu64 ": hook '%s' failed (%d)\n",
			opno, cmd, rc);
		dump_log();
		exit(2);
	}
	full_verify();
}

static void usage(void)
{
	fprintf(stderr,
		"usage: chainfsx [-S seed] [-N ops] [-K log] [-b chain_block]\n"
		"                [-x cmd -M every] [-C corrupt_at_op] [-q]\n"
		"                (DEVICE | -f FILE -s bytes)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, nops = 10000, every = 0, corrupt_at = 0, fsize = 0;
	const char *hook = NULL, *path;
	int c, quiet = 0;

	while ((c = getopt(argc, argv, "S:N:K:b:x:M:C:fs:q")) != -1) {
		switch (c) {
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'N': nops = strtoull(optarg, NULL, 0); break;
		case 'K': ring_len = strtoul(optarg, NULL, 0); break;
		case 'b': blocksize = strtoull(optarg, NULL, 0); break;
		case 'x': hook = optarg; break;
		case 'M': every = strtoull(optarg, NULL, 0); break;
		case 'C': corrupt_at = strtoull(optarg, NULL, 0); break;
		case 'f': file_mode = 1; break;
		case 's': fsize = strtoull(optarg, NULL, 0); break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || !ring_len || (hook && !every))
		usage();
	path = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng = seed;
	ring = calloc(ring_len, sizeof(*ring));

	fd_b = open(path, O_RDWR | (file_mode ? O_CREAT | O_TRUNC : 0), 0644);
	if (fd_b < 0)
		die(path);
	if (file_mode) {
		if (!fsize || fsize % SECT || ftruncate(fd_b, fsize))
			usage();
		size = fsize;
	} else if (ioctl(fd_b, BLKGETSIZE64, &size)) {
		die("BLKGETSIZE64");
	}
	if (fsize && fsize < size)
		size = fsize;
	size -= size % SECT;
	nsect = size / SECT;
	fd_d = open(path, O_RDWR | O_DIRECT);
	if (fd_d < 0)
		die("open O_DIRECT");
	model = malloc(size);
	maybe_zero = calloc(nsect, 1);
	if (!model || !maybe_zero || !ring ||
	    posix_memalign((void **)&buf, 4096, MAXLEN))
		die("memory");

	/* start from what is there: the model is the device's first read */
	for (uint64_t off = 0; off < size; off += MAXLEN) {
		uint64_t len = size - off < MAXLEN ? size - off : MAXLEN;

		xpread(fd_d, buf, len, off);
		memcpy(model + off, buf, len);
	}
	if (!quiet)
		printf("chainfsx: %s, %" PRIu64 " bytes, seed %" PRIu64 ", %" PRIu64
	       " ops\n", path, size, seed, nops);

	for (opno = 1; opno <= nops; opno++) {
		uint64_t off, len, r = rnd() % 100;
		int direct = rnd() & 1, fd = direct ? fd_d : fd_b;
		uint64_t range[2];

		pick(&off, &len);
		range[0] = off;
		range[1] = len;
		if (r < 35) {
			log_op(OP_READ, direct, off, len);
			xpread(fd, buf, len, off);
			check(buf, off, len);
		} else if (r < 75) {
			log_op(OP_WRITE, direct, off, len);
			for (uint64_t i = 0; i < len; i += 8) {
				uint64_t v = rnd();

				memcpy(buf + i, &v, 8);
			}
			xpwrite(fd, buf, len, off);
			memcpy(model + off, buf, len);
			memset(maybe_zero + off / SECT, 0, len / SECT);
		} else if (r < 83) {
			log_op(OP_DISCARD, 0, off, len);
			if (file_mode) {
				if (fallocate(fd_b, FALLOC_FL_PUNCH_HOLE |
					      FALLOC_FL_KEEP_SIZE, off, len))
					die("punch hole");
			} else if (sync_file_range(fd_b, off, len,
						   SYNC_FILE_RANGE_WAIT_BEFORE |
						   SYNC_FILE_RANGE_WRITE |
						   SYNC_FILE_RANGE_WAIT_AFTER) ||
				   ioctl(fd_b, BLKDISCARD, range)) {
				/*
				 * BLKDISCARD drops dirty cached pages of the
				 * range unwritten; a sector the device keeps
				 * must hold the model's content, so write
				 * them back first.
				 */
				die("BLKDISCARD");
			}
			model_discard(off, len);
		} else if (r < 88) {
			log_op(OP_ZEROOUT, 0, off, len);
			if (file_mode ? fallocate(fd_b, FALLOC_FL_ZERO_RANGE |
						  FALLOC_FL_KEEP_SIZE, off, len)
				      : ioctl(fd_b, BLKZEROOUT, range))
				die("zeroout");
			model_zero(off, len);
		} else if (r < 92) {
			log_op(OP_FZERO, 0, off, len);
			if (fallocate(fd_b, FALLOC_FL_ZERO_RANGE |
				      FALLOC_FL_KEEP_SIZE, off, len))
				die("fallocate zero range");
			model_zero(off, len);
		} else if (r < 96) {
			log_op(OP_PUNCH, 0, off, len);
			if (fallocate(fd_b, FALLOC_FL_PUNCH_HOLE |
				      FALLOC_FL_KEEP_SIZE, off, len))
				die("fallocate punch hole");
			model_zero(off, len);
		} else {
			log_op(OP_FLUSH, 0, 0, 0);
			if (fsync(rnd() & 1 ? fd_d : fd_b))
				die("fsync");
		}
		if (corrupt_at && opno == corrupt_at) {
			/* self-check: the next full read must report this byte */
			uint64_t at = rnd() % size;

			model[at] ^= 0x5a;
			maybe_zero[at / SECT] = 0;
			fprintf(stderr, "chainfsx: self-check: model byte 0x%"
				PRIx64 " corrupted\n", at);
			full_verify();
		}
		if (hook && opno % every == 0)
			run_hook(hook);
	}
	opno--;
	full_verify();
	{
		uint64_t total = 0;

		printf("chainfsx: seed %" PRIu64 " passed:", seed);
		for (int i = 0; i < NR_OPS; i++) {
			printf(" %s=%" PRIu64, op_name[i], counts[i]);
			if (i < OP_HOOK)
				total += counts[i];
		}
		printf(" ops=%" PRIu64 "\n", total);
	}
	return 0;
}
