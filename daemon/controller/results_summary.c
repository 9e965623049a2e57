/* results_summary.c - a run's summary files (see results_summary.h). */
#include "config.h"

#include "controller/results_summary.h"
#include "controller/results_ws.h"
#include "controller/results_io.h"
#include "core/kvl.h"
#include "core/log.h"
#include "core/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void iso_time(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	int ms = (int)((t - (double)s) * 1000);

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ms < 0             ? 0
			 : ms > 999 ? 999
				    : ms);
}

static cJSON *hist_summary(const hist *h)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "count", h ? (double)hist_count(h) : 0);
	if (!h || !hist_count(h))
		return o;
	cJSON_AddNumberToObject(o, "min", results_jsec((double)hist_min(h)));
	cJSON_AddNumberToObject(o, "mean", results_jsec(hist_mean(h)));
	cJSON_AddNumberToObject(o, "p50", results_pct_s(h, 50));
	cJSON_AddNumberToObject(o, "p90", results_pct_s(h, 90));
	cJSON_AddNumberToObject(o, "p95", results_pct_s(h, 95));
	cJSON_AddNumberToObject(o, "p99", results_pct_s(h, 99));
	cJSON_AddNumberToObject(o, "p99_9", results_pct_s(h, 99.9));
	cJSON_AddNumberToObject(o, "max", results_jsec((double)hist_max(h)));
	return o;
}

/* Latency fields of h directly into o (the transaction rows). */
static void add_latency(cJSON *o, const hist *h)
{
	cJSON *l = hist_summary(h), *it;

	if (!l)
		return;
	cJSON_ArrayForEach(it, l) if (strcmp(it->string, "count") != 0)
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

		cJSON_ArrayForEach(it, meta)
		{
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

		if (!stats_kind_is(e, &SK_ERROR))
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
			g[n] = (err_group){ .message = ke->labels[0],
					    .location = ke->labels[1],
					    .where = cJSON_CreateArray() };
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

			snprintf(line, sizeof(line), "%s: %s", results_writer_file_name(f),
				 strerror(-res->file_err[f]));
			cJSON_AddItemToArray(e, cJSON_CreateString(line));
		}
	if (e && res->not_written[0])
		cJSON_AddItemToArray(e, cJSON_CreateString(res->not_written));
	return o;
}

/* Journey i's totals and volume. */
static cJSON *journey_summary(const run *r, const judge_in *in, size_t i)
{
	const scenario *s = run_scenario(r);
	const stats *t = run_totals(r);
	const char *name = s->journeys[i].name;
	const stats_entry *e = stats_find(t, SK_JOURNEY.name, &name, SK_JOURNEY.nlabels);
	const stats_entry *lost = stats_find(t, SK_LOST.name, &name, SK_LOST.nlabels);
	const stats_entry *doubt = stats_find(t, SK_DOUBT.name, &name, SK_DOUBT.nlabels);
	const stats_entry *skip = stats_find(t, SK_SKIPPED.name, &name, SK_SKIPPED.nlabels);
	int open = vmodel_get_kind(s->journeys[i].volume) == VMODEL_OPEN;
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "model", open ? "open" : "closed");
	cJSON_AddNumberToObject(j, "started", e ? (double)e->c[ST_J_STARTED] : 0);
	cJSON_AddNumberToObject(j, "ok", e ? (double)e->c[ST_J_OK] : 0);
	cJSON_AddNumberToObject(j, "failed", e ? (double)e->c[ST_J_FAILED] : 0);
	cJSON_AddNumberToObject(j, "cancelled", e ? (double)e->c[ST_J_CANCELLED] : 0);
	cJSON_AddNumberToObject(j, "lost", lost ? (double)lost->c[0] : 0);
	cJSON_AddNumberToObject(j, "rows_in_doubt", doubt ? (double)doubt->c[0] : 0);
	cJSON_AddNumberToObject(j, "rows_skipped", skip ? (double)skip->c[0] : 0);
	cJSON_AddItemToObject(j, "duration", hist_summary(e ? e->h[0] : NULL));
	cJSON_AddItemToObject(j, "volume", results_judge_volume(in, i));
	return j;
}

/* A count per second of the run, to the millisecond. */
static double per_s(double n, double el)
{
	return el > 0 ? round(n / el * 1000) / 1000 : 0;
}

static cJSON *txn_summary(const stats_entry *e, double el)
{
	uint64_t n = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
	cJSON *x = cJSON_CreateObject();

	if (!x)
		return NULL;
	cJSON_AddStringToObject(x, "journey", e->labels[SL_JOURNEY]);
	cJSON_AddStringToObject(x, "name", e->labels[SL_TRANSACTION]);
	cJSON_AddNumberToObject(x, "count", (double)n);
	cJSON_AddNumberToObject(x, "failures", (double)e->c[ST_TXN_FAILED]);
	cJSON_AddNumberToObject(x, "cancelled", (double)e->c[ST_TXN_CANCELLED]);
	cJSON_AddNumberToObject(x, "failure_rate", n ? (double)e->c[ST_TXN_FAILED] / (double)n : 0);
	cJSON_AddNumberToObject(x, "rate", per_s((double)n, el));
	add_latency(x, e->h[0]);
	return x;
}

static cJSON *http_summary(const stats_entry *e, double el)
{
	cJSON *x = cJSON_CreateObject(), *ph;

	if (!x)
		return NULL;
	cJSON_AddStringToObject(x, "journey", e->labels[SL_JOURNEY]);
	cJSON_AddStringToObject(x, "transaction", e->labels[SL_TRANSACTION]);
	cJSON_AddStringToObject(x, "method", e->labels[SL_METHOD]);
	cJSON_AddStringToObject(x, "status", e->labels[SL_STATUS]);
	cJSON_AddNumberToObject(x, "count", (double)e->c[ST_HTTP_COUNT]);
	cJSON_AddNumberToObject(x, "rate", per_s((double)e->c[ST_HTTP_COUNT], el));
	cJSON_AddNumberToObject(x, "bytes_out", (double)e->c[ST_HTTP_BYTES_OUT]);
	cJSON_AddNumberToObject(x, "bytes_in", (double)e->c[ST_HTTP_BYTES_IN]);
	ph = cJSON_AddObjectToObject(x, "phases");
	for (int k = 0; ph && k < STATS_NHISTS; k++)
		if (e->h[k] && hist_count(e->h[k]))
			cJSON_AddItemToObject(ph, stats_phase_names[k], hist_summary(e->h[k]));
	return x;
}

static cJSON *httperr_summary(const stats_entry *e, double el)
{
	cJSON *x = cJSON_CreateObject();

	(void)el;
	if (!x)
		return NULL;
	cJSON_AddStringToObject(x, "journey", e->labels[SL_JOURNEY]);
	cJSON_AddStringToObject(x, "transaction", e->labels[SL_TRANSACTION]);
	cJSON_AddStringToObject(x, "method", e->labels[SL_METHOD]);
	cJSON_AddStringToObject(x, "class", e->labels[SL_CLASS]);
	cJSON_AddNumberToObject(x, "count", (double)e->c[0]);
	return x;
}

static cJSON *send_summary(const stats_entry *e, double el)
{
	cJSON *x = cJSON_CreateObject();

	(void)el;
	if (!x)
		return NULL;
	cJSON_AddStringToObject(x, "journey", e->labels[SL_JOURNEY]);
	cJSON_AddStringToObject(x, "type", e->labels[SL_TYPE]);
	cJSON_AddNumberToObject(x, "count", (double)e->c[0]);
	return x;
}

static cJSON *lag_summary(const stats_entry *e, double el)
{
	cJSON *x = hist_summary(e->h[0]);

	(void)el;
	if (x)
		cJSON_AddStringToObject(x, "journey", e->labels[SL_JOURNEY]);
	return x;
}

/* The array key of o: one object per entry of kind k in t, made by fn. */
static void add_entries(cJSON *o, const char *key, const stats_kind *k,
			cJSON *(*fn)(const stats_entry *e, double el), const stats *t, double el)
{
	cJSON *a = cJSON_AddArrayToObject(o, key), *x;

	for (const stats_entry *e = t->first; a && e; e = e->order)
		if (stats_kind_is(e, k) && (x = fn(e, el)))
			cJSON_AddItemToArray(a, x);
}

/* How the event log went. */
static void add_events(cJSON *o, const results *res, const stats *t)
{
	cJSON *ev = cJSON_AddObjectToObject(o, "events");

	if (!ev)
		return;
	cJSON_AddBoolToObject(ev, "logged_to_file", res->w != NULL);
	cJSON_AddNumberToObject(ev, "logged", (double)res->events_logged);
	cJSON_AddNumberToObject(ev, "dropped_log", (double)res->dropped);
	cJSON_AddNumberToObject(ev, "dropped_runners", (double)results_runner_dropped(t));
	cJSON_AddBoolToObject(ev, "http_events", res->conf.http_events);
	cJSON_AddNumberToObject(ev, "max_file_size", (double)res->conf.events_max_size);
	cJSON_AddNumberToObject(ev, "keep", res->conf.events_keep);
}

cJSON *results_summary_build(results *res, run *r, const cJSON *meta)
{
	const scenario *s = run_scenario(r);
	const stats *t = run_totals(r);
	double el = run_elapsed(r);
	cJSON *o = cJSON_CreateObject(), *a, *j;
	judge_in in;

	if (!o)
		return NULL;
	results_verdict_input(res, r, &in);
	cJSON_AddStringToObject(o, "mite_version", PACKAGE_VERSION);
	cJSON_AddItemToObject(o, "run", run_meta(res, r, meta));
	results_verdict_json(res, r, o);
	cJSON_AddItemToObject(o, "judged_with", verdict_conf_json(&s->verdict));
	a = cJSON_AddArrayToObject(o, "journeys");
	for (size_t i = 0; a && i < s->njourneys && (j = journey_summary(r, &in, i)); i++)
		cJSON_AddItemToArray(a, j);
	cJSON_AddItemToObject(o, "generator", results_judge_generator(&in));
	add_entries(o, "transactions", &SK_TXN, txn_summary, t, el);
	add_entries(o, "http", &SK_HTTP, http_summary, t, el);
	add_entries(o, "http_errors", &SK_HTTPERR, httperr_summary, t, el);
	results_ws_summary(o, t, el);
	a = cJSON_AddArrayToObject(o, "errors");
	if (a && add_errors(a, t) < 0)
		log_warn("run %s: results: out of memory grouping the errors", run_id(r));
	add_entries(o, "messages", &SK_SEND, send_summary, t, el);
	add_entries(o, "lag", &SK_LAG, lag_summary, t, el);
	add_events(o, res, t);
	cJSON_AddItemToObject(o, "thresholds", thresholds_eval_json(res->th));
	cJSON_AddItemToObject(o, "files", files_json(res));
	return o;
}

/* Writes summary.json and summary.txt of res->summary. 0, or -errno with
 * what was not written (and why) in res->not_written. */
int results_summary_write(results *res, run *r)
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
		snprintf(res->not_written, sizeof(res->not_written), "summary.json: %s",
			 strerror(-rc));
	} else if ((rc = results_writer_file(res->dir, "summary.txt", text, tlen)) < 0) {
		snprintf(res->not_written, sizeof(res->not_written), "summary.txt: %s",
			 strerror(-rc));
	}
	cJSON_free(json);
	free(text);
	return rc;
}
