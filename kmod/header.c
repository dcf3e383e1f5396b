// SPDX-License-Identifier: GPL-2.0
/*
 * Layer header slots: the kernel's wrappers over the shared validator
 * (include/dm-chain/layer_verify.c: checksum, slot choice, field rules,
 * the same code chainctl runs), linkage rules, and building new slots.
 */
#include <linux/build_bug.h>
#include <linux/ctype.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "header.h"

static_assert(sizeof(struct dmc_header) == DMC_SLOT_SIZE);
static_assert(sizeof(struct dmc_journal) == 584);

u32 dmc_header_crc(const void *slot)
{
	return dmc_verify_slot_crc(slot);
}

int dmc_slot_check(const void *slot)
{
	switch (dmc_verify_slot(slot)) {
	case DMC_SLOT_OK:
		return 0;
	case DMC_SLOT_NO_MAGIC:
		return -ENODATA;
	default:
		return -EILSEQ;
	}
}

int dmc_header_pick(const void *slot0, const void *slot1)
{
	enum dmc_slot_verdict v0 = dmc_verify_slot(slot0);
	enum dmc_slot_verdict v1 = slot1 ? dmc_verify_slot(slot1) :
					   DMC_SLOT_NO_MAGIC;
	int cur;

	cur = dmc_verify_pick(v0, dmc_verify_slot_sequence(slot0),
			      v1, slot1 ? dmc_verify_slot_sequence(slot1) : 0);
	if (cur >= 0)
		return cur;
	if (v0 == DMC_SLOT_NO_MAGIC && v1 == DMC_SLOT_NO_MAGIC)
		return -ENODATA;
	return -EILSEQ;
}

int dmc_header_decode_max(const void *slot, u64 file_size, u64 max_bytes,
			  struct dmc_hdr *h, const char **why)
{
	enum dmc_verify_reason r;

	switch (dmc_verify_header(slot, file_size, max_bytes, h, &r)) {
	case DMC_VERIFY_OK:
		break;
	case DMC_VERIFY_UNSUPPORTED:
		*why = dmc_verify_reason_str(r);
		return -EOPNOTSUPP;
	default:
		*why = dmc_verify_reason_str(r);
		return -EINVAL;
	}
	if (h->state == DMC_STATE_MERGED_AWAY) {
		*why = "Layer was merged away into another layer";
		return -EINVAL;
	}
	return 0;
}

int dmc_header_decode(const void *slot, u64 file_size, struct dmc_hdr *h,
		      const char **why)
{
	return dmc_header_decode_max(slot, file_size, 0, h, why);
}

int dmc_map_check(const u8 *map, u64 first, u64 end, u64 *counts, u64 *bad)
{
	return dmc_verify_map(map, first, end, counts, bad) ? -EILSEQ : 0;
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

/*
 * The journal and its relink record go together: the incompat bit is set
 * exactly while an active journal has a record (format.h), and clearing
 * the journal clears both.
 */
int dmc_header_set_journal(void *slot, const struct dmc_journal_args *j)
{
	struct dmc_header *hd = slot;
	struct dmc_journal *d = &hd->journal;

	if ((j && strlen(j->top_path) >= DMC_JOURNAL_PATH_MAX) ||
	    (j && j->child_uuid && strlen(j->child_path) >= DMC_JOURNAL_PATH_MAX))
		return -ENAMETOOLONG;
	memset(d, 0, sizeof(*d));
	memset(&hd->relink, 0, sizeof(hd->relink));
	hd->incompat_features &= ~cpu_to_le32(DMC_INCOMPAT_JOURNAL_RELINK);
	if (!j)
		return 0;
	if (j->child_uuid) {
		hd->incompat_features |= cpu_to_le32(DMC_INCOMPAT_JOURNAL_RELINK);
		memcpy(hd->relink.child_uuid, j->child_uuid, DMC_UUID_SIZE);
		strscpy(hd->relink.child_path, j->child_path,
			DMC_JOURNAL_PATH_MAX);
	}
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

int dmc_header_set_parent(void *slot, const struct dmc_parent_args *pa)
{
	struct dmc_header *d = slot;

	if (strlen(pa->path) >= DMC_PATH_MAX)
		return -ENAMETOOLONG;
	if (pa->uuid) {
		d->parent_kind = cpu_to_le32(DMC_PARENT_LAYER);
		memcpy(d->parent_uuid, pa->uuid, DMC_UUID_SIZE);
		d->parent_generation = cpu_to_le64(pa->generation);
		d->parent_raw_size = 0;
	} else {
		d->parent_kind = cpu_to_le32(DMC_PARENT_RAW);
		memset(d->parent_uuid, 0, DMC_UUID_SIZE);
		d->parent_generation = 0;
		d->parent_raw_size = cpu_to_le64(pa->raw_size);
	}
	memset(d->parent_path, 0, DMC_PATH_MAX);
	strscpy(d->parent_path, pa->path, DMC_PATH_MAX);
	return 0;
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

/*
 * The length of @leaf up to the end of its default-name stem (without
 * ".dmc" and without a trailing "-<digits>"), and in *@suffix those
 * digits' value (0 when there are none or they overflow).
 */
static size_t leaf_stem(const char *leaf, unsigned int *suffix)
{
	const char *slash = strrchr(leaf, '/');
	size_t name = slash ? slash + 1 - leaf : 0;
	size_t stem = strlen(leaf);
	unsigned long long v = 0;
	size_t i, j;

	*suffix = 0;
	if (stem - name > 4 && !strcmp(leaf + stem - 4, ".dmc"))
		stem -= 4;
	/* Drop a "-<digits>" suffix left by an earlier snapshot. */
	i = stem;
	while (i > name && isdigit(leaf[i - 1]))
		i--;
	if (i < stem && i > name + 1 && leaf[i - 1] == '-') {
		for (j = i; j < stem && v <= UINT_MAX; j++)
			v = v * 10 + (leaf[j] - '0');
		if (v <= UINT_MAX)
			*suffix = v;
		stem = i - 1;
	}
	return stem;
}

unsigned int dmc_leaf_suffix(const char *leaf)
{
	unsigned int suffix;

	leaf_stem(leaf, &suffix);
	return suffix;
}

int dmc_leaf_name(const char *leaf, unsigned int n, char *out, size_t size)
{
	unsigned int suffix;
	size_t stem = leaf_stem(leaf, &suffix);
	int len;

	len = snprintf(out, size, "%.*s-%u.dmc", (int)stem, leaf, n);
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	return 0;
}
