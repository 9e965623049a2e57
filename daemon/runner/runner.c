/*
 * runner.c - the runner: journey instances as coroutines on one libuv loop,
 * driven by runner-protocol messages (see docs/runner-protocol.md).
 *
 * An instance of a closed-model journey loops over iterations for as long as
 * its journey's target allows; an open-model start runs one iteration. Rows
 * come from a local buffer refilled from the controller in batches;
 * recyclable rows return to that buffer when an iteration ends, so no
 * iteration costs a controller round trip. Stats are recorded locally and
 * shipped as a batch every stats interval.
 */
#include "runner/runner.h"
#include "runner/debug.h"
#include "runner/http.h"
#include "runner/http_sdk.h"
#include "runner/ws.h"
#include "runner/inst.h"
#include "runner/sdk.h"
#include "runner/sleepq.h"

#include "core/coro.h"
#include "core/kvl.h"
#include "core/log.h"
#include "core/module.h"
#include "core/proto.h"
#include "core/proto_msg.h"
#include "core/row.h"
#include "core/stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_BATCH_MAX PROTO_ROWS_MAX
#define ROW_PREFETCH_MAX 128 /* rows buffered ahead per journey, at most */
#define ROW_RETURN_BATCH 64 /* recyclable rows handed back per message */
#define EVENTS_MAX 10000 /* events queued between batches before dropping */
#define EVENTS_FLUSH 512 /* flush early past this many */
/* Bounds on what a controller's message may ask for. Beyond them a value is
 * garbage (and converting it to an integer could be undefined): seconds
 * (tick, stats interval, grace), a run's elapsed time, a stack. Instances
 * and starts per journey are kept to proto_instances_max() and said
 * (set_closed_target, add_starts). */
#define MSG_SECS_MAX 1e6
#define MSG_ELAPSED_MAX 1e9
#define MSG_STACK_MAX (64.0 * 1024 * 1024) /* as scenario files allow */
/* Instances started per loop turn at most: a target of a million starts
 * over some hundred turns, with timers, messages and stats in between. */
#define START_BATCH 8192
/* Free stacks whose pages stay resident for reuse, per stack size (beyond
 * them they are given back once per stats interval). */
#define STACKS_KEEP 1024

enum { R_SETUP, R_RUNNING, R_STOPPING, R_CLOSING, R_DONE };

typedef struct rmodule {
	module *mod;
	void *fixture;
	int inited;
} rmodule;

typedef struct rjourney {
	struct runner *r;
	int idx;
	char *name;
	char **columns; /* NULL-terminated, or NULL */
	size_t stack;
	mite_journey_fn fn;
	rmodule *rm;
	int open; /* open model: each start is one iteration */
	int has_pool;
	int recyclable;
	long target; /* closed: this runner's share of the concurrency */
	long asked; /* closed: the share asked for (over the bound: more) */
	long pending; /* open: starts still to make in this tick */
	uv_timer_t spread; /* open: spreads a tick's starts over the tick */
	double spread_next; /* open: intended time of the next start (s) */
	double spread_gap; /* open: seconds between starts in this tick */
	long nactive;
	long peak; /* the most instances (with pending starts) since the last batch */
	mite_ctx *active; /* doubly linked list of live instances */
	/* rows */
	mite_row **rows; /* free rows, a FIFO ring (recyclable: returned ones too) */
	size_t rhead, nrows, rowcap;
	uint64_t *ret; /* recyclable rows used and not yet handed back */
	size_t nret, retcap;
	int requested; /* a need is outstanding */
	int rows_end; /* the pool is exhausted */
	mite_ctx *waiters, *waiters_tail;
	stats_entry *st_journey, *st_lag;
	int balance; /* needs a balance pass */
	char why[96]; /* why the target is not reached ("" when it is) */
} rjourney;

struct runner {
	uv_loop_t *loop;
	transport *t;
	int index;
	int state;
	runner_done_cb done;
	void *done_data;
	uint64_t t0_ns; /* hrtime of run start on this runner */
	double deadline; /* no iteration starts from then on (0: none) */
	double tick;
	double grace;
	int http_events;
	int debug; /* 0 or PROTO_DEBUG_*: mitectl --debug (runner/debug.h) */
	int debug_halted; /* ... FIRST: the first error was reported: no more iterations */
	uint64_t trace_instance; /* --trace-http: this instance's requests (0: none) */
	kvl config;
	rjourney *j;
	size_t nj;
	rmodule *mods;
	size_t nmods;
	http_engine *http;
	ws_engine *ws;
	stats st;
	cJSON *events;
	size_t nevents;
	uint64_t events_dropped;
	uv_timer_t stats_timer;
	uv_timer_t grace_timer;
	sleepq sleep; /* sleeping instances */
	uv_prepare_t lag_probe; /* the loop-lag probe: once a turn, before the loop waits */
	uint64_t lag_turn_ns; /* when the last turn's probe ran */
	uint64_t lag_idle_ns; /* the loop's idle time then */
	stats_entry *st_loop; /* its histogram ("loop", this runner's index) */
	uv_idle_t idle;
	int idle_on;
	mite_ctx *ready, *ready_tail;
	uint64_t next_id;
	long live; /* instances alive (all journeys) */
	int pending_closes; /* handles still closing */
	int cancelled;
	int status;
};

static const char *current_journey;
/* The journey whose code ran last (stats' "journey"): a runner killed
 * from outside between two turns is reported with it. */
static const char *last_journey;

/* A number from a message that is more than 0 and at most max, or dflt. */
static double msg_num(const cJSON *v, double max, double dflt)
{
	return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble <= max ? v->valuedouble
										: dflt;
}

const char *runner_current_journey(void)
{
	return current_journey;
}

static void runner_check_done(runner *r);
static void runner_kick(runner *r);
static void journey_balance(rjourney *j);
static void send_stats(runner *r, int final);
static const inst_ops runner_inst_ops;

/* ---- the clock ---------------------------------------------------------- */

static double runner_now(const runner *r)
{
	return (double)(uv_hrtime() - r->t0_ns) / 1e9;
}

/* ---- instances ---------------------------------------------------------- */

static void inst_finish(mite_ctx *ctx)
{
	rjourney *j = ctx->j;
	runner *r = ctx->r;

	if (ctx->prev)
		ctx->prev->next = ctx->next;
	else
		j->active = ctx->next;
	if (ctx->next)
		ctx->next->prev = ctx->prev;
	j->nactive--;
	r->live--;
	http_sdk_session_free(ctx);
	ws_session_free(ctx);
	sleepq_del(&r->sleep, &ctx->sleep);
	/* The instance lives in its coroutine's stack slot (coro_new_with):
	 * it goes with the coroutine. */
	coro_free(ctx->co);
	j->balance = 1;
	/* The loop's next turn rebalances, or ends a stopping runner. */
	runner_kick(r);
}

/* Switches into an instance until it parks or ends. */
static void inst_run(mite_ctx *ctx)
{
	const char *prev = current_journey;
	int alive;

	current_journey = last_journey = ctx->j->name;
	alive = coro_resume(ctx->co);
	current_journey = prev;
	if (!alive)
		inst_finish(ctx);
}

static void sleep_fired(sleepq *q, sleepq_node *n, void *data)
{
	mite_ctx *ctx = (mite_ctx *)(void *)((char *)n - offsetof(mite_ctx, sleep));

	(void)q;
	(void)data;
	inst_wake(ctx);
}

/* Queues a parked instance to be resumed on the next loop turn. */
static void inst_schedule(mite_ctx *ctx)
{
	runner *r = ctx->r;

	ctx->wnext = NULL;
	if (r->ready_tail)
		r->ready_tail->wnext = ctx;
	else
		r->ready = ctx;
	r->ready_tail = ctx;
	runner_kick(r);
}

/* Hands the loop a turn between two iterations that never parked, so a
 * journey that never waits cannot starve the loop (stats, messages). */
static void inst_yield_turn(mite_ctx *ctx)
{
	inst_schedule(ctx);
	inst_park(ctx, NULL, NULL);
}

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

static void flush_returns(rjourney *j);
static void prefetch(rjourney *j);

/* The journey has no row left, here or to come. The end of the pool
 * (rows_end) is not enough: the rows still buffered here were taken from
 * the pool for this runner, and no one else will run them. */
static int rows_out(const rjourney *j)
{
	return j->has_pool && j->rows_end && !j->nrows;
}

/* Open-model starts without a row to run are dropped: they would count as
 * active forever. */
static void drop_starts_without_rows(rjourney *j)
{
	if (!rows_out(j) || !j->open)
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
static int take_row(mite_ctx *ctx, mite_row **out)
{
	rjourney *j = ctx->j;

	*out = NULL;
	if (!j->has_pool)
		return 1;
	while (!j->nrows) {
		if (j->rows_end || ctx->r->state != R_RUNNING) {
			drop_starts_without_rows(j);
			return 0;
		}
		/* Rows this runner used may be the very ones it waits for
		 * (a pool about as large as the concurrency). */
		flush_returns(j);
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
	prefetch(j);
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
static void prefetch(rjourney *j)
{
	long size = prefetch_size(j);

	if (!j->requested && !j->rows_end && (long)j->nrows < (size + 1) / 2)
		request_rows(j, size - (long)j->nrows);
}

/* Hands used recyclable rows back to the controller, which puts them at
 * the end of the pool's queue: every row gets its turn, across runners. */
static void flush_returns(rjourney *j)
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
static void release_row(rjourney *j, mite_row *row)
{
	if (!row)
		return;
	if (j->recyclable) {
		note_return(j, row->id);
		if (j->nret >= ROW_RETURN_BATCH || j->waiters)
			flush_returns(j);
	}
	row_free(row);
}

static void wake_row_waiters(rjourney *j)
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

static int past_deadline(runner *r)
{
	return r->deadline > 0 && runner_now(r) >= r->deadline;
}

static int want_more(mite_ctx *ctx)
{
	rjourney *j = ctx->j;

	if (ctx->r->state != R_RUNNING || j->open || rows_out(j) || past_deadline(ctx->r) ||
	    ctx->r->debug_halted)
		return 0;
	return j->nactive <= j->target || j->rows_end;
}

static void record_journey(mite_ctx *ctx, int ok, uint64_t ns)
{
	rjourney *j = ctx->j;

	stats_add(j->st_journey, ok ? ST_J_OK : ST_J_FAILED, 1);
	if (ctx->iter_cancelled)
		stats_add(j->st_journey, ST_J_CANCELLED, 1);
	stats_record(j->st_journey, 0, ns);
}

static void inst_main(void *arg)
{
	mite_ctx *ctx = arg;
	rjourney *j = ctx->j;

	do {
		mite_row *row;
		uint64_t t0;
		int rc;

		rc = take_row(ctx, &row);
		if (rc <= 0)
			break;
		ctx->row = row;
		ctx->ntxn = 0;
		ctx->failed = 0;
		ctx->iter_cancelled = 0;
		ctx->parks = 0;
		ctx->iterations++;
		ctx->iter_start = runner_now(ctx->r);
		http_sdk_new_iteration(ctx);
		stats_add(j->st_journey, ST_J_STARTED, 1);
		t0 = uv_hrtime();
		rc = j->fn(ctx, row);
		sdk_end_iteration(ctx, rc);
		record_journey(ctx, rc == 0 && !ctx->failed, uv_hrtime() - t0);
		ctx->row = NULL;
		release_row(j, row);
		if (rc != 0 || ctx->failed)
			break; /* a failed instance ends; balance starts a fresh one */
		if (!ctx->parks && want_more(ctx))
			inst_yield_turn(ctx);
	} while (want_more(ctx));
}

/* Notes why journey j falls short of its target ("" once it does not),
 * logging each change of reason once, not once per instance. The stats
 * message carries it to the controller. */
static void journey_why(rjourney *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void journey_why(rjourney *j, const char *fmt, ...)
{
	char buf[sizeof j->why];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (strcmp(buf, j->why) == 0)
		return;
	if (buf[0])
		log_warn(
			"runner %d: journey %s: not every instance asked for can start (%ld running): %s",
			j->r->index, j->name, j->nactive, buf);
	else
		log_info("runner %d: journey %s: every instance asked for can start again",
			 j->r->index, j->name);
	memcpy(j->why, buf, sizeof buf);
}

/* Why a new stack could not be had: the map count, or memory. */
static void why_no_stack(rjourney *j, int err)
{
	long left = coro_maps_free();

	if (err == ENOMEM && left >= 0 && left < 64)
		journey_why(j, "vm.max_map_count %ld reached", coro_max_map_count());
	else if (err == ENOMEM)
		journey_why(j, "out of memory");
	else
		journey_why(j, "%s", strerror(err));
}

static mite_ctx *inst_start(rjourney *j)
{
	runner *r = j->r;
	mite_ctx *ctx;
	coro *co;

	co = coro_new_with(j->stack, sizeof *ctx, inst_main, j->name);
	if (!co) {
		why_no_stack(j, errno);
		return NULL;
	}
	ctx = coro_extra(co);
	ctx->ops = &runner_inst_ops;
	ctx->co = co;
	ctx->r = r;
	ctx->j = j;
	ctx->id = ((uint64_t)r->index << 40) | ++r->next_id;
	ctx->next = j->active;
	if (j->active)
		j->active->prev = ctx;
	j->active = ctx;
	j->nactive++;
	if (j->nactive + j->pending > j->peak)
		j->peak = j->nactive + j->pending;
	r->live++;
	inst_run(ctx);
	return ctx;
}

/* ---- scheduling --------------------------------------------------------- */

static void journey_balance(rjourney *j)
{
	runner *r = j->r;
	long want;

	j->balance = 0;
	if (r->state != R_RUNNING || j->open || rows_out(j) || past_deadline(r) || r->debug_halted)
		return;
	want = j->target - j->nactive;
	if (want > START_BATCH) {
		want = START_BATCH;
		j->balance = 1; /* the rest on the next loop turns */
	}
	while (want-- > 0)
		if (!inst_start(j)) {
			/* Tried again at the next stats interval. */
			j->balance = 0;
			return;
		}
	if (j->nactive >= j->target && j->asked <= j->target)
		journey_why(j, "%s", "");
}

static void on_idle(uv_idle_t *h)
{
	runner *r = h->data;
	mite_ctx *ready = r->ready;

	/* Resume what was queued before this turn; what they queue runs on the
	 * next one. */
	r->ready = r->ready_tail = NULL;
	while (ready) {
		mite_ctx *next = ready->wnext;

		inst_wake(ready);
		ready = next;
	}
	for (size_t i = 0; i < r->nj; i++)
		if (r->j[i].balance)
			journey_balance(&r->j[i]);
	if (!r->ready) {
		int again = 0;

		for (size_t i = 0; i < r->nj; i++)
			again |= r->j[i].balance;
		if (!again) {
			uv_idle_stop(&r->idle);
			r->idle_on = 0;
		}
	}
	/* The last instance of a stopping runner ended (inst_finish). */
	if (r->state == R_STOPPING && r->live == 0)
		runner_check_done(r);
}

static void runner_kick(runner *r)
{
	if (r->idle_on || r->state >= R_CLOSING)
		return;
	r->idle_on = 1;
	uv_idle_start(&r->idle, on_idle);
}

/* Scheduling lag: how late a start is against its intended time; the
 * next start is intended a gap later. */
static void record_start_lag(rjourney *j, double now)
{
	stats_record(j->st_lag, 0,
		     now > j->spread_next ? (uint64_t)((now - j->spread_next) * 1e9) : 0);
	stats_add(j->st_lag, 0, 1);
	j->spread_next += j->spread_gap;
}

/* Makes the open-model starts that are due: every one whose intended time
 * (spread evenly over the tick) has come, not one per timer firing (the
 * timer's millisecond would cap a journey at 1000 starts/s per runner). */
static void on_spread(uv_timer_t *t)
{
	rjourney *j = t->data;
	runner *r = j->r;
	double now = runner_now(r);
	int n = 0;

	if (r->state != R_RUNNING || j->pending <= 0 || rows_out(j) || r->debug_halted) {
		drop_starts_without_rows(j);
		uv_timer_stop(t);
		return;
	}
	while (j->pending > 0 && j->spread_next <= now && n++ < START_BATCH) {
		j->pending--;
		record_start_lag(j, now);
		/* A start that could not be made is not made up for (the
		 * controller sees fewer starts than it asked for, and why); one
		 * that could clears the reason. */
		if (inst_start(j) && j->why[0] && strncmp(j->why, "instance bound", 14) != 0)
			journey_why(j, "%s", "");
		if (r->state != R_RUNNING)
			break;
	}
	if (j->pending <= 0)
		uv_timer_stop(t);
}

/* A closed model's share. Over the bound, the runner keeps to the bound and
 * says so (why), rather than starting nothing or more than it can hold. */
static void set_closed_target(rjourney *j, double c)
{
	long max = proto_instances_max();

	j->asked = c > (double)max ? max + 1 : (long)c;
	j->target = j->asked > max ? max : j->asked;
	if (j->asked > max)
		journey_why(j, "instance bound %ld per runner", max);
	else if (j->nactive >= j->target)
		journey_why(j, "%s", "");
	j->balance = 1;
}

/* An open model's starts for the next tick, spread over it. At most the
 * bound are pending at once; starts beyond are not made, and said so. */
static void add_starts(rjourney *j, double s)
{
	long max = proto_instances_max();
	runner *r = j->r;
	int backlog = j->pending > 0;
	uint64_t ms;

	if (s > (double)(max - j->pending)) {
		journey_why(j, "instance bound %ld per runner", max);
		j->pending = max;
	} else {
		j->pending += (long)s;
		if (j->why[0] && strncmp(j->why, "instance bound", 14) == 0)
			journey_why(j, "%s", "");
	}
	/* What is pending now is spread over the coming tick; starts still
	 * pending from before were intended earlier, and their lag keeps
	 * counting from then. */
	if (!backlog)
		j->spread_next = runner_now(r);
	j->spread_gap = r->tick / (double)j->pending;
	ms = (uint64_t)(j->spread_gap * 1000.0);
	if (!ms)
		ms = 1;
	uv_timer_start(&j->spread, on_spread, 0, ms);
}

static void set_targets(runner *r, const cJSON *m)
{
	proto_targets t = { .j = calloc(r->nj ? r->nj : 1, sizeof(proto_target)), .nj = r->nj };

	if (!t.j) {
		log_err("runner %d: targets lost: %s", r->index, strerror(ENOMEM));
		return;
	}
	if (proto_targets_decode(m, &t) < 0) {
		free(t.j);
		return;
	}
	if (t.has_end_in)
		r->deadline = runner_now(r) + (t.end_in > 0 ? t.end_in : 0);
	for (size_t i = 0; i < t.given; i++) {
		rjourney *j = &r->j[i];

		if (t.j[i].closed >= 0)
			set_closed_target(j, t.j[i].closed);
		if (t.j[i].starts >= 1)
			add_starts(j, t.j[i].starts);
		if (j->has_pool)
			prefetch(j);
	}
	free(t.j);
	runner_kick(r);
}

/* ---- rows from the controller ------------------------------------------- */

static void send_error(runner *r, const char *msg);

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

static void take_rows(runner *r, const cJSON *m)
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
			send_error(r, msg);
			break;
		}
	}
	if (pr.end)
		j->rows_end = 1;
	drop_starts_without_rows(j);
	wake_row_waiters(j);
	j->balance = 1;
	runner_kick(r);
}

/* At the end every row still buffered goes back, with the used ones. */
/* At the stop: every row it holds goes back (leases, and iterable rows
 * that did not run, which the controller serves again if the run goes on
 * without this runner). */
static void return_rows(rjourney *j)
{
	while (j->nrows) {
		mite_row *row = pop_last_row(j);

		note_return(j, row->id);
		row_free(row);
	}
	flush_returns(j);
}

/* ---- events and stats --------------------------------------------------- */

static void runner_event(mite_ctx *ctx, cJSON *ev)
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
		send_stats(r, 0);
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

static void send_stats(runner *r, int final)
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
			      .journey = current_journey ? current_journey : last_journey };

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

	send_stats(r, 0);
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];

		flush_returns(j);
		/* Instances that could not start (memory, maps) are tried
		 * again. */
		if (!j->open && j->nactive < j->target) {
			j->balance = 1;
			runner_kick(r);
		}
	}
	coro_pool_trim(STACKS_KEEP);
}

/* ---- setup -------------------------------------------------------------- */

static void send_error(runner *r, const char *msg)
{
	cJSON *m = proto_new(PROTO_ERROR);

	if (m) {
		cJSON_AddStringToObject(m, "error", msg);
		proto_send(r->t, m);
	}
}

static rmodule *find_module(runner *r, module *mod)
{
	for (size_t i = 0; i < r->nmods; i++)
		if (r->mods[i].mod == mod) {
			module_close(mod); /* one reference per runner module is enough */
			return &r->mods[i];
		}
	r->mods[r->nmods].mod = mod;
	return &r->mods[r->nmods++];
}

static char **json_strv(const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	char **v;
	const cJSON *it;

	if (!cJSON_IsArray(arr) || !n)
		return NULL;
	v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	cJSON_ArrayForEach(it, arr) v[i++] = strdup(cJSON_IsString(it) ? it->valuestring : "");
	return v;
}

static int setup_journey(runner *r, rjourney *j, const cJSON *o, char *err, size_t errlen)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "module");
	const cJSON *sym = cJSON_GetObjectItemCaseSensitive(o, "symbol");
	const cJSON *stack = cJSON_GetObjectItemCaseSensitive(o, "stack");
	module *mod;

	if (!cJSON_IsString(name) || !cJSON_IsString(path) || !cJSON_IsString(sym)) {
		snprintf(err, errlen, "setup: journey %d lacks name, module or symbol", j->idx);
		return -EINVAL;
	}
	j->name = strdup(name->valuestring);
	j->columns = json_strv(cJSON_GetObjectItemCaseSensitive(o, "columns"));
	j->stack = msg_num(stack, MSG_STACK_MAX, 0) >= CORO_MIN_STACK ? (size_t)stack->valuedouble
								      : CORO_DEFAULT_STACK;
	j->open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "open"));
	j->has_pool = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "pool"));
	j->recyclable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "recyclable"));
	if (!j->name)
		return -ENOMEM;
	mod = module_open(path->valuestring, runner_api(), err, errlen);
	if (!mod)
		return -EINVAL;
	j->rm = find_module(r, mod);
	j->fn = (mite_journey_fn)(uintptr_t)module_sym(j->rm->mod, sym->valuestring, err, errlen);
	if (!j->fn)
		return -EINVAL;
	j->st_journey = stats_get(&r->st, SK_JOURNEY.name, (const char *const *)&j->name,
				  SK_JOURNEY.nlabels);
	j->st_lag = stats_get(&r->st, SK_LAG.name, (const char *const *)&j->name, SK_LAG.nlabels);
	if (!j->st_journey || !j->st_lag)
		return -ENOMEM;
	uv_timer_init(r->loop, &j->spread);
	j->spread.data = j;
	return 0;
}

static int init_modules(runner *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->nmods; i++) {
		rmodule *m = &r->mods[i];
		const mite_module_info *info = module_info(m->mod);
		mite_ctx ctx;

		if (!info->init)
			continue;
		memset(&ctx, 0, sizeof ctx);
		ctx.ops = &runner_inst_ops;
		ctx.r = r;
		ctx.module_ctx = 1;
		/* A journey of the module, for names in logs and errors. */
		for (size_t k = 0; k < r->nj; k++)
			if (r->j[k].rm == m) {
				ctx.j = &r->j[k];
				break;
			}
		if (info->init(&ctx, &m->fixture) != 0) {
			snprintf(err, errlen, "%s: init hook failed%s%s", module_path(m->mod),
				 inst_last_error() ? ": " : "",
				 inst_last_error() ? inst_last_error() : "");
			return -EINVAL;
		}
		m->inited = 1;
	}
	return 0;
}

/* The loop-lag probe's stats entry, labelled with the runner's index. */
static stats_entry *loop_entry(runner *r)
{
	char idx[24];
	const char *lab = idx;

	snprintf(idx, sizeof idx, "%d", r->index);
	return stats_get(&r->st, SK_LOOP.name, &lab, SK_LOOP.nlabels);
}

static void do_setup(runner *r, const cJSON *m)
{
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(m, "journeys"), *o;
	const cJSON *v;
	char err[1024] = "";
	double interval;
	size_t n, i = 0;

	if (r->state != R_SETUP || r->j) {
		send_error(r, "setup: runner already set up");
		return;
	}
	n = (size_t)cJSON_GetArraySize(js);
	if (!cJSON_IsArray(js) || !n) {
		send_error(r, "setup: no journeys");
		return;
	}
	kvl_from_json(&r->config, cJSON_GetObjectItemCaseSensitive(m, "config"));
	r->tick = msg_num(cJSON_GetObjectItemCaseSensitive(m, "tick"), MSG_SECS_MAX, 0.1);
	r->http_events = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "http_events"));
	v = cJSON_GetObjectItemCaseSensitive(m, "debug");
	r->debug = cJSON_IsNumber(v) &&
			(v->valueint == PROTO_DEBUG_FIRST || v->valueint == PROTO_DEBUG_ALL)
		? v->valueint
		: 0;
	v = cJSON_GetObjectItemCaseSensitive(m, "trace_instance");
	r->trace_instance = cJSON_IsNumber(v) && v->valuedouble >= 1 &&
			v->valuedouble <= (double)PROTO_TRACE_INSTANCE_MAX
		? (uint64_t)v->valuedouble
		: 0;
	v = cJSON_GetObjectItemCaseSensitive(m, "elapsed");
	r->t0_ns = uv_hrtime() - (uint64_t)(msg_num(v, MSG_ELAPSED_MAX, 0) * 1e9);
	r->j = calloc(n, sizeof *r->j);
	r->mods = calloc(n, sizeof *r->mods);
	if (!r->j || !r->mods) {
		send_error(r, "setup: out of memory");
		return;
	}
	cJSON_ArrayForEach(o, js)
	{
		rjourney *j = &r->j[i];

		j->r = r;
		j->idx = (int)i;
		r->nj = ++i;
		if (setup_journey(r, j, o, err, sizeof err) < 0) {
			send_error(r, err[0] ? err : "setup: out of memory");
			return;
		}
	}
	if (init_modules(r, err, sizeof err) < 0) {
		send_error(r, err);
		return;
	}
	interval =
		msg_num(cJSON_GetObjectItemCaseSensitive(m, "stats_interval"), MSG_SECS_MAX, 1.0);
	uv_timer_start(&r->stats_timer, on_stats_timer, (uint64_t)(interval * 1000),
		       (uint64_t)(interval * 1000));
	r->st_loop = loop_entry(r);
	r->lag_turn_ns = uv_hrtime();
	r->lag_idle_ns = uv_metrics_idle_time(r->loop);
	uv_prepare_start(&r->lag_probe, on_lag_probe);
	r->state = R_RUNNING;
	proto_send(r->t, proto_new(PROTO_READY));
}

/* ---- stopping ----------------------------------------------------------- */

static void cancel_all(runner *r)
{
	r->cancelled = 1;
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];

		/* Wake from a snapshot: a woken instance may end and unlink. */
		for (mite_ctx *c = j->active; c;) {
			mite_ctx *next = c->next;

			inst_cancel(c);
			c = next;
		}
	}
}

static void on_grace(uv_timer_t *t)
{
	runner *r = t->data;

	if (r->live)
		log_warn("runner %d: grace period over, cancelling %ld instance(s)", r->index,
			 r->live);
	cancel_all(r);
}

static void do_stop(runner *r, double grace)
{
	if (r->state == R_SETUP) {
		r->state = R_STOPPING;
		runner_check_done(r);
		return;
	}
	if (r->state != R_RUNNING) {
		if (grace <= 0 && r->state == R_STOPPING)
			cancel_all(r);
		return;
	}
	/* Open-model starts due before the stop still happen: they were
	 * handed out for a window that has ended (timer jitter may leave one). */
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];

		uv_timer_stop(&j->spread);
		while (j->pending > 0 && !rows_out(j)) {
			j->pending--;
			record_start_lag(j, runner_now(r));
			if (!inst_start(j))
				break;
		}
		j->pending = 0;
	}
	r->state = R_STOPPING;
	for (size_t i = 0; i < r->nj; i++)
		wake_row_waiters(&r->j[i]);
	if (grace <= 0)
		cancel_all(r);
	else
		uv_timer_start(&r->grace_timer, on_grace, (uint64_t)(grace * 1000), 0);
	runner_check_done(r);
}

static void handle_closed(uv_handle_t *h)
{
	runner *r = h->data;

	r->pending_closes--;
	runner_check_done(r);
}

static void close_handle(runner *r, uv_handle_t *h)
{
	h->data = r;
	r->pending_closes++;
	uv_close(h, handle_closed);
}

static void http_closed(void *arg)
{
	runner *r = arg;

	r->http = NULL;
	r->pending_closes--;
	runner_check_done(r);
}

static void ws_closed(void *arg)
{
	runner *r = arg;

	r->ws = NULL;
	r->pending_closes--;
	runner_check_done(r);
}

static void runner_check_done(runner *r)
{
	if (r->state == R_STOPPING && r->live == 0) {
		r->state = R_CLOSING;
		send_stats(r, 1);
		for (size_t i = 0; i < r->nj; i++)
			return_rows(&r->j[i]);
		proto_send(r->t, proto_new(PROTO_BYE));
		transport_close(r->t);
		r->t = NULL;
		close_handle(r, (uv_handle_t *)&r->stats_timer);
		close_handle(r, (uv_handle_t *)&r->grace_timer);
		close_handle(r, (uv_handle_t *)&r->lag_probe);
		close_handle(r, (uv_handle_t *)&r->idle);
		close_handle(r, (uv_handle_t *)&r->sleep.timer);
		for (size_t i = 0; i < r->nj; i++)
			if (r->j[i].st_journey) /* spread was initialised */
				close_handle(r, (uv_handle_t *)&r->j[i].spread);
		if (r->http) {
			r->pending_closes++;
			http_engine_close(r->http, http_closed, r);
		}
		if (r->ws) {
			r->pending_closes++;
			ws_engine_close(r->ws, ws_closed, r);
		}
		return;
	}
	if (r->state == R_CLOSING && r->pending_closes == 0) {
		r->state = R_DONE;
		if (r->done)
			r->done(r, r->status, r->done_data);
	}
}

/* ---- messages ----------------------------------------------------------- */

static void on_stop(runner *r, const cJSON *m)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(m, "grace");

	/* 0 or less: cancel now. */
	do_stop(r, cJSON_IsNumber(g) && g->valuedouble <= 0 ? 0 : msg_num(g, MSG_SECS_MAX, 30.0));
}

void runner_leave(runner *r, const char *why, double grace)
{
	cJSON *m;

	if (r->state != R_SETUP && r->state != R_RUNNING)
		return;
	log_warn("runner %d: %s: leaving the run", r->index, why);
	if ((m = proto_new(PROTO_LEAVING))) {
		cJSON_AddStringToObject(m, "why", why);
		proto_send(r->t, m);
	}
	do_stop(r, grace);
}

static void on_cancel(runner *r, const cJSON *m)
{
	(void)m;
	do_stop(r, 0);
}

/* What a controller's message does, by its type, from which state on
 * (targets and rows that come before the run or after it are ignored). */
static const struct {
	const char *type;
	int from, until; /* the states it is taken in */
	void (*fn)(runner *r, const cJSON *m);
} handlers[] = {
	{ PROTO_SETUP, R_SETUP, R_DONE, do_setup },
	{ PROTO_TARGETS, R_RUNNING, R_RUNNING, set_targets },
	{ PROTO_ROWS, R_RUNNING, R_DONE, take_rows },
	{ PROTO_STOP, R_SETUP, R_DONE, on_stop },
	{ PROTO_CANCEL, R_SETUP, R_DONE, on_cancel },
};

static void on_message(transport *t, const char *buf, size_t len, void *data)
{
	runner *r = data;
	char err[256];
	cJSON *m = proto_parse(buf, len, err, sizeof err);
	const char *type;
	size_t i;

	(void)t;
	if (!m) {
		log_err("runner %d: message refused: %s", r->index, err);
		return;
	}
	type = proto_type(m);
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(type, handlers[i].type) == 0)
			break;
	if (i == sizeof(handlers) / sizeof(handlers[0]))
		log_warn("runner %d: unknown message type '%s' ignored", r->index, type);
	else if ((int)r->state >= handlers[i].from && (int)r->state <= handlers[i].until)
		handlers[i].fn(r, m);
	cJSON_Delete(m);
}

/* ---- the runner's life -------------------------------------------------- */


runner *runner_new(uv_loop_t *loop, transport *t, int index, runner_done_cb done, void *data)
{
	runner *r = calloc(1, sizeof *r);
	cJSON *hello;

	if (!r)
		return NULL;
	if (sleepq_init(&r->sleep, loop, sleep_fired, r) < 0) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->t = t;
	r->index = index;
	r->done = done;
	r->done_data = data;
	r->tick = 0.1;
	r->t0_ns = uv_hrtime();
	kvl_init(&r->config);
	stats_init(&r->st);
	uv_timer_init(loop, &r->stats_timer);
	r->stats_timer.data = r;
	uv_timer_init(loop, &r->grace_timer);
	r->grace_timer.data = r;
	/* The probe needs the loop's idle time; it keeps nothing alive. */
	uv_loop_configure(loop, UV_METRICS_IDLE_TIME);
	uv_prepare_init(loop, &r->lag_probe);
	uv_unref((uv_handle_t *)&r->lag_probe);
	r->lag_probe.data = r;
	uv_idle_init(loop, &r->idle);
	r->idle.data = r;
	r->http = http_engine_new(loop, &inst_http_host);
	if (!r->http)
		log_warn("runner %d: HTTP engine unavailable; HTTP calls will fail", index);
	r->ws = ws_engine_new(loop);
	if (!r->ws)
		log_warn("runner %d: WebSocket engine unavailable; WebSocket calls will fail",
			 index);
	coro_install_overflow_handler();
	t->on_recv = on_message;
	t->data = r;
	hello = proto_new(PROTO_HELLO);
	if (hello) {
		cJSON_AddNumberToObject(hello, "runner", index);
		cJSON_AddNumberToObject(hello, "pid", (double)uv_os_getpid());
		proto_send(t, hello);
	}
	return r;
}

void runner_free(runner *r)
{
	if (!r)
		return;
	last_journey = NULL; /* its journeys' names go */
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];

		while (j->nrows)
			row_free(pop_last_row(j));
		free(j->rows);
		free(j->ret);
		free(j->name);
		if (j->columns)
			for (char **c = j->columns; *c; c++)
				free(*c);
		free(j->columns);
	}
	for (size_t i = 0; i < r->nmods; i++) {
		const mite_module_info *info = module_info(r->mods[i].mod);

		if (r->mods[i].inited && info->fini)
			info->fini(r->mods[i].fixture);
		module_close(r->mods[i].mod);
	}
	free(r->mods);
	free(r->j);
	sleepq_free(&r->sleep);
	cJSON_Delete(r->events);
	stats_free(&r->st);
	kvl_free(&r->config);
	if (r->t)
		transport_close(r->t);
	free(r);
	coro_pool_drain();
}

/* ---- what the SDK and HTTP code see ------------------------------------- */

static stats *runner_stats(mite_ctx *ctx)
{
	return &ctx->r->st;
}
static uv_loop_t *runner_loop(mite_ctx *ctx)
{
	return ctx->r->loop;
}
static sleepq *runner_sleepq(mite_ctx *ctx)
{
	return &ctx->r->sleep;
}
static int runner_http_events(mite_ctx *ctx)
{
	return ctx->r->http_events;
}
static double runner_inst_now(mite_ctx *ctx)
{
	return runner_now(ctx->r);
}
static const char *runner_config(mite_ctx *ctx, const char *key)
{
	return kvl_get(&ctx->r->config, key);
}
static const char *runner_journey_name(mite_ctx *ctx)
{
	return ctx->j ? ctx->j->name : "";
}
static struct http_engine *runner_http_engine(mite_ctx *ctx)
{
	return ctx->r->http;
}
static struct ws_engine *runner_ws_engine(mite_ctx *ctx)
{
	return ctx->r->ws;
}
static int runner_stopping(mite_ctx *ctx)
{
	return ctx->r->state != R_RUNNING || ctx->cancelled;
}
static void *runner_fixture(mite_ctx *ctx)
{
	return ctx->j && ctx->j->rm ? ctx->j->rm->fixture : NULL;
}

static int runner_http_trace(mite_ctx *ctx)
{
	runner *r = ctx->r;

	return (r->debug ? HTTP_TRACE_KEEP : 0) |
		(r->trace_instance && ctx->id == r->trace_instance
			 ? HTTP_TRACE_KEEP | HTTP_TRACE_EMIT
			 : 0);
}

/* An error about to be sent, under --debug: its details; the first one
 * (PROTO_DEBUG_FIRST) also halts this runner - its instance is cancelled
 * (the journey's next SDK call that waits returns MITE_ECANCELED), no
 * iteration starts again, and the batch goes out now for mitectl to stop
 * the run. */
static void runner_debug(mite_ctx *ctx, cJSON *ev)
{
	runner *r = ctx->r;

	if (!r->debug || r->debug_halted)
		return;
	debug_attach(ctx, ev);
	if (r->debug != PROTO_DEBUG_FIRST)
		return;
	r->debug_halted = 1;
	inst_cancel(ctx);
	uv_timer_start(&r->stats_timer, on_stats_timer, 0, uv_timer_get_repeat(&r->stats_timer));
}

static const inst_ops runner_inst_ops = {
	.resume = inst_run,
	.stats = runner_stats,
	.loop = runner_loop,
	.sleepq = runner_sleepq,
	.event = runner_event,
	.now = runner_inst_now,
	.config = runner_config,
	.journey_name = runner_journey_name,
	.http_events = runner_http_events,
	.stopping = runner_stopping,
	.fixture = runner_fixture,
	.http_engine = runner_http_engine,
	.debug = runner_debug,
	.http_trace = runner_http_trace,
	.ws_engine = runner_ws_engine,
};

const mite_api *runner_api(void)
{
	return sdk_api();
}
