// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the "chain" table-line parser, kmod/table.c
 * itself, compiled on the host over kshim/ (the kernel's dm_read_arg()
 * and friends, held to the kernel's behaviour by kmod/table-cases.h).
 *
 * Input: a table line, split into words as dm-table splits it.  Besides
 * "no crash, no sanitizer report", an accepted line must give what
 * docs/target.md promises; a refusal must say why and own nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/device-mapper.h>

#include "table.h"

#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_WORDS 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmc_table_args args;
	char *line, *argv[MAX_WORDS], *error = NULL;
	unsigned int argc, i;
	int r;

	if (size > 64 * 1024)
		return 0;
	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	argc = kshim_split_args(line, argv, MAX_WORDS);

	r = dmc_parse_table(argc, argv, &args, &error);
	if (r) {
		PROMISE(r == -EINVAL || r == -ENOMEM);
		PROMISE(error && *error);
		PROMISE(!args.paths);
		goto out;
	}
	PROMISE(args.nr_layers >= 1 && args.nr_layers <= DMC_MAX_LAYERS);
	PROMISE(args.nr_layers < argc + 1);
	PROMISE(!(args.features & ~((1U << DMC_NR_FEATURES) - 1)));
	for (i = 0; i < args.nr_layers; i++) {
		const char *p = args.paths[i];

		PROMISE(p[0] == '/' && dmc_path_is_table_safe(p));
		/* A path is one of the words, never a copy or a feature. */
		PROMISE(p == argv[1 + i]);
	}
	free(args.paths);
out:
	free(line);
	return 0;
}
