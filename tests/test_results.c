/*
 * test_results.c - a run's result files: the event log (rotation by size,
 * drops counted when the writer falls behind, the end record), agreement
 * between the event log, the timeline and the summary, `mitectl cat`'s
 * printing, the results settings of mited.conf, and the HTML report.
 */
#include "controller/report_html.h"
#include "controller/results.h"
#include "controller/results_io.h"
#include "controller/run.h"
#include "controller/scenario.h"
#include "runner/runner.h"
#include "testmode.h"
#include "testpaths.h"

#include <criterion/criterion.h>
#include <unistd.h>
#include <dirent.h>

/* Runs a scenario (text with @E2E@ and @RES@ for the test plugins) with
 * the result files in dir; inspect (may be NULL) sees the finished run. */
static int run_text(const char *text, const char *dir, testmode_inspect_fn inspect, void *data)
{
	char path[PATH_MAX], e2e[PATH_MAX], res[PATH_MAX], body[8192], out[PATH_MAX], err[1024];
	scenario_opts so = { .allow_any_path = 1 };
	scenario *s;
	size_t n = 0;

	so.api = runner_api();
	tp_plugin(e2e, sizeof e2e, "e2e");
	tp_plugin(res, sizeof res, "results");
	for (const char *p = text; *p && n < sizeof body - 1;) {
		const char *sub = strncmp(p, "@E2E@", 5) == 0 ? e2e
			: strncmp(p, "@RES@", 5) == 0         ? res
							      : NULL;

		if (sub) {
			n += (size_t)snprintf(body + n, sizeof body - n, "%s", sub);
			p += 5;
		} else {
			body[n++] = *p++;
		}
	}
	body[n < sizeof body ? n : sizeof body - 1] = '\0';
	tp_write(tp_join(path, sizeof path, dir, "s.conf"), body);
	s = scenario_load(path, &so, err, sizeof err);
	cr_assert_not_null(s, "scenario refused: %s", err);
	tp_join(out, sizeof out, dir, "out");
	return testmode_execute(s,
				&(testmode_opts){ .quiet = 1,
						  .grace = 0.5,
						  .results_dir = out,
						  .inspect = inspect,
						  .data = data });
}

/* Every line of a file as JSON objects; aborts the test on a bad one. */
static cJSON *read_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	cJSON *a = cJSON_CreateArray();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int no = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) > 0) {
		cJSON *o = cJSON_ParseWithLength(line, (size_t)n);

		no++;
		cr_assert(cJSON_IsObject(o), "%s:%d: not a JSON object: %s", path, no, line);
		cJSON_AddItemToArray(a, o);
	}
	free(line);
	fclose(f);
	return a;
}

static const char *type_of(const cJSON *o)
{
	const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));

	return t ? t : "";
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	cr_assert(cJSON_IsNumber(v), "no number '%s'", k);
	return v->valuedouble;
}

/* ---- rotation and drops -------------------------------------------------- */

typedef struct flood {
	char dir[PATH_MAX];
	int n;
	cJSON *summary;
} flood;

/* On a finished run: a results object of its own with a tiny queue and
 * tiny files, flooded with events faster than any disk takes them. */
static void flood_inspect(run *r, void *data)
{
	flood *fl = data;
	results_conf c = {
		.events_max_size = 4096, .events_keep = 1000, .queue_max = 4096, .http_events = 0
	};
	char err[512];
	results *res =
		results_new(r, &(results_opts){ .dir = fl->dir, .conf = &c }, err, sizeof err);

	cr_assert_not_null(res, "%s", err);
	for (int i = 0; i < fl->n; i++) {
		cJSON *ev = cJSON_CreateObject();

		cJSON_AddStringToObject(ev, "type", "flood");
		cJSON_AddNumberToObject(ev, "i", i);
		cJSON_AddStringToObject(
			ev, "pad",
			"0123456789012345678901234567890123456789012345678901234567890123");
		results_event(res, r, ev);
		cJSON_Delete(ev);
	}
	cr_assert_eq(results_finish(res, r, NULL), 0);
	fl->summary = cJSON_Duplicate(results_summary(res), 1);
	/* A finished run's writer ends by itself once its queue is written,
	 * and is joined without waiting (mited keeps no thread per run). */
	for (int i = 0; i < 500 && !results_reap(res); i++)
		usleep(10000);
	cr_assert_eq(results_reap(res), 1, "the writer did not end after results_finish");
	results_free(res);
}

Test(results, rotation_and_counted_drops, .timeout = 60)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	flood fl = { .n = 50000 };
	const cJSON *ev;
	double logged, dropped;
	int files = 0, lines = 0, floods = 0, ends = 0;

	tp_mkdtemp(dir, sizeof dir);
	tp_join(fl.dir, sizeof fl.dir, dir, "flood");
	cr_assert_eq(
		run_text(
			"name = \"f\"; duration = 1;\n"
			"journeys = ( { journey = \"@E2E@:quick\"; volume = { type = \"constant\"; count = 1; }; } );\n",
			dir, flood_inspect, &fl),
		TESTMODE_OK);
	ev = cJSON_GetObjectItemCaseSensitive(fl.summary, "events");
	logged = num(ev, "logged");
	dropped = num(ev, "dropped_log");
	cr_assert_gt(dropped, 0, "a 4 KiB queue took 50000 events without a drop");
	cr_assert_geq(logged + dropped, fl.n);
	/* events.jsonl.K ... .1, then events.jsonl: each file at most the
	 * size limit (plus the line that crossed it is in the next one). */
	for (int k = 1000; k >= 0; k--) {
		struct stat st;
		cJSON *a;
		const cJSON *o;

		if (k)
			snprintf(path, sizeof path, "%s/events.jsonl.%d", fl.dir, k);
		else
			snprintf(path, sizeof path, "%s/events.jsonl", fl.dir);
		if (stat(path, &st) != 0)
			continue;
		files++;
		if (k)
			cr_assert_leq(st.st_size, 4096, "%s has %lld bytes", path,
				      (long long)st.st_size);
		a = read_lines(path);
		cJSON_ArrayForEach(o, a)
		{
			if (strcmp(type_of(o), "end") == 0) {
				ends++;
				cr_assert_eq(k, 0, "the end record is in events.jsonl");
				cr_assert_null(o->next, "the end record is the last line");
				cr_assert_float_eq(num(o, "events"), logged, 0.5);
				cr_assert_float_eq(num(o, "dropped"), dropped, 0.5);
				continue;
			}
			lines++;
			floods += strcmp(type_of(o), "flood") == 0;
		}
		cJSON_Delete(a);
	}
	cr_assert_gt(files, 2, "only %d files: no rotation", files);
	cr_assert_eq(ends, 1);
	cr_assert_eq(lines, (int)logged, "%d lines on disk, %g logged", lines, logged);
	cr_assert_leq(floods, fl.n);
	cr_assert_geq(floods + dropped, fl.n, "%d + %g dropped < %d", floods, dropped, fl.n);
	cJSON_Delete(fl.summary);
	tp_join(path, sizeof path, dir, "out");
	/* Everything is files in two folders. */
	{
		DIR *d = opendir(fl.dir);
		struct dirent *e;

		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				char p[PATH_MAX];

				unlink(tp_join(p, sizeof p, fl.dir, e->d_name));
			}
		closedir(d);
		rmdir(fl.dir);
	}
	tp_rmrf(path);
	rmdir(path);
	tp_rmrf(dir);
}

/* ---- agreement ----------------------------------------------------------- */

Test(results, event_log_timeline_and_summary_agree, .timeout = 60)
{
	char dir[PATH_MAX], out[PATH_MAX], path[PATH_MAX], err[512];
	cJSON *sum, *events, *tl;
	const cJSON *o, *x;
	double errors_ev = 0, notes_ev = 0, errors_sum = 0, notes_sum = 0, tx_tl = 0, tx_sum = 0,
	       rec = 0;
	int end_seen = 0;

	tp_mkdtemp(dir, sizeof dir);
	cr_assert_eq(
		run_text(
			"name = \"agree\"; duration = 2;\n"
			"journeys = (\n"
			" { name = \"s\"; journey = \"@RES@:sender\"; volume = { type = \"constant\"; count = 3; }; },\n"
			" { name = \"f\"; journey = \"@E2E@:flaky\"; datapool = { type = \"range\"; from = 1; to = 100000; };\n"
			"   volume = { type = \"constant\"; count = 2; }; },\n"
			" { name = \"g\"; journey = \"@E2E@:flaky\"; datapool = { type = \"range\"; from = 1; to = 100000; };\n"
			"   volume = { type = \"constant\"; count = 2; }; }\n"
			");\n",
			dir, NULL, NULL),
		TESTMODE_JOURNEY_ERRORS);
	tp_join(out, sizeof out, dir, "out");
	sum = results_io_load_json(tp_join(path, sizeof path, out, "summary.json"), err,
				   sizeof err);
	cr_assert_not_null(sum, "%s", err);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sum, "verdict")),
			 "failed");
	events = read_lines(tp_join(path, sizeof path, out, "events.jsonl"));
	tl = read_lines(tp_join(path, sizeof path, out, "timeline.jsonl"));
	cJSON_ArrayForEach(o, events)
	{
		const char *t = type_of(o);

		errors_ev += strcmp(t, "error") == 0;
		notes_ev += strcmp(t, "note") == 0;
		if (strcmp(t, "stats") == 0)
			rec++;
		if (strcmp(t, "end") == 0) {
			end_seen = 1;
			cr_assert_float_eq(num(o, "dropped"), 0, 0.5);
		}
	}
	cJSON_ArrayForEach(o, tl)
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "transactions")) tx_tl +=
		num(x, "count");
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "transactions")) tx_sum +=
		num(x, "count");
	/* Grouped by message and location: "odd row 1" at the same line of
	 * e2e.c from journeys f and g is one group that lists both. */
	{
		int both = 0;

		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "errors"))
		{
			const cJSON *w;
			double in_where = 0;

			errors_sum += num(x, "count");
			cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(x, "where"))
				in_where += num(w, "count");
			cr_assert_float_eq(in_where, num(x, "count"), 0.5);
			if (strcmp(cJSON_GetStringValue(
					   cJSON_GetObjectItemCaseSensitive(x, "message")),
				   "odd row 1") == 0)
				both = cJSON_GetArraySize(
					       cJSON_GetObjectItemCaseSensitive(x, "where")) == 2 &&
					num(x, "count") >= 2;
		}
		cr_assert(both, "\"odd row 1\" is one group from two journeys");
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sum, "messages")) if (
		strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "type")), "note") ==
		0) notes_sum += num(x, "count");
	cr_assert(end_seen);
	cr_assert_eq(rec, cJSON_GetArraySize(tl), "a stats event per timeline line");
	cr_assert_gt(tx_sum, 100);
	cr_assert_float_eq(tx_tl, tx_sum, 0.5, "timeline %g vs summary %g", tx_tl, tx_sum);
	cr_assert_gt(errors_sum, 10);
	cr_assert_float_eq(errors_ev, errors_sum, 0.5, "error events %g vs summary %g", errors_ev,
			   errors_sum);
	cr_assert_gt(notes_sum, 10);
	cr_assert_float_eq(notes_ev, notes_sum, 0.5, "note events %g vs summary %g", notes_ev,
			   notes_sum);
	/* Two seconds of run, a record a second (and the drain's). */
	cr_assert_geq(cJSON_GetArraySize(tl), 2);
	cr_assert_leq(cJSON_GetArraySize(tl), 4);

	/* mitectl cat: one line per event, an error and a message readable. */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		int lines = 0;

		cr_assert_eq(results_io_cat(out, f, 0, err, sizeof err), 0, "%s", err);
		fclose(f);
		for (char *p = text; (p = strchr(p, '\n')); p++)
			lines++;
		cr_assert_eq(lines, cJSON_GetArraySize(events));
		cr_assert_not_null(strstr(text, " error     odd row "));
		cr_assert_not_null(strstr(text, " note      k=v n=7  [s :: send]"));
		cr_assert_not_null(strstr(text, " end       end of the log: verdict failed"));
		free(text);
	}
	/* The HTML report: charts with points, nothing fetched. */
	{
		char *html = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&html, &len);

		cr_assert_eq(report_html_write(out, f, err, sizeof err), 0, "%s", err);
		fclose(f);
		cr_assert_not_null(strstr(html, "<svg"));
		cr_assert_not_null(strstr(html, "id=\"chart-throughput\""));
		cr_assert_not_null(strstr(html, "id=\"chart-latency-0\""));
		cr_assert_not_null(strstr(html, "id=\"chart-failures\""));
		cr_assert_not_null(strstr(html, "id=\"chart-volume\""));
		cr_assert_null(strstr(html, "data-points=\"0\" ><title>transactions/s"));
		cr_assert_null(strstr(html, " src="), "nothing loaded");
		cr_assert_null(strstr(html, "<link"));
		cr_assert_null(strstr(html, "url("));
		cr_assert_null(strstr(html, "@import"));
		cr_assert_not_null(strstr(html, "default-src 'none'"));
		free(html);
	}
	cJSON_Delete(sum);
	cJSON_Delete(events);
	cJSON_Delete(tl);
	tp_rmrf(out);
	rmdir(out);
	tp_rmrf(dir);
}

/* The run's summary object "run" of a finished scenario. */
static cJSON *summary_of(const char *dir, cJSON **sum)
{
	char out[PATH_MAX], path[PATH_MAX], err[512];

	tp_join(out, sizeof out, dir, "out");
	*sum = results_io_load_json(tp_join(path, sizeof path, out, "summary.json"), err,
				    sizeof err);
	cr_assert_not_null(*sum, "%s", err);
	return cJSON_GetObjectItemCaseSensitive(*sum, "run");
}

#define ABORT_SCENARIO(dur, abort)                                                              \
	"name = \"abort\"; duration = " dur                                                     \
	";\n" /* thresholds are the subject: a loaded machine's short volume or loop \
	 * lag is a warning here, not the verdict */          \
	"verdict = { volume = \"warn\"; saturation = \"warn\"; };\n"                            \
	"journeys = ( { name = \"f\"; journey = \"@E2E@:flaky\";\n"                             \
	"  datapool = { type = \"range\"; from = 1; to = 100000; };\n"                          \
	"  volume = { type = \"constant\"; count = 2; }; } );\n"                                \
	"thresholds = ( { metric = \"txn:*\"; stat = \"failure_rate\"; max = 0.0; window = 1; " \
	"abort = " abort "; } );\n"

/* A threshold with abort = true that breaks: results_tick returns why, and
 * the run stops itself early, by that threshold. */
Test(results, an_aborting_threshold_stops_the_run, .timeout = 60)
{
	char dir[PATH_MAX];
	cJSON *sum;
	const cJSON *rm, *stopped;

	tp_mkdtemp(dir, sizeof dir);
	run_text(ABORT_SCENARIO("30", "true"), dir, NULL, NULL);
	rm = summary_of(dir, &sum);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sum, "verdict")),
			 "thresholds");
	cr_assert_not_null(
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rm, "aborted_by")));
	stopped = cJSON_GetObjectItemCaseSensitive(rm, "stopped");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(stopped, "early")));
	cr_assert_eq(strncmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(stopped, "by")),
			     "threshold ", 10),
		     0, "stopped by: %s",
		     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(stopped, "by")));
	cr_assert_lt(num(rm, "elapsed"), 20, "the run went on for %g s", num(rm, "elapsed"));
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

/* The same threshold without abort: broken, but the run goes on to its end. */
Test(results, a_threshold_without_abort_lets_the_run_end, .timeout = 60)
{
	char dir[PATH_MAX];
	cJSON *sum;
	const cJSON *rm, *stopped;

	tp_mkdtemp(dir, sizeof dir);
	run_text(ABORT_SCENARIO("3", "false"), dir, NULL, NULL);
	rm = summary_of(dir, &sum);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sum, "verdict")),
			 "thresholds");
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(rm, "aborted_by"));
	stopped = cJSON_GetObjectItemCaseSensitive(rm, "stopped");
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(stopped, "early")));
	cr_assert_geq(num(rm, "elapsed"), 3);
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

Test(results, cat_skips_lines_that_are_not_json)
{
	char dir[PATH_MAX], path[PATH_MAX], err[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	tp_mkdtemp(dir, sizeof dir);
	tp_write(
		tp_join(path, sizeof path, dir, "e.jsonl"),
		"{\"type\":\"error\",\"time\":1.5,\"journey\":\"j\",\"transaction\":\"t\",\"location\":\"a.c:1:f\","
		"\"message\":\"two\\nlines\"}\nnot json\n{\"type\":\"custom\",\"time\":2,\"x\":\"y\"}\n");
	f = open_memstream(&text, &len);
	cr_assert_eq(results_io_cat(path, f, 0, err, sizeof err), 0);
	fclose(f);
	cr_assert_str_eq(text,
			 "     1.500 error     two\\nlines at a.c:1:f  [j :: t]\n"
			 "     2.000 custom    x=y\n");
	free(text);
	cr_assert_lt(results_io_cat("/nonexistent/e.jsonl", stdout, 0, err, sizeof err), 0);
	cr_assert_str_eq(err, "/nonexistent/e.jsonl: No such file or directory");
	tp_rmrf(dir);
}

Test(results, conf_errors_name_file_and_line)
{
	char dir[PATH_MAX], path[PATH_MAX], err[512], want[PATH_MAX + 256];
	results_conf c;
	config_t cf;

	tp_mkdtemp(dir, sizeof dir);
	tp_write(tp_join(path, sizeof path, dir, "m.conf"),
		 "results = {\n  events_max_size = \"2M\";\n  events_keep = 0;\n};\n");
	config_init(&cf);
	cr_assert(config_read_file(&cf, path));
	results_conf_defaults(&c);
	cr_assert_lt(results_conf_parse(config_lookup(&cf, "results"), path, &c, err, sizeof err),
		     0);
	snprintf(want, sizeof want, "%s:3: 'events_keep' must be between 1 and 1000, not 0", path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(c.events_max_size, (size_t)2 << 20);
	config_destroy(&cf);
	tp_rmrf(dir);
}
