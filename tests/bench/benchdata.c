// SPDX-License-Identifier: GPL-2.0
/*
 * benchdata: the data side of `make demo` and `make bench`.  Every
 * contender gets byte-identical data because all of it comes from here:
 * the content of byte position P under seed S is a pure function of (P, S),
 * so a run written into a layer file, a raw delta image (for qcow2) or a
 * chain device holds the same bytes.
 *
 *   runs VSIZE COUNT LEN SEED
 *       print COUNT scattered runs of LEN bytes ("OFFSET LENGTH" lines,
 *       sorted) over a VSIZE disk: one run in each VSIZE/COUNT slot at a
 *       random multiple of LEN, never touching the next slot's run, so no
 *       two runs are adjacent (each stays its own extent).  When the slots
 *       are too small for that (COUNT * LEN more than half of VSIZE), run
 *       i starts at i * VSIZE / COUNT rounded down to a multiple of LEN
 *       instead: evenly spread, and adjacent (every block of the disk)
 *       when COUNT * LEN = VSIZE.
 *   fill-raw FILE RUNLIST SEED [direct]
 *       write the runs at their offsets into FILE (a raw image or a block
 *       device such as /dev/mapper/NAME; "direct" uses O_DIRECT), fsync.
 *   fill-layer LAYER RUNLIST SEED
 *       write the runs into a dm-chain layer file offline, as the target
 *       would: data at data_offset + OFFSET, then the block map's 2-bit
 *       entries set to DATA (include/dm-chain/format.h), then fsync.  The
 *       header is not touched (the map is not covered by its checksum),
 *       except that an extent list it names is first dropped from it (a
 *       new header slot without DMC_COMPAT_EXTENT_LIST): the list must
 *       never disagree with the map.  Runs must be block aligned.
 *   fill-strides FORMAT FIRST LAST STRIDE NBLOCKS BSIZE SEED
 *       fill-layer for layers FIRST .. LAST, in one process: layer k (the
 *       path printf FORMAT gives with k) gets blocks k, k + STRIDE, ...
 *       below NBLOCKS (of BSIZE bytes), seed SEED + k.
 *   verify FILE BASE RUNLIST SEED
 *       compare the runs at BASE + OFFSET in FILE with the expected bytes;
 *       exit 1 on any difference.  BASE "layer" means the file's
 *       data_offset.
 *   digest FILE
 *       a content digest of the whole image that skips holes: 64-bit hash
 *       over (chunk index, bytes) of every 64 KiB chunk that is not all
 *       zero.  Two images of the same size have the same digest iff they
 *       read the same (up to hash collisions).  Prints
 *       "digest=HEX nonzero_bytes=N size=N".
 *   layer-info LAYER
 *       print "data_offset=N block_size=N virtual_size=N".
 *   clockres
 *       how finely CLOCK_MONOTONIC (the clock behind the kernel's
 *       ktime_get(), which times merges and pauses) advances: the smallest
 *       and largest of 16 observed steps and clock_getres().  Under
 *       emulation the guest may run on the jiffies clocksource, whose steps
 *       are a whole tick.  Prints "step_min_ns=N step_max_ns=N getres_ns=N".
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dm-chain/format.h>
#include <dm-chain/layer_verify.h>

#define BUF_SIZE	(4U << 20)
#define CHUNK		(64U << 10)

struct run {
	uint64_t off, len;
};

static void die(const char *what)
{
	fprintf(stderr, "benchdata: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void fail(const char *msg)
{
	fprintf(stderr, "benchdata: %s\n", msg);
	exit(1);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s) {
		fprintf(stderr, "benchdata: bad %s '%s'\n", what, s);
		exit(2);
	}
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end) {
		fprintf(stderr, "benchdata: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (uint64_t)v;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * The content of [pos, pos + len) (pos and len multiples of 8): each 4 KiB
 * block of the disk is an xorshift64 stream seeded from (seed, block
 * index), cheap enough under emulation.
 */
static void gen(unsigned char *buf, uint64_t pos, size_t len, uint64_t seed)
{
	uint64_t key = splitmix64(seed), s = 0;
	size_t i;
	unsigned int k;

	for (i = 0; i < len; i += 8) {
		uint64_t p = pos + i;

		if (i == 0 || !(p & 4095)) {
			s = splitmix64(key ^ (p >> 12)) | 1;
			for (k = 0; k < ((p & 4095) >> 3); k++) {
				s ^= s << 13; s ^= s >> 7; s ^= s << 17;
			}
		}
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		memcpy(buf + i, &s, 8);
	}
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
		if (off % 8 || len % 8 || !len)
			fail("run offsets and lengths must be non-zero multiples of 8");
		runs[n].off = off;
		runs[n].len = len;
		n++;
	}
	if (!feof(f))
		fail("malformed run list");
	fclose(f);
	*nr = n;
	return runs;
}

static unsigned char *alloc_buf(void)
{
	void *p;

	if (posix_memalign(&p, 4096, BUF_SIZE))
		fail("out of memory");
	return p;
}

static void pwrite_all(int fd, const unsigned char *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t w;

	while (done < len) {
		w = pwrite(fd, buf + done, len - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("pwrite");
		done += (size_t)w;
	}
}

static size_t pread_full(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("pread");
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return done;
}

static void write_runs(int fd, uint64_t base, const struct run *runs, size_t nr,
		       uint64_t seed)
{
	unsigned char *buf = alloc_buf();
	uint64_t done;
	size_t i, want;

	for (i = 0; i < nr; i++) {
		for (done = 0; done < runs[i].len; done += want) {
			want = runs[i].len - done > BUF_SIZE ? BUF_SIZE :
			       (size_t)(runs[i].len - done);
			gen(buf, runs[i].off + done, want, seed);
			pwrite_all(fd, buf, want, base + runs[i].off + done);
		}
	}
	free(buf);
}

/* The current header slot of a dm-chain layer file (higher sequence). */
static int read_header_slot(int fd, struct dmc_header *out, int *slot);

static int read_header(int fd, struct dmc_header *out)
{
	int slot;

	return read_header_slot(fd, out, &slot);
}

static int read_header_slot(int fd, struct dmc_header *out, int *slot)
{
	struct dmc_header h[DMC_NR_SLOTS];
	int best = -1;
	unsigned int i;

	for (i = 0; i < DMC_NR_SLOTS; i++) {
		if (pread_full(fd, (unsigned char *)&h[i], sizeof(h[i]),
			       (uint64_t)i * DMC_SLOT_SIZE) != sizeof(h[i]))
			continue;
		if (le64toh(h[i].magic) != DMC_MAGIC ||
		    le32toh(h[i].version) != DMC_VERSION)
			continue;
		if (best < 0 || le64toh(h[i].sequence) > le64toh(h[best].sequence))
			best = (int)i;
	}
	if (best < 0)
		return -1;
	*out = h[best];
	*slot = best;
	return 0;
}

/*
 * The map of the layer open at FD is about to change without a new
 * generation: a list it has would then say something else, so its header
 * (H, current slot SLOT) goes to the other slot without it, synced, as
 * chainctl's layer_drop_extent_list() does.
 */
static void drop_extent_list(int fd, struct dmc_header *h, int slot)
{
	if (!(le32toh(h->compat_features) & DMC_COMPAT_EXTENT_LIST))
		return;
	h->compat_features = htole32(le32toh(h->compat_features) &
				     ~DMC_COMPAT_EXTENT_LIST);
	memset(&h->extent_list, 0, sizeof(h->extent_list));
	h->sequence = htole64(le64toh(h->sequence) + 1);
	dmc_verify_seal(h);
	pwrite_all(fd, (const unsigned char *)h, sizeof(*h),
		   (uint64_t)(slot ^ 1) * DMC_SLOT_SIZE);
	if (fdatasync(fd))
		die("fdatasync");
}

static void cmd_runs(char **argv)
{
	uint64_t vsize = parse_u64(argv[0], "VSIZE");
	uint64_t count = parse_u64(argv[1], "COUNT");
	uint64_t len = parse_u64(argv[2], "LEN");
	uint64_t seed = parse_u64(argv[3], "SEED");
	uint64_t slot, choices, i, k;

	if (!count || !len || vsize / count < len)
		fail("runs: need COUNT * LEN <= VSIZE");
	slot = vsize / count / len * len;
	if (slot < 2 * len) {
		/* Dense: run i at (i * VSIZE / COUNT) rounded down to LEN. */
		for (i = 0; i < count; i++)
			printf("%" PRIu64 " %" PRIu64 "\n",
			       (uint64_t)((unsigned __int128)i * vsize / count) / len * len, len);
		return;
	}
	choices = slot / len - 1;	/* positions 0 .. slot/len - 2 */
	for (i = 0; i < count; i++) {
		k = splitmix64(seed * 0x100000001b3ULL + i) % choices;
		printf("%" PRIu64 " %" PRIu64 "\n", i * slot + k * len, len);
	}
}

static void cmd_fill_raw(char **argv, int argc)
{
	size_t nr;
	struct run *runs = read_runs(argv[1], &nr);
	uint64_t seed = parse_u64(argv[2], "SEED");
	int flags = O_WRONLY, fd;

	if (argc > 3 && !strcmp(argv[3], "direct"))
		flags |= O_DIRECT;
	fd = open(argv[0], flags);
	if (fd < 0)
		die(argv[0]);
	write_runs(fd, 0, runs, nr, seed);
	if (fsync(fd))
		die("fsync");
	close(fd);
	free(runs);
}

/* fill-layer's work: RUNS into the layer file at PATH, seed SEED. */
static void fill_layer(const char *path, const struct run *runs, size_t nr,
		       uint64_t seed)
{
	uint64_t data_off, map_off, map_len, bs, vsize, b;
	struct dmc_header h;
	unsigned char *map;
	size_t i;
	int fd, slot;

	fd = open(path, O_RDWR);
	if (fd < 0)
		die(path);
	if (read_header_slot(fd, &h, &slot))
		fail("fill-layer: no valid dm-chain header (not a layer file?)");
	data_off = le64toh(h.data_offset);
	map_off = le64toh(h.map_offset);
	map_len = le64toh(h.map_length);
	bs = 1ULL << le32toh(h.block_shift);
	vsize = le64toh(h.virtual_size);
	for (i = 0; i < nr; i++)
		if (runs[i].off % bs || runs[i].len % bs ||
		    runs[i].off + runs[i].len > vsize)
			fail("fill-layer: a run is not block aligned or lies past the end");
	map = malloc(map_len);
	if (!map)
		fail("out of memory");
	if (pread_full(fd, map, map_len, map_off) != map_len)
		fail("fill-layer: short map");
	drop_extent_list(fd, &h, slot);
	/* Data first, durable, then the map (the format's write order). */
	write_runs(fd, data_off, runs, nr, seed);
	if (fdatasync(fd))
		die("fdatasync");
	for (i = 0; i < nr; i++)
		for (b = runs[i].off / bs; b < (runs[i].off + runs[i].len) / bs; b++)
			dmc_map_set(map, b, DMC_BLOCK_DATA);
	pwrite_all(fd, map, map_len, map_off);
	if (fsync(fd))
		die("fsync");
	close(fd);
	free(map);
}

static void cmd_fill_layer(char **argv)
{
	size_t nr;
	struct run *runs = read_runs(argv[1], &nr);

	fill_layer(argv[0], runs, nr, parse_u64(argv[2], "SEED"));
	free(runs);
}

/*
 * fill-strides: layer k of FIRST .. LAST (its path FORMAT with k) gets
 * blocks k, k + STRIDE, ... below NBLOCKS of BSIZE bytes, seed SEED + k:
 * what `stride_runs` and fill-layer do for each, in one process.
 */
static void cmd_fill_strides(char **argv)
{
	uint64_t first = parse_u64(argv[1], "FIRST"), last = parse_u64(argv[2], "LAST");
	uint64_t stride = parse_u64(argv[3], "STRIDE"), nblk = parse_u64(argv[4], "NBLOCKS");
	uint64_t bsize = parse_u64(argv[5], "BSIZE"), seed = parse_u64(argv[6], "SEED");
	char path[4096];
	struct run *runs;
	uint64_t k, b;
	size_t nr;

	if (!stride || !bsize)
		fail("fill-strides: STRIDE and BSIZE must not be 0");
	runs = malloc((nblk / stride + 1) * sizeof(*runs));
	if (!runs)
		fail("out of memory");
	for (k = first; k <= last; k++) {
		if ((size_t)snprintf(path, sizeof(path), argv[0], (unsigned int)k) >= sizeof(path))
			fail("fill-strides: path too long");
		for (nr = 0, b = k; b < nblk; b += stride, nr++) {
			runs[nr].off = b * bsize;
			runs[nr].len = bsize;
		}
		fill_layer(path, runs, nr, seed + k);
	}
	free(runs);
}

static void cmd_verify(char **argv)
{
	size_t nr, i, want;
	struct run *runs = read_runs(argv[2], &nr);
	uint64_t seed = parse_u64(argv[3], "SEED"), base, done, bad = 0;
	unsigned char *buf = alloc_buf(), *exp = alloc_buf();
	struct dmc_header h;
	int fd;

	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		die(argv[0]);
	if (!strcmp(argv[1], "layer")) {
		if (read_header(fd, &h))
			fail("verify: no valid dm-chain header");
		base = le64toh(h.data_offset);
	} else {
		base = parse_u64(argv[1], "BASE");
	}
	for (i = 0; i < nr; i++) {
		for (done = 0; done < runs[i].len; done += want) {
			want = runs[i].len - done > BUF_SIZE ? BUF_SIZE :
			       (size_t)(runs[i].len - done);
			if (pread_full(fd, buf, want, base + runs[i].off + done) != want)
				fail("verify: file too short");
			gen(exp, runs[i].off + done, want, seed);
			if (memcmp(buf, exp, want)) {
				if (bad < 5)
					fprintf(stderr, "benchdata: verify: run at %" PRIu64
						" differs\n", runs[i].off);
				bad++;
				break;
			}
		}
	}
	printf("verified %zu runs, %" PRIu64 " differ\n", nr, bad);
	close(fd);
	exit(bad ? 1 : 0);
}

static uint64_t hash_chunk(const unsigned char *p, size_t len, uint64_t idx)
{
	uint64_t h = splitmix64(idx), w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		memcpy(&w, p + i, 8);
		h ^= w * 0x9e3779b97f4a7c15ULL;
		h = ((h << 31) | (h >> 33)) * 0xc2b2ae3d27d4eb4fULL;
	}
	return splitmix64(h ^ len);
}

static int all_zero(const unsigned char *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

static void cmd_digest(char **argv)
{
	unsigned char *buf = alloc_buf();
	uint64_t size, pos, end, c, first, last, next_chunk = 0, total = 0, nz = 0;
	struct stat st;
	off_t d, hole;
	size_t got, j;
	int fd;

	fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		die(argv[0]);
	if (fstat(fd, &st))
		die("fstat");
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size))
			die("BLKGETSIZE64");
	} else {
		size = (uint64_t)st.st_size;
	}
	pos = 0;
	while (pos < size) {
		d = lseek(fd, (off_t)pos, SEEK_DATA);
		if (d < 0) {
			if (errno == ENXIO)
				break;
			d = (off_t)pos;		/* no SEEK_DATA: all data */
			hole = (off_t)size;
		} else {
			hole = lseek(fd, d, SEEK_HOLE);
			if (hole < 0)
				hole = (off_t)size;
		}
		end = (uint64_t)hole;
		first = (uint64_t)d / CHUNK;
		last = (end + CHUNK - 1) / CHUNK;
		if (first < next_chunk)
			first = next_chunk;
		/* Read BUF_SIZE at a time, hash 64 KiB chunks. */
		for (c = first; c < last; ) {
			uint64_t n = last - c;

			if (n > BUF_SIZE / CHUNK)
				n = BUF_SIZE / CHUNK;
			got = pread_full(fd, buf, (size_t)(n * CHUNK), c * CHUNK);
			for (j = 0; j * CHUNK < got; j++) {
				size_t l = got - j * CHUNK > CHUNK ? CHUNK : got - j * CHUNK;

				if (all_zero(buf + j * CHUNK, l))
					continue;
				total = splitmix64(total ^ hash_chunk(buf + j * CHUNK, l & ~7UL, c + j));
				nz += l;
			}
			c += n;
			if (got < n * CHUNK)
				break;
		}
		next_chunk = last;
		pos = last * CHUNK;
	}
	printf("digest=%016" PRIx64 " nonzero_bytes=%" PRIu64 " size=%" PRIu64 "\n",
	       total, nz, size);
	close(fd);
	free(buf);
}

static void cmd_layer_info(char **argv)
{
	struct dmc_header h;
	int fd = open(argv[0], O_RDONLY);

	if (fd < 0)
		die(argv[0]);
	if (read_header(fd, &h))
		fail("layer-info: no valid dm-chain header");
	printf("data_offset=%" PRIu64 " block_size=%" PRIu64 " virtual_size=%" PRIu64 "\n",
	       (uint64_t)le64toh(h.data_offset), (uint64_t)1 << le32toh(h.block_shift),
	       (uint64_t)le64toh(h.virtual_size));
	close(fd);
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ULL + (uint64_t)t->tv_nsec;
}

static void cmd_clockres(void)
{
	struct timespec res, t;
	uint64_t a, b, step, lo = UINT64_MAX, hi = 0, spins;
	unsigned int i;

	if (clock_getres(CLOCK_MONOTONIC, &res))
		die("clock_getres");
	for (i = 0; i < 16; i++) {
		/* Start on a step, then time the next one. */
		clock_gettime(CLOCK_MONOTONIC, &t);
		a = ts_ns(&t);
		for (spins = 0; spins < 100000000ULL; spins++) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (ts_ns(&t) != a)
				break;
		}
		a = ts_ns(&t);
		for (spins = 0; spins < 100000000ULL; spins++) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			b = ts_ns(&t);
			if (b != a)
				break;
		}
		step = b - a;
		if (step < lo)
			lo = step;
		if (step > hi)
			hi = step;
	}
	printf("step_min_ns=%" PRIu64 " step_max_ns=%" PRIu64 " getres_ns=%" PRIu64 "\n",
	       lo, hi, ts_ns(&res));
}

static void usage(void)
{
	fputs("usage: benchdata runs VSIZE COUNT LEN SEED\n"
	      "       benchdata fill-raw FILE RUNLIST SEED [direct]\n"
	      "       benchdata fill-layer LAYER RUNLIST SEED\n"
	      "       benchdata fill-strides FORMAT FIRST LAST STRIDE NBLOCKS BSIZE SEED\n"
	      "       benchdata verify FILE BASE|layer RUNLIST SEED\n"
	      "       benchdata digest FILE\n"
	      "       benchdata layer-info LAYER\n"
	      "       benchdata clockres\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "clockres")) {
		cmd_clockres();
		return 0;
	}
	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "runs") && argc == 6)
		cmd_runs(argv + 2);
	else if (!strcmp(argv[1], "fill-raw") && (argc == 5 || argc == 6))
		cmd_fill_raw(argv + 2, argc - 2);
	else if (!strcmp(argv[1], "fill-layer") && argc == 5)
		cmd_fill_layer(argv + 2);
	else if (!strcmp(argv[1], "fill-strides") && argc == 9)
		cmd_fill_strides(argv + 2);
	else if (!strcmp(argv[1], "verify") && argc == 6)
		cmd_verify(argv + 2);
	else if (!strcmp(argv[1], "digest") && argc == 3)
		cmd_digest(argv + 2);
	else if (!strcmp(argv[1], "layer-info") && argc == 3)
		cmd_layer_info(argv + 2);
	else
		usage();
	return 0;
}
