// SPDX-License-Identifier: GPL-2.0
/* `chainctl layer check`: verdict as exit code, findings as text or JSON. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "chainctl.h"
#include "cmd_layer.h"
#include "json.h"
#include "layer_check.h"

static const char *verdict_str(enum check_verdict v)
{
	switch (v) {
	case CHECK_CLEAN:		return "clean";
	case CHECK_REPAIRED:		return "repaired";
	case CHECK_USAGE:		return "usage error";
	case CHECK_CORRUPT:		return "corrupt";
	case CHECK_FAILED:		return "could not check";
	case CHECK_NEEDS_REPAIR:	return "needs repair";
	case CHECK_MERGE_INTERRUPTED:	return "merge interrupted (resumable)";
	case CHECK_MERGE_FINISHING:	return "merge finishing (data complete)";
	case CHECK_MERGE_RUNNING:	return "merge in progress";
	case CHECK_MERGED_AWAY:		return "merged away (merge done)";
	}
	return "?";
}

static const char check_help[] =
	"Usage: chainctl layer check [-r [--above-deleted]] [-j] LAYER\n"
	"\n"
	"Verify LAYER: both header slots, header fields, the block map, the file\n"
	"size, and the linkage of the chain below it.  With -r, rewrite a torn\n"
	"header slot and finish an interrupted merge whose journal LAYER holds.\n"
	"\n"
	"  -r, --repair   repair what can be repaired\n"
	"  --above-deleted\n"
	"                 with -r: finish a range merge whose layer above the\n"
	"                 range (named by its journal) was deleted on purpose\n"
	"  -j, --json     JSON output\n"
	"\n"
	"Exit codes: 0 clean, 1 problems found and all repaired, 2 usage error,\n"
	"3 corrupt or unusable (broken linkage), 4 could not check (I/O error,\n"
	"missing file), 5 repairable problems found (run with -r), and for a\n"
	"merge, which is not damage: 6 interrupted while copying data (resumable:\n"
	"run the 'chainctl layer merge' it names, or -r), 7 interrupted after the\n"
	"data (finishing: the same), 8 in progress (the layer is in use by a\n"
	"running merge or a live device), 9 merged away (done: use the layer\n"
	"it was merged into).\n";

int layer_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "above-deleted", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct check_report rep;
	struct merge_request tmpl = { 0 };
	bool json = g_opts.json, repair = false;
	struct json_writer jw;
	unsigned int i;
	int c;

	optind = 0;
	while ((c = cli_getopt("layer check", argc, argv, "rjh", opts)) != -1) {
		switch (c) {
		case 'r': repair = true; break;
		case 'A': tmpl.above_deleted = true; break;
		case 'j': json = true; break;
		case 'h': fputs(check_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return layer_usage_error("check", "expected one LAYER argument");
	if (tmpl.above_deleted && !repair)
		return layer_usage_error("check", "--above-deleted goes with -r");
	layer_check(argv[optind], repair, &tmpl, &rep);
	if (json) {
		json_document_begin(&jw, stdout);
		json_string(&jw, "path", argv[optind]);
		json_string(&jw, "verdict", verdict_str(rep.verdict));
		json_u64(&jw, "exit_code", rep.verdict);
		json_boolean(&jw, "merge_resumable",
			  rep.verdict == CHECK_MERGE_INTERRUPTED ||
			  rep.verdict == CHECK_MERGE_FINISHING);
		/* 0 layers, 0 blocks: the check stopped before it knew them */
		if (rep.chain_depth)
			json_u64(&jw, "layer_count", rep.chain_depth);
		else
			json_null(&jw, "layer_count");
		if (rep.nr_blocks) {
			json_u64(&jw, "virtual_size_blocks", rep.nr_blocks);
			json_u64(&jw, "data_blocks", rep.data_blocks);
			json_u64(&jw, "zero_blocks", rep.zero_blocks);
		} else {
			json_null(&jw, "virtual_size_blocks");
			json_null(&jw, "data_blocks");
			json_null(&jw, "zero_blocks");
		}
		json_array_begin(&jw, "findings");
		for (i = 0; i < rep.nr_findings; i++) {
			json_object_begin(&jw, NULL);
			json_string(&jw, "kind", finding_kind_str(rep.findings[i].kind));
			json_string(&jw, "message", rep.findings[i].msg);
			json_object_end(&jw);
		}
		json_array_end(&jw);
		json_document_end(&jw);
		return rep.verdict;
	}
	for (i = 0; i < rep.nr_findings; i++)
		printf("%s: %s\n", finding_kind_str(rep.findings[i].kind),
		       rep.findings[i].msg);
	if (rep.merge_finished)
		merge_report(&rep.merge, false);
	printf("%s: %s", argv[optind], verdict_str(rep.verdict));
	if (rep.verdict == CHECK_NEEDS_REPAIR)
		printf(" (run 'chainctl layer check -r %s')", argv[optind]);
	if (rep.verdict == CHECK_CLEAN || rep.verdict == CHECK_REPAIRED)
		printf(" (%u layer%s in the chain, %" PRIu64 " data and %" PRIu64
		       " zero blocks of %" PRIu64 ")", rep.chain_depth,
		       rep.chain_depth == 1 ? "" : "s", rep.data_blocks,
		       rep.zero_blocks, rep.nr_blocks);
	putchar('\n');
	return rep.verdict;
}
