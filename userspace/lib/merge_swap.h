/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Swap merge ("merge by the smaller side"): one source S merged into a
 * layer T by moving T's blocks that S does not shadow up into S, then
 * giving S's file T's identity and T's place (rename).  When S covers most
 * of T this moves far less than the classic merge.  Journaled in T, then
 * in the swapped file, so that a crash anywhere leaves either T and S as
 * they were (the chain reads the same) or the merged T; swap_finish()
 * ends it from any file holding the journal.  Offline only: the kernel
 * refuses a layer that holds a swap journal.  See docs/format.md, "Swap
 * merge".
 */
#ifndef DMC_MERGE_SWAP_H
#define DMC_MERGE_SWAP_H

#include <stdbool.h>
#include <stdint.h>

#include "dmc_err.h"
#include "layer_file.h"
#include "merge.h"

/* The work of each side, from the two maps, over [from, nr_blocks). */
struct swap_cost {
	uint64_t down_runs, down_blocks;	/* S's blocks into T (classic) */
	uint64_t up_runs, up_blocks;		/* T's blocks S lacks, into S */
};

void swap_cost_count(const uint8_t *smap, const uint8_t *tmap,
		     uint64_t nr_blocks, uint64_t from, struct swap_cost *c);

/*
 * Whether moving up is clearly cheaper: a run (a system call and an
 * extent to share or copy) is weighed as one MiB of data to move, and
 * the swap must save a quarter of the classic merge's work.
 */
bool swap_cheaper(const struct swap_cost *c, uint32_t block_shift);

/*
 * Why S cannot be swapped into T (a sentence, static or in BUF), or NULL
 * when it can: besides where the files are, the swap must not change what
 * the target's path shows (owner, permissions, extended attributes such
 * as ACLs and security labels, chattr flags, project ID) nor leave a hard
 * link on the old file.
 */
const char *swap_refusal(const struct layer *t, const struct layer *s,
			 char *buf, size_t len);

/* L holds a swap merge's journal. */
static inline bool layer_holds_swap(const struct layer *l)
{
	return !l->is_raw && l->hdr.journal.state != DMC_JOURNAL_NONE &&
	       (l->hdr.journal.flags & DMC_JOURNAL_F_SWAP);
}

/*
 * Run a new swap merge of S into T, both open read-write with LOCK_EX
 * and their maps loaded, T holding no journal.  Returns 0 done, 1 stopped
 * at rq->stop_at, -1 error.
 */
int swap_merge(struct layer *t, struct layer *s, const struct merge_request *rq,
	       struct merge_result *res, struct dmc_err *err);

/*
 * Finish the swap merge whose journal PATH holds: the target (before the
 * swap) or the swapped file (before or after its rename).
 */
int swap_finish(const char *path, const struct merge_request *rq,
		struct merge_result *res, struct dmc_err *err);

#endif
