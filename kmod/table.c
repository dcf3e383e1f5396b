// SPDX-License-Identifier: GPL-2.0
/*
 * The "chain" table line grammar and its parser (docs/target.md).
 */
#include <linux/ctype.h>
#include <linux/device-mapper.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringify.h>

#include "table.h"

static int parse_nr_layers(struct dm_arg_set *as, struct dmc_table_args *args,
			   char **error)
{
	static const struct dm_arg _arg = {
		1, DMC_MAX_LAYERS,
		"Invalid number of layers (1 .. " __stringify(DMC_MAX_LAYERS) ")"
	};

	return dm_read_arg(&_arg, as, &args->nr_layers, error);
}

/*
 * A path the TABLE status can re-emit as it came: dm_split_args() ends a
 * word at any isspace() byte (which includes 0xa0) and strips a backslash,
 * so a path holding either could only have arrived escaped and would not
 * round-trip; control characters would garble log lines.
 */
bool dmc_path_is_table_safe(const char *p)
{
	for (; *p; p++) {
		unsigned char c = *p;

		if (c < 0x20 || c == 0x7f || c == '\\' || isspace(c))
			return false;
	}
	return true;
}

static int parse_paths(struct dm_arg_set *as, struct dmc_table_args *args,
		       char **error)
{
	unsigned int i;

	if (as->argc < args->nr_layers) {
		*error = "Fewer layer paths than the number of layers";
		return -EINVAL;
	}
	args->paths = kvcalloc(args->nr_layers, sizeof(*args->paths),
			       GFP_KERNEL);
	if (!args->paths) {
		*error = "Cannot allocate layer path array";
		return -ENOMEM;
	}
	for (i = 0; i < args->nr_layers; i++) {
		const char *p = dm_shift_arg(as);

		if (!*p) {
			*error = "Empty layer path";
			return -EINVAL;
		}
		if (p[0] != '/') {
			*error = "Layer paths must be absolute";
			return -EINVAL;
		}
		if (!dmc_path_is_table_safe(p)) {
			*error = "Layer path holds whitespace, a control character or a backslash";
			return -EINVAL;
		}
		args->paths[i] = (char *)p;
	}
	return 0;
}

static int parse_features(struct dm_arg_set *as, struct dmc_table_args *args,
			  char **error)
{
	static const struct dm_arg _arg = {
		0, DMC_NR_FEATURES,
		"Invalid number of feature arguments (0 .. 3)"
	};
	unsigned int argc;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(&_arg, as, &argc, error);
	if (r)
		return r;
	while (argc--) {
		const char *f = dm_shift_arg(as);
		unsigned int bit;

		if (!strcasecmp(f, "read_only")) {
			bit = DMC_FEATURE_READ_ONLY;
		} else if (!strcasecmp(f, "buffered_io")) {
			bit = DMC_FEATURE_BUFFERED;
		} else if (!strcasecmp(f, "raw_base")) {
			bit = DMC_FEATURE_RAW_BASE;
		} else {
			*error = "Unknown feature";
			return -EINVAL;
		}
		if (args->features & bit) {
			*error = "Feature given twice";
			return -EINVAL;
		}
		args->features |= bit;
	}
	if (as->argc) {
		*error = "Unexpected arguments after the features";
		return -EINVAL;
	}
	return 0;
}

/*
 * Table line:
 *
 *   <nr_layers> <layer path>{nr_layers} [<nr_features> <feature>*]
 *
 *   nr_layers    1 .. DMC_MAX_LAYERS (4096); the paths follow base
 *                first, leaf last
 *   layer path   absolute path of a layer file (a dm-chain header is
 *                required), or of a raw image declared by raw_base; no
 *                whitespace, control characters or backslashes (the TABLE
 *                status re-emits paths as they are)
 *   features     raw_base     the first path is a raw image: its bytes are
 *                             never parsed (a guest may write anything
 *                             there, a dm-chain header included)
 *                read_only    open the leaf read-only, refuse writes
 *                buffered_io  never use direct I/O to layer files
 */
int dmc_parse_table(unsigned int argc, char **argv,
		    struct dmc_table_args *args, char **error)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	int r;

	memset(args, 0, sizeof(*args));
	if (!argc) {
		*error = "Missing number of layers";
		return -EINVAL;
	}
	r = parse_nr_layers(&as, args, error);
	if (!r)
		r = parse_paths(&as, args, error);
	if (!r)
		r = parse_features(&as, args, error);
	if (r) {
		kvfree(args->paths);
		args->paths = NULL;
	}
	return r;
}
