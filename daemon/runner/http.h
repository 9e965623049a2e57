/*
 * http.h - the runner's HTTP engine and the SDK's <mite/http.h> calls on
 * top of it: a native HTTP/1.1 client for plain http:// (runner/http_native.h)
 * and libcurl's multi-socket interface for the rest, both driven by the
 * runner's libuv loop. The run's config key http_engine chooses: "auto"
 * (the default: native where it can) or "curl" (libcurl for everything).
 */
#ifndef MITE_RUNNER_HTTP_H
#define MITE_RUNNER_HTTP_H

#include <mite/mite.h>
#include <uv.h>

struct mite_ctx;
typedef struct http_engine http_engine;

/* One per runner. NULL on failure. */
http_engine *http_engine_new(uv_loop_t *loop);
/* Ends every transfer, closes the engine's handles on the loop and calls
 * done(arg) once they are closed and the engine is freed. */
void http_engine_close(http_engine *e, void (*done)(void *arg), void *arg);
/* Called at the start of every iteration: the session's cookie jar starts
 * empty (each iteration is a new visitor); connections stay. */
void http_session_new_iteration(struct mite_ctx *ctx);
/* Frees an instance's session (ctx->http), when the instance ends. */
void http_session_free(struct mite_ctx *ctx);
/* Requests (redirect hops included) each client carried so far. */
void http_engine_counts(const http_engine *e, uint64_t *native, uint64_t *curl);
/* The SDK's HTTP function table. */
const struct mite_http_api *http_sdk_api(void);

#endif
