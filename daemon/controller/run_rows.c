/*
 * run_rows.c - a run's datapool rows: serving the rows runners ask for,
 * leases of recyclable rows and the rows handed back, and what a runner
 * held when it was dropped (iterations lost, iterable rows in doubt).
 */
#include "controller/run_int.h"

#include "core/log.h"
#include "core/proto.h"
#include "core/proto_msg.h"
#include "core/row.h"

#include <errno.h>
#include <stdlib.h>

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

/* Values of rows one message carries, at most (plus the row that crosses
 * it). A row holds at most ROW_MAX_BYTES and JSON escapes a byte into 6 at
 * worst, so a message stays far below the transport's 128 MiB. */
#define ROWS_MSG_BYTES (8u * 1024 * 1024)

/* One message of run_rows_serve: 1 when it stopped at ROWS_MSG_BYTES with
 * rows still wanted, 0 otherwise. */
static int serve_rows_batch(run *r, rlink *l, size_t ji)
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
				run_set_error(r, "journey %s: datapool failed: %s", j->sj->name,
					      err);
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

void run_rows_serve(run *r, rlink *l, size_t ji)
{
	while (serve_rows_batch(r, l, ji) > 0)
		;
}

/* Iterable rows a runner gives back unrun when it stops: while the
 * journey's load goes on (the runner left the run early) they are served
 * again, or, where the pool cannot (a plugin's rows are not kept, the pool
 * has ended), counted as skipped. At most the rows it holds unreported:
 * anything beyond is none. */
static void take_back_unrun(run *r, rlink *l, size_t ji, const cJSON *ids)
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

void run_rows_take_back(run *r, rlink *l, size_t ji, const cJSON *ids)
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
		run_rows_serve(r, r->links[i], ji);
}

/* Iterations a runner had in flight when it was lost or dropped never
 * report: they are counted as failed, and as lost, so that started = ok +
 * failed once the run is over. */
static void count_lost(run *r, rlink *l, size_t ji)
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
static void count_doubt(run *r, rlink *l, size_t ji)
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

void run_rows_drop(run *r, rlink *l)
{
	for (size_t ji = 0; ji < r->s->njourneys; ji++) {
		pool *p = r->j[ji].sj->pool;

		count_doubt(r, l, ji);
		count_lost(r, l, ji);
		/* Rows a lost runner held come back to the pool. */
		while (l->leased[ji].n)
			pool_checkin(p, l->leased[ji].v[--l->leased[ji].n]);
		l->need[ji] = 0;
	}
}
