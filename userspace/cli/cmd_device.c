// SPDX-License-Identifier: GPL-2.0
/*
 * chainctl device COMMAND: live chain devices through libdevmapper (create,
 * remove) combined with what the module says over netlink (list, status).
 *
 *   create NAME LEAF [--read-only]   walk LEAF down to the base, build the
 *                                    table, create /dev/mapper/NAME
 *   create NAME IMAGE --raw          one raw image, declared raw
 *   remove NAME
 *   list [-j]
 *   status NAME [-j]                 the table and the module's view: layers,
 *                                    the current or last live merge
 *
 * merge, cancel and snapshot live in cmd_device_merge.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dm-chain/netlink.h>

#include "chainctl.h"
#include "chain.h"
#include "dm.h"
#include "dmc_err.h"
#include "json.h"
#include "layer_file.h"
#include "merge.h"
#include "nl.h"
#include "progress.h"
#include "sizes.h"

/* ---- the chain below a leaf --------------------------------------------- */

/* The layer files of a chain, base first, as absolute paths. */
struct chain_paths {
	unsigned int nr;
	char **paths;
	uint64_t virtual_size;	/* bytes the leaf shows */
	bool raw_base;		/* paths[0] is a raw image */
	bool unfinished_merge;	/* a layer holds an active merge journal */
};

static void chain_paths_free(struct chain_paths *cp)
{
	unsigned int i;

	for (i = 0; i < cp->nr; i++)
		free(cp->paths[i]);
	free(cp->paths);
	memset(cp, 0, sizeof(*cp));
}

static int push_path(struct chain_paths *cp, char *path)
{
	char **grown = realloc(cp->paths, (cp->nr + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	cp->paths = grown;
	cp->paths[cp->nr++] = path;
	return 0;
}

/*
 * A live merge interrupted while it retired its sources: the data is all
 * in the target, some sources are already merged away, and only headers
 * are left to write.  No table can hold that chain (a merged-away layer
 * is refused, and without its sources the target's journal is still
 * active), so the merge is finished here, as 'layer check -r' would.
 * Returns 1 when it finished one, 0 when there was none, -1 on error.
 */
static int finish_retiring_merge(const char *ctx, const struct chain *c,
				 struct dmc_err *err)
{
	struct merge_request tmpl = { 0 };
	struct merge_result res;
	const struct layer *holder = NULL;
	bool retired = false;
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		const struct layer *l = c->layers[i];

		if (l->is_raw)
			continue;
		if (l->hdr.state == DMC_STATE_MERGED_AWAY)
			retired = true;
		else if (retired && layer_is_merge_target(l) &&
			 l->hdr.journal.state == DMC_JOURNAL_RETIRING)
			holder = l;
	}
	if (!holder)
		return 0;
	if (merge_resume_holder(holder->path, &tmpl, &res, err))
		return -1;
	fprintf(stderr,
		"chainctl: %s: finished the interrupted merge into %s (its data was complete; only headers were left to write)\n",
		ctx, holder->path);
	return 1;
}

/*
 * The layer files from LEAF down to its base, base first as the table
 * wants them, made absolute, and the size the device shows.  chain_open()
 * validates every link as `chainctl layer info --chain` does, and refuses
 * merged-away layers and a leaf with an unfinished merge; a leaf made by
 * a live merge that was interrupted sits on that merge's top source, so
 * the device can be created again and the merge resumed live.  A raw base
 * is known from its child's header (parent kind raw), never from its own
 * bytes, which its guest wrote.  A raw image alone is a chain of one only
 * when the user says so (RAW): a guest could have written a header into
 * it, and nothing below it may be followed.  With FINISH, a live merge cut
 * while retiring its sources is finished first (finish_retiring_merge()).
 */
static int chain_open_paths(const char *ctx, const char *leaf, bool raw,
			    bool finish, struct chain_paths *cp,
			    struct dmc_err *err)
{
	struct layer *img;
	struct chain c;
	unsigned int i;
	char *abs;
	int ret = -1;

	memset(cp, 0, sizeof(*cp));
	memset(&c, 0, sizeof(c));

	if (raw) {
		if (layer_open(leaf, LAYER_RAW, &img, err))
			return -1;
		cp->virtual_size = layer_virtual_size(img);
		cp->raw_base = true;
		abs = realpath(img->path, NULL);
		layer_close(img);
		if (!abs)
			return dmc_err_errno(err, errno, "%s", leaf);
		if (push_path(cp, abs)) {
			free(abs);
			return dmc_err_errno(err, ENOMEM, "%s", leaf);
		}
		return 0;
	}

	if (chain_open(leaf, CHAIN_ALLOW_LIVE_LEAP, &c, err) == 0 && finish) {
		int done = finish_retiring_merge(ctx, &c, err);

		if (done < 0)
			goto out;
		if (done > 0) {
			chain_close(&c);
			chain_open(leaf, CHAIN_ALLOW_LIVE_LEAP, &c, err);
		}
	}
	if (dmc_err_isset(err)) {
		if (c.nr == 1 && c.layers[0]->is_raw) {
			dmc_err_clear(err);
			dmc_err(err, DMC_ERR_USAGE,
				"%s: not a dm-chain layer (no header); to use a raw image alone, say so with --raw",
				leaf);
		}
		goto out;
	}
	cp->virtual_size = layer_virtual_size(c.layers[0]);
	cp->raw_base = c.layers[c.nr - 1]->is_raw;
	for (i = 0; i < c.nr; i++)
		if (!c.layers[i]->is_raw && layer_is_merge_target(c.layers[i]))
			cp->unfinished_merge = true;
	for (i = c.nr; i-- > 0;) {
		abs = realpath(c.layers[i]->path, NULL);
		if (!abs) {
			dmc_err_errno(err, errno, "%s", c.layers[i]->path);
			goto out;
		}
		if (push_path(cp, abs)) {
			free(abs);
			dmc_err_errno(err, ENOMEM, "%s", leaf);
			goto out;
		}
	}
	ret = 0;
out:
	chain_close(&c);
	if (ret)
		chain_paths_free(cp);
	return ret;
}

/* ---- helpers ------------------------------------------------------------ */

static void device_usage(FILE *out)
{
	fprintf(out,
		"Usage: chainctl device COMMAND [ARGS]\n"
		"\n"
		"Live chain devices (device-mapper target \"chain\"); needs root.\n"
		"\n"
		"  create NAME LEAF [--read-only]  open the chain from LEAF down to its\n"
		"                                  base and create /dev/mapper/NAME\n"
		"  create NAME IMAGE --raw [--read-only]\n"
		"                                  a device over one raw image\n"
		"  remove NAME                     remove the device (must not be open)\n"
		"  list [-j]                       every chain device\n"
		"  status NAME [-j]                one device: size, layers, kernel status,\n"
		"                                  the current or last live merge\n"
		"  merge NAME [--depth N | --into LAYER] [--mode auto|clone|copy]\n"
		"        [--rate MIB_PER_S] [--new-leaf PATH] [--no-wait] [--delete] [-j]\n"
		"                                  merge layers of the live device\n"
		"  cancel NAME                     stop the device's running merge\n"
		"  snapshot NAME [FILE] [-j]       put a new empty leaf on top\n"
		"  help                            this text\n"
		"\n"
		"  -r, --read-only   the device refuses writes; the leaf is opened read-only\n"
		"      --raw         IMAGE is a raw image (its bytes are never read as a\n"
		"                    dm-chain header: a guest may have written one)\n"
		"  -j, --json        JSON output\n"
		"\n"
		"'chainctl device COMMAND --help' explains merge, cancel and snapshot.\n");
}

/*
 * The arguments of create, remove, list and status: the options the
 * command takes (-j, -r, --raw: a NULL flag is not taken) and NR_POS
 * operands, in any order.  ARGV[0] is the command, as for getopt (-h and
 * --help were seen by cmd_device()).  -1 on a usage error, reported.
 */
static int parse_args(int argc, char **argv, const char *cmd, bool *json,
		      bool *read_only, bool *raw, const char **pos, int nr_pos)
{
	struct option opts[4];
	char what[32], shortopts[4];
	int c, n = 0, ns = 0, got = 0;

	if (json) {
		opts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
		shortopts[ns++] = 'j';
	}
	if (read_only) {
		opts[n++] = (struct option){ "read-only", no_argument, NULL, 'r' };
		shortopts[ns++] = 'r';
	}
	if (raw)
		opts[n++] = (struct option){ "raw", no_argument, NULL, 'R' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[ns] = '\0';

	snprintf(what, sizeof(what), "device %s", cmd);
	optind = 0;
	while ((c = cli_getopt(what, argc, argv, shortopts, opts)) != -1) {
		switch (c) {
		case 'j': *json = true; break;
		case 'r': *read_only = true; break;
		case 'R': *raw = true; break;
		default: return -1;
		}
	}
	for (; optind < argc; optind++) {
		if (got >= nr_pos) {
			cli_usage_error(what, "unexpected argument '%s'",
					argv[optind]);
			return -1;
		}
		pos[got++] = argv[optind];
	}
	if (got < nr_pos) {
		cli_usage_error(what, "missing argument");
		return -1;
	}
	return 0;
}

/* The module's view, best effort: NULL info when it cannot be asked. */
static int nl_fetch(struct dmc_nl_info *info, const char *name)
{
	struct nl_sock *nl;
	int ret;

	memset(info, 0, sizeof(*info));
	ret = dmc_nl_open(&nl);
	if (ret) {
		if (g_opts.verbose)
			errmsg("netlink: %s", dmc_nl_strerror(NULL, ret));
		return ret;
	}
	ret = dmc_nl_get(nl, name, info);
	if (ret && g_opts.verbose)
		errmsg("netlink: %s", dmc_nl_strerror(nl, ret));
	nl_close(nl);
	return ret;
}

static const char *dm_reason(int ret)
{
	const char *m = dmc_dm_errmsg();

	return m[0] ? m : strerror(-ret);
}

/* Facts about one device, merged from the table and the module. */
struct dev_view {
	const struct dmc_dm_dev *dm;
	struct dmc_table table;		/* parsed target parameters */
	bool table_ok;
	const struct dmc_nl_device *nl;	/* NULL when the module did not say */
	unsigned int nr_layers;
	bool read_only;
	bool failed;			/* the target is in fail mode */
};

/*
 * The INFO status line starts "<nr_layers> <ro|rw|fail> ...": "fail"
 * after a write or commit error (docs/target.md).
 */
static bool status_failed(const char *status)
{
	char mode[8];

	return status && sscanf(status, "%*u %7s", mode) == 1 &&
	       !strcmp(mode, "fail");
}

static void view_init(struct dev_view *v, const struct dmc_dm_dev *dm,
		      const struct dmc_nl_info *info)
{
	memset(v, 0, sizeof(*v));
	v->dm = dm;
	v->table_ok = dm->params && dmc_table_parse(dm->params, &v->table) == 0;
	/* By device number: it survives a rename, which the name does not. */
	if (info) {
		v->nl = dmc_nl_find_devno(info, dm->major, dm->minor);
		if (!v->nl)
			v->nl = dmc_nl_find(info, dm->name);
	}
	if (v->nl && v->nl->has_nr_layers)
		v->nr_layers = v->nl->nr_layers;
	else if (v->table_ok)
		v->nr_layers = v->table.nr_layers;
	v->read_only = dm->read_only || (v->nl && v->nl->read_only) ||
		       (v->table_ok && v->table.read_only);
	v->failed = status_failed(dm->status);
}

static void view_free(struct dev_view *v)
{
	if (v->table_ok)
		dmc_table_free(&v->table);
}

static const char *leaf_path(const struct dev_view *v)
{
	return v->table_ok ? v->table.paths[v->table.nr_layers - 1] : NULL;
}

/* ---- create ------------------------------------------------------------- */

int device_create_one(const char *ctx, const char *name, const char *leaf,
		      bool read_only, bool raw, bool *unfinished_merge)
{
	struct chain_paths cp;
	struct dmc_err err;
	uint64_t sectors;
	char *params = NULL;
	char msg[PATH_MAX + 128], node[PATH_MAX];
	struct stat st;
	int ret;

	if (unfinished_merge)
		*unfinished_merge = false;
	dmc_err_clear(&err);
	/* a read-only device writes nothing, not even a merge's last headers */
	if (chain_open_paths(ctx, leaf, raw, !read_only, &cp, &err)) {
		errmsg("%s: %s", ctx, err.msg);
		return 1;
	}
	if (dmc_bytes_to_sectors(cp.virtual_size, &sectors)) {
		errmsg("%s: %s: size %" PRIu64 " bytes is not a positive multiple of 512", ctx,
		       cp.paths[cp.nr - 1], cp.virtual_size);
		ret = 1;
		goto out;
	}
	ret = dmc_table_build((const char *const *)cp.paths, cp.nr, cp.raw_base,
			      read_only, &params, msg, sizeof(msg));
	if (ret) {
		errmsg("%s: %s", ctx, ret == -ENOMEM ? strerror(ENOMEM) : msg);
		ret = 1;
		goto out;
	}
	if (g_opts.verbose)
		errmsg("%s: table: 0 %" PRIu64 " %s %s", ctx, sectors,
		       DMC_DM_TARGET, params);

	ret = dmc_dm_create(name, NULL, sectors, params, read_only);
	switch (ret) {
	case 0:
		break;
	case -EEXIST:
		errmsg("%s: a device named '%s' already exists", ctx, name);
		break;
	case -EINVAL:
	case -ENXIO:
	case -ENOENT:
		if (strstr(dmc_dm_kernel_reason(), "unknown target type"))
			errmsg("%s: %s", ctx, DMC_NL_NOT_LOADED_MSG);
		else if (dmc_dm_kernel_reason()[0])
			errmsg("%s: %s: the kernel refused the table: %s", ctx,
			       name, dmc_dm_kernel_reason());
		else
			errmsg("%s: %s: the kernel refused the table (%s); 'dmesg | tail' has the target's reason", ctx,
			       name, dm_reason(ret));
		break;
	default:
		errmsg("%s: %s: %s", ctx, name, dm_reason(ret));
		break;
	}
	if (ret) {
		ret = 1;
		goto out;
	}
	snprintf(node, sizeof(node), "/dev/mapper/%s", name);
	if (stat(node, &st) != 0)
		errmsg("%s: warning: %s was created but %s is missing (no udev? try 'dmsetup mknodes %s')", ctx,
		       name, node, name);
	if (unfinished_merge)
		*unfinished_merge = cp.unfinished_merge;
	ret = 0;
out:
	free(params);
	chain_paths_free(&cp);
	return ret;
}

static int device_create(int argc, char **argv)
{
	const char *pos[2], *why;
	bool read_only = false, raw = false;

	if (parse_args(argc, argv, "create", NULL, &read_only, &raw, pos, 2))
		return EXIT_USAGE;
	if (!dmc_dm_valid_name(pos[0], &why)) {
		errmsg("device create: invalid device name '%s': %s", pos[0], why);
		return EXIT_USAGE;
	}
	return device_create_one("device create", pos[0], pos[1], read_only,
				 raw, NULL);
}

/* ---- remove ------------------------------------------------------------- */

int device_remove_one(const char *ctx, const char *name)
{
	struct dmc_dm_dev dev;
	int ret;

	ret = dmc_dm_remove(name);
	switch (ret) {
	case 0:
		return 0;
	case -ENODEV:
	case -ENXIO:
		errmsg("%s: no device named '%s'", ctx, name);
		break;
	case -EMEDIUMTYPE:
		errmsg("%s: '%s' is not a chain device; not removing it", ctx,
		       name);
		break;
	case -EBUSY:
		if (dmc_dm_get(name, &dev) == 0) {
			errmsg("%s: '%s' is in use (open count %d)", ctx,
			       name, dev.open_count);
			dmc_dm_dev_free(&dev);
		} else {
			errmsg("%s: '%s' is in use", ctx, name);
		}
		break;
	default:
		errmsg("%s: %s: %s", ctx, name, dm_reason(ret));
		break;
	}
	return 1;
}

static int device_remove(int argc, char **argv)
{
	const char *pos[1];

	if (parse_args(argc, argv, "remove", NULL, NULL, NULL, pos, 1))
		return EXIT_USAGE;
	return device_remove_one("device remove", pos[0]);
}

/* ---- list --------------------------------------------------------------- */

static void json_u64_or_null(struct json_writer *jw, const char *key,
			     bool known, uint64_t val)
{
	if (known)
		json_u64(jw, key, val);
	else
		json_null(jw, key);
}

/*
 * The one "layers" array of 'device status -j', leaf first (depth 1 is
 * the leaf, as in 'layer info --chain' and the merge commands).  Each
 * entry is the table's layer (path, raw, writable) with what the module
 * reports about it (uuid, generation, block counts), null where the
 * module is not loaded or does not list it.  The module lists its layers
 * base first, as the table does: entry I of one is entry I of the other
 * when both have the same number.
 */
static void json_status_layers(struct json_writer *jw,
			       const struct dev_view *v)
{
	const struct dmc_nl_device *m = v->nl;
	unsigned int nr, i, depth;
	bool match;
	char uuid[37];

	if (v->table_ok)
		nr = v->table.nr_layers;
	else
		nr = m ? m->nr_listed : 0;
	match = m && m->nr_listed == nr;
	json_array_begin(jw, "layers");
	for (depth = 1; depth <= nr; depth++) {
		const struct dmc_nl_layer *ml;
		bool raw;

		i = nr - depth;
		ml = match ? &m->layers[i] : NULL;
		json_object_begin(jw, NULL);
		json_u64(jw, "depth", depth);
		json_string(jw, "path", v->table_ok ? v->table.paths[i] : ml->path);
		if (v->table_ok)
			raw = i == 0 && v->table.raw_base;
		else
			raw = ml->raw || !ml->has_uuid;
		json_boolean(jw, "raw", raw);
		/* the module's word when it has one, else the table's */
		if (ml)
			json_boolean(jw, "writable", ml->writable);
		else
			json_boolean(jw, "writable", depth == 1 && !v->read_only && !v->failed);
		if (ml && ml->has_uuid && !ml->raw) {
			uuid_to_str(ml->uuid, uuid);
			json_string(jw, "uuid", uuid);
		} else {
			json_null(jw, "uuid");
		}
		ml = ml && ml->has_uuid && !ml->raw ? ml : NULL;
		json_u64_or_null(jw, "generation", ml, ml ? ml->generation : 0);
		json_u64_or_null(jw, "data_blocks", ml, ml ? ml->data_blocks : 0);
		json_u64_or_null(jw, "zero_blocks", ml, ml ? ml->zero_blocks : 0);
		json_u64_or_null(jw, "map_bytes", ml && ml->has_map_bytes,
				 ml ? ml->map_bytes : 0);
		json_u64_or_null(jw, "runs", ml && ml->by_runs, ml ? ml->runs : 0);
		json_object_end(jw);
	}
	json_array_end(jw);
}

/* Members of a device object: 'device list' entries, 'device status'. */
static void json_device(struct json_writer *jw, const struct dev_view *v,
			bool detail)
{
	const struct dmc_dm_dev *d = v->dm;
	char path[sizeof(d->name) + 16];

	snprintf(path, sizeof(path), "/dev/mapper/%s", d->name);
	json_string(jw, "name", d->name);
	json_string(jw, "path", path);
	json_u64(jw, "major", d->major);
	json_u64(jw, "minor", d->minor);
	json_u64(jw, "size_bytes", d->sectors * 512);
	json_u64(jw, "size_sectors", d->sectors);
	json_u64(jw, "layer_count", v->nr_layers);
	json_boolean(jw, "read_only", v->read_only);
	json_boolean(jw, "failed", v->failed);
	json_boolean(jw, "suspended", d->suspended);
	json_i64(jw, "open_count", d->open_count);
	if (leaf_path(v))
		json_string(jw, "leaf_path", leaf_path(v));
	else
		json_null(jw, "leaf_path");
	json_boolean(jw, "module_knows", v->nl != NULL);
	if (!detail)
		return;
	if (d->uuid[0])
		json_string(jw, "uuid", d->uuid);
	else
		json_null(jw, "uuid");
	json_u64(jw, "event_count", d->event_nr);
	json_u64_or_null(jw, "block_size_bytes", v->nl && v->nl->has_block_size,
			 v->nl ? v->nl->block_size : 0);
	json_u64_or_null(jw, "index_bytes", v->nl && v->nl->has_index_bytes,
			 v->nl ? v->nl->index_bytes : 0);
	json_status_layers(jw, v);
	if (v->nl && v->nl->has_merge) {
		json_object_begin(jw, "merge");
		merge_json_fields(jw, &v->nl->merge);
		json_object_end(jw);
	} else {
		json_null(jw, "merge");
	}
	json_string(jw, "table", d->params ? d->params : "");
	json_string(jw, "status", d->status ? d->status : "");
}

static int device_list(int argc, char **argv)
{
	struct dmc_nl_info info;
	struct dmc_dm_dev *devs;
	unsigned int nr, i;
	bool json = g_opts.json, have_nl;
	int ret;

	if (parse_args(argc, argv, "list", &json, NULL, NULL, NULL, 0))
		return EXIT_USAGE;

	ret = dmc_dm_list(&devs, &nr);
	if (ret) {
		errmsg("device list: %s", dm_reason(ret));
		return 1;
	}
	have_nl = nr && nl_fetch(&info, NULL) == 0;

	if (json) {
		struct json_writer jw;

		json_document_begin(&jw, stdout);
		json_array_begin(&jw, "devices");
		for (i = 0; i < nr; i++) {
			struct dev_view v;

			view_init(&v, &devs[i], have_nl ? &info : NULL);
			json_object_begin(&jw, NULL);
			json_device(&jw, &v, false);
			json_object_end(&jw);
			view_free(&v);
		}
		json_array_end(&jw);
		json_document_end(&jw);
	} else if (nr) {
		printf("%-20s %-9s %10s %6s %-4s %s\n", "NAME", "DEVNO", "SIZE",
		       "LAYERS", "MODE", "LEAF");
		for (i = 0; i < nr; i++) {
			struct dev_view v;
			char devno[24], size[32];

			view_init(&v, &devs[i], have_nl ? &info : NULL);
			snprintf(devno, sizeof(devno), "%u:%u", devs[i].major,
				 devs[i].minor);
			format_size(devs[i].sectors * 512, size, sizeof(size));
			printf("%-20s %-9s %10s %6u %-4s %s\n", devs[i].name,
			       devno, size, v.nr_layers,
			       v.read_only ? "ro" : "rw",
			       leaf_path(&v) ? leaf_path(&v) : "?");
			view_free(&v);
		}
	}
	if (have_nl)
		dmc_nl_info_free(&info);
	dmc_dm_list_free(devs, nr);
	return 0;
}

/* ---- status ------------------------------------------------------------- */

/* The module's layers, leaf first as the chain stacks, with their index. */
/*
 * The kernel memory the device's maps and read index take, and how many
 * read-only layers are held by their extent lists' runs.
 */
static void print_module_memory(const struct dmc_nl_device *d)
{
	uint64_t maps = 0;
	unsigned int i, by_runs = 0, maps_known = 0;
	char a[32], b[32];

	for (i = 0; i < d->nr_listed; i++) {
		maps += d->layers[i].map_bytes;
		maps_known += d->layers[i].has_map_bytes;
		by_runs += d->layers[i].by_runs;
	}
	if (!maps_known || !d->has_index_bytes)
		return;		/* an older module */
	printf("memory: maps %s (%u of %u layers held by their extent lists), read index %s\n",
	       format_size(maps, a, sizeof(a)), by_runs, d->nr_listed,
	       d->index_bytes ? format_size(d->index_bytes, b, sizeof(b)) :
				"none");
}

static void print_module_layers(const struct dmc_nl_device *d)
{
	char uuid[37], bs[32];
	unsigned int i;

	if (d->has_block_size)
		printf("block size: %s\n", format_size(d->block_size, bs,
							sizeof(bs)));
	printf("  %5s  %-36s %10s %12s %12s  %s\n", "INDEX", "UUID",
	       "GENERATION", "DATA BLOCKS", "ZERO BLOCKS", "PATH");
	for (i = d->nr_listed; i-- > 0;) {
		const struct dmc_nl_layer *l = &d->layers[i];

		if (l->has_uuid)
			uuid_to_str(l->uuid, uuid);
		else
			strcpy(uuid, "raw");
		printf("  %5u  %-36s %10" PRIu64 " %12" PRIu64 " %12" PRIu64
		       "  %s%s%s\n", i, uuid, l->generation, l->data_blocks,
		       l->zero_blocks, l->path,
		       i + 1 == d->nr_listed ? "  (leaf)" :
		       i == 0 ? "  (base)" : "",
		       l->writable ? " (writable)" : "");
	}
	print_module_memory(d);
}

/* "merge:" line of status for the device's current or last merge. */
static void print_module_merge(const struct dmc_nl_device *d)
{
	const struct dmc_nl_merge *m = &d->merge;
	const char *target = m->target < d->nr_listed ?
			     d->layers[m->target].path : "?";
	char text[DMC_NL_MESSAGE_LEN + 160];

	printf("merge:      %s, %" PRIu32 " layer%s into layer %u (%s)%s%s\n",
	       dmc_nl_merge_state_str(m->state), m->nr_sources,
	       m->nr_sources == 1 ? "" : "s", m->target, target,
	       m->resumed ? ", resumed" : "",
	       m->keeps_leaf ? ", leaf unchanged" : "");
	switch (m->state) {
	case DM_CHAIN_MERGE_STATE_RUNNING:
		printf("  progress  %u%% %s, %.3f s so far\n", merge_percent(m),
		       merge_progress_text(m, text, sizeof(text)),
		       merge_seconds(m));
		break;
	case DM_CHAIN_MERGE_STATE_FAILED:
		printf("  error     %s\n",
		       merge_error_text(m, text, sizeof(text)));
		/* fall through */
	default:
		printf("  moved     %s in %.3f s\n",
		       merge_bytes_text(m, text, sizeof(text)),
		       merge_seconds(m));
		break;
	}
	printf("  pause     longest I/O pause %.3f ms", (double)m->pause_ns / 1e6);
	if (m->bursts)
		printf(" (%" PRIu32 " burst%s under a deep guest queue)",
		       m->bursts, m->bursts == 1 ? "" : "s");
	printf("\n");
	if (m->yield_ns)
		printf("  yielded   %.3f s to the guest's I/O\n",
		       (double)m->yield_ns / 1e9);
}

static int device_status(int argc, char **argv)
{
	const char *pos[1];
	struct dmc_nl_info info;
	struct dmc_dm_dev dev;
	struct dev_view v;
	bool json = g_opts.json, have_nl;
	unsigned int i;
	char size[32];
	int ret;

	if (parse_args(argc, argv, "status", &json, NULL, NULL, pos, 1))
		return EXIT_USAGE;

	ret = dmc_dm_get(pos[0], &dev);
	switch (ret) {
	case 0:
		break;
	case -ENODEV:
	case -ENXIO:
		errmsg("device status: no device named '%s'", pos[0]);
		return 1;
	case -EMEDIUMTYPE:
		errmsg("device status: '%s' is not a chain device", pos[0]);
		return 1;
	default:
		errmsg("device status: %s: %s", pos[0], dm_reason(ret));
		return 1;
	}
	/* Ask by name; a module that files the device under another name
	 * (renamed since) is still matched by device number. */
	ret = nl_fetch(&info, pos[0]);
	if (ret == -ENODEV)
		ret = nl_fetch(&info, NULL);
	have_nl = ret == 0;
	view_init(&v, &dev, have_nl ? &info : NULL);

	if (json) {
		struct json_writer jw;

		json_document_begin(&jw, stdout);
		json_device(&jw, &v, true);
		json_document_end(&jw);
	} else {
		format_size(dev.sectors * 512, size, sizeof(size));
		printf("name:       %s\n", dev.name);
		printf("device:     /dev/mapper/%s (%u:%u)\n", dev.name,
		       dev.major, dev.minor);
		printf("size:       %s (%" PRIu64 " sectors)\n", size,
		       dev.sectors);
		printf("state:      %s, %s, open count %d\n",
		       dev.suspended ? "suspended" : "active",
		       v.failed ? "FAILED: a write or commit to the leaf failed; writes and flushes are refused until the table is reloaded" :
		       v.read_only ? "read-only" : "read-write",
		       dev.open_count);
		printf("layers:     %u%s\n", v.nr_layers,
		       v.nl ? "" : " (module not asked)");
		if (v.nl && v.nl->nr_listed) {
			print_module_layers(v.nl);
		} else if (v.table_ok) {
			for (i = v.table.nr_layers; i-- > 0;)
				printf("  %3u  %s%s\n", v.table.nr_layers - i,
				       v.table.paths[i],
				       i == v.table.nr_layers - 1 ? "  (leaf)" :
				       i == 0 ? "  (base)" : "");
		}
		printf("table:      0 %" PRIu64 " %s %s\n", dev.sectors,
		       DMC_DM_TARGET, dev.params);
		printf("status:     %s\n", dev.status);
		if (v.nl && v.nl->has_merge)
			print_module_merge(v.nl);
	}
	view_free(&v);
	if (have_nl)
		dmc_nl_info_free(&info);
	dmc_dm_dev_free(&dev);
	return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	bool own_help;		/* handles -h/--help itself */
} device_cmds[] = {
	{ "create",   device_create,       false },
	{ "remove",   device_remove,       false },
	{ "list",     device_list,         false },
	{ "status",   device_status,       false },
	{ "merge",    device_cmd_merge,    true },
	{ "cancel",   device_cmd_cancel,   true },
	{ "snapshot", device_cmd_snapshot, true },
};

int cmd_device(int argc, char **argv)
{
	size_t i;
	int k;

	argc--;		/* past "device": argv[0] is the command */
	argv++;
	if (argc < 1) {
		device_usage(stderr);
		return EXIT_USAGE;
	}
	if (is_help_arg(argv[0])) {
		device_usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(device_cmds) / sizeof(device_cmds[0]); i++) {
		if (strcmp(argv[0], device_cmds[i].name))
			continue;
		for (k = 1; k < argc && !device_cmds[i].own_help; k++) {
			if (!strcmp(argv[k], "-h") ||
			    !strcmp(argv[k], "--help")) {
				device_usage(stdout);
				return 0;
			}
		}
		dmc_dm_init(g_opts.verbose);
		/* getopt's way: argv[0] is the command */
		return device_cmds[i].run(argc, argv);
	}
	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
			device_usage(stdout);
			return 0;
		}
	}
	errmsg("device: unknown command '%s' (try 'chainctl device help')",
	       argv[0]);
	return EXIT_USAGE;
}
