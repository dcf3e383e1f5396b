/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tests/fuzz/kshim): __stringify, as the kernel spells it. */
#ifndef KSHIM_LINUX_STRINGIFY_H
#define KSHIM_LINUX_STRINGIFY_H
#define __stringify_1(x...) #x
#define __stringify(x...) __stringify_1(x)
#endif
