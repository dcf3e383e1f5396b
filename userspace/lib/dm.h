/* SPDX-License-Identifier: GPL-2.0 */
/*
 * device-mapper side of chainctl: the "chain" table line (built and parsed
 * here, pure, unit tested) and a thin libdevmapper wrapper that creates,
 * removes, lists and inspects chain devices.
 *
 * udev: on a normal system udevd creates /dev/mapper nodes and libdevmapper
 * waits for it (udev sync, cookies).  Where no udevd runs (minimal VMs,
 * initramfs, containers), waiting would hang or leave no node, so
 * dmc_dm_init() notes that, udev sync is turned off before the first
 * libdevmapper call, and the library creates the nodes itself.  Every function here
 * returns 0 or a negative errno, and leaves a one-line reason in
 * dmc_dm_errmsg() (libdevmapper's last error, when it gave one).
 */
#ifndef DMC_DM_H
#define DMC_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dm-chain/format.h>	/* DMC_MAX_LAYERS: the most a table line names */

#define DMC_DM_TARGET		"chain"
#define DMC_DM_FEATURE_RO	"read_only"
#define DMC_DM_FEATURE_RAW	"raw_base"
#define DMC_DM_UUID_PREFIX	"DMCHAIN-"

/* ---- table line (pure) -------------------------------------------------- */

/*
 * Build the target parameters "<nr_layers> <path>... [N raw_base read_only]"
 * from PATHS (base first).  RAW_BASE declares PATHS[0] a raw image (the
 * kernel then never reads its bytes as a header).  Every path must be
 * absolute and free of whitespace, control characters and backslashes
 * (the kernel splits the line on whitespace, strips backslashes, and
 * re-emits paths as they are); the kernel refuses them too.
 * Returns 0 and a malloc'd string in *OUT, or -EINVAL (message in ERR,
 * size ERRLEN), -E2BIG (too many layers), -ENOMEM.
 */
/*
 * Whether the table line can carry PATH unescaped, by the kernel's rule:
 * its dm_split_args() ends a word at any byte its isspace() knows (ASCII
 * whitespace and 0xa0) and strips backslashes; control characters are
 * refused too (kmod/table.c, path_is_table_safe()).
 */
bool dmc_table_path_safe(const char *path);

int dmc_table_build(const char *const *paths, unsigned int nr_paths,
		    bool raw_base, bool read_only, char **out, char *err,
		    size_t errlen);

/* What a table line says; free with dmc_table_free(). */
struct dmc_table {
	unsigned int nr_layers;
	char **paths;		/* base first */
	bool raw_base;		/* paths[0] is a raw image */
	bool read_only;
};

/*
 * Parse target parameters as dmc_table_build() writes them (and as the
 * target's TABLE status re-emits them).  Unknown features are kept out of
 * the result but not refused.  Returns 0 or -EINVAL, -ENOMEM.
 */
int dmc_table_parse(const char *params, struct dmc_table *t);
void dmc_table_free(struct dmc_table *t);

/*
 * Size of the device in 512-byte sectors for a chain whose leaf shows
 * VIRTUAL_SIZE bytes.  -EINVAL when it is not a positive multiple of 512
 * (the layer format guarantees that; a raw file may not).
 */
int dmc_bytes_to_sectors(uint64_t virtual_size, uint64_t *sectors);

/* ---- libdevmapper ------------------------------------------------------- */

/* Call once before the others: logging and the udev decision. */
void dmc_dm_init(bool verbose);

/*
 * Is NAME a device name chainctl gives a new device ('device create', a
 * chaintab line)?  Not empty, shorter than DM_NAME_LEN (128) bytes, not
 * ".", ".." or "control", no '/', blanks or control characters.  *WHY
 * says why not.
 */
bool dmc_dm_valid_name(const char *name, const char **why);

/* Whether udevd is running (its control socket exists). */
bool dmc_dm_udev_running(void);

/* One-line reason for the last failure, or "". */
const char *dmc_dm_errmsg(void);

/*
 * Create /dev/mapper/NAME with one "chain" target of SECTORS over PARAMS.
 * UUID may be NULL.  -EEXIST if NAME exists; -EINVAL when the kernel
 * refuses the table (its reason is in the kernel log).
 */
int dmc_dm_create(const char *name, const char *uuid, uint64_t sectors,
		  const char *params, bool read_only);

/*
 * After a failed dmc_dm_create(): the target's own reason from the kernel
 * log ("unknown target type" when no "chain" target is registered), or ""
 * when it could not be read.
 */
const char *dmc_dm_kernel_reason(void);

/* Remove NAME; -ENODEV if absent, -EBUSY if open, -EMEDIUMTYPE if it is
 * not a chain device (never removes other targets' devices). */
int dmc_dm_remove(const char *name);

struct dmc_dm_dev {
	char name[128];
	char uuid[129];
	uint32_t major, minor;
	bool suspended;
	bool read_only;
	bool live_table;
	int32_t open_count;
	uint32_t event_nr;
	uint64_t sectors;	/* target length */
	char *params;		/* TABLE: target parameters, malloc'd */
	char *status;		/* INFO status line, malloc'd */
};

/*
 * Fill DEV for NAME.  -ENODEV if there is no such device, -EMEDIUMTYPE
 * if it is not a single "chain" target.  Free with dmc_dm_dev_free().
 */
int dmc_dm_get(const char *name, struct dmc_dm_dev *dev);
void dmc_dm_dev_free(struct dmc_dm_dev *dev);

/* Every chain device, sorted by name.  Free with dmc_dm_list_free(). */
int dmc_dm_list(struct dmc_dm_dev **devs, unsigned int *nr);
void dmc_dm_list_free(struct dmc_dm_dev *devs, unsigned int nr);

#endif
