// SPDX-License-Identifier: GPL-2.0
/*
 * Layer header slots: checksum, slot choice, validation and linkage rules
 * (the rules of docs/format.md; chainctl applies the same ones).
 */
#include <linux/build_bug.h>
#include <linux/ctype.h>
#include <linux/crc32c.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "header.h"

static_assert(sizeof(struct dmc_header) == DMC_SLOT_SIZE);
static_assert(sizeof(struct dmc_journal) == 584);

#define DMC_CHECKSUM_OFFSET	offsetof(struct dmc_header, checksum)

/* Incompatible features this version understands: none yet. */
#define DMC_INCOMPAT_SUPPORTED	0U

u32 dmc_header_crc(const void *slot)
{
	static const u8 zero[4];
	u32 crc = ~0U;

	crc = crc32c(crc, slot, DMC_CHECKSUM_OFFSET);
	crc = crc32c(crc, zero, sizeof(zero));
	crc = crc32c(crc, (const u8 *)slot + DMC_CHECKSUM_OFFSET + 4,
		     DMC_SLOT_SIZE - DMC_CHECKSUM_OFFSET - 4);
	return ~crc;
}

int dmc_slot_check(const void *slot)
{
	const struct dmc_header *h = slot;

	if (le64_to_cpu(h->magic) != DMC_MAGIC)
		return -ENODATA;
	if (le32_to_cpu(h->checksum) != dmc_header_crc(slot))
		return -EILSEQ;
	if (le32_to_cpu(h->version) != DMC_VERSION)
		return -EILSEQ;
	return 0;
}

int dmc_header_pick(const void *slot0, const void *slot1)
{
	int r0 = dmc_slot_check(slot0);
	int r1 = slot1 ? dmc_slot_check(slot1) : -ENODATA;
	u64 s0, s1;

	if (!r0 && !r1) {
		s0 = le64_to_cpu(((const struct dmc_header *)slot0)->sequence);
		s1 = le64_to_cpu(((const struct dmc_header *)slot1)->sequence);
		return s1 > s0 ? 1 : 0;
	}
	if (!r0)
		return 0;
	if (!r1)
		return 1;
	if (r0 == -ENODATA && r1 == -ENODATA)
		return -ENODATA;
	return -EILSEQ;
}

static bool uuid_is_zero(const u8 *uuid)
{
	return !memchr_inv(uuid, 0, DMC_UUID_SIZE);
}

int dmc_header_decode(const void *slot, u64 file_size, struct dmc_hdr *h,
		      const char **why)
{
	const struct dmc_header *d = slot;
	const struct dmc_journal *j = &d->journal;
	u64 map_end;

	memset(h, 0, sizeof(*h));
	h->sequence = le64_to_cpu(d->sequence);
	h->generation = le64_to_cpu(d->generation);
	h->virtual_size = le64_to_cpu(d->virtual_size);
	h->map_offset = le64_to_cpu(d->map_offset);
	h->map_length = le64_to_cpu(d->map_length);
	h->data_offset = le64_to_cpu(d->data_offset);
	h->parent_generation = le64_to_cpu(d->parent_generation);
	h->parent_raw_size = le64_to_cpu(d->parent_raw_size);
	h->incompat_features = le32_to_cpu(d->incompat_features);
	h->compat_features = le32_to_cpu(d->compat_features);
	h->state = le32_to_cpu(d->state);
	h->block_shift = le32_to_cpu(d->block_shift);
	h->parent_kind = le32_to_cpu(d->parent_kind);
	memcpy(h->uuid, d->uuid, DMC_UUID_SIZE);
	memcpy(h->parent_uuid, d->parent_uuid, DMC_UUID_SIZE);
	memcpy(h->merged_into_uuid, d->merged_into_uuid, DMC_UUID_SIZE);
	h->j_state = le32_to_cpu(j->state);
	h->j_nr_sources = le32_to_cpu(j->nr_sources);
	h->j_cursor = le64_to_cpu(j->cursor);
	h->j_old_generation = le64_to_cpu(j->old_generation);
	h->j_new_generation = le64_to_cpu(j->new_generation);
	memcpy(h->j_bottom_uuid, j->bottom_uuid, DMC_UUID_SIZE);
	memcpy(h->j_top_uuid, j->top_uuid, DMC_UUID_SIZE);

	if (h->incompat_features & ~DMC_INCOMPAT_SUPPORTED) {
		*why = "Layer uses unsupported incompatible features";
		return -EOPNOTSUPP;
	}
	if (h->state == DMC_STATE_MERGED_AWAY) {
		*why = "Layer was merged away into another layer";
		return -EINVAL;
	}
	if (h->state != DMC_STATE_VALID) {
		*why = "Layer header has an unknown state";
		return -EINVAL;
	}
	if (h->block_shift < DMC_MIN_BLOCK_SHIFT ||
	    h->block_shift > DMC_MAX_BLOCK_SHIFT) {
		*why = "Layer block size out of range (4 KiB .. 2 MiB)";
		return -EINVAL;
	}
	if (!h->virtual_size || h->virtual_size % DMC_SECTOR_SIZE ||
	    h->virtual_size > DMC_MAX_VIRTUAL_SIZE) {
		*why = "Layer virtual size is zero, unaligned or too large";
		return -EINVAL;
	}
	h->nr_blocks = dmc_nr_blocks(h->virtual_size, h->block_shift);
	if (h->map_offset != DMC_MAP_OFFSET ||
	    h->map_length != dmc_map_length(h->nr_blocks)) {
		*why = "Layer map offset or length does not match its size";
		return -EINVAL;
	}
	map_end = h->map_offset + h->map_length;
	if (h->data_offset < map_end || h->data_offset % DMC_DATA_ALIGN ||
	    h->data_offset & ((1ULL << h->block_shift) - 1)) {
		*why = "Layer data offset is misplaced or misaligned";
		return -EINVAL;
	}
	if (uuid_is_zero(h->uuid)) {
		*why = "Layer UUID is zero";
		return -EINVAL;
	}
	if (file_size < map_end) {
		*why = "Layer file is shorter than its block map";
		return -EINVAL;
	}
	switch (h->parent_kind) {
	case DMC_PARENT_NONE:
		break;
	case DMC_PARENT_LAYER:
		if (uuid_is_zero(h->parent_uuid)) {
			*why = "Layer names a parent layer with a zero UUID";
			return -EINVAL;
		}
		break;
	case DMC_PARENT_RAW:
		if (h->parent_raw_size != h->virtual_size) {
			*why = "Layer's raw parent size differs from its virtual size";
			return -EINVAL;
		}
		break;
	default:
		*why = "Layer header has an unknown parent kind";
		return -EINVAL;
	}
	if (h->parent_kind != DMC_PARENT_NONE && !d->parent_path[0]) {
		*why = "Layer's parent path hint is empty";
		return -EINVAL;
	}
	if (!memchr(d->parent_path, '\0', DMC_PATH_MAX) ||
	    !memchr(j->top_path, '\0', DMC_JOURNAL_PATH_MAX)) {
		*why = "Layer header path hint is not NUL terminated";
		return -EINVAL;
	}
	switch (h->j_state) {
	case DMC_JOURNAL_NONE:
		break;
	case DMC_JOURNAL_MERGING:
	case DMC_JOURNAL_RETIRING:
		if (!h->j_nr_sources || uuid_is_zero(h->j_bottom_uuid) ||
		    uuid_is_zero(h->j_top_uuid) || le32_to_cpu(j->flags) ||
		    h->j_cursor > h->nr_blocks || !j->top_path[0] ||
		    h->j_new_generation != h->j_old_generation + 1) {
			*why = "Layer merge journal is malformed";
			return -EINVAL;
		}
		break;
	default:
		*why = "Layer merge journal has an unknown state";
		return -EINVAL;
	}
	return 0;
}

bool dmc_hdr_journal_targets_raw_parent(const struct dmc_hdr *h)
{
	return dmc_hdr_journal_active(h) && h->parent_kind == DMC_PARENT_RAW &&
	       !memcmp(h->j_bottom_uuid, h->uuid, DMC_UUID_SIZE);
}

int dmc_link_check(const struct dmc_hdr *child, const struct dmc_hdr *parent,
		   u64 raw_size, const char **why)
{
	if (!parent) {
		if (child->parent_kind != DMC_PARENT_RAW) {
			*why = "Layer does not sit on a raw image";
			return -EINVAL;
		}
		if (child->parent_raw_size != raw_size) {
			*why = "Raw base size differs from the size its child recorded";
			return -EINVAL;
		}
		return 0;
	}
	if (child->parent_kind != DMC_PARENT_LAYER) {
		*why = child->parent_kind == DMC_PARENT_RAW ?
		       "Layer expects a raw image below, found a layer" :
		       "Layer is a base, but has a layer below it in the table";
		return -EINVAL;
	}
	if (memcmp(child->parent_uuid, parent->uuid, DMC_UUID_SIZE)) {
		*why = "Layer's parent UUID does not match the layer below";
		return -EINVAL;
	}
	if (child->block_shift != parent->block_shift) {
		*why = "Layer block size differs from its parent's";
		return -EINVAL;
	}
	if (child->virtual_size != parent->virtual_size) {
		*why = "Layer virtual size differs from its parent's";
		return -EINVAL;
	}
	if (dmc_hdr_journal_active(parent) &&
	    !dmc_hdr_journal_targets_raw_parent(parent)) {
		/* A merge into @parent is under way: only its bottom source,
		 * made from the parent's pre-merge generation, still fits.
		 */
		if (memcmp(child->uuid, parent->j_bottom_uuid, DMC_UUID_SIZE) ||
		    child->parent_generation != parent->j_old_generation) {
			*why = "Parent is being merged into and this layer is not the merge's source";
			return -EINVAL;
		}
		return 0;
	}
	if (child->parent_generation != parent->generation) {
		*why = "Parent generation changed since the layer was made (stale child)";
		return -EINVAL;
	}
	return 0;
}

void dmc_header_next(void *out, const void *cur, u64 sequence,
		     u64 generation)
{
	struct dmc_header *h = out;

	memcpy(out, cur, DMC_SLOT_SIZE);
	h->sequence = cpu_to_le64(sequence);
	h->generation = cpu_to_le64(generation);
	h->checksum = 0;
	h->checksum = cpu_to_le32(dmc_header_crc(out));
}

bool dmc_live_leap(const struct dmc_hdr *const *hdrs, unsigned int i)
{
	const struct dmc_hdr *c, *top;
	unsigned int j;

	if (i < 2)
		return false;
	c = hdrs[i];
	top = hdrs[i - 1];
	if (!c || !top || c->parent_kind != DMC_PARENT_LAYER)
		return false;
	for (j = 0; j + 1 < i; j++) {
		const struct dmc_hdr *t = hdrs[j];

		if (t && dmc_hdr_journal_active(t) &&
		    !dmc_hdr_journal_targets_raw_parent(t) &&
		    t->j_nr_sources == i - 1 - j &&
		    !memcmp(t->uuid, c->parent_uuid, DMC_UUID_SIZE) &&
		    !memcmp(t->j_top_uuid, top->uuid, DMC_UUID_SIZE) &&
		    c->parent_generation == t->j_new_generation &&
		    c->block_shift == t->block_shift &&
		    c->virtual_size == t->virtual_size)
			return true;
	}
	return false;
}

/* ---- building and editing slots ---- */

void dmc_header_seal(void *slot, u64 sequence)
{
	struct dmc_header *h = slot;

	h->sequence = cpu_to_le64(sequence);
	h->checksum = 0;
	h->checksum = cpu_to_le32(dmc_header_crc(slot));
}

u64 dmc_new_layer_size(u64 virtual_size, u32 block_shift)
{
	u64 nr = dmc_nr_blocks(virtual_size, block_shift);

	return dmc_data_offset(DMC_MAP_OFFSET + dmc_map_length(nr),
			       block_shift) + (nr << block_shift);
}

int dmc_header_build(void *slot, const struct dmc_new_layer *nl,
		     u64 sequence)
{
	struct dmc_header *d = slot;
	u64 nr = dmc_nr_blocks(nl->virtual_size, nl->block_shift);

	if (strlen(nl->parent_path) >= DMC_PATH_MAX)
		return -ENAMETOOLONG;
	memset(slot, 0, DMC_SLOT_SIZE);
	d->magic = cpu_to_le64(DMC_MAGIC);
	d->version = cpu_to_le32(DMC_VERSION);
	d->state = cpu_to_le32(DMC_STATE_VALID);
	d->block_shift = cpu_to_le32(nl->block_shift);
	d->virtual_size = cpu_to_le64(nl->virtual_size);
	d->generation = cpu_to_le64(1);
	d->map_offset = cpu_to_le64(DMC_MAP_OFFSET);
	d->map_length = cpu_to_le64(dmc_map_length(nr));
	d->data_offset = cpu_to_le64(dmc_data_offset(DMC_MAP_OFFSET +
						     dmc_map_length(nr),
						     nl->block_shift));
	memcpy(d->uuid, nl->uuid, DMC_UUID_SIZE);
	d->parent_kind = cpu_to_le32(DMC_PARENT_LAYER);
	memcpy(d->parent_uuid, nl->parent_uuid, DMC_UUID_SIZE);
	d->parent_generation = cpu_to_le64(nl->parent_generation);
	strscpy(d->parent_path, nl->parent_path, DMC_PATH_MAX);
	dmc_header_seal(slot, sequence);
	return 0;
}

int dmc_header_set_journal(void *slot, const struct dmc_journal_args *j)
{
	struct dmc_journal *d = &((struct dmc_header *)slot)->journal;

	memset(d, 0, sizeof(*d));
	if (!j)
		return 0;
	if (strlen(j->top_path) >= DMC_JOURNAL_PATH_MAX)
		return -ENAMETOOLONG;
	d->state = cpu_to_le32(j->state);
	d->nr_sources = cpu_to_le32(j->nr_sources);
	d->cursor = cpu_to_le64(j->cursor);
	d->old_generation = cpu_to_le64(j->old_generation);
	d->new_generation = cpu_to_le64(j->new_generation);
	memcpy(d->bottom_uuid, j->bottom_uuid, DMC_UUID_SIZE);
	memcpy(d->top_uuid, j->top_uuid, DMC_UUID_SIZE);
	strscpy(d->top_path, j->top_path, DMC_JOURNAL_PATH_MAX);
	return 0;
}

void dmc_header_set_generation(void *slot, u64 generation)
{
	((struct dmc_header *)slot)->generation = cpu_to_le64(generation);
}

void dmc_header_set_merged_away(void *slot, const u8 *into_uuid)
{
	struct dmc_header *d = slot;

	d->state = cpu_to_le32(DMC_STATE_MERGED_AWAY);
	memcpy(d->merged_into_uuid, into_uuid, DMC_UUID_SIZE);
}

int dmc_rel_path(const char *from, const char *to, char *out, size_t size)
{
	const char *fs = strrchr(from, '/'), *ts = strrchr(to, '/');
	const char *r = to;

	if (fs && ts && fs - from == ts - to && !strncmp(from, to, fs - from))
		r = ts + 1;
	if (strscpy(out, r, size) < 0)
		return -ENAMETOOLONG;
	return 0;
}

int dmc_leaf_name(const char *leaf, unsigned int n, char *out, size_t size)
{
	const char *slash = strrchr(leaf, '/');
	const char *name = slash ? slash + 1 : leaf;
	size_t stem = strlen(leaf);
	size_t i;
	int len;

	if (stem - (name - leaf) > 4 && !strcmp(leaf + stem - 4, ".dmc"))
		stem -= 4;
	/* Drop a "-<digits>" suffix left by an earlier snapshot. */
	i = stem;
	while (i > (size_t)(name - leaf) && isdigit(leaf[i - 1]))
		i--;
	if (i < stem && i > (size_t)(name - leaf) + 1 && leaf[i - 1] == '-')
		stem = i - 1;
	len = snprintf(out, size, "%.*s-%u.dmc", (int)stem, leaf, n);
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	return 0;
}
