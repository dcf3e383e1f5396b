// SPDX-License-Identifier: GPL-2.0
/*
 * chainctl version [-j] (and chainctl -V): the tool's version and, asked
 * over the dm-chain generic netlink family, the kernel module's.  A module
 * that is not loaded is an answer, not an error ("not loaded", exit 0:
 * the tool works without it, for layer files); exits 1 only when a loaded
 * module cannot be asked (no permission, a bad answer), after still
 * printing the tool's own version.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <dm-chain/netlink.h>

#include "chainctl.h"
#include "json.h"
#include "nl.h"

static void version_usage(FILE *out)
{
	fprintf(out,
		"Usage: chainctl version [-j]\n"
		"\n"
		"Print chainctl's version and the dm-chain module's version (asked\n"
		"over generic netlink; needs root), or that the module is not loaded\n"
		"(exit status 0).  Exit status 1 when a loaded module cannot be asked.\n"
		"  -j, --json   one JSON object: tool_version, module_loaded,\n"
		"               module_version and family_version (null when unknown)\n");
}

int cmd_version(int argc, char **argv)
{
	struct dmc_nl_info info = { .version = "" };
	struct nl_sock *nl = NULL;
	bool json = g_opts.json;
	const char *why = NULL;
	bool not_loaded = false;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	optind = 0;
	while ((c = cli_getopt("version", argc, argv, "jh", opts)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h':
			version_usage(stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (!strcmp(argv[optind], "help")) {
			version_usage(stdout);
			return 0;
		}
		return cli_usage_error("version", "unexpected argument '%s'",
				       argv[optind]);
	}

	ret = dmc_nl_open(&nl);
	if (!ret)
		ret = dmc_nl_get(nl, NULL, &info);
	if (ret == -ENOENT && !nl)
		not_loaded = true;	/* no family: the module is not loaded */
	else if (ret)
		why = dmc_nl_strerror(nl, ret);
	else if (!info.version[0])
		why = "the dm-chain module answered without a version";

	if (json) {
		struct json_writer jw;

		json_document_begin(&jw, stdout);
		json_string(&jw, "tool_version", CHAINCTL_VERSION);
		json_boolean(&jw, "module_loaded", !not_loaded);
		if (why || not_loaded) {
			json_null(&jw, "module_version");
			json_null(&jw, "family_version");
		} else {
			json_string(&jw, "module_version", info.version);
			json_u64(&jw, "family_version", nl->family_version);
		}
		json_document_end(&jw);
	} else {
		printf("chainctl %s\n", CHAINCTL_VERSION);
		if (not_loaded)
			printf("dm-chain module: not loaded (modprobe dm-chain)\n");
		else if (!why)
			printf("dm-chain module %s (netlink family version %u)\n",
			       info.version, nl->family_version);
	}
	if (why)
		errmsg("%s", why);

	dmc_nl_info_free(&info);
	nl_close(nl);
	return why ? 1 : 0;
}
