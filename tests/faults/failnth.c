// SPDX-License-Identifier: GPL-2.0
/*
 * failnth: runs one dm-chain kernel operation again and again, each time
 * with the kernel's fault injection failing the Nth memory allocation the
 * calling thread makes (/proc/thread-self/fail-nth, CONFIG_FAULT_INJECTION
 * with failslab), for N = 1, 2, 3 .. until an attempt runs with no failure
 * injected: every allocation of the operation's synchronous path fails
 * once.  After each attempt it checks what a user would see (run in the VM
 * by tests/e2e/70-failslab.sh; the VM runner fails the run on any kernel
 * report, and the scenario unloads the module afterwards).
 *
 *   failnth [-m MAX] create NAME SECTORS PARAMS
 *	the table load (dm create, the target's constructor) of a chain
 *	device with PARAMS; a refused load leaves no device, a loaded one
 *	reads what the first, uninjected load read
 *   failnth [-m MAX] snapshot NAME DIR
 *	SNAPSHOT (a new leaf DIR/fi-N.dmc) on live device NAME; refused:
 *	the chain and content unchanged, no file left, the device still
 *	takes writes; done: one layer more, the content unchanged
 *   failnth [-m MAX] merge NAME DIR
 *	MERGE (depth 1) on NAME, whose leaf is in DIR, after writing into
 *	its leaf; refused: no merge running, the content unchanged and no
 *	file left in DIR (the new leaf); started: the merge ends
 *	done (or failed with its reason, and then an uninjected merge
 *	finishes it), and the content is unchanged
 *   failnth [-m MAX] range NAME DIR
 *	the same for an intermediate MERGE (the layer under the leaf into
 *	its parent, --into/--from: no new leaf; one layer fewer each time
 *	it is done, so the chain needs a layer per attempt that runs)
 *   failnth [-m MAX] cancel NAME
 *	MERGE_CANCEL of a running merge (a rate-limited copy, started or
 *	resumed with nothing injected); refused: the merge still runs (an
 *	uninjected cancel then stops it); done: the merge ends cancelled
 *	(or done, had it finished first).  At the end a merge finishes the
 *	journal, and the content never changes.
 *
 * -m: stop after MAX attempts (a failure: the operation never ran clean).
 * Prints one line per attempt that broke a rule ("BROKEN: ..."), then
 * "failnth: OP: A attempts (points), R refused, T tolerated (done although
 * an allocation failed), clean at N" and exits 1 when a rule was broken or
 * no attempt ran clean.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dm-chain/netlink.h>
#include <libdevmapper.h>

#include "crc32c.h"
#include "dm.h"
#include "nl.h"

#define IO_ALIGN	4096
#define WRITE_LEN	65536

static const char *op_name;
static unsigned int broken;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "failnth: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* A rule broken at attempt N: reported, counted, the run goes on. */
static void rule(unsigned int n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("BROKEN: %s, failing allocation %u: ", op_name, n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	broken++;
}

/*
 * /proc/thread-self/fail-nth, opened once: opening it between arm() and
 * disarm() would itself allocate, and could be the allocation that fails.
 */
static int nth_fd = -1;

static void nth_open(void)
{
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd < 0)
		die("/proc/thread-self/fail-nth: %s (a kernel without CONFIG_FAULT_INJECTION?)",
		    strerror(errno));
}

/* Arm: the Nth allocation from here on in this thread fails. */
static void arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		die("writing fail-nth: %s", strerror(errno));
}

/*
 * Disarm and say whether the failure was injected: fail-nth reads 0 once
 * it fired, the allocations still to go otherwise.
 */
static int disarm(void)
{
	char buf[16] = "";
	ssize_t len = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	long left = len > 0 ? strtol(buf, NULL, 10) : -1;

	if (left < 0)
		die("reading fail-nth: %s", len < 0 ? strerror(errno) : "no number");
	if (left != 0 && pwrite(nth_fd, "0", 1, 0) != 1)
		die("resetting fail-nth: %s", strerror(errno));
	return left == 0;
}

static void *io_buf(size_t len)
{
	void *p;

	if (posix_memalign(&p, IO_ALIGN, len))
		die("out of memory");
	return p;
}

/* Why the last device_crc() returned -1. */
static char crc_why[320];

/*
 * CRC32C of the whole device NAME (direct I/O); -1 when it cannot be read
 * (crc_why says why).
 */
static int64_t device_crc(const char *name)
{
	char path[256];
	size_t len = 1 << 20;
	char *buf = io_buf(len);
	uint32_t crc = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	/*
	 * (No second chance for the node: when the failed allocation was
	 * the mknod of /dev/mapper/NAME, the create must have made it.)
	 */
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		snprintf(crc_why, sizeof(crc_why), "open %s: %s", path,
			 strerror(errno));
		free(buf);
		return -1;
	}
	while ((r = read(fd, buf, len)) > 0)
		crc = crc32c_update(crc, buf, r);
	if (r < 0)
		snprintf(crc_why, sizeof(crc_why), "read %s: %s", path,
			 strerror(errno));
	close(fd);
	free(buf);
	return r < 0 ? -1 : (int64_t)crc;
}

/* Write WRITE_LEN bytes of a pattern of SEED at OFF (direct I/O, synced). */
static int device_write(const char *name, uint64_t off, unsigned int seed)
{
	char path[256];
	char *buf = io_buf(WRITE_LEN);
	int fd, ok;

	for (size_t i = 0; i < WRITE_LEN; i++)
		buf[i] = (char)(seed * 131 + i * 7 + (i >> 12));
	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	fd = open(path, O_WRONLY | O_DIRECT);
	ok = fd >= 0 && pwrite(fd, buf, WRITE_LEN, off) == WRITE_LEN &&
	     fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? 0 : -1;
}

static uint64_t device_bytes(const char *name)
{
	struct dmc_dm_dev dev;
	uint64_t bytes;

	if (dmc_dm_get(name, &dev))
		die("%s: no such chain device", name);
	bytes = dev.sectors * 512;
	dmc_dm_dev_free(&dev);
	return bytes;
}

/* The device as the module reports it; 0, or -errno. */
static int get_device(struct nl_sock *nl, const char *name,
		      struct dmc_nl_device *out)
{
	struct dmc_nl_info info;
	const struct dmc_nl_device *d;
	int r = dmc_nl_get(nl, name, &info);

	if (r)
		return r;
	d = dmc_nl_find(&info, name);
	if (!d) {
		dmc_nl_info_free(&info);
		return -ENODEV;
	}
	*out = *d;
	/* Keep the scalars only; the layer list goes with INFO. */
	out->layers = NULL;
	out->nr_listed = 0;
	dmc_nl_info_free(&info);
	return 0;
}

/* Wait (up to 120 s) until NAME's merge is no longer running. */
static int wait_merge(struct nl_sock *nl, const char *name,
		      struct dmc_nl_device *dev)
{
	for (int i = 0; i < 6000; i++) {
		int r = get_device(nl, name, dev);

		if (r)
			return r;
		if (!dev->has_merge ||
		    dev->merge.state != DM_CHAIN_MERGE_STATE_RUNNING)
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	}
	return -ETIMEDOUT;
}

struct tally {
	unsigned int attempts, refused, tolerated, clean_at;
};

/* Attempt N was refused (-R): that needs a failure injected (FIRED). */
static void refusal(struct tally *t, unsigned int n, int fired, int r)
{
	t->refused++;
	if (!fired)
		rule(n, "refused (%s) with no failure injected", strerror(-r));
}

/* ---- create ---------------------------------------------------------- */

static void op_create(const char *name, uint64_t sectors, const char *params,
		      unsigned int max, struct tally *t)
{
	struct dmc_dm_dev dev;
	int64_t ref, crc;
	int r, fired;

	/* The reference: the same table loaded with nothing injected. */
	r = dmc_dm_create(name, NULL, sectors, params, false);
	if (r)
		die("create %s without injection: %s", name, strerror(-r));
	ref = device_crc(name);
	if (ref < 0 || dmc_dm_remove(name))
		die("reading or removing the reference device %s", name);

	for (unsigned int n = 1; n <= max; n++) {
		t->attempts++;
		arm(n);
		r = dmc_dm_create(name, NULL, sectors, params, false);
		fired = disarm();
		if (r) {
			refusal(t, n, fired, r);
			if (dmc_dm_get(name, &dev) != -ENODEV) {
				rule(n, "refused (%s), but device %s exists", strerror(-r), name);
				dmc_dm_dev_free(&dev);
				dmc_dm_remove(name);
			}
			continue;
		}
		crc = device_crc(name);
		if (crc < 0)
			rule(n, "loaded, but cannot be read (%s)", crc_why);
		else if (crc != ref)
			rule(n, "loaded, but reads other data (crc %lld, not %lld)",
			     (long long)crc, (long long)ref);
		r = dmc_dm_remove(name);
		if (r)
			rule(n, "loaded, but its removal failed: %s", strerror(-r));
		if (!fired) {
			t->clean_at = n;
			return;
		}
		t->tolerated++;
	}
}

/* ---- snapshot -------------------------------------------------------- */

static void op_snapshot(struct nl_sock *nl, const char *name, const char *dir,
			unsigned int max, struct tally *t)
{
	uint64_t bytes = device_bytes(name);
	struct dmc_nl_device before, after;
	struct dmc_nl_answer reply;
	char path[4096];
	struct stat st;
	int64_t crc0, crc;
	int r, fired;

	for (unsigned int n = 1; n <= max; n++) {
		if (get_device(nl, name, &before))
			die("GET %s failed", name);
		crc0 = device_crc(name);
		snprintf(path, sizeof(path), "%s/fi-%u.dmc", dir, n);
		t->attempts++;
		memset(&reply, 0, sizeof(reply));
		arm(n);
		r = dmc_nl_snapshot(nl, name, path, &reply);
		fired = disarm();
		dmc_nl_answer_free(&reply);
		if (get_device(nl, name, &after)) {
			rule(n, "GET %s failed afterwards", name);
			continue;
		}
		crc = device_crc(name);
		if (crc != crc0)
			rule(n, "the device reads other data afterwards");
		if (r) {
			refusal(t, n, fired, r);
			if (after.nr_layers != before.nr_layers)
				rule(n, "refused (%s), but the chain went from %u to %u layers",
				     strerror(-r), before.nr_layers, after.nr_layers);
			if (stat(path, &st) == 0)
				rule(n, "refused (%s), but left the file %s", strerror(-r), path);
			/* Still writable: the device did not fail. */
			if (device_write(name, (n * (uint64_t)WRITE_LEN) % bytes, n))
				rule(n, "refused (%s), and the device no longer takes writes",
				     strerror(-r));
			continue;
		}
		if (after.nr_layers != before.nr_layers + 1)
			rule(n, "done, but the chain went from %u to %u layers",
			     before.nr_layers, after.nr_layers);
		if (!fired) {
			t->clean_at = n;
			return;
		}
		t->tolerated++;
	}
}

/* ---- merge ----------------------------------------------------------- */

/* The number of entries in DIR, "." and ".." aside. */
static unsigned int count_files(const char *dir)
{
	unsigned int n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		die("%s: %s", dir, strerror(errno));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void op_merge(struct nl_sock *nl, const char *name, const char *dir,
		     bool range, unsigned int max, struct tally *t)
{
	unsigned int files;
	struct dmc_nl_merge_params p = { .depth = 1 };
	uint64_t bytes = device_bytes(name);
	struct dmc_nl_device before, after;
	struct dmc_nl_answer reply;
	int64_t crc0, crc;
	int r, fired;

	for (unsigned int n = 1; n <= max; n++) {
		/* Something to merge: new data in the leaf. */
		if (device_write(name, (n * 3 * (uint64_t)WRITE_LEN) % bytes, n))
			die("writing to %s before attempt %u", name, n);
		if (get_device(nl, name, &before))
			die("GET %s failed", name);
		if (range) {
			/* The layer under the leaf into its parent. */
			if (before.nr_layers < 3)
				die("%s: %u layers, too few for another range merge",
				    name, before.nr_layers);
			p = (struct dmc_nl_merge_params){
				.has_into = true, .into = before.nr_layers - 3,
				.has_top = true, .top = before.nr_layers - 2,
			};
		}
		crc0 = device_crc(name);
		files = count_files(dir);
		t->attempts++;
		memset(&reply, 0, sizeof(reply));
		arm(n);
		r = dmc_nl_merge(nl, name, &p, &reply);
		fired = disarm();
		dmc_nl_answer_free(&reply);
		if (r) {
			refusal(t, n, fired, r);
			if (get_device(nl, name, &after))
				rule(n, "GET %s failed afterwards", name);
			else if (after.has_merge &&
				 after.merge.state == DM_CHAIN_MERGE_STATE_RUNNING)
				rule(n, "refused (%s), but a merge is running", strerror(-r));
			else if (after.nr_layers != before.nr_layers)
				rule(n, "refused (%s), but the chain went from %u to %u layers",
				     strerror(-r), before.nr_layers, after.nr_layers);
			if (device_crc(name) != crc0)
				rule(n, "refused, and the device reads other data");
			if (count_files(dir) != files)
				rule(n, "refused (%s), but %s went from %u to %u files",
				     strerror(-r), dir, files, count_files(dir));
			continue;
		}
		r = wait_merge(nl, name, &after);
		if (r) {
			rule(n, "started, then GET failed or it never ended: %s", strerror(-r));
			continue;
		}
		if (after.merge.state == DM_CHAIN_MERGE_STATE_FAILED) {
			/* Said why, and an uninjected merge must finish it. */
			if (!after.merge.message[0])
				rule(n, "the merge failed without a message");
			memset(&reply, 0, sizeof(reply));
			r = dmc_nl_merge(nl, name, &p, &reply);
			dmc_nl_answer_free(&reply);
			if (r || wait_merge(nl, name, &after) ||
			    after.merge.state != DM_CHAIN_MERGE_STATE_DONE)
				rule(n, "the merge failed (%s) and a merge issued again did not finish it",
				     after.merge.message);
		} else if (after.merge.state != DM_CHAIN_MERGE_STATE_DONE) {
			rule(n, "the merge ended in state %u", after.merge.state);
		}
		crc = device_crc(name);
		if (crc != crc0)
			rule(n, "merged, but the device reads other data");
		if (!fired) {
			t->clean_at = n;
			return;
		}
		t->tolerated++;
	}
}

/* ---- cancel ---------------------------------------------------------- */

#define CANCEL_DATA	(4u << 20)	/* written before a fresh merge */

static void op_cancel(struct nl_sock *nl, const char *name, unsigned int max,
		      struct tally *t)
{
	struct dmc_nl_merge_params slow = {
		.depth = 1, .has_mode = true, .mode = DM_CHAIN_MERGE_MODE_COPY,
		.has_rate = true, .rate = 1,
	}, fast = { .depth = 1 };
	uint64_t bytes = device_bytes(name);
	struct dmc_nl_device dev;
	struct dmc_nl_answer reply;
	bool refused;
	int64_t crc0;
	int r, fired;

	for (unsigned int n = 1; n <= max; n++) {
		/*
		 * A running merge: resume the journal a cancel left, or
		 * write new data into the leaf and start one.
		 */
		if (get_device(nl, name, &dev))
			die("GET %s failed", name);
		if (!dev.has_merge || dev.merge.state != DM_CHAIN_MERGE_STATE_CANCELLED)
			for (uint64_t o = 0; o < CANCEL_DATA; o += WRITE_LEN)
				if (device_write(name, (o + n * (uint64_t)CANCEL_DATA) % bytes, n))
					die("writing to %s before attempt %u", name, n);
		crc0 = device_crc(name);
		memset(&reply, 0, sizeof(reply));
		r = dmc_nl_merge(nl, name, &slow, &reply);
		dmc_nl_answer_free(&reply);
		if (r)
			die("starting the merge before attempt %u: %s", n, strerror(-r));
		t->attempts++;
		arm(n);
		r = dmc_nl_merge_cancel(nl, name);
		fired = disarm();
		if (r) {
			refusal(t, n, fired, r);
			if (get_device(nl, name, &dev))
				rule(n, "GET %s failed afterwards", name);
			else if (dev.merge.state == DM_CHAIN_MERGE_STATE_CANCELLED)
				rule(n, "refused (%s), but the merge was cancelled", strerror(-r));
			else if (dev.merge.state == DM_CHAIN_MERGE_STATE_RUNNING &&
				 dmc_nl_merge_cancel(nl, name))
				rule(n, "an uninjected cancel after a refused one failed%s",
				     " (the refused one had stopped the merge)");
		}
		refused = r != 0;
		r = wait_merge(nl, name, &dev);
		if (r)
			rule(n, "the merge never ended after the cancel: %s", strerror(-r));
		else if (dev.merge.state != DM_CHAIN_MERGE_STATE_CANCELLED &&
			 dev.merge.state != DM_CHAIN_MERGE_STATE_DONE)
			rule(n, "the merge ended in state %u (%s)", dev.merge.state,
			     dev.merge.message);
		if (device_crc(name) != crc0)
			rule(n, "the device reads other data after the cancel");
		if (!fired) {
			t->clean_at = n;
			break;
		}
		if (!refused)
			t->tolerated++;
	}
	/* The journal a cancel left: a merge finishes it. */
	memset(&reply, 0, sizeof(reply));
	crc0 = device_crc(name);
	r = dmc_nl_merge(nl, name, &fast, &reply);
	dmc_nl_answer_free(&reply);
	if (r || wait_merge(nl, name, &dev) ||
	    dev.merge.state != DM_CHAIN_MERGE_STATE_DONE)
		rule(0, "the merge issued after the cancels did not finish (%s)",
		     r ? strerror(-r) : dev.merge.message);
	if (device_crc(name) != crc0)
		rule(0, "the device reads other data after the last merge");
}

static void usage(void)
{
	fprintf(stderr,
		"usage: failnth [-m MAX] create NAME SECTORS PARAMS\n"
		"       failnth [-m MAX] snapshot NAME DIR\n"
		"       failnth [-m MAX] merge NAME DIR\n"
		"       failnth [-m MAX] range NAME DIR\n"
		"       failnth [-m MAX] cancel NAME\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int max = 5000;
	struct tally t = { 0 };
	struct nl_sock *nl = NULL;
	int c;

	while ((c = getopt(argc, argv, "m:")) != -1) {
		if (c != 'm')
			usage();
		max = (unsigned int)strtoul(optarg, NULL, 10);
	}
	if (argc - optind < 2)
		usage();
	op_name = argv[optind];
	nth_open();
	dmc_dm_init(false);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(op_name, "create") && argc - optind == 4) {
		op_create(argv[optind + 1], strtoull(argv[optind + 2], NULL, 10),
			  argv[optind + 3], max, &t);
	} else if (!strcmp(op_name, "snapshot") && argc - optind == 3) {
		if (dmc_nl_open(&nl))
			die("dm-chain netlink family: %s", DMC_NL_NOT_LOADED_MSG);
		op_snapshot(nl, argv[optind + 1], argv[optind + 2], max, &t);
	} else if ((!strcmp(op_name, "merge") || !strcmp(op_name, "range")) &&
		   argc - optind == 3) {
		if (dmc_nl_open(&nl))
			die("dm-chain netlink family: %s", DMC_NL_NOT_LOADED_MSG);
		op_merge(nl, argv[optind + 1], argv[optind + 2],
			 !strcmp(op_name, "range"), max, &t);
	} else if (!strcmp(op_name, "cancel") && argc - optind == 2) {
		if (dmc_nl_open(&nl))
			die("dm-chain netlink family: %s", DMC_NL_NOT_LOADED_MSG);
		op_cancel(nl, argv[optind + 1], max, &t);
	} else {
		usage();
	}
	if (nl)
		nl_close(nl);
	if (!t.clean_at)
		printf("BROKEN: %s never ran clean in %u attempts\n", op_name, t.attempts);
	printf("failnth: %s: %u attempts (points), %u refused, %u tolerated, clean at %u; %u broken rules\n",
	       op_name, t.attempts, t.refused, t.tolerated, t.clean_at,
	       broken + !t.clean_at);
	return broken || !t.clean_at;
}
