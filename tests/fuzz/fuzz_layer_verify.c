// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the shared layer-file validator
 * (include/dm-chain/layer_verify.c), the code both the kernel module and
 * chainctl run on every byte a layer file holds before trusting it.
 *
 * Input: the first bytes of a layer file (the two header slots and, when
 * present, the block map), followed by 16 bytes: the file's size and the
 * caller's max_bytes, little-endian u64s.  Besides "no crash, no
 * sanitizer report", every header the validator accepts must keep the
 * promises docs/format.md makes of it, and so must the extent list's
 * place and records it accepts; a broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dm-chain/layer_verify.h>

#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

static __u64 le64(const uint8_t *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* What an accepted header promises (docs/format.md, "Layout"). */
static void check_promises(const struct dmc_hdr *h, __u64 file_size,
			   __u64 max_bytes)
{
	__u64 limit = INT64_MAX, block, data_bytes, map_bytes;

	if (max_bytes && max_bytes < limit)
		limit = max_bytes;
	PROMISE(h->block_shift >= 9 && h->block_shift < 63);
	block = 1ULL << h->block_shift;
	PROMISE(h->virtual_size % 512 == 0 && h->virtual_size <= 1ULL << 50);
	PROMISE(h->nr_blocks == (h->virtual_size + block - 1) >> h->block_shift);
	map_bytes = (h->nr_blocks + 3) / 4;
	PROMISE(h->map_length == (map_bytes + DMC_SLOT_SIZE - 1) /
		DMC_SLOT_SIZE * DMC_SLOT_SIZE);
	PROMISE(h->map_offset <= limit && h->map_length <= limit - h->map_offset);
	PROMISE(h->map_offset + h->map_length <= file_size);
	PROMISE(h->data_offset >= h->map_offset + h->map_length);
	PROMISE(h->data_offset % (1U << 20) == 0 && h->data_offset % block == 0);
	PROMISE(h->nr_blocks <= (limit >> h->block_shift));
	data_bytes = h->nr_blocks << h->block_shift;
	PROMISE(h->data_offset <= limit && data_bytes <= limit - h->data_offset);
	PROMISE(h->data_offset + data_bytes <= file_size);
}

/*
 * The extent list: where the header puts it, records taken from the bytes
 * after the header slots (a list's own bytes are past the data area, out
 * of a fuzz input's reach), and, when the map is whole in the input, the
 * list a writer makes of it must pass the reader's rules.
 */
static void check_extent_list(const struct dmc_hdr *h, const uint8_t *buf,
			      size_t len, __u64 file_size, __u64 max_bytes)
{
	enum dmc_verify_reason why;
	struct dmc_extent_walk w;
	struct dmc_hdr lh = *h;
	__u64 limit = INT64_MAX, data_end, n, i, bad, prev_end = 0;
	__u64 first, length, pos = 0;
	__u32 state;
	uint8_t rec[DMC_EXTENT_SIZE];
	int v, r;

	if (max_bytes && max_bytes < limit)
		limit = max_bytes;
	data_end = h->data_offset + (h->nr_blocks << h->block_shift);
	v = dmc_verify_extent_list_place(h, file_size, max_bytes, &why);
	PROMISE(v >= DMC_XLIST_NONE && v <= DMC_XLIST_CURRENT);
	PROMISE((v == DMC_XLIST_BAD) == (why == DMC_WHY_XLIST_PLACE));
	if (v == DMC_XLIST_CURRENT) {
		PROMISE(h->x_offset % DMC_SLOT_SIZE == 0 && h->x_offset >= data_end);
		PROMISE(h->x_count <= h->nr_blocks);
		PROMISE(h->x_offset <= file_size &&
			h->x_count * DMC_EXTENT_SIZE <= file_size - h->x_offset);
		PROMISE(h->x_offset <= limit &&
			h->x_count * DMC_EXTENT_SIZE <= limit - h->x_offset);
	}
	if (len <= 2 * DMC_SLOT_SIZE)
		return;
	n = (len - 2 * DMC_SLOT_SIZE) / DMC_EXTENT_SIZE;
	dmc_extent_walk_begin(&w, &lh);
	r = dmc_extent_walk_feed(&w, buf + 2 * DMC_SLOT_SIZE, n, &bad, &why);
	PROMISE(r == DMC_VERIFY_OK || (why == DMC_WHY_XLIST_RECORD && bad < n));
	for (i = 0; i < (r ? bad : n); i++) {
		dmc_extent_get(buf + 2 * DMC_SLOT_SIZE + i * DMC_EXTENT_SIZE,
			       &first, &length, &state);
		PROMISE(first >= prev_end && length &&
			first + length <= h->nr_blocks &&
			(state == DMC_BLOCK_DATA || state == DMC_BLOCK_ZERO));
		prev_end = first + length;
	}
	if (h->map_offset > len || h->map_length > len - h->map_offset ||
	    dmc_verify_map(buf + h->map_offset, 0, h->nr_blocks, NULL, &bad))
		return;
	dmc_extent_walk_begin(&w, &lh);
	n = 0;
	while (dmc_map_next_run(buf + h->map_offset, h->nr_blocks, &pos,
				&first, &length, &state)) {
		dmc_extent_put(rec, first, length, state);
		PROMISE(dmc_extent_walk_feed(&w, rec, 1, &bad, &why) == DMC_VERIFY_OK);
		n++;
	}
	lh.x_count = n;
	lh.x_checksum = ~w.crc;
	PROMISE(dmc_extent_walk_end(&w, &lh, &why) == DMC_VERIFY_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dmc_verify_reason why = DMC_WHY_NONE;
	__u64 file_size, max_bytes, counts[4] = { 0 }, bad = 0;
	struct dmc_hdr h;
	uint8_t *buf;
	size_t len;
	int slot = -1, ret;

	if (size < 16)
		return 0;
	len = size - 16;
	file_size = le64(data + len);
	max_bytes = le64(data + len + 8);

	/* An exact-size copy, so a read past the end is an ASan report. */
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, len);

	ret = dmc_verify_layer(buf, len, file_size, max_bytes, &h, &slot, &why);
	PROMISE(ret >= DMC_VERIFY_OK && ret <= DMC_VERIFY_CORRUPT);
	PROMISE(dmc_verify_reason_str(why) != NULL);
	if (ret != DMC_VERIFY_OK) {
		PROMISE(why != DMC_WHY_NONE && why < DMC_WHY_MAX);
		goto out;
	}
	PROMISE(slot == 0 || slot == 1);
#ifdef FUZZ_CANARY
	PROMISE(slot == 0);	/* planted: ./run expects this one found */
#endif
	check_promises(&h, file_size, max_bytes);

	/* The map, where this input holds it whole. */
	if (h.map_offset <= len && h.map_length <= len - h.map_offset) {
		const uint8_t *map = buf + h.map_offset;

		ret = dmc_verify_map(map, 0, h.nr_blocks, counts, &bad);
		PROMISE(ret == DMC_VERIFY_OK ||
			(ret == DMC_VERIFY_INVALID && bad < h.nr_blocks));
		if (ret == DMC_VERIFY_OK)
			PROMISE(counts[0] + counts[1] + counts[2] == h.nr_blocks &&
				counts[3] == 0);
		ret = dmc_verify_map_tail(map, h.map_length, h.nr_blocks, &bad);
		PROMISE(ret == DMC_VERIFY_OK ||
			(ret == DMC_VERIFY_INVALID && bad >= h.nr_blocks &&
			 bad < h.map_length * 4));
	}
	check_extent_list(&h, buf, len, file_size, max_bytes);
out:
	free(buf);
	return 0;
}
