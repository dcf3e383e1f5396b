/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A one-line progress bar on stderr for long commands, terminals only; and
 * the text and JSON forms of a live merge's status (struct dmc_nl_merge),
 * shared by `chainctl device merge/status` and `chainctl monitor`.
 */
#ifndef CHAINCTL_PROGRESS_H
#define CHAINCTL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dmc_nl_merge;
struct json_writer;

struct progress {
	bool enabled;		/* wanted and stderr is a terminal */
	const char *label;
	unsigned int width;	/* bar width in characters (default 40) */
	double last;		/* time of the last redraw */
	double start;		/* progress_init()'s time, for the time left */
	bool drawn;
	bool had_text;		/* a line with text was drawn: clear to EOL */
};

void progress_init(struct progress *p, bool wanted, const char *label);
/*
 * Callback shape of merge_progress_fn: ARG is a struct progress.  After
 * the percentage it shows the time left at the average pace so far.
 */
void progress_update(uint64_t done, uint64_t total, void *arg);
/*
 * As progress_update(), with EXTRA (may be NULL) after the percentage; the
 * line is cut to the terminal's width so that it redraws in place.
 */
void progress_update_text(struct progress *p, uint64_t done, uint64_t total,
			  const char *extra);
/*
 * End the bar: on success draw 100% and end the line; on failure only end
 * a line that was drawn, so the error message starts on a fresh line.
 */
void progress_end(struct progress *p, bool succeeded);

/* ---- live merge status -------------------------------------------------- */

/* Percentage done, 0..100 (100 when there is nothing to do). */
unsigned int merge_percent(const struct dmc_nl_merge *m);

/* "420.0 MiB/1 GiB (cloned 400.0 MiB, copied 20.0 MiB)" into BUF. */
char *merge_progress_text(const struct dmc_nl_merge *m, char *buf, size_t len);

/* "400.0 MiB cloned, 20.0 MiB copied, 0 B zeroed" into BUF. */
char *merge_bytes_text(const struct dmc_nl_merge *m, char *buf, size_t len);

/* Why it failed: "MESSAGE (strerror)", "MESSAGE" or "strerror". */
char *merge_error_text(const struct dmc_nl_merge *m, char *buf, size_t len);

/* Elapsed time in seconds. */
double merge_seconds(const struct dmc_nl_merge *m);

/*
 * The status as members of the JSON object being written: state (a
 * string), target_index, source_count, total/done/cloned/copied/zeroed
 * _bytes, elapsed_ns, errno, message, resumed, pause_ns (docs/json.md).
 */
void merge_json_fields(struct json_writer *jw, const struct dmc_nl_merge *m);

#endif
