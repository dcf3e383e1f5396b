// SPDX-License-Identifier: GPL-2.0
/* Progress bar: see progress.h. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define BAR_WIDTH 40

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, bool wanted, const char *label)
{
	p->enabled = wanted && isatty(STDERR_FILENO);
	p->label = label;
	p->last = 0;
	p->drawn = false;
}

static void draw(struct progress *p, uint64_t done, uint64_t total)
{
	unsigned int pct = total ? (unsigned int)(done * 100 / total) : 100;
	unsigned int fill = pct * BAR_WIDTH / 100, i;

	fprintf(stderr, "\r%s [", p->label);
	for (i = 0; i < BAR_WIDTH; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %3u%%", pct);
	fflush(stderr);
	p->drawn = true;
}

void progress_update(uint64_t done, uint64_t total, void *arg)
{
	struct progress *p = arg;
	double t;

	if (!p || !p->enabled)
		return;
	t = now();
	if (t - p->last < 0.1 && done < total)
		return;
	p->last = t;
	draw(p, done, total);
}

void progress_end(struct progress *p, bool succeeded)
{
	if (succeeded && p->enabled) {
		draw(p, 1, 1);
		fputc('\n', stderr);
	} else if (p->drawn) {
		/* Leave the bar as it stopped; the error goes on its own line. */
		fputc('\n', stderr);
	}
}
