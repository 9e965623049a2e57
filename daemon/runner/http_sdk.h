/*
 * http_sdk.h - the SDK's <mite/http.h> calls (the mite_http_api table) on
 * the HTTP engine: an instance's session, made at its first HTTP call,
 * its requests, responses and settings. The one part of the engine that
 * knows an instance (runner/inst.h): where its session and its runner's
 * engine are.
 */
#ifndef MITE_RUNNER_HTTP_SDK_H
#define MITE_RUNNER_HTTP_SDK_H

#include <mite/mite.h>

struct mite_ctx;
struct tls_ctx;

/* The SDK's HTTP function table. */
const struct mite_http_api *http_sdk_api(void);
/* Called at the start of every iteration: the session's cookie jar starts
 * empty (each iteration is a new visitor), its responses go; connections
 * stay. */
void http_sdk_new_iteration(struct mite_ctx *ctx);
/* The TLS settings the instance's HTTP calls use (mite_http_set_ca_file,
 * set_tls_verify, set_client_cert, set_tls_versions,
 * set_tls_resumption), as a TLS context offering HTTP/1.1 alone: for
 * wss:// (runner/ws.c). The session is made if need be. A reference the
 * caller puts (tls_ctx_put); NULL on ENOMEM or without native TLS. */
struct tls_ctx *http_sdk_tls_http1(struct mite_ctx *ctx);
/* Frees an instance's session (ctx->http), when the instance ends. */
void http_sdk_session_free(struct mite_ctx *ctx);
/* The instance's last HTTP exchange this iteration, as JSON the caller
 * owns (runner/http_trace.h), or NULL: none, or its session keeps no
 * trace. */
struct cJSON *http_sdk_last_exchange(struct mite_ctx *ctx);

#endif
