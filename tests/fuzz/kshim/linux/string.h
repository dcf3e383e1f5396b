/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tests/fuzz/kshim): see linux/types.h. */
#ifndef KSHIM_LINUX_STRING_H
#define KSHIM_LINUX_STRING_H
#include <string.h>
#include <strings.h>
#endif
