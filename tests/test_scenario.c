/*
 * test_scenario.c - scenario files: a file using every feature, config
 * overrides, the one-journey scenario, and a broken file per kind of error,
 * each with the exact "file:line: message" it must produce.
 *
 * Each test copies tests/scenarios/ and the test plugins into a scratch
 * folder, so that module paths are relative to the scenario as users write
 * them and the containment check (modules inside the scenario's folder)
 * holds.
 */
#include "testpaths.h"

#include "controller/scenario.h"
#include "core/coro.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>

static char tmp[PATH_MAX];
static char err[4 * PATH_MAX];

static void setup(void)
{
	static const char *const plugins[] = { "good", "badabi", "nosym", "crash" };
	char src[PATH_MAX], dst[PATH_MAX], name[64];

	tp_mkdtemp(tmp, sizeof(tmp));
	cr_assert_eq(tp_copy_dir(tp_join(src, sizeof(src), tp_srcdir(), "tests/scenarios"), tmp), 0,
		     "copy %s", src);
	for (size_t i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++) {
		snprintf(name, sizeof(name), "%s.so", plugins[i]);
		tp_plugin(src, sizeof(src), plugins[i]);
		cr_assert_eq(tp_copy(src, tp_join(dst, sizeof(dst), tmp, name)), 0, "copy %s", src);
	}
}

static void teardown(void)
{
	tp_rmrf(tmp);
}

TestSuite(scenario, .init = setup, .fini = teardown);

static scenario *load(const char *file, const scenario_opts *o)
{
	char path[PATH_MAX];
	scenario_opts none = { 0 };

	err[0] = '\0';
	return scenario_load(tp_join(path, sizeof(path), tmp, file), o ? o : &none, err,
			     sizeof(err));
}

/* `tmpl` with every "@D" replaced by the scratch folder. */
static void expand(char *out, size_t len, const char *tmpl)
{
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 1 < len; p++) {
		if (p[0] == '@' && p[1] == 'D') {
			n += (size_t)snprintf(out + n, len - n, "%s", tmp);
			p++;
		} else {
			out[n++] = *p;
		}
	}
	out[n < len ? n : len - 1] = '\0';
}

static int loaded(const char *so)
{
	char path[PATH_MAX];
	void *h = dlopen(tp_join(path, sizeof(path), tmp, so), RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

/* A broken scenario: loading fails with exactly "<tmp>/<file>:<rest>" (or
 * `rest` alone when it starts with "@D", for errors located elsewhere), and
 * leaves no module loaded. */
static void expect_fail(const char *file, const char *rest)
{
	char want[4 * PATH_MAX], tmpl[2048];
	scenario *s = load(file, NULL);

	cr_assert_null(s, "%s loaded", file);
	if (rest[0] == '@')
		snprintf(tmpl, sizeof(tmpl), "%s", rest);
	else
		snprintf(tmpl, sizeof(tmpl), "@D/%s:%s", file, rest);
	expand(want, sizeof(want), tmpl);
	cr_assert_str_eq(err, want);
	cr_assert_eq(strchr(err, '\n'), NULL, "one line");
	cr_assert(!loaded("good.so"), "good.so left loaded after a failure");
}

/* The test names are the files' names with '-' as '_'; C names cannot hold '-'. */
#define BADF(test, file, rest)           \
	Test(scenario, test)             \
	{                                \
		expect_fail(file, rest); \
	}

BADF(syntax, "bad-syntax.conf", "3: syntax error")
BADF(unknown_root_key, "bad-unknown-root.conf",
     "2: unknown key 'durration' in the scenario (allowed there: name, duration, pool_policy, "
     "config, journeys, thresholds, verdict, hosts, local)")
BADF(unknown_volume_key, "bad-unknown-volume.conf",
     "5: unknown key 'cout' in a constant volume (allowed there: type, count, duration)")
BADF(no_journeys, "bad-no-journeys.conf", "1: missing required key 'journeys' in the scenario")
BADF(journeys_empty, "bad-journeys-empty.conf",
     "1: 'journeys' is empty: a scenario needs at least one journey")
BADF(no_journey, "bad-no-journey.conf", "3: missing required key 'journey' in a journey")
BADF(count_type, "bad-count-type.conf", "3: 'count' must be an integer, not a string")
BADF(count_negative, "bad-count-negative.conf", "3: 'count' must be >= 0, not -3")
BADF(volume_type, "bad-volume-type.conf",
     "3: unknown volume type \"linear\" (known: constant, ramp, stages, oneshot, arrival; or "
     "plugin = \"module.so:symbol\")")
BADF(volume_missing, "bad-volume-missing.conf", "2: missing required key 'volume' in a journey")
BADF(mode, "bad-mode.conf",
     "3: 'mode' must be \"iterable\", \"recyclable\" or \"single\", not \"cyclic\"")
BADF(module_missing, "bad-module-missing.conf",
     "2: cannot find module 'missing.so' (looked in: @D)")
BADF(nosym, "bad-nosym.conf", "2: @D/nosym.so has no symbol 'journey'")
BADF(spec, "bad-spec.conf", "2: 'good.so' names no symbol (expected \"module.so:symbol\")")
BADF(csv_quote, "bad-csv-quote.conf", "@D/bad-quote.csv:3: unterminated quoted field")
BADF(csv_fields, "bad-csv-fields.conf", "@D/bad-fields.csv:4: 2 fields where the header has 3")
BADF(csv_missing, "bad-csv-missing.conf", "4: cannot read @D/nope.csv: No such file or directory")
BADF(pool_refuse, "bad-pool-refuse.conf",
     "4: journey 'small': its recyclable datapool has 2 rows but its volume asks for up to 5 "
     "instances (pool_policy = \"refuse\")")
BADF(pool_policy, "bad-pool-policy.conf",
     "1: 'pool_policy' must be \"wait\" or \"refuse\", not \"block\"")
BADF(hosts, "bad-hosts.conf",
     "1: 'hosts' must be \"all\", \"none\", a number or \"label=NAME\" (NAME of 1 to 128 bytes), "
     "not \"some\"")
BADF(hosts_count, "bad-hosts-count.conf",
     "1: 'hosts' = 0: a number of hosts must be from 1 to 100000")
BADF(local, "bad-local.conf", "1: 'local' must be true or false, not a string")
BADF(include_error_located_in_include, "bad-include.conf",
     "@D/bad-include.inc:2: unknown key 'cuont' in a constant volume (allowed there: type, "
     "count, duration)")
BADF(include_missing, "bad-include-missing.conf",
     "3: cannot open include file \"nope.inc\" (@D/nope.inc): No such file or directory")
BADF(dup_name, "bad-dup-name.conf", "3: journey name 'a' is already used by the journey at line 2")
BADF(dup_spec, "bad-dup-spec.conf",
     "3: journey name 'good.so:journey' is already used by the journey at line 2; give each a "
     "distinct 'name'")
BADF(stack, "bad-stack.conf",
     "3: 'stack_size' must be between 16384 and 67108864 bytes, not \"1K\"")
BADF(inline_width, "bad-inline-width.conf", "5: row 2 has 1 value where the first row has 2")
BADF(inline_columns, "bad-inline-columns.conf", "4: row 1 has 2 values where 'columns' names 3")
BADF(range_columns, "bad-range-columns.conf",
     "4: 'columns' names 1 column but the range has 2 (one per offset)")
BADF(vm_not_function, "bad-vm-not-function.conf", "3: @D/good.so: 'pool' is not a function")
BADF(pool_plugin_abi, "bad-pool-plugin-abi.conf",
     "3: datapool plugin good.so:oldpool was built for mite ABI 999; this mite speaks ABI 1")
BADF(pool_plugin_open, "bad-pool-plugin-open.conf",
     "3: datapool plugin good.so:pool failed to open: asked to fail")
BADF(type_and_plugin, "bad-type-and-plugin.conf",
     "3: a datapool has either 'type' or 'plugin', not both")
BADF(duration, "bad-duration.conf",
     "1: 'duration' must be seconds or a time like \"90s\", \"5m\", \"1h30m\", not \"5 minutes\"")
BADF(ramp_missing, "bad-ramp-missing.conf", "3: missing required key 'over' in a ramp volume")
BADF(stages_step, "bad-stages-step.conf",
     "5: step 2 needs either 'count' and 'duration' (a constant step) or 'to' and 'over' (a "
     "ramp)")
BADF(config_type, "bad-config-type.conf",
     "3: config value 'a' must be a string, number or boolean, not an array [ ... ]")
BADF(arrival_both, "bad-arrival.conf",
     "3: an arrival volume needs either 'rate' (starts per second) or 'to' and 'over' (a "
     "changing rate)")

Test(scenario, abi_refused_before_module_code_runs)
{
	char marker[PATH_MAX];

	tp_join(marker, sizeof(marker), tmp, "constructor-ran");
	setenv("MITE_TEST_MARKER", marker, 1);
	expect_fail("bad-abi.conf",
		    "2: @D/badabi.so was built for mite ABI 999; this mite speaks ABI 1");
	cr_assert_neq(access(marker, F_OK), 0, "badabi.so's constructor ran");
}

/* The volume is not the scenario file's business: a huge one loads, and is
 * refused before a run starts, per runner process (test_capacity.c). */
Test(scenario, huge_volume_loads)
{
	scenario *s = load("huge-volume.conf", NULL);

	cr_assert_not_null(s, "%s", err);
	scenario_free(s);
}

Test(scenario, unreadable_file)
{
	char want[PATH_MAX + 64];

	cr_assert_null(load("nope.conf", NULL));
	snprintf(want, sizeof(want), "%s/nope.conf: cannot read: No such file or directory", tmp);
	cr_assert_str_eq(err, want);
}

Test(scenario, hosts_and_local)
{
	scenario *s = load("hosts.conf", NULL);

	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(s->hosts, "label=eu");
	cr_assert_eq(s->local, 0);
	scenario_free(s);
	s = load("minimal.conf", NULL);
	cr_assert_not_null(s, "%s", err);
	cr_assert_null(s->hosts, "absent: mited's default");
	cr_assert_eq(s->local, -1);
	scenario_free(s);
}

Test(scenario, everything)
{
	scenario *s = load("good.conf", NULL);
	const scn_journey *j;
	mite_row *r;
	char e[256], want[PATH_MAX];

	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(s->name, "everything");
	cr_assert_str_eq(s->path, tp_join(want, sizeof(want), tmp, "good.conf"));
	cr_assert_str_eq(s->dir, tmp);
	cr_assert_float_eq(s->duration, 90, 1e-9);
	cr_assert_eq(s->pool_refuse_small, 0);
	cr_assert_eq(s->njourneys, 6);

	cr_assert_str_eq(kvl_get(&s->config, "test_msg"), "hi");
	cr_assert_str_eq(kvl_get(&s->config, "n"), "3");
	cr_assert_str_eq(kvl_get(&s->config, "f"), "0.25");
	cr_assert_str_eq(kvl_get(&s->config, "on"), "true");
	cr_assert_str_eq(kvl_get(&s->config, "big"), "5000000000");

	/* inline */
	j = &s->journeys[0];
	cr_assert_str_eq(j->name, "inline");
	cr_assert_str_eq(j->spec, "good.so:journey");
	cr_assert_str_eq(j->module_path, tp_join(want, sizeof(want), tmp, "good.so"));
	cr_assert_str_eq(j->symbol, "journey");
	cr_assert_eq(j->stack_size, 128 * 1024);
	cr_assert_eq(j->line, 13);
	cr_assert_not_null(j->mod);
	cr_assert_str_eq(pool_describe(j->pool), "inline (3 rows, recyclable)");
	cr_assert_str_eq(vmodel_describe(j->volume), "constant 2 for 30 s");
	cr_assert_eq(pool_checkout(j->pool, &r, e, sizeof(e)), POOL_ROW);
	cr_assert_str_eq(row_str(r, row_index(r, "a")), "1");
	row_free(r);
	cr_assert_eq(pool_checkout(j->pool, &r, e, sizeof(e)), POOL_ROW);
	cr_assert_str_eq(row_str(r, 1), "y, z");
	row_free(r);
	cr_assert_eq(pool_checkout(j->pool, &r, e, sizeof(e)), POOL_ROW);
	cr_assert_str_eq(row_str(r, 1), "4");
	row_free(r);

	/* range with offsets: rows (i, i + 2) */
	j = &s->journeys[1];
	cr_assert_eq(j->stack_size, CORO_DEFAULT_STACK);
	cr_assert_str_eq(pool_describe(j->pool), "range 0..4999 (5000 rows, recyclable)");
	cr_assert_str_eq(vmodel_describe(j->volume), "ramp 0 -> 50 over 30 s");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(pool_checkout(j->pool, &r, e, sizeof(e)), POOL_ROW);
		cr_assert_eq(row_int(r, row_index(r, "i"), -1), i);
		cr_assert_eq(row_int(r, row_index(r, "j"), -1), i + 2);
		row_free(r);
	}

	/* csv, and a volume from an @include */
	j = &s->journeys[2];
	cr_assert_str_eq(pool_describe(j->pool), "csv users.csv (3 rows, iterable)");
	cr_assert_str_eq(vmodel_describe(j->volume), "stages: 2 steps over 20 s, then hold");
	cr_assert_eq(vmodel_eval(j->volume, 19.9, 20), 20);
	cr_assert_eq(vmodel_eval(j->volume, 500, 500.1), 20);
	cr_assert_eq(pool_checkout(j->pool, &r, e, sizeof(e)), POOL_ROW);
	cr_assert_str_eq(row_str(r, row_index(r, "note")), "hello, world");
	row_free(r);
	cr_assert_eq(pool_checkout(j->pool, &r, e, sizeof(e)), POOL_ROW);
	cr_assert_str_eq(row_str(r, 1), "pa\"ss");
	cr_assert_str_eq(row_str(r, 2), "two\nlines");
	row_free(r);

	/* plugins */
	j = &s->journeys[3];
	cr_assert_eq(j->stack_size, 32768);
	cr_assert_not_null(j->pool_mod);
	cr_assert_not_null(j->volume_mod);
	cr_assert_str_eq(pool_describe(j->pool), "plugin good.so:pool (recyclable)");
	cr_assert_eq(pool_checkout(j->pool, &r, e, sizeof(e)), POOL_ROW, "%s", e);
	cr_assert_str_eq(row_str(r, row_index(r, "user")), "user0");
	row_free(r);
	cr_assert_str_eq(vmodel_describe(j->volume), "plugin good.so:spike");
	cr_assert_eq(vmodel_eval(j->volume, 0, 0.1), 10);
	cr_assert_eq(vmodel_eval(j->volume, 30, 30.1), 200, "args reach the plugin");
	cr_assert_eq(vmodel_eval(j->volume, 60, 60.1), MITE_STOP);

	/* open model; no datapool */
	j = &s->journeys[4];
	cr_assert_null(j->pool);
	cr_assert_eq(vmodel_get_kind(j->volume), VMODEL_OPEN);
	cr_assert_str_eq(vmodel_describe(j->volume), "arrival 1/s -> 10/s over 10 s for 20 s");

	/* oneshot; the name defaults to the spec */
	j = &s->journeys[5];
	cr_assert_str_eq(j->name, "good.so:journey");
	cr_assert_eq(vmodel_once(j->volume), 1);
	cr_assert_str_eq(vmodel_describe(j->volume), "oneshot 3");

	cr_assert(loaded("good.so"));
	scenario_free(s);
	cr_assert(!loaded("good.so"), "every reference dropped");
	scenario_free(NULL);
}

Test(scenario, config_overrides_in_order)
{
	const char *env[] = { "HOME=/root", "MITE_CONF_test_msg=from-env", "MITE_CONF_n=4",
			      "MITE_CONF_extra=e", NULL };
	const char *sets[] = { "test_msg=from-set", "added=1", NULL };
	scenario_opts o = { .env = env, .sets = sets, .duration_override = 5 };
	scenario *s = load("good.conf", &o);

	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(kvl_get(&s->config, "test_msg"), "from-set");
	cr_assert_str_eq(kvl_get(&s->config, "n"), "4");
	cr_assert_str_eq(kvl_get(&s->config, "extra"), "e");
	cr_assert_str_eq(kvl_get(&s->config, "added"), "1");
	cr_assert_str_eq(kvl_get(&s->config, "f"), "0.25");
	cr_assert_null(kvl_get(&s->config, "HOME"));
	cr_assert_float_eq(s->duration, 5, 0);
	scenario_free(s);
}

Test(scenario, bad_set)
{
	const char *sets[] = { "novalue", NULL };
	scenario_opts o = { .sets = sets };
	char want[PATH_MAX + 64];

	cr_assert_null(load("minimal.conf", &o));
	snprintf(want, sizeof(want), "%s/minimal.conf: --set 'novalue': expected key=value", tmp);
	cr_assert_str_eq(err, want);
}

Test(scenario, defaults)
{
	scenario *s = load("minimal.conf", NULL);

	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(s->name, "minimal", "the file's name without .conf");
	cr_assert_float_eq(s->duration, 0, 0);
	cr_assert_eq(s->config.n, 0);
	cr_assert_eq(s->journeys[0].line, 1);
	scenario_free(s);
}

Test(scenario, plugin_dirs_containment)
{
	char other[PATH_MAX], want[4 * PATH_MAX];
	const char *dirs[] = { other, NULL };
	scenario_opts o = { .plugin_dirs = dirs };

	tp_join(other, sizeof(other), tmp, "plugins");
	cr_assert_eq(mkdir(other, 0755), 0);
	/* Found next to the scenario, but only the plugin folder is allowed. */
	cr_assert_null(load("minimal.conf", &o));
	snprintf(want, sizeof(want),
		 "%s/minimal.conf:1: module 'good.so' (%s/good.so) lies outside the plugin folders "
		 "(%s) and loading from any path is not allowed",
		 tmp, tmp, other);
	cr_assert_str_eq(err, want);
	o.allow_any_path = 1;
	scenario_free(load("minimal.conf", &o));
	cr_assert_eq(err[0], '\0', "%s", err);
	rmdir(other);
}

Test(scenario, for_journey)
{
	char cwd[PATH_MAX];
	scenario_opts o = { 0 };
	scenario *s;
	mite_row *r;
	char e[256];

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(tmp), 0);

	s = scenario_for_journey("good.so:journey", "users.csv", 3, 0, &o, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(s->njourneys, 1);
	cr_assert_str_eq(s->journeys[0].name, "good.so:journey");
	cr_assert_str_eq(pool_describe(s->journeys[0].pool), "csv users.csv (3 rows, recyclable)");
	cr_assert_str_eq(vmodel_describe(s->journeys[0].volume), "constant 3");
	cr_assert_eq(pool_checkout(s->journeys[0].pool, &r, e, sizeof(e)), POOL_ROW);
	cr_assert_str_eq(row_str(r, row_index(r, "name")), "alice");
	row_free(r);
	scenario_free(s);

	s = scenario_for_journey("good.so:journey", "range:1:10", 1, 1, &o, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(pool_describe(s->journeys[0].pool), "range 1..10 (10 rows, iterable)");
	cr_assert_eq(vmodel_once(s->journeys[0].volume), 1);
	scenario_free(s);

	s = scenario_for_journey("good.so:journey", "good.so:pool", 2, 0, &o, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(pool_checkout(s->journeys[0].pool, &r, e, sizeof(e)), POOL_ROW, "%s", e);
	cr_assert_str_eq(row_str(r, 0), "user0");
	row_free(r);
	scenario_free(s);

	s = scenario_for_journey("good.so:journey", NULL, 1, 0, &o, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_null(s->journeys[0].pool);
	scenario_free(s);

	cr_assert_null(scenario_for_journey("nosym.so:journey", NULL, 1, 0, &o, err, sizeof(err)));
	{
		char want[PATH_MAX + 128];
		snprintf(want, sizeof(want),
			 "nosym.so:journey: %s/nosym.so has no symbol 'journey'", tmp);
		cr_assert_str_eq(err, want);
	}
	cr_assert_null(
		scenario_for_journey("good.so:journey", "range:1", 1, 0, &o, err, sizeof(err)));
	cr_assert_str_eq(err, "datapool 'range:1': expected range:FIRST:LAST");
	cr_assert_null(scenario_for_journey("good.so:journey", "bad-quote.csv", 1, 0, &o, err,
					    sizeof(err)));
	{
		char want[PATH_MAX + 128];
		snprintf(want, sizeof(want), "%s/bad-quote.csv:3: unterminated quoted field", tmp);
		cr_assert_str_eq(err, want);
	}
	cr_assert_null(scenario_for_journey("good.so:journey", NULL, 0, 0, &o, err, sizeof(err)));
	cr_assert_str_eq(err, "good.so:journey: the volume must be at least 1, not 0");
	cr_assert(!loaded("good.so"));
	cr_assert_eq(chdir(cwd), 0);
}

/* The seed's example scenario loads, with the example plugin from the build. */
Test(scenario, example_conf)
{
	char conf[PATH_MAX], dir[PATH_MAX], so[PATH_MAX];
	const char *dirs[] = { dir, NULL };
	scenario_opts o = { .plugin_dirs = dirs };
	scenario *s;
	mite_row *r;
	char e[256];

	tp_join(dir, sizeof(dir), tp_builddir(), "plugins");
	if (access(tp_join(so, sizeof(so), dir, "example.so"), R_OK) != 0)
		cr_skip_test("plugins/example.so is not built");
	s = scenario_load(tp_join(conf, sizeof(conf), tp_srcdir(), "conf/example.conf"), &o, err,
			  sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(s->njourneys, 1);
	cr_assert_eq(pool_get_mode(s->journeys[0].pool), POOL_RECYCLABLE);
	cr_assert_eq(pool_size(s->journeys[0].pool), 5000);
	cr_assert_eq(pool_checkout(s->journeys[0].pool, &r, e, sizeof(e)), POOL_ROW);
	cr_assert_eq(row_int(r, 0, -1), 0);
	cr_assert_eq(row_int(r, 1, -1), 2);
	row_free(r);
	cr_assert_str_eq(vmodel_describe(s->journeys[0].volume), "constant 10");
	scenario_free(s);
}

/* ---- limits: checked before libconfig reads the file -------------------- */

/* Writes tmp/name: head, then fill bytes of c, then tail. */
static void write_filled(const char *name, const char *head, size_t fill, char c, const char *tail)
{
	char path[PATH_MAX];
	FILE *f = fopen(tp_join(path, sizeof(path), tmp, name), "w");

	cr_assert_not_null(f);
	fputs(head, f);
	for (size_t i = 0; i < fill; i++)
		fputc(c, f);
	fputs(tail, f);
	cr_assert_eq(fclose(f), 0);
}

#define MINIMAL \
	"journeys = ( { journey = \"good.so:journey\"; volume = { type = \"constant\"; count = 1; }; } );\n"

Test(scenario, file_over_the_size_limit)
{
	/* 16 MiB of comment lines and the minimal scenario: one byte over. */
	write_filled("big.conf", MINIMAL "#", SCENARIO_FILE_MAX - strlen(MINIMAL), 'x', "\n");
	expect_fail("big.conf",
		    "@D/big.conf: 16777218 bytes: the scenario and the files it @includes "
		    "come to 16777218 bytes, over the limit of 16777216 bytes");
	/* Just under the limit, it loads. */
	write_filled("fits.conf", MINIMAL "#", SCENARIO_FILE_MAX - strlen(MINIMAL) - 3, 'x', "\n");
	scenario *s = load("fits.conf", NULL);
	cr_assert_not_null(s, "%s", err);
	scenario_free(s);
}

Test(scenario, includes_count_towards_the_size_limit)
{
	write_filled("inc.conf", "@include \"huge.inc\"\n" MINIMAL, 0, 'x', "");
	write_filled("huge.inc", "#", SCENARIO_FILE_MAX - 10, 'y', "\n");
	expect_fail("inc.conf",
		    "@D/huge.inc: 16777208 bytes: the scenario and the files it @includes "
		    "come to 16777321 bytes, over the limit of 16777216 bytes");
	/* Nested: the include of an include. */
	write_filled("inc2.conf", "@include \"mid.inc\"\n" MINIMAL, 0, 'x', "");
	write_filled("mid.inc", "   @include \"huge.inc\"\n", 0, 'x', "");
	scenario *s = load("inc2.conf", NULL);
	cr_assert_null(s);
	cr_expect(strstr(err, "/huge.inc: 16777208 bytes") != NULL, "%s", err);
}

Test(scenario, strings_over_the_length_limit)
{
	/* One long string, on line 2. */
	write_filled("longstr.conf", MINIMAL "config = { s = \"", SCENARIO_STRING_MAX + 1, 'a',
		     "\"; };\n");
	expect_fail("longstr.conf",
		    "2: a string of 65537 bytes, over the limit of 65536 bytes for one "
		    "string (adjacent strings count as one)");
	/* Adjacent literals are one string to libconfig: counted together,
	 * with comments between them. */
	write_filled("adjacent.conf", MINIMAL "config = {\n s = \"", SCENARIO_STRING_MAX / 2, 'b',
		     "\" # a comment\n \"");
	{
		char path[PATH_MAX];
		FILE *f = fopen(tp_join(path, sizeof(path), tmp, "adjacent.conf"), "a");
		for (size_t i = 0; i < SCENARIO_STRING_MAX / 2 + 1; i++)
			fputc('c', f);
		fputs("\";\n};\n", f);
		fclose(f);
	}
	expect_fail("adjacent.conf",
		    "3: a string of 65537 bytes, over the limit of 65536 bytes for one "
		    "string (adjacent strings count as one)");
	/* A string in a comment is no string; one at the limit loads. */
	write_filled("okstr.conf", MINIMAL "# \"", SCENARIO_STRING_MAX * 2, 'd',
		     "\"\nconfig = { s = \"");
	{
		char path[PATH_MAX];
		FILE *f = fopen(tp_join(path, sizeof(path), tmp, "okstr.conf"), "a");
		for (size_t i = 0; i < SCENARIO_STRING_MAX; i++)
			fputc('e', f);
		fputs("\"; };\n", f);
		fclose(f);
	}
	scenario *s = load("okstr.conf", NULL);
	cr_assert_not_null(s, "%s", err);
	cr_expect_eq(strlen(kvl_get(&s->config, "s")), SCENARIO_STRING_MAX);
	scenario_free(s);
}

Test(scenario, nul_byte_refused)
{
	char path[PATH_MAX];
	FILE *f = fopen(tp_join(path, sizeof(path), tmp, "nul.conf"), "w");

	fputs(MINIMAL "name = \"x\";\n", f);
	fputc('\0', f);
	fputs("garbage that libconfig would never see\n", f);
	fclose(f);
	expect_fail("nul.conf", "3: a NUL byte: not a text file");
}

static void write_text(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f = fopen(tp_join(path, sizeof(path), tmp, name), "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* libconfig reads 5000000000 (no L) as 705032704: refused, with the fix. */
Test(scenario, integers_libconfig_would_wrap_are_refused)
{
	write_text("wrap.conf", MINIMAL "config = { rows = 5000000000; };\n");
	expect_fail("wrap.conf", "2: the integer 5000000000 is over 32 bits: write it 5000000000L");
	write_text("wrapneg.conf", MINIMAL "config = { low = -2147483649; };\n");
	expect_fail("wrapneg.conf",
		    "2: the integer 2147483649 is over 32 bits: write it 2147483649L");
	write_text("wraphex.conf", MINIMAL "\nconfig = { mask = 0x1ffffffff; };\n");
	expect_fail("wraphex.conf",
		    "3: the integer 0x1ffffffff is over 32 bits: write it 0x1ffffffffL");
	/* What libconfig reads right: the L suffix, 32-bit values, floats,
	 * digits in names and in strings. */
	write_text("okint.conf",
		   MINIMAL "config = { a = 5000000000L; b = 2147483647; c = -2147483648;\n"
			   "  d = 5000000000.0; e = 5e12; f = 0xffffffff; g-2147483648 = 1;\n"
			   "  h = \"99999999999\"; };\n");
	scenario *s = load("okint.conf", NULL);
	cr_assert_not_null(s, "%s", err);
	scenario_free(s);
}

Test(scenario, names_over_the_limit)
{
	write_filled("longname.conf", MINIMAL "name = \"", SCENARIO_NAME_MAX + 1, 'n', "\";\n");
	expect_fail("longname.conf", "2: 'name' is 257 bytes long, over the limit of 256 bytes");
	write_filled("longjname.conf", "journeys = ( { journey = \"good.so:journey\"; name = \"",
		     SCENARIO_NAME_MAX + 1, 'j',
		     "\"; volume = { type = \"constant\"; count = 1; }; } );\n");
	expect_fail("longjname.conf", "1: 'name' is 257 bytes long, over the limit of 256 bytes");
	/* At the limit, both load. */
	write_filled("okname.conf", MINIMAL "name = \"", SCENARIO_NAME_MAX, 'n', "\";\n");
	scenario *s = load("okname.conf", NULL);
	cr_assert_not_null(s, "%s", err);
	cr_expect_eq(strlen(s->name), SCENARIO_NAME_MAX);
	scenario_free(s);
}

Test(scenario, cancelled_load_frees_everything)
{
	atomic_int cancel = 1;
	scenario_opts o = { .cancel = &cancel };

	cr_assert_null(load("good.conf", &o));
	cr_expect(strstr(err, "good.conf: cancelled: mited is shutting down") != NULL, "%s", err);
	cr_expect(!loaded("good.so"));
	atomic_store(&cancel, 0);
	scenario *s = load("good.conf", &o);
	cr_assert_not_null(s, "%s", err);
	scenario_free(s);
}

Test(scenario, release_runtime_keeps_names_and_models_drops_pools_and_modules)
{
	scenario *s = load("good.conf", NULL);

	cr_assert_not_null(s, "%s", err);
	cr_assert(loaded("good.so"));
	scenario_release_runtime(s);
	for (size_t i = 0; i < s->njourneys; i++) {
		cr_expect_null(s->journeys[i].pool);
		cr_expect_null(s->journeys[i].mod);
		cr_expect_null(s->journeys[i].pool_mod);
		cr_expect_not_null(s->journeys[i].volume, "the verdict still reads the model");
		cr_expect_not_null(s->journeys[i].name);
	}
	/* good.conf's plugin volume model keeps good.so loaded; nothing
	 * else does. */
	cr_expect(s->journeys[3].volume_mod != NULL);
	cr_expect_not_null(s->name);
	scenario_release_runtime(s); /* twice is harmless */
	scenario_free(s);
}
