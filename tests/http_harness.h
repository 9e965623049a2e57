/*
 * http_harness.h - a host for instances (runner/inst.h's inst_ops) in
 * place of the runner, so that the HTTP engine can be tested alone:
 * instances are coroutines run by a plain libuv loop, or the test's own
 * code, which parks (the real inst_park) by running the loop until woken;
 * failures (the real inst_fail) and events are kept for the test to read.
 */
#ifndef MITE_TESTS_HTTP_HARNESS_H
#define MITE_TESTS_HTTP_HARNESS_H

#include "core/stats.h"
#include "runner/http.h"
#include "runner/http_sdk.h"
#include "runner/inst.h"
#include "runner/ws.h"
#include <cjson/cJSON.h>
#include <uv.h>

typedef struct harness {
	uv_loop_t loop;
	http_engine *engine;
	ws_engine *ws_engine;
	stats st;
	int http_events;
	cJSON *events; /* every event inst_event received but failures */
	int nfail; /* failures recorded (inst_fail) */
	char fail_msg[1024]; /* the last one's message */
	char fail_where[256]; /* ... and location, "file.c:line:function" */
	int engine_closed;
	int running; /* instances whose function has not returned */
	const char *http_engine; /* the config key http_engine, or NULL */
	const char *http2_max_streams; /* the config key http2_max_streams, or NULL */
	const char *ws_max_message, *ws_max_queue; /* those config keys, or NULL */
	const char *http_batch_connections; /* the config key http_batch_connections, or NULL */
} harness;

extern harness H;

/* Fresh loop, engine, stats and the SDK table (mite__api). */
void harness_init(void);
/* Closes the engine, runs the loop until every handle closed, frees all.
 * Returns uv_loop_close's result (0: nothing left open). */
int harness_fini(void);

/* An instance for journey "j". With fn, it is a coroutine running
 * fn(ctx, arg), started at once (it runs until its first park); without,
 * calls made from the test's own context park by running the loop. */
mite_ctx *harness_ctx(int (*fn)(mite_ctx *ctx, void *arg), void *arg);
void harness_ctx_free(mite_ctx *ctx);
/* What a coroutine instance's function returned. */
int harness_rc(mite_ctx *ctx);
/* Runs the loop until every coroutine instance returned (bounded by
 * timeout_s; returns -1 when it expired). */
int harness_run(double timeout_s);
/* Opens / closes a transaction (the name is copied). */
void harness_txn_begin(mite_ctx *ctx, const char *name);
void harness_txn_end(mite_ctx *ctx);
/* Cancels ctx's parked call after ms, as the runner's cancel_all does. */
void harness_cancel_after(mite_ctx *ctx, uint64_t ms);
/* The counter / histogram count of a stats entry, or 0 when it is missing. */
uint64_t harness_count(const char *kind, const char *const *labels, size_t n, int counter);

#endif
