/*
 * run.c - the controller's side of a run (see run.h and docs/architecture.md).
 */
#include "controller/run.h"

#include "core/hist.h"
#include "core/log.h"
#include "core/proto.h"
#include "core/proto_msg.h"
#include "core/row.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_SLACK 5.0 /* seconds past the grace period before runners are dropped */
/* More instances than any runner can hold: an "active" count beyond it is
 * garbage, and summing such counts over runners must not overflow. */
#define ACTIVE_MAX 1e9
#define WHY_MAX 256 /* bytes of a runner's reason kept per journey */
/* A runner leaving mid-run (run_runner_leave): how long its last batch and
 * bye are awaited (the stop, PROTO_LEAVE_GRACE_S, the batch, and a slow
 * link's retransmits). */
#define LEAVE_BOUND_S 6.0

typedef struct idvec {
	uint64_t *v;
	size_t n, cap;
} idvec;

typedef struct link {
	run *r;
	transport *t;
	int idx;
	int ready, gone, bye, stop_sent;
	int leaving; /* leaving the run (its host lost): no share, its bye awaited */
	uint64_t leave_by_ns; /* dropped (counted lost) if no bye by then */
	long *target; /* per journey: last closed target sent */
	long *actual; /* per journey: instances the runner reported */
	long *peak; /* per journey: the most it reported having since its batch before */
	long *need; /* per journey: rows asked for and not yet given */
	idvec *leased; /* per journey: recyclable rows this runner holds */
	int64_t *inflight; /* per journey: iterations it reported started and not ended */
	uint64_t *rows_out; /* per journey: iterable rows sent to it */
	uint64_t *ended; /* per journey: iterations it reported ended */
	char **why; /* per journey: why it is short of its target (its `why`), or NULL */
	double lag_p99, lag_max; /* its loop lag in its last stats batch (s) */
	int has_lag;
	uint64_t last_seen_ns;
	uint64_t last_stats_ns; /* when its last stats batch came */
} link;

typedef struct cjourney {
	scn_journey *sj;
	int open; /* one iteration per start: open models, and oneshot */
	int once; /* oneshot: all starts at once, then the load ends */
	int ended; /* the model stopped or the pool ran dry */
	int dry; /* closed model, iterable pool exhausted: runners drain */
	long drain; /* dry: the targets runners keep meanwhile */
	long required; /* after scale */
	long starts; /* open model: starts handed out so far */
	int pool_ended; /* ended because its datapool ran out */
	double carry; /* open model: fraction of a start carried over */
	size_t rr; /* open model: round-robin offset */
	int over_bound; /* a runner's share is over proto_instances_max() */
} cjourney;

struct run {
	uv_loop_t *loop;
	scenario *s;
	char *id;
	run_state state;
	run_opts o;
	uv_timer_t tick_timer, stop_timer;
	int handles_open;
	uint64_t t0_ns, last_ns, end_ns;
	double model_t; /* model seconds (frozen while paused) */
	double evaluated_to; /* model seconds the volume has been handed out to */
	double scale;
	link **links;
	size_t nlinks;
	cjourney *j;
	stats totals, window;
	char *error;
	char *stop_by; /* who stopped the run (run_stop_by), or NULL */
	double stop_at; /* run seconds of the stop */
	int stop_early; /* the stop came before the run's own end */
	double running_until; /* run seconds when it began stopping; -1 before */
	int stop_now;
	int done_called;
	int setup_sent; /* run_start has sent setup: later runners get it at once */
	uint64_t last_starts_ns; /* when open-model starts last went out */
	int closing; /* the timers are closing */
	int free_pending; /* run_free was called before they closed */
};

static void run_release(run *r);

/* ---- helpers ------------------------------------------------------------ */

static int idvec_add(idvec *v, uint64_t id)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		uint64_t *p = realloc(v->v, cap * sizeof *p);

		if (!p)
			return -ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = id;
	return 0;
}

static int idvec_remove(idvec *v, uint64_t id)
{
	for (size_t i = v->n; i-- > 0;)
		if (v->v[i] == id) {
			v->v[i] = v->v[--v->n];
			return 1;
		}
	return 0;
}

static void set_error(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(run *r, const char *fmt, ...)
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

static int link_usable(const link *l)
{
	return l->ready && !l->gone && !l->bye && !l->leaving;
}

static size_t usable_links(const run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nlinks; i++)
		n += link_usable(r->links[i]);
	return n;
}

double run_elapsed(const run *r)
{
	uint64_t end = r->end_ns ? r->end_ns : uv_hrtime();

	return r->t0_ns ? (double)(end - r->t0_ns) / 1e9 : 0;
}

/* ---- messages to runners ------------------------------------------------- */

static cJSON *setup_msg(run *r)
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

static void link_send_stop(link *l, int now)
{
	cJSON *m;

	if (l->gone || l->bye || (l->stop_sent && !now))
		return;
	m = proto_new(now ? PROTO_CANCEL : PROTO_STOP);
	if (m && !now)
		cJSON_AddNumberToObject(m, "grace", l->r->o.grace);
	proto_send(l->t, m);
	l->stop_sent = 1;
}

/* Values of rows one message carries, at most (plus the row that crosses
 * it). A row holds at most ROW_MAX_BYTES and JSON escapes a byte into 6 at
 * worst, so a message stays far below the transport's 128 MiB. */
#define ROWS_MSG_BYTES (8u * 1024 * 1024)

/* One message of serve_rows: 1 when it stopped at ROWS_MSG_BYTES with
 * rows still wanted, 0 otherwise. */
static int serve_rows_batch(run *r, link *l, size_t ji)
{
	cjourney *j = &r->j[ji];
	pool *p = j->sj->pool;
	cJSON *m;
	int end = 0, given = 0;
	size_t bytes = 0;
	char err[512];

	if (!p || l->need[ji] <= 0 || l->gone || l->bye || l->leaving)
		return 0;
	if (!(m = proto_rows_new(ji)))
		return 0;
	while (l->need[ji] > 0 && bytes < ROWS_MSG_BYTES) {
		mite_row *row = NULL;
		int rc = pool_checkout(p, &row, err, sizeof err);
		long b;

		if (rc == POOL_WAIT)
			break;
		if (rc == POOL_EXHAUSTED || rc == POOL_ERROR) {
			if (rc == POOL_ERROR)
				set_error(r, "journey %s: datapool failed: %s", j->sj->name, err);
			end = 1;
			/* Runners still hold rows of the pool: a closed model keeps
			 * its instances until those have run (each runner stops
			 * once its own are used up), or they would be skipped. */
			if (rc == POOL_EXHAUSTED && !j->open && !j->ended) {
				j->dry = 1;
				j->drain = j->required;
			}
			j->ended = 1;
			j->pool_ended = rc == POOL_EXHAUSTED;
			l->need[ji] = 0;
			break;
		}
		if ((b = proto_rows_add(m, row->id, row->vals, row->n)) > 0)
			bytes += (size_t)b;
		if (pool_get_mode(p) == POOL_RECYCLABLE)
			idvec_add(&l->leased[ji], row->id);
		else if (pool_get_mode(p) == POOL_ITERABLE)
			l->rows_out[ji]++;
		row_free(row);
		l->need[ji]--;
		given++;
	}
	if (!given && !end) {
		cJSON_Delete(m);
		return 0;
	}
	if (end)
		proto_rows_end(m);
	proto_send(l->t, m);
	return !end && l->need[ji] > 0 && bytes >= ROWS_MSG_BYTES;
}

/* Hands out rows a runner asked for, as far as the pool has them, in as
 * many messages as their size takes. */
static void serve_rows(run *r, link *l, size_t ji)
{
	while (serve_rows_batch(r, l, ji) > 0)
		;
}

/* Iterable rows a runner gives back unrun when it stops: while the
 * journey's load goes on (the runner left the run early) they are served
 * again, or, where the pool cannot (a plugin's rows are not kept, the pool
 * has ended), counted as skipped. At most the rows it holds unreported:
 * anything beyond is none. */
static void take_back_unrun(run *r, link *l, size_t ji, const cJSON *ids)
{
	cjourney *j = &r->j[ji];
	const char *name = j->sj->name;
	int serve = (r->state == RUN_RUNNING || r->state == RUN_PAUSED) && !j->ended;
	uint64_t skipped = 0, v;
	const cJSON *id;
	stats_entry *e;

	cJSON_ArrayForEach(id, ids)
	{
		if (l->rows_out[ji] <= l->ended[ji] || proto_u64(id, &v) < 0)
			break;
		l->rows_out[ji]--;
		skipped += serve && !pool_unrun(j->sj->pool, v);
	}
	if (!skipped || !(e = stats_get(&r->totals, SK_SKIPPED.name, &name, SK_SKIPPED.nlabels)))
		return;
	stats_add(e, 0, skipped);
	log_warn("run %s: runner %d: %llu row(s) of %s's iterable datapool skipped (handed back "
		 "unrun, and the pool cannot serve them again)",
		 r->id, l->idx, (unsigned long long)skipped, j->sj->name);
}

static void take_back_rows(run *r, link *l, size_t ji, const cJSON *ids)
{
	const cJSON *id;

	if (pool_get_mode(r->j[ji].sj->pool) == POOL_ITERABLE)
		take_back_unrun(r, l, ji, ids);
	else
		cJSON_ArrayForEach(id, ids)
		{
			uint64_t v;

			/* A runner returns the ids it was given: anything else
			 * is none. */
			if (proto_u64(id, &v) == 0 && idvec_remove(&l->leased[ji], v))
				pool_checkin(r->j[ji].sj->pool, v);
		}
	/* Freed rows go to whoever waits for them. */
	for (size_t i = 0; i < r->nlinks; i++)
		serve_rows(r, r->links[i], ji);
}

/* ---- ticks -------------------------------------------------------------- */

/* A share over what one runner takes: the runner keeps to its bound and says
 * so in its stats ("why"); here it is said once per change, with the
 * runners it would take. mited starts more runners before this happens
 * (controller/capacity.h); a plugin model or an open model's burst can
 * still get here. */
static void note_bound(run *r, cjourney *j, long share, size_t n)
{
	long max = proto_instances_max();
	int over = share > max;

	if (over == j->over_bound)
		return;
	j->over_bound = over;
	if (over)
		log_warn(
			"run %s: journey %s: %ld %s per runner is over the bound of %ld per runner; "
			"each runner keeps to it (%zu runner%s, %ld needed)",
			r->id, j->sj->name, share, j->open ? "starts per tick" : "instances", max,
			n, n == 1 ? "" : "s", (long)((share * (long)n + max - 1) / max));
	else
		log_info("run %s: journey %s: within the runners' bound again", r->id, j->sj->name);
}

/* Runner k's share (of n) of journey j's target: closed, the instances
 * (balanced and deterministic: runner k gets the quotient, the first `rem`
 * one more); open, the starts, round-robin from a moving offset so the
 * remainders spread over runners. 1 when it changed what runner k has. */
static int target_share(run *r, link *l, size_t ji, size_t k, size_t n, long starts,
			proto_target *t)
{
	cjourney *j = &r->j[ji];
	long share;

	*t = (proto_target){ .closed = -1, .starts = -1 };
	if (!j->open) {
		long want = r->state != RUN_RUNNING ? 0 : j->dry ? j->drain : j->required;
		int changed;

		share = want / (long)n + ((long)k < want % (long)n);
		if (k == 0)
			note_bound(r, j, share, n);
		t->closed = (double)share;
		changed = share != l->target[ji];
		l->target[ji] = share;
		return changed;
	}
	if (starts <= 0)
		return 0;
	share = starts / (long)n + (((long)k + (long)j->rr) % (long)n < starts % (long)n);
	if (k == 0)
		note_bound(r, j, share, n);
	t->starts = (double)share;
	return share != 0;
}

static void send_targets(run *r, long *starts)
{
	size_t n = usable_links(r), k = 0;
	proto_target *tj;

	if (!n || !(tj = calloc(r->s->njourneys, sizeof(*tj))))
		return;
	for (size_t i = 0; i < r->nlinks; i++) {
		link *l = r->links[i];
		proto_targets t = { .j = tj, .nj = r->s->njourneys };
		int changed = 0;

		if (!link_usable(l))
			continue;
		for (size_t ji = 0; ji < r->s->njourneys; ji++)
			changed |= target_share(r, l, ji, k, n, starts[ji], &tj[ji]);
		/* Runners start no iteration past the run's end on their own
		 * clock, so that none begins in the moment before the stop. */
		t.has_end_in = changed && r->s->duration > 0 && r->state == RUN_RUNNING;
		t.end_in = r->s->duration - r->model_t;
		if (changed)
			proto_send(l->t, proto_targets_encode(&t));
		k++;
	}
	free(tj);
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		if (r->j[ji].open && starts[ji] > 0)
			r->last_starts_ns = uv_hrtime();
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		if (r->j[ji].open && starts[ji] > 0)
			r->j[ji].rr = (r->j[ji].rr + (size_t)(starts[ji] % (long)n)) % n;
}

static long total_actual(const run *r, size_t ji)
{
	long n = 0;

	for (size_t i = 0; i < r->nlinks; i++)
		if (!r->links[i]->gone)
			n += r->links[i]->actual[ji];
	return n;
}

static void stop_run(run *r, int now);
static void check_leaving(run *r, uint64_t now);

/* The tick hook, and what it answers: a reason to stop the run is acted
 * on here, not inside the hook. */
static void tick_hook(run *r)
{
	const char *stop;

	if (!r->o.hooks.on_tick)
		return;
	stop = r->o.hooks.on_tick(r, r->o.hooks.data);
	if (stop)
		run_stop_by(r, 0, stop);
}

static void on_tick(uv_timer_t *t)
{
	run *r = t->data;
	uint64_t now = uv_hrtime();
	double dt = (double)(now - r->last_ns) / 1e9;
	long *starts;
	int all_ended = 1, any_active = 0;

	r->last_ns = now;
	check_leaving(r, now);
	/* While it drains, the run's clock goes on for its hook (the results'
	 * records of the drain), and nothing else happens. */
	if (r->state == RUN_STOPPING)
		tick_hook(r);
	if (r->state != RUN_RUNNING && r->state != RUN_PAUSED)
		return;
	starts = calloc(r->s->njourneys, sizeof *starts);
	if (!starts)
		return;
	if (r->state == RUN_RUNNING) {
		/* Each tick hands out the window ahead, [evaluated_to, now + tick):
		 * open-model starts are then spread over the very window they
		 * are due in, and consecutive windows join exactly. */
		double from = r->evaluated_to, to;

		r->model_t += dt;
		to = r->model_t + r->o.tick;
		if (r->s->duration > 0 && to > r->s->duration)
			to = r->s->duration;
		if (to < from)
			to = from;
		r->evaluated_to = to;
		for (size_t ji = 0; ji < r->s->njourneys; ji++) {
			cjourney *j = &r->j[ji];
			long v;

			if (j->ended) {
				/* Nothing more is required; a dry pool's last rows
				 * still run, as many at once as the model says. */
				j->required = 0;
				if (j->dry &&
				    (v = vmodel_eval(j->sj->volume, from,
						     to > from ? to : from + 1e-9)) >= 0)
					j->drain = lround((double)v * r->scale);
				continue;
			}
			if (to <= from && j->open)
				continue;
			v = vmodel_eval(j->sj->volume, from, to > from ? to : from + 1e-9);
			if (v < 0) {
				const char *why = vmodel_error(j->sj->volume);

				if (why)
					set_error(r, "journey %s: volume model failed: %s",
						  j->sj->name, why);
				j->ended = 1;
				j->required = 0;
			} else if (j->once) {
				/* Each of the N instances runs one iteration: N starts
				 * now, and the model has said all it will. */
				starts[ji] = lround((double)v * r->scale);
				j->starts += starts[ji];
				j->ended = 1;
			} else if (j->open) {
				j->carry += (double)v * r->scale;
				starts[ji] = (long)floor(j->carry);
				j->carry -= (double)starts[ji];
				j->starts += starts[ji];
			} else {
				j->required = lround((double)v * r->scale);
			}
		}
	}
	send_targets(r, starts);
	free(starts);
	for (size_t ji = 0; ji < r->s->njourneys; ji++) {
		all_ended &= r->j[ji].ended;
		any_active |= total_actual(r, ji) > 0;
	}
	/* Starts handed out are active until a runner has reported after them
	 * (runners count starts not yet made as active). */
	for (size_t i = 0; i < r->nlinks; i++)
		if (link_usable(r->links[i]) && r->links[i]->last_stats_ns <= r->last_starts_ns)
			any_active = 1;
	tick_hook(r);
	if (r->state == RUN_RUNNING && r->s->duration > 0 && r->model_t >= r->s->duration)
		stop_run(r, 0);
	else if (r->state == RUN_RUNNING && all_ended && !any_active)
		stop_run(r, 0);
}

/* ---- the end ------------------------------------------------------------ */

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

static void check_done(run *r)
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

/* Iterations a runner had in flight when it was lost or dropped never
 * report: they are counted as failed, and as lost, so that started = ok +
 * failed once the run is over. */
static void count_lost(run *r, link *l, size_t ji)
{
	const char *name = r->j[ji].sj->name;
	uint64_t n = l->inflight[ji] > 0 ? (uint64_t)l->inflight[ji] : 0;
	stats *tables[] = { &r->totals, &r->window };

	l->inflight[ji] = 0;
	if (!n)
		return;
	for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
		stats_entry *je = stats_get(tables[k], SK_JOURNEY.name, &name, SK_JOURNEY.nlabels);
		stats_entry *le = stats_get(tables[k], SK_LOST.name, &name, SK_LOST.nlabels);

		if (je)
			stats_add(je, ST_J_FAILED, n);
		if (le)
			stats_add(le, 0, n);
	}
	log_warn("run %s: runner %d: %llu iteration(s) of %s lost with it", r->id, l->idx,
		 (unsigned long long)n, name);
}

/* Rows of an iterable pool a lost or dropped runner was given and did not
 * report as run: whether they ran is unknowable (they are not handed out
 * again, so none runs twice). Counted as kind "doubt" (controller only). */
static void count_doubt(run *r, link *l, size_t ji)
{
	const char *name = r->j[ji].sj->name;
	uint64_t n = l->rows_out[ji] > l->ended[ji] ? l->rows_out[ji] - l->ended[ji] : 0;
	stats_entry *e;

	l->rows_out[ji] = l->ended[ji] = 0;
	if (!n || !(e = stats_get(&r->totals, SK_DOUBT.name, &name, SK_DOUBT.nlabels)))
		return;
	stats_add(e, 0, n);
	log_warn(
		"run %s: runner %d: %llu row(s) of %s's iterable datapool in doubt (given to it, not "
		"reported run)",
		r->id, l->idx, (unsigned long long)n, name);
}

static void drop_link(run *r, link *l)
{
	if (l->gone)
		return;
	l->gone = 1;
	for (size_t ji = 0; ji < r->s->njourneys; ji++) {
		pool *p = r->j[ji].sj->pool;

		count_doubt(r, l, ji);
		count_lost(r, l, ji);
		/* Rows a lost runner held come back to the pool. */
		while (l->leased[ji].n)
			pool_checkin(p, l->leased[ji].v[--l->leased[ji].n]);
		l->actual[ji] = 0;
		l->need[ji] = 0;
	}
	if (l->t) {
		transport_close(l->t);
		l->t = NULL;
	}
}

static void on_stop_deadline(uv_timer_t *t)
{
	run *r = t->data;

	for (size_t i = 0; i < r->nlinks; i++) {
		link *l = r->links[i];

		if (!l->gone && !l->bye) {
			log_warn(
				"run %s: runner %d did not finish within the grace period; dropping it",
				r->id, l->idx);
			drop_link(r, l);
		}
	}
	check_done(r);
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
	stop_run(r, now);
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

/* Every stop goes through here; run_stop_by also says who asked. */
static void stop_run(run *r, int now)
{
	if (r->state == RUN_DONE)
		return;
	if (r->state == RUN_STOPPING) {
		if (now && !r->stop_now) {
			r->stop_now = 1;
			for (size_t i = 0; i < r->nlinks; i++)
				link_send_stop(r->links[i], 1);
			uv_timer_start(&r->stop_timer, on_stop_deadline,
				       (uint64_t)(STOP_SLACK * 1000), 0);
		}
		return;
	}
	r->running_until = run_elapsed(r);
	r->state = RUN_STOPPING;
	r->stop_now = now;
	for (size_t i = 0; i < r->nlinks; i++)
		link_send_stop(r->links[i], now);
	uv_timer_start(&r->stop_timer, on_stop_deadline,
		       (uint64_t)(((now ? 0 : r->o.grace) + STOP_SLACK) * 1000), 0);
	check_done(r);
}

/* ---- messages from runners ---------------------------------------------- */

/* What a batch says per journey of the runner's iterations in flight. */
static void track_inflight(run *r, link *l, const cJSON *e)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, e)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "k");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "c");
		const char *kind = cJSON_GetStringValue(cJSON_GetArrayItem(k, 0));
		const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(k, 1));
		uint64_t v[3] = { 0, 0, 0 };

		if (!kind || !name || strcmp(kind, "journey") != 0 || cJSON_GetArraySize(k) != 2)
			continue;
		for (int i = 0; i < 3; i++)
			if (proto_u64(cJSON_GetArrayItem(c, i), &v[i]) < 0 ||
			    v[i] > (uint64_t)ACTIVE_MAX * 1000)
				v[i] = 0;
		for (size_t ji = 0; ji < r->s->njourneys; ji++)
			if (strcmp(r->j[ji].sj->name, name) == 0) {
				l->inflight[ji] += (int64_t)v[ST_J_STARTED] - (int64_t)v[ST_J_OK] -
					(int64_t)v[ST_J_FAILED];
				l->ended[ji] += v[ST_J_OK] + v[ST_J_FAILED];
				break;
			}
	}
}

/* The runner's loop lag in this batch (its "loop" entry), for the live
 * view; the histograms themselves merge into the totals. */
static void track_lag(link *l, const cJSON *e)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, e)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "k");
		const char *kind = cJSON_GetStringValue(cJSON_GetArrayItem(k, 0));
		const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, "h"), 0);
		hist *tmp;

		if (!kind || strcmp(kind, "loop") != 0 || !cJSON_IsObject(h) || !(tmp = hist_new()))
			continue;
		if (hist_merge_json(tmp, h) == 0 && hist_count(tmp)) {
			l->lag_p99 = (double)hist_percentile(tmp, 99) / 1e9;
			l->lag_max = (double)hist_max(tmp) / 1e9;
			l->has_lag = 1;
		}
		hist_free(tmp);
	}
}

/* The runner's `why`: per journey, why it is short of its target (a
 * string), or null when it is not. Kept until the next batch says. */
static void track_why(run *r, link *l, const cJSON *why)
{
	const cJSON *it;
	size_t i = 0;

	if (!cJSON_IsArray(why))
		return;
	cJSON_ArrayForEach(it, why)
	{
		if (i >= r->s->njourneys)
			break;
		free(l->why[i]);
		l->why[i] = NULL;
		if (cJSON_IsString(it) && *it->valuestring)
			l->why[i] = strndup(it->valuestring, WHY_MAX);
		i++;
	}
}

/* The counts of a stats message: the latest active; the peak while the
 * run runs, and once it stops the most of the batch before and those after
 * (the stop's own slice). */
static void link_counts(run *r, link *l, const long *active, const long *peak)
{
	for (size_t i = 0; i < r->s->njourneys; i++) {
		if (active[i] >= 0)
			l->actual[i] = active[i];
		if (peak[i] >= 0 && (r->state == RUN_RUNNING || peak[i] > l->peak[i]))
			l->peak[i] = peak[i];
	}
}

static void link_stats(run *r, link *l, const cJSON *m)
{
	size_t nj = r->s->njourneys;
	long *counts = calloc(2 * (nj ? nj : 1), sizeof(*counts));
	proto_stats_in in;
	const cJSON *it;

	if (!counts) {
		log_warn("run %s: runner %d: stats lost: %s", r->id, l->idx, strerror(ENOMEM));
		return;
	}
	proto_stats_decode(m, nj, (long)ACTIVE_MAX, counts, counts + nj, &in);
	l->last_stats_ns = uv_hrtime();
	if (in.batch &&
	    (stats_merge_batch(&r->totals, in.batch) < 0 ||
	     stats_merge_batch(&r->window, in.batch) < 0))
		log_warn("run %s: runner %d sent a malformed stats batch", r->id, l->idx);
	else if (in.batch)
		track_inflight(r, l, in.batch);
	track_lag(l, in.batch);
	track_why(r, l, in.why);
	link_counts(r, l, counts, counts + nj);
	free(counts);
	if (in.dropped) {
		stats_entry *d = stats_get(&r->totals, SK_DROPPED.name, NULL, SK_DROPPED.nlabels);

		if (d)
			stats_add(d, 0, in.dropped);
	}
	if (r->o.hooks.on_event)
		cJSON_ArrayForEach(it, in.events) r->o.hooks.on_event(r, it, r->o.hooks.data);
}

static void link_ready(run *r, link *l, const cJSON *m)
{
	(void)m;
	l->ready = 1;
	if (r->state == RUN_STARTING) {
		int all = 1;

		for (size_t i = 0; i < r->nlinks; i++)
			all &= r->links[i]->ready || r->links[i]->gone;
		if (all) {
			r->state = RUN_RUNNING;
			r->t0_ns = r->last_ns = uv_hrtime();
			on_tick(&r->tick_timer);
			uv_timer_start(&r->tick_timer, on_tick, (uint64_t)(r->o.tick * 1000),
				       (uint64_t)(r->o.tick * 1000));
		}
	} else if (r->state == RUN_STOPPING) {
		link_send_stop(l, r->stop_now);
	}
}

static void link_error(run *r, link *l, const cJSON *m)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, "error");

	set_error(r, "runner %d: %s", l->idx, cJSON_IsString(e) ? e->valuestring : "unknown error");
	stop_run(r, 1);
}

/* The journey index "j" of m, or -1 when it is not one. */
static long link_journey(const run *r, const cJSON *m)
{
	const cJSON *jj = cJSON_GetObjectItemCaseSensitive(m, "j");

	return cJSON_IsNumber(jj) && jj->valueint >= 0 && (size_t)jj->valueint < r->s->njourneys
		? jj->valueint
		: -1;
}

static void link_need(run *r, link *l, const cJSON *m)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "n");
	long ji = link_journey(r, m);

	/* A runner asks for at most PROTO_ROWS_MAX: more would be served in
	 * one message from a pool of any size (a range). */
	if (ji >= 0 && cJSON_IsNumber(n) && n->valuedouble >= 1) {
		l->need[ji] =
			n->valuedouble < PROTO_ROWS_MAX ? (long)n->valuedouble : PROTO_ROWS_MAX;
		serve_rows(r, l, (size_t)ji);
	}
}

static void link_done(run *r, link *l, const cJSON *m)
{
	long ji = link_journey(r, m);

	if (ji >= 0 && r->j[ji].sj->pool)
		take_back_rows(r, l, (size_t)ji, cJSON_GetObjectItemCaseSensitive(m, "ids"));
}

static void link_bye(run *r, link *l, const cJSON *m)
{
	(void)m;
	l->bye = 1;
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		l->actual[ji] = 0;
	if (l->t) {
		transport_close(l->t);
		l->t = NULL;
	}
	if (r->state != RUN_STOPPING && r->state != RUN_DONE && !l->leaving) {
		/* A runner leaving on its own: its share moves to the others. */
		log_warn("run %s: runner %d left the run", r->id, l->idx);
	}
	check_done(r);
}

/* A runner leaves the run before its end (its host is lost, or it says
 * its agent is gone): its share moves to the others at the next tick, it
 * finishes what it has within PROTO_LEAVE_GRACE_S and sends its last batch and
 * bye, so nothing it did is lost. No bye LEAVE_BOUND_S after: dropped, its
 * iterations counted lost and its rows in doubt. The run fails either way,
 * naming why (a host lost is a run error like a lost runner). */
static void link_leave(run *r, link *l, const char *reason)
{
	if (l->gone || l->bye || l->leaving)
		return;
	l->leaving = 1;
	l->leave_by_ns = uv_hrtime() + (uint64_t)(LEAVE_BOUND_S * 1e9);
	set_error(r, "runner %d left the run: %s", l->idx, reason);
	log_warn("run %s: runner %d leaves the run; its last batch is awaited", r->id, l->idx);
	if (!l->stop_sent && l->t) {
		cJSON *m = proto_new(PROTO_STOP);

		if (m)
			cJSON_AddNumberToObject(m, "grace", PROTO_LEAVE_GRACE_S);
		proto_send(l->t, m);
		l->stop_sent = 1;
	}
}

/* A runner says it leaves: its agent (the process that started it on a
 * runner host) is gone. */
static void link_leaving(run *r, link *l, const cJSON *m)
{
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(m, "why");
	char reason[300];

	snprintf(reason, sizeof reason, "%.256s",
		 cJSON_IsString(why) ? why->valuestring : "it is leaving");
	link_leave(r, l, reason);
}

/* Leaving runners whose bye did not come in time are dropped. */
static void check_leaving(run *r, uint64_t now)
{
	for (size_t i = 0; i < r->nlinks; i++) {
		link *l = r->links[i];

		if (!l->leaving || l->gone || l->bye || now < l->leave_by_ns)
			continue;
		log_warn("run %s: runner %d left without its last batch within %.0f s; dropped",
			 r->id, l->idx, LEAVE_BOUND_S);
		drop_link(r, l);
	}
	check_done(r);
}

static void link_hello(run *r, link *l, const cJSON *m)
{
	/* nothing to do: setup goes out at start */
	(void)r, (void)l, (void)m;
}

/* What a runner's message does, by its type. */
static const struct {
	const char *type;
	void (*fn)(run *r, link *l, const cJSON *m);
} link_handlers[] = {
	{ PROTO_HELLO, link_hello }, { PROTO_READY, link_ready },     { PROTO_ERROR, link_error },
	{ PROTO_NEED, link_need },   { PROTO_DONE, link_done },       { PROTO_STATS, link_stats },
	{ PROTO_BYE, link_bye },     { PROTO_LEAVING, link_leaving },
};

static void on_link_message(transport *t, const char *buf, size_t len, void *data)
{
	link *l = data;
	run *r = l->r;
	char err[256];
	cJSON *m = proto_parse(buf, len, err, sizeof err);
	const char *type;
	size_t i;

	(void)t;
	if (!m) {
		log_warn("run %s: runner %d: message refused: %s", r->id, l->idx, err);
		return;
	}
	l->last_seen_ns = uv_hrtime();
	type = proto_type(m);
	for (i = 0; i < sizeof(link_handlers) / sizeof(link_handlers[0]); i++)
		if (strcmp(type, link_handlers[i].type) == 0)
			break;
	if (i < sizeof(link_handlers) / sizeof(link_handlers[0]))
		link_handlers[i].fn(r, l, m);
	else
		log_warn("run %s: runner %d: unknown message type '%s' ignored", r->id, l->idx,
			 type);
	cJSON_Delete(m);
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

int run_add_runner(run *r, transport *t)
{
	size_t nj = r->s->njourneys;
	link **links, *l;

	if (r->state == RUN_DONE)
		return -EINVAL;
	links = realloc(r->links, (r->nlinks + 1) * sizeof *links);
	if (!links)
		return -ENOMEM;
	r->links = links;
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->target = calloc(nj, sizeof *l->target);
	l->actual = calloc(nj, sizeof *l->actual);
	l->need = calloc(nj, sizeof *l->need);
	l->leased = calloc(nj, sizeof *l->leased);
	l->inflight = calloc(nj, sizeof *l->inflight);
	l->why = calloc(nj, sizeof *l->why);
	l->peak = calloc(nj, sizeof *l->peak);
	l->rows_out = calloc(nj, sizeof *l->rows_out);
	l->ended = calloc(nj, sizeof *l->ended);
	if (!l->target || !l->actual || !l->need || !l->leased || !l->inflight || !l->why ||
	    !l->peak || !l->rows_out || !l->ended) {
		free(l->rows_out);
		free(l->ended);
		free(l->target);
		free(l->actual);
		free(l->peak);
		free(l->need);
		free(l->leased);
		free(l->inflight);
		free(l->why);
		free(l);
		return -ENOMEM;
	}
	l->r = r;
	l->t = t;
	l->idx = (int)r->nlinks;
	l->last_seen_ns = uv_hrtime();
	t->on_recv = on_link_message;
	t->data = l;
	r->links[r->nlinks++] = l;
	/* A runner that joins a started run (a replacement) is set up now. */
	if (r->setup_sent)
		proto_send(t, setup_msg(r));
	return 0;
}

void run_runner_lost(run *r, transport *t, const char *reason)
{
	for (size_t i = 0; i < r->nlinks; i++) {
		link *l = r->links[i];

		if (l->t == t && !l->gone) {
			set_error(r, "runner %d lost: %s", l->idx, reason ? reason : "unknown");
			drop_link(r, l);
		}
	}
	if (r->state == RUN_STARTING) {
		int all = r->nlinks > 0;

		for (size_t i = 0; i < r->nlinks; i++)
			all &= r->links[i]->gone;
		if (all)
			stop_run(r, 1);
	}
	check_done(r);
}

void run_runner_leave(run *r, transport *t, const char *reason)
{
	for (size_t i = 0; i < r->nlinks; i++)
		if (r->links[i]->t == t)
			link_leave(r, r->links[i], reason ? reason : "unknown");
}

int run_start(run *r)
{
	if (r->state != RUN_STARTING || !r->nlinks || r->setup_sent)
		return -EINVAL;
	r->setup_sent = 1;
	for (size_t i = 0; i < r->nlinks; i++)
		if (proto_send(r->links[i]->t, setup_msg(r)) < 0)
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
		const link *l = r->links[i];
		cJSON *o;

		if (!link_usable(l) || !l->has_lag || !(o = cJSON_CreateObject()))
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
	return (int)usable_links(r);
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
	cJSON_AddNumberToObject(o, "runners", (double)usable_links(r));
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
	for (size_t i = 0; js && i < r->s->njourneys; i++) {
		cJSON *j = cJSON_CreateObject();
		const char *lab = r->s->journeys[i].name;
		const stats_entry *e =
			stats_find(&r->totals, SK_JOURNEY.name, &lab, SK_JOURNEY.nlabels);

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
		cJSON_AddItemToArray(js, j);
	}
	tx = cJSON_AddArrayToObject(o, "transactions");
	for (const stats_entry *e = r->totals.first; tx && e; e = e->order) {
		cJSON *t;
		uint64_t n;

		if (strcmp(e->kind, "txn") != 0 || e->nlabels != 2)
			continue;
		n = e->c[ST_TXN_OK] + e->c[ST_TXN_FAILED];
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "journey", e->labels[0]);
		cJSON_AddStringToObject(t, "name", e->labels[1]);
		cJSON_AddNumberToObject(t, "count", (double)n);
		cJSON_AddNumberToObject(t, "failed", (double)e->c[ST_TXN_FAILED]);
		cJSON_AddNumberToObject(t, "rate", el > 0 ? (double)n / el : 0);
		if (e->h[0] && hist_count(e->h[0])) {
			cJSON_AddNumberToObject(t, "p50",
						(double)hist_percentile(e->h[0], 50) / 1e9);
			cJSON_AddNumberToObject(t, "p95",
						(double)hist_percentile(e->h[0], 95) / 1e9);
			cJSON_AddNumberToObject(t, "p99",
						(double)hist_percentile(e->h[0], 99) / 1e9);
			cJSON_AddNumberToObject(t, "max", (double)hist_max(e->h[0]) / 1e9);
		}
		cJSON_AddItemToArray(tx, t);
	}
	return o;
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

static void run_release(run *r)
{
	for (size_t i = 0; i < r->nlinks; i++) {
		link *l = r->links[i];

		if (l->t)
			transport_close(l->t);
		for (size_t ji = 0; ji < r->s->njourneys; ji++) {
			free(l->leased[ji].v);
			free(l->why[ji]);
		}
		free(l->leased);
		free(l->inflight);
		free(l->rows_out);
		free(l->ended);
		free(l->why);
		free(l->target);
		free(l->actual);
		free(l->peak);
		free(l->need);
		free(l);
	}
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
