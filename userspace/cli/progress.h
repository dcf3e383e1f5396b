/* SPDX-License-Identifier: GPL-2.0 */
/* A one-line progress bar on stderr for long commands (-p), terminals only. */
#ifndef CHAINCTL_PROGRESS_H
#define CHAINCTL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool enabled;		/* -p given and stderr is a terminal */
	const char *label;
	double last;		/* time of the last redraw */
	bool drawn;
};

void progress_init(struct progress *p, bool wanted, const char *label);
/* Callback shape of merge_progress_fn: ARG is a struct progress. */
void progress_update(uint64_t done, uint64_t total, void *arg);
/*
 * End the bar: on success draw 100% and end the line; on failure only end
 * a line that was drawn, so the error message starts on a fresh line.
 */
void progress_end(struct progress *p, bool succeeded);

#endif
