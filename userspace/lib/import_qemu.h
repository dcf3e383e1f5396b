/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `chainctl layer import`: a backing chain of images qemu-img reads
 * (qcow2, vmdk, vhdx, raw, ...) into a dm-chain chain of the same depth,
 * one layer per image, each keeping that image's own allocation: what the
 * image holds is DATA, what it says is zero is ZERO (hiding the images
 * below, as in qcow2), what it leaves to its backing file is ABSENT.
 * qemu-img does all the reading (docs/qcow2.md).
 */
#ifndef DMC_IMPORT_QEMU_H
#define DMC_IMPORT_QEMU_H

#include <signal.h>
#include <stdint.h>

#include "dmc_err.h"

struct import_request {
	const char *source;		/* the top image */
	const char *destdir;		/* the layers go there as STEM.dmc */
	const char *format;		/* SOURCE's format; NULL: qemu-img probes */
	uint32_t block_shift;		/* 0: from the cluster size */
	const volatile sig_atomic_t *stop;	/* see qtool_opts */
	/* Bytes of data copied of the chain's total (merge_progress_fn's
	 * shape); NULL: none. */
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
};

struct import_layer {
	char *image;			/* as qemu-img names it */
	char *format;
	char *layer;			/* DESTDIR/STEM.dmc */
	uint64_t data_bytes, zero_bytes;
};

struct import_result {
	unsigned int nr;
	struct import_layer *layers;	/* [0] the base ... [nr - 1] the top */
	uint64_t virtual_size;
	uint32_t block_shift;
	uint64_t cluster_size;		/* the smallest the images report, or 0 */
	double seconds;
};

/*
 * Import RQ->source and its backing chain.  Nothing in DESTDIR is
 * overwritten; on failure every layer made is removed.  Each layer is
 * headerless (no reader takes it for a layer) until its data and map are
 * synced.  RES is filled in both cases and freed with import_result_free().
 */
int import_qemu_chain(const struct import_request *rq, struct import_result *res,
		      struct dmc_err *err);
void import_result_free(struct import_result *res);

#endif
