/* SPDX-License-Identifier: GPL-2.0 */
/* Byte counts on the command line (K/M/G/T suffixes) and in reports. */
#ifndef DMC_SIZES_H
#define DMC_SIZES_H

#include <stddef.h>
#include <stdint.h>

/*
 * The one decimal-number parser for the command line and the files chainctl
 * reads: S is digits only (no sign, no spaces, no 0x, nothing after) and at
 * most MAX.  Returns 0 with *OUT set, or -1 (S NULL or empty, junk, > MAX).
 */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * Parse "123", "64K", "1M", "4G", "2T" (binary multiples; a trailing "iB"
 * or "B" is accepted, case-insensitive).  Returns 0, or -1 on junk or
 * overflow.
 */
int parse_size(const char *s, uint64_t *out);

/* "1.5 GiB", "64 KiB", "512 B" into BUF; returns BUF. */
char *format_size(uint64_t bytes, char *buf, size_t len);

/* SECONDS as "1:05" (minutes:seconds), "4:33:04" past an hour; BUF. */
char *format_duration(uint64_t seconds, char *buf, size_t len);

/*
 * Seconds left, rounded, for a job that did DONE (> 0) of TOTAL units in
 * ELAPSED seconds, at that average pace; 0 once done; at most 99:59:59.
 */
uint64_t eta_seconds(uint64_t done, uint64_t total, double elapsed);

/*
 * The rate and time left of a job that has done DONE of TOTAL bytes in
 * ELAPSED_NS: "120.5 MiB/s, 1:05 left" (minutes:seconds; hours:min:sec
 * past an hour); "" until there is a rate to tell (nothing done yet, or
 * no time passed).  Returns BUF.
 */
char *format_rate_eta(uint64_t done, uint64_t total, uint64_t elapsed_ns,
		      char *buf, size_t len);

#endif
