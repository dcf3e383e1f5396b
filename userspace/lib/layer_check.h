/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Consistency check of one layer file and its chain linkage, with optional
 * repair (rewrite a torn header slot, finish an interrupted merge).  The
 * verdict maps onto the documented exit codes of `chainctl layer check`.
 */
#ifndef DMC_LAYER_CHECK_H
#define DMC_LAYER_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "merge.h"

/* Exit codes of `layer check` (docs/format.md, "layer check"). */
enum check_verdict {
	CHECK_CLEAN		= 0,	/* nothing wrong */
	CHECK_REPAIRED		= 1,	/* problems found, all repaired (-r) */
	CHECK_USAGE		= 2,	/* bad command line */
	CHECK_CORRUPT		= 3,	/* corrupt or unusable; not repairable */
	CHECK_FAILED		= 4,	/* could not check: I/O error, missing file */
	CHECK_NEEDS_REPAIR	= 5,	/* repairable problems; run with -r */
	CHECK_MERGE_INTERRUPTED	= 6,	/* journal MERGING, nobody at it:
					 * resumable (merge or check -r) */
	CHECK_MERGE_FINISHING	= 7,	/* journal RETIRING (data complete),
					 * nobody at it: run to finish */
	CHECK_MERGE_RUNNING	= 8,	/* journal, and the layer in use by a
					 * running merge or a live device */
	CHECK_MERGED_AWAY	= 9,	/* retired by a finished merge: its
					 * data lives on in the target */
};

enum finding_kind {
	FINDING_REPAIRABLE,	/* -r fixes it */
	FINDING_REPAIRED,	/* -r fixed it */
	FINDING_CORRUPT,
	FINDING_UNCHECKED,	/* could not look */
	FINDING_MERGE,		/* a merge's state: not a fault */
};

#define CHECK_MAX_FINDINGS 16

struct check_finding {
	enum finding_kind kind;
	char msg[1536];
};

struct check_report {
	enum check_verdict verdict;
	unsigned int nr_findings;
	struct check_finding findings[CHECK_MAX_FINDINGS];
	unsigned int chain_depth;	/* layers found from this one down */
	uint64_t data_blocks;
	uint64_t zero_blocks;
	uint64_t nr_blocks;
	bool merge_finished;		/* -r finished an interrupted merge */
	enum check_verdict merge_state;	/* CHECK_MERGE_* / CHECK_MERGED_AWAY,
					 * or CHECK_CLEAN when none */
	struct merge_result merge;
};

/* Check PATH; with REPAIR fix what can be fixed.  Always fills REP. */
void layer_check(const char *path, bool repair, const struct merge_request *tmpl,
		 struct check_report *rep);

const char *finding_kind_str(enum finding_kind k);

#endif
