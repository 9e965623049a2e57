/*
 * test_thresholds.c - thresholds: their parse errors (exact file:line
 * messages), their judgement on exact merged histograms (whole run,
 * sliding windows, each series, no data, abort), and the exit status of a
 * scenario test that breaks one.
 */
#include "controller/run.h"
#include "controller/scenario.h"
#include "controller/thresholds.h"
#include "runner/runner.h"
#include "testmode.h"
#include "testpaths.h"

#include <criterion/criterion.h>
#include <libconfig.h>

/* ---- parsing ------------------------------------------------------------ */

/* Parses the `thresholds` of text (a file of its own); returns the set or
 * NULL with err set. */
static thresholds *parse_text(const char *text, char *path, size_t plen, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	config_t cf;
	thresholds *t = NULL;
	const config_setting_t *list;

	tp_mkdtemp(dir, sizeof dir);
	tp_join(path, plen, dir, "s.conf");
	tp_write(path, text);
	config_init(&cf);
	config_set_options(&cf, CONFIG_OPTION_AUTOCONVERT);
	cr_assert(config_read_file(&cf, path), "libconfig: %s:%d: %s", path, config_error_line(&cf),
		  config_error_text(&cf));
	list = config_lookup(&cf, "thresholds");
	cr_assert_not_null(list);
	t = thresholds_parse(list, path, err, errlen);
	config_destroy(&cf);
	tp_rmrf(dir);
	return t;
}

static void expect_error(const char *text, int line, const char *msg)
{
	char path[PATH_MAX], err[1024], want[PATH_MAX + 1024];
	thresholds *t = parse_text(text, path, sizeof path, err, sizeof err);

	cr_assert_null(t, "accepted: %s", text);
	snprintf(want, sizeof want, "%s:%d: %s", path, line, msg);
	cr_assert_str_eq(err, want);
}

Test(thresholds, parse_errors_name_file_and_line)
{
	expect_error(
		"thresholds = (\n"
		"  { metric = \"txn:login\"; stat = \"p95\"; max = 0.25; },\n"
		"  { metric = \"bogus:x\"; stat = \"p95\"; max = 1; }\n"
		");\n",
		3,
		"threshold 2: unknown metric 'bogus:x' (expected txn:NAME, journey:NAME, "
		"http:METHOD:STATUS or error:MESSAGE; NAME and the parts may be globs like '*')");
	expect_error("thresholds = (\n  { metric = \"txn:a\";\n    max = 1; }\n);\n", 2,
		     "threshold 1: 'stat' is missing (e.g. stat = \"p95\";)");
	expect_error("thresholds = ( { metric = \"txn:a\"; stat = \"p95\"; } );\n", 1,
		     "threshold 1: 'txn:a p95' needs a bound: 'max' and/or 'min'");
	expect_error(
		"thresholds = (\n { metric = \"txn:a\"; stat = \"p95\";\n   maxx = 3; } );\n", 3,
		"threshold 1: unknown key 'maxx' (allowed there: metric, stat, min, max, window, after, abort, "
		"each, journey, transaction, phase)");
	expect_error(
		"thresholds = ( { metric = \"txn:a\"; stat = \"p101\"; max = 1; } );\n", 1,
		"threshold 1: unknown stat 'p101' (expected count, failures, failure_rate, rate, min, "
		"mean, max, median, or a percentile pNN such as p95 or p99.9)");
	expect_error(
		"thresholds = (\n\n { metric = \"txn:*\"; stat = \"failure_rate\";\n max = 5; } );\n",
		4,
		"threshold 1: 'max' of a failure_rate is a fraction from 0 to 1 (0.01 is 1 %), not 5");
	expect_error(
		"thresholds = ( { metric = \"txn:*\"; stat = \"rate\"; min = 1; window = 0.5; } );\n",
		1, "threshold 1: 'window' must be whole seconds between 1 and 3600, not 0.5");
	expect_error(
		"thresholds = ( { metric = \"txn:*\"; stat = \"p95\"; max = 1; phase = \"dns\"; } );\n",
		1, "threshold 1: 'phase' applies to http: metrics only");
	expect_error(
		"thresholds = ( { metric = \"txn:*\"; stat = \"mean\"; min = 2; max = 1; } );\n", 1,
		"threshold 1: 'min' (2) is above 'max' (1)");
	expect_error(
		"thresholds = ( { metric = \"error:*\"; stat = \"p95\"; max = 1; } );\n", 1,
		"threshold 1: stat 'p95' does not apply to errors (error: metrics have count and rate)");
	expect_error(
		"thresholds = ( { metric = \"txn:*\"; stat = \"p95\"; max = \"fast\"; } );\n", 1,
		"threshold 1: 'max' must be seconds or a time like \"90s\", \"5m\", \"1h30m\", not \"fast\"");
	expect_error(
		"thresholds = ( { metric = \"http:GET\"; stat = \"count\"; max = 1; abort = 1; } );\n",
		1, "threshold 1: 'abort' must be true or false, not an integer");
	expect_error("thresholds = ( { metric = \"txn:\"; stat = \"count\"; max = 1; } );\n", 1,
		     "threshold 1: metric 'txn:' ends with ':' (use '*' to match anything)");
	expect_error(
		"\nthresholds = { a = 1; };\n", 2,
		"'thresholds' must be a list of groups ( { metric = \"txn:NAME\"; stat = \"p95\"; max = 0.5; "
		"}, ... ), not a group { ... }");
}

Test(thresholds, parse_accepts_the_documented_forms)
{
	char path[PATH_MAX], err[1024];
	thresholds *t = parse_text(
		"thresholds = (\n"
		"  { metric = \"txn:login\"; stat = \"p95\"; max = 0.250; },\n"
		"  { metric = \"txn:*\"; stat = \"failure_rate\"; max = 0.01; abort = true; window = 30; },\n"
		"  { metric = \"http:GET:200\"; stat = \"rate\"; min = 50; },\n"
		"  { metric = \"http:*:5??\"; stat = \"count\"; max = 0; },\n"
		"  { metric = \"http\"; stat = \"p99\"; phase = \"ttfb\"; max = \"250ms\"; journey = \"shop\"; },\n"
		"  { metric = \"journey:*\"; stat = \"p99.9\"; max = \"2s\"; each = true; after = \"10s\"; },\n"
		"  { metric = \"error\"; stat = \"count\"; max = 10; transaction = \"login*\"; }\n"
		");\n",
		path, sizeof path, err, sizeof err);

	cr_assert_not_null(t, "%s", err);
	cr_assert_eq(thresholds_count(t), 7);
	cr_assert(thresholds_any_abort(t));
	cr_assert_str_eq(thresholds_text(t, 0), "txn:login p95 <= 0.25s");
	cr_assert_str_eq(thresholds_text(t, 1), "txn:* failure_rate <= 0.01 (30 s window, aborts)");
	cr_assert_str_eq(thresholds_text(t, 2), "http:GET:200 rate >= 50/s");
	cr_assert_str_eq(thresholds_text(t, 4), "http ttfb p99 <= 0.25s [journey shop]");
	cr_assert_str_eq(thresholds_text(t, 5), "journey:* p99.9 <= 2s (each series, after 10 s)");
	thresholds_free(t);
}

/* The scenario file hook: a `thresholds` key, errors from @included files
 * named by their own path. */
Test(thresholds, scenario_load_parses_them)
{
	char dir[PATH_MAX], path[PATH_MAX], inc[PATH_MAX], plugin[PATH_MAX], body[PATH_MAX + 1024],
		err[1024], want[PATH_MAX + 256];
	scenario_opts so = { .allow_any_path = 1 };
	scenario *s;

	so.api = runner_api();
	tp_mkdtemp(dir, sizeof dir);
	tp_plugin(plugin, sizeof plugin, "e2e");
	snprintf(
		body, sizeof body,
		"name = \"t\";\njourneys = ( { journey = \"%s:quick\"; volume = { type = \"constant\"; count = 1; }; } );\n"
		"thresholds = ( { metric = \"txn:quick\"; stat = \"p95\"; max = 1; } );\n",
		plugin);
	tp_write(tp_join(path, sizeof path, dir, "s.conf"), body);
	s = scenario_load(path, &so, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(thresholds_count(s->thresholds), 1);
	scenario_free(s);

	tp_write(tp_join(inc, sizeof inc, dir, "th.inc"),
		 "\n{ metric = \"txn:quick\"; stat = \"p95\"; min = -1; }\n");
	snprintf(
		body, sizeof body,
		"name = \"t\";\njourneys = ( { journey = \"%s:quick\"; volume = { type = \"constant\"; count = 1; }; } );\n"
		"thresholds = (\n@include \"th.inc\"\n);\n",
		plugin);
	tp_write(path, body);
	s = scenario_load(path, &so, err, sizeof err);
	cr_assert_null(s);
	snprintf(want, sizeof want, "%s:2: threshold 1: 'min' must be a number >= 0", inc);
	cr_assert_str_eq(err, want);
	tp_rmrf(dir);
}

/* ---- judgement ---------------------------------------------------------- */

static thresholds *parse_one(const char *group)
{
	char path[PATH_MAX], err[1024], text[2048];
	thresholds *t;

	snprintf(text, sizeof text, "thresholds = ( %s );\n", group);
	t = parse_text(text, path, sizeof path, err, sizeof err);
	cr_assert_not_null(t, "%s", err);
	return t;
}

static void add_txn(stats *s, const char *journey, const char *txn, int ok, int failed, uint64_t ns)
{
	const char *l[] = { journey, txn };
	stats_entry *e = stats_get(s, "txn", l, 2);

	cr_assert_not_null(e);
	stats_add(e, ST_TXN_OK, (uint64_t)ok);
	stats_add(e, ST_TXN_FAILED, (uint64_t)failed);
	for (int i = 0; i < ok + failed; i++)
		cr_assert_eq(stats_record(e, 0, ns), 0);
}

static const cJSON *field(const cJSON *arr, int i, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), k);
}

/* Two journeys, one fast and one slow: the merged p95 is the slow one's,
 * where an average of the two p95s would pass. */
Test(thresholds, percentiles_come_from_merged_histograms)
{
	thresholds *t =
		parse_one("{ metric = \"txn:t\"; stat = \"p95\"; max = 0.06; },"
			  "{ metric = \"txn:t\"; stat = \"p95\"; max = 0.06; each = true; },"
			  "{ metric = \"txn:t\"; stat = \"p50\"; max = 0.06; }");
	thresholds_eval *e = thresholds_eval_new(t);
	stats s;
	cJSON *j;

	stats_init(&s);
	add_txn(&s, "a", "t", 100, 0, 10000000); /* 10 ms */
	add_txn(&s, "b", "t", 100, 0, 100000000); /* 100 ms */
	thresholds_eval_final(e, &s, 10);
	j = thresholds_eval_json(e);
	cr_assert_eq(thresholds_eval_broken(e), 2);
	cr_assert(cJSON_IsFalse(field(j, 0, "ok")));
	cr_assert_float_eq(field(j, 0, "value")->valuedouble, 0.1, 0.001);
	cr_assert(cJSON_IsFalse(field(j, 1, "ok")));
	cr_assert_str_eq(field(j, 1, "series")->valuestring, "b / t");
	cr_assert(cJSON_IsTrue(field(j, 2, "ok")), "p50 of the merge is the fast half");
	cJSON_Delete(j);
	thresholds_eval_free(e);
	thresholds_free(t);
	stats_free(&s);
}

Test(thresholds, rates_counts_failures_and_no_data)
{
	thresholds *t = parse_one("{ metric = \"txn:*\"; stat = \"rate\"; min = 15; },"
				  "{ metric = \"txn:*\"; stat = \"failure_rate\"; max = 0.1; },"
				  "{ metric = \"txn:*\"; stat = \"failures\"; max = 20; },"
				  "{ metric = \"txn:nothing\"; stat = \"p95\"; max = 1; },"
				  "{ metric = \"error:*\"; stat = \"count\"; max = 0; }");
	thresholds_eval *e = thresholds_eval_new(t);
	stats s;
	cJSON *j;

	stats_init(&s);
	add_txn(&s, "a", "t", 180, 20, 1000000);
	thresholds_eval_final(e, &s, 10); /* 200 in 10 s: 20/s */
	j = thresholds_eval_json(e);
	cr_assert(cJSON_IsTrue(field(j, 0, "ok")));
	cr_assert_float_eq(field(j, 0, "value")->valuedouble, 20, 1e-9);
	cr_assert(cJSON_IsTrue(field(j, 1, "ok")), "0.1 is not above 0.1");
	cr_assert(cJSON_IsTrue(field(j, 2, "ok")));
	cr_assert(cJSON_IsFalse(field(j, 3, "ok")), "a metric that matched nothing must not pass");
	cr_assert(cJSON_IsTrue(field(j, 3, "no_data")));
	cr_assert(cJSON_IsTrue(field(j, 4, "ok")), "no errors: count 0");
	cJSON_Delete(j);
	thresholds_eval_free(e);
	thresholds_free(t);
	stats_free(&s);
}

/* Twenty fast seconds and one slow: the whole run's p95 is fast, a 2-second
 * window's is slow; the windowed threshold aborts once. */
Test(thresholds, sliding_windows_and_abort)
{
	thresholds *t = parse_one(
		"{ metric = \"txn:t\"; stat = \"p95\"; max = 0.05; },"
		"{ metric = \"txn:t\"; stat = \"p95\"; max = 0.05; window = 2; abort = true; },"
		"{ metric = \"txn:t\"; stat = \"p95\"; max = 0.05; window = 2; after = 100; }");
	thresholds_eval *e = thresholds_eval_new(t);
	stats total;
	int aborts = 0, at = 0;
	cJSON *j;

	stats_init(&total);
	for (int sec = 1; sec <= 22; sec++) {
		stats slice;

		stats_init(&slice);
		add_txn(&slice, "a", "t", 100, 0, sec == 21 ? 200000000 : 5000000);
		stats_merge(&total, &slice);
		if (thresholds_eval_second(e, &slice, &total, sec, 1)) {
			aborts++;
			at = sec;
		}
		stats_free(&slice);
	}
	thresholds_eval_final(e, &total, 22);
	j = thresholds_eval_json(e);
	cr_assert_eq(aborts, 1);
	cr_assert_eq(at, 21);
	cr_assert_str_eq(thresholds_eval_aborted_by(e), thresholds_text(t, 1));
	cr_assert(cJSON_IsTrue(field(j, 0, "ok")), "the whole run is fast at p95");
	cr_assert(cJSON_IsFalse(field(j, 1, "ok")));
	cr_assert_float_eq(field(j, 1, "broken_at")->valuedouble, 21, 1e-9);
	cr_assert(cJSON_IsTrue(field(j, 1, "aborted_run")));
	/* Never judged live (after 100 s): judged on the whole run at the end. */
	cr_assert(cJSON_IsTrue(field(j, 2, "ok")));
	cJSON_Delete(j);
	thresholds_eval_free(e);
	thresholds_free(t);
	stats_free(&total);
}

/* ---- a whole scenario test ---------------------------------------------- */

static double elapsed_seen;

static void inspect(run *r, void *data)
{
	(void)data;
	elapsed_seen = run_elapsed(r);
}

static int run_scenario_text(const char *journeys, const char *th, double sleep)
{
	char dir[PATH_MAX], path[PATH_MAX], plugin[PATH_MAX], body[4096], err[1024], set[64];
	const char *sets[] = { set, NULL };
	scenario_opts so = { .allow_any_path = 1, .sets = sets };
	scenario *s;
	int rc;

	so.api = runner_api();
	snprintf(set, sizeof set, "sleep=%g", sleep);
	tp_mkdtemp(dir, sizeof dir);
	tp_plugin(plugin, sizeof plugin, "e2e");
	snprintf(body, sizeof body,
		 "name = \"th\"; duration = 2;\n"
		 /* The thresholds are the subject, not mite's load: a loaded machine's
		  * short volume or loop lag is a warning here, not the verdict. */
		 "verdict = { volume = \"warn\"; saturation = \"warn\"; };\n"
		 "journeys = ( %s );\nthresholds = ( %s );\n",
		 journeys, th);
	for (char *p; (p = strstr(body, "@E2E@"));) {
		char rest[4096];

		snprintf(rest, sizeof rest, "%s", p + 5);
		snprintf(p, sizeof body - (size_t)(p - body), "%s%s", plugin, rest);
	}
	tp_write(tp_join(path, sizeof path, dir, "s.conf"), body);
	s = scenario_load(path, &so, err, sizeof err);
	cr_assert_not_null(s, "scenario refused: %s", err);
	rc = testmode_execute(s, &(testmode_opts){ .quiet = 1, .grace = 0.5, .inspect = inspect });
	tp_rmrf(dir);
	return rc;
}

#define QUICK \
	"{ name = \"q\"; journey = \"@E2E@:quick\"; volume = { type = \"constant\"; count = 4; }; }"
#define FLAKY                                                                                                \
	"{ name = \"f\"; journey = \"@E2E@:flaky\"; datapool = { type = \"range\"; from = 1; to = 1000000; " \
	"}; volume = { type = \"constant\"; count = 2; }; }"

Test(thresholds, a_scenario_test_passes_and_fails_by_them, .timeout = 60)
{
	/* quick sleeps 50 ms inside its transaction. */
	cr_assert_eq(run_scenario_text(
			     QUICK, "{ metric = \"txn:quick\"; stat = \"p95\"; max = 0.5; }", 0.05),
		     TESTMODE_OK);
	cr_assert_eq(run_scenario_text(QUICK,
				       "{ metric = \"txn:quick\"; stat = \"p95\"; max = 0.03; }",
				       0.05),
		     TESTMODE_THRESHOLDS);
	/* Journey errors within the allowed failure rate: the thresholds judge. */
	cr_assert_eq(run_scenario_text(
			     FLAKY,
			     "{ metric = \"txn:outer\"; stat = \"failure_rate\"; max = 0.6; }", 0),
		     TESTMODE_OK);
	cr_assert_eq(run_scenario_text(
			     FLAKY,
			     "{ metric = \"txn:outer\"; stat = \"failure_rate\"; max = 0.1; }", 0),
		     TESTMODE_THRESHOLDS);
}

Test(thresholds, abort_stops_the_run_early, .timeout = 60)
{
	int rc = run_scenario_text(
		FLAKY,
		"{ metric = \"txn:outer\"; stat = \"failure_rate\"; max = 0.1; window = 1; abort = true; }",
		0);

	cr_assert_eq(rc, TESTMODE_THRESHOLDS, "exit %d", rc);
	/* The scenario runs for 2 s; the first second's record stops it. */
	cr_assert_lt(elapsed_seen, 1.9, "ran %.2f s", elapsed_seen);
}
