/*
 * run.c - the controller's side of a run (see run.h and docs/architecture.md):
 * its life - new, start, pause, resume, scale - and its end (stop, drain,
 * done, free). The tick is in run_tick.c, rows in run_rows.c, runners'
 * links in run_link.c, the getters and status in run_status.c.
 */
#include "controller/run.h"
#include "controller/run_int.h"

#include "core/log.h"
#include "core/proto.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

void run_set_error(run *r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (r->error)
		return; /* keep the first: it is the cause */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	r->error = strdup(buf);
	log_err("run %s: %s", r->id, buf);
}

double run_elapsed(const run *r)
{
	uint64_t end = r->end_ns ? r->end_ns : uv_hrtime();

	return r->t0_ns ? (double)(end - r->t0_ns) / 1e9 : 0;
}

/* ---- messages to runners ------------------------------------------------- */

cJSON *run_setup_msg(run *r)
{
	cJSON *m = proto_new(PROTO_SETUP), *js;

	if (!m)
		return NULL;
	cJSON_AddStringToObject(m, "run", r->id);
	cJSON_AddItemToObject(m, "config", kvl_to_json(&r->s->config));
	cJSON_AddNumberToObject(m, "tick", r->o.tick);
	cJSON_AddNumberToObject(m, "stats_interval", r->o.stats_interval);
	cJSON_AddBoolToObject(m, "http_events", r->o.http_events);
	/* Only when asked for: a daemon's runs never are. */
	if (r->o.debug)
		cJSON_AddNumberToObject(m, "debug", r->o.debug);
	if (r->o.trace_instance)
		cJSON_AddNumberToObject(m, "trace_instance", (double)r->o.trace_instance);
	cJSON_AddNumberToObject(m, "elapsed", r->model_t);
	js = cJSON_AddArrayToObject(m, "journeys");
	for (size_t i = 0; js && i < r->s->njourneys; i++) {
		scn_journey *sj = &r->s->journeys[i];
		cJSON *o = cJSON_CreateObject();
		const char *const *cols = sj->pool ? pool_columns(sj->pool) : NULL;

		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", sj->name);
		cJSON_AddStringToObject(o, "module", sj->module_path);
		cJSON_AddStringToObject(o, "symbol", sj->symbol);
		cJSON_AddNumberToObject(o, "stack", (double)sj->stack_size);
		cJSON_AddBoolToObject(o, "open", r->j[i].open);
		cJSON_AddBoolToObject(o, "pool", sj->pool != NULL);
		cJSON_AddBoolToObject(o, "recyclable",
				      sj->pool && pool_get_mode(sj->pool) == POOL_RECYCLABLE);
		if (cols) {
			cJSON *c = cJSON_AddArrayToObject(o, "columns");

			for (; c && *cols; cols++)
				cJSON_AddItemToArray(c, cJSON_CreateString(*cols));
		}
		cJSON_AddItemToArray(js, o);
	}
	return m;
}

/* ---- the end ------------------------------------------------------------ */

/* What a run holds goes (its runners' links close). */
static void run_release(run *r)
{
	for (size_t i = 0; i < r->nlinks; i++)
		run_link_free(r, r->links[i]);
	free(r->links);
	stats_free(&r->totals);
	stats_free(&r->window);
	scenario_free(r->s);
	free(r->j);
	free(r->error);
	free(r->stop_by);
	free(r->id);
	free(r);
}

static void run_handle_closed(uv_handle_t *h)
{
	run *r = h->data;

	if (--r->handles_open)
		return;
	if (r->free_pending) {
		run_release(r);
		return;
	}
	if (r->o.hooks.on_done && !r->done_called) {
		r->done_called = 1;
		r->o.hooks.on_done(r, r->o.hooks.data);
	}
}

static void close_timers(run *r)
{
	if (r->closing)
		return;
	r->closing = 1;
	uv_timer_stop(&r->tick_timer);
	uv_timer_stop(&r->stop_timer);
	uv_close((uv_handle_t *)&r->tick_timer, run_handle_closed);
	uv_close((uv_handle_t *)&r->stop_timer, run_handle_closed);
}

void run_check_done(run *r)
{
	if (r->state != RUN_STOPPING)
		return;
	for (size_t i = 0; i < r->nlinks; i++)
		if (!r->links[i]->gone && !r->links[i]->bye)
			return;
	r->state = RUN_DONE;
	r->end_ns = uv_hrtime();
	close_timers(r);
}

static void on_stop_deadline(uv_timer_t *t)
{
	run *r = t->data;

	for (size_t i = 0; i < r->nlinks; i++) {
		rlink *l = r->links[i];

		if (!l->gone && !l->bye) {
			log_warn(
				"run %s: runner %d did not finish within the grace period; dropping it",
				r->id, l->idx);
			run_link_drop(r, l);
		}
	}
	run_check_done(r);
}

/* Whether the run has an end of its own still ahead: its duration, or a
 * journey whose model or datapool ends and has not yet. A run with neither
 * ends only when stopped: that stop is its end, not an early one. */
static int end_ahead(const run *r)
{
	if (r->state == RUN_STARTING)
		return 1;
	if (r->s->duration > 0)
		return r->model_t < r->s->duration;
	for (size_t ji = 0; ji < r->s->njourneys; ji++) {
		const cjourney *j = &r->j[ji];
		const pool *p = j->sj->pool;

		if (!j->ended &&
		    (j->once || vmodel_end(j->sj->volume) >= 0 ||
		     (p && pool_get_mode(p) == POOL_ITERABLE)))
			return 1;
	}
	return 0;
}

void run_stop_by(run *r, int now, const char *by)
{
	if (r->state != RUN_STOPPING && r->state != RUN_DONE && !r->stop_by) {
		r->stop_by = strdup(by && *by ? by : "a stop request");
		r->stop_at = run_elapsed(r);
		r->stop_early = end_ahead(r);
		log_info("run %s: stopped by %s at %.1f s%s", r->id, r->stop_by ? r->stop_by : "?",
			 r->stop_at, r->stop_early ? ", before its end" : "");
	}
	run_begin_stop(r, now);
}

void run_stop_at_failure(run *r, const char *by)
{
	int first = r->state != RUN_STOPPING && r->state != RUN_DONE && !r->stop_by;
	int all_ended = r->state != RUN_STARTING;

	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		all_ended &= r->j[ji].ended;
	run_stop_by(r, 1, by);
	/* (With a duration, run_stop_by judged as for any stop.) */
	if (first && r->stop_by && r->s->duration <= 0 && !all_ended)
		r->stop_early = 1;
}

void run_stop(run *r, int now)
{
	run_stop_by(r, now, NULL);
}

const char *run_stopped_by(const run *r, double *at, int *early)
{
	if (at)
		*at = r->stop_at;
	if (early)
		*early = r->stop_by && r->stop_early;
	return r->stop_by;
}

void run_begin_stop(run *r, int now)
{
	if (r->state == RUN_DONE)
		return;
	if (r->state == RUN_STOPPING) {
		if (now && !r->stop_now) {
			r->stop_now = 1;
			for (size_t i = 0; i < r->nlinks; i++)
				run_link_send_stop(r->links[i], 1);
			uv_timer_start(&r->stop_timer, on_stop_deadline,
				       (uint64_t)(STOP_SLACK * 1000), 0);
		}
		return;
	}
	r->running_until = run_elapsed(r);
	r->state = RUN_STOPPING;
	r->stop_now = now;
	for (size_t i = 0; i < r->nlinks; i++)
		run_link_send_stop(r->links[i], now);
	uv_timer_start(&r->stop_timer, on_stop_deadline,
		       (uint64_t)(((now ? 0 : r->o.grace) + STOP_SLACK) * 1000), 0);
	run_check_done(r);
}

/* ---- the public calls --------------------------------------------------- */

static void gen_id(char *buf, size_t len)
{
	static unsigned seq;
	uv_timeval64_t tv;

	uv_gettimeofday(&tv);
	snprintf(buf, len, "%llx%04x", (unsigned long long)tv.tv_sec,
		 (++seq + (unsigned)uv_os_getpid()) & 0xffff);
}

run *run_new(uv_loop_t *loop, scenario *s, const run_opts *o, char *err, size_t errlen)
{
	run *r = calloc(1, sizeof *r);
	char idbuf[64];

	if (!r) {
		snprintf(err, errlen, "out of memory");
		scenario_free(s);
		return NULL;
	}
	r->loop = loop;
	r->s = s;
	r->o = *o;
	if (r->o.tick <= 0)
		r->o.tick = 0.1;
	if (r->o.grace <= 0)
		r->o.grace = 30;
	if (r->o.stats_interval <= 0)
		r->o.stats_interval = 1;
	r->scale = 1.0;
	r->running_until = -1;
	if (o->id)
		snprintf(idbuf, sizeof idbuf, "%s", o->id);
	else
		gen_id(idbuf, sizeof idbuf);
	r->id = strdup(idbuf);
	r->o.id = r->id;
	r->j = calloc(s->njourneys ? s->njourneys : 1, sizeof *r->j);
	if (!r->id || !r->j) {
		snprintf(err, errlen, "out of memory");
		free(r->id);
		free(r->j);
		scenario_free(s);
		free(r);
		return NULL;
	}
	for (size_t i = 0; i < s->njourneys; i++) {
		r->j[i].sj = &s->journeys[i];
		r->j[i].once = vmodel_once(s->journeys[i].volume);
		r->j[i].open =
			r->j[i].once || vmodel_get_kind(s->journeys[i].volume) == VMODEL_OPEN;
	}
	stats_init(&r->totals);
	stats_init(&r->window);
	uv_timer_init(loop, &r->tick_timer);
	uv_timer_init(loop, &r->stop_timer);
	r->tick_timer.data = r->stop_timer.data = r;
	r->handles_open = 2;
	r->state = RUN_STARTING;
	return r;
}

int run_start(run *r)
{
	if (r->state != RUN_STARTING || !r->nlinks || r->setup_sent)
		return -EINVAL;
	r->setup_sent = 1;
	for (size_t i = 0; i < r->nlinks; i++)
		if (proto_send(r->links[i]->t, run_setup_msg(r)) < 0)
			return -EPIPE;
	return 0;
}

void run_pause(run *r)
{
	if (r->state == RUN_RUNNING) {
		r->state = RUN_PAUSED;
		for (size_t ji = 0; ji < r->s->njourneys; ji++)
			r->j[ji].required = 0;
	}
}

void run_resume(run *r)
{
	if (r->state == RUN_PAUSED) {
		r->state = RUN_RUNNING;
		r->last_ns = uv_hrtime();
	}
}

int run_scale(run *r, double factor)
{
	if (!isfinite(factor) || factor < 0)
		return -EINVAL;
	r->scale = factor;
	return 0;
}

void run_free(run *r)
{
	if (!r)
		return;
	if (r->handles_open) {
		/* Not done yet (or never started): free once the timers closed. */
		r->free_pending = 1;
		r->done_called = 1;
		close_timers(r);
		return;
	}
	run_release(r);
}
