/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host shim (tests/fuzz/kshim): the kernel's isspace(), whose ctype table
 * is Latin-1: the C blanks 0x09..0x0d and 0x20, and also 0xa0 (no-break
 * space), unlike the C library's in the C locale.
 */
#ifndef KSHIM_LINUX_CTYPE_H
#define KSHIM_LINUX_CTYPE_H
static inline int kshim_isspace(int c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0;
}
#define isspace(c) kshim_isspace((unsigned char)(c))
#endif
