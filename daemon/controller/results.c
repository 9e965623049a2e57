/*
 * results.c - a run's results: the object, its configuration, the event
 * log's intake, the tick and the verdict (see results.h); the record per
 * second is results_timeline.c's, the summary files results_summary.c's,
 * the writer thread results_writer.c's.
 *
 * Threads: everything here runs on the loop thread except the writer,
 * which owns the two log files (events.jsonl, timeline.jsonl) and sees
 * only the lines handed to it through the queue. The queue is bounded in
 * bytes; a line that does not fit is dropped on the spot and counted.
 * Timeline lines and the final "end" record are small and once a second
 * at most: they always go in, so the charts and the end marker are never
 * the lines lost.
 */
#include "config.h"

#include "controller/results.h"

#include "controller/cfg.h"
#include "controller/results_int.h"
#include "controller/results_io.h"
#include "controller/results_judge.h"
#include "controller/results_summary.h"
#include "controller/results_timeline.h"
#include "controller/results_writer.h"
#include "core/util.h"

#include "controller/thresholds.h"
#include "controller/verdict.h"
#include "core/hist.h"
#include "core/log.h"
#include "core/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- configuration ------------------------------------------------------- */

void results_conf_defaults(results_conf *c)
{
	c->events_max_size = RESULTS_EVENTS_MAX_SIZE_DEFAULT;
	c->events_keep = RESULTS_EVENTS_KEEP_DEFAULT;
	c->queue_max = RESULTS_QUEUE_MAX_DEFAULT;
	c->http_events = 0; /* costs about as much CPU as the request: opt in */
}

int results_conf_parse(const config_setting_t *g, const char *file, results_conf *c, char *err,
		       size_t errlen)
{
	static const char *const keys[] = { "events_max_size", "events_keep", "queue_max",
					    "http_events", NULL };
	cfg_reader R = { .file = file, .err = err, .errlen = errlen };
	unsigned long long v;
	long long keep;
	int got;

	/* Each setting read is kept, also when a later one is bad. */
	if (cfg_is_group(&R, g) < 0 || cfg_check_keys(&R, g, "results", keys) < 0)
		return -1;
	if ((got = cfg_get_size_in(&R, g, "events_max_size", 4096, 1ULL << 40, &v)) < 0)
		return -1;
	if (got)
		c->events_max_size = (size_t)v;
	if ((got = cfg_get_int_in(&R, g, "events_keep", 1, RESULTS_MAX_ROTATED, &keep)) < 0)
		return -1;
	if (got)
		c->events_keep = (int)keep;
	if ((got = cfg_get_size_in(&R, g, "queue_max", 4096, 1ULL << 34, &v)) < 0)
		return -1;
	if (got)
		c->queue_max = (size_t)v;
	return cfg_get_bool(&R, g, "http_events", &c->http_events) < 0 ? -1 : 0;
}

/* ---- the results object ------------------------------------------------- */

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

results *results_new(run *r, const results_opts *o, char *err, size_t errlen)
{
	const scenario *s = run_scenario(r);
	results *res = calloc(1, sizeof(*res));
	int rc;

	if (!res) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (o && o->conf)
		res->conf = *o->conf;
	else
		results_conf_defaults(&res->conf);
	res->live_on = o && o->live;
	stats_init(&res->cur);
	stats_init(&res->live);
	res->created_wall = wall_now();
	/* Records go out half a second after the runners' batches (every
	 * second from the start), so that each holds one batch per runner;
	 * a record made at T covers the data up to T - 0.5. */
	res->next_t = 1.0 + RESULTS_OFFSET;
	res->spec = s->thresholds;
	res->nvol = s->njourneys;
	res->vol = calloc(s->njourneys ? s->njourneys : 1, sizeof(*res->vol));
	res->jt = calloc(s->njourneys ? s->njourneys : 1, sizeof(*res->jt));
	res->th = thresholds_eval_new(res->spec);
	res->was_broken = calloc(thresholds_count(res->spec) + 1, 1);
	if (!res->vol || !res->jt || !res->th || !res->was_broken) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (o && o->dir) {
		if (!(res->dir = strdup(o->dir))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if ((rc = util_mkdir_p(o->dir, 0750)) < 0) {
			snprintf(err, errlen, "cannot create %s: %s", o->dir, strerror(-rc));
			goto fail;
		}
		res->w = results_writer_new(o->dir, &res->conf, err, errlen);
		if (!res->w)
			goto fail;
	}
	return res;
fail:
	results_free(res);
	return NULL;
}

const char *results_dir(const results *res)
{
	return res ? res->dir : NULL;
}
uint64_t results_dropped(const results *res)
{
	return res ? res->dropped : 0;
}
const cJSON *results_summary(const results *res)
{
	return res ? res->summary : NULL;
}
const struct thresholds_eval *results_thresholds(const results *res)
{
	return res ? res->th : NULL;
}
size_t results_broken(const results *res)
{
	return res ? thresholds_eval_broken(res->th) : 0;
}

/* Logs one JSON object; counts it as dropped when it does not fit. */
void results_log_json(results *res, int file, const cJSON *o, int force)
{
	char *s;

	if (!res->w)
		return;
	/* Names and messages from journeys may hold anything: the files stay
	 * well-formed UTF-8 (core/utf8.h). */
	s = utf8_fix(cJSON_PrintUnformatted(o));
	if (!s || results_writer_push(res->w, file, s, strlen(s), force) < 0) {
		if (file == WF_EVENTS)
			res->dropped++;
	} else if (file == WF_EVENTS) {
		res->events_logged++;
	}
	cJSON_free(s);
}

void results_event(results *res, run *r, const cJSON *ev)
{
	(void)r;
	if (res && !res->finished)
		results_log_json(res, WF_EVENTS, ev, 0);
}

/* The run's window into the results' accumulators. */
static void pull(results *res, run *r)
{
	stats w;

	run_take_window(r, &w);
	if (stats_merge(&res->cur, &w) < 0 || (res->live_on && stats_merge(&res->live, &w) < 0))
		log_warn("run %s: results: out of memory merging a second of stats", run_id(r));
	stats_free(&w);
}

/* What each journey ran at this tick, for the volume's accounts. */
static void track_journeys(results *res, run *r)
{
	for (size_t i = 0; i < res->nvol; i++) {
		jtrack *jt = &res->jt[i];

		if (run_get_state(r) == RUN_RUNNING)
			jt->run_req = run_required(r, i);
		/* The batches that come after the stop still tell what ran
		 * before it (a run shorter than a batch has no other). */
		if (run_get_state(r) == RUN_RUNNING || run_get_state(r) == RUN_STOPPING) {
			if (run_actual(r, i) > jt->run_act)
				jt->run_act = run_actual(r, i);
			if (run_get_state(r) == RUN_STOPPING && run_actual_peak(r, i) > jt->run_act)
				jt->run_act = run_actual_peak(r, i);
		}
	}
}

const char *results_tick(results *res, run *r)
{
	const char *stop;
	double t;

	if (!res || res->finished || run_get_state(r) == RUN_STARTING)
		return NULL;
	t = run_elapsed(r);
	if (!res->started) {
		res->started = 1;
		res->start_wall = wall_now() - t;
	}
	track_journeys(res, r);
	/* The requirement at the end of the slice the next record covers
	 * (the record itself waits for the batches of that slice). */
	if (!res->snap_taken && t + 1e-6 >= res->next_t - RESULTS_OFFSET) {
		for (size_t i = 0; i < res->nvol; i++) {
			res->jt[i].snap_required = run_required(r, i);
			res->jt[i].snap_starts = run_required_starts(r, i);
		}
		res->snap_taken = 1;
	}
	if (t + 1e-6 < res->next_t)
		return NULL;
	if (run_get_state(r) == RUN_RUNNING) {
		cJSON *st = run_status(r);
		double n = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "runners"));

		if (!isnan(n) && n > (double)res->runners_max)
			res->runners_max = (long)n;
		cJSON_Delete(st);
	}
	pull(res, r);
	t -= RESULTS_OFFSET; /* the data's end */
	stop = results_timeline_emit(res, r, t, t > res->last_t ? t - res->last_t : 0);
	res->snap_taken = 0;
	res->last_t = t;
	res->next_t = floor(t) + 1 + RESULTS_OFFSET;
	return stop;
}

void results_take_live(results *res, run *r, stats *out)
{
	if (!res || !res->live_on) {
		stats_init(out);
		return;
	}
	pull(res, r);
	*out = res->live;
	stats_init(&res->live);
}

/* ---- the verdict --------------------------------------------------------- */

void results_verdict_input(const results *res, const run *r, judge_in *in)
{
	memset(in, 0, sizeof(*in));
	in->r = r;
	if (!res)
		return;
	in->started = res->started;
	in->broken = results_broken(res);
	in->nthresholds = thresholds_count(res->spec);
	in->aborted_by = thresholds_eval_aborted_by(res->th);
	in->vol = res->vol;
	in->saturated = res->saturated;
	in->file_err = res->file_err;
	in->not_written = res->not_written;
	in->dropped_log = res->dropped;
}

/* The judgement as it stands into o (verdict, verdict_reason, reasons,
 * warnings). */
verdict_kind results_verdict_json(const results *res, const run *r, cJSON *o)
{
	const char *passed = res && thresholds_count(res->spec)
		? "every threshold held; the volume was delivered"
		: "no journey errors; the volume was delivered";
	verdict_list v;
	verdict_kind k;
	judge_in in;

	results_verdict_input(res, r, &in);
	verdict_list_init(&v);
	results_judge(&in, &v);
	k = v.worst;
	if (o)
		verdict_list_to_json(&v, o, passed);
	else
		verdict_list_free(&v);
	return k;
}

verdict_kind results_verdict_kind(const results *res, const run *r)
{
	/* Once the run is over, its summary holds the verdict, which also
	 * says whether the summary reached the disk. */
	if (res && res->summary)
		return verdict_kind_of(cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(res->summary, "verdict")));
	return results_verdict_json(res, r, NULL);
}

const char *results_verdict(const results *res, const run *r)
{
	return verdict_name(results_verdict_kind(res, r));
}

void results_status(const results *res, const run *r, cJSON *status)
{
	cJSON *js = cJSON_GetObjectItemCaseSensitive(status, "journeys"), *j;
	cJSON *jv = cJSON_CreateObject();
	judge_in in;
	size_t i = 0;

	if (!jv)
		return;
	results_verdict_json(res, r, jv);
	cJSON_AddItemToObject(status, "verdict_now",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(jv, "verdict"), 1));
	cJSON_AddItemToObject(
		status, "verdict_reason",
		cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(jv, "verdict_reason"), 1));
	cJSON_AddItemToObject(status, "reasons", cJSON_DetachItemFromObject(jv, "reasons"));
	cJSON_AddItemToObject(status, "warnings", cJSON_DetachItemFromObject(jv, "warnings"));
	cJSON_Delete(jv);
	results_verdict_input(res, r, &in);
	cJSON_AddNumberToObject(status, "loop_lag_bound", run_scenario(r)->verdict.loop_lag);
	cJSON_ArrayForEach(j, js)
	{
		cJSON *v;

		if (i >= run_scenario(r)->njourneys)
			break;
		if ((v = results_judge_volume(&in, i)))
			cJSON_AddItemToObject(j, "volume", v);
		i++;
	}
}

int results_on_disk(const results *res)
{
	return res && res->dir && res->finished && !res->not_written[0];
}

const char *results_not_written(const results *res)
{
	return res && res->not_written[0] ? res->not_written : NULL;
}

cJSON *results_summary_now(results *res, run *r)
{
	return res ? results_summary_build(res, r, NULL) : NULL;
}
int results_finish(results *res, run *r, const cJSON *meta)
{
	double t = run_elapsed(r);
	int rc = 0;

	if (!res || res->finished)
		return 0;
	if (!res->started)
		res->start_wall = res->created_wall;
	res->end_wall = wall_now();
	/* The last slice: whatever came since the last record (the drain);
	 * the runners' last batches say the most they ran in it. */
	pull(res, r);
	res->snap_taken = 0;
	for (size_t i = 0; i < res->nvol; i++)
		if (run_actual_peak(r, i) > res->jt[i].run_act)
			res->jt[i].run_act = run_actual_peak(r, i);
	if (t > res->last_t + 1e-6 || res->cur.first)
		(void)results_timeline_emit(res, r, t, t > res->last_t ? t - res->last_t : 0);
	thresholds_eval_final(res->th, run_totals(r), t);
	results_timeline_log_broken(res, r, t);
	/* Whether the logs reached the disk is part of the verdict. */
	if (res->w)
		results_writer_sync(res->w, res->file_err);
	res->finished = 1;
	res->summary = results_summary_build(res, r, meta);
	if (!res->summary) {
		log_err("run %s: results: out of memory building the summary", run_id(r));
		return -ENOMEM;
	}
	if (res->dir && (rc = results_summary_write(res, r)) < 0) {
		/* The summary in memory says it is not on disk, and the run is
		 * incomplete; one more try puts that much on disk if it fits. */
		cJSON *again = results_summary_build(res, r, meta);
		char *json = again ? utf8_fix(cJSON_Print(again)) : NULL;

		log_err("run %s: results: %s/%s; the summary is kept in memory only", run_id(r),
			res->dir, res->not_written);
		if (again) {
			cJSON_Delete(res->summary);
			res->summary = again;
			if (json)
				results_writer_file(res->dir, "summary.json", json, strlen(json));
			cJSON_free(json);
		}
	}
	if (res->w) {
		cJSON *end = cJSON_CreateObject();

		if (end) {
			cJSON_AddStringToObject(end, "type", "end");
			cJSON_AddNumberToObject(end, "time", round(t * 1000) / 1000);
			cJSON_AddStringToObject(
				end, "verdict",
				cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(res->summary, "verdict")));
			cJSON_AddNumberToObject(end, "events", (double)res->events_logged);
			cJSON_AddNumberToObject(end, "dropped", (double)res->dropped);
			results_log_json(res, WF_EVENTS, end, 1);
			cJSON_Delete(end);
		}
		/* Nothing more comes: the thread ends once the lines are out,
		 * and results_reap joins it. */
		results_writer_finish(res->w);
	}
	res->summary_failed = rc < 0;
	return rc;
}

int results_reap(results *res)
{
	if (!res || !res->w)
		return 1;
	if (!res->finished || !results_writer_ended(res->w))
		return 0;
	results_writer_close(res->w);
	res->w = NULL;
	return 1;
}

void results_free(results *res)
{
	if (!res)
		return;
	results_writer_close(res->w);
	stats_free(&res->cur);
	stats_free(&res->live);
	thresholds_eval_free(res->th);
	free(res->was_broken);
	free(res->vol);
	free(res->jt);
	cJSON_Delete(res->summary);
	free(res->dir);
	free(res);
}
