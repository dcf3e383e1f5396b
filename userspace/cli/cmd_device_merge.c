// SPDX-License-Identifier: GPL-2.0
/*
 * chainctl device merge/cancel/snapshot: live merges and leaf switches on a
 * chain device, asked of dm-chain.ko over generic netlink.  A waiting merge
 * subscribes to the "events" group before it sends MERGE, so that the
 * MERGE_DONE of its device cannot be missed, and falls back to asking GET
 * when events stop coming (a receive buffer overrun drops them).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dm-chain/netlink.h>

#include "chainctl.h"
#include "dmc_err.h"
#include "json.h"
#include "layer_file.h"
#include "nl.h"
#include "progress.h"
#include "sizes.h"
#include "stop_signals.h"

/* Ask GET after this long without an event for the device. */
#define MERGE_POLL_MS		2000
/* How often the progress bar (a terminal) asks how the merge stands. */
#define MERGE_BAR_MS		200
/* How long --delete waits for the kernel to let go of a source file. */
#define DELETE_LOCK_TRIES	40
#define DELETE_LOCK_WAIT_US	50000

static const char merge_help[] =
	"Usage: chainctl device merge NAME [--depth N | --into LAYER [--from TOP]]\n"
	"                             [--mode auto|clone|copy] [--rate MIB_PER_S]\n"
	"                             [--new-leaf PATH] [--no-wait] [--delete] [-j]\n"
	"\n"
	"Merge layers of the live chain device NAME while it stays in use.  The\n"
	"module first puts a new empty leaf on top (writes go there meanwhile),\n"
	"then merges the chosen layers into the layer below them; when it ends\n"
	"the merged layers leave the chain and the new leaf sits on the target.\n"
	"An unfinished merge of NAME is resumed instead (--depth and --into are\n"
	"then ignored).  Waits for the end, with a progress bar when stderr is a\n"
	"terminal; exit status 1 when the merge fails or is cancelled.\n"
	"\n"
	"  -d, --depth N         merge the top N layers, the leaf included\n"
	"                        (default 1)\n"
	"  -i, --into LAYER      merge every layer above LAYER into it: an index\n"
	"                        from the base (0) or a layer's path\n"
	"  -F, --from TOP        with --into: merge only the layers from TOP (an\n"
	"                        index or a path) down to just above LAYER; no\n"
	"                        new leaf: the leaf and the layers above TOP stay\n"
	"                        and the layer above TOP is relinked to LAYER\n"
	"  -m, --mode MODE       auto (clone, copy what cannot be cloned), clone\n"
	"                        (fail if refused), copy (never share extents)\n"
	"  -r, --rate MIB_PER_S  at most this many MiB/s (0: unlimited)\n"
	"  -n, --new-leaf PATH   the new leaf's file (default: chosen next to the\n"
	"                        leaf, <stem>-<n>.dmc)\n"
	"  -W, --no-wait         print the answer and return; the merge goes on\n"
	"                        ('chainctl monitor' follows it)\n"
	"  -D, --delete          afterwards delete the merged layers' files (each\n"
	"                        only if its header says merged-away)\n"
	"  -j, --json            one JSON object\n";

static const char cancel_help[] =
	"Usage: chainctl device cancel NAME\n"
	"\n"
	"Stop the running merge of device NAME.  The merge is journalled: a\n"
	"later 'chainctl device merge NAME' resumes it.\n";

static const char snapshot_help[] =
	"Usage: chainctl device snapshot NAME [FILE] [-j]\n"
	"\n"
	"Put a new empty leaf on top of the live chain device NAME: FILE (which\n"
	"must not exist), or a name chosen next to the current leaf.  The old\n"
	"leaf becomes read-only and keeps the device's content up to now.  I/O\n"
	"pauses briefly during the switch; the pause is reported.\n"
	"\n"
	"  -j, --json   one JSON object: device, new_leaf, pause_ns\n";

/* ---- argument helpers --------------------------------------------------- */

static int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
	char what[64], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(what, sizeof(what), "device %s", cmd);
	return cli_usage_error(what, "%s", msg);
}

/* Decimal digits only, fitting in a u32 (parse_uint()). */
static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_uint(s, UINT32_MAX, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_mode(const char *s, uint32_t *mode)
{
	if (!strcmp(s, "auto"))
		*mode = DM_CHAIN_MERGE_MODE_AUTO;
	else if (!strcmp(s, "clone"))
		*mode = DM_CHAIN_MERGE_MODE_CLONE;
	else if (!strcmp(s, "copy"))
		*mode = DM_CHAIN_MERGE_MODE_COPY;
	else
		return -1;
	return 0;
}

static const char *check_name(const char *name)
{
	if (!name[0])
		return "empty device name";
	if (strlen(name) >= DMC_NL_NAME_LEN)
		return "device name longer than 127 characters";
	return NULL;
}

/*
 * The absolute form of PATH, a file that need not exist yet (its directory
 * must): the table names layers by absolute path.  Whitespace and control
 * characters are refused, as in a table line.  Returns 0, or an errno with
 * *WHY set.
 */
static int absolute_new_path(const char *path, char *out, size_t len,
			     const char **why)
{
	char *d = strdup(path), *b = strdup(path);
	char dir[PATH_MAX];
	const char *base, *p;
	int ret = 0;

	*why = NULL;
	if (!d || !b) {
		ret = ENOMEM;
		goto out;
	}
	for (p = path; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			*why = "contains whitespace or control characters";
			ret = EINVAL;
			goto out;
		}
	}
	base = basename(b);
	if (!path[0] || !strcmp(base, "/") || !strcmp(base, ".") ||
	    !strcmp(base, "..") || path[strlen(path) - 1] == '/') {
		*why = "not a file name";
		ret = EINVAL;
		goto out;
	}
	if (!realpath(dirname(d), dir)) {
		ret = errno;
		*why = "its directory cannot be resolved";
		goto out;
	}
	if ((size_t)snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "",
			     base) >= len) {
		*why = "too long";
		ret = ENAMETOOLONG;
	}
out:
	free(d);
	free(b);
	return ret;
}

/* ": strerror" after a reason, except for EINVAL whose reason says it. */
static const char *errno_suffix(int err)
{
	static char buf[128];

	if (err == EINVAL)
		return "";
	snprintf(buf, sizeof(buf), ": %s", strerror(err));
	return buf;
}

/* ---- the chain in an answer --------------------------------------------- */

static const char *layer_path_at(const struct dmc_nl_device *d, uint64_t i)
{
	return i < d->nr_listed ? d->layers[i].path : NULL;
}

/* The new leaf: the top of the chain the MERGE answer lists. */
static const char *answer_leaf(const struct dmc_nl_device *d)
{
	return d->nr_listed ? d->layers[d->nr_listed - 1].path : NULL;
}

/* Same file: equal strings, equal canonical paths, or same inode. */
static bool same_file(const char *layer, const char *want_real,
		      const struct stat *want_st)
{
	char real[PATH_MAX];
	struct stat st;

	if (!strcmp(layer, want_real))
		return true;
	if (realpath(layer, real) && !strcmp(real, want_real))
		return true;
	return want_st && stat(layer, &st) == 0 &&
	       st.st_dev == want_st->st_dev && st.st_ino == want_st->st_ino;
}

/*
 * --into PATH or --from PATH (OPT): the index of the layer of device NAME
 * that is PATH.  The leaf is refused unless LEAF_OK.  Returns 0,
 * EXIT_USAGE or 1 (after printing why).
 */
static int resolve_layer(struct nl_sock *nl, const char *name, const char *opt,
			 const char *path, bool leaf_ok, uint32_t *index)
{
	struct dmc_nl_info info;
	const struct dmc_nl_device *dev;
	char real[PATH_MAX];
	struct stat st;
	bool have_st;
	unsigned int i;
	int ret;

	if (!realpath(path, real)) {
		errmsg("device merge: %s %s: %s", opt, path, strerror(errno));
		return EXIT_USAGE;
	}
	have_st = stat(real, &st) == 0;
	ret = dmc_nl_get(nl, name, &info);
	if (ret) {
		errmsg("device merge: %s: %s", name, dmc_nl_strerror(nl, ret));
		return 1;
	}
	dev = dmc_nl_find(&info, name);
	if (!dev || !dev->nr_listed) {
		errmsg("device merge: %s: the module did not list its layers; give %s an index",
		       name, opt);
		dmc_nl_info_free(&info);
		return 1;
	}
	for (i = 0; i < dev->nr_listed; i++)
		if (same_file(dev->layers[i].path, real, have_st ? &st : NULL))
			break;
	if (i == dev->nr_listed) {
		errmsg("device merge: %s %s: not a layer of %s", opt, path,
		       name);
		ret = EXIT_USAGE;
	} else if (i + 1 == dev->nr_listed && !leaf_ok) {
		errmsg("device merge: %s %s: that is the leaf of %s; there is nothing above it",
		       opt, path, name);
		ret = EXIT_USAGE;
	} else {
		*index = i;
	}
	dmc_nl_info_free(&info);
	return ret;
}

/* ---- waiting for the end ------------------------------------------------ */

struct merge_wait {
	struct nl_sock *ev;		/* subscribed to "events" */
	const struct dmc_nl_device *dev;	/* the MERGE answer's device */
	struct progress bar;
	bool done;
	bool heard;			/* an event for the device came */
	struct dmc_nl_merge final;
};

static bool same_device(const struct dmc_nl_device *want,
			const struct dmc_nl_device *d)
{
	if (want->has_devno && d->has_devno)
		return want->major == d->major && want->minor == d->minor;
	return !strcmp(want->name, d->name);
}

/*
 * "10.0 MiB/64.0 MiB, 16.0 MiB/s, 0:03 left" after the bar: it must fit
 * in 80 columns (a longer line is cut); the bytes cloned and copied come
 * in the report at the end.
 */
static void show_progress(struct merge_wait *w, const struct dmc_nl_merge *m)
{
	char text[160], rate[64], d[32], t[32];

	format_rate_eta(m->bytes_done, m->bytes_total, m->elapsed_ns, rate,
			sizeof(rate));
	snprintf(text, sizeof(text), "%s/%s%s%s",
		 format_size(m->bytes_done, d, sizeof(d)),
		 format_size(m->bytes_total, t, sizeof(t)),
		 rate[0] ? ", " : "", rate);
	progress_update_text(&w->bar, m->bytes_done, m->bytes_total, text);
}

static int wait_event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct merge_wait *w = data;
	struct dmc_nl_answer ev;
	int ret;

	if (nlh->nlmsg_type != w->ev->family_id)
		return 0;
	ret = dmc_nl_parse_event(nlh, &ev);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		if (ret != -ENOMSG && g_opts.verbose)
			errmsg("device merge: ignoring a malformed event");
		return 0;
	}
	if (same_device(w->dev, &ev.dev)) {
		w->heard = true;
		if (ev.cmd == DM_CHAIN_CMD_MERGE_DONE) {
			w->final = ev.merge;
			w->done = true;
		} else {
			show_progress(w, &ev.merge);
		}
	}
	dmc_nl_answer_free(&ev);
	return 0;
}

/*
 * No event for a while, or some were lost: ask the module how the merge
 * stands.  Returns 0 or 1 (after printing why).
 */
static int wait_poll(struct merge_wait *w, struct nl_sock *nl,
		     const char *name)
{
	const struct dmc_nl_device *d = NULL;
	struct dmc_nl_info info;
	unsigned int i;
	int ret;

	ret = dmc_nl_get(nl, NULL, &info);
	if (ret) {
		progress_end(&w->bar, false);
		errmsg("device merge: %s: lost track of the merge: %s", name,
		       dmc_nl_strerror(nl, ret));
		return 1;
	}
	for (i = 0; i < info.nr_devices && !d; i++)
		if (same_device(w->dev, &info.devices[i]))
			d = &info.devices[i];
	if (!d) {
		progress_end(&w->bar, false);
		errmsg("device merge: %s: the device went away during the merge",
		       name);
		dmc_nl_info_free(&info);
		return 1;
	}
	if (d->has_merge && d->merge.state != DM_CHAIN_MERGE_STATE_RUNNING) {
		w->final = d->merge;
		w->done = true;
	} else if (d->has_merge) {
		show_progress(w, &d->merge);
	}
	dmc_nl_info_free(&info);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns 0 once w->final holds the end, else an exit status. */
static int wait_loop(struct merge_wait *w, struct nl_sock *nl,
		     const char *name, const sigset_t *wait_mask)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(w->ev->sk),
			      .events = POLLIN };
	int64_t last = now_ms(), poll_bar = last + MERGE_BAR_MS, left;
	struct timespec tmo;
	int n, ret;

	while (!w->done) {
		if (stop_requested) {
			progress_end(&w->bar, false);
			errmsg("device merge: stopped waiting; the merge of %s goes on in the kernel ('chainctl device cancel %s' stops it)",
			       name, name);
			return 130;
		}
		/*
		 * Quiet for a while (other devices' events do not count); with
		 * a bar, ask every MERGE_BAR_MS whatever the events say, so
		 * that it moves between the module's progress events.
		 */
		left = (w->bar.enabled ? poll_bar : last + MERGE_POLL_MS) - now_ms();
		if (left <= 0) {
			if (wait_poll(w, nl, name))
				return 1;
			last = now_ms();
			poll_bar = last + MERGE_BAR_MS;
			continue;
		}
		tmo.tv_sec = left / 1000;
		tmo.tv_nsec = (left % 1000) * 1000000L;
		n = ppoll(&pfd, 1, &tmo, wait_mask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			progress_end(&w->bar, false);
			errmsg("device merge: %s", strerror(errno));
			return 1;
		}
		if (n == 0)
			continue;
		w->heard = false;
		ret = nl_recv_events(w->ev, wait_event_cb, w);
		if (w->heard)
			last = now_ms();
		if (ret == -ENOBUFS) {
			/* Events were dropped: the end may be among them. */
			if (wait_poll(w, nl, name))
				return 1;
			last = now_ms();
		} else if (ret < 0 && ret != -EINTR) {
			progress_end(&w->bar, false);
			errmsg("device merge: receiving events: %s",
			       strerror(-ret));
			return 1;
		}
	}
	progress_end(&w->bar, w->final.state == DM_CHAIN_MERGE_STATE_DONE);
	return 0;
}

static int wait_done(struct merge_wait *w, struct nl_sock *nl,
		     const char *name)
{
	sigset_t wait_mask, saved;
	int ret;

	catch_stop_signals(&wait_mask, &saved);
	ret = wait_loop(w, nl, name, &wait_mask);
	release_stop_signals(&saved);
	return ret;
}

/* ---- deleting the merged layers ----------------------------------------- */

struct deleted {
	unsigned int nr;
	const char **paths;
};

/*
 * Delete PATH if its header says merged-away.  The kernel may still be
 * closing it: wait a little for the lock.  Returns 0 or -1 (printed).
 */
static int delete_source(const char *path)
{
	struct layer *l = NULL;
	struct dmc_err err;
	unsigned int try;
	int ret = -1;

	for (try = 0;; try++) {
		dmc_err_clear(&err);
		if (layer_open(path, LAYER_LOCK_EX, &l, &err) == 0)
			break;
		if (err.kind != DMC_ERR_BUSY || try >= DELETE_LOCK_TRIES) {
			errmsg("device merge: not deleting %s", err.msg);
			return -1;
		}
		usleep(DELETE_LOCK_WAIT_US);
	}
	if (l->is_raw || l->hdr.state != DMC_STATE_MERGED_AWAY) {
		errmsg("device merge: not deleting %s: it is %s, not merged-away",
		       path, l->is_raw ? "a raw image" :
		       layer_state_str(l->hdr.state));
	} else if (unlink(path)) {
		errmsg("device merge: cannot delete %s: %s", path,
		       strerror(errno));
	} else {
		fsync_parent_dir(path);
		ret = 0;
	}
	layer_close(l);
	return ret;
}

/* Returns 0, or 1 when a source was not deleted. */
static int delete_sources(const struct dmc_nl_device *dev,
			  const struct dmc_nl_merge *m, struct deleted *del)
{
	uint64_t i, first = (uint64_t)m->target + 1;
	const char *path;
	int ret = 0;

	del->paths = calloc(m->nr_sources ? m->nr_sources : 1,
			    sizeof(*del->paths));
	if (!del->paths) {
		errmsg("device merge: %s", strerror(ENOMEM));
		return 1;
	}
	for (i = first; i < first + m->nr_sources; i++) {
		path = layer_path_at(dev, i);
		if (!path) {
			errmsg("device merge: not deleting: the module did not list source layer %" PRIu64,
			       i);
			ret = 1;
			continue;
		}
		if (delete_source(path)) {
			ret = 1;
			continue;
		}
		del->paths[del->nr++] = path;
	}
	return ret;
}

/* ---- reports ------------------------------------------------------------ */

static void json_path(struct json_writer *jw, const char *key,
		      const char *path)
{
	if (path)
		json_string(jw, key, path);
	else
		json_null(jw, key);
}

/* The merge as one JSON object: status, paths, and what was deleted. */
static void merge_json(const char *name, const struct dmc_nl_device *dev,
		       const struct dmc_nl_merge *m, const struct deleted *del)
{
	struct json_writer jw;
	uint64_t i;

	json_document_begin(&jw, stdout);
	json_string(&jw, "device", name);
	if (dev->has_devno) {
		json_u64(&jw, "major", dev->major);
		json_u64(&jw, "minor", dev->minor);
	} else {
		json_null(&jw, "major");
		json_null(&jw, "minor");
	}
	merge_json_fields(&jw, m);
	json_path(&jw, "target_path", layer_path_at(dev, m->target));
	json_array_begin(&jw, "source_paths");
	for (i = (uint64_t)m->target + 1;
	     i <= (uint64_t)m->target + m->nr_sources; i++)
		json_path(&jw, NULL, layer_path_at(dev, i));
	json_array_end(&jw);
	json_path(&jw, "new_leaf_path", answer_leaf(dev));
	/* null: no --delete asked (or the merge did not end) */
	if (del) {
		json_array_begin(&jw, "deleted_paths");
		for (i = 0; i < del->nr; i++)
			json_string(&jw, NULL, del->paths[i]);
		json_array_end(&jw);
	} else {
		json_null(&jw, "deleted_paths");
	}
	json_document_end(&jw);
}

static const char *or_unknown(const char *path)
{
	return path ? path : "(unknown)";
}

/*
 * A merge that adds no leaf (an intermediate range, or a resume) says so
 * rather than naming the unchanged leaf as a new one.
 */
static void merge_text_started(const char *name,
			       const struct dmc_nl_device *dev,
			       const struct dmc_nl_merge *m)
{
	const char *target = or_unknown(layer_path_at(dev, m->target));
	const char *s = m->nr_sources == 1 ? "" : "s";

	if (m->keeps_leaf)
		printf("%s: merge %s%s: folding %" PRIu32 " layer%s into %s; leaf unchanged\n",
		       name, dmc_nl_merge_state_str(m->state),
		       m->resumed ? " (resumed)" : "", m->nr_sources, s,
		       target);
	else
		printf("%s: merge %s%s: %" PRIu32 " layer%s into %s, new leaf %s\n",
		       name, dmc_nl_merge_state_str(m->state),
		       m->resumed ? " (resumed)" : "", m->nr_sources, s,
		       target, or_unknown(answer_leaf(dev)));
}

static void merge_text_done(const struct dmc_nl_device *dev,
			    const struct dmc_nl_merge *m,
			    const struct deleted *del)
{
	const char *target = or_unknown(layer_path_at(dev, m->target));
	const char *s = m->nr_sources == 1 ? "" : "s";
	char bytes[128];
	unsigned int i;

	if (m->resumed)
		printf("resumed an interrupted merge\n");
	printf("merged %" PRIu32 " layer%s into %s in %.3f s: %s\n",
	       m->nr_sources, s, target, merge_seconds(m),
	       merge_bytes_text(m, bytes, sizeof(bytes)));
	if (m->keeps_leaf)
		printf("folded %" PRIu32 " layer%s into %s; leaf unchanged: %s\n",
		       m->nr_sources, s, target,
		       or_unknown(answer_leaf(dev)));
	else
		printf("new leaf: %s (longest I/O pause %.3f ms)\n",
		       or_unknown(answer_leaf(dev)),
		       (double)m->pause_ns / 1e6);
	if (m->yield_ns)
		printf("yielded %.3f s to the guest's I/O (merge_yield_pct)\n",
		       (double)m->yield_ns / 1e9);
	for (i = 0; del && i < del->nr; i++)
		printf("deleted %s\n", del->paths[i]);
}

/* ---- merge -------------------------------------------------------------- */

struct merge_args {
	const char *name;
	struct dmc_nl_merge_params p;
	const char *into_path;		/* --into given as a path */
	const char *from_path;		/* --from given as a path */
	char new_leaf[DMC_NL_PATH_LEN];
	bool wait, delete, json;
};

static int merge_parse_args(int argc, char **argv, struct merge_args *a)
{
	static const struct option opts[] = {
		{ "depth", required_argument, NULL, 'd' },
		{ "into", required_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'F' },
		{ "mode", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "new-leaf", required_argument, NULL, 'n' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "delete", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	bool depth_set = false;
	int c, ret;

	a->wait = true;
	a->json = g_opts.json;
	optind = 0;
	while ((c = cli_getopt("device merge", argc, argv, "d:i:F:m:r:n:WDjh",
			       opts)) != -1) {
		switch (c) {
		case 'd':
			if (parse_u32(optarg, &a->p.depth))
				return usage_error("merge", "bad depth '%s'",
						   optarg);
			if (!a->p.depth)
				return usage_error("merge", "depth must be at least 1");
			depth_set = true;
			break;
		case 'i':
			a->p.has_into = true;
			if (parse_u32(optarg, &a->p.into) == 0) {
				a->into_path = NULL;
			} else if (access(optarg, F_OK)) {
				return usage_error("merge", "--into %s: %s",
						   optarg, strerror(errno));
			} else {
				a->into_path = optarg;
			}
			break;
		case 'F':
			a->p.has_top = true;
			if (parse_u32(optarg, &a->p.top) == 0) {
				a->from_path = NULL;
			} else if (access(optarg, F_OK)) {
				return usage_error("merge", "--from %s: %s",
						   optarg, strerror(errno));
			} else {
				a->from_path = optarg;
			}
			break;
		case 'm':
			if (parse_mode(optarg, &a->p.mode))
				return usage_error("merge", "unknown mode '%s' (auto, clone or copy)",
						   optarg);
			a->p.has_mode = true;
			break;
		case 'r':
			if (parse_u32(optarg, &a->p.rate))
				return usage_error("merge", "bad rate '%s' (MiB/s, 0 for unlimited)",
						   optarg);
			a->p.has_rate = true;
			break;
		case 'n':
			ret = absolute_new_path(optarg, a->new_leaf,
						sizeof(a->new_leaf), &why);
			if (ret)
				return usage_error("merge", "--new-leaf %s: %s%s",
						   optarg, why,
						   errno_suffix(ret));
			a->p.new_leaf = a->new_leaf;
			break;
		case 'W': a->wait = false; break;
		case 'D': a->delete = true; break;
		case 'j': a->json = true; break;
		case 'h': return -1;
		default: return EXIT_USAGE;
		}
	}
	if (depth_set && a->p.has_into)
		return usage_error("merge", "--depth and --into exclude each other");
	if (a->p.has_top && !a->p.has_into)
		return usage_error("merge", "--from needs --into (the layer merged into)");
	if (a->p.has_top && a->p.new_leaf)
		return usage_error("merge", "--from merges below the leaf and adds no new leaf; drop --new-leaf");
	if (a->delete && !a->wait)
		return usage_error("merge", "--delete needs to wait for the end; drop --no-wait");
	if (optind >= argc)
		return usage_error("merge", "missing device NAME");
	if (optind + 1 < argc)
		return usage_error("merge", "unexpected argument '%s'",
				   argv[optind + 1]);
	a->name = argv[optind];
	why = check_name(a->name);
	if (why)
		return usage_error("merge", "%s", why);
	if (!depth_set && !a->p.has_into)
		a->p.depth = 1;
	return 0;
}

/* Report the end; returns the exit status. */
static int merge_finish(const struct merge_args *a,
			const struct dmc_nl_device *dev,
			const struct dmc_nl_merge *m)
{
	struct deleted del = { 0 }, *pdel = NULL;
	char why[DMC_NL_MESSAGE_LEN + 128];
	int ret = 0;

	if (m->state == DM_CHAIN_MERGE_STATE_DONE && a->delete) {
		ret = delete_sources(dev, m, &del);
		pdel = &del;
	}
	if (a->json)
		merge_json(a->name, dev, m, a->delete ? &del : NULL);
	else if (m->state == DM_CHAIN_MERGE_STATE_DONE)
		merge_text_done(dev, m, pdel);

	switch (m->state) {
	case DM_CHAIN_MERGE_STATE_DONE:
		break;
	case DM_CHAIN_MERGE_STATE_FAILED:
		errmsg("merge of %s failed: %s", a->name,
		       merge_error_text(m, why, sizeof(why)));
		ret = 1;
		break;
	case DM_CHAIN_MERGE_STATE_CANCELLED:
		errmsg("merge of %s cancelled", a->name);
		ret = 1;
		break;
	default:
		errmsg("merge of %s ended in state %s", a->name,
		       dmc_nl_merge_state_str(m->state));
		ret = 1;
		break;
	}
	free(del.paths);
	return ret;
}

int device_cmd_merge(int argc, char **argv)
{
	struct merge_args a;
	struct nl_sock *nl = NULL, *ev = NULL;
	struct dmc_nl_answer reply;
	struct merge_wait w;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = merge_parse_args(argc, argv, &a);
	if (ret < 0) {
		fputs(merge_help, stdout);
		return 0;
	}
	if (ret)
		return ret;

	ret = dmc_nl_open(&nl);
	if (ret) {
		errmsg("device merge: %s", dmc_nl_strerror(NULL, ret));
		return 1;
	}
	if (a.into_path) {
		ret = resolve_layer(nl, a.name, "--into", a.into_path, false,
				    &a.p.into);
		if (ret)
			goto close;
	}
	if (a.from_path) {
		ret = resolve_layer(nl, a.name, "--from", a.from_path, true,
				    &a.p.top);
		if (ret)
			goto close;
	}
	/* Listen before asking, so that even a quick merge's end is heard. */
	if (a.wait) {
		ret = dmc_nl_open(&ev);
		if (!ret)
			ret = nl_subscribe(ev, DM_CHAIN_GENL_MCGRP_EVENTS);
		if (ret) {
			errmsg("device merge: cannot listen to the module's events: %s",
			       ret == -ENOENT && ev ?
			       "the module has no events group" :
			       dmc_nl_strerror(ev, ret));
			ret = 1;
			goto close;
		}
	}

	ret = dmc_nl_merge(nl, a.name, &a.p, &reply);
	if (ret == -EINVAL && a.p.has_top &&
	    !strcmp(nl_errmsg(nl), "Unknown attribute type")) {
		/* A module from before DM_CHAIN_MERGE_A_TOP (netlink.md). */
		errmsg("device merge: %s: the dm-chain module does not know --from (intermediate live merge); it needs a newer module",
		       a.name);
		ret = 1;
		goto close;
	}
	if (ret) {
		errmsg("device merge: %s: %s", a.name,
		       dmc_nl_strerror(nl, ret));
		ret = 1;
		goto close;
	}
	if (!a.wait) {
		if (a.json)
			merge_json(a.name, &reply.dev, &reply.merge, NULL);
		else
			merge_text_started(a.name, &reply.dev, &reply.merge);
		ret = 0;
		goto free_reply;
	}
	if (reply.merge.resumed && !a.json &&
	    (a.p.has_into || a.p.depth != 1))
		errmsg("device merge: %s: resuming an unfinished merge; --depth/--into/--from ignored",
		       a.name);

	memset(&w, 0, sizeof(w));
	w.ev = ev;
	w.dev = &reply.dev;
	/* Narrow bar: the byte counts after it must fit in 80 columns. */
	progress_init(&w.bar, true, "merge");
	w.bar.width = 10;
	if (reply.merge.state == DM_CHAIN_MERGE_STATE_RUNNING ||
	    reply.merge.state == DM_CHAIN_MERGE_STATE_NONE) {
		show_progress(&w, &reply.merge);
		ret = wait_done(&w, nl, a.name);
		if (ret)
			goto free_reply;
	} else {
		w.final = reply.merge;	/* already over when it answered */
	}
	ret = merge_finish(&a, &reply.dev, &w.final);
free_reply:
	dmc_nl_answer_free(&reply);
close:
	nl_close(ev);
	nl_close(nl);
	return ret;
}

int device_merge_resume(const char *ctx, const char *name, bool has_rate,
			uint32_t rate)
{
	struct dmc_nl_merge_params p;
	struct dmc_nl_answer reply;
	struct nl_sock *nl;
	int ret;

	memset(&p, 0, sizeof(p));
	p.depth = 1;		/* ignored by a resume; the module wants one */
	p.has_rate = has_rate;
	p.rate = rate;
	ret = dmc_nl_open(&nl);
	if (ret) {
		errmsg("%s: %s", ctx, dmc_nl_strerror(NULL, ret));
		return 1;
	}
	ret = dmc_nl_merge(nl, name, &p, &reply);
	if (ret) {
		errmsg("%s: %s: resuming its merge: %s", ctx, name,
		       dmc_nl_strerror(nl, ret));
		nl_close(nl);
		return 1;
	}
	if (!reply.merge.resumed)
		errmsg("%s: %s: warning: the module started a new merge rather than resuming one",
		       ctx, name);
	merge_text_started(name, &reply.dev, &reply.merge);
	dmc_nl_answer_free(&reply);
	nl_close(nl);
	return 0;
}

/* ---- cancel ------------------------------------------------------------- */

/*
 * "NAME [-j]" arguments of cancel and snapshot (-j only where JSON is
 * given); -1 for --help.  ARGV[0] is the command, as for getopt.
 */
static int simple_args(int argc, char **argv, const char *cmd, bool *json,
		       const char **pos, int min_pos, int max_pos)
{
	static const struct option json_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option plain_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char what[32];
	int c, got = 0;
	const char *why;

	snprintf(what, sizeof(what), "device %s", cmd);
	optind = 0;
	while ((c = cli_getopt(what, argc, argv, json ? "jh" : "h",
			       json ? json_opts : plain_opts)) != -1) {
		switch (c) {
		case 'j': *json = true; break;
		case 'h': return -1;
		default: return EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++) {
		if (got >= max_pos)
			return usage_error(cmd, "unexpected argument '%s'",
					   argv[optind]);
		pos[got++] = argv[optind];
	}
	if (got < min_pos)
		return usage_error(cmd, "missing device NAME");
	why = check_name(pos[0]);
	if (why)
		return usage_error(cmd, "%s", why);
	return 0;
}

int device_cmd_cancel(int argc, char **argv)
{
	const char *pos[1];
	struct nl_sock *nl;
	int ret;

	ret = simple_args(argc, argv, "cancel", NULL, pos, 1, 1);
	if (ret < 0) {
		fputs(cancel_help, stdout);
		return 0;
	}
	if (ret)
		return ret;
	ret = dmc_nl_open(&nl);
	if (ret) {
		errmsg("device cancel: %s", dmc_nl_strerror(NULL, ret));
		return 1;
	}
	ret = dmc_nl_merge_cancel(nl, pos[0]);
	if (ret)
		errmsg("device cancel: %s: %s", pos[0],
		       dmc_nl_strerror(nl, ret));
	else
		printf("cancelled merge on %s\n", pos[0]);
	nl_close(nl);
	return ret ? 1 : 0;
}

/* ---- snapshot ----------------------------------------------------------- */

int device_cmd_snapshot(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *why;
	char file[DMC_NL_PATH_LEN];
	struct dmc_nl_answer reply;
	bool json = g_opts.json;
	struct json_writer jw;
	struct nl_sock *nl;
	int ret;

	ret = simple_args(argc, argv, "snapshot", &json, pos, 1, 2);
	if (ret < 0) {
		fputs(snapshot_help, stdout);
		return 0;
	}
	if (ret)
		return ret;
	if (pos[1]) {
		ret = absolute_new_path(pos[1], file, sizeof(file), &why);
		if (ret)
			return usage_error("snapshot", "%s: %s%s", pos[1], why,
					   errno_suffix(ret));
	}

	ret = dmc_nl_open(&nl);
	if (ret) {
		errmsg("device snapshot: %s", dmc_nl_strerror(NULL, ret));
		return 1;
	}
	ret = dmc_nl_snapshot(nl, pos[0], pos[1] ? file : NULL, &reply);
	if (ret) {
		errmsg("device snapshot: %s: %s", pos[0],
		       dmc_nl_strerror(nl, ret));
		nl_close(nl);
		return 1;
	}
	if (json) {
		json_document_begin(&jw, stdout);
		json_string(&jw, "device", pos[0]);
		json_string(&jw, "new_leaf_path", reply.path);
		json_u64(&jw, "pause_ns", reply.pause_ns);
		json_document_end(&jw);
	} else {
		printf("%s: new leaf %s (I/O paused %.3f ms)\n", pos[0],
		       reply.path, (double)reply.pause_ns / 1e6);
	}
	dmc_nl_answer_free(&reply);
	nl_close(nl);
	return 0;
}
