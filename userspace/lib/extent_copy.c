// SPDX-License-Identifier: GPL-2.0
/* Clone-or-copy of byte ranges: see extent_copy.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "extent_copy.h"

#define COPY_CHUNK (4U << 20)

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

static int copy_range(const struct xfer_file *src, uint64_t src_off,
		      const struct xfer_file *dst, uint64_t dst_off, uint64_t len,
		      bool skip_zeroes, struct xfer_stats *st, struct dmc_err *err)
{
	unsigned char *buf = copy_buffer();
	uint64_t done = 0;
	ssize_t n, w;
	size_t want, wdone;

	if (!buf)
		return dmc_err_errno(err, ENOMEM, "%s", dst->path);
	while (done < len) {
		want = len - done > COPY_CHUNK ? COPY_CHUNK : (size_t)(len - done);
		n = pread(src->fd, buf, want, (off_t)(src_off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dmc_err_errno(err, errno, "%s: read failed", src->path);
		if (n == 0)
			return dmc_err(err, DMC_ERR_CORRUPT,
				       "%s: ends inside a data block (truncated?)",
				       src->path);
		if (!(skip_zeroes && all_zero(buf, (size_t)n))) {
			for (wdone = 0; wdone < (size_t)n; wdone += (size_t)w) {
				w = pwrite(dst->fd, buf + wdone, (size_t)n - wdone,
					   (off_t)(dst_off + done + wdone));
				if (w < 0 && errno == EINTR) {
					w = 0;
					continue;
				}
				if (w < 0)
					return dmc_err_errno(err, errno,
							     "%s: write failed", dst->path);
			}
		}
		done += (uint64_t)n;
	}
	st->bytes_copied += len;
	st->copy_ranges++;
	return 0;
}

int xfer_range(const struct xfer_file *src, uint64_t src_off,
	       const struct xfer_file *dst, uint64_t dst_off, uint64_t len,
	       enum xfer_mode mode, bool skip_zeroes, struct xfer_stats *st,
	       struct dmc_err *err)
{
	struct file_clone_range fcr;
	int why;

	if (!len)
		return 0;
	if (mode != XFER_COPY) {
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
		if (mode == XFER_CLONE)
			return dmc_err(err, DMC_ERR_USAGE,
				       "%s: cannot clone from %s: %s (use --mode auto or copy)",
				       dst->path, src->path,
				       clone_refusal_str((enum clone_refusal)why));
	}
	return copy_range(src, src_off, dst, dst_off, len, skip_zeroes, st, err);
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
