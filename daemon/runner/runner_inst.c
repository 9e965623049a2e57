/*
 * runner_inst.c - a runner's journey instances: coroutines started, run,
 * parked and ended; their scheduling on the loop (closed-model shares kept
 * by balancing, open-model starts spread over the tick); the targets
 * message that sets both.
 */
#include "runner/http_sdk.h"
#include "runner/runner_int.h"
#include "runner/sdk.h"

#include "core/coro.h"
#include "core/log.h"
#include "core/proto_msg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *current_journey;
/* The journey whose code ran last (stats' "journey"): a runner killed
 * from outside between two turns is reported with it. */
static const char *last_journey;

const char *runner_current_journey(void)
{
	return current_journey;
}

const char *runner_inst_last_journey(void)
{
	return current_journey ? current_journey : last_journey;
}

void runner_inst_forget_journey(void)
{
	last_journey = NULL;
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
	runner_inst_kick(r);
}

/* Switches into an instance until it parks or ends. */
void runner_inst_run(mite_ctx *ctx)
{
	const char *prev = current_journey;
	int alive;

	current_journey = last_journey = ctx->j->name;
	alive = coro_resume(ctx->co);
	current_journey = prev;
	if (!alive)
		inst_finish(ctx);
}

void runner_inst_sleep_fired(sleepq *q, sleepq_node *n, void *data)
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
	runner_inst_kick(r);
}

/* Hands the loop a turn between two iterations that never parked, so a
 * journey that never waits cannot starve the loop (stats, messages). */
static void inst_yield_turn(mite_ctx *ctx)
{
	inst_schedule(ctx);
	inst_park(ctx, NULL, NULL);
}

static int past_deadline(runner *r)
{
	return r->deadline > 0 && runner_now(r) >= r->deadline;
}

static int want_more(mite_ctx *ctx)
{
	rjourney *j = ctx->j;

	if (ctx->r->state != R_RUNNING || j->open || runner_rows_out(j) || past_deadline(ctx->r) ||
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

		rc = runner_rows_next(ctx, &row);
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
		runner_rows_release(j, row);
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
	ctx->ops = &runner_ops;
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
	runner_inst_run(ctx);
	return ctx;
}

/* ---- scheduling --------------------------------------------------------- */

static void journey_balance(rjourney *j)
{
	runner *r = j->r;
	long want;

	j->balance = 0;
	if (r->state != R_RUNNING || j->open || runner_rows_out(j) || past_deadline(r) ||
	    r->debug_halted)
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

void runner_inst_kick(runner *r)
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

	if (r->state != R_RUNNING || j->pending <= 0 || runner_rows_out(j) || r->debug_halted) {
		runner_rows_drop_starts(j);
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

void runner_inst_targets(runner *r, const cJSON *m)
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
			runner_rows_prefetch(j);
	}
	free(t.j);
	runner_inst_kick(r);
}

/* Open-model starts due before the stop still happen: they were handed
 * out for a window that has ended (timer jitter may leave one). */
void runner_inst_starts_due(runner *r)
{
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];

		uv_timer_stop(&j->spread);
		while (j->pending > 0 && !runner_rows_out(j)) {
			j->pending--;
			record_start_lag(j, runner_now(r));
			if (!inst_start(j))
				break;
		}
		j->pending = 0;
	}
}
