/*
 * test_e2e.c - whole runs through the engine: scenario file -> controller
 * -> runner protocol -> runner -> journeys (tests/plugins/e2e.so), in one
 * process as `mitectl scenario test` runs them, checking counts against
 * what the volume and datapool imply.
 */
#include "controller/run.h"
#include "controller/scenario.h"
#include "runner/runner.h"
#include "testmode.h"
#include "testpaths.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <time.h>

typedef struct outcome {
	stats st;
	char error[512];
	double elapsed;
	int status;
} outcome;

/* --runner-timeout for the next run_text (0: the default). */
static double runner_timeout;

static void inspect(run *r, void *data)
{
	outcome *o = data;

	stats_merge(&o->st, run_totals(r));
	snprintf(o->error, sizeof o->error, "%s", run_error(r) ? run_error(r) : "");
	o->elapsed = run_elapsed(r);
}

/* Runs a scenario whose text uses @E2E@ for the test plugin's path. */
static void run_text(const char *text, outcome *o, const char *const *sets)
{
	char dir[PATH_MAX], path[PATH_MAX], plugin[PATH_MAX], err[1024];
	char body[8192], *at;
	scenario_opts so = { 0 };
	scenario *s;

	memset(o, 0, sizeof *o);
	stats_init(&o->st);
	tp_plugin(plugin, sizeof plugin, "e2e");
	/* Substitute every @E2E@ with the plugin path. */
	body[0] = '\0';
	for (const char *p = text; (at = strstr(p, "@E2E@")); p = at + 5) {
		strncat(body, p, (size_t)(at - p));
		strncat(body, plugin, sizeof body - strlen(body) - 1);
		text = at + 5;
	}
	strncat(body, text, sizeof body - strlen(body) - 1);
	tp_mkdtemp(dir, sizeof dir);
	tp_write(tp_join(path, sizeof path, dir, "s.conf"), body);
	so.api = runner_api();
	so.allow_any_path = 1;
	so.sets = sets;
	s = scenario_load(path, &so, err, sizeof err);
	cr_assert_not_null(s, "scenario refused: %s", err);
	o->status = testmode_execute(s,
				     &(testmode_opts){ .quiet = 1,
						       .grace = 0.5,
						       .inspect = inspect,
						       .data = o,
						       .runner_timeout = runner_timeout });
	tp_rmrf(dir);
}

static const stats_entry *find2(const outcome *o, const char *kind, const char *a, const char *b)
{
	const char *l[] = { a, b };

	return stats_find(&o->st, kind, l, b ? 2 : 1);
}

Test(e2e, constant_volume_runs_the_count_it_implies, .timeout = 30)
{
	outcome o;
	const stats_entry *t, *j;

	run_text("name = \"c\"; duration = 2;\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:quick\";\n"
		 "  volume = { type = \"constant\"; count = 10; }; } );\n",
		 &o, NULL);
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	t = find2(&o, "txn", "q", "quick");
	j = find2(&o, "journey", "q", NULL);
	cr_assert_not_null(t);
	/* 10 instances x 2 s / 50 ms = 400 iterations at most (no iteration
	 * starts past the end); allow for start-up and timer slack on a
	 * loaded machine below that. */
	cr_assert(t->c[ST_TXN_OK] >= 300 && t->c[ST_TXN_OK] <= 400, "ok = %llu",
		  (unsigned long long)t->c[ST_TXN_OK]);
	cr_assert_eq(t->c[ST_TXN_FAILED], 0);
	cr_assert_eq(j->c[ST_J_STARTED], j->c[ST_J_OK]);
	cr_assert_eq(hist_count(t->h[0]), t->c[ST_TXN_OK]);
	/* Every recorded latency is at least the sleep (50 ms, 1 % bucket). */
	cr_assert_geq(hist_min(t->h[0]), 49500000ull);
	stats_free(&o.st);
}

Test(e2e, arrival_rate_starts_exactly_what_the_rate_integrates_to, .timeout = 30)
{
	outcome o;
	const stats_entry *j;

	run_text("name = \"a\"; duration = 2;\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:quick\";\n"
		 "  volume = { type = \"arrival\"; rate = 50; }; } );\n",
		 &o, (const char *const[]){ "sleep=0.01", NULL });
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	j = find2(&o, "journey", "q", NULL);
	cr_assert_not_null(j);
	cr_assert_eq(j->c[ST_J_STARTED], 100, "started %llu",
		     (unsigned long long)j->c[ST_J_STARTED]);
	cr_assert_eq(j->c[ST_J_OK], 100);
	cr_assert_not_null(find2(&o, "lag", "q", NULL));
	stats_free(&o.st);
}

Test(e2e, iterable_pool_exhaustion_ends_the_run, .timeout = 30)
{
	outcome o;
	const stats_entry *j;

	run_text("name = \"i\";\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:quick\";\n"
		 "  datapool = { type = \"range\"; from = 0; to = 99; mode = \"iterable\"; };\n"
		 "  volume = { type = \"constant\"; count = 10; }; } );\n",
		 &o, (const char *const[]){ "sleep=0.01", NULL });
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	j = find2(&o, "journey", "q", NULL);
	cr_assert_eq(j->c[ST_J_STARTED], 100, "started %llu",
		     (unsigned long long)j->c[ST_J_STARTED]);
	cr_assert_lt(o.elapsed, 10.0);
	stats_free(&o.st);
}

/* Counts the "row N" messages of journey q: every row 1..nrows exactly
 * once, and no other. One assertion per call (Criterion's parent process
 * leaks a little per passed assertion report under ASan). */
static void assert_each_row_once(const outcome *o, long nrows, const char *what)
{
	uint64_t total = 0;
	long bad = 0, first_bad = 0;
	uint64_t first_count = 0;

	for (long i = 1; i <= nrows; i++) {
		char name[32];
		const stats_entry *e;
		uint64_t n;

		snprintf(name, sizeof name, "row %ld", i);
		e = find2(o, "send", "q", name);
		n = e ? e->c[0] : 0;
		if (n != 1 && !bad++) {
			first_bad = i;
			first_count = n;
		}
	}
	for (const stats_entry *e = o->st.first; e; e = e->order)
		if (strcmp(e->kind, "send") == 0 && strncmp(e->labels[1], "row ", 4) == 0)
			total += e->c[0];
	cr_assert(
		bad == 0 && total == (uint64_t)nrows,
		"%s: %ld rows did not run exactly once (first: row %ld ran %llu times); %llu rows ran",
		what, bad, first_bad, (unsigned long long)first_count, (unsigned long long)total);
}

/* An iterable pool whose size is not a multiple of the instances: the
 * last rows must run too (they were left in the runner's buffer). One
 * test per rows/instances pair. */
typedef struct rows_case {
	long rows, instances;
} rows_case;

ParameterizedTestParameters(e2e, iterable_pool_runs_every_row_once_whatever_the_concurrency)
{
	static rows_case cases[] = { { 3, 2 }, { 5, 2 },  { 9, 4 },  { 1, 3 },
				     { 7, 7 }, { 10, 3 }, { 300, 7 } };

	return cr_make_param_array(rows_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(rows_case *c, e2e, iterable_pool_runs_every_row_once_whatever_the_concurrency,
		  .timeout = 30)
{
	char text[1024], what[64];
	outcome o;

	snprintf(text, sizeof text,
		 "name = \"i\";\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:rowid\";\n"
		 "  datapool = { type = \"range\"; from = 1; to = %ld; mode = \"iterable\"; };\n"
		 "  volume = { type = \"constant\"; count = %ld; }; } );\n",
		 c->rows, c->instances);
	snprintf(what, sizeof what, "%ld rows, %ld instances", c->rows, c->instances);
	run_text(text, &o, (const char *const[]){ "sleep=0.02", NULL });
	cr_assert(o.status == TESTMODE_OK && o.elapsed < 20.0, "%s: status %d (%s) after %.1f s",
		  what, o.status, o.error, o.elapsed);
	assert_each_row_once(&o, c->rows, what);
	stats_free(&o.st);
}

/* The same with an open model: starts consume the rows, none is left. */
Test(e2e, iterable_pool_under_an_arrival_rate_runs_every_row_once, .timeout = 30)
{
	outcome o;

	run_text("name = \"a\";\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:rowid\";\n"
		 "  datapool = { type = \"range\"; from = 1; to = 23; mode = \"iterable\"; };\n"
		 "  volume = { type = \"arrival\"; rate = 20; }; } );\n",
		 &o, (const char *const[]){ "sleep=0.01", NULL });
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	assert_each_row_once(&o, 23, "arrival 20/s, 23 rows");
	stats_free(&o.st);
}

Test(e2e, recyclable_pool_smaller_than_concurrency_never_double_leases, .timeout = 30)
{
	outcome o;
	const stats_entry *t;

	run_text("name = \"r\"; duration = 1;\n"
		 "journeys = ( { name = \"x\"; journey = \"@E2E@:exclusive\";\n"
		 "  datapool = { type = \"range\"; from = 0; to = 2; mode = \"recyclable\"; };\n"
		 "  volume = { type = \"constant\"; count = 10; }; } );\n",
		 &o, NULL);
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	t = find2(&o, "txn", "x", "lease");
	cr_assert_not_null(t);
	cr_assert_eq(t->c[ST_TXN_FAILED], 0);
	/* 3 rows, 20 ms each: at most 3 iterations run at once, so about
	 * 150 in a second, plus those that finish during the stop (and more
	 * than a handful). */
	cr_assert(t->c[ST_TXN_OK] > 30 && t->c[ST_TXN_OK] <= 200, "ok = %llu",
		  (unsigned long long)t->c[ST_TXN_OK]);
	stats_free(&o.st);
}

Test(e2e, failures_are_recorded_once_with_location_and_fail_outer, .timeout = 30)
{
	outcome o;
	const stats_entry *inner, *outer, *e;
	const char *el[4] = { "f", "outer :: inner", NULL, "odd row 1" };
	uint64_t errors = 0;

	run_text("name = \"f\"; duration = 1;\n"
		 "journeys = ( { name = \"f\"; journey = \"@E2E@:flaky\";\n"
		 "  datapool = { type = \"range\"; from = 0; to = 9; mode = \"recyclable\"; };\n"
		 "  volume = { type = \"constant\"; count = 2; }; } );\n",
		 &o, NULL);
	cr_assert_eq(o.status, TESTMODE_JOURNEY_ERRORS, "status %d", o.status);
	inner = find2(&o, "txn", "f", "outer :: inner");
	outer = find2(&o, "txn", "f", "outer");
	cr_assert_not_null(inner);
	cr_assert_not_null(outer);
	cr_assert_gt(inner->c[ST_TXN_FAILED], 0);
	cr_assert_eq(outer->c[ST_TXN_FAILED], inner->c[ST_TXN_FAILED]);
	cr_assert_eq(outer->c[ST_TXN_OK], inner->c[ST_TXN_OK]);
	for (e = o.st.first; e; e = e->order)
		if (strcmp(e->kind, "error") == 0) {
			cr_assert_str_eq(e->labels[0], "f");
			cr_assert_str_eq(e->labels[1], el[1]);
			cr_assert(strncmp(e->labels[2], "e2e.c:", 6) == 0 &&
					  strstr(e->labels[2], ":flaky"),
				  "location %s", e->labels[2]);
			cr_assert(strncmp(e->labels[3], "odd row ", 8) == 0, "message %s",
				  e->labels[3]);
			errors += e->c[0];
		}
	cr_assert_eq(errors, inner->c[ST_TXN_FAILED]);
	stats_free(&o.st);
}

Test(e2e, a_journey_that_never_yields_does_not_hang_the_runner, .timeout = 30)
{
	outcome o;
	const stats_entry *t;

	run_text("name = \"s\"; duration = 1;\n"
		 "journeys = ( { name = \"s\"; journey = \"@E2E@:spin\";\n"
		 "  volume = { type = \"constant\"; count = 2; }; } );\n",
		 &o, NULL);
	/* Its loop is busy by design: on a loaded machine the verdict says
	 * so (tainted), which is as honest as a pass. */
	cr_assert(o.status == TESTMODE_OK || o.status == TESTMODE_TAINTED, "status %d: %s",
		  o.status, o.error);
	t = find2(&o, "txn", "s", "spin");
	cr_assert_gt(t->c[ST_TXN_OK], 1000);
	cr_assert_lt(o.elapsed, 5.0);
	stats_free(&o.st);
}

/* A journey that never yields holds the only thread: the watchdog ends
 * the process with its own status (the test passes on that exit code). */
Test(e2e, a_journey_that_never_yields_ends_test_mode_with_status_6, .timeout = 30,
     .exit_code = TESTMODE_HUNG)
{
	outcome o;

	runner_timeout = 1.5;
	run_text("name = \"h\"; duration = 1;\n"
		 "journeys = ( { name = \"h\"; journey = \"@E2E@:forever\";\n"
		 "  volume = { type = \"constant\"; count = 1; }; } );\n",
		 &o, NULL);
	cr_assert_fail("test mode returned (status %d) from a journey that never yields", o.status);
}

Test(e2e, stop_cancels_parked_calls_after_the_grace_period, .timeout = 30)
{
	outcome o;
	const stats_entry *t;

	run_text("name = \"k\"; duration = 1;\n"
		 "journeys = ( { name = \"k\"; journey = \"@E2E@:stuck\";\n"
		 "  volume = { type = \"constant\"; count = 3; }; } );\n",
		 &o, NULL);
	/* Cancelled iterations: the run is incomplete, not just failed. */
	cr_assert_eq(o.status, TESTMODE_INCOMPLETE, "status %d", o.status);
	t = find2(&o, "txn", "k", "stuck");
	cr_assert_eq(t->c[ST_TXN_FAILED], 3);
	cr_assert_eq(t->c[ST_TXN_CANCELLED], 3);
	cr_assert_eq(find2(&o, "journey", "k", NULL)->c[ST_J_CANCELLED], 3);
	/* 1 s of run + 0.5 s grace, well before the 3600 s sleep. */
	cr_assert_lt(o.elapsed, 5.0);
	stats_free(&o.st);
}

Test(e2e, named_columns_and_nested_names, .timeout = 30)
{
	outcome o;

	run_text(
		"name = \"n\";\n"
		"journeys = ( { name = \"n\"; journey = \"@E2E@:nested\";\n"
		"  datapool = { type = \"inline\"; mode = \"iterable\"; columns = [\"user\", \"score\"];\n"
		"    rows = ( (\"ann\", 1.5), (\"bob\", 2.5) ); };\n"
		"  volume = { type = \"constant\"; count = 1; }; } );\n",
		&o, NULL);
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	cr_assert_eq(find2(&o, "txn", "n", "a")->c[ST_TXN_OK], 2);
	cr_assert_eq(find2(&o, "txn", "n", "a :: b")->c[ST_TXN_OK], 2);
	cr_assert_eq(find2(&o, "send", "n", "row")->c[0], 2);
	stats_free(&o.st);
}

Test(e2e, oneshot_runs_each_instance_once_then_ends, .timeout = 30)
{
	outcome o;
	const stats_entry *j;

	run_text("name = \"o\";\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:quick\";\n"
		 "  volume = { type = \"oneshot\"; count = 7; }; } );\n",
		 &o, (const char *const[]){ "sleep=0.2", NULL });
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	j = find2(&o, "journey", "q", NULL);
	cr_assert_eq(j->c[ST_J_STARTED], 7, "started %llu", (unsigned long long)j->c[ST_J_STARTED]);
	cr_assert_eq(j->c[ST_J_OK], 7);
	cr_assert_lt(o.elapsed, 5.0);
	stats_free(&o.st);
}

Test(e2e, journey_longer_than_the_grace_still_completes_when_the_load_ends, .timeout = 30)
{
	outcome o;
	const stats_entry *j;

	/* grace is 0.5 s in these tests; the iteration takes 1.5 s and must
	 * not be cancelled, since nobody asked the run to stop. */
	run_text("name = \"g\";\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:quick\";\n"
		 "  volume = { type = \"oneshot\"; count = 1; }; } );\n",
		 &o, (const char *const[]){ "sleep=1.5", NULL });
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	j = find2(&o, "journey", "q", NULL);
	cr_assert_eq(j->c[ST_J_OK], 1);
	stats_free(&o.st);
}
