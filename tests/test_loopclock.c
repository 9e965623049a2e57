/*
 * test_loopclock.c - a runner whose instances take longer to wake than
 * they sleep still comes round to its stats and messages: a sleep never
 * moves the loop's clock (runner/sdk.c), or the timers phase of a busy
 * runner would never end and the controller would see nothing running.
 * (Its own program: run beside test_verdict's in Criterion's parallel
 * workers, the sanitizer build's libcriterion leaked 48 bytes.)
 */
#include "controller/results_io.h"
#include "controller/scenario.h"
#include "runner/runner.h"
#include "testmode.h"
#include "testpaths.h"

#include <criterion/criterion.h>

/* ---- helpers ------------------------------------------------------------- */

/* A scenario from text, with @V@ for the verdict test plugin and @E2E@ for
 * the e2e one, in dir. NULL with err set when refused. */
static scenario *load_text(const char *dir, const char *text, char *err, size_t errlen)
{
	char path[PATH_MAX], v[PATH_MAX], e2e[PATH_MAX], body[8192];
	scenario_opts so = { .allow_any_path = 1 };
	size_t n = 0;

	so.api = runner_api();
	tp_plugin(v, sizeof v, "verdict");
	tp_plugin(e2e, sizeof e2e, "e2e");
	for (const char *p = text; *p && n < sizeof body - 1;) {
		const char *sub = strncmp(p, "@V@", 3) == 0 ? v
			: strncmp(p, "@E2E@", 5) == 0       ? e2e
							    : NULL;

		if (sub) {
			n += (size_t)snprintf(body + n, sizeof body - n, "%s", sub);
			p += sub == v ? 3 : 5;
		} else {
			body[n++] = *p++;
		}
	}
	body[n < sizeof body ? n : sizeof body - 1] = '\0';
	tp_write(tp_join(path, sizeof path, dir, "s.conf"), body);
	return scenario_load(path, &so, err, errlen);
}

/* Runs a scenario with its results in dir/out; returns the exit status
 * and the summary.json read back (NULL when there is none). */
static int run_text(const char *dir, const char *text, double grace, cJSON **sum)
{
	char out[PATH_MAX], file[PATH_MAX], err[1024];
	scenario *s = load_text(dir, text, err, sizeof err);
	int rc;

	cr_assert_not_null(s, "scenario refused: %s", err);
	tp_join(out, sizeof out, dir, "out");
	rc = testmode_execute(s,
			      &(testmode_opts){ .quiet = 1, .grace = grace, .results_dir = out });
	*sum = results_io_load_json(tp_join(file, sizeof file, out, "summary.json"), err,
				    sizeof err);
	return rc;
}

static const cJSON *get(const cJSON *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof buf, "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = *k >= '0' && *k <= '9' ? cJSON_GetArrayItem(o, atoi(k))
					   : cJSON_GetObjectItemCaseSensitive(o, k);
	return o;
}

static double num(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);

	cr_assert(cJSON_IsNumber(v), "no number at %s", path);
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);

	cr_assert(cJSON_IsString(v), "no string at %s", path);
	return v->valuestring;
}

static cJSON *read_timeline(const char *dir)
{
	char path[PATH_MAX], line[65536];
	FILE *f = fopen(tp_join(path, sizeof path, dir, "out/timeline.jsonl"), "r");
	cJSON *a = cJSON_CreateArray();

	cr_assert_not_null(f);
	while (fgets(line, sizeof line, f))
		cJSON_AddItemToArray(a, cJSON_Parse(line));
	fclose(f);
	return a;
}

Test(loopclock, a_busy_runner_still_reports_what_runs, .timeout = 60)
{
	char dir[PATH_MAX];
	cJSON *sum, *tl;
	const cJSON *rec;
	int seen = 0;

	tp_mkdtemp(dir, sizeof dir);
	/* 3000 instances sleeping 1 ms: waking them takes the runner longer
	 * than the sleep. Its loop must still come round to its stats and
	 * messages, so that the actual count is known as the run goes (it
	 * read 0 to the end when a sleep moved the loop's clock). */
	run_text(dir,
		 "name = \"b\"; duration = 3; config = { sleep = \"0.001\"; };\n"
		 "verdict = { saturation = \"warn\"; };\n"
		 "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		 "  volume = { type = \"constant\"; count = 3000; }; } );\n",
		 5, &sum);
	cr_assert_not_null(sum);
	tl = read_timeline(dir);
	cJSON_ArrayForEach(rec, tl) if (strcmp(str(rec, "state"), "running") == 0)
	{
		cr_assert_eq(num(rec, "volume.0.actual"), 3000, "t %.1f: actual %.0f",
			     num(rec, "t"), num(rec, "volume.0.actual"));
		seen++;
	}
	cr_assert_geq(seen, 1);
	cr_assert_gt(num(sum, "journeys.0.volume.actual_mean"), 2700);
	cJSON_Delete(tl);
	cJSON_Delete(sum);
	tp_rmrf(dir);
}
