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
 *
 * This file is the runner's life (new, free), the controller's messages,
 * stopping, and what the SDK and HTTP code see; instances are in
 * runner_inst.c, rows in runner_rows.c, stats in runner_stats.c, the setup
 * in runner_setup.c.
 */
#include "runner/runner.h"
#include "runner/debug.h"
#include "runner/http_sdk.h"
#include "runner/runner_int.h"
#include "runner/sdk.h"

#include "core/coro.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

/* ---- messages to the controller ------------------------------------------ */

void runner_send_error(runner *r, const char *msg)
{
	cJSON *m = proto_new(PROTO_ERROR);

	if (m) {
		cJSON_AddStringToObject(m, "error", msg);
		proto_send(r->t, m);
	}
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
	runner_inst_starts_due(r);
	r->state = R_STOPPING;
	for (size_t i = 0; i < r->nj; i++)
		runner_rows_wake(&r->j[i]);
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

void runner_check_done(runner *r)
{
	if (r->state == R_STOPPING && r->live == 0) {
		r->state = R_CLOSING;
		runner_stats_send(r, 1);
		for (size_t i = 0; i < r->nj; i++)
			runner_rows_return(&r->j[i]);
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
	{ PROTO_SETUP, R_SETUP, R_DONE, runner_setup_do },
	{ PROTO_TARGETS, R_RUNNING, R_RUNNING, runner_inst_targets },
	{ PROTO_ROWS, R_RUNNING, R_DONE, runner_rows_msg },
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
	if (sleepq_init(&r->sleep, loop, runner_inst_sleep_fired, r) < 0) {
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
	runner_inst_forget_journey(); /* its journeys' names go */
	for (size_t i = 0; i < r->nj; i++) {
		rjourney *j = &r->j[i];

		runner_rows_free(j);
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
	runner_stats_now(r);
}

const inst_ops runner_ops = {
	.resume = runner_inst_run,
	.stats = runner_stats,
	.loop = runner_loop,
	.sleepq = runner_sleepq,
	.event = runner_stats_event,
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
