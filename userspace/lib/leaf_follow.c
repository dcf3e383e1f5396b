// SPDX-License-Identifier: GPL-2.0
/* Following a configured leaf to the current one: see leaf_follow.h. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain.h"
#include "layer_file.h"
#include "leaf_follow.h"

struct ino_id {
	dev_t dev;
	ino_t ino;
};

/* A layer in the directory whose chain holds the anchor. */
struct cand {
	char *path;
	struct ino_id self;
	unsigned int nr;		/* layers below it */
	struct ino_id *below;
	bool covered;			/* another candidate sits on it */
};

/* What the configured leaf's chain must hold: a file, or a layer's uuid. */
struct anchor {
	bool by_uuid;
	struct ino_id id;
	uint8_t uuid[DMC_UUID_SIZE];
};

static bool holds_anchor(const struct chain *c, const struct anchor *a)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		const struct layer *l = c->layers[i];

		if (a->by_uuid ? !l->is_raw && !memcmp(l->hdr.uuid, a->uuid,
							 DMC_UUID_SIZE) :
				 l->dev == a->id.dev && l->ino == a->id.ino)
			return true;
	}
	return false;
}

/*
 * The anchor of LEAF_PATH (a layer): itself, unless it was merged away,
 * then the layer it was merged into (by uuid) or, merged into a raw base,
 * the first layer below it that is not merged away.
 */
static int find_anchor(const char *leaf_path, struct anchor *a,
		       struct dmc_err *err)
{
	struct layer *l;
	struct chain c;
	unsigned int i;
	int ret = -1;

	if (layer_open(leaf_path, 0, &l, err))
		return -1;
	memset(a, 0, sizeof(*a));
	a->id.dev = l->dev;
	a->id.ino = l->ino;
	if (l->is_raw || l->hdr.state != DMC_STATE_MERGED_AWAY) {
		layer_close(l);
		return 0;
	}
	if (!uuid_is_zero(l->hdr.merged_into_uuid)) {
		a->by_uuid = true;
		memcpy(a->uuid, l->hdr.merged_into_uuid, DMC_UUID_SIZE);
		layer_close(l);
		return 0;
	}
	layer_close(l);
	/* Merged into a raw base: down the chain to the first valid layer. */
	chain_open(leaf_path, CHAIN_ALLOW_MERGED_AWAY | CHAIN_ALLOW_LIVE_LEAP |
		   CHAIN_ALLOW_JOURNAL_LEAF, &c, err);
	dmc_err_clear(err);
	for (i = 1; i < c.nr; i++) {
		if (c.layers[i]->is_raw ||
		    c.layers[i]->hdr.state != DMC_STATE_MERGED_AWAY) {
			a->id.dev = c.layers[i]->dev;
			a->id.ino = c.layers[i]->ino;
			ret = 0;
			break;
		}
	}
	chain_close(&c);
	if (ret)
		dmc_err(err, DMC_ERR_STALE,
			"%s: merged away, and the layer it was merged into cannot be found",
			leaf_path);
	return ret;
}

static void cands_free(struct cand *cs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		free(cs[i].path);
		free(cs[i].below);
	}
	free(cs);
}

/* Add PATH if it is a layer whose chain holds A.  0, or -1 on ENOMEM. */
static int consider(const char *path, const struct anchor *a,
		    struct cand **cs, unsigned int *nr)
{
	struct dmc_err err;
	struct chain c;
	struct cand *grown, *n;
	unsigned int i;

	dmc_err_clear(&err);
	if (chain_open(path, CHAIN_ALLOW_LIVE_LEAP, &c, &err) ||
	    !holds_anchor(&c, a)) {
		chain_close(&c);
		return 0;
	}
	grown = realloc(*cs, (*nr + 1) * sizeof(*grown));
	if (!grown)
		goto nomem;
	*cs = grown;
	n = &grown[*nr];
	memset(n, 0, sizeof(*n));
	n->path = strdup(path);
	n->below = calloc(c.nr, sizeof(*n->below));
	if (!n->path || !n->below) {
		free(n->path);
		free(n->below);
		goto nomem;
	}
	n->self.dev = c.layers[0]->dev;
	n->self.ino = c.layers[0]->ino;
	for (i = 1; i < c.nr; i++) {
		n->below[n->nr].dev = c.layers[i]->dev;
		n->below[n->nr++].ino = c.layers[i]->ino;
	}
	(*nr)++;
	chain_close(&c);
	return 0;
nomem:
	chain_close(&c);
	return -1;
}

int dir_each_file(const char *file,
		  int (*fn)(const char *path, const struct stat *st,
			    void *arg, struct dmc_err *err),
		  void *arg, struct dmc_err *err)
{
	char *dcopy, *path = NULL;
	unsigned int seen = 0;
	struct dirent *de;
	const char *dir;
	struct stat st;
	DIR *d;
	int ret = -1;

	dcopy = strdup(file);
	if (!dcopy)
		return dmc_err_errno(err, ENOMEM, "%s", file);
	dir = dirname(dcopy);
	d = opendir(dir);
	if (!d) {
		dmc_err_errno(err, errno, "%s: cannot look for the layers on %s",
			      dir, file);
		free(dcopy);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] ||
		    (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (++seen > LEAF_FOLLOW_MAX_FILES) {
			dmc_err(err, DMC_ERR_USAGE,
				"%s: more than %u files; cannot look for the layers on %s",
				dir, LEAF_FOLLOW_MAX_FILES, file);
			goto out;
		}
		free(path);
		if (asprintf(&path, "%s/%s", strcmp(dir, "/") ? dir : "",
			     de->d_name) < 0) {
			path = NULL;
			dmc_err_errno(err, ENOMEM, "%s", dir);
			goto out;
		}
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (fn(path, &st, arg, err))
			goto out;
	}
	ret = 0;
out:
	closedir(d);
	free(path);
	free(dcopy);
	return ret;
}

/* What leaf_follow() gathers from the directory. */
struct follow {
	bool raw;
	struct anchor a;
	struct cand *cs;
	unsigned int nr;
};

static int follow_one(const char *path, const struct stat *st, void *arg,
		      struct dmc_err *err)
{
	struct follow *f = arg;

	/* A raw image's bytes are never parsed. */
	if (f->raw && st->st_dev == f->a.id.dev && st->st_ino == f->a.id.ino)
		return 0;
	if (consider(path, &f->a, &f->cs, &f->nr))
		return dmc_err_errno(err, ENOMEM, "%s", path);
	return 0;
}

int leaf_follow(const char *leaf_path, bool raw, char **leaf,
		struct dmc_err *err)
{
	struct follow f = { .raw = raw };
	unsigned int i, j, tops = 0;
	char list[1024];
	struct stat st;
	int ret = -1;
	size_t n;

	*leaf = NULL;
	if (stat(leaf_path, &st))
		return dmc_err_errno(err, errno, "%s", leaf_path);
	if (!S_ISREG(st.st_mode))
		return dmc_err(err, DMC_ERR_USAGE, "%s: not a regular file",
			       leaf_path);
	if (raw) {
		f.a.id.dev = st.st_dev;
		f.a.id.ino = st.st_ino;
	} else if (find_anchor(leaf_path, &f.a, err)) {
		return -1;
	}
	if (dir_each_file(leaf_path, follow_one, &f, err))
		goto out;
	if (raw && f.nr) {
		n = 0;
		list[0] = '\0';
		for (i = 0; i < f.nr && n < sizeof(list); i++)
			n += snprintf(list + n, sizeof(list) - n, "%s%s",
				      i ? ", " : "", f.cs[i].path);
		dmc_err(err, DMC_ERR_USAGE,
			"%s: raw, but layers sit on it (%s); name the current leaf instead, without 'raw'",
			leaf_path, list);
		goto out;
	}
	if (raw) {
		*leaf = strdup(leaf_path);
		ret = *leaf ? 0 : dmc_err_errno(err, ENOMEM, "%s", leaf_path);
		goto out;
	}
	for (i = 0; i < f.nr; i++)
		for (j = 0; j < f.nr && !f.cs[i].covered; j++) {
			unsigned int k;

			for (k = 0; k < f.cs[j].nr; k++)
				if (f.cs[j].below[k].dev == f.cs[i].self.dev &&
				    f.cs[j].below[k].ino == f.cs[i].self.ino)
					f.cs[i].covered = true;
		}
	n = 0;
	list[0] = '\0';
	for (i = 0; i < f.nr; i++) {
		if (f.cs[i].covered)
			continue;
		tops++;
		if (n < sizeof(list))
			n += snprintf(list + n, sizeof(list) - n, "%s%s",
				      n ? ", " : "", f.cs[i].path);
		j = i;
	}
	if (tops == 0) {
		/* The configured leaf itself does not open: say why. */
		struct chain c;

		if (chain_open(leaf_path, CHAIN_ALLOW_LIVE_LEAP, &c, err) == 0)
			dmc_err(err, DMC_ERR_STALE,
				"%s: no layer in its directory leads to it",
				leaf_path);
		chain_close(&c);
		goto out;
	}
	if (tops > 1) {
		dmc_err(err, DMC_ERR_USAGE,
			"%s: %u layers in its directory sit on it (%s); which one is the device's leaf is ambiguous: name it instead",
			leaf_path, tops, list);
		goto out;
	}
	*leaf = strdup(f.cs[j].path);
	ret = *leaf ? 0 : dmc_err_errno(err, ENOMEM, "%s", leaf_path);
out:
	cands_free(f.cs, f.nr);
	return ret;
}
