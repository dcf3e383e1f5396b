/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The `chainctl layer` commands, split by file: cmd_layer.c (dispatch,
 * help, create, write), cmd_layer_show.c (info, map), cmd_layer_check.c (check),
 * cmd_layer_merge.c (merge, flatten), cmd_layer_qemu.c (import, export).
 * Each returns the process exit code.
 */
#ifndef CHAINCTL_CMD_LAYER_H
#define CHAINCTL_CMD_LAYER_H

#include <stdbool.h>

#include "dmc_err.h"
#include "merge.h"

int layer_cmd_create(int argc, char **argv);
int layer_cmd_info(int argc, char **argv);
int layer_cmd_map(int argc, char **argv);
int layer_cmd_check(int argc, char **argv);
int layer_cmd_merge(int argc, char **argv);
int layer_cmd_flatten(int argc, char **argv);
int layer_cmd_write(int argc, char **argv);
int layer_cmd_import(int argc, char **argv);
int layer_cmd_export(int argc, char **argv);

/* Print ERR as "chainctl: FILE: problem"; returns the exit code 1. */
int layer_fail(const struct dmc_err *err);

/* cli_usage_error() for "layer CMD"; returns EXIT_USAGE. */
int layer_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print what a merge did (cmd_layer_merge.c); also used by check -r. */
void merge_report(const struct merge_result *r, bool json);

/* A positive count option (--depth), 1 to 1000000, through parse_uint().
 * -1 on junk. */
int parse_count(const char *s, unsigned int *out);

#endif
