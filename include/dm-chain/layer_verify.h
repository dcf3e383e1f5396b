/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The one validator of the layer file format (docs/format.md), shared by
 * the kernel module and chainctl the way xfsprogs shares libxfs: pure C on
 * byte buffers, no kernel or C library calls (its own little-endian loads,
 * its own CRC32C table), compiled into the module by kmod/layer_verify.c
 * and into chainctl by userspace/lib/layer_verify.c.  kmod/header.c and
 * userspace/lib/layer_header.c are thin wrappers over it, and both unit
 * test suites run the same table of cases (verify_cases.h).
 *
 * Entry points:
 *   dmc_verify_layer()  the first bytes of a file and its size in, the
 *                       current slot decoded and checked (or why not) out;
 *                       the function to fuzz.
 *   dmc_verify_header() one slot's fields (after dmc_verify_slot()).
 *   dmc_verify_map()    block map entries (value 3 is corrupt).
 *   dmc_verify_extent_list_place(), dmc_extent_walk_*()
 *                       the extent list's place and records.
 */
#ifndef _DM_CHAIN_LAYER_VERIFY_H
#define _DM_CHAIN_LAYER_VERIFY_H

#include <dm-chain/verify_compat.h>
#include <dm-chain/format.h>

/* Incompatible features this version understands. */
#define DMC_INCOMPAT_SUPPORTED	(DMC_INCOMPAT_JOURNAL_RELINK | \
				 DMC_INCOMPAT_JOURNAL_SWAP)

/* A decoded, validated header (host byte order). */
struct dmc_hdr {
	__u64 sequence;
	__u64 generation;
	__u64 virtual_size;
	__u64 map_offset;
	__u64 map_length;
	__u64 data_offset;
	__u64 nr_blocks;
	__u64 parent_generation;
	__u64 parent_raw_size;
	__u32 incompat_features;
	__u32 compat_features;
	__u32 state;
	__u32 block_shift;
	__u32 parent_kind;
	__u8 uuid[DMC_UUID_SIZE];
	__u8 parent_uuid[DMC_UUID_SIZE];
	__u8 merged_into_uuid[DMC_UUID_SIZE];
	/* merge journal */
	__u32 j_state;
	__u32 j_nr_sources;
	__u64 j_cursor;
	__u64 j_old_generation;
	__u64 j_new_generation;
	__u8 j_bottom_uuid[DMC_UUID_SIZE];
	__u8 j_top_uuid[DMC_UUID_SIZE];
	__u32 j_flags;
	/* relink record (DMC_INCOMPAT_JOURNAL_RELINK), else zero */
	__u8 j_relink_uuid[DMC_UUID_SIZE];
	/* extent list (DMC_COMPAT_EXTENT_LIST), else zero */
	__u64 x_offset;
	__u64 x_count;
	__u64 x_generation;
	__u8 x_uuid[DMC_UUID_SIZE];
	__u32 x_checksum;
};

/* Whether @h's journal carries a relink record. */
static inline int dmc_hdr_has_relink(const struct dmc_hdr *h)
{
	return !!(h->incompat_features & DMC_INCOMPAT_JOURNAL_RELINK);
}

/* Whether @h's journal is a swap merge's (DMC_INCOMPAT_JOURNAL_SWAP). */
static inline int dmc_hdr_has_swap(const struct dmc_hdr *h)
{
	return !!(h->incompat_features & DMC_INCOMPAT_JOURNAL_SWAP);
}

/* Verdicts.  The wrappers map them onto errno values. */
enum dmc_verify_result {
	DMC_VERIFY_OK = 0,
	DMC_VERIFY_INVALID,	/* a field breaks a rule (EINVAL) */
	DMC_VERIFY_UNSUPPORTED,	/* an unknown incompat feature (EOPNOTSUPP) */
	DMC_VERIFY_RAW,		/* no magic in either slot (ENODATA) */
	DMC_VERIFY_CORRUPT,	/* magic, but no slot is valid (EILSEQ) */
};

/* What one slot holds (dmc_verify_slot()). */
enum dmc_slot_verdict {
	DMC_SLOT_OK = 0,
	DMC_SLOT_NO_MAGIC,	/* raw data, zeros, or not read */
	DMC_SLOT_BAD_CHECKSUM,	/* magic, checksum wrong: torn or corrupt */
	DMC_SLOT_BAD_VERSION,	/* checksum right, version unknown */
};

/* Why a header or map was refused: each has a fixed text. */
enum dmc_verify_reason {
	DMC_WHY_NONE = 0,
	DMC_WHY_NO_HEADER,
	DMC_WHY_BAD_SLOTS,
	DMC_WHY_INCOMPAT,
	DMC_WHY_STATE,
	DMC_WHY_BLOCK_SHIFT,
	DMC_WHY_VIRTUAL_SIZE,
	DMC_WHY_MAP_PLACE,
	DMC_WHY_DATA_PLACE,
	DMC_WHY_MAP_LIMIT,
	DMC_WHY_DATA_LIMIT,
	DMC_WHY_UUID,
	DMC_WHY_SHORT_MAP,
	DMC_WHY_TRUNCATED,
	DMC_WHY_PARENT_KIND,
	DMC_WHY_PARENT_UUID,
	DMC_WHY_RAW_SIZE,
	DMC_WHY_PARENT_PATH,
	DMC_WHY_PATH_NUL,
	DMC_WHY_JOURNAL,
	DMC_WHY_JOURNAL_STATE,
	DMC_WHY_RELINK,
	DMC_WHY_MAP_ENTRY,
	DMC_WHY_MAP_TAIL,
	DMC_WHY_XLIST_PLACE,
	DMC_WHY_XLIST_RECORD,
	DMC_WHY_XLIST_CHECKSUM,
	DMC_WHY_MAX
};

/* The fixed text of @r ("Layer ..."), never NULL. */
const char *dmc_verify_reason_str(enum dmc_verify_reason r);

/*
 * CRC32C update with no pre/post inversion (the kernel's crc32c()).  The
 * module's is the kernel's __crc32c_le() (kmod/layer_verify.c,
 * DMC_CRC32C_ELSEWHERE);
 * everywhere else it is dmc_crc32c_portable(), a byte-wise table.
 */
__u32 dmc_crc32c(__u32 crc, const void *buf, size_t len);
__u32 dmc_crc32c_portable(__u32 crc, const void *buf, size_t len);

/* CRC32C of a DMC_SLOT_SIZE slot with its checksum field taken as zero. */
__u32 dmc_verify_slot_crc(const void *slot);

/* Store the slot's checksum (after editing it). */
void dmc_verify_seal(void *slot);

/* Magic, checksum and version of one DMC_SLOT_SIZE slot. */
enum dmc_slot_verdict dmc_verify_slot(const void *slot);

/*
 * The current slot from two slot verdicts and sequences: the valid one
 * with the higher sequence (slot 0 on a tie).  Returns 0 or 1, or -1 when
 * neither is valid.
 */
int dmc_verify_pick(enum dmc_slot_verdict v0, __u64 seq0,
		    enum dmc_slot_verdict v1, __u64 seq1);

/* A slot's sequence number (any slot, valid or not). */
__u64 dmc_verify_slot_sequence(const void *slot);

/*
 * Decode and check the fields of one slot that passed dmc_verify_slot().
 * @file_size is the layer file's size: the map and the whole data area
 * (data_offset + nr_blocks * block_size) must lie inside it.  @max_bytes
 * is the largest file the caller can address (the kernel: the
 * filesystem's s_maxbytes; 0 means no limit beyond loff_t): every offset
 * and length must end at or below it and below 2^63.  Both merged-away
 * and valid layers pass; callers decide what they accept.  Returns a
 * dmc_verify_result, with *why set when it is not DMC_VERIFY_OK.  @h is
 * filled as far as decoded in every case.
 */
int dmc_verify_header(const void *slot, __u64 file_size, __u64 max_bytes,
		      struct dmc_hdr *h, enum dmc_verify_reason *why);

/*
 * The fuzzing entry point: @buf holds the first @len bytes of a layer
 * file of @file_size bytes (@len = min(file_size, 2 * DMC_SLOT_SIZE) when
 * read whole; a slot not wholly in @buf counts as absent).  Picks the
 * current slot, decodes and checks it as dmc_verify_header().  Returns a
 * dmc_verify_result; on DMC_VERIFY_OK *slot is the current slot's index.
 */
int dmc_verify_layer(const void *buf, __u64 len, __u64 file_size,
		     __u64 max_bytes, struct dmc_hdr *h, int *slot,
		     enum dmc_verify_reason *why);

/*
 * Block map entries of blocks [@first, @end) of @map: returns
 * DMC_VERIFY_OK, or DMC_VERIFY_INVALID with *bad the first block whose
 * entry is 3 (DMC_BLOCK_INVALID).  @counts (4 entries, may be NULL) is
 * added the number of blocks in each state up to the first bad one.
 * Callers scan a long map in pieces to yield between them.
 */
int dmc_verify_map(const __u8 *map, __u64 first, __u64 end, __u64 *counts,
		   __u64 *bad);

/*
 * Entries past the last block (@nr_blocks) of a @map_length byte map must
 * be 0: returns DMC_VERIFY_OK, or DMC_VERIFY_INVALID with *bad the first
 * entry that is not.  Readers clear them; `layer check` reports them.
 */
int dmc_verify_map_tail(const __u8 *map, __u64 map_length, __u64 nr_blocks,
			__u64 *bad);

/*
 * The extent list (DMC_COMPAT_EXTENT_LIST, docs/format.md "Extent list").
 * A header's list is one of:
 */
enum dmc_xlist_verdict {
	DMC_XLIST_NONE = 0,	/* none: the bit is clear */
	DMC_XLIST_STALE,	/* describes another uuid or generation, or
				 * the layer is merged away or holds a merge
				 * journal: read the map instead */
	DMC_XLIST_BAD,		/* would describe the layer, but lies outside
				 * the file or inside its data area (*why) */
	DMC_XLIST_CURRENT,	/* in place: read it and check its records */
};

/*
 * What @h (a header dmc_verify_header() accepted, of a file of @file_size
 * bytes, @max_bytes as there) says about its list.  A list that is not
 * CURRENT is never read, and never a reason to refuse the layer: the map
 * is authoritative.
 */
enum dmc_xlist_verdict dmc_verify_extent_list_place(const struct dmc_hdr *h,
						     __u64 file_size,
						     __u64 max_bytes,
						     enum dmc_verify_reason *why);

/*
 * Checking a CURRENT list's records as they are read, in pieces of any
 * size: _begin(), then _feed() for each piece in order, then _end().
 * Records must be sorted, must not overlap, must end at or before the
 * last block, must be DATA or ZERO, and two that touch must differ in
 * state; the checksum is over all of them.
 */
struct dmc_extent_walk {
	__u64 nr_blocks;
	__u64 seen;		/* records fed */
	__u64 next;		/* first block the next record may start at */
	__u32 last_state;	/* of the record ending at next, or 0 */
	__u32 crc;
};

void dmc_extent_walk_begin(struct dmc_extent_walk *w, const struct dmc_hdr *h);

/*
 * Check @n records at @recs.  Returns DMC_VERIFY_OK, or DMC_VERIFY_INVALID
 * with *why and *bad (the index in the whole list of the first bad record).
 */
int dmc_extent_walk_feed(struct dmc_extent_walk *w, const void *recs,
			 __u64 n, __u64 *bad, enum dmc_verify_reason *why);

/* All @h->x_count records fed and the checksum right: DMC_VERIFY_OK. */
int dmc_extent_walk_end(const struct dmc_extent_walk *w,
			const struct dmc_hdr *h, enum dmc_verify_reason *why);

/* One record, decoded and encoded (DMC_EXTENT_SIZE bytes). */
void dmc_extent_get(const void *rec, __u64 *first, __u64 *length,
		    __u32 *state);
void dmc_extent_put(void *rec, __u64 first, __u64 length, __u32 state);

/*
 * The runs of a block map, in list order: from block *@pos, the next run
 * of DATA or ZERO blocks below @nr_blocks.  Returns 1 with the run, and
 * *@pos moved past it, or 0 when no run is left.  What writers of the list
 * build it with, and what a check compares the list with.
 */
int dmc_map_next_run(const __u8 *map, __u64 nr_blocks, __u64 *pos,
		     __u64 *first, __u64 *length, __u32 *state);

#endif /* _DM_CHAIN_LAYER_VERIFY_H */
