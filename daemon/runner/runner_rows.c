/*
 * runner_rows.c - a runner's rows: a buffer per journey refilled from the
 * controller in batches (need, rows), the instances waiting for a row,
 * recyclable rows' leases handed back in batches, and every row it holds
 * handed back at its stop.
 */
#include "runner/runner_int.h"

#include "core/log.h"
#include "core/proto_msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void row_waiter_cancel(mite_ctx *ctx, void *arg)
{
	rjourney *j = arg;
	mite_ctx **pp = &j->waiters;

	j->waiters_tail = NULL;
	while (*pp) {
		if (*pp == ctx)
			*pp = ctx->wnext;
		else {
			j->waiters_tail = *pp;
			pp = &(*pp)->wnext;
		}
	}
	ctx->waiting_row = 0;
}

/* The journey has no row left, here or to come. The end of the pool
 * (rows_end) is not enough: the rows still buffered here were taken from
 * the pool for this runner, and no one else will run them. */
int runner_rows_out(const rjourney *j)
{
	return j->has_pool && j->rows_end && !j->nrows;
}

/* Open-model starts without a row to run are dropped: they would count as
 * active forever. */
void runner_rows_drop_starts(rjourney *j)
{
	if (!runner_rows_out(j) || !j->open)
		return;
	j->pending = 0;
	uv_timer_stop(&j->spread);
}

/* How many rows to keep buffered: enough for the journey's share, at most
 * ROW_PREFETCH_MAX (so that a recyclable pool's rows keep cycling through
 * the controller and every runner gets its turn). */
static long prefetch_size(const rjourney *j)
{
	long want = j->open ? j->pending : j->target;

	if (want < 1)
		want = 1;
	return want > ROW_PREFETCH_MAX ? ROW_PREFETCH_MAX : want;
}

static void request_rows(rjourney *j, long n)
{
	cJSON *m;

	if (j->requested || j->rows_end || j->r->state != R_RUNNING)
		return;
	if (n < 1)
		n = 1;
	if (n > ROW_BATCH_MAX)
		n = ROW_BATCH_MAX;
	m = proto_new(PROTO_NEED);
	if (!m)
		return;
	cJSON_AddNumberToObject(m, "j", j->idx);
	cJSON_AddNumberToObject(m, "n", (double)n);
	if (proto_send(j->r->t, m) == 0)
		j->requested = 1;
}

/* Takes a row for the next iteration: 1 with *out set (NULL for a journey
 * without a pool), 0 when the journey's rows are exhausted or the runner is
 * stopping, MITE_ECANCELED when cancelled while waiting. May yield. */
int runner_rows_next(mite_ctx *ctx, mite_row **out)
{
	rjourney *j = ctx->j;

	*out = NULL;
	if (!j->has_pool)
		return 1;
	while (!j->nrows) {
		if (j->rows_end || ctx->r->state != R_RUNNING) {
			runner_rows_drop_starts(j);
			return 0;
		}
		/* Rows this runner used may be the very ones it waits for
		 * (a pool about as large as the concurrency). */
		runner_rows_flush(j);
		request_rows(j, prefetch_size(j));
		ctx->wnext = NULL;
		ctx->waiting_row = 1;
		if (j->waiters_tail)
			j->waiters_tail->wnext = ctx;
		else
			j->waiters = ctx;
		j->waiters_tail = ctx;
		if (inst_park(ctx, row_waiter_cancel, j) < 0)
			return MITE_ECANCELED;
	}
	*out = j->rows[j->rhead];
	j->rhead = (j->rhead + 1) % j->rowcap;
	j->nrows--;
	runner_rows_prefetch(j);
	return 1;
}

/* Rows are handed out in the order the pool gave them (a ring buffer). */
static int push_row(rjourney *j, mite_row *row)
{
	if (j->nrows == j->rowcap) {
		size_t cap = j->rowcap ? j->rowcap * 2 : 16;
		mite_row **rows = malloc(cap * sizeof *rows);

		if (!rows)
			return -ENOMEM;
		for (size_t i = 0; i < j->nrows; i++)
			rows[i] = j->rows[(j->rhead + i) % j->rowcap];
		free(j->rows);
		j->rows = rows;
		j->rowcap = cap;
		j->rhead = 0;
	}
	j->rows[(j->rhead + j->nrows++) % j->rowcap] = row;
	return 0;
}

/* Takes the row pushed last (for handing surplus back). */
static mite_row *pop_last_row(rjourney *j)
{
	return j->rows[(j->rhead + --j->nrows) % j->rowcap];
}

/* Asks for more rows once the buffer is down to half its size. */
void runner_rows_prefetch(rjourney *j)
{
	long size = prefetch_size(j);

	if (!j->requested && !j->rows_end && (long)j->nrows < (size + 1) / 2)
		request_rows(j, size - (long)j->nrows);
}

/* Hands used recyclable rows back to the controller, which puts them at
 * the end of the pool's queue: every row gets its turn, across runners. */
void runner_rows_flush(rjourney *j)
{
	cJSON *m, *ids;

	if (!j->nret || !j->r->t)
		return;
	m = proto_new(PROTO_DONE);
	ids = m ? cJSON_AddArrayToObject(m, "ids") : NULL;
	if (!ids) {
		cJSON_Delete(m);
		return;
	}
	cJSON_AddNumberToObject(m, "j", j->idx);
	for (size_t i = 0; i < j->nret; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)j->ret[i]));
	j->nret = 0;
	proto_send(j->r->t, m);
}

/* Notes a recyclable row's lease for handing back. Without memory to note
 * it the lease is lost: the pool holds one row fewer, which beats a crash. */
static void note_return(rjourney *j, uint64_t id)
{
	if (j->nret == j->retcap) {
		size_t cap = j->retcap ? j->retcap * 2 : ROW_RETURN_BATCH;
		uint64_t *ret = realloc(j->ret, cap * sizeof *ret);

		if (!ret)
			return;
		j->ret = ret;
		j->retcap = cap;
	}
	j->ret[j->nret++] = id;
}

/* Ends an iteration's use of its row: a recyclable row's lease is handed
 * back (in batches); the row itself is freed either way. */
void runner_rows_release(rjourney *j, mite_row *row)
{
	if (!row)
		return;
	if (j->recyclable) {
		note_return(j, row->id);
		if (j->nret >= ROW_RETURN_BATCH || j->waiters)
			runner_rows_flush(j);
	}
	row_free(row);
}

void runner_rows_wake(rjourney *j)
{
	while (j->waiters && (j->nrows || j->rows_end || j->r->state != R_RUNNING)) {
		mite_ctx *w = j->waiters;

		j->waiters = w->wnext;
		if (!j->waiters)
			j->waiters_tail = NULL;
		w->waiting_row = 0;
		inst_wake(w);
	}
}

/* ---- rows from the controller ------------------------------------------- */


/* One row of a rows message, [id, "v0", "v1", ...], into the journey's
 * buffer. 0, or -EPROTO / -ENOMEM with the reason in err. A row that is
 * not what the controller sends (core/row.h's bounds) is an error, never
 * cut down to fit. */
static int take_row_msg(rjourney *j, const cJSON *row, char *err, size_t errlen)
{
	const char *vals[ROW_MAX_COLUMNS];
	size_t n;
	uint64_t id;
	mite_row *mr;

	if (proto_row_decode(row, &id, vals, ROW_MAX_COLUMNS, &n, err, errlen) < 0 ||
	    row_check(vals, n, err, errlen) < 0)
		return -EPROTO;
	mr = row_new(id, (const char *const *)j->columns, vals, n);
	if (!mr || push_row(j, mr) < 0) {
		row_free(mr);
		snprintf(err, errlen, "row %llu: %s", (unsigned long long)id, strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

void runner_rows_msg(runner *r, const cJSON *m)
{
	const cJSON *row;
	proto_rows pr;
	rjourney *j;

	if (proto_rows_decode(m, r->nj, &pr) < 0)
		return;
	j = &r->j[pr.j];
	j->requested = 0;
	cJSON_ArrayForEach(row, pr.rows)
	{
		char why[160], msg[256];

		if (take_row_msg(j, row, why, sizeof why) < 0) {
			/* A row lost here would be silently skipped: the run
			 * is told, and stops. */
			snprintf(msg, sizeof msg, "journey %s: rows refused: %s", j->name, why);
			log_err("runner %d: %s", r->index, msg);
			runner_send_error(r, msg);
			break;
		}
	}
	if (pr.end)
		j->rows_end = 1;
	runner_rows_drop_starts(j);
	runner_rows_wake(j);
	j->balance = 1;
	runner_inst_kick(r);
}

/* At the end every row still buffered goes back, with the used ones. */
/* At the stop: every row it holds goes back (leases, and iterable rows
 * that did not run, which the controller serves again if the run goes on
 * without this runner). */
void runner_rows_return(rjourney *j)
{
	while (j->nrows) {
		mite_row *row = pop_last_row(j);

		note_return(j, row->id);
		row_free(row);
	}
	runner_rows_flush(j);
}

void runner_rows_free(rjourney *j)
{
	while (j->nrows)
		row_free(pop_last_row(j));
	free(j->rows);
	free(j->ret);
}
