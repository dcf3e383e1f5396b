// SPDX-License-Identifier: GPL-2.0
/*
 * replay-log: read a dm-log-writes log and replay it onto a device, one
 * flush point at a time (tests/crash, docs/testing/crash.md).
 *
 * The log (drivers/md/dm-log-writes.c, Documentation/admin-guide/
 * device-mapper/log-writes.rst): sector 0 holds a super block (magic,
 * version, number of entries, sector size); then, one after another, each
 * entry is one sector holding {sector, nr_sectors, flags, data_len} (mark
 * entries: their text follows in the same sector), followed by nr_sectors
 * sectors of written data (none for discards and marks).  Entries are in
 * the order the writes reached stable storage: a FLUSH entry comes after
 * every write that completed before the flush was issued.
 *
 *   replay-log info LOG
 *   replay-log list [--grep TEXT] LOG
 *   replay-log marks LOG
 *   replay-log replay [OPTIONS] LOG DEV STATE
 *
 * `replay` carries on from where the previous call stopped (the position
 * is kept in the file STATE; a missing STATE means the log's start) and
 * replays entries up to and including the next point: a flush or FUA entry
 * by default (--stop KINDS), the Nth such with --every N, the entry of a
 * mark with --to-mark NAME, the end with --to-end; --stop-mark PREFIX
 * makes the marks whose text starts with PREFIX points too, and
 * --cuts PERMILLE makes that share of the plain writes and discards
 * points (a power cut between two writes; --cut-seed picks which).  So each point costs
 * only the writes made since the previous one.  It prints "mark ENTRY TEXT"
 * for each mark it passes and "point ENTRY FLAGS" at the point, and exits 0, or prints "end ENTRIES" and exits 3 when
 * the log ends before a point.  Discards are replayed as BLKZEROOUT (the
 * range reads zeros afterwards; default), as BLKDISCARD (--discard
 * discard: what reads back is up to DEV) or not at all (--discard skip).
 * Fault injection for self-tests: --skip-entry N leaves out entry N,
 * --skip-matching TEXT leaves out every write whose data holds TEXT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le64.h"

#define LW_FLUSH	(1u << 0)
#define LW_FUA		(1u << 1)
#define LW_DISCARD	(1u << 2)
#define LW_MARK		(1u << 3)
#define LW_METADATA	(1u << 4)
#define LW_MAGIC	0x6a736677736872ULL
#define LW_VERSION	1ULL
#define ENTRY_HDR	32	/* four little-endian u64 */

struct log {
	int fd;
	uint64_t nr_entries;
	uint32_t sectorsize;
	uint64_t size;		/* bytes of the log device */
};

struct entry {
	uint64_t index;
	uint64_t offset;	/* of its header sector, in bytes */
	uint64_t sector;	/* in the log's sector size */
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
	char mark[4096];	/* the text of a mark entry */
};

static const char *prog = "replay-log";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void read_full(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("reading %s at byte %" PRIu64 ": %s", what, off + done, strerror(errno));
		if (n == 0)
			die("reading %s at byte %" PRIu64 ": past the end of the log", what,
			    off + done);
		done += (size_t)n;
	}
}

static uint64_t dev_size(int fd, const char *path)
{
	struct stat st;
	uint64_t sz;

	if (fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &sz) < 0)
			die("%s: BLKGETSIZE64: %s", path, strerror(errno));
		return sz;
	}
	return (uint64_t)st.st_size;
}

static void log_open(struct log *lg, const char *path)
{
	unsigned char sb[512];

	lg->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (lg->fd < 0)
		die("%s: %s", path, strerror(errno));
	lg->size = dev_size(lg->fd, path);
	read_full(lg->fd, sb, sizeof(sb), 0, "the super block");
	if (le64(sb) != LW_MAGIC)
		die("%s: not a dm-log-writes log (magic %#" PRIx64 ")", path, le64(sb));
	if (le64(sb + 8) != LW_VERSION)
		die("%s: log version %" PRIu64 ", this tool reads version 1", path, le64(sb + 8));
	lg->nr_entries = le64(sb + 16);
	lg->sectorsize = (uint32_t)sb[24] | (uint32_t)sb[25] << 8 |
			 (uint32_t)sb[26] << 16 | (uint32_t)sb[27] << 24;
	if (lg->sectorsize < 512 || lg->sectorsize > 65536 ||
	    (lg->sectorsize & (lg->sectorsize - 1)))
		die("%s: bad sector size %u in the super block", path, lg->sectorsize);
}

/* The entry whose header sector is at e->offset; returns the next one's offset. */
static uint64_t entry_read(const struct log *lg, struct entry *e)
{
	unsigned char *hdr = malloc(lg->sectorsize);
	uint64_t next, data;

	if (!hdr)
		die("out of memory");
	if (e->offset + lg->sectorsize > lg->size)
		die("entry %" PRIu64 " at byte %" PRIu64 " is past the end of the log",
		    e->index, e->offset);
	read_full(lg->fd, hdr, lg->sectorsize, e->offset, "an entry header");
	e->sector = le64(hdr);
	e->nr_sectors = le64(hdr + 8);
	e->flags = le64(hdr + 16);
	e->data_len = le64(hdr + 24);
	e->mark[0] = 0;
	if (e->flags & LW_MARK) {
		size_t n = e->data_len;

		if (n > lg->sectorsize - ENTRY_HDR)
			die("entry %" PRIu64 ": mark of %" PRIu64 " bytes", e->index, e->data_len);
		if (n > sizeof(e->mark) - 1)
			n = sizeof(e->mark) - 1;
		memcpy(e->mark, hdr + ENTRY_HDR, n);
		e->mark[n] = 0;
	}
	free(hdr);
	data = (e->flags & LW_DISCARD) ? 0 : e->nr_sectors * lg->sectorsize;
	if (e->nr_sectors > lg->size / lg->sectorsize)
		die("entry %" PRIu64 ": %" PRIu64 " sectors is more than the log holds",
		    e->index, e->nr_sectors);
	next = e->offset + lg->sectorsize + data;
	if (next > lg->size)
		die("entry %" PRIu64 ": its data runs past the end of the log", e->index);
	return next;
}

static void flags_str(uint64_t f, char *out)
{
	char *p = out;

	if (f & LW_FLUSH)
		*p++ = 'F';
	if (f & LW_FUA)
		*p++ = 'U';
	if (f & LW_DISCARD)
		*p++ = 'D';
	if (f & LW_MARK)
		*p++ = 'M';
	if (f & LW_METADATA)
		*p++ = 'm';
	if (p == out)
		*p++ = 'W';
	*p = 0;
}

/* Does the data of write entry e hold needle?  (Reads it in pieces.) */
static bool entry_holds(const struct log *lg, const struct entry *e, const char *needle)
{
	size_t nlen = strlen(needle), chunk = 1 << 20;
	uint64_t len, off;
	char *buf;
	bool found = false;

	if ((e->flags & (LW_DISCARD | LW_MARK)) || !e->nr_sectors || !nlen)
		return false;
	len = e->nr_sectors * lg->sectorsize;
	buf = malloc(chunk + nlen);
	if (!buf)
		die("out of memory");
	/* Windows overlap by nlen - 1 bytes so a match across two is seen. */
	for (off = 0; off < len && !found; off += chunk) {
		size_t n = len - off < chunk + nlen - 1 ? len - off : chunk + nlen - 1;

		read_full(lg->fd, buf, n, e->offset + lg->sectorsize + off, "entry data");
		found = memmem(buf, n, needle, nlen) != NULL;
	}
	free(buf);
	return found;
}

static int cmd_info(const char *path)
{
	struct log lg;
	struct entry e = { 0 };
	uint64_t n[6] = { 0 }, bytes = 0, off;

	log_open(&lg, path);
	off = lg.sectorsize;
	for (e.index = 0; e.index < lg.nr_entries; e.index++) {
		e.offset = off;
		off = entry_read(&lg, &e);
		if (e.flags & LW_FLUSH)
			n[0]++;
		if (e.flags & LW_FUA)
			n[1]++;
		if (e.flags & (LW_FLUSH | LW_FUA))
			n[2]++;
		if (e.flags & LW_DISCARD)
			n[3]++;
		if (e.flags & LW_MARK)
			n[4]++;
		if (!(e.flags & (LW_DISCARD | LW_MARK)))
			bytes += e.nr_sectors * lg.sectorsize;
	}
	printf("entries %" PRIu64 " sectorsize %u flush %" PRIu64 " fua %" PRIu64
	       " points %" PRIu64 " discard %" PRIu64 " marks %" PRIu64
	       " data_bytes %" PRIu64 " log_bytes %" PRIu64 "\n",
	       lg.nr_entries, lg.sectorsize, n[0], n[1], n[2], n[3], n[4], bytes, off);
	return 0;
}

static int cmd_list(const char *path, const char *grep, bool marks_only)
{
	struct log lg;
	struct entry e = { 0 };
	uint64_t off;
	char fl[8];

	log_open(&lg, path);
	off = lg.sectorsize;
	for (e.index = 0; e.index < lg.nr_entries; e.index++) {
		e.offset = off;
		off = entry_read(&lg, &e);
		if (marks_only) {
			if (e.flags & LW_MARK)
				printf("%" PRIu64 " %s\n", e.index, e.mark);
			continue;
		}
		if (grep && !entry_holds(&lg, &e, grep))
			continue;
		flags_str(e.flags, fl);
		printf("%" PRIu64 " %s sector %" PRIu64 " nr %" PRIu64 " at %" PRIu64 "%s%s\n",
		       e.index, fl, e.sector, e.nr_sectors, e.offset,
		       (e.flags & LW_MARK) ? " mark " : "", e.mark);
	}
	return 0;
}

struct state {
	uint64_t index;		/* next entry to replay */
	uint64_t offset;	/* its header's byte offset in the log */
};

static void state_read(const char *path, struct state *st, const struct log *lg)
{
	FILE *f = fopen(path, "r");

	st->index = 0;
	st->offset = lg->sectorsize;
	if (!f) {
		if (errno == ENOENT)
			return;
		die("%s: %s", path, strerror(errno));
	}
	if (fscanf(f, "replay-log-state 1 %" SCNu64 " %" SCNu64, &st->index, &st->offset) != 2)
		die("%s: not a replay-log state file", path);
	fclose(f);
	if (st->index > lg->nr_entries || st->offset < lg->sectorsize || st->offset > lg->size)
		die("%s: position %" PRIu64 " at byte %" PRIu64 " does not fit this log",
		    path, st->index, st->offset);
}

static void state_write(const char *path, const struct state *st)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("%s: %s", tmp, strerror(errno));
	fprintf(f, "replay-log-state 1 %" PRIu64 " %" PRIu64 "\n", st->index, st->offset);
	if (fclose(f) != 0)
		die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, path) < 0)
		die("%s: %s", path, strerror(errno));
}

enum discard_mode { DISCARD_ZEROOUT, DISCARD_DISCARD, DISCARD_SKIP };

struct replay_opts {
	uint64_t stop;		/* flags that make a point */
	uint64_t every;		/* stop at the Nth point */
	const char *to_mark;
	const char *stop_mark;	/* marks starting with this are points too */
	unsigned int cut_permille;	/* plain writes that are points too */
	uint64_t cut_seed;
	bool to_end;
	enum discard_mode discard;
	uint64_t *skip;		/* entries to leave out */
	size_t nr_skip;
	const char *skip_matching;
	bool verbose;
};

static void write_full(int fd, const void *buf, size_t len, uint64_t off, const char *dev)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("writing %s at byte %" PRIu64 ": %s", dev, off + done,
			    n < 0 ? strerror(errno) : "short write");
		done += (size_t)n;
	}
}

static void replay_entry(const struct log *lg, const struct entry *e, int dev, uint64_t devsize,
			 const char *devpath, const struct replay_opts *o, void **buf, size_t *bufsz)
{
	uint64_t off = e->sector * lg->sectorsize, len = e->nr_sectors * lg->sectorsize;
	uint64_t range[2] = { off, len };

	if ((e->flags & LW_MARK) || !len)
		return;		/* a mark, or a flush without data: nothing to write */
	if (off > devsize || len > devsize - off)
		die("entry %" PRIu64 ": bytes %" PRIu64 "+%" PRIu64 " are past the end of %s",
		    e->index, off, len, devpath);
	if (e->flags & LW_DISCARD) {
		if (o->discard == DISCARD_SKIP)
			return;
		if (ioctl(dev, o->discard == DISCARD_ZEROOUT ? BLKZEROOUT : BLKDISCARD, range) < 0)
			die("entry %" PRIu64 ": %s on %s: %s", e->index,
			    o->discard == DISCARD_ZEROOUT ? "BLKZEROOUT" : "BLKDISCARD",
			    devpath, strerror(errno));
		return;
	}
	if (len > *bufsz) {
		free(*buf);
		if (posix_memalign(buf, 4096, len))
			die("out of memory (%" PRIu64 " bytes)", len);
		*bufsz = len;
	}
	read_full(lg->fd, *buf, len, e->offset + lg->sectorsize, "entry data");
	write_full(dev, *buf, len, off, devpath);
}

/*
 * A power cut between two writes: whether entry INDEX is one, decided by
 * the seed alone (splitmix64), so a run is reproducible and a resumed
 * replay stops at the same entries.
 */
static bool random_cut(const struct replay_opts *o, uint64_t index)
{
	uint64_t z = o->cut_seed + (index + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z % 1000 < o->cut_permille;
}

static int cmd_replay(const char *logpath, const char *devpath, const char *statepath,
		      const struct replay_opts *o)
{
	struct log lg;
	struct state st;
	struct entry e = { 0 };
	uint64_t devsize, points = 0, written = 0;
	void *buf = NULL;
	size_t bufsz = 0, i;
	int dev, rc = 3;
	char fl[8];

	log_open(&lg, logpath);
	state_read(statepath, &st, &lg);
	/* O_DIRECT: a device-mapper view stacked on DEV reads it under the page cache. */
	dev = open(devpath, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (dev < 0)
		die("%s: %s", devpath, strerror(errno));
	devsize = dev_size(dev, devpath);
	if (lg.sectorsize % 512)
		die("sector size %u", lg.sectorsize);

	while (st.index < lg.nr_entries) {
		bool skip = false, point;

		e.index = st.index;
		e.offset = st.offset;
		st.offset = entry_read(&lg, &e);
		st.index++;
		for (i = 0; i < o->nr_skip; i++)
			skip |= o->skip[i] == e.index;
		if (!skip && o->skip_matching && entry_holds(&lg, &e, o->skip_matching))
			skip = true;
		if (skip) {
			flags_str(e.flags, fl);
			fprintf(stderr, "%s: left out entry %" PRIu64 " (%s sector %" PRIu64
				" nr %" PRIu64 ")\n", prog, e.index, fl, e.sector, e.nr_sectors);
		} else {
			replay_entry(&lg, &e, dev, devsize, devpath, o, &buf, &bufsz);
			written++;
		}
		if (e.flags & LW_MARK)
			printf("mark %" PRIu64 " %s\n", e.index, e.mark);
		if (o->to_end)
			continue;
		if (o->to_mark)
			point = (e.flags & LW_MARK) && !strcmp(e.mark, o->to_mark);
		else if (o->cut_permille && !(e.flags & (LW_MARK | LW_FLUSH | LW_FUA)) &&
			 random_cut(o, e.index))
			point = true;
		else if (o->stop_mark && (e.flags & LW_MARK) &&
			 !strncmp(e.mark, o->stop_mark, strlen(o->stop_mark)))
			point = true;
		else
			point = (e.flags & o->stop) && ++points >= o->every;
		if (point) {
			flags_str(e.flags, fl);
			printf("point %" PRIu64 " %s\n", e.index, fl);
			rc = 0;
			break;
		}
	}
	if (fdatasync(dev) < 0)
		die("%s: fdatasync: %s", devpath, strerror(errno));
	close(dev);
	free(buf);
	state_write(statepath, &st);
	if (rc == 3) {
		if (o->to_mark)
			fprintf(stderr, "%s: no mark '%s' after entry %" PRIu64 "\n", prog,
				o->to_mark, e.index);
		printf("end %" PRIu64 "\n", lg.nr_entries);
	}
	if (o->verbose)
		fprintf(stderr, "%s: replayed %" PRIu64 " entries, now at entry %" PRIu64 "\n",
			prog, written, st.index);
	return o->to_end ? 0 : rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: replay-log info LOG\n"
		"       replay-log list [--grep TEXT] LOG\n"
		"       replay-log marks LOG\n"
		"       replay-log replay [OPTIONS] LOG DEV STATE\n"
		"replay options:\n"
		"  --stop KINDS        points are entries with these flags: flush,fua (default), mark\n"
		"  --every N           stop at the Nth point from here (default 1)\n"
		"  --to-mark NAME      replay up to and including the mark NAME\n"
		"  --stop-mark PREFIX  a mark whose text starts with PREFIX is a point too\n"
		"  --cuts PERMILLE     a plain write or discard is a point too with this\n"
		"                      chance in 1000 (a power cut between writes)\n"
		"  --cut-seed N        the seed that picks those writes (default 1)\n"
		"  --to-end            replay everything that is left\n"
		"  --discard MODE      zeroout (default), discard or skip\n"
		"  --skip-entry N      leave out entry N (repeatable; fault injection)\n"
		"  --skip-matching T   leave out every write whose data holds the text T\n"
		"  -v                  say how many entries were replayed\n"
		"Prints \"mark ENTRY TEXT\" for each mark passed.\n"
		"Exit: 0 stopped at a point (prints \"point ENTRY FLAGS\"), 3 the log ended\n"
		"first (prints \"end ENTRIES\"), 1 error, 2 usage.\n"
		"Flags: F flush, U FUA, D discard, M mark, m metadata, W plain write.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "stop", required_argument, NULL, 's' },
		{ "every", required_argument, NULL, 'n' },
		{ "to-mark", required_argument, NULL, 'm' },
		{ "to-end", no_argument, NULL, 'e' },
		{ "stop-mark", required_argument, NULL, 'P' },
		{ "cuts", required_argument, NULL, 'C' },
		{ "cut-seed", required_argument, NULL, 'S' },
		{ "discard", required_argument, NULL, 'd' },
		{ "skip-entry", required_argument, NULL, 'k' },
		{ "skip-matching", required_argument, NULL, 'K' },
		{ "grep", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_opts o = { .stop = LW_FLUSH | LW_FUA, .every = 1, .cut_seed = 1 };
	const char *cmd, *grep = NULL;
	char *end, *tok, *save;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.stop = 0;
			for (tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "flush"))
					o.stop |= LW_FLUSH;
				else if (!strcmp(tok, "fua"))
					o.stop |= LW_FUA;
				else if (!strcmp(tok, "mark"))
					o.stop |= LW_MARK;
				else
					die("--stop: unknown kind '%s' (flush, fua, mark)", tok);
			}
			break;
		case 'n':
			errno = 0;
			o.every = strtoull(optarg, &end, 10);
			if (errno || *end || !o.every)
				die("--every: not a positive number: %s", optarg);
			break;
		case 'm':
			o.to_mark = optarg;
			break;
		case 'e':
			o.to_end = true;
			break;
		case 'P':
			o.stop_mark = optarg;
			break;
		case 'C':
			errno = 0;
			o.cut_permille = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || o.cut_permille > 1000)
				die("--cuts: a number from 0 to 1000, not %s", optarg);
			break;
		case 'S':
			errno = 0;
			o.cut_seed = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg)
				die("--cut-seed: not a number: %s", optarg);
			break;
		case 'd':
			if (!strcmp(optarg, "zeroout"))
				o.discard = DISCARD_ZEROOUT;
			else if (!strcmp(optarg, "discard"))
				o.discard = DISCARD_DISCARD;
			else if (!strcmp(optarg, "skip"))
				o.discard = DISCARD_SKIP;
			else
				die("--discard: zeroout, discard or skip, not '%s'", optarg);
			break;
		case 'k':
			o.skip = realloc(o.skip, (o.nr_skip + 1) * sizeof(*o.skip));
			if (!o.skip)
				die("out of memory");
			errno = 0;
			o.skip[o.nr_skip] = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg)
				die("--skip-entry: not a number: %s", optarg);
			o.nr_skip++;
			break;
		case 'K':
			o.skip_matching = optarg;
			break;
		case 'g':
			grep = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "info") && argc == 1)
		return cmd_info(argv[0]);
	if (!strcmp(cmd, "list") && argc == 1)
		return cmd_list(argv[0], grep, false);
	if (!strcmp(cmd, "marks") && argc == 1)
		return cmd_list(argv[0], NULL, true);
	if (!strcmp(cmd, "replay") && argc == 3) {
		if (o.to_mark && o.to_end)
			die("--to-mark and --to-end exclude each other");
		return cmd_replay(argv[0], argv[1], argv[2], &o);
	}
	usage(stderr);
	return 2;
}
