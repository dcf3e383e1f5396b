// SPDX-License-Identifier: GPL-2.0
/*
 * `chainctl layer COMMAND`: offline commands on layer files.  This file
 * holds the dispatcher, the help text and `create`; see cmd_layer.h for
 * where the other commands live.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dm-chain/format.h>

#include "chainctl.h"
#include "cmd_layer.h"
#include "layer_create.h"
#include "layer_write.h"
#include "sizes.h"

struct layer_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
};

static const struct layer_command commands[] = {
	{ "create",  layer_cmd_create,
	  "create [-s SIZE] [-b BLOCK] [--parent FILE | --raw-parent IMAGE] LAYER" },
	{ "info",    layer_cmd_info,    "info [-j] [--chain | --raw] LAYER" },
	{ "check",   layer_cmd_check,   "check [-r] [-j] LAYER" },
	{ "map",     layer_cmd_map,     "map [-j] LAYER" },
	{ "merge",   layer_cmd_merge,
	  "merge [--depth N | --into LAYER] [--mode auto|clone|copy] [-p] [--delete] [-j] LEAF" },
	{ "flatten", layer_cmd_flatten,
	  "flatten [--depth N] [--mode auto|clone|copy] [-p] [-j] LAYER OUT" },
	{ "write",   layer_cmd_write,
	  "write [--zero] LAYER OFFSET LENGTH   (testing aid; data on stdin)" },
	{ "import",  layer_cmd_import,  "import [-f FORMAT] [-b BLOCK] [-p] SOURCE DESTDIR   (qcow2 and other qemu-img chains)" },
	{ "export",  layer_cmd_export,  "export [-p] LEAF DESTDIR   (as a qcow2 chain)" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void layer_help(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: chainctl [OPTIONS] layer COMMAND [ARGS]\n\n"
		"Offline commands on layer files (not on live devices):\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  chainctl layer %s\n", commands[i].synopsis);
	fprintf(out, "\nSizes take K, M, G, T suffixes (powers of 1024). "
		"'chainctl layer COMMAND --help' describes one command.\n"
		"Exit codes of 'layer check': 0 clean, 1 repaired, 2 usage, "
		"3 corrupt or unusable, 4 could not check, 5 needs repair (-r);\n"
		"a merge: 6 interrupted (resumable), 7 finishing, 8 in progress, "
		"9 merged away (done).\n");
}

int layer_fail(const struct dmc_err *err)
{
	errmsg("%s", err->msg[0] ? err->msg : "unknown error");
	return 1;
}

int layer_usage_error(const char *cmd, const char *fmt, ...)
{
	char what[64], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(what, sizeof(what), "layer %s", cmd);
	return cli_usage_error(what, "%s", msg);
}

int parse_count(const char *s, unsigned int *out)
{
	uint64_t v;

	if (parse_uint(s, 1000000, &v) || v == 0)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static const char create_help[] =
	"Usage: chainctl layer create [-s SIZE] [-b BLOCK]\n"
	"                             [--parent FILE | --raw-parent IMAGE] LAYER\n"
	"\n"
	"Create LAYER: a new empty base of SIZE bytes, or with --parent a new\n"
	"empty child of FILE (a layer, or a file with no header taken as a raw\n"
	"base) that records FILE's uuid, generation and path relative to LAYER's\n"
	"directory.  Use --raw-parent for a raw image a guest has written to:\n"
	"its bytes may look like a dm-chain header, which must not be trusted.\n"
	"\n"
	"  -s, --size SIZE     virtual size (default and only choice with\n"
	"                      --parent: the parent's size)\n"
	"  -b, --block BLOCK   block size, a power of two from 4K to 2M\n"
	"                      (default 64K, or the parent's)\n"
	"      --parent FILE   make a child of FILE\n"
	"      --raw-parent IMAGE  make a child of the raw image IMAGE (its bytes\n"
	"                      are never read as a header)\n";

static int block_shift_of(uint64_t bytes, uint32_t *shift)
{
	uint32_t s;

	for (s = DMC_MIN_BLOCK_SHIFT; s <= DMC_MAX_BLOCK_SHIFT; s++) {
		if (bytes == 1ULL << s) {
			*shift = s;
			return 0;
		}
	}
	return -1;
}

int layer_cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "block", required_argument, NULL, 'b' },
		{ "parent", required_argument, NULL, 'p' },
		{ "raw-parent", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct layer_create_opts o = { 0 };
	struct dmc_err err;
	uint64_t v;
	int c;

	optind = 0;
	while ((c = cli_getopt("layer create", argc, argv, "s:b:hj", opts)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &v) || v == 0)
				return layer_usage_error("create", "bad size '%s'", optarg);
			o.virtual_size = v;
			break;
		case 'b':
			if (parse_size(optarg, &v) || block_shift_of(v, &o.block_shift))
				return layer_usage_error("create",
					"bad block size '%s': a power of two from 4K to 2M",
					optarg);
			break;
		case 'p':
		case 'R':
			if (o.parent)
				return layer_usage_error("create",
					"give one of --parent and --raw-parent");
			o.parent = optarg;
			o.parent_raw = c == 'R';
			break;
		case 'j':
			break;
		case 'h':
			fputs(create_help, stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return layer_usage_error("create", "expected one LAYER argument");
	if (!o.parent && !o.virtual_size)
		return layer_usage_error("create", "a base layer needs -s SIZE");
	dmc_err_clear(&err);
	if (layer_create(argv[optind], &o, &err))
		return layer_fail(&err);
	return 0;
}

static const char write_help[] =
	"Usage: chainctl layer write [--zero] LAYER OFFSET LENGTH\n"
	"\n"
	"Testing aid: write LENGTH bytes read from stdin into LAYER at virtual\n"
	"OFFSET (whole blocks; LENGTH may end at the virtual size), or with\n"
	"--zero mark the range zero.  Data is synced before the map, the map\n"
	"before the header, and LAYER's generation moves on (as a live writable\n"
	"open does), so children of LAYER made before are refused from then on.\n";

static int read_stdin(void *buf, uint64_t len)
{
	uint64_t done = 0;
	size_t n;

	while (done < len) {
		n = fread((char *)buf + done, 1, len - done, stdin);
		if (!n)
			return -1;
		done += n;
	}
	return 0;
}

int layer_cmd_write(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "zero", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dmc_err err;
	uint64_t off, len;
	bool zero = false;
	void *buf = NULL;
	int c, ret;

	optind = 0;
	while ((c = cli_getopt("layer write", argc, argv, "zh", opts)) != -1) {
		switch (c) {
		case 'z': zero = true; break;
		case 'h': fputs(write_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 3)
		return layer_usage_error("write", "expected LAYER OFFSET LENGTH");
	if (parse_size(argv[optind + 1], &off) || parse_size(argv[optind + 2], &len) ||
	    !len || len > (1ULL << 30))
		return layer_usage_error("write", "bad offset or length (at most 1G)");
	if (!zero) {
		buf = malloc(len);
		if (!buf || read_stdin(buf, len)) {
			free(buf);
			errmsg("layer write: cannot read %llu bytes from stdin",
			       (unsigned long long)len);
			return 1;
		}
	}
	dmc_err_clear(&err);
	ret = layer_write_range(argv[optind], off, buf, len, &err);
	free(buf);
	return ret ? layer_fail(&err) : 0;
}

int cmd_layer(int argc, char **argv)
{
	size_t i;

	argc--;		/* past "layer": argv[0] is the command */
	argv++;
	if (argc < 1) {
		layer_help(stderr);
		return EXIT_USAGE;
	}
	if (is_help_arg(argv[0])) {
		layer_help(stdout);
		return 0;
	}
	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].run(argc, argv);
	errmsg("layer: unknown command '%s' (try 'chainctl layer help')", argv[0]);
	return EXIT_USAGE;
}
