/*
 * test_volume.c - volume as the runner delivers it, through whole runs in
 * one process (as `mitectl scenario test` runs them): an open model's
 * starts are made when due, spread over the tick, at rates far above one
 * per millisecond (a start per timer firing once capped a journey at
 * 1000/s per runner and left the rest to be made all at once at the stop).
 */
#include "controller/run.h"
#include "controller/scenario.h"
#include "runner/runner.h"
#include "testmode.h"
#include "testpaths.h"

#include <criterion/criterion.h>

typedef struct outcome {
	stats st;
	char error[512];
	int status;
} outcome;

static void inspect(run *r, void *data)
{
	outcome *o = data;

	stats_merge(&o->st, run_totals(r));
	snprintf(o->error, sizeof o->error, "%s", run_error(r) ? run_error(r) : "");
}

/* Runs the scenario `text`, in which @E2E@ is the test plugin's path. */
static void run_text(const char *text, outcome *o, const char *const *sets)
{
	char dir[PATH_MAX], path[PATH_MAX], plugin[PATH_MAX], err[1024], body[4096];
	const char *at = strstr(text, "@E2E@");
	scenario_opts so = { 0 };
	scenario *s;
	int n;

	cr_assert_not_null(at);
	memset(o, 0, sizeof *o);
	stats_init(&o->st);
	tp_plugin(plugin, sizeof plugin, "e2e");
	n = snprintf(body, sizeof body, "%.*s%s%s", (int)(at - text), text, plugin, at + 5);
	cr_assert(n > 0 && (size_t)n < sizeof body, "scenario text too long");
	tp_mkdtemp(dir, sizeof dir);
	tp_write(tp_join(path, sizeof path, dir, "s.conf"), body);
	so.api = runner_api();
	so.allow_any_path = 1;
	so.sets = sets;
	s = scenario_load(path, &so, err, sizeof err);
	cr_assert_not_null(s, "scenario refused: %s", err);
	o->status = testmode_execute(
		s, &(testmode_opts){ .quiet = 1, .grace = 1, .inspect = inspect, .data = o });
	tp_rmrf(dir);
}

static const stats_entry *find1(const outcome *o, const char *kind, const char *a)
{
	return stats_find(&o->st, kind, &a, 1);
}

Test(volume, arrival_rate_far_above_a_start_per_millisecond, .timeout = 60)
{
	outcome o;
	const stats_entry *j, *lag;

	run_text("name = \"a\"; duration = 1;\n"
		 "journeys = ( { name = \"q\"; journey = \"@E2E@:quick\";\n"
		 "  volume = { type = \"arrival\"; rate = 5000; }; } );\n",
		 &o, (const char *const[]){ "sleep=0.01", NULL });
	cr_assert_eq(o.status, TESTMODE_OK, "status %d: %s", o.status, o.error);
	j = find1(&o, "journey", "q");
	lag = find1(&o, "lag", "q");
	cr_assert_not_null(j);
	cr_assert_not_null(lag);
	cr_assert_eq(j->c[ST_J_STARTED], 5000, "started %llu",
		     (unsigned long long)j->c[ST_J_STARTED]);
	/* Each start made when due is measured against its intended time;
	 * only what the tick did not reach is made at the stop. */
	cr_assert_geq(lag->c[0], 4500, "%llu of 5000 starts made when due",
		      (unsigned long long)lag->c[0]);
	stats_free(&o.st);
}
