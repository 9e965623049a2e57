/*
 * ws.h - WebSocket journeys for mite's journey SDK (include after
 * <mite/mite.h>; man mite-ws(3)).
 *
 *     #include <mite/mite.h>
 *     #include <mite/ws.h>
 *
 *     mite_ws *ws;
 *     mite_ws_msg *m;
 *     if (mite_ws_open(ctx, "ws://127.0.0.1:8080/echo", NULL, &ws) < 0)
 *         return 1;                           // recorded already
 *     mite_ws_send_text(ctx, ws, "hello", MITE_WS_MARK);
 *     if (mite_ws_recv(ctx, ws, 5.0, &m) == 0)
 *         ...m->data, m->len, m->rtt...
 *     mite_ws_close(ctx, ws, 1000, NULL);
 *
 * A connection belongs to the instance that opened it; it lives until
 * mite_ws_close, or the end of the iteration (connections still open then
 * are closed with 1001 "going away"). Several may be open at once.
 *
 * Metrics (man mite-ws(3)): messages and payload bytes each way, the
 * connect time (DNS, TCP, TLS and the Upgrade handshake) and marked round trips,
 * by (journey, transaction, name), where name is the connection's
 * (mite_ws_opts.name, else the URL's path); failures by class.
 *
 * Every call is a function-like macro around an inline function, so that
 * arguments may hold compound literals with commas
 * (`&(mite_ws_opts){.name = "chat", .timeout = 2}`) and failures carry the
 * caller's file:line. Calls that may yield say so.
 */
#ifndef MITE_WS_H
#define MITE_WS_H

#include <mite/mite.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MITE_WS_API_VERSION 1

/* A WebSocket connection; owned by mite. */
typedef struct mite_ws mite_ws;

/* Send flags. */
#define MITE_WS_TEXT \
	0x0 /* a text message (the default; UTF-8 is the
			    * journey's business, as the server checks it) */
#define MITE_WS_BINARY 0x1 /* a binary message */
#define MITE_WS_MARK \
	0x2 /* time the round trip from this send to the next
			    * message that arrives (mite_ws_msg.rtt) */
/* Receive flags. */
#define MITE_WS_TIMEOUT_OK \
	0x4 /* a timeout returns MITE_ETIMEDOUT without
				* failing the transaction or counting it */

/* The longest connection or mark name, in bytes (a longer one is refused
 * with MITE_EINVAL and a recorded failure). */
#define MITE_WS_NAME_MAX 63

/* The run's defaults (config keys ws_max_message, ws_max_queue). */
#define MITE_WS_DEFAULT_MAX_MESSAGE ((size_t)1 << 20)
#define MITE_WS_DEFAULT_MAX_QUEUE ((size_t)4 << 20)

/* Options of mite_ws_open; every field optional (zero: the default). */
typedef struct mite_ws_opts {
	/* The connection's label in the statistics (at most
	 * MITE_WS_NAME_MAX bytes); default: the URL's path without its query
	 * (its first MITE_WS_NAME_MAX bytes). Borrowed for the call. */
	const char *name;
	/* Extra handshake header lines, "Name: value", NULL-terminated (an
	 * Origin, a Cookie, an Authorization...). The handshake's own
	 * (Upgrade, Connection, Sec-WebSocket-Key, -Version) cannot be
	 * replaced. Borrowed for the call. */
	const char *const *headers;
	/* Sec-WebSocket-Protocol: the subprotocols offered, "a, b"; the
	 * server's choice is mite_ws_protocol(). NULL: none. */
	const char *protocols;
	/* Seconds allowed to connect and shake hands, and for the close
	 * handshake (default 10). */
	double timeout;
	/* The largest message accepted from the server, in bytes (default
	 * the run's ws_max_message, 1 MiB). A larger one fails the
	 * connection with class "too_large" (close code 1009). */
	size_t max_message;
	/* The most payload bytes of received messages the journey has not
	 * taken yet (default the run's ws_max_queue, 4 MiB; at least one
	 * message is always held). Past it mite stops reading the socket
	 * until the journey takes messages: TCP then slows the server down;
	 * nothing is dropped. */
	size_t max_queue;
	void *spare[4];
} mite_ws_opts;

/* A received message; owned by the connection, valid until the next
 * mite_ws_recv on it or its close. */
typedef struct mite_ws_msg {
	uint32_t size; /* sizeof(mite_ws_msg) as mite built it */
	int binary; /* 1: binary, 0: text */
	const char *data; /* the payload, NUL-terminated after len bytes */
	size_t len;
	double arrived; /* mite_now() when its last byte arrived */
	double rtt; /* seconds from the marked send it is the first
			     * message after, or -1 when it answers no mark */
	void *spare[2];
} mite_ws_msg;

/* The table (mite_api.ws); NULL in a mite without WebSocket support (the
 * wrappers then return MITE_EINVAL). Its layout only grows. */
typedef struct mite_ws_api {
	uint32_t version; /* MITE_WS_API_VERSION */
	uint32_t size; /* sizeof(struct mite_ws_api) */
	int (*open)(mite_ctx *ctx, const char *url, const mite_ws_opts *opts, mite_ws **out,
		    const char *file, int line, const char *func);
	int (*send)(mite_ctx *ctx, mite_ws *ws, const void *data, size_t len, unsigned flags,
		    const char *mark, const char *file, int line, const char *func);
	int (*recv)(mite_ctx *ctx, mite_ws *ws, double timeout, unsigned flags, mite_ws_msg **out,
		    const char *file, int line, const char *func);
	int (*ping)(mite_ctx *ctx, mite_ws *ws, const char *file, int line, const char *func);
	int (*close)(mite_ctx *ctx, mite_ws *ws, int code, const char *reason, const char *file,
		     int line, const char *func);
	int (*close_code)(const mite_ws *ws);
	const char *(*close_reason)(const mite_ws *ws);
	const char *(*protocol)(const mite_ws *ws);
	void *spare[8];
} mite_ws_api;

#define mite__ws (mite__api->ws)

/* ---- connecting ------------------------------------------------------------
 * mite_ws_open(ctx, url, opts, &ws): connects to a ws:// or wss:// URL
 * and shakes hands (HTTP/1.1 Upgrade). wss:// takes the TLS settings of
 * the instance's HTTP calls (mite_http_set_ca_file, set_tls_verify,
 * set_client_cert, set_tls_versions: see mite-ws(3)). May yield. 0 with
 * *ws set; otherwise *ws is NULL, the failure is recorded on the
 * transaction with its class, and it returns MITE_EIO (dns, refused,
 * connect, tls, handshake, reset), MITE_ETIMEDOUT (timeout), MITE_EINVAL
 * (a bad URL or option), MITE_ENOMEM or MITE_ECANCELED. */
static inline int mite__ws_open(const char *file, int line, const char *func, mite_ctx *ctx,
				const char *url, const mite_ws_opts *opts, mite_ws **out)
{
	if (out)
		*out = NULL;
	return mite__ws ? mite__ws->open(ctx, url, opts, out, file, line, func) : MITE_EINVAL;
}
#define mite_ws_open(...) mite__ws_open(__FILE__, __LINE__, __func__, __VA_ARGS__)

/* ---- sending ----------------------------------------------------------------
 * mite_ws_send(ctx, ws, data, len, flags): sends one message (MITE_WS_TEXT
 * or MITE_WS_BINARY, maybe | MITE_WS_MARK). The bytes are copied. It
 * yields only while more than the connection's max_queue bytes wait to be
 * sent (the server reads slower than the journey writes), at most the
 * connection's timeout (then MITE_ETIMEDOUT, class "timeout").
 * mite_ws_send_text(ctx, ws, string, flags) sends a string.
 * mite_ws_send_mark(ctx, ws, name, data, len, flags) sends with a mark
 * whose round trip is recorded under `name` (at most MITE_WS_NAME_MAX
 * bytes) rather than the connection's.
 * A connection holds one mark: a new one replaces one not yet answered.
 * 0, or MITE_EIO (the connection failed or is closing: recorded),
 * MITE_ECLOSED (the server closed it), MITE_EINVAL, MITE_ENOMEM,
 * MITE_ECANCELED. */
static inline int mite__ws_send(const char *file, int line, const char *func, mite_ctx *ctx,
				mite_ws *ws, const void *data, size_t len, unsigned flags)
{
	return mite__ws ? mite__ws->send(ctx, ws, data, len, flags, NULL, file, line, func)
			: MITE_EINVAL;
}
#define mite_ws_send(...) mite__ws_send(__FILE__, __LINE__, __func__, __VA_ARGS__)

static inline int mite__ws_send_text(const char *file, int line, const char *func, mite_ctx *ctx,
				     mite_ws *ws, const char *s, unsigned flags)
{
	return mite__ws && s ? mite__ws->send(ctx, ws, s, strlen(s), flags & ~MITE_WS_BINARY, NULL,
					      file, line, func)
			     : MITE_EINVAL;
}
#define mite_ws_send_text(...) mite__ws_send_text(__FILE__, __LINE__, __func__, __VA_ARGS__)

static inline int mite__ws_send_mark(const char *file, int line, const char *func, mite_ctx *ctx,
				     mite_ws *ws, const char *name, const void *data, size_t len,
				     unsigned flags)
{
	return mite__ws
		? mite__ws->send(ctx, ws, data, len, flags | MITE_WS_MARK, name, file, line, func)
		: MITE_EINVAL;
}
#define mite_ws_send_mark(...) mite__ws_send_mark(__FILE__, __LINE__, __func__, __VA_ARGS__)

/* ---- receiving ----------------------------------------------------------------
 * mite_ws_recv(ctx, ws, timeout, &msg): the next message, waiting at most
 * timeout seconds (0 or less: only one that is there already). May yield.
 * 0 with *msg set; otherwise *msg is NULL and it returns:
 *   MITE_ETIMEDOUT  none came in time (class "timeout", the transaction
 *                   failed; not with mite_ws_recv_flags(..., MITE_WS_TIMEOUT_OK, ...))
 *   MITE_ECLOSED    the server closed the connection (every message before
 *                   its close was taken): mite_ws_close_code() says how.
 *                   A code other than 1000 also fails the transaction
 *                   (class "closed")
 *   MITE_EIO        the connection failed (reset, protocol, too_large:
 *                   recorded)
 *   MITE_ECANCELED  the run is being cancelled: return promptly
 * Pings are answered and pongs taken by mite: they are not messages. */
static inline int mite__ws_recv(const char *file, int line, const char *func, mite_ctx *ctx,
				mite_ws *ws, double timeout, unsigned flags, mite_ws_msg **out)
{
	if (out)
		*out = NULL;
	return mite__ws ? mite__ws->recv(ctx, ws, timeout, flags, out, file, line, func)
			: MITE_EINVAL;
}
#define mite_ws_recv(ctx, ws, timeout, ...) \
	mite__ws_recv(__FILE__, __LINE__, __func__, (ctx), (ws), (timeout), 0, __VA_ARGS__)
#define mite_ws_recv_flags(...) mite__ws_recv(__FILE__, __LINE__, __func__, __VA_ARGS__)

/* ---- ping and close --------------------------------------------------------------
 * mite_ws_ping(ctx, ws): sends a ping; its pong's round trip is recorded
 * (ws ping latency). Does not yield (nor wait for the pong). 0, or what
 * a connection that is not usable returns (as mite_ws_send), or MITE_EIO
 * when the ping could not be queued. */
static inline int mite__ws_ping(const char *file, int line, const char *func, mite_ctx *ctx,
				mite_ws *ws)
{
	return mite__ws ? mite__ws->ping(ctx, ws, file, line, func) : MITE_EINVAL;
}
#define mite_ws_ping(...) mite__ws_ping(__FILE__, __LINE__, __func__, __VA_ARGS__)

/* mite_ws_close(ctx, ws, code, reason): the close handshake: sends a close
 * (code 0: 1000; reason may be NULL, at most 123 bytes), waits for the
 * server's (at most the connection's timeout) and its end of the TCP
 * connection, and frees ws (also on failure: ws is invalid after). May
 * yield. 0, MITE_ETIMEDOUT (no close came back: class "timeout"),
 * MITE_EINVAL (a bad code or reason: ws is freed all the same),
 * MITE_ECANCELED. Messages not taken are dropped. */
static inline int mite__ws_close(const char *file, int line, const char *func, mite_ctx *ctx,
				 mite_ws *ws, int code, const char *reason)
{
	return mite__ws ? mite__ws->close(ctx, ws, code, reason, file, line, func) : MITE_EINVAL;
}
#define mite_ws_close(...) mite__ws_close(__FILE__, __LINE__, __func__, __VA_ARGS__)

/* The close code the server sent (1000, 1001, 1011...; 1005 when its close
 * had none, 1006 when the connection ended without a close), or 0 while it
 * has not closed. Does not yield. */
static inline int mite_ws_close_code(const mite_ws *ws)
{
	return mite__ws ? mite__ws->close_code(ws) : 0;
}
/* The reason that came with it ("" when none). Owned by ws, valid until
 * its close. Does not yield. */
static inline const char *mite_ws_close_reason(const mite_ws *ws)
{
	return mite__ws ? mite__ws->close_reason(ws) : "";
}
/* The subprotocol the server chose (Sec-WebSocket-Protocol), or "".
 * Owned by ws, valid until its close. Does not yield. */
static inline const char *mite_ws_protocol(const mite_ws *ws)
{
	return mite__ws ? mite__ws->protocol(ws) : "";
}

#ifdef __cplusplus
}
#endif

#endif /* MITE_WS_H */
