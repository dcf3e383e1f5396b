// SPDX-License-Identifier: GPL-2.0
/* Header encode/decode/validate: see layer_header.h. */
#include <endian.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "crc32c.h"
#include "layer_header.h"

_Static_assert(sizeof(struct dmc_header) == DMC_SLOT_SIZE,
	       "struct dmc_header must fill one slot");
_Static_assert(sizeof(struct dmc_journal) == 584, "journal layout");
_Static_assert(offsetof(struct dmc_header, parent_path) == 152, "header layout");

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
	d.incompat_features = htole32(h->incompat_features);
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
	d.checksum = 0;
	d.checksum = htole32(crc32c(&d, sizeof(d)));
	memcpy(slot, &d, sizeof(d));
}

enum slot_status layer_header_decode(const void *slot, struct layer_header *h)
{
	struct dmc_header d;
	const struct dmc_journal *j = &d.journal;
	uint32_t want;

	memcpy(&d, slot, sizeof(d));
	if (le64toh(d.magic) != DMC_MAGIC)
		return SLOT_NO_MAGIC;
	want = le32toh(d.checksum);
	d.checksum = 0;
	if (crc32c(&d, sizeof(d)) != want)
		return SLOT_BAD_CHECKSUM;
	if (le32toh(d.version) != DMC_VERSION)
		return SLOT_BAD_VERSION;

	memset(h, 0, sizeof(*h));
	h->version = le32toh(d.version);
	h->sequence = le64toh(d.sequence);
	h->incompat_features = le32toh(d.incompat_features);
	h->compat_features = le32toh(d.compat_features);
	h->state = le32toh(d.state);
	h->block_shift = le32toh(d.block_shift);
	h->virtual_size = le64toh(d.virtual_size);
	h->generation = le64toh(d.generation);
	h->map_offset = le64toh(d.map_offset);
	h->map_length = le64toh(d.map_length);
	h->data_offset = le64toh(d.data_offset);
	memcpy(h->uuid, d.uuid, DMC_UUID_SIZE);
	h->parent_kind = le32toh(d.parent_kind);
	memcpy(h->parent_uuid, d.parent_uuid, DMC_UUID_SIZE);
	h->parent_generation = le64toh(d.parent_generation);
	h->parent_raw_size = le64toh(d.parent_raw_size);
	memcpy(h->merged_into_uuid, d.merged_into_uuid, DMC_UUID_SIZE);
	memcpy(h->parent_path, d.parent_path, DMC_PATH_MAX);
	h->journal.state = le32toh(j->state);
	h->journal.nr_sources = le32toh(j->nr_sources);
	h->journal.cursor = le64toh(j->cursor);
	h->journal.old_generation = le64toh(j->old_generation);
	h->journal.new_generation = le64toh(j->new_generation);
	memcpy(h->journal.bottom_uuid, j->bottom_uuid, DMC_UUID_SIZE);
	memcpy(h->journal.top_uuid, j->top_uuid, DMC_UUID_SIZE);
	h->journal.flags = le32toh(j->flags);
	memcpy(h->journal.top_path, j->top_path, DMC_JOURNAL_PATH_MAX);
	return SLOT_VALID;
}

#define WHY(...) do { snprintf(why, len, __VA_ARGS__); return -1; } while (0)

static int validate_journal(const struct layer_header *h, char *why, size_t len)
{
	const struct layer_journal *j = &h->journal;

	if (j->state == DMC_JOURNAL_NONE)
		return 0;
	if (j->state != DMC_JOURNAL_MERGING && j->state != DMC_JOURNAL_RETIRING)
		WHY("journal state %u unknown", j->state);
	if (j->nr_sources < 1)
		WHY("journal names no source layer");
	if (j->cursor > layer_header_nr_blocks(h))
		WHY("journal cursor %llu beyond the last block",
		    (unsigned long long)j->cursor);
	if (j->new_generation != j->old_generation + 1)
		WHY("journal generations %llu -> %llu are not consecutive",
		    (unsigned long long)j->old_generation,
		    (unsigned long long)j->new_generation);
	if (memchr(j->top_path, '\0', DMC_JOURNAL_PATH_MAX) == NULL ||
	    !j->top_path[0])
		WHY("journal top path is not a terminated string");
	if (uuid_is_zero(j->bottom_uuid) || uuid_is_zero(j->top_uuid))
		WHY("journal source uuid is zero");
	if (j->flags)
		WHY("journal flags 0x%x unknown", j->flags);
	return 0;
}

int layer_header_validate(const struct layer_header *h, char *why, size_t len)
{
	uint64_t nr_blocks, map_end, block = 1ULL << (h->block_shift & 63);

	if (h->incompat_features & ~DMC_KNOWN_INCOMPAT)
		WHY("unknown incompatible features 0x%x",
		    h->incompat_features & ~DMC_KNOWN_INCOMPAT);
	if (h->block_shift < DMC_MIN_BLOCK_SHIFT ||
	    h->block_shift > DMC_MAX_BLOCK_SHIFT)
		WHY("block size 2^%u out of range (4 KiB..2 MiB)", h->block_shift);
	if (h->virtual_size == 0 || h->virtual_size > DMC_MAX_VIRTUAL_SIZE ||
	    h->virtual_size % DMC_SECTOR_SIZE)
		WHY("virtual size %llu out of range or not a multiple of 512",
		    (unsigned long long)h->virtual_size);
	nr_blocks = layer_header_nr_blocks(h);
	if (h->map_offset != DMC_MAP_OFFSET)
		WHY("map offset %llu is not %u",
		    (unsigned long long)h->map_offset, DMC_MAP_OFFSET);
	if (h->map_length != dmc_map_length(nr_blocks))
		WHY("map length %llu does not fit %llu blocks",
		    (unsigned long long)h->map_length,
		    (unsigned long long)nr_blocks);
	map_end = h->map_offset + h->map_length;
	if (h->data_offset < map_end || h->data_offset % DMC_DATA_ALIGN ||
	    h->data_offset % block)
		WHY("data offset %llu overlaps the map or is misaligned",
		    (unsigned long long)h->data_offset);
	if (h->state != DMC_STATE_VALID && h->state != DMC_STATE_MERGED_AWAY)
		WHY("layer state %u unknown", h->state);
	if (uuid_is_zero(h->uuid))
		WHY("layer uuid is zero");
	if (memchr(h->parent_path, '\0', DMC_PATH_MAX) == NULL)
		WHY("parent path is not a terminated string");
	switch (h->parent_kind) {
	case DMC_PARENT_NONE:
		break;
	case DMC_PARENT_LAYER:
		if (uuid_is_zero(h->parent_uuid))
			WHY("parent uuid is zero");
		if (!h->parent_path[0])
			WHY("parent path is empty");
		break;
	case DMC_PARENT_RAW:
		if (!h->parent_path[0])
			WHY("parent path is empty");
		if (h->parent_raw_size != h->virtual_size)
			WHY("raw parent size %llu differs from virtual size",
			    (unsigned long long)h->parent_raw_size);
		break;
	default:
		WHY("parent kind %u unknown", h->parent_kind);
	}
	return validate_journal(h, why, len);
}

int layer_header_pick(enum slot_status st0, const struct layer_header *h0,
		      enum slot_status st1, const struct layer_header *h1)
{
	if (st0 == SLOT_VALID && st1 == SLOT_VALID)
		return h1->sequence > h0->sequence ? 1 : 0;
	if (st0 == SLOT_VALID)
		return 0;
	if (st1 == SLOT_VALID)
		return 1;
	return -1;
}
