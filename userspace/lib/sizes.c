// SPDX-License-Identifier: GPL-2.0
/* Size parsing and formatting: see sizes.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "sizes.h"

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s)
		return -1;
	for (p = s; *p; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	case 'B': case '\0': break;
	default: return -1;
	}
	if (shift && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

char *format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else if (bytes % (1ULL << (10 * u)) == 0)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

char *format_duration(uint64_t secs, char *buf, size_t len)
{
	if (secs >= 3600)
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
			 secs / 3600, secs / 60 % 60, secs % 60);
	else
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, secs / 60, secs % 60);
	return buf;
}

uint64_t eta_seconds(uint64_t done, uint64_t total, double elapsed)
{
	double left;

	if (!done || done >= total)
		return 0;
	left = elapsed * (double)(total - done) / (double)done;
	return left > 359999.0 ? 359999 : (uint64_t)(left + 0.5);
}

char *format_rate_eta(uint64_t done, uint64_t total, uint64_t elapsed_ns,
		      char *buf, size_t len)
{
	double secs = (double)elapsed_ns / 1e9;
	char r[32], d[32];

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!done || !elapsed_ns)
		return buf;
	format_size((uint64_t)((double)done / secs), r, sizeof(r));
	snprintf(buf, len, "%s/s, %s left", r,
		 format_duration(eta_seconds(done, total, secs), d, sizeof(d)));
	return buf;
}
