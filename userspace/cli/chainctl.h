/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chainctl command-line plumbing shared by the per-object command files:
 * global options, the object table, and the conventions every command keeps
 * (errors as "chainctl: WHAT: why" on stderr, -j for JSON on read commands).
 */
#ifndef CHAINCTL_H
#define CHAINCTL_H

#include <stdbool.h>
#include <stdint.h>

#include <dm-chain/version.h>

/* The tool is released with the module: one version for both. */
#define CHAINCTL_VERSION DM_CHAIN_VERSION

/* Options given before OBJECT; commands may also accept -j themselves. */
struct global_opts {
	bool json;	/* -j: JSON output */
	bool verbose;	/* -v */
};

extern struct global_opts g_opts;

/*
 * Each object's entry point, getopt's way: ARGV[0] is the object's name
 * (what main() matched, or "-V" for cmd_version), the COMMAND or the
 * options follow.
 */
int cmd_version(int argc, char **argv);
int cmd_layer(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_tab(int argc, char **argv);

/* chainctl device's live-merge commands (cmd_device_merge.c): ARGV[0] is
 * the command's name, as getopt wants. */
int device_cmd_merge(int argc, char **argv);
int device_cmd_cancel(int argc, char **argv);
int device_cmd_snapshot(int argc, char **argv);

/*
 * The work of 'device create' and 'device remove', shared with 'tab up' and
 * 'tab down' (cmd_device.c).  Messages start with CTX ("device create").
 * create: 0, or 1 after printing why; *UNFINISHED_MERGE (may be NULL) says
 * whether the chain holds an interrupted merge that 'device merge NAME'
 * would resume.  remove: 0, or 1 after printing why.
 */
int device_create_one(const char *ctx, const char *name, const char *leaf,
		      bool read_only, bool raw, bool *unfinished_merge);
int device_remove_one(const char *ctx, const char *name);

/*
 * Resume the interrupted merge of device NAME without waiting (what
 * 'device merge NAME --no-wait [--rate RATE]' sends; the chain must hold a
 * journal, or a new merge would start).  0, or 1 after printing why.
 */
int device_merge_resume(const char *ctx, const char *name, bool has_rate,
			uint32_t rate);

/* True if ARG asks for help: "help", "-h" or "--help". */
bool is_help_arg(const char *arg);

/* Print "chainctl: " + formatted message + newline to stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A command-line mistake in command CMD ("layer info", "device create"):
 * prints "chainctl: CMD: MESSAGE (try 'chainctl CMD --help')" and returns
 * EXIT_USAGE, for the caller to return.  CMD NULL: a global option.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct option;

/*
 * getopt_long() for command CMD, the one option parser of every command:
 * call it in a loop after setting optind = 0, with ARGV[0] the command's
 * name.  Options and operands may be mixed (argv is permuted), "--" ends
 * the options.  getopt's own messages are off; an unknown option, a
 * missing value or a value given to a flag is reported through
 * cli_usage_error() ("chainctl device create: unknown option '--foo' (try
 * ...)") and CLI_GETOPT_ERR is returned: the caller returns EXIT_USAGE.
 * SHORTOPTS is as for getopt, without a leading ':'; a leading '+' stops
 * at the first operand (the global options before the object's name).
 * CMD NULL is chainctl's own level: messages then read "chainctl:
 * unknown option '-x' (try 'chainctl --help')".
 */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
#define CLI_GETOPT_ERR '?'

/*
 * Exit codes shared by all commands (docs/man/chainctl.8, EXIT STATUS): 0
 * done, 1 failed (the reason on stderr), EXIT_USAGE for any command-line
 * mistake.  layer check has its own codes, documented; its usage error is
 * EXIT_USAGE too.
 */
#define EXIT_USAGE 2
/* A merge issued again on a layer its finished merge retired (layer check's 9). */
#define EXIT_MERGED_AWAY 9

#endif
