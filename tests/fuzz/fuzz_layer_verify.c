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
 * promises docs/format.md makes of it; a broken promise aborts.
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
out:
	free(buf);
	return 0;
}
