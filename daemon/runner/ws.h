/*
 * ws.h - the SDK's <mite/ws.h> calls on the runner's WebSocket client
 * (runner/ws_conn.h): sessions, parking, metrics and failures.
 *
 * An instance's session (ctx->ws) holds the connections it opened; they
 * last until mite_ws_close or the iteration's end. The runner's engine
 * (ws_engine, one per runner) is the loop, the read buffer and the name
 * cache they share.
 */
#ifndef MITE_RUNNER_WS_H
#define MITE_RUNNER_WS_H

#include "runner/ws_conn.h"

struct mite_ctx;
struct mite_ws;

/* The iteration ended: connections still open are closed (1001), and a
 * failure the journey never saw on them is recorded now. */
void ws_session_end_iteration(struct mite_ctx *ctx);
/* Frees the instance's session (ctx->ws) and its connections. */
void ws_session_free(struct mite_ctx *ctx);
/* Payload bytes of the received messages w holds for the journey (tests
 * look at the queue's cap with it). */
size_t ws_held_bytes(const struct mite_ws *w);
/* The SDK's WebSocket function table. */
const struct mite_ws_api *ws_sdk_api(void);

#endif
