/*
 * http_native_int.h - what the native HTTP client's files share: its
 * connections, origins and engine, and the steps one file hands to another.
 * Not for other files (the client's interface is runner/http_native.h).
 *
 * The files, one job each:
 * - http_native.c: the engine's life, transfers (pool, timers, the end of
 *   one) and starting one: which connection takes it (http_native_route);
 * - http_native_origin.c: origins (host, port, TLS context), their
 *   addresses (the DNS cache) and who waits for them;
 * - http_native_conn.c: connections: connecting, the keep-alive pool,
 *   closing, reading, and the readiness callback that drives them;
 * - http_native_tls.c: the TLS hand-off (handshake, ALPN) and the heap trim
 *   after a burst of TLS connections;
 * - http_native_send.c: the request's way out (sendmsg or TLS writes, a
 *   body file in pieces) and the loop's idle-phase send queue;
 * - http_native_resp.c: the response's way in (the parser, the end, a retry
 *   on a new connection);
 * - http_native_h2.c: HTTP/2 connections and streams (runner/h2.c).
 */
#ifndef MITE_RUNNER_HTTP_NATIVE_INT_H
#define MITE_RUNNER_HTTP_NATIVE_INT_H

#include "runner/h2.h"
#include "runner/http_native.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define HN_MAX_ADDRS 8
#define HN_RBUF (64 * 1024)
/* Reads per readiness callback: enough to drain a large response quickly
 * without starving other connections (a TLS read returns one record, at
 * most 16 KiB). */
#define HN_READS_PER_CB 4
#define HN_TLS_READS_PER_CB 16

enum { C_CONNECTING = 1, C_HANDSHAKE, C_BUSY, C_IDLE, C_H2 };

typedef struct hn_conn {
	uv_poll_t poll;
	http_native *n;
	int fd;
	int state;
	int events;
	int dead; /* not to be reused */
	int tls_bad; /* TLS failed: no close_notify */
	int tls_active; /* counted in n->tls_active */
	int tls_version;
	tls_conn *tls; /* https: the TLS connection */
	h2_conn *h2; /* C_H2: its HTTP/2 session */
	http_native_xfer *pend; /* waiting for it to become HTTP/2 */
	size_t npend;
	int flushq; /* in the engine's h2q */
	int read_more; /* ... with read-ahead bytes due */
	struct hn_conn *fprev, *fnext; /* ... its links */
	struct hn_origin *o;
	http_native_xfer *x; /* connecting or busy: its transfer */
	struct hn_conn *aprev, *anext; /* every connection */
	struct hn_conn *oprev, *onext; /* idle: the origin's (newest first);
						* C_H2: the origin's HTTP/2 ones */
	struct hn_conn *gprev, *gnext; /* idle: the engine's (oldest first) */
	uint64_t idle_since; /* loop time (ms) */
	char ip[48];
} hn_conn;

typedef struct hn_origin {
	http_native *n;
	struct hn_origin *next;
	char *host; /* NUL-terminated, as the URL wrote it */
	size_t host_len;
	int port;
	tls_ctx *tls; /* https: the TLS settings (a reference), else NULL */
	tls_session *sess; /* the last TLS session the server issued */
	int h2mode; /* HN_H1, HN_H2, HN_H2_PRIOR */
	int no_h2; /* the server picked HTTP/1.1: wait for no
				  * connection to become HTTP/2 */
	struct hn_conn *h2conns; /* its HTTP/2 connections */
	struct hn_conn *opening; /* the last connection being opened, to wait for */
	struct sockaddr_storage addrs[HN_MAX_ADDRS];
	int naddrs;
	uint64_t expires; /* uv_hrtime when the addresses go stale; 0: never */
	uv_getaddrinfo_t gai;
	int resolving;
	http_native_xfer *waiters; /* waiting for the addresses */
	http_native_xfer *processing; /* being handed the addresses */
	hn_conn *idle;
	size_t nconns; /* connections of this origin, idle or not */
} hn_origin;

struct http_native {
	uv_loop_t *loop;
	hn_origin *origins;
	size_t norigins;
	hn_conn *conns; /* every connection */
	hn_conn *idle_old, *idle_new; /* idle ones, oldest first */
	size_t nidle, max_idle;
	http_native_xfer *xfers; /* every transfer */
	http_native_xfer *free_xfers;
	char *rbuf;
	tls_fail tf; /* scratch for TLS calls */
	uv_idle_t flush; /* sends the queued TLS requests */
	int flushing; /* ... it is started */
	http_native_xfer *sendq; /* TLS requests to send from the loop */
	http_native_xfer *sending; /* ... being sent */
	hn_conn *h2q; /* HTTP/2 connections with output due */
	uint32_t h2_streams; /* streams a connection carries at most */
	size_t tls_active; /* TLS connections at work (not idle) */
	size_t tls_peak; /* ... the most since the last trim */
	uint64_t trimmed; /* loop time (ms) of the last trim */
	int closing;
	int pending; /* close callbacks and resolutions due */
	void (*done)(void *arg);
	void *done_arg;
};

/* ---- http_native.c ---- */

/* Frees n once it is closing and nothing of it is pending; calls its done. */
void http_native_maybe_done(http_native *n);
/* Takes x off the list it waits in (an origin's, a connection's, the send
 * queue), if any. */
void http_native_unwait(http_native_xfer *x);
/* Ends x: detaches what it holds and calls done, last. */
void http_native_finish(http_native_xfer *x, int err);
/* Makes sure x's timer fires by its deadline. */
void http_native_arm_timer(http_native_xfer *x);
/* Takes x to its origin (x->o): a stream of an HTTP/2 connection with
 * room, a wait for one being opened, a kept-alive connection, or a new
 * one. 0 when under way, or an HN_E* code. */
int http_native_route(http_native *n, http_native_xfer *x);

/* ---- http_native_origin.c ---- */

void http_native_origin_free(hn_origin *o);
/* The origin of host:port with TLS context tls (NULL: plain), created on
 * first use (NULL on ENOMEM). */
hn_origin *http_native_origin_get(http_native *n, const char *host, size_t hl, int port,
				  tls_ctx *tls, int h2mode);
/* Gets x a new connection: at once when the addresses are known, else
 * after resolving them. 0, or an HN_E* code. */
int http_native_origin_connect(http_native_xfer *x);

/* ---- http_native_conn.c ---- */

/* Tries x's addresses from x->addr_idx on. 0 while a connect runs (or the
 * request went out on an instant one), else an HN_E* code. */
int http_native_conn_connect(http_native_xfer *x);
/* Closes c (whatever its state) and detaches its transfers (those waiting
 * for it too: callers that must end or reroute them do so first). */
void http_native_conn_close(http_native *n, hn_conn *c);
/* Puts c back in its origin's idle list, closing the oldest idle one when
 * there are too many. */
void http_native_conn_idle(http_native *n, hn_conn *c);
/* A kept-alive connection of o, or NULL. Stale ones are closed. */
hn_conn *http_native_conn_take_idle(http_native *n, hn_origin *o);
/* Watches c for these events (UV_READABLE, UV_WRITABLE) from now on. */
void http_native_conn_events(hn_conn *c, int events);
/* Reads from c into the engine's buffer: the bytes read, 0 at the end of
 * the stream, -EAGAIN when nothing more came, or -errno (EPROTO: TLS
 * failed). */
ssize_t http_native_conn_read(http_native *n, hn_conn *c);

/* ---- http_native_tls.c ---- */

/* x's TCP connection is up: starts its TLS handshake. 0 (done, or waiting
 * for the socket), or an HN_E* code. */
int http_native_tls_start(http_native_xfer *x);
/* Shakes hands on x's TLS connection, then sends. 0 (done, or waiting
 * for the socket), or an HN_E* code. */
int http_native_tls_handshake(http_native_xfer *x);
/* An idle TLS connection became readable: fine when that was TLS's own
 * business (a session ticket), not when the server closed it or sent
 * data nobody asked for. */
int http_native_tls_idle_ok(http_native *n, hn_conn *c);
/* c's TLS connection is at work, or went idle (or closes): counted for the
 * heap trim (see http_native_tls.c). */
void http_native_tls_work(http_native *n, hn_conn *c);
void http_native_tls_idle(http_native *n, hn_conn *c);

/* ---- http_native_send.c ---- */

/* Sends what is left of x's request. 0 (sent, or waiting for room), or an
 * HN_E* code with x->oserr. */
int http_native_send_some(http_native_xfer *x);
/* Sends x's request from the loop's next idle phase, not from the
 * journey's stack (see http_native_send.c). */
void http_native_send_queue(http_native *n, http_native_xfer *x);
/* c's HTTP/2 output goes out at the loop's next idle phase. */
void http_native_send_h2q_add(http_native *n, hn_conn *c);
void http_native_send_h2q_remove(http_native *n, hn_conn *c);

/* ---- http_native_resp.c ---- */

/* A fresh parser for x's response, with x's limits. */
void http_native_resp_start(http_native_xfer *x);
/* x's connection is readable: reads and parses what came. */
void http_native_resp_readable(http_native *n, http_native_xfer *x);
/* The connection died before any byte of the response: send again on a new
 * one if the old one was a reused one, once. Returns 1 when retrying. */
int http_native_resp_retry(http_native_xfer *x);

/* ---- http_native_h2.c ---- */

/* c speaks HTTP/2 now: its owner and who waited for it get streams. */
int http_native_h2_become(http_native *n, hn_conn *c, http_native_xfer *owner);
/* Starts x on a stream of c (HTTP/2). 0 or an HN_E* code; nothing is sent
 * yet. */
int http_native_h2_stream_start(http_native *n, hn_conn *c, http_native_xfer *x);
/* Stops x's stream (a timeout, a cancel). */
void http_native_h2_stream_stop(http_native *n, http_native_xfer *x);
/* c's readiness callback (c is HTTP/2). */
void http_native_h2_poll(http_native *n, hn_conn *c, int status, int events);
/* Writes c's HTTP/2 output; closes c once it is done with. */
void http_native_h2_flush(http_native *n, hn_conn *c);
/* x waits for c to be HTTP/2 (under the connect timeout). */
void http_native_h2_pend_add(hn_conn *c, http_native_xfer *x);
/* Ends who waited for c (owner's connection failed: err, with its facts). */
void http_native_h2_pend_release(http_native *n, hn_conn *c, const http_native_xfer *owner,
				 int err);
/* Who waited for c goes its own way (c is not to be HTTP/2). */
void http_native_h2_pend_reroute(http_native *n, hn_conn *c);

#endif
