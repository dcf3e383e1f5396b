/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing of the "chain" table line into struct dmc_table_args; no
 * files are touched here (see target.c for the constructor).
 */
#ifndef DM_CHAIN_TABLE_H
#define DM_CHAIN_TABLE_H

#include <linux/types.h>

#include <dm-chain/format.h>	/* DMC_MAX_LAYERS */

/* Feature flags of the table line. */
#define DMC_FEATURE_READ_ONLY	(1U << 0)	/* "read_only" */
#define DMC_FEATURE_BUFFERED	(1U << 1)	/* "buffered_io" */
#define DMC_FEATURE_RAW_BASE	(1U << 2)	/* "raw_base" */
#define DMC_NR_FEATURES		3U

struct dmc_table_args {
	unsigned int nr_layers;
	char **paths;			/* point into argv; base first */
	unsigned int features;
};

/*
 * Parse argc/argv of the table line.  Returns 0, or -EINVAL with a static
 * message in *error.  @args->paths is kvcalloc'ed: free with kvfree().
 */
int dmc_parse_table(unsigned int argc, char **argv,
		    struct dmc_table_args *args, char **error);

/*
 * Whether the TABLE status can re-emit @path as it is: no whitespace, no
 * control characters, no backslash (see table.c).  Every path that goes
 * into a device's layer list passes this, the table's and a new leaf's.
 */
bool dmc_path_is_table_safe(const char *path);

#endif /* DM_CHAIN_TABLE_H */
