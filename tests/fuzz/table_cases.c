// SPDX-License-Identifier: GPL-2.0
/*
 * The table-line cases of kmod/table-cases.h, which KUnit runs against
 * the kernel, run here against kmod/table.c over the host shim
 * (kshim/dm_args.c): every case giving what the kernel gives shows that
 * the table fuzzer (fuzz_table) exercises the parser as the kernel runs
 * it.  Prints TAP, one line per case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/device-mapper.h>

#include "table.h"
#include "table-cases.h"

int main(void)
{
	const size_t n = sizeof(table_cases) / sizeof(table_cases[0]);
	unsigned int failed = 0;
	size_t i;

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		const struct table_case *c = &table_cases[i];
		char *line = strdup(c->line), *argv[16], *p = line, *word;
		struct dmc_table_args args;
		unsigned int argc = 0;
		char *error = NULL;
		int r, ok;

		if (!line)
			return 1;
		/* Split at spaces only, as table-test.c does. */
		while ((word = strsep(&p, " ")) != NULL)
			if (*word && argc < 16)
				argv[argc++] = word;
		r = dmc_parse_table(argc, argv, &args, &error);
		if (c->ret)
			ok = r == c->ret && error && strstr(error, c->error) &&
			     !args.paths;
		else
			ok = r == 0 && args.nr_layers == c->nr_layers &&
			     args.features == c->features &&
			     !strcmp(args.paths[args.nr_layers - 1], c->leaf);
		printf("%sok %zu - table case: %s\n", ok ? "" : "not ", i + 1,
		       c->name);
		if (!ok) {
			printf("# got %d '%s', want %d '%s'\n", r,
			       error ? error : "", c->ret,
			       c->error ? c->error : "");
			failed++;
		}
		if (!r)
			free(args.paths);
		free(line);
	}
	return failed ? 1 : 0;
}
