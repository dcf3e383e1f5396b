/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-img and qemu-io (Debian's qemu-utils) as the tools they are: run
 * with an argument vector (fork and execvp, never a shell), their JSON
 * read with json-c.  The image formats themselves are never parsed here:
 * `qemu-img info --backing-chain` says what the chain is, `qemu-img map`
 * of one image opened alone says what that image holds.
 *
 * The parsers and the alignment arithmetic are pure (host unit tests in
 * tests/unit/test_qemu_img.c); qtool_run() is the only function that
 * starts a process.
 */
#ifndef DMC_QEMU_IMG_H
#define DMC_QEMU_IMG_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmc_err.h"

/* ---- running a tool ----------------------------------------------------- */

struct qtool_opts {
	const char *cwd;	/* NULL: ours */
	/* Set by a signal handler: the tool is sent SIGTERM, and the call
	 * fails with "interrupted".  NULL: never. */
	const volatile sig_atomic_t *stop;
	bool want_stdout;	/* keep stdout (JSON) in *OUT */
	/* Called with each piece of standard output as it comes (the
	 * "(12.50/100%)" of qemu-img convert -p); NULL: none. */
	void (*on_stdout)(const char *data, size_t len, void *arg);
	void *arg;
};

/*
 * Run ARGV (ARGV[0] looked up in PATH) and wait for it.  0 when it exited
 * with status 0, *OUT (malloc'd, NUL-terminated, NULL unless
 * want_stdout) holding its standard output.  Otherwise -1 and ERR says
 * "WHAT: TOOL not found (install qemu-utils)", or "WHAT: TOOL failed
 * (exit status N): its first line of errors", WHAT being the file the
 * caller names.
 */
int qtool_run(char *const argv[], const struct qtool_opts *o, const char *what,
	      char **out, struct dmc_err *err);

/*
 * The last "(PERCENT/100%)" that `qemu-img convert -p` printed in DATA, as
 * a fraction 0..1 in *DONE.  False when DATA holds none.
 */
bool qimg_parse_percent(const char *data, size_t len, double *done);

/* ---- qemu-img info --backing-chain --output=json ------------------------- */

struct qimg_image {
	char *filename;		/* as qemu-img names it */
	char *format;		/* its driver: "qcow2", "raw", "vmdk", ... */
	uint64_t virtual_size;
	uint64_t cluster_size;	/* 0: the format reports none (raw) */
	bool has_backing;	/* names a backing file */
	bool backing_format;	/* ...and records its format */
	bool encrypted;
	bool data_file;		/* qcow2 with an external data file */
};

struct qimg_chain {
	unsigned int nr;		/* images[0] is the top, [nr - 1] the base */
	struct qimg_image *images;
};

/*
 * Parse the array `qemu-img info --backing-chain --output=json` prints.
 * -1 with WHY (a sentence) when it is not what qemu-img prints.
 */
int qimg_parse_info(const char *json, struct qimg_chain *c, char *why,
		    size_t why_len);
void qimg_chain_free(struct qimg_chain *c);

/* ---- qemu-img map --output=json ------------------------------------------ */

enum qimg_kind {
	QIMG_ABSENT = 0,	/* not allocated in this image: look below */
	QIMG_DATA,		/* this image holds the bytes */
	QIMG_ZERO,		/* this image says zero (hides what is below) */
};

struct qimg_extent {
	uint64_t start, length;
	enum qimg_kind kind;
};

struct qimg_map {
	size_t nr;
	struct qimg_extent *ext;	/* in order, adjacent ones of a kind joined */
};

/*
 * Parse a `qemu-img map --output=json` array into the image's own
 * allocation: an entry of depth 0 that is present is DATA, or ZERO when
 * it reads as zero ("zero": true; allocated zero clusters); anything not
 * present, or from a backing file (depth > 0), is ABSENT.  The entries
 * must tile [0, VIRTUAL_SIZE) in order.  -1 with WHY otherwise.
 */
int qimg_parse_map(const char *json, uint64_t virtual_size, struct qimg_map *m,
		   char *why, size_t why_len);
void qimg_map_free(struct qimg_map *m);

/*
 * The largest power of two, at most CAP (a power of two), that divides
 * the start of every extent but the first: the largest block size that
 * keeps M's allocation.  (The end at the virtual size needs no alignment:
 * a layer's last block may be partial.)
 */
uint64_t qimg_map_alignment(const struct qimg_map *m, uint64_t cap);

/* True and *BAD set to the first extent start not a multiple of BLOCK. */
bool qimg_map_misaligned(const struct qimg_map *m, uint64_t block,
			 uint64_t *bad);

/*
 * The block size for a chain of images: the smallest cluster size among
 * them (DEFAULT when none reports one), within [MIN, MAX], lowered to the
 * largest power of two every map is aligned to.  0 when that is below
 * MIN (the allocation cannot be kept in dm-chain blocks).
 */
uint64_t qimg_pick_block(const struct qimg_chain *c, const struct qimg_map *maps,
			 uint64_t def, uint64_t min, uint64_t max);

/* ---- naming images for qemu --------------------------------------------- */

/*
 * A "json:{...}" filename that opens FILENAME with driver FORMAT alone:
 * with CUT_BACKING, "backing": null (so that unallocated ranges read as
 * unallocated, not as the backing file's data).  Malloc'd; NULL on ENOMEM.
 */
char *qimg_spec_alone(const char *filename, const char *format, bool cut_backing);

/* A "json:{...}" filename for bytes [OFFSET, OFFSET + SIZE) of FILENAME
 * as a raw image.  Malloc'd; NULL on ENOMEM. */
char *qimg_spec_window(const char *filename, uint64_t offset, uint64_t size);

/*
 * PATH as a qemu command line may take it: qemu reads "proto:..." as a
 * protocol and "json:..." as options, so a relative path gets "./" in
 * front.  Malloc'd; NULL on ENOMEM.
 */
char *qimg_plain_path(const char *path);

/*
 * The file name's stem: the last component of PATH without its last
 * extension ("a/disk.qcow2" -> "disk", "a/.x" -> ".x").  Malloc'd.
 */
char *qimg_stem(const char *path);

#endif
