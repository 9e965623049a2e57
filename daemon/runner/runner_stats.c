/*
 * runner_stats.c - what a runner reports: events queued between batches,
 * the stats batch every interval (counts, active and peak instances, why
 * a journey is short), and the loop-lag probe.
 */
#include "runner/runner_int.h"

#include "core/coro.h"
#include "core/log.h"
#include "core/proto_msg.h"

#include <stdio.h>
#include <stdlib.h>

void runner_stats_event(mite_ctx *ctx, cJSON *ev)
{
	runner *r = ctx->r;

	if (r->nevents >= EVENTS_MAX) {
		r->events_dropped++;
		cJSON_Delete(ev);
		return;
	}
	if (!r->events && !(r->events = cJSON_CreateArray())) {
		r->events_dropped++;
		cJSON_Delete(ev);
		return;
	}
	cJSON_AddItemToArray(r->events, ev);
	if (++r->nevents >= EVENTS_FLUSH)
		runner_stats_send(r, 0);
}

/* Per journey, into the stats message: the instances running or about to
 * start (starts not made yet count as active: the controller must not end
 * a run whose last starts are still on their way); the most at any moment
 * since the last batch (a run shorter than a batch interval still says
 * what it ran), which starts again from now; why it is short, or NULL. */
static void stats_counts(runner *r, long *active, long *peak, const char **why)
{
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];
		long now = j->nactive + j->pending;

		active[i] = now;
		peak[i] = j->peak > now ? j->peak : now;
		j->peak = now;
		why[i] = j->why[0] ? j->why : NULL;
	}
}

void runner_stats_send(runner *r, int final)
{
	size_t nj = r->nj ? r->nj : 1, nev = r->nevents, shed;
	long *counts = calloc(2 * nj, sizeof(*counts));
	const char **why = calloc(nj, sizeof(*why));
	cJSON *m;
	proto_stats_out o = { .active = counts,
			      .peak = counts + nj,
			      .why = why,
			      .nj = r->nj,
			      .dropped = r->events_dropped,
			      .final = final,
			      .journey = runner_inst_last_journey() };

	if (!counts || !why) {
		free(counts);
		free(why);
		return;
	}
	stats_counts(r, counts, counts + nj, why);
	o.batch = stats_batch(&r->st, 1);
	o.events = r->events;
	r->events = NULL;
	r->nevents = 0;
	r->events_dropped = 0;
	m = proto_stats_encode(&o);
	if (!m)
		r->events_dropped += o.dropped + nev; /* said in the next batch */
	/* Over the message bound (huge custom messages), the events go and the
	 * stats stay; the events are counted as dropped in the next batch. */
	else if (proto_send_shed(r->t, m, "ev", &shed) == 0 && shed) {
		log_warn("runner %d: %zu events made a stats message over the %ld-byte bound; "
			 "dropped",
			 r->index, shed, PROTO_MSG_MAX);
		r->events_dropped += shed;
	}
	free(counts);
	free(why);
}

/* The loop-lag probe (docs/runner-protocol.md, Stats batches): once a
 * turn, just before the loop waits for events, the time the turn kept the
 * loop busy - since the probe last ran, minus the time spent waiting. A
 * timer that came due or a response that arrived during that turn waited
 * up to that long for its callback: what a saturated runner adds to every
 * latency it measures. */
static void on_lag_probe(uv_prepare_t *h)
{
	runner *r = h->data;
	uint64_t now = uv_hrtime(), idle = uv_metrics_idle_time(r->loop);
	uint64_t span = now - r->lag_turn_ns, waited = idle - r->lag_idle_ns;

	if (r->st_loop)
		stats_record(r->st_loop, 0, span > waited ? span - waited : 0);
	r->lag_turn_ns = now;
	r->lag_idle_ns = idle;
}

static void on_stats_timer(uv_timer_t *t)
{
	runner *r = t->data;

	runner_stats_send(r, 0);
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];

		runner_rows_flush(j);
		/* Instances that could not start (memory, maps) are tried
		 * again. */
		if (!j->open && j->nactive < j->target) {
			j->balance = 1;
			runner_inst_kick(r);
		}
	}
	coro_pool_trim(STACKS_KEEP);
}

/* The loop-lag probe's stats entry, labelled with the runner's index. */
static stats_entry *loop_entry(runner *r)
{
	char idx[24];
	const char *lab = idx;

	snprintf(idx, sizeof idx, "%d", r->index);
	return stats_get(&r->st, SK_LOOP.name, &lab, SK_LOOP.nlabels);
}

void runner_stats_start(runner *r, double interval)
{
	uv_timer_start(&r->stats_timer, on_stats_timer, (uint64_t)(interval * 1000),
		       (uint64_t)(interval * 1000));
	r->st_loop = loop_entry(r);
	r->lag_turn_ns = uv_hrtime();
	r->lag_idle_ns = uv_metrics_idle_time(r->loop);
	uv_prepare_start(&r->lag_probe, on_lag_probe);
}

void runner_stats_now(runner *r)
{
	uv_timer_start(&r->stats_timer, on_stats_timer, 0, uv_timer_get_repeat(&r->stats_timer));
}
