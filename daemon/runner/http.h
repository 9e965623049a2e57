/*
 * http.h - the runner's HTTP engine: its own client for http:// and
 * https:// (runner/http_native.h) and libcurl's multi-socket interface
 * for the rest, both driven by the runner's libuv loop. The run's config
 * key http_engine chooses: "auto" (the default: native where it can) or
 * "curl" (libcurl for everything). The SDK's <mite/http.h> calls on top
 * are runner/http_sdk.h's.
 */
#ifndef MITE_RUNNER_HTTP_H
#define MITE_RUNNER_HTTP_H

#include "core/stats.h"
#include <cjson/cJSON.h>
#include <mite/mite.h>
#include <stdarg.h>
#include <uv.h>

struct mite_ctx;
typedef struct http_engine http_engine;

/* http_host.trace's answer (bits; runner/http_trace.h). */
#define HTTP_TRACE_KEEP 0x1 /* keep the last exchange of each iteration */
#define HTTP_TRACE_EMIT 0x2 /* send an http_trace event per hop */
/* What a trace shows of each hop (mitectl(1), DEBUGGING). */
#define HTTP_TRACE_BODY_MAX 1024 /* body bytes, each way */
#define HTTP_TRACE_HEAD_MAX 4096 /* header bytes, each way */
#define HTTP_TRACE_URL_MAX 2048 /* URL bytes */

/* What the engine needs of the instances it serves and of their host (the
 * runner's are runner/inst.h's inst_* functions; a test may stand in for
 * some). The engine never includes the instance layer: an instance is an
 * opaque mite_ctx to it. */
typedef struct http_host {
	/* Parks the instance until wake; cancel(ctx, arg) is called if the
	 * run is cancelled meanwhile. 0, MITE_ECANCELED or MITE_EINVAL. */
	int (*park)(struct mite_ctx *ctx, void (*cancel)(struct mite_ctx *ctx, void *arg),
		    void *arg);
	/* Resumes a parked instance at once (from a loop callback). */
	void (*wake)(struct mite_ctx *ctx);
	/* Records a failure under transaction txn (NULL: the innermost open
	 * one), failing the open transactions. Returns MITE_EFAIL. */
	int (*fail)(struct mite_ctx *ctx, const char *txn, const char *file, int line,
		    const char *func, const char *fmt, va_list ap)
		__attribute__((format(printf, 6, 0)));
	/* Queues an event (takes ownership of ev). */
	void (*event)(struct mite_ctx *ctx, cJSON *ev);
	/* The stats table (entries may be cached for the engine's life). */
	stats *(*stats)(struct mite_ctx *ctx);
	double (*now)(struct mite_ctx *ctx);
	/* The run's config value, or NULL. */
	const char *(*config)(struct mite_ctx *ctx, const char *key);
	/* The innermost open transaction's name ("" when none), the
	 * journey's name. */
	const char *(*txn_name)(struct mite_ctx *ctx);
	const char *(*journey_name)(struct mite_ctx *ctx);
	/* Whether per-response http_metrics events are asked for. */
	int (*http_events)(struct mite_ctx *ctx);
	/* What the instance's session keeps of its requests for mitectl's
	 * --debug and --trace-http: HTTP_TRACE_* bits (runner/http_trace.h),
	 * asked once per session. NULL or 0: nothing. */
	int (*trace)(struct mite_ctx *ctx);
} http_host;

/* One per runner, serving the instances of host (borrowed for the
 * engine's life). NULL on failure. */
http_engine *http_engine_new(uv_loop_t *loop, const http_host *host);
/* Ends every transfer, closes the engine's handles on the loop and calls
 * done(arg) once they are closed and the engine is freed. */
void http_engine_close(http_engine *e, void (*done)(void *arg), void *arg);
/* Requests (redirect hops included) each client carried so far. */
void http_engine_counts(const http_engine *e, uint64_t *native, uint64_t *curl);

#endif
