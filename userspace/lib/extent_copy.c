// SPDX-License-Identifier: GPL-2.0
/* Clone-or-copy of byte ranges, and the copy pipe: see extent_copy.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extent_copy.h"

#define COPY_CHUNK	(4U << 20)	/* the unpiped copy's buffer */
#define PIPE_CHUNK	(1U << 20)	/* one queued write at most */
#define PIPE_SLOTS	8		/* queued writes: 8 MiB of buffers */
/* O_DIRECT wants offsets, lengths and buffers aligned to the device's
 * logical block: 4 KiB suits every device.  Below DIRECT_MIN a range goes
 * through the page cache, whose writeback batches small scattered writes
 * better than one synchronous write each. */
#define DIRECT_ALIGN	4096ULL
#define DIRECT_MIN	(64ULL << 10)
#define PIPE_FILES	16		/* files a pipe remembers */

/* A file the pipe has seen: its O_DIRECT reopening, and for a source the
 * data extent last found with SEEK_HOLE (kept: a pipe never writes to a
 * file it reads). */
struct pipe_file {
	int fd;
	bool write;
	int dfd;			/* -1: no O_DIRECT for this file */
	uint64_t data_from, data_end;	/* [from, end) known to be data */
};

struct pipe_job {
	int fd;
	int buffered_fd;		/* the caller's: where direct I/O refuses */
	const char *path;		/* the caller's, for messages */
	uint64_t off;
	size_t len;
};

struct xfer_pipe {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t writer;
	unsigned char *bufs;		/* PIPE_SLOTS x PIPE_CHUNK */
	/* Queued writes: jobs[head] is the writer's (being written or next),
	 * then count - 1 more.  The caller fills slot (head + count) %
	 * PIPE_SLOTS, which the writer's step (head + 1, count - 1) leaves
	 * where it is. */
	struct pipe_job jobs[PIPE_SLOTS];
	unsigned int head, count;
	bool started;			/* bufs and writer made (pipe_start) */
	bool unusable;			/* they could not be: copy unpiped */
	bool stop;
	int error;			/* errno of the first failed write */
	char error_path[512];
	struct pipe_file files[PIPE_FILES];
	unsigned int nr_files;
};

const char *clone_refusal_str(enum clone_refusal r)
{
	switch (r) {
	case REFUSED_XDEV:		return "different filesystems (EXDEV)";
	case REFUSED_UNSUPPORTED:	return "filesystem cannot share extents (EOPNOTSUPP)";
	case REFUSED_INVALID:		return "range not aligned or not clonable (EINVAL)";
	case REFUSED_NR:		break;
	}
	return "?";
}

static int refusal_of(int e)
{
	switch (e) {
	case EXDEV:		return REFUSED_XDEV;
	case EOPNOTSUPP:
	case ENOTTY:		return REFUSED_UNSUPPORTED;
	case EINVAL:		return REFUSED_INVALID;
	}
	return -1;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

static unsigned char *copy_buffer(void)
{
	static unsigned char *buf;

	if (!buf)
		buf = malloc(COPY_CHUNK);
	return buf;
}

/* Write all of BUF at OFF: 0, or the errno. */
static int write_all(int fd, const unsigned char *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t w;

	while (done < len) {
		w = pwrite(fd, buf + done, len - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return EIO;
		done += (size_t)w;
	}
	return 0;
}

/*
 * Read N bytes at POS into BUF, through the O_DIRECT descriptor DFD when
 * >= 0 (the rest through FD should it read short or refuse).  0, or -1
 * with ERR set; *DIRECT says whether all of it came through DFD.
 */
static int read_chunk(const struct xfer_file *src, int dfd, unsigned char *buf,
		      size_t n, uint64_t pos, bool *direct, struct dmc_err *err)
{
	size_t got = 0;
	ssize_t r;
	int fd = dfd >= 0 ? dfd : src->fd;

	*direct = dfd >= 0;
	while (got < n) {
		r = pread(fd, buf + got, n - got, (off_t)(pos + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EINVAL && fd != src->fd) {
			fd = src->fd;
			*direct = false;
			continue;
		}
		if (r < 0)
			return dmc_err_errno(err, errno, "%s: read failed", src->path);
		if (r == 0)
			return dmc_err(err, DMC_ERR_CORRUPT,
				       "%s: ends inside a data block (truncated?)",
				       src->path);
		got += (size_t)r;
		if (got < n && fd != src->fd) {
			fd = src->fd;	/* a short direct read: the end is near */
			*direct = false;
		}
	}
	return 0;
}

static int copy_range(const struct xfer_file *src, uint64_t src_off,
		      const struct xfer_file *dst, uint64_t dst_off, uint64_t len,
		      bool skip_zeroes, struct xfer_stats *st, struct dmc_err *err)
{
	unsigned char *buf = copy_buffer();
	uint64_t done = 0;
	bool direct;
	size_t n;
	int e;

	if (!buf)
		return dmc_err_errno(err, ENOMEM, "%s", dst->path);
	while (done < len) {
		n = len - done > COPY_CHUNK ? COPY_CHUNK : (size_t)(len - done);
		if (read_chunk(src, -1, buf, n, src_off + done, &direct, err))
			return -1;
		if (!(skip_zeroes && all_zero(buf, n))) {
			e = write_all(dst->fd, buf, n, dst_off + done);
			if (e)
				return dmc_err_errno(err, e, "%s: write failed", dst->path);
		}
		done += n;
	}
	st->bytes_copied += len;
	st->copy_ranges++;
	return 0;
}

static void *pipe_writer(void *arg)
{
	struct xfer_pipe *p = arg;
	struct pipe_job job;
	unsigned char *buf;
	int e, failed;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->count && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->count)
			break;
		job = p->jobs[p->head];
		buf = p->bufs + (size_t)p->head * PIPE_CHUNK;
		failed = p->error;	/* after a failure the rest is dropped */
		pthread_mutex_unlock(&p->lock);
		e = 0;
		if (!failed) {
			e = write_all(job.fd, buf, job.len, job.off);
			/* A device that wants more alignment than 4 KiB:
			 * the page cache takes any. */
			if (e == EINVAL && job.fd != job.buffered_fd)
				e = write_all(job.buffered_fd, buf, job.len, job.off);
		}
		pthread_mutex_lock(&p->lock);
		if (e && !p->error) {
			p->error = e;
			snprintf(p->error_path, sizeof(p->error_path), "%s", job.path);
		}
		p->head = (p->head + 1) % PIPE_SLOTS;
		p->count--;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct xfer_pipe *xfer_pipe_new(struct dmc_err *err)
{
	struct xfer_pipe *p = calloc(1, sizeof(*p));

	if (!p) {
		if (err)
			dmc_err_errno(err, ENOMEM, "cannot allocate a copy pipe");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	return p;
}

/*
 * The buffers and the writer, made at the first copy (a merge that only
 * clones never needs them).  False when they cannot be had: the caller
 * then copies unpiped.
 */
static bool pipe_start(struct xfer_pipe *p)
{
	sigset_t all, old;
	void *bufs = NULL;

	if (p->started || p->unusable)
		return p->started;
	if (posix_memalign(&bufs, DIRECT_ALIGN, (size_t)PIPE_SLOTS * PIPE_CHUNK)) {
		p->unusable = true;
		return false;
	}
	p->bufs = bufs;
	/* Signals (a stop request) are the calling thread's to take. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->started = !pthread_create(&p->writer, NULL, pipe_writer, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!p->started) {
		free(p->bufs);
		p->bufs = NULL;
		p->unusable = true;
	}
	return p->started;
}

/* The pipe's first write error into ERR: -1, else 0. */
static int pipe_error(struct xfer_pipe *p, struct dmc_err *err)
{
	char path[sizeof(p->error_path)];
	int e;

	pthread_mutex_lock(&p->lock);
	e = p->error;
	memcpy(path, p->error_path, sizeof(path));
	pthread_mutex_unlock(&p->lock);
	return e ? dmc_err_errno(err, e, "%s: write failed", path) : 0;
}

int xfer_pipe_drain(struct xfer_pipe *p, struct dmc_err *err)
{
	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	while (p->count)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return pipe_error(p, err);
}

void xfer_pipe_free(struct xfer_pipe *p)
{
	unsigned int i;

	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->writer, NULL);
	}
	for (i = 0; i < p->nr_files; i++)
		if (p->files[i].dfd >= 0)
			close(p->files[i].dfd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->bufs);
	free(p);
}

/* A free buffer for the next write; NULL once a write has failed. */
static unsigned char *pipe_slot(struct xfer_pipe *p)
{
	unsigned char *buf = NULL;

	pthread_mutex_lock(&p->lock);
	while (p->count == PIPE_SLOTS && !p->error)
		pthread_cond_wait(&p->cond, &p->lock);
	if (!p->error)
		buf = p->bufs + (size_t)((p->head + p->count) % PIPE_SLOTS) * PIPE_CHUNK;
	pthread_mutex_unlock(&p->lock);
	return buf;
}

/* Queue the buffer pipe_slot() gave. */
static void pipe_queue(struct xfer_pipe *p, const struct pipe_job *job)
{
	pthread_mutex_lock(&p->lock);
	p->jobs[(p->head + p->count) % PIPE_SLOTS] = *job;
	p->count++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/*
 * What the pipe knows of FD (opened for writing or not), made on first
 * sight: an O_DIRECT descriptor of the same file, opened again through
 * /proc (its own open file description, so the caller's stays as it is),
 * or -1 where that fails (no /proc, a filesystem without O_DIRECT).
 */
static struct pipe_file *pipe_file(struct xfer_pipe *p, int fd, bool write)
{
	struct pipe_file *f;
	struct stat a, b;
	char name[40];
	unsigned int i;
	int acc;

	for (i = 0; i < p->nr_files; i++)
		if (p->files[i].fd == fd && p->files[i].write == write)
			return &p->files[i];
	if (p->nr_files == PIPE_FILES)
		return NULL;
	f = &p->files[p->nr_files++];
	f->fd = fd;
	f->write = write;
	f->data_from = f->data_end = 0;
	/* Never more access than the caller's descriptor has: opening again
	 * checks the file's mode, not how FD was opened. */
	acc = fcntl(fd, F_GETFL);
	if (acc < 0 || (acc & O_ACCMODE) == (write ? O_RDONLY : O_WRONLY)) {
		f->dfd = -1;
		return f;
	}
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	f->dfd = open(name, (write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (f->dfd >= 0 && (fstat(fd, &a) || fstat(f->dfd, &b) ||
			    a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
		close(f->dfd);
		f->dfd = -1;
	}
	return f;
}

/*
 * Where the data at POS in F's file ends: POS itself when POS is in a
 * hole; UINT64_MAX when the filesystem cannot tell or POS is past the end
 * (the read then finds out).
 */
static uint64_t data_end(struct pipe_file *f, uint64_t pos)
{
	off_t h;

	if (!f)
		return UINT64_MAX;
	if (pos >= f->data_from && pos < f->data_end)
		return f->data_end;
	h = lseek(f->fd, (off_t)pos, SEEK_HOLE);
	if (h < 0)
		return UINT64_MAX;
	if ((uint64_t)h > pos) {
		f->data_from = pos;
		f->data_end = (uint64_t)h;
	}
	return (uint64_t)h;
}

/* Where the hole at POS in F's file ends: the next data, else the end of
 * the file. */
static uint64_t hole_end(const struct pipe_file *f, uint64_t pos)
{
	off_t d = lseek(f->fd, (off_t)pos, SEEK_DATA);
	struct stat st;

	if (d >= 0)
		return (uint64_t)d;
	if (errno == ENXIO && !fstat(f->fd, &st))
		return (uint64_t)st.st_size;
	return pos;
}

static bool aligned(uint64_t a, uint64_t b, uint64_t c)
{
	return !((a | b | c) & (DIRECT_ALIGN - 1));
}

/* The copy path through a pipe: see extent_copy.h. */
static int pipe_copy(const struct xfer_file *src, uint64_t src_off,
		     const struct xfer_file *dst, uint64_t dst_off, uint64_t len,
		     const struct xfer_opts *o, struct dmc_err *err)
{
	struct xfer_pipe *p = o->pipe;
	struct pipe_file *sf = pipe_file(p, src->fd, false), *df = NULL;
	bool direct = len >= DIRECT_MIN && aligned(src_off, dst_off, len);
	struct pipe_job job = { .buffered_fd = dst->fd, .path = dst->path };
	uint64_t done = 0, pos, end, n;
	unsigned char *buf;
	bool chunk_direct, read_direct;

	if (direct) {
		df = pipe_file(p, dst->fd, true);
		direct = sf && df && sf->dfd >= 0 && df->dfd >= 0;
	}
	while (done < len) {
		pos = src_off + done;
		end = data_end(sf, pos);
		if (end == pos) {
			/* A hole in the source: a hole in the destination. */
			end = hole_end(sf, pos);
			n = end > pos ? end - pos : 0;
			if (n) {
				if (n > len - done)
					n = len - done;
				if (!o->skip_zeroes &&
				    xfer_zero_range(dst, dst_off + done, n, false, err))
					return -1;
				o->st->bytes_holes += n;
				done += n;
				continue;
			}
			end = UINT64_MAX;	/* cannot tell: read it */
		}
		n = len - done;
		if (n > PIPE_CHUNK)
			n = PIPE_CHUNK;
		if (n > end - pos)
			n = end - pos;
		buf = pipe_slot(p);
		if (!buf)
			return pipe_error(p, err);
		chunk_direct = direct && aligned(pos, n, dst_off + done);
		if (read_chunk(src, chunk_direct ? sf->dfd : -1, buf, (size_t)n, pos,
			       &read_direct, err))
			return -1;
		chunk_direct = chunk_direct && read_direct;
		if (!(o->skip_zeroes && all_zero(buf, (size_t)n))) {
			job.fd = chunk_direct ? df->dfd : dst->fd;
			job.off = dst_off + done;
			job.len = (size_t)n;
			pipe_queue(p, &job);
			if (chunk_direct)
				o->st->bytes_direct += n;
		}
		done += n;
	}
	o->st->bytes_copied += len;
	o->st->copy_ranges++;
	return 0;
}

int xfer_range(const struct xfer_file *src, uint64_t src_off,
	       const struct xfer_file *dst, uint64_t dst_off, uint64_t len,
	       const struct xfer_opts *o, struct dmc_err *err)
{
	struct xfer_stats *st = o->st;
	struct file_clone_range fcr;
	int why;

	if (!len)
		return 0;
	if (o->pipe && pipe_error(o->pipe, err))
		return -1;
	if (o->mode != XFER_COPY) {
		fcr.src_fd = src->fd;
		fcr.src_offset = src_off;
		fcr.src_length = len;
		fcr.dest_offset = dst_off;
		if (ioctl(dst->fd, FICLONERANGE, &fcr) == 0) {
			st->bytes_cloned += len;
			st->clone_calls++;
			return 0;
		}
		why = refusal_of(errno);
		if (why < 0)
			return dmc_err_errno(err, errno, "%s: cloning from %s failed",
					     dst->path, src->path);
		st->refusals[why]++;
		st->bytes_refused[why] += len;
		if (o->mode == XFER_CLONE)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: cannot clone from %s: %s (use --mode auto or copy)",
				       dst->path, src->path,
				       clone_refusal_str((enum clone_refusal)why));
	}
	if (o->pipe && pipe_start(o->pipe))
		return pipe_copy(src, src_off, dst, dst_off, len, o, err);
	return copy_range(src, src_off, dst, dst_off, len, o->skip_zeroes, st, err);
}

int xfer_zero_range(const struct xfer_file *f, uint64_t off, uint64_t len,
		    bool allow_fail, struct dmc_err *err)
{
	unsigned char *buf;
	uint64_t done;
	size_t want;

	if (!len)
		return 0;
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	if (allow_fail)
		return 0;
	if (errno != EOPNOTSUPP)
		return dmc_err_errno(err, errno, "%s: cannot punch a hole", f->path);
	buf = copy_buffer();
	if (!buf)
		return dmc_err_errno(err, ENOMEM, "%s", f->path);
	memset(buf, 0, COPY_CHUNK);
	for (done = 0; done < len; done += want) {
		want = len - done > COPY_CHUNK ? COPY_CHUNK : (size_t)(len - done);
		if (pwrite(f->fd, buf, want, (off_t)(off + done)) != (ssize_t)want)
			return dmc_err_errno(err, errno ? errno : EIO,
					     "%s: cannot write zeros", f->path);
	}
	return 0;
}
