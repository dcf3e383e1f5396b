// SPDX-License-Identifier: GPL-2.0
/*
 * chainctl tab COMMAND: the chain devices an administrator lists in
 * /etc/dm-chain/chaintab (docs/chaintab.md), brought up at boot and down
 * at shutdown by packaging/systemd/dm-chain.service.
 *
 *   up [-c FILE] [NAME...]     create what is not present, in file order
 *   down [-c FILE] [NAME...]   remove, in reverse order
 *   list [-c FILE] [-j]        the entries and whether each is present
 *
 * Creating and removing go through the same functions as 'device create'
 * and 'device remove' (cmd_device.c).  The configured leaf is followed to
 * the current one (leaf_follow.h): snapshots and live merges move it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chainctl.h"
#include "chaintab.h"
#include "dm.h"
#include "dmc_err.h"
#include "json.h"
#include "leaf_follow.h"

static void tab_usage(FILE *out)
{
	fprintf(out,
		"Usage: chainctl tab COMMAND [-c FILE] [ARGS]\n"
		"\n"
		"The chain devices listed in a chaintab (default "
		CHAINTAB_DEFAULT_PATH "),\n"
		"created at boot and removed at shutdown by dm-chain.service; needs root.\n"
		"\n"
		"  up [-c FILE] [NAME...]    create the listed devices that are not present,\n"
		"                            in file order, from each one's current leaf;\n"
		"                            with resume-merge, resume an interrupted merge\n"
		"  down [-c FILE] [NAME...]  remove the listed devices, in reverse order\n"
		"  list [-c FILE] [-j]       the entries, and whether each device is present\n"
		"  help                      this text\n"
		"\n"
		"  -c, --config FILE  the chaintab to read\n"
		"  -j, --json         JSON output (list)\n"
		"\n"
		"A line is NAME LEAF-PATH [OPTIONS], OPTIONS a comma-separated list of\n"
		"ro, raw, nofail, resume-merge, rate=SIZE (see chainctl-tab(8)).\n"
		"Exit status: 0, 1 when a device failed (not counting nofail ones in up),\n"
		"2 for a usage error or a chaintab that does not parse (nothing is done).\n");
}

struct tab_args {
	const char *cmd;
	const char *config;
	const char **names;
	int nr_names;
	bool json;
	bool json_given;	/* -j after 'tab' */
};

/*
 * For messages about options, which come before the command is known:
 * "tab up" when the first operand is a command, else "tab".  Only -c
 * takes a value.
 */
static const char *tab_what(int argc, char **argv, char *buf, size_t len)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "-c") || !strcmp(s, "--config")) {
			i++;
			continue;
		}
		if (!strcmp(s, "--")) {
			s = i + 1 < argc ? argv[i + 1] : "";
		} else if (s[0] == '-' && s[1]) {
			continue;
		}
		if (!strcmp(s, "up") || !strcmp(s, "down") ||
		    !strcmp(s, "list")) {
			snprintf(buf, len, "tab %s", s);
			return buf;
		}
		break;
	}
	return "tab";
}

/* 0, EXIT_USAGE, or -1 for help.  Options may come before the command. */
static int tab_parse_args(int argc, char **argv, struct tab_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[16];
	const char *what = tab_what(argc - 1, argv + 1, buf, sizeof(buf));
	int c;

	a->config = CHAINTAB_DEFAULT_PATH;
	a->json = g_opts.json;
	a->names = calloc(argc, sizeof(*a->names));
	if (!a->names) {
		errmsg("tab: %s", strerror(ENOMEM));
		return 1;
	}
	optind = 0;
	while ((c = cli_getopt(what, argc, argv, "c:jh", opts)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'j': a->json = a->json_given = true; break;
		case 'h': return -1;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		a->cmd = argv[optind++];
	while (optind < argc)
		a->names[a->nr_names++] = argv[optind++];
	if (a->cmd && !strcmp(a->cmd, "help"))
		return -1;
	if (!a->cmd) {
		tab_usage(stderr);
		return EXIT_USAGE;
	}
	if (!a->config[0]) {
		errmsg("tab %s: empty chaintab path", a->cmd);
		return EXIT_USAGE;
	}
	return 0;
}

/* Read and parse the chaintab: 0, 1 (cannot read) or EXIT_USAGE. */
static int tab_load(const struct tab_args *a, struct chaintab *tab)
{
	char err[PATH_MAX + 256];
	FILE *f;
	int ret;

	f = fopen(a->config, "re");
	if (!f) {
		errmsg("tab %s: %s: %s", a->cmd, a->config, strerror(errno));
		return 1;
	}
	ret = chaintab_parse_stream(f, a->config, tab, err, sizeof(err));
	fclose(f);
	if (ret) {
		errmsg("tab %s: %s", a->cmd, err);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * Which entries the command acts on: all, or the NAMEs given (each must be
 * listed).  SEL[i] says whether entry i is selected.  0 or EXIT_USAGE.
 */
static int tab_select(const struct tab_args *a, const struct chaintab *tab,
		      bool *sel)
{
	const struct chaintab_entry *e;
	unsigned int i;
	int k;

	for (i = 0; i < tab->nr; i++)
		sel[i] = a->nr_names == 0;
	for (k = 0; k < a->nr_names; k++) {
		e = chaintab_find(tab, a->names[k]);
		if (!e) {
			errmsg("tab %s: '%s' is not listed in %s", a->cmd,
			       a->names[k], a->config);
			return EXIT_USAGE;
		}
		sel[e - tab->entries] = true;
	}
	return 0;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * What is there under NAME: 0 absent, 1 a chain device whose leaf is
 * *LEAF (malloc'd, or NULL when its table does not parse), -1 after
 * printing an error (not a chain device, or libdevmapper failed).
 */
static int present(const char *ctx, const char *name, char **leaf)
{
	struct dmc_dm_dev dev;
	struct dmc_table t;
	int ret;

	*leaf = NULL;
	ret = dmc_dm_get(name, &dev);
	switch (ret) {
	case 0:
		break;
	case -ENODEV:
	case -ENXIO:
		return 0;
	case -EMEDIUMTYPE:
		errmsg("%s: %s: a device of that name exists and is not a chain device",
		       ctx, name);
		return -1;
	default:
		errmsg("%s: %s: %s", ctx, name,
		       dmc_dm_errmsg()[0] ? dmc_dm_errmsg() : strerror(-ret));
		return -1;
	}
	if (dev.params && dmc_table_parse(dev.params, &t) == 0) {
		*leaf = strdup(t.paths[t.nr_layers - 1]);
		dmc_table_free(&t);
	}
	dmc_dm_dev_free(&dev);
	return 1;
}

/* ---- up ----------------------------------------------------------------- */

/* One entry: 0 or 1 (printed). */
static int up_one(const struct chaintab_entry *e)
{
	bool raw = e->opts & CHAINTAB_RAW, unfinished = false;
	char *leaf = NULL, *have = NULL;
	struct dmc_err err;
	int ret = 1, p;

	dmc_err_clear(&err);
	if (leaf_follow(e->leaf, raw, &leaf, &err)) {
		errmsg("tab up: %s: %s", e->name, err.msg);
		return 1;
	}
	p = present("tab up", e->name, &have);
	if (p < 0)
		goto out;
	if (p > 0) {
		if (have && (same_file(have, leaf) || same_file(have, e->leaf))) {
			printf("%s: already present (leaf %s)\n", e->name, have);
			ret = 0;
		} else {
			errmsg("tab up: %s: a device of that name is present with another table (leaf %s, not %s)",
			       e->name, have ? have : "unknown", leaf);
		}
		goto out;
	}
	if (strcmp(leaf, e->leaf))
		printf("%s: %s has layers on top; the current leaf is %s\n",
		       e->name, e->leaf, leaf);
	if (device_create_one("tab up", e->name, leaf, e->opts & CHAINTAB_RO,
			      raw, &unfinished))
		goto out;
	printf("%s: created /dev/mapper/%s (leaf %s%s)\n", e->name, e->name,
	       leaf, e->opts & CHAINTAB_RO ? ", read-only" : "");
	ret = 0;
	if (!unfinished)
		goto out;
	if (e->opts & CHAINTAB_RESUME_MERGE)
		ret = device_merge_resume("tab up", e->name,
					  e->opts & CHAINTAB_RATE, e->rate);
	else
		printf("%s: holds an interrupted merge; 'chainctl device merge %s' resumes it (or add resume-merge in the chaintab)\n",
		       e->name, e->name);
out:
	free(leaf);
	free(have);
	return ret;
}

static int tab_up(const struct chaintab *tab, const bool *sel)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < tab->nr; i++) {
		const struct chaintab_entry *e = &tab->entries[i];

		if (!sel[i] || !up_one(e))
			continue;
		if (e->opts & CHAINTAB_NOFAIL)
			errmsg("tab up: %s: failed; nofail: going on", e->name);
		else
			ret = 1;
	}
	return ret;
}

/* ---- down --------------------------------------------------------------- */

static int tab_down(const struct chaintab *tab, const bool *sel)
{
	unsigned int i;
	char *have;
	int ret = 0, p;

	for (i = tab->nr; i-- > 0;) {
		const struct chaintab_entry *e = &tab->entries[i];

		if (!sel[i])
			continue;
		p = present("tab down", e->name, &have);
		free(have);
		if (p == 0) {
			printf("%s: not present\n", e->name);
			continue;
		}
		if (p < 0 || device_remove_one("tab down", e->name)) {
			ret = 1;
			continue;
		}
		printf("%s: removed\n", e->name);
	}
	return ret;
}

/* ---- list --------------------------------------------------------------- */

static int tab_list(const struct chaintab *tab, const bool *sel, bool json)
{
	struct json_writer jw;
	char opts[128];
	unsigned int i;
	char *have;
	int ret = 0, p;

	if (json) {
		json_document_begin(&jw, stdout);
		json_array_begin(&jw, "entries");
	} else if (tab->nr) {
		printf("%-20s %-7s %-24s %s\n", "NAME", "PRESENT", "OPTIONS",
		       "LEAF");
	}
	for (i = 0; i < tab->nr; i++) {
		const struct chaintab_entry *e = &tab->entries[i];

		if (!sel[i])
			continue;
		p = present("tab list", e->name, &have);
		if (p < 0)
			ret = 1;
		chaintab_opts_str(e, opts, sizeof(opts));
		if (json) {
			json_object_begin(&jw, NULL);
			json_string(&jw, "name", e->name);
			json_string(&jw, "leaf_path", e->leaf);
			json_string(&jw, "options", opts);
			json_boolean(&jw, "read_only", e->opts & CHAINTAB_RO);
			json_boolean(&jw, "raw", e->opts & CHAINTAB_RAW);
			json_boolean(&jw, "nofail", e->opts & CHAINTAB_NOFAIL);
			json_boolean(&jw, "resume_merge",
				  e->opts & CHAINTAB_RESUME_MERGE);
			if (e->opts & CHAINTAB_RATE)
				json_u64(&jw, "rate_bytes_per_second",
					 (uint64_t)e->rate << 20);
			else
				json_null(&jw, "rate_bytes_per_second");
			json_u64(&jw, "line", e->line);
			if (p < 0)
				json_null(&jw, "present");
			else
				json_boolean(&jw, "present", p > 0);
			if (have)
				json_string(&jw, "device_leaf_path", have);
			else
				json_null(&jw, "device_leaf_path");
			json_object_end(&jw);
		} else {
			printf("%-20s %-7s %-24s %s", e->name,
			       p < 0 ? "?" : p ? "yes" : "no", opts, e->leaf);
			if (have && strcmp(have, e->leaf))
				printf(" (device leaf %s)", have);
			putchar('\n');
		}
		free(have);
	}
	if (json) {
		json_array_end(&jw);
		json_document_end(&jw);
	}
	return ret;
}

/* ---- dispatch ----------------------------------------------------------- */

int cmd_tab(int argc, char **argv)
{
	struct tab_args a;
	struct chaintab tab;
	bool *sel = NULL;
	int ret;

	memset(&a, 0, sizeof(a));
	memset(&tab, 0, sizeof(tab));
	ret = tab_parse_args(argc, argv, &a);
	if (ret < 0) {
		tab_usage(stdout);
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	if (strcmp(a.cmd, "up") && strcmp(a.cmd, "down") &&
	    strcmp(a.cmd, "list")) {
		errmsg("tab: unknown command '%s' (try 'chainctl tab help')",
		       a.cmd);
		ret = EXIT_USAGE;
		goto out;
	}
	if (strcmp(a.cmd, "list") && a.json_given) {
		errmsg("tab %s: -j is for list", a.cmd);
		ret = EXIT_USAGE;
		goto out;
	}
	ret = tab_load(&a, &tab);
	if (ret)
		goto out;
	sel = calloc(tab.nr + 1, sizeof(*sel));
	if (!sel) {
		errmsg("tab: %s", strerror(ENOMEM));
		ret = 1;
		goto out;
	}
	ret = tab_select(&a, &tab, sel);
	if (ret)
		goto out;
	dmc_dm_init(g_opts.verbose);
	if (!strcmp(a.cmd, "up"))
		ret = tab_up(&tab, sel);
	else if (!strcmp(a.cmd, "down"))
		ret = tab_down(&tab, sel);
	else
		ret = tab_list(&tab, sel, a.json);
out:
	free(sel);
	free(a.names);
	chaintab_free(&tab);
	return ret;
}
