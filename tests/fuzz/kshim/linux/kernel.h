/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tests/fuzz/kshim): see linux/types.h. */
#include <linux/types.h>
