/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layer header slots: checksum, slot choice, field validation, linkage
 * between a child and its parent, and building the next slot.  Pure
 * functions on memory buffers (no I/O, no locks), so they are unit-tested
 * in header-test.c and shared by the open path in layer.c.
 */
#ifndef DM_CHAIN_HEADER_H
#define DM_CHAIN_HEADER_H

#include <linux/types.h>
#include <dm-chain/format.h>
#include <dm-chain/layer_verify.h>

/*
 * struct dmc_hdr, the decoded header, and every rule come from the shared
 * validator (include/dm-chain/layer_verify.h); these are its kernel
 * wrappers, with errno values and the module's messages.
 */

/* CRC32C of a DMC_SLOT_SIZE slot with its checksum field taken as zero. */
u32 dmc_header_crc(const void *slot);

/*
 * Classify one slot: 0 when magic, version and checksum are right,
 * -ENODATA when it has no magic, -EILSEQ for a bad checksum or version.
 */
int dmc_slot_check(const void *slot);

/*
 * Choose the current slot of a file from its two slots (@slot1 may be
 * NULL when the file is shorter than two slots).  Returns the slot index,
 * -ENODATA when neither slot has the magic (a raw image), or -EILSEQ when
 * a slot has the magic but none is valid.
 */
int dmc_header_pick(const void *slot0, const void *slot1);

/*
 * Decode and validate the fields of a valid slot.  @file_size is the
 * layer file's size: the map and the whole data area must lie inside it.
 * Every offset and length is bounded by loff_t and by @max_bytes (the
 * filesystem's s_maxbytes; 0: loff_t only).  A merged-away layer is
 * refused.  Returns 0, or -EINVAL / -EOPNOTSUPP with a static reason in
 * *why.
 */
int dmc_header_decode_max(const void *slot, u64 file_size, u64 max_bytes,
			  struct dmc_hdr *h, const char **why);

/* dmc_header_decode_max() bounded by loff_t only. */
int dmc_header_decode(const void *slot, u64 file_size, struct dmc_hdr *h,
		      const char **why);

/*
 * Check the entries of blocks [@first, @end) of a block map: 0, or
 * -EILSEQ with *bad the first block holding the invalid value 3.  @counts
 * (4 entries, may be NULL) is added the blocks in each state.
 */
int dmc_map_check(const u8 *map, u64 first, u64 end, u64 *counts, u64 *bad);

static inline bool dmc_hdr_journal_active(const struct dmc_hdr *h)
{
	return h->j_state != DMC_JOURNAL_NONE;
}

/*
 * True when @h's journal describes a merge into its raw parent (the
 * journal lives in the lowest source's header then, see format.h).
 */
bool dmc_hdr_journal_targets_raw_parent(const struct dmc_hdr *h);

/*
 * Linkage of @child on top of @parent (NULL: a raw image of @raw_size
 * bytes).  Returns 0 or -EINVAL with a static reason in *why.
 */
int dmc_link_check(const struct dmc_hdr *child, const struct dmc_hdr *parent,
		   u64 raw_size, const char **why);

/*
 * Build in @out (DMC_SLOT_SIZE bytes) the next header from the current
 * slot @cur: a copy with the given sequence and generation and a fresh
 * checksum.  Fields this version does not interpret are kept.
 */
void dmc_header_next(void *out, const void *cur, u64 sequence,
		     u64 generation);

#endif /* DM_CHAIN_HEADER_H */

/*
 * The live leap (docs/format.md): @hdrs[0..i] are a table's layers base
 * first (NULL for a raw image).  True when layer @i was made during a
 * live merge into some layer T below and sits on that merge's top source
 * @hdrs[i - 1]: T holds the active journal, @i records T's uuid and
 * post-merge generation, and the layers between are exactly the sources.
 */
bool dmc_live_leap(const struct dmc_hdr *const *hdrs, unsigned int i);

/* ---- building and editing slots (live merge, snapshot) ---- */

/* Finish a slot edited in place: set @sequence and a fresh checksum. */
void dmc_header_seal(void *slot, u64 sequence);

/* What a new, empty child layer's header holds. */
struct dmc_new_layer {
	u32 block_shift;
	u64 virtual_size;
	u8 uuid[DMC_UUID_SIZE];
	u8 parent_uuid[DMC_UUID_SIZE];
	u64 parent_generation;
	const char *parent_path;	/* relative to the child's directory */
};

/*
 * Build in @slot (DMC_SLOT_SIZE bytes) the header of a new empty child,
 * generation 1, sealed with @sequence.  Returns 0 or -ENAMETOOLONG.
 * The file it belongs in is dmc_new_layer_size() bytes long.
 */
int dmc_header_build(void *slot, const struct dmc_new_layer *nl,
		     u64 sequence);
u64 dmc_new_layer_size(u64 virtual_size, u32 block_shift);

/* A merge journal as dmc_header_set_journal() writes it. */
struct dmc_journal_args {
	u32 state;			/* enum dmc_journal_state */
	u32 nr_sources;
	u64 cursor;
	u64 old_generation;
	u64 new_generation;
	const u8 *bottom_uuid;
	const u8 *top_uuid;
	const char *top_path;
	/* A range merge's relink record (NULL: none); see format.h */
	const u8 *child_uuid;
	const char *child_path;
};

/* Edits of a slot's fields; seal afterwards.  NULL @j clears the journal. */
int dmc_header_set_journal(void *slot, const struct dmc_journal_args *j);
void dmc_header_set_generation(void *slot, u64 generation);
void dmc_header_set_merged_away(void *slot, const u8 *into_uuid);

/* A layer's new parent (the relink of an intermediate live merge). */
struct dmc_parent_args {
	const u8 *uuid;			/* NULL: a raw image of @raw_size */
	u64 generation;
	u64 raw_size;
	const char *path;		/* relative to the child's directory */
};

/*
 * Make @slot a child of the layer @pa, or of a raw image when @pa->uuid
 * is NULL: -ENAMETOOLONG for a long path.
 */
int dmc_header_set_parent(void *slot, const struct dmc_parent_args *pa);

/*
 * How a file at @from refers to the file at @to (both absolute): the
 * bare name when both sit in the same directory, else @to itself.
 * Returns 0 or -ENAMETOOLONG when it does not fit @size.
 */
int dmc_rel_path(const char *from, const char *to, char *out, size_t size);

/*
 * The @n-th default name for a new leaf next to @leaf:
 * "<dir>/<stem>-<n>.dmc", where stem is the leaf's name without ".dmc"
 * and without a trailing "-<digits>".  Returns 0 or -ENAMETOOLONG.
 */
int dmc_leaf_name(const char *leaf, unsigned int n, char *out, size_t size);

/*
 * The number @leaf's name ends in ("<stem>-<n>.dmc" gives n), 0 when it
 * has none: new default names count on from it.
 */
unsigned int dmc_leaf_suffix(const char *leaf);
