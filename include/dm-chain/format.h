/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * dm-chain layer file format, version 1: the one definition shared by the
 * kernel module and chainctl.  docs/format.md is the prose contract; any
 * change here that an older reader would misread needs a new version or an
 * incompat feature bit.
 *
 * A layer file:
 *
 *   0              header slot 0 (DMC_SLOT_SIZE bytes)
 *   4096           header slot 1
 *   map_offset     block state map, 2 bits per block, map_length bytes
 *   data_offset    block i at data_offset + i * block_size (identity
 *                  placement; data_offset is a multiple of 1 MiB and of
 *                  the block size), sparse where blocks are absent or zero
 *   past the data  optional: the extent list (DMC_COMPAT_EXTENT_LIST)
 *
 * Both header slots hold a struct dmc_header; the valid slot (magic, version
 * and checksum correct) with the higher sequence number is current.  Writers
 * always overwrite the other slot, so a torn write never loses both.
 *
 * All integers are little-endian.  The checksum is CRC32C (Castagnoli,
 * seed ~0, final xor ~0, as crc32c() in the kernel and iSCSI/ext4/btrfs)
 * over the whole DMC_SLOT_SIZE slot with the checksum field set to zero.
 */
#ifndef _DM_CHAIN_FORMAT_H
#define _DM_CHAIN_FORMAT_H

#include <linux/types.h>

#define DMC_MAGIC		0x314e4941484344ULL	/* "DCHAIN1\0" LE */
#define DMC_VERSION		1U

#define DMC_SLOT_SIZE		4096U
#define DMC_NR_SLOTS		2U
#define DMC_MAP_OFFSET		(DMC_SLOT_SIZE * DMC_NR_SLOTS)
#define DMC_DATA_ALIGN		(1ULL << 20)	/* data_offset alignment */

#define DMC_MIN_BLOCK_SHIFT	12U		/* 4 KiB */
#define DMC_MAX_BLOCK_SHIFT	21U		/* 2 MiB */
#define DMC_SECTOR_SIZE		512U
/* Virtual size: a multiple of 512 bytes, at most 2^50 bytes (1 PiB). */
#define DMC_MAX_VIRTUAL_SIZE	(1ULL << 50)

#define DMC_UUID_SIZE		16U
#define DMC_PATH_MAX		1024U		/* parent path hint, NUL padded */
#define DMC_JOURNAL_PATH_MAX	512U		/* merge top path hint */

/*
 * The most layers a chain may have, base and leaf included: the "chain"
 * target's table line takes at most this many paths, and readers stop
 * following parent links there (a longer chain is taken for a loop).
 * A plain number, so that messages can spell it with __stringify().
 */
#define DMC_MAX_LAYERS		4096

/* Layer state (dmc_header.state). */
enum dmc_layer_state {
	DMC_STATE_VALID		= 1,
	DMC_STATE_MERGED_AWAY	= 2,	/* merged into merged_into_uuid */
};

/* What lies below a layer (dmc_header.parent_kind). */
enum dmc_parent_kind {
	DMC_PARENT_NONE		= 0,	/* a base: absent blocks read zero */
	DMC_PARENT_LAYER	= 1,	/* a dm-chain layer: parent_uuid/gen */
	DMC_PARENT_RAW		= 2,	/* a raw image of parent_raw_size */
};

/* Per-block state, 2 bits a block (block i: byte i / 4, bits 2 * (i % 4)). */
enum dmc_block_state {
	DMC_BLOCK_ABSENT	= 0,	/* look below */
	DMC_BLOCK_DATA		= 1,	/* at data_offset + i * block_size */
	DMC_BLOCK_ZERO		= 2,	/* reads as zeros, no data */
	DMC_BLOCK_INVALID	= 3,	/* never written; a corrupt map */
};
#define DMC_BLOCKS_PER_MAP_BYTE	4U

/* Merge journal state (dmc_journal.state). */
enum dmc_journal_state {
	DMC_JOURNAL_NONE	= 0,
	DMC_JOURNAL_MERGING	= 1,	/* data phase: blocks < cursor done */
	DMC_JOURNAL_RETIRING	= 2,	/* data complete: sources being
					 * marked merged-away */
};

/*
 * Merge journal.  Lives in the merge target's header; when the target is a
 * raw image (no header) it lives in the header of the lowest source layer.
 * Sources are the nr_sources layers from bottom_uuid (the target's child)
 * up to top_uuid; top_path locates the top source relative to the
 * directory of the file holding the journal.
 */
struct dmc_journal {
	__le32 state;
	__le32 nr_sources;
	__le64 cursor;			/* blocks [0, cursor) are merged */
	__le64 old_generation;		/* target generation before merge */
	__le64 new_generation;		/* target generation after merge */
	__u8   bottom_uuid[DMC_UUID_SIZE];
	__u8   top_uuid[DMC_UUID_SIZE];
	__le32 flags;			/* DMC_JOURNAL_F_*, else zero */
	__le32 reserved;
	char   top_path[DMC_JOURNAL_PATH_MAX];
} __attribute__((packed));

/*
 * Journal flags (dmc_journal.flags).
 *
 * DMC_JOURNAL_F_SWAP: a swap merge ("merge by the smaller side", one source
 * S into a layer T, offline only).  The target's blocks that S does not
 * shadow are moved up into S, then S's file takes T's identity and T's
 * place by rename, and a merged-away marker takes S's path.  Held by T
 * (generation old_generation) while the data moves, and by the swapped
 * file (T's uuid, generation new_generation) from its header rewrite until
 * the marker is in place.  Always with DMC_INCOMPAT_JOURNAL_SWAP and its
 * record (struct dmc_swap).
 */
#define DMC_JOURNAL_F_SWAP		(1U << 0)

/*
 * Incompatible features (dmc_header.incompat_features): a reader that does
 * not know a set bit must refuse the layer.
 *
 * DMC_INCOMPAT_JOURNAL_RELINK: the journal this header holds has a relink
 * record (struct dmc_relink).  Set exactly while a merge of a range below
 * the chain's leaf is unfinished, cleared with the journal: the layer
 * above that range ("A") must record the target at the new generation
 * before any source is marked merged-away, and the record says where A is
 * so that any finisher can relink it.  A reader that cannot honour the
 * record would orphan A, so it must refuse the holder instead.
 */
#define DMC_INCOMPAT_JOURNAL_RELINK	(1U << 0)

/*
 * DMC_INCOMPAT_JOURNAL_SWAP: the journal this header holds is a swap
 * merge's (DMC_JOURNAL_F_SWAP).  Set exactly with that flag, cleared with
 * the journal.  A reader that cannot finish a swap must not load or change
 * the layers it involves: the file at the source's path may already carry
 * the target's identity.  The kernel module refuses such a layer;
 * chainctl finishes the merge.
 */
#define DMC_INCOMPAT_JOURNAL_SWAP	(1U << 1)

/*
 * The layer above a range merge's top source: its uuid, and its path
 * relative to the directory of the file holding the journal (or absolute).
 */
struct dmc_relink {
	__u8   child_uuid[DMC_UUID_SIZE];
	char   child_path[DMC_JOURNAL_PATH_MAX];
} __attribute__((packed));

/*
 * A swap merge's record (with DMC_INCOMPAT_JOURNAL_SWAP): the target's
 * path relative to the directory of the file holding the journal (or
 * absolute), where the swapped file goes.  The journal's top_path names
 * the source, where the merged-away marker goes.
 */
struct dmc_swap {
	char   target_path[DMC_JOURNAL_PATH_MAX];
} __attribute__((packed));

/*
 * Compatible features (dmc_header.compat_features): a reader that does not
 * know a set bit ignores it.
 *
 * DMC_COMPAT_EXTENT_LIST: the header's extent_list fields locate a frozen
 * list of the layer's runs (struct dmc_extent records), written when the
 * layer got a child.  The block map stays authoritative: the list is a
 * faster copy of it that a reader may use only while it still describes
 * the layer (uuid and generation equal to the header's, no merge journal
 * in this header, state VALID), and must check before use
 * (dmc_verify_extent_list_*() in layer_verify.h).  Anyone who changes a
 * layer's map without moving its generation and without a journal in its
 * header clears the bit first.
 */
#define DMC_COMPAT_EXTENT_LIST		(1U << 0)

/*
 * Where the extent list is (with DMC_COMPAT_EXTENT_LIST): count records of
 * 16 bytes from byte offset (a multiple of DMC_SLOT_SIZE, at or past the
 * end of the data area), their CRC32C (seed ~0, final xor ~0), and the
 * layer uuid and generation the list describes.
 */
struct dmc_extent_list {
	__le64 offset;
	__le64 count;
	__le64 generation;
	__u8   uuid[DMC_UUID_SIZE];
	__le32 checksum;
	__le32 reserved;
} __attribute__((packed));

/*
 * One run of the extent list: blocks [first, first + length) are in state
 * (DMC_BLOCK_DATA or DMC_BLOCK_ZERO); length_state = length << 2 | state.
 * Records are sorted, do not overlap, end at or before nr_blocks, and two
 * that touch differ in state (the one list a map gives); blocks in no
 * record are ABSENT.
 */
struct dmc_extent {
	__le64 first;
	__le64 length_state;
} __attribute__((packed));
#define DMC_EXTENT_SIZE		16U
#define DMC_EXTENT_STATE_BITS	2U

struct dmc_header {
	__le64 magic;			/* DMC_MAGIC */
	__le32 checksum;		/* CRC32C of the slot, this field 0 */
	__le32 version;			/* DMC_VERSION */
	__le64 sequence;		/* higher valid slot wins */
	__le32 incompat_features;	/* unknown bit: refuse to open */
	__le32 compat_features;		/* unknown bit: ignore */
	__le32 state;			/* enum dmc_layer_state */
	__le32 block_shift;		/* log2(block size) */
	__le64 virtual_size;		/* bytes */
	__le64 generation;		/* bumped when content changes under
					 * existing children */
	__le64 map_offset;		/* DMC_MAP_OFFSET */
	__le64 map_length;		/* bytes, multiple of DMC_SLOT_SIZE */
	__le64 data_offset;
	__u8   uuid[DMC_UUID_SIZE];
	__le32 parent_kind;		/* enum dmc_parent_kind */
	__le32 reserved0;
	__u8   parent_uuid[DMC_UUID_SIZE];	/* DMC_PARENT_LAYER */
	__le64 parent_generation;	/* DMC_PARENT_LAYER */
	__le64 parent_raw_size;		/* DMC_PARENT_RAW: its size */
	__u8   merged_into_uuid[DMC_UUID_SIZE];	/* DMC_STATE_MERGED_AWAY */
	char   parent_path[DMC_PATH_MAX];	/* relative to this file's dir */
	struct dmc_journal journal;
	struct dmc_relink relink;	/* DMC_INCOMPAT_JOURNAL_RELINK */
	struct dmc_swap swap;		/* DMC_INCOMPAT_JOURNAL_SWAP */
	struct dmc_extent_list extent_list;	/* DMC_COMPAT_EXTENT_LIST */
	__u8   reserved[DMC_SLOT_SIZE - 152 - DMC_PATH_MAX -
			sizeof(struct dmc_journal) - sizeof(struct dmc_relink) -
			sizeof(struct dmc_swap) -
			sizeof(struct dmc_extent_list)];
} __attribute__((packed));

/* Helpers on host-order values: same arithmetic on both sides. */
static inline __u64 dmc_nr_blocks(__u64 virtual_size, __u32 block_shift)
{
	return (virtual_size + (1ULL << block_shift) - 1) >> block_shift;
}

static inline __u64 dmc_map_length(__u64 nr_blocks)
{
	__u64 bytes = (nr_blocks + DMC_BLOCKS_PER_MAP_BYTE - 1) /
		      DMC_BLOCKS_PER_MAP_BYTE;

	return (bytes + DMC_SLOT_SIZE - 1) / DMC_SLOT_SIZE * DMC_SLOT_SIZE;
}

static inline __u64 dmc_data_offset(__u64 map_end, __u32 block_shift)
{
	__u64 align = DMC_DATA_ALIGN;

	if ((1ULL << block_shift) > align)
		align = 1ULL << block_shift;
	return (map_end + align - 1) / align * align;
}

static inline unsigned int dmc_map_get(const __u8 *map, __u64 block)
{
	return (map[block / 4] >> (2 * (block % 4))) & 3U;
}

static inline void dmc_map_set(__u8 *map, __u64 block, unsigned int state)
{
	unsigned int shift = 2 * (block % 4);

	map[block / 4] = (__u8)((map[block / 4] & ~(3U << shift)) |
				((state & 3U) << shift));
}

#endif /* _DM_CHAIN_FORMAT_H */
