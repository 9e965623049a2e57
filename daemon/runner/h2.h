/*
 * h2.h - HTTP/2 framing for the native client (runner/http_native_h2.c),
 * through nghttp2: one h2_conn per HTTP/2 connection, a stream per
 * transfer.
 *
 * The connection (its socket, TLS, pool) stays the native client's: it feeds
 * what it reads to h2_recv and writes what h2_flush hands to ops->write.
 * A transfer's request is the HTTP/1.1 head http.c wrote (x->req): h2
 * turns it into HTTP/2 header fields (:method, :scheme, :authority from
 * Host, :path; connection-specific fields dropped, names lowercased); its
 * body is x->body (or what follows the head in x->req). The response fills
 * the same fields the HTTP/1.1 parser does (x->p: status, version 20, head
 * and body byte counts; x->hdr: "Name: value" lines; x->resp_body, or the
 * sink, with x->max_body), with the same limits: a head over
 * HTTP1_MAX_HEAD or a body over max_body resets the stream (RST_STREAM
 * CANCEL) and fails the transfer, the connection carries on.
 */
#ifndef MITE_RUNNER_H2_H
#define MITE_RUNNER_H2_H

#include "runner/http_native.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Streams a connection carries at once by default (libcurl's default too),
 * and the most one may be given. */
#define H2_DEFAULT_STREAMS 100
#define H2_MAX_STREAMS 1000

typedef struct h2_conn h2_conn;

typedef struct h2_ops {
	/* Writes len bytes: how many went (0: none now), or -errno. */
	ssize_t (*write)(void *conn, const char *data, size_t len);
	/* A stream ended: x's out fields are set (its err an HN_* code); x
	 * is detached from the connection. Called after h2_recv or h2_flush
	 * returned, never from inside nghttp2. */
	void (*stream_end)(void *conn, http_native_xfer *x, int err);
} h2_ops;

/* A client session on a connection (conn is handed back to ops), carrying
 * at most max_streams streams at once. NULL on ENOMEM. */
h2_conn *h2_conn_new(void *conn, const h2_ops *ops, uint32_t max_streams);
/* Frees h (call h2_fail_all or h2_detach_all first). */
void h2_conn_free(h2_conn *h);

/* Starts x's request as a new stream (tls: the scheme is https). 0, or an
 * HN_E* code. Sends nothing: call h2_flush. */
int h2_submit(h2_conn *h, http_native_xfer *x, int tls);
/* Stops x's stream (RST_STREAM CANCEL when it is open); no stream_end. */
void h2_cancel(h2_conn *h, http_native_xfer *x);

/* Feeds bytes read from the connection. 0, or -1 when the connection must
 * close (a protocol error). Ended streams are reported before it returns. */
int h2_recv(h2_conn *h, const char *data, size_t len);
/* Writes what is due. 0 when all went, 1 when the socket is full (call
 * again once writable), -1 on a write error (close). */
int h2_flush(h2_conn *h);
/* Whether there is something to write. */
int h2_want_write(const h2_conn *h);
/* Whether a new stream may start now (under the stream limits, no
 * GOAWAY), and whether the connection is done with (GOAWAY and no stream
 * left). */
int h2_can_take(const h2_conn *h);
int h2_finished(const h2_conn *h);
/* Streams open now. */
size_t h2_streams(const h2_conn *h);
/* Ends every stream with err (stream_end for each): the connection died. */
void h2_fail_all(h2_conn *h, int err);
/* No new stream: the session closes once its streams ended (h2_finished). */
void h2_retire(h2_conn *h);
/* Forgets every stream without stream_end (the engine is closing). */
void h2_detach_all(h2_conn *h);

#endif
