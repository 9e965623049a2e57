/*
 * run_status.c - what a run tells: its getters and its status snapshot
 * (run.h).
 */
#include "controller/run.h"
#include "controller/run_int.h"

#include "core/hist.h"

#include <math.h>
#include <string.h>

static long total_actual(const run *r, size_t ji)
{
	long n = 0;

	for (size_t i = 0; i < r->nlinks; i++)
		if (!r->links[i]->gone)
			n += r->links[i]->actual[ji];
	return n;
}

run_state run_get_state(const run *r)
{
	return r->state;
}
const char *run_id(const run *r)
{
	return r->id;
}
const scenario *run_scenario(const run *r)
{
	return r->s;
}
const stats *run_totals(const run *r)
{
	return &r->totals;
}
const char *run_error(const run *r)
{
	return r->error;
}
double run_get_scale(const run *r)
{
	return r->scale;
}

void run_take_window(run *r, stats *out)
{
	*out = r->window;
	stats_init(&r->window);
}

int run_failed(const run *r)
{
	if (r->error)
		return 1;
	for (const stats_entry *e = r->totals.first; e; e = e->order) {
		if (strcmp(e->kind, "txn") == 0 && e->c[ST_TXN_FAILED])
			return 1;
		if (strcmp(e->kind, "journey") == 0 && e->c[ST_J_FAILED])
			return 1;
	}
	return 0;
}

/* Nothing is required of a run that is not running (starting, paused,
 * draining). */
long run_required(const run *r, size_t ji)
{
	return ji < r->s->njourneys && r->state == RUN_RUNNING ? r->j[ji].required : 0;
}

double run_running_until(const run *r)
{
	return r->running_until;
}
long run_actual(const run *r, size_t ji)
{
	return ji < r->s->njourneys ? total_actual(r, ji) : 0;
}
long run_required_starts(const run *r, size_t ji)
{
	return ji < r->s->njourneys ? r->j[ji].starts : 0;
}

long run_runner_actual(const run *r, const transport *t)
{
	long n = 0;

	for (size_t i = 0; t && i < r->nlinks; i++)
		if (r->links[i]->t == t && !r->links[i]->gone)
			for (size_t ji = 0; ji < r->s->njourneys; ji++)
				n += r->links[i]->actual[ji];
	return n;
}

long run_actual_peak(const run *r, size_t ji)
{
	long n = 0;

	for (size_t i = 0; ji < r->s->njourneys && i < r->nlinks; i++)
		if (!r->links[i]->gone)
			n += r->links[i]->peak[ji];
	return n;
}
int run_pool_ended(const run *r, size_t ji)
{
	return ji < r->s->njourneys && r->j[ji].pool_ended;
}

const char *run_why(const run *r, size_t ji)
{
	for (size_t i = 0; ji < r->s->njourneys && i < r->nlinks; i++)
		if (!r->links[i]->gone && r->links[i]->why[ji])
			return r->links[i]->why[ji];
	return NULL;
}

/* Per runner: its loop lag in its last batch. */
static cJSON *lag_status(const run *r, double *worst)
{
	cJSON *a = cJSON_CreateArray();

	*worst = -1;
	for (size_t i = 0; a && i < r->nlinks; i++) {
		const rlink *l = r->links[i];
		cJSON *o;

		if (!run_link_usable(l) || !l->has_lag || !(o = cJSON_CreateObject()))
			continue;
		cJSON_AddNumberToObject(o, "runner", l->idx);
		cJSON_AddNumberToObject(o, "p99", round(l->lag_p99 * 1e6) / 1e6);
		cJSON_AddNumberToObject(o, "max", round(l->lag_max * 1e6) / 1e6);
		cJSON_AddItemToArray(a, o);
		if (l->lag_p99 > *worst)
			*worst = l->lag_p99;
	}
	return a;
}

const char *run_state_name(run_state s)
{
	static const char *const names[] = { "starting", "running", "paused", "stopping", "done" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

int run_runners(const run *r)
{
	return (int)run_link_usable_count(r);
}

/* Journey i's line of the status. */
static cJSON *journey_status(const run *r, size_t i)
{
	cJSON *j = cJSON_CreateObject();
	const char *lab = r->s->journeys[i].name;
	const stats_entry *e = stats_find(&r->totals, SK_JOURNEY.name, &lab, SK_JOURNEY.nlabels);

	cJSON_AddStringToObject(j, "name", lab);
	cJSON_AddStringToObject(j, "model", r->j[i].open ? "open" : "closed");
	cJSON_AddNumberToObject(j, "required", (double)r->j[i].required);
	cJSON_AddNumberToObject(j, "actual", (double)total_actual(r, i));
	if (r->j[i].open)
		cJSON_AddNumberToObject(j, "required_starts", (double)r->j[i].starts);
	if (run_why(r, i))
		cJSON_AddStringToObject(j, "why", run_why(r, i));
	cJSON_AddBoolToObject(j, "ended", r->j[i].ended);
	cJSON_AddNumberToObject(j, "started", e ? (double)e->c[ST_J_STARTED] : 0);
	cJSON_AddNumberToObject(j, "ok", e ? (double)e->c[ST_J_OK] : 0);
	cJSON_AddNumberToObject(j, "failed", e ? (double)e->c[ST_J_FAILED] : 0);
	return j;
}

/* A transaction's line of the status (e: its entry; el: run seconds). */
static cJSON *txn_status(const stats_entry *e, double el)
{
	uint64_t n = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
	cJSON *t = cJSON_CreateObject();

	cJSON_AddStringToObject(t, "journey", e->labels[0]);
	cJSON_AddStringToObject(t, "name", e->labels[1]);
	cJSON_AddNumberToObject(t, "count", (double)n);
	cJSON_AddNumberToObject(t, "failed", (double)e->c[ST_TXN_FAILED]);
	cJSON_AddNumberToObject(t, "rate", el > 0 ? (double)n / el : 0);
	if (e->h[0] && hist_count(e->h[0])) {
		cJSON_AddNumberToObject(t, "p50", (double)hist_percentile(e->h[0], 50) / 1e9);
		cJSON_AddNumberToObject(t, "p95", (double)hist_percentile(e->h[0], 95) / 1e9);
		cJSON_AddNumberToObject(t, "p99", (double)hist_percentile(e->h[0], 99) / 1e9);
		cJSON_AddNumberToObject(t, "max", (double)hist_max(e->h[0]) / 1e9);
	}
	return t;
}

cJSON *run_status(const run *r)
{
	cJSON *o = cJSON_CreateObject(), *js, *tx;
	double el = run_elapsed(r), worst;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "name", r->s->name);
	cJSON_AddStringToObject(o, "scenario", r->s->path);
	cJSON_AddStringToObject(o, "state", run_state_name(r->state));
	cJSON_AddNumberToObject(o, "elapsed", el);
	cJSON_AddNumberToObject(o, "duration", r->s->duration);
	cJSON_AddNumberToObject(o, "scale", r->scale);
	cJSON_AddNumberToObject(o, "runners", (double)run_link_usable_count(r));
	cJSON_AddBoolToObject(o, "failed", run_failed(r));
	if (r->error)
		cJSON_AddStringToObject(o, "error", r->error);
	if (r->stop_by) {
		cJSON *st = cJSON_AddObjectToObject(o, "stopped");

		cJSON_AddStringToObject(st, "by", r->stop_by);
		cJSON_AddNumberToObject(st, "at", round(r->stop_at * 1000) / 1000);
		cJSON_AddBoolToObject(st, "early", r->stop_early);
	}
	cJSON_AddItemToObject(o, "loop_lag", lag_status(r, &worst));
	if (worst >= 0)
		cJSON_AddNumberToObject(o, "loop_lag_p99", round(worst * 1e6) / 1e6);
	js = cJSON_AddArrayToObject(o, "journeys");
	for (size_t i = 0; js && i < r->s->njourneys; i++)
		cJSON_AddItemToArray(js, journey_status(r, i));
	tx = cJSON_AddArrayToObject(o, "transactions");
	for (const stats_entry *e = r->totals.first; tx && e; e = e->order)
		if (strcmp(e->kind, "txn") == 0 && e->nlabels == 2)
			cJSON_AddItemToArray(tx, txn_status(e, el));
	return o;
}
