// SPDX-License-Identifier: GPL-2.0
/* Block provider planning: see merge_plan.h. */
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
 * A run is extended a map word at a time where it can be, and a map byte at
 * a time where it cannot: 32 blocks (8 map bytes), or 4 (one byte), whose
 * states are all the same are checked with one comparison per layer
 * instead of a lookup per block and layer.  Long absent stretches and long
 * runs of data, the common case in large maps, cost next to nothing.
 */
#define SPAN_ALL(st, bytes) \
	(((uint64_t)(st) * 0x5555555555555555ULL) >> (64 - 8 * (bytes)))

/* States of blocks [b, b + 4 * BYTES) of MAP, b a multiple of 4 * BYTES:
 * block b + k in bits 2k and 2k + 1 (the map's own order, whatever the
 * host's). */
static uint64_t map_span(const uint8_t *map, uint64_t b, unsigned int bytes)
{
	const uint8_t *p = map + b / 4;
	uint64_t w = 0;
	unsigned int i;

	for (i = 0; i < bytes; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

/* Whether blocks [b, b + 4 * BYTES) all plan as KIND from SOURCE. */
static bool span_plans_as(const struct plan_source *src, unsigned int nr,
			  uint64_t b, unsigned int bytes, enum plan_kind kind,
			  int source)
{
	unsigned int i, above = kind == PLAN_ABSENT ? nr : (unsigned int)source;

	for (i = 0; i < above; i++)
		if (!src[i].map || map_span(src[i].map, b, bytes))
			return false;	/* not ABSENT (0) throughout */
	if (kind == PLAN_ABSENT)
		return true;
	if (!src[source].map)
		return kind == PLAN_DATA;
	return map_span(src[source].map, b, bytes) ==
	       SPAN_ALL(kind == PLAN_DATA ? DMC_BLOCK_DATA : DMC_BLOCK_ZERO, bytes);
}

bool plan_next_run(const struct plan_source *src, unsigned int nr,
		   uint64_t nr_blocks, uint64_t *pos, uint64_t max_count,
		   struct plan_run *run)
{
	uint64_t b = *pos, end = nr_blocks;
	int source, s;

	if (b >= nr_blocks)
		return false;
	if (max_count && max_count < nr_blocks - b)
		end = b + max_count;
	run->start = b;
	run->kind = plan_block(src, nr, b, &source);
	run->source = source;
	for (b++; b < end;) {
		if (!(b % 32) && end - b >= 32 &&
		    span_plans_as(src, nr, b, 8, run->kind, source)) {
			b += 32;
			continue;
		}
		if (!(b % 4) && end - b >= 4 &&
		    span_plans_as(src, nr, b, 1, run->kind, source)) {
			b += 4;
			continue;
		}
		if (plan_block(src, nr, b, &s) != run->kind || s != source)
			break;
		b++;
	}
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
