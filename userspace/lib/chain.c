// SPDX-License-Identifier: GPL-2.0
/* Opening a chain and validating its links: see chain.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "chain.h"
#include "paths.h"

bool layer_is_merge_target(const struct layer *l)
{
	return !l->is_raw && l->hdr.journal.state != DMC_JOURNAL_NONE &&
	       memcmp(l->hdr.journal.bottom_uuid, l->hdr.uuid, DMC_UUID_SIZE);
}

/*
 * An open chain holds every layer's file open, and a chain may have
 * DMC_MAX_LAYERS layers: more than the usual soft limit of 1024 open
 * files (and the kernel's default hard limit of 4096, with the few a
 * command needs beside).  Raise the soft limit, and the hard one where
 * the caller may (CAP_SYS_RESOURCE); else as far as the hard limit goes.
 * A limit that stays too low shows as EMFILE in open_parent().
 */
static void make_room_for_layers(void)
{
	static const rlim_t want = DMC_MAX_LAYERS + 256;
	struct rlimit rl, more;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	more.rlim_cur = want;
	more.rlim_max = rl.rlim_max >= want ? rl.rlim_max : want;
	if (!setrlimit(RLIMIT_NOFILE, &more))
		return;
	more.rlim_cur = rl.rlim_max;
	more.rlim_max = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &more);
}

static int check_raw_link(const struct layer *child, const struct layer *parent,
			  struct dmc_err *err)
{
	const struct layer_header *c = &child->hdr;

	if (!parent->is_raw)
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: parent %s must be opened as a raw image",
			       child->path, parent->path);
	if (parent->file_size != c->parent_raw_size)
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: raw parent %s is %llu bytes, was %llu when this layer was made",
			       child->path, parent->path,
			       (unsigned long long)parent->file_size,
			       (unsigned long long)c->parent_raw_size);
	return 0;
}

int chain_check_link(const struct layer *child, const struct layer *parent,
		     bool allow_merged_away, struct dmc_err *err)
{
	const struct layer_header *c = &child->hdr, *p = &parent->hdr;
	char want[37], have[37];

	if (c->parent_kind == DMC_PARENT_RAW)
		return check_raw_link(child, parent, err);
	if (parent->is_raw)
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: parent %s is not a dm-chain layer (no header)",
			       child->path, parent->path);
	if (memcmp(c->parent_uuid, p->uuid, DMC_UUID_SIZE)) {
		uuid_to_str(c->parent_uuid, want);
		uuid_to_str(p->uuid, have);
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: parent %s has uuid %s, expected %s",
			       child->path, parent->path, have, want);
	}
	if (p->block_shift != c->block_shift)
		return dmc_err(err, DMC_ERR_CORRUPT,
			       "%s: block size %u differs from parent %s's %u",
			       child->path, 1U << c->block_shift, parent->path,
			       1U << p->block_shift);
	if (p->virtual_size != c->virtual_size)
		return dmc_err(err, DMC_ERR_CORRUPT,
			       "%s: virtual size %llu differs from parent %s's %llu",
			       child->path, (unsigned long long)c->virtual_size,
			       parent->path, (unsigned long long)p->virtual_size);
	if (p->state == DMC_STATE_MERGED_AWAY && !allow_merged_away) {
		uuid_to_str(p->merged_into_uuid, have);
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: parent %s was merged away into %s; this layer is no longer valid",
			       child->path, parent->path, have);
	}
	if (layer_is_merge_target(parent)) {
		if (!memcmp(c->uuid, p->journal.bottom_uuid, DMC_UUID_SIZE) &&
		    c->parent_generation == p->journal.old_generation)
			return 0;
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: parent %s is being merged into (from %s) and this layer is not part of that merge",
			       child->path, parent->path, p->journal.top_path);
	}
	if (c->parent_generation != p->generation)
		return dmc_err(err, DMC_ERR_STALE,
			       "%s: parent %s is at generation %llu but this layer was made at generation %llu: the parent was modified (merged into) since, so this layer is no longer valid",
			       child->path, parent->path,
			       (unsigned long long)p->generation,
			       (unsigned long long)c->parent_generation);
	return 0;
}

/* The layer of C holding the journal of the merge LEAF went into, or -1. */
static int find_unfinished_merge(const struct chain *c)
{
	const uint8_t *into = c->layers[0]->hdr.merged_into_uuid;
	unsigned int i;

	for (i = 1; i < c->nr; i++) {
		const struct layer *l = c->layers[i];

		if (l->is_raw || l->hdr.journal.state == DMC_JOURNAL_NONE)
			continue;
		if (!memcmp(l->hdr.journal.top_uuid, c->layers[0]->hdr.uuid,
			    DMC_UUID_SIZE) ||
		    !memcmp(l->hdr.uuid, into, DMC_UUID_SIZE))
			return (int)i;
	}
	return -1;
}

/* Message for a leaf that is merged away: where to, and what finishes it. */
static int merged_leaf_error(const char *leaf, struct dmc_err *err)
{
	struct dmc_err quiet;
	const uint8_t *into;
	struct chain c;
	char uuid[37];
	unsigned int i;
	int holder, ret;

	dmc_err_clear(&quiet);
	chain_open(leaf, CHAIN_ALLOW_MERGED_AWAY | CHAIN_ALLOW_JOURNAL_LEAF,
		   &c, &quiet);
	into = c.layers[0]->hdr.merged_into_uuid;
	holder = find_unfinished_merge(&c);
	if (holder >= 0) {
		ret = dmc_err(err, DMC_ERR_JOURNAL,
			      "%s: merged away, but that merge is unfinished: run 'chainctl layer merge %s' or 'chainctl layer check -r %s' to finish it",
			      leaf, leaf, c.layers[holder]->path);
		chain_close(&c);
		return ret;
	}
	uuid_to_str(into, uuid);
	for (i = 1; i < c.nr; i++) {
		const struct layer *l = c.layers[i];

		if (uuid_is_zero(into) ? l->is_raw :
		    (!l->is_raw && !memcmp(l->hdr.uuid, into, DMC_UUID_SIZE)))
			break;
	}
	if (i < c.nr)
		ret = dmc_err(err, DMC_ERR_MERGED,
			      "%s: merged away into %s; use that layer instead",
			      leaf, c.layers[i]->path);
	else
		ret = dmc_err(err, DMC_ERR_MERGED,
			      "%s: merged away into %s; use that layer instead",
			      leaf, uuid_is_zero(into) ? "its raw base" : uuid);
	chain_close(&c);
	return ret;
}

/*
 * CHILD was made during a live merge into PARENT (see CHAIN_ALLOW_LIVE_LEAP):
 * it records the target's post-merge generation while the journal is
 * still active.
 */
static bool live_leap(const struct layer *child, const struct layer *parent)
{
	const struct layer_header *c = &child->hdr, *p = &parent->hdr;

	return layer_is_merge_target(parent) &&
	       c->parent_kind == DMC_PARENT_LAYER &&
	       !memcmp(c->parent_uuid, p->uuid, DMC_UUID_SIZE) &&
	       c->parent_generation == p->journal.new_generation;
}

/* Replace the target on top of C by the merge's top source. */
static int open_top_source(struct chain *c, unsigned int lflags,
			   struct dmc_err *err)
{
	struct layer *target = c->layers[c->nr - 1], *top;
	char *path;
	int ret;

	path = path_resolve_hint(target->path, target->hdr.journal.top_path);
	if (!path)
		return dmc_err_errno(err, ENOMEM, "%s", target->path);
	ret = layer_open(path, lflags, &top, err);
	free(path);
	if (ret)
		return ret;
	if (top->is_raw || memcmp(top->hdr.uuid, target->hdr.journal.top_uuid,
				  DMC_UUID_SIZE)) {
		ret = dmc_err(err, DMC_ERR_STALE,
			      "%s: the top source of the merge into %s is not at '%s'",
			      top->path, target->path,
			      target->hdr.journal.top_path);
		layer_close(top);
		return ret;
	}
	layer_close(target);
	c->layers[c->nr - 1] = top;
	return 0;
}

static int open_parent(struct chain *c, struct layer *child, unsigned int flags,
		       struct dmc_err *err)
{
	unsigned int lflags = (flags & CHAIN_LOCK_SH) ? LAYER_LOCK_SH : 0;
	struct layer *parent;
	char *path;
	unsigned int i;
	int ret;

	if (c->nr >= DMC_MAX_LAYERS)
		return dmc_err(err, DMC_ERR_CORRUPT,
			       "%s: chain deeper than %d layers (a loop?)",
			       c->layers[0]->path, DMC_MAX_LAYERS);
	path = path_resolve_hint(child->path, child->hdr.parent_path);
	if (!path)
		return dmc_err_errno(err, ENOMEM, "%s", child->path);
	if (flags & CHAIN_LOAD_MAPS)
		lflags |= LAYER_LOAD_MAP;
	/* The child says what its parent is; a raw image's bytes are its
	 * guest's and are never read as a header (nor its path hint). */
	if (child->hdr.parent_kind == DMC_PARENT_RAW)
		lflags |= LAYER_RAW;
	ret = layer_open(path, lflags, &parent, err);
	if (ret && err->kind == DMC_ERR_IO && err->errnum == ENOENT)
		snprintf(err->msg, sizeof(err->msg),
			 "%s: parent %s is missing (path hint '%s')",
			 child->path, path, child->hdr.parent_path);
	if (ret && err->kind == DMC_ERR_IO && err->errnum == EMFILE)
		snprintf(err->msg, sizeof(err->msg),
			 "%s: cannot open layer %u of the chain: too many open files (a chain holds each layer open; raise the limit, ulimit -n)",
			 path, c->nr + 1);
	free(path);
	if (ret)
		return ret;
	for (i = 0; i < c->nr; i++) {
		if (c->layers[i]->dev == parent->dev &&
		    c->layers[i]->ino == parent->ino) {
			layer_close(parent);
			return dmc_err(err, DMC_ERR_CORRUPT,
				       "%s: parent path leads back into the chain (a loop)",
				       child->path);
		}
	}
	c->layers[c->nr++] = parent;
	if ((flags & CHAIN_ALLOW_LIVE_LEAP) && live_leap(child, parent))
		return open_top_source(c, lflags, err);
	return chain_check_link(child, parent, flags & CHAIN_ALLOW_MERGED_AWAY, err);
}

int chain_open(const char *leaf, unsigned int flags, struct chain *c,
	       struct dmc_err *err)
{
	unsigned int lflags = (flags & CHAIN_LOCK_SH) ? LAYER_LOCK_SH : 0;
	struct layer *l;

	memset(c, 0, sizeof(*c));
	make_room_for_layers();
	if (flags & CHAIN_LOAD_MAPS)
		lflags |= LAYER_LOAD_MAP;
	if (layer_open(leaf, lflags, &l, err))
		return -1;
	c->layers[c->nr++] = l;
	if (l->is_raw)
		return dmc_err(err, DMC_ERR_USAGE,
			       "%s: not a dm-chain layer (no header); a raw image can only be a base",
			       leaf);
	c->block_shift = l->hdr.block_shift;
	c->virtual_size = l->hdr.virtual_size;
	c->nr_blocks = layer_header_nr_blocks(&l->hdr);
	if (l->hdr.state == DMC_STATE_MERGED_AWAY &&
	    !(flags & CHAIN_ALLOW_MERGED_AWAY))
		return merged_leaf_error(leaf, err);
	if (layer_is_merge_target(l) && !(flags & CHAIN_ALLOW_JOURNAL_LEAF))
		return dmc_err(err, DMC_ERR_JOURNAL,
			       "%s: a merge into this layer is unfinished: run 'chainctl layer check -r %s' to finish it",
			       leaf, leaf);
	while (!l->is_raw && l->hdr.parent_kind != DMC_PARENT_NONE) {
		if (open_parent(c, l, flags, err))
			return -1;
		l = c->layers[c->nr - 1];
	}
	return 0;
}

void chain_close(struct chain *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		layer_close(c->layers[i]);
	c->nr = 0;
}

int chain_find_file(const struct chain *c, const char *path)
{
	struct stat st;
	unsigned int i;

	if (stat(path, &st))
		return -1;
	for (i = 0; i < c->nr; i++)
		if (c->layers[i]->dev == st.st_dev && c->layers[i]->ino == st.st_ino)
			return (int)i;
	return -1;
}
