/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The table of good and bad layer headers and maps that both unit test
 * suites run against the shared validator (layer_verify.c): KUnit in
 * kmod/header-test.c and cmocka in tests/unit/test_format.c.  Each case
 * starts from a valid base (1 GiB, 64 KiB blocks, exactly as long as its
 * layout) in slot 0 and an empty slot 1, changes what it tests, reseals
 * the slots, and names the verdict and reason it expects.  Add a case
 * here and both suites run it.  Test code only: include it from tests.
 */
#ifndef _DM_CHAIN_VERIFY_CASES_H
#define _DM_CHAIN_VERIFY_CASES_H

#include <dm-chain/layer_verify.h>

#define VC_OFF(f)	__builtin_offsetof(struct dmc_header, f)
#define VC_JOFF(f)	(VC_OFF(journal) + __builtin_offsetof(struct dmc_journal, f))
#define VC_ROFF(f)	(VC_OFF(relink) + __builtin_offsetof(struct dmc_relink, f))
#define VC_SOFF(f)	(VC_OFF(swap) + __builtin_offsetof(struct dmc_swap, f))
#define VC_SIZE		(1ULL << 30)
#define VC_SHIFT	16U
#define VC_NR_BLOCKS	16384ULL
#define VC_DATA_OFFSET	(1ULL << 20)
#define VC_FILE_SIZE	(VC_DATA_OFFSET + VC_SIZE)	/* the layout's end */
#define VC_TIB		(1ULL << 40)

static inline void vc_put(__u8 *p, unsigned int bytes, __u64 v)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		p[i] = (__u8)(v >> (8 * i));
}

#define VC_SET(s, f, v)	vc_put((s) + VC_OFF(f), sizeof(((struct dmc_header *)0)->f), (v))
#define VC_SETJ(s, f, v) vc_put((s) + VC_JOFF(f), \
				sizeof(((struct dmc_journal *)0)->f), (v))

static inline void vc_fill(__u8 *p, __u8 byte, unsigned int n)
{
	while (n--)
		*p++ = byte;
}

/* The valid base in slot 0 of @buf (2 slots), slot 1 zero, unsealed. */
static inline void vc_make_base(__u8 *buf)
{
	vc_fill(buf, 0, 2 * DMC_SLOT_SIZE);
	VC_SET(buf, magic, DMC_MAGIC);
	VC_SET(buf, version, DMC_VERSION);
	VC_SET(buf, sequence, 1);
	VC_SET(buf, state, DMC_STATE_VALID);
	VC_SET(buf, block_shift, VC_SHIFT);
	VC_SET(buf, virtual_size, VC_SIZE);
	VC_SET(buf, generation, 1);
	VC_SET(buf, map_offset, DMC_MAP_OFFSET);
	VC_SET(buf, map_length, dmc_map_length(VC_NR_BLOCKS));
	VC_SET(buf, data_offset, VC_DATA_OFFSET);
	vc_fill(buf + VC_OFF(uuid), 1, DMC_UUID_SIZE);
	VC_SET(buf, parent_kind, DMC_PARENT_NONE);
}

/* ---- mutations (slot 0 unless named) ---- */
static inline void vcm_compat(__u8 *s) { VC_SET(s, compat_features, 0x80); }
static inline void vcm_incompat(__u8 *s) { VC_SET(s, incompat_features, 1U << 31); }
static inline void vcm_merged(__u8 *s) { VC_SET(s, state, DMC_STATE_MERGED_AWAY); }
static inline void vcm_state(__u8 *s) { VC_SET(s, state, 7); }
static inline void vcm_shift_small(__u8 *s) { VC_SET(s, block_shift, 11); }
static inline void vcm_shift_big(__u8 *s) { VC_SET(s, block_shift, 22); }
static inline void vcm_shift_huge(__u8 *s) { VC_SET(s, block_shift, 64); }
static inline void vcm_size_zero(__u8 *s) { VC_SET(s, virtual_size, 0); }
static inline void vcm_size_odd(__u8 *s) { VC_SET(s, virtual_size, VC_SIZE + 100); }
static inline void vcm_size_huge(__u8 *s) { VC_SET(s, virtual_size, 1ULL << 51); }
static inline void vcm_map_off(__u8 *s) { VC_SET(s, map_offset, 4096); }
static inline void vcm_map_off_huge(__u8 *s) { VC_SET(s, map_offset, ~0ULL - 4095); }
static inline void vcm_map_len(__u8 *s) { VC_SET(s, map_length, 8192); }
static inline void vcm_map_len_zero(__u8 *s) { VC_SET(s, map_length, 0); }
static inline void vcm_data_unaligned(__u8 *s) { VC_SET(s, data_offset, VC_DATA_OFFSET + 4096); }
static inline void vcm_data_zero(__u8 *s) { VC_SET(s, data_offset, 0); }
static inline void vcm_data_2mib(__u8 *s) { VC_SET(s, data_offset, 2ULL << 20); }
/* data_offset + the data area passes 2^63 (negative loff_t). */
static inline void vcm_data_s64(__u8 *s) { VC_SET(s, data_offset, (1ULL << 63) - (1ULL << 20)); }
/* data_offset itself past 2^63, aligned. */
static inline void vcm_data_neg(__u8 *s) { VC_SET(s, data_offset, 0xfff0000000000000ULL); }
/* data_offset + the data area wraps around 2^64. */
static inline void vcm_data_wrap(__u8 *s) { VC_SET(s, data_offset, 0ULL - (1ULL << 20)); }
static inline void vcm_data_1tib(__u8 *s) { VC_SET(s, data_offset, VC_TIB); }
static inline void vcm_uuid(__u8 *s) { vc_fill(s + VC_OFF(uuid), 0, DMC_UUID_SIZE); }
static inline void vcm_kind(__u8 *s) { VC_SET(s, parent_kind, 9); }
static inline void vcm_parent_layer(__u8 *s)
{
	VC_SET(s, parent_kind, DMC_PARENT_LAYER);
	vc_fill(s + VC_OFF(parent_uuid), 5, DMC_UUID_SIZE);
	VC_SET(s, parent_generation, 3);
	s[VC_OFF(parent_path)] = 'b';
}
static inline void vcm_parent_uuid(__u8 *s)
{
	vcm_parent_layer(s);
	vc_fill(s + VC_OFF(parent_uuid), 0, DMC_UUID_SIZE);
}
static inline void vcm_parent_path(__u8 *s)
{
	vcm_parent_layer(s);
	s[VC_OFF(parent_path)] = 0;
}
static inline void vcm_parent_raw(__u8 *s)
{
	VC_SET(s, parent_kind, DMC_PARENT_RAW);
	VC_SET(s, parent_raw_size, VC_SIZE);
	s[VC_OFF(parent_path)] = 'r';
}
static inline void vcm_raw_size(__u8 *s)
{
	vcm_parent_raw(s);
	VC_SET(s, parent_raw_size, VC_SIZE / 2);
}
static inline void vcm_raw_path(__u8 *s)
{
	vcm_parent_raw(s);
	s[VC_OFF(parent_path)] = 0;
}
static inline void vcm_path_nul(__u8 *s) { vc_fill(s + VC_OFF(parent_path), 'a', DMC_PATH_MAX); }
static inline void vcm_top_path_nul(__u8 *s) { vc_fill(s + VC_JOFF(top_path), 't', DMC_JOURNAL_PATH_MAX); }
static inline void vcm_journal(__u8 *s)
{
	VC_SETJ(s, state, DMC_JOURNAL_MERGING);
	VC_SETJ(s, nr_sources, 1);
	VC_SETJ(s, cursor, 100);
	VC_SETJ(s, old_generation, 1);
	VC_SETJ(s, new_generation, 2);
	vc_fill(s + VC_JOFF(bottom_uuid), 2, DMC_UUID_SIZE);
	vc_fill(s + VC_JOFF(top_uuid), 3, DMC_UUID_SIZE);
	s[VC_JOFF(top_path)] = 't';
}
static inline void vcm_journal_retiring(__u8 *s)
{
	vcm_journal(s);
	VC_SETJ(s, state, DMC_JOURNAL_RETIRING);
	VC_SETJ(s, cursor, VC_NR_BLOCKS);
}
static inline void vcm_j_state(__u8 *s) { vcm_journal(s); VC_SETJ(s, state, 5); }
static inline void vcm_j_gens(__u8 *s) { vcm_journal(s); VC_SETJ(s, new_generation, 3); }
static inline void vcm_j_cursor(__u8 *s) { vcm_journal(s); VC_SETJ(s, cursor, VC_NR_BLOCKS + 1); }
static inline void vcm_j_sources(__u8 *s) { vcm_journal(s); VC_SETJ(s, nr_sources, 0); }
static inline void vcm_j_flags(__u8 *s) { vcm_journal(s); VC_SETJ(s, flags, 2); }
static inline void vcm_j_top_uuid(__u8 *s) { vcm_journal(s); vc_fill(s + VC_JOFF(top_uuid), 0, DMC_UUID_SIZE); }
static inline void vcm_j_top_path(__u8 *s) { vcm_journal(s); s[VC_JOFF(top_path)] = 0; }
/* A range merge's journal with its relink record (layer above: uuid 4). */
static inline void vcm_relink(__u8 *s)
{
	vcm_journal(s);
	VC_SET(s, incompat_features, DMC_INCOMPAT_JOURNAL_RELINK);
	vc_fill(s + VC_ROFF(child_uuid), 4, DMC_UUID_SIZE);
	s[VC_ROFF(child_path)] = 'a';
}
/* A swap merge's journal: one source, bottom and top the same layer. */
static inline void vcm_swap(__u8 *s)
{
	vcm_journal(s);
	vc_fill(s + VC_JOFF(top_uuid), 2, DMC_UUID_SIZE);
	VC_SETJ(s, flags, DMC_JOURNAL_F_SWAP);
	VC_SET(s, incompat_features, DMC_INCOMPAT_JOURNAL_SWAP);
	s[VC_SOFF(target_path)] = 'b';
}
static inline void vcm_swap_no_target(__u8 *s) { vcm_swap(s); s[VC_SOFF(target_path)] = 0; }
static inline void vcm_swap_target_nul(__u8 *s) { vcm_swap(s); vc_fill(s + VC_SOFF(target_path), 'b', DMC_JOURNAL_PATH_MAX); }
static inline void vcm_swap_retiring(__u8 *s) { vcm_swap(s); VC_SETJ(s, state, DMC_JOURNAL_RETIRING); VC_SETJ(s, cursor, VC_NR_BLOCKS); }
static inline void vcm_swap_no_bit(__u8 *s) { vcm_swap(s); VC_SET(s, incompat_features, 0); }
static inline void vcm_swap_bit_only(__u8 *s) { vcm_swap(s); VC_SETJ(s, flags, 0); }
static inline void vcm_swap_no_journal(__u8 *s) { vcm_swap(s); VC_SETJ(s, state, DMC_JOURNAL_NONE); }
static inline void vcm_swap_two_sources(__u8 *s) { vcm_swap(s); VC_SETJ(s, nr_sources, 2); }
static inline void vcm_swap_top_differs(__u8 *s) { vcm_swap(s); vc_fill(s + VC_JOFF(top_uuid), 3, DMC_UUID_SIZE); }
static inline void vcm_swap_relink(__u8 *s)
{
	vcm_swap(s);
	VC_SET(s, incompat_features, DMC_INCOMPAT_JOURNAL_SWAP | DMC_INCOMPAT_JOURNAL_RELINK);
	vc_fill(s + VC_ROFF(child_uuid), 4, DMC_UUID_SIZE);
	s[VC_ROFF(child_path)] = 'a';
}
static inline void vcm_relink_retiring(__u8 *s) { vcm_relink(s); VC_SETJ(s, state, DMC_JOURNAL_RETIRING); VC_SETJ(s, cursor, VC_NR_BLOCKS); }
static inline void vcm_relink_no_journal(__u8 *s) { vcm_relink(s); VC_SETJ(s, state, DMC_JOURNAL_NONE); }
static inline void vcm_relink_uuid_zero(__u8 *s) { vcm_relink(s); vc_fill(s + VC_ROFF(child_uuid), 0, DMC_UUID_SIZE); }
static inline void vcm_relink_uuid_own(__u8 *s) { vcm_relink(s); vc_fill(s + VC_ROFF(child_uuid), 1, DMC_UUID_SIZE); }
static inline void vcm_relink_uuid_bottom(__u8 *s) { vcm_relink(s); vc_fill(s + VC_ROFF(child_uuid), 2, DMC_UUID_SIZE); }
static inline void vcm_relink_uuid_top(__u8 *s) { vcm_relink(s); vc_fill(s + VC_ROFF(child_uuid), 3, DMC_UUID_SIZE); }
static inline void vcm_relink_path_empty(__u8 *s) { vcm_relink(s); s[VC_ROFF(child_path)] = 0; }
static inline void vcm_relink_path_nul(__u8 *s) { vcm_relink(s); vc_fill(s + VC_ROFF(child_path), 'a', DMC_JOURNAL_PATH_MAX); }
/* Without the bit the record's bytes are not looked at. */
static inline void vcm_relink_no_bit(__u8 *s) { vcm_relink_path_nul(s); VC_SET(s, incompat_features, 0); }
static inline void vcm_version(__u8 *s) { VC_SET(s, version, 2); }
static inline void vcm_magic(__u8 *s) { s[0] = 'X'; }
/* Slot 1: a copy of slot 0 with sequence 2, so it is current. */
static inline void vcm_slot1_newer(__u8 *s)
{
	unsigned int i;

	for (i = 0; i < DMC_SLOT_SIZE; i++)
		s[DMC_SLOT_SIZE + i] = s[i];
	VC_SET(s + DMC_SLOT_SIZE, sequence, 2);
}
static inline void vcm_slot1_older(__u8 *s)
{
	vcm_slot1_newer(s);
	VC_SET(s, sequence, 3);
}
static inline void vcm_slot1_version(__u8 *s)
{
	vcm_slot1_newer(s);
	VC_SET(s + DMC_SLOT_SIZE, version, 2);
}
static inline void vcm_slot1_bad_field(__u8 *s)
{
	vcm_slot1_newer(s);
	VC_SET(s + DMC_SLOT_SIZE, block_shift, 30);
}
static inline void vcm_slot0_version(__u8 *s)
{
	vcm_slot1_newer(s);
	VC_SET(s, version, 2);
	VC_SET(s, sequence, 9);
}
static inline void vcm_both_version(__u8 *s)
{
	vcm_slot1_newer(s);
	VC_SET(s, version, 2);
	VC_SET(s + DMC_SLOT_SIZE, version, 2);
}

/* After sealing: flip bytes, as a torn or corrupted write does. */
static inline void vcp_torn0(__u8 *s) { s[300] ^= 0x55; }
static inline void vcp_torn1(__u8 *s) { s[DMC_SLOT_SIZE + 300] ^= 0x55; }
static inline void vcp_torn_both(__u8 *s) { vcp_torn0(s); vcp_torn1(s); }
static inline void vcp_magic_byte(__u8 *s) { s[7] = 1; }

struct dmc_verify_case {
	const char *name;
	void (*mutate)(__u8 *buf);	/* before sealing */
	void (*post)(__u8 *buf);	/* after sealing */
	__u64 file_size;		/* 0: VC_FILE_SIZE */
	__u64 len;			/* bytes of buf given; 0: both slots */
	__u64 max_bytes;		/* 0: no limit but 2^63 */
	int result;			/* enum dmc_verify_result */
	enum dmc_verify_reason why;
	int slot;			/* the current slot when OK */
};

static const struct dmc_verify_case dmc_verify_cases[] = {
	{ "valid base", NULL, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "unknown compat feature is ignored", vcm_compat, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "unknown incompat feature", vcm_incompat, NULL, 0, 0, 0, DMC_VERIFY_UNSUPPORTED, DMC_WHY_INCOMPAT, 0 },
	{ "merged away passes (callers decide)", vcm_merged, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "unknown state", vcm_state, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_STATE, 0 },
	{ "block shift 11", vcm_shift_small, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_BLOCK_SHIFT, 0 },
	{ "block shift 22", vcm_shift_big, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_BLOCK_SHIFT, 0 },
	{ "block shift 64", vcm_shift_huge, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_BLOCK_SHIFT, 0 },
	{ "virtual size 0", vcm_size_zero, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_VIRTUAL_SIZE, 0 },
	{ "virtual size not a sector multiple", vcm_size_odd, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_VIRTUAL_SIZE, 0 },
	{ "virtual size over 1 PiB", vcm_size_huge, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_VIRTUAL_SIZE, 0 },
	{ "map offset 4096", vcm_map_off, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_MAP_PLACE, 0 },
	{ "map offset near 2^64", vcm_map_off_huge, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_MAP_PLACE, 0 },
	{ "map length too long", vcm_map_len, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_MAP_PLACE, 0 },
	{ "map length 0", vcm_map_len_zero, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_MAP_PLACE, 0 },
	{ "data offset misaligned", vcm_data_unaligned, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_DATA_PLACE, 0 },
	{ "data offset over the map", vcm_data_zero, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_DATA_PLACE, 0 },
	{ "data offset later, file long enough", vcm_data_2mib, NULL, VC_FILE_SIZE + (1ULL << 20), 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "data offset later, file too short", vcm_data_2mib, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_TRUNCATED, 0 },
	{ "data area ends past 2^63", vcm_data_s64, NULL, ~0ULL, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_DATA_LIMIT, 0 },
	{ "data offset past 2^63", vcm_data_neg, NULL, ~0ULL, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_DATA_LIMIT, 0 },
	{ "data area wraps 2^64", vcm_data_wrap, NULL, ~0ULL, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_DATA_LIMIT, 0 },
	{ "data offset past the caller's limit", vcm_data_1tib, NULL, 4 * VC_TIB, 0, VC_TIB, DMC_VERIFY_INVALID, DMC_WHY_DATA_LIMIT, 0 },
	{ "data offset 1 TiB within a 2 TiB limit", vcm_data_1tib, NULL, 4 * VC_TIB, 0, 2 * VC_TIB, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "limit exactly the layout's end", NULL, NULL, 0, 0, VC_FILE_SIZE, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "limit one byte short of the data", NULL, NULL, 0, 0, VC_FILE_SIZE - 1, DMC_VERIFY_INVALID, DMC_WHY_DATA_LIMIT, 0 },
	{ "limit inside the map", NULL, NULL, 0, 0, 3 * DMC_SLOT_SIZE - 1, DMC_VERIFY_INVALID, DMC_WHY_MAP_LIMIT, 0 },
	{ "zero uuid", vcm_uuid, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_UUID, 0 },
	{ "file shorter than its map", NULL, NULL, 9000, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_SHORT_MAP, 0 },
	{ "file 2 MiB: truncated", NULL, NULL, 2ULL << 20, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_TRUNCATED, 0 },
	{ "file one byte short: truncated", NULL, NULL, VC_FILE_SIZE - 1, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_TRUNCATED, 0 },
	{ "file longer than its layout", NULL, NULL, VC_FILE_SIZE + 4096, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "unknown parent kind", vcm_kind, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PARENT_KIND, 0 },
	{ "parent layer", vcm_parent_layer, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "parent layer with zero uuid", vcm_parent_uuid, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PARENT_UUID, 0 },
	{ "parent layer with empty path", vcm_parent_path, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PARENT_PATH, 0 },
	{ "raw parent", vcm_parent_raw, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "raw parent size differs", vcm_raw_size, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_RAW_SIZE, 0 },
	{ "raw parent with empty path", vcm_raw_path, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PARENT_PATH, 0 },
	{ "parent path not terminated", vcm_path_nul, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PATH_NUL, 0 },
	{ "journal top path not terminated", vcm_top_path_nul, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PATH_NUL, 0 },
	{ "journal merging", vcm_journal, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "journal retiring", vcm_journal_retiring, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "journal state unknown", vcm_j_state, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL_STATE, 0 },
	{ "journal generations not consecutive", vcm_j_gens, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "journal cursor past the last block", vcm_j_cursor, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "journal with no sources", vcm_j_sources, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "journal flags", vcm_j_flags, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "journal top uuid zero", vcm_j_top_uuid, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "journal top path empty", vcm_j_top_path, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "journal with a relink record", vcm_relink, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "retiring journal with a relink record", vcm_relink_retiring, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "swap journal", vcm_swap, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "retiring swap journal", vcm_swap_retiring, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "swap flag without its bit", vcm_swap_no_bit, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "swap bit without the flag", vcm_swap_bit_only, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "swap bit without a journal", vcm_swap_no_journal, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "swap journal with two sources", vcm_swap_two_sources, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "swap journal with top and bottom apart", vcm_swap_top_differs, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "swap journal without a target path", vcm_swap_no_target, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "swap target path not terminated", vcm_swap_target_nul, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PATH_NUL, 0 },
	{ "swap journal with a relink record", vcm_swap_relink, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_JOURNAL, 0 },
	{ "relink record without a journal", vcm_relink_no_journal, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_RELINK, 0 },
	{ "relink record uuid zero", vcm_relink_uuid_zero, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_RELINK, 0 },
	{ "relink record names the holder", vcm_relink_uuid_own, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_RELINK, 0 },
	{ "relink record names the bottom source", vcm_relink_uuid_bottom, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_RELINK, 0 },
	{ "relink record names the top source", vcm_relink_uuid_top, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_RELINK, 0 },
	{ "relink record path empty", vcm_relink_path_empty, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_RELINK, 0 },
	{ "relink record path not terminated", vcm_relink_path_nul, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_PATH_NUL, 0 },
	{ "relink record bytes without the bit", vcm_relink_no_bit, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "slot 1 newer", vcm_slot1_newer, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 1 },
	{ "slot 0 newer", vcm_slot1_older, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "slot 1 newer but torn", vcm_slot1_newer, vcp_torn1, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "slot 0 torn", vcm_slot1_older, vcp_torn0, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 1 },
	{ "slot 1 of unknown version", vcm_slot1_version, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "slot 0 of unknown version", vcm_slot0_version, NULL, 0, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 1 },
	{ "current slot has a bad field", vcm_slot1_bad_field, NULL, 0, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_BLOCK_SHIFT, 1 },
	{ "both slots torn", vcm_slot1_newer, vcp_torn_both, 0, 0, 0, DMC_VERIFY_CORRUPT, DMC_WHY_BAD_SLOTS, -1 },
	{ "both slots of unknown version", vcm_both_version, NULL, 0, 0, 0, DMC_VERIFY_CORRUPT, DMC_WHY_BAD_SLOTS, -1 },
	{ "slot 0 torn, slot 1 blank", NULL, vcp_torn0, 0, 0, 0, DMC_VERIFY_CORRUPT, DMC_WHY_BAD_SLOTS, -1 },
	{ "no magic: raw", vcm_magic, NULL, 0, 0, 0, DMC_VERIFY_RAW, DMC_WHY_NO_HEADER, -1 },
	{ "magic with a wrong last byte: raw", NULL, vcp_magic_byte, 0, 0, 0, DMC_VERIFY_RAW, DMC_WHY_NO_HEADER, -1 },
	{ "100 bytes: raw", NULL, NULL, 100, 100, 0, DMC_VERIFY_RAW, DMC_WHY_NO_HEADER, -1 },
	{ "one slot read, file too short", NULL, NULL, 4096, 4096, 0, DMC_VERIFY_INVALID, DMC_WHY_SHORT_MAP, 0 },
	{ "one slot given of a whole file", NULL, NULL, 0, 4096, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "slot 1 only, not given", vcm_slot1_newer, vcp_torn0, 0, 4096, 0, DMC_VERIFY_CORRUPT, DMC_WHY_BAD_SLOTS, -1 },
};

#define DMC_VERIFY_NR_CASES (sizeof(dmc_verify_cases) / sizeof(dmc_verify_cases[0]))

/*
 * Run case @c on @buf (2 * DMC_SLOT_SIZE bytes).  Returns the verdict;
 * fills @h, @slot and @why.
 */
static inline int dmc_verify_case_run(const struct dmc_verify_case *c,
				      __u8 *buf, struct dmc_hdr *h, int *slot,
				      enum dmc_verify_reason *why)
{
	unsigned int i;

	vc_make_base(buf);
	if (c->mutate)
		c->mutate(buf);
	for (i = 0; i < DMC_NR_SLOTS; i++)
		if (buf[i * DMC_SLOT_SIZE])
			dmc_verify_seal(buf + i * DMC_SLOT_SIZE);
	if (c->post)
		c->post(buf);
	return dmc_verify_layer(buf, c->len ? c->len : 2 * DMC_SLOT_SIZE,
				c->file_size ? c->file_size : VC_FILE_SIZE,
				c->max_bytes, h, slot, why);
}

/* Block map entries: blocks 0..nr_blocks of an 8 byte map. */
struct dmc_verify_map_case {
	const char *name;
	__u8 map[8];
	__u64 first, end;
	int result;
	__u64 bad;			/* first invalid block */
	__u64 counts[3];		/* absent, data, zero up to it */
};

static const struct dmc_verify_map_case dmc_verify_map_cases[] = {
	{ "all absent", { 0 }, 0, 32, DMC_VERIFY_OK, 0, { 32, 0, 0 } },
	{ "data and zero", { 0x19, 0x00, 0x55, 0xaa }, 0, 32, DMC_VERIFY_OK, 0, { 21, 6, 5 } },
	{ "value 3 at block 0", { 0x03 }, 0, 32, DMC_VERIFY_INVALID, 0, { 0, 0, 0 } },
	{ "value 3 at block 13", { 0x55, 0x55, 0x55, 0x0d }, 0, 32, DMC_VERIFY_INVALID, 13, { 0, 13, 0 } },
	{ "value 3 at the last block", { [7] = 0xc0 }, 0, 32, DMC_VERIFY_INVALID, 31, { 31, 0, 0 } },
	{ "value 3 past the range is not looked at", { [7] = 0xc0 }, 0, 31, DMC_VERIFY_OK, 0, { 31, 0, 0 } },
	{ "unaligned range", { 0xff, 0x09 }, 5, 6, DMC_VERIFY_OK, 0, { 0, 0, 1 } },
	{ "unaligned range meets value 3", { 0xff, 0x09 }, 1, 6, DMC_VERIFY_INVALID, 1, { 0, 0, 0 } },
};

#define DMC_VERIFY_NR_MAP_CASES \
	(sizeof(dmc_verify_map_cases) / sizeof(dmc_verify_map_cases[0]))

/* ---- the extent list (DMC_COMPAT_EXTENT_LIST) ---- */
#define VC_XOFF(f)	(VC_OFF(extent_list) + \
			 __builtin_offsetof(struct dmc_extent_list, f))

/* A list of @count records right after the layout, describing the base. */
static inline void vc_xlist(__u8 *s, __u64 offset, __u64 count)
{
	VC_SET(s, compat_features, DMC_COMPAT_EXTENT_LIST);
	vc_put(s + VC_XOFF(offset), 8, offset);
	vc_put(s + VC_XOFF(count), 8, count);
	vc_put(s + VC_XOFF(generation), 8, 1);
	vc_fill(s + VC_XOFF(uuid), 1, DMC_UUID_SIZE);
}
static inline void vcx_present(__u8 *s) { vc_xlist(s, VC_FILE_SIZE, 3); }
static inline void vcx_empty(__u8 *s) { vc_xlist(s, VC_FILE_SIZE, 0); }
static inline void vcx_later(__u8 *s) { vc_xlist(s, VC_FILE_SIZE + 4096, 3); }
static inline void vcx_no_bit(__u8 *s) { vcx_present(s); VC_SET(s, compat_features, 0); }
static inline void vcx_generation(__u8 *s) { vcx_present(s); vc_put(s + VC_XOFF(generation), 8, 2); }
static inline void vcx_uuid(__u8 *s) { vcx_present(s); s[VC_XOFF(uuid) + 15] = 2; }
static inline void vcx_journal(__u8 *s) { vcx_present(s); vcm_journal(s); }
static inline void vcx_merged(__u8 *s) { vcx_present(s); vcm_merged(s); }
static inline void vcx_in_data(__u8 *s) { vc_xlist(s, VC_FILE_SIZE - 4096, 3); }
static inline void vcx_in_map(__u8 *s) { vc_xlist(s, DMC_MAP_OFFSET, 3); }
static inline void vcx_unaligned(__u8 *s) { vc_xlist(s, VC_FILE_SIZE + 16, 3); }
static inline void vcx_too_many(__u8 *s) { vc_xlist(s, VC_FILE_SIZE, VC_NR_BLOCKS + 1); }
static inline void vcx_count_wraps(__u8 *s) { vc_xlist(s, VC_FILE_SIZE, 1ULL << 60); }
static inline void vcx_offset_huge(__u8 *s) { vc_xlist(s, 0ULL - 4096, 3); }

struct dmc_verify_xlist_case {
	const char *name;
	void (*mutate)(__u8 *slot);
	__u64 file_size;		/* 0: the layout and 3 records */
	__u64 max_bytes;
	enum dmc_xlist_verdict verdict;
	enum dmc_verify_reason why;
};

#define VC_XFILE	(VC_FILE_SIZE + 3 * DMC_EXTENT_SIZE)

static const struct dmc_verify_xlist_case dmc_verify_xlist_cases[] = {
	{ "no list", NULL, 0, 0, DMC_XLIST_NONE, DMC_WHY_NONE },
	{ "list right after the data area", vcx_present, 0, 0, DMC_XLIST_CURRENT, DMC_WHY_NONE },
	{ "empty list", vcx_empty, VC_FILE_SIZE, 0, DMC_XLIST_CURRENT, DMC_WHY_NONE },
	{ "list one page later", vcx_later, VC_XFILE + 4096, 0, DMC_XLIST_CURRENT, DMC_WHY_NONE },
	{ "list fields without the bit", vcx_no_bit, 0, 0, DMC_XLIST_NONE, DMC_WHY_NONE },
	{ "list of another generation", vcx_generation, 0, 0, DMC_XLIST_STALE, DMC_WHY_NONE },
	{ "list of another uuid", vcx_uuid, 0, 0, DMC_XLIST_STALE, DMC_WHY_NONE },
	{ "list under a merge journal", vcx_journal, 0, 0, DMC_XLIST_STALE, DMC_WHY_NONE },
	{ "list of a merged-away layer", vcx_merged, 0, 0, DMC_XLIST_STALE, DMC_WHY_NONE },
	{ "list inside the data area", vcx_in_data, 0, 0, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "list over the map", vcx_in_map, 0, 0, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "list not page aligned", vcx_unaligned, VC_XFILE + 16, 0, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "list past the file's end", vcx_present, VC_XFILE - 1, 0, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "more runs than blocks", vcx_too_many, ~0ULL, 0, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "count whose bytes wrap", vcx_count_wraps, ~0ULL, 0, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "offset near 2^64", vcx_offset_huge, ~0ULL, 0, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "list past the caller's limit", vcx_present, 0, VC_XFILE - 1, DMC_XLIST_BAD, DMC_WHY_XLIST_PLACE },
	{ "limit exactly the list's end", vcx_present, 0, VC_XFILE, DMC_XLIST_CURRENT, DMC_WHY_NONE },
};

#define DMC_VERIFY_NR_XLIST_CASES \
	(sizeof(dmc_verify_xlist_cases) / sizeof(dmc_verify_xlist_cases[0]))

/*
 * Run place case @c on @slot, which must hold 2 * DMC_SLOT_SIZE bytes (the
 * base is made in both slots' room, as for every case); its slot 0 is the
 * header checked.
 */
static inline enum dmc_xlist_verdict
dmc_verify_xlist_case_run(const struct dmc_verify_xlist_case *c, __u8 *slot,
			  enum dmc_verify_reason *why)
{
	__u64 size = c->file_size ? c->file_size : VC_XFILE;
	struct dmc_hdr h;

	vc_make_base(slot);
	if (c->mutate)
		c->mutate(slot);
	dmc_verify_seal(slot);
	if (dmc_verify_header(slot, size, c->max_bytes, &h, why) != DMC_VERIFY_OK)
		return (enum dmc_xlist_verdict)-1;
	return dmc_verify_extent_list_place(&h, size, c->max_bytes, why);
}

/* Records of a list, checked against a base of VC_NR_BLOCKS blocks. */
struct dmc_verify_run_case {
	const char *name;
	unsigned int nr;		/* records given */
	__u64 run[4][3];		/* first, length, state */
	__u64 count;			/* the header's count; 0: nr */
	int bad_checksum;
	int result;			/* of the whole check */
	enum dmc_verify_reason why;
	__u64 bad;			/* the bad record, for RECORD */
};

#define VC_D	DMC_BLOCK_DATA
#define VC_Z	DMC_BLOCK_ZERO
#define VC_N	VC_NR_BLOCKS

static const struct dmc_verify_run_case dmc_verify_run_cases[] = {
	{ "three runs", 3, { { 0, 1, VC_D }, { 5, 2, VC_Z }, { 7, 1, VC_D } }, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "no runs", 0, { { 0 } }, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "every block", 1, { { 0, VC_N, VC_D } }, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "touching runs of two states", 2, { { 0, 1, VC_D }, { 1, 1, VC_Z } }, 0, 0, DMC_VERIFY_OK, DMC_WHY_NONE, 0 },
	{ "touching runs of one state", 2, { { 0, 1, VC_D }, { 1, 1, VC_D } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 1 },
	{ "overlapping runs", 2, { { 0, 4, VC_D }, { 3, 1, VC_Z } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 1 },
	{ "unsorted runs", 3, { { 0, 1, VC_D }, { 9, 1, VC_D }, { 4, 1, VC_D } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 2 },
	{ "empty run", 1, { { 3, 0, VC_D } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 0 },
	{ "absent run", 1, { { 3, 1, DMC_BLOCK_ABSENT } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 0 },
	{ "run of state 3", 1, { { 3, 1, DMC_BLOCK_INVALID } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 0 },
	{ "run past the last block", 1, { { VC_N - 1, 2, VC_D } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 0 },
	{ "run starting past the last block", 1, { { VC_N, 1, VC_D } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 0 },
	{ "run whose end wraps", 1, { { 1, (1ULL << 62) - 1, VC_D } }, 0, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_RECORD, 0 },
	{ "wrong checksum", 2, { { 0, 1, VC_D }, { 5, 1, VC_Z } }, 0, 1, DMC_VERIFY_INVALID, DMC_WHY_XLIST_CHECKSUM, 0 },
	{ "fewer runs than the header's count", 2, { { 0, 1, VC_D }, { 5, 1, VC_Z } }, 3, 0, DMC_VERIFY_INVALID, DMC_WHY_XLIST_CHECKSUM, 0 },
};

#define DMC_VERIFY_NR_RUN_CASES \
	(sizeof(dmc_verify_run_cases) / sizeof(dmc_verify_run_cases[0]))

/*
 * Run record case @c, feeding one record at a time when @one_by_one (the
 * verdict must not depend on how the list is read).  Returns the verdict.
 */
static inline int dmc_verify_run_case_run(const struct dmc_verify_run_case *c,
					  int one_by_one, __u64 *bad,
					  enum dmc_verify_reason *why)
{
	__u8 recs[4 * DMC_EXTENT_SIZE];
	struct dmc_extent_walk w;
	struct dmc_hdr h;
	unsigned int i;
	__u32 crc;

	vc_fill((__u8 *)&h, 0, sizeof(h));
	h.nr_blocks = VC_NR_BLOCKS;
	h.x_count = c->count ? c->count : c->nr;
	for (i = 0; i < c->nr; i++)
		dmc_extent_put(recs + i * DMC_EXTENT_SIZE, c->run[i][0],
			       c->run[i][1], (__u32)c->run[i][2]);
	crc = ~dmc_crc32c(~0U, recs, c->nr * DMC_EXTENT_SIZE);
	h.x_checksum = c->bad_checksum ? crc ^ 1 : crc;
	*bad = 0;
	*why = DMC_WHY_NONE;
	dmc_extent_walk_begin(&w, &h);
	if (one_by_one) {
		for (i = 0; i < c->nr; i++)
			if (dmc_extent_walk_feed(&w, recs + i * DMC_EXTENT_SIZE,
						 1, bad, why))
				return DMC_VERIFY_INVALID;
	} else if (dmc_extent_walk_feed(&w, recs, c->nr, bad, why)) {
		return DMC_VERIFY_INVALID;
	}
	return dmc_extent_walk_end(&w, &h, why);
}

/*
 * dmc_map_next_run() against a block-by-block reading of @map (@nr
 * blocks): the runs must cover exactly the blocks that are not ABSENT,
 * each of one state, maximal, in order.  Returns 0 or the first block
 * where they differ plus one.
 */
static inline __u64 dmc_verify_runs_match_map(const __u8 *map, __u64 nr)
{
	__u64 pos = 0, b = 0, first, length, i;
	__u32 state;

	while (dmc_map_next_run(map, nr, &pos, &first, &length, &state)) {
		for (; b < first; b++)
			if (dmc_map_get(map, b) != DMC_BLOCK_ABSENT)
				return b + 1;
		for (i = 0; i < length; i++, b++)
			if (dmc_map_get(map, b) != state)
				return b + 1;
		if (b < nr && dmc_map_get(map, b) == state)
			return b + 1;	/* not maximal */
	}
	for (; b < nr; b++)
		if (dmc_map_get(map, b) != DMC_BLOCK_ABSENT)
			return b + 1;
	return 0;
}

#endif /* _DM_CHAIN_VERIFY_CASES_H */
