// SPDX-License-Identifier: GPL-2.0
/*
 * Header encode/decode/validate: see layer_header.h.  Every rule is the
 * shared validator's (include/dm-chain/layer_verify.c), the code the
 * kernel module runs; this file converts to and from struct layer_header.
 */
#include <endian.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layer_header.h"


const char *slot_status_str(enum slot_status st)
{
	switch (st) {
	case SLOT_VALID:	return "valid";
	case SLOT_NO_MAGIC:	return "no magic";
	case SLOT_BAD_CHECKSUM:	return "bad checksum";
	case SLOT_BAD_VERSION:	return "unknown version";
	case SLOT_SHORT:	return "truncated";
	}
	return "?";
}

const char *layer_state_str(uint32_t state)
{
	switch (state) {
	case DMC_STATE_VALID:		return "valid";
	case DMC_STATE_MERGED_AWAY:	return "merged-away";
	}
	return "invalid";
}

const char *journal_state_str(uint32_t state)
{
	switch (state) {
	case DMC_JOURNAL_NONE:		return "none";
	case DMC_JOURNAL_MERGING:	return "merging";
	case DMC_JOURNAL_RETIRING:	return "retiring";
	}
	return "invalid";
}

const char *parent_kind_str(uint32_t kind)
{
	switch (kind) {
	case DMC_PARENT_NONE:	return "none";
	case DMC_PARENT_LAYER:	return "layer";
	case DMC_PARENT_RAW:	return "raw";
	}
	return "invalid";
}

bool uuid_is_zero(const uint8_t *uuid)
{
	unsigned int i;

	for (i = 0; i < DMC_UUID_SIZE; i++)
		if (uuid[i])
			return false;
	return true;
}

void layer_header_init(struct layer_header *h, uint64_t virtual_size,
		       uint32_t block_shift)
{
	uint64_t nr_blocks = dmc_nr_blocks(virtual_size, block_shift);

	memset(h, 0, sizeof(*h));
	h->version = DMC_VERSION;
	h->sequence = 1;
	h->state = DMC_STATE_VALID;
	h->block_shift = block_shift;
	h->virtual_size = virtual_size;
	h->generation = 1;
	h->map_offset = DMC_MAP_OFFSET;
	h->map_length = dmc_map_length(nr_blocks);
	h->data_offset = dmc_data_offset(h->map_offset + h->map_length,
					 block_shift);
	h->parent_kind = DMC_PARENT_NONE;
}

void layer_header_encode(const struct layer_header *h, void *slot)
{
	struct dmc_header d;
	const struct layer_journal *j = &h->journal;

	memset(&d, 0, sizeof(d));
	d.magic = htole64(DMC_MAGIC);
	d.version = htole32(h->version);
	d.sequence = htole64(h->sequence);
	d.incompat_features = htole32(h->incompat_features &
				      ~(DMC_INCOMPAT_JOURNAL_RELINK |
					DMC_INCOMPAT_JOURNAL_SWAP));
	d.compat_features = htole32(h->compat_features);
	d.state = htole32(h->state);
	d.block_shift = htole32(h->block_shift);
	d.virtual_size = htole64(h->virtual_size);
	d.generation = htole64(h->generation);
	d.map_offset = htole64(h->map_offset);
	d.map_length = htole64(h->map_length);
	d.data_offset = htole64(h->data_offset);
	memcpy(d.uuid, h->uuid, DMC_UUID_SIZE);
	d.parent_kind = htole32(h->parent_kind);
	memcpy(d.parent_uuid, h->parent_uuid, DMC_UUID_SIZE);
	d.parent_generation = htole64(h->parent_generation);
	d.parent_raw_size = htole64(h->parent_raw_size);
	memcpy(d.merged_into_uuid, h->merged_into_uuid, DMC_UUID_SIZE);
	strncpy(d.parent_path, h->parent_path, DMC_PATH_MAX);
	d.journal.state = htole32(j->state);
	d.journal.nr_sources = htole32(j->nr_sources);
	d.journal.cursor = htole64(j->cursor);
	d.journal.old_generation = htole64(j->old_generation);
	d.journal.new_generation = htole64(j->new_generation);
	memcpy(d.journal.bottom_uuid, j->bottom_uuid, DMC_UUID_SIZE);
	memcpy(d.journal.top_uuid, j->top_uuid, DMC_UUID_SIZE);
	d.journal.flags = htole32(j->flags);
	strncpy(d.journal.top_path, j->top_path, DMC_JOURNAL_PATH_MAX);
	if (j->state != DMC_JOURNAL_NONE && (j->flags & DMC_JOURNAL_F_SWAP)) {
		d.incompat_features |= htole32(DMC_INCOMPAT_JOURNAL_SWAP);
		strncpy(d.swap.target_path, j->swap_target_path,
			DMC_JOURNAL_PATH_MAX);
	}
	if (j->state != DMC_JOURNAL_NONE && !uuid_is_zero(j->relink_uuid)) {
		d.incompat_features |= htole32(DMC_INCOMPAT_JOURNAL_RELINK);
		memcpy(d.relink.child_uuid, j->relink_uuid, DMC_UUID_SIZE);
		strncpy(d.relink.child_path, j->relink_path,
			DMC_JOURNAL_PATH_MAX);
	}
	if (h->compat_features & DMC_COMPAT_EXTENT_LIST) {
		d.extent_list.offset = htole64(h->xlist.offset);
		d.extent_list.count = htole64(h->xlist.count);
		d.extent_list.generation = htole64(h->xlist.generation);
		memcpy(d.extent_list.uuid, h->xlist.uuid, DMC_UUID_SIZE);
		d.extent_list.checksum = htole32(h->xlist.checksum);
	}
	memcpy(slot, &d, sizeof(d));
	dmc_verify_seal(slot);
}

static enum slot_status slot_status_of(enum dmc_slot_verdict v)
{
	switch (v) {
	case DMC_SLOT_OK:		return SLOT_VALID;
	case DMC_SLOT_NO_MAGIC:		return SLOT_NO_MAGIC;
	case DMC_SLOT_BAD_CHECKSUM:	return SLOT_BAD_CHECKSUM;
	case DMC_SLOT_BAD_VERSION:	return SLOT_BAD_VERSION;
	}
	return SLOT_BAD_CHECKSUM;
}

/* The shared decoder's fields, plus what only chainctl keeps. */
static void from_shared(const struct dmc_hdr *dh, const struct dmc_header *d,
			struct layer_header *h)
{
	struct layer_journal *j = &h->journal;

	memset(h, 0, sizeof(*h));
	h->version = DMC_VERSION;
	h->sequence = dh->sequence;
	h->incompat_features = dh->incompat_features;
	h->compat_features = dh->compat_features;
	h->state = dh->state;
	h->block_shift = dh->block_shift;
	h->virtual_size = dh->virtual_size;
	h->generation = dh->generation;
	h->map_offset = dh->map_offset;
	h->map_length = dh->map_length;
	h->data_offset = dh->data_offset;
	memcpy(h->uuid, dh->uuid, DMC_UUID_SIZE);
	h->parent_kind = dh->parent_kind;
	memcpy(h->parent_uuid, dh->parent_uuid, DMC_UUID_SIZE);
	h->parent_generation = dh->parent_generation;
	h->parent_raw_size = dh->parent_raw_size;
	memcpy(h->merged_into_uuid, dh->merged_into_uuid, DMC_UUID_SIZE);
	memcpy(h->parent_path, d->parent_path, DMC_PATH_MAX);
	j->state = dh->j_state;
	j->nr_sources = dh->j_nr_sources;
	j->cursor = dh->j_cursor;
	j->old_generation = dh->j_old_generation;
	j->new_generation = dh->j_new_generation;
	memcpy(j->bottom_uuid, dh->j_bottom_uuid, DMC_UUID_SIZE);
	memcpy(j->top_uuid, dh->j_top_uuid, DMC_UUID_SIZE);
	j->flags = le32toh(d->journal.flags);
	memcpy(j->top_path, d->journal.top_path, DMC_JOURNAL_PATH_MAX);
	if (dmc_hdr_has_swap(dh))
		memcpy(j->swap_target_path, d->swap.target_path,
		       DMC_JOURNAL_PATH_MAX);
	if (dmc_hdr_has_relink(dh)) {
		memcpy(j->relink_uuid, dh->j_relink_uuid, DMC_UUID_SIZE);
		memcpy(j->relink_path, d->relink.child_path,
		       DMC_JOURNAL_PATH_MAX);
	}
	h->xlist.offset = dh->x_offset;
	h->xlist.count = dh->x_count;
	h->xlist.generation = dh->x_generation;
	memcpy(h->xlist.uuid, dh->x_uuid, DMC_UUID_SIZE);
	h->xlist.checksum = dh->x_checksum;
}

enum slot_status layer_header_decode(const void *slot, struct layer_header *h)
{
	enum dmc_verify_reason why;
	struct dmc_header d;
	struct dmc_hdr dh;
	enum slot_status st;

	memcpy(&d, slot, sizeof(d));
	st = slot_status_of(dmc_verify_slot(&d));
	if (st != SLOT_VALID)
		return st;
	/* Decoding only: the verdict on the fields is layer_header_check's. */
	(void)dmc_verify_header(&d, UINT64_MAX, 0, &dh, &why);
	from_shared(&dh, &d, h);
	return SLOT_VALID;
}

int layer_header_check(const void *slot, uint64_t file_size, uint64_t max_bytes,
		       enum dmc_verify_reason *reason, char *why, size_t len)
{
	struct dmc_hdr dh;
	int r;

	r = dmc_verify_header(slot, file_size, max_bytes, &dh, reason);
	if (r == DMC_VERIFY_OK)
		return 0;
	snprintf(why, len, "%s", dmc_verify_reason_str(*reason));
	return -1;
}

int layer_header_validate(const struct layer_header *h, char *why, size_t len)
{
	static unsigned char slot[DMC_SLOT_SIZE];
	enum dmc_verify_reason reason;

	layer_header_encode(h, slot);
	return layer_header_check(slot, UINT64_MAX, 0, &reason, why, len);
}

int layer_header_pick(enum slot_status st0, const struct layer_header *h0,
		      enum slot_status st1, const struct layer_header *h1)
{
	return dmc_verify_pick(st0 == SLOT_VALID ? DMC_SLOT_OK : DMC_SLOT_NO_MAGIC,
			       st0 == SLOT_VALID ? h0->sequence : 0,
			       st1 == SLOT_VALID ? DMC_SLOT_OK : DMC_SLOT_NO_MAGIC,
			       st1 == SLOT_VALID ? h1->sequence : 0);
}
