/*
 * test_verdict.c - a run that did not do what was asked never passes:
 * cancelled calls fail their transactions, a saturated runner taints the
 * run, a run stopped early or whose summary cannot be written is
 * incomplete, volume short of the requirement fails it, several problems
 * pick the most severe; the timeline samples the requirement at its own
 * second and goes on while the run drains; the scenario's `verdict` group.
 */
#include "controller/results.h"
#include "controller/results_judge.h"
#include "controller/run.h"
#include "controller/scenario.h"
#include "controller/verdict.h"
#include "controller/results_io.h"
#include "runner/runner.h"
#include "testmode.h"
#include "testpaths.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Whether the summary lists a problem of this kind whose reason has text. */
static int has_reason(const cJSON *sum, const char *kind, const char *text)
{
	const cJSON *it;

	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItemCaseSensitive(
				   sum, "reasons")) if (strcmp(str(it, "verdict"), kind) == 0 &&
							strstr(str(it, "reason"), text)) return 1;
	return 0;
}

static cJSON *read_timeline(const char *dir);

/* ---- cancelled calls (issue: a cancelled request counted as a success) --- */

Test(verdict, a_cancelled_call_fails_its_transaction_whatever_the_journey_returns, .timeout = 30)
{
	char dir[PATH_MAX];
	cJSON *sum;
	int rc;

	tp_mkdtemp(dir, sizeof dir);
	/* deaf ignores what its 1-hour sleep returns and ends its transaction
	 * as if all went well; the grace period is over long before. */
	rc = run_text(dir,
		      "name = \"c\"; duration = 1;\n"
		      "journeys = ( { name = \"d\"; journey = \"@V@:deaf\";\n"
		      "  volume = { type = \"constant\"; count = 3; }; } );\n",
		      0.3, &sum);
	cr_assert_not_null(sum);
	cr_assert_eq(rc, TESTMODE_INCOMPLETE, "status %d", rc);
	cr_assert_str_eq(str(sum, "verdict"), "incomplete");
	cr_assert(has_reason(sum, "incomplete", "3 iteration(s) cancelled"), "%s",
		  str(sum, "verdict_reason"));
	cr_assert_eq(num(sum, "transactions.0.count"), 3);
	cr_assert_eq(num(sum, "transactions.0.failures"), 3,
		     "a cancelled transaction is a failed one");
	cr_assert_eq(num(sum, "transactions.0.cancelled"), 3);
	cr_assert_eq(num(sum, "journeys.0.failed"), 3);
	cr_assert_eq(num(sum, "journeys.0.cancelled"), 3);
	cr_assert_eq(num(sum, "journeys.0.ok"), 0);
	/* Not a journey error of its own: no "journey returned" line. */
	cr_assert_eq(cJSON_GetArraySize(get(sum, "errors")), 0);
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

/* ---- a saturated generator ----------------------------------------------- */

#define HOG(extra)                                              \
	"name = \"h\"; duration = 2;\n" extra                   \
	"journeys = ( { name = \"h\"; journey = \"@V@:hog\";\n" \
	"  volume = { type = \"constant\"; count = 2; }; } );\n"

Test(verdict, a_saturated_runner_taints_the_run, .timeout = 30)
{
	char dir[PATH_MAX];
	cJSON *sum;
	int rc;

	tp_mkdtemp(dir, sizeof dir);
	/* hog holds the loop 0.2 s at a time: every turn is far past 10 ms. */
	rc = run_text(dir, HOG(""), 2, &sum);
	cr_assert_not_null(sum);
	cr_assert_eq(rc, TESTMODE_TAINTED, "status %d: %s", rc, str(sum, "verdict_reason"));
	cr_assert_str_eq(str(sum, "verdict"), "tainted");
	cr_assert(cJSON_IsTrue(get(sum, "generator.tainted")));
	cr_assert_str_eq(str(sum, "generator.runners.0.runner"), "0");
	cr_assert_gt(num(sum, "generator.runners.0.p50"), 0.15);
	cr_assert_gt(num(sum, "generator.runners.0.over_bound_share"), 0.5);
	cr_assert_gt(num(sum, "generator.saturated_seconds"), 0.5);
	cr_assert(has_reason(sum, "tainted", "runner 0's loop was saturated"));
	cJSON_Delete(sum);

	/* The scenario may make it a warning. */
	rc = run_text(dir, HOG("verdict = { saturation = \"warn\"; };\n"), 2, &sum);
	cr_assert_not_null(sum);
	cr_assert_eq(rc, TESTMODE_OK, "status %d: %s", rc, str(sum, "verdict_reason"));
	cr_assert(cJSON_IsFalse(get(sum, "generator.tainted")));
	cr_assert_not_null(strstr(str(sum, "warnings.0"), "loop was saturated"));
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

Test(verdict, a_quiet_runner_is_not_tainted, .timeout = 30)
{
	char dir[PATH_MAX];
	cJSON *sum;
	int rc;

	tp_mkdtemp(dir, sizeof dir);
	rc = run_text(dir,
		      "name = \"q\"; duration = 2;\n"
		      "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		      "  volume = { type = \"constant\"; count = 20; }; } );\n",
		      2, &sum);
	cr_assert_not_null(sum);
	cr_assert_eq(rc, TESTMODE_OK, "status %d: %s", rc, str(sum, "verdict_reason"));
	cr_assert(cJSON_IsFalse(get(sum, "generator.tainted")));
	cr_assert_gt(num(sum, "generator.runners.0.turns"), 10);
	cr_assert_lt(num(sum, "generator.runners.0.over_bound_share"), 0.1);
	/* The volume was delivered, and the summary says so with numbers. */
	cr_assert(cJSON_IsTrue(get(sum, "journeys.0.volume.delivered")));
	cr_assert_eq(num(sum, "journeys.0.volume.required_max"), 20);
	cr_assert_gt(num(sum, "journeys.0.volume.actual_mean"), 18);
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

/* ---- open models: starts late --------------------------------------------- */

Test(verdict, an_open_model_that_cannot_keep_up_is_not_delivered, .timeout = 30)
{
	char dir[PATH_MAX];
	cJSON *sum;
	int rc;

	tp_mkdtemp(dir, sizeof dir);
	/* 20 starts a second of an iteration that holds the loop 0.2 s: at
	 * most 5 a second can start on time. The saturation is a warning
	 * here, so that the volume is the verdict. */
	rc = run_text(dir,
		      "name = \"o\"; duration = 2;\n"
		      "verdict = { saturation = \"warn\"; start_lag = 0.3; };\n"
		      "journeys = ( { name = \"h\"; journey = \"@V@:hog\";\n"
		      "  volume = { type = \"arrival\"; rate = 20; }; } );\n",
		      30, &sum);
	cr_assert_not_null(sum);
	cr_assert_eq(rc, TESTMODE_VOLUME, "status %d: %s", rc, str(sum, "verdict_reason"));
	cr_assert(has_reason(sum, "volume", "journey h: starts late"), "%s",
		  str(sum, "verdict_reason"));
	cr_assert_gt(num(sum, "journeys.0.volume.start_lag_p99"), 0.3);
	cr_assert_geq(num(sum, "journeys.0.volume.required_starts"), 39);
	cr_assert(cJSON_IsFalse(get(sum, "journeys.0.volume.delivered")));
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

/* ---- stopped early ---------------------------------------------------------- */

/* ^C 1.6 s from now, as a user would: to the process, from a thread that
 * does not take it itself (the test mode's watchdog waits for it). */
static void *interrupt_later(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	usleep(1600 * 1000);
	kill(getpid(), SIGINT);
	return NULL;
}

Test(verdict, a_run_stopped_early_is_incomplete_and_keeps_its_volume, .timeout = 30)
{
	char dir[PATH_MAX];
	pthread_t th;
	cJSON *sum;
	int rc;

	tp_mkdtemp(dir, sizeof dir);
	pthread_create(&th, NULL, interrupt_later, NULL);
	rc = run_text(dir,
		      "name = \"s\"; duration = 30;\n"
		      "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		      "  volume = { type = \"constant\"; count = 5; }; } );\n",
		      2, &sum);
	pthread_join(th, NULL);
	cr_assert_not_null(sum);
	cr_assert_eq(rc, TESTMODE_INCOMPLETE, "status %d: %s", rc, str(sum, "verdict_reason"));
	cr_assert(has_reason(sum, "incomplete", "stopped early by SIGINT"), "%s",
		  str(sum, "verdict_reason"));
	cr_assert(cJSON_IsTrue(get(sum, "run.stopped.early")));
	cr_assert_str_eq(str(sum, "run.stopped.by"), "SIGINT (^C)");
	cr_assert_gt(num(sum, "run.stopped.at"), 1.0);
	cr_assert_lt(num(sum, "run.stopped.at"), 10.0);
	/* Stopped within its second second: the volume is still there. */
	cr_assert_eq(num(sum, "journeys.0.volume.required_max"), 5);
	cr_assert_gt(num(sum, "journeys.0.volume.required_mean"), 4.5);
	cr_assert_gt(num(sum, "journeys.0.volume.actual_mean"), 4.5);
	cr_assert_gt(num(sum, "journeys.0.volume.seconds"), 1.0);
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

Test(verdict, stopping_a_run_without_an_end_is_its_end, .timeout = 30)
{
	char dir[PATH_MAX];
	pthread_t th;
	cJSON *sum;
	int rc;

	tp_mkdtemp(dir, sizeof dir);
	/* No duration, a model without an end: `journey test` until ^C. */
	pthread_create(&th, NULL, interrupt_later, NULL);
	rc = run_text(dir,
		      "name = \"e\";\n"
		      "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		      "  volume = { type = \"constant\"; count = 2; }; } );\n",
		      2, &sum);
	pthread_join(th, NULL);
	cr_assert_not_null(sum);
	cr_assert_eq(rc, TESTMODE_OK, "status %d: %s", rc, str(sum, "verdict_reason"));
	cr_assert(cJSON_IsFalse(get(sum, "run.stopped.early")));
	cr_assert_str_eq(str(sum, "run.stopped.by"), "SIGINT (^C)");
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

/* ---- results that cannot be written --------------------------------------- */

Test(verdict, a_summary_that_cannot_be_written_is_said_and_kept, .timeout = 30)
{
	char dir[PATH_MAX], out[PATH_MAX], blocker[PATH_MAX], err[1024], msg[4096];
	scenario *s;
	FILE *ef;
	size_t n;
	int rc, errfd;

	tp_mkdtemp(dir, sizeof dir);
	/* summary.json goes through .summary.json.tmp: a folder there makes
	 * the write fail, for root too. */
	tp_join(out, sizeof out, dir, "out");
	mkdir(out, 0750);
	mkdir(tp_join(blocker, sizeof blocker, out, ".summary.json.tmp"), 0750);
	s = load_text(dir,
		      "name = \"w\"; duration = 1;\n"
		      "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		      "  volume = { type = \"constant\"; count = 1; }; } );\n",
		      err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	errfd = dup(STDERR_FILENO);
	cr_assert_not_null(ef = tmpfile());
	dup2(fileno(ef), STDERR_FILENO);
	rc = testmode_execute(s, &(testmode_opts){ .quiet = 1, .grace = 1, .results_dir = out });
	fflush(stderr);
	dup2(errfd, STDERR_FILENO);
	close(errfd);
	rewind(ef);
	n = fread(msg, 1, sizeof msg - 1, ef);
	msg[n] = '\0';
	fclose(ef);
	cr_assert_eq(rc, TESTMODE_INCOMPLETE, "status %d", rc);
	cr_assert_not_null(strstr(msg, "mitectl: results: could not write"), "stderr: %s", msg);
	cr_assert_not_null(strstr(msg, "summary.json"), "stderr: %s", msg);
	tp_join(blocker, sizeof blocker, out, "summary.json");
	cr_assert(access(blocker, F_OK) != 0, "no summary.json can be there");
	tp_rmrf(dir);
}

Test(verdict, results_finish_reports_the_write_and_marks_the_summary, .timeout = 30)
{
	char dir[PATH_MAX], out[PATH_MAX], blocker[PATH_MAX], err[1024];
	uv_loop_t loop;
	scenario *s;
	run *r;
	results *res;
	const cJSON *sum;

	tp_mkdtemp(dir, sizeof dir);
	tp_join(out, sizeof out, dir, "out");
	s = load_text(dir,
		      "name = \"w\"; duration = 1;\n"
		      "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		      "  volume = { type = \"constant\"; count = 1; }; } );\n",
		      err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	uv_loop_init(&loop);
	r = run_new(&loop, s, &(run_opts){ 0 }, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	res = results_new(r, &(results_opts){ .dir = out }, err, sizeof err);
	cr_assert_not_null(res, "%s", err);
	mkdir(tp_join(blocker, sizeof blocker, out, ".summary.json.tmp"), 0750);
	cr_assert_lt(results_finish(res, r, NULL), 0);
	cr_assert_not(results_on_disk(res));
	cr_assert_not_null(results_not_written(res));
	cr_assert_not_null(strstr(results_not_written(res), "summary.json"), "%s",
			   results_not_written(res));
	sum = results_summary(res);
	cr_assert_not_null(sum, "the summary is kept in memory");
	cr_assert(cJSON_IsFalse(get(sum, "files.on_disk")));
	cr_assert_str_eq(str(sum, "verdict"), "incomplete");
	cr_assert(has_reason(sum, "incomplete", "results not written: summary.json"));
	cr_assert_eq(results_verdict_kind(res, r), VERDICT_INCOMPLETE);
	results_free(res);
	run_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	tp_rmrf(dir);
}

/* ---- the judgement itself ------------------------------------------------- */

/* A run of scenario text that never ran, judged on made-up volume. */
static verdict_kind judge_text(const char *text, const judge_volume *vol, cJSON *out)
{
	char dir[PATH_MAX], err[1024];
	uv_loop_t loop;
	scenario *s;
	run *r;
	verdict_list v;
	verdict_kind k;
	judge_in in = { .started = 1, .vol = vol };

	tp_mkdtemp(dir, sizeof dir);
	s = load_text(dir, text, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	uv_loop_init(&loop);
	r = run_new(&loop, s, &(run_opts){ 0 }, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	in.r = r;
	verdict_list_init(&v);
	results_judge(&in, &v);
	k = v.worst;
	verdict_list_to_json(&v, out, "fine");
	run_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	tp_rmrf(dir);
	return k;
}

#define CLOSED(extra)                                                                     \
	"name = \"j\";\n" extra "journeys = ( { name = \"web\"; journey = \"@V@:nap\";\n" \
	"  volume = { type = \"constant\"; count = 10; }; } );\n"

Test(verdict, volume_short_past_the_tolerance_fails_with_its_own_verdict)
{
	judge_volume half = { .required_sum = 100,
			      .actual_sum = 50,
			      .required_max = 10,
			      .actual_max = 5,
			      .behind = 10,
			      .seconds = 10 };
	judge_volume near = { .required_sum = 100,
			      .actual_sum = 95,
			      .required_max = 10,
			      .actual_max = 10,
			      .behind = 1,
			      .seconds = 10 };
	cJSON *o = cJSON_CreateObject();

	cr_assert_eq(judge_text(CLOSED(""), &half, o), VERDICT_VOLUME);
	cr_assert_str_eq(str(o, "verdict"), "volume");
	cr_assert_not_null(
		strstr(str(o, "verdict_reason"),
		       "volume not delivered: journey web: 5.0 of 10.0 instances on average (50.0 % short, "
		       "behind 10 s of 10 s)"),
		"%s", str(o, "verdict_reason"));
	cJSON_Delete(o);
	/* 5 % short: within the default tolerance (10 %). */
	o = cJSON_CreateObject();
	cr_assert_eq(judge_text(CLOSED(""), &near, o), VERDICT_PASSED);
	cr_assert_str_eq(str(o, "verdict_reason"), "fine");
	cJSON_Delete(o);
	/* ... but not within 1 %. */
	o = cJSON_CreateObject();
	cr_assert_eq(judge_text(CLOSED("verdict = { volume_tolerance = 0.01; };\n"), &near, o),
		     VERDICT_VOLUME);
	cJSON_Delete(o);
	/* A warning when the scenario says so. */
	o = cJSON_CreateObject();
	cr_assert_eq(judge_text(CLOSED("verdict = { volume = \"warn\"; };\n"), &half, o),
		     VERDICT_PASSED);
	cr_assert_not_null(strstr(str(o, "warnings.0"), "volume not delivered"));
	cJSON_Delete(o);
}

Test(verdict, the_most_severe_problem_is_the_verdict_and_all_are_listed)
{
	verdict_list v;
	cJSON *o = cJSON_CreateObject();

	verdict_list_init(&v);
	verdict_add(&v, VERDICT_THRESHOLDS, "t1");
	verdict_add(&v, VERDICT_VOLUME, "v1");
	verdict_add(&v, VERDICT_INCOMPLETE, "i1");
	verdict_add(&v, VERDICT_TAINTED, "x1");
	verdict_add(&v, VERDICT_INCOMPLETE, "i2");
	verdict_warn(&v, "w1");
	cr_assert_eq(v.worst, VERDICT_INCOMPLETE);
	verdict_list_to_json(&v, o, "fine");
	cr_assert_str_eq(str(o, "verdict"), "incomplete");
	cr_assert_str_eq(str(o, "verdict_reason"), "i1 (and 4 more: see reasons)");
	cr_assert_str_eq(str(o, "reasons.0.reason"), "i1");
	cr_assert_str_eq(str(o, "reasons.1.reason"), "i2");
	cr_assert_str_eq(str(o, "reasons.2.reason"), "x1");
	cr_assert_str_eq(str(o, "reasons.3.reason"), "v1");
	cr_assert_str_eq(str(o, "reasons.4.reason"), "t1");
	cr_assert_str_eq(str(o, "warnings.0"), "w1");
	cJSON_Delete(o);
	/* Exit statuses, and what cannot be read never passes. */
	cr_assert_eq(verdict_exit_status(VERDICT_PASSED), 0);
	cr_assert_eq(verdict_exit_status(VERDICT_FAILED), 1);
	cr_assert_eq(verdict_exit_status(VERDICT_THRESHOLDS), 4);
	cr_assert_eq(verdict_exit_status(VERDICT_VOLUME), 5);
	cr_assert_eq(verdict_exit_status(VERDICT_TAINTED), 7);
	cr_assert_eq(verdict_exit_status(VERDICT_INCOMPLETE), 8);
	cr_assert_eq(verdict_kind_of("tainted"), VERDICT_TAINTED);
	cr_assert_eq(verdict_kind_of("garbage"), VERDICT_FAILED);
	cr_assert_eq(verdict_kind_of(NULL), VERDICT_FAILED);
	cr_assert_gt(VERDICT_FAILED, VERDICT_INCOMPLETE);
	cr_assert_gt(VERDICT_INCOMPLETE, VERDICT_TAINTED);
	cr_assert_gt(VERDICT_TAINTED, VERDICT_VOLUME);
	cr_assert_gt(VERDICT_VOLUME, VERDICT_THRESHOLDS);
}

#define BADV(name, group, msg)                                                          \
	Test(verdict, bad_group_##name)                                                 \
	{                                                                               \
		char dir[PATH_MAX], err[1024];                                          \
		scenario *s;                                                            \
                                                                                        \
		tp_mkdtemp(dir, sizeof dir);                                            \
		s = load_text(dir, CLOSED(group), err, sizeof err);                     \
		cr_assert_null(s);                                                      \
		cr_assert_not_null(strstr(err, msg), "got: %s", err);                   \
		cr_assert_not_null(strstr(err, "s.conf:2: verdict: "), "got: %s", err); \
		tp_rmrf(dir);                                                           \
	}

BADV(unknown_key, "verdict = { tolerance = 0.1; };\n", "unknown key 'tolerance'")
BADV(tolerance_range, "verdict = { volume_tolerance = 1.5; };\n",
     "'volume_tolerance' must be between 0 and 1, not 1.5")
BADV(lag_type, "verdict = { loop_lag = true; };\n", "'loop_lag' must be seconds")
BADV(lag_units, "verdict = { loop_lag = \"5 parsecs\"; };\n",
     "'loop_lag' must be seconds or a time like")
BADV(lag_range, "verdict = { loop_lag = \"2h\"; };\n",
     "'loop_lag' must be seconds between 0.001 and 3600, not \"2h\"")
BADV(volume_word, "verdict = { volume = \"maybe\"; };\n", "'volume' must be \"fail\" or \"warn\"")
BADV(not_a_group, "verdict = 3;\n", "'verdict' must be a group")

Test(verdict, the_group_is_read)
{
	char dir[PATH_MAX], err[1024];
	scenario *s;

	tp_mkdtemp(dir, sizeof dir);
	s = load_text(
		dir,
		CLOSED("verdict = { volume_tolerance = 0.25; volume = \"warn\"; start_lag = \"250ms\"; "
		       "loop_lag = 0.02; loop_lag_share = 0.5; saturation = \"warn\"; };\n"),
		err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_float_eq(s->verdict.volume_tolerance, 0.25, 1e-9);
	cr_assert(s->verdict.volume_warn);
	cr_assert_float_eq(s->verdict.start_lag, 0.25, 1e-9);
	cr_assert_float_eq(s->verdict.loop_lag, 0.02, 1e-9);
	cr_assert_float_eq(s->verdict.loop_lag_share, 0.5, 1e-9);
	cr_assert(s->verdict.loop_lag_warn);
	scenario_free(s);
	tp_rmrf(dir);
}

/* ---- the timeline --------------------------------------------------------- */

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

Test(verdict, the_timeline_samples_the_requirement_at_its_second, .timeout = 30)
{
	char dir[PATH_MAX];
	cJSON *sum, *tl;
	const cJSON *rec;
	int checked = 0;

	tp_mkdtemp(dir, sizeof dir);
	/* 10 more instances every second: half a second late is 5 off. */
	run_text(dir,
		 "name = \"r\"; duration = 4;\n"
		 "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		 "  volume = { type = \"ramp\"; from = 0; to = 100; over = 10; }; } );\n",
		 2, &sum);
	tl = read_timeline(dir);
	cJSON_ArrayForEach(rec, tl)
	{
		double t = num(rec, "t");

		if (strcmp(str(rec, "state"), "running") != 0)
			continue;
		cr_assert(fabs(num(rec, "volume.0.required") - 10 * t) <= 2.01,
			  "t %.3f: required %.0f, the model %.1f", t, num(rec, "volume.0.required"),
			  10 * t);
		checked++;
	}
	cr_assert_geq(checked, 2);
	cJSON_Delete(tl);
	cJSON_Delete(sum);
	tp_rmrf(dir);
}

Test(verdict, the_timeline_goes_on_while_the_run_drains, .timeout = 30)
{
	char dir[PATH_MAX];
	cJSON *sum, *tl;
	const cJSON *rec;
	int stopping = 0;
	double last = 0;

	tp_mkdtemp(dir, sizeof dir);
	/* Iterations of 3 s after a 1 s run: 2 s and more of drain. */
	run_text(dir,
		 "name = \"d\"; duration = 1; config = { sleep = \"3\"; };\n"
		 "journeys = ( { name = \"n\"; journey = \"@V@:nap\";\n"
		 "  volume = { type = \"constant\"; count = 2; }; } );\n",
		 10, &sum);
	cr_assert_not_null(sum);
	cr_assert_str_eq(str(sum, "verdict"), "passed", "%s", str(sum, "verdict_reason"));
	tl = read_timeline(dir);
	cJSON_ArrayForEach(rec, tl)
	{
		stopping += strcmp(str(rec, "state"), "stopping") == 0;
		cr_assert_gt(num(rec, "t"), last);
		last = num(rec, "t");
	}
	cr_assert_geq(stopping, 1, "no record while the run drained");
	cr_assert_gt(last, 2.5);
	/* The drain is not the run: the volume is judged on the second it ran. */
	cr_assert_eq(num(sum, "journeys.0.volume.required_mean"), 2);
	cJSON_Delete(tl);
	cJSON_Delete(sum);
	tp_rmrf(dir);
}
