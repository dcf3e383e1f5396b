// SPDX-License-Identifier: GPL-2.0
/* Progress bar and live merge status texts: see progress.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "nl.h"
#include "progress.h"
#include "sizes.h"

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
	p->width = BAR_WIDTH;
	p->last = 0;
	p->start = now();
	p->drawn = false;
	p->had_text = false;
}

static unsigned int percent(uint64_t done, uint64_t total)
{
	if (!total || done >= total)
		return 100;
	return (unsigned int)((double)done * 100.0 / (double)total);
}

/* Columns of the terminal on stderr; 80 when it will not say. */
static unsigned int term_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void draw(struct progress *p, uint64_t done, uint64_t total,
		 const char *extra)
{
	unsigned int pct = percent(done, total);
	unsigned int fill = pct * p->width / 100, i, cols;
	char line[512];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s [", p->label);
	for (i = 0; i < p->width && n < sizeof(line) - 1; i++)
		line[n++] = i < fill ? '#' : '.';
	line[n] = '\0';
	snprintf(line + n, sizeof(line) - n, "] %3u%%%s%s", pct,
		 extra ? " " : "", extra ? extra : "");
	if (extra || p->had_text) {
		/* A line that wraps cannot be redrawn with \r: cut it. */
		cols = term_columns();
		if (cols > 1 && strlen(line) > cols - 1)
			line[cols - 1] = '\0';
		fprintf(stderr, "\r%s\033[K", line);
		p->had_text = true;
	} else {
		fprintf(stderr, "\r%s", line);
	}
	fflush(stderr);
	p->drawn = true;
}

void progress_update_text(struct progress *p, uint64_t done, uint64_t total,
			  const char *extra)
{
	double t;

	if (!p || !p->enabled)
		return;
	t = now();
	if (t - p->last < 0.1 && done < total)
		return;
	p->last = t;
	draw(p, done, total, extra);
}

void progress_update(uint64_t done, uint64_t total, void *arg)
{
	struct progress *p = arg;
	double elapsed;
	char text[48], d[32];

	if (!p || !p->enabled)
		return;
	elapsed = now() - p->start;
	if (!done || done >= total || elapsed <= 0) {
		progress_update_text(p, done, total, NULL);
		return;
	}
	snprintf(text, sizeof(text), "%s left",
		 format_duration(eta_seconds(done, total, elapsed), d, sizeof(d)));
	progress_update_text(p, done, total, text);
}

void progress_end(struct progress *p, bool succeeded)
{
	if (succeeded && p->enabled) {
		draw(p, 1, 1, NULL);
		fputc('\n', stderr);
	} else if (p->drawn) {
		/* Leave the bar as it stopped; the error goes on its own line. */
		fputc('\n', stderr);
	}
}

/* ---- live merge status -------------------------------------------------- */

unsigned int merge_percent(const struct dmc_nl_merge *m)
{
	return percent(m->bytes_done, m->bytes_total);
}

char *merge_progress_text(const struct dmc_nl_merge *m, char *buf, size_t len)
{
	char d[32], t[32], cl[32], cp[32];

	snprintf(buf, len, "%s/%s (cloned %s, copied %s)",
		 format_size(m->bytes_done, d, sizeof(d)),
		 format_size(m->bytes_total, t, sizeof(t)),
		 format_size(m->bytes_cloned, cl, sizeof(cl)),
		 format_size(m->bytes_copied, cp, sizeof(cp)));
	return buf;
}

char *merge_bytes_text(const struct dmc_nl_merge *m, char *buf, size_t len)
{
	char cl[32], cp[32], z[32];

	snprintf(buf, len, "%s cloned, %s copied, %s zeroed",
		 format_size(m->bytes_cloned, cl, sizeof(cl)),
		 format_size(m->bytes_copied, cp, sizeof(cp)),
		 format_size(m->bytes_zeroed, z, sizeof(z)));
	return buf;
}

char *merge_error_text(const struct dmc_nl_merge *m, char *buf, size_t len)
{
	if (m->message[0] && m->error)
		snprintf(buf, len, "%s (%s)", m->message,
			 strerror((int)m->error));
	else if (m->message[0])
		snprintf(buf, len, "%s", m->message);
	else if (m->error)
		snprintf(buf, len, "%s", strerror((int)m->error));
	else
		snprintf(buf, len, "no reason given");
	return buf;
}

double merge_seconds(const struct dmc_nl_merge *m)
{
	return (double)m->elapsed_ns / 1e9;
}

void merge_json_fields(struct json_writer *jw, const struct dmc_nl_merge *m)
{
	json_string(jw, "state", dmc_nl_merge_state_str(m->state));
	json_u64(jw, "target_index", m->target);
	json_u64(jw, "source_count", m->nr_sources);
	json_u64(jw, "total_bytes", m->bytes_total);
	json_u64(jw, "done_bytes", m->bytes_done);
	json_u64(jw, "cloned_bytes", m->bytes_cloned);
	json_u64(jw, "copied_bytes", m->bytes_copied);
	json_u64(jw, "zeroed_bytes", m->bytes_zeroed);
	json_u64(jw, "elapsed_ns", m->elapsed_ns);
	json_u64(jw, "errno", m->error);
	json_string(jw, "message", m->message);
	json_boolean(jw, "resumed", m->resumed);
	json_u64(jw, "pause_ns", m->pause_ns);
	json_boolean(jw, "keeps_leaf", m->keeps_leaf);
	json_u64(jw, "bursts", m->bursts);
	json_u64(jw, "yield_ns", m->yield_ns);
}
