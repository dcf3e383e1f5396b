// SPDX-License-Identifier: GPL-2.0
/*
 * The shared layer format validator, include/dm-chain/layer_verify.c,
 * compiled into libchain.  The kernel module compiles the same file; see
 * layer_verify.h.
 */
#include <dm-chain/layer_verify.c>
