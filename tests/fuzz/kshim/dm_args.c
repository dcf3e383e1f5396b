// SPDX-License-Identifier: GPL-2.0
/*
 * Host shim (tests/fuzz/kshim) of the kernel's device-mapper argument
 * helpers, written here to the behaviour of drivers/md/dm-table.c in
 * Linux 6.1: dm_read_arg() reads the next word with sscanf("%u%c") and
 * the kernel's vsscanf(): leading blanks (kernel isspace()) skipped, then
 * decimal digits only (no sign), the value taken modulo 2^32, nothing
 * after; then the [min, max] check, and for a group that enough words
 * follow.  kmod/table-cases.h pins this behaviour: KUnit runs the cases
 * against the kernel, tests/fuzz/table_cases.c against this shim.
 */
#include <linux/ctype.h>
#include <linux/device-mapper.h>

const char *dm_shift_arg(struct dm_arg_set *as)
{
	if (!as->argc)
		return NULL;
	as->argc--;
	return *as->argv++;
}

static bool read_u32(const char *s, unsigned int *value)
{
	unsigned long long v = 0;

	while (isspace(*s))
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (unsigned int)(*s - '0');
	if (*s)
		return false;	/* "%u%c" matched a second item */
	*value = (unsigned int)v;
	return true;
}

static int next_arg(const struct dm_arg *arg, struct dm_arg_set *as,
		    unsigned int *value, char **error, bool grouped)
{
	const char *s = dm_shift_arg(as);

	if (!s || !read_u32(s, value) || *value < arg->min ||
	    *value > arg->max || (grouped && as->argc < *value)) {
		*error = arg->error;
		return -EINVAL;
	}
	return 0;
}

int dm_read_arg(const struct dm_arg *arg, struct dm_arg_set *arg_set,
		unsigned int *value, char **error)
{
	return next_arg(arg, arg_set, value, error, false);
}

int dm_read_arg_group(const struct dm_arg *arg, struct dm_arg_set *arg_set,
		      unsigned int *value, char **error)
{
	return next_arg(arg, arg_set, value, error, true);
}

unsigned int kshim_split_args(char *line, char **argv, unsigned int max)
{
	unsigned int n = 0;
	char *in = line, *out = line;

	for (;;) {
		while (isspace(*in))
			in++;
		if (!*in || n == max)
			return n;
		argv[n++] = out;
		while (*in && !isspace(*in)) {
			if (*in == '\\' && in[1])
				in++;
			*out++ = *in++;
		}
		if (*in)
			in++;
		*out++ = '\0';
	}
}
