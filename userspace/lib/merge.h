/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Offline merge of the top layers of a chain into the layer below them,
 * journaled in the target's header so that any interruption leaves the
 * chain showing the same data, and re-running finishes the job (the
 * protocol is in docs/format.md, "Merge journal"; the kernel's live merge
 * keeps the same rules).
 */
#ifndef DMC_MERGE_H
#define DMC_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "dmc_err.h"
#include "extent_copy.h"

typedef void (*merge_progress_fn)(uint64_t done, uint64_t total, void *arg);

/*
 * Test hook: stop right after a step as if the process had been killed
 * there (files closed, nothing rolled back).  merge_run() then returns 1.
 */
enum merge_stop_point {
	MERGE_STOP_NONE = 0,
	MERGE_STOP_AFTER_JOURNAL,	/* journal MERGING written, cursor 0 */
	MERGE_STOP_AFTER_RELINK,	/* --from: the layer above TOP relinked */
	MERGE_STOP_AFTER_BATCH,		/* first data batch committed */
	MERGE_STOP_AFTER_DATA,		/* journal RETIRING written */
	MERGE_STOP_AFTER_FIRST_MARK,	/* top source marked merged-away */
	MERGE_STOP_BEFORE_FINISH,	/* all sources marked, target not */
	MERGE_STOP_AFTER_SWAP_HEADER,	/* swap: the source took T's identity */
	MERGE_STOP_AFTER_RENAME,	/* swap: ... and T's place */
};

/*
 * Which side of a one-source merge into a layer moves (docs/format.md,
 * "Swap merge"): the source's blocks down into the target (the classic
 * merge), or the target's blocks the source does not shadow up into the
 * source, whose file then takes the target's identity and place.
 */
enum merge_side {
	MERGE_SIDE_TARGET = 0,	/* always move the sources down */
	MERGE_SIDE_AUTO,	/* the side with less to move */
	MERGE_SIDE_SOURCE,	/* swap; refused where it cannot run */
};

struct merge_request {
	const char *leaf;		/* top of the layers to merge */
	unsigned int depth;		/* layers to merge; 0: 1, or from into */
	/*
	 * Target layer, or NULL: a path of a layer in the chain, else an
	 * index from the base (0), as 'device merge --into' takes it.
	 */
	const char *into;
	/*
	 * With INTO: merge only the layers from this one (path or index, as
	 * INTO) down to the one above INTO, below LEAF; the layer above it in
	 * LEAF's chain is relinked to the target (an intermediate merge).
	 */
	const char *from;
	enum xfer_mode mode;
	enum merge_side side;
	bool delete_sources;		/* unlink merged-away layers at the end */
	bool resume_only;		/* only finish an interrupted merge */
	/*
	 * A resumed range merge whose relink record names a layer that no
	 * longer exists: it was deleted on purpose, finish without it (else
	 * the merge is refused: that layer may have been moved, and
	 * finishing would orphan it).
	 */
	bool above_deleted;
	uint64_t batch_runs;		/* runs per durable commit (tests); 0: by time */
	uint64_t rate_bytes_per_s;	/* data moved at most this fast; 0: no limit */
	merge_progress_fn progress;
	void *progress_arg;
	enum merge_stop_point stop_at;
};

/* Layers relinked to the target that the result names (all are counted). */
#define MERGE_RELINK_NAMED	8

struct merge_result {
	struct xfer_stats xfer;
	unsigned int nr_sources;
	bool resumed;			/* an interrupted merge was finished */
	bool raw_target;
	bool deleted;
	char target[1024];		/* path of the target */
	uint64_t data_blocks;		/* blocks moved (this run) */
	uint64_t zero_blocks;		/* blocks made zero (this run) */
	uint64_t data_runs;
	uint64_t block_size;
	uint64_t new_generation;
	/*
	 * Layers on the top source that a resumed merge relinked to the
	 * target (an intermediate live merge stopped between its journal and
	 * its relink): how many, and the paths of the first ones.
	 */
	unsigned int nr_relinked;
	char relinked[MERGE_RELINK_NAMED][1024];
	double seconds;
	/*
	 * A swap merge ran (or was finished): the target's blocks moved up
	 * into the source's file, which now is the target.  SIDE_WHY says
	 * why this side was taken (both sides' work, for AUTO).
	 */
	bool swapped;
	char side_why[256];
};

/* Returns 0 done, 1 stopped at req->stop_at, -1 error (ERR set). */
int merge_run(const struct merge_request *req, struct merge_result *res,
	      struct dmc_err *err);

/*
 * Finish the interrupted merge whose journal HOLDER holds (check -r):
 * opens the top source through the journal's top path and resumes.
 */
int merge_resume_holder(const char *holder, const struct merge_request *tmpl,
			struct merge_result *res, struct dmc_err *err);

#endif
