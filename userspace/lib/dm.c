// SPDX-License-Identifier: GPL-2.0
/*
 * The "chain" table line and the libdevmapper calls behind
 * `chainctl device`.  The table-line half is pure string work; the rest
 * keeps libdevmapper's logging and udev handling in one place so commands
 * only see 0 / -errno plus a one-line reason.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdevmapper.h>
#include <linux/dm-ioctl.h>	/* DM_NAME_LEN */

#include "dm.h"
#include "sizes.h"

/* ---- table line --------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

bool dmc_table_path_safe(const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f || c == 0xa0 || c == '\\')
			return false;
	}
	return true;
}

int dmc_table_build(const char *const *paths, unsigned int nr_paths,
		    bool raw_base, bool read_only, char **out, char *err,
		    size_t errlen)
{
	size_t len, off;
	unsigned int i;
	char *line;

	*out = NULL;
	if (!nr_paths) {
		set_err(err, errlen, "a chain needs at least one layer");
		return -EINVAL;
	}
	if (nr_paths > DMC_MAX_LAYERS) {
		set_err(err, errlen, "%u layers: at most %d are supported",
			nr_paths, DMC_MAX_LAYERS);
		return -E2BIG;
	}

	len = 16 + sizeof(" 2 " DMC_DM_FEATURE_RAW " " DMC_DM_FEATURE_RO);
	for (i = 0; i < nr_paths; i++) {
		const char *p = paths[i];

		if (!p || p[0] != '/') {
			set_err(err, errlen, "%s: layer path is not absolute",
				p ? p : "(null)");
			return -EINVAL;
		}
		if (!dmc_table_path_safe(p)) {
			set_err(err, errlen,
				"%s: a path with whitespace, control characters or a backslash cannot go in a device-mapper table",
				p);
			return -EINVAL;
		}
		len += strlen(p) + 1;
	}

	line = malloc(len);
	if (!line)
		return -ENOMEM;
	off = (size_t)snprintf(line, len, "%u", nr_paths);
	for (i = 0; i < nr_paths; i++)
		off += (size_t)snprintf(line + off, len - off, " %s", paths[i]);
	if (raw_base || read_only)
		off += (size_t)snprintf(line + off, len - off, " %u",
					(unsigned int)raw_base + read_only);
	if (raw_base)
		off += (size_t)snprintf(line + off, len - off, " %s",
					DMC_DM_FEATURE_RAW);
	if (read_only)
		snprintf(line + off, len - off, " %s", DMC_DM_FEATURE_RO);
	*out = line;
	return 0;
}

void dmc_table_free(struct dmc_table *t)
{
	unsigned int i;

	if (t->paths)
		for (i = 0; i < t->nr_layers; i++)
			free(t->paths[i]);
	free(t->paths);
	memset(t, 0, sizeof(*t));
}

/* Split S on whitespace into a malloc'd NULL-terminated vector. */
static char **split_words(const char *s, unsigned int *nr)
{
	char **words = NULL, **grown;
	unsigned int n = 0;
	const char *start;

	for (;;) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		start = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		grown = realloc(words, (n + 2) * sizeof(*words));
		if (!grown)
			goto fail;
		words = grown;
		words[n] = strndup(start, (size_t)(s - start));
		if (!words[n])
			goto fail;
		words[++n] = NULL;
	}
	*nr = n;
	return words ? words : calloc(1, sizeof(*words));
fail:
	while (n)
		free(words[--n]);
	free(words);
	return NULL;
}

int dmc_table_parse(const char *params, struct dmc_table *t)
{
	unsigned int nr_words, i, w;
	uint64_t nr_layers, nr_features;
	char **words;
	int ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	words = split_words(params, &nr_words);
	if (!words)
		return -ENOMEM;
	if (nr_words < 2 || parse_uint(words[0], UINT64_MAX, &nr_layers) ||
	    nr_layers == 0 || nr_layers > nr_words - 1)
		goto out;

	t->paths = calloc(nr_layers, sizeof(*t->paths));
	if (!t->paths) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr_layers; i++) {
		t->paths[i] = words[1 + i];
		words[1 + i] = NULL;
		t->nr_layers++;
	}

	w = 1 + (unsigned int)nr_layers;
	if (w < nr_words) {
		if (parse_uint(words[w], UINT64_MAX, &nr_features) ||
		    nr_features != nr_words - w - 1)
			goto out;
		for (w++; w < nr_words; w++) {
			if (!strcmp(words[w], DMC_DM_FEATURE_RO))
				t->read_only = true;
			else if (!strcmp(words[w], DMC_DM_FEATURE_RAW))
				t->raw_base = true;
		}
	}
	ret = 0;
out:
	for (i = 0; i < nr_words; i++)
		free(words[i]);
	free(words);
	if (ret)
		dmc_table_free(t);
	return ret;
}

int dmc_bytes_to_sectors(uint64_t virtual_size, uint64_t *sectors)
{
	if (virtual_size == 0 || virtual_size % 512)
		return -EINVAL;
	*sectors = virtual_size / 512;
	return 0;
}

/* ---- device names ------------------------------------------------------ */

bool dmc_dm_valid_name(const char *name, const char **why)
{
	const char *p;

	if (!name[0]) {
		*why = "empty";
		return false;
	}
	if (strlen(name) >= DM_NAME_LEN) {
		*why = "longer than 127 characters";
		return false;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "control")) {
		*why = "reserved";
		return false;
	}
	for (p = name; *p; p++) {
		if (*p == '/' || (unsigned char)*p <= ' ' || *p == 0x7f) {
			*why = "contains '/', whitespace or control characters";
			return false;
		}
	}
	return true;
}

/* ---- libdevmapper: set-up --------------------------------------------- */

/* libdevmapper's log levels (syslog numbering; not in its public header). */
#define DM_LOG_LEVEL_MASK	0x0f
#define DM_LOG_ERR		3
#define DM_LOG_WARN		4

static char dm_last_error[512];	/* first error since clear_error() */
static bool dm_verbose;
static bool udev_running;

static void dm_log(int level, const char *file, int line, int dm_errno_or_class,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void dm_log(int level, const char *file, int line, int dm_errno_or_class,
		   const char *fmt, ...)
{
	char msg[sizeof(dm_last_error)];
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	level &= DM_LOG_LEVEL_MASK;
	if (level > DM_LOG_WARN && !dm_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Keep the first error of an operation: libdevmapper follows the
	 * precise one with generic ones ("Command failed", hints). */
	if (level <= DM_LOG_ERR && msg[0] && !dm_last_error[0])
		memcpy(dm_last_error, msg, sizeof(dm_last_error));
	if (dm_verbose)
		fprintf(stderr, "chainctl: libdevmapper: %s\n", msg);
}

/*
 * Once, before the first libdevmapper call: its messages come to dm_log(),
 * and without udevd nobody would complete a cookie, so do not wait for
 * udev and let the library make the nodes itself.
 */
static void dm_lib_setup(void)
{
	static bool done;

	if (done)
		return;
	dm_log_with_errno_init(dm_log);
	if (!udev_running)
		dm_udev_set_sync_support(0);
	done = true;
}

/* ---- libdevmapper: logging and udev ------------------------------------- */

bool dmc_dm_udev_running(void)
{
	/* udevd's control socket; libudev's udev_queue_get_udev_is_active()
	 * checks the same thing. */
	return access("/run/udev/control", F_OK) == 0;
}

void dmc_dm_init(bool verbose)
{
	dm_verbose = verbose;
	udev_running = dmc_dm_udev_running();
}

const char *dmc_dm_errmsg(void)
{
	return dm_last_error;
}

static void clear_error(void)
{
	dm_last_error[0] = '\0';
}

static uint16_t udev_flags(void)
{
	/* With udevd: rely on its rules, as LVM does.  Without: the library
	 * fallback is what creates and removes the nodes. */
	return udev_running ? DM_UDEV_DISABLE_LIBRARY_FALLBACK : 0;
}

static int task_errno(struct dm_task *dmt, int fallback)
{
	int e = dm_task_get_errno(dmt);

	return e > 0 ? -e : fallback;
}

/* ---- libdevmapper: queries ---------------------------------------------- */

static int run_query(int type, const char *name, struct dm_task **out)
{
	struct dm_task *dmt;
	int ret;

	dmt = dm_task_create(type);
	if (!dmt)
		return -ENOMEM;
	/* Only INFO reports the open count; spare the others the lookup. */
	if (!dm_task_set_name(dmt, name) ||
	    (type != DM_DEVICE_INFO && !dm_task_no_open_count(dmt))) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	if (!dm_task_run(dmt)) {
		ret = task_errno(dmt, -EIO);
		dm_task_destroy(dmt);
		return ret;
	}
	*out = dmt;
	return 0;
}

/* The single target of a TABLE or STATUS task, or -EMEDIUMTYPE. */
static int single_chain_target(struct dm_task *dmt, uint64_t *length,
			       char **params)
{
	uint64_t start, len;
	char *type = NULL, *p = NULL;
	void *next;

	next = dm_get_next_target(dmt, NULL, &start, &len, &type, &p);
	if (!type || strcmp(type, DMC_DM_TARGET) || next)
		return -EMEDIUMTYPE;
	if (length)
		*length = len;
	if (params) {
		*params = strdup(p ? p : "");
		if (!*params)
			return -ENOMEM;
	}
	return 0;
}

void dmc_dm_dev_free(struct dmc_dm_dev *dev)
{
	free(dev->params);
	free(dev->status);
	dev->params = dev->status = NULL;
}

int dmc_dm_get(const char *name, struct dmc_dm_dev *dev)
{
	struct dm_task *dmt;
	struct dm_info info;
	const char *uuid;
	int ret;

	clear_error();
	memset(dev, 0, sizeof(*dev));
	if (strlen(name) >= sizeof(dev->name))
		return -ENAMETOOLONG;
	dm_lib_setup();

	ret = run_query(DM_DEVICE_INFO, name, &dmt);
	if (ret)
		return ret;
	if (!dm_task_get_info(dmt, &info) || !info.exists) {
		dm_task_destroy(dmt);
		return -ENODEV;
	}
	strcpy(dev->name, name);
	uuid = dm_task_get_uuid(dmt);
	if (uuid)
		snprintf(dev->uuid, sizeof(dev->uuid), "%s", uuid);
	dev->major = info.major;
	dev->minor = info.minor;
	dev->suspended = info.suspended;
	dev->read_only = info.read_only;
	dev->live_table = info.live_table;
	dev->open_count = info.open_count;
	dev->event_nr = info.event_nr;
	dm_task_destroy(dmt);

	if (!dev->live_table)
		return -EMEDIUMTYPE;	/* created but never loaded: not ours */

	ret = run_query(DM_DEVICE_TABLE, name, &dmt);
	if (ret)
		goto fail;
	ret = single_chain_target(dmt, &dev->sectors, &dev->params);
	dm_task_destroy(dmt);
	if (ret)
		goto fail;

	ret = run_query(DM_DEVICE_STATUS, name, &dmt);
	if (ret)
		goto fail;
	ret = single_chain_target(dmt, NULL, &dev->status);
	dm_task_destroy(dmt);
	if (ret)
		goto fail;
	return 0;
fail:
	dmc_dm_dev_free(dev);
	return ret;
}

static int cmp_dev_name(const void *a, const void *b)
{
	const struct dmc_dm_dev *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void dmc_dm_list_free(struct dmc_dm_dev *devs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		dmc_dm_dev_free(&devs[i]);
	free(devs);
}

int dmc_dm_list(struct dmc_dm_dev **out, unsigned int *out_nr)
{
	struct dmc_dm_dev *devs = NULL, *grown;
	struct dm_names *names;
	struct dm_task *dmt;
	unsigned int nr = 0, next = 0;
	int ret = 0;

	clear_error();
	*out = NULL;
	*out_nr = 0;
	dm_lib_setup();
	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		ret = task_errno(dmt, -EIO);
		goto out;
	}
	names = dm_task_get_names(dmt);
	if (!names || !names->dev)
		goto out;	/* no devices at all */

	do {
		struct dmc_dm_dev dev;
		int r;

		names = (struct dm_names *)((char *)names + next);
		r = dmc_dm_get(names->name, &dev);
		next = names->next;
		if (r == -ENODEV || r == -EMEDIUMTYPE)
			continue;	/* gone meanwhile, or another target */
		if (r) {
			ret = r;
			goto out;
		}
		grown = realloc(devs, (nr + 1) * sizeof(*devs));
		if (!grown) {
			dmc_dm_dev_free(&dev);
			ret = -ENOMEM;
			goto out;
		}
		devs = grown;
		devs[nr++] = dev;
	} while (next);

	qsort(devs, nr, sizeof(*devs), cmp_dev_name);
out:
	dm_task_destroy(dmt);
	if (ret) {
		dmc_dm_list_free(devs, nr);
		return ret;
	}
	*out = devs;
	*out_nr = nr;
	return 0;
}

/* ---- the kernel's reason for refusing a table --------------------------- */

/*
 * device-mapper reports a refused table to the ioctl caller only as an
 * errno; the target's ti->error goes to the kernel log as
 * "device-mapper: table: MAJ:MIN: chain: REASON".  Read the log records
 * written since create began (/dev/kmsg, best effort: needs privilege).
 */
static char kernel_reason[512];

static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void kmsg_find_reason(int fd)
{
	static const char table_tag[] = "device-mapper: table: ";
	static const char target_tag[] = ": " DMC_DM_TARGET ": ";
	char rec[2048], *msg, *p;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n <= 0)
			break;		/* EAGAIN: no more records */
		rec[n] = '\0';
		msg = strchr(rec, ';');	/* "prio,seq,usec,flags;text\n" */
		if (!msg)
			continue;
		msg++;
		msg[strcspn(msg, "\n")] = '\0';
		p = strstr(msg, table_tag);
		if (!p)
			continue;
		p = strstr(p + sizeof(table_tag) - 1, target_tag);
		if (!p)
			continue;
		snprintf(kernel_reason, sizeof(kernel_reason), "%s",
			 p + sizeof(target_tag) - 1);
		/* Drop the " (-22)" / " (-EINVAL)" device-mapper appends. */
		p = strrchr(kernel_reason, '(');
		if (p && p > kernel_reason && p[-1] == ' ' && p[1] == '-' &&
		    p[strlen(p) - 1] == ')')
			p[-1] = '\0';
	}
}

const char *dmc_dm_kernel_reason(void)
{
	return kernel_reason;
}

/* ---- libdevmapper: create and remove ------------------------------------ */

/*
 * Without udev, make sure /dev/mapper/NAME is there (or gone).  The node
 * operations libdevmapper queued run first; then dm_mknodes() queues the
 * node again from the kernel's view (it makes a node whose mknod() failed,
 * which dm_task_run() does not report), and that queue is run too.
 */
static void sync_nodes(const char *name)
{
	if (udev_running)
		return;
	dm_task_update_nodes();
	if (name) {
		dm_mknodes(name);
		dm_task_update_nodes();
	}
}

int dmc_dm_create(const char *name, const char *uuid, uint64_t sectors,
		  const char *params, bool read_only)
{
	struct dmc_dm_dev existing;
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int kmsg, ret = 0;

	ret = dmc_dm_get(name, &existing);
	dmc_dm_dev_free(&existing);
	if (ret == 0 || ret == -EMEDIUMTYPE)
		return -EEXIST;
	if (ret != -ENODEV)
		return ret;
	ret = 0;
	clear_error();

	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) ||
	    (uuid && !dm_task_set_uuid(dmt, uuid)) ||
	    (read_only && !dm_task_set_ro(dmt)) ||
	    !dm_task_add_target(dmt, 0, sectors, DMC_DM_TARGET, params) ||
	    !dm_task_set_add_node(dmt, DM_ADD_NODE_ON_CREATE) ||
	    !dm_task_set_cookie(dmt, &cookie, udev_flags())) {
		ret = -EINVAL;
		goto out;
	}
	kernel_reason[0] = '\0';
	kmsg = kmsg_open_at_end();
	if (!dm_task_run(dmt)) {
		ret = task_errno(dmt, -EINVAL);
		if (kmsg >= 0)
			kmsg_find_reason(kmsg);
		if (ret == -EBUSY && dmc_dm_get(name, &existing) != -ENODEV) {
			dmc_dm_dev_free(&existing);
			ret = -EEXIST;	/* lost a race with another creator */
		}
	}
	dm_udev_wait(cookie);
	if (!ret)
		sync_nodes(name);
	if (kmsg >= 0)
		close(kmsg);
out:
	dm_task_destroy(dmt);
	return ret;
}

int dmc_dm_remove(const char *name)
{
	struct dmc_dm_dev dev;
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int ret;

	ret = dmc_dm_get(name, &dev);
	if (ret)
		return ret;
	dmc_dm_dev_free(&dev);
	if (dev.open_count > 0)
		return -EBUSY;
	clear_error();

	dmt = dm_task_create(DM_DEVICE_REMOVE);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_retry_remove(dmt) ||
	    !dm_task_set_cookie(dmt, &cookie, udev_flags())) {
		ret = -EINVAL;
		goto out;
	}
	if (!dm_task_run(dmt))
		ret = task_errno(dmt, -EIO);
	dm_udev_wait(cookie);
	if (!ret)
		sync_nodes(NULL);
out:
	dm_task_destroy(dmt);
	return ret;
}
