/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layer header in host byte order, and its conversion to and from the
 * on-disk slot (struct dmc_header in include/dm-chain/format.h): encode
 * with checksum, decode with magic/checksum/version verdict, field
 * validation, and the choice of the current slot.  Pure functions, no I/O.
 */
#ifndef DMC_LAYER_HEADER_H
#define DMC_LAYER_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dm-chain/format.h>
#include <dm-chain/layer_verify.h>

#define DMC_DEFAULT_BLOCK_SHIFT 16U	/* 64 KiB */
/* Feature bits this implementation knows. */
#define DMC_KNOWN_INCOMPAT DMC_INCOMPAT_SUPPORTED

struct layer_journal {
	uint32_t state;			/* enum dmc_journal_state */
	uint32_t nr_sources;
	uint64_t cursor;
	uint64_t old_generation;
	uint64_t new_generation;
	uint8_t bottom_uuid[DMC_UUID_SIZE];
	uint8_t top_uuid[DMC_UUID_SIZE];
	uint32_t flags;
	char top_path[DMC_JOURNAL_PATH_MAX];
	/*
	 * A range merge's relink record (struct dmc_relink): the layer above
	 * the top source, its uuid and its path relative to the holder's
	 * directory.  All zero when there is none; layer_header_encode() sets
	 * DMC_INCOMPAT_JOURNAL_RELINK exactly when an active journal has one.
	 */
	uint8_t relink_uuid[DMC_UUID_SIZE];
	char relink_path[DMC_JOURNAL_PATH_MAX];
	/*
	 * A swap merge's record (struct dmc_swap, with DMC_JOURNAL_F_SWAP in
	 * flags): the target's path relative to the holder's directory.
	 */
	char swap_target_path[DMC_JOURNAL_PATH_MAX];
};

/*
 * Where the extent list is and what it describes (struct dmc_extent_list),
 * read and written only with DMC_COMPAT_EXTENT_LIST in compat_features.
 */
struct layer_xlist {
	uint64_t offset;
	uint64_t count;
	uint64_t generation;
	uint8_t uuid[DMC_UUID_SIZE];
	uint32_t checksum;
};

struct layer_header {
	uint32_t version;
	uint64_t sequence;
	uint32_t incompat_features;
	uint32_t compat_features;
	uint32_t state;			/* enum dmc_layer_state */
	uint32_t block_shift;
	uint64_t virtual_size;
	uint64_t generation;
	uint64_t map_offset;
	uint64_t map_length;
	uint64_t data_offset;
	uint8_t uuid[DMC_UUID_SIZE];
	uint32_t parent_kind;		/* enum dmc_parent_kind */
	uint8_t parent_uuid[DMC_UUID_SIZE];
	uint64_t parent_generation;
	uint64_t parent_raw_size;
	uint8_t merged_into_uuid[DMC_UUID_SIZE];
	char parent_path[DMC_PATH_MAX];
	struct layer_journal journal;
	struct layer_xlist xlist;	/* DMC_COMPAT_EXTENT_LIST */
};

/* What a slot holds, from decoding it. */
enum slot_status {
	SLOT_VALID = 0,
	SLOT_NO_MAGIC,		/* not a dm-chain header (raw data or zeros) */
	SLOT_BAD_CHECKSUM,	/* magic present, checksum wrong: torn or corrupt */
	SLOT_BAD_VERSION,	/* checksum right, version unknown */
	SLOT_SHORT,		/* the file ends inside the slot */
};

const char *slot_status_str(enum slot_status st);

/*
 * A fresh VALID base header for VIRTUAL_SIZE bytes in blocks of
 * 1 << BLOCK_SHIFT: offsets computed, sequence 1, generation 1, no parent,
 * uuid left zero (the caller generates one).
 */
void layer_header_init(struct layer_header *h, uint64_t virtual_size,
		       uint32_t block_shift);

/* Serialise H into the DMC_SLOT_SIZE bytes at SLOT, checksum included. */
void layer_header_encode(const struct layer_header *h, void *slot);

/* Decode a DMC_SLOT_SIZE slot; H is filled only when SLOT_VALID. */
enum slot_status layer_header_decode(const void *slot, struct layer_header *h);

/*
 * Check field values an older or buggy writer could get wrong: sizes,
 * block size, offsets, enums, NUL-terminated strings, journal sanity.
 * Returns 0, or -1 with a reason (no file name) in WHY.  Not against a
 * file: layer_header_check() is what opening a file runs.
 */
int layer_header_validate(const struct layer_header *h, char *why, size_t len);

/*
 * The shared validator on the DMC_SLOT_SIZE bytes of a valid SLOT of a
 * file of FILE_SIZE bytes: every rule of layer_header_validate(), plus the
 * map and data area inside the file and every offset below MAX_BYTES
 * (0: 2^63).  Returns 0, or -1 with *REASON and its text in WHY.
 */
int layer_header_check(const void *slot, uint64_t file_size, uint64_t max_bytes,
		       enum dmc_verify_reason *reason, char *why, size_t len);

/*
 * Pick the current slot from the two decoded statuses and sequences: the
 * valid one with the higher sequence (slot 0 on a tie).  Returns the slot
 * index, or -1 when neither is valid.
 */
int layer_header_pick(enum slot_status st0, const struct layer_header *h0,
		      enum slot_status st1, const struct layer_header *h1);

static inline uint64_t layer_header_nr_blocks(const struct layer_header *h)
{
	return dmc_nr_blocks(h->virtual_size, h->block_shift);
}

/* "state" and "journal state" names for reports. */
const char *layer_state_str(uint32_t state);
const char *journal_state_str(uint32_t state);
const char *parent_kind_str(uint32_t kind);

bool uuid_is_zero(const uint8_t *uuid);

#endif
