/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Planning over a stack of block maps: for each block, which layer of the
 * stack provides it (the topmost one whose map is not ABSENT), coalesced
 * into runs of consecutive blocks with the same provider and kind.  Used by
 * merge (sources over a target), flatten and map.  Pure, no I/O.
 */
#ifndef DMC_MERGE_PLAN_H
#define DMC_MERGE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

enum plan_kind {
	PLAN_ABSENT = 0,	/* no layer of the stack has it */
	PLAN_DATA,		/* data in layer `source` */
	PLAN_ZERO,		/* layer `source` says zero */
};

/* One layer of the stack; index 0 is the top. */
struct plan_source {
	const uint8_t *map;	/* NULL: a raw image, every block is DATA */
};

struct plan_run {
	uint64_t start;		/* first block */
	uint64_t count;		/* blocks */
	enum plan_kind kind;
	int source;		/* providing layer's index, -1 when ABSENT */
};

/* The provider of block B: kind, and its index in *SOURCE. */
enum plan_kind plan_block(const struct plan_source *src, unsigned int nr,
			  uint64_t b, int *source);

/*
 * The MAX_COUNT for plan_next_run() of a merge or flatten whose progress
 * is shown: runs cut at PLAN_PROGRESS_RUN_BYTES, so that a long run (a
 * copy, or a clone the filesystem does block by block) still moves the
 * bar several times a second; 0 (unlimited) without progress, as the
 * fewest calls make the fastest merge.
 */
#define PLAN_PROGRESS_RUN_BYTES	(16ULL << 20)
static inline uint64_t plan_max_run(bool progress, uint32_t block_shift)
{
	uint64_t n = PLAN_PROGRESS_RUN_BYTES >> block_shift;

	return !progress ? 0 : n ? n : 1;
}

/*
 * The run starting at *POS (< NR_BLOCKS), at most MAX_COUNT blocks long
 * (0: unlimited); advances *POS past it.  Returns false at the end.
 */
bool plan_next_run(const struct plan_source *src, unsigned int nr,
		   uint64_t nr_blocks, uint64_t *pos, uint64_t max_count,
		   struct plan_run *run);

/* Totals over [from, nr_blocks): blocks by kind, and runs of data. */
struct plan_totals {
	uint64_t data_blocks;
	uint64_t zero_blocks;
	uint64_t data_runs;
	uint64_t zero_runs;
};

void plan_count(const struct plan_source *src, unsigned int nr,
		uint64_t nr_blocks, uint64_t from, struct plan_totals *t);

#endif
