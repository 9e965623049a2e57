/* http_harness.c - see http_harness.h. */
#include "http_harness.h"

#include "core/coro.h"
#include <criterion/criterion.h>
#include <mite/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

harness H;
const mite_api *mite__api;

static const inst_ops harness_ops;

struct hinst {
	mite_ctx ctx; /* first */
	int (*fn)(mite_ctx *ctx, void *arg);
	void *arg;
	int rc, done;
	uv_timer_t cancel_timer;
	int cancel_timer_on;
};

static mite_api api;

static void inst_entry(void *arg)
{
	struct hinst *h = arg;

	h->rc = h->fn(&h->ctx, h->arg);
	h->done = 1;
	H.running--;
}

void harness_init(void)
{
	memset(&H, 0, sizeof(H));
	cr_assert_eq(uv_loop_init(&H.loop), 0);
	H.engine = http_engine_new(&H.loop, &inst_http_host);
	cr_assert_not_null(H.engine);
	H.ws_engine = ws_engine_new(&H.loop);
	cr_assert_not_null(H.ws_engine);
	stats_init(&H.st);
	H.events = cJSON_CreateArray();
	api.abi_version = MITE_ABI_VERSION;
	api.size = sizeof(api);
	api.http = http_sdk_api();
	api.ws = ws_sdk_api();
	mite__api = &api;
}

static void engine_closed(void *arg)
{
	(void)arg;
	H.engine_closed = 1;
}

static void walk_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	fprintf(stderr, "harness: handle left open: %s\n", uv_handle_type_name(h->type));
}

int harness_fini(void)
{
	int rc;

	ws_engine_close(H.ws_engine, NULL, NULL);
	http_engine_close(H.engine, engine_closed, NULL);
	for (int i = 0; i < 1000 && !H.engine_closed; i++)
		uv_run(&H.loop, UV_RUN_ONCE);
	cr_expect(H.engine_closed, "the engine's close callback ran");
	uv_run(&H.loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&H.loop);
	if (rc)
		uv_walk(&H.loop, walk_cb, NULL);
	stats_free(&H.st);
	cJSON_Delete(H.events);
	coro_pool_drain();
	return rc;
}

mite_ctx *harness_ctx(int (*fn)(mite_ctx *ctx, void *arg), void *arg)
{
	static uint64_t ids;
	struct hinst *h = calloc(1, sizeof(*h));

	cr_assert_not_null(h);
	h->ctx.ops = &harness_ops;
	h->ctx.id = ++ids;
	h->fn = fn;
	h->arg = arg;
	if (fn) {
		h->ctx.co = coro_new(256 * 1024, inst_entry, h, "j");
		cr_assert_not_null(h->ctx.co);
		H.running++;
		coro_resume(h->ctx.co); /* runs until its first park */
	}
	return &h->ctx;
}

static void cancel_timer_closed(uv_handle_t *t)
{
	free(t->data);
}

void harness_ctx_free(mite_ctx *ctx)
{
	struct hinst *h = (struct hinst *)ctx;

	http_sdk_session_free(ctx);
	ws_session_free(ctx);
	for (int i = 0; i < ctx->ntxn; i++)
		free(ctx->txn[i].name);
	if (ctx->co)
		coro_free(ctx->co);
	if (h->cancel_timer_on) {
		h->cancel_timer.data = h;
		uv_close((uv_handle_t *)&h->cancel_timer, cancel_timer_closed);
	} else {
		free(h);
	}
}

int harness_rc(mite_ctx *ctx)
{
	return ((struct hinst *)ctx)->rc;
}

int harness_run(double timeout_s)
{
	uint64_t end = uv_hrtime() + (uint64_t)(timeout_s * 1e9);

	while (H.running > 0) {
		if (uv_hrtime() > end)
			return -1;
		uv_run(&H.loop, UV_RUN_ONCE);
	}
	return 0;
}

void harness_txn_begin(mite_ctx *ctx, const char *name)
{
	char full[512];

	if (ctx->ntxn > 0)
		snprintf(full, sizeof(full), "%s :: %s", ctx->txn[ctx->ntxn - 1].name, name);
	else
		snprintf(full, sizeof(full), "%s", name);
	ctx->txn[ctx->ntxn].name = strdup(full);
	ctx->txn[ctx->ntxn].failed = 0;
	ctx->ntxn++;
}

void harness_txn_end(mite_ctx *ctx)
{
	if (ctx->ntxn > 0)
		free(ctx->txn[--ctx->ntxn].name);
}

static void on_cancel_timer(uv_timer_t *t)
{
	struct hinst *h = t->data;

	inst_cancel(&h->ctx);
}

void harness_cancel_after(mite_ctx *ctx, uint64_t ms)
{
	struct hinst *h = (struct hinst *)ctx;

	uv_timer_init(&H.loop, &h->cancel_timer);
	h->cancel_timer.data = h;
	h->cancel_timer_on = 1;
	uv_timer_start(&h->cancel_timer, on_cancel_timer, ms, 0);
}

uint64_t harness_count(const char *kind, const char *const *labels, size_t n, int counter)
{
	const stats_entry *e = stats_find(&H.st, kind, labels, n);
	return e ? e->c[counter] : 0;
}

/* ---- the host of the instances (inst_ops) -------------------------------- */

/* A coroutine instance runs at once; the test's own code, parked in
 * harness_block, returns from uv_run without blocking in its poll phase
 * (idle keep-alive connections stay watched). */
static void harness_resume(mite_ctx *ctx)
{
	if (ctx->co && coro_current() == NULL)
		coro_resume(ctx->co);
	else if (!ctx->co)
		uv_stop(&H.loop);
}

static void harness_block(mite_ctx *ctx)
{
	while (!ctx->woken)
		uv_run(&H.loop, UV_RUN_ONCE);
}

static stats *harness_stats(mite_ctx *ctx)
{
	(void)ctx;
	return &H.st;
}
static uv_loop_t *harness_loop(mite_ctx *ctx)
{
	(void)ctx;
	return &H.loop;
}

/* (No snprintf: the stack test measures the failure's path, this too.) */
static void copy_str(char *dst, size_t len, const cJSON *v)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	size_t n = strnlen(s, len - 1);

	memcpy(dst, s, n);
	dst[n] = 0;
}

/* Failures (inst_fail's error events) are kept for the test to read;
 * other events go to H.events. */
static void harness_event(mite_ctx *ctx, cJSON *ev)
{
	const cJSON *type = cJSON_GetObjectItem(ev, "type");

	(void)ctx;
	if (cJSON_IsString(type) && strcmp(type->valuestring, "error") == 0) {
		copy_str(H.fail_msg, sizeof(H.fail_msg), cJSON_GetObjectItem(ev, "message"));
		copy_str(H.fail_where, sizeof(H.fail_where), cJSON_GetObjectItem(ev, "location"));
		H.nfail++;
		cJSON_Delete(ev);
		return;
	}
	cJSON_AddItemToArray(H.events, ev);
}

static int harness_http_events(mite_ctx *ctx)
{
	(void)ctx;
	return H.http_events;
}
static double harness_now(mite_ctx *ctx)
{
	(void)ctx;
	return uv_hrtime() / 1e9;
}
static const char *harness_config(mite_ctx *ctx, const char *key)
{
	(void)ctx;
	if (strcmp(key, "ws_max_message") == 0)
		return H.ws_max_message;
	if (strcmp(key, "ws_max_queue") == 0)
		return H.ws_max_queue;
	if (strcmp(key, "http2_max_streams") == 0)
		return H.http2_max_streams;
	if (strcmp(key, "http_batch_connections") == 0)
		return H.http_batch_connections;
	return strcmp(key, "http_engine") == 0 ? H.http_engine : NULL;
}
static const char *harness_journey_name(mite_ctx *ctx)
{
	(void)ctx;
	return "j";
}
static int harness_stopping(mite_ctx *ctx)
{
	return ctx->cancelled;
}
static void *harness_fixture(mite_ctx *ctx)
{
	(void)ctx;
	return NULL;
}
static struct http_engine *harness_http_engine(mite_ctx *ctx)
{
	(void)ctx;
	return H.engine;
}
static struct ws_engine *harness_ws_engine(mite_ctx *ctx)
{
	(void)ctx;
	return H.ws_engine;
}

static const inst_ops harness_ops = {
	.resume = harness_resume,
	.block = harness_block,
	.stats = harness_stats,
	.loop = harness_loop,
	.event = harness_event,
	.now = harness_now,
	.config = harness_config,
	.journey_name = harness_journey_name,
	.http_events = harness_http_events,
	.stopping = harness_stopping,
	.fixture = harness_fixture,
	.http_engine = harness_http_engine,
	.ws_engine = harness_ws_engine,
};
