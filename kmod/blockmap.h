/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-memory block state maps (2 bits per block, the on-disk encoding of
 * include/dm-chain/format.h) and the pure planning logic built on them:
 * which layer serves a block, how a bio range splits into pieces that one
 * file I/O can serve.  No I/O, no sleeping: everything here may be called
 * from the bio map path and from I/O completion (hard irq) context.
 */
#ifndef DM_CHAIN_BLOCKMAP_H
#define DM_CHAIN_BLOCKMAP_H

#include <linux/gfp.h>
#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/compiler.h>
#include <asm/barrier.h>
#include <dm-chain/format.h>

/* One map page: the unit in which a map is written back (DMC_SLOT_SIZE). */
#define DMC_MAP_PAGE_SIZE	DMC_SLOT_SIZE
#define DMC_BLOCKS_PER_MAP_PAGE	(DMC_MAP_PAGE_SIZE * DMC_BLOCKS_PER_MAP_BYTE)

/*
 * One run of a map held by its runs: blocks [first, first + length) in
 * state (DATA or ZERO); length_state = length << 2 | state, as the extent
 * list's records (docs/format.md, "Extent list"), in host byte order.
 */
struct dmc_run {
	u64 first;
	u64 length_state;
};

static inline u64 dmc_run_len(const struct dmc_run *r)
{
	return r->length_state >> DMC_EXTENT_STATE_BITS;
}

static inline unsigned int dmc_run_state(const struct dmc_run *r)
{
	return r->length_state & ((1U << DMC_EXTENT_STATE_BITS) - 1);
}

/*
 * A layer's block map, in one of three forms:
 * - 2-bit entries (@bits), what a writable layer has: its leaf, or the
 *   target of a live merge;
 * - runs (@runs, sorted, not overlapping, @nr_runs of them), what a
 *   read-only layer with an extent list has: memory follows its runs,
 *   not its size.  dmc_bm_expand() gives it @bits when it must change;
 *   @bits then rules and @runs stay until the map is destroyed;
 * - neither: a raw image, whose blocks below @raw_blocks are DATA, the
 *   rest ABSENT.
 *
 * @lock guards @bits writes, @dirty and @counts.  Readers of single entries
 * (dmc_bm_get) take no lock: an entry is read with one byte load and only
 * ever holds a whole old or a whole new value, and @bits is published
 * (release) only once filled.
 */
struct dmc_blockmap {
	u64 nr_blocks;
	u64 raw_blocks;
	u8 *bits;			/* NULL: runs or a raw image */
	size_t bytes;			/* size of @bits, map pages */
	unsigned long *dirty;		/* one bit per map page */
	struct dmc_run *runs;		/* NULL: bits or a raw image */
	u64 nr_runs;
	u64 counts[4];			/* blocks per enum dmc_block_state */
	spinlock_t lock;
};

/*
 * The arrays that grow with the disk and the chain's depth (the layers'
 * maps, the read index of view.h): their allocations fail rather than
 * wake the OOM killer or warn, and each is made only while it takes at
 * most 1/@share of the memory available (dmc_mem_allows()).
 */
#define DMC_BIG_GFP	(GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)
bool dmc_mem_allows(u64 bytes, unsigned int share);

int dmc_bm_init(struct dmc_blockmap *bm, u64 nr_blocks);
void dmc_bm_init_raw(struct dmc_blockmap *bm, u64 nr_blocks, u64 raw_blocks);
void dmc_bm_destroy(struct dmc_blockmap *bm);

/*
 * After @bits was filled from disk: count the states and check that no
 * block holds DMC_BLOCK_INVALID.  Bits past nr_blocks are cleared.
 * Returns 0 or -EILSEQ (and the first bad block in *bad).
 */
int dmc_bm_scan(struct dmc_blockmap *bm, u64 *bad);

/*
 * A map held by its runs: room for @nr_runs runs in bm->runs, which the
 * caller fills (sorted, not overlapping, within @nr_blocks: an extent
 * list the shared validator accepted) and then hands to dmc_bm_runs_done().
 */
int dmc_bm_init_runs(struct dmc_blockmap *bm, u64 nr_blocks, u64 nr_runs);

/*
 * bm->runs were read as the list's little-endian records: put them in
 * host order and count the states.
 */
void dmc_bm_runs_done(struct dmc_blockmap *bm);

/*
 * The same map as @src, held by its runs (for tests, and for building
 * runs from 2-bit entries).  @src has bits.
 */
int dmc_bm_init_runs_from(struct dmc_blockmap *bm,
			  const struct dmc_blockmap *src);

/*
 * Give a map held by runs its 2-bit entries (and dirty page bits), for a
 * writer: a live merge's target.  Lock-free readers see the runs or the
 * filled entries, never a half-built map.  0 when it has bits already, or
 * is raw; -ENOMEM.  May sleep.
 */
int dmc_bm_expand(struct dmc_blockmap *bm);

/* The state of @block in a map held by runs (bisection). */
unsigned int dmc_bm_runs_get(const struct dmc_blockmap *bm, u64 block);

static inline unsigned int dmc_bm_get(const struct dmc_blockmap *bm,
				      u64 block)
{
	const u8 *bits = smp_load_acquire(&bm->bits);

	if (bits) {
		if (block >= bm->nr_blocks)
			return DMC_BLOCK_ABSENT;
		return (READ_ONCE(bits[block / 4]) >> (2 * (block % 4))) & 3U;
	}
	if (bm->runs)
		return dmc_bm_runs_get(bm, block);
	return block < bm->raw_blocks ? DMC_BLOCK_DATA : DMC_BLOCK_ABSENT;
}

/* Bytes of memory the map holds (its entries or runs, dirty bits). */
u64 dmc_bm_mem_bytes(const struct dmc_blockmap *bm);

/* Whether the map is held by its runs now (not expanded, not raw). */
static inline bool dmc_bm_by_runs(const struct dmc_blockmap *bm)
{
	return bm->runs && !smp_load_acquire(&bm->bits);
}

/*
 * Set blocks [start, start + count) to @state; marks the touched map pages
 * dirty.  Returns how many blocks changed.  Takes bm->lock (irq-safe).
 */
u64 dmc_bm_set_range(struct dmc_blockmap *bm, u64 start, u64 count,
		     unsigned int state);

/* Number of blocks from @start (at most @max) that share @start's state. */
u64 dmc_bm_run(const struct dmc_blockmap *bm, u64 start, u64 max);

/* Blocks per state, consistent snapshot. */
void dmc_bm_counts(struct dmc_blockmap *bm, u64 counts[4]);

/* Map pages; page @idx holds the entries of blocks from idx * 16384. */
static inline unsigned long dmc_bm_nr_pages(const struct dmc_blockmap *bm)
{
	return bm->bytes / DMC_MAP_PAGE_SIZE;
}

bool dmc_bm_any_dirty(struct dmc_blockmap *bm);
unsigned long dmc_bm_nr_dirty(struct dmc_blockmap *bm);

/*
 * Find the first dirty map page at or after *idx, clear its dirty bit and
 * copy it to @dst (DMC_MAP_PAGE_SIZE bytes) under the lock, so the copy is
 * a consistent snapshot.  Returns false when no dirty page is left.
 */
bool dmc_bm_take_dirty(struct dmc_blockmap *bm, unsigned long *idx,
		       void *dst);

/*
 * Take up to @max dirty pages at or after *cursor (dmc_bm_take_dirty()
 * each): their copies go to @dst one after the other, their indexes to
 * @pages; *cursor moves past the last one.  Returns how many.  Called
 * with an advancing cursor until it returns 0, it walks the map once:
 * every page dirty when the walk started is taken, pages dirtied behind
 * the cursor are left for the next walk, and the walk ends.
 */
unsigned int dmc_bm_take_batch(struct dmc_blockmap *bm,
			       unsigned long *cursor, void *dst,
			       unsigned long *pages, unsigned int max);
void dmc_bm_redirty(struct dmc_blockmap *bm, unsigned long idx);

/*
 * Chain planning.  @maps are the layers' maps base first; the last is the
 * leaf.  A block's source is the topmost layer whose entry is DATA, or
 * DMC_SRC_ZERO when a ZERO entry or the bottom is reached first.
 */
#define DMC_SRC_ZERO	(-1)
#define DMC_SRC_ABSENT	(-2)	/* no layer holds it (see dmc_walk()) */

int dmc_resolve(const struct dmc_blockmap *const *maps, unsigned int nr,
		u64 block);

/*
 * Number of blocks from @start (at most @max, >= 1) served by the same
 * source; that source in *src.
 */
u64 dmc_resolve_run(const struct dmc_blockmap *const *maps, unsigned int nr,
		    u64 start, u64 max, int *src);

/*
 * The walk behind both (and dmc_source_run(), and the read index's
 * layers above what it covers): the topmost of layers [@lo, @nr) whose entry for
 * @block is not ABSENT; its index when the entry is DATA, DMC_SRC_ZERO
 * when it is ZERO, DMC_SRC_ABSENT when every entry is ABSENT.
 */
int dmc_walk(const struct dmc_blockmap *const *maps, unsigned int lo,
	     unsigned int nr, u64 block);

/*
 * Merge planning over the maps of a merge's sources (bottom first): the
 * number of blocks from @start (at most @max, >= 1) that the merge moves
 * the same way, and how in *src: the index of the topmost source holding
 * DATA, DMC_SRC_ZERO when the topmost non-absent entry is ZERO, or
 * DMC_SRC_ABSENT when every source lacks the block (nothing to move).
 */
u64 dmc_source_run(const struct dmc_blockmap *const *maps, unsigned int nr,
		   u64 start, u64 max, int *src);

/*
 * Write planning on the leaf map, in bytes of the device.
 *
 * DMC_WRITE_DIRECT: every block of the piece either holds DATA in the leaf
 * or is covered whole by the write: write in place; afterwards the blocks
 * of the piece are DATA.
 * DMC_WRITE_FILL: the piece is the part of one block that is not DATA in
 * the leaf and not covered whole: the rest of the block must be filled
 * from below (or with zeros) first.
 */
enum dmc_write_kind {
	DMC_WRITE_DIRECT,
	DMC_WRITE_FILL,
};

struct dmc_write_piece {
	u64 len;			/* bytes from pos */
	u64 first_block;
	u64 nr_blocks;
	enum dmc_write_kind kind;
};

void dmc_plan_write(const struct dmc_blockmap *leaf, unsigned int block_shift,
		    u64 dev_size, u64 pos, u64 len,
		    struct dmc_write_piece *piece);

#endif /* DM_CHAIN_BLOCKMAP_H */
