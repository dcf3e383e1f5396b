// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The shared layer format validator: see layer_verify.h.  Compiled as is
 * by the kernel module and by chainctl, so it calls nothing outside this
 * file: no memcpy, no le64_to_cpu, no crc32c() from either side.  The one
 * exception is opt-in: a side that defines DMC_CRC32C_ELSEWHERE supplies
 * dmc_crc32c() itself (the module: the kernel's slice-by-8 __crc32c_le();
 * a deep chain's load checks tens of MiB of extent lists).
 */
#include <dm-chain/layer_verify.h>

#define DMC_HOFF(f)	__builtin_offsetof(struct dmc_header, f)
#define DMC_JOFF(f)	(DMC_HOFF(journal) + \
			 __builtin_offsetof(struct dmc_journal, f))
#define DMC_SOFF(f)	(DMC_HOFF(swap) + \
			 __builtin_offsetof(struct dmc_swap, f))
#define DMC_ROFF(f)	(DMC_HOFF(relink) + \
			 __builtin_offsetof(struct dmc_relink, f))

_Static_assert(sizeof(struct dmc_header) == DMC_SLOT_SIZE,
	       "struct dmc_header fills one slot");
_Static_assert(sizeof(struct dmc_journal) == 584, "journal layout");
_Static_assert(DMC_HOFF(parent_path) == 152, "header layout");
_Static_assert(DMC_HOFF(journal) == 1176, "header layout");
_Static_assert(DMC_HOFF(relink) == 1760, "header layout");
_Static_assert(sizeof(struct dmc_relink) == 528, "relink record layout");
_Static_assert(DMC_HOFF(swap) == 2288, "header layout");
_Static_assert(DMC_HOFF(extent_list) == 2800, "header layout");
_Static_assert(sizeof(struct dmc_extent_list) == 48, "extent list layout");
_Static_assert(sizeof(struct dmc_extent) == DMC_EXTENT_SIZE, "extent layout");

#define DMC_XOFF(f)	(DMC_HOFF(extent_list) + \
			 __builtin_offsetof(struct dmc_extent_list, f))

static const char *const dmc_reasons[DMC_WHY_MAX] = {
	[DMC_WHY_NONE] = "Layer header is valid",
	[DMC_WHY_NO_HEADER] = "Layer has no dm-chain header",
	[DMC_WHY_BAD_SLOTS] = "Layer header corrupt (bad checksum or version in both slots)",
	[DMC_WHY_INCOMPAT] = "Layer uses unsupported incompatible features",
	[DMC_WHY_STATE] = "Layer header has an unknown state",
	[DMC_WHY_BLOCK_SHIFT] = "Layer block size out of range (4 KiB .. 2 MiB)",
	[DMC_WHY_VIRTUAL_SIZE] = "Layer virtual size is zero, unaligned or too large",
	[DMC_WHY_MAP_PLACE] = "Layer map offset or length does not match its size",
	[DMC_WHY_DATA_PLACE] = "Layer data offset is misplaced or misaligned",
	[DMC_WHY_MAP_LIMIT] = "Layer block map lies beyond the largest file size",
	[DMC_WHY_DATA_LIMIT] = "Layer data area lies beyond the largest file size (data offset too large)",
	[DMC_WHY_UUID] = "Layer UUID is zero",
	[DMC_WHY_SHORT_MAP] = "Layer file is shorter than its block map",
	[DMC_WHY_TRUNCATED] = "Layer file is truncated: shorter than its data area",
	[DMC_WHY_PARENT_KIND] = "Layer header has an unknown parent kind",
	[DMC_WHY_PARENT_UUID] = "Layer names a parent layer with a zero UUID",
	[DMC_WHY_RAW_SIZE] = "Layer's raw parent size differs from its virtual size",
	[DMC_WHY_PARENT_PATH] = "Layer's parent path hint is empty",
	[DMC_WHY_PATH_NUL] = "Layer header path hint is not NUL terminated",
	[DMC_WHY_JOURNAL] = "Layer merge journal is malformed",
	[DMC_WHY_JOURNAL_STATE] = "Layer merge journal has an unknown state",
	[DMC_WHY_RELINK] = "Layer merge journal's relink record is malformed",
	[DMC_WHY_MAP_ENTRY] = "Layer block map holds an invalid entry",
	[DMC_WHY_MAP_TAIL] = "Layer block map has entries past its last block",
	[DMC_WHY_XLIST_PLACE] = "Layer extent list lies outside its file or inside its data area",
	[DMC_WHY_XLIST_RECORD] = "Layer extent list has an unsorted, overlapping, empty or out-of-range run",
	[DMC_WHY_XLIST_CHECKSUM] = "Layer extent list checksum is wrong or the list is short",
};

const char *dmc_verify_reason_str(enum dmc_verify_reason r)
{
	if ((unsigned int)r >= DMC_WHY_MAX || !dmc_reasons[r])
		return "Layer header is invalid";
	return dmc_reasons[r];
}

/* CRC32C (Castagnoli), reflected polynomial 0x82f63b78. */
static const __u32 dmc_crc32c_table[256] = {
	0x00000000U, 0xf26b8303U, 0xe13b70f7U, 0x1350f3f4U,
	0xc79a971fU, 0x35f1141cU, 0x26a1e7e8U, 0xd4ca64ebU,
	0x8ad958cfU, 0x78b2dbccU, 0x6be22838U, 0x9989ab3bU,
	0x4d43cfd0U, 0xbf284cd3U, 0xac78bf27U, 0x5e133c24U,
	0x105ec76fU, 0xe235446cU, 0xf165b798U, 0x030e349bU,
	0xd7c45070U, 0x25afd373U, 0x36ff2087U, 0xc494a384U,
	0x9a879fa0U, 0x68ec1ca3U, 0x7bbcef57U, 0x89d76c54U,
	0x5d1d08bfU, 0xaf768bbcU, 0xbc267848U, 0x4e4dfb4bU,
	0x20bd8edeU, 0xd2d60dddU, 0xc186fe29U, 0x33ed7d2aU,
	0xe72719c1U, 0x154c9ac2U, 0x061c6936U, 0xf477ea35U,
	0xaa64d611U, 0x580f5512U, 0x4b5fa6e6U, 0xb93425e5U,
	0x6dfe410eU, 0x9f95c20dU, 0x8cc531f9U, 0x7eaeb2faU,
	0x30e349b1U, 0xc288cab2U, 0xd1d83946U, 0x23b3ba45U,
	0xf779deaeU, 0x05125dadU, 0x1642ae59U, 0xe4292d5aU,
	0xba3a117eU, 0x4851927dU, 0x5b016189U, 0xa96ae28aU,
	0x7da08661U, 0x8fcb0562U, 0x9c9bf696U, 0x6ef07595U,
	0x417b1dbcU, 0xb3109ebfU, 0xa0406d4bU, 0x522bee48U,
	0x86e18aa3U, 0x748a09a0U, 0x67dafa54U, 0x95b17957U,
	0xcba24573U, 0x39c9c670U, 0x2a993584U, 0xd8f2b687U,
	0x0c38d26cU, 0xfe53516fU, 0xed03a29bU, 0x1f682198U,
	0x5125dad3U, 0xa34e59d0U, 0xb01eaa24U, 0x42752927U,
	0x96bf4dccU, 0x64d4cecfU, 0x77843d3bU, 0x85efbe38U,
	0xdbfc821cU, 0x2997011fU, 0x3ac7f2ebU, 0xc8ac71e8U,
	0x1c661503U, 0xee0d9600U, 0xfd5d65f4U, 0x0f36e6f7U,
	0x61c69362U, 0x93ad1061U, 0x80fde395U, 0x72966096U,
	0xa65c047dU, 0x5437877eU, 0x4767748aU, 0xb50cf789U,
	0xeb1fcbadU, 0x197448aeU, 0x0a24bb5aU, 0xf84f3859U,
	0x2c855cb2U, 0xdeeedfb1U, 0xcdbe2c45U, 0x3fd5af46U,
	0x7198540dU, 0x83f3d70eU, 0x90a324faU, 0x62c8a7f9U,
	0xb602c312U, 0x44694011U, 0x5739b3e5U, 0xa55230e6U,
	0xfb410cc2U, 0x092a8fc1U, 0x1a7a7c35U, 0xe811ff36U,
	0x3cdb9bddU, 0xceb018deU, 0xdde0eb2aU, 0x2f8b6829U,
	0x82f63b78U, 0x709db87bU, 0x63cd4b8fU, 0x91a6c88cU,
	0x456cac67U, 0xb7072f64U, 0xa457dc90U, 0x563c5f93U,
	0x082f63b7U, 0xfa44e0b4U, 0xe9141340U, 0x1b7f9043U,
	0xcfb5f4a8U, 0x3dde77abU, 0x2e8e845fU, 0xdce5075cU,
	0x92a8fc17U, 0x60c37f14U, 0x73938ce0U, 0x81f80fe3U,
	0x55326b08U, 0xa759e80bU, 0xb4091bffU, 0x466298fcU,
	0x1871a4d8U, 0xea1a27dbU, 0xf94ad42fU, 0x0b21572cU,
	0xdfeb33c7U, 0x2d80b0c4U, 0x3ed04330U, 0xccbbc033U,
	0xa24bb5a6U, 0x502036a5U, 0x4370c551U, 0xb11b4652U,
	0x65d122b9U, 0x97baa1baU, 0x84ea524eU, 0x7681d14dU,
	0x2892ed69U, 0xdaf96e6aU, 0xc9a99d9eU, 0x3bc21e9dU,
	0xef087a76U, 0x1d63f975U, 0x0e330a81U, 0xfc588982U,
	0xb21572c9U, 0x407ef1caU, 0x532e023eU, 0xa145813dU,
	0x758fe5d6U, 0x87e466d5U, 0x94b49521U, 0x66df1622U,
	0x38cc2a06U, 0xcaa7a905U, 0xd9f75af1U, 0x2b9cd9f2U,
	0xff56bd19U, 0x0d3d3e1aU, 0x1e6dcdeeU, 0xec064eedU,
	0xc38d26c4U, 0x31e6a5c7U, 0x22b65633U, 0xd0ddd530U,
	0x0417b1dbU, 0xf67c32d8U, 0xe52cc12cU, 0x1747422fU,
	0x49547e0bU, 0xbb3ffd08U, 0xa86f0efcU, 0x5a048dffU,
	0x8ecee914U, 0x7ca56a17U, 0x6ff599e3U, 0x9d9e1ae0U,
	0xd3d3e1abU, 0x21b862a8U, 0x32e8915cU, 0xc083125fU,
	0x144976b4U, 0xe622f5b7U, 0xf5720643U, 0x07198540U,
	0x590ab964U, 0xab613a67U, 0xb831c993U, 0x4a5a4a90U,
	0x9e902e7bU, 0x6cfbad78U, 0x7fab5e8cU, 0x8dc0dd8fU,
	0xe330a81aU, 0x115b2b19U, 0x020bd8edU, 0xf0605beeU,
	0x24aa3f05U, 0xd6c1bc06U, 0xc5914ff2U, 0x37faccf1U,
	0x69e9f0d5U, 0x9b8273d6U, 0x88d28022U, 0x7ab90321U,
	0xae7367caU, 0x5c18e4c9U, 0x4f48173dU, 0xbd23943eU,
	0xf36e6f75U, 0x0105ec76U, 0x12551f82U, 0xe03e9c81U,
	0x34f4f86aU, 0xc69f7b69U, 0xd5cf889dU, 0x27a40b9eU,
	0x79b737baU, 0x8bdcb4b9U, 0x988c474dU, 0x6ae7c44eU,
	0xbe2da0a5U, 0x4c4623a6U, 0x5f16d052U, 0xad7d5351U,
};

__u32 dmc_crc32c_portable(__u32 crc, const void *buf, size_t len)
{
	const __u8 *p = buf;

	while (len--)
		crc = dmc_crc32c_table[(crc ^ *p++) & 0xffU] ^ (crc >> 8);
	return crc;
}

#ifndef DMC_CRC32C_ELSEWHERE
__u32 dmc_crc32c(__u32 crc, const void *buf, size_t len)
{
	return dmc_crc32c_portable(crc, buf, len);
}
#endif

static __u32 ld32(const __u8 *p)
{
	return (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 |
	       (__u32)p[3] << 24;
}

static __u64 ld64(const __u8 *p)
{
	return (__u64)ld32(p) | (__u64)ld32(p + 4) << 32;
}

static void st32(__u8 *p, __u32 v)
{
	p[0] = (__u8)v;
	p[1] = (__u8)(v >> 8);
	p[2] = (__u8)(v >> 16);
	p[3] = (__u8)(v >> 24);
}

static void copy_bytes(__u8 *dst, const __u8 *src, size_t n)
{
	while (n--)
		*dst++ = *src++;
}

static bool all_zero(const __u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static bool same_bytes(const __u8 *a, const __u8 *b, size_t n)
{
	while (n--)
		if (*a++ != *b++)
			return false;
	return true;
}

static bool has_nul(const __u8 *p, size_t n)
{
	while (n--)
		if (!*p++)
			return true;
	return false;
}

__u32 dmc_verify_slot_crc(const void *slot)
{
	static const __u8 zero[4];
	const __u8 *s = slot;
	__u32 crc = ~0U;

	crc = dmc_crc32c(crc, s, DMC_HOFF(checksum));
	crc = dmc_crc32c(crc, zero, sizeof(zero));
	crc = dmc_crc32c(crc, s + DMC_HOFF(checksum) + 4,
			 DMC_SLOT_SIZE - DMC_HOFF(checksum) - 4);
	return ~crc;
}

void dmc_verify_seal(void *slot)
{
	st32((__u8 *)slot + DMC_HOFF(checksum), dmc_verify_slot_crc(slot));
}

enum dmc_slot_verdict dmc_verify_slot(const void *slot)
{
	const __u8 *s = slot;

	if (ld64(s + DMC_HOFF(magic)) != DMC_MAGIC)
		return DMC_SLOT_NO_MAGIC;
	if (ld32(s + DMC_HOFF(checksum)) != dmc_verify_slot_crc(slot))
		return DMC_SLOT_BAD_CHECKSUM;
	if (ld32(s + DMC_HOFF(version)) != DMC_VERSION)
		return DMC_SLOT_BAD_VERSION;
	return DMC_SLOT_OK;
}

__u64 dmc_verify_slot_sequence(const void *slot)
{
	return ld64((const __u8 *)slot + DMC_HOFF(sequence));
}

int dmc_verify_pick(enum dmc_slot_verdict v0, __u64 seq0,
		    enum dmc_slot_verdict v1, __u64 seq1)
{
	if (v0 == DMC_SLOT_OK && v1 == DMC_SLOT_OK)
		return seq1 > seq0 ? 1 : 0;
	if (v0 == DMC_SLOT_OK)
		return 0;
	if (v1 == DMC_SLOT_OK)
		return 1;
	return -1;
}

static void clear_hdr(struct dmc_hdr *h)
{
	__u8 *p = (__u8 *)h;
	size_t i;

	for (i = 0; i < sizeof(*h); i++)
		p[i] = 0;
}

static void decode(const __u8 *s, struct dmc_hdr *h)
{
	clear_hdr(h);
	h->sequence = ld64(s + DMC_HOFF(sequence));
	h->generation = ld64(s + DMC_HOFF(generation));
	h->virtual_size = ld64(s + DMC_HOFF(virtual_size));
	h->map_offset = ld64(s + DMC_HOFF(map_offset));
	h->map_length = ld64(s + DMC_HOFF(map_length));
	h->data_offset = ld64(s + DMC_HOFF(data_offset));
	h->parent_generation = ld64(s + DMC_HOFF(parent_generation));
	h->parent_raw_size = ld64(s + DMC_HOFF(parent_raw_size));
	h->incompat_features = ld32(s + DMC_HOFF(incompat_features));
	h->compat_features = ld32(s + DMC_HOFF(compat_features));
	h->state = ld32(s + DMC_HOFF(state));
	h->block_shift = ld32(s + DMC_HOFF(block_shift));
	h->parent_kind = ld32(s + DMC_HOFF(parent_kind));
	copy_bytes(h->uuid, s + DMC_HOFF(uuid), DMC_UUID_SIZE);
	copy_bytes(h->parent_uuid, s + DMC_HOFF(parent_uuid), DMC_UUID_SIZE);
	copy_bytes(h->merged_into_uuid, s + DMC_HOFF(merged_into_uuid),
		   DMC_UUID_SIZE);
	h->j_state = ld32(s + DMC_JOFF(state));
	h->j_nr_sources = ld32(s + DMC_JOFF(nr_sources));
	h->j_cursor = ld64(s + DMC_JOFF(cursor));
	h->j_old_generation = ld64(s + DMC_JOFF(old_generation));
	h->j_new_generation = ld64(s + DMC_JOFF(new_generation));
	copy_bytes(h->j_bottom_uuid, s + DMC_JOFF(bottom_uuid), DMC_UUID_SIZE);
	copy_bytes(h->j_top_uuid, s + DMC_JOFF(top_uuid), DMC_UUID_SIZE);
	h->j_flags = ld32(s + DMC_JOFF(flags));
	if (h->incompat_features & DMC_INCOMPAT_JOURNAL_RELINK)
		copy_bytes(h->j_relink_uuid, s + DMC_ROFF(child_uuid),
			   DMC_UUID_SIZE);
	if (h->compat_features & DMC_COMPAT_EXTENT_LIST) {
		h->x_offset = ld64(s + DMC_XOFF(offset));
		h->x_count = ld64(s + DMC_XOFF(count));
		h->x_generation = ld64(s + DMC_XOFF(generation));
		copy_bytes(h->x_uuid, s + DMC_XOFF(uuid), DMC_UUID_SIZE);
		h->x_checksum = ld32(s + DMC_XOFF(checksum));
	}
}

static int refuse(enum dmc_verify_reason *why, enum dmc_verify_reason r)
{
	*why = r;
	return DMC_VERIFY_INVALID;
}

/* Offsets and lengths against the file and what the caller can address. */
static int verify_bounds(const struct dmc_hdr *h, __u64 file_size,
			 __u64 max_bytes, enum dmc_verify_reason *why)
{
	__u64 map_end = h->map_offset + h->map_length;	/* both bounded */
	__u64 data_len = h->nr_blocks << h->block_shift; /* <= 2^50 + 2 MiB */

	if (!max_bytes || max_bytes > DMC_S64_MAX)
		max_bytes = DMC_S64_MAX;
	if (map_end > max_bytes)
		return refuse(why, DMC_WHY_MAP_LIMIT);
	if (h->data_offset > max_bytes || data_len > max_bytes - h->data_offset)
		return refuse(why, DMC_WHY_DATA_LIMIT);
	if (file_size < map_end)
		return refuse(why, DMC_WHY_SHORT_MAP);
	if (file_size < h->data_offset + data_len)
		return refuse(why, DMC_WHY_TRUNCATED);
	return DMC_VERIFY_OK;
}

static int verify_parent(const __u8 *s, const struct dmc_hdr *h,
			 enum dmc_verify_reason *why)
{
	switch (h->parent_kind) {
	case DMC_PARENT_NONE:
		break;
	case DMC_PARENT_LAYER:
		if (all_zero(h->parent_uuid, DMC_UUID_SIZE))
			return refuse(why, DMC_WHY_PARENT_UUID);
		break;
	case DMC_PARENT_RAW:
		if (h->parent_raw_size != h->virtual_size)
			return refuse(why, DMC_WHY_RAW_SIZE);
		break;
	default:
		return refuse(why, DMC_WHY_PARENT_KIND);
	}
	if (h->parent_kind != DMC_PARENT_NONE && !s[DMC_HOFF(parent_path)])
		return refuse(why, DMC_WHY_PARENT_PATH);
	if (!has_nul(s + DMC_HOFF(parent_path), DMC_PATH_MAX) ||
	    !has_nul(s + DMC_JOFF(top_path), DMC_JOURNAL_PATH_MAX))
		return refuse(why, DMC_WHY_PATH_NUL);
	return DMC_VERIFY_OK;
}

/*
 * The relink record names the layer above a range merge's top source: an
 * active journal, a uuid that is none of the holder, the bottom or the
 * top source, and a path.  Without the bit the record is not looked at.
 */
static int verify_relink(const __u8 *s, const struct dmc_hdr *h,
			 enum dmc_verify_reason *why)
{
	const __u8 *u = h->j_relink_uuid;

	if (!dmc_hdr_has_relink(h))
		return DMC_VERIFY_OK;
	if (h->j_state == DMC_JOURNAL_NONE || all_zero(u, DMC_UUID_SIZE) ||
	    same_bytes(u, h->uuid, DMC_UUID_SIZE) ||
	    same_bytes(u, h->j_bottom_uuid, DMC_UUID_SIZE) ||
	    same_bytes(u, h->j_top_uuid, DMC_UUID_SIZE) ||
	    !s[DMC_ROFF(child_path)])
		return refuse(why, DMC_WHY_RELINK);
	if (!has_nul(s + DMC_ROFF(child_path), DMC_JOURNAL_PATH_MAX))
		return refuse(why, DMC_WHY_PATH_NUL);
	return DMC_VERIFY_OK;
}

/*
 * A swap merge's journal: flag and incompat bit together, one source
 * (bottom and top the same layer), no relink record, and the record's
 * target path.  Without the flag the bit is refused, and the flags have
 * no other bit.
 */
static int verify_swap(const __u8 *s, const struct dmc_hdr *h,
		       enum dmc_verify_reason *why)
{
	if (h->j_flags & ~DMC_JOURNAL_F_SWAP)
		return refuse(why, DMC_WHY_JOURNAL);
	if (!(h->j_flags & DMC_JOURNAL_F_SWAP) != !dmc_hdr_has_swap(h))
		return refuse(why, DMC_WHY_JOURNAL);
	if (!dmc_hdr_has_swap(h))
		return DMC_VERIFY_OK;
	if (h->j_nr_sources != 1 || dmc_hdr_has_relink(h) ||
	    !same_bytes(h->j_bottom_uuid, h->j_top_uuid, DMC_UUID_SIZE) ||
	    !s[DMC_SOFF(target_path)])
		return refuse(why, DMC_WHY_JOURNAL);
	if (!has_nul(s + DMC_SOFF(target_path), DMC_JOURNAL_PATH_MAX))
		return refuse(why, DMC_WHY_PATH_NUL);
	return DMC_VERIFY_OK;
}

static int verify_journal(const __u8 *s, const struct dmc_hdr *h,
			  enum dmc_verify_reason *why)
{
	switch (h->j_state) {
	case DMC_JOURNAL_NONE:
		if (dmc_hdr_has_swap(h))
			return refuse(why, DMC_WHY_JOURNAL);
		return verify_relink(s, h, why);
	case DMC_JOURNAL_MERGING:
	case DMC_JOURNAL_RETIRING:
		if (verify_swap(s, h, why))
			return DMC_VERIFY_INVALID;
		if (!h->j_nr_sources ||
		    all_zero(h->j_bottom_uuid, DMC_UUID_SIZE) ||
		    all_zero(h->j_top_uuid, DMC_UUID_SIZE) ||
		    h->j_cursor > h->nr_blocks ||
		    !s[DMC_JOFF(top_path)] ||
		    h->j_new_generation != h->j_old_generation + 1)
			return refuse(why, DMC_WHY_JOURNAL);
		return verify_relink(s, h, why);
	default:
		return refuse(why, DMC_WHY_JOURNAL_STATE);
	}
}

int dmc_verify_header(const void *slot, __u64 file_size, __u64 max_bytes,
		      struct dmc_hdr *h, enum dmc_verify_reason *why)
{
	const __u8 *s = slot;
	__u64 map_end;
	int r;

	*why = DMC_WHY_NONE;
	decode(s, h);
	if (h->incompat_features & ~DMC_INCOMPAT_SUPPORTED) {
		*why = DMC_WHY_INCOMPAT;
		return DMC_VERIFY_UNSUPPORTED;
	}
	if (h->state != DMC_STATE_VALID && h->state != DMC_STATE_MERGED_AWAY)
		return refuse(why, DMC_WHY_STATE);
	if (h->block_shift < DMC_MIN_BLOCK_SHIFT ||
	    h->block_shift > DMC_MAX_BLOCK_SHIFT)
		return refuse(why, DMC_WHY_BLOCK_SHIFT);
	if (!h->virtual_size || h->virtual_size % DMC_SECTOR_SIZE ||
	    h->virtual_size > DMC_MAX_VIRTUAL_SIZE)
		return refuse(why, DMC_WHY_VIRTUAL_SIZE);
	h->nr_blocks = dmc_nr_blocks(h->virtual_size, h->block_shift);
	if (h->map_offset != DMC_MAP_OFFSET ||
	    h->map_length != dmc_map_length(h->nr_blocks))
		return refuse(why, DMC_WHY_MAP_PLACE);
	map_end = h->map_offset + h->map_length;
	if (h->data_offset < map_end || h->data_offset % DMC_DATA_ALIGN ||
	    h->data_offset & ((1ULL << h->block_shift) - 1))
		return refuse(why, DMC_WHY_DATA_PLACE);
	if (all_zero(h->uuid, DMC_UUID_SIZE))
		return refuse(why, DMC_WHY_UUID);
	r = verify_bounds(h, file_size, max_bytes, why);
	if (r)
		return r;
	r = verify_parent(s, h, why);
	if (r)
		return r;
	return verify_journal(s, h, why);
}

int dmc_verify_layer(const void *buf, __u64 len, __u64 file_size,
		     __u64 max_bytes, struct dmc_hdr *h, int *slot,
		     enum dmc_verify_reason *why)
{
	const __u8 *b = buf;
	enum dmc_slot_verdict v[DMC_NR_SLOTS];
	__u64 seq[DMC_NR_SLOTS];
	unsigned int i;
	int cur;

	*slot = -1;
	for (i = 0; i < DMC_NR_SLOTS; i++) {
		v[i] = DMC_SLOT_NO_MAGIC;
		seq[i] = 0;
		if (len >= (__u64)(i + 1) * DMC_SLOT_SIZE &&
		    file_size >= (__u64)(i + 1) * DMC_SLOT_SIZE) {
			v[i] = dmc_verify_slot(b + i * DMC_SLOT_SIZE);
			seq[i] = dmc_verify_slot_sequence(b + i * DMC_SLOT_SIZE);
		}
	}
	cur = dmc_verify_pick(v[0], seq[0], v[1], seq[1]);
	if (cur < 0) {
		clear_hdr(h);
		if (v[0] == DMC_SLOT_NO_MAGIC && v[1] == DMC_SLOT_NO_MAGIC) {
			*why = DMC_WHY_NO_HEADER;
			return DMC_VERIFY_RAW;
		}
		*why = DMC_WHY_BAD_SLOTS;
		return DMC_VERIFY_CORRUPT;
	}
	*slot = cur;
	return dmc_verify_header(b + cur * DMC_SLOT_SIZE, file_size, max_bytes,
				 h, why);
}

int dmc_verify_map(const __u8 *map, __u64 first, __u64 end, __u64 *counts,
		   __u64 *bad)
{
	__u64 local[4] = { 0, 0, 0, 0 };
	__u64 b = first;
	unsigned int st, k;

	while (b < end) {
		if (!(b % DMC_BLOCKS_PER_MAP_BYTE) &&
		    end - b >= DMC_BLOCKS_PER_MAP_BYTE) {
			__u8 v = map[b / DMC_BLOCKS_PER_MAP_BYTE];

			if (!v) {
				local[DMC_BLOCK_ABSENT] += 4;
				b += 4;
				continue;
			}
			/* 3 in an entry: both bits of the pair set. */
			if (!(v & (v >> 1) & 0x55U)) {
				for (k = 0; k < 4; k++)
					local[(v >> (2 * k)) & 3U]++;
				b += 4;
				continue;
			}
		}
		st = dmc_map_get(map, b);
		if (st == DMC_BLOCK_INVALID) {
			*bad = b;
			break;
		}
		local[st]++;
		b++;
	}
	if (counts)
		for (k = 0; k < 4; k++)
			counts[k] += local[k];
	return b < end ? DMC_VERIFY_INVALID : DMC_VERIFY_OK;
}

int dmc_verify_map_tail(const __u8 *map, __u64 map_length, __u64 nr_blocks,
			__u64 *bad)
{
	__u64 b, slots = map_length * DMC_BLOCKS_PER_MAP_BYTE;

	for (b = nr_blocks; b < slots; b++) {
		if (!(b % DMC_BLOCKS_PER_MAP_BYTE) &&
		    !map[b / DMC_BLOCKS_PER_MAP_BYTE]) {
			b += DMC_BLOCKS_PER_MAP_BYTE - 1;
			continue;
		}
		if (dmc_map_get(map, b) != DMC_BLOCK_ABSENT) {
			*bad = b;
			return DMC_VERIFY_INVALID;
		}
	}
	return DMC_VERIFY_OK;
}

enum dmc_xlist_verdict dmc_verify_extent_list_place(const struct dmc_hdr *h,
						     __u64 file_size,
						     __u64 max_bytes,
						     enum dmc_verify_reason *why)
{
	__u64 data_end = h->data_offset + (h->nr_blocks << h->block_shift);
	__u64 len;

	*why = DMC_WHY_NONE;
	if (!(h->compat_features & DMC_COMPAT_EXTENT_LIST))
		return DMC_XLIST_NONE;
	if (h->state != DMC_STATE_VALID || h->j_state != DMC_JOURNAL_NONE ||
	    h->x_generation != h->generation ||
	    !same_bytes(h->x_uuid, h->uuid, DMC_UUID_SIZE))
		return DMC_XLIST_STALE;
	if (!max_bytes || max_bytes > DMC_S64_MAX)
		max_bytes = DMC_S64_MAX;
	/* Runs do not overlap and hold a block each: at most nr_blocks. */
	len = h->x_count * DMC_EXTENT_SIZE;	/* nr_blocks < 2^39 */
	if (h->x_count > h->nr_blocks || h->x_offset % DMC_SLOT_SIZE ||
	    h->x_offset < data_end || h->x_offset > max_bytes ||
	    len > max_bytes - h->x_offset || h->x_offset > file_size ||
	    len > file_size - h->x_offset) {
		*why = DMC_WHY_XLIST_PLACE;
		return DMC_XLIST_BAD;
	}
	return DMC_XLIST_CURRENT;
}

void dmc_extent_get(const void *rec, __u64 *first, __u64 *length,
		    __u32 *state)
{
	const __u8 *p = rec;
	__u64 ls = ld64(p + 8);

	*first = ld64(p);
	*length = ls >> DMC_EXTENT_STATE_BITS;
	*state = (__u32)(ls & ((1U << DMC_EXTENT_STATE_BITS) - 1));
}

static void st64(__u8 *p, __u64 v)
{
	st32(p, (__u32)v);
	st32(p + 4, (__u32)(v >> 32));
}

void dmc_extent_put(void *rec, __u64 first, __u64 length, __u32 state)
{
	__u8 *p = rec;

	st64(p, first);
	st64(p + 8, length << DMC_EXTENT_STATE_BITS | state);
}

void dmc_extent_walk_begin(struct dmc_extent_walk *w, const struct dmc_hdr *h)
{
	w->nr_blocks = h->nr_blocks;
	w->seen = 0;
	w->next = 0;
	w->last_state = 0;
	w->crc = ~0U;
}

int dmc_extent_walk_feed(struct dmc_extent_walk *w, const void *recs,
			 __u64 n, __u64 *bad, enum dmc_verify_reason *why)
{
	const __u8 *p = recs;
	__u64 i, first, length;
	__u32 state;

	for (i = 0; i < n; i++, p += DMC_EXTENT_SIZE) {
		dmc_extent_get(p, &first, &length, &state);
		if ((state != DMC_BLOCK_DATA && state != DMC_BLOCK_ZERO) ||
		    !length || first < w->next || first >= w->nr_blocks ||
		    length > w->nr_blocks - first ||
		    (first == w->next && state == w->last_state)) {
			*bad = w->seen + i;
			*why = DMC_WHY_XLIST_RECORD;
			return DMC_VERIFY_INVALID;
		}
		w->next = first + length;
		w->last_state = state;
	}
	w->crc = dmc_crc32c(w->crc, recs, (size_t)(n * DMC_EXTENT_SIZE));
	w->seen += n;
	return DMC_VERIFY_OK;
}

int dmc_extent_walk_end(const struct dmc_extent_walk *w,
			const struct dmc_hdr *h, enum dmc_verify_reason *why)
{
	if (w->seen != h->x_count || ~w->crc != h->x_checksum) {
		*why = DMC_WHY_XLIST_CHECKSUM;
		return DMC_VERIFY_INVALID;
	}
	return DMC_VERIFY_OK;
}

int dmc_map_next_run(const __u8 *map, __u64 nr_blocks, __u64 *pos,
		     __u64 *first, __u64 *length, __u32 *state)
{
	__u64 b = *pos, e;
	__u32 st;
	__u8 whole;

	/* Skip ABSENT blocks, four at a time on a byte boundary. */
	while (b < nr_blocks) {
		if (!(b % DMC_BLOCKS_PER_MAP_BYTE) &&
		    !map[b / DMC_BLOCKS_PER_MAP_BYTE]) {
			b += DMC_BLOCKS_PER_MAP_BYTE;
			continue;
		}
		if (dmc_map_get(map, b) != DMC_BLOCK_ABSENT)
			break;
		b++;
	}
	if (b >= nr_blocks) {
		*pos = nr_blocks;
		return 0;
	}
	st = dmc_map_get(map, b);
	whole = (__u8)(st * 0x55U);	/* a byte of four such entries */
	e = b + 1;
	while (e < nr_blocks) {
		if (!(e % DMC_BLOCKS_PER_MAP_BYTE) &&
		    nr_blocks - e >= DMC_BLOCKS_PER_MAP_BYTE &&
		    map[e / DMC_BLOCKS_PER_MAP_BYTE] == whole) {
			e += DMC_BLOCKS_PER_MAP_BYTE;
			continue;
		}
		if (dmc_map_get(map, e) != st)
			break;
		e++;
	}
	*first = b;
	*length = e - b;
	*state = st;
	*pos = e;
	return 1;
}
