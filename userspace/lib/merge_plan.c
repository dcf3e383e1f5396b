// SPDX-License-Identifier: GPL-2.0
/* Block provider planning: see merge_plan.h. */
#include <endian.h>
#include <string.h>

#include <dm-chain/format.h>

#include "merge_plan.h"

enum plan_kind plan_block(const struct plan_source *src, unsigned int nr,
			  uint64_t b, int *source)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		unsigned int st;

		if (!src[i].map) {
			*source = (int)i;
			return PLAN_DATA;
		}
		st = dmc_map_get(src[i].map, b);
		if (st == DMC_BLOCK_DATA) {
			*source = (int)i;
			return PLAN_DATA;
		}
		if (st == DMC_BLOCK_ZERO) {
			*source = (int)i;
			return PLAN_ZERO;
		}
	}
	*source = -1;
	return PLAN_ABSENT;
}

/*
 * A run is extended a map word at a time: 32 blocks (8 map bytes) are
 * checked with a few operations per layer instead of a lookup per block
 * and layer, and the first block that plans differently is found with one
 * count of trailing zeros.  Long absent stretches and long runs of data,
 * the common case in large maps, cost next to nothing.
 */
#define GROUP_LOW	0x5555555555555555ULL	/* bit 0 of every 2-bit entry */
#define SPAN_ALL(st)	((uint64_t)(st) * GROUP_LOW)

/* States of the 32 blocks from BASE (a multiple of 32) of a map of
 * NR_BLOCKS: block BASE + k in bits 2k and 2k + 1 (the map's own order,
 * whatever the host's); entries past the map read as 0. */
static uint64_t map_word(const uint8_t *map, uint64_t nr_blocks, uint64_t base)
{
	const uint8_t *p = map + base / 4;
	uint64_t w = 0, left = (nr_blocks + 3) / 4 - base / 4;
	unsigned int i;

	if (left >= 8) {
		memcpy(&w, p, 8);
		return le64toh(w);
	}
	for (i = 0; i < left; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

/* Bit 2k set where entry k of W is not 0 (not ABSENT). */
static uint64_t entries_set(uint64_t w)
{
	return (w | (w >> 1)) & GROUP_LOW;
}

/* Of the 32 blocks from BASE, those that do not plan as KIND from SOURCE:
 * bit 2k for block BASE + k. */
static uint64_t plan_mismatch(const struct plan_source *src, unsigned int nr,
			      uint64_t nr_blocks, uint64_t base,
			      enum plan_kind kind, int source)
{
	unsigned int i, above = kind == PLAN_ABSENT ? nr : (unsigned int)source;
	uint64_t m = 0, w;

	for (i = 0; i < above; i++) {
		if (!src[i].map)
			return GROUP_LOW;	/* a raw layer has every block */
		m |= entries_set(map_word(src[i].map, nr_blocks, base));
	}
	if (kind != PLAN_ABSENT && src[source].map) {
		w = map_word(src[source].map, nr_blocks, base);
		m |= entries_set(w ^ SPAN_ALL(kind == PLAN_DATA ? DMC_BLOCK_DATA :
							      DMC_BLOCK_ZERO));
	}
	return m;
}

bool plan_next_run(const struct plan_source *src, unsigned int nr,
		   uint64_t nr_blocks, uint64_t *pos, uint64_t max_count,
		   struct plan_run *run)
{
	uint64_t b = *pos, end = nr_blocks, base, m;
	int source;

	if (b >= nr_blocks)
		return false;
	if (max_count && max_count < nr_blocks - b)
		end = b + max_count;
	run->start = b;
	run->kind = plan_block(src, nr, b, &source);
	run->source = source;
	for (b++; b < end; b = base + 32) {
		base = b & ~31ULL;
		m = plan_mismatch(src, nr, nr_blocks, base, run->kind, source) >>
		    (2 * (b - base));
		if (m) {
			b += (uint64_t)__builtin_ctzll(m) / 2;
			break;
		}
	}
	if (b > end)
		b = end;
	run->count = b - run->start;
	*pos = b;
	return true;
}

void plan_count(const struct plan_source *src, unsigned int nr,
		uint64_t nr_blocks, uint64_t from, struct plan_totals *t)
{
	struct plan_run run;
	uint64_t pos = from;

	memset(t, 0, sizeof(*t));
	while (plan_next_run(src, nr, nr_blocks, &pos, 0, &run)) {
		if (run.kind == PLAN_DATA) {
			t->data_blocks += run.count;
			t->data_runs++;
		} else if (run.kind == PLAN_ZERO) {
			t->zero_blocks += run.count;
			t->zero_runs++;
		}
	}
}
