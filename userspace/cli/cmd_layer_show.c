// SPDX-License-Identifier: GPL-2.0
/* `chainctl layer info` and `chainctl layer map`: read-only views. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "chainctl.h"
#include "cmd_layer.h"
#include "extent_list.h"
#include "json.h"
#include "merge_plan.h"
#include "sizes.h"

struct block_counts {
	uint64_t data, zero, absent;
};

static void count_blocks(const struct layer *l, struct block_counts *bc)
{
	uint64_t b, nr = layer_header_nr_blocks(&l->hdr);

	memset(bc, 0, sizeof(*bc));
	for (b = 0; l->map && b < nr; b++) {
		switch (dmc_map_get(l->map, b)) {
		case DMC_BLOCK_DATA: bc->data++; break;
		case DMC_BLOCK_ZERO: bc->zero++; break;
		default: bc->absent++; break;
		}
	}
}

static void json_uuid(struct json_writer *jw, const char *key, const uint8_t *u)
{
	char s[37];

	uuid_to_str(u, s);
	json_string(jw, key, s);
}

/* The extent list as the header places it (its records are not read). */
static void json_extent_list(struct json_writer *jw, const struct layer *l)
{
	enum dmc_verify_reason why;
	enum dmc_xlist_verdict v = extent_list_state(l, &why);

	json_object_begin(jw, "extent_list");
	json_string(jw, "state", extent_list_state_str(v));
	if (v == DMC_XLIST_CURRENT)
		json_u64(jw, "runs", l->hdr.xlist.count);
	else
		json_null(jw, "runs");
	if (v == DMC_XLIST_STALE)
		json_u64(jw, "generation", l->hdr.xlist.generation);
	else
		json_null(jw, "generation");
	json_object_end(jw);
}

static void print_extent_list(const struct layer *l)
{
	enum dmc_verify_reason why;
	enum dmc_xlist_verdict v = extent_list_state(l, &why);

	printf("extent list:   %s", extent_list_state_str(v));
	if (v == DMC_XLIST_CURRENT)
		printf(", %" PRIu64 " run%s at %" PRIu64, l->hdr.xlist.count,
		       l->hdr.xlist.count == 1 ? "" : "s", l->hdr.xlist.offset);
	else if (v == DMC_XLIST_STALE)
		printf(" (written at generation %" PRIu64 "; the map is read instead)",
		       l->hdr.xlist.generation);
	else if (v == DMC_XLIST_BAD)
		printf(": %s (the map is read instead; 'chainctl layer check -r' rewrites it)",
		       dmc_verify_reason_str(why));
	printf("\n");
}

/*
 * A layer's members.  Raw images and dm-chain layers have the same
 * members: what one of them does not have is null (docs/json.md).
 */
static void json_layer(struct json_writer *jw, const struct layer *l)
{
	static const char *const header_keys[] = {
		"format_version", "uuid", "state", "merged_into_uuid",
	};
	static const char *const tail_keys[] = {
		"block_size_bytes", "generation", "virtual_size_blocks",
		"data_blocks", "zero_blocks", "parent", "journal",
		"header_slot", "sequence", "slots", "map_offset_bytes",
		"map_length_bytes", "data_offset_bytes", "extent_list",
	};
	const struct layer_header *h = &l->hdr;
	const struct layer_journal *j = &h->journal;
	struct block_counts bc;
	size_t k;

	json_string(jw, "path", l->path);
	if (l->is_raw) {
		json_string(jw, "format", "raw");
		for (k = 0; k < sizeof(header_keys) / sizeof(header_keys[0]); k++)
			json_null(jw, header_keys[k]);
		json_u64(jw, "virtual_size_bytes", l->file_size);
		for (k = 0; k < sizeof(tail_keys) / sizeof(tail_keys[0]); k++)
			json_null(jw, tail_keys[k]);
		json_string(jw, "content", layer_raw_look(l));
		return;
	}
	count_blocks(l, &bc);
	json_string(jw, "format", "dm-chain");
	json_u64(jw, "format_version", h->version);
	json_uuid(jw, "uuid", h->uuid);
	json_string(jw, "state", layer_state_str(h->state));
	if (h->state == DMC_STATE_MERGED_AWAY)
		json_uuid(jw, "merged_into_uuid", h->merged_into_uuid);
	else
		json_null(jw, "merged_into_uuid");
	json_u64(jw, "virtual_size_bytes", h->virtual_size);
	json_u64(jw, "block_size_bytes", 1ULL << h->block_shift);
	json_u64(jw, "generation", h->generation);
	json_u64(jw, "virtual_size_blocks", layer_header_nr_blocks(h));
	json_u64(jw, "data_blocks", bc.data);
	json_u64(jw, "zero_blocks", bc.zero);
	json_object_begin(jw, "parent");
	json_string(jw, "kind", parent_kind_str(h->parent_kind));
	if (h->parent_kind != DMC_PARENT_NONE)
		json_string(jw, "path", h->parent_path);
	else
		json_null(jw, "path");
	if (h->parent_kind == DMC_PARENT_LAYER) {
		json_uuid(jw, "uuid", h->parent_uuid);
		json_u64(jw, "generation", h->parent_generation);
	} else {
		json_null(jw, "uuid");
		json_null(jw, "generation");
	}
	if (h->parent_kind == DMC_PARENT_RAW)
		json_u64(jw, "size_bytes", h->parent_raw_size);
	else
		json_null(jw, "size_bytes");
	json_object_end(jw);
	json_object_begin(jw, "journal");
	json_string(jw, "state", journal_state_str(j->state));
	if (j->state != DMC_JOURNAL_NONE) {
		json_u64(jw, "source_count", j->nr_sources);
		json_u64(jw, "cursor_blocks", j->cursor);
		json_u64(jw, "old_generation", j->old_generation);
		json_u64(jw, "new_generation", j->new_generation);
		json_uuid(jw, "bottom_uuid", j->bottom_uuid);
		json_uuid(jw, "top_uuid", j->top_uuid);
		json_string(jw, "top_path", j->top_path);
		json_boolean(jw, "swap", !!(j->flags & DMC_JOURNAL_F_SWAP));
		if (!uuid_is_zero(j->relink_uuid)) {
			json_uuid(jw, "relink_uuid", j->relink_uuid);
			json_string(jw, "relink_path", j->relink_path);
		} else {
			json_null(jw, "relink_uuid");
			json_null(jw, "relink_path");
		}
	} else {
		static const char *const none[] = {
			"source_count", "cursor_blocks", "old_generation",
			"new_generation", "bottom_uuid", "top_uuid", "top_path",
			"swap", "relink_uuid", "relink_path",
		};

		for (k = 0; k < sizeof(none) / sizeof(none[0]); k++)
			json_null(jw, none[k]);
	}
	json_object_end(jw);
	json_u64(jw, "header_slot", (uint64_t)l->cur_slot);
	json_u64(jw, "sequence", h->sequence);
	json_array_begin(jw, "slots");
	json_string(jw, NULL, slot_status_str(l->slot_status[0]));
	json_string(jw, NULL, slot_status_str(l->slot_status[1]));
	json_array_end(jw);
	json_u64(jw, "map_offset_bytes", h->map_offset);
	json_u64(jw, "map_length_bytes", h->map_length);
	json_u64(jw, "data_offset_bytes", h->data_offset);
	json_extent_list(jw, l);
	json_null(jw, "content");
}

static void print_layer(const struct layer *l)
{
	const struct layer_header *h = &l->hdr;
	const struct layer_journal *j = &h->journal;
	struct block_counts bc;
	char uuid[37], a[32], b[32];

	printf("file:          %s\n", l->path);
	if (l->is_raw) {
		printf("format:        raw image%s\n"
		       "size:          %s (%" PRIu64 " bytes)\n"
		       "content:       %s\n",
		       l->declared_raw ? "" : " (no dm-chain header)",
		       format_size(l->file_size, a, sizeof(a)), l->file_size,
		       layer_raw_look(l));
		return;
	}
	count_blocks(l, &bc);
	uuid_to_str(h->uuid, uuid);
	printf("format:        dm-chain layer, version %u\n", h->version);
	printf("uuid:          %s\n", uuid);
	printf("state:         %s", layer_state_str(h->state));
	if (h->state == DMC_STATE_MERGED_AWAY) {
		uuid_to_str(h->merged_into_uuid, uuid);
		printf(" into %s", uuid_is_zero(h->merged_into_uuid) ?
		       "its raw base" : uuid);
	}
	printf("\nvirtual size:  %s (%" PRIu64 " bytes)\n",
	       format_size(h->virtual_size, a, sizeof(a)), h->virtual_size);
	printf("block size:    %s\n", format_size(1ULL << h->block_shift, b, sizeof(b)));
	printf("blocks:        %" PRIu64 " (data %" PRIu64 ", zero %" PRIu64
	       ", absent %" PRIu64 ")\n", layer_header_nr_blocks(h), bc.data,
	       bc.zero, bc.absent);
	printf("generation:    %" PRIu64 "\n", h->generation);
	switch (h->parent_kind) {
	case DMC_PARENT_NONE:
		printf("parent:        none (a base)\n");
		break;
	case DMC_PARENT_LAYER:
		uuid_to_str(h->parent_uuid, uuid);
		printf("parent:        %s (layer %s, generation %" PRIu64 ")\n",
		       h->parent_path, uuid, h->parent_generation);
		break;
	case DMC_PARENT_RAW:
		printf("parent:        %s (raw image, %" PRIu64 " bytes)\n",
		       h->parent_path, h->parent_raw_size);
		break;
	}
	if (j->state == DMC_JOURNAL_NONE) {
		printf("merge journal: none\n");
	} else {
		printf("merge journal: %s, block %" PRIu64 " of %" PRIu64
		       ", %u source%s, top %s, generation %" PRIu64 " -> %" PRIu64 "\n",
		       journal_state_str(j->state), j->cursor,
		       layer_header_nr_blocks(h), j->nr_sources,
		       j->nr_sources == 1 ? "" : "s", j->top_path,
		       j->old_generation, j->new_generation);
		if ((j->flags & DMC_JOURNAL_F_SWAP) && h->generation == j->new_generation)
			printf("merge swaps:   this file is the merged target; it takes the path %s (a swap merge, finished by chainctl only)\n",
			       j->swap_target_path);
		else if (j->flags & DMC_JOURNAL_F_SWAP)
			printf("merge swaps:   the source 'top' becomes this layer (a swap merge, finished by chainctl only)\n");
		if (!uuid_is_zero(j->relink_uuid)) {
			uuid_to_str(j->relink_uuid, uuid);
			printf("merge relinks: %s (layer %s), the layer above the range\n",
			       j->relink_path, uuid);
		}
	}
	printf("header:        slot %d, sequence %" PRIu64 " (slot 0 %s, slot 1 %s)\n",
	       l->cur_slot, h->sequence, slot_status_str(l->slot_status[0]),
	       slot_status_str(l->slot_status[1]));
	printf("layout:        map at %" PRIu64 " (%" PRIu64 " bytes), data at %"
	       PRIu64 "\n", h->map_offset, h->map_length, h->data_offset);
	print_extent_list(l);
}

static int info_chain(const char *path, bool json)
{
	struct json_writer jw;
	struct dmc_err err;
	struct chain c;
	unsigned int i;
	int ret;

	dmc_err_clear(&err);
	ret = chain_open(path, CHAIN_LOAD_MAPS, &c, &err);
	if (json) {
		json_document_begin(&jw, stdout);
		json_boolean(&jw, "valid", ret == 0);
		if (ret)
			json_string(&jw, "error", err.msg);
		else
			json_null(&jw, "error");
		json_array_begin(&jw, "layers");
		for (i = 0; i < c.nr; i++) {
			json_object_begin(&jw, NULL);
			json_u64(&jw, "depth", i + 1);
			json_layer(&jw, c.layers[i]);
			json_object_end(&jw);
		}
		json_array_end(&jw);
		json_document_end(&jw);
	} else {
		for (i = 0; i < c.nr; i++) {
			printf("%sdepth:         %u%s\n", i ? "\n" : "", i + 1,
			       i == 0 ? " (leaf)" : i + 1 == c.nr && !ret ? " (base)" : "");
			print_layer(c.layers[i]);
		}
		if (!ret)
			printf("\nchain:         %u layer%s, linkage valid\n", c.nr,
			       c.nr == 1 ? "" : "s");
	}
	chain_close(&c);
	return ret ? layer_fail(&err) : 0;
}

static const char info_help[] =
	"Usage: chainctl layer info [-j] [--chain | --raw] LAYER\n"
	"\n"
	"Show LAYER's header: uuid, state, sizes, generation, parent, merge\n"
	"journal, header slots.  A file with no dm-chain header is shown as a\n"
	"raw image.  A raw image below a layer is opened as raw whatever its\n"
	"bytes are (the layer records a raw parent).\n"
	"\n"
	"  -j, --json    JSON output\n"
	"  -c, --chain   every layer down to the base, with linkage validated\n"
	"                (exit 1 and the reason when a link is broken)\n"
	"      --raw     LAYER is a raw image: show its size and what its first\n"
	"                bytes look like, without trusting a header its guest\n"
	"                may have written there\n";

int layer_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "chain", no_argument, NULL, 'c' },
		{ "raw", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = g_opts.json, chain = false, raw = false;
	struct json_writer jw;
	struct dmc_err err;
	struct layer *l;
	int c;

	optind = 0;
	while ((c = cli_getopt("layer info", argc, argv, "jch", opts)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'c': chain = true; break;
		case 'R': raw = true; break;
		case 'h': fputs(info_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return layer_usage_error("info", "expected one LAYER argument");
	if (chain && raw)
		return layer_usage_error("info", "--chain and --raw exclude each other");
	if (chain)
		return info_chain(argv[optind], json);
	dmc_err_clear(&err);
	if (layer_open(argv[optind], raw ? LAYER_RAW : LAYER_LOAD_MAP, &l, &err))
		return layer_fail(&err);
	if (json) {
		json_document_begin(&jw, stdout);
		json_layer(&jw, l);
		json_document_end(&jw);
	} else {
		print_layer(l);
	}
	layer_close(l);
	return 0;
}

static const char *run_kind_str(enum plan_kind k)
{
	switch (k) {
	case PLAN_DATA: return "data";
	case PLAN_ZERO: return "zero";
	case PLAN_ABSENT: break;
	}
	return "unallocated";
}

static void print_extent(struct json_writer *jw, const struct chain *c,
			 const struct plan_run *run)
{
	uint64_t start = run->start << c->block_shift;
	uint64_t len = run->count << c->block_shift;
	const struct layer *l = run->source >= 0 ? c->layers[run->source] : NULL;

	if (start + len > c->virtual_size)
		len = c->virtual_size - start;
	if (jw) {
		json_object_begin(jw, NULL);
		json_u64(jw, "offset_bytes", start);
		json_u64(jw, "length_bytes", len);
		json_string(jw, "kind", run_kind_str(run->kind));
		json_boolean(jw, "data", run->kind == PLAN_DATA);
		json_boolean(jw, "zero", run->kind != PLAN_DATA);
		if (l) {
			json_u64(jw, "depth", (uint64_t)run->source + 1);
			json_string(jw, "path", l->path);
		} else {
			json_null(jw, "depth");
			json_null(jw, "path");
		}
		if (run->kind == PLAN_DATA)
			json_u64(jw, "file_offset_bytes",
				 layer_block_offset(l, run->start, c->block_shift));
		else
			json_null(jw, "file_offset_bytes");
		json_object_end(jw);
		return;
	}
	printf("0x%-14" PRIx64 " 0x%-14" PRIx64 " %-11s", start, len,
	       run_kind_str(run->kind));
	if (l)
		printf(" %-5d", run->source + 1);
	else
		printf(" %-5s", "-");
	if (run->kind == PLAN_DATA)
		printf(" 0x%-14" PRIx64 " %s",
		       layer_block_offset(l, run->start, c->block_shift), l->path);
	else if (l)
		printf(" %-16s %s", "-", l->path);
	putchar('\n');
}

static const char map_help[] =
	"Usage: chainctl layer map [-j] LAYER\n"
	"\n"
	"Show the chain ending at LAYER as the device would read it: extents of\n"
	"data (which layer and file offset provide them), zero (a layer says\n"
	"zero) and unallocated (no layer has them: they read as zeros).\n"
	"\n"
	"  -j, --json    JSON output: an object with an array of extents\n"
	"                (docs/json.md)\n";

int layer_cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct plan_source src[DMC_MAX_LAYERS];
	struct json_writer jw;
	bool json = g_opts.json;
	struct plan_run run;
	struct dmc_err err;
	struct chain ch;
	uint64_t pos = 0;
	unsigned int i;
	int c;

	optind = 0;
	while ((c = cli_getopt("layer map", argc, argv, "jh", opts)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(map_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return layer_usage_error("map", "expected one LAYER argument");
	dmc_err_clear(&err);
	if (chain_open(argv[optind], CHAIN_LOAD_MAPS, &ch, &err)) {
		chain_close(&ch);
		return layer_fail(&err);
	}
	for (i = 0; i < ch.nr; i++)
		src[i].map = ch.layers[i]->is_raw ? NULL : ch.layers[i]->map;
	if (json) {
		json_document_begin(&jw, stdout);
		json_array_begin(&jw, "extents");
	} else {
		printf("%-16s %-16s %-11s %-5s %-16s %s\n", "Offset", "Length",
		       "Kind", "Depth", "File offset", "File");
	}
	while (plan_next_run(src, ch.nr, ch.nr_blocks, &pos, 0, &run))
		print_extent(json ? &jw : NULL, &ch, &run);
	if (json) {
		json_array_end(&jw);
		json_document_end(&jw);
	}
	chain_close(&ch);
	return 0;
}
