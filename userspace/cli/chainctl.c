// SPDX-License-Identifier: GPL-2.0
/*
 * chainctl: entry point.  Parses global options and dispatches
 * "chainctl [OPTIONS] OBJECT COMMAND [ARGS]" to the object's file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainctl.h"

struct global_opts g_opts;

struct object {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct object objects[] = {
	{ "version", cmd_version, "show the tool's and the kernel module's versions" },
	{ "layer",   cmd_layer,   "layer files, offline: create info check map merge flatten write" },
	{ "device",  cmd_device,  "live devices: create remove list status merge cancel snapshot" },
	{ "monitor", cmd_monitor, "print the module's merge events as they come" },
	{ "tab",     cmd_tab,     "devices listed in /etc/dm-chain/chaintab: up down list" },
};

bool is_help_arg(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("chainctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: chainctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"       chainctl OBJECT help\n"
		"\nOptions:\n"
		"  -j, --json     JSON output (read commands)\n"
		"  -v, --verbose  more detail on errors\n"
		"  -h, --help     this help\n"
		"  -V, --version  same as 'chainctl version'\n"
		"\nObjects:\n");
	for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		fprintf(out, "  %-9s %s\n", objects[i].name, objects[i].summary);
}

int main(int argc, char **argv)
{
	int i;
	size_t k;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			g_opts.json = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			g_opts.verbose = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			return cmd_version(argc - i - 1, argv + i + 1);
		} else {
			errmsg("unknown option '%s' (try 'chainctl help')", a);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return 0;
	}
	for (k = 0; k < sizeof(objects) / sizeof(objects[0]); k++) {
		if (!strcmp(argv[i], objects[k].name))
			return objects[k].run(argc - i - 1, argv + i + 1);
	}
	errmsg("unknown object '%s' (try 'chainctl help')", argv[i]);
	return EXIT_USAGE;
}
