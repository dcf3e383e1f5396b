// SPDX-License-Identifier: GPL-2.0
/* Opening layer files and writing their headers and maps: see layer_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "layer_file.h"

void uuid_to_str(const uint8_t *uuid, char out[37])
{
	uuid_unparse_lower(uuid, out);
}

int fsync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)(done == len ? 0 : 1);	/* 1: short (EOF) */
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done,
			   (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * The largest file the filesystem holding FD can address, our s_maxbytes:
 * from FILESIZEBITS (signed bits), else off_t's limit.
 */
static uint64_t max_file_bytes(int fd)
{
	long bits = fpathconf(fd, _PC_FILESIZEBITS);

	if (bits > 1 && bits < 64)
		return (1ULL << (bits - 1)) - 1;
	return (uint64_t)INT64_MAX;
}

int layer_pread(const struct layer *l, void *buf, size_t len, uint64_t off)
{
	return pread_full(l->fd, buf, len, off);
}

int layer_pwrite(const struct layer *l, const void *buf, size_t len,
		 uint64_t off)
{
	return pwrite_full(l->fd, buf, len, off);
}

uint64_t layer_max_bytes(const struct layer *l)
{
	return max_file_bytes(l->fd);
}

/* Read both slots and pick the current one; sets is_raw when no magic. */
static int read_header(struct layer *l, struct dmc_err *err)
{
	static unsigned char buf[DMC_SLOT_SIZE * DMC_NR_SLOTS];
	struct layer_header h[DMC_NR_SLOTS];
	enum dmc_verify_reason reason;
	unsigned int i;
	char why[256];
	int r, cur;

	if (l->declared_raw) {
		l->is_raw = true;	/* the guest's bytes: not read */
		l->cur_slot = -1;
		return 0;
	}
	memset(buf, 0, sizeof(buf));
	r = pread_full(l->fd, buf, sizeof(buf), 0);
	if (r < 0)
		return dmc_err_errno(err, errno, "%s: cannot read header", l->path);
	for (i = 0; i < DMC_NR_SLOTS; i++) {
		if (l->file_size < (i + 1) * (uint64_t)DMC_SLOT_SIZE)
			l->slot_status[i] = SLOT_SHORT;
		else
			l->slot_status[i] = layer_header_decode(buf + i * DMC_SLOT_SIZE,
								&h[i]);
	}
	/* No magic anywhere (or too short for a header): a raw image. */
	if ((l->slot_status[0] == SLOT_NO_MAGIC || l->slot_status[0] == SLOT_SHORT) &&
	    (l->slot_status[1] == SLOT_NO_MAGIC || l->slot_status[1] == SLOT_SHORT) &&
	    memcmp(buf, "DCHAIN1", 7) != 0 &&
	    memcmp(buf + DMC_SLOT_SIZE, "DCHAIN1", 7) != 0) {
		l->is_raw = true;
		l->cur_slot = -1;
		return 0;
	}
	l->is_raw = false;
	cur = layer_header_pick(l->slot_status[0], &h[0], l->slot_status[1], &h[1]);
	if (cur < 0)
		return dmc_err(err, DMC_ERR_CORRUPT,
			       "%s: no valid header (slot 0: %s, slot 1: %s)",
			       l->path, slot_status_str(l->slot_status[0]),
			       slot_status_str(l->slot_status[1]));
	l->cur_slot = cur;
	l->hdr = h[cur];
	if (layer_header_check(buf + cur * DMC_SLOT_SIZE, l->file_size,
			       max_file_bytes(l->fd), &reason, why, sizeof(why))) {
		if (reason == DMC_WHY_TRUNCATED || reason == DMC_WHY_SHORT_MAP)
			return dmc_err(err, DMC_ERR_CORRUPT,
				       "%s: truncated: %llu bytes, the layout needs %llu",
				       l->path, (unsigned long long)l->file_size,
				       (unsigned long long)(l->hdr.data_offset +
				       (layer_header_nr_blocks(&l->hdr) << l->hdr.block_shift)));
		return dmc_err(err, DMC_ERR_CORRUPT, "%s: bad header: %s",
			       l->path, why);
	}
	return 0;
}

int layer_lock(struct layer *l, bool exclusive, struct dmc_err *err)
{
	if (flock(l->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return dmc_err(err, DMC_ERR_BUSY,
			       "%s: in use (locked by a live chain device or another chainctl)",
			       l->path);
	return dmc_err_errno(err, errno, "%s: cannot lock", l->path);
}

static int stat_layer(struct layer *l, struct dmc_err *err)
{
	struct stat st;

	if (fstat(l->fd, &st))
		return dmc_err_errno(err, errno, "%s: cannot stat", l->path);
	if (!S_ISREG(st.st_mode))
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: not a regular file (%s): a layer or image must be one",
			       l->path, S_ISFIFO(st.st_mode) ? "a FIFO" :
			       S_ISDIR(st.st_mode) ? "a directory" :
			       S_ISBLK(st.st_mode) ? "a block device" :
			       S_ISCHR(st.st_mode) ? "a character device" :
			       S_ISSOCK(st.st_mode) ? "a socket" : "not a file");
	l->file_size = (uint64_t)st.st_size;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

/*
 * Open without blocking: a FIFO or a device would block open() (a FIFO
 * until a writer comes).  stat_layer() then refuses what is not a regular
 * file, and end_nonblock() clears O_NONBLOCK for the I/O.
 */
static int open_nonblock(const char *path, bool writable)
{
	return open(path, (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC);
}

static int end_nonblock(struct layer *l, struct dmc_err *err)
{
	int fl = fcntl(l->fd, F_GETFL);

	if (fl < 0 || fcntl(l->fd, F_SETFL, fl & ~O_NONBLOCK))
		return dmc_err_errno(err, errno, "%s: cannot open", l->path);
	return 0;
}

int layer_open(const char *path, unsigned int flags, struct layer **out,
	       struct dmc_err *err)
{
	struct layer *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l || !(l->path = strdup(path))) {
		free(l);
		return dmc_err_errno(err, ENOMEM, "%s", path);
	}
	l->writable = flags & LAYER_RDWR;
	l->declared_raw = flags & LAYER_RAW;
	l->fd = open_nonblock(path, l->writable);
	if (l->fd < 0) {
		dmc_err_errno(err, errno, "%s: cannot open%s", path,
			      l->writable ? " for writing" : "");
		goto fail;
	}
	if (stat_layer(l, err) || end_nonblock(l, err))
		goto fail;
	if ((flags & (LAYER_LOCK_SH | LAYER_LOCK_EX)) &&
	    layer_lock(l, flags & LAYER_LOCK_EX, err))
		goto fail;
	if (read_header(l, err))
		goto fail;
	if ((flags & LAYER_LOAD_MAP) && !l->is_raw && layer_load_map(l, err))
		goto fail;
	*out = l;
	return 0;
fail:
	layer_close(l);
	return -1;
}

const char *layer_raw_look(const struct layer *l)
{
	static unsigned char buf[DMC_SLOT_SIZE * DMC_NR_SLOTS];
	struct layer_header h;
	bool magic = false;
	unsigned int i;

	memset(buf, 0, sizeof(buf));
	if (pread_full(l->fd, buf, sizeof(buf), 0) < 0)
		return "cannot read its first bytes";
	for (i = 0; i < DMC_NR_SLOTS; i++) {
		if (layer_header_decode(buf + i * DMC_SLOT_SIZE, &h) == SLOT_VALID)
			return "bytes look like a dm-chain header; as this is a raw image, its guest wrote them (not trusted)";
		if (!memcmp(buf + i * DMC_SLOT_SIZE, "DCHAIN1", 7))
			magic = true;
	}
	return magic ? "bytes look like a damaged dm-chain header; as this is a raw image, its guest wrote them (not trusted)" :
		       "no dm-chain header";
}

void layer_close(struct layer *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->map);
	free(l->path);
	free(l);
}

int layer_make_writable(struct layer *l, struct dmc_err *err)
{
	struct layer_header old = l->hdr;
	bool was_raw = l->is_raw;
	struct stat st;
	int fd;

	if (l->writable)
		return layer_lock(l, true, err);
	fd = open_nonblock(l->path, true);
	if (fd < 0)
		return dmc_err_errno(err, errno, "%s: cannot open for writing",
				     l->path);
	if (fstat(fd, &st) || st.st_dev != l->dev || st.st_ino != l->ino) {
		close(fd);
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: replaced by another file while opening", l->path);
	}
	close(l->fd);
	l->fd = fd;
	l->writable = true;
	if (stat_layer(l, err) || end_nonblock(l, err) || layer_lock(l, true, err) ||
	    read_header(l, err))
		return -1;
	if (l->is_raw != was_raw ||
	    (!l->is_raw && old.sequence != l->hdr.sequence))
		return dmc_err(err, DMC_ERR_BUSY,
			       "%s: changed while opening; try again", l->path);
	return 0;
}

int layer_load_map(struct layer *l, struct dmc_err *err)
{
	__u64 bad;
	int r;

	if (l->map)
		return 0;
	l->map = malloc(l->hdr.map_length);
	if (!l->map)
		return dmc_err_errno(err, ENOMEM, "%s: map", l->path);
	r = pread_full(l->fd, l->map, l->hdr.map_length, l->hdr.map_offset);
	if (r < 0)
		return dmc_err_errno(err, errno, "%s: cannot read map", l->path);
	if (r > 0)
		return dmc_err(err, DMC_ERR_CORRUPT, "%s: truncated inside the map",
			       l->path);
	/* Value 3 is no state: a reader that took it for "absent" would
	 * drop the block (a merge would lose it).  Same rule as the kernel. */
	if (dmc_verify_map(l->map, 0, layer_header_nr_blocks(&l->hdr), NULL, &bad))
		return dmc_err(err, DMC_ERR_CORRUPT,
			       "%s: corrupt block map: block %llu has the invalid entry 3",
			       l->path, (unsigned long long)bad);
	return 0;
}

uint8_t *layer_read_disk_map(struct layer *l, struct dmc_err *err)
{
	uint8_t *disk = malloc(l->hdr.map_length);
	int r;

	if (!disk) {
		dmc_err_errno(err, ENOMEM, "%s: map", l->path);
		return NULL;
	}
	r = pread_full(l->fd, disk, l->hdr.map_length, l->hdr.map_offset);
	if (r) {
		dmc_err_errno(err, r < 0 ? errno : EIO,
			      "%s: cannot read back the map", l->path);
		free(disk);
		return NULL;
	}
	return disk;
}

int layer_write_map(struct layer *l, uint64_t first, uint64_t count,
		    struct dmc_err *err)
{
	uint64_t start, end;

	if (!count)
		return 0;
	start = first / DMC_BLOCKS_PER_MAP_BYTE / DMC_SLOT_SIZE * DMC_SLOT_SIZE;
	end = (first + count + DMC_BLOCKS_PER_MAP_BYTE - 1) / DMC_BLOCKS_PER_MAP_BYTE;
	end = (end + DMC_SLOT_SIZE - 1) / DMC_SLOT_SIZE * DMC_SLOT_SIZE;
	if (end > l->hdr.map_length)
		end = l->hdr.map_length;
	if (pwrite_full(l->fd, l->map + start, end - start,
			l->hdr.map_offset + start))
		return dmc_err_errno(err, errno, "%s: cannot write map", l->path);
	return 0;
}

int layer_commit_blocks(struct layer *l, uint64_t first, uint64_t count,
			struct dmc_err *err)
{
	if (fdatasync(l->fd))
		return dmc_err_errno(err, errno, "%s: cannot sync data", l->path);
	if (l->is_raw || !count)
		return 0;
	if (layer_write_map(l, first, count, err))
		return -1;
	if (fdatasync(l->fd))
		return dmc_err_errno(err, errno, "%s: cannot sync map", l->path);
	return 0;
}

int layer_write_header(struct layer *l, const struct layer_header *h,
		       struct dmc_err *err)
{
	static unsigned char slot[DMC_SLOT_SIZE];
	struct layer_header next = *h;
	int target = l->cur_slot ^ 1;

	next.sequence = l->hdr.sequence + 1;
	layer_header_encode(&next, slot);
	if (pwrite_full(l->fd, slot, sizeof(slot),
			(uint64_t)target * DMC_SLOT_SIZE))
		return dmc_err_errno(err, errno, "%s: cannot write header", l->path);
	if (fdatasync(l->fd))
		return dmc_err_errno(err, errno, "%s: cannot sync header", l->path);
	l->hdr = next;
	l->cur_slot = target;
	l->slot_status[target] = SLOT_VALID;
	return 0;
}
