// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the on-disk format code: CRC32C, header encode/decode and
 * validation, checksum failures, slot selection after a torn write, block
 * map get/set, and the small helpers (sizes, relative paths, JSON).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dm-chain/verify_cases.h>

#include "crc32c.h"
#include "json.h"
#include "layer_header.h"
#include "paths.h"
#include "sizes.h"

static unsigned char slot[DMC_SLOT_SIZE];

static void sample_header(struct layer_header *h)
{
	unsigned int i;

	layer_header_init(h, 4ULL << 30, 16);
	for (i = 0; i < DMC_UUID_SIZE; i++) {
		h->uuid[i] = (uint8_t)(i + 1);
		h->parent_uuid[i] = (uint8_t)(0xa0 + i);
	}
	h->parent_kind = DMC_PARENT_LAYER;
	h->parent_generation = 7;
	h->generation = 3;
	strcpy(h->parent_path, "../base.dmc");
}

static void test_crc32c_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc32c("123456789", 9), 0xE3069283U);
	assert_int_equal(crc32c("", 0), 0);
}

static void test_header_roundtrip(void **state)
{
	struct layer_header h, d;

	(void)state;
	sample_header(&h);
	h.journal.state = DMC_JOURNAL_MERGING;
	h.journal.nr_sources = 2;
	h.journal.cursor = 12;
	h.journal.old_generation = 3;
	h.journal.new_generation = 4;
	h.journal.bottom_uuid[0] = 9;
	h.journal.top_uuid[0] = 10;
	strcpy(h.journal.top_path, "top.dmc");
	layer_header_encode(&h, slot);
	assert_int_equal(layer_header_decode(slot, &d), SLOT_VALID);
	assert_memory_equal(&h, &d, sizeof(h));
}

static void test_header_layout_little_endian(void **state)
{
	struct layer_header h;

	(void)state;
	sample_header(&h);
	layer_header_encode(&h, slot);
	assert_memory_equal(slot, "DCHAIN1", 8);		/* magic */
	assert_int_equal(slot[12], DMC_VERSION);		/* version */
	assert_int_equal(slot[36], 16);				/* block_shift */
	assert_int_equal(slot[40 + 4], 1);			/* 4 GiB: byte 4 */
	assert_int_equal(slot[offsetof(struct dmc_header, uuid)], 1);
	assert_string_equal((char *)slot + 152, "../base.dmc");
}

static void test_header_checksum_failure(void **state)
{
	struct layer_header h, d;
	size_t offs[] = { 8, 16, 40, 200, DMC_SLOT_SIZE - 1 };
	size_t i;

	(void)state;
	sample_header(&h);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		layer_header_encode(&h, slot);
		slot[offs[i]] ^= 0x40;
		assert_int_equal(layer_header_decode(slot, &d), SLOT_BAD_CHECKSUM);
	}
}

static void test_header_bad_magic_and_version(void **state)
{
	struct layer_header h, d;

	(void)state;
	sample_header(&h);
	layer_header_encode(&h, slot);
	slot[0] = 'X';
	assert_int_equal(layer_header_decode(slot, &d), SLOT_NO_MAGIC);
	h.version = 2;
	layer_header_encode(&h, slot);
	assert_int_equal(layer_header_decode(slot, &d), SLOT_BAD_VERSION);
	memset(slot, 0, sizeof(slot));
	assert_int_equal(layer_header_decode(slot, &d), SLOT_NO_MAGIC);
}

/* Each case breaks one field; validation must say no. */
struct invalid_case {
	const char *name;
	void (*breakit)(struct layer_header *h);
};

static void bad_shift_low(struct layer_header *h) { h->block_shift = 11; }
static void bad_shift_high(struct layer_header *h) { h->block_shift = 22; }
static void bad_size_zero(struct layer_header *h) { h->virtual_size = 0; }
static void bad_size_odd(struct layer_header *h) { h->virtual_size += 100; }
static void bad_size_huge(struct layer_header *h) { h->virtual_size = 1ULL << 51; }
static void bad_map_offset(struct layer_header *h) { h->map_offset = 4096; }
static void bad_map_length(struct layer_header *h) { h->map_length = 4096; }
static void bad_data_offset(struct layer_header *h) { h->data_offset += 4096; }
static void bad_state(struct layer_header *h) { h->state = 7; }
static void bad_uuid(struct layer_header *h) { memset(h->uuid, 0, DMC_UUID_SIZE); }
static void bad_kind(struct layer_header *h) { h->parent_kind = 9; }
static void bad_incompat(struct layer_header *h) { h->incompat_features = 1U << 31; }
static void bad_path(struct layer_header *h) { memset(h->parent_path, 'a', DMC_PATH_MAX); }
static void bad_parent_uuid(struct layer_header *h) { memset(h->parent_uuid, 0, DMC_UUID_SIZE); }
static void bad_journal_gen(struct layer_header *h)
{
	h->journal.state = DMC_JOURNAL_MERGING;
	h->journal.nr_sources = 1;
	h->journal.old_generation = 3;
	h->journal.new_generation = 5;
	h->journal.bottom_uuid[0] = h->journal.top_uuid[0] = 1;
	strcpy(h->journal.top_path, "t");
}
static void bad_journal_cursor(struct layer_header *h)
{
	bad_journal_gen(h);
	h->journal.new_generation = 4;
	h->journal.cursor = layer_header_nr_blocks(h) + 1;
}
static void bad_journal_state(struct layer_header *h)
{
	bad_journal_gen(h);
	h->journal.new_generation = 4;
	h->journal.state = 3;
}

static const struct invalid_case invalid_cases[] = {
	{ "block shift 11", bad_shift_low },
	{ "block shift 22", bad_shift_high },
	{ "size 0", bad_size_zero },
	{ "size not sector multiple", bad_size_odd },
	{ "size > 1 PiB", bad_size_huge },
	{ "map offset", bad_map_offset },
	{ "map length", bad_map_length },
	{ "data offset misaligned", bad_data_offset },
	{ "state", bad_state },
	{ "zero uuid", bad_uuid },
	{ "parent kind", bad_kind },
	{ "incompat feature", bad_incompat },
	{ "unterminated parent path", bad_path },
	{ "zero parent uuid", bad_parent_uuid },
	{ "journal generations", bad_journal_gen },
	{ "journal cursor", bad_journal_cursor },
	{ "journal state", bad_journal_state },
};

static void test_header_validate(void **state)
{
	struct layer_header h;
	char why[256];
	size_t i;

	(void)state;
	sample_header(&h);
	assert_int_equal(layer_header_validate(&h, why, sizeof(why)), 0);
	for (i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		sample_header(&h);
		invalid_cases[i].breakit(&h);
		if (layer_header_validate(&h, why, sizeof(why)) == 0)
			fail_msg("case '%s' passed validation", invalid_cases[i].name);
		assert_true(why[0] != '\0');
	}
}

/*
 * The shared table (include/dm-chain/verify_cases.h): KUnit runs the same
 * cases against the same code compiled into the module.
 */
static void test_verify_table(void **state)
{
	static uint8_t buf[2 * DMC_SLOT_SIZE];
	enum dmc_verify_reason why;
	struct dmc_hdr h;
	unsigned int failed = 0;
	size_t i;
	int r, slot;

	(void)state;
	for (i = 0; i < DMC_VERIFY_NR_CASES; i++) {
		const struct dmc_verify_case *c = &dmc_verify_cases[i];

		r = dmc_verify_case_run(c, buf, &h, &slot, &why);
		if (r != c->result || why != c->why || slot != c->slot ||
		    (r == DMC_VERIFY_OK && h.nr_blocks != VC_NR_BLOCKS)) {
			print_error("case '%s': result %d reason '%s' slot %d; want %d '%s' slot %d\n",
				    c->name, r, dmc_verify_reason_str(why), slot,
				    c->result, dmc_verify_reason_str(c->why), c->slot);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	assert_true(DMC_VERIFY_NR_CASES > 50);
}

static void test_verify_map_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < DMC_VERIFY_NR_MAP_CASES; i++) {
		const struct dmc_verify_map_case *c = &dmc_verify_map_cases[i];
		__u64 counts[4] = { 0 }, bad = 0;
		int r;

		r = dmc_verify_map(c->map, c->first, c->end, counts, &bad);
		if (r != c->result)
			fail_msg("map case '%s': result %d", c->name, r);
		if (r)
			assert_int_equal(bad, c->bad);
		assert_int_equal(counts[0], c->counts[0]);
		assert_int_equal(counts[1], c->counts[1]);
		assert_int_equal(counts[2], c->counts[2]);
	}
}

/* The extent list's place (shared table, as in KUnit). */
static void test_verify_xlist_table(void **state)
{
	static uint8_t buf[2 * DMC_SLOT_SIZE];	/* vc_make_base() clears two */
	enum dmc_verify_reason why;
	unsigned int failed = 0;
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < DMC_VERIFY_NR_XLIST_CASES; i++) {
		const struct dmc_verify_xlist_case *c = &dmc_verify_xlist_cases[i];

		v = (int)dmc_verify_xlist_case_run(c, buf, &why);
		if (v != (int)c->verdict || why != c->why) {
			print_error("xlist case '%s': verdict %d '%s'; want %d '%s'\n",
				    c->name, v, dmc_verify_reason_str(why),
				    c->verdict, dmc_verify_reason_str(c->why));
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* The extent list's records, whole and one by one (shared table). */
static void test_verify_run_table(void **state)
{
	enum dmc_verify_reason why;
	unsigned int failed = 0;
	__u64 bad;
	size_t i;
	int one, r;

	(void)state;
	for (i = 0; i < DMC_VERIFY_NR_RUN_CASES; i++) {
		const struct dmc_verify_run_case *c = &dmc_verify_run_cases[i];

		for (one = 0; one < 2; one++) {
			r = dmc_verify_run_case_run(c, one, &bad, &why);
			if (r != c->result || why != c->why ||
			    (why == DMC_WHY_XLIST_RECORD && bad != c->bad)) {
				print_error("run case '%s' (%s): %d '%s' record %llu\n",
					    c->name, one ? "one by one" : "whole", r,
					    dmc_verify_reason_str(why),
					    (unsigned long long)bad);
				failed++;
			}
		}
	}
	assert_int_equal(failed, 0);
}

/*
 * dmc_map_next_run() on random maps (runs of random states and lengths,
 * crossing byte boundaries, ending at odd block counts), and the list it
 * makes passes the record checks.
 */
static void test_map_runs_random(void **state)
{
	static uint8_t map[1024];
	enum dmc_verify_reason why;
	struct dmc_extent_walk w;
	struct dmc_hdr h;
	uint8_t rec[DMC_EXTENT_SIZE];
	__u64 nr, b, pos, first, length, bad, runs;
	__u32 st;
	unsigned int iter, k;

	(void)state;
	srand(19);
	for (iter = 0; iter < 2000; iter++) {
		nr = 1 + (uint64_t)rand() % (sizeof(map) * 4);
		memset(map, 0, sizeof(map));
		for (b = 0; b < nr;) {
			unsigned int len = 1 + (unsigned int)rand() % (iter % 3 ? 9 : 70);

			st = (unsigned int)rand() % 3;
			for (k = 0; k < len && b < nr; k++, b++)
				dmc_map_set(map, b, st);
		}
		assert_int_equal(dmc_verify_runs_match_map(map, nr), 0);
		memset(&h, 0, sizeof(h));
		h.nr_blocks = nr;
		dmc_extent_walk_begin(&w, &h);
		pos = 0;
		runs = 0;
		while (dmc_map_next_run(map, nr, &pos, &first, &length, &st)) {
			dmc_extent_put(rec, first, length, st);
			assert_int_equal(dmc_extent_walk_feed(&w, rec, 1, &bad, &why),
					 DMC_VERIFY_OK);
			runs++;
		}
		h.x_count = runs;
		h.x_checksum = ~w.crc;
		assert_int_equal(dmc_extent_walk_end(&w, &h, &why), DMC_VERIFY_OK);
	}
	/* A run that is not maximal is caught by the oracle. */
	memset(map, 0x55, 4);
	assert_int_equal(dmc_verify_runs_match_map(map, 16), 0);
}

/* The file-size and limit rules as chainctl applies them to a slot. */
static void test_header_check_file(void **state)
{
	enum dmc_verify_reason reason;
	struct layer_header h;
	char why[256];

	(void)state;
	sample_header(&h);			/* 4 GiB, 64 KiB blocks */
	layer_header_encode(&h, slot);
	assert_int_equal(layer_header_check(slot, (1 << 20) + (4ULL << 30), 0,
					    &reason, why, sizeof(why)), 0);
	assert_int_equal(layer_header_check(slot, 1 << 20, 0, &reason, why,
					    sizeof(why)), -1);
	assert_int_equal(reason, DMC_WHY_TRUNCATED);
	assert_non_null(strstr(why, "truncated"));
	h.data_offset = 1ULL << 62;
	layer_header_encode(&h, slot);
	assert_int_equal(layer_header_check(slot, UINT64_MAX, 1ULL << 44,
					    &reason, why, sizeof(why)), -1);
	assert_int_equal(reason, DMC_WHY_DATA_LIMIT);
	/* Without a file, validate keeps only the 2^63 bound. */
	assert_int_equal(layer_header_validate(&h, why, sizeof(why)), 0);
	h.data_offset = (1ULL << 63) - (1 << 20);
	assert_int_equal(layer_header_validate(&h, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "largest file size"));
}

static void test_geometry(void **state)
{
	struct layer_header h;

	(void)state;
	layer_header_init(&h, 4ULL << 30, 16);		/* 65536 blocks */
	assert_int_equal(h.map_offset, 8192);
	assert_int_equal(h.map_length, 16384);
	assert_int_equal(h.data_offset, 1 << 20);
	layer_header_init(&h, 1ULL << 40, 12);		/* 2^28 blocks: 64 MiB map */
	assert_int_equal(h.map_length, 64ULL << 20);
	assert_int_equal(h.data_offset, (64ULL << 20) + (1 << 20));
	layer_header_init(&h, 1ULL << 30, 21);		/* 2 MiB blocks */
	assert_int_equal(h.data_offset % (2 << 20), 0);
	layer_header_init(&h, 1000 * 512, 16);		/* partial last block */
	assert_int_equal(layer_header_nr_blocks(&h), 8);
}

/* Torn writes: the valid slot with the higher sequence is current. */
static void test_slot_pick(void **state)
{
	struct layer_header a, b;

	(void)state;
	sample_header(&a);
	sample_header(&b);
	a.sequence = 5;
	b.sequence = 6;
	assert_int_equal(layer_header_pick(SLOT_VALID, &a, SLOT_VALID, &b), 1);
	b.sequence = 4;
	assert_int_equal(layer_header_pick(SLOT_VALID, &a, SLOT_VALID, &b), 0);
	/* The newer slot torn: fall back to the older one. */
	assert_int_equal(layer_header_pick(SLOT_VALID, &a, SLOT_BAD_CHECKSUM, &b), 0);
	assert_int_equal(layer_header_pick(SLOT_BAD_CHECKSUM, &a, SLOT_VALID, &b), 1);
	assert_int_equal(layer_header_pick(SLOT_NO_MAGIC, &a, SLOT_VALID, &b), 1);
	assert_int_equal(layer_header_pick(SLOT_BAD_CHECKSUM, &a,
					   SLOT_BAD_VERSION, &b), -1);
}

/* A torn slot (half old, half new bytes) is detected by its checksum. */
static void test_torn_slot_detected(void **state)
{
	static unsigned char old[DMC_SLOT_SIZE], new[DMC_SLOT_SIZE];
	struct layer_header h, d;

	(void)state;
	sample_header(&h);
	layer_header_encode(&h, old);
	h.generation++;
	h.sequence++;
	strcpy(h.parent_path, "../moved/base.dmc");
	layer_header_encode(&h, new);
	/* Only the first 128 bytes of the new header reached the disk. */
	memcpy(slot, new, 128);
	memcpy(slot + 128, old + 128, DMC_SLOT_SIZE - 128);
	assert_int_equal(layer_header_decode(slot, &d), SLOT_BAD_CHECKSUM);
}

static void test_map_get_set(void **state)
{
	uint8_t map[8];
	uint64_t b;

	(void)state;
	memset(map, 0, sizeof(map));
	for (b = 0; b < 32; b++)
		dmc_map_set(map, b, (unsigned int)(b % 3));
	for (b = 0; b < 32; b++)
		assert_int_equal(dmc_map_get(map, b), b % 3);
	/* Block i: byte i / 4, bits 2 * (i % 4). */
	memset(map, 0, sizeof(map));
	dmc_map_set(map, 5, DMC_BLOCK_ZERO);
	assert_int_equal(map[1], 2 << 2);
	dmc_map_set(map, 7, DMC_BLOCK_DATA);
	assert_int_equal(map[1], (2 << 2) | (1 << 6));
	dmc_map_set(map, 5, DMC_BLOCK_ABSENT);
	assert_int_equal(map[1], 1 << 6);
}

static void test_parse_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("2m", &v), 0);
	assert_int_equal(v, 2 << 20);
	assert_int_equal(parse_size("4GiB", &v), 0);
	assert_int_equal(v, 4ULL << 30);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_size("", &v), -1);
	assert_int_equal(parse_size("12Q", &v), -1);
	assert_int_equal(parse_size("-1", &v), -1);
	assert_int_equal(parse_size("99999999999T", &v), -1);
}

/* The one decimal parser (numbers on the command line, dm table fields). */
static void test_parse_uint(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_uint("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("8388608", UINT64_MAX, &v), 0);
	assert_int_equal(v, 8388608);
	assert_int_equal(parse_uint("007", 10, &v), 0);
	assert_int_equal(v, 7);
	/* the maximum is allowed, one more is not */
	assert_int_equal(parse_uint("4294967295", UINT32_MAX, &v), 0);
	assert_true(v == UINT32_MAX);
	v = 99;
	assert_int_equal(parse_uint("4294967296", UINT32_MAX, &v), -1);
	assert_int_equal(v, 99);	/* untouched on refusal */
	assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	/* overflow of u64 itself, not wrapped around */
	assert_int_equal(parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("36893488147419103232", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("99999999999999999999999", UINT64_MAX, &v), -1);
	/* not a plain decimal number */
	assert_int_equal(parse_uint("", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint(NULL, UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("-1", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("+1", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint(" 1", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("1 ", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("1x", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("0x10", UINT64_MAX, &v), -1);
	assert_int_equal(parse_uint("1K", UINT64_MAX, &v), -1);
}

static void test_format_rate_eta(void **state)
{
	char b[64];

	(void)state;
	/* Nothing to tell yet. */
	assert_string_equal(format_rate_eta(0, 100, 1000000000ULL, b, sizeof(b)), "");
	assert_string_equal(format_rate_eta(100, 100, 0, b, sizeof(b)), "");
	/* 64 MiB in 2 s of 1 GiB: 32 MiB/s, 960 MiB left = 30 s. */
	assert_string_equal(format_rate_eta(64ULL << 20, 1ULL << 30,
					    2000000000ULL, b, sizeof(b)),
			    "32 MiB/s, 0:30 left");
	/* Done: nothing left. */
	assert_string_equal(format_rate_eta(1ULL << 30, 1ULL << 30,
					    1000000000ULL, b, sizeof(b)),
			    "1 GiB/s, 0:00 left");
	/* 1 MiB/s with 2 GiB to go: 34:08 left -> over an hour at 1 KiB/s. */
	assert_string_equal(format_rate_eta(1ULL << 20, (1ULL << 20) + (2ULL << 30),
					    1000000000ULL, b, sizeof(b)),
			    "1 MiB/s, 34:08 left");
	assert_string_equal(format_rate_eta(1024, 1024 + (16ULL << 20),
					    1000000000ULL, b, sizeof(b)),
			    "1 KiB/s, 4:33:04 left");
	assert_string_equal(format_duration(0, b, sizeof(b)), "0:00");
	assert_string_equal(format_duration(3599, b, sizeof(b)), "59:59");
	assert_string_equal(format_duration(3600, b, sizeof(b)), "1:00:00");
	/* Cut to the buffer, always terminated. */
	assert_string_equal(format_rate_eta(64ULL << 20, 1ULL << 30,
					    2000000000ULL, b, 6), "32 Mi");
}

static void test_path_relative(void **state)
{
	static const char *const cases[][3] = {
		{ "/a/b", "/a/b/c", "c" },
		{ "/a/b", "/a/c/d", "../c/d" },
		{ "/a/b", "/x", "../../x" },
		{ "/", "/x/y", "x/y" },
		{ "/a", "/ab/c", "../ab/c" },
		{ "/a/bc", "/a/b/x", "../b/x" },
	};
	size_t i;
	char *r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = path_relative(cases[i][0], cases[i][1]);
		assert_string_equal(r, cases[i][2]);
		free(r);
	}
	r = path_resolve_hint("dir/child.dmc", "../base.dmc");
	assert_string_equal(r, "dir/../base.dmc");
	free(r);
	r = path_resolve_hint("child.dmc", "base.dmc");
	assert_string_equal(r, "base.dmc");
	free(r);
	r = path_resolve_hint("dir/child.dmc", "/abs/base.dmc");
	assert_string_equal(r, "/abs/base.dmc");
	free(r);
}

static void test_json_writer(void **state)
{
	struct json_writer jw;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	json_init(&jw, f);
	json_object_begin(&jw, NULL);
	json_string(&jw, "s", "a\"b\\c\n\x01");
	json_u64(&jw, "n", 18446744073709551615ULL);
	json_array_begin(&jw, "a");
	json_boolean(&jw, NULL, true);
	json_null(&jw, NULL);
	json_object_begin(&jw, NULL);
	json_object_end(&jw);
	json_array_end(&jw);
	json_object_end(&jw);
	json_finish(&jw);
	fclose(f);
	assert_string_equal(buf, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\","
			    "\"n\":18446744073709551615,\"a\":[true,null,{}]}\n");
	free(buf);
}

/* Every -j document starts with its version, as its first member. */
static void test_json_document(void **state)
{
	struct json_writer jw;
	char *buf = NULL, want[64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	json_document_begin(&jw, f);
	json_array_begin(&jw, "devices");
	json_array_end(&jw);
	json_document_end(&jw);
	fclose(f);
	snprintf(want, sizeof(want), "{\"json_version\":%d,\"devices\":[]}\n",
		 DMC_JSON_VERSION);
	assert_string_equal(buf, want);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_check_value),
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_header_layout_little_endian),
		cmocka_unit_test(test_header_checksum_failure),
		cmocka_unit_test(test_header_bad_magic_and_version),
		cmocka_unit_test(test_header_validate),
		cmocka_unit_test(test_verify_table),
		cmocka_unit_test(test_verify_map_table),
		cmocka_unit_test(test_verify_xlist_table),
		cmocka_unit_test(test_verify_run_table),
		cmocka_unit_test(test_map_runs_random),
		cmocka_unit_test(test_header_check_file),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_slot_pick),
		cmocka_unit_test(test_torn_slot_detected),
		cmocka_unit_test(test_map_get_set),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_format_rate_eta),
		cmocka_unit_test(test_path_relative),
		cmocka_unit_test(test_json_writer),
		cmocka_unit_test(test_json_document),
	};

	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
