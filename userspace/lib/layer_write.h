/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Offline writes into a layer (a testing aid, `chainctl layer write`): whole
 * blocks of data or zeros, with the layer's write-ordering rule (data
 * durable, then map, then header) and a generation bump, as a live
 * writable open of the layer would do.
 */
#ifndef DMC_LAYER_WRITE_H
#define DMC_LAYER_WRITE_H

#include <stdint.h>

#include "dmc_err.h"

/*
 * Write LEN bytes of BUF (NULL: make the range read zero) at virtual
 * OFFSET of layer PATH.  OFFSET must be block aligned; LEN a multiple of
 * the block size or reaching the virtual size.
 */
int layer_write_range(const char *path, uint64_t offset, const void *buf,
		      uint64_t len, struct dmc_err *err);

#endif
