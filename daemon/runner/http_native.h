/*
 * http_native.h - the HTTP engine's own HTTP/1.1 client, for http:// and
 * https:// requests (runner/http_nhop.c decides which requests it takes;
 * libcurl has the rest). TLS goes through runner/tls.h.
 *
 * One per runner, on the runner's libuv loop: non-blocking sockets watched
 * with uv_poll, a pool of keep-alive connections per host:port shared by
 * every session of the runner (a connection carries one request at a time),
 * a DNS cache (uv_getaddrinfo, kept HTTP_NATIVE_DNS_TTL seconds; numeric
 * hosts need none), the response parser of runner/http1.h.
 *
 * A transfer (http_native_xfer) is one request and its response. Take one
 * with http_native_xfer_get, write the request head into x->req, set the
 * fields marked "in", call http_native_start; x->done(x) is called from a
 * loop callback when it ends, with the fields marked "out" set. Transfers
 * are pooled: return them with http_native_xfer_put.
 */
#ifndef MITE_RUNNER_HTTP_NATIVE_H
#define MITE_RUNNER_HTTP_NATIVE_H

#include "runner/http1.h"
#include "runner/tls.h"
#include <stdint.h>
#include <uv.h>

/* Seconds a resolved name is kept (libcurl's default too). */
#define HTTP_NATIVE_DNS_TTL 60
/* Seconds an idle connection is kept at most (libcurl's default too). */
#define HTTP_NATIVE_MAX_IDLE_AGE 118

typedef struct http_native http_native;
typedef struct http_native_xfer http_native_xfer;
struct hn_conn;
struct hn_origin;

/* Why a transfer failed (x->err). */
enum {
	HN_OK = 0,
	HN_EDNS, /* the host name did not resolve */
	HN_ECONNECT, /* no address accepted a connection (x->oserr: why) */
	HN_ETIMEOUT, /* the connect or total timeout expired */
	HN_ESEND, /* sending failed (x->oserr) */
	HN_ERECV, /* receiving failed (x->oserr) */
	HN_ENOTHING, /* the server closed the connection without a byte */
	HN_EPARTIAL, /* the server closed the connection before the body's end */
	HN_EPARSE, /* not an HTTP/1.x response */
	HN_EHEADSIZE, /* the response head exceeded HTTP1_MAX_HEAD */
	HN_EBODYSIZE, /* the body kept would exceed max_body */
	HN_EHTTP09, /* the reply has no status line */
	HN_EABORTED, /* the body sink asked to stop (the out fields say what
		       * came; the connection is closed) */
	HN_ENOMEM,
	HN_ECLOSED, /* the engine is closing */
	HN_ETLS, /* the TLS handshake or its checks failed (x->tls_fail says
		       * which, in libcurl's words) */
	HN_ERESET, /* HTTP/2: the server reset the stream (RST_STREAM), or
		       * the connection failed under it */
	HN_EREFUSED, /* HTTP/2: the server refused the stream (REFUSED_STREAM,
		       * GOAWAY): it was not processed */
};

/* HTTP/2 (http_native_xfer.h2). */
enum {
	HN_H1 = 0, /* HTTP/1.1 only */
	HN_H2 = 1, /* HTTP/2 over TLS where the server offers it (ALPN h2),
		       * else HTTP/1.1; http:// stays HTTP/1.1 */
	HN_H2_PRIOR = 2, /* HTTP/2 only: over TLS (ALPN h2), or h2c with prior
			  * knowledge for http:// */
};

struct http_native_xfer {
	/* in */
	http1_buf req; /* the request head (owned by the transfer, kept
				   * across uses) */
	const void *body; /* borrowed until the transfer ends */
	size_t body_len;
	int body_fd; /* >= 0: the body is body_len bytes of this file
				   * (borrowed), read in pieces as it goes out */
	int head_request; /* HEAD: no response body */
	int discard; /* count the response body, keep none */
	uint64_t max_body; /* the most body bytes kept (UINT64_MAX: no limit) */
	/* when set, the body goes here instead (see http1_parser.sink) */
	int (*sink)(void *arg, const char *data, size_t len);
	void *sink_arg;
	tls_ctx *tls; /* https: the TLS settings (borrowed until the
				   * transfer ends; the engine takes its own
				   * reference for the connections it makes) */
	int fresh; /* a new connection, closed after the response */
	int h2; /* HN_H1, HN_H2, HN_H2_PRIOR */
	http1_buf *hdr, *resp_body; /* where the response's header lines and body go */
	uint64_t connect_timeout_ms, timeout_ms;
	void (*done)(http_native_xfer *x);
	void *data;

	/* out (in done) */
	int err; /* HN_* */
	int oserr; /* the errno behind HN_ECONNECT, HN_ESEND, HN_ERECV */
	int status, version, reused;
	int tls_version; /* 12, 13 over TLS, else 0 */
	int tls_resumed; /* a new TLS connection resumed a session */
	tls_fail *tls_fail; /* HN_ETLS: why (allocated on the first failure,
				   * kept across uses) */
	uint64_t bytes_out, header_bytes, bytes_in;
	/* uv_hrtime() when the transfer started, had addresses, was connected,
	 * finished the TLS handshake, began sending, got its first byte, ended
	 * (0: not reached) */
	uint64_t t_start, t_resolved, t_connected, t_tls, t_pre, t_first, t_end;
	char primary_ip[48];

	/* private */
	char *fbuf; /* a piece of the body file ... */
	size_t fbuf_off, fbuf_len; /* ... from this offset, this long */
	http_native *n;
	struct hn_conn *c;
	struct hn_origin *o;
	http_native_xfer *wprev, *wnext; /* in an origin's waiters */
	http_native_xfer **wlist; /* which list, or NULL */
	http_native_xfer *anext; /* every transfer of the engine */
	http_native_xfer *fnext; /* the free list */
	uv_timer_t timer;
	http1_parser p;
	size_t sent;
	int addr_idx;
	int active;
	int retried;
	int connecting; /* the connect timeout counts */
	uint64_t connect_deadline, deadline; /* loop time (uv_now), ms */
	uint64_t timer_due; /* when the armed timer fires, or 0 */
	/* HTTP/2 (runner/h2.c) */
	struct hn_conn *h2c; /* the HTTP/2 connection of its stream */
	int32_t h2_stream; /* its stream, or 0 */
	int h2_err; /* why the stream failed (HN_*) */
	http_native_xfer *h2prev, *h2next; /* the connection's streams */
	http_native_xfer *h2end; /* ... ended, to report */
	struct hn_conn *pendc; /* the connection it waits for, or NULL */
	int on_h2; /* it went on an HTTP/2 stream */
	int h2_retries; /* times a refused stream went again */
};

/* NULL on ENOMEM. */
http_native *http_native_new(uv_loop_t *loop);
/* Closes every connection and handle; done(arg) once all are closed and n
 * is freed. Transfers still running are dropped without their done call:
 * cancel them first. */
void http_native_close(http_native *n, void (*done)(void *arg), void *arg);
/* Idle connections kept at most (the oldest goes first). */
void http_native_set_max_idle(http_native *n, size_t max);
/* Streams an HTTP/2 connection carries at most at once (1 to
 * H2_MAX_STREAMS; the server may allow fewer). New streams beyond that go
 * on another connection, opened meanwhile: a request waits for a
 * connection being opened to the same origin rather than opening one
 * more, while that one has room. */
void http_native_set_h2_streams(http_native *n, uint32_t max);

/* A transfer from the pool (NULL on ENOMEM), reset. */
http_native_xfer *http_native_xfer_get(http_native *n);
void http_native_xfer_put(http_native *n, http_native_xfer *x);

/* Starts x towards u's host and port, over TLS with x->tls when u->https
 * (which then must be set). Connections are pooled by host, port and TLS
 * context; TLS sessions are kept per host, port and context, so that a
 * new connection resumes the last one. Returns 0
 * when x runs (x->done will be called from a loop callback), or 1 when it
 * ended at once (x->err says why; done is not called). May send at once on
 * a kept-alive connection. */
int http_native_start(http_native *n, http_native_xfer *x, const http1_url *u);
/* The request body of x from offset off on (off < x->body_len): a pointer
 * to *len bytes of it, at least one (from memory, or a piece of the body
 * file). NULL with x->oserr set when the file cannot be read or ended
 * early. */
const char *http_native_body_at(http_native_xfer *x, size_t off, size_t *len);
/* Stops a running x (its connection is closed); done is not called. */
void http_native_cancel(http_native *n, http_native_xfer *x);

#endif
