/*
 * results.c - a run's event log, timeline, summary and verdict (see
 * results.h).
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

#include "controller/results_io.h"
#include "controller/results_judge.h"
#include "controller/results_writer.h"
#include "controller/results_ws.h"

#include "controller/thresholds.h"
#include "controller/verdict.h"
#include "core/hist.h"
#include "core/kvl.h"
#include "core/log.h"
#include "core/utf8.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RESULTS_MAX_ROTATED 1000 /* events_keep's bound */
#define RESULTS_OFFSET 0.5 /* seconds between a batch and the record that holds it */

/* ---- configuration ------------------------------------------------------- */

void results_conf_defaults(results_conf *c)
{
	c->events_max_size = RESULTS_EVENTS_MAX_SIZE_DEFAULT;
	c->events_keep = RESULTS_EVENTS_KEEP_DEFAULT;
	c->queue_max = RESULTS_QUEUE_MAX_DEFAULT;
	c->http_events = 0; /* costs about as much CPU as the request: opt in */
}

static int conf_fail(const char *file, const config_setting_t *s, char *err, size_t errlen, const char *fmt,
		     ...) __attribute__((format(printf, 5, 6)));
static int conf_fail(const char *file, const config_setting_t *s, char *err, size_t errlen, const char *fmt,
		     ...)
{
	const char *src = s ? config_setting_source_file(s) : NULL;
	size_t n;
	va_list ap;

	snprintf(err, errlen, "%s:%u: ", src ? src : file, s ? config_setting_source_line(s) : 1);
	n = strlen(err);
	if (n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Bytes: an integer, or a string with a K, M or G suffix (powers of 1024). */
static int conf_size(const char *file, const config_setting_t *s, size_t lo, size_t hi, size_t *out, char *err,
		     size_t errlen)
{
	const char *name = config_setting_name(s);
	double v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_STRING: {
		const char *str = config_setting_get_string(s);
		char *end;

		errno = 0;
		v = strtod(str, &end);
		if (end == str || errno)
			goto bad;
		if (*end == 'K' || *end == 'k')
			v *= 1024, end++;
		else if (*end == 'M' || *end == 'm')
			v *= 1024 * 1024, end++;
		else if (*end == 'G' || *end == 'g')
			v *= 1024.0 * 1024 * 1024, end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			goto bad;
		break;
	}
	default:
		goto bad;
	}
	if (!isfinite(v) || v < (double)lo || v > (double)hi)
		return conf_fail(file, s, err, errlen, "'%s' must be from %zu to %zu bytes", name, lo, hi);
	*out = (size_t)v;
	return 0;
bad:
	return conf_fail(file, s, err, errlen, "'%s' must be bytes: an integer or a size like \"64M\"", name);
}

int results_conf_parse(const config_setting_t *g, const char *file, results_conf *c, char *err, size_t errlen)
{
	int n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return conf_fail(file, g, err, errlen, "'results' must be a group { ... }");
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);

		if (strcmp(name, "events_max_size") == 0) {
			if (conf_size(file, s, 4096, (size_t)1 << 40, &c->events_max_size, err, errlen) < 0)
				return -1;
		} else if (strcmp(name, "queue_max") == 0) {
			if (conf_size(file, s, 4096, (size_t)1 << 34, &c->queue_max, err, errlen) < 0)
				return -1;
		} else if (strcmp(name, "events_keep") == 0) {
			long long v;

			if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
				return conf_fail(file, s, err, errlen, "'events_keep' must be an integer");
			v = config_setting_get_int64(s);
			if (v < 1 || v > RESULTS_MAX_ROTATED)
				return conf_fail(file, s, err, errlen, "'events_keep' must be from 1 to %d",
						 RESULTS_MAX_ROTATED);
			c->events_keep = (int)v;
		} else if (strcmp(name, "http_events") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL)
				return conf_fail(file, s, err, errlen, "'http_events' must be true or false");
			c->http_events = config_setting_get_bool(s);
		} else {
			return conf_fail(file, s, err, errlen,
					 "unknown setting '%s' in results (allowed there: events_max_size, "
					 "events_keep, queue_max, http_events)",
					 name);
		}
	}
	return 0;
}

/* ---- the results object ------------------------------------------------- */

/* Per journey, between records: what the volume accounts (judge_volume)
 * is built from these. */
typedef struct jtrack {
	long prev_required;              /* at the record before */
	long snap_required, snap_starts; /* sampled at the end of the slice */
	long prev_starts;                /* open: starts handed out at the record before */
	long run_req;                    /* at the last tick the run was running */
	long run_act;                    /* the most running at a tick since the last record */
} jtrack;

struct results {
	char *dir;
	results_conf conf;
	writer *w;
	const thresholds *spec;
	thresholds_eval *th;
	unsigned char *was_broken; /* per threshold: an event was logged */
	stats cur;  /* merged since the last timeline record */
	stats live; /* merged since results_take_live */
	int live_on;
	int started, finished;
	double created_wall, start_wall, end_wall;
	double last_t; /* run second the records have covered up to */
	double next_t; /* run second of the next record */
	long runners_max;
	uint64_t events_logged, dropped, runner_dropped_seen;
	judge_volume *vol; /* per journey, over the seconds the run was running */
	jtrack *jt;
	size_t nvol;
	int snap_taken;      /* the jvol snapshots hold the next record's end */
	double saturated;    /* seconds whose loop lag p99 was past the bound */
	int file_err[WF_N];  /* per log file: -errno of its first failed write */
	char not_written[512]; /* the summary files that could not be written, and why */
	cJSON *summary;
	int summary_failed;
};

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso_time(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	int ms = (int)((t - (double)s) * 1000);

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
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
		if ((rc = mkdir_p(o->dir)) < 0) {
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

const char *results_dir(const results *res) { return res ? res->dir : NULL; }
uint64_t results_dropped(const results *res) { return res ? res->dropped : 0; }
const cJSON *results_summary(const results *res) { return res ? res->summary : NULL; }
const struct thresholds_eval *results_thresholds(const results *res) { return res ? res->th : NULL; }
size_t results_broken(const results *res) { return res ? thresholds_eval_broken(res->th) : 0; }

/* Logs one JSON object; counts it as dropped when it does not fit. */
static void log_json(results *res, int file, const cJSON *o, int force)
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
		log_json(res, WF_EVENTS, ev, 0);
}

/* Seconds with microsecond resolution: short JSON numbers. */
static double jsec_ns(double ns) { return round(ns / 1e3) / 1e6; }

static double hist_pct_s(const hist *h, double p) { return jsec_ns((double)hist_percentile(h, p)); }

static int kind_is(const stats_entry *e, const char *kind, size_t nlabels)
{
	return strcmp(e->kind, kind) == 0 && e->nlabels == nlabels;
}

static uint64_t runner_dropped(const stats *totals)
{
	const stats_entry *d = stats_find(totals, "dropped", NULL, 0);

	return d ? d->c[0] : 0;
}

static const char *state_word(run_state st)
{
	static const char *const names[] = {"starting", "running", "paused", "stopping", "done"};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

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
static void account_volume(results *res, run *r, size_t i, int open, long req, long starts, long act,
			   double counted)
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
		const stats_entry *je = stats_find(run_totals(r), "journey", &name, 1);
		double made = je ? (double)je->c[ST_J_STARTED] : 0;
		double due = (double)jt->prev_starts * (1 - run_scenario(r)->verdict.volume_tolerance) - 1;

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

/* The record of one slice of the run (the stats w merged over dt seconds
 * up to run second t): the timeline's line. */
static cJSON *second_record(results *res, run *r, const stats *w, double t, double dt)
{
	const scenario *s = run_scenario(r);
	cJSON *o = cJSON_CreateObject(), *vol, *tx, *http = NULL, *st = NULL;
	uint64_t hc = 0, hfail = 0, herr = 0, bin = 0, bout = 0, errors = 0, msgs = 0, dropped;
	hist *hall = hist_new(), *lag = hist_new(), *loop = hist_new();
	double counted;

	if (!o || !hall || !lag || !loop)
		goto nomem;
	cJSON_AddNumberToObject(o, "t", round(t * 1000) / 1000);
	cJSON_AddNumberToObject(o, "dt", round(dt * 1000) / 1000);
	cJSON_AddStringToObject(o, "state", state_word(run_get_state(r)));
	vol = cJSON_AddArrayToObject(o, "volume");
	counted = running_part(r, t, dt);
	for (size_t i = 0; vol && i < s->njourneys && i < res->nvol; i++) {
		cJSON *v = cJSON_CreateObject();
		const char *name = s->journeys[i].name;
		const stats_entry *je = stats_find(w, "journey", &name, 1);
		jtrack *jt = &res->jt[i];
		int open = vmodel_get_kind(s->journeys[i].volume) == VMODEL_OPEN || vmodel_once(s->journeys[i].volume);
		long req = res->snap_taken ? jt->snap_required : run_required(r, i);
		long starts = res->snap_taken ? jt->snap_starts : run_required_starts(r, i);
		long act = run_actual(r, i);
		/* The running part of a slice the run stopped in is judged on
		 * what was required when it last ran and the most instances
		 * running in that slice: the drain after it has neither, and
		 * runners let instances end at the run's end on their own
		 * clock, a moment before the controller's. */
		long jreq = run_get_state(r) == RUN_RUNNING ? req : jt->run_req;
		long jact = run_get_state(r) == RUN_RUNNING ? act : jt->run_act;

		if (!v)
			goto nomem;
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
		cJSON_AddItemToArray(vol, v);
		account_volume(res, r, i, open, jreq, starts, jact, counted);
		if (run_get_state(r) == RUN_RUNNING)
			jt->run_act = act; /* the next slice starts from here */
	}
	tx = cJSON_AddArrayToObject(o, "transactions");
	http = cJSON_CreateObject();
	st = cJSON_CreateObject();
	if (!tx || !http || !st)
		goto nomem;
	for (const stats_entry *e = w->first; e; e = e->order) {
		if (kind_is(e, "txn", 2)) {
			uint64_t n = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
			cJSON *x;

			if (!n)
				continue;
			if (!(x = cJSON_CreateObject()))
				goto nomem;
			cJSON_AddStringToObject(x, "journey", e->labels[0]);
			cJSON_AddStringToObject(x, "name", e->labels[1]);
			cJSON_AddNumberToObject(x, "count", (double)n);
			cJSON_AddNumberToObject(x, "failed", (double)e->c[ST_TXN_FAILED]);
			if (e->h[0] && hist_count(e->h[0])) {
				cJSON_AddNumberToObject(x, "mean", jsec_ns(hist_mean(e->h[0])));
				cJSON_AddNumberToObject(x, "p50", hist_pct_s(e->h[0], 50));
				cJSON_AddNumberToObject(x, "p90", hist_pct_s(e->h[0], 90));
				cJSON_AddNumberToObject(x, "p95", hist_pct_s(e->h[0], 95));
				cJSON_AddNumberToObject(x, "p99", hist_pct_s(e->h[0], 99));
				cJSON_AddNumberToObject(x, "max", jsec_ns((double)hist_max(e->h[0])));
			}
			cJSON_AddItemToArray(tx, x);
		} else if (kind_is(e, "http", 4)) {
			long code = strtol(e->labels[3], NULL, 10);
			cJSON *c = cJSON_GetObjectItemCaseSensitive(st, e->labels[3]);

			hc += e->c[ST_HTTP_COUNT];
			hfail += code >= 400 || code <= 0 ? e->c[ST_HTTP_COUNT] : 0;
			bout += e->c[ST_HTTP_BYTES_OUT];
			bin += e->c[ST_HTTP_BYTES_IN];
			if (c)
				cJSON_SetNumberValue(c, c->valuedouble + (double)e->c[ST_HTTP_COUNT]);
			else
				cJSON_AddNumberToObject(st, e->labels[3], (double)e->c[ST_HTTP_COUNT]);
			if (e->h[ST_H_TOTAL])
				hist_merge(hall, e->h[ST_H_TOTAL]);
		} else if (kind_is(e, "httperr", 4)) {
			herr += e->c[0];
		} else if (kind_is(e, "error", 4)) {
			errors += e->c[0];
		} else if (kind_is(e, "send", 2)) {
			msgs += e->c[0];
		} else if (kind_is(e, "lag", 1) && e->h[0]) {
			hist_merge(lag, e->h[0]);
		} else if (kind_is(e, "loop", 1) && e->h[0]) {
			hist_merge(loop, e->h[0]);
		}
	}
	cJSON_AddNumberToObject(http, "count", (double)hc);
	cJSON_AddNumberToObject(http, "failed", (double)hfail);
	cJSON_AddNumberToObject(http, "errors", (double)herr);
	cJSON_AddNumberToObject(http, "bytes_in", (double)bin);
	cJSON_AddNumberToObject(http, "bytes_out", (double)bout);
	cJSON_AddItemToObject(http, "status", st);
	st = NULL;
	if (hist_count(hall)) {
		cJSON_AddNumberToObject(http, "p50", hist_pct_s(hall, 50));
		cJSON_AddNumberToObject(http, "p95", hist_pct_s(hall, 95));
		cJSON_AddNumberToObject(http, "p99", hist_pct_s(hall, 99));
	}
	cJSON_AddItemToObject(o, "http", http);
	http = NULL;
	cJSON_AddNumberToObject(o, "errors", (double)errors);
	cJSON_AddNumberToObject(o, "messages", (double)msgs);
	if (hist_count(lag))
		cJSON_AddNumberToObject(o, "lag_p95", hist_pct_s(lag, 95));
	if (hist_count(loop)) {
		cJSON_AddNumberToObject(o, "loop_lag_p99", hist_pct_s(loop, 99));
		cJSON_AddNumberToObject(o, "loop_lag_max", jsec_ns((double)hist_max(loop)));
		/* Saturated: more of the second in long turns than allowed. */
		if (dt > 0 && (double)hist_sum_above(loop, (uint64_t)(s->verdict.loop_lag * 1e9)) / 1e9 >
				      s->verdict.loop_lag_share * dt)
			res->saturated += dt;
	}
	dropped = runner_dropped(run_totals(r));
	cJSON_AddNumberToObject(o, "dropped", (double)(dropped - res->runner_dropped_seen));
	res->runner_dropped_seen = dropped;
	hist_free(hall);
	hist_free(lag);
	hist_free(loop);
	return o;
nomem:
	cJSON_Delete(st);
	cJSON_Delete(http);
	cJSON_Delete(o);
	hist_free(hall);
	hist_free(lag);
	hist_free(loop);
	return NULL;
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

/* An event for every threshold that broke since the last call. */
static void log_broken(results *res, run *r, double t)
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
			static const char *const keep[] = {"value", "series", "no_data", "aborted_run"};

			for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
				cJSON *v = cJSON_GetObjectItemCaseSensitive(d, keep[k]);

				if (v)
					cJSON_AddItemToObject(o, keep[k], cJSON_Duplicate(v, 1));
			}
		}
		log_info("run %s: threshold broken: %s", run_id(r), thresholds_text(res->spec, i));
		log_json(res, WF_EVENTS, o, 1);
		cJSON_Delete(o);
	}
	cJSON_Delete(all);
}

/* Writes the record of the slice that ends now, and judges it. */
static void emit_second(results *res, run *r, double t, double dt)
{
	cJSON *rec = second_record(res, r, &res->cur, t, dt);

	if (rec) {
		cJSON *ev, *it;

		log_json(res, WF_TIMELINE, rec, 1);
		/* The same, as events: volume, then stats. */
		ev = cJSON_CreateObject();
		if (ev) {
			cJSON_AddStringToObject(ev, "type", "volume");
			cJSON_AddNumberToObject(ev, "time", round(t * 1000) / 1000);
			cJSON_AddItemToObject(ev, "journeys",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "volume"), 1));
			log_json(res, WF_EVENTS, ev, 0);
			cJSON_Delete(ev);
		}
		ev = cJSON_CreateObject();
		if (ev) {
			cJSON_AddStringToObject(ev, "type", "stats");
			cJSON_AddNumberToObject(ev, "time", round(t * 1000) / 1000);
			cJSON_ArrayForEach(it, rec)
				if (strcmp(it->string, "t") != 0 && strcmp(it->string, "volume") != 0)
					cJSON_AddItemToObject(ev, it->string, cJSON_Duplicate(it, 1));
			log_json(res, WF_EVENTS, ev, 0);
			cJSON_Delete(ev);
		}
		cJSON_Delete(rec);
	} else {
		log_warn("run %s: results: out of memory: the record of second %.0f is lost", run_id(r), t);
	}
	if (thresholds_eval_second(res->th, &res->cur, run_totals(r), t, run_get_state(r) == RUN_RUNNING)) {
		char by[512];

		log_warn("run %s: threshold broken, stopping the run: %s", run_id(r),
			 thresholds_eval_aborted_by(res->th));
		snprintf(by, sizeof(by), "threshold %s", thresholds_eval_aborted_by(res->th));
		run_stop_by(r, 0, by);
	}
	log_broken(res, r, t);
	stats_free(&res->cur);
	stats_init(&res->cur);
}

void results_tick(results *res, run *r)
{
	double t;

	if (!res || res->finished || run_get_state(r) == RUN_STARTING)
		return;
	t = run_elapsed(r);
	if (!res->started) {
		res->started = 1;
		res->start_wall = wall_now() - t;
	}
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
		return;
	if (run_get_state(r) == RUN_RUNNING) {
		cJSON *st = run_status(r);
		double n = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "runners"));

		if (!isnan(n) && n > (double)res->runners_max)
			res->runners_max = (long)n;
		cJSON_Delete(st);
	}
	pull(res, r);
	t -= RESULTS_OFFSET; /* the data's end */
	emit_second(res, r, t, t > res->last_t ? t - res->last_t : 0);
	res->snap_taken = 0;
	res->last_t = t;
	res->next_t = floor(t) + 1 + RESULTS_OFFSET;
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

static void judge_input(const results *res, const run *r, judge_in *in)
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
static verdict_kind judge_into(const results *res, const run *r, cJSON *o)
{
	const char *passed = res && thresholds_count(res->spec) ? "every threshold held; the volume was delivered"
								: "no journey errors; the volume was delivered";
	verdict_list v;
	verdict_kind k;
	judge_in in;

	judge_input(res, r, &in);
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
		return verdict_kind_of(
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res->summary, "verdict")));
	return judge_into(res, r, NULL);
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
	judge_into(res, r, jv);
	cJSON_AddItemToObject(status, "verdict_now",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(jv, "verdict"), 1));
	cJSON_AddItemToObject(status, "verdict_reason",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(jv, "verdict_reason"), 1));
	cJSON_AddItemToObject(status, "reasons", cJSON_DetachItemFromObject(jv, "reasons"));
	cJSON_AddItemToObject(status, "warnings", cJSON_DetachItemFromObject(jv, "warnings"));
	cJSON_Delete(jv);
	judge_input(res, r, &in);
	cJSON_AddNumberToObject(status, "loop_lag_bound", run_scenario(r)->verdict.loop_lag);
	cJSON_ArrayForEach(j, js) {
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

/* ---- the summary -------------------------------------------------------- */

static cJSON *hist_summary(const hist *h)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "count", h ? (double)hist_count(h) : 0);
	if (!h || !hist_count(h))
		return o;
	cJSON_AddNumberToObject(o, "min", jsec_ns((double)hist_min(h)));
	cJSON_AddNumberToObject(o, "mean", jsec_ns(hist_mean(h)));
	cJSON_AddNumberToObject(o, "p50", hist_pct_s(h, 50));
	cJSON_AddNumberToObject(o, "p90", hist_pct_s(h, 90));
	cJSON_AddNumberToObject(o, "p95", hist_pct_s(h, 95));
	cJSON_AddNumberToObject(o, "p99", hist_pct_s(h, 99));
	cJSON_AddNumberToObject(o, "p99_9", hist_pct_s(h, 99.9));
	cJSON_AddNumberToObject(o, "max", jsec_ns((double)hist_max(h)));
	return o;
}

/* Latency fields of h directly into o (the transaction rows). */
static void add_latency(cJSON *o, const hist *h)
{
	cJSON *l = hist_summary(h), *it;

	if (!l)
		return;
	cJSON_ArrayForEach(it, l)
		if (strcmp(it->string, "count") != 0)
			cJSON_AddNumberToObject(o, it->string, it->valuedouble);
	cJSON_Delete(l);
}

/* How the run ended: by itself, or stopped (by what, when, early or not). */
static cJSON *stopped_json(const run *r)
{
	double at;
	int early;
	const char *by = run_stopped_by(r, &at, &early);
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddBoolToObject(o, "early", by && early);
	if (by) {
		cJSON_AddStringToObject(o, "by", by);
		cJSON_AddNumberToObject(o, "at", round(at * 1000) / 1000);
	} else {
		cJSON_AddStringToObject(o, "by", run_error(r) ? "an error" : "its end");
	}
	return o;
}

static cJSON *run_meta(results *res, run *r, const cJSON *meta)
{
	const scenario *s = run_scenario(r);
	cJSON *o = cJSON_CreateObject();
	char buf[64];
	double el = run_elapsed(r);

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", run_id(r));
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "scenario", s->path);
	cJSON_AddStringToObject(o, "state", run_get_state(r) == RUN_DONE ? "done" : "unfinished");
	iso_time(res->start_wall, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "start", buf);
	iso_time(res->end_wall, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "end", buf);
	cJSON_AddNumberToObject(o, "start_epoch", round(res->start_wall * 1000) / 1000);
	cJSON_AddNumberToObject(o, "end_epoch", round(res->end_wall * 1000) / 1000);
	cJSON_AddNumberToObject(o, "elapsed", round(el * 1000) / 1000);
	cJSON_AddNumberToObject(o, "duration", s->duration);
	cJSON_AddNumberToObject(o, "scale", run_get_scale(r));
	/* The most runners the run had at once (at the end it has none). */
	cJSON_AddNumberToObject(o, "runners", (double)res->runners_max);
	if (run_error(r))
		cJSON_AddStringToObject(o, "error", run_error(r));
	if (thresholds_eval_aborted_by(res->th))
		cJSON_AddStringToObject(o, "aborted_by", thresholds_eval_aborted_by(res->th));
	cJSON_AddItemToObject(o, "stopped", stopped_json(r));
	cJSON_AddItemToObject(o, "config", kvl_to_json(&s->config));
	if (cJSON_IsObject(meta)) {
		const cJSON *it;

		cJSON_ArrayForEach(it, meta) {
			cJSON_DeleteItemFromObjectCaseSensitive(o, it->string);
			cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
		}
	}
	return o;
}

/* One group of errors: one message at one location. */
typedef struct err_group {
	const char *message, *location;
	uint64_t count;
	cJSON *where; /* the journeys and transactions it happened in */
} err_group;

static int err_group_cmp(const void *a, const void *b)
{
	const err_group *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

#define RESULTS_ERROR_WHERE_MAX 10 /* journey/transaction pairs listed per error */

/* The errors grouped by message and location, most frequent first, each
 * with where it happened (a stats table keys the groups: its entry's c[1]
 * holds the group's index + 1). 0 or -ENOMEM. */
static int add_errors(cJSON *a, const stats *t)
{
	stats keys;
	err_group *g = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	stats_init(&keys);
	for (const stats_entry *e = t->first; e; e = e->order) {
		const char *k[2];
		stats_entry *ke;
		err_group *gp;
		cJSON *w;

		if (!kind_is(e, "error", 4))
			continue;
		k[0] = e->labels[3];
		k[1] = e->labels[2];
		if (!(ke = stats_get(&keys, "g", k, 2))) {
			rc = -ENOMEM;
			break;
		}
		if (!ke->c[1]) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				err_group *v = realloc(g, nc * sizeof(*v));

				if (!v) {
					rc = -ENOMEM;
					break;
				}
				g = v;
				cap = nc;
			}
			g[n] = (err_group){.message = ke->labels[0], .location = ke->labels[1],
					   .where = cJSON_CreateArray()};
			ke->c[1] = ++n;
		}
		gp = &g[ke->c[1] - 1];
		gp->count += e->c[0];
		if (gp->where && cJSON_GetArraySize(gp->where) < RESULTS_ERROR_WHERE_MAX &&
		    (w = cJSON_CreateObject())) {
			cJSON_AddStringToObject(w, "journey", e->labels[0]);
			cJSON_AddStringToObject(w, "transaction", e->labels[1]);
			cJSON_AddNumberToObject(w, "count", (double)e->c[0]);
			cJSON_AddItemToArray(gp->where, w);
		}
	}
	if (n)
		qsort(g, n, sizeof(*g), err_group_cmp);
	for (size_t i = 0; i < n; i++) {
		cJSON *x = rc ? NULL : cJSON_CreateObject();

		if (!x) {
			cJSON_Delete(g[i].where);
			continue;
		}
		cJSON_AddStringToObject(x, "message", g[i].message);
		cJSON_AddStringToObject(x, "location", g[i].location);
		cJSON_AddNumberToObject(x, "count", (double)g[i].count);
		cJSON_AddItemToObject(x, "where", g[i].where ? g[i].where : cJSON_CreateArray());
		cJSON_AddItemToArray(a, x);
	}
	free(g);
	stats_free(&keys);
	return rc;
}

/* Where the result files are and whether they all reached the disk. */
static cJSON *files_json(const results *res)
{
	cJSON *o = cJSON_CreateObject(), *e;

	if (!o)
		return NULL;
	if (res->dir)
		cJSON_AddStringToObject(o, "dir", res->dir);
	else
		cJSON_AddNullToObject(o, "dir");
	cJSON_AddBoolToObject(o, "on_disk", res->dir && !res->not_written[0]);
	e = cJSON_AddArrayToObject(o, "errors");
	for (int f = 0; e && f < WF_N; f++)
		if (res->file_err[f]) {
			char line[256];

			snprintf(line, sizeof(line), "%s: %s", results_writer_file_name(f), strerror(-res->file_err[f]));
			cJSON_AddItemToArray(e, cJSON_CreateString(line));
		}
	if (e && res->not_written[0])
		cJSON_AddItemToArray(e, cJSON_CreateString(res->not_written));
	return o;
}

static cJSON *build_summary(results *res, run *r, const cJSON *meta)
{
	const scenario *s = run_scenario(r);
	const stats *t = run_totals(r);
	double el = run_elapsed(r);
	cJSON *o = cJSON_CreateObject(), *a, *ev;
	judge_in in;

	if (!o)
		return NULL;
	judge_input(res, r, &in);
	cJSON_AddStringToObject(o, "mite_version", PACKAGE_VERSION);
	cJSON_AddItemToObject(o, "run", run_meta(res, r, meta));
	judge_into(res, r, o);
	cJSON_AddItemToObject(o, "judged_with", verdict_conf_json(&s->verdict));

	a = cJSON_AddArrayToObject(o, "journeys");
	for (size_t i = 0; a && i < s->njourneys; i++) {
		const char *name = s->journeys[i].name;
		const stats_entry *e = stats_find(t, "journey", &name, 1);
		const stats_entry *lost = stats_find(t, "lost", &name, 1);
		const stats_entry *doubt = stats_find(t, "doubt", &name, 1);
		int open = vmodel_get_kind(s->journeys[i].volume) == VMODEL_OPEN;
		cJSON *j = cJSON_CreateObject();

		if (!j)
			break;
		cJSON_AddStringToObject(j, "name", name);
		cJSON_AddStringToObject(j, "model", open ? "open" : "closed");
		cJSON_AddNumberToObject(j, "started", e ? (double)e->c[ST_J_STARTED] : 0);
		cJSON_AddNumberToObject(j, "ok", e ? (double)e->c[ST_J_OK] : 0);
		cJSON_AddNumberToObject(j, "failed", e ? (double)e->c[ST_J_FAILED] : 0);
		cJSON_AddNumberToObject(j, "cancelled", e ? (double)e->c[ST_J_CANCELLED] : 0);
		cJSON_AddNumberToObject(j, "lost", lost ? (double)lost->c[0] : 0);
		cJSON_AddNumberToObject(j, "rows_in_doubt", doubt ? (double)doubt->c[0] : 0);
		cJSON_AddItemToObject(j, "duration", hist_summary(e ? e->h[0] : NULL));
		cJSON_AddItemToObject(j, "volume", results_judge_volume(&in, i));
		cJSON_AddItemToArray(a, j);
	}
	cJSON_AddItemToObject(o, "generator", results_judge_generator(&in));

	a = cJSON_AddArrayToObject(o, "transactions");
	for (const stats_entry *e = t->first; a && e; e = e->order) {
		uint64_t n;
		cJSON *x;

		if (!kind_is(e, "txn", 2))
			continue;
		n = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
		if (!(x = cJSON_CreateObject()))
			break;
		cJSON_AddStringToObject(x, "journey", e->labels[0]);
		cJSON_AddStringToObject(x, "name", e->labels[1]);
		cJSON_AddNumberToObject(x, "count", (double)n);
		cJSON_AddNumberToObject(x, "failures", (double)e->c[ST_TXN_FAILED]);
		cJSON_AddNumberToObject(x, "cancelled", (double)e->c[ST_TXN_CANCELLED]);
		cJSON_AddNumberToObject(x, "failure_rate", n ? (double)e->c[ST_TXN_FAILED] / (double)n : 0);
		cJSON_AddNumberToObject(x, "rate", el > 0 ? round((double)n / el * 1000) / 1000 : 0);
		add_latency(x, e->h[0]);
		cJSON_AddItemToArray(a, x);
	}

	a = cJSON_AddArrayToObject(o, "http");
	for (const stats_entry *e = t->first; a && e; e = e->order) {
		static const char *const phases[] = {"total", "dns", "connect", "tls", "ttfb"};
		cJSON *x, *ph;

		if (!kind_is(e, "http", 4))
			continue;
		if (!(x = cJSON_CreateObject()))
			break;
		cJSON_AddStringToObject(x, "journey", e->labels[0]);
		cJSON_AddStringToObject(x, "transaction", e->labels[1]);
		cJSON_AddStringToObject(x, "method", e->labels[2]);
		cJSON_AddStringToObject(x, "status", e->labels[3]);
		cJSON_AddNumberToObject(x, "count", (double)e->c[ST_HTTP_COUNT]);
		cJSON_AddNumberToObject(x, "rate", el > 0 ? round((double)e->c[ST_HTTP_COUNT] / el * 1000) / 1000 : 0);
		cJSON_AddNumberToObject(x, "bytes_out", (double)e->c[ST_HTTP_BYTES_OUT]);
		cJSON_AddNumberToObject(x, "bytes_in", (double)e->c[ST_HTTP_BYTES_IN]);
		ph = cJSON_AddObjectToObject(x, "phases");
		for (int k = 0; ph && k < STATS_NHISTS; k++)
			if (e->h[k] && hist_count(e->h[k]))
				cJSON_AddItemToObject(ph, phases[k], hist_summary(e->h[k]));
		cJSON_AddItemToArray(a, x);
	}

	a = cJSON_AddArrayToObject(o, "http_errors");
	for (const stats_entry *e = t->first; a && e; e = e->order) {
		cJSON *x;

		if (!kind_is(e, "httperr", 4) || !(x = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(x, "journey", e->labels[0]);
		cJSON_AddStringToObject(x, "transaction", e->labels[1]);
		cJSON_AddStringToObject(x, "method", e->labels[2]);
		cJSON_AddStringToObject(x, "class", e->labels[3]);
		cJSON_AddNumberToObject(x, "count", (double)e->c[0]);
		cJSON_AddItemToArray(a, x);
	}

	results_ws_summary(o, t, el);

	a = cJSON_AddArrayToObject(o, "errors");
	if (a && add_errors(a, t) < 0)
		log_warn("run %s: results: out of memory grouping the errors", run_id(r));

	a = cJSON_AddArrayToObject(o, "messages");
	for (const stats_entry *e = t->first; a && e; e = e->order) {
		cJSON *x;

		if (!kind_is(e, "send", 2) || !(x = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(x, "journey", e->labels[0]);
		cJSON_AddStringToObject(x, "type", e->labels[1]);
		cJSON_AddNumberToObject(x, "count", (double)e->c[0]);
		cJSON_AddItemToArray(a, x);
	}

	a = cJSON_AddArrayToObject(o, "lag");
	for (const stats_entry *e = t->first; a && e; e = e->order) {
		cJSON *x;

		if (!kind_is(e, "lag", 1) || !(x = hist_summary(e->h[0])))
			continue;
		cJSON_AddStringToObject(x, "journey", e->labels[0]);
		cJSON_AddItemToArray(a, x);
	}

	ev = cJSON_AddObjectToObject(o, "events");
	if (ev) {
		cJSON_AddBoolToObject(ev, "logged_to_file", res->w != NULL);
		cJSON_AddNumberToObject(ev, "logged", (double)res->events_logged);
		cJSON_AddNumberToObject(ev, "dropped_log", (double)res->dropped);
		cJSON_AddNumberToObject(ev, "dropped_runners", (double)runner_dropped(t));
		cJSON_AddBoolToObject(ev, "http_events", res->conf.http_events);
		cJSON_AddNumberToObject(ev, "max_file_size", (double)res->conf.events_max_size);
		cJSON_AddNumberToObject(ev, "keep", res->conf.events_keep);
	}
	cJSON_AddItemToObject(o, "thresholds", thresholds_eval_json(res->th));
	cJSON_AddItemToObject(o, "files", files_json(res));
	return o;
}

cJSON *results_summary_now(results *res, run *r)
{
	return res ? build_summary(res, r, NULL) : NULL;
}

/* Writes summary.json and summary.txt of res->summary. 0, or -errno with
 * what was not written (and why) in res->not_written. */
static int write_summary(results *res, run *r)
{
	/* Names and messages from journeys may hold anything: the files stay
	 * well-formed UTF-8 (core/utf8.h). */
	char *json = utf8_fix(cJSON_Print(res->summary)), *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	int rc;

	if (f) {
		results_io_text(f, res->summary);
		if (fclose(f) != 0) {
			free(text);
			text = NULL;
		}
		if (text && !utf8_valid(text, tlen)) {
			char *fixed = utf8_repair(text, tlen, &tlen);

			free(text);
			text = fixed;
		}
	}
	if (!json || !text) {
		log_err("run %s: results: out of memory writing the summary", run_id(r));
		snprintf(res->not_written, sizeof(res->not_written), "summary.json: out of memory");
		rc = -ENOMEM;
	} else if ((rc = results_writer_file(res->dir, "summary.json", json, strlen(json))) < 0) {
		snprintf(res->not_written, sizeof(res->not_written), "summary.json: %s", strerror(-rc));
	} else if ((rc = results_writer_file(res->dir, "summary.txt", text, tlen)) < 0) {
		snprintf(res->not_written, sizeof(res->not_written), "summary.txt: %s", strerror(-rc));
	}
	cJSON_free(json);
	free(text);
	return rc;
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
		emit_second(res, r, t, t > res->last_t ? t - res->last_t : 0);
	thresholds_eval_final(res->th, run_totals(r), t);
	log_broken(res, r, t);
	/* Whether the logs reached the disk is part of the verdict. */
	if (res->w)
		results_writer_sync(res->w, res->file_err);
	res->finished = 1;
	res->summary = build_summary(res, r, meta);
	if (!res->summary) {
		log_err("run %s: results: out of memory building the summary", run_id(r));
		return -ENOMEM;
	}
	if (res->dir && (rc = write_summary(res, r)) < 0) {
		/* The summary in memory says it is not on disk, and the run is
		 * incomplete; one more try puts that much on disk if it fits. */
		cJSON *again = build_summary(res, r, meta);
		char *json = again ? utf8_fix(cJSON_Print(again)) : NULL;

		log_err("run %s: results: %s/%s; the summary is kept in memory only", run_id(r), res->dir,
			res->not_written);
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
			cJSON_AddStringToObject(end, "verdict",
						cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res->summary,
												      "verdict")));
			cJSON_AddNumberToObject(end, "events", (double)res->events_logged);
			cJSON_AddNumberToObject(end, "dropped", (double)res->dropped);
			log_json(res, WF_EVENTS, end, 1);
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
