/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `chainctl layer export`: a dm-chain chain written out as a qcow2 backing
 * chain of the same depth, one image per layer, each holding that layer's
 * own allocation (DATA as data clusters, ZERO as zero clusters that hide
 * the backing file, ABSENT left unallocated), cluster size = block size,
 * backing files named relative to their directory so that the images can
 * be moved together.  qemu-img creates and checks the images, qemu-io
 * writes them (docs/qcow2.md).
 */
#ifndef DMC_EXPORT_QCOW2_H
#define DMC_EXPORT_QCOW2_H

#include <signal.h>
#include <stdint.h>

#include "dmc_err.h"
#include "extent_copy.h"

struct export_request {
	const char *leaf;		/* the chain's top layer */
	const char *destdir;		/* the images go there as STEM.qcow2 */
	const volatile sig_atomic_t *stop;	/* see qtool_opts */
	/* Bytes of data written of the chain's total (merge_progress_fn's
	 * shape); NULL: none. */
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
};

struct export_image {
	char *layer;			/* as the chain opened it */
	char *image;			/* DESTDIR/STEM.qcow2 */
	uint64_t data_bytes, zero_bytes;
};

struct export_result {
	unsigned int nr;
	struct export_image *images;	/* [0] the base ... [nr - 1] the top */
	uint64_t virtual_size;
	uint32_t block_shift;
	uint64_t qemu_io_runs;		/* qemu-io processes started */
	struct xfer_stats xfer;		/* layer data into qemu-io's run files */
	double seconds;
};

/*
 * Export the chain ending at RQ->leaf (held with LOCK_SH throughout).
 * Nothing in DESTDIR is overwritten; on failure every image made is
 * removed.  Each image passes `qemu-img check`.  RES is filled in both
 * cases and freed with export_result_free().
 */
int export_qcow2_chain(const struct export_request *rq, struct export_result *res,
		       struct dmc_err *err);
void export_result_free(struct export_result *res);

#endif
