/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tests/fuzz/kshim): kcalloc, kvcalloc and their frees over the C library. */
#ifndef KSHIM_LINUX_SLAB_H
#define KSHIM_LINUX_SLAB_H
#include <stdlib.h>
#define GFP_KERNEL 0
#define kcalloc(n, size, gfp) calloc((n), (size))
#define kfree(p) free(p)
#define kvcalloc(n, size, gfp) calloc((n), (size))
#define kvfree(p) free(p)
#endif
