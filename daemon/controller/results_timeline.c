/* results_timeline.c - a run's record per second (see results_timeline.h). */
#include "config.h"

#include "controller/results_timeline.h"
#include "controller/results_io.h"
#include "core/log.h"
#include "core/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How much of the slice (t - dt, t] the run spent running: the volume is
 * judged on that, not on a pause or the drain. */
static double running_part(const run *r, double t, double dt)
{
	double until = run_running_until(r), from = t - dt;

	if (run_get_state(r) == RUN_PAUSED || run_get_state(r) == RUN_STARTING || dt <= 0)
		return 0;
	if (until < 0)
		return dt;
	if (until <= from)
		return 0;
	return (until < t ? until : t) - from;
}

/* Adds counted seconds of journey i to its volume account: closed models
 * in instance-seconds, open ones in seconds behind their starts. */
static void account_volume(results *res, run *r, size_t i, int open, long req, long starts,
			   long act, double counted)
{
	judge_volume *jv = &res->vol[i];
	jtrack *jt = &res->jt[i];

	if (counted > 0) {
		jv->seconds += counted;
		jv->actual_sum += (double)act * counted;
		if (act > jv->actual_max)
			jv->actual_max = act;
	}
	if (open) {
		const char *name = run_scenario(r)->journeys[i].name;
		const stats_entry *je =
			stats_find(run_totals(r), SK_JOURNEY.name, &name, SK_JOURNEY.nlabels);
		double made = je ? (double)je->c[ST_J_STARTED] : 0;
		double due =
			(double)jt->prev_starts * (1 - run_scenario(r)->verdict.volume_tolerance) -
			1;

		/* Behind when the starts made so far are short of those handed
		 * out up to the record before: they start within the slice
		 * they were handed out for, and come a batch later. */
		if (counted > 0 && made < due)
			jv->behind += counted;
		jt->prev_starts = starts;
		return;
	}
	if (counted > 0) {
		jv->required_sum += (double)req * counted;
		if (req > jv->required_max)
			jv->required_max = req;
		/* Behind only when short of what both this record and the
		 * one before required: the actual count comes a batch late,
		 * and a ramp is not a lag. */
		if (act < (req < jt->prev_required ? req : jt->prev_required))
			jv->behind += counted;
	}
	jt->prev_required = req;
}

/* Journey i's volume in the slice (t - dt, t], accounted as it goes. */
static cJSON *journey_volume(results *res, run *r, const stats *w, size_t i, double counted)
{
	const scenario *s = run_scenario(r);
	cJSON *v = cJSON_CreateObject();
	const char *name = s->journeys[i].name;
	const stats_entry *je = stats_find(w, SK_JOURNEY.name, &name, SK_JOURNEY.nlabels);
	jtrack *jt = &res->jt[i];
	int open = vmodel_get_kind(s->journeys[i].volume) == VMODEL_OPEN ||
		vmodel_once(s->journeys[i].volume);
	long req = res->snap_taken ? jt->snap_required : run_required(r, i);
	long starts = res->snap_taken ? jt->snap_starts : run_required_starts(r, i);
	long act = run_actual(r, i);
	/* The running part of a slice the run stopped in is judged on what
	 * was required when it last ran and the most instances running in
	 * that slice: the drain after it has neither, and runners let
	 * instances end at the run's end on their own clock, a moment before
	 * the controller's. */
	long jreq = run_get_state(r) == RUN_RUNNING ? req : jt->run_req;
	long jact = run_get_state(r) == RUN_RUNNING ? act : jt->run_act;

	if (!v)
		return NULL;
	cJSON_AddStringToObject(v, "journey", name);
	cJSON_AddStringToObject(v, "model", open ? "open" : "closed");
	if (open) {
		cJSON_AddNullToObject(v, "required");
		cJSON_AddNumberToObject(v, "required_starts", (double)(starts - jt->prev_starts));
	} else {
		cJSON_AddNumberToObject(v, "required", (double)req);
	}
	cJSON_AddNumberToObject(v, "actual", (double)act);
	cJSON_AddNumberToObject(v, "started", je ? (double)je->c[ST_J_STARTED] : 0);
	if (run_why(r, i))
		cJSON_AddStringToObject(v, "why", run_why(r, i));
	account_volume(res, r, i, open, jreq, starts, jact, counted);
	if (run_get_state(r) == RUN_RUNNING)
		jt->run_act = act; /* the next slice starts from here */
	return v;
}

/* A transaction's line in the record, NULL when it had none ended. */
static cJSON *txn_json(const stats_entry *e)
{
	uint64_t n = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
	cJSON *x;

	if (!n || !(x = cJSON_CreateObject()))
		return NULL;
	cJSON_AddStringToObject(x, "journey", e->labels[SL_JOURNEY]);
	cJSON_AddStringToObject(x, "name", e->labels[SL_TRANSACTION]);
	cJSON_AddNumberToObject(x, "count", (double)n);
	cJSON_AddNumberToObject(x, "failed", (double)e->c[ST_TXN_FAILED]);
	if (e->h[0] && hist_count(e->h[0])) {
		cJSON_AddNumberToObject(x, "mean", results_jsec(hist_mean(e->h[0])));
		cJSON_AddNumberToObject(x, "p50", results_pct_s(e->h[0], 50));
		cJSON_AddNumberToObject(x, "p90", results_pct_s(e->h[0], 90));
		cJSON_AddNumberToObject(x, "p95", results_pct_s(e->h[0], 95));
		cJSON_AddNumberToObject(x, "p99", results_pct_s(e->h[0], 99));
		cJSON_AddNumberToObject(x, "max", results_jsec((double)hist_max(e->h[0])));
	}
	return x;
}

/* A slice's sums over every entry but the transactions. */
typedef struct slice {
	uint64_t hc, hfail, herr, bin, bout, errors, msgs;
	cJSON *status; /* HTTP responses by status code */
	hist *hall, *lag, *loop;
} slice;

static void slice_add(slice *sl, const stats_entry *e)
{
	if (stats_kind_is(e, &SK_HTTP)) {
		const char *status = e->labels[SL_STATUS];
		long code = strtol(status, NULL, 10);
		cJSON *c = cJSON_GetObjectItemCaseSensitive(sl->status, status);

		sl->hc += e->c[ST_HTTP_COUNT];
		sl->hfail += code >= 400 || code <= 0 ? e->c[ST_HTTP_COUNT] : 0;
		sl->bout += e->c[ST_HTTP_BYTES_OUT];
		sl->bin += e->c[ST_HTTP_BYTES_IN];
		if (c)
			cJSON_SetNumberValue(c, c->valuedouble + (double)e->c[ST_HTTP_COUNT]);
		else
			cJSON_AddNumberToObject(sl->status, status, (double)e->c[ST_HTTP_COUNT]);
		if (e->h[ST_H_TOTAL])
			hist_merge(sl->hall, e->h[ST_H_TOTAL]);
	} else if (stats_kind_is(e, &SK_HTTPERR)) {
		sl->herr += e->c[0];
	} else if (stats_kind_is(e, &SK_ERROR)) {
		sl->errors += e->c[0];
	} else if (stats_kind_is(e, &SK_SEND)) {
		sl->msgs += e->c[0];
	} else if (stats_kind_is(e, &SK_LAG) && e->h[0]) {
		hist_merge(sl->lag, e->h[0]);
	} else if (stats_kind_is(e, &SK_LOOP) && e->h[0]) {
		hist_merge(sl->loop, e->h[0]);
	}
}

/* The record's "http" object (it takes sl->status). */
static cJSON *slice_http(slice *sl)
{
	cJSON *http = cJSON_CreateObject();

	if (!http)
		return NULL;
	cJSON_AddNumberToObject(http, "count", (double)sl->hc);
	cJSON_AddNumberToObject(http, "failed", (double)sl->hfail);
	cJSON_AddNumberToObject(http, "errors", (double)sl->herr);
	cJSON_AddNumberToObject(http, "bytes_in", (double)sl->bin);
	cJSON_AddNumberToObject(http, "bytes_out", (double)sl->bout);
	cJSON_AddItemToObject(http, "status", sl->status);
	sl->status = NULL;
	if (hist_count(sl->hall)) {
		cJSON_AddNumberToObject(http, "p50", results_pct_s(sl->hall, 50));
		cJSON_AddNumberToObject(http, "p95", results_pct_s(sl->hall, 95));
		cJSON_AddNumberToObject(http, "p99", results_pct_s(sl->hall, 99));
	}
	return http;
}

/* The lags of the slice; a second whose loop spent more of it in long
 * turns than allowed counts as saturated. */
static void slice_lags(results *res, const run *r, const slice *sl, double dt, cJSON *o)
{
	const verdict_conf *vc = &run_scenario(r)->verdict;

	if (hist_count(sl->lag))
		cJSON_AddNumberToObject(o, "lag_p95", results_pct_s(sl->lag, 95));
	if (!hist_count(sl->loop))
		return;
	cJSON_AddNumberToObject(o, "loop_lag_p99", results_pct_s(sl->loop, 99));
	cJSON_AddNumberToObject(o, "loop_lag_max", results_jsec((double)hist_max(sl->loop)));
	if (dt > 0 &&
	    (double)hist_sum_above(sl->loop, (uint64_t)(vc->loop_lag * 1e9)) / 1e9 >
		    vc->loop_lag_share * dt)
		res->saturated += dt;
}

/* The slice's entries into the record: its transactions, then the sums. */
static int slice_into(results *res, const run *r, const stats *w, double dt, cJSON *o)
{
	slice sl = { .status = cJSON_CreateObject(),
		     .hall = hist_new(),
		     .lag = hist_new(),
		     .loop = hist_new() };
	cJSON *tx = cJSON_AddArrayToObject(o, "transactions"), *http = NULL;
	int rc = -1;

	if (!tx || !sl.status || !sl.hall || !sl.lag || !sl.loop)
		goto done;
	for (const stats_entry *e = w->first; e; e = e->order) {
		cJSON *x;

		if (!stats_kind_is(e, &SK_TXN))
			slice_add(&sl, e);
		else if ((x = txn_json(e)))
			cJSON_AddItemToArray(tx, x);
	}
	if (!(http = slice_http(&sl)))
		goto done;
	cJSON_AddItemToObject(o, "http", http);
	cJSON_AddNumberToObject(o, "errors", (double)sl.errors);
	cJSON_AddNumberToObject(o, "messages", (double)sl.msgs);
	slice_lags(res, r, &sl, dt, o);
	rc = 0;
done:
	cJSON_Delete(sl.status);
	hist_free(sl.hall);
	hist_free(sl.lag);
	hist_free(sl.loop);
	return rc;
}

/* The record of one slice of the run (the stats w merged over dt seconds
 * up to run second t): the timeline's line. */
static cJSON *second_record(results *res, run *r, const stats *w, double t, double dt)
{
	const scenario *s = run_scenario(r);
	cJSON *o = cJSON_CreateObject(), *vol;
	uint64_t dropped;
	double counted;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "t", round(t * 1000) / 1000);
	cJSON_AddNumberToObject(o, "dt", round(dt * 1000) / 1000);
	cJSON_AddStringToObject(o, "state", run_state_name(run_get_state(r)));
	vol = cJSON_AddArrayToObject(o, "volume");
	counted = running_part(r, t, dt);
	for (size_t i = 0; vol && i < s->njourneys && i < res->nvol; i++) {
		cJSON *v = journey_volume(res, r, w, i, counted);

		if (!v)
			goto nomem;
		cJSON_AddItemToArray(vol, v);
	}
	if (slice_into(res, r, w, dt, o) < 0)
		goto nomem;
	dropped = results_runner_dropped(run_totals(r));
	cJSON_AddNumberToObject(o, "dropped", (double)(dropped - res->runner_dropped_seen));
	res->runner_dropped_seen = dropped;
	return o;
nomem:
	cJSON_Delete(o);
	return NULL;
}

/* An event for every threshold that broke since the last call. */
void results_timeline_log_broken(results *res, run *r, double t)
{
	cJSON *all = NULL;

	for (size_t i = 0; i < thresholds_count(res->spec); i++) {
		cJSON *o, *d;

		if (res->was_broken[i] || !thresholds_eval_is_broken(res->th, i))
			continue;
		res->was_broken[i] = 1;
		if (!all && !(all = thresholds_eval_json(res->th)))
			return;
		d = cJSON_GetArrayItem(all, (int)i);
		o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddStringToObject(o, "type", "threshold");
		cJSON_AddNumberToObject(o, "time", round(t * 1000) / 1000);
		cJSON_AddStringToObject(o, "text", thresholds_text(res->spec, i));
		if (d) {
			static const char *const keep[] = { "value", "series", "no_data",
							    "aborted_run" };

			for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
				cJSON *v = cJSON_GetObjectItemCaseSensitive(d, keep[k]);

				if (v)
					cJSON_AddItemToObject(o, keep[k], cJSON_Duplicate(v, 1));
			}
		}
		log_info("run %s: threshold broken: %s", run_id(r), thresholds_text(res->spec, i));
		results_log_json(res, WF_EVENTS, o, 1);
		cJSON_Delete(o);
	}
	cJSON_Delete(all);
}

/* Writes the record of the slice that ends now, and judges it. Returns
 * why the run must stop (a threshold with abort = true broke), or NULL. */
const char *results_timeline_emit(results *res, run *r, double t, double dt)
{
	const char *stop = NULL;

	cJSON *rec = second_record(res, r, &res->cur, t, dt);

	if (rec) {
		cJSON *ev, *it;

		results_log_json(res, WF_TIMELINE, rec, 1);
		/* The same, as events: volume, then stats. */
		ev = cJSON_CreateObject();
		if (ev) {
			cJSON_AddStringToObject(ev, "type", "volume");
			cJSON_AddNumberToObject(ev, "time", round(t * 1000) / 1000);
			cJSON_AddItemToObject(
				ev, "journeys",
				cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "volume"),
						1));
			results_log_json(res, WF_EVENTS, ev, 0);
			cJSON_Delete(ev);
		}
		ev = cJSON_CreateObject();
		if (ev) {
			cJSON_AddStringToObject(ev, "type", "stats");
			cJSON_AddNumberToObject(ev, "time", round(t * 1000) / 1000);
			cJSON_ArrayForEach(it, rec) if (strcmp(it->string, "t") != 0 &&
							strcmp(it->string, "volume") != 0)
				cJSON_AddItemToObject(ev, it->string, cJSON_Duplicate(it, 1));
			results_log_json(res, WF_EVENTS, ev, 0);
			cJSON_Delete(ev);
		}
		cJSON_Delete(rec);
	} else {
		log_warn("run %s: results: out of memory: the record of second %.0f is lost",
			 run_id(r), t);
	}
	if (thresholds_eval_second(res->th, &res->cur, run_totals(r), t,
				   run_get_state(r) == RUN_RUNNING)) {
		log_warn("run %s: threshold broken, stopping the run: %s", run_id(r),
			 thresholds_eval_aborted_by(res->th));
		snprintf(res->stop_by, sizeof(res->stop_by), "threshold %s",
			 thresholds_eval_aborted_by(res->th));
		stop = res->stop_by;
	}
	results_timeline_log_broken(res, r, t);
	stats_free(&res->cur);
	stats_init(&res->cur);
	return stop;
}
