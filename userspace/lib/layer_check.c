// SPDX-License-Identifier: GPL-2.0
/* Checking (and repairing) a layer file: see layer_check.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "chain.h"
#include "extent_list.h"
#include "layer_check.h"
#include "paths.h"

const char *finding_kind_str(enum finding_kind k)
{
	switch (k) {
	case FINDING_REPAIRABLE:	return "repairable";
	case FINDING_REPAIRED:		return "repaired";
	case FINDING_CORRUPT:		return "corrupt";
	case FINDING_UNCHECKED:		return "unchecked";
	case FINDING_MERGE:		return "merge";
	}
	return "?";
}

static void add(struct check_report *rep, enum finding_kind kind,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(struct check_report *rep, enum finding_kind kind,
		const char *fmt, ...)
{
	struct check_finding *f;
	va_list ap;

	if (rep->nr_findings >= CHECK_MAX_FINDINGS)
		return;
	f = &rep->findings[rep->nr_findings++];
	f->kind = kind;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

static void add_err(struct check_report *rep, const struct dmc_err *err)
{
	add(rep, err->kind == DMC_ERR_IO ? FINDING_UNCHECKED : FINDING_CORRUPT,
	    "%s", err->msg);
}

/*
 * Map entries: the shared rule (no value 3; layer_open already refused
 * it) and nothing set past the last block.
 */
static void check_map(const char *path, const struct layer *l,
		      struct check_report *rep)
{
	uint64_t nr = layer_header_nr_blocks(&l->hdr);
	__u64 counts[4] = { 0 }, bad;

	rep->nr_blocks = nr;
	if (dmc_verify_map(l->map, 0, nr, counts, &bad))
		add(rep, FINDING_CORRUPT, "%s: map: invalid entry 3 at block %llu",
		    path, (unsigned long long)bad);
	rep->data_blocks = counts[DMC_BLOCK_DATA];
	rep->zero_blocks = counts[DMC_BLOCK_ZERO];
	if (dmc_verify_map_tail(l->map, l->hdr.map_length, nr, &bad))
		add(rep, FINDING_CORRUPT,
		    "%s: map: entry past the last block set (block %llu)", path,
		    (unsigned long long)bad);
}

/*
 * The extent list, when the header says it describes this layer: its
 * records valid and equal to the map.  A wrong list is repairable (the map
 * is authoritative: -r writes the list again from it).
 */
static struct check_finding *check_extent_list(const char *path,
					       const struct layer *l,
					       struct check_report *rep)
{
	struct extent_list_check xc;
	struct dmc_err err;

	dmc_err_clear(&err);
	if (layer_check_extent_list(l, &xc, &err)) {
		add_err(rep, &err);
		return NULL;
	}
	if (xc.ok)
		return NULL;
	add(rep, FINDING_REPAIRABLE,
	    "%s: extent list: %s ('chainctl layer check -r' writes it again from the map)",
	    path, xc.problem);
	return &rep->findings[rep->nr_findings - 1];
}

/* Write the list again from the map; F is its finding. */
static void repair_extent_list(struct layer *l, struct check_finding *f,
			       struct check_report *rep)
{
	struct dmc_err err;

	dmc_err_clear(&err);
	if (layer_make_writable(l, &err) || layer_write_extent_list(l, &err)) {
		add_err(rep, &err);
		return;
	}
	f->kind = FINDING_REPAIRED;
}

static bool layer_in_use(const char *path);

/*
 * The chain of PATH leaps over an unfinished live merge: PATH (or a layer
 * under it) is the leaf the merge put on top, child of the target as it
 * will be after the merge.  The device opens it (and resumes the merge);
 * that is an interrupted merge, not damage.
 */
static bool check_live_leap(const char *path, struct check_report *rep)
{
	struct dmc_err err;
	struct chain c;
	unsigned int i;
	bool leap = false;

	dmc_err_clear(&err);
	if (chain_open(path, CHAIN_ALLOW_LIVE_LEAP, &c, &err) == 0) {
		rep->chain_depth = c.nr;
		for (i = 0; i < c.nr; i++) {
			const struct layer *l = c.layers[i];

			if (l->is_raw || l->hdr.journal.state == DMC_JOURNAL_NONE)
				continue;
			leap = true;
			rep->merge_state = layer_in_use(l->path) ? CHECK_MERGE_RUNNING :
					   CHECK_MERGE_INTERRUPTED;
			add(rep, FINDING_MERGE,
			    "%s: sits on an unfinished live merge into %s: create the device from %s (or from the leaf of the chain built on it) and run 'chainctl device merge NAME', or run 'chainctl layer check -r %s', to finish it",
			    path, l->path, path, l->path);
		}
	}
	chain_close(&c);
	return leap;
}

/* Linkage down the chain; a merge target's own journal is judged apart. */
static void check_chain(const char *path, struct check_report *rep)
{
	struct dmc_err err;
	struct chain c;

	dmc_err_clear(&err);
	if (chain_open(path, CHAIN_ALLOW_JOURNAL_LEAF, &c, &err) &&
	    err.kind != DMC_ERR_JOURNAL) {
		rep->chain_depth = c.nr;
		chain_close(&c);
		if (err.kind == DMC_ERR_STALE && check_live_leap(path, rep))
			return;
		add_err(rep, &err);
		return;
	}
	rep->chain_depth = c.nr;
	chain_close(&c);
}

/* Rewrite the bad slot from the current one; F is its finding. */
static void repair_slot(struct layer *l, struct check_finding *f,
			struct check_report *rep)
{
	struct dmc_err err;

	dmc_err_clear(&err);
	if (layer_make_writable(l, &err) || layer_write_header(l, &l->hdr, &err)) {
		add_err(rep, &err);
		return;
	}
	f->kind = FINDING_REPAIRED;
}

static void finish_merge(const char *path, const struct merge_request *tmpl,
			 struct check_finding *f, struct check_report *rep)
{
	struct dmc_err err;

	dmc_err_clear(&err);
	if (merge_resume_holder(path, tmpl, &rep->merge, &err)) {
		add_err(rep, &err);
		return;
	}
	rep->merge_finished = true;
	f->kind = FINDING_REPAIRED;
}

static enum check_verdict verdict_of(const struct check_report *rep)
{
	bool repairable = false, repaired = false, corrupt = false;
	bool merge = false;
	unsigned int i;

	for (i = 0; i < rep->nr_findings; i++) {
		switch (rep->findings[i].kind) {
		case FINDING_UNCHECKED:	return CHECK_FAILED;
		case FINDING_CORRUPT:	corrupt = true; break;
		case FINDING_REPAIRABLE: repairable = true; break;
		case FINDING_REPAIRED:	repaired = true; break;
		case FINDING_MERGE:	merge = true; break;
		}
	}
	if (corrupt)
		return CHECK_CORRUPT;
	/* A running merge may be writing a slot right now: not torn. */
	if (merge && rep->merge_state == CHECK_MERGE_RUNNING)
		return CHECK_MERGE_RUNNING;
	if (repairable)
		return CHECK_NEEDS_REPAIR;
	if (merge && rep->merge_state != CHECK_CLEAN)
		return rep->merge_state;
	return repaired ? CHECK_REPAIRED : CHECK_CLEAN;
}

/*
 * A merged-away layer is the normal end of a merge, not damage: the data
 * lives on in the target.  If the merge that retired it is unfinished,
 * the message (chain_open's) says what finishes it.
 */
static void check_merged_away(const char *path, struct check_report *rep)
{
	struct dmc_err err;
	struct chain c;

	dmc_err_clear(&err);
	chain_open(path, 0, &c, &err);
	chain_close(&c);
	if (err.kind == DMC_ERR_IO) {
		add_err(rep, &err);
		return;
	}
	rep->merge_state = err.kind == DMC_ERR_JOURNAL ? CHECK_MERGE_FINISHING :
							 CHECK_MERGED_AWAY;
	add(rep, FINDING_MERGE, "%s", err.msg);
}

/*
 * Whether someone holds a lock on PATH: a running merge (chainctl holds
 * LOCK_EX on what it merges) or a live device (LOCK_EX on its leaf,
 * LOCK_SH below).  Probed with a non-blocking LOCK_EX, released at once.
 */
static bool layer_in_use(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* A journal in L: a merge running, interrupted mid-data, or finishing. */
static struct check_finding *check_journal(const char *path,
					   const struct layer *l,
					   struct check_report *rep)
{
	const struct layer_journal *j = &l->hdr.journal;
	char *top = path_resolve_hint(path, j->top_path);
	const char *t = top ? top : j->top_path;
	unsigned long long nr = layer_header_nr_blocks(&l->hdr);

	if (layer_in_use(path)) {
		rep->merge_state = CHECK_MERGE_RUNNING;
		add(rep, FINDING_MERGE,
		    "%s: merge in progress (%s, block %llu of %llu, top %s): the layer is in use by a running merge or a live device; leave it be",
		    path, journal_state_str(j->state),
		    (unsigned long long)j->cursor, nr, t);
	} else if (j->state == DMC_JOURNAL_MERGING) {
		rep->merge_state = CHECK_MERGE_INTERRUPTED;
		add(rep, FINDING_MERGE,
		    "%s: interrupted merge, resumable (copying data, block %llu of %llu, top %s): run 'chainctl layer merge %s' or 'chainctl layer check -r %s' to finish it",
		    path, (unsigned long long)j->cursor, nr, t, t, path);
	} else {
		rep->merge_state = CHECK_MERGE_FINISHING;
		add(rep, FINDING_MERGE,
		    "%s: interrupted merge, finishing (data complete, sources being retired, top %s): run 'chainctl layer merge %s' or 'chainctl layer check -r %s' to finish it",
		    path, t, t, path);
	}
	free(top);
	return &rep->findings[rep->nr_findings - 1];
}

void layer_check(const char *path, bool repair, const struct merge_request *tmpl,
		 struct check_report *rep)
{
	struct check_finding *torn = NULL, *journal = NULL, *xlist = NULL;
	struct dmc_err err;
	struct layer *l = NULL;

	memset(rep, 0, sizeof(*rep));
	dmc_err_clear(&err);
	if (layer_open(path, LAYER_LOAD_MAP, &l, &err)) {
		add_err(rep, &err);
		goto out;
	}
	if (l->is_raw) {
		add(rep, FINDING_CORRUPT, "%s: not a dm-chain layer (no header)", path);
		goto out;
	}
	check_map(path, l, rep);
	if (l->hdr.state == DMC_STATE_MERGED_AWAY)
		check_merged_away(path, rep);
	else
		check_chain(path, rep);
	if (l->slot_status[l->cur_slot ^ 1] != SLOT_VALID) {
		add(rep, FINDING_REPAIRABLE, "%s: header slot %d: %s (torn write?)",
		    path, l->cur_slot ^ 1,
		    slot_status_str(l->slot_status[l->cur_slot ^ 1]));
		torn = &rep->findings[rep->nr_findings - 1];
	}
	if (l->hdr.journal.state != DMC_JOURNAL_NONE)
		journal = check_journal(path, l, rep);
	else if (l->hdr.state == DMC_STATE_VALID)
		xlist = check_extent_list(path, l, rep);
	/* Nothing is repaired under a merge someone is running. */
	if (repair && rep->merge_state != CHECK_MERGE_RUNNING &&
	    (verdict_of(rep) == CHECK_NEEDS_REPAIR ||
	     verdict_of(rep) == CHECK_MERGE_INTERRUPTED ||
	     (journal && verdict_of(rep) == CHECK_MERGE_FINISHING))) {
		if (torn)
			repair_slot(l, torn, rep);
		if (xlist && verdict_of(rep) != CHECK_FAILED)
			repair_extent_list(l, xlist, rep);
		layer_close(l);
		l = NULL;
		if (journal && verdict_of(rep) != CHECK_FAILED) {
			rep->merge_state = CHECK_CLEAN;
			finish_merge(path, tmpl, journal, rep);
		}
	}
out:
	layer_close(l);
	rep->verdict = verdict_of(rep);
}
