/*
 * inst.c - see inst.h.
 *
 * One implementation of parking for every host: the runner's instances
 * always park in their coroutine; a test harness may also park its own
 * code (inst_ops.block), which then runs the loop until woken.
 */
#include "runner/inst.h"

#include "runner/http.h"

#include "core/log.h"

#include <stdio.h>
#include <string.h>

#define INST_MSG_MAX 1024

static char last_error[INST_MSG_MAX];

/* ---- parking ------------------------------------------------------------- */

int inst_park(mite_ctx *ctx, inst_cancel_fn cancel, void *arg)
{
	int in_coro = ctx->co && coro_current() == ctx->co;

	if (!in_coro && !ctx->ops->block)
		return MITE_EINVAL;
	if (!ctx->cancelled) {
		ctx->parked = 1;
		ctx->woken = 0;
		ctx->cancel_fn = cancel;
		ctx->cancel_arg = arg;
		ctx->parks++;
		if (in_coro)
			coro_yield();
		else
			ctx->ops->block(ctx);
		ctx->parked = 0;
		ctx->cancel_fn = NULL;
	}
	if (!ctx->cancelled)
		return 0;
	inst_cancelled(ctx);
	return MITE_ECANCELED;
}

void inst_wake(mite_ctx *ctx)
{
	if (!ctx->parked || ctx->woken)
		return;
	ctx->woken = 1;
	ctx->ops->resume(ctx);
}

void inst_cancel(mite_ctx *ctx)
{
	ctx->cancelled = 1;
	if (!ctx->parked || ctx->woken)
		return;
	if (ctx->cancel_fn)
		ctx->cancel_fn(ctx, ctx->cancel_arg);
	ctx->cancel_fn = NULL;
	inst_wake(ctx);
}

void inst_cancelled(mite_ctx *ctx)
{
	if (ctx->module_ctx)
		return;
	/* Failed without an error of its own: the cancellation is counted,
	 * and a journey returning the code must not add "journey returned". */
	ctx->iter_cancelled = 1;
	ctx->failed = 1;
	for (int i = 0; i < ctx->ntxn; i++) {
		ctx->txn[i].failed = 1;
		ctx->txn[i].cancelled = 1;
	}
}

static void sleep_cancel(mite_ctx *ctx, void *arg)
{
	(void)arg;
	sleepq_del(ctx->ops->sleepq(ctx), &ctx->sleep);
}

int inst_sleep(mite_ctx *ctx, double seconds)
{
	/* Ten years at most: no overflow of the clock. */
	uint64_t ns = (uint64_t)((seconds < 3.2e8 ? seconds : 3.2e8) * 1e9);
	sleepq *q = ctx->ops->sleepq ? ctx->ops->sleepq(ctx) : NULL;

	if (!q)
		return MITE_EINVAL;
	sleepq_add(q, &ctx->sleep, uv_hrtime() + ns);
	return inst_park(ctx, sleep_cancel, NULL);
}

/* ---- failures ------------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

void inst_error(mite_ctx *ctx, const char *txn, const char *location, const char *msg)
{
	const char *labels[4];
	stats_entry *e;
	cJSON *ev;

	labels[0] = inst_journey_name(ctx);
	labels[1] = txn ? txn : inst_txn_name(ctx);
	labels[2] = location;
	labels[3] = msg;
	e = stats_get(inst_stats(ctx), SK_ERROR.name, labels, SK_ERROR.nlabels);
	if (e)
		stats_add(e, 0, 1);
	ev = cJSON_CreateObject();
	if (ev) {
		cJSON_AddStringToObject(ev, "type", "error");
		cJSON_AddNumberToObject(ev, "time", inst_now(ctx));
		cJSON_AddStringToObject(ev, "journey", labels[0]);
		cJSON_AddStringToObject(ev, "transaction", labels[1]);
		cJSON_AddStringToObject(ev, "location", location);
		cJSON_AddStringToObject(ev, "message", msg);
		cJSON_AddNumberToObject(ev, "instance", (double)ctx->id);
		if (ctx->ops->debug)
			ctx->ops->debug(ctx, ev);
		inst_event(ctx, ev);
	}
	for (int i = 0; i < ctx->ntxn; i++)
		ctx->txn[i].failed = 1;
	ctx->failed = 1;
}

int inst_vfail(mite_ctx *ctx, const char *txn, const char *file, int line, const char *func,
	       const char *fmt, va_list ap)
{
	/* Off the stack: this runs on a journey's, whose pages are committed
	 * as they are touched (a thread's own: runners may share a process). */
	static __thread char msg[INST_MSG_MAX], loc[512];

	if (!fmt)
		snprintf(msg, sizeof msg, "%s", "failed");
	else if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
		snprintf(msg, sizeof msg, "failed (bad format)");
	snprintf(loc, sizeof loc, "%s:%d:%s", base_name(file ? file : "?"), line,
		 func ? func : "?");
	if (ctx->module_ctx) {
		if (snprintf(last_error, sizeof last_error, "%s (%s)", msg, loc) >=
		    (int)sizeof last_error)
			last_error[sizeof last_error - 2] = '~'; /* marks the cut */
		log_err("journey %s: init: %s (%s)", inst_journey_name(ctx), msg, loc);
		return MITE_EFAIL;
	}
	inst_error(ctx, txn, loc, msg);
	return MITE_EFAIL;
}

int inst_fail(mite_ctx *ctx, const char *file, int line, const char *func, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = inst_vfail(ctx, NULL, file, line, func, fmt, ap);
	va_end(ap);
	return rc;
}

const char *inst_last_error(void)
{
	return last_error[0] ? last_error : NULL;
}

/* ---- the host's services --------------------------------------------------- */

const char *inst_txn_name(mite_ctx *ctx)
{
	return ctx->ntxn ? ctx->txn[ctx->ntxn - 1].name : "";
}
stats *inst_stats(mite_ctx *ctx)
{
	return ctx->ops->stats(ctx);
}
uv_loop_t *inst_loop(mite_ctx *ctx)
{
	return ctx->ops->loop(ctx);
}
void inst_event(mite_ctx *ctx, cJSON *ev)
{
	ctx->ops->event(ctx, ev);
}
int inst_http_events(mite_ctx *ctx)
{
	return ctx->ops->http_events(ctx);
}
int inst_http_trace(mite_ctx *ctx)
{
	return ctx->ops->http_trace ? ctx->ops->http_trace(ctx) : 0;
}
double inst_now(mite_ctx *ctx)
{
	return ctx->ops->now(ctx);
}
const char *inst_config(mite_ctx *ctx, const char *key)
{
	return ctx->ops->config(ctx, key);
}
const char *inst_journey_name(mite_ctx *ctx)
{
	return ctx->ops->journey_name(ctx);
}
int inst_stopping(mite_ctx *ctx)
{
	return ctx->ops->stopping(ctx);
}
void *inst_fixture(mite_ctx *ctx)
{
	return ctx->ops->fixture(ctx);
}
struct http_engine *inst_http_engine(mite_ctx *ctx)
{
	return ctx->ops->http_engine(ctx);
}
struct ws_engine *inst_ws_engine(mite_ctx *ctx)
{
	return ctx->ops->ws_engine ? ctx->ops->ws_engine(ctx) : NULL;
}

/* The HTTP engine's host operations, bound to this layer: the runner's and
 * the test harness's engines take the same table. */
const http_host inst_http_host = {
	.park = inst_park,
	.wake = inst_wake,
	.fail = inst_vfail,
	.event = inst_event,
	.stats = inst_stats,
	.now = inst_now,
	.config = inst_config,
	.txn_name = inst_txn_name,
	.journey_name = inst_journey_name,
	.http_events = inst_http_events,
	.trace = inst_http_trace,
};
