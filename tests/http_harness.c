/* http_harness.c - see http_harness.h. */
#include "http_harness.h"

#include "core/coro.h"
#include <criterion/criterion.h>
#include <mite/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

harness H;
const mite_api *mite__api;

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
	H.engine = http_engine_new(&H.loop);
	cr_assert_not_null(H.engine);
	stats_init(&H.st);
	H.events = cJSON_CreateArray();
	api.abi_version = MITE_ABI_VERSION;
	api.size = sizeof(api);
	api.http = http_sdk_api();
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

	http_session_free(ctx);
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
	mite_ctx *c = &h->ctx;

	c->cancelled = 1;
	if (c->parked && !c->woken) {
		if (c->cancel_fn)
			c->cancel_fn(c, c->cancel_arg);
		c->cancel_fn = NULL;
		inst_wake(c);
	}
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

/* ---- the inst_* layer ----------------------------------------------------- */

int inst_park(mite_ctx *ctx, inst_cancel_fn cancel, void *arg)
{
	if (ctx->cancelled)
		return MITE_ECANCELED;
	ctx->parked = 1;
	ctx->woken = 0;
	ctx->cancel_fn = cancel;
	ctx->cancel_arg = arg;
	if (ctx->co && coro_current() == ctx->co) {
		coro_yield();
	} else {
		while (!ctx->woken)
			uv_run(&H.loop, UV_RUN_ONCE);
	}
	ctx->parked = 0;
	ctx->cancel_fn = NULL;
	return ctx->cancelled ? MITE_ECANCELED : 0;
}

void inst_wake(mite_ctx *ctx)
{
	if (!ctx->parked || ctx->woken)
		return;
	ctx->woken = 1;
	if (ctx->co && coro_current() == NULL)
		coro_resume(ctx->co);
	else if (!ctx->co)
		/* The parked caller runs the loop itself: let uv_run return
		 * without blocking in its poll phase (idle keep-alive
		 * connections stay watched). */
		uv_stop(&H.loop);
}

const char *inst_txn_name(mite_ctx *ctx) { return ctx->ntxn ? ctx->txn[ctx->ntxn - 1].name : ""; }
stats *inst_stats(mite_ctx *ctx) { (void)ctx; return &H.st; }
uv_loop_t *inst_loop(mite_ctx *ctx) { (void)ctx; return &H.loop; }

int inst_fail(mite_ctx *ctx, const char *file, int line, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(H.fail_msg, sizeof(H.fail_msg), fmt, ap);
	va_end(ap);
	snprintf(H.fail_where, sizeof(H.fail_where), "%s:%d:%s", file, line, func);
	H.nfail++;
	ctx->failed = 1;
	for (int i = 0; i < ctx->ntxn; i++)
		ctx->txn[i].failed = 1;
	return MITE_EFAIL;
}

void inst_event(mite_ctx *ctx, cJSON *ev) { (void)ctx; cJSON_AddItemToArray(H.events, ev); }
int inst_http_events(mite_ctx *ctx) { (void)ctx; return H.http_events; }
double inst_now(mite_ctx *ctx) { (void)ctx; return uv_hrtime() / 1e9; }
const char *inst_config(mite_ctx *ctx, const char *key)
{
	(void)ctx;
	if (strcmp(key, "http2_max_streams") == 0)
		return H.http2_max_streams;
	return strcmp(key, "http_engine") == 0 ? H.http_engine : NULL;
}
const char *inst_journey_name(mite_ctx *ctx) { (void)ctx; return "j"; }
struct http_engine *inst_http_engine(mite_ctx *ctx) { (void)ctx; return H.engine; }
