// SPDX-License-Identifier: GPL-2.0
/* `chainctl layer merge` and `chainctl layer flatten`, and their reports. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chainctl.h"
#include "cmd_layer.h"
#include "flatten.h"
#include "json.h"
#include "merge.h"
#include "progress.h"
#include "sizes.h"

static int parse_mode(const char *s, enum xfer_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = XFER_AUTO;
	else if (!strcmp(s, "clone"))
		*mode = XFER_CLONE;
	else if (!strcmp(s, "copy"))
		*mode = XFER_COPY;
	else
		return -1;
	return 0;
}

static int parse_side(const char *s, enum merge_side *side)
{
	if (!strcmp(s, "target"))
		*side = MERGE_SIDE_TARGET;
	else if (!strcmp(s, "source"))
		*side = MERGE_SIDE_SOURCE;
	else if (!strcmp(s, "auto"))
		*side = MERGE_SIDE_AUTO;
	else
		return -1;
	return 0;
}

static void json_xfer(struct json_writer *jw, const struct xfer_stats *x)
{
	unsigned int i;

	json_u64(jw, "cloned_bytes", x->bytes_cloned);
	json_u64(jw, "copied_bytes", x->bytes_copied);
	json_u64(jw, "direct_bytes", x->bytes_direct);
	json_u64(jw, "hole_bytes", x->bytes_holes);
	json_u64(jw, "clone_call_count", x->clone_calls);
	json_u64(jw, "copy_range_count", x->copy_ranges);
	json_array_begin(jw, "clone_refused");
	for (i = 0; i < REFUSED_NR; i++) {
		if (!x->refusals[i])
			continue;
		json_object_begin(jw, NULL);
		json_string(jw, "reason", clone_refusal_str((enum clone_refusal)i));
		json_u64(jw, "range_count", x->refusals[i]);
		json_u64(jw, "refused_bytes", x->bytes_refused[i]);
		json_object_end(jw);
	}
	json_array_end(jw);
}

static void print_xfer(const struct xfer_stats *x)
{
	char a[32], b[32];
	unsigned int i;

	printf("  cloned %s in %" PRIu64 " call%s, copied %s in %" PRIu64 " range%s\n",
	       format_size(x->bytes_cloned, a, sizeof(a)), x->clone_calls,
	       x->clone_calls == 1 ? "" : "s",
	       format_size(x->bytes_copied, b, sizeof(b)), x->copy_ranges,
	       x->copy_ranges == 1 ? "" : "s");
	if (x->bytes_direct || x->bytes_holes)
		printf("  of the copy: %s bypassed the page cache, %s were holes\n",
		       format_size(x->bytes_direct, a, sizeof(a)),
		       format_size(x->bytes_holes, b, sizeof(b)));
	for (i = 0; i < REFUSED_NR; i++)
		if (x->refusals[i])
			printf("  cloning refused for %" PRIu64 " range%s (%s): %s\n",
			       x->refusals[i], x->refusals[i] == 1 ? "" : "s",
			       format_size(x->bytes_refused[i], a, sizeof(a)),
			       clone_refusal_str((enum clone_refusal)i));
}

void merge_report(const struct merge_result *r, bool json)
{
	struct json_writer jw;
	unsigned int i;

	if (json) {
		json_document_begin(&jw, stdout);
		json_string(&jw, "target_path", r->target);
		json_boolean(&jw, "raw_target", r->raw_target);
		json_u64(&jw, "source_count", r->nr_sources);
		json_boolean(&jw, "resumed", r->resumed);
		if (!r->raw_target)
			json_u64(&jw, "generation", r->new_generation);
		else
			json_null(&jw, "generation");	/* a raw image has none */
		json_u64(&jw, "block_size_bytes", r->block_size);
		json_u64(&jw, "data_blocks", r->data_blocks);
		json_u64(&jw, "data_run_count", r->data_runs);
		json_u64(&jw, "zero_blocks", r->zero_blocks);
		json_xfer(&jw, &r->xfer);
		json_string(&jw, "side", r->swapped ? "source" : "target");
		json_string(&jw, "side_reason", r->side_why);
		json_boolean(&jw, "deleted", r->deleted);
		json_u64(&jw, "relinked_count", r->nr_relinked);
		json_array_begin(&jw, "relinked_paths");
		for (i = 0; i < r->nr_relinked && i < MERGE_RELINK_NAMED; i++)
			json_string(&jw, NULL, r->relinked[i]);
		json_array_end(&jw);
		json_double(&jw, "elapsed_seconds", r->seconds);
		json_document_end(&jw);
		return;
	}
	printf("%s %u layer%s into %s", r->resumed ? "finished merging" : "merged",
	       r->nr_sources, r->nr_sources == 1 ? "" : "s", r->target);
	if (!r->raw_target)
		printf(" (now generation %" PRIu64 ")", r->new_generation);
	printf(" in %.3f s\n", r->seconds);
	printf("  %" PRIu64 " data block%s in %" PRIu64 " run%s, %" PRIu64
	       " zero block%s\n", r->data_blocks, r->data_blocks == 1 ? "" : "s",
	       r->data_runs, r->data_runs == 1 ? "" : "s", r->zero_blocks,
	       r->zero_blocks == 1 ? "" : "s");
	print_xfer(&r->xfer);
	if (r->swapped)
		printf("  by swapping: the target's blocks moved up into the source, whose file is now %s\n",
		       r->target);
	if (r->side_why[0])
		printf("  side: %s (%s)\n", r->swapped ? "source" : "target",
		       r->side_why);
	for (i = 0; i < r->nr_relinked && i < MERGE_RELINK_NAMED; i++)
		printf("  relinked %s to %s (it sat on the top source)\n",
		       r->relinked[i], r->target);
	if (r->nr_relinked > MERGE_RELINK_NAMED)
		printf("  and %u more layers relinked\n",
		       r->nr_relinked - MERGE_RELINK_NAMED);
	if (r->deleted)
		printf("  merged layers deleted\n");
}

static const char merge_help[] =
	"Usage: chainctl layer merge [--depth N | --into LAYER [--from TOP]]\n"
	"                            [--mode auto|clone|copy] [--side SIDE]\n"
	"                            [--rate MIB_PER_S] [-p] [--delete]\n"
	"                            [--above-deleted] [-j] LEAF\n"
	"\n"
	"Merge the top N layers of the chain ending at LEAF (LEAF is depth 1)\n"
	"into the layer below them, upper layers taking precedence.  Data moves\n"
	"by sharing extents (FICLONERANGE, one call per run of blocks) where the\n"
	"filesystem allows, else by copying; zero blocks become zero state (or\n"
	"holes in a raw base).  The merged layers are then marked merged-away and\n"
	"the target's generation moves on, so other children of the target made\n"
	"before the merge are refused from then on.  An interrupted merge leaves\n"
	"the chain showing the same data; running the same command again (or\n"
	"'chainctl layer check -r TARGET') finishes it.  Run again after it\n"
	"finished, it changes nothing and exits 9 (merged away).  LEAF must be\n"
	"the chain's leaf: a layer that other layers in its directory sit on is\n"
	"refused (merged away, it would leave them unusable).\n"
	"\n"
	"With --into P --from TOP only the layers from TOP down to the one above\n"
	"P are merged, below LEAF, as 'device merge --from' does live: the\n"
	"journal goes into P, then the layer above TOP in LEAF's chain is\n"
	"relinked to P at its new generation, then the data moves and the\n"
	"sources retire.  TOP must be below LEAF (TOP = LEAF is the ordinary\n"
	"merge), P a layer or a raw base, and no other layer in TOP's\n"
	"directory may sit on TOP.  Interrupted, the same command or 'chainctl\n"
	"layer check -r P' finishes it.\n"
	"\n"
	"  -d, --depth N       merge the top N layers (default 1)\n"
	"  -i, --into LAYER    merge everything above LAYER into it: a layer's\n"
	"                      path, or an index from the base (0)\n"
	"  -F, --from TOP      with --into: merge only the layers from TOP (path\n"
	"                      or index, below LEAF) down to LAYER; the layer\n"
	"                      above TOP is relinked to LAYER, LEAF stays the leaf\n"
	"  -m, --mode MODE     auto (clone, copy where refused), clone (fail if\n"
	"                      refused), copy (never share extents)\n"
	"  -s, --side SIDE     one source into a layer: auto (the side with less\n"
	"                      to move; the default), target (move the source's\n"
	"                      blocks down) or source (move the target's blocks\n"
	"                      the source lacks up into it, then the source's\n"
	"                      file becomes the target by rename and a\n"
	"                      merged-away marker takes its path; only for two\n"
	"                      files in one directory with the same owner,\n"
	"                      permissions and extended attributes)\n"
	"  -r, --rate MIB_PER_S  move data at most this fast (0: unlimited, the\n"
	"                      default), to leave the disk to others\n"
	"  -p, --progress      progress bar on a terminal\n"
	"  -D, --delete        delete the merged layers afterwards\n"
	"  --above-deleted     finishing a range merge: the layer above the range\n"
	"                      its journal names was deleted on purpose; finish\n"
	"                      without relinking it\n"
	"  -j, --json          JSON report\n";

int layer_cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "depth", required_argument, NULL, 'd' },
		{ "into", required_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'F' },
		{ "mode", required_argument, NULL, 'm' },
		{ "side", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "progress", no_argument, NULL, 'p' },
		{ "delete", no_argument, NULL, 'D' },
		{ "above-deleted", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct merge_request req = { .side = MERGE_SIDE_AUTO };
	struct merge_result res;
	bool json = g_opts.json, want_progress = false;
	uint64_t rate;
	struct progress bar;
	struct dmc_err err;
	int c, ret;

	optind = 0;
	while ((c = cli_getopt("layer merge", argc, argv, "d:i:F:m:s:r:pDjh", opts)) != -1) {
		switch (c) {
		case 'd':
			if (parse_count(optarg, &req.depth))
				return layer_usage_error("merge", "bad depth '%s'", optarg);
			break;
		case 'i': req.into = optarg; break;
		case 'F': req.from = optarg; break;
		case 'm':
			if (parse_mode(optarg, &req.mode))
				return layer_usage_error("merge", "bad mode '%s'", optarg);
			break;
		case 's':
			if (parse_side(optarg, &req.side))
				return layer_usage_error("merge", "bad side '%s' (target, source or auto)", optarg);
			break;
		case 'r':
			if (parse_uint(optarg, 1U << 20, &rate))
				return layer_usage_error("merge", "bad rate '%s' (MiB/s, 0 for unlimited)",
							 optarg);
			req.rate_bytes_per_s = rate << 20;
			break;
		case 'p': want_progress = true; break;
		case 'D': req.delete_sources = true; break;
		case 'A': req.above_deleted = true; break;
		case 'j': json = true; break;
		case 'h': fputs(merge_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return layer_usage_error("merge", "expected one LEAF argument");
	req.leaf = argv[optind];
	if (req.from && !req.into)
		return layer_usage_error("merge", "--from needs --into (the layer merged into)");
	if (req.from && req.depth)
		return layer_usage_error("merge", "--depth and --from exclude each other (--into and --from choose the range)");
	progress_init(&bar, want_progress, "merging");
	if (bar.enabled) {	/* else the engine need not count the work */
		req.progress = progress_update;
		req.progress_arg = &bar;
	}
	dmc_err_clear(&err);
	ret = merge_run(&req, &res, &err);
	progress_end(&bar, !ret);
	if (ret && err.kind == DMC_ERR_MERGED) {
		/* Issued again after it finished: nothing left to do. */
		errmsg("layer merge: %s (the merge is done)", err.msg);
		return EXIT_MERGED_AWAY;
	}
	if (ret)
		return layer_fail(&err);
	merge_report(&res, json);
	return 0;
}

static const char flatten_help[] =
	"Usage: chainctl layer flatten [--depth N] [--mode auto|clone|copy] [-p] [-j]\n"
	"                              LAYER OUT\n"
	"\n"
	"Write OUT (which must not exist), a standalone raw image of the chain as\n"
	"seen at LAYER (--depth 1, the default) or at the layer N-1 below it.\n"
	"Extents are shared with the layers where the filesystem allows (no data\n"
	"passes through userland), copied where it does not; zeros stay holes.\n"
	"\n"
	"  -d, --depth N       read the chain at depth N (1: LAYER itself)\n"
	"  -m, --mode MODE     auto, clone or copy, as for merge\n"
	"  -p, --progress      progress bar on a terminal\n"
	"  -j, --json          JSON report\n";

int layer_cmd_flatten(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "depth", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "progress", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct flatten_request req = { 0 };
	struct flatten_result res;
	bool json = g_opts.json, want_progress = false;
	struct json_writer jw;
	struct progress bar;
	struct dmc_err err;
	char a[32];
	int c, ret;

	optind = 0;
	while ((c = cli_getopt("layer flatten", argc, argv, "d:m:pjh", opts)) != -1) {
		switch (c) {
		case 'd':
			if (parse_count(optarg, &req.depth))
				return layer_usage_error("flatten", "bad depth '%s'", optarg);
			break;
		case 'm':
			if (parse_mode(optarg, &req.mode))
				return layer_usage_error("flatten", "bad mode '%s'", optarg);
			break;
		case 'p': want_progress = true; break;
		case 'j': json = true; break;
		case 'h': fputs(flatten_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 2)
		return layer_usage_error("flatten", "expected LAYER and OUT");
	req.layer = argv[optind];
	req.out = argv[optind + 1];
	progress_init(&bar, want_progress, "flattening");
	if (bar.enabled) {	/* else the engine need not count the work */
		req.progress = progress_update;
		req.progress_arg = &bar;
	}
	dmc_err_clear(&err);
	ret = flatten_run(&req, &res, &err);
	progress_end(&bar, !ret);
	if (ret)
		return layer_fail(&err);
	if (json) {
		json_document_begin(&jw, stdout);
		json_string(&jw, "output_path", req.out);
		json_u64(&jw, "virtual_size_bytes", res.virtual_size);
		json_u64(&jw, "data_run_count", res.data_runs);
		json_xfer(&jw, &res.xfer);
		json_double(&jw, "elapsed_seconds", res.seconds);
		json_document_end(&jw);
	} else {
		printf("wrote %s (%s) in %.3f s\n", req.out,
		       format_size(res.virtual_size, a, sizeof(a)), res.seconds);
		print_xfer(&res.xfer);
	}
	return 0;
}
