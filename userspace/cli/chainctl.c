// SPDX-License-Identifier: GPL-2.0
/*
 * chainctl: entry point.  Parses global options and dispatches
 * "chainctl [OPTIONS] OBJECT COMMAND [ARGS]" to the object's file.
 */
#include <getopt.h>
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
	{ "layer",   cmd_layer,   "layer files, offline: create info check map merge flatten write import export" },
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

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd)
		errmsg("%s: %s (try 'chainctl %s --help')", cmd, msg, cmd);
	else
		errmsg("%s (try 'chainctl --help')", msg);
	return EXIT_USAGE;
}

/*
 * The long option ARG ("--name" or "--name=value") names, if it is one of
 * LONGOPTS with value VAL: getopt reports a long option's mistakes with
 * optopt set to its value, a short one's with its letter.
 */
static const struct option *long_named(const char *arg,
				       const struct option *longopts, int val)
{
	size_t len;

	if (!longopts || strncmp(arg, "--", 2))
		return NULL;
	arg += 2;
	len = strcspn(arg, "=");
	for (; longopts->name; longopts++)
		if (longopts->val == val && !longopts->flag &&
		    !strncmp(longopts->name, arg, len))
			return longopts;
	return NULL;
}

/* How many of LONGOPTS the long option ARG ("--na[=value]") abbreviates. */
static int long_prefixes(const char *arg, const struct option *longopts)
{
	size_t len;
	int n = 0;

	if (!longopts || strncmp(arg, "--", 2))
		return 0;
	arg += 2;
	len = strcspn(arg, "=");
	for (; longopts->name; longopts++)
		n += !strncmp(longopts->name, arg, len);
	return n;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	const struct option *lo;
	char optstring[64];
	const char *arg;
	int c, before = optind;

	/* getopt wants the ordering mark ('+') before the ':' */
	if (shortopts[0] == '+')
		snprintf(optstring, sizeof(optstring), "+:%s", shortopts + 1);
	else
		snprintf(optstring, sizeof(optstring), ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, optstring, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	/*
	 * A long option's mistake always moves optind past it; a short one
	 * inside a bundle ("-Rj") leaves optind where it was, and argv[optind
	 * - 1] is then an earlier element, perhaps a long option with that
	 * letter as its value ("--raw"), which is not the one to blame.
	 */
	lo = optopt && optind != before ?
		long_named(arg, longopts, optopt) : NULL;
	if (c == ':') {
		if (lo)
			cli_usage_error(cmd, "option '--%s' needs a value",
					lo->name);
		else
			cli_usage_error(cmd, "option '-%c' needs a value",
					optopt);
	} else if (!optopt) {
		/* a long option: unknown, or the prefix of several */
		cli_usage_error(cmd, "%s option '%.*s'",
				long_prefixes(arg, longopts) > 1 ?
				"ambiguous" : "unknown",
				(int)strcspn(arg, "="), arg);
	} else if (lo) {
		cli_usage_error(cmd, "option '--%s' takes no value", lo->name);
	} else {
		cli_usage_error(cmd, "unknown option '-%c'", optopt);
	}
	return CLI_GETOPT_ERR;
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
	static const struct option opts[] = {
		{ "json",    no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help",    no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	bool version = false;
	int c, first;
	size_t k;

	/* '+': the options end at the object's name; its own follow it */
	optind = 0;
	while ((c = cli_getopt(NULL, argc, argv, "+jvhV", opts)) != -1) {
		switch (c) {
		case 'j': g_opts.json = true; break;
		case 'v': g_opts.verbose = true; break;
		case 'V': version = true; break;
		case 'h': usage(stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	first = optind;
	optind = 0;
	if (version)	/* what follows -V is 'chainctl version''s own */
		return cmd_version(argc - first + 1, argv + first - 1);
	if (first >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[first], "help")) {
		usage(stdout);
		return 0;
	}
	for (k = 0; k < sizeof(objects) / sizeof(objects[0]); k++) {
		if (!strcmp(argv[first], objects[k].name))
			return objects[k].run(argc - first, argv + first);
	}
	errmsg("unknown object '%s' (try 'chainctl help')", argv[first]);
	return EXIT_USAGE;
}
