// SPDX-License-Identifier: GPL-2.0
/*
 * Command-level tests on real files in a temporary directory: create
 * chains, write blocks (keeping a reference image of what the chain must
 * show), merge at various depths into layers and raw bases, stop merges at
 * every journal step and resume them, flatten and compare, check and
 * repair, and the refusals (stale children, held locks, bad files).
 * On the host's filesystem cloning may be refused: the copy path runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "chain.h"
#include "extent_list.h"
#include "flatten.h"
#include "layer_check.h"
#include "layer_create.h"
#include "layer_write.h"
#include "merge.h"
#include "merge_swap.h"

#define BS	4096ULL
#define NBLK	64ULL
#define VSIZE	(BS * NBLK)

struct fixture {
	char dir[64];
	unsigned char ref[VSIZE];	/* what the chain's top must read */
	unsigned int seed;
};

static struct fixture *fx;

static char *path(const char *name)
{
	static char buf[8][128];
	static unsigned int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fx->dir, name);
	return buf[i];
}

static int setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	strcpy(fx->dir, "/tmp/dmc-unit.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void must(int ret, const struct dmc_err *err)
{
	if (ret)
		fail_msg("unexpected error: %s", err->msg);
}

static void create(const char *name, const char *parent)
{
	struct layer_create_opts o = { 0 };
	struct dmc_err err;

	dmc_err_clear(&err);
	o.virtual_size = parent ? 0 : VSIZE;
	o.block_shift = 12;
	o.parent = parent ? path(parent) : NULL;
	must(layer_create(path(name), &o, &err), &err);
}

static void make_raw(const char *name, bool random_fill)
{
	unsigned char buf[BS];
	FILE *f = fopen(path(name), "w");
	uint64_t b, i;

	assert_non_null(f);
	for (b = 0; b < NBLK; b++) {
		for (i = 0; i < BS; i++)
			buf[i] = random_fill ? (unsigned char)rand_r(&fx->seed) : 0;
		memcpy(fx->ref + b * BS, buf, BS);
		assert_int_equal(fwrite(buf, 1, BS, f), BS);
	}
	fclose(f);
}

/* Write COUNT blocks of fresh random data at block FIRST of NAME. */
static void write_blocks(const char *name, uint64_t first, uint64_t count)
{
	unsigned char *buf = malloc(count * BS);
	struct dmc_err err;
	uint64_t i;

	for (i = 0; i < count * BS; i++)
		buf[i] = (unsigned char)rand_r(&fx->seed);
	dmc_err_clear(&err);
	must(layer_write_range(path(name), first * BS, buf, count * BS, &err), &err);
	memcpy(fx->ref + first * BS, buf, count * BS);
	free(buf);
}

static void zero_blocks(const char *name, uint64_t first, uint64_t count)
{
	struct dmc_err err;

	dmc_err_clear(&err);
	must(layer_write_range(path(name), first * BS, NULL, count * BS, &err), &err);
	memset(fx->ref + first * BS, 0, count * BS);
}

static void assert_file_is_ref(const char *file)
{
	static unsigned char got[VSIZE];
	FILE *f = fopen(file, "r");

	assert_non_null(f);
	assert_int_equal(fread(got, 1, VSIZE, f), VSIZE);
	fclose(f);
	assert_memory_equal(got, fx->ref, VSIZE);
}

/* Flatten the chain at NAME and compare with the reference. */
static void assert_chain_is_ref(const char *name)
{
	struct flatten_request rq = { 0 };
	struct flatten_result res;
	struct dmc_err err;

	dmc_err_clear(&err);
	rq.layer = path(name);
	rq.out = path("flat.img");
	must(flatten_run(&rq, &res, &err), &err);
	assert_file_is_ref(rq.out);
	unlink(rq.out);
}

static struct layer *open_layer(const char *name)
{
	struct dmc_err err;
	struct layer *l;

	dmc_err_clear(&err);
	must(layer_open(path(name), LAYER_LOAD_MAP, &l, &err), &err);
	return l;
}

static int merge(const char *leaf, unsigned int depth, enum merge_stop_point stop,
		 struct merge_result *res, struct dmc_err *err)
{
	struct merge_request rq = { 0 };

	dmc_err_clear(err);
	rq.leaf = path(leaf);
	rq.depth = depth;
	rq.stop_at = stop;
	rq.batch_runs = 2;	/* many commits, so stops land mid-data */
	return merge_run(&rq, res, err);
}

/* Standard chain: base <- a <- b <- c with overlapping writes. */
static void build_chain(bool raw_base)
{
	if (raw_base) {
		make_raw("base.img", true);
		create("a.dmc", "base.img");
	} else {
		memset(fx->ref, 0, VSIZE);
		create("base.dmc", NULL);
		write_blocks("base.dmc", 0, 40);
		create("a.dmc", "base.dmc");
	}
	write_blocks("a.dmc", 2, 6);
	zero_blocks("a.dmc", 20, 4);
	write_blocks("a.dmc", 50, 3);
	create("b.dmc", "a.dmc");
	write_blocks("b.dmc", 4, 2);
	zero_blocks("b.dmc", 1, 2);
	write_blocks("b.dmc", 21, 1);
	write_blocks("b.dmc", 63, 1);
	create("c.dmc", "b.dmc");
	write_blocks("c.dmc", 5, 10);
	zero_blocks("c.dmc", 30, 2);
	write_blocks("c.dmc", 22, 1);
}

static void test_create_and_link(void **state)
{
	struct layer_create_opts o = { 0 };
	struct layer *base, *child;
	struct dmc_err err;

	(void)state;
	create("base.dmc", NULL);
	create("child.dmc", "base.dmc");
	base = open_layer("base.dmc");
	child = open_layer("child.dmc");
	assert_int_equal(child->hdr.parent_kind, DMC_PARENT_LAYER);
	assert_memory_equal(child->hdr.parent_uuid, base->hdr.uuid, DMC_UUID_SIZE);
	assert_int_equal(child->hdr.parent_generation, base->hdr.generation);
	assert_string_equal(child->hdr.parent_path, "base.dmc");
	assert_int_equal(child->hdr.block_shift, 12);
	assert_int_equal(child->slot_status[0], SLOT_VALID);
	assert_int_equal(child->slot_status[1], SLOT_VALID);
	layer_close(base);
	layer_close(child);

	/* Refusals leave nothing behind. */
	dmc_err_clear(&err);
	o.parent = path("base.dmc");
	o.virtual_size = VSIZE * 2;
	assert_int_equal(layer_create(path("bad.dmc"), &o, &err), -1);
	assert_non_null(strstr(err.msg, "differs"));
	assert_int_equal(access(path("bad.dmc"), F_OK), -1);
	dmc_err_clear(&err);
	o.virtual_size = 0;
	o.block_shift = 16;
	assert_int_equal(layer_create(path("bad.dmc"), &o, &err), -1);
	assert_non_null(strstr(err.msg, "block size"));
	dmc_err_clear(&err);
	o.block_shift = 0;
	assert_int_equal(layer_create(path("child.dmc"), &o, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	dmc_err_clear(&err);
	o.parent = path("missing.dmc");
	assert_int_equal(layer_create(path("bad.dmc"), &o, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
}

static void test_merge_depth_1_into_layer(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct layer *b, *c;

	(void)state;
	build_chain(false);
	assert_chain_is_ref("c.dmc");
	must(merge("c.dmc", 1, MERGE_STOP_NONE, &res, &err), &err);
	assert_int_equal(res.nr_sources, 1);
	assert_false(res.resumed);
	assert_int_equal(res.data_blocks, 11);
	assert_int_equal(res.zero_blocks, 2);
	assert_int_equal(res.xfer.bytes_cloned + res.xfer.bytes_copied, 11 * BS);
	assert_chain_is_ref("b.dmc");
	b = open_layer("b.dmc");
	c = open_layer("c.dmc");
	assert_int_equal(c->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_memory_equal(c->hdr.merged_into_uuid, b->hdr.uuid, DMC_UUID_SIZE);
	assert_int_equal(b->hdr.generation, c->hdr.parent_generation + 1);
	assert_int_equal(b->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(dmc_map_get(b->map, 30), DMC_BLOCK_ZERO);
	layer_close(b);
	layer_close(c);

	/*
	 * Issued again after it finished (a crash after the last header
	 * write, before the caller saw the answer): refused as done, and
	 * nothing moves.
	 */
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_MERGED);
	assert_non_null(strstr(err.msg, "merged away into"));
	b = open_layer("b.dmc");
	c = open_layer("c.dmc");
	assert_int_equal(b->hdr.generation, c->hdr.parent_generation + 1);
	layer_close(b);
	layer_close(c);
	assert_chain_is_ref("b.dmc");
}

static void test_merge_depth_3_into_base(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct chain ch;

	(void)state;
	build_chain(false);
	must(merge("c.dmc", 3, MERGE_STOP_NONE, &res, &err), &err);
	assert_int_equal(res.nr_sources, 3);
	assert_chain_is_ref("base.dmc");
	dmc_err_clear(&err);
	must(chain_open(path("base.dmc"), 0, &ch, &err), &err);
	assert_int_equal(ch.nr, 1);
	chain_close(&ch);
	/* Every merged layer now says where it went. */
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("b.dmc"), 0, &ch, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_MERGED);
	assert_non_null(strstr(err.msg, "merged away into"));
	chain_close(&ch);
	/* The same merge issued again: done, nothing to do. */
	assert_int_equal(merge("c.dmc", 3, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_MERGED);
	assert_chain_is_ref("base.dmc");
}

static void test_merge_into_raw_base_and_delete(void **state)
{
	struct merge_request rq = { 0 };
	struct merge_result res;
	struct dmc_err err;

	(void)state;
	build_chain(true);
	assert_chain_is_ref("c.dmc");
	dmc_err_clear(&err);
	rq.leaf = path("c.dmc");
	rq.into = path("base.img");
	rq.delete_sources = true;
	must(merge_run(&rq, &res, &err), &err);
	assert_true(res.raw_target);
	assert_int_equal(res.nr_sources, 3);
	assert_true(res.deleted);
	assert_file_is_ref(path("base.img"));
	assert_int_equal(access(path("a.dmc"), F_OK), -1);
	assert_int_equal(access(path("c.dmc"), F_OK), -1);
}

/* Another child of the target, made before the merge, is refused after. */
static void test_stale_sibling_refused(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct chain ch;

	(void)state;
	build_chain(false);
	create("sib.dmc", "b.dmc");
	dmc_err_clear(&err);
	must(chain_open(path("sib.dmc"), 0, &ch, &err), &err);
	chain_close(&ch);
	/* During the merge: refused because b is being merged into. */
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_AFTER_BATCH, &res, &err), 1);
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("sib.dmc"), 0, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "being merged into"));
	chain_close(&ch);
	must(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), &err);
	assert_true(res.resumed);
	/* After: refused because b's generation moved on. */
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("sib.dmc"), 0, &ch, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_STALE);
	assert_non_null(strstr(err.msg, "generation"));
	chain_close(&ch);
}

/* Journal state expected in the holder after each stop point. */
struct stop_case {
	enum merge_stop_point stop;
	uint32_t journal_state;
	bool top_merged_away;
};

static const struct stop_case stop_cases[] = {
	{ MERGE_STOP_AFTER_JOURNAL, DMC_JOURNAL_MERGING, false },
	{ MERGE_STOP_AFTER_BATCH, DMC_JOURNAL_MERGING, false },
	{ MERGE_STOP_AFTER_DATA, DMC_JOURNAL_RETIRING, false },
	{ MERGE_STOP_AFTER_FIRST_MARK, DMC_JOURNAL_RETIRING, true },
	{ MERGE_STOP_BEFORE_FINISH, DMC_JOURNAL_RETIRING, true },
};

/*
 * Stop a depth-2 merge (c, b into a) at STOP, check what is on disk and
 * that the chain still shows the same data (or points at the command that
 * finishes), then finish by re-running the merge or by check -r.
 */
static void stop_and_resume(const struct stop_case *sc, bool raw_base,
			    bool by_check)
{
	const char *holder = "a.dmc";	/* the target, or the bottom source */
	unsigned int depth = raw_base ? 3 : 2;
	struct merge_request tmpl = { 0 };
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_result res;
	struct layer *h, *top;
	struct dmc_err err;
	struct chain ch;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", fx->dir);
	assert_int_equal(system(cmd), 0);
	build_chain(raw_base);
	assert_int_equal(merge("c.dmc", depth, sc->stop, &res, &err), 1);
	h = open_layer(holder);
	assert_int_equal(h->hdr.journal.state, sc->journal_state);
	assert_int_equal(h->hdr.journal.nr_sources, depth);
	assert_string_equal(h->hdr.journal.top_path, "c.dmc");
	layer_close(h);
	top = open_layer("c.dmc");
	assert_int_equal(top->hdr.state == DMC_STATE_MERGED_AWAY, sc->top_merged_away);
	layer_close(top);
	dmc_err_clear(&err);
	if (sc->top_merged_away) {
		/* The leaf is gone but says how to finish. */
		assert_int_equal(chain_open(path("c.dmc"), 0, &ch, &err), -1);
		assert_int_equal(err.kind, DMC_ERR_JOURNAL);
		assert_non_null(strstr(err.msg, "chainctl layer merge"));
		chain_close(&ch);
	} else {
		assert_chain_is_ref("c.dmc");
	}
	/* Item 17: a merge's state, not damage, with what finishes it. */
	layer_check(path(holder), false, &tmpl, rep);
	assert_int_equal(rep->verdict, sc->journal_state == DMC_JOURNAL_MERGING ?
				       CHECK_MERGE_INTERRUPTED : CHECK_MERGE_FINISHING);
	assert_int_equal(rep->nr_findings, 1);
	assert_non_null(strstr(rep->findings[0].msg, "chainctl layer merge "));
	assert_non_null(strstr(rep->findings[0].msg, "c.dmc' or 'chainctl layer check -r"));
	if (sc->top_merged_away) {
		layer_check(path("c.dmc"), false, &tmpl, rep);
		assert_int_equal(rep->verdict, CHECK_MERGE_FINISHING);
		assert_non_null(strstr(rep->findings[0].msg, "chainctl layer merge"));
	}
	/* Someone at it (a running merge holds the lock): in progress. */
	{
		int fd = open(path(holder), O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(flock(fd, LOCK_EX), 0);
		layer_check(path(holder), true, &tmpl, rep);
		assert_int_equal(rep->verdict, CHECK_MERGE_RUNNING);
		assert_false(rep->merge_finished);
		close(fd);
	}
	if (by_check) {
		layer_check(path(holder), true, &tmpl, rep);
		assert_int_equal(rep->verdict, CHECK_REPAIRED);
		assert_true(rep->merge_finished);
	} else {
		must(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), &err);
		assert_true(res.resumed);
	}
	/* Done: the retired top is merged away, which is not corrupt. */
	layer_check(path("c.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_MERGED_AWAY);
	assert_non_null(strstr(rep->findings[0].msg, "merged away into"));
	if (raw_base) {
		assert_file_is_ref(path("base.img"));
	} else {
		assert_chain_is_ref("a.dmc");
		layer_check(path("a.dmc"), false, &tmpl, rep);
		assert_int_equal(rep->verdict, CHECK_CLEAN);
	}
	free(rep);
}

static void test_journal_stop_and_rerun(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stop_cases) / sizeof(stop_cases[0]); i++)
		stop_and_resume(&stop_cases[i], false, false);
}

static void test_journal_stop_and_check_repair(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stop_cases) / sizeof(stop_cases[0]); i++)
		stop_and_resume(&stop_cases[i], false, true);
}

static void test_journal_raw_target(void **state)
{
	size_t i;

	(void)state;
	/*
	 * With a raw target the bottom source holds the journal and clears it
	 * when it is marked merged-away, so there is no "before finish" state.
	 */
	for (i = 0; i < sizeof(stop_cases) / sizeof(stop_cases[0]); i++)
		if (stop_cases[i].stop != MERGE_STOP_BEFORE_FINISH)
			stop_and_resume(&stop_cases[i], true, i % 2);
}

/*
 * One source into a raw target skips RETIRING: the header write that marks
 * the source merged-away also ends the journal, and no batch commit is
 * spent right before the final one.  Its journal is first written by the
 * first batch commit.  Stopped after the data, the journal is still
 * MERGING and a re-run finishes from its cursor.
 */
static void test_single_source_into_raw(void **state)
{
	struct merge_request rq = { 0 };
	struct merge_result res;
	struct dmc_err err;
	uint64_t seq;
	struct layer *a;

	(void)state;
	make_raw("base.img", true);
	create("a.dmc", "base.img");
	write_blocks("a.dmc", 2, 6);
	zero_blocks("a.dmc", 20, 4);
	write_blocks("a.dmc", 50, 3);
	write_blocks("a.dmc", 60, 1);
	assert_int_equal(merge("a.dmc", 1, MERGE_STOP_AFTER_DATA, &res, &err), 1);
	a = open_layer("a.dmc");
	assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_MERGING);
	assert_int_equal(a->hdr.state, DMC_STATE_VALID);
	layer_close(a);
	assert_chain_is_ref("a.dmc");
	must(merge("a.dmc", 0, MERGE_STOP_NONE, &res, &err), &err);
	assert_true(res.resumed);
	assert_file_is_ref(path("base.img"));
	a = open_layer("a.dmc");
	assert_int_equal(a->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	layer_close(a);

	/*
	 * Stopped before its first commit (the default batch is a second):
	 * the journal was never written, the source is untouched and still
	 * shows the same data, and running the merge again starts over.
	 */
	unlink(path("a.dmc"));
	create("a.dmc", "base.img");
	write_blocks("a.dmc", 7, 2);
	write_blocks("a.dmc", 40, 5);
	a = open_layer("a.dmc");
	seq = a->hdr.sequence;
	layer_close(a);
	dmc_err_clear(&err);
	rq.leaf = path("a.dmc");
	rq.stop_at = MERGE_STOP_AFTER_DATA;
	assert_int_equal(merge_run(&rq, &res, &err), 1);
	a = open_layer("a.dmc");
	assert_int_equal(a->hdr.sequence, seq);
	assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(a->hdr.state, DMC_STATE_VALID);
	layer_close(a);
	assert_chain_is_ref("a.dmc");

	/* Uninterrupted: one header write, the one that retires the source. */
	rq.stop_at = MERGE_STOP_NONE;
	must(merge_run(&rq, &res, &err), &err);
	assert_false(res.resumed);
	assert_file_is_ref(path("base.img"));
	a = open_layer("a.dmc");
	assert_int_equal(a->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(a->hdr.sequence, seq + 1);
	layer_close(a);
}

/* RETIRING with the sources deleted by hand: check -r still finishes T. */
static void test_finish_with_sources_gone(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct merge_result res;
	struct dmc_err err;
	struct layer *a;

	(void)state;
	build_chain(false);
	assert_int_equal(merge("c.dmc", 2, MERGE_STOP_AFTER_DATA, &res, &err), 1);
	unlink(path("c.dmc"));
	unlink(path("b.dmc"));
	layer_check(path("a.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_REPAIRED);
	a = open_layer("a.dmc");
	assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(a->hdr.generation, res.new_generation);
	layer_close(a);
	assert_chain_is_ref("a.dmc");
	free(rep);
}

/* A merge with another merge's journal in the chain is refused. */
static void test_other_merge_refused(void **state)
{
	struct merge_result res;
	struct dmc_err err;

	(void)state;
	build_chain(false);
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_AFTER_JOURNAL, &res, &err), 1);
	assert_int_equal(merge("c.dmc", 2, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_JOURNAL);
	assert_int_equal(merge("b.dmc", 1, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_JOURNAL);
	assert_non_null(strstr(err.msg, "check -r"));
	/* Nor may a source of the unfinished merge change. */
	dmc_err_clear(&err);
	assert_int_equal(layer_write_range(path("c.dmc"), 0, NULL, BS, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_JOURNAL);
}

/* A layer someone holds a lock on (a live device) is not modified. */
static void test_locked_layer_refused(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct layer *b;
	uint64_t seq;
	int fd;

	(void)state;
	build_chain(false);
	fd = open(path("b.dmc"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_SH), 0);
	b = open_layer("b.dmc");
	seq = b->hdr.sequence;
	layer_close(b);
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_BUSY);
	assert_non_null(strstr(err.msg, "in use"));
	b = open_layer("b.dmc");
	assert_int_equal(b->hdr.sequence, seq);
	assert_int_equal(b->hdr.journal.state, DMC_JOURNAL_NONE);
	layer_close(b);
	close(fd);
	must(merge("c.dmc", 1, MERGE_STOP_NONE, &res, &err), &err);
}

static void corrupt_bytes(const char *name, off_t off, size_t len)
{
	unsigned char junk[64];
	int fd = open(path(name), O_WRONLY);

	memset(junk, 0xff, sizeof(junk));	/* 0xff: map state 3 */
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, len, off), (ssize_t)len);
	close(fd);
}

static void test_check_verdicts(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct layer *l;

	(void)state;
	build_chain(false);
	layer_check(path("c.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CLEAN);
	assert_int_equal(rep->chain_depth, 4);

	/* Torn header slot: the other one carries on; -r rewrites it. */
	l = open_layer("c.dmc");
	corrupt_bytes("c.dmc", (l->cur_slot ^ 1) * DMC_SLOT_SIZE + 100, 8);
	layer_close(l);
	layer_check(path("c.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_NEEDS_REPAIR);
	assert_chain_is_ref("c.dmc");
	layer_check(path("c.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_REPAIRED);
	layer_check(path("c.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CLEAN);

	/* Invalid map entry (state 3). */
	corrupt_bytes("b.dmc", DMC_MAP_OFFSET + 3, 1);
	layer_check(path("b.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CORRUPT);
	layer_check(path("b.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CORRUPT);

	/* Both slots bad. */
	corrupt_bytes("a.dmc", 100, 8);
	corrupt_bytes("a.dmc", DMC_SLOT_SIZE + 100, 8);
	layer_check(path("a.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CORRUPT);
	assert_non_null(strstr(rep->findings[0].msg, "no valid header"));

	/* Missing file: could not check. */
	layer_check(path("nothing.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_FAILED);
	free(rep);
}

/* OR BITS into map byte BYTE of NAME (on disk); returns the old value. */
static uint8_t poke_map(const char *name, uint64_t byte, uint8_t bits, bool set)
{
	int fd = open(path(name), O_RDWR);
	uint8_t v, old;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &old, 1, DMC_MAP_OFFSET + byte), 1);
	v = set ? bits : (uint8_t)(old | bits);
	assert_int_equal(pwrite(fd, &v, 1, DMC_MAP_OFFSET + byte), 1);
	close(fd);
	return old;
}

static uint8_t peek_map(const char *name, uint64_t byte)
{
	int fd = open(path(name), O_RDONLY);
	uint8_t v;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 1, DMC_MAP_OFFSET + byte), 1);
	close(fd);
	return v;
}

/*
 * Item 16: a map entry 3 in a source used to read as "absent": the merge
 * skipped the block and marked the source merged-away, losing it.  Every
 * reader refuses the map now, and the merge touches nothing.
 */
static void test_corrupt_map_every_reader_refuses(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct flatten_request frq = { 0 };
	struct flatten_result fres;
	struct merge_result res;
	struct dmc_err err;
	struct layer *b, *c;
	struct chain ch;
	uint64_t b_gen, b_seq, c_seq;
	uint8_t byte;

	(void)state;
	build_chain(false);
	b = open_layer("b.dmc");
	b_gen = b->hdr.generation;
	b_seq = b->hdr.sequence;
	layer_close(b);
	c = open_layer("c.dmc");
	c_seq = c->hdr.sequence;
	layer_close(c);
	/* c holds data at blocks 5..14: block 5 (byte 1, bits 2-3) becomes 3. */
	poke_map("c.dmc", 1, 0x0c, false);
	byte = peek_map("c.dmc", 1);

	/* merge (depth 1 and 2): refused, nothing written anywhere. */
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "c.dmc: corrupt block map: block 5"));
	assert_int_equal(merge("c.dmc", 2, MERGE_STOP_NONE, &res, &err), -1);
	assert_non_null(strstr(err.msg, "invalid entry 3"));
	dmc_err_clear(&err);
	must(layer_open(path("c.dmc"), 0, &c, &err), &err);
	assert_int_equal(c->hdr.state, DMC_STATE_VALID);
	assert_int_equal(c->hdr.sequence, c_seq);
	assert_int_equal(c->hdr.journal.state, DMC_JOURNAL_NONE);
	layer_close(c);
	must(layer_open(path("b.dmc"), 0, &b, &err), &err);
	assert_int_equal(b->hdr.generation, b_gen);
	assert_int_equal(b->hdr.sequence, b_seq);
	assert_int_equal(b->hdr.journal.state, DMC_JOURNAL_NONE);
	layer_close(b);
	assert_int_equal(peek_map("c.dmc", 1), byte);

	/* info / map (layer_open with the map), info --chain (chain_open). */
	dmc_err_clear(&err);
	assert_int_equal(layer_open(path("c.dmc"), LAYER_LOAD_MAP, &c, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "invalid entry 3"));
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("c.dmc"), CHAIN_LOAD_MAPS, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "invalid entry 3"));
	chain_close(&ch);
	/* flatten */
	dmc_err_clear(&err);
	frq.layer = path("c.dmc");
	frq.out = path("flat.img");
	assert_int_equal(flatten_run(&frq, &fres, &err), -1);
	assert_non_null(strstr(err.msg, "invalid entry 3"));
	assert_int_equal(access(path("flat.img"), F_OK), -1);
	/* check (with and without -r) */
	layer_check(path("c.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CORRUPT);
	assert_non_null(strstr(rep->findings[0].msg, "invalid entry 3"));
	layer_check(path("c.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CORRUPT);
	/* A corrupt layer lower down stops a merge above it too. */
	poke_map("c.dmc", 1, byte & ~0x0c, true);
	poke_map("a.dmc", 0, 0x03, false);
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_NONE, &res, &err), -1);
	assert_non_null(strstr(err.msg, "a.dmc: corrupt block map: block 0"));
	free(rep);
}

/*
 * No source is marked merged-away unless every block it shows is in the
 * target's map on disk: a target map that lost a block between the data
 * phase and the retiring is refused, the sources stay valid.
 */
static void test_retire_needs_every_block(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct layer *c;
	uint8_t old;

	(void)state;
	build_chain(false);
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_AFTER_DATA, &res, &err), 1);
	/* b (the target) forgets blocks 4..7; c holds data at 5..7. */
	old = poke_map("b.dmc", 1, 0, true);
	assert_int_equal(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "not marking the sources merged-away"));
	c = open_layer("c.dmc");
	assert_int_equal(c->hdr.state, DMC_STATE_VALID);
	layer_close(c);
	/* With the map back, the merge finishes. */
	poke_map("b.dmc", 1, old, true);
	must(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), &err);
	assert_true(res.resumed);
	assert_chain_is_ref("b.dmc");
}

/*
 * An offline merge started at a layer with a child on it used to succeed
 * and leave the child, the chain's newest data, on a merged-away parent:
 * refused by every reader, with nothing to relink it.  It is refused
 * before anything is written, and merging from the leaf still works.
 */
static void test_merge_refuses_layer_with_child(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct layer *c;

	(void)state;
	build_chain(false);
	create("d.dmc", "c.dmc");
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_USAGE);
	assert_non_null(strstr(err.msg, "not the chain's leaf"));
	assert_non_null(strstr(err.msg, "d.dmc is"));
	c = open_layer("c.dmc");
	assert_int_equal(c->hdr.state, DMC_STATE_VALID);
	assert_int_equal(c->hdr.journal.state, DMC_JOURNAL_NONE);
	layer_close(c);
	c = open_layer("b.dmc");
	assert_int_equal(c->hdr.journal.state, DMC_JOURNAL_NONE);
	layer_close(c);
	/* From the leaf, c and d merge into b; the data is the chain's. */
	must(merge("d.dmc", 2, MERGE_STOP_NONE, &res, &err), &err);
	assert_chain_is_ref("b.dmc");
}

/*
 * The leaf a live merge puts on top records the target's post-merge
 * generation while the target's journal is still active.  After a crash
 * mid-merge 'layer check' on it must say "interrupted merge" (6), as the
 * device that opens it does, never "corrupt" (found by the crash replay).
 */
static void test_check_live_merge_new_leaf(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct merge_result res;
	struct dmc_err err;
	struct layer *n, *b;

	(void)state;
	assert_non_null(rep);
	build_chain(false);
	/*
	 * The kernel makes n on c and then journals the merge of c; the
	 * offline engine stands in for it here, and refuses to start a
	 * merge of a layer with a child next to it, so n lives one
	 * directory down, out of the directory it searches.
	 */
	assert_int_equal(mkdir(path("live"), 0755), 0);
	create("live/n.dmc", "c.dmc");
	/* c into b, stopped after the journal: b holds it, c is the top. */
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_AFTER_JOURNAL, &res, &err), 1);
	b = open_layer("b.dmc");
	n = open_layer("live/n.dmc");
	dmc_err_clear(&err);
	must(layer_make_writable(n, &err), &err);
	n->hdr.parent_kind = DMC_PARENT_LAYER;
	memcpy(n->hdr.parent_uuid, b->hdr.uuid, DMC_UUID_SIZE);
	n->hdr.parent_generation = b->hdr.journal.new_generation;
	snprintf(n->hdr.parent_path, sizeof(n->hdr.parent_path), "../b.dmc");
	must(layer_write_header(n, &n->hdr, &err), &err);
	layer_close(n);
	layer_close(b);

	layer_check(path("live/n.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_MERGE_INTERRUPTED);
	assert_int_equal(rep->chain_depth, 5);
	assert_non_null(strstr(rep->findings[rep->nr_findings - 1].msg,
			       "unfinished live merge into"));
	/* What it names finishes the merge; n is then an ordinary child of b. */
	layer_check(path("b.dmc"), true, &tmpl, rep);
	assert_true(rep->merge_finished);
	layer_check(path("live/n.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CLEAN);
	free(rep);
}

/*
 * Move NAME (made in a subdirectory, out of the offline engine's search)
 * to TO in the chain's directory, recording PARENT_NAME (a layer there)
 * as its parent path, and, when GEN_DELTA is not 0, its parent's
 * generation that much off.
 */
static void move_next_to(const char *name, const char *to,
			 const char *parent_name, int gen_delta)
{
	struct dmc_err err;
	struct layer *l;

	assert_int_equal(rename(path(name), path(to)), 0);
	l = open_layer(to);
	dmc_err_clear(&err);
	must(layer_make_writable(l, &err), &err);
	snprintf(l->hdr.parent_path, sizeof(l->hdr.parent_path), "%s", parent_name);
	l->hdr.parent_generation += (uint64_t)(int64_t)gen_delta;
	must(layer_write_header(l, &l->hdr, &err), &err);
	layer_close(l);
}

/*
 * An intermediate live merge of b..c into a, stopped between its two
 * header writes: a holds the journal, d (the layer above the range, in
 * the same directory) still records c.  Finishing it offline, by 'check
 * -r a' or by 'layer merge c', must first relink d to a at the new
 * generation, at every point the offline engine can be stopped at, or d
 * is refused for good once c is merged away.
 */
static const enum merge_stop_point relink_stops[] = {
	MERGE_STOP_AFTER_JOURNAL, MERGE_STOP_AFTER_BATCH, MERGE_STOP_AFTER_DATA,
	MERGE_STOP_AFTER_FIRST_MARK, MERGE_STOP_BEFORE_FINISH,
};

/*
 * CHILD was relinked to TARGET, a finished target at NEW_GEN: it is valid
 * and records TARGET (path, uuid, NEW_GEN) as its parent, with its own
 * UUID and GEN unchanged.
 */
static void assert_relinked(const char *child, const char *target,
			    uint64_t new_gen, const uint8_t *uuid, uint64_t gen)
{
	struct layer *t = open_layer(target), *l = open_layer(child);

	assert_int_equal(t->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(t->hdr.generation, new_gen);
	assert_int_equal(l->hdr.state, DMC_STATE_VALID);
	assert_int_equal(l->hdr.parent_kind, DMC_PARENT_LAYER);
	assert_memory_equal(l->hdr.parent_uuid, t->hdr.uuid, DMC_UUID_SIZE);
	assert_int_equal(l->hdr.parent_generation, new_gen);
	assert_string_equal(l->hdr.parent_path, target);
	assert_memory_equal(l->hdr.uuid, uuid, DMC_UUID_SIZE);
	assert_int_equal(l->hdr.generation, gen);
	layer_close(l);
	layer_close(t);
}

/* LEAF opens strictly as NR layers, shows the reference, checks clean. */
static void assert_opens_clean(const char *leaf, unsigned int nr)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct dmc_err err;
	struct chain ch;

	assert_non_null(rep);
	dmc_err_clear(&err);
	must(chain_open(path(leaf), 0, &ch, &err), &err);
	assert_int_equal(ch.nr, nr);
	chain_close(&ch);
	assert_chain_is_ref(leaf);
	layer_check(path(leaf), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CLEAN);
	free(rep);
}

static void relink_case(enum merge_stop_point stop, bool by_check)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	const struct merge_result *r;
	struct merge_result res;
	struct layer *a, *c, *d, *e;
	uint8_t c_uuid[DMC_UUID_SIZE], d_uuid[DMC_UUID_SIZE];
	uint64_t c_gen, d_gen, new_gen;
	struct dmc_err err;
	char cmd[256];

	assert_non_null(rep);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* && mkdir '%s'/away", fx->dir, fx->dir);
	assert_int_equal(system(cmd), 0);
	build_chain(false);
	create("away/d.dmc", "c.dmc");
	write_blocks("away/d.dmc", 6, 3);
	write_blocks("away/d.dmc", 60, 1);
	/* e: records c, but at another generation: a stale sibling. */
	create("away/e.dmc", "c.dmc");
	/* b and c into a, stopped (merge_run returns 1 at the stop). */
	assert_int_equal(merge("c.dmc", 2, stop, &res, &err), 1);
	move_next_to("away/d.dmc", "d.dmc", "c.dmc", 0);
	move_next_to("away/e.dmc", "e.dmc", "c.dmc", 5);
	c = open_layer("c.dmc");
	memcpy(c_uuid, c->hdr.uuid, DMC_UUID_SIZE);
	c_gen = c->hdr.generation;
	layer_close(c);
	d = open_layer("d.dmc");
	memcpy(d_uuid, d->hdr.uuid, DMC_UUID_SIZE);
	d_gen = d->hdr.generation;
	layer_close(d);
	a = open_layer("a.dmc");
	assert_int_not_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	new_gen = a->hdr.journal.new_generation;
	layer_close(a);

	if (by_check) {
		layer_check(path("a.dmc"), true, &tmpl, rep);
		assert_int_equal(rep->verdict, CHECK_REPAIRED);
		assert_true(rep->merge_finished);
		r = &rep->merge;
	} else {
		must(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), &err);
		r = &res;
	}
	assert_true(r->resumed);
	assert_int_equal(r->nr_relinked, 1);
	assert_string_equal(r->relinked[0], path("d.dmc"));

	/* d records a at the new generation, keeps its own identity. */
	assert_relinked("d.dmc", "a.dmc", new_gen, d_uuid, d_gen);
	/* The sources are merged away. */
	c = open_layer("c.dmc");
	assert_int_equal(c->hdr.state, DMC_STATE_MERGED_AWAY);
	layer_close(c);
	c = open_layer("b.dmc");
	assert_int_equal(c->hdr.state, DMC_STATE_MERGED_AWAY);
	layer_close(c);
	/* e, on c at another generation, is left as it was. */
	e = open_layer("e.dmc");
	assert_memory_equal(e->hdr.parent_uuid, c_uuid, DMC_UUID_SIZE);
	assert_int_equal(e->hdr.parent_generation, c_gen + 5);
	assert_string_equal(e->hdr.parent_path, "c.dmc");
	layer_close(e);
	/* d opens strictly (d, a, base) and shows the chain's data. */
	assert_opens_clean("d.dmc", 3);
	free(rep);
}

static void test_resume_relinks_layer_on_top_source(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(relink_stops) / sizeof(relink_stops[0]); i++) {
		relink_case(relink_stops[i], true);
		relink_case(relink_stops[i], false);
	}
}

/*
 * Only an exact child of the top source is relinked: a layer recording
 * it at another generation (stale) or recording a layer lower in the
 * range is not, and the merge still finishes.
 */
static void test_resume_relinks_only_exact_children(void **state)
{
	struct merge_result res;
	struct layer *f, *g, *b;
	uint64_t f_gen;
	struct dmc_err err;

	(void)state;
	assert_int_equal(mkdir(path("away"), 0755), 0);
	build_chain(false);
	create("away/f.dmc", "c.dmc");
	create("away/g.dmc", "b.dmc");
	assert_int_equal(merge("c.dmc", 2, MERGE_STOP_AFTER_JOURNAL, &res, &err), 1);
	move_next_to("away/f.dmc", "f.dmc", "c.dmc", -1);
	move_next_to("away/g.dmc", "g.dmc", "b.dmc", 0);
	f = open_layer("f.dmc");
	f_gen = f->hdr.parent_generation;
	layer_close(f);
	must(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), &err);
	assert_true(res.resumed);
	assert_int_equal(res.nr_relinked, 0);
	f = open_layer("f.dmc");
	assert_int_equal(f->hdr.parent_generation, f_gen);
	assert_string_equal(f->hdr.parent_path, "c.dmc");
	layer_close(f);
	b = open_layer("b.dmc");
	g = open_layer("g.dmc");
	assert_memory_equal(g->hdr.parent_uuid, b->hdr.uuid, DMC_UUID_SIZE);
	assert_string_equal(g->hdr.parent_path, "b.dmc");
	layer_close(g);
	layer_close(b);
	assert_chain_is_ref("a.dmc");
}

static int range_merge(const char *leaf, const char *into, const char *from,
		       enum merge_stop_point stop, struct merge_result *res,
		       struct dmc_err *err)
{
	struct merge_request rq = { 0 };
	char in[1024], fr[1024];

	dmc_err_clear(err);
	rq.leaf = path(leaf);
	/* Names with ".dmc" are files of the fixture, others indices. */
	snprintf(in, sizeof(in), "%s", strchr(into, '.') ? path(into) : into);
	if (from)
		snprintf(fr, sizeof(fr), "%s", strchr(from, '.') ? path(from) : from);
	rq.into = in;
	rq.from = from ? fr : NULL;
	rq.stop_at = stop;
	rq.batch_runs = 2;
	return merge_run(&rq, res, err);
}

/*
 * After 'layer merge c --into a --from b' on base <- a <- b <- c: c (A,
 * the layer above the range) records a at its new generation with its own
 * identity unchanged, b is merged away, a is finished, and the chain read
 * from c is the reference.
 */
static void assert_range_done(const uint8_t *c_uuid, uint64_t c_gen,
			      uint64_t new_gen)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct layer *a, *b;

	assert_non_null(rep);
	assert_relinked("c.dmc", "a.dmc", new_gen, c_uuid, c_gen);
	a = open_layer("a.dmc");
	b = open_layer("b.dmc");
	assert_int_equal(b->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_memory_equal(b->hdr.merged_into_uuid, a->hdr.uuid, DMC_UUID_SIZE);
	layer_close(b);
	layer_close(a);
	/* c opens strictly as c, a, base and shows the same data. */
	assert_opens_clean("c.dmc", 3);
	layer_check(path("b.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_MERGED_AWAY);
	free(rep);
}

static void test_range_merge_offline(void **state)
{
	uint8_t c_uuid[DMC_UUID_SIZE];
	struct merge_result res;
	struct dmc_err err;
	struct layer *a, *c;
	uint64_t c_gen, a_gen;

	(void)state;
	build_chain(false);
	assert_chain_is_ref("c.dmc");
	a = open_layer("a.dmc");
	a_gen = a->hdr.generation;
	layer_close(a);
	c = open_layer("c.dmc");
	memcpy(c_uuid, c->hdr.uuid, DMC_UUID_SIZE);
	c_gen = c->hdr.generation;
	layer_close(c);
	/* Indices from the base, as 'device merge' takes them: a 1, b 2. */
	must(range_merge("c.dmc", "1", "2", MERGE_STOP_NONE, &res, &err), &err);
	assert_false(res.resumed);
	assert_int_equal(res.nr_sources, 1);
	assert_string_equal(res.target, path("a.dmc"));
	assert_int_equal(res.new_generation, a_gen + 1);
	assert_int_equal(res.nr_relinked, 1);
	assert_string_equal(res.relinked[0], path("c.dmc"));
	assert_true(res.data_blocks > 0);
	assert_range_done(c_uuid, c_gen, a_gen + 1);
	/*
	 * Issued again once done: b is no longer in c's chain, but it was
	 * merged into a, so the merge is done (exit 9), not a usage error.
	 */
	assert_int_equal(range_merge("c.dmc", "a.dmc", "b.dmc", MERGE_STOP_NONE,
				     &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_MERGED);
	assert_non_null(strstr(err.msg, "already merged into"));
	/* A layer never merged is still not in the chain (usage error). */
	create("x.dmc", "a.dmc");
	assert_int_equal(range_merge("c.dmc", "a.dmc", "x.dmc", MERGE_STOP_NONE,
				     &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_USAGE);
	assert_non_null(strstr(err.msg, "not a layer of the chain"));
}

/* Several sources: b and c of base <- a <- b <- c <- d, d relinked. */
static void test_range_merge_two_sources(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct layer *a, *b, *c, *d;

	(void)state;
	build_chain(false);
	create("d.dmc", "c.dmc");
	write_blocks("d.dmc", 7, 2);
	must(range_merge("d.dmc", "a.dmc", "c.dmc", MERGE_STOP_NONE, &res, &err), &err);
	assert_int_equal(res.nr_sources, 2);
	assert_int_equal(res.nr_relinked, 1);
	assert_string_equal(res.relinked[0], path("d.dmc"));
	a = open_layer("a.dmc");
	b = open_layer("b.dmc");
	c = open_layer("c.dmc");
	d = open_layer("d.dmc");
	assert_int_equal(b->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_int_equal(c->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_memory_equal(d->hdr.parent_uuid, a->hdr.uuid, DMC_UUID_SIZE);
	assert_int_equal(d->hdr.parent_generation, a->hdr.generation);
	layer_close(d);
	layer_close(c);
	layer_close(b);
	layer_close(a);
	assert_chain_is_ref("d.dmc");
}

/*
 * The range merge stopped at every step, then finished by the same
 * command or by 'check -r' on the target (which holds the journal).  Until
 * the relink c still records b; from the relink on it records a at the
 * new generation, with a's journal still active (the live leap), and
 * 'check' on c says resumable and names the command.
 */
/*
 * A fresh base <- a <- b <- c (RAW: base.img a raw image): c's uuid, its
 * parent's (b's) and c's generation.
 */
static void rebuild_chain(bool raw, uint8_t *c_uuid, uint8_t *b_uuid,
			  uint64_t *c_gen)
{
	struct layer *c;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", fx->dir);
	assert_int_equal(system(cmd), 0);
	build_chain(raw);
	c = open_layer("c.dmc");
	memcpy(c_uuid, c->hdr.uuid, DMC_UUID_SIZE);
	memcpy(b_uuid, c->hdr.parent_uuid, DMC_UUID_SIZE);
	*c_gen = c->hdr.generation;
	layer_close(c);
}

static const enum merge_stop_point range_stops[] = {
	MERGE_STOP_AFTER_JOURNAL, MERGE_STOP_AFTER_RELINK, MERGE_STOP_AFTER_BATCH,
	MERGE_STOP_AFTER_DATA, MERGE_STOP_AFTER_FIRST_MARK, MERGE_STOP_BEFORE_FINISH,
};

static void range_stop_case(enum merge_stop_point stop, bool by_check)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	uint8_t b_uuid[DMC_UUID_SIZE], c_uuid[DMC_UUID_SIZE];
	const struct merge_result *r;
	struct merge_result res;
	struct layer *a, *c;
	uint64_t c_gen, new_gen;
	struct dmc_err err;
	struct chain ch;
	char cmd[256];

	assert_non_null(rep);
	rebuild_chain(false, c_uuid, b_uuid, &c_gen);
	assert_int_equal(range_merge("c.dmc", "a.dmc", "b.dmc", stop, &res, &err), 1);
	a = open_layer("a.dmc");
	assert_int_not_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(a->hdr.journal.nr_sources, 1);
	assert_string_equal(a->hdr.journal.top_path, "b.dmc");
	new_gen = a->hdr.journal.new_generation;
	/* The relink record names c, the layer above the range. */
	assert_memory_equal(a->hdr.journal.relink_uuid, c_uuid, DMC_UUID_SIZE);
	assert_string_equal(a->hdr.journal.relink_path, "c.dmc");
	assert_true(a->hdr.incompat_features & DMC_INCOMPAT_JOURNAL_RELINK);
	layer_close(a);
	c = open_layer("c.dmc");
	if (stop == MERGE_STOP_AFTER_JOURNAL) {
		assert_memory_equal(c->hdr.parent_uuid, b_uuid, DMC_UUID_SIZE);
	} else {
		assert_int_equal(c->hdr.parent_generation, new_gen);
		assert_string_equal(c->hdr.parent_path, "a.dmc");
	}
	layer_close(c);
	/* Whatever the step, the leaf's chain (through the leap) is whole. */
	dmc_err_clear(&err);
	must(chain_open(path("c.dmc"), CHAIN_ALLOW_LIVE_LEAP | CHAIN_ALLOW_MERGED_AWAY,
			&ch, &err), &err);
	assert_int_equal(ch.nr, 4);
	chain_close(&ch);
	/* The ordinary merge of c there writes nothing and names check -r. */
	assert_int_equal(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), -1);
	if (!strstr(err.msg, "chainctl layer check -r"))
		fail_msg("stop %d: layer merge c: %s", (int)stop, err.msg);
	if (stop != MERGE_STOP_AFTER_JOURNAL) {
		/* From the leaf, through the leap: resumable, names the holder. */
		snprintf(cmd, sizeof(cmd), "chainctl layer check -r %s'", path("a.dmc"));
		layer_check(path("c.dmc"), true, &tmpl, rep);
		assert_int_equal(rep->verdict, CHECK_MERGE_INTERRUPTED);
		assert_false(rep->merge_finished);
		assert_non_null(strstr(rep->findings[0].msg, cmd));
	}
	if (by_check) {
		layer_check(path("a.dmc"), true, &tmpl, rep);
		if (!rep->merge_finished)
			fail_msg("stop %d: check -r a: verdict %d: %s", (int)stop,
				 (int)rep->verdict,
				 rep->nr_findings ? rep->findings[0].msg : "");
		assert_int_equal(rep->verdict, CHECK_REPAIRED);
		r = &rep->merge;
	} else {
		must(range_merge("c.dmc", "a.dmc", "b.dmc", MERGE_STOP_NONE, &res, &err),
		     &err);
		r = &res;
	}
	assert_true(r->resumed);
	/* Relinked by the finish only when the stop came before the relink. */
	assert_int_equal(r->nr_relinked, stop == MERGE_STOP_AFTER_JOURNAL ? 1 : 0);
	assert_range_done(c_uuid, c_gen, new_gen);
	free(rep);
}

static void test_range_merge_interrupted(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(range_stops) / sizeof(range_stops[0]); i++) {
		range_stop_case(range_stops[i], false);
		range_stop_case(range_stops[i], true);
	}
}

/*
 * A range merge whose layer above the range, c, is kept in another
 * directory than the top source b, stopped between the journal and the
 * relink.  Finishers that do not know c ('check -r a', 'layer merge b')
 * look for children in b's directory only; they must relink c from the
 * journal's relink record, not mark b merged-away under it.  With c moved
 * away meanwhile they refuse and write nothing; the range merge issued
 * again from c's new place finishes.  With c deleted, only
 * --above-deleted (merge_request.above_deleted) finishes.
 */
static void above_elsewhere_case(int finisher)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	uint8_t b_uuid[DMC_UUID_SIZE], c_uuid[DMC_UUID_SIZE];
	const struct merge_result *r;
	struct merge_result res;
	struct layer *a, *b, *c;
	uint64_t c_gen, new_gen;
	struct dmc_err err;

	assert_non_null(rep);
	rebuild_chain(false, c_uuid, b_uuid, &c_gen);
	assert_int_equal(mkdir(path("away"), 0755), 0);
	move_next_to("c.dmc", "away/c.dmc", "../b.dmc", 0);
	assert_int_equal(range_merge("away/c.dmc", "a.dmc", "b.dmc",
				     MERGE_STOP_AFTER_JOURNAL, &res, &err), 1);
	a = open_layer("a.dmc");
	assert_string_equal(a->hdr.journal.relink_path, "away/c.dmc");
	assert_memory_equal(a->hdr.journal.relink_uuid, c_uuid, DMC_UUID_SIZE);
	new_gen = a->hdr.journal.new_generation;
	layer_close(a);

	if (finisher == 3) {
		/* c deleted: refused, unless the caller says it is gone. */
		assert_int_equal(unlink(path("away/c.dmc")), 0);
		layer_check(path("a.dmc"), true, &tmpl, rep);
		assert_false(rep->merge_finished);
		if (!strstr(rep->findings[rep->nr_findings - 1].msg, "--above-deleted"))
			fail_msg("check -r a with c deleted: %s",
				 rep->findings[rep->nr_findings - 1].msg);
		tmpl.above_deleted = true;
		layer_check(path("a.dmc"), true, &tmpl, rep);
		if (!rep->merge_finished)
			fail_msg("check -r --above-deleted: verdict %d: %s",
				 (int)rep->verdict,
				 rep->nr_findings ? rep->findings[0].msg : "");
		assert_int_equal(rep->merge.nr_relinked, 0);
		b = open_layer("b.dmc");
		assert_int_equal(b->hdr.state, DMC_STATE_MERGED_AWAY);
		layer_close(b);
		a = open_layer("a.dmc");
		assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
		assert_int_equal(a->hdr.generation, new_gen);
		layer_close(a);
		free(rep);
		return;
	}
	if (finisher == 2) {
		/* c moved after the crash: nothing finishes it blind. */
		assert_int_equal(mkdir(path("moved"), 0755), 0);
		move_next_to("away/c.dmc", "moved/c.dmc", "../b.dmc", 0);
		layer_check(path("a.dmc"), true, &tmpl, rep);
		assert_false(rep->merge_finished);
		assert_true(rep->nr_findings > 0);
		if (!strstr(rep->findings[rep->nr_findings - 1].msg,
			    "that layer is not there"))
			fail_msg("check -r a with c moved: %s",
				 rep->findings[rep->nr_findings - 1].msg);
		assert_int_equal(merge("b.dmc", 0, MERGE_STOP_NONE, &res, &err), -1);
		assert_int_equal(err.kind, DMC_ERR_STALE);
		if (!strstr(err.msg, "--from"))
			fail_msg("layer merge b with c moved: %s", err.msg);
		b = open_layer("b.dmc");
		assert_int_equal(b->hdr.state, DMC_STATE_VALID);
		layer_close(b);
		a = open_layer("a.dmc");
		assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_MERGING);
		layer_close(a);
		must(range_merge("moved/c.dmc", "a.dmc", "b.dmc", MERGE_STOP_NONE,
				 &res, &err), &err);
		r = &res;
	} else if (finisher == 1) {
		must(merge("b.dmc", 0, MERGE_STOP_NONE, &res, &err), &err);
		r = &res;
	} else {
		layer_check(path("a.dmc"), true, &tmpl, rep);
		if (!rep->merge_finished)
			fail_msg("check -r a: verdict %d: %s", (int)rep->verdict,
				 rep->nr_findings ? rep->findings[0].msg : "");
		r = &rep->merge;
	}
	assert_true(r->resumed);
	assert_int_equal(r->nr_relinked, 1);
	c = open_layer(finisher == 2 ? "moved/c.dmc" : "away/c.dmc");
	a = open_layer("a.dmc");
	assert_int_equal(c->hdr.state, DMC_STATE_VALID);
	assert_memory_equal(c->hdr.uuid, c_uuid, DMC_UUID_SIZE);
	assert_int_equal(c->hdr.generation, c_gen);
	assert_memory_equal(c->hdr.parent_uuid, a->hdr.uuid, DMC_UUID_SIZE);
	assert_int_equal(c->hdr.parent_generation, new_gen);
	assert_string_equal(c->hdr.parent_path, "../a.dmc");
	assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_false(a->hdr.incompat_features & DMC_INCOMPAT_JOURNAL_RELINK);
	layer_close(a);
	layer_close(c);
	b = open_layer("b.dmc");
	assert_int_equal(b->hdr.state, DMC_STATE_MERGED_AWAY);
	layer_close(b);
	assert_opens_clean(finisher == 2 ? "moved/c.dmc" : "away/c.dmc", 3);
	free(rep);
}

static void test_range_merge_above_elsewhere(void **state)
{
	(void)state;
	above_elsewhere_case(0);	/* check -r on the target */
	above_elsewhere_case(1);	/* layer merge of the top source */
	above_elsewhere_case(2);	/* c moved: refused, then --from */
	above_elsewhere_case(3);	/* c deleted: refused, then --above-deleted */
}

/* Refusals name the problem and write nothing. */
static void range_refused(const char *leaf, const char *into, const char *from,
			  const char *msg)
{
	struct merge_result res;
	struct dmc_err err;

	assert_int_equal(range_merge(leaf, into, from, MERGE_STOP_NONE, &res, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("expected '%s' in: %s", msg, err.msg);
}

static void assert_untouched(void)
{
	struct layer *a, *b, *c;

	a = open_layer("a.dmc");
	b = open_layer("b.dmc");
	c = open_layer("c.dmc");
	assert_int_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(b->hdr.state, DMC_STATE_VALID);
	assert_memory_equal(c->hdr.parent_uuid, b->hdr.uuid, DMC_UUID_SIZE);
	assert_int_equal(c->hdr.parent_generation, b->hdr.generation);
	layer_close(c);
	layer_close(b);
	layer_close(a);
}

static void test_range_merge_refusals(void **state)
{
	struct merge_request rq = { 0 };
	struct merge_result res;
	struct dmc_err err;
	char cmd[256];

	(void)state;
	build_chain(false);
	/* --from without --into */
	dmc_err_clear(&err);
	rq.leaf = path("c.dmc");
	rq.from = path("b.dmc");
	assert_int_equal(merge_run(&rq, &res, &err), -1);
	assert_non_null(strstr(err.msg, "--from needs --into"));
	range_refused("c.dmc", "b.dmc", "a.dmc", "must be above the target");
	range_refused("c.dmc", "b.dmc", "b.dmc", "must be above the target");
	range_refused("c.dmc", "a.dmc", "c.dmc", "that is the leaf: an ordinary merge");
	range_refused("c.dmc", "a.dmc", "3", "that is the leaf");
	range_refused("c.dmc", "a.dmc", "4", "--from 4: not a layer of the chain");
	range_refused("c.dmc", "x.dmc", "b.dmc", "not a layer of the chain");
	assert_untouched();
	/* Another child of b in its directory would be orphaned: named. */
	create("x.dmc", "b.dmc");
	range_refused("c.dmc", "a.dmc", "b.dmc", "x.dmc: also sits on");
	assert_untouched();
	unlink(path("x.dmc"));
	/* A layer on b at another generation is not its child: no refusal. */
	assert_chain_is_ref("c.dmc");
	/* Into a raw base, the same refusals, and nothing written. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", fx->dir);
	assert_int_equal(system(cmd), 0);
	build_chain(true);
	create("x.dmc", "b.dmc");
	range_refused("c.dmc", "0", "b.dmc", "x.dmc: also sits on");
	range_refused("c.dmc", "0", "c.dmc", "that is the leaf");
	range_refused("c.dmc", "base.img", "x.dmc", "not a layer of the chain");
	assert_untouched();
}

/*
 * C records the raw base.img (as a child made on it would), its own
 * identity unchanged; the sources from FROM down are merged away; the
 * raw file kept its size; C opens strictly as C, base.img.
 */
static void assert_raw_range_done(const uint8_t *c_uuid, uint64_t c_gen,
				  const char *from)
{
	struct layer *c = open_layer("c.dmc"), *s;
	struct stat st;

	assert_int_equal(c->hdr.state, DMC_STATE_VALID);
	assert_int_equal(c->hdr.parent_kind, DMC_PARENT_RAW);
	assert_string_equal(c->hdr.parent_path, "base.img");
	assert_int_equal(c->hdr.parent_raw_size, VSIZE);
	assert_memory_equal(c->hdr.uuid, c_uuid, DMC_UUID_SIZE);
	assert_int_equal(c->hdr.generation, c_gen);
	layer_close(c);
	assert_int_equal(stat(path("base.img"), &st), 0);
	assert_int_equal(st.st_size, VSIZE);
	s = open_layer("a.dmc");
	assert_int_equal(s->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_int_equal(s->hdr.journal.state, DMC_JOURNAL_NONE);
	layer_close(s);
	if (!strcmp(from, "b.dmc")) {
		s = open_layer("b.dmc");
		assert_int_equal(s->hdr.state, DMC_STATE_MERGED_AWAY);
		layer_close(s);
	}
	assert_opens_clean("c.dmc", 2);
}

/* A range into a raw base, run through: base.img <- a <- b <- c. */
static void test_range_merge_raw(void **state)
{
	uint8_t c_uuid[DMC_UUID_SIZE];
	struct merge_result res;
	struct dmc_err err;
	struct layer *c;
	uint64_t c_gen;
	char cmd[256];

	(void)state;
	build_chain(true);
	c = open_layer("c.dmc");
	memcpy(c_uuid, c->hdr.uuid, DMC_UUID_SIZE);
	c_gen = c->hdr.generation;
	layer_close(c);
	must(range_merge("c.dmc", "0", "b.dmc", MERGE_STOP_NONE, &res, &err), &err);
	assert_false(res.resumed);
	assert_true(res.raw_target);
	assert_int_equal(res.nr_sources, 2);
	assert_string_equal(res.target, path("base.img"));
	assert_int_equal(res.nr_relinked, 1);
	assert_string_equal(res.relinked[0], path("c.dmc"));
	assert_raw_range_done(c_uuid, c_gen, "b.dmc");
	/* Issued again: done (exit 9), nothing written. */
	assert_int_equal(range_merge("c.dmc", "0", "b.dmc", MERGE_STOP_NONE,
				     &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_MERGED);
	assert_non_null(strstr(err.msg, "already merged into"));
	/* One source: a into base.img under b (b relinked), c untouched. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", fx->dir);
	assert_int_equal(system(cmd), 0);
	build_chain(true);
	must(range_merge("c.dmc", "base.img", "a.dmc", MERGE_STOP_NONE, &res, &err),
	     &err);
	assert_int_equal(res.nr_sources, 1);
	assert_int_equal(res.nr_relinked, 1);
	assert_string_equal(res.relinked[0], path("b.dmc"));
	c = open_layer("b.dmc");
	assert_int_equal(c->hdr.parent_kind, DMC_PARENT_RAW);
	layer_close(c);
	assert_opens_clean("c.dmc", 3);
}

/*
 * Into a raw base the relink comes after the data: stopped before it, c
 * still records b and a (the bottom source) holds the journal; from it
 * on, c records the raw base and is whole without the sources, which the
 * same command or 'check -r a' finishes.  BEFORE_FINISH is not a stop
 * here: marking the holder ends the journal, so the merge is done.
 */
static void raw_range_stop_case(enum merge_stop_point stop, bool by_check)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	uint8_t b_uuid[DMC_UUID_SIZE], c_uuid[DMC_UUID_SIZE];
	bool relinked = stop == MERGE_STOP_AFTER_RELINK ||
			stop == MERGE_STOP_AFTER_FIRST_MARK;
	const struct merge_result *r;
	struct merge_result res;
	struct dmc_err err;
	struct layer *a, *c;
	struct chain ch;
	uint64_t c_gen;
	char cmd[256];

	assert_non_null(rep);
	rebuild_chain(true, c_uuid, b_uuid, &c_gen);
	assert_int_equal(range_merge("c.dmc", "0", "b.dmc", stop, &res, &err), 1);
	a = open_layer("a.dmc");
	assert_int_not_equal(a->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(a->hdr.journal.nr_sources, 2);
	assert_string_equal(a->hdr.journal.top_path, "b.dmc");
	layer_close(a);
	c = open_layer("c.dmc");
	if (relinked) {
		assert_int_equal(c->hdr.parent_kind, DMC_PARENT_RAW);
	} else {
		assert_int_equal(c->hdr.parent_kind, DMC_PARENT_LAYER);
		assert_memory_equal(c->hdr.parent_uuid, b_uuid, DMC_UUID_SIZE);
	}
	layer_close(c);
	if (relinked) {
		assert_opens_clean("c.dmc", 2);
	} else {
		dmc_err_clear(&err);
		must(chain_open(path("c.dmc"), CHAIN_ALLOW_MERGED_AWAY, &ch, &err),
		     &err);
		assert_int_equal(ch.nr, 4);
		chain_close(&ch);
		assert_chain_is_ref("c.dmc");
		/* The ordinary merge of c writes nothing and names check -r a. */
		assert_int_equal(merge("c.dmc", 0, MERGE_STOP_NONE, &res, &err), -1);
		snprintf(cmd, sizeof(cmd), "chainctl layer check -r %s", path("a.dmc"));
		if (!strstr(err.msg, cmd))
			fail_msg("stop %d: layer merge c: %s", (int)stop, err.msg);
	}
	if (by_check) {
		layer_check(path("a.dmc"), true, &tmpl, rep);
		if (!rep->merge_finished)
			fail_msg("stop %d: check -r a: verdict %d: %s", (int)stop,
				 (int)rep->verdict,
				 rep->nr_findings ? rep->findings[0].msg : "");
		r = &rep->merge;
	} else {
		if (range_merge("c.dmc", "0", "b.dmc", MERGE_STOP_NONE, &res, &err))
			fail_msg("stop %d: merge again: %s", (int)stop, err.msg);
		r = &res;
	}
	assert_true(r->resumed);
	assert_int_equal(r->nr_relinked, relinked ? 0 : 1);
	assert_raw_range_done(c_uuid, c_gen, "b.dmc");
	free(rep);
}

static void test_range_merge_raw_interrupted(void **state)
{
	static const enum merge_stop_point stops[] = {
		MERGE_STOP_AFTER_JOURNAL, MERGE_STOP_AFTER_BATCH,
		MERGE_STOP_AFTER_DATA, MERGE_STOP_AFTER_RELINK,
		MERGE_STOP_AFTER_FIRST_MARK,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		raw_range_stop_case(stops[i], false);
		raw_range_stop_case(stops[i], true);
	}
}

/*
 * Item 11: a FIFO given as a layer used to block open() until a writer
 * came.  Every path that opens a layer refuses it at once.  SIGALRM ends
 * the test (and fails it) if anything blocks.
 */
static void test_fifo_refused(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct layer_create_opts o = { 0 };
	struct merge_result res;
	struct dmc_err err;
	struct layer *l;
	struct chain ch;

	(void)state;
	assert_int_equal(mkfifo(path("fifo.dmc"), 0600), 0);
	alarm(10);
	dmc_err_clear(&err);
	assert_int_equal(layer_open(path("fifo.dmc"), 0, &l, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_USAGE);
	assert_non_null(strstr(err.msg, "fifo.dmc: not a regular file (a FIFO)"));
	dmc_err_clear(&err);
	assert_int_equal(layer_open(path("fifo.dmc"), LAYER_RDWR | LAYER_LOCK_EX,
				    &l, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("fifo.dmc"), CHAIN_LOAD_MAPS, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	chain_close(&ch);
	layer_check(path("fifo.dmc"), false, &tmpl, rep);
	assert_int_not_equal(rep->verdict, CHECK_CLEAN);
	assert_non_null(strstr(rep->findings[0].msg, "not a regular file"));
	assert_int_equal(merge("fifo.dmc", 1, MERGE_STOP_NONE, &res, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	dmc_err_clear(&err);
	o.parent = path("fifo.dmc");
	assert_int_equal(layer_create(path("child.dmc"), &o, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(access(path("child.dmc"), F_OK), -1);
	/* A parent path hint that names a FIFO. */
	create("base.dmc", NULL);
	create("top.dmc", "base.dmc");
	assert_int_equal(rename(path("base.dmc"), path("real.dmc")), 0);
	assert_int_equal(mkfifo(path("base.dmc"), 0600), 0);
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("top.dmc"), 0, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "base.dmc: not a regular file"));
	chain_close(&ch);
	alarm(0);
	free(rep);
}

/* A torn slot in a journal holder: 8 while locked (nothing touched), else 5. */
static void test_check_running_merge_untouched(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct merge_result res;
	struct dmc_err err;
	struct layer *b;
	int fd, other;

	(void)state;
	build_chain(false);
	assert_int_equal(merge("c.dmc", 1, MERGE_STOP_AFTER_JOURNAL, &res, &err), 1);
	b = open_layer("b.dmc");
	other = b->cur_slot ^ 1;
	layer_close(b);
	corrupt_bytes("b.dmc", other * DMC_SLOT_SIZE + 100, 8);
	fd = open(path("b.dmc"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	layer_check(path("b.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_MERGE_RUNNING);
	close(fd);
	b = open_layer("b.dmc");
	assert_int_not_equal(b->slot_status[other], SLOT_VALID);
	assert_int_equal(b->hdr.journal.state, DMC_JOURNAL_MERGING);
	layer_close(b);
	layer_check(path("b.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_NEEDS_REPAIR);
	layer_check(path("b.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_REPAIRED);
	assert_true(rep->merge_finished);
	assert_chain_is_ref("b.dmc");
	free(rep);
}

static void test_bad_files(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct dmc_err err;
	struct layer *l;
	struct chain ch;

	(void)state;
	build_chain(false);
	/* Truncated layer. */
	assert_int_equal(truncate(path("b.dmc"), 1 << 20), 0);
	dmc_err_clear(&err);
	assert_int_equal(layer_open(path("b.dmc"), 0, &l, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "truncated"));
	/* The chain above names the broken file. */
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("c.dmc"), 0, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "b.dmc"));
	chain_close(&ch);
	/* Missing parent: could not check, message names the hint. */
	assert_int_equal(unlink(path("b.dmc")), 0);
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("c.dmc"), 0, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "missing"));
	chain_close(&ch);
	layer_check(path("c.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_FAILED);
	/* Another layer in the parent's place: uuid mismatch, refused. */
	create("x.dmc", NULL);
	create("y.dmc", "x.dmc");
	assert_int_equal(rename(path("base.dmc"), path("x.dmc")), 0);
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("y.dmc"), 0, &ch, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_STALE);
	assert_non_null(strstr(err.msg, "expected"));
	chain_close(&ch);
	/* A raw file is not a layer to open a chain from. */
	make_raw("plain.img", false);
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("plain.img"), 0, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "not a dm-chain layer"));
	chain_close(&ch);
	free(rep);
}

/*
 * A raw parent whose first bytes form a valid dm-chain header (written by
 * its guest, naming a parent of its choice) is opened as raw, because the
 * child records a raw parent: the chain ends there, and the raw link holds.
 * The same for a child made with --raw-parent after the header was there.
 */
static void test_raw_parent_with_header_stays_raw(void **state)
{
	struct layer_create_opts o = { 0 };
	unsigned char hdr[2 * DMC_SLOT_SIZE];
	struct dmc_err err;
	struct chain ch;
	int fd;

	(void)state;
	make_raw("guest.img", true);
	create("top.dmc", "guest.img");
	/* The guest copies a real layer's header slots over its block 0. */
	create("secret.dmc", NULL);
	create("evil.dmc", "secret.dmc");
	fd = open(path("evil.dmc"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);
	fd = open(path("guest.img"), O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);

	dmc_err_clear(&err);
	must(chain_open(path("top.dmc"), CHAIN_LOAD_MAPS, &ch, &err), &err);
	assert_int_equal(ch.nr, 2);
	assert_true(ch.layers[1]->is_raw);
	chain_close(&ch);

	/* --raw-parent: a child of the image as it is now, still raw. */
	dmc_err_clear(&err);
	o.parent = path("guest.img");
	o.parent_raw = true;
	must(layer_create(path("snap.dmc"), &o, &err), &err);
	must(chain_open(path("snap.dmc"), 0, &ch, &err), &err);
	assert_int_equal(ch.nr, 2);
	assert_true(ch.layers[1]->is_raw);
	assert_int_equal(ch.layers[0]->hdr.parent_kind, DMC_PARENT_RAW);
	chain_close(&ch);
}

/*
 * A chain of DMC_MAX_LAYERS layers opens (the target's limit, more files
 * than the default soft limit of open files); one more is refused.
 */
static void test_depth_limit(void **state)
{
	char name[32], parent[32];
	struct rlimit saved, low;
	struct dmc_err err;
	struct chain ch;
	unsigned int i;

	(void)state;
	/* As a login shell leaves it: chain_open() must make room. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = 1024;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	create("d0.dmc", NULL);
	for (i = 1; i <= DMC_MAX_LAYERS; i++) {
		snprintf(name, sizeof(name), "d%u.dmc", i);
		snprintf(parent, sizeof(parent), "d%u.dmc", i - 1);
		create(name, parent);
	}
	snprintf(name, sizeof(name), "d%d.dmc", DMC_MAX_LAYERS - 1);
	dmc_err_clear(&err);
	must(chain_open(path(name), CHAIN_LOAD_MAPS, &ch, &err), &err);
	assert_int_equal(ch.nr, DMC_MAX_LAYERS);
	chain_close(&ch);
	snprintf(name, sizeof(name), "d%d.dmc", DMC_MAX_LAYERS);
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path(name), 0, &ch, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_CORRUPT);
	snprintf(name, sizeof(name), "deeper than %d layers", DMC_MAX_LAYERS);
	assert_non_null(strstr(err.msg, name));
	chain_close(&ch);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

/* Writing into a layer with children makes them stale (generation). */
/*
 * base <- top, top covering most of base: the swap moves base's blocks
 * 20-23 and 45-47 (data) and 50-51 (zero) up, 3 runs against top's 6.
 */
static void build_covering(void)
{
	memset(fx->ref, 0, VSIZE);
	create("base.dmc", NULL);
	write_blocks("base.dmc", 0, 48);
	zero_blocks("base.dmc", 50, 2);
	create("top.dmc", "base.dmc");
	write_blocks("top.dmc", 0, 20);
	write_blocks("top.dmc", 24, 20);
	zero_blocks("top.dmc", 44, 1);
	write_blocks("top.dmc", 55, 1);
	write_blocks("top.dmc", 57, 1);
	write_blocks("top.dmc", 60, 2);
}

static int merge_side(const char *leaf, enum merge_side side,
		      enum merge_stop_point stop, struct merge_result *res,
		      struct dmc_err *err)
{
	struct merge_request rq = { 0 };

	dmc_err_clear(err);
	rq.leaf = path(leaf);
	rq.side = side;
	rq.stop_at = stop;
	rq.batch_runs = 2;
	return merge_run(&rq, res, err);
}

/* base.dmc is the merged target at GEN, alone, showing the reference. */
static void assert_swapped(uint64_t gen, const uint8_t *uuid)
{
	struct layer *t = open_layer("base.dmc");

	assert_memory_equal(t->hdr.uuid, uuid, DMC_UUID_SIZE);
	assert_int_equal(t->hdr.generation, gen);
	assert_int_equal(t->hdr.parent_kind, DMC_PARENT_NONE);
	assert_int_equal(t->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(t->hdr.incompat_features, 0);
	assert_int_equal(dmc_map_get(t->map, 44), DMC_BLOCK_ZERO);
	assert_int_equal(dmc_map_get(t->map, 50), DMC_BLOCK_ZERO);
	assert_int_equal(dmc_map_get(t->map, 62), DMC_BLOCK_ABSENT);
	layer_close(t);
	/* At the source's path: a marker, merged away into the target. */
	t = open_layer("top.dmc");
	assert_int_equal(t->hdr.state, DMC_STATE_MERGED_AWAY);
	assert_memory_equal(t->hdr.merged_into_uuid, uuid, DMC_UUID_SIZE);
	assert_int_equal(t->hdr.journal.state, DMC_JOURNAL_NONE);
	assert_int_equal(dmc_map_get(t->map, 0), DMC_BLOCK_ABSENT);
	layer_close(t);
	assert_int_equal(access(path(".top.dmc.swap-marker"), F_OK), -1);
	assert_chain_is_ref("base.dmc");
}

static void test_swap_merge(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	uint8_t uuid[DMC_UUID_SIZE];
	struct layer *t;
	struct chain ch;
	uint64_t gen;

	(void)state;
	build_covering();
	create("sib.dmc", "base.dmc");
	t = open_layer("base.dmc");
	memcpy(uuid, t->hdr.uuid, DMC_UUID_SIZE);
	gen = t->hdr.generation;
	layer_close(t);
	must(merge_side("top.dmc", MERGE_SIDE_AUTO, MERGE_STOP_NONE, &res, &err), &err);
	assert_true(res.swapped);
	assert_false(res.resumed);
	assert_int_equal(res.nr_sources, 1);
	assert_int_equal(res.data_blocks, 7);
	assert_int_equal(res.data_runs, 2);
	assert_int_equal(res.zero_blocks, 2);
	assert_int_equal(res.new_generation, gen + 1);
	assert_string_equal(res.target, path("base.dmc"));
	assert_non_null(strstr(res.side_why, "source 45 blocks in 6 runs"));
	assert_non_null(strstr(res.side_why, "unshadowed 9 blocks in 3 runs"));
	assert_swapped(gen + 1, uuid);
	/* Issued again: done, as after a classic merge (exit 9). */
	assert_int_equal(merge_side("top.dmc", MERGE_SIDE_AUTO, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_MERGED);
	/* A sibling made before the merge is stale, as after any merge. */
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("sib.dmc"), 0, &ch, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_STALE);
	chain_close(&ch);
	/* A child made on the result sees it. */
	create("next.dmc", "base.dmc");
	assert_chain_is_ref("next.dmc");
}

/* merge_progress_fn: keep the last (done, total). */
static void record_progress(uint64_t done, uint64_t total, void *arg)
{
	uint64_t *seen = arg;

	seen[0] = done;
	seen[1] = total;
}

static void test_swap_side_choice(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct layer *t;

	(void)state;
	/* A child covering little of its parent: the classic side. */
	memset(fx->ref, 0, VSIZE);
	create("base.dmc", NULL);
	write_blocks("base.dmc", 0, 48);
	create("top.dmc", "base.dmc");
	write_blocks("top.dmc", 3, 2);
	must(merge_side("top.dmc", MERGE_SIDE_AUTO, MERGE_STOP_NONE, &res, &err), &err);
	assert_false(res.swapped);
	assert_non_null(strstr(res.side_why, "source 2 blocks in 1 runs"));
	t = open_layer("top.dmc");
	assert_int_equal(t->hdr.state, DMC_STATE_MERGED_AWAY);
	layer_close(t);
	assert_chain_is_ref("base.dmc");
	/* The library's default side (a zeroed request) is the target,
	 * whatever the cost; chainctl asks for auto. */
	create("top2.dmc", "base.dmc");
	write_blocks("top2.dmc", 0, 64);
	must(merge_side("top2.dmc", MERGE_SIDE_TARGET, MERGE_STOP_NONE, &res, &err), &err);
	assert_false(res.swapped);
	assert_string_equal(res.side_why, "");
	assert_int_equal(res.data_blocks, 64);
	assert_chain_is_ref("base.dmc");
	/* Forced onto a child that covers nothing: a pure rename; the bar
	 * follows the blocks moved up. */
	create("top3.dmc", "base.dmc");
	{
		struct merge_request rq = { 0 };
		uint64_t seen[2] = { 0, 0 };

		dmc_err_clear(&err);
		rq.leaf = path("top3.dmc");
		rq.side = MERGE_SIDE_SOURCE;
		rq.progress = record_progress;
		rq.progress_arg = seen;
		must(merge_run(&rq, &res, &err), &err);
		assert_int_equal(seen[0], 64);
		assert_int_equal(seen[1], 64);
	}
	assert_true(res.swapped);
	assert_int_equal(res.data_blocks, 64);
	t = open_layer("top3.dmc");
	assert_int_equal(t->hdr.state, DMC_STATE_MERGED_AWAY);
	layer_close(t);
	assert_chain_is_ref("base.dmc");
	/* With --delete the marker is not left. */
	create("top4.dmc", "base.dmc");
	write_blocks("top4.dmc", 0, 60);
	{
		struct merge_request rq = { 0 };

		dmc_err_clear(&err);
		rq.leaf = path("top4.dmc");
		rq.side = MERGE_SIDE_SOURCE;
		rq.delete_sources = true;
		must(merge_run(&rq, &res, &err), &err);
	}
	assert_true(res.swapped);
	assert_true(res.deleted);
	assert_int_equal(access(path("top4.dmc"), F_OK), -1);
	assert_int_equal(access(path(".top4.dmc.swap-marker"), F_OK), -1);
	assert_chain_is_ref("base.dmc");
}

static void test_swap_refusals(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	char cmd[256];

	(void)state;
	build_chain(false);
	/* Two sources. */
	assert_int_equal(merge_side("c.dmc", MERGE_SIDE_SOURCE, MERGE_STOP_NONE, &res, &err), 0);
	assert_chain_is_ref("b.dmc");
	create("d.dmc", "b.dmc");
	create("e.dmc", "d.dmc");
	write_blocks("e.dmc", 9, 1);
	dmc_err_clear(&err);
	{
		struct merge_request rq = { 0 };

		rq.leaf = path("e.dmc");
		rq.depth = 2;
		rq.side = MERGE_SIDE_SOURCE;
		assert_int_equal(merge_run(&rq, &res, &err), -1);
	}
	assert_int_equal(err.kind, DMC_ERR_USAGE);
	assert_non_null(strstr(err.msg, "more than one source"));
	assert_chain_is_ref("e.dmc");
	/* Another directory: the swap renames, so it is refused. */
	snprintf(cmd, sizeof(cmd), "mkdir '%s/sub'", fx->dir);
	assert_int_equal(system(cmd), 0);
	{
		struct layer_create_opts o = { 0 };

		o.block_shift = 12;
		o.parent = path("e.dmc");
		dmc_err_clear(&err);
		must(layer_create(path("sub/f.dmc"), &o, &err), &err);
	}
	write_blocks("sub/f.dmc", 1, 1);
	assert_int_equal(merge_side("sub/f.dmc", MERGE_SIDE_SOURCE, MERGE_STOP_NONE, &res, &err), -1);
	assert_non_null(strstr(err.msg, "one directory"));
	/* Auto there: the classic merge, saying why. */
	must(merge_side("sub/f.dmc", MERGE_SIDE_AUTO, MERGE_STOP_NONE, &res, &err), &err);
	assert_false(res.swapped);
	assert_non_null(strstr(res.side_why, "no swap: "));
	assert_chain_is_ref("e.dmc");
}

/* A forced swap of base <- top refused, naming WHAT; nothing changed. */
static void assert_swap_refused(const char *what)
{
	struct merge_result res;
	struct dmc_err err;

	assert_int_equal(merge_side("top.dmc", MERGE_SIDE_SOURCE, MERGE_STOP_NONE, &res, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_USAGE);
	if (!strstr(err.msg, what))
		fail_msg("expected \"%s\" in: %s", what, err.msg);
	assert_chain_is_ref("top.dmc");
}

/*
 * The swap puts the source's file at the target's path: it is refused
 * (and auto merges down) where that would change the path's owner,
 * permissions or extended attributes, or leave a hard link on the old file.
 */
static void test_swap_keeps_what_the_path_shows(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct stat st;

	(void)state;
	build_covering();
	assert_int_equal(stat(path("base.dmc"), &st), 0);
	assert_int_equal(chmod(path("base.dmc"), 0600), 0);
	assert_swap_refused("the target's permissions 0600 differ from the source's");
	assert_int_equal(chmod(path("base.dmc"), st.st_mode & 07777), 0);
	assert_int_equal(link(path("base.dmc"), path("base-link.dmc")), 0);
	assert_swap_refused("another hard link");
	assert_int_equal(unlink(path("base-link.dmc")), 0);
	if (setxattr(path("top.dmc"), "user.dmc-test", "1", 1, 0) && errno == ENOTSUP) {
		print_message("no user extended attributes in %s: that part not run\n", fx->dir);
	} else {
		assert_swap_refused("different extended attributes");
		assert_int_equal(setxattr(path("base.dmc"), "user.dmc-test", "2", 1, 0), 0);
		assert_swap_refused("the extended attribute user.dmc-test differs");
		assert_int_equal(setxattr(path("base.dmc"), "user.dmc-test", "1", 1, 0), 0);
	}
	/* Auto with the permissions apart: the classic merge, saying why. */
	assert_int_equal(chmod(path("base.dmc"), 0600), 0);
	must(merge_side("top.dmc", MERGE_SIDE_AUTO, MERGE_STOP_NONE, &res, &err), &err);
	assert_false(res.swapped);
	assert_non_null(strstr(res.side_why, "no swap: the target's permissions"));
	assert_chain_is_ref("base.dmc");
	assert_int_equal(stat(path("base.dmc"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* Stop a swap at STOP, then finish it the FINISHER way (0 merge the
 * source, 1 check -r the target, 2 merge the target's path). */
static void swap_stop_and_finish(enum merge_stop_point stop, int finisher)
{
	struct merge_request tmpl = { 0 };
	struct check_report *rep = calloc(1, sizeof(*rep));
	uint8_t uuid[DMC_UUID_SIZE];
	struct merge_result res;
	struct dmc_err err;
	struct layer *t;
	struct chain ch;
	char cmd[256];
	uint64_t gen;

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", fx->dir);
	assert_int_equal(system(cmd), 0);
	build_covering();
	t = open_layer("base.dmc");
	memcpy(uuid, t->hdr.uuid, DMC_UUID_SIZE);
	gen = t->hdr.generation;
	layer_close(t);
	assert_int_equal(merge_side("top.dmc", MERGE_SIDE_SOURCE, stop, &res, &err), 1);
	if (stop <= MERGE_STOP_AFTER_DATA) {
		/* T as it was, with the journal: the chain reads the same. */
		t = open_layer("base.dmc");
		assert_true(layer_holds_swap(t));
		assert_int_equal(t->hdr.incompat_features, DMC_INCOMPAT_JOURNAL_SWAP);
		assert_int_equal(t->hdr.generation, gen);
		assert_string_equal(t->hdr.journal.top_path, "top.dmc");
		assert_string_equal(t->hdr.journal.swap_target_path, "base.dmc");
		layer_close(t);
		assert_chain_is_ref("top.dmc");
		layer_check(path("base.dmc"), false, &tmpl, rep);
		assert_int_equal(rep->verdict, stop == MERGE_STOP_AFTER_DATA ?
				 CHECK_MERGE_FINISHING : CHECK_MERGE_INTERRUPTED);
	} else {
		/* The swapped file, at the source's path or at T's. */
		t = open_layer(stop == MERGE_STOP_AFTER_RENAME ? "base.dmc" : "top.dmc");
		assert_true(layer_holds_swap(t));
		assert_int_equal(t->hdr.generation, gen + 1);
		assert_memory_equal(t->hdr.uuid, uuid, DMC_UUID_SIZE);
		assert_string_equal(t->hdr.journal.top_path, "top.dmc");
		assert_string_equal(t->hdr.journal.swap_target_path, "base.dmc");
		assert_int_equal(t->hdr.state, DMC_STATE_VALID);
		layer_close(t);
		/* The marker waits under its own name. */
		assert_int_equal(access(path(".top.dmc.swap-marker"), F_OK), 0);
		assert_int_equal(access(path("top.dmc"), F_OK),
				 stop == MERGE_STOP_AFTER_RENAME ? -1 : 0);
		/* Refused as a leaf until finished: its journal is active. */
		dmc_err_clear(&err);
		assert_int_equal(chain_open(path("base.dmc"), 0, &ch, &err), -1);
		chain_close(&ch);
	}
	if (finisher == 0 && stop != MERGE_STOP_AFTER_RENAME) {
		must(merge_side("top.dmc", MERGE_SIDE_TARGET, MERGE_STOP_NONE, &res, &err), &err);
	} else if (finisher == 1) {
		layer_check(path("base.dmc"), true, &tmpl, rep);
		assert_int_equal(rep->verdict, CHECK_REPAIRED);
		assert_true(rep->merge_finished);
		res.swapped = true;
		res.resumed = true;
	} else {
		must(merge_side("base.dmc", MERGE_SIDE_TARGET, MERGE_STOP_NONE, &res, &err), &err);
	}
	assert_true(res.swapped);
	assert_true(res.resumed);
	assert_swapped(gen + 1, uuid);
	layer_check(path("base.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CLEAN);
	free(rep);
}

static void test_swap_interrupted(void **state)
{
	static const enum merge_stop_point stops[] = {
		MERGE_STOP_AFTER_JOURNAL, MERGE_STOP_AFTER_BATCH,
		MERGE_STOP_AFTER_DATA, MERGE_STOP_AFTER_SWAP_HEADER,
		MERGE_STOP_AFTER_RENAME,
	};
	size_t i;
	int f;

	(void)state;
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		for (f = 0; f < 3; f++)
			swap_stop_and_finish(stops[i], f);
}

/* A target in the middle of the chain keeps its parent through a swap. */
static void test_swap_mid_chain(void **state)
{
	struct merge_result res;
	struct dmc_err err;
	struct layer *t, *b;

	(void)state;
	memset(fx->ref, 0, VSIZE);
	create("root.dmc", NULL);
	write_blocks("root.dmc", 0, 64);
	create("base.dmc", "root.dmc");
	write_blocks("base.dmc", 10, 20);
	create("top.dmc", "base.dmc");
	write_blocks("top.dmc", 12, 17);
	must(merge_side("top.dmc", MERGE_SIDE_SOURCE, MERGE_STOP_NONE, &res, &err), &err);
	assert_true(res.swapped);
	assert_int_equal(res.data_blocks, 3);	/* 10, 11 and 29 */
	t = open_layer("base.dmc");
	b = open_layer("root.dmc");
	assert_int_equal(t->hdr.parent_kind, DMC_PARENT_LAYER);
	assert_memory_equal(t->hdr.parent_uuid, b->hdr.uuid, DMC_UUID_SIZE);
	assert_int_equal(t->hdr.parent_generation, b->hdr.generation);
	assert_string_equal(t->hdr.parent_path, "root.dmc");
	/* Blocks below the range stay with the root: absent in the target. */
	assert_int_equal(dmc_map_get(t->map, 0), DMC_BLOCK_ABSENT);
	assert_int_equal(dmc_map_get(t->map, 30), DMC_BLOCK_ABSENT);
	layer_close(t);
	layer_close(b);
	assert_chain_is_ref("base.dmc");
}

/* Finishing when a file was removed by hand in the middle of a swap. */
static void test_swap_files_gone(void **state)
{
	struct merge_request tmpl = { 0 };
	uint8_t uuid[DMC_UUID_SIZE];
	struct merge_result res;
	struct dmc_err err;
	struct layer *t;
	char cmd[256];
	uint64_t gen;

	(void)state;
	/* The source gone during the data phase: T alone is not the merge. */
	build_covering();
	assert_int_equal(merge_side("top.dmc", MERGE_SIDE_SOURCE, MERGE_STOP_AFTER_BATCH,
				    &res, &err), 1);
	assert_int_equal(unlink(path("top.dmc")), 0);
	dmc_err_clear(&err);
	assert_int_equal(merge_resume_holder(path("base.dmc"), &tmpl, &res, &err), -1);
	assert_non_null(strstr(err.msg, "is missing"));
	assert_non_null(strstr(err.msg, "does not hold the merged data"));
	t = open_layer("base.dmc");
	assert_true(layer_holds_swap(t));
	layer_close(t);

	/* T gone after the swapped header: the swapped file holds all of it. */
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/* '%s'/.??*", fx->dir, fx->dir);
	assert_int_equal(system(cmd), 0);
	build_covering();
	t = open_layer("base.dmc");
	memcpy(uuid, t->hdr.uuid, DMC_UUID_SIZE);
	gen = t->hdr.generation;
	layer_close(t);
	assert_int_equal(merge_side("top.dmc", MERGE_SIDE_SOURCE, MERGE_STOP_AFTER_SWAP_HEADER,
				    &res, &err), 1);
	assert_int_equal(unlink(path("base.dmc")), 0);
	dmc_err_clear(&err);
	must(merge_resume_holder(path("top.dmc"), &tmpl, &res, &err), &err);
	assert_true(res.swapped);
	assert_swapped(gen + 1, uuid);

	/* Another layer at T's path: the swapped file does not replace it. */
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/* '%s'/.??*", fx->dir, fx->dir);
	assert_int_equal(system(cmd), 0);
	build_covering();
	assert_int_equal(merge_side("top.dmc", MERGE_SIDE_SOURCE, MERGE_STOP_AFTER_SWAP_HEADER,
				    &res, &err), 1);
	assert_int_equal(unlink(path("base.dmc")), 0);
	create("base.dmc", NULL);
	dmc_err_clear(&err);
	assert_int_equal(merge_resume_holder(path("top.dmc"), &tmpl, &res, &err), -1);
	assert_non_null(strstr(err.msg, "another layer now"));
	t = open_layer("top.dmc");
	assert_true(layer_holds_swap(t));
	layer_close(t);
}

/* NAME's list state, and (when present) whether it checks out. */
static enum dmc_xlist_verdict list_of(const char *name, bool *ok)
{
	struct extent_list_check xc;
	struct dmc_err err;
	struct layer *l = open_layer(name);

	dmc_err_clear(&err);
	must(layer_check_extent_list(l, &xc, &err), &err);
	layer_close(l);
	*ok = xc.ok;
	return xc.state;
}

static void assert_list_present(const char *name)
{
	bool ok;

	assert_int_equal(list_of(name, &ok), DMC_XLIST_CURRENT);
	if (!ok)
		fail_msg("%s: extent list does not check out", name);
}

/*
 * The extent list (docs/format.md): a layer gets one when it gets a child,
 * goes stale when written, is checked against the map and rewritten from
 * it by check -r, and a range merge gives the target its new one.
 */
static void test_extent_list(void **state)
{
	struct check_report *rep = calloc(1, sizeof(*rep));
	struct merge_request tmpl = { 0 };
	struct layer_header h;
	struct merge_result res;
	struct dmc_err err;
	struct layer *l;
	uint8_t rec[DMC_EXTENT_SIZE];
	__u64 first, length;
	__u32 st;
	bool ok;
	int fd;

	(void)state;
	build_chain(false);
	assert_list_present("base.dmc");
	assert_list_present("a.dmc");
	assert_list_present("b.dmc");
	assert_int_equal(list_of("c.dmc", &ok), DMC_XLIST_NONE);
	layer_check(path("b.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CLEAN);

	/* A second child does not rewrite a present list. */
	l = open_layer("b.dmc");
	h = l->hdr;
	layer_close(l);
	create("b2.dmc", "b.dmc");
	l = open_layer("b.dmc");
	assert_int_equal(l->hdr.sequence, h.sequence);
	layer_close(l);
	unlink(path("b2.dmc"));

	/* One record of b's list changed: its checksum catches it. */
	l = open_layer("b.dmc");
	corrupt_bytes("b.dmc", l->hdr.xlist.offset + 3, 1);
	layer_close(l);
	assert_int_equal(list_of("b.dmc", &ok), DMC_XLIST_CURRENT);
	assert_false(ok);
	layer_check(path("b.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_NEEDS_REPAIR);
	assert_non_null(strstr(rep->findings[0].msg, "extent list"));
	layer_check(path("b.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_REPAIRED);
	assert_list_present("b.dmc");

	/*
	 * A well-formed list with the right checksum that says something
	 * else than the map: only the comparison with the map catches it.
	 */
	l = open_layer("a.dmc");
	dmc_err_clear(&err);
	must(layer_make_writable(l, &err), &err);
	assert_int_equal(pread(l->fd, rec, sizeof(rec), (off_t)l->hdr.xlist.offset),
			 (ssize_t)sizeof(rec));
	dmc_extent_get(rec, &first, &length, &st);
	dmc_extent_put(rec, first, length, st == DMC_BLOCK_DATA ? DMC_BLOCK_ZERO :
							      DMC_BLOCK_DATA);
	assert_int_equal(pwrite(l->fd, rec, sizeof(rec), (off_t)l->hdr.xlist.offset),
			 (ssize_t)sizeof(rec));
	h = l->hdr;
	{
		uint8_t *all = malloc(h.xlist.count * DMC_EXTENT_SIZE);

		assert_int_equal(pread(l->fd, all, h.xlist.count * DMC_EXTENT_SIZE,
				       (off_t)h.xlist.offset),
				 (ssize_t)(h.xlist.count * DMC_EXTENT_SIZE));
		h.xlist.checksum = ~dmc_crc32c(~0U, all, h.xlist.count * DMC_EXTENT_SIZE);
		free(all);
	}
	must(layer_write_header(l, &h, &err), &err);
	layer_close(l);
	assert_int_equal(list_of("a.dmc", &ok), DMC_XLIST_CURRENT);
	assert_false(ok);
	layer_check(path("a.dmc"), true, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_REPAIRED);
	assert_non_null(strstr(rep->findings[0].msg, "differs from the block map"));
	assert_list_present("a.dmc");

	/* A range merge (b into a, c relinked) leaves a with its new list. */
	must(range_merge("c.dmc", "a.dmc", "b.dmc", MERGE_STOP_NONE, &res, &err), &err);
	assert_list_present("a.dmc");
	assert_chain_is_ref("c.dmc");

	/*
	 * Writing a layer drops its list before the map changes (the
	 * generation moves only after it).
	 */
	write_blocks("base.dmc", 60, 1);
	assert_int_equal(list_of("base.dmc", &ok), DMC_XLIST_NONE);
	layer_check(path("base.dmc"), false, &tmpl, rep);
	assert_int_equal(rep->verdict, CHECK_CLEAN);

	/*
	 * A parent someone else holds (a live device's LOCK_SH) gets no list,
	 * and its child is made all the same.
	 */
	fd = open(path("c.dmc"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_SH), 0);
	create("d.dmc", "c.dmc");
	assert_int_equal(list_of("c.dmc", &ok), DMC_XLIST_NONE);
	close(fd);
	create("e.dmc", "c.dmc");
	assert_list_present("c.dmc");

	/* A parent read-only by its mode is not written, even by root. */
	create("golden.dmc", NULL);
	write_blocks("golden.dmc", 3, 1);
	assert_int_equal(chmod(path("golden.dmc"), 0444), 0);
	create("g.dmc", "golden.dmc");
	assert_int_equal(list_of("golden.dmc", &ok), DMC_XLIST_NONE);
	assert_int_equal(chmod(path("golden.dmc"), 0644), 0);
	free(rep);
}

static void test_write_bumps_generation(void **state)
{
	struct dmc_err err;
	struct chain ch;

	(void)state;
	build_chain(false);
	write_blocks("b.dmc", 10, 1);
	dmc_err_clear(&err);
	assert_int_equal(chain_open(path("c.dmc"), 0, &ch, &err), -1);
	assert_int_equal(err.kind, DMC_ERR_STALE);
	chain_close(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_parent_with_header_stays_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_depth_1_into_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_depth_3_into_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_into_raw_base_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_sibling_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_refuses_layer_with_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_merge_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_merge_two_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_merge_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_merge_above_elsewhere, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_range_merge_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_merge_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_merge_raw_interrupted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_journal_stop_and_rerun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_stop_and_check_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_raw_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_source_into_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_with_sources_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_merge_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked_layer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_live_merge_new_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_relinks_layer_on_top_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_relinks_only_exact_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_running_merge_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_map_every_reader_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retire_needs_every_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_bumps_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extent_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_side_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_keeps_what_the_path_shows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_mid_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_files_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
	};

	return cmocka_run_group_tests_name("layer_ops", tests, NULL, NULL);
}
