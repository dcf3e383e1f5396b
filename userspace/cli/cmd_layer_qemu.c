// SPDX-License-Identifier: GPL-2.0
/*
 * `chainctl layer import` and `chainctl layer export`: qcow2 (or any image
 * qemu-img reads) backing chains in and out, through qemu-img and qemu-io
 * (lib/import_qemu.c, lib/export_qcow2.c; docs/qcow2.md).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <dm-chain/format.h>

#include "chainctl.h"
#include "cmd_layer.h"
#include "export_qcow2.h"
#include "import_qemu.h"
#include "progress.h"
#include "sizes.h"

/*
 * SIGINT, SIGTERM and SIGHUP ask the running import or export to stop:
 * the tool it runs is stopped and what was made so far is removed.  (The
 * tools themselves get the terminal's SIGINT too and die of it.)
 */
static volatile sig_atomic_t stop_asked;

static void on_stop(int sig)
{
	(void)sig;
	stop_asked = 1;
}

static void catch_stops(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	unsigned int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static const char import_help[] =
	"Usage: chainctl layer import [-f FORMAT] [-b BLOCK] [-p] SOURCE DESTDIR\n"
	"\n"
	"Import the image SOURCE (qcow2, or any format qemu-img reads) and its\n"
	"backing chain as a dm-chain chain of the same depth: one layer per image,\n"
	"DESTDIR/NAME.dmc for the image NAME.EXT, the base a layer with no parent,\n"
	"each one above it a child of the one below.  Each layer keeps its image's\n"
	"own allocation: data stays data, ranges the image says are zero become\n"
	"zero blocks (they hide the layers below, as in qcow2), ranges it leaves\n"
	"to its backing file stay absent.  The images must have one size.  No file\n"
	"in DESTDIR is overwritten; on failure the layers made are removed.  Needs\n"
	"qemu-img (Debian package qemu-utils).\n"
	"\n"
	"  -f, --format FORMAT SOURCE's format (qcow2, raw, vmdk, ...); without it\n"
	"                      qemu-img guesses from its bytes, which must not be\n"
	"                      trusted for an image a guest wrote raw\n"
	"  -b, --block BLOCK   block size, a power of two from 4K to 2M (default:\n"
	"                      the smallest cluster size of the chain, lowered\n"
	"                      where an image's allocation needs finer blocks)\n"
	"  -p, --progress      progress bar on a terminal\n";

int layer_cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "block", required_argument, NULL, 'b' },
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct import_request rq = { .stop = &stop_asked };
	bool want_progress = false;
	struct import_result res;
	struct progress bar;
	struct dmc_err err;
	char a[32], b[32], z[32];
	unsigned int i;
	uint64_t v;
	int c, ret;

	optind = 0;
	while ((c = cli_getopt("layer import", argc, argv, "f:b:ph", opts)) != -1) {
		switch (c) {
		case 'p':
			want_progress = true;
			break;
		case 'f':
			rq.format = optarg;
			break;
		case 'b':
			if (parse_size(optarg, &v) || v < (1ULL << DMC_MIN_BLOCK_SHIFT) ||
			    v > (1ULL << DMC_MAX_BLOCK_SHIFT) || (v & (v - 1)))
				return layer_usage_error("import",
					"bad block size '%s': a power of two from 4K to 2M",
					optarg);
			rq.block_shift = (uint32_t)__builtin_ctzll(v);
			break;
		case 'h':
			fputs(import_help, stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 2)
		return layer_usage_error("import", "expected SOURCE and DESTDIR");
	rq.source = argv[optind];
	rq.destdir = argv[optind + 1];
	catch_stops();
	progress_init(&bar, want_progress, "importing");
	if (bar.enabled) {
		rq.progress = progress_update;
		rq.progress_arg = &bar;
	}
	dmc_err_clear(&err);
	ret = import_qemu_chain(&rq, &res, &err);
	progress_end(&bar, !ret);
	if (ret) {
		errmsg("layer import: %s", err.msg);
	} else {
		printf("imported %u image%s into %s: virtual size %s, block size %s, %.1f s\n",
		       res.nr, res.nr == 1 ? "" : "s", rq.destdir,
		       format_size(res.virtual_size, a, sizeof(a)),
		       format_size(1ULL << res.block_shift, b, sizeof(b)), res.seconds);
		for (i = 0; i < res.nr; i++)
			printf("  %s  <- %s (%s): data %s, zero %s\n", res.layers[i].layer,
			       res.layers[i].image, res.layers[i].format,
			       format_size(res.layers[i].data_bytes, a, sizeof(a)),
			       format_size(res.layers[i].zero_bytes, z, sizeof(z)));
	}
	import_result_free(&res);
	return ret ? 1 : 0;
}

static const char export_help[] =
	"Usage: chainctl layer export [-p] LEAF DESTDIR\n"
	"\n"
	"Write the chain ending at LEAF as a qcow2 backing chain of the same\n"
	"depth: DESTDIR/NAME.qcow2 for the layer NAME.dmc, each image's backing\n"
	"file the one below it, named relative to DESTDIR (move the images\n"
	"together).  Each image keeps its layer's own allocation: data blocks as\n"
	"data clusters, zero blocks as zero clusters (they hide the backing file),\n"
	"absent blocks unallocated; the cluster size is the block size.  A raw\n"
	"base becomes a qcow2 base.  Every image passes 'qemu-img check'.  No\n"
	"file in DESTDIR is overwritten; on failure the images made are removed.\n"
	"Needs qemu-img and qemu-io (Debian package qemu-utils).\n"
	"\n"
	"  -p, --progress      progress bar on a terminal\n";

int layer_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct export_request rq = { .stop = &stop_asked };
	bool want_progress = false;
	struct export_result res;
	struct progress bar;
	struct dmc_err err;
	char a[32], b[32], z[32];
	unsigned int i;
	int c, ret;

	optind = 0;
	while ((c = cli_getopt("layer export", argc, argv, "ph", opts)) != -1) {
		switch (c) {
		case 'p':
			want_progress = true;
			break;
		case 'h':
			fputs(export_help, stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 2)
		return layer_usage_error("export", "expected LEAF and DESTDIR");
	rq.leaf = argv[optind];
	rq.destdir = argv[optind + 1];
	catch_stops();
	progress_init(&bar, want_progress, "exporting");
	if (bar.enabled) {
		rq.progress = progress_update;
		rq.progress_arg = &bar;
	}
	dmc_err_clear(&err);
	ret = export_qcow2_chain(&rq, &res, &err);
	progress_end(&bar, !ret);
	if (ret) {
		errmsg("layer export: %s", err.msg);
	} else {
		printf("exported %u layer%s into %s: virtual size %s, cluster size %s, %.1f s\n",
		       res.nr, res.nr == 1 ? "" : "s", rq.destdir,
		       format_size(res.virtual_size, a, sizeof(a)),
		       format_size(1ULL << res.block_shift, b, sizeof(b)), res.seconds);
		for (i = 0; i < res.nr; i++)
			printf("  %s  <- %s: data %s, zero %s\n", res.images[i].image,
			       res.images[i].layer,
			       format_size(res.images[i].data_bytes, a, sizeof(a)),
			       format_size(res.images[i].zero_bytes, z, sizeof(z)));
	}
	export_result_free(&res);
	return ret ? 1 : 0;
}
