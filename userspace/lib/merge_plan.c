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

bool plan_next_run(const struct plan_source *src, unsigned int nr,
		   uint64_t nr_blocks, uint64_t *pos, uint64_t max_count,
		   struct plan_run *run)
{
	uint64_t b = *pos;
	int source, s;

	if (b >= nr_blocks)
		return false;
	run->start = b;
	run->kind = plan_block(src, nr, b, &source);
	run->source = source;
	for (b++; b < nr_blocks; b++) {
		if (max_count && b - run->start >= max_count)
			break;
		if (plan_block(src, nr, b, &s) != run->kind || s != source)
			break;
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
