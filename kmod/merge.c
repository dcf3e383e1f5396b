// SPDX-License-Identifier: GPL-2.0
/*
 * Live merges: move the top layers of a live chain into a layer below
 * them while the device serves I/O, following the journal steps of
 * docs/format.md, and live snapshots.
 *
 * A merge first puts a new empty leaf on top, made as a child of the
 * target at the generation the target will have when the merge is done,
 * so that from then on nothing writes the target or the sources.  A
 * worker then clones (or copies) every run the sources hold into the
 * target, saving its progress in the target's journal; the view of the
 * device never changes meanwhile, since the sources still shadow what the
 * target receives.  At the end the sources are marked merged-away, the
 * target gets its new generation, and the sources leave the layer list
 * under a brief I/O pause.
 *
 * Into a raw base (no header) the journal lives in the lowest source, the
 * new leaf is an ordinary child of the old one, and the layer above the
 * sources is relinked to the base only once the data is complete
 * (docs/design/raw-live-merge.md).
 *
 * Locking: dc->ctl_lock serializes whoever changes the layer list (merge
 * start, snapshot, the worker's final switch); m->lock guards the status.
 * Merge start and snapshot also hold the device's "change" mark
 * (dmc_chain_begin_change()) so that no other table of the device is
 * loaded meanwhile.
 *
 * The worker moves at most DMC_MOVE_CHUNK bytes per clone or punch call
 * (DMC_COPY_CHUNK per copy) and looks for a cancel or a pause between
 * calls, so cancel, suspend and removal never wait for a whole run.
 *
 * Dependencies (docs/target.md, "Code layout"): merge.c builds on the
 * target (chain.h, target.h) and is called by netlink (merge.h).  It
 * never calls netlink: events go to whoever registered struct
 * dmc_merge_events; and the target reaches a merge only through the
 * dmc_merge_ops this file sets on a device.
 */
#include <linux/device-mapper.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringify.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include <dm-chain/netlink.h>
#include "dm-chain.h"
#include "blockmap.h"
#include "chain.h"
#include "header.h"
#include "layer.h"
#include "merge.h"
#include "table.h"
#include "target.h"

/* Copy buffer, and the unit of rate limiting and cancellation. */
#define DMC_COPY_CHUNK		(1U << 20)
/*
 * Most bytes one clone or punch call moves: a reflink of a few MiB takes
 * milliseconds, so cancel, suspend and removal answer promptly however
 * long a run is.
 */
#define DMC_MOVE_CHUNK		(8U << 20)
/*
 * Progress is saved after this many bytes or nanoseconds: paced by time,
 * not by runs, as each save forces the filesystem's log and clones of
 * small runs would otherwise save every few milliseconds.
 */
#define DMC_SAVE_BYTES		(1ULL << 30)
#define DMC_SAVE_NS		NSEC_PER_SEC
/* Progress events at most this often. */
#define DMC_EVENT_NS		(250 * NSEC_PER_MSEC)

/*
 * Bursts (see burst_begin()): with this many guest bios in flight or more,
 * the merge holds the device's I/O and moves data alone for up to
 * merge_burst_ms, then lets the guest's I/O through for merge_gap_ms.
 */
static unsigned int merge_burst_depth = 8;
module_param(merge_burst_depth, uint, 0644);
MODULE_PARM_DESC(merge_burst_depth, "Guest bios in flight from which a live merge works in bursts (0: never)");
static unsigned int merge_burst_ms = 64;
module_param(merge_burst_ms, uint, 0644);
MODULE_PARM_DESC(merge_burst_ms, "Longest burst of a live merge, ms");
static unsigned int merge_gap_ms = 4;
module_param(merge_gap_ms, uint, 0644);
MODULE_PARM_DESC(merge_gap_ms, "Guest I/O time between two bursts, ms");
/*
 * Yielding (see yield_to_guest()): with guest bios in flight below the
 * burst depth, the merge sleeps this percentage of each step's time;
 * merge_yield_write_pct when some of them write.
 */
static unsigned int merge_yield_pct = 100;
module_param(merge_yield_pct, uint, 0644);
MODULE_PARM_DESC(merge_yield_pct, "With guest reads in flight and no bursts, a live merge sleeps this percentage of each step's time (0: never)");
static unsigned int merge_yield_write_pct = 300;
module_param(merge_yield_write_pct, uint, 0644);
MODULE_PARM_DESC(merge_yield_write_pct, "The same with guest writes in flight (0: never)");
/* The longest one sleep of a yield: a copy step may take long. */
#define DMC_YIELD_MAX_NS	(10 * NSEC_PER_MSEC)

struct dmc_merge {
	struct dmc_chain *dc;
	struct work_struct work;
	bool running;			/* ctl_lock and @lock to change */
	bool cancel;
	bool paused;			/* the device is suspended */
	bool parked;			/* the worker waits for a resume */
	wait_queue_head_t wait;		/* @paused, @parked, @cancel, @running */

	/* The merge being run: fixed while @running. */
	struct dmc_layer *target;
	/*
	 * The layer whose header holds the journal: the target, or for a
	 * raw target (no header) the lowest source (docs/format.md).  Its
	 * header also gives the chain's geometry.
	 */
	struct dmc_layer *holder;
	/*
	 * The layer above the top source: the new leaf, or for an
	 * intermediate merge the layer relinked to the target at its start
	 * and claimed until the end.
	 */
	struct dmc_layer *above;
	struct dmc_layer **sources;	/* bottom first */
	const struct dmc_blockmap **smaps;
	unsigned int nr_sources;
	u32 mode;
	u32 rate;			/* MiB/s */
	bool *no_clone;			/* auto: source refused a clone */
	void *buf;			/* DMC_COPY_CHUNK bytes */

	u64 cursor;			/* next block to merge */
	u64 saved_ns;			/* last journal save */
	u64 bytes_unsaved;
	u64 event_ns;			/* last progress event */
	ktime_t start;
	u64 moved;			/* bytes cloned + copied, for --rate */
	u64 parked_ns;			/* time parked while suspended */

	/*
	 * A burst: the device's I/O held (dmc_chain_hold_io()) since
	 * @burst_hold_t0, the bios in flight done since @burst_t0.
	 */
	bool burst;
	unsigned int burst_noio;
	u64 burst_hold_t0;
	u64 burst_t0;

	spinlock_t lock;		/* guards @st */
	struct dm_chain_merge_status st;
	bool has_status;
};

static struct workqueue_struct *dmc_merge_wq;

/*
 * The events listener; the rwsem is read-held around each call so that
 * unregistering (write) waits for the calls in flight.
 */
static DECLARE_RWSEM(dmc_events_lock);
static const struct dmc_merge_events *dmc_events;

static void merge_work(struct work_struct *work);

static u64 elapsed_ns(struct dmc_merge *m)
{
	return ktime_to_ns(ktime_sub(ktime_get(), m->start));
}

static bool dmc_merge_running(struct dmc_chain *dc)
{
	struct dmc_merge *m = READ_ONCE(dc->merge);

	return m && READ_ONCE(m->running);
}

static bool dmc_merge_status(struct dmc_chain *dc,
			     struct dm_chain_merge_status *st)
{
	struct dmc_merge *m = READ_ONCE(dc->merge);
	bool has;

	if (!m)
		return false;
	spin_lock(&m->lock);
	has = m->has_status;
	*st = m->st;
	if (m->running)
		st->elapsed_ns = elapsed_ns(m);
	spin_unlock(&m->lock);
	return has;
}

int dmc_merge_events_register(const struct dmc_merge_events *ev)
{
	int r = 0;

	down_write(&dmc_events_lock);
	if (dmc_events)
		r = -EBUSY;
	else
		dmc_events = ev;
	up_write(&dmc_events_lock);
	return r;
}

void dmc_merge_events_unregister(const struct dmc_merge_events *ev)
{
	down_write(&dmc_events_lock);
	if (dmc_events == ev)
		dmc_events = NULL;
	up_write(&dmc_events_lock);
}

/* Report status @st to the listener, if any (the device name looked up). */
static void send_event(struct dmc_chain *dc, bool done,
		       const struct dm_chain_merge_status *st)
{
	char *name;

	down_read(&dmc_events_lock);
	if (!dmc_events)
		goto out;
	name = kmalloc(DM_NAME_LEN, GFP_KERNEL);
	if (!name)
		goto out;
	dmc_chain_name(dc, name);
	if (done)
		dmc_events->done(name, dmc_chain_devt(dc), st);
	else
		dmc_events->progress(name, dmc_chain_devt(dc), st);
	kfree(name);
out:
	up_read(&dmc_events_lock);
}

static void set_failure(struct dmc_merge *m, int err, const char *why)
{
	spin_lock(&m->lock);
	m->st.error = -err;
	strscpy(m->st.message, why, sizeof(m->st.message));
	spin_unlock(&m->lock);
}

/* ---- journal edits (slot callbacks for dmc_layer_edit_header) ---- */

static int edit_journal(void *slot, const void *arg)
{
	return dmc_header_set_journal(slot, arg);
}

static int edit_cursor(void *slot, const void *arg)
{
	((struct dmc_header *)slot)->journal.cursor =
		cpu_to_le64(*(const u64 *)arg);
	return 0;
}

static int edit_retiring(void *slot, const void *arg)
{
	struct dmc_journal *j = &((struct dmc_header *)slot)->journal;

	j->state = cpu_to_le32(DMC_JOURNAL_RETIRING);
	j->cursor = cpu_to_le64(*(const u64 *)arg);
	return 0;
}

static int edit_merged_away(void *slot, const void *arg)
{
	dmc_header_set_merged_away(slot, arg);
	return 0;
}

/* The holder of a merge into a raw base: its mark also ends the journal. */
static int edit_merged_away_done(void *slot, const void *arg)
{
	dmc_header_set_merged_away(slot, arg);
	return dmc_header_set_journal(slot, NULL);
}

static int edit_parent(void *slot, const void *arg)
{
	return dmc_header_set_parent(slot, arg);
}

static int edit_finish(void *slot, const void *arg)
{
	dmc_header_set_generation(slot, *(const u64 *)arg);
	return dmc_header_set_journal(slot, NULL);
}

/* ---- the data phase ---- */

static void burst_end(struct dmc_merge *m, bool gap);

/*
 * Between two calls that move data: while the device is suspended, wait
 * (parked) until it resumes.  False when the merge is cancelled.
 */
static bool wait_point(struct dmc_merge *m)
{
	ktime_t t0;

	if (READ_ONCE(m->paused) && !READ_ONCE(m->cancel)) {
		/* A suspend waits for the bios a burst holds back. */
		burst_end(m, false);
		t0 = ktime_get();
		WRITE_ONCE(m->parked, true);
		wake_up_all(&m->wait);
		wait_event(m->wait, !READ_ONCE(m->paused) ||
				    READ_ONCE(m->cancel));
		WRITE_ONCE(m->parked, false);
		m->parked_ns += ktime_to_ns(ktime_sub(ktime_get(), t0));
	}
	return !READ_ONCE(m->cancel);
}

/*
 * Wait as long as the rate limit asks; false when cancelled meanwhile.
 * The time the merge spent parked (device suspended) does not count:
 * else the merge would make up for it at full speed after the resume.
 */
static bool throttle(struct dmc_merge *m, u64 bytes)
{
	u64 allowed_ns;

	m->moved += bytes;
	if (!m->rate)
		return wait_point(m);
	allowed_ns = mul_u64_u64_div_u64(m->moved, NSEC_PER_SEC,
					 (u64)m->rate << 20);
	while (wait_point(m)) {
		u64 now = elapsed_ns(m) - m->parked_ns;

		if (now >= allowed_ns)
			return true;
		wait_event_timeout(m->wait, READ_ONCE(m->cancel) ||
					    READ_ONCE(m->paused),
			max_t(long, 1, nsecs_to_jiffies(min(allowed_ns - now,
						(u64)100 * NSEC_PER_MSEC))));
	}
	return false;
}

/*
 * Bursts.  A guest that keeps many bios in flight (a deep queue of
 * writes, each a copy-on-write fill that reads the very files the merge
 * clones between) makes every clone call wait for the reads in flight on
 * both files (the filesystem locks them exclusively and waits for their
 * direct I/O): under a saturating load a merge of small runs crawled, an
 * order of magnitude slower than alone.  So with merge_burst_depth or
 * more bios in flight at a call boundary, the merge holds the device's
 * I/O (one wait for those in flight) and moves data alone for up to
 * merge_burst_ms, then lets the guest's I/O through for merge_gap_ms:
 * the guest waits at most a burst, and the merge keeps most of its pace.
 * A rate-limited merge never bursts (it would hold the guest while it
 * waits for its rate), and a suspend ends a burst (wait_point()).
 */
static void burst_begin(struct dmc_merge *m)
{
	unsigned int depth = READ_ONCE(merge_burst_depth);

	if (m->burst || m->rate || !depth || !READ_ONCE(merge_burst_ms) ||
	    dmc_chain_inflight(m->dc) < depth)
		return;
	m->burst_hold_t0 = elapsed_ns(m);
	m->burst_noio = dmc_chain_hold_io(m->dc);
	m->burst = true;
	m->burst_t0 = elapsed_ns(m);
}

/*
 * End the burst, if any, and count it (its hold, the wait for the bios in
 * flight included, is an I/O pause); with @gap, then give the guest its
 * time.
 */
static void burst_end(struct dmc_merge *m, bool gap)
{
	unsigned int gap_ms = READ_ONCE(merge_gap_ms);
	u64 held;

	if (!m->burst)
		return;
	dmc_chain_release_io(m->dc, m->burst_noio,
			     READ_ONCE(merge_burst_depth));
	held = elapsed_ns(m) - m->burst_hold_t0;
	m->burst = false;
	spin_lock(&m->lock);
	m->st.bursts++;
	m->st.pause_ns = max(m->st.pause_ns, held);
	spin_unlock(&m->lock);
	if (gap && gap_ms)
		wait_event_timeout(m->wait, READ_ONCE(m->cancel) ||
					    READ_ONCE(m->paused),
				   max(1UL, msecs_to_jiffies(gap_ms)));
}

/* After a call: end a burst that has had its time, or must end. */
static void burst_check(struct dmc_merge *m)
{
	if (m->burst &&
	    (elapsed_ns(m) - m->burst_t0 >=
		     (u64)READ_ONCE(merge_burst_ms) * NSEC_PER_MSEC ||
	     READ_ONCE(m->paused) || READ_ONCE(m->cancel)))
		burst_end(m, true);
}

/*
 * After a step that began at @step_t0: with the guest's bios in flight,
 * sleep merge_yield_pct (reads) or merge_yield_write_pct (some bio in
 * flight writes) percent of the step's time, so that a guest with a
 * shallow queue shares the layer files' locks and the filesystem's log
 * with the merge instead of queueing behind call after call.  Each clone
 * or copy call locks both files and drains their direct I/O, and each
 * clone is a transaction; without a pause, at iodepth 1 under emulation,
 * the guest's 4 KiB random writes saw their p99 latency double.  Not
 * under bursts (from the first burst on, the device admits few bios and
 * the gaps give the guest its time), nor for a rate-limited merge (its
 * rate paces it), nor with no guest I/O: an idle device's merge runs at
 * full pace.  Cancel and suspend end the sleep.
 *
 * Writes get a longer share (merge_yield_write_pct): a guest write into a
 * block the leaf lacks reads the block from below, often from the very
 * files being cloned, and allocates in the leaf, both against the clone's
 * locks and transactions.  Reads lose more to the longer merge than they
 * gain: in one side-by-side run under emulation (4 repeats; issue 18's
 * note), 300 % against 100 % took random writes from 80 % to 84 % of
 * their IOPS with no merge, and random reads from 87 % down to 72 %.
 */
static void yield_to_guest(struct dmc_merge *m, u64 step_t0)
{
	unsigned int pct;
	u64 t0, ns;

	/* (only this worker changes @st.bursts: no lock to read it) */
	if (m->burst || m->st.bursts || m->rate || !dmc_chain_inflight(m->dc))
		return;
	pct = dmc_chain_inflight_writes(m->dc) ? READ_ONCE(merge_yield_write_pct) :
						 READ_ONCE(merge_yield_pct);
	if (!pct)
		return;
	t0 = elapsed_ns(m);
	ns = min_t(u64, div_u64((t0 - step_t0) * pct, 100), DMC_YIELD_MAX_NS);
	if (ns < NSEC_PER_USEC)
		return;
	wait_event_hrtimeout(m->wait, READ_ONCE(m->cancel) ||
				      READ_ONCE(m->paused), ns_to_ktime(ns));
	spin_lock(&m->lock);
	m->st.yield_ns += elapsed_ns(m) - t0;
	spin_unlock(&m->lock);
}

/* Make [pos, pos + len) of the target's file read zeros. */
static int zero_target(struct dmc_merge *m, loff_t pos, u64 len)
{
	struct file *wf = dmc_layer_wfile(m->target);
	int r;

	r = vfs_fallocate(wf, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos,
			  len);
	if (r != -EOPNOTSUPP)
		return r;
	memset(m->buf, 0, DMC_COPY_CHUNK);
	while (len) {
		size_t n = min_t(u64, len, DMC_COPY_CHUNK);

		r = dmc_write_exact(wf, m->buf, n, pos);
		if (r)
			return r;
		pos += n;
		len -= n;
	}
	return 0;
}

/*
 * Copy [spos, spos + len) of @src to dpos in the target, skipping the
 * source's holes (the target gets holes there too).
 */
static int copy_range(struct dmc_merge *m, struct dmc_layer *src, loff_t spos,
		      loff_t dpos, u64 len)
{
	struct file *sf = dmc_layer_file(src);
	struct file *wf = dmc_layer_wfile(m->target);
	loff_t end = spos + len, cur = spos, data, hole;
	int r;

	while (cur < end) {
		data = vfs_llseek(sf, cur, SEEK_DATA);
		if (data == -ENXIO || data > end)
			data = end;
		else if (data < 0)
			data = cur;	/* no SEEK_DATA: copy everything */
		if (data > cur) {
			r = zero_target(m, dpos + (cur - spos), data - cur);
			if (r)
				return r;
		}
		if (data >= end)
			break;
		hole = vfs_llseek(sf, data, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		cur = data;
		while (cur < hole) {
			size_t n = min_t(u64, hole - cur, DMC_COPY_CHUNK);
			loff_t rp = cur;
			ssize_t got = kernel_read(sf, m->buf, n, &rp);

			if (got < 0)
				return got;
			if (got < n)	/* past EOF: zeros */
				memset(m->buf + got, 0, n - got);
			r = dmc_write_exact(wf, m->buf, n, dpos + (cur - spos));
			if (r)
				return r;
			spin_lock(&m->lock);
			m->st.bytes_copied += n;
			spin_unlock(&m->lock);
			cur += n;
			if (!throttle(m, n))
				return -ECANCELED;
		}
	}
	return 0;
}

u64 dmc_merge_raw_clip(u64 virtual_size, unsigned int block_shift, u64 off,
		       u64 *len)
{
	u64 tail;

	if (off + *len <= virtual_size)
		return 0;
	*len = virtual_size > off ? virtual_size - off : 0;
	tail = *len & ((1ULL << block_shift) - 1);
	*len -= tail;
	return tail;
}

/*
 * Move one DATA run of source @i into the target: clone, else copy.  In
 * mode auto a source whose clone the filesystem refused (another volume,
 * no reflink) is copied from then on; the others keep cloning.
 */
static int move_run(struct dmc_merge *m, unsigned int i, u64 off, u64 len,
		    const char **why)
{
	struct dmc_layer *src = m->sources[i];
	loff_t spos = dmc_layer_data_offset(src) + off;
	loff_t dpos = dmc_layer_data_offset(m->target) + off;
	const struct dmc_hdr *hh = dmc_layer_hdr(m->holder);
	u64 tail = 0;
	loff_t cloned;
	int r = 0;

	if (dmc_layer_is_raw(m->target))
		tail = dmc_merge_raw_clip(hh->virtual_size, hh->block_shift,
					  off, &len);
	if (!len)
		goto tail;
	if (m->mode != DM_CHAIN_MERGE_MODE_COPY && !m->no_clone[i]) {
		/* data_phase() hands at most DMC_MOVE_CHUNK bytes. */
		cloned = vfs_clone_file_range(dmc_layer_file(src), spos,
					      dmc_layer_wfile(m->target), dpos,
					      len, 0);
		if (cloned == len) {
			spin_lock(&m->lock);
			m->st.bytes_cloned += len;
			spin_unlock(&m->lock);
			if (!throttle(m, len))
				return -ECANCELED;
			goto tail;
		}
		r = cloned < 0 ? cloned : -EIO;
		if (r != -EXDEV && r != -EOPNOTSUPP && r != -EINVAL) {
			*why = r == -ENOSPC ? "No space left on the target's filesystem" :
					      "Cloning into the target failed";
			return r;
		}
		if (m->mode == DM_CHAIN_MERGE_MODE_CLONE) {
			*why = "The filesystem refused to clone (another volume, or no reflink support) and mode clone never copies";
			return r;
		}
		DMINFO("%s: cloning from %s refused (%d); copying from it",
		       dmc_layer_path(m->target), dmc_layer_path(src), r);
		m->no_clone[i] = true;
	}
	r = copy_range(m, src, spos, dpos, len);
tail:
	/* The partial last block of a raw target: never clonable. */
	if (!r && tail)
		r = copy_range(m, src, spos + len, dpos + len, tail);
	if (r && r != -ECANCELED)
		*why = r == -ENOSPC ? "No space left on the target's filesystem" :
				      "Copying into the target failed";
	return r;
}

/* Make the target's data and map durable, then record @cursor. */
static int save_progress(struct dmc_merge *m, u64 cursor, const char **why)
{
	unsigned int noio = memalloc_noio_save();
	int r;

	r = dmc_layer_commit(m->target);
	memalloc_noio_restore(noio);
	if (!r)
		r = dmc_layer_edit_header(m->holder, edit_cursor, &cursor);
	if (r) {
		*why = r == -ENOSPC ? "No space left to save the merge's progress" :
				      "Saving the merge's progress failed";
		return r;
	}
	m->saved_ns = elapsed_ns(m);
	m->bytes_unsaved = 0;
	return 0;
}

/* Bytes the merge moves in all, and those before the cursor (done). */
static void count_work(struct dmc_merge *m, u64 nr_blocks, unsigned int shift,
		       u64 dev_size)
{
	u64 b = 0, n, total = 0, done = 0, bytes;
	int src;

	while (b < nr_blocks) {
		n = dmc_source_run(m->smaps, m->nr_sources, b, nr_blocks - b,
				   &src);
		if (src != DMC_SRC_ABSENT) {
			bytes = min((b + n) << shift, dev_size) - (b << shift);
			total += bytes;
			if (b + n <= m->cursor)
				done += bytes;
			else if (b < m->cursor)
				done += (m->cursor - b) << shift;
		}
		b += n;
		cond_resched();
	}
	spin_lock(&m->lock);
	m->st.bytes_total = total;
	m->st.bytes_done = done;
	spin_unlock(&m->lock);
}

static int data_phase(struct dmc_merge *m, const char **why)
{
	const struct dmc_hdr *th = dmc_layer_hdr(m->holder);
	struct dmc_blockmap *tmap = dmc_layer_map(m->target);	/* NULL: raw */
	unsigned int shift = th->block_shift;
	u64 nr_blocks = th->nr_blocks, b = m->cursor, n, off, len;
	u64 chunk = max_t(u64, DMC_MOVE_CHUNK >> shift, 1);
	u64 step_t0;
	int src, r = 0;

	count_work(m, nr_blocks, shift, th->virtual_size);
	m->event_ns = 0;
	while (b < nr_blocks) {
		if (!wait_point(m)) {
			r = -ECANCELED;
			break;
		}
		burst_begin(m);
		step_t0 = elapsed_ns(m);
		/* A long run is moved a chunk at a time. */
		n = dmc_source_run(m->smaps, m->nr_sources, b,
				   min(nr_blocks - b, chunk), &src);
		off = b << shift;
		len = n << shift;
		if (src == DMC_SRC_ZERO && tmap) {
			dmc_bm_set_range(tmap, b, n, DMC_BLOCK_ZERO);
			r = dmc_layer_punch(m->target, b, n, shift);
			if (r)
				*why = "Punching zeroed blocks out of the target failed";
		} else if (src == DMC_SRC_ZERO) {
			/* A raw target: zeros in place, never past its end. */
			r = zero_target(m, off, min(off + len, th->virtual_size) - off);
			if (r)
				*why = "Zeroing blocks of the raw base failed";
		} else if (src >= 0) {
			r = move_run(m, src, off, len, why);
			if (!r && tmap)
				dmc_bm_set_range(tmap, b, n, DMC_BLOCK_DATA);
		}
		if (r)
			break;
		if (src != DMC_SRC_ABSENT) {
			u64 bytes = min(off + len, th->virtual_size) - off;

			spin_lock(&m->lock);
			m->st.bytes_done += bytes;
			if (src == DMC_SRC_ZERO)
				m->st.bytes_zeroed += bytes;
			spin_unlock(&m->lock);
			m->bytes_unsaved += len;
		}
		b += n;
		if (m->bytes_unsaved >= DMC_SAVE_BYTES ||
		    elapsed_ns(m) - m->saved_ns >= DMC_SAVE_NS) {
			r = save_progress(m, b, why);
			if (r)
				break;
			m->cursor = b;
		}
		if (elapsed_ns(m) - m->event_ns >= DMC_EVENT_NS) {
			struct dm_chain_merge_status st;

			m->event_ns = elapsed_ns(m);
			dmc_merge_status(m->dc, &st);
			send_event(m->dc, false, &st);
		}
		burst_check(m);
		if (src != DMC_SRC_ABSENT)
			yield_to_guest(m, step_t0);
		cond_resched();
	}
	burst_end(m, false);
	/* Lift the limit a burst left (a no-op if there was none). */
	dmc_chain_limit_io(m->dc, 0);
	/*
	 * Blocks before @b are done (a failed run is not): save that much,
	 * also after an error, so a re-run does not repeat it.
	 */
	if (b > m->cursor) {
		const char *save_why = NULL;
		int s = save_progress(m, b, &save_why);

		if (!s)
			m->cursor = b;
		else if (!r) {
			r = s;
			*why = save_why;
		}
	}
	if (r == -ECANCELED)
		*why = "Cancelled";
	return r;
}

/* ---- retiring: sources merged away, target finished, list switched ---- */

static int relink_above(struct dmc_chain *dc, struct dmc_layer *tl,
			struct dmc_layer *above, const char **why);

/*
 * A raw target has no header to hold back the layer above the range, so
 * that layer is relinked to it only now, with the data complete
 * (docs/design/raw-live-merge.md); a resumed merge may have done it.
 */
static int relink_to_raw(struct dmc_merge *m, const char **why)
{
	int r;

	if (dmc_layer_hdr(m->above)->parent_kind == DMC_PARENT_RAW)
		return 0;
	mutex_lock(&m->dc->ctl_lock);
	r = relink_above(m->dc, m->target, m->above, why);
	mutex_unlock(&m->dc->ctl_lock);
	return r;
}

static int retire(struct dmc_merge *m, const char **why)
{
	static const u8 no_uuid[DMC_UUID_SIZE];
	struct dmc_chain *dc = m->dc;
	const struct dmc_hdr *hh = dmc_layer_hdr(m->holder);
	bool raw = dmc_layer_is_raw(m->target);
	const u8 *into = raw ? no_uuid : dmc_layer_hdr(m->target)->uuid;
	u64 new_gen = hh->j_new_generation, nr_blocks = hh->nr_blocks;
	struct dmc_layer **layers;
	char **paths;
	unsigned int i, j, k, nr;
	u64 pause;
	int r;

	/* One source into a raw base needs no RETIRING (docs/format.md). */
	if (hh->j_state == DMC_JOURNAL_MERGING && !(raw && m->nr_sources == 1)) {
		r = dmc_layer_edit_header(m->holder, edit_retiring, &nr_blocks);
		if (r) {
			*why = "Writing the merge's journal failed";
			return r;
		}
	}
	if (raw) {
		r = relink_to_raw(m, why);
		if (r)
			return r;
	}
	for (i = m->nr_sources; i-- > 0;) {
		struct dmc_layer *s = m->sources[i];

		if (dmc_layer_hdr(s)->state == DMC_STATE_MERGED_AWAY)
			continue;
		r = dmc_layer_edit_header(s, s == m->holder ?
					  edit_merged_away_done :
					  edit_merged_away, into);
		if (r) {
			*why = "Marking a source merged-away failed";
			return r;
		}
	}
	if (!raw) {
		r = dmc_layer_edit_header(m->target, edit_finish, &new_gen);
		if (r) {
			*why = "Finishing the target's header failed";
			return r;
		}
	}

	/* The sources leave the live chain. */
	mutex_lock(&dc->ctl_lock);
	nr = dc->nr_layers - m->nr_sources;
	layers = kvcalloc(nr, sizeof(*layers), GFP_KERNEL);
	paths = kvcalloc(nr, sizeof(*paths), GFP_KERNEL);
	r = -ENOMEM;
	if (layers && paths) {
		for (i = 0, j = 0; i < dc->nr_layers; i++) {
			for (k = 0; k < m->nr_sources; k++)
				if (dc->layers[i] == m->sources[k])
					break;
			if (k < m->nr_sources)
				continue;
			layers[j] = dc->layers[i];
			paths[j++] = dc->paths[i];
		}
		r = dmc_chain_switch(dc, layers, paths, nr, &pause);
	}
	mutex_unlock(&dc->ctl_lock);
	if (r) {
		kvfree(layers);
		kvfree(paths);
		*why = "Removing the merged layers from the device failed";
		return r;
	}
	spin_lock(&m->lock);
	m->st.pause_ns = max(m->st.pause_ns, pause);
	spin_unlock(&m->lock);
	return 0;
}

static void free_sources(struct dmc_merge *m)
{
	kvfree(m->sources);
	kvfree(m->smaps);
	kvfree(m->no_clone);
	m->sources = NULL;
	m->smaps = NULL;
	m->no_clone = NULL;
}

/*
 * The per-source arrays of a merge of @k sources, allocated before the
 * merge changes anything: a start that has written its journal or added
 * its new leaf must not then be refused for want of memory.
 */
static int alloc_sources(struct dmc_merge *m, unsigned int k,
			 const char **why)
{
	m->sources = kvcalloc(k, sizeof(*m->sources), GFP_KERNEL);
	m->smaps = kvcalloc(k, sizeof(*m->smaps), GFP_KERNEL);
	m->no_clone = kvcalloc(k, sizeof(*m->no_clone), GFP_KERNEL);
	if (m->sources && m->smaps && m->no_clone)
		return 0;
	free_sources(m);
	*why = "Cannot allocate the merge";
	return -ENOMEM;
}

static void merge_work(struct work_struct *work)
{
	struct dmc_merge *m = container_of(work, struct dmc_merge, work);
	struct dmc_chain *dc = m->dc;
	struct dm_chain_merge_status st;
	const char *why = "Merge failed";
	u32 state;
	int r = 0;

	if (dmc_layer_hdr(m->holder)->j_state == DMC_JOURNAL_MERGING)
		r = data_phase(m, &why);
	/* No switch of the layer list while the device is suspended. */
	if (!r && !wait_point(m)) {
		r = -ECANCELED;
		why = "Cancelled";
	}
	if (!r)
		r = retire(m, &why);

	if (!r)
		state = DM_CHAIN_MERGE_STATE_DONE;
	else if (r == -ECANCELED)
		state = DM_CHAIN_MERGE_STATE_CANCELLED;
	else
		state = DM_CHAIN_MERGE_STATE_FAILED;
	if (r) {
		set_failure(m, r, why);
		DMERR("%s: live merge stopped at block %llu: %s (%d)",
		      dmc_layer_path(m->target), m->cursor, why, r);
	}
	if (!r) {
		dmc_layer_unclaim(m->target);
		/* (a new leaf was never claimed: a no-op for it) */
		dmc_layer_unclaim(m->above);
	}
	free_sources(m);
	/*
	 * Not running any more before the event goes out, so that whoever
	 * waits for it can start the next merge at once; @m may be reused
	 * from here on, so the event carries a copy.
	 */
	spin_lock(&m->lock);
	m->st.state = state;
	m->st.elapsed_ns = elapsed_ns(m);
	st = m->st;
	WRITE_ONCE(m->running, false);
	spin_unlock(&m->lock);
	wake_up_all(&m->wait);
	send_event(dc, true, &st);
}

/* ---- starting, cancelling, stopping ---- */

static const struct dmc_merge_ops dmc_merge_chain_ops;

static struct dmc_merge *get_merge(struct dmc_chain *dc)
{
	struct dmc_merge *m = dc->merge;

	if (m)
		return m;
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return NULL;
	m->buf = kvmalloc(DMC_COPY_CHUNK, GFP_KERNEL);
	if (!m->buf) {
		kfree(m);
		return NULL;
	}
	m->dc = dc;
	spin_lock_init(&m->lock);
	init_waitqueue_head(&m->wait);
	INIT_WORK(&m->work, merge_work);
	/* The hooks first: they cope with no merge yet. */
	WRITE_ONCE(dc->merge_ops, &dmc_merge_chain_ops);
	WRITE_ONCE(dc->merge, m);
	return m;
}

static bool same_uuid(struct dmc_layer *l, const u8 *uuid)
{
	const struct dmc_hdr *h = dmc_layer_hdr(l);

	return h && !memcmp(h->uuid, uuid, DMC_UUID_SIZE);
}

/*
 * Find an unfinished journal in the live chain: its target (the layer
 * holding it, or the raw base below the lowest source that holds it) and
 * its number of sources, or -ENOENT when there is none.  The layer just
 * above its top source must either record the target at its post-merge
 * generation (the new leaf of a merge that included the leaf, or the
 * layer above an intermediate range once relinked: a "live leap"), or
 * still sit on the top source (an intermediate merge stopped before its
 * relink: *relink is set; into a raw base that relink comes only after
 * the data).  Into a raw base it may also record the raw base, once the
 * data is complete.  Layers above that one (the leaf, snapshots taken
 * while the merge ran) do not matter.  A journal the device cannot
 * resume is refused.
 */
static int find_journal(struct dmc_chain *dc, unsigned int *target,
			unsigned int *nr_sources, bool *relink,
			const char **why)
{
	unsigned int i, k, t;

	for (i = 0; i < dc->nr_layers; i++) {
		const struct dmc_hdr *h = dmc_layer_hdr(dc->layers[i]);
		const struct dmc_hdr *c, *top;
		bool raw;

		if (!h || !dmc_hdr_journal_active(h))
			continue;
		k = h->j_nr_sources;
		*why = "The chain holds an unfinished merge this device cannot resume; finish it offline (chainctl layer check -r)";
		/* Into a raw base, layer 0, the lowest source holds it. */
		raw = dmc_hdr_journal_targets_raw_parent(h);
		if (raw && (i != 1 || !dmc_layer_is_raw(dc->layers[0])))
			return -EBUSY;
		t = raw ? 0 : i;
		if (!k || k >= dc->nr_layers - 1 - t ||
		    !same_uuid(dc->layers[t + 1], h->j_bottom_uuid) ||
		    !same_uuid(dc->layers[t + k], h->j_top_uuid))
			return -EBUSY;
		c = dmc_layer_hdr(dc->layers[t + k + 1]);
		top = dmc_layer_hdr(dc->layers[t + k]);
		if (raw && c->parent_kind == DMC_PARENT_RAW) {
			/* Relinked at the end of the data: only marks left. */
			if (h->j_state != DMC_JOURNAL_RETIRING &&
			    h->j_cursor < h->nr_blocks)
				return -EBUSY;
			*relink = false;
		} else if (c->parent_kind != DMC_PARENT_LAYER) {
			return -EBUSY;
		} else if (!raw &&
			   !memcmp(c->parent_uuid, h->uuid, DMC_UUID_SIZE) &&
			   c->parent_generation == h->j_new_generation) {
			*relink = false;
		} else if (!memcmp(c->parent_uuid, top->uuid, DMC_UUID_SIZE) &&
			   c->parent_generation == top->generation) {
			/* Another child of the top source than the recorded one. */
			if (dmc_hdr_has_relink(h) &&
			    memcmp(c->uuid, h->j_relink_uuid, DMC_UUID_SIZE)) {
				*why = "The layer above the unfinished merge's range is not the one its journal names; finish it from a chain through that layer, or offline (chainctl layer check -r)";
				return -EBUSY;
			}
			*relink = true;
		} else {
			return -EBUSY;
		}
		*target = t;
		*nr_sources = k;
		return 0;
	}
	return -ENOENT;
}

/* Claim the target and the sources, open them for writing. */
static int claim_all(struct dmc_chain *dc, unsigned int t, unsigned int k,
		     const char **why)
{
	unsigned int i;
	int r;

	for (i = t; i <= t + k; i++) {
		r = dmc_layer_claim(dc->layers[i], dc->md, why);
		if (!r) {
			r = dmc_layer_open_for_write(dc->layers[i], why);
			/* e.g. EROFS: the claim just taken must not stay */
			if (r)
				dmc_layer_unclaim(dc->layers[i]);
		}
		if (r) {
			while (i-- > t)
				dmc_layer_unclaim(dc->layers[i]);
			return r;
		}
	}
	return 0;
}

static void unclaim_all(struct dmc_chain *dc, unsigned int t, unsigned int k)
{
	unsigned int i;

	for (i = t; i <= t + k; i++)
		dmc_layer_unclaim(dc->layers[i]);
}

/*
 * Put the new leaf file @made (made by dmc_layer_create(), durable) on top
 * of the device.  Caller holds ctl_lock.
 */
static int attach_leaf(struct dmc_chain *dc, const char *made, u64 *pause,
		       const char **why)
{
	struct dmc_layer *nl, **layers;
	char name[DM_NAME_LEN];
	char **paths;
	unsigned int nr = dc->nr_layers + 1;
	int r;

	dmc_chain_name(dc, name);
	r = dmc_layer_get(made, true, dc->md, name, &nl, why);
	if (r)
		return r;
	r = dmc_layer_begin_write(nl);
	if (r) {
		*why = "Cannot update the new leaf's header";
		goto put;
	}
	r = -ENOMEM;
	*why = "Cannot allocate the new layer list";
	layers = kvcalloc(nr, sizeof(*layers), GFP_KERNEL);
	paths = kvcalloc(nr, sizeof(*paths), GFP_KERNEL);
	if (!layers || !paths)
		goto free;
	memcpy(layers, dc->layers, (nr - 1) * sizeof(*layers));
	memcpy(paths, dc->paths, (nr - 1) * sizeof(*paths));
	layers[nr - 1] = nl;
	paths[nr - 1] = kstrdup(made, GFP_KERNEL);
	if (!paths[nr - 1])
		goto free;
	r = dmc_chain_switch(dc, layers, paths, nr, pause);
	if (!r)
		return 0;
	*why = "Switching to the new leaf failed";
	kfree(paths[nr - 1]);
free:
	kvfree(layers);
	kvfree(paths);
put:
	dmc_layer_put(nl);
	return r;
}

/*
 * Put a new empty leaf, child of @parent at @parent_gen, on top of the
 * device.  Caller holds ctl_lock.
 */
static int add_leaf(struct dmc_chain *dc, const char *path,
		    struct dmc_layer *parent, u64 parent_gen, char *made,
		    size_t made_size, u64 *pause, const char **why)
{
	struct file *file;
	int r;

	r = dmc_layer_create(path, parent, parent_gen, dmc_leaf(dc), made,
			     made_size, &file, why);
	if (r)
		return r;
	r = attach_leaf(dc, made, pause, why);
	dmc_layer_create_end(file, made, !r);
	return r;
}

/* The checks every leaf change needs.  Caller holds ctl_lock. */
static int check_changeable(struct dmc_chain *dc, const char *path,
			    const char **why)
{
	if (dc->read_only) {
		*why = "Device is read-only";
		return -EROFS;
	}
	if (dc->leaf_raw) {
		*why = "Device is a single raw image; it has no layers to merge or stack on";
		return -EOPNOTSUPP;
	}
	if (path && path[0] != '/') {
		*why = "New leaf path must be absolute";
		return -EINVAL;
	}
	if (path && !dmc_path_is_table_safe(path)) {
		*why = "New leaf path holds whitespace, a control character or a backslash";
		return -EINVAL;
	}
	return 0;
}

int dmc_merge_pick_target(unsigned int nr_layers,
			  const struct dm_chain_merge_params *p,
			  unsigned int *target, unsigned int *top,
			  const char **why)
{
	if (p->depth) {
		if (p->depth >= nr_layers) {
			*why = "Depth must be less than the number of layers (the target stays)";
			return -EINVAL;
		}
		*target = nr_layers - 1 - p->depth;
	} else {
		if (nr_layers < 2 || p->into >= nr_layers - 1) {
			*why = "Target index must be below the leaf";
			return -EINVAL;
		}
		*target = p->into;
	}
	*top = nr_layers - 1;
	if (!p->depth && p->has_top) {
		if (p->top >= nr_layers) {
			*why = "Top layer index is beyond the leaf";
			return -EINVAL;
		}
		if (p->top <= p->into) {
			*why = "Top layer of the range must be above the target";
			return -EINVAL;
		}
		*top = p->top;
	}
	/* The new leaf comes first; the sources leave only at the end. */
	if (*top == nr_layers - 1 && nr_layers >= DMC_MAX_LAYERS) {
		*why = "Chain is at its maximum depth (" __stringify(DMC_MAX_LAYERS) " layers) and a live merge first adds a new leaf; merge offline (chainctl layer merge) or snapshot less";
		return -E2BIG;
	}
	return 0;
}

bool dmc_merge_keeps_leaf(unsigned int nr_layers, unsigned int top,
			  bool resumed)
{
	return resumed || top + 1 < nr_layers;
}

/*
 * Intermediate merge into the layer @tl: claim the layer @above the top
 * source and make it a child of the target at the target's post-merge
 * generation (docs/design/intermediate-live-merge.md).  From then on it
 * is a "live leap" child of the target, as the new leaf of a merge that
 * includes the leaf is, and the view from it is the same: the target
 * plus its sources shows what the target will hold.  Must come after the
 * target's journal is durable (before it, the link would be refused) and
 * before any source is marked merged-away.  Into a raw @tl (no header),
 * @above becomes a child of the raw image, and only once the data phase
 * is complete (docs/design/raw-live-merge.md).  Caller holds ctl_lock (a
 * snapshot reads the leaf's header under it).
 */
static int relink_above(struct dmc_chain *dc, struct dmc_layer *tl,
			struct dmc_layer *above, const char **why)
{
	const struct dmc_hdr *th = dmc_layer_hdr(tl);
	struct dmc_parent_args pa = { };
	char *path;
	int r;

	if (th) {
		pa.uuid = th->uuid;
		pa.generation = th->j_new_generation;
	} else {
		pa.raw_size = dmc_layer_raw_size(tl);
	}

	r = dmc_layer_claim(above, dc->md, why);
	if (r)
		return r;
	r = dmc_layer_open_for_write(above, why);
	if (r) {
		if (r == -EROFS)
			*why = "The layer above the range is on a read-only filesystem, so it cannot be relinked; the merge is journalled: make it writable and issue the merge again";
		goto unclaim;
	}
	path = kmalloc(DMC_PATH_MAX, GFP_KERNEL);
	r = -ENOMEM;
	*why = "Cannot allocate the new parent path";
	if (!path)
		goto unclaim;
	r = dmc_layer_rel_path(above, tl, path, DMC_PATH_MAX);
	if (r) {
		*why = "The target's path does not fit the header of the layer above the range";
		goto free;
	}
	pa.path = path;
	r = dmc_layer_edit_header(above, edit_parent, &pa);
	if (r)
		*why = "Relinking the layer above the range to the target failed; the merge is journalled and a new merge request resumes it";
free:
	kfree(path);
	if (!r)
		return 0;
unclaim:
	dmc_layer_unclaim(above);
	return r;
}

/* The layer that holds the journal of a merge into layer t. */
static struct dmc_layer *journal_holder(struct dmc_chain *dc, unsigned int t)
{
	return dmc_layer_is_raw(dc->layers[t]) ? dc->layers[t + 1] :
						 dc->layers[t];
}

/*
 * @l's path relative to the journal's @holder, in a kmalloc'd buffer of
 * DMC_JOURNAL_PATH_MAX bytes, or an ERR_PTR with *why set (@too_long: the
 * reason when the path does not fit).
 */
static char *journal_path(struct dmc_layer *holder, struct dmc_layer *l,
			  const char *too_long, const char **why)
{
	char *path = kmalloc(DMC_JOURNAL_PATH_MAX, GFP_KERNEL);
	int r;

	if (!path) {
		*why = "Cannot allocate the journal";
		return ERR_PTR(-ENOMEM);
	}
	r = dmc_layer_rel_path(holder, l, path, DMC_JOURNAL_PATH_MAX);
	if (r) {
		kfree(path);
		*why = too_long;
		return ERR_PTR(r);
	}
	return path;
}

/*
 * What a fresh merge of layers t+1 .. t+k into layer t does first, the
 * same for both kinds: claim the target and the sources, and fill *j for
 * the journal, with the top source t+k's path relative to the journal's
 * holder (journal_holder()) in a kmalloc'd j->top_path (@path_why: the
 * reason when that path does not fit).  On success the caller owns the
 * claims and j->top_path: kfree() it, and unclaim_all() on a failure.
 */
static int prepare_journal(struct dmc_chain *dc, unsigned int t,
			   unsigned int k, const char *path_why,
			   struct dmc_journal_args *j, const char **why)
{
	struct dmc_layer *tl = dc->layers[t], *top = dc->layers[t + k];
	const struct dmc_hdr *th = dmc_layer_hdr(tl);
	u64 old_gen = th ? th->generation : 0;	/* a raw base has none */
	char *top_path;
	int r;

	r = claim_all(dc, t, k, why);
	if (r)
		return r;
	top_path = journal_path(journal_holder(dc, t), top, path_why, why);
	if (IS_ERR(top_path)) {
		unclaim_all(dc, t, k);
		return PTR_ERR(top_path);
	}
	*j = (struct dmc_journal_args) {
		.state = DMC_JOURNAL_MERGING,
		.nr_sources = k,
		.old_generation = old_gen,
		.new_generation = old_gen + 1,
		.bottom_uuid = dmc_layer_hdr(dc->layers[t + 1])->uuid,
		.top_uuid = dmc_layer_hdr(top)->uuid,
		.top_path = top_path,
	};
	return 0;
}

/*
 * Write the journal into its holder (the target, or the lowest source of
 * a merge into a raw base), the point of no return of a fresh merge.
 */
static int write_journal(struct dmc_layer *holder,
			 const struct dmc_journal_args *j, const char **why)
{
	int r = dmc_layer_edit_header(holder, edit_journal, j);

	if (r) {
		*why = r == -ENOSPC ? "No space to write the merge's journal" :
				      "Writing the merge's journal failed";
		DMERR("%s: the merge did not start", dmc_layer_path(holder));
	}
	return r;
}

/*
 * Clear the journal of a start that failed before anything was merged
 * (safe then, also when a failed write of it may have reached the disk).
 * True once the header without it is durable.
 */
static bool take_back_journal(struct dmc_layer *holder)
{
	if (!dmc_layer_edit_header(holder, edit_journal, NULL))
		return true;
	DMERR("%s: could not clear the journal after a failed start",
	      dmc_layer_path(holder));
	return false;
}

/*
 * A fresh intermediate merge of layers t+1 .. top into layer t, top
 * below the leaf: the journal, then the relink of the layer above the
 * range.  No new leaf: the device writes its leaf, which lies above the
 * range, so nothing writes the target or a source meanwhile.
 */
static int begin_range(struct dmc_chain *dc, unsigned int t, unsigned int top,
		       const char **why)
{
	unsigned int k = top - t;
	struct dmc_layer *tl = dc->layers[t], *above = dc->layers[top + 1];
	struct dmc_journal_args j;
	char *child_path;
	int r;

	r = prepare_journal(dc, t, k,
			    "The top layer's path does not fit the target's journal",
			    &j, why);
	if (r)
		return r;
	/*
	 * The relink record: a finisher that does not know the layer above
	 * (chainctl layer check -r, after a crash) relinks it from there.
	 */
	child_path = journal_path(journal_holder(dc, t), above,
				  "The path of the layer above the range does not fit the journal",
				  why);
	if (IS_ERR(child_path)) {
		r = PTR_ERR(child_path);
		goto unclaim;
	}
	j.child_uuid = dmc_layer_hdr(above)->uuid;
	j.child_path = child_path;
	r = write_journal(journal_holder(dc, t), &j, why);
	kfree(child_path);
	if (r) {
		take_back_journal(journal_holder(dc, t));
		goto unclaim;
	}
	/* Into a raw base, the layer above is relinked after the data. */
	if (dmc_layer_is_raw(tl))
		goto done;
	/*
	 * Past the journal there is no going back: whether a failed relink
	 * reached the disk is not known, and without the journal a relinked
	 * layer would be refused.  The journal stays and a new request
	 * resumes (find_journal() sees either state of the layer above).
	 */
	r = relink_above(dc, tl, above, why);
	if (r)
		DMERR("%s: intermediate merge journalled but not started: %s",
		      dmc_layer_path(tl), *why);
done:
	kfree(j.top_path);
	return r;
unclaim:
	kfree(j.top_path);
	unclaim_all(dc, t, k);
	return r;
}

/* A fresh merge of layers t+1 .. leaf into layer t. */
static int begin_merge(struct dmc_chain *dc, unsigned int t,
		       const char *path, char *made,
		       size_t made_size, u64 *pause, const char **why)
{
	unsigned int k = dc->nr_layers - 1 - t;
	struct dmc_layer *tl = dc->layers[t], *leaf = dmc_leaf(dc);
	struct dmc_journal_args j;
	struct file *file;
	int r;

	r = prepare_journal(dc, t, k,
			    "The leaf's path does not fit the target's journal",
			    &j, why);
	if (r)
		return r;
	if (dmc_layer_is_raw(tl)) {
		/*
		 * Into a raw base the new leaf is an ordinary child of the
		 * leaf, a snapshot, relinked to the base only once the data
		 * is in (docs/design/raw-live-merge.md).  It comes first:
		 * should the journal then fail, the device has gained a
		 * snapshot and nothing else.
		 */
		r = add_leaf(dc, path, leaf, dmc_layer_hdr(leaf)->generation,
			     made, made_size, pause, why);
		if (r)
			goto unclaim;
		r = write_journal(journal_holder(dc, t), &j, why);
		if (r) {
			take_back_journal(journal_holder(dc, t));
			goto unclaim;
		}
		kfree(j.top_path);
		return 0;
	}
	/*
	 * Writes go to a child of the target as it will be after the merge.
	 * Its file is made (and synced) before the journal: once the journal
	 * is durable the old leaf cannot be opened writable, and after a
	 * crash the new leaf must be there to open instead.  A crash before
	 * the journal leaves the old leaf as it was and the new file unused
	 * (it names a target generation that never came).
	 */
	r = dmc_layer_create(path, tl, j.new_generation, leaf, made, made_size,
			     &file, why);
	if (r)
		goto unclaim;
	/*
	 * Should the journal's write or the switch to the new leaf fail,
	 * nothing was merged yet: taking the journal back is safe (also a
	 * journal whose failed write may have reached the disk), and once
	 * it is back the new leaf is of no use and goes.  If the journal
	 * cannot be taken back, the new leaf stays for a restart to open.
	 */
	r = write_journal(tl, &j, why);
	if (!r)
		r = attach_leaf(dc, made, pause, why);
	if (r) {
		dmc_layer_create_end(file, made, !take_back_journal(tl));
		goto unclaim;
	}
	dmc_layer_create_end(file, made, true);
	kfree(j.top_path);
	return 0;
unclaim:
	kfree(j.top_path);
	unclaim_all(dc, t, k);
	return r;
}

int dm_chain_merge_start(struct dmc_chain *dc,
			 const struct dm_chain_merge_params *p,
			 struct dm_chain_merge_status *st, char *new_leaf,
			 size_t new_leaf_size, const char **why)
{
	struct dmc_merge *m;
	unsigned int t, top, i, k;
	bool resumed = false, changing = false, relink = false;
	bool keeps_leaf;
	u64 pause = 0;
	int r;

	mutex_lock(&dc->ctl_lock);
	m = get_merge(dc);
	r = -ENOMEM;
	*why = "Cannot allocate the merge";
	if (!m)
		goto out;
	r = -EBUSY;
	*why = "A merge is already running on this device";
	if (m->running)
		goto out;
	r = check_changeable(dc, p->new_leaf, why);
	if (r)
		goto out;
	r = dmc_chain_begin_change(dc, why);
	if (r)
		goto out;
	changing = true;

	r = find_journal(dc, &t, &k, &relink, why);
	if (!r) {
		resumed = true;
		r = alloc_sources(m, k, why);
		if (r)
			goto out;
		r = claim_all(dc, t, k, why);
		if (!r)
			r = dmc_layer_prepare_target(dc->layers[t], why);
		if (r)
			goto out_sources;
		if (relink && !dmc_layer_is_raw(dc->layers[t])) {
			/* An intermediate merge stopped before its relink. */
			r = relink_above(dc, dc->layers[t],
					 dc->layers[t + k + 1], why);
			if (r)
				goto out_sources;
		}
		strscpy(new_leaf, dc->paths[dc->nr_layers - 1], new_leaf_size);
		keeps_leaf = dmc_merge_keeps_leaf(dc->nr_layers, t + k, true);
	} else if (r == -ENOENT) {
		r = dmc_merge_pick_target(dc->nr_layers, p, &t, &top, why);
		if (r)
			goto out;
		if (top != dc->nr_layers - 1 && p->new_leaf) {
			*why = "A merge of a range below the leaf adds no new leaf; drop the new leaf's path";
			r = -EINVAL;
			goto out;
		}
		keeps_leaf = dmc_merge_keeps_leaf(dc->nr_layers, top, false);
		/* (the sources: t+1 .. top, below the new leaf if one comes) */
		k = top - t;
		r = alloc_sources(m, k, why);
		if (r)
			goto out;
		/* Before the journal: the target's map must take writes. */
		r = dmc_layer_prepare_target(dc->layers[t], why);
		if (r)
			goto out_sources;
		if (keeps_leaf) {
			/* docs/design/intermediate-live-merge.md */
			r = begin_range(dc, t, top, why);
			if (r)
				goto out_sources;
			strscpy(new_leaf, dc->paths[dc->nr_layers - 1],
				new_leaf_size);
		} else {
			r = begin_merge(dc, t, p->new_leaf, new_leaf,
					new_leaf_size, &pause, why);
			if (r)
				goto out_sources;
		}
	} else {
		goto out;
	}

	m->target = dc->layers[t];
	m->holder = journal_holder(dc, t);
	m->above = dc->layers[t + k + 1];
	m->nr_sources = k;
	for (i = 0; i < k; i++) {
		m->sources[i] = dc->layers[t + 1 + i];
		m->smaps[i] = dmc_layer_map(m->sources[i]);
	}
	m->mode = p->mode;
	m->rate = p->rate;
	m->cancel = false;
	m->paused = dm_suspended(dc->ti);
	m->parked = false;
	m->cursor = dmc_layer_hdr(m->holder)->j_state == DMC_JOURNAL_MERGING ?
		    dmc_layer_hdr(m->holder)->j_cursor : 0;
	m->saved_ns = 0;
	m->bytes_unsaved = 0;
	m->moved = 0;
	m->parked_ns = 0;
	m->start = ktime_get();

	spin_lock(&m->lock);
	memset(&m->st, 0, sizeof(m->st));
	m->st.state = DM_CHAIN_MERGE_STATE_RUNNING;
	m->st.target = t;
	m->st.nr_sources = k;
	m->st.resumed = resumed;
	m->st.keeps_leaf = keeps_leaf;
	m->st.pause_ns = pause;
	m->has_status = true;
	WRITE_ONCE(m->running, true);
	*st = m->st;
	spin_unlock(&m->lock);
	queue_work(dmc_merge_wq, &m->work);
	r = 0;
	goto out;
out_sources:
	free_sources(m);
out:
	if (changing)
		dmc_chain_end_change(dc);
	mutex_unlock(&dc->ctl_lock);
	return r;
}

int dm_chain_merge_cancel(struct dmc_chain *dc, const char **why)
{
	int r = 0;

	mutex_lock(&dc->ctl_lock);
	if (!dmc_merge_running(dc)) {
		*why = "No merge is running on this device";
		r = -ENOENT;
	} else {
		WRITE_ONCE(dc->merge->cancel, true);
		wake_up_all(&dc->merge->wait);
	}
	mutex_unlock(&dc->ctl_lock);
	return r;
}

int dm_chain_snapshot(struct dmc_chain *dc, const char *path, char *made,
		      size_t made_size, u64 *pause_ns, const char **why)
{
	struct dmc_layer *leaf;
	int r;

	mutex_lock(&dc->ctl_lock);
	r = check_changeable(dc, path, why);
	if (r)
		goto out;
	if (dc->nr_layers >= DMC_MAX_LAYERS) {
		*why = "Chain is at its maximum depth";
		r = -E2BIG;
		goto out;
	}
	r = dmc_chain_begin_change(dc, why);
	if (r)
		goto out;
	leaf = dmc_leaf(dc);
	r = add_leaf(dc, path, leaf, dmc_layer_hdr(leaf)->generation, made,
		     made_size, pause_ns, why);
	dmc_chain_end_change(dc);
out:
	mutex_unlock(&dc->ctl_lock);
	return r;
}

static void dmc_merge_stop(struct dmc_chain *dc)
{
	struct dmc_merge *m = dc->merge;

	if (!m)
		return;
	WRITE_ONCE(m->cancel, true);
	wake_up_all(&m->wait);
	flush_work(&m->work);
}

static void dmc_merge_pause(struct dmc_chain *dc)
{
	struct dmc_merge *m = READ_ONCE(dc->merge);

	if (!m)
		return;
	WRITE_ONCE(m->paused, true);
	wake_up_all(&m->wait);
	/* The worker parks at its next chunk boundary. */
	wait_event(m->wait, READ_ONCE(m->parked) || !READ_ONCE(m->running));
}

static void dmc_merge_resume(struct dmc_chain *dc)
{
	struct dmc_merge *m = READ_ONCE(dc->merge);

	if (!m)
		return;
	WRITE_ONCE(m->paused, false);
	wake_up_all(&m->wait);
}

/* The device goes: stop its merge and free it. */
static void dmc_merge_release(struct dmc_chain *dc)
{
	struct dmc_merge *m = dc->merge;

	if (!m)
		return;
	dmc_merge_stop(dc);
	kvfree(m->buf);
	kfree(m);
	dc->merge = NULL;
	dc->merge_ops = NULL;
}

/* The target's view of a device's merge (struct dmc_merge_ops). */
static const struct dmc_merge_ops dmc_merge_chain_ops = {
	.running = dmc_merge_running,
	.status = dmc_merge_status,
	.pause = dmc_merge_pause,
	.resume = dmc_merge_resume,
	.release = dmc_merge_release,
};

int dmc_merge_init(void)
{
	dmc_merge_wq = alloc_workqueue("kdmchain_merge", WQ_UNBOUND, 0);
	return dmc_merge_wq ? 0 : -ENOMEM;
}

void dmc_merge_exit(void)
{
	destroy_workqueue(dmc_merge_wq);
}
