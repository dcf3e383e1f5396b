// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/qemu_img.c, the qemu-img driving behind `layer import`
 * and `layer export`: reading `qemu-img map --output=json` into an image's
 * own allocation (present, zero, depth), reading `qemu-img info
 * --backing-chain`, the block size a chain allows, the json: filenames
 * (paths with quotes), file stems, convert -p's percentage, and running a
 * tool (exit status, stderr in the message, a tool that is not installed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "qemu_img.h"

#define K 1024ULL
#define M (1024ULL * 1024)

/* What qemu-img 7.2 prints for a qcow2 overlay opened with "backing": null. */
static const char map_alone[] =
	"[{ \"start\": 0, \"length\": 524288, \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false},\n"
	"{ \"start\": 524288, \"length\": 131072, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 327680},\n"
	"{ \"start\": 655360, \"length\": 2490368, \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false},\n"
	"{ \"start\": 3145728, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false},\n"
	"{ \"start\": 3211264, \"length\": 5177344, \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false}]\n";

static void expect_ext(const struct qimg_map *m, size_t i, uint64_t start,
		       uint64_t length, enum qimg_kind kind)
{
	assert_true(i < m->nr);
	assert_int_equal(m->ext[i].start, start);
	assert_int_equal(m->ext[i].length, length);
	assert_int_equal(m->ext[i].kind, kind);
}

static void test_map_alone(void **state)
{
	struct qimg_map m;
	char why[256];

	(void)state;
	assert_int_equal(qimg_parse_map(map_alone, 8 * M, &m, why, sizeof(why)), 0);
	assert_int_equal(m.nr, 5);
	expect_ext(&m, 0, 0, 512 * K, QIMG_ABSENT);
	expect_ext(&m, 1, 512 * K, 128 * K, QIMG_DATA);
	expect_ext(&m, 2, 640 * K, 2432 * K, QIMG_ABSENT);
	expect_ext(&m, 3, 3 * M, 64 * K, QIMG_ZERO);
	expect_ext(&m, 4, 3 * M + 64 * K, 8 * M - 3 * M - 64 * K, QIMG_ABSENT);
	qimg_map_free(&m);
}

/* Mapped with its backing file: only depth 0 is the image's own. */
static void test_map_depth_and_joining(void **state)
{
	static const char json[] =
		"[{\"start\":0,\"length\":65536,\"depth\":1,\"present\":true,\"zero\":false,\"data\":true},"
		"{\"start\":65536,\"length\":65536,\"depth\":0,\"present\":true,\"zero\":false,\"data\":true,\"offset\":1},"
		"{\"start\":131072,\"length\":65536,\"depth\":0,\"present\":true,\"zero\":false,\"data\":true,\"offset\":9},"
		"{\"start\":196608,\"length\":65536,\"depth\":0,\"present\":true,\"zero\":true,\"data\":true},"
		"{\"start\":262144,\"length\":65536,\"depth\":2,\"present\":false,\"zero\":true,\"data\":false}]";
	struct qimg_map m;
	char why[256];

	(void)state;
	assert_int_equal(qimg_parse_map(json, 320 * K, &m, why, sizeof(why)), 0);
	/* Two data entries at different file offsets are one run; an
	 * allocated cluster that reads zero is ZERO. */
	assert_int_equal(m.nr, 4);
	expect_ext(&m, 0, 0, 64 * K, QIMG_ABSENT);
	expect_ext(&m, 1, 64 * K, 128 * K, QIMG_DATA);
	expect_ext(&m, 2, 192 * K, 64 * K, QIMG_ZERO);
	expect_ext(&m, 3, 256 * K, 64 * K, QIMG_ABSENT);
	qimg_map_free(&m);
}

/* Before QEMU 6.0 there was no "present": data is what tells. */
static void test_map_without_present(void **state)
{
	static const char json[] =
		"[{\"start\":0,\"length\":4096,\"depth\":0,\"zero\":false,\"data\":true},"
		"{\"start\":4096,\"length\":4096,\"depth\":0,\"zero\":true,\"data\":false}]";
	struct qimg_map m;
	char why[256];

	(void)state;
	assert_int_equal(qimg_parse_map(json, 8 * K, &m, why, sizeof(why)), 0);
	assert_int_equal(m.nr, 2);
	expect_ext(&m, 0, 0, 4 * K, QIMG_DATA);
	expect_ext(&m, 1, 4 * K, 4 * K, QIMG_ABSENT);
	qimg_map_free(&m);
}

static void expect_bad_map(const char *json, uint64_t size, const char *why_part)
{
	struct qimg_map m;
	char why[256];

	why[0] = '\0';
	assert_int_equal(qimg_parse_map(json, size, &m, why, sizeof(why)), -1);
	assert_non_null(strstr(why, why_part));
	assert_null(m.ext);
}

static void test_map_refused(void **state)
{
	(void)state;
	expect_bad_map("{}", 4096, "not a JSON array");
	expect_bad_map("[{\"start\":0,\"length\":4096,\"de", 4096, "not a JSON array");
	expect_bad_map("[{\"start\":0,\"length\":4096}]", 4096, "no start, length or depth");
	/* A gap, an overlap, an entry past the end, too short a cover. */
	expect_bad_map("[{\"start\":0,\"length\":4096,\"depth\":0},"
		       "{\"start\":8192,\"length\":4096,\"depth\":0}]", 12288, "does not follow");
	expect_bad_map("[{\"start\":0,\"length\":8192,\"depth\":0},"
		       "{\"start\":4096,\"length\":4096,\"depth\":0}]", 12288, "does not follow");
	expect_bad_map("[{\"start\":0,\"length\":8192,\"depth\":0}]", 4096, "does not follow");
	expect_bad_map("[{\"start\":0,\"length\":4096,\"depth\":0}]", 8192, "end at 4096");
	expect_bad_map("[{\"start\":0,\"length\":-4096,\"depth\":0}]", 8192, "no start");
}

static struct qimg_map map_of(const struct qimg_extent *e, size_t n)
{
	struct qimg_map m = { n, malloc(n * sizeof(*e)) };

	memcpy(m.ext, e, n * sizeof(*e));
	return m;
}

static void test_alignment(void **state)
{
	const struct qimg_extent a[] = {
		{ 0, 128 * K, QIMG_DATA }, { 128 * K, 64 * K, QIMG_ZERO },
		{ 192 * K, 1000, QIMG_ABSENT },	/* the end needs no alignment */
	};
	const struct qimg_extent b[] = {
		{ 0, 12 * K, QIMG_ABSENT }, { 12 * K, 4 * K, QIMG_DATA },
	};
	const struct qimg_extent c[] = {
		{ 0, 1536, QIMG_DATA }, { 1536, 4 * K, QIMG_ABSENT },
	};
	struct qimg_map ma = map_of(a, 3), mb = map_of(b, 2), mc = map_of(c, 2);
	uint64_t bad = 0;

	(void)state;
	assert_int_equal(qimg_map_alignment(&ma, 2 * M), 64 * K);
	assert_int_equal(qimg_map_alignment(&ma, 32 * K), 32 * K);
	assert_int_equal(qimg_map_alignment(&mb, 2 * M), 4 * K);
	assert_int_equal(qimg_map_alignment(&mc, 2 * M), 512);
	assert_false(qimg_map_misaligned(&ma, 64 * K, &bad));
	assert_true(qimg_map_misaligned(&ma, 128 * K, &bad));
	assert_int_equal(bad, 192 * K);
	assert_true(qimg_map_misaligned(&mb, 8 * K, &bad));
	assert_int_equal(bad, 12 * K);
	qimg_map_free(&ma);
	qimg_map_free(&mb);
	qimg_map_free(&mc);
}

static void test_pick_block(void **state)
{
	struct qimg_image im[2] = {
		{ .cluster_size = 64 * K }, { .cluster_size = 2 * M },
	};
	struct qimg_chain ch = { 2, im };
	const struct qimg_extent whole[] = { { 0, 8 * M, QIMG_DATA } };
	const struct qimg_extent at16k[] = {
		{ 0, 16 * K, QIMG_DATA }, { 16 * K, 8 * M - 16 * K, QIMG_ABSENT },
	};
	const struct qimg_extent at2k[] = {
		{ 0, 2 * K, QIMG_DATA }, { 2 * K, 8 * M - 2 * K, QIMG_ABSENT },
	};
	struct qimg_map maps[2] = { map_of(whole, 1), map_of(whole, 1) };

	(void)state;
	/* The smallest cluster size. */
	assert_int_equal(qimg_pick_block(&ch, maps, 64 * K, 4 * K, 2 * M), 64 * K);
	/* Cluster sizes beyond dm-chain's range are brought into it. */
	im[0].cluster_size = 4 * M;
	im[1].cluster_size = 8 * M;
	assert_int_equal(qimg_pick_block(&ch, maps, 64 * K, 4 * K, 2 * M), 2 * M);
	im[0].cluster_size = 512;
	assert_int_equal(qimg_pick_block(&ch, maps, 64 * K, 4 * K, 2 * M), 4 * K);
	/* No cluster size (raw): the default. */
	im[0].cluster_size = im[1].cluster_size = 0;
	assert_int_equal(qimg_pick_block(&ch, maps, 64 * K, 4 * K, 2 * M), 64 * K);
	/* Lowered to what an image's allocation needs... */
	qimg_map_free(&maps[1]);
	maps[1] = map_of(at16k, 2);
	assert_int_equal(qimg_pick_block(&ch, maps, 64 * K, 4 * K, 2 * M), 16 * K);
	/* ...and refused below the smallest block. */
	qimg_map_free(&maps[1]);
	maps[1] = map_of(at2k, 2);
	assert_int_equal(qimg_pick_block(&ch, maps, 64 * K, 4 * K, 2 * M), 0);
	qimg_map_free(&maps[0]);
	qimg_map_free(&maps[1]);
}

static const char info_chain[] =
	"[{\"backing-filename-format\":\"qcow2\",\"virtual-size\":8388608,"
	"\"filename\":\"/d/top.qcow2\",\"cluster-size\":65536,\"format\":\"qcow2\","
	"\"full-backing-filename\":\"/d/base.img\",\"backing-filename\":\"base.img\","
	"\"format-specific\":{\"type\":\"qcow2\",\"data\":{\"compat\":\"1.1\"}}},"
	"{\"virtual-size\":8388608,\"filename\":\"/d/base.img\",\"format\":\"raw\","
	"\"encrypted\":true}]";

static void test_info(void **state)
{
	struct qimg_chain c;
	char why[256];

	(void)state;
	assert_int_equal(qimg_parse_info(info_chain, &c, why, sizeof(why)), 0);
	assert_int_equal(c.nr, 2);
	assert_string_equal(c.images[0].filename, "/d/top.qcow2");
	assert_string_equal(c.images[0].format, "qcow2");
	assert_int_equal(c.images[0].virtual_size, 8 * M);
	assert_int_equal(c.images[0].cluster_size, 64 * K);
	assert_true(c.images[0].has_backing);
	assert_true(c.images[0].backing_format);
	assert_false(c.images[0].encrypted);
	assert_false(c.images[0].data_file);
	assert_string_equal(c.images[1].format, "raw");
	assert_int_equal(c.images[1].cluster_size, 0);
	assert_false(c.images[1].has_backing);
	assert_true(c.images[1].encrypted);
	qimg_chain_free(&c);

	assert_int_equal(qimg_parse_info(
		"[{\"virtual-size\":512,\"filename\":\"/a\",\"format\":\"qcow2\","
		"\"format-specific\":{\"type\":\"qcow2\",\"data\":{\"data-file\":\"/b\"}}}]",
		&c, why, sizeof(why)), 0);
	assert_true(c.images[0].data_file);
	qimg_chain_free(&c);
}

static void test_info_refused(void **state)
{
	struct qimg_chain c;
	char why[256];

	(void)state;
	assert_int_equal(qimg_parse_info("[]", &c, why, sizeof(why)), -1);
	assert_string_equal(why, "no image");
	assert_int_equal(qimg_parse_info("{\"filename\":\"x\"}", &c, why, sizeof(why)), -1);
	assert_int_equal(qimg_parse_info("[{\"filename\":\"x\",\"format\":\"raw\"}]",
					 &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "virtual-size"));
	/* A backing file named but not listed. */
	assert_int_equal(qimg_parse_info(
		"[{\"virtual-size\":512,\"filename\":\"/a\",\"format\":\"qcow2\","
		"\"backing-filename\":\"b\"}]", &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not listed"));
	assert_int_equal(c.nr, 0);
	assert_null(c.images);
}

/* A json: filename must reach qemu with the path unchanged. */
static void test_specs(void **state)
{
	const char *path = "/a b/c\"d'e,f:g\\h.qcow2";
	struct json_object *o, *f, *v;
	char *s;

	(void)state;
	s = qimg_spec_alone(path, "qcow2", true);
	assert_non_null(s);
	assert_memory_equal(s, "json:", 5);
	o = json_tokener_parse(s + 5);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "driver", &v));
	assert_string_equal(json_object_get_string(v), "qcow2");
	assert_true(json_object_object_get_ex(o, "backing", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "file", &f));
	assert_true(json_object_object_get_ex(f, "filename", &v));
	assert_string_equal(json_object_get_string(v), path);
	json_object_put(o);
	free(s);

	s = qimg_spec_alone(path, "raw", false);
	o = json_tokener_parse(s + 5);
	assert_false(json_object_object_get_ex(o, "backing", &v));
	json_object_put(o);
	free(s);

	s = qimg_spec_window(path, 1 * M, 8 * M);
	o = json_tokener_parse(s + 5);
	assert_true(json_object_object_get_ex(o, "offset", &v));
	assert_int_equal(json_object_get_int64(v), 1 * M);
	assert_true(json_object_object_get_ex(o, "size", &v));
	assert_int_equal(json_object_get_int64(v), 8 * M);
	json_object_put(o);
	free(s);
}

static void expect_str(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_names(void **state)
{
	(void)state;
	expect_str(qimg_stem("/d/disk.qcow2"), "disk");
	expect_str(qimg_stem("disk.v1.qcow2"), "disk.v1");
	expect_str(qimg_stem("d.x/disk"), "disk");
	expect_str(qimg_stem("/d/.hidden"), ".hidden");
	expect_str(qimg_plain_path("/abs/p:q"), "/abs/p:q");
	expect_str(qimg_plain_path("nbd:x"), "./nbd:x");
	expect_str(qimg_plain_path("json:{}"), "./json:{}");
}

static void test_percent(void **state)
{
	static const char out[] = "    (0.00/100%)\r    (12.50/100%)\r    (37.5";
	double f = -1;

	(void)state;
	assert_true(qimg_parse_percent(out, sizeof(out) - 1, &f));
	assert_true(f > 0.1249 && f < 0.1251);	/* the last complete one */
	assert_true(qimg_parse_percent("(100.00/100%)", 13, &f));
	assert_true(f > 0.999);
	assert_false(qimg_parse_percent("(12.5/100", 9, &f));
	assert_false(qimg_parse_percent("(x/100%)", 8, &f));
	assert_false(qimg_parse_percent("(250/100%)", 10, &f));
}

static void test_run(void **state)
{
	char *echo[] = { "echo", "a b", NULL };
	char *fails[] = { "sh", "-c", "echo the reason >&2; exit 3", NULL };
	char *stdout_reason[] = { "sh", "-c", "echo write failed: EIO; exit 1", NULL };
	char *missing[] = { "qemu-img-that-is-not-there", NULL };
	struct qtool_opts o = { .want_stdout = true };
	struct dmc_err err;
	char *out;

	(void)state;
	dmc_err_clear(&err);
	assert_int_equal(qtool_run(echo, &o, "f", &out, &err), 0);
	assert_string_equal(out, "a b\n");
	free(out);

	assert_int_equal(qtool_run(fails, &o, "img.qcow2", &out, &err), -1);
	assert_null(out);
	assert_string_equal(err.msg, "img.qcow2: sh failed (exit status 3): the reason");

	dmc_err_clear(&err);
	assert_int_equal(qtool_run(stdout_reason, NULL, "x", NULL, &err), -1);
	assert_string_equal(err.msg, "x: sh failed (exit status 1): write failed: EIO");

	dmc_err_clear(&err);
	assert_int_equal(qtool_run(missing, NULL, "x", NULL, &err), -1);
	assert_string_equal(err.msg,
			    "qemu-img-that-is-not-there not found (install qemu-utils)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_alone),
		cmocka_unit_test(test_map_depth_and_joining),
		cmocka_unit_test(test_map_without_present),
		cmocka_unit_test(test_map_refused),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_pick_block),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_info_refused),
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests_name("qemu_img", tests, NULL, NULL);
}
