/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host shim (tests/fuzz/kshim): the device-mapper argument helpers a
 * target's constructor uses, declared as in the kernel and implemented in
 * dm_args.c with the kernel's behaviour.
 */
#ifndef KSHIM_LINUX_DEVICE_MAPPER_H
#define KSHIM_LINUX_DEVICE_MAPPER_H
#include <linux/types.h>

struct dm_arg {
	unsigned int min;
	unsigned int max;
	char *error;
};

struct dm_arg_set {
	unsigned int argc;
	char **argv;
};

int dm_read_arg(const struct dm_arg *arg, struct dm_arg_set *arg_set,
		unsigned int *value, char **error);
int dm_read_arg_group(const struct dm_arg *arg, struct dm_arg_set *arg_set,
		      unsigned int *value, char **error);
const char *dm_shift_arg(struct dm_arg_set *as);

/*
 * Split @line in place into words as the kernel splits a table line
 * (dm_split_args): words end at isspace() bytes, a backslash takes the
 * next byte literally.  Returns the number of words (at most @max).
 */
unsigned int kshim_split_args(char *line, char **argv, unsigned int max);
#endif
