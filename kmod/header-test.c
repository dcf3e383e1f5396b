// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: layer header checksum, slot choice, field validation and linkage
 * (dm_chain_header).
 */
#include <kunit/test.h>
#include <linux/crc32c.h>
#include <linux/fs.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <dm-chain/verify_cases.h>

#include "header.h"

#define MiB (1ULL << 20)
/* A file exactly as long as make_slot()'s layout. */
#define LAYER_FILE_SIZE ((1ULL << 30) + MiB)

/* A valid 1 GiB base with 64 KiB blocks, as chainctl layer create makes. */
static void make_slot(void *slot, u64 seq, u8 uuid_byte)
{
	struct dmc_header *d = slot;
	u64 nr = dmc_nr_blocks(1ULL << 30, 16);

	memset(slot, 0, DMC_SLOT_SIZE);
	d->magic = cpu_to_le64(DMC_MAGIC);
	d->version = cpu_to_le32(DMC_VERSION);
	d->sequence = cpu_to_le64(seq);
	d->state = cpu_to_le32(DMC_STATE_VALID);
	d->block_shift = cpu_to_le32(16);
	d->virtual_size = cpu_to_le64(1ULL << 30);
	d->generation = cpu_to_le64(1);
	d->map_offset = cpu_to_le64(DMC_MAP_OFFSET);
	d->map_length = cpu_to_le64(dmc_map_length(nr));
	d->data_offset = cpu_to_le64(dmc_data_offset(DMC_MAP_OFFSET +
						     dmc_map_length(nr), 16));
	memset(d->uuid, uuid_byte, DMC_UUID_SIZE);
	d->parent_kind = cpu_to_le32(DMC_PARENT_NONE);
}

static void seal(void *slot)
{
	struct dmc_header *d = slot;

	d->checksum = 0;
	d->checksum = cpu_to_le32(dmc_header_crc(slot));
}

static void header_crc_convention(struct kunit *test)
{
	static const char check[] = "123456789";
	u8 *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	struct dmc_header *d = (struct dmc_header *)slot;
	u32 crc;

	KUNIT_ASSERT_NOT_NULL(test, slot);
	/* The standard CRC32C check value: seed ~0, final xor ~0. */
	KUNIT_EXPECT_EQ(test, ~crc32c(~0U, check, 9), 0xe3069283U);

	/* The checksum field counts as zero, whatever it holds. */
	make_slot(slot, 1, 0xab);
	crc = ~crc32c(~0U, slot, DMC_SLOT_SIZE);
	KUNIT_EXPECT_EQ(test, dmc_header_crc(slot), crc);
	d->checksum = cpu_to_le32(0xdeadbeef);
	KUNIT_EXPECT_EQ(test, dmc_header_crc(slot), crc);
}

/*
 * The module's dmc_crc32c() is the kernel's __crc32c_le(); the shared format
 * code, chainctl and the files it writes use the byte-wise table.  Both
 * must give the same value for any length and alignment, and for a
 * running CRC fed in pieces.
 */
static void header_crc_matches_portable(struct kunit *test)
{
	static const unsigned int lens[] = { 0, 1, 3, 8, 15, 16, 63, 64,
					     4095, 4096, 4097, 65536 + 7 };
	u8 *buf = kunit_kmalloc(test, 65536 + 32, GFP_KERNEL);
	unsigned int i, off, half;
	u32 seed;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	get_random_bytes(buf, 65536 + 32);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		for (off = 0; off < 8; off += 3) {
			seed = get_random_u32();
			KUNIT_EXPECT_EQ_MSG(test,
					    dmc_crc32c(seed, buf + off, lens[i]),
					    dmc_crc32c_portable(seed, buf + off,
								lens[i]),
					    "length %u at offset %u", lens[i], off);
			half = lens[i] / 2;
			KUNIT_EXPECT_EQ_MSG(test,
					    dmc_crc32c(dmc_crc32c(~0U, buf + off, half),
						       buf + off + half,
						       lens[i] - half),
					    dmc_crc32c_portable(~0U, buf + off,
								lens[i]),
					    "length %u in two pieces", lens[i]);
		}
	}
	KUNIT_EXPECT_EQ(test, ~dmc_crc32c_portable(~0U, "123456789", 9),
			0xe3069283U);
}

static void header_slot_check(struct kunit *test)
{
	u8 *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	struct dmc_header *d = (struct dmc_header *)slot;

	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, dmc_slot_check(slot), -ENODATA);
	make_slot(slot, 1, 1);
	seal(slot);
	KUNIT_EXPECT_EQ(test, dmc_slot_check(slot), 0);
	slot[2000] ^= 1;
	KUNIT_EXPECT_EQ(test, dmc_slot_check(slot), -EILSEQ);
	slot[2000] ^= 1;
	d->version = cpu_to_le32(2);
	seal(slot);
	KUNIT_EXPECT_EQ(test, dmc_slot_check(slot), -EILSEQ);
}

struct pick_case {
	const char *name;
	int s0, s1;		/* 0 none, 1 valid, 2 corrupt */
	u64 seq0, seq1;
	int want;
};

static const struct pick_case pick_cases[] = {
	{ "both valid, 1 newer", 1, 1, 4, 5, 1 },
	{ "both valid, 0 newer", 1, 1, 7, 6, 0 },
	{ "only slot 0", 1, 0, 1, 0, 0 },
	{ "only slot 1", 0, 1, 0, 2, 1 },
	{ "slot 1 torn", 1, 2, 3, 4, 0 },
	{ "slot 0 torn", 2, 1, 5, 4, 1 },
	{ "no magic anywhere: raw", 0, 0, 0, 0, -ENODATA },
	{ "both corrupt", 2, 2, 1, 2, -EILSEQ },
	{ "one corrupt, one blank", 2, 0, 1, 0, -EILSEQ },
};

static void pick_case_desc(const struct pick_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pick, pick_cases, pick_case_desc);

static void fill_pick_slot(u8 *slot, int kind, u64 seq)
{
	memset(slot, 0, DMC_SLOT_SIZE);
	if (!kind)
		return;
	make_slot(slot, seq, 1);
	seal(slot);
	if (kind == 2)
		slot[100] ^= 0xff;
}

static void header_pick(struct kunit *test)
{
	const struct pick_case *c = test->param_value;
	u8 *s0 = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	u8 *s1 = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, s0);
	KUNIT_ASSERT_NOT_NULL(test, s1);
	fill_pick_slot(s0, c->s0, c->seq0);
	fill_pick_slot(s1, c->s1, c->seq1);
	KUNIT_EXPECT_EQ(test, dmc_header_pick(s0, s1), c->want);
}

/* Field validation: each case breaks one field of a valid slot. */
struct decode_case {
	const char *name;
	void (*mutate)(struct dmc_header *d);
	int ret;
	const char *why;
};

static void m_none(struct dmc_header *d) { }
static void m_incompat(struct dmc_header *d) { d->incompat_features = cpu_to_le32(1U << 31); }
static void m_compat(struct dmc_header *d) { d->compat_features = cpu_to_le32(0x80); }
static void m_merged(struct dmc_header *d) { d->state = cpu_to_le32(DMC_STATE_MERGED_AWAY); }
static void m_state(struct dmc_header *d) { d->state = cpu_to_le32(7); }
static void m_shift_small(struct dmc_header *d) { d->block_shift = cpu_to_le32(11); }
static void m_shift_big(struct dmc_header *d) { d->block_shift = cpu_to_le32(22); }
static void m_size_zero(struct dmc_header *d) { d->virtual_size = 0; }
static void m_size_odd(struct dmc_header *d) { d->virtual_size = cpu_to_le64((1ULL << 30) + 100); }
static void m_map_off(struct dmc_header *d) { d->map_offset = cpu_to_le64(4096); }
static void m_map_len(struct dmc_header *d) { d->map_length = cpu_to_le64(8192); }
static void m_data_off(struct dmc_header *d) { d->data_offset = cpu_to_le64(MiB + 4096); }
static void m_uuid(struct dmc_header *d) { memset(d->uuid, 0, DMC_UUID_SIZE); }
static void m_kind(struct dmc_header *d) { d->parent_kind = cpu_to_le32(9); }
static void m_parent_uuid(struct dmc_header *d)
{
	d->parent_kind = cpu_to_le32(DMC_PARENT_LAYER);
	strscpy(d->parent_path, "base.img", DMC_PATH_MAX);
}
static void m_parent_path(struct dmc_header *d)
{
	d->parent_kind = cpu_to_le32(DMC_PARENT_LAYER);
	memset(d->parent_uuid, 5, DMC_UUID_SIZE);
}
static void m_raw_size(struct dmc_header *d)
{
	d->parent_kind = cpu_to_le32(DMC_PARENT_RAW);
	strscpy(d->parent_path, "base.raw", DMC_PATH_MAX);
	d->parent_raw_size = cpu_to_le64(1ULL << 29);
}
static void m_path_unterminated(struct dmc_header *d)
{
	memset(d->parent_path, 'a', DMC_PATH_MAX);
}
static void m_journal_state(struct dmc_header *d) { d->journal.state = cpu_to_le32(5); }
static void m_journal_gens(struct dmc_header *d)
{
	d->journal.state = cpu_to_le32(DMC_JOURNAL_MERGING);
	d->journal.nr_sources = cpu_to_le32(1);
	d->journal.old_generation = cpu_to_le64(1);
	d->journal.new_generation = cpu_to_le64(3);
	memset(d->journal.bottom_uuid, 2, DMC_UUID_SIZE);
	memset(d->journal.top_uuid, 2, DMC_UUID_SIZE);
	strscpy(d->journal.top_path, "top", DMC_JOURNAL_PATH_MAX);
}
static void m_journal_ok(struct dmc_header *d)
{
	m_journal_gens(d);
	d->journal.new_generation = cpu_to_le64(2);
}

static const struct decode_case decode_cases[] = {
	{ "valid", m_none, 0, NULL },
	{ "unknown compat feature is ignored", m_compat, 0, NULL },
	{ "unknown incompat feature", m_incompat, -EOPNOTSUPP, "incompatible" },
	{ "merged away", m_merged, -EINVAL, "merged away" },
	{ "unknown state", m_state, -EINVAL, "unknown state" },
	{ "block size too small", m_shift_small, -EINVAL, "block size" },
	{ "block size too big", m_shift_big, -EINVAL, "block size" },
	{ "zero size", m_size_zero, -EINVAL, "virtual size" },
	{ "unaligned size", m_size_odd, -EINVAL, "virtual size" },
	{ "map offset", m_map_off, -EINVAL, "map offset" },
	{ "map length", m_map_len, -EINVAL, "map offset or length" },
	{ "data offset", m_data_off, -EINVAL, "data offset" },
	{ "zero uuid", m_uuid, -EINVAL, "UUID is zero" },
	{ "unknown parent kind", m_kind, -EINVAL, "parent kind" },
	{ "parent uuid zero", m_parent_uuid, -EINVAL, "zero UUID" },
	{ "parent path empty", m_parent_path, -EINVAL, "path hint is empty" },
	{ "raw parent size", m_raw_size, -EINVAL, "raw parent size" },
	{ "path not terminated", m_path_unterminated, -EINVAL, "NUL" },
	{ "journal state", m_journal_state, -EINVAL, "journal" },
	{ "journal generations", m_journal_gens, -EINVAL, "journal" },
	{ "journal well formed", m_journal_ok, 0, NULL },
};

static void decode_case_desc(const struct decode_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(decode, decode_cases, decode_case_desc);

static void header_decode(struct kunit *test)
{
	const struct decode_case *c = test->param_value;
	u8 *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	const char *why = NULL;
	struct dmc_hdr h;
	int r;

	KUNIT_ASSERT_NOT_NULL(test, slot);
	make_slot(slot, 1, 1);
	c->mutate((struct dmc_header *)slot);
	seal(slot);

	r = dmc_header_decode(slot, LAYER_FILE_SIZE, &h, &why);

	KUNIT_EXPECT_EQ(test, r, c->ret);
	if (c->ret) {
		KUNIT_ASSERT_NOT_NULL(test, why);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(why, c->why),
					  "reason was '%s'", why);
	} else {
		KUNIT_EXPECT_EQ(test, h.nr_blocks, 16384ULL);
		KUNIT_EXPECT_EQ(test, h.block_shift, 16U);
	}
}

static void header_decode_short_file(struct kunit *test)
{
	u8 *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	const char *why = NULL;
	struct dmc_hdr h;

	KUNIT_ASSERT_NOT_NULL(test, slot);
	make_slot(slot, 1, 1);
	seal(slot);
	KUNIT_EXPECT_EQ(test, dmc_header_decode(slot, 8192, &h, &why), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "shorter than its block map"));
	/* Item 8: a file ending inside its data area is refused too. */
	KUNIT_EXPECT_EQ(test, dmc_header_decode(slot, 2 * MiB, &h, &why),
			-EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "truncated"));
	KUNIT_EXPECT_EQ(test, dmc_header_decode(slot, LAYER_FILE_SIZE - 1, &h,
						&why), -EINVAL);
	KUNIT_EXPECT_EQ(test, dmc_header_decode(slot, LAYER_FILE_SIZE, &h,
						&why), 0);
}

/* Item 9: the filesystem's s_maxbytes bounds the layout. */
static void header_decode_max_bytes(struct kunit *test)
{
	u8 *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	const char *why = NULL;
	struct dmc_hdr h;

	KUNIT_ASSERT_NOT_NULL(test, slot);
	make_slot(slot, 1, 1);
	((struct dmc_header *)slot)->data_offset = cpu_to_le64(1ULL << 62);
	seal(slot);
	KUNIT_EXPECT_EQ(test, dmc_header_decode_max(slot, S64_MAX,
						    MAX_LFS_FILESIZE, &h, &why),
			0);
	KUNIT_EXPECT_EQ(test, dmc_header_decode_max(slot, S64_MAX, 1ULL << 44,
						    &h, &why), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "largest file size"));
	((struct dmc_header *)slot)->data_offset = cpu_to_le64(S64_MAX & ~(MiB - 1));
	seal(slot);
	KUNIT_EXPECT_EQ(test, dmc_header_decode(slot, U64_MAX, &h, &why),
			-EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "largest file size"));
}

/*
 * The shared table (include/dm-chain/verify_cases.h): the host unit tests
 * run the same cases against the same code in chainctl.
 */
static void verify_case_desc(const struct dmc_verify_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(verify, dmc_verify_cases, verify_case_desc);

static void header_verify_table(struct kunit *test)
{
	const struct dmc_verify_case *c = test->param_value;
	u8 *buf = kunit_kzalloc(test, 2 * DMC_SLOT_SIZE, GFP_KERNEL);
	enum dmc_verify_reason why;
	struct dmc_hdr h;
	int r, slot;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	r = dmc_verify_case_run(c, buf, &h, &slot, &why);
	KUNIT_EXPECT_EQ_MSG(test, r, c->result, "reason: %s",
			    dmc_verify_reason_str(why));
	KUNIT_EXPECT_EQ_MSG(test, why, c->why, "reason: %s",
			    dmc_verify_reason_str(why));
	KUNIT_EXPECT_EQ(test, slot, c->slot);
	if (r == DMC_VERIFY_OK)
		KUNIT_EXPECT_EQ(test, h.nr_blocks, VC_NR_BLOCKS);
}

static void verify_map_case_desc(const struct dmc_verify_map_case *c,
				 char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(verify_map, dmc_verify_map_cases, verify_map_case_desc);

static void header_verify_map_table(struct kunit *test)
{
	const struct dmc_verify_map_case *c = test->param_value;
	u64 counts[4] = { 0 }, bad = 0;
	int r;

	r = dmc_verify_map(c->map, c->first, c->end, counts, &bad);
	KUNIT_EXPECT_EQ(test, r, c->result);
	if (r)
		KUNIT_EXPECT_EQ(test, bad, c->bad);
	KUNIT_EXPECT_EQ(test, counts[0], c->counts[0]);
	KUNIT_EXPECT_EQ(test, counts[1], c->counts[1]);
	KUNIT_EXPECT_EQ(test, counts[2], c->counts[2]);
	KUNIT_EXPECT_EQ(test, dmc_map_check(c->map, c->first, c->end, NULL,
					    &bad), r ? -EILSEQ : 0);
}

static void verify_xlist_case_desc(const struct dmc_verify_xlist_case *c,
				   char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(verify_xlist, dmc_verify_xlist_cases, verify_xlist_case_desc);

/* The extent list's place (the host suite runs the same table). */
static void header_verify_xlist_table(struct kunit *test)
{
	const struct dmc_verify_xlist_case *c = test->param_value;
	/* Both slots' room: vc_make_base() clears two (a 4 KiB buffer here
	 * once zeroed the slab object after it). */
	u8 *slot = kunit_kzalloc(test, 2 * DMC_SLOT_SIZE, GFP_KERNEL);
	enum dmc_verify_reason why;

	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_EXPECT_EQ(test, (int)dmc_verify_xlist_case_run(c, slot, &why),
			(int)c->verdict);
	KUNIT_EXPECT_EQ_MSG(test, why, c->why, "reason: %s",
			    dmc_verify_reason_str(why));
}

static void verify_run_case_desc(const struct dmc_verify_run_case *c,
				 char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(verify_run, dmc_verify_run_cases, verify_run_case_desc);

/* The extent list's records, read whole and one by one. */
static void header_verify_run_table(struct kunit *test)
{
	const struct dmc_verify_run_case *c = test->param_value;
	enum dmc_verify_reason why;
	int one, r;
	u64 bad;

	for (one = 0; one < 2; one++) {
		r = dmc_verify_run_case_run(c, one, &bad, &why);
		KUNIT_EXPECT_EQ_MSG(test, r, c->result, "%s: %s",
				    one ? "one by one" : "whole",
				    dmc_verify_reason_str(why));
		KUNIT_EXPECT_EQ(test, why, c->why);
		if (why == DMC_WHY_XLIST_RECORD)
			KUNIT_EXPECT_EQ(test, bad, c->bad);
	}
}

/* Linkage rules. */
struct link_case {
	const char *name;
	void (*mutate)(struct dmc_hdr *child, struct dmc_hdr *parent);
	bool raw_parent;
	u64 raw_size;
	int ret;
	const char *why;
};

static void l_none(struct dmc_hdr *c, struct dmc_hdr *p) { }
static void l_uuid(struct dmc_hdr *c, struct dmc_hdr *p) { c->parent_uuid[3] ^= 1; }
static void l_gen(struct dmc_hdr *c, struct dmc_hdr *p) { p->generation = 8; }
static void l_shift(struct dmc_hdr *c, struct dmc_hdr *p) { p->block_shift = 12; }
static void l_size(struct dmc_hdr *c, struct dmc_hdr *p) { p->virtual_size *= 2; }
static void l_base(struct dmc_hdr *c, struct dmc_hdr *p) { c->parent_kind = DMC_PARENT_NONE; }
static void l_wants_raw(struct dmc_hdr *c, struct dmc_hdr *p) { c->parent_kind = DMC_PARENT_RAW; }
static void l_raw(struct dmc_hdr *c, struct dmc_hdr *p)
{
	c->parent_kind = DMC_PARENT_RAW;
	c->parent_raw_size = c->virtual_size;
}

static void set_journal(struct dmc_hdr *p, const u8 *bottom, u64 old_gen)
{
	p->j_state = DMC_JOURNAL_MERGING;
	p->j_nr_sources = 1;
	p->j_old_generation = old_gen;
	p->j_new_generation = old_gen + 1;
	memcpy(p->j_bottom_uuid, bottom, DMC_UUID_SIZE);
	memset(p->j_top_uuid, 0x77, DMC_UUID_SIZE);
}

/* Merge into P under way; the child is its bottom source. */
static void l_merge_source(struct dmc_hdr *c, struct dmc_hdr *p)
{
	set_journal(p, c->uuid, 3);
	p->generation = 4;
	c->parent_generation = 3;
}

/* Merge into P under way; the child is some other child of P. */
static void l_merge_other(struct dmc_hdr *c, struct dmc_hdr *p)
{
	u8 other[DMC_UUID_SIZE];

	memset(other, 0x99, DMC_UUID_SIZE);
	set_journal(p, other, 3);
	c->parent_generation = 3;
}

/* Merge into P under way; the bottom source made at the wrong generation. */
static void l_merge_stale(struct dmc_hdr *c, struct dmc_hdr *p)
{
	set_journal(p, c->uuid, 3);
	c->parent_generation = 2;
}

static const struct link_case link_cases[] = {
	{ "valid", l_none, false, 0, 0, NULL },
	{ "uuid mismatch", l_uuid, false, 0, -EINVAL, "parent UUID" },
	{ "stale generation", l_gen, false, 0, -EINVAL, "generation" },
	{ "block size differs", l_shift, false, 0, -EINVAL, "block size" },
	{ "virtual size differs", l_size, false, 0, -EINVAL, "virtual size" },
	{ "child is a base", l_base, false, 0, -EINVAL, "is a base" },
	{ "child wants a raw parent", l_wants_raw, false, 0, -EINVAL, "raw image" },
	{ "raw parent", l_raw, true, 1ULL << 30, 0, NULL },
	{ "raw parent resized", l_raw, true, (1ULL << 30) + 4096, -EINVAL, "Raw base size" },
	{ "raw parent, child wants a layer", l_none, true, 1ULL << 30, -EINVAL, "raw image" },
	{ "merge: bottom source", l_merge_source, false, 0, 0, NULL },
	{ "merge: other child", l_merge_other, false, 0, -EINVAL, "being merged" },
	{ "merge: stale source", l_merge_stale, false, 0, -EINVAL, "being merged" },
};

static void link_case_desc(const struct link_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(link, link_cases, link_case_desc);

static void header_link(struct kunit *test)
{
	const struct link_case *c = test->param_value;
	struct dmc_hdr child = { 0 }, parent = { 0 };
	const char *why = NULL;
	int r;

	parent.block_shift = 16;
	parent.virtual_size = 1ULL << 30;
	parent.generation = 3;
	memset(parent.uuid, 0x11, DMC_UUID_SIZE);
	child.block_shift = 16;
	child.virtual_size = 1ULL << 30;
	child.parent_kind = DMC_PARENT_LAYER;
	child.parent_generation = 3;
	memset(child.uuid, 0x22, DMC_UUID_SIZE);
	memcpy(child.parent_uuid, parent.uuid, DMC_UUID_SIZE);
	c->mutate(&child, &parent);

	r = dmc_link_check(&child, c->raw_parent ? NULL : &parent, c->raw_size,
			   &why);

	KUNIT_EXPECT_EQ(test, r, c->ret);
	if (c->ret) {
		KUNIT_ASSERT_NOT_NULL(test, why);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(why, c->why),
					  "reason was '%s'", why);
	}
}

static void header_next_slot(struct kunit *test)
{
	u8 *cur = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	u8 *next = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	const char *why;
	struct dmc_hdr h;

	KUNIT_ASSERT_NOT_NULL(test, cur);
	KUNIT_ASSERT_NOT_NULL(test, next);
	make_slot(cur, 6, 3);
	cur[4000] = 0x5a;	/* reserved bytes survive */
	seal(cur);

	dmc_header_next(next, cur, 7, 2);

	KUNIT_EXPECT_EQ(test, dmc_slot_check(next), 0);
	KUNIT_EXPECT_EQ(test, dmc_header_pick(cur, next), 1);
	KUNIT_ASSERT_EQ(test, dmc_header_decode(next, LAYER_FILE_SIZE, &h, &why), 0);
	KUNIT_EXPECT_EQ(test, h.sequence, 7ULL);
	KUNIT_EXPECT_EQ(test, h.generation, 2ULL);
	KUNIT_EXPECT_EQ(test, next[4000], 0x5a);
	KUNIT_EXPECT_EQ(test, dmc_header_pick(next, cur), 0);
}

/*
 * A range merge's journal carries the relink record and its incompat bit;
 * clearing the journal clears both, and a path that does not fit leaves
 * the slot as it was.
 */
static void header_journal_relink(struct kunit *test)
{
	u8 *slot = kunit_kzalloc(test, DMC_SLOT_SIZE, GFP_KERNEL);
	char *long_path = kunit_kzalloc(test, DMC_JOURNAL_PATH_MAX + 1, GFP_KERNEL);
	u8 bottom[DMC_UUID_SIZE], top[DMC_UUID_SIZE], child[DMC_UUID_SIZE];
	struct dmc_journal_args j = {
		.state = DMC_JOURNAL_MERGING, .nr_sources = 2,
		.old_generation = 3, .new_generation = 4,
		.bottom_uuid = bottom, .top_uuid = top, .top_path = "top.dmc",
		.child_uuid = child, .child_path = "../vm/leaf.dmc",
	};
	struct dmc_header *d = (struct dmc_header *)slot;
	const char *why;
	struct dmc_hdr h;

	KUNIT_ASSERT_NOT_NULL(test, slot);
	KUNIT_ASSERT_NOT_NULL(test, long_path);
	memset(bottom, 0x31, sizeof(bottom));
	memset(top, 0x32, sizeof(top));
	memset(child, 0x33, sizeof(child));
	make_slot(slot, 5, 3);

	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(slot, &j), 0);
	seal(slot);
	KUNIT_ASSERT_EQ(test, dmc_header_decode(slot, LAYER_FILE_SIZE, &h, &why), 0);
	KUNIT_EXPECT_TRUE(test, dmc_hdr_has_relink(&h));
	KUNIT_EXPECT_EQ(test, memcmp(h.j_relink_uuid, child, DMC_UUID_SIZE), 0);
	KUNIT_EXPECT_STREQ(test, d->relink.child_path, "../vm/leaf.dmc");

	memset(long_path, 'p', DMC_JOURNAL_PATH_MAX);
	j.child_path = long_path;
	KUNIT_EXPECT_EQ(test, dmc_header_set_journal(slot, &j), -ENAMETOOLONG);
	KUNIT_EXPECT_STREQ(test, d->relink.child_path, "../vm/leaf.dmc");

	j.child_uuid = NULL;	/* a merge of the leaf: no record */
	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(slot, &j), 0);
	seal(slot);
	KUNIT_ASSERT_EQ(test, dmc_header_decode(slot, LAYER_FILE_SIZE, &h, &why), 0);
	KUNIT_EXPECT_FALSE(test, dmc_hdr_has_relink(&h));
	KUNIT_EXPECT_EQ(test, d->relink.child_path[0], 0);

	j.child_uuid = child;
	j.child_path = "leaf.dmc";
	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(slot, &j), 0);
	KUNIT_ASSERT_EQ(test, dmc_header_set_journal(slot, NULL), 0);
	seal(slot);
	KUNIT_ASSERT_EQ(test, dmc_header_decode(slot, LAYER_FILE_SIZE, &h, &why), 0);
	KUNIT_EXPECT_EQ(test, h.incompat_features, 0U);
	KUNIT_EXPECT_EQ(test, h.j_state, (u32)DMC_JOURNAL_NONE);
	KUNIT_EXPECT_EQ(test, d->relink.child_uuid[0], 0);
}

static struct kunit_case header_cases[] = {
	KUNIT_CASE(header_crc_convention),
	KUNIT_CASE(header_crc_matches_portable),
	KUNIT_CASE(header_slot_check),
	KUNIT_CASE_PARAM(header_pick, pick_gen_params),
	KUNIT_CASE_PARAM(header_decode, decode_gen_params),
	KUNIT_CASE(header_decode_short_file),
	KUNIT_CASE(header_decode_max_bytes),
	KUNIT_CASE_PARAM(header_verify_table, verify_gen_params),
	KUNIT_CASE_PARAM(header_verify_map_table, verify_map_gen_params),
	KUNIT_CASE_PARAM(header_verify_xlist_table, verify_xlist_gen_params),
	KUNIT_CASE_PARAM(header_verify_run_table, verify_run_gen_params),
	KUNIT_CASE_PARAM(header_link, link_gen_params),
	KUNIT_CASE(header_next_slot),
	KUNIT_CASE(header_journal_relink),
	{}
};

static struct kunit_suite header_suite = {
	.name = "dm_chain_header",
	.test_cases = header_cases,
};

kunit_test_suite(header_suite);
