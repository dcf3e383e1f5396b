// SPDX-License-Identifier: GPL-2.0
/*
 * The shared layer format validator, include/dm-chain/layer_verify.c,
 * compiled into the module (Kbuild builds only sources under kmod/).
 * chainctl compiles the same file; see layer_verify.h.
 */
#include <dm-chain/layer_verify.c>
