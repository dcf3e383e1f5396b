// SPDX-License-Identifier: GPL-2.0
/*
 * The data path: deciding in the map path (no sleeping, no I/O) which
 * layer serves each bio, and doing the file I/O from workers.
 *
 * Every bio that needs file I/O goes to the device's unbound,
 * WQ_MEM_RECLAIM workqueue; the workers run with PF_MEMALLOC_NOIO (so
 * reclaim never waits on this very device).  Direct I/O reads and writes
 * in place only issue an asynchronous kiocb against the layer file and do
 * not wait for it, so they are queued on one list that a single work item
 * drains in order, as the loop driver's worker does: a deep queue costs
 * one wakeup.  Everything that waits (copy-on-write fills, zeroing,
 * flushes, buffered I/O where the file refuses direct I/O) is a work item
 * of its own, so it never holds up the others.
 *
 * A bio is cut (dm_accept_partial_bio) to the longest prefix one file I/O
 * can serve: for reads a run of blocks with the same source layer, for
 * writes a run of blocks that can be written in place, or the part of one
 * block that needs a copy-on-write fill.
 *
 * Ordering: a leaf block is marked DATA in memory only after its data
 * write completed, and map pages reach the disk only in
 * dmc_layer_commit(), after an fdatasync of the data, so the on-disk map
 * never points at data that is not durable.  FLUSH and FUA complete after
 * such a commit.
 *
 * Exclusion: every bio that writes the leaf (in place, by a fill, or by
 * zeroing) holds a cell on its range of blocks from the moment it is
 * issued until its data and map state are in place (see "cells" below),
 * so a fill never writes a parent's stale data over a concurrent write,
 * and zeroing never races either.  Bios on other blocks do not wait.
 *
 * Fail mode: an error writing the leaf or committing its map switches the
 * device to fail mode for good (dmc_chain_fail()): writes, discards and
 * flushes fail with EIO from then on, reads go on.  Only a new table
 * leaves it.  A flush is never acknowledged after data or map may have
 * been lost.
 *
 * Freeze protection: writes into layer files hold the host filesystem's
 * freeze protection (file_start_write(), kiocb_start_write() until an
 * asynchronous write completes), as a write(2) would.
 */
#include <linux/bio.h>
#include <linux/blk_types.h>
#include <linux/device-mapper.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "dm-chain.h"
#include "blockmap.h"
#include "chain.h"
#include "layer.h"
#include "table.h"

enum dmc_io_kind {
	DMC_IO_READ,		/* read a piece from one layer */
	DMC_IO_WRITE,		/* write a piece in place in the leaf */
	DMC_IO_FILL,		/* write part of a block that needs a fill */
	DMC_IO_ZERO,		/* discard / write zeroes */
	DMC_IO_FLUSH,		/* commit the leaf, then complete */
};

/* Per-bio data (ti->per_io_data_size). */
struct dmc_io {
	struct dmc_chain *dc;
	struct bio *bio;
	struct work_struct work;
	struct llist_node submit_node;	/* on dc->submit_list */
	struct kiocb iocb;
	struct dmc_layer *layer;	/* READ, WRITE */
	u64 pos;			/* device byte offset of the piece */
	u64 len;
	u64 first_block;		/* WRITE: blocks to mark DATA */
	u64 nr_blocks;
	enum dmc_io_kind kind;
	bool buffered;			/* no (more) direct I/O */
	bool set_data;
	bool flush_after;		/* FUA */
	bool discard;			/* ZERO: a discard (else write zeroes) */
	bool nounmap;			/* ZERO: REQ_NOUNMAP, keep file space */
	bool frozen_ref;		/* holds kiocb_start_write() */

	/* The cell (see "cells"); guarded by dc->cells.lock. */
	struct list_head cell_node;	/* on cells.held or cells.waiting */
	u64 cell_first;			/* blocks [first, first + nr) */
	u64 cell_nr;
	bool cell_excl;
	bool locked;			/* holds its cell */
	bool prep;			/* WRITE: an edge block needs a fill */
};

unsigned int dmc_io_size(void)
{
	return sizeof(struct dmc_io);
}

static void dmc_io_work(struct work_struct *work);
static void do_rw(struct dmc_io *io);
static void do_write(struct dmc_io *io, bool can_wait);

/* Reads and in-place writes that will not wait: see the comment on top. */
static bool io_is_async(struct dmc_io *io)
{
	return (io->kind == DMC_IO_READ || io->kind == DMC_IO_WRITE) &&
	       !io->buffered && dmc_layer_can_dio(io->layer);
}

static void queue_io(struct dmc_io *io)
{
	struct dmc_chain *dc = io->dc;

	if (!io_is_async(io)) {
		queue_work(dc->wq, &io->work);
		return;
	}
	/* Only the bio that finds the list empty has to kick the worker. */
	if (llist_add(&io->submit_node, &dc->submit_list))
		queue_work(dc->wq, &dc->submit_work);
}

static void dmc_submit_work(struct work_struct *work)
{
	struct dmc_chain *dc = container_of(work, struct dmc_chain,
					    submit_work);
	struct llist_node *list = llist_del_all(&dc->submit_list);
	struct dmc_io *io, *next;
	unsigned int noio = memalloc_noio_save();

	/* do_rw() may complete, and so free, @io: take the next one first. */
	llist_for_each_entry_safe(io, next, llist_reverse_order(list),
				  submit_node) {
		if (io->kind == DMC_IO_WRITE)
			do_write(io, false);
		else
			do_rw(io);
	}
	memalloc_noio_restore(noio);
}

static void dmc_fail_work(struct work_struct *work);

void dmc_submit_init(struct dmc_chain *dc)
{
	init_llist_head(&dc->submit_list);
	INIT_WORK(&dc->submit_work, dmc_submit_work);
	INIT_WORK(&dc->fail_work, dmc_fail_work);
}

/* ---- the I/O gate (see chain.h) ---- */

void dmc_gate_init(struct dmc_gate *g)
{
	spin_lock_init(&g->lock);
	init_waitqueue_head(&g->wait);
	g->closed = false;
	g->inflight = 0;
	g->writes = 0;
	g->limit = 0;
}

/* Whether a bio may pass now (called with g->lock held). */
static bool gate_admits(struct dmc_gate *g)
{
	return !g->closed && (!g->limit || g->inflight < g->limit);
}

static bool gate_admits_locked(struct dmc_gate *g)
{
	bool r;

	spin_lock_irq(&g->lock);
	r = gate_admits(g);
	spin_unlock_irq(&g->lock);
	return r;
}

static void gate_enter(struct dmc_gate *g, bool write)
{
	spin_lock_irq(&g->lock);
	while (unlikely(!gate_admits(g))) {
		spin_unlock_irq(&g->lock);
		wait_event(g->wait, gate_admits_locked(g));
		spin_lock_irq(&g->lock);
	}
	g->inflight++;
	g->writes += write;
	spin_unlock_irq(&g->lock);
}

static void gate_exit(struct dmc_gate *g, bool write)
{
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&g->lock, flags);
	--g->inflight;
	g->writes -= write;
	wake = (!g->inflight && g->closed) ||
	       (g->limit && g->inflight + 1 == g->limit);
	spin_unlock_irqrestore(&g->lock, flags);
	if (wake)
		wake_up_all(&g->wait);
}

static bool gate_drained(struct dmc_gate *g)
{
	bool r;

	spin_lock_irq(&g->lock);
	r = !g->inflight;
	spin_unlock_irq(&g->lock);
	return r;
}

void dmc_gate_close(struct dmc_gate *g)
{
	spin_lock_irq(&g->lock);
	WARN_ON_ONCE(g->closed);
	g->closed = true;
	spin_unlock_irq(&g->lock);
	wait_event(g->wait, gate_drained(g));
}

void dmc_gate_open(struct dmc_gate *g, unsigned long limit)
{
	spin_lock_irq(&g->lock);
	g->closed = false;
	g->limit = limit;
	spin_unlock_irq(&g->lock);
	wake_up_all(&g->wait);
}

void dmc_gate_limit(struct dmc_gate *g, unsigned long limit)
{
	spin_lock_irq(&g->lock);
	g->limit = limit;
	spin_unlock_irq(&g->lock);
	wake_up_all(&g->wait);
}

/*
 * Complete the bio.  The gate is left first: once the bio has ended the
 * device may be torn down, @io and @dc with it.
 */
static void end_io(struct dmc_io *io, blk_status_t status)
{
	struct bio *bio = io->bio;

	gate_exit(&io->dc->gate, op_is_write(bio_op(bio)));
	bio->bi_status = status;
	bio_endio(bio);
}

/* ---- fail mode ---- */

static void dmc_fail_work(struct work_struct *work)
{
	struct dmc_chain *dc = container_of(work, struct dmc_chain, fail_work);
	char name[DM_NAME_LEN];

	dmc_chain_name(dc, name);
	DMERR("%s: %s failed (%d): fail mode, writes and flushes fail until a table reload",
	      name, dc->fail_what, dc->fail_err);
	dm_table_event(dc->ti->table);
}

void dmc_chain_fail(struct dmc_chain *dc, int err, const char *what)
{
	set_bit(DMC_CHAIN_FAILED, &dc->flags);
	if (test_and_set_bit(DMC_CHAIN_FAIL_TOLD, &dc->flags))
		return;
	dc->fail_err = err;
	dc->fail_what = what;
	/* Logging and the event sleep; this may run in I/O completion. */
	schedule_work(&dc->fail_work);
}

bool dmc_chain_failed(struct dmc_chain *dc)
{
	return test_bit(DMC_CHAIN_FAILED, &dc->flags);
}

/* A write to the leaf failed: count it, and data may be lost. */
static void write_failed(struct dmc_chain *dc, int err)
{
	atomic64_inc(&dc->stats.write_errors);
	dmc_chain_fail(dc, err, "writing to the leaf");
}

/*
 * ---- cells: per-block exclusion of writes ----
 *
 * A cell is a range of leaf blocks held by one bio, shared or exclusive.
 * In-place writes into blocks that are all DATA take it shared: they
 * change no map state and nothing else writes those blocks' file range
 * but other in-place writes.  Everything that changes a block's state
 * (whole-block writes into blocks the leaf lacks, fills, zeroing) takes it
 * exclusive, and changes the state before letting go, so a block's state
 * is stable while any cell covers it.  A bio whose range conflicts with a
 * held cell is parked and queued again when that cell is released, as
 * dm-bio-prison does; nothing sleeps waiting for a cell.  Each bio holds
 * at most one cell, so there is no lock order to get wrong.
 */

void dmc_cells_init(struct dmc_cells *c)
{
	spin_lock_init(&c->lock);
	INIT_LIST_HEAD(&c->held);
	INIT_LIST_HEAD(&c->waiting);
}

static bool cells_overlap(const struct dmc_io *a, const struct dmc_io *b)
{
	return a->cell_first < b->cell_first + b->cell_nr &&
	       b->cell_first < a->cell_first + a->cell_nr;
}

/* Whether any block of [first, first + nr) is not DATA in the leaf. */
static bool any_not_data(struct dmc_chain *dc, u64 first, u64 nr)
{
	const struct dmc_blockmap *bm = dmc_leaf_map(dc);

	return dmc_bm_get(bm, first) != DMC_BLOCK_DATA ||
	       dmc_bm_run(bm, first, nr) < nr;
}

/*
 * For an in-place write: whether a block it covers only in part has
 * stopped being DATA since the write was planned (zeroed meanwhile).
 */
static bool edge_needs_fill(struct dmc_chain *dc, struct dmc_io *io)
{
	const struct dmc_blockmap *bm = dmc_leaf_map(dc);
	unsigned int shift = dc->block_shift;
	u64 end = io->pos + io->len;
	u64 last = (end - 1) >> shift;

	if ((io->pos & ((1ULL << shift) - 1)) &&
	    dmc_bm_get(bm, io->first_block) != DMC_BLOCK_DATA)
		return true;
	return (end & ((1ULL << shift) - 1)) && end < dc->dev_size &&
	       dmc_bm_get(bm, last) != DMC_BLOCK_DATA;
}

/*
 * Take @io's cell (its range set by the caller), or park @io until a
 * conflicting cell is released; false when parked.  Never sleeps.
 */
static bool cell_get(struct dmc_io *io)
{
	struct dmc_chain *dc = io->dc;
	struct dmc_cells *c = &dc->cells;
	struct dmc_io *h;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	/* Under the lock: no state change can run on a range we see free. */
	io->cell_excl = io->kind != DMC_IO_WRITE ||
			any_not_data(dc, io->cell_first, io->cell_nr);
	list_for_each_entry(h, &c->held, cell_node) {
		if (cells_overlap(io, h) && (io->cell_excl || h->cell_excl)) {
			list_add_tail(&io->cell_node, &c->waiting);
			spin_unlock_irqrestore(&c->lock, flags);
			return false;
		}
	}
	list_add_tail(&io->cell_node, &c->held);
	io->locked = true;
	if (io->kind == DMC_IO_WRITE && io->set_data && io->cell_excl)
		io->prep = edge_needs_fill(dc, io);
	spin_unlock_irqrestore(&c->lock, flags);
	return true;
}

/* Release @io's cell, if held, and requeue the bios parked behind it. */
static void cell_put(struct dmc_io *io)
{
	struct dmc_chain *dc = io->dc;
	struct dmc_cells *c = &dc->cells;
	struct dmc_io *w, *tmp;
	unsigned long flags;
	LIST_HEAD(wake);

	if (!io->locked)
		return;
	spin_lock_irqsave(&c->lock, flags);
	list_del(&io->cell_node);
	io->locked = false;
	list_for_each_entry_safe(w, tmp, &c->waiting, cell_node)
		if (cells_overlap(io, w))
			list_move_tail(&w->cell_node, &wake);
	spin_unlock_irqrestore(&c->lock, flags);
	list_for_each_entry_safe(w, tmp, &wake, cell_node) {
		list_del_init(&w->cell_node);
		queue_work(dc->wq, &w->work);
	}
}

/* ---- map path ---- */

static int map_read(struct dmc_chain *dc, struct dmc_io *io, u64 pos,
		    u64 len)
{
	unsigned int shift = dc->block_shift;
	u64 first = pos >> shift;
	u64 last = (pos + len - 1) >> shift;
	u64 n, end;
	int src;

	n = dmc_view_resolve_run(dc->view, dc->maps, dc->nr_layers, first,
				 last - first + 1, &src);
	end = min((first + n) << shift, pos + len);
	if (end < pos + len)
		dm_accept_partial_bio(io->bio, (end - pos) >> SECTOR_SHIFT);
	atomic64_inc(&dc->stats.reads);
	if (src == DMC_SRC_ZERO) {
		atomic64_inc(&dc->stats.zero_reads);
		zero_fill_bio(io->bio);
		end_io(io, BLK_STS_OK);
		return DM_MAPIO_SUBMITTED;
	}
	io->kind = DMC_IO_READ;
	io->layer = dc->layers[src];
	io->pos = pos;
	io->len = end - pos;
	queue_io(io);
	return DM_MAPIO_SUBMITTED;
}

static int map_write(struct dmc_chain *dc, struct dmc_io *io, u64 pos,
		     u64 len)
{
	struct dmc_write_piece piece;

	dmc_plan_write(dmc_leaf_map(dc), dc->block_shift, dc->dev_size, pos,
		       len, &piece);
	if (piece.len < len)
		dm_accept_partial_bio(io->bio, piece.len >> SECTOR_SHIFT);
	atomic64_inc(&dc->stats.writes);
	io->kind = piece.kind == DMC_WRITE_FILL ? DMC_IO_FILL : DMC_IO_WRITE;
	io->layer = dmc_leaf(dc);
	io->pos = pos;
	io->len = piece.len;
	io->first_block = piece.first_block;
	io->nr_blocks = piece.nr_blocks;
	io->set_data = !dc->leaf_raw;
	io->flush_after = !!(io->bio->bi_opf & REQ_FUA);
	queue_io(io);
	return DM_MAPIO_SUBMITTED;
}

static int map_bio(struct dmc_chain *dc, struct dmc_io *io, struct bio *bio);

int dmc_map(struct dmc_chain *dc, struct bio *bio)
{
	struct dmc_io *io = dm_per_bio_data(bio, sizeof(struct dmc_io));
	bool write = op_is_write(bio_op(bio));
	int r;

	gate_enter(&dc->gate, write);
	r = map_bio(dc, io, bio);
	if (r == DM_MAPIO_KILL)
		gate_exit(&dc->gate, write);
	return r;
}

static int map_bio(struct dmc_chain *dc, struct dmc_io *io, struct bio *bio)
{
	u64 pos, len;

	io->dc = dc;
	io->bio = bio;
	io->buffered = !!(dc->features & DMC_FEATURE_BUFFERED);
	io->set_data = false;
	io->flush_after = false;
	io->frozen_ref = false;
	io->locked = false;
	io->prep = false;
	INIT_WORK(&io->work, dmc_io_work);

	if (bio->bi_opf & REQ_PREFLUSH) {
		atomic64_inc(&dc->stats.flushes);
		if (dc->read_only) {
			end_io(io, BLK_STS_OK);
			return DM_MAPIO_SUBMITTED;
		}
		if (dmc_chain_failed(dc)) {
			atomic64_inc(&dc->stats.flush_errors);
			return DM_MAPIO_KILL;
		}
		io->kind = DMC_IO_FLUSH;
		queue_io(io);
		return DM_MAPIO_SUBMITTED;
	}

	pos = (u64)dm_target_offset(dc->ti, bio->bi_iter.bi_sector)
	      << SECTOR_SHIFT;
	len = bio->bi_iter.bi_size;
	if (!len || pos + len > dc->dev_size)
		return DM_MAPIO_KILL;

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		return map_read(dc, io, pos, len);
	case REQ_OP_WRITE:
		if (dc->read_only || dmc_chain_failed(dc))
			return DM_MAPIO_KILL;
		return map_write(dc, io, pos, len);
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		if (dc->read_only || dc->leaf_raw || dmc_chain_failed(dc))
			return DM_MAPIO_KILL;
		atomic64_inc(&dc->stats.discards);
		io->kind = DMC_IO_ZERO;
		io->pos = pos;
		io->len = len;
		io->discard = bio_op(bio) == REQ_OP_DISCARD;
		io->nounmap = !io->discard && (bio->bi_opf & REQ_NOUNMAP);
		io->flush_after = !!(bio->bi_opf & REQ_FUA);
		queue_io(io);
		return DM_MAPIO_SUBMITTED;
	default:
		return DM_MAPIO_KILL;
	}
}

/* ---- helpers for file I/O ---- */

/* An iov_iter over the bio's (remaining) data, as the loop driver does. */
static void bio_iov_iter(struct iov_iter *iter, struct bio *bio,
			 unsigned int dir)
{
	struct bvec_iter bi;
	struct bio_vec bv;
	unsigned int nr = 0;

	bio_for_each_bvec(bv, bio, bi)
		nr++;
	iov_iter_bvec(iter, dir, __bvec_iter_bvec(bio->bi_io_vec, bio->bi_iter),
		      nr, bio->bi_iter.bi_size);
	iter->iov_offset = bio->bi_iter.bi_bvec_done;
}

/* Zero the bio's data from byte @done on (a read past EOF). */
static void zero_bio_from(struct bio *bio, unsigned int done)
{
	struct bvec_iter start = bio->bi_iter, it;
	struct bio_vec bv;

	bio_advance_iter(bio, &start, done);
	__bio_for_each_segment(bv, bio, it, start)
		memzero_bvec(&bv);
}

static void count_error(struct dmc_chain *dc, bool write)
{
	atomic64_inc(write ? &dc->stats.write_errors : &dc->stats.read_errors);
}

/*
 * Synchronous I/O of @len bytes between @bv and a layer file at @fpos,
 * direct where possible, else buffered.  Reads past EOF are zero-filled.
 * Writes hold the filesystem's freeze protection.  Returns 0 or -errno.
 * Sleeps.
 */
static int file_rw_sync(struct dmc_chain *dc, struct dmc_layer *l,
			struct bio_vec *bv, unsigned int nr, size_t len,
			loff_t fpos, bool write)
{
	unsigned int dir = write ? ITER_SOURCE : ITER_DEST;
	struct file *file = dmc_layer_file(l);
	struct iov_iter iter;
	struct kiocb kiocb;
	ssize_t ret = -EINVAL;

	if (write)
		file_start_write(file);
	if (!(dc->features & DMC_FEATURE_BUFFERED) && dmc_layer_can_dio(l)) {
		iov_iter_bvec(&iter, dir, bv, nr, len);
		init_sync_kiocb(&kiocb, file);
		kiocb.ki_pos = fpos;
		kiocb.ki_flags |= IOCB_DIRECT;
		ret = write ? call_write_iter(file, &kiocb, &iter) :
			      call_read_iter(file, &kiocb, &iter);
		if (ret == -EINVAL)
			atomic64_inc(&dc->stats.dio_fallbacks);
	}
	if (ret == -EINVAL) {
		loff_t p = fpos;

		iov_iter_bvec(&iter, dir, bv, nr, len);
		ret = write ? vfs_iter_write(file, &iter, &p, 0) :
			      vfs_iter_read(file, &iter, &p, 0);
	}
	if (write)
		file_end_write(file);
	if (ret < 0)
		return ret;
	if ((size_t)ret < len) {
		if (write)
			return -EIO;
		iov_iter_bvec(&iter, dir, bv, nr, len);
		iov_iter_advance(&iter, ret);
		iov_iter_zero(len - ret, &iter);
	}
	return 0;
}

/* ---- reads and in-place writes ---- */

static void rw_done(struct dmc_io *io, long ret)
{
	struct dmc_chain *dc = io->dc;
	bool write = io->kind == DMC_IO_WRITE;

	if (io->frozen_ref) {
		io->frozen_ref = false;
		kiocb_end_write(&io->iocb);
	}
	if (ret == -EINVAL && !io->buffered) {
		/* Direct I/O refused (alignment): redo it buffered. */
		atomic64_inc(&dc->stats.dio_fallbacks);
		io->buffered = true;
		queue_io(io);
		return;
	}
	if (ret >= 0 && ret < io->len) {
		if (write) {
			ret = -EIO;
		} else {
			zero_bio_from(io->bio, ret);
			ret = io->len;
		}
	}
	if (ret < 0) {
		if (write) {
			cell_put(io);
			write_failed(dc, ret);
		} else {
			count_error(dc, false);
		}
		end_io(io, errno_to_blk_status(ret));
		return;
	}
	if (write) {
		if (io->set_data)
			dmc_bm_set_range(dmc_leaf_map(dc), io->first_block,
					 io->nr_blocks, DMC_BLOCK_DATA);
		cell_put(io);
		if (io->flush_after) {
			io->kind = DMC_IO_FLUSH;
			queue_io(io);
			return;
		}
	}
	end_io(io, BLK_STS_OK);
}

static void rw_aio_complete(struct kiocb *iocb, long ret)
{
	rw_done(container_of(iocb, struct dmc_io, iocb), ret);
}

/* Issue a read or an in-place write (its cell held). */
static void do_rw(struct dmc_io *io)
{
	bool write = io->kind == DMC_IO_WRITE;
	struct file *file = dmc_layer_file(io->layer);
	loff_t fpos = dmc_layer_data_offset(io->layer) + io->pos;
	struct iov_iter iter;
	ssize_t ret;

	bio_iov_iter(&iter, io->bio, write ? ITER_SOURCE : ITER_DEST);
	if (io->buffered || !dmc_layer_can_dio(io->layer)) {
		io->buffered = true;
		if (write) {
			file_start_write(file);
			ret = vfs_iter_write(file, &iter, &fpos, 0);
			file_end_write(file);
		} else {
			ret = vfs_iter_read(file, &iter, &fpos, 0);
		}
		rw_done(io, ret);
		return;
	}

	memset(&io->iocb, 0, sizeof(io->iocb));
	io->iocb.ki_filp = file;
	io->iocb.ki_pos = fpos;
	io->iocb.ki_complete = rw_aio_complete;
	io->iocb.ki_flags = IOCB_DIRECT;
	io->iocb.ki_ioprio = io->bio->bi_ioprio;
	if (write) {
		/* Held until the write completes, as aio does. */
		kiocb_start_write(&io->iocb);
		io->frozen_ref = true;
		ret = call_write_iter(file, &io->iocb, &iter);
	} else {
		ret = call_read_iter(file, &io->iocb, &iter);
	}
	/* After -EIOCBQUEUED the completion may already have freed @io. */
	if (ret != -EIOCBQUEUED)
		rw_aio_complete(&io->iocb, ret);
}

static int fill_edges(struct dmc_io *io);

/*
 * A write accepted before the device went to fail mode: fail it too
 * rather than write after a loss.  Returns true when @io was ended.
 */
static bool failed_end(struct dmc_io *io)
{
	if (!dmc_chain_failed(io->dc))
		return false;
	cell_put(io);
	end_io(io, BLK_STS_IOERR);
	return true;
}

/*
 * An in-place write: take its cell (or park), fill a partly covered
 * block that was zeroed since the write was planned, then issue it.
 * Without @can_wait (the submit worker) anything that would wait for I/O
 * goes to a work item of its own.
 */
static void do_write(struct dmc_io *io, bool can_wait)
{
	int r;

	if (!io->locked) {
		io->cell_first = io->first_block;
		io->cell_nr = io->nr_blocks;
		if (!cell_get(io))
			return;
	}
	if (failed_end(io))
		return;
	if (io->prep) {
		if (!can_wait) {
			queue_work(io->dc->wq, &io->work);
			return;
		}
		io->prep = false;
		r = fill_edges(io);
		if (r) {
			cell_put(io);
			end_io(io, errno_to_blk_status(r));
			return;
		}
	}
	do_rw(io);
}

/* ---- copy-on-write fill of one leaf block ---- */

struct block_buf {
	struct bio_vec *bv;
	unsigned int nr;
	size_t len;
};

static void free_block_buf(struct block_buf *b)
{
	unsigned int i;

	for (i = 0; i < b->nr; i++)
		if (b->bv[i].bv_page)
			__free_page(b->bv[i].bv_page);
	kfree(b->bv);
}

static int alloc_block_buf(struct block_buf *b, size_t len)
{
	unsigned int i;

	b->len = len;
	b->nr = DIV_ROUND_UP(len, PAGE_SIZE);
	b->bv = kcalloc(b->nr, sizeof(*b->bv), GFP_NOIO);
	if (!b->bv)
		return -ENOMEM;
	for (i = 0; i < b->nr; i++) {
		struct page *page = alloc_page(GFP_NOIO);

		if (!page) {
			free_block_buf(b);
			return -ENOMEM;
		}
		b->bv[i].bv_page = page;
		b->bv[i].bv_offset = 0;
		b->bv[i].bv_len = min_t(size_t, PAGE_SIZE, len - i * PAGE_SIZE);
	}
	return 0;
}

/* Overlay [off, off + len) of the block buffer with @bio's data or zeros. */
static void overlay(struct block_buf *b, size_t off, size_t len,
		    struct bio *bio)
{
	struct iov_iter dst;
	struct bvec_iter it;
	struct bio_vec bv;

	iov_iter_bvec(&dst, ITER_DEST, b->bv, b->nr, b->len);
	iov_iter_advance(&dst, off);
	if (!bio) {
		iov_iter_zero(len, &dst);
		return;
	}
	bio_for_each_segment(bv, bio, it) {
		void *p = bvec_kmap_local(&bv);

		size_t n = copy_to_iter(p, bv.bv_len, &dst);

		kunmap_local(p);
		WARN_ON_ONCE(n != bv.bv_len);
	}
}

/*
 * Write [pos, pos + len) of block @block, which is not DATA in the leaf and
 * not covered whole, with @bio's data (or zeros when @bio is NULL): fill
 * the rest of the block from the chain below the leaf, write the whole
 * block to the leaf, mark it DATA.  Zeroing (no @bio) a block that reads
 * as zeros does nothing unless @always.  BLK_STS_AGAIN when the block is
 * DATA by now.  The caller holds an exclusive cell on the block.  Sleeps.
 */
static blk_status_t fill_block(struct dmc_chain *dc, u64 block, u64 pos,
			       u64 len, struct bio *bio, bool always);

/* Write zeros over [pos, pos + len) of the leaf file's data area. */
static int write_zeros(struct dmc_chain *dc, u64 pos, u64 len)
{
	struct bio_vec *bv;
	unsigned int nr = DIV_ROUND_UP(len, PAGE_SIZE), i;
	int r;

	bv = kcalloc(nr, sizeof(*bv), GFP_NOIO);
	if (!bv)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		bv[i].bv_page = ZERO_PAGE(0);
		bv[i].bv_len = min_t(u64, PAGE_SIZE, len - (u64)i * PAGE_SIZE);
	}
	r = file_rw_sync(dc, dmc_leaf(dc), bv, nr, len,
			 dmc_layer_data_offset(dmc_leaf(dc)) + pos, true);
	kfree(bv);
	return r;
}

static blk_status_t fill_block(struct dmc_chain *dc, u64 block, u64 pos,
			       u64 len, struct bio *bio, bool always)
{
	struct dmc_blockmap *leaf_map = dmc_leaf_map(dc);
	struct dmc_layer *leaf = dmc_leaf(dc);
	u64 bstart = block << dc->block_shift;
	u64 blen = min(1ULL << dc->block_shift, dc->dev_size - bstart);
	struct block_buf buf;
	unsigned int state;
	int src, r;

	state = dmc_bm_get(leaf_map, block);
	if (state == DMC_BLOCK_DATA)
		return BLK_STS_AGAIN;	/* written whole meanwhile */
	src = state == DMC_BLOCK_ZERO ? DMC_SRC_ZERO :
	      dmc_view_resolve(dc->view, dc->maps, dc->nr_layers - 1, block);
	if (!bio && !always && src == DMC_SRC_ZERO)
		return BLK_STS_OK;	/* zeroing what reads as zeros */
	r = alloc_block_buf(&buf, blen);
	if (r)
		return errno_to_blk_status(r);
	if (src == DMC_SRC_ZERO) {
		overlay(&buf, 0, blen, NULL);
	} else {
		struct dmc_layer *l = dc->layers[src];

		r = file_rw_sync(dc, l, buf.bv, buf.nr, blen,
				 dmc_layer_data_offset(l) + bstart, false);
		if (r) {
			count_error(dc, false);
			goto out_free;
		}
	}
	if (len)
		overlay(&buf, pos - bstart, len, bio);
	r = file_rw_sync(dc, leaf, buf.bv, buf.nr, blen,
			 dmc_layer_data_offset(leaf) + bstart, true);
	if (r) {
		write_failed(dc, r);
		goto out_free;
	}
	dmc_bm_set_range(leaf_map, block, 1, DMC_BLOCK_DATA);
	atomic64_inc(&dc->stats.fills);
out_free:
	free_block_buf(&buf);
	return errno_to_blk_status(r);
}

/*
 * An in-place write covers block(s) in part that were DATA when it was
 * planned but are not any more (zeroed meanwhile): make them DATA again
 * (their content, zeros, written whole) so the write can go in place.
 */
static int fill_edges(struct dmc_io *io)
{
	struct dmc_chain *dc = io->dc;
	u64 mask = (1ULL << dc->block_shift) - 1, end = io->pos + io->len;
	u64 last = (end - 1) >> dc->block_shift;
	blk_status_t st = BLK_STS_OK;

	if (io->pos & mask)
		st = fill_block(dc, io->first_block, 0, 0, NULL, true);
	if ((st == BLK_STS_OK || st == BLK_STS_AGAIN) && (end & mask) &&
	    end < dc->dev_size)
		st = fill_block(dc, last, 0, 0, NULL, true);
	return st == BLK_STS_AGAIN ? 0 : blk_status_to_errno(st);
}

static void do_fill(struct dmc_io *io)
{
	struct dmc_chain *dc = io->dc;
	blk_status_t st;

	if (!io->locked) {
		io->cell_first = io->first_block;
		io->cell_nr = 1;
		if (!cell_get(io))
			return;
	}
	if (failed_end(io))
		return;
	st = fill_block(dc, io->first_block, io->pos, io->len, io->bio, false);
	if (st == BLK_STS_AGAIN) {
		/* Filled by someone else meanwhile: write in place. */
		io->kind = DMC_IO_WRITE;
		io->set_data = false;
		do_rw(io);
		return;
	}
	cell_put(io);
	if (st == BLK_STS_OK && io->flush_after && dmc_chain_commit(dc)) {
		atomic64_inc(&dc->stats.flush_errors);
		st = BLK_STS_IOERR;
	}
	end_io(io, st);
}

/* ---- discard / write zeroes ---- */

/*
 * Zero part of one block: [pos, pos + len) inside block @block.  A
 * discard never takes new space: it zeroes only a block the leaf holds.
 * Write zeroes fills a block the leaf lacks unless it reads as zeros.
 */
static int zero_partial(struct dmc_chain *dc, u64 block, u64 pos, u64 len,
			bool discard)
{
	int r;

	switch (dmc_bm_get(dmc_leaf_map(dc), block)) {
	case DMC_BLOCK_ZERO:
		return 0;
	case DMC_BLOCK_DATA:
		r = write_zeros(dc, pos, len);
		if (r)
			write_failed(dc, r);
		return r;
	default:
		if (discard)
			return 0;
		return blk_status_to_errno(fill_block(dc, block, pos, len,
						      NULL, false));
	}
}

static void do_zero(struct dmc_io *io)
{
	struct dmc_chain *dc = io->dc;
	unsigned int shift = dc->block_shift;
	u64 bsize = 1ULL << shift;
	u64 pos = io->pos, end = io->pos + io->len;
	u64 first_whole, end_whole;
	int r = 0;

	if (!io->locked) {
		io->cell_first = pos >> shift;
		io->cell_nr = ((end - 1) >> shift) - io->cell_first + 1;
		if (!cell_get(io))
			return;
	}
	if (failed_end(io))
		return;

	/* Blocks covered whole; the device's last block may be short. */
	first_whole = DIV_ROUND_UP(pos, bsize);
	end_whole = end == dc->dev_size ? DIV_ROUND_UP(end, bsize) :
					  end >> shift;

	if (first_whole >= end_whole) {
		/* Inside one block, or straddling two without a whole one. */
		u64 b = pos >> shift;
		u64 bend = min((b + 1) << shift, end);

		r = zero_partial(dc, b, pos, bend - pos, io->discard);
		if (!r && bend < end)
			r = zero_partial(dc, b + 1, bend, end - bend,
					 io->discard);
		goto out;
	}
	if (pos < first_whole << shift)
		r = zero_partial(dc, pos >> shift, pos,
				 (first_whole << shift) - pos, io->discard);
	if (!r && end > end_whole << shift && end_whole << shift < dc->dev_size)
		r = zero_partial(dc, end_whole, end_whole << shift,
				 end - (end_whole << shift), io->discard);
	if (!r) {
		/*
		 * Whole blocks read as zeros from now on.  Their file space
		 * is given back, unless the caller asked to keep it
		 * (REQ_NOUNMAP).
		 */
		dmc_bm_set_range(dmc_leaf_map(dc), first_whole,
				 end_whole - first_whole, DMC_BLOCK_ZERO);
		if (!io->nounmap)
			r = dmc_layer_punch(dmc_leaf(dc), first_whole,
					    end_whole - first_whole, shift);
		if (r)
			write_failed(dc, r);
	}
out:
	cell_put(io);
	if (!r && io->flush_after) {
		r = dmc_chain_commit(dc);
		if (r)
			atomic64_inc(&dc->stats.flush_errors);
	}
	end_io(io, errno_to_blk_status(r));
}

/* ---- flush ---- */

int dmc_chain_commit_layer(struct dmc_chain *dc, struct dmc_layer *l)
{
	int r;

	if (dmc_chain_failed(dc))
		return -EIO;
	r = dmc_layer_commit_guarded(l, &dc->flags, DMC_CHAIN_FAILED);
	/* -EIO from fail mode set meanwhile is reported already. */
	if (r)
		dmc_chain_fail(dc, r, "committing the leaf's block map");
	return r;
}

int dmc_chain_commit(struct dmc_chain *dc)
{
	if (dc->read_only)
		return 0;
	return dmc_chain_commit_layer(dc, dmc_leaf(dc));
}

static void do_flush(struct dmc_io *io)
{
	int r = dmc_chain_commit(io->dc);

	if (r)
		atomic64_inc(&io->dc->stats.flush_errors);
	end_io(io, errno_to_blk_status(r));
}

static void dmc_io_work(struct work_struct *work)
{
	struct dmc_io *io = container_of(work, struct dmc_io, work);
	unsigned int noio = memalloc_noio_save();

	switch (io->kind) {
	case DMC_IO_READ:
		do_rw(io);
		break;
	case DMC_IO_WRITE:
		do_write(io, true);
		break;
	case DMC_IO_FILL:
		do_fill(io);
		break;
	case DMC_IO_ZERO:
		do_zero(io);
		break;
	case DMC_IO_FLUSH:
		do_flush(io);
		break;
	}
	memalloc_noio_restore(noio);
}
