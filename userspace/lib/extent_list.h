/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A layer's extent list (docs/format.md, "Extent list"): the sorted runs
 * of its block map, written past its data area when the layer is frozen
 * by getting a child, so that a reader can hold a read-only layer by its
 * runs instead of its whole map.  The map stays authoritative: the list
 * is written from it, checked against it, and rewritten from it.
 */
#ifndef DMC_EXTENT_LIST_H
#define DMC_EXTENT_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "dmc_err.h"
#include "layer_file.h"

/* What L's current header says about its list (no records read). */
enum dmc_xlist_verdict extent_list_state(const struct layer *l,
					 enum dmc_verify_reason *why);

/* "none", "stale", "misplaced" or "present", for reports. */
const char *extent_list_state_str(enum dmc_xlist_verdict v);

/*
 * The records of L's map (loaded), in a new buffer the caller frees;
 * *COUNT of them.  NULL with ERR set on failure (no memory).
 */
uint8_t *extent_list_build(const struct layer *l, uint64_t *count,
			   struct dmc_err *err);

/*
 * Write L's list from its loaded map: L writable and held with LOCK_EX, a
 * VALID layer with no journal.  An old list is first dropped from the
 * header; then the records go at the end of the data area (the file is
 * cut or grown to hold exactly them), synced, then the header names them.
 * A crash anywhere leaves a header with no list or with the new one.
 */
int layer_write_extent_list(struct layer *l, struct dmc_err *err);

/*
 * The records half of a header change that ends with a list: for a writer
 * about to write L's header H anyway (a merge's last step).  L's list must
 * not be in use (none, stale, or the header it goes in has a new
 * generation); H must be VALID with no journal, with its final uuid and
 * generation.  Writes L's loaded map's runs past its data area, synced,
 * and sets H's list fields; the caller's header write makes it current.
 */
int extent_list_stage(struct layer *l, struct layer_header *h,
		      struct dmc_err *err);

/*
 * Drop L's list from its header (L writable, LOCK_EX): for a writer about
 * to change L's map without a journal in L or a new generation.  Nothing
 * to do when L has none.
 */
int layer_drop_extent_list(struct layer *l, struct dmc_err *err);

/*
 * L is getting a child: give it a list if it has no present one and it
 * can be taken for writing now (not locked by a live device or another
 * chainctl; a file whose mode lets someone write it, so that a golden
 * image made read-only by its mode is left as it is, even by root).  Best effort: the list is an optimisation,
 * so every failure leaves L as it was and is only reported by the return:
 * 1 written, 0 not needed, -1 not written (ERR says why).
 */
int layer_freeze(struct layer *l, struct dmc_err *err);

/* The verdict of layer_check_extent_list(). */
struct extent_list_check {
	enum dmc_xlist_verdict state;
	uint64_t count;
	bool ok;		/* PRESENT, records valid, equal to the map */
	char problem[256];	/* when !ok and state is PRESENT or MISPLACED */
};

/*
 * Read L's list (if present) and check it against the shared rules and
 * against L's loaded map.  Returns -1 only when it could not be read (I/O,
 * memory: ERR), else 0 with C filled.
 */
int layer_check_extent_list(const struct layer *l, struct extent_list_check *c,
			    struct dmc_err *err);

#endif
