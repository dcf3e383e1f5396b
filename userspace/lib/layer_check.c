// SPDX-License-Identifier: GPL-2.0
/* Checking (and repairing) a layer file: see layer_check.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "layer_check.h"

const char *finding_kind_str(enum finding_kind k)
{
	switch (k) {
	case FINDING_REPAIRABLE:	return "repairable";
	case FINDING_REPAIRED:		return "repaired";
	case FINDING_CORRUPT:		return "corrupt";
	case FINDING_UNCHECKED:		return "unchecked";
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

/* Map entries: no INVALID state, nothing set past the last block. */
static void check_map(const char *path, const struct layer *l,
		      struct check_report *rep)
{
	uint64_t nr = layer_header_nr_blocks(&l->hdr), b, bad = 0, first = 0;
	uint64_t slots = l->hdr.map_length * DMC_BLOCKS_PER_MAP_BYTE;

	rep->nr_blocks = nr;
	for (b = 0; b < slots; b++) {
		unsigned int st = dmc_map_get(l->map, b);

		if (b < nr && st == DMC_BLOCK_DATA)
			rep->data_blocks++;
		else if (b < nr && st == DMC_BLOCK_ZERO)
			rep->zero_blocks++;
		if ((b < nr && st == DMC_BLOCK_INVALID) ||
		    (b >= nr && st != DMC_BLOCK_ABSENT)) {
			if (!bad++)
				first = b;
		}
	}
	if (bad)
		add(rep, FINDING_CORRUPT,
		    "%s: map: %llu invalid entr%s (first at block %llu)", path,
		    (unsigned long long)bad, bad == 1 ? "y" : "ies",
		    (unsigned long long)first);
}

/* Linkage down the chain; a merge target's own journal is judged apart. */
static void check_chain(const char *path, struct check_report *rep)
{
	struct dmc_err err;
	struct chain c;

	dmc_err_clear(&err);
	if (chain_open(path, CHAIN_ALLOW_JOURNAL_LEAF, &c, &err) &&
	    err.kind != DMC_ERR_JOURNAL)
		add_err(rep, &err);
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
	unsigned int i;

	for (i = 0; i < rep->nr_findings; i++) {
		switch (rep->findings[i].kind) {
		case FINDING_UNCHECKED:	return CHECK_FAILED;
		case FINDING_CORRUPT:	corrupt = true; break;
		case FINDING_REPAIRABLE: repairable = true; break;
		case FINDING_REPAIRED:	repaired = true; break;
		}
	}
	if (corrupt)
		return CHECK_CORRUPT;
	if (repairable)
		return CHECK_NEEDS_REPAIR;
	return repaired ? CHECK_REPAIRED : CHECK_CLEAN;
}

static void check_merged_away(const char *path, struct check_report *rep)
{
	struct dmc_err err;
	struct chain c;

	dmc_err_clear(&err);
	chain_open(path, 0, &c, &err);
	chain_close(&c);
	add(rep, FINDING_CORRUPT, "%s (no longer usable)", err.msg);
}

void layer_check(const char *path, bool repair, const struct merge_request *tmpl,
		 struct check_report *rep)
{
	struct check_finding *torn = NULL, *journal = NULL;
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
	if (l->hdr.journal.state != DMC_JOURNAL_NONE) {
		add(rep, FINDING_REPAIRABLE,
		    "%s: interrupted merge (%s, block %llu of %llu, top %s)", path,
		    journal_state_str(l->hdr.journal.state),
		    (unsigned long long)l->hdr.journal.cursor,
		    (unsigned long long)layer_header_nr_blocks(&l->hdr),
		    l->hdr.journal.top_path);
		journal = &rep->findings[rep->nr_findings - 1];
	}
	if (repair && verdict_of(rep) == CHECK_NEEDS_REPAIR) {
		if (torn)
			repair_slot(l, torn, rep);
		layer_close(l);
		l = NULL;
		if (journal && verdict_of(rep) != CHECK_FAILED)
			finish_merge(path, tmpl, journal, rep);
	}
out:
	layer_close(l);
	rep->verdict = verdict_of(rep);
}
