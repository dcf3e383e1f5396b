// SPDX-License-Identifier: GPL-2.0
/*
 * Driving qemu-img and qemu-io: running them (fork, execvp with an
 * argument vector: paths may hold spaces and quotes) and reading their
 * JSON with json-c.  See qemu_img.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qemu_img.h"

/* ---- running a tool ----------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/*
 * Read what is ready on FD into B (kept in full up to 256 MiB, for the JSON
 * and for the reason of a failure, which qemu-io prints on stdout); 0 at
 * EOF, 1 for more, -1 on error.
 */
static int drain(int fd, struct buf *b)
{
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	if (b->len < (256U << 20) && buf_add(b, chunk, (size_t)n))
		return -1;
	return 1;
}

/* The child's side: never returns.  Tells the parent why exec failed
 * through ERRFD (close-on-exec: silence means it ran). */
static void child(char *const argv[], const char *cwd, int outfd, int errfd_out,
		  int errfd)
{
	int null = open("/dev/null", O_RDONLY);
	int e;

	/* A chainctl killed outright takes its tool along. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (null < 0 || dup2(null, 0) < 0 || dup2(outfd, 1) < 0 ||
	    dup2(errfd_out, 2) < 0 || (cwd && chdir(cwd))) {
		e = errno;
	} else {
		execvp(argv[0], argv);
		e = errno;
	}
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* The first non-empty line of S, at most 300 characters, into OUT. */
static void first_line(const char *s, char *out, size_t len)
{
	size_t n;

	while (*s == '\n' || *s == ' ')
		s++;
	n = strcspn(s, "\n");
	if (n > 300)
		n = 300;
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

int qtool_run(char *const argv[], const struct qtool_opts *o, const char *what,
	      char **out, struct dmc_err *err)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, px[2] = { -1, -1 };
	struct buf bo = { 0 }, be = { 0 };
	bool open_o = true, open_e = true, stopped = false;
	int status = 0, e = 0, ret = -1;
	char line[320];
	pid_t pid;

	if (out)
		*out = NULL;
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(px, O_CLOEXEC)) {
		dmc_err_errno(err, errno, "%s: cannot run %s", what, argv[0]);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		dmc_err_errno(err, errno, "%s: cannot run %s", what, argv[0]);
		goto out;
	}
	if (pid == 0)
		child(argv, o ? o->cwd : NULL, po[1], pe[1], px[1]);
	close(po[1]);
	close(pe[1]);
	close(px[1]);
	po[1] = pe[1] = px[1] = -1;
	while (open_o || open_e) {
		struct pollfd p[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
		int r;

		p[0].fd = open_o ? po[0] : -1;
		p[1].fd = open_e ? pe[0] : -1;
		r = poll(p, 2, 200);
		if (!stopped && o && o->stop && *o->stop) {
			kill(pid, SIGTERM);
			stopped = true;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (open_o && p[0].revents) {
			size_t before = bo.len;

			if (drain(po[0], &bo) <= 0)
				open_o = false;
			if (o && o->on_stdout && bo.len > before)
				o->on_stdout(bo.p + before, bo.len - before, o->arg);
		}
		if (open_e && p[1].revents && drain(pe[0], &be) <= 0)
			open_e = false;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(px[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		if (e == ENOENT)
			dmc_err(err, DMC_ERR_USAGE, "%s not found (install qemu-utils)",
				argv[0]);
		else
			dmc_err_errno(err, e, "%s: cannot run %s", what, argv[0]);
		goto out;
	}
	if (stopped || (o && o->stop && *o->stop)) {
		dmc_err(err, DMC_ERR_IO, "%s: interrupted (%s stopped)", what, argv[0]);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		/* qemu-io reports failed commands on stdout. */
		first_line(be.p && be.p[0] ? be.p : bo.p ? bo.p : "", line, sizeof(line));
		if (WIFEXITED(status))
			dmc_err(err, DMC_ERR_IO, "%s: %s failed (exit status %d)%s%s",
				what, argv[0], WEXITSTATUS(status), line[0] ? ": " : "", line);
		else
			dmc_err(err, DMC_ERR_IO, "%s: %s killed by signal %d", what,
				argv[0], WTERMSIG(status));
		goto out;
	}
	if (out && o && o->want_stdout) {
		*out = bo.p ? bo.p : strdup("");
		bo.p = NULL;
		if (!*out) {
			dmc_err_errno(err, ENOMEM, "%s", what);
			goto out;
		}
	}
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
		if (px[i] >= 0)
			close(px[i]);
	}
	free(bo.p);
	free(be.p);
	return ret;
}

bool qimg_parse_percent(const char *data, size_t len, double *done)
{
	bool found = false;
	size_t i, j;

	/* "    (12.50/100%)\r", repeated; take the last complete one. */
	for (i = 0; i < len; i++) {
		char num[32];
		double v;

		if (data[i] != '(')
			continue;
		for (j = i + 1; j < len && j - i - 1 < sizeof(num) - 1 &&
		     ((data[j] >= '0' && data[j] <= '9') || data[j] == '.'); j++)
			;
		if (j == i + 1 || len - j < 6 || memcmp(data + j, "/100%)", 6))
			continue;
		memcpy(num, data + i + 1, j - i - 1);
		num[j - i - 1] = '\0';
		v = strtod(num, NULL) / 100.0;
		if (v >= 0 && v <= 1) {
			*done = v;
			found = true;
		}
	}
	return found;
}

/* ---- JSON helpers ---------------------------------------------------------- */

static bool get_u64(struct json_object *o, const char *key, uint64_t *v)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_int))
		return false;
	if (json_object_get_int64(m) < 0)
		return false;
	*v = json_object_get_uint64(m);
	return true;
}

/* A boolean member; DEF when absent. */
static bool get_bool(struct json_object *o, const char *key, bool def)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m))
		return def;
	return json_object_get_boolean(m);
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, json_type_string))
		return NULL;
	return json_object_get_string(m);
}

static struct json_object *parse_array(const char *json, char *why, size_t len)
{
	struct json_object *root = json_tokener_parse(json);

	if (!root || !json_object_is_type(root, json_type_array)) {
		snprintf(why, len, "not a JSON array");
		json_object_put(root);
		return NULL;
	}
	return root;
}

/* ---- info ------------------------------------------------------------------ */

void qimg_chain_free(struct qimg_chain *c)
{
	unsigned int i;

	for (i = 0; c->images && i < c->nr; i++) {
		free(c->images[i].filename);
		free(c->images[i].format);
	}
	free(c->images);
	c->images = NULL;
	c->nr = 0;
}

int qimg_parse_info(const char *json, struct qimg_chain *c, char *why,
		    size_t why_len)
{
	struct json_object *root = parse_array(json, why, why_len), *e, *fs, *data;
	size_t i, n;

	memset(c, 0, sizeof(*c));
	if (!root)
		return -1;
	n = json_object_array_length(root);
	if (!n) {
		snprintf(why, why_len, "no image");
		goto fail;
	}
	c->images = calloc(n, sizeof(*c->images));
	if (!c->images) {
		snprintf(why, why_len, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		struct qimg_image *im = &c->images[i];
		const char *fn, *fmt;

		e = json_object_array_get_idx(root, i);
		c->nr = (unsigned int)i + 1;
		fn = e ? get_str(e, "filename") : NULL;
		fmt = e ? get_str(e, "format") : NULL;
		if (!fn || !fmt || !get_u64(e, "virtual-size", &im->virtual_size)) {
			snprintf(why, why_len, "image %zu: no filename, format or virtual-size", i);
			goto fail;
		}
		im->filename = strdup(fn);
		im->format = strdup(fmt);
		if (!im->filename || !im->format) {
			snprintf(why, why_len, "out of memory");
			goto fail;
		}
		if (!get_u64(e, "cluster-size", &im->cluster_size))
			im->cluster_size = 0;
		im->has_backing = get_str(e, "backing-filename") != NULL;
		im->backing_format = get_str(e, "backing-filename-format") != NULL;
		im->encrypted = get_bool(e, "encrypted", false);
		if (json_object_object_get_ex(e, "format-specific", &fs) &&
		    json_object_object_get_ex(fs, "data", &data) &&
		    get_str(data, "data-file"))
			im->data_file = true;
		if (im->has_backing && i + 1 == n) {
			snprintf(why, why_len, "%s names a backing file that is not listed", fn);
			goto fail;
		}
	}
	json_object_put(root);
	return 0;
fail:
	json_object_put(root);
	qimg_chain_free(c);
	return -1;
}

/* ---- map ------------------------------------------------------------------- */

void qimg_map_free(struct qimg_map *m)
{
	free(m->ext);
	m->ext = NULL;
	m->nr = 0;
}

int qimg_parse_map(const char *json, uint64_t virtual_size, struct qimg_map *m,
		   char *why, size_t why_len)
{
	struct json_object *root = parse_array(json, why, why_len), *e;
	uint64_t pos = 0, start, length, depth;
	size_t i, n;

	memset(m, 0, sizeof(*m));
	if (!root)
		return -1;
	n = json_object_array_length(root);
	m->ext = calloc(n ? n : 1, sizeof(*m->ext));
	if (!m->ext) {
		snprintf(why, why_len, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		enum qimg_kind kind;
		bool present, data, zero;

		e = json_object_array_get_idx(root, i);
		if (!e || !get_u64(e, "start", &start) || !get_u64(e, "length", &length) ||
		    !get_u64(e, "depth", &depth)) {
			snprintf(why, why_len, "entry %zu: no start, length or depth", i);
			goto fail;
		}
		if (start != pos || !length || length > virtual_size - pos) {
			snprintf(why, why_len,
				 "entry %zu (%llu+%llu) does not follow the previous one at %llu inside %llu bytes",
				 i, (unsigned long long)start, (unsigned long long)length,
				 (unsigned long long)pos, (unsigned long long)virtual_size);
			goto fail;
		}
		data = get_bool(e, "data", false);
		zero = get_bool(e, "zero", false);
		/* "present" came with QEMU 6.0; before, data was all it said. */
		present = get_bool(e, "present", data);
		if (depth != 0 || !present)
			kind = QIMG_ABSENT;
		else if (zero)
			kind = QIMG_ZERO;
		else
			kind = QIMG_DATA;
		if (m->nr && m->ext[m->nr - 1].kind == kind) {
			m->ext[m->nr - 1].length += length;
		} else {
			m->ext[m->nr].start = start;
			m->ext[m->nr].length = length;
			m->ext[m->nr].kind = kind;
			m->nr++;
		}
		pos += length;
	}
	if (pos != virtual_size) {
		snprintf(why, why_len, "the entries end at %llu, the image at %llu",
			 (unsigned long long)pos, (unsigned long long)virtual_size);
		goto fail;
	}
	json_object_put(root);
	return 0;
fail:
	json_object_put(root);
	qimg_map_free(m);
	return -1;
}

uint64_t qimg_map_alignment(const struct qimg_map *m, uint64_t cap)
{
	uint64_t a = cap;
	size_t i;

	for (i = 1; i < m->nr; i++)
		while (a > 1 && m->ext[i].start % a)
			a >>= 1;
	return a;
}

bool qimg_map_misaligned(const struct qimg_map *m, uint64_t block, uint64_t *bad)
{
	size_t i;

	for (i = 1; i < m->nr; i++) {
		if (m->ext[i].start % block) {
			*bad = m->ext[i].start;
			return true;
		}
	}
	return false;
}

uint64_t qimg_pick_block(const struct qimg_chain *c, const struct qimg_map *maps,
			 uint64_t def, uint64_t min, uint64_t max)
{
	uint64_t block = 0, a;
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		uint64_t cs = c->images[i].cluster_size;

		if (cs && (!block || cs < block))
			block = cs;
	}
	if (!block)
		block = def;
	/* A cluster size is a power of two; keep within dm-chain's range. */
	for (a = max; a > min && a > block; a >>= 1)
		;
	block = a;
	for (i = 0; i < c->nr; i++) {
		a = qimg_map_alignment(&maps[i], block);
		if (a < block)
			block = a;
	}
	return block < min ? 0 : block;
}

/* ---- naming ---------------------------------------------------------------- */

static char *spec_string(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = NULL;

	if (s && asprintf(&out, "json:%s", s) < 0)
		out = NULL;
	json_object_put(o);
	return out;
}

static struct json_object *file_node(const char *filename)
{
	struct json_object *f = json_object_new_object();

	json_object_object_add(f, "driver", json_object_new_string("file"));
	json_object_object_add(f, "filename", json_object_new_string(filename));
	return f;
}

char *qimg_spec_alone(const char *filename, const char *format, bool cut_backing)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "driver", json_object_new_string(format));
	if (cut_backing)
		json_object_object_add(o, "backing", NULL);
	json_object_object_add(o, "file", file_node(filename));
	return spec_string(o);
}

char *qimg_spec_window(const char *filename, uint64_t offset, uint64_t size)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "driver", json_object_new_string("raw"));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)offset));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "file", file_node(filename));
	return spec_string(o);
}

char *qimg_plain_path(const char *path)
{
	char *out = NULL;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "./%s", path) < 0)
		return NULL;
	return out;
}

char *qimg_stem(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	size_t n;
	char *out;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	memcpy(out, base, n);
	out[n] = '\0';
	return out;
}
