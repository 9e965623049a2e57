/*
 * test_cfg.c - the one libconfig reader (controller/cfg.h): each getter's
 * good, absent and bad cases, its one wording per mistake, sizes and
 * durations with units, and the one "file:line:" formatter (line 1 for a
 * setting without one, @included files by their path).
 */
#include "testpaths.h"

#include "controller/cfg.h"
#include "core/util.h"

#include <criterion/criterion.h>
#include <libconfig.h>

static char dir[PATH_MAX], path[PATH_MAX], err[1024];
static config_t cf;
static cfg_reader R;

static void setup(void)
{
	tp_mkdtemp(dir, sizeof dir);
	tp_join(path, sizeof path, dir, "c.conf");
	config_init(&cf);
	config_set_options(&cf, CONFIG_OPTION_AUTOCONVERT);
	config_set_include_dir(&cf, dir);
	R = (cfg_reader){ .file = path, .err = err, .errlen = sizeof err };
	err[0] = '\0';
}

static void teardown(void)
{
	config_destroy(&cf);
	tp_rmrf(dir);
}

TestSuite(cfg, .init = setup, .fini = teardown);

static const config_setting_t *read_text(const char *text)
{
	tp_write(path, text);
	cr_assert(config_read_file(&cf, path), "%d: %s", config_error_line(&cf),
		  config_error_text(&cf));
	return config_root_setting(&cf);
}

/* err is "<path>:<rest>". */
static void expect_err(const char *rest)
{
	char want[PATH_MAX + 512];

	snprintf(want, sizeof want, "%s:%s", path, rest);
	cr_assert_str_eq(err, want);
}

Test(cfg, parse_bytes_and_seconds)
{
	const char *rest;

	cr_assert_float_eq(cfg_parse_bytes("4096", NULL), 4096, 0);
	cr_assert_float_eq(cfg_parse_bytes("64K", NULL), 65536, 0);
	cr_assert_float_eq(cfg_parse_bytes("1.5m", NULL), 1.5 * 1048576, 0);
	cr_assert_float_eq(cfg_parse_bytes("8GiB", NULL), 8.0 * 1073741824, 0);
	cr_assert_float_eq(cfg_parse_bytes("2TB", NULL), 2.0 * 1099511627776, 0);
	cr_assert_lt(cfg_parse_bytes("-1K", NULL), 0);
	cr_assert_lt(cfg_parse_bytes("lots", NULL), 0);
	cr_assert_lt(cfg_parse_bytes("64Q", NULL), 0);
	cr_assert_lt(cfg_parse_bytes("", NULL), 0);
	cr_assert_float_eq(cfg_parse_bytes("50%", &rest), 50, 0);
	cr_assert_str_eq(rest, "%");
	cr_assert_float_eq(cfg_parse_seconds("1h30m"), 5400, 1e-9);
	cr_assert_float_eq(cfg_parse_seconds("250ms"), 0.25, 1e-12);
	cr_assert_lt(cfg_parse_seconds("5 minutes"), 0);
	cr_assert_lt(cfg_parse_seconds("-3s"), 0);
}

Test(cfg, getters_read_and_report_absence)
{
	const config_setting_t *g =
		read_text("s = \"x\"; i = 3; f = 2.5; b = true; d = \"1m\"; z = \"2K\";\n"
			  "e = \"warn\"; v = [\"a\", \"b\"];\n");
	static const char *const words[] = { "fail", "warn", NULL };
	const char *s = NULL;
	long long i = 0;
	double f = 0, d = 0;
	int b = 0, e = -1;
	unsigned long long z = 0;
	char **v = NULL;
	size_t n = 0;

	cr_assert_eq(cfg_get_str(&R, g, "s", &s), 1);
	cr_assert_str_eq(s, "x");
	cr_assert_eq(cfg_get_int(&R, g, "i", &i), 1);
	cr_assert_eq(i, 3);
	cr_assert_eq(cfg_get_num(&R, g, "i", &f), 1, "an integer is a number");
	cr_assert_float_eq(f, 3, 0);
	cr_assert_eq(cfg_get_num(&R, g, "f", &f), 1);
	cr_assert_eq(cfg_get_bool(&R, g, "b", &b), 1);
	cr_assert_eq(b, 1);
	cr_assert_eq(cfg_get_secs(&R, g, "d", &d), 1);
	cr_assert_float_eq(d, 60, 0);
	cr_assert_eq(cfg_get_size(&R, g, "z", 1e9, &z), 1);
	cr_assert_eq(z, 2048);
	cr_assert_eq(cfg_get_enum(&R, g, "e", words, &e), 1);
	cr_assert_eq(e, 1);
	cr_assert_eq(cfg_get_strv(&R, g, "v", &v, &n), 1);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[1], "b");
	cr_assert_null(v[2]);
	util_strv_free(v);
	/* Absent: 0, nothing touched, no message. */
	cr_assert_eq(cfg_get_int(&R, g, "nope", &i), 0);
	cr_assert_eq(i, 3);
	cr_assert_eq(cfg_get_secs_in(&R, g, "nope", 0, 1, 0, &d), 0);
	cr_assert_str_eq(err, "");
}

Test(cfg, each_mistake_has_its_one_wording)
{
	const config_setting_t *g =
		read_text("s = 1;\ni = \"3\";\nb = 1;\nd = \"5 parsecs\";\nw = 7.5;\n"
			  "z = \"64Q\";\nr = 9000;\ne = \"maybe\";\nk = 1;\n");
	static const char *const words[] = { "fail", "warn", "taint", NULL };
	static const char *const keys[] = { "s", "i", "b", NULL };
	const char *s;
	long long i;
	double d;
	int b, e;
	unsigned long long z;

	cr_assert_eq(cfg_get_str(&R, g, "s", &s), -1);
	expect_err("1: 's' must be a string, not an integer");
	cr_assert_eq(cfg_get_int(&R, g, "i", &i), -1);
	expect_err("2: 'i' must be an integer, not a string");
	cr_assert_eq(cfg_get_bool(&R, g, "b", &b), -1);
	expect_err("3: 'b' must be true or false, not an integer");
	cr_assert_eq(cfg_get_secs(&R, g, "d", &d), -1);
	expect_err(
		"4: 'd' must be seconds or a time like \"90s\", \"5m\", \"1h30m\", not \"5 parsecs\"");
	cr_assert_eq(cfg_get_secs_in(&R, g, "w", 1, 3600, 1, &d), -1);
	expect_err("5: 'w' must be whole seconds between 1 and 3600, not 7.5");
	cr_assert_eq(cfg_get_size(&R, g, "z", 1e9, &z), -1);
	expect_err("6: 'z' must be bytes or a size like \"64K\" or \"1M\", not \"64Q\"");
	cr_assert_eq(cfg_get_size_in(&R, g, "r", 4096, 8192, &z), -1);
	expect_err("7: 'r' must be between 4096 and 8192 bytes, not 9000");
	cr_assert_eq(cfg_get_int_in(&R, g, "r", 1, 1000, &i), -1);
	expect_err("7: 'r' must be between 1 and 1000, not 9000");
	cr_assert_eq(cfg_get_enum(&R, g, "e", words, &e), -1);
	expect_err("8: 'e' must be \"fail\", \"warn\" or \"taint\", not \"maybe\"");
	cr_assert_eq(cfg_check_keys(&R, g, "a test", keys), -1);
	expect_err("4: unknown key 'd' in a test (allowed there: s, i, b)");
	/* The root has no line of its own: line 1. */
	cr_assert_eq(cfg_missing(&R, g, "x", "the file"), -1);
	expect_err("1: missing required key 'x' in the file");
	cr_assert_eq(cfg_need(&R, g, "s", "here", cfg_get_str(&R, g, "s", &s)), -1);
	expect_err("1: 's' must be a string, not an integer");
}

Test(cfg, prefix_and_included_files)
{
	char inc[PATH_MAX], want[PATH_MAX + 256];
	const config_setting_t *g;
	long long i;

	tp_write(tp_join(inc, sizeof inc, dir, "part.inc"), "\n\nn = \"x\";\n");
	g = read_text("a = 1;\n@include \"part.inc\"\n");
	R.prefix = "threshold 2: ";
	cr_assert_eq(cfg_get_int(&R, g, "n", &i), -1);
	/* Named by its path, not as written relative to the include folder. */
	snprintf(want, sizeof want, "%s:3: threshold 2: 'n' must be an integer, not a string", inc);
	cr_assert_str_eq(err, want);
	cr_assert_eq(cfg_fail_at(&R, NULL, 0, "at %d", 0), -1);
	expect_err("1: threshold 2: at 0");
}

Test(cfg, sizes_with_units_and_their_limit)
{
	const config_setting_t *g =
		read_text("a = \"16MiB\";\nb = \"2TiB\";\nc = 5000000000L;\nd = \"1.5K\";\n"
			  "e = true;\nf = \"50%\";\n");
	unsigned long long z = 0;

	cr_assert_eq(cfg_get_size_in(&R, g, "a", 4096, 1ULL << 30, &z), 1);
	cr_assert_eq(z, 16ULL << 20);
	cr_assert_eq(cfg_get_size(&R, g, "d", 1e9, &z), 1);
	cr_assert_eq(z, 1536);
	/* Over the limit: the field, its limits and the value as written. */
	cr_assert_eq(cfg_get_size_in(&R, g, "b", 4096, 1ULL << 30, &z), -1);
	expect_err("2: 'b' must be between 4096 and 1073741824 bytes, not \"2TiB\"");
	cr_assert_eq(cfg_get_size(&R, g, "c", 1e9, &z), -1);
	expect_err("3: 'c' must be between 0 and 1000000000 bytes, not 5000000000");
	cr_assert_eq(cfg_get_size(&R, g, "e", 1e9, &z), -1);
	expect_err("5: 'e' must be bytes or a size like \"64K\", not a boolean");
	cr_assert_eq(cfg_get_size(&R, g, "f", 1e9, &z), -1, "a share is not a size");
	expect_err("6: 'f' must be bytes or a size like \"64K\" or \"1M\", not \"50%\"");
	cr_assert_eq(z, 1536, "a bad size leaves *out alone");
}

Test(cfg, durations_with_units_and_their_range)
{
	const config_setting_t *g =
		read_text("a = \"1h30m\";\nb = 2.5;\nc = \"250ms\";\nd = -1;\ne = \"2d\";\n"
			  "f = [1];\n");
	double d = 0;

	cr_assert_eq(cfg_get_secs(&R, g, "a", &d), 1);
	cr_assert_float_eq(d, 5400, 1e-9);
	cr_assert_eq(cfg_get_secs_in(&R, g, "b", 1, 10, 0, &d), 1);
	cr_assert_float_eq(d, 2.5, 0);
	cr_assert_eq(cfg_get_secs_in(&R, g, "c", 0.001, 1, 0, &d), 1);
	cr_assert_float_eq(d, 0.25, 1e-12);
	cr_assert_eq(cfg_get_secs(&R, g, "d", &d), -1);
	expect_err("4: 'd' must not be negative");
	cr_assert_eq(cfg_get_secs_in(&R, g, "e", 0, 3600, 0, &d), -1);
	expect_err("5: 'e' must be seconds between 0 and 3600, not \"2d\"");
	cr_assert_eq(cfg_get_secs(&R, g, "f", &d), -1);
	expect_err("6: 'f' must be seconds or a time like \"5m\", not an array [ ... ]");
	cr_assert_float_eq(d, 0.25, 1e-12, "a bad duration leaves *out alone");
}

Test(cfg, the_other_getters_bad_cases)
{
	const config_setting_t *g =
		read_text("n = \"many\";\nm = 0.5;\ne = 3;\nv = \"one\";\nw = (\"a\", 2);\n"
			  "i = 3;\n");
	static const char *const words[] = { "fail", "warn", NULL };
	double f;
	long long i = 0;
	int e;
	char **v = NULL;
	size_t n;

	cr_assert_eq(cfg_get_num(&R, g, "n", &f), -1);
	expect_err("1: 'n' must be a number, not a string");
	cr_assert_eq(cfg_get_num_in(&R, g, "m", 1, 2, &f), -1);
	expect_err("2: 'm' must be between 1 and 2, not 0.5");
	cr_assert_eq(cfg_get_num_in(&R, g, "m", 0, 1, &f), 1);
	cr_assert_float_eq(f, 0.5, 0);
	cr_assert_eq(cfg_get_enum(&R, g, "e", words, &e), -1);
	expect_err("3: 'e' must be \"fail\" or \"warn\", not an integer");
	cr_assert_eq(cfg_get_strv(&R, g, "v", &v, &n), -1);
	expect_err("4: 'v' must be an array of strings [\"a\", \"b\"], not a string");
	cr_assert_null(v);
	cr_assert_eq(cfg_get_strv(&R, g, "w", &v, &n), -1);
	expect_err("5: 'w' must hold strings only, not an integer");
	util_strv_free(v);
	cr_assert_eq(cfg_get_int_in(&R, g, "i", 1, 5, &i), 1);
	cr_assert_eq(i, 3);
}

Test(cfg, required_keys_and_unknown_keys_name_their_line)
{
	const config_setting_t *g = read_text("j = {\n  name = \"a\";\n  colour = 1;\n};\n");
	const config_setting_t *j = config_setting_get_member(g, "j");
	static const char *const keys[] = { "name", "volume", NULL };
	const char *s;

	cr_assert_eq(cfg_check_keys(&R, j, "a journey", keys), -1);
	expect_err("3: unknown key 'colour' in a journey (allowed there: name, volume)");
	cr_assert_eq(cfg_need(&R, j, "volume", "a journey", cfg_get_str(&R, j, "volume", &s)), -1);
	expect_err("1: missing required key 'volume' in a journey");
	cr_assert_eq(cfg_need(&R, j, "name", "a journey", cfg_get_str(&R, j, "name", &s)), 0);
	cr_assert_eq(cfg_is_group(&R, config_setting_get_member(j, "colour")), -1);
	expect_err("3: 'colour' must be a group { ... }, not an integer");
	cr_assert_eq(cfg_is_group(&R, j), 0);
}

Test(cfg, the_line_is_never_0)
{
	read_text("a = 1;\n");
	/* No setting at all, and libconfig's 0 for "no line": both line 1. */
	cr_assert_eq(cfg_fail(&R, NULL, "x"), -1);
	expect_err("1: x");
	cr_assert_eq(cfg_fail_at(&R, NULL, 0, "y"), -1);
	expect_err("1: y");
	cr_assert_eq(cfg_fail(&R, config_root_setting(&cf), "z"), -1);
	expect_err("1: z");
	/* A message longer than the buffer is cut, never overrun. */
	R.errlen = 8;
	cr_assert_eq(cfg_fail(&R, NULL, "%s", "a long message"), -1);
	cr_assert_eq(strlen(err), 7);
}

/* The runner's size config keys (http_body_limit, ws_max_message, ...) go
 * through util_parse_size: each suffix, and what is not a size. */
Test(cfg, runner_sizes_parse_or_refuse)
{
	size_t n = 0;

	cr_assert_eq(util_parse_size("512", &n), 0);
	cr_assert_eq(n, 512);
	cr_assert_eq(util_parse_size("16K", &n), 0);
	cr_assert_eq(n, 16 << 10);
	cr_assert_eq(util_parse_size("16MiB", &n), 0);
	cr_assert_eq(n, 16 << 20);
	cr_assert_eq(util_parse_size("2g", &n), 0);
	cr_assert_eq(n, (size_t)2 << 30);
	cr_assert_eq(util_parse_size("0", &n), -1);
	cr_assert_eq(util_parse_size("-1", &n), -1);
	cr_assert_eq(util_parse_size("16KB", &n), -1);
	cr_assert_eq(util_parse_size("1T", &n), -1);
	cr_assert_eq(util_parse_size("", &n), -1);
	cr_assert_eq(util_parse_size("99999999999999999999", &n), -1);
	cr_assert_eq(util_parse_size("18446744073709551615G", &n), -1);
}

/* The list mited logs when plugin_dirs change on reload. */
Test(cfg, string_vectors_join)
{
	char *const none[] = { NULL }, *const one[] = { "/a", NULL },
		    *const three[] = { "/a", "/bb", "/ccc", NULL };
	char *s;

	cr_assert_str_eq(s = util_strv_join(NULL), "");
	free(s);
	cr_assert_str_eq(s = util_strv_join(none), "");
	free(s);
	cr_assert_str_eq(s = util_strv_join(one), "/a");
	free(s);
	cr_assert_str_eq(s = util_strv_join(three), "/a, /bb, /ccc");
	free(s);
}
