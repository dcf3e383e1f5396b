// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit on real files (dm_chain_layer_files): layer files made, opened,
 * written, committed and reopened in the kernel; new children and their
 * linkage; the table line's layers opened and checked as the constructor
 * does; open, commit and create errors with their specific errno; the
 * device's commit and fail mode (io.c) when the leaf's filesystem is full.
 *
 * The files live under LT_DIR: tests/kunit/kunit.sh mounts a tmpfs there,
 * with a small full/ tmpfs and a read-only ro/ holding an empty file
 * "plain", before it loads the module.  A module parameter cannot name the
 * directory: Linux 6.1 runs a module's suites from the MODULE_STATE_COMING
 * notifier, before the module's parameters are parsed.  Without LT_DIR
 * (any other insmod, as the end-to-end scenarios do) every case skips, and
 * kunit.sh counts a skip of this suite as a failure.
 */
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-chain.h"
#include "blockmap.h"
#include "chain.h"
#include "header.h"
#include "layer.h"
#include "table.h"

#define LT_DIR		"/tmp/dmc-kunit"
static const char *const kunit_dir = LT_DIR;

#define LT_SHIFT	12U
#define LT_BSIZE	(1U << LT_SHIFT)
/* Two map pages: blocks past DMC_BLOCKS_PER_MAP_PAGE are on the second. */
#define LT_SIZE		(2ULL * DMC_BLOCKS_PER_MAP_PAGE << LT_SHIFT)
#define LT_FAR		(DMC_BLOCKS_PER_MAP_PAGE + 5ULL)

/* Owner cookies: two dm devices. */
static int dev_a, dev_b;

/* A string made from @fmt, freed with the test. */
static __printf(2, 3) char *lt_fmt(struct kunit *test, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = kunit_kzalloc(test, PATH_MAX, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	vsnprintf(s, PATH_MAX, fmt, ap);
	va_end(ap);
	return s;
}

/* "<kunit_dir>/<case>-<name>", freed with the test. */
static char *lt_path(struct kunit *test, const char *name)
{
	return lt_fmt(test, "%s/%s-%s", kunit_dir, test->name, name);
}

static void write_file(struct kunit *test, const char *path, const void *buf,
		       size_t len, loff_t pos, loff_t size)
{
	struct file *f = filp_open(path, O_CREAT | O_RDWR | O_LARGEFILE, 0600);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(f), "open %s: %ld", path,
			       PTR_ERR(f));
	if (len)
		KUNIT_EXPECT_EQ(test, dmc_write_exact(f, buf, len, pos), 0);
	if (size >= 0)
		KUNIT_EXPECT_EQ(test, vfs_truncate(&f->f_path, size), 0);
	fput(f);
}

static void read_file(struct kunit *test, const char *path, void *buf,
		      size_t len, loff_t pos)
{
	struct file *f = filp_open(path, O_RDONLY | O_LARGEFILE, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR(f));
	KUNIT_EXPECT_EQ(test, kernel_read(f, buf, len, &pos), (ssize_t)len);
	fput(f);
}

/* A new empty base layer of @size bytes, uuid bytes all @id, generation 1. */
static void make_base(struct kunit *test, const char *path, u64 size, u8 id)
{
	struct dmc_new_layer nl = {
		.block_shift = LT_SHIFT,
		.virtual_size = size,
		.parent_generation = 0,
		.parent_path = "",
	};
	struct dmc_header *d;
	void *slot = kunit_kzalloc(test, 2 * DMC_SLOT_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, slot);
	memset(nl.uuid, id, DMC_UUID_SIZE);
	KUNIT_ASSERT_EQ(test, dmc_header_build(slot, &nl, 1), 0);
	d = slot;
	d->parent_kind = cpu_to_le32(DMC_PARENT_NONE);
	dmc_header_seal(slot, 1);
	memcpy(slot + DMC_SLOT_SIZE, slot, DMC_SLOT_SIZE);
	dmc_header_seal(slot + DMC_SLOT_SIZE, 2);
	write_file(test, path, slot, 2 * DMC_SLOT_SIZE, 0,
		   dmc_new_layer_size(size, LT_SHIFT));
}

/*
 * No flush_delayed_fput() after a dmc_layer_put(): fput() from this kernel
 * thread is deferred, and the reopens right after every put are the
 * regression test that the last put drops the layer's flock at once.
 */
static int get(const char *path, bool writable, const void *owner,
	       struct dmc_layer **l, const char **why)
{
	*why = NULL;
	return dmc_layer_get(path, writable, owner, "kunit", l, why);
}

static struct dmc_layer *get_ok(struct kunit *test, const char *path,
				bool writable, const void *owner)
{
	struct dmc_layer *l = NULL;
	const char *why;
	int r = get(path, writable, owner, &l, &why);

	KUNIT_ASSERT_EQ_MSG(test, r, 0, "open %s: %s", path, why);
	return l;
}

/* The open fails with @err and a reason holding @reason. */
static void expect_get_err(struct kunit *test, const char *path, bool raw,
			   bool writable, const void *owner, int err,
			   const char *reason)
{
	struct dmc_layer *l = NULL;
	const char *why = NULL;
	int r;

	r = raw ? dmc_layer_get_raw(path, writable, owner, "kunit", &l, &why) :
		  get(path, writable, owner, &l, &why);
	KUNIT_EXPECT_EQ_MSG(test, r, err, "%s: %s", path, why);
	if (!r) {
		dmc_layer_put(l);
		return;
	}
	KUNIT_ASSERT_NOT_NULL(test, why);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(why, reason), "reason was '%s'",
				  why);
}

static int commit(struct dmc_layer *l)
{
	unsigned int noio = memalloc_noio_save();
	int r = dmc_layer_commit(l);

	memalloc_noio_restore(noio);
	return r;
}

static void fill_pattern(u8 *buf, u64 block)
{
	unsigned int i;

	for (i = 0; i < LT_BSIZE; i++)
		buf[i] = (u8)(block * 7 + i / 64);
}

/* Write block @block of @l's data area with its pattern and mark it DATA. */
static void write_block(struct kunit *test, struct dmc_layer *l, u64 block)
{
	u8 *buf = kunit_kmalloc(test, LT_BSIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	fill_pattern(buf, block);
	KUNIT_ASSERT_EQ(test, dmc_write_exact(dmc_layer_wfile(l), buf, LT_BSIZE,
					      dmc_layer_data_offset(l) +
					      (block << LT_SHIFT)), 0);
	dmc_bm_set_range(dmc_layer_map(l), block, 1, DMC_BLOCK_DATA);
}

static void expect_block(struct kunit *test, struct dmc_layer *l, u64 block)
{
	u8 *want = kunit_kmalloc(test, LT_BSIZE, GFP_KERNEL);
	u8 *got = kunit_kmalloc(test, LT_BSIZE, GFP_KERNEL);
	loff_t pos = dmc_layer_data_offset(l) + (block << LT_SHIFT);

	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_ASSERT_NOT_NULL(test, got);
	fill_pattern(want, block);
	KUNIT_ASSERT_EQ(test, kernel_read(dmc_layer_file(l), got, LT_BSIZE,
					  &pos), (ssize_t)LT_BSIZE);
	KUNIT_EXPECT_EQ_MSG(test, memcmp(got, want, LT_BSIZE), 0,
			    "block %llu", block);
}

/* ---- a layer's life: write, commit, reopen ---- */

static void layer_write_commit_reopen(struct kunit *test)
{
	char *path = lt_path(test, "base.dmc");
	struct dmc_layer *l;
	const struct dmc_hdr *h;
	u64 counts[4], seq;

	make_base(test, path, LT_SIZE, 0x11);
	l = get_ok(test, path, true, &dev_a);
	h = dmc_layer_hdr(l);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_EXPECT_EQ(test, h->generation, 1ULL);
	KUNIT_EXPECT_EQ(test, h->sequence, 2ULL);
	KUNIT_EXPECT_EQ(test, h->nr_blocks, 2ULL * DMC_BLOCKS_PER_MAP_PAGE);
	KUNIT_EXPECT_TRUE(test, dmc_layer_is_writable(l));
	KUNIT_EXPECT_FALSE(test, dmc_layer_is_raw(l));
	KUNIT_EXPECT_EQ(test, dmc_layer_data_offset(l) % LT_BSIZE, 0ULL);

	/* A table making it its leaf bumps the generation (other slot). */
	KUNIT_ASSERT_EQ(test, dmc_layer_begin_write(l), 0);
	KUNIT_EXPECT_EQ(test, h->generation, 2ULL);
	KUNIT_EXPECT_EQ(test, h->sequence, 3ULL);
	seq = h->sequence;

	write_block(test, l, 3);
	write_block(test, l, LT_FAR);
	dmc_bm_set_range(dmc_layer_map(l), 7, 1, DMC_BLOCK_ZERO);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(dmc_layer_map(l)), 2UL);
	KUNIT_EXPECT_EQ(test, commit(l), 0);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(dmc_layer_map(l)), 0UL);
	/* Nothing dirty: a commit is a sync only. */
	KUNIT_EXPECT_EQ(test, commit(l), 0);
	KUNIT_EXPECT_EQ(test, h->sequence, seq);
	dmc_layer_put(l);

	/* Another device opens it read-only: all of it came from the file. */
	l = get_ok(test, path, false, &dev_b);
	h = dmc_layer_hdr(l);
	KUNIT_EXPECT_EQ(test, h->generation, 2ULL);
	KUNIT_EXPECT_EQ(test, h->sequence, 3ULL);
	KUNIT_EXPECT_FALSE(test, dmc_layer_is_writable(l));
	KUNIT_EXPECT_NULL(test, dmc_layer_wfile(l));
	dmc_bm_counts(dmc_layer_map(l), counts);
	KUNIT_EXPECT_EQ(test, counts[DMC_BLOCK_DATA], 2ULL);
	KUNIT_EXPECT_EQ(test, counts[DMC_BLOCK_ZERO], 1ULL);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(l), 3), DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(l), LT_FAR),
			DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(l), 7), DMC_BLOCK_ZERO);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(l), 4), DMC_BLOCK_ABSENT);
	expect_block(test, l, 3);
	expect_block(test, l, LT_FAR);
	/* Reopened read-only, the generation stays. */
	KUNIT_EXPECT_EQ(test, dmc_layer_begin_write(l), 0);
	KUNIT_EXPECT_EQ(test, h->generation, 2ULL);
	dmc_layer_put(l);
}

/* The last put writes back a dirty map: nothing acknowledged is lost. */
static void layer_put_writes_back(struct kunit *test)
{
	char *path = lt_path(test, "base.dmc");
	struct dmc_layer *l;

	make_base(test, path, LT_SIZE, 0x12);
	l = get_ok(test, path, true, &dev_a);
	write_block(test, l, LT_FAR + 1);
	dmc_layer_put(l);

	l = get_ok(test, path, false, &dev_a);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(l), LT_FAR + 1),
			DMC_BLOCK_DATA);
	expect_block(test, l, LT_FAR + 1);
	dmc_layer_put(l);
}

/* Handles are shared per inode; writable ones only by their device. */
static void layer_share_rules(struct kunit *test)
{
	char *path = lt_path(test, "base.dmc");
	struct dmc_layer *l, *l2, *r1, *r2;

	make_base(test, path, LT_SIZE, 0x13);
	l = get_ok(test, path, true, &dev_a);
	l2 = get_ok(test, path, true, &dev_a);
	KUNIT_EXPECT_PTR_EQ(test, l, l2);
	dmc_layer_put(l2);
	expect_get_err(test, path, false, false, &dev_b, -EBUSY,
		       "held writable by another device");
	expect_get_err(test, path, true, false, &dev_a, -EBUSY,
		       "open as a layer");
	/* A live merge claim needs the only reference. */
	l2 = get_ok(test, path, false, &dev_a);
	KUNIT_EXPECT_PTR_EQ(test, l, l2);
	{
		const char *why = NULL;

		KUNIT_EXPECT_EQ(test, dmc_layer_claim(l, &dev_a, &why), -EBUSY);
		dmc_layer_put(l2);
		KUNIT_EXPECT_EQ(test, dmc_layer_claim(l, &dev_a, &why), 0);
		expect_get_err(test, path, false, false, &dev_b, -EBUSY,
			       "held writable");
		dmc_layer_unclaim(l);
	}
	dmc_layer_put(l);

	r1 = get_ok(test, path, false, &dev_a);
	r2 = get_ok(test, path, false, &dev_b);
	KUNIT_EXPECT_PTR_EQ(test, r1, r2);
	expect_get_err(test, path, false, true, &dev_a, -EBUSY,
		       "in use read-only");
	dmc_layer_put(r2);
	dmc_layer_put(r1);
}

/* ---- children: creation, linkage, generations ---- */

static void layer_child_create(struct kunit *test)
{
	char *base = lt_path(test, "base.dmc");
	char *child = lt_path(test, "child.dmc");
	char *made = kunit_kzalloc(test, PATH_MAX, GFP_KERNEL);
	void *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	const char *why = NULL;
	struct dmc_layer *b, *c;
	const struct dmc_hdr *bh, *ch;
	struct file *f = NULL;
	int r;

	KUNIT_ASSERT_NOT_NULL(test, made);
	KUNIT_ASSERT_NOT_NULL(test, slot);
	make_base(test, base, LT_SIZE, 0x21);
	b = get_ok(test, base, true, &dev_a);
	KUNIT_ASSERT_EQ(test, dmc_layer_begin_write(b), 0);
	bh = dmc_layer_hdr(b);

	r = dmc_layer_create(child, b, bh->generation, NULL, made, PATH_MAX,
			     &f, &why);
	KUNIT_ASSERT_EQ_MSG(test, r, 0, "%s", why);
	KUNIT_EXPECT_STREQ(test, made, child);
	dmc_layer_create_end(f, made, true);
	r = dmc_layer_create(child, b, bh->generation, NULL, made, PATH_MAX,
			     &f, &why);
	KUNIT_EXPECT_EQ(test, r, -EEXIST);

	c = get_ok(test, child, false, &dev_a);
	ch = dmc_layer_hdr(c);
	KUNIT_EXPECT_EQ(test, ch->parent_kind, (u32)DMC_PARENT_LAYER);
	KUNIT_EXPECT_EQ(test, ch->parent_generation, 2ULL);
	KUNIT_EXPECT_EQ(test, ch->generation, 1ULL);
	KUNIT_EXPECT_EQ(test, ch->virtual_size, LT_SIZE);
	KUNIT_EXPECT_EQ(test, memcmp(ch->parent_uuid, bh->uuid, DMC_UUID_SIZE),
			0);
	/* It names its parent by the bare name: both share a directory. */
	read_file(test, child, slot, DMC_SLOT_SIZE, DMC_SLOT_SIZE);
	KUNIT_EXPECT_STREQ(test, ((struct dmc_header *)slot)->parent_path,
			   strrchr(base, '/') + 1);
	KUNIT_EXPECT_EQ(test, dmc_link_check(ch, bh, 0, &why), 0);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(dmc_layer_map(c)), 0UL);

	/* The base written again under its child: the child is stale. */
	KUNIT_ASSERT_EQ(test, dmc_layer_begin_write(b), 0);
	KUNIT_EXPECT_EQ(test, dmc_link_check(ch, bh, 0, &why), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "stale child"));
	dmc_layer_put(c);

	/* A default name next to the child; a refused one leaves no file. */
	r = dmc_layer_create(NULL, b, bh->generation, b, made, PATH_MAX, &f,
			     &why);
	KUNIT_ASSERT_EQ_MSG(test, r, 0, "%s", why);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(made, "-base-1.dmc"), "%s", made);
	dmc_layer_create_end(f, made, false);
	expect_get_err(test, made, false, false, &dev_a, -ENOENT,
		       "does not exist");

	r = dmc_layer_create(lt_path(test, "nodir/x.dmc"), b, bh->generation,
			     NULL, made, PATH_MAX, &f, &why);
	KUNIT_EXPECT_EQ(test, r, -ENOENT);
	dmc_layer_put(b);
}

/*
 * A table line's layers, as the constructor takes them: parse the line,
 * open the layers (the leaf writable), check each link.
 */
static int open_chain(struct kunit *test, const char *line,
		      const char **why)
{
	char *buf = lt_fmt(test, "%s", line);
	struct dmc_layer *l[4] = { NULL };
	struct dmc_table_args args;
	char *argv[8], *error = NULL;
	unsigned int argc = 0, i, n = 0;
	int r;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	while (argc < ARRAY_SIZE(argv) && buf && *buf)
		argv[argc++] = strsep(&buf, " ");
	r = dmc_parse_table(argc, argv, &args, &error);
	if (r) {
		*why = error;
		return r;
	}
	KUNIT_ASSERT_LE(test, args.nr_layers, 4U);
	for (i = 0; !r && i < args.nr_layers; i++) {
		bool w = i == args.nr_layers - 1 &&
			 !(args.features & DMC_FEATURE_READ_ONLY);

		if (!i && (args.features & DMC_FEATURE_RAW_BASE))
			r = dmc_layer_get_raw(args.paths[i], w, &dev_a, "kunit",
					      &l[i], why);
		else
			r = get(args.paths[i], w, &dev_a, &l[i], why);
		if (r)
			break;
		n++;
		if (!i && !dmc_layer_is_raw(l[0]) &&
		    dmc_layer_hdr(l[0])->parent_kind != DMC_PARENT_NONE) {
			*why = "Base layer has a parent layer";
			r = -EINVAL;
		}
		if (i)
			r = dmc_link_check(dmc_layer_hdr(l[i]),
					   dmc_layer_hdr(l[i - 1]),
					   dmc_layer_raw_size(l[i - 1]), why);
	}
	if (!r)
		r = dmc_layer_begin_write(l[args.nr_layers - 1]);
	while (n--)
		dmc_layer_put(l[n]);
	kvfree(args.paths);
	return r;
}

static void make_child(struct kunit *test, const char *base, const char *path)
{
	struct dmc_layer *b = get_ok(test, base, false, &dev_b);
	struct file *f = NULL;
	const char *why = NULL;
	char made[256];
	int r;

	r = dmc_layer_create(path, b, dmc_layer_hdr(b)->generation, NULL, made,
			     sizeof(made), &f, &why);
	KUNIT_ASSERT_EQ_MSG(test, r, 0, "%s", why);
	dmc_layer_create_end(f, made, true);
	dmc_layer_put(b);
}

static void expect_chain(struct kunit *test, const char *line, int err,
			 const char *reason)
{
	const char *why = NULL;
	int r = open_chain(test, line, &why);

	KUNIT_EXPECT_EQ_MSG(test, r, err, "%s: %s", line, why);
	if (r && r == err) {
		KUNIT_ASSERT_NOT_NULL(test, why);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(why, reason),
					  "%s: reason was '%s'", line, why);
	}
}

static void layer_table_chains(struct kunit *test)
{
	char *b1 = lt_path(test, "b1.dmc"), *b2 = lt_path(test, "b2.dmc");
	char *c1 = lt_path(test, "c1.dmc"), *c2 = lt_path(test, "c2.dmc");
	char *d1 = lt_path(test, "d1.dmc");

	make_base(test, b1, LT_SIZE, 0x31);
	make_base(test, b2, LT_SIZE, 0x32);
	make_child(test, b1, c1);
	make_child(test, b2, c2);

	expect_chain(test, lt_fmt(test, "2 %s %s 1 read_only", b1, c1), 0, "");
	/* b1 as a writable leaf: its generation goes to 2 ... */
	expect_chain(test, lt_fmt(test, "1 %s", b1), 0, "");
	/* ... so its child made at generation 1 is stale now. */
	expect_chain(test, lt_fmt(test, "2 %s %s", b1, c1), -EINVAL,
		     "stale child");
	expect_chain(test, lt_fmt(test, "2 %s %s", b1, c2), -EINVAL,
		     "parent UUID does not match");
	expect_chain(test, lt_fmt(test, "1 %s", c2), -EINVAL,
		     "Base layer has a parent");
	expect_chain(test, lt_fmt(test, "2 %s %s", b2, b2), -EBUSY,
		     "in use read-only");
	expect_chain(test, lt_fmt(test, "2 %s %s", b2, d1), -ENOENT,
		     "does not exist");
	expect_chain(test, lt_fmt(test, "3 %s %s", b2, c2), -EINVAL, "");
	expect_chain(test, lt_fmt(test, "2 %s %s 1 raw_base", b2, c2), -EINVAL,
		     "does not sit on a raw image");
	expect_chain(test, lt_fmt(test, "2 %s %s", c2, b2), -EINVAL,
		     "has a parent");
	expect_chain(test, lt_fmt(test, "2 %s %s", b2, c2), 0, "");
	/* Made writable once more, b2 stales c2 in its turn. */
	expect_chain(test, lt_fmt(test, "1 %s", b2), 0, "");
	expect_chain(test, lt_fmt(test, "2 %s %s 1 read_only", b2, c2), -EINVAL,
		     "stale child");
}

/* ---- open errors ---- */

static void layer_open_errors(struct kunit *test)
{
	char *p = lt_path(test, "small");
	u8 *buf = kunit_kzalloc(test, 2 * DMC_SLOT_SIZE, GFP_KERNEL);
	u64 size = dmc_new_layer_size(LT_SIZE, LT_SHIFT);
	struct dmc_layer *l;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	expect_get_err(test, lt_path(test, "missing"), false, false, &dev_a,
		       -ENOENT, "does not exist");
	expect_get_err(test, kunit_dir, false, false, &dev_a, -EISDIR,
		       "is a directory");

	write_file(test, p, buf, 1024, 0, -1);
	expect_get_err(test, p, false, false, &dev_a, -EINVAL, "too small");
	expect_get_err(test, p, true, false, &dev_a, 0, "");
	write_file(test, p, NULL, 0, 0, 100);
	expect_get_err(test, p, true, false, &dev_a, -EINVAL,
		       "smaller than one sector");

	p = lt_path(test, "zeros");
	write_file(test, p, buf, 2 * DMC_SLOT_SIZE, 0, -1);
	expect_get_err(test, p, false, true, &dev_a, -EINVAL, "no header");

	/* Both slots with a bad checksum. */
	p = lt_path(test, "corrupt.dmc");
	make_base(test, p, LT_SIZE, 0x41);
	read_file(test, p, buf, 2 * DMC_SLOT_SIZE, 0);
	buf[200] ^= 1;
	buf[DMC_SLOT_SIZE + 200] ^= 1;
	write_file(test, p, buf, 2 * DMC_SLOT_SIZE, 0, -1);
	expect_get_err(test, p, false, false, &dev_a, -EILSEQ, "corrupt");
	/* Slot 1 only: slot 0 serves. */
	buf[200] ^= 1;
	write_file(test, p, buf, DMC_SLOT_SIZE, 0, -1);
	l = get_ok(test, p, false, &dev_a);
	KUNIT_EXPECT_EQ(test, dmc_layer_hdr(l)->sequence, 1ULL);
	dmc_layer_put(l);

	/* Cut short: the data area no longer fits. */
	p = lt_path(test, "short.dmc");
	make_base(test, p, LT_SIZE, 0x42);
	write_file(test, p, NULL, 0, 0, size - LT_BSIZE);
	expect_get_err(test, p, false, true, &dev_a, -EINVAL, "");
	write_file(test, p, NULL, 0, 0, 3 * DMC_SLOT_SIZE);
	expect_get_err(test, p, false, false, &dev_a, -EINVAL, "");

	/* A map entry holding the invalid value 3. */
	p = lt_path(test, "badmap.dmc");
	make_base(test, p, LT_SIZE, 0x43);
	buf[0] = 0x30;
	write_file(test, p, buf, 1, DMC_MAP_OFFSET + 9, -1);
	expect_get_err(test, p, false, false, &dev_a, -EILSEQ,
		       "invalid entry");
}

/* ---- read-only and full filesystems (kunit.sh mounts ro/ and full/) ---- */

static void layer_readonly_fs(struct kunit *test)
{
	char *p = lt_fmt(test, "%s/ro/plain", kunit_dir);
	char *made = kunit_kzalloc(test, PATH_MAX, GFP_KERNEL);
	char *base = lt_path(test, "base.dmc");
	struct dmc_layer *b;
	struct file *f = NULL;
	const char *why = NULL;

	KUNIT_ASSERT_NOT_NULL(test, made);
	expect_get_err(test, p, false, true, &dev_a, -EROFS,
		       "read-only filesystem");
	expect_get_err(test, p, false, false, &dev_a, -EINVAL, "too small");

	make_base(test, base, LT_SIZE, 0x51);
	b = get_ok(test, base, false, &dev_a);
	p = lt_fmt(test, "%s/ro/new.dmc", kunit_dir);
	KUNIT_EXPECT_EQ(test, dmc_layer_create(p, b, 1, NULL, made, PATH_MAX,
					       &f, &why), -EROFS);
	/* A read-only handle has no file to write or commit through. */
	KUNIT_EXPECT_NULL(test, dmc_layer_wfile(b));
	KUNIT_EXPECT_EQ(test, commit(b), 0);
	KUNIT_EXPECT_EQ(test, dmc_layer_edit_header(b, NULL, NULL), -EBADF);
	dmc_layer_put(b);
}

/* Fill the filesystem of @path: write until -ENOSPC. */
static void fill_fs(struct kunit *test, const char *path)
{
	struct file *f = filp_open(path, O_CREAT | O_RDWR | O_LARGEFILE, 0600);
	void *buf = kunit_kzalloc(test, 64 * 1024, GFP_KERNEL);
	loff_t pos = 0;
	ssize_t n;
	int i;

	KUNIT_ASSERT_FALSE(test, IS_ERR(f));
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0, n = 1; i < 1024 && n > 0; i++)
		n = kernel_write(f, buf, 64 * 1024, &pos);
	fput(f);
	KUNIT_ASSERT_EQ_MSG(test, n, (ssize_t)-ENOSPC, "after %lld bytes", pos);
}

/*
 * The leaf's filesystem is full: its commit fails with -ENOSPC and keeps
 * the pages dirty; the device (io.c) goes to fail mode and refuses every
 * later commit with -EIO, even after space came back; a plain layer commit
 * then succeeds and the map reaches the file.
 */
static void layer_commit_enospc(struct kunit *test)
{
	char *base = lt_fmt(test, "%s/full/base.dmc",
				     kunit_dir);
	char *filler = lt_fmt(test, "%s/full/filler",
				       kunit_dir);
	struct dmc_chain *dc = kunit_kzalloc(test, sizeof(*dc), GFP_KERNEL);
	struct dmc_layer *l;
	unsigned int noio;

	KUNIT_ASSERT_NOT_NULL(test, dc);
	make_base(test, base, LT_SIZE, 0x61);
	l = get_ok(test, base, true, &dev_a);
	KUNIT_ASSERT_EQ(test, dmc_layer_begin_write(l), 0);
	fill_fs(test, filler);

	dmc_bm_set_range(dmc_layer_map(l), 1, 1, DMC_BLOCK_ZERO);
	dmc_bm_set_range(dmc_layer_map(l), LT_FAR, 1, DMC_BLOCK_ZERO);
	KUNIT_EXPECT_EQ(test, commit(l), -ENOSPC);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(dmc_layer_map(l)), 2UL);

	/*
	 * The device's commit: a chain of one layer, its fail mode told
	 * already (the work item that logs it needs a dm table).
	 */
	dc->layers = &l;
	dc->nr_layers = 1;
	set_bit(DMC_CHAIN_FAIL_TOLD, &dc->flags);
	noio = memalloc_noio_save();
	KUNIT_EXPECT_FALSE(test, dmc_chain_failed(dc));
	KUNIT_EXPECT_EQ(test, dmc_chain_commit(dc), -ENOSPC);
	KUNIT_EXPECT_TRUE(test, dmc_chain_failed(dc));
	write_file(test, filler, NULL, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, dmc_chain_commit(dc), -EIO);
	KUNIT_EXPECT_EQ(test, dmc_layer_commit_guarded(l, &dc->flags,
						       DMC_CHAIN_FAILED), -EIO);
	memalloc_noio_restore(noio);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(dmc_layer_map(l)), 2UL);

	KUNIT_EXPECT_EQ(test, commit(l), 0);
	KUNIT_EXPECT_EQ(test, dmc_bm_nr_dirty(dmc_layer_map(l)), 0UL);
	dmc_layer_put(l);
	l = get_ok(test, base, false, &dev_a);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(l), LT_FAR),
			DMC_BLOCK_ZERO);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(l), 1), DMC_BLOCK_ZERO);
	dmc_layer_put(l);
}

/* ---- what a live merge does to layer files (merge.c's primitives) ---- */

static int edit_journal(void *slot, const void *arg)
{
	return dmc_header_set_journal(slot, arg);
}

static int edit_merged_away(void *slot, const void *arg)
{
	dmc_header_set_merged_away(slot, arg);
	return 0;
}

static int edit_refuse(void *slot, const void *arg)
{
	return -ENOSPC;
}

/*
 * A merge of child C into its base B on device A, by hand: both opened
 * read-only, B claimed and opened for writing, C's block copied into B
 * and committed through the merge's file, the journal written, C marked
 * merged away; then every state is read back from the files.
 */
static void layer_merge_primitives(struct kunit *test)
{
	char *bp = lt_path(test, "b.dmc"), *cp = lt_path(test, "c.dmc");
	u8 *buf = kunit_kmalloc(test, LT_BSIZE, GFP_KERNEL);
	struct dmc_journal_args j = {
		.state = DMC_JOURNAL_MERGING,
		.nr_sources = 1,
		.cursor = 6,
		.old_generation = 1,
		.new_generation = 2,
		.top_path = "c.dmc",
	};
	const struct dmc_hdr *bh, *ch;
	struct dmc_layer *b, *c;
	const char *why = NULL;
	u64 seq;
	loff_t pos;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	make_base(test, bp, LT_SIZE, 0x71);
	make_child(test, bp, cp);
	b = get_ok(test, bp, false, &dev_a);
	c = get_ok(test, cp, false, &dev_a);
	bh = dmc_layer_hdr(b);
	ch = dmc_layer_hdr(c);
	j.bottom_uuid = ch->uuid;
	j.top_uuid = ch->uuid;

	KUNIT_EXPECT_EQ(test, dmc_layer_claim(b, &dev_a, &why), 0);
	KUNIT_EXPECT_EQ(test, dmc_layer_claim(b, &dev_b, &why), -EBUSY);
	expect_get_err(test, bp, false, false, &dev_b, -EBUSY,
		       "live merge on another device");
	KUNIT_EXPECT_EQ(test, dmc_layer_edit_header(b, edit_journal, &j),
			-EBADF);
	KUNIT_ASSERT_EQ(test, dmc_layer_open_for_write(b, &why), 0);
	KUNIT_ASSERT_EQ(test, dmc_layer_open_for_write(c, &why), 0);
	KUNIT_EXPECT_NOT_NULL(test, dmc_layer_wfile(b));
	KUNIT_EXPECT_FALSE(test, dmc_layer_is_writable(b));

	/* C's block 5, written through C's merge file, copied into B. */
	write_block(test, c, 5);
	KUNIT_EXPECT_EQ(test, commit(c), 0);
	pos = dmc_layer_data_offset(c) + (5 << LT_SHIFT);
	KUNIT_ASSERT_EQ(test, kernel_read(dmc_layer_file(c), buf, LT_BSIZE,
					  &pos), (ssize_t)LT_BSIZE);
	KUNIT_ASSERT_EQ(test, dmc_write_exact(dmc_layer_wfile(b), buf,
					      LT_BSIZE,
					      dmc_layer_data_offset(b) +
					      (5 << LT_SHIFT)), 0);
	dmc_bm_set_range(dmc_layer_map(b), 5, 1, DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, commit(b), 0);

	/* The journal: a refused edit writes nothing. */
	seq = bh->sequence;
	KUNIT_EXPECT_EQ(test, dmc_layer_edit_header(b, edit_refuse, NULL),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, bh->sequence, seq);
	KUNIT_ASSERT_EQ(test, dmc_layer_edit_header(b, edit_journal, &j), 0);
	KUNIT_EXPECT_EQ(test, bh->sequence, seq + 1);
	KUNIT_EXPECT_EQ(test, bh->j_state, (u32)DMC_JOURNAL_MERGING);
	/* C is the merge's bottom source: its link to B still holds. */
	KUNIT_EXPECT_EQ(test, dmc_link_check(ch, bh, 0, &why), 0);
	KUNIT_EXPECT_EQ(test, dmc_layer_edit_header(c, edit_merged_away,
						    bh->uuid), 0);
	KUNIT_EXPECT_EQ(test, ch->state, (u32)DMC_STATE_MERGED_AWAY);
	dmc_layer_unclaim(b);
	dmc_layer_put(c);
	dmc_layer_put(b);

	b = get_ok(test, bp, false, &dev_b);
	bh = dmc_layer_hdr(b);
	KUNIT_EXPECT_EQ(test, bh->sequence, seq + 1);
	KUNIT_EXPECT_EQ(test, bh->j_state, (u32)DMC_JOURNAL_MERGING);
	KUNIT_EXPECT_EQ(test, bh->j_cursor, 6ULL);
	KUNIT_EXPECT_EQ(test, bh->j_new_generation, 2ULL);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(b), 5), DMC_BLOCK_DATA);
	KUNIT_EXPECT_EQ(test, dmc_bm_get(dmc_layer_map(b), 4),
			DMC_BLOCK_ABSENT);
	expect_block(test, b, 5);
	dmc_layer_put(b);
	expect_get_err(test, cp, false, false, &dev_b, -EINVAL,
		       "merged away");
}

static struct kunit_case layer_file_cases[] = {
	KUNIT_CASE(layer_write_commit_reopen),
	KUNIT_CASE(layer_put_writes_back),
	KUNIT_CASE(layer_share_rules),
	KUNIT_CASE(layer_child_create),
	KUNIT_CASE(layer_table_chains),
	KUNIT_CASE(layer_open_errors),
	KUNIT_CASE(layer_readonly_fs),
	KUNIT_CASE(layer_commit_enospc),
	KUNIT_CASE(layer_merge_primitives),
	{}
};

/* Each case needs LT_DIR with its full/ and ro/ mounts (kunit.sh). */
static int layer_file_init(struct kunit *test)
{
	struct path p;

	if (kern_path(LT_DIR "/ro/plain", LOOKUP_FOLLOW, &p))
		kunit_skip(test, "no " LT_DIR "/ro/plain: run by tests/kunit/kunit.sh");
	path_put(&p);
	return 0;
}

static struct kunit_suite layer_file_suite = {
	.name = "dm_chain_layer_files",
	.init = layer_file_init,
	.test_cases = layer_file_cases,
};

kunit_test_suite(layer_file_suite);
