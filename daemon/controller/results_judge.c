/*
 * results_judge.c - a run's verdict: every way it fell short, as problems
 * of a verdict_list (see results_judge.h; docs/results.md, Verdict).
 */
#include "controller/results_judge.h"

#include "core/hist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const stats_entry *journey_entry(const run *r, size_t ji, const stats_kind *kind)
{
	const char *name = run_scenario(r)->journeys[ji].name;

	return stats_find(run_totals(r), kind->name, &name, kind->nlabels);
}

static uint64_t sum_counter(const run *r, const stats_kind *kind, int c)
{
	uint64_t n = 0;

	for (const stats_entry *e = run_totals(r)->first; e; e = e->order)
		if (stats_kind_is(e, kind))
			n += e->c[c];
	return n;
}

static double pct_s(const hist *h, double p)
{
	return (double)hist_percentile(h, p) / 1e9;
}
static double r6(double v)
{
	return round(v * 1e6) / 1e6;
}

/* ---- volume ------------------------------------------------------------- */

/* How far journey ji fell short of its volume. */
typedef struct jshort {
	int open;
	int judged; /* there was something to compare */
	double required; /* closed: mean instances; open: starts handed out */
	double actual; /* closed: mean instances; open: starts made */
	double short_frac; /* 0 .. 1 */
	int shortfall; /* past the tolerance */
	double lag_p99; /* open: start lag p99 (s), or -1 */
	int late; /* open: past the bound */
} jshort;

static void journey_short(const judge_in *in, size_t ji, jshort *o)
{
	const scenario *s = run_scenario(in->r);
	const verdict_conf *vc = &s->verdict;
	const judge_volume *jv = in->vol ? &in->vol[ji] : NULL;
	const stats_entry *je = journey_entry(in->r, ji, &SK_JOURNEY);
	const stats_entry *lag = journey_entry(in->r, ji, &SK_LAG);

	memset(o, 0, sizeof(*o));
	o->lag_p99 = -1;
	o->open = vmodel_get_kind(s->journeys[ji].volume) == VMODEL_OPEN ||
		vmodel_once(s->journeys[ji].volume);
	if (o->open) {
		o->required = (double)run_required_starts(in->r, ji);
		o->actual = je ? (double)je->c[ST_J_STARTED] : 0;
		/* A journey whose datapool ran out had every row: the starts
		 * handed out after that had nothing to run on. */
		o->judged = o->required > 0 && !run_pool_ended(in->r, ji);
		if (o->judged && o->actual < o->required) {
			o->short_frac = 1 - o->actual / o->required;
			o->shortfall = o->short_frac > vc->volume_tolerance &&
				o->required - o->actual >= 1;
		}
		if (lag && lag->h[0] && hist_count(lag->h[0])) {
			o->lag_p99 = pct_s(lag->h[0], 99);
			o->late = o->lag_p99 > vc->start_lag;
		}
		return;
	}
	if (!jv || jv->seconds <= 0 || jv->required_sum <= 0)
		return;
	o->judged = 1;
	o->required = jv->required_sum / jv->seconds;
	o->actual = jv->actual_sum / jv->seconds;
	if (jv->actual_sum < jv->required_sum) {
		o->short_frac = 1 - jv->actual_sum / jv->required_sum;
		o->shortfall = o->short_frac > vc->volume_tolerance;
	}
}

/* Why journey ji is short, as far as mite knows. */
static const char *why_short(const judge_in *in, size_t ji, char *buf, size_t len)
{
	const char *why = run_why(in->r, ji);

	if (why)
		return why;
	if (in->saturated > 0) {
		snprintf(buf, len, "the runner's loop was saturated for %.0f s", in->saturated);
		return buf;
	}
	if (run_error(in->r))
		return run_error(in->r);
	return "mite does not know why (see the log)";
}

static void judge_volume_of(const judge_in *in, size_t ji, verdict_list *v)
{
	const scenario *s = run_scenario(in->r);
	const char *name = s->journeys[ji].name;
	char buf[256], line[1024];
	const char *why = why_short(in, ji, buf, sizeof(buf));
	jshort js;

	journey_short(in, ji, &js);
	line[0] = '\0';
	if (js.shortfall && js.open)
		snprintf(line, sizeof(line),
			 "journey %s: %.0f of %.0f starts made (%.1f %% short): %s", name,
			 js.actual, js.required, js.short_frac * 100, why);
	else if (js.shortfall)
		snprintf(
			line, sizeof(line),
			"journey %s: %.1f of %.1f instances on average (%.1f %% short, behind %.0f s of %.0f s): %s",
			name, js.actual, js.required, js.short_frac * 100, in->vol[ji].behind,
			in->vol[ji].seconds, why);
	if (line[0]) {
		if (s->verdict.volume_warn)
			verdict_warn(v, "volume not delivered: %s", line);
		else
			verdict_add(v, VERDICT_VOLUME, "volume not delivered: %s", line);
	}
	if (js.late) {
		snprintf(line, sizeof(line),
			 "journey %s: starts late: start lag p99 %.3f s > %g s: %s", name,
			 js.lag_p99, s->verdict.start_lag, why);
		if (s->verdict.volume_warn)
			verdict_warn(v, "volume not delivered: %s", line);
		else
			verdict_add(v, VERDICT_VOLUME, "volume not delivered: %s", line);
	}
}

cJSON *results_judge_volume(const judge_in *in, size_t ji)
{
	const judge_volume *jv = in->vol ? &in->vol[ji] : NULL;
	const stats_entry *je = journey_entry(in->r, ji, &SK_JOURNEY);
	double el = run_elapsed(in->r), secs = jv && jv->seconds > 0 ? jv->seconds : 1;
	cJSON *v = cJSON_CreateObject();
	char buf[256];
	jshort js;

	if (!v)
		return NULL;
	journey_short(in, ji, &js);
	if (!js.open && jv) {
		cJSON_AddNumberToObject(v, "required_mean",
					round(jv->required_sum / secs * 100) / 100);
		cJSON_AddNumberToObject(v, "required_max", (double)jv->required_max);
	}
	if (jv) {
		cJSON_AddNumberToObject(v, "actual_mean", round(jv->actual_sum / secs * 100) / 100);
		cJSON_AddNumberToObject(v, "actual_max", (double)jv->actual_max);
		cJSON_AddNumberToObject(v, "behind_seconds", round(jv->behind * 1000) / 1000);
		cJSON_AddNumberToObject(v, "seconds", round(jv->seconds * 1000) / 1000);
	}
	if (js.open) {
		cJSON_AddNumberToObject(v, "required_starts", js.required);
		cJSON_AddNumberToObject(v, "required_rate",
					el > 0 ? round(js.required / el * 1000) / 1000 : 0);
		if (js.lag_p99 >= 0)
			cJSON_AddNumberToObject(v, "start_lag_p99", r6(js.lag_p99));
	}
	cJSON_AddNumberToObject(v, "started_rate",
				el > 0 && je ? round((double)je->c[ST_J_STARTED] / el * 1000) / 1000
					     : 0);
	cJSON_AddNumberToObject(v, "short", round(js.short_frac * 10000) / 10000);
	cJSON_AddBoolToObject(v, "delivered", !js.shortfall && !js.late);
	if (js.shortfall || js.late)
		cJSON_AddStringToObject(v, "why", why_short(in, ji, buf, sizeof(buf)));
	else if (run_why(in->r, ji))
		cJSON_AddStringToObject(v, "why", run_why(in->r, ji));
	return v;
}

/* ---- the generator ------------------------------------------------------ */

/* The seconds runner e spent in loop turns longer than the bound, and
 * their share of the run. */
static double busy_time(const judge_in *in, const stats_entry *e)
{
	return (double)hist_sum_above(e->h[0],
				      (uint64_t)(run_scenario(in->r)->verdict.loop_lag * 1e9)) /
		1e9;
}

static double busy_share(const judge_in *in, const stats_entry *e)
{
	double el = run_elapsed(in->r);

	return el > 0 ? busy_time(in, e) / el : 0;
}

/* Saturated: past the share, and for more than VERDICT_LOOP_LAG_FLOOR
 * seconds in all (a short run that was preempted a few times is not). */
static int saturated(const judge_in *in, const stats_entry *e)
{
	return busy_share(in, e) > run_scenario(in->r)->verdict.loop_lag_share &&
		busy_time(in, e) > VERDICT_LOOP_LAG_FLOOR;
}

cJSON *results_judge_generator(const judge_in *in)
{
	const verdict_conf *vc = &run_scenario(in->r)->verdict;
	cJSON *g = cJSON_CreateObject(), *a;
	int tainted = 0;

	if (!g)
		return NULL;
	cJSON_AddNumberToObject(g, "loop_lag_bound", vc->loop_lag);
	cJSON_AddNumberToObject(g, "loop_lag_share", vc->loop_lag_share);
	cJSON_AddStringToObject(g, "saturation", vc->loop_lag_warn ? "warn" : "taint");
	a = cJSON_AddArrayToObject(g, "runners");
	for (const stats_entry *e = run_totals(in->r)->first; a && e; e = e->order) {
		cJSON *x;

		if (!stats_kind_is(e, &SK_LOOP) || !e->h[0] || !hist_count(e->h[0]) ||
		    !(x = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(x, "runner", e->labels[0]);
		cJSON_AddNumberToObject(x, "turns", (double)hist_count(e->h[0]));
		cJSON_AddNumberToObject(x, "p50", r6(pct_s(e->h[0], 50)));
		cJSON_AddNumberToObject(x, "p95", r6(pct_s(e->h[0], 95)));
		cJSON_AddNumberToObject(x, "p99", r6(pct_s(e->h[0], 99)));
		cJSON_AddNumberToObject(x, "max", r6((double)hist_max(e->h[0]) / 1e9));
		cJSON_AddNumberToObject(x, "over_bound_share",
					round(busy_share(in, e) * 10000) / 10000);
		cJSON_AddItemToArray(a, x);
		tainted |= saturated(in, e);
	}
	cJSON_AddNumberToObject(g, "saturated_seconds", round(in->saturated * 1000) / 1000);
	cJSON_AddBoolToObject(g, "tainted", tainted && !vc->loop_lag_warn);
	return g;
}

static void judge_generator(const judge_in *in, verdict_list *v)
{
	const verdict_conf *vc = &run_scenario(in->r)->verdict;

	for (const stats_entry *e = run_totals(in->r)->first; e; e = e->order) {
		char line[512];
		double share;

		if (!stats_kind_is(e, &SK_LOOP) || !e->h[0] || !hist_count(e->h[0]))
			continue;
		share = busy_share(in, e);
		if (!saturated(in, e))
			continue;
		snprintf(
			line, sizeof(line),
			"runner %s's loop was saturated: %.0f %% of the run in turns longer than %g s (p99 %.3f s, "
			"max %.3f s; %.0f s saturated): latencies include mite's own delay",
			e->labels[0], share * 100, vc->loop_lag, pct_s(e->h[0], 99),
			(double)hist_max(e->h[0]) / 1e9, in->saturated);
		if (vc->loop_lag_warn)
			verdict_warn(v, "%s", line);
		else
			verdict_add(v, VERDICT_TAINTED, "%s", line);
	}
}

/* ---- completeness ------------------------------------------------------- */

static void judge_complete(const judge_in *in, verdict_list *v)
{
	double at;
	int early;
	const char *by = run_stopped_by(in->r, &at, &early);
	uint64_t cancelled = sum_counter(in->r, &SK_JOURNEY, ST_J_CANCELLED);
	uint64_t lost = sum_counter(in->r, &SK_LOST, 0);
	double duration = run_scenario(in->r)->duration;
	const stats_entry *dropped =
		stats_find(run_totals(in->r), SK_DROPPED.name, NULL, SK_DROPPED.nlabels);

	/* A threshold's abort is the thresholds' verdict, not an accident. */
	if (by && early && !(in->aborted_by && strncmp(by, "threshold", 9) == 0)) {
		if (duration > 0)
			verdict_add(v, VERDICT_INCOMPLETE, "stopped early by %s at %.1f s of %g s",
				    by, at, duration);
		else
			verdict_add(v, VERDICT_INCOMPLETE, "stopped early by %s at %.1f s", by, at);
	}
	if (cancelled)
		verdict_add(
			v, VERDICT_INCOMPLETE,
			"%llu iteration(s) cancelled: still running when the grace period ran out (or the "
			"run was stopped at once)",
			(unsigned long long)cancelled);
	if (lost && !run_error(in->r))
		verdict_add(v, VERDICT_INCOMPLETE,
			    "%llu iteration(s) lost with runners dropped after the grace period",
			    (unsigned long long)lost);
	for (int f = 0; in->file_err && f < WF_N; f++)
		if (in->file_err[f])
			verdict_add(v, VERDICT_INCOMPLETE, "results not written: %s: %s",
				    results_writer_file_name(f), strerror(-in->file_err[f]));
	if (in->not_written && *in->not_written)
		verdict_add(v, VERDICT_INCOMPLETE, "results not written: %s", in->not_written);
	if (in->dropped_log)
		verdict_warn(
			v,
			"the event log is incomplete: %llu line(s) dropped (its writer fell behind)",
			(unsigned long long)in->dropped_log);
	if (dropped && dropped->c[0])
		verdict_warn(v, "the event log is incomplete: %llu event(s) dropped by runners",
			     (unsigned long long)dropped->c[0]);
	uint64_t doubt = sum_counter(in->r, &SK_DOUBT, 0);
	if (doubt)
		verdict_warn(
			v,
			"%llu row(s) of iterable datapools in doubt: given to runners that were "
			"lost or dropped, not reported run (none is handed out twice)",
			(unsigned long long)doubt);
	uint64_t skipped = sum_counter(in->r, &SK_SKIPPED, 0);
	if (skipped)
		verdict_warn(v,
			     "%llu row(s) of iterable datapools skipped: handed back unrun by "
			     "runners that left the run, and not served again (a plugin's rows "
			     "are not kept, or the pool had ended)",
			     (unsigned long long)skipped);
}

/* ---- errors and thresholds ---------------------------------------------- */

static void judge_errors(const judge_in *in, verdict_list *v)
{
	uint64_t lost = sum_counter(in->r, &SK_LOST, 0);
	uint64_t failed = sum_counter(in->r, &SK_JOURNEY, ST_J_FAILED);
	uint64_t cancelled = sum_counter(in->r, &SK_JOURNEY, ST_J_CANCELLED);
	uint64_t ended = failed + sum_counter(in->r, &SK_JOURNEY, ST_J_OK);
	uint64_t errors = failed > cancelled + lost ? failed - cancelled - lost : 0;

	if (run_error(in->r)) {
		if (lost)
			verdict_add(v, VERDICT_FAILED, "%s (%llu iteration(s) lost with it)",
				    run_error(in->r), (unsigned long long)lost);
		else
			verdict_add(v, VERDICT_FAILED, "%s", run_error(in->r));
	}
	/* With thresholds, they are the judges of journey errors (as k6's). */
	if (errors && !in->nthresholds)
		verdict_add(v, VERDICT_FAILED, "journey errors: %llu of %llu iteration(s) failed",
			    (unsigned long long)errors, (unsigned long long)ended);
	if (in->broken)
		verdict_add(v, VERDICT_THRESHOLDS, "%zu of %zu threshold(s) broken%s%s", in->broken,
			    in->nthresholds, in->aborted_by ? "; the run was stopped by " : "",
			    in->aborted_by ? in->aborted_by : "");
}

void results_judge(const judge_in *in, verdict_list *v)
{
	const scenario *s = run_scenario(in->r);

	/* A run that never got going failed, whatever else it did not do. */
	if (run_error(in->r) && !in->started) {
		verdict_add(v, VERDICT_FAILED, "the run never got going: %s", run_error(in->r));
		return;
	}
	judge_errors(in, v);
	judge_complete(in, v);
	judge_generator(in, v);
	for (size_t ji = 0; ji < s->njourneys; ji++)
		judge_volume_of(in, ji, v);
}
