/*
 * http_native.c - see http_native.h.
 *
 * Why not libcurl for these: for a small response libcurl 7.88 spends about
 * 60,000 instructions per request (request building through its printf,
 * URL re-parsing, connection-cache keys, liveness polls); this path spends
 * a few thousand, so the generator's CPU goes to the kernel's TCP work, as
 * wrk's does.
 *
 * Connections. A connection's uv_poll watches UV_READABLE from connect to
 * close, idle or busy, so a request on a kept-alive connection costs no
 * epoll_ctl: the request goes out with one sendmsg (WRITABLE is added only
 * while a request does not fit in the socket buffer), the response comes
 * in through recv into the engine's one read buffer and is parsed at once.
 * An idle connection that becomes readable was closed by the server (or
 * sends what it should not): it is closed at once.
 *
 * A request sent on a reused connection that the server had closed meanwhile
 * (EPIPE, a reset, or EOF before any byte of the response) is sent again
 * once on a new connection, as libcurl does.
 *
 * TLS (https://): after the TCP connect the connection shakes hands
 * (runner/tls.h, OpenSSL on the non-blocking fd) on loop callbacks, never on
 * a journey's stack; the connect timeout covers it, as libcurl's does. A
 * request on a kept-alive TLS connection is not sent from the journey's
 * call either, but from the loop's next idle phase (no system call more):
 * OpenSSL's record writer alone has a frame of about 5 KiB, which would
 * commit more pages of every instance's stack.
 * Reads and writes then go through OpenSSL instead of recv/sendmsg; the
 * rest (pooling, parsing, retrying) is the same. A connection's pool is its
 * origin: host, port and TLS context, so that connections made with other
 * TLS settings (another CA, no verification, a client certificate) are
 * never reused for a request that did not ask for them. The origin keeps
 * the last TLS session its server issued: a new connection offers it
 * (resumption), unless the context says not to.
 *
 * HTTP/2 (runner/h2.c on nghttp2), for transfers that ask for it (x->h2):
 * over TLS when ALPN picks "h2", or h2c with prior knowledge. Such a
 * connection carries many transfers at once, one stream each, up to the
 * stream limit (the server's, and http_native_set_h2_streams); it is not
 * idle-pooled but kept on its origin's list while it lives. A transfer for
 * such an origin takes a stream on a connection with room, else waits for
 * a connection being opened to the origin (while that one has room), else
 * opens one: so many transfers starting together share a few
 * connections, as browsers and libcurl (PIPEWAIT) do. If the server picks
 * HTTP/1.1 after all, the waiting transfers go their own way. What a
 * stream sends goes out from the loop, never from the journey's stack.
 *
 * Callbacks: x->done runs from a loop callback, as the last thing this file
 * does for x there: it may resume the journey, which may start, cancel or
 * release transfers at once.
 */
#include "runner/http_native.h"

#include "runner/h2.h"

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HN_MAX_ADDRS 8
#define HN_MAX_ORIGINS 1024
#define HN_RBUF (64 * 1024)
/* Reads per readiness callback: enough to drain a large response quickly
 * without starving other connections (a TLS read returns one record, at
 * most 16 KiB). */
#define HN_READS_PER_CB 4
#define HN_TLS_READS_PER_CB 16
/* A request body up to this size goes out in the head's TLS record: one
 * write rather than two. */
#define HN_TLS_COALESCE (16 * 1024)
/* A body file goes out in pieces of this size (a pread each). */
#define HN_FILE_CHUNK (64 * 1024)
/* The heap is trimmed when TLS connections at work (this many at least,
 * together) went idle, all but an eighth, at most once a second (see
 * tls_work). */
#define HN_TRIM_BURST 64
/* Times a stream the server refused is sent again: a refused stream was
 * not processed, so sending it again is safe, and a server that allows a
 * few requests a connection (GOAWAY every N) refuses a busy origin's
 * streams often; the request's timeout bounds it too. */
#define HN_H2_RETRIES 50

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

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static int connect_next(http_native_xfer *x);

/* A TLS connection at work holds buffers that OpenSSL frees when it goes
 * idle (SSL_MODE_RELEASE_BUFFERS): about 30 KiB during a handshake (its
 * message buffer, a write buffer, record buffers), 34 KiB for a request
 * and its response (a record buffer each way). A burst of them (every
 * virtual user connecting or requesting at once) leaves the heap's pages
 * with freed holes between the connections that stay, which glibc keeps
 * (about 17 KiB per idle connection at 1000 users). So when a burst of at
 * least HN_TRIM_BURST connections has gone idle (all but an eighth), the
 * free pages go back to the system, at most once a second: idle virtual
 * users stay small, and a runner that keeps its connections busy never
 * trims. */
static void tls_work(http_native *n, struct hn_conn *c);
static void tls_idle(http_native *n, struct hn_conn *c);

static void origin_free(hn_origin *o)
{
	tls_session_free(o->sess);
	tls_ctx_put(o->tls);
	free(o->host);
	free(o);
}

/* ---- the engine's life ------------------------------------------------------ */

http_native *http_native_new(uv_loop_t *loop)
{
	http_native *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->rbuf = malloc(HN_RBUF);
	if (!n->rbuf) {
		free(n);
		return NULL;
	}
	n->loop = loop;
	n->max_idle = 16;
	n->h2_streams = H2_DEFAULT_STREAMS;
	if (uv_idle_init(loop, &n->flush) < 0) {
		free(n->rbuf);
		free(n);
		return NULL;
	}
	n->flush.data = n;
	return n;
}

static void maybe_done(http_native *n)
{
	void (*done)(void *);
	void *arg;
	hn_origin *o;

	if (!n->closing || n->pending > 0)
		return;
	while ((o = n->origins)) {
		n->origins = o->next;
		origin_free(o);
	}
	done = n->done;
	arg = n->done_arg;
	free(n->rbuf);
	free(n);
	if (done)
		done(arg);
}

static void conn_closed(uv_handle_t *h)
{
	hn_conn *c = h->data;
	http_native *n = c->n; /* (its origin may be gone: it had no connection left) */

	free(c);
	n->pending--;
	maybe_done(n);
}

static void idle_unlink(http_native *n, hn_conn *c)
{
	hn_origin *o = c->o;

	if (c->oprev)
		c->oprev->onext = c->onext;
	else
		o->idle = c->onext;
	if (c->onext)
		c->onext->oprev = c->oprev;
	if (c->gprev)
		c->gprev->gnext = c->gnext;
	else
		n->idle_old = c->gnext;
	if (c->gnext)
		c->gnext->gprev = c->gprev;
	else
		n->idle_new = c->gprev;
	c->oprev = c->onext = c->gprev = c->gnext = NULL;
	n->nidle--;
}

static void h2q_remove(http_native *n, hn_conn *c);

/* Closes c (whatever its state) and detaches its transfers (those waiting
 * for it too: callers that must end or reroute them do so first). */
static void conn_close(http_native *n, hn_conn *c)
{
	http_native_xfer *x;

	if (c->state == C_IDLE)
		idle_unlink(n, c);
	if (c->x) {
		c->x->c = NULL;
		c->x = NULL;
	}
	if (c->o->opening == c)
		c->o->opening = NULL;
	while ((x = c->pend)) {
		c->pend = x->wnext;
		x->wprev = x->wnext = NULL;
		x->wlist = NULL;
		x->pendc = NULL;
	}
	c->npend = 0;
	if (c->h2) {
		h2_detach_all(c->h2);
		h2_conn_free(c->h2);
		c->h2 = NULL;
		if (c->oprev)
			c->oprev->onext = c->onext;
		else if (c->o->h2conns == c)
			c->o->h2conns = c->onext;
		if (c->onext)
			c->onext->oprev = c->oprev;
		c->oprev = c->onext = NULL;
	}
	if (c->flushq)
		h2q_remove(n, c);
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		n->conns = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	c->o->nconns--;
	tls_idle(n, c);
	if (c->tls) {
		/* A close_notify for a connection that ended well (before the
		 * fd closes): its session stays resumable. */
		tls_conn_free(c->tls, !c->tls_bad && c->state != C_HANDSHAKE);
		c->tls = NULL;
	}
	/* uv_close takes the fd out of epoll at once, so it can be closed
	 * now; the handle's memory goes in its close callback. */
	n->pending++;
	uv_close((uv_handle_t *)&c->poll, conn_closed);
	close(c->fd);
	c->fd = -1;
	c->state = 0;
}

static void flush_closed(uv_handle_t *h)
{
	http_native *n = h->data;

	n->pending--;
	maybe_done(n);
}

static void xfer_timer_closed(uv_handle_t *h)
{
	http_native_xfer *x = h->data;
	http_native *n = x->n;

	free(x->req.p);
	free(x->tls_fail);
	free(x->fbuf);
	free(x);
	n->pending--;
	maybe_done(n);
}

void http_native_close(http_native *n, void (*done)(void *arg), void *arg)
{
	http_native_xfer *x;
	hn_origin *o;

	if (!n) {
		if (done)
			done(arg);
		return;
	}
	n->closing = 1;
	n->done = done;
	n->done_arg = arg;
	n->sendq = n->sending = NULL;
	n->pending++;
	uv_close((uv_handle_t *)&n->flush, flush_closed);
	for (o = n->origins; o; o = o->next) {
		o->waiters = o->processing = NULL;
		if (o->resolving)
			uv_cancel((uv_req_t *)&o->gai); /* its callback still comes */
	}
	while (n->conns)
		conn_close(n, n->conns);
	while ((x = n->xfers)) {
		n->xfers = x->anext;
		x->active = 0;
		x->wlist = NULL;
		n->pending++;
		uv_close((uv_handle_t *)&x->timer, xfer_timer_closed);
	}
	n->free_xfers = NULL;
	maybe_done(n);
}

void http_native_set_max_idle(http_native *n, size_t max)
{
	n->max_idle = max;
	while (n->nidle > n->max_idle && n->idle_old)
		conn_close(n, n->idle_old);
}

/* ---- transfers ------------------------------------------------------------------ */

http_native_xfer *http_native_xfer_get(http_native *n)
{
	http_native_xfer *x = n->free_xfers;

	if (n->closing)
		return NULL;
	if (x) {
		n->free_xfers = x->fnext;
	} else {
		x = calloc(1, sizeof(*x));
		if (!x)
			return NULL;
		if (uv_timer_init(n->loop, &x->timer) < 0) {
			free(x);
			return NULL;
		}
		/* A running transfer always has a poll handle or a resolution
		 * that keeps the loop alive; a timer left armed after its
		 * transfer ended must not. */
		uv_unref((uv_handle_t *)&x->timer);
		x->timer.data = x;
		x->n = n;
		x->anext = n->xfers;
		n->xfers = x;
	}
	x->req.len = 0;
	x->body = NULL;
	x->body_len = 0;
	x->body_fd = -1;
	x->fbuf_len = 0;
	x->head_request = x->discard = 0;
	x->max_body = UINT64_MAX;
	x->sink = NULL;
	x->sink_arg = NULL;
	x->tls = NULL;
	x->fresh = 0;
	x->hdr = x->resp_body = NULL;
	x->done = NULL;
	x->data = NULL;
	return x;
}

void http_native_xfer_put(http_native *n, http_native_xfer *x)
{
	if (!x)
		return;
	if (x->active)
		http_native_cancel(n, x);
	/* (Uploads from files are rare: their buffer goes with them.) */
	free(x->fbuf);
	x->fbuf = NULL;
	x->fbuf_len = 0;
	x->fnext = n->free_xfers;
	n->free_xfers = x;
}

static void waiters_remove(http_native_xfer *x)
{
	if (!x->wlist)
		return;
	if (x->wprev)
		x->wprev->wnext = x->wnext;
	else
		*x->wlist = x->wnext;
	if (x->wnext)
		x->wnext->wprev = x->wprev;
	x->wprev = x->wnext = NULL;
	x->wlist = NULL;
}

static void waiters_add(hn_origin *o, http_native_xfer *x)
{
	x->wprev = NULL;
	x->wnext = o->waiters;
	if (o->waiters)
		o->waiters->wprev = x;
	o->waiters = x;
	x->wlist = &o->waiters;
}

static int send_some(http_native_xfer *x);
static int retry(http_native_xfer *x);
static void finish(http_native_xfer *x, int err);
static void on_flush(uv_idle_t *h);
static void on_flush_cb(uv_idle_t *h)
{
	on_flush(h);
}
static void pend_release(http_native *n, hn_conn *c, const http_native_xfer *owner, int err);
static void pend_reroute(http_native *n, hn_conn *c);
static void h2_stream_stop(http_native *n, http_native_xfer *x);

static void h2_conn_flush(http_native *n, hn_conn *c);
static void h2_on_poll(http_native *n, hn_conn *c, int status, int events);

static void flush_start(http_native *n)
{
	if (!n->flushing) {
		uv_idle_start(&n->flush, on_flush_cb);
		n->flushing = 1;
	}
}

/* c's HTTP/2 output goes out at the loop's next idle phase. */
static void h2q_add(http_native *n, hn_conn *c)
{
	if (c->flushq)
		return;
	c->flushq = 1;
	c->fprev = NULL;
	c->fnext = n->h2q;
	if (n->h2q)
		n->h2q->fprev = c;
	n->h2q = c;
	flush_start(n);
}

static void h2q_remove(http_native *n, hn_conn *c)
{
	if (c->fprev)
		c->fprev->fnext = c->fnext;
	else
		n->h2q = c->fnext;
	if (c->fnext)
		c->fnext->fprev = c->fprev;
	c->fprev = c->fnext = NULL;
	c->flushq = 0;
}

/* Sends the queued TLS requests, those queued meanwhile at the next turn;
 * then the HTTP/2 output due. */
static void on_flush(uv_idle_t *h)
{
	http_native *n = h->data;
	http_native_xfer *x;
	hn_conn *c;
	int rc;

	n->sending = n->sendq;
	for (x = n->sending; x; x = x->wnext)
		x->wlist = &n->sending;
	n->sendq = NULL;
	while ((x = n->sending) && !n->closing) {
		waiters_remove(x);
		if ((rc = send_some(x)) && !retry(x))
			finish(x, rc);
	}
	while ((c = n->h2q) && !n->closing) {
		h2q_remove(n, c);
		if (c->read_more) {
			c->read_more = 0;
			h2_on_poll(n, c, 0, UV_READABLE); /* (flushes too) */
		} else {
			h2_conn_flush(n, c);
		}
	}
	if (!n->sendq && !n->h2q && !n->closing) {
		uv_idle_stop(&n->flush);
		n->flushing = 0;
	}
}

/* Sends x's request from the loop (see the file's comment). */
static void queue_send(http_native *n, http_native_xfer *x)
{
	x->wprev = NULL;
	x->wnext = n->sendq;
	if (n->sendq)
		n->sendq->wprev = x;
	n->sendq = x;
	x->wlist = &n->sendq;
	flush_start(n);
}

/* Ends x: detaches what it holds and calls done, last. */
static void finish(http_native_xfer *x, int err)
{
	http_native *n = x->n;

	x->err = err;
	x->t_end = uv_hrtime();
	x->active = 0;
	/* What came, for a transfer the sink stopped. */
	x->status = x->p.status;
	x->version = x->p.version;
	x->header_bytes = x->p.head_bytes;
	x->bytes_in = x->p.body_bytes;
	if (!x->on_h2)
		x->bytes_out = x->sent;
	waiters_remove(x);
	if (x->pendc) {
		x->pendc->npend--;
		x->pendc = NULL;
	}
	if (x->h2c)
		h2_stream_stop(n, x);
	if (x->c) {
		hn_conn *c = x->c;
		if (c->pend)
			pend_release(n, c, x, err); /* (they waited for this one) */
		conn_close(n, c);
	}
	if (x->done)
		x->done(x);
}

void http_native_cancel(http_native *n, http_native_xfer *x)
{
	if (!x->active)
		return;
	x->active = 0;
	waiters_remove(x);
	if (x->pendc) {
		x->pendc->npend--;
		x->pendc = NULL;
	}
	if (x->h2c)
		h2_stream_stop(n, x);
	if (x->c) {
		hn_conn *c = x->c;
		if (c->pend)
			pend_reroute(n, c); /* (they go their own way) */
		conn_close(n, c);
	}
}

/* x's deadline now (loop time, ms): the connect one counts until connected. */
static uint64_t due_of(const http_native_xfer *x)
{
	if (x->connecting && x->connect_deadline < x->deadline)
		return x->connect_deadline;
	return x->deadline;
}

/* Makes sure x's timer fires by its deadline. Timers are re-armed lazily:
 * one that fires early (it was armed for an earlier request of this
 * pooled transfer, or before the connection was made) re-arms itself for
 * what is left, so a request on a kept-alive connection usually costs no
 * timer operation at all; one that fires for a finished transfer does
 * nothing. */
static void arm_timer(http_native_xfer *x)
{
	uint64_t now = uv_now(x->n->loop), due = due_of(x);

	if (x->timer_due && x->timer_due <= due)
		return;
	x->timer_due = due;
	uv_timer_start(&x->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	http_native_xfer *x = t->data;
	uint64_t elapsed, limit;

	x->timer_due = 0;
	if (!x->active)
		return;
	/* The loop's clock lags a little: judge by the transfer's own start. */
	elapsed = (uv_hrtime() - x->t_start) / 1000000u;
	limit = x->timeout_ms;
	if (x->connecting && x->connect_timeout_ms < limit)
		limit = x->connect_timeout_ms;
	if (elapsed >= limit) {
		finish(x, HN_ETIMEOUT);
		return;
	}
	x->timer_due = uv_now(x->n->loop) + (limit - elapsed);
	uv_timer_start(&x->timer, on_timer, limit - elapsed, 0);
}

/* ---- sending and receiving ------------------------------------------------------ */

static void set_events(hn_conn *c, int events)
{
	if (c->events != events) {
		c->events = events;
		uv_poll_start(&c->poll, events, on_poll);
	}
}

const char *http_native_body_at(http_native_xfer *x, size_t off, size_t *len)
{
	size_t want;
	ssize_t k;

	if (x->body_fd < 0) {
		*len = x->body_len - off;
		return (const char *)x->body + off;
	}
	if (off < x->fbuf_off || off >= x->fbuf_off + x->fbuf_len) {
		if (!x->fbuf && !(x->fbuf = malloc(HN_FILE_CHUNK))) {
			x->oserr = ENOMEM;
			return NULL;
		}
		want = x->body_len - off < HN_FILE_CHUNK ? x->body_len - off : HN_FILE_CHUNK;
		do
			k = pread(x->body_fd, x->fbuf, want, (off_t)off);
		while (k < 0 && errno == EINTR);
		if (k <= 0) {
			x->oserr = k < 0 ? errno : EIO; /* 0: the file shrank */
			x->fbuf_len = 0;
			return NULL;
		}
		x->fbuf_off = off;
		x->fbuf_len = (size_t)k;
	}
	*len = x->fbuf_off + x->fbuf_len - off;
	return x->fbuf + (off - x->fbuf_off);
}

/* send_some over TLS: the head, then the body (a small one went into the
 * head's buffer), each through OpenSSL, which writes partially. */
static int tls_send_some(http_native_xfer *x)
{
	hn_conn *c = x->c;
	size_t head = x->req.len, total = head + x->body_len, put;

	while (x->sent < total) {
		size_t len = head - x->sent;
		const char *p = x->sent < head ? x->req.p + x->sent
					       : http_native_body_at(x, x->sent - head, &len);

		if (!p)
			return HN_ESEND;

		switch (tls_write(c->tls, p, len, &put, &x->n->tf)) {
		case TLS_OK:
			x->sent += put;
			continue;
		case TLS_WANT_WRITE:
			set_events(c, UV_READABLE | UV_WRITABLE);
			return 0;
		case TLS_WANT_READ:
			/* (TLS 1.2 renegotiation): on_poll tries again when
			 * the connection is readable. */
			set_events(c, UV_READABLE);
			return 0;
		default:
			c->tls_bad = 1;
			x->oserr = x->n->tf.oserr ? x->n->tf.oserr : EPROTO;
			return HN_ESEND;
		}
	}
	x->bytes_out = x->sent;
	set_events(c, UV_READABLE);
	return 0;
}

/* Sends what is left of x's request. 0 (sent, or waiting for room), or an
 * HN_E* code with x->oserr. */
static int send_some(http_native_xfer *x)
{
	hn_conn *c = x->c;
	size_t head = x->req.len, total = head + x->body_len;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov };
	ssize_t k;

	if (x->sent == 0 && !x->t_pre)
		x->t_pre = uv_hrtime();
	if (c->tls) {
		waiters_remove(x); /* (queued: whoever sends first) */
		return tls_send_some(x);
	}
	while (x->sent < total) {
		size_t off = x->sent < head ? 0 : x->sent - head, len = 0;
		const char *p = x->body_len ? http_native_body_at(x, off, &len) : "";

		if (!p)
			return HN_ESEND;
		mh.msg_iovlen = 0;
		if (x->sent < head) {
			iov[mh.msg_iovlen].iov_base = x->req.p + x->sent;
			iov[mh.msg_iovlen++].iov_len = head - x->sent;
		}
		if (len) {
			iov[mh.msg_iovlen].iov_base = (void *)p;
			iov[mh.msg_iovlen++].iov_len = len;
		}
		/* MSG_NOSIGNAL: a closed peer is an error here, not SIGPIPE. */
		k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_events(c, UV_READABLE | UV_WRITABLE);
				return 0;
			}
			x->oserr = errno;
			return HN_ESEND;
		}
		x->sent += (size_t)k;
	}
	x->bytes_out = x->sent;
	set_events(c, UV_READABLE);
	return 0;
}

/* Puts c back in its origin's idle list, closing the oldest idle one when
 * there are too many. */
static void conn_idle(http_native *n, hn_conn *c)
{
	hn_origin *o = c->o;

	c->x = NULL;
	c->state = C_IDLE;
	c->idle_since = uv_now(n->loop);
	c->oprev = NULL;
	c->onext = o->idle;
	if (o->idle)
		o->idle->oprev = c;
	o->idle = c;
	c->gnext = NULL;
	c->gprev = n->idle_new;
	if (n->idle_new)
		n->idle_new->gnext = c;
	else
		n->idle_old = c;
	n->idle_new = c;
	n->nidle++;
	set_events(c, UV_READABLE);
	while (n->nidle > n->max_idle && n->idle_old)
		conn_close(n, n->idle_old);
	tls_idle(n, c);
}

static void tls_work(http_native *n, hn_conn *c)
{
	if (c->tls_active || !c->tls)
		return;
	c->tls_active = 1;
	if (++n->tls_active > n->tls_peak)
		n->tls_peak = n->tls_active;
}

static void tls_idle(http_native *n, hn_conn *c)
{
	uint64_t now;

	if (!c->tls_active)
		return;
	c->tls_active = 0;
	if (--n->tls_active > n->tls_peak / 8 || n->tls_peak < HN_TRIM_BURST)
		return;
	now = uv_now(n->loop);
	if (n->trimmed && now - n->trimmed < 1000)
		return;
	n->trimmed = now;
	n->tls_peak = 0;
	malloc_trim(0);
}

/* The response is whole (at time now). */
static void complete(http_native_xfer *x, int reusable, uint64_t now)
{
	http_native *n = x->n;
	hn_conn *c = x->c;

	x->status = x->p.status;
	x->version = x->p.version;
	x->header_bytes = x->p.head_bytes;
	x->bytes_in = x->p.body_bytes;
	x->bytes_out = x->sent;
	x->t_end = now;
	x->active = 0;
	x->err = HN_OK;
	x->c = NULL;
	if (reusable && !c->dead && !x->fresh && x->p.keep_alive &&
	    x->sent == x->req.len + x->body_len && !n->closing)
		conn_idle(n, c);
	else
		conn_close(n, c);
	if (x->done)
		x->done(x);
}

static int new_connection(http_native_xfer *x);

/* A fresh parser for x's response, with x's limits. */
static void parser_start(http_native_xfer *x)
{
	http1_parser_init(&x->p, x->head_request, x->discard, x->hdr, x->resp_body);
	x->p.max_body = x->max_body;
	x->p.sink = x->sink;
	x->p.sink_arg = x->sink_arg;
}

/* The connection died before any byte of the response: send again on a new
 * one if the old one was a reused one, once. Returns 1 when retrying. */
static int retry(http_native_xfer *x)
{
	http_native *n = x->n;
	int rc;

	if (!x->reused || x->retried || http1_started(&x->p))
		return 0;
	x->retried = 1;
	x->reused = 0;
	waiters_remove(x);
	conn_close(n, x->c);
	x->sent = 0;
	x->t_pre = 0;
	x->bytes_out = 0;
	parser_start(x);
	rc = new_connection(x);
	if (rc)
		finish(x, rc);
	return 1;
}

/* The HN_E* code of an HTTP1_E* one. */
static int parse_error(ssize_t e)
{
	switch (e) {
	case HTTP1_EHEADSIZE:
		return HN_EHEADSIZE;
	case HTTP1_EBODYSIZE:
		return HN_EBODYSIZE;
	case HTTP1_EHTTP09:
		return HN_EHTTP09;
	case HTTP1_EABORTED:
		return HN_EABORTED;
	case HTTP1_ENOMEM:
		return HN_ENOMEM;
	default:
		return HN_EPARSE;
	}
}

/* Reads from c into the engine's buffer: the bytes read, 0 at the end of
 * the stream, -EAGAIN when nothing more came, or -errno (EPROTO: TLS
 * failed). */
static ssize_t conn_read(http_native *n, hn_conn *c)
{
	ssize_t k;
	size_t got;

	if (!c->tls) {
		do
			k = recv(c->fd, n->rbuf, HN_RBUF, 0);
		while (k < 0 && errno == EINTR);
		return k < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : k;
	}
	switch (tls_read(c->tls, n->rbuf, HN_RBUF, &got, &n->tf)) {
	case TLS_OK:
		return (ssize_t)got;
	case TLS_EOF:
		return 0;
	case TLS_WANT_READ:
		return -EAGAIN;
	case TLS_WANT_WRITE:
		/* (TLS 1.2 renegotiation) */
		set_events(c, UV_READABLE | UV_WRITABLE);
		return -EAGAIN;
	default:
		c->tls_bad = 1;
		return -(n->tf.oserr ? n->tf.oserr : EPROTO);
	}
}

static void on_readable(http_native *n, http_native_xfer *x)
{
	hn_conn *c = x->c;
	int reads = c->tls ? HN_TLS_READS_PER_CB : HN_READS_PER_CB;

	for (int i = 0; i < reads; i++) {
		ssize_t k = conn_read(n, c), used;
		uint64_t now;
		int rc;

		if (k < 0) {
			if (k == -EAGAIN)
				return;
			x->oserr = (int)-k;
			if (!retry(x))
				finish(x, HN_ERECV);
			return;
		}
		if (k == 0) {
			rc = http1_parse_eof(&x->p);
			if (rc == HTTP1_OK) {
				complete(x, 0, uv_hrtime());
			} else if (!retry(x)) {
				finish(x, rc == HTTP1_ENOTHING ? HN_ENOTHING : HN_EPARTIAL);
			}
			return;
		}
		/* One clock read a read: a small response's first and last
		 * byte come in the same one. */
		now = uv_hrtime();
		if (!x->t_first)
			x->t_first = now;
		used = http1_parse(&x->p, n->rbuf, (size_t)k);
		if (used < 0) {
			/* The connection closes with it: nothing more is read. */
			finish(x, parse_error(used));
			return;
		}
		if (http1_done(&x->p)) {
			/* Bytes after the response belong to no request. */
			complete(x, used == k, now);
			return;
		}
		if (k < HN_RBUF && !c->tls)
			return; /* (a TLS read returns a record: go on) */
	}
}

/* The socket's pending error, else fallback. */
static int sock_error(int fd, int fallback)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return err ? err : fallback;
}

static int h2_become(http_native *n, hn_conn *c, http_native_xfer *owner);

/* Keeps why TLS failed (the engine's scratch) with x: HN_ETLS. */
static int keep_tls_fail(http_native_xfer *x)
{
	if (x->n->tf.kind == TLS_F_NOMEM)
		return HN_ENOMEM;
	if (!x->tls_fail && !(x->tls_fail = malloc(sizeof(*x->tls_fail))))
		return HN_ENOMEM;
	*x->tls_fail = x->n->tf;
	return HN_ETLS;
}

/* Shakes hands on x's TLS connection, then sends. 0 (done, or waiting
 * for the socket), or an HN_E* code. */
static int handshake(http_native_xfer *x)
{
	http_native *n = x->n;
	hn_conn *c = x->c;

	switch (tls_handshake(c->tls, &n->tf)) {
	case TLS_OK:
		break;
	case TLS_WANT_READ:
		set_events(c, UV_READABLE);
		return 0;
	case TLS_WANT_WRITE:
		set_events(c, UV_READABLE | UV_WRITABLE);
		return 0;
	default:
		c->tls_bad = 1;
		return keep_tls_fail(x); /* (conn_close counts it ended) */
	}
	c->state = C_BUSY;
	x->t_tls = uv_hrtime();
	c->tls_version = tls_version(c->tls);
	x->tls_version = c->tls_version;
	x->tls_resumed = tls_resumed(c->tls);
	if (c->o->h2mode) {
		size_t al;
		const char *alpn = tls_alpn(c->tls, &al);
		if (al == 2 && memcmp(alpn, "h2", 2) == 0)
			return h2_become(n, c, x);
		/* HTTP/1.1 after all: who waited goes its own way. */
		c->o->no_h2 = 1;
		pend_reroute(n, c);
	}
	x->connecting = 0;
	return send_some(x);
}

/* x's connection is up: TLS first for https, else the request. */
static int connected(http_native_xfer *x)
{
	hn_conn *c = x->c;
	hn_origin *o = c->o;
	http_native *n = x->n;

	x->t_connected = uv_hrtime();
	if (!o->tls) {
		c->state = C_BUSY;
		if (o->h2mode == HN_H2_PRIOR)
			return h2_become(n, c, x); /* h2c, prior knowledge */
		x->connecting = 0;
		return send_some(x);
	}
	c->tls = tls_conn_new(o->tls, c->fd, o->host, o->port, &o->sess, &x->n->tf);
	if (!c->tls)
		return keep_tls_fail(x);
	c->state = C_HANDSHAKE;
	tls_work(n, c);
	return handshake(x);
}

/* An idle TLS connection became readable: fine when that was TLS's own
 * business (a session ticket), not when the server closed it or sent
 * data nobody asked for. */
static int idle_tls_ok(http_native *n, hn_conn *c)
{
	return conn_read(n, c) == -EAGAIN;
}

static void h2_on_poll(http_native *n, hn_conn *c, int status, int events);

static void on_poll(uv_poll_t *h, int status, int events)
{
	hn_conn *c = h->data;
	http_native *n = c->n;
	http_native_xfer *x = c->x;
	int rc;

	if (c->state == C_H2) {
		h2_on_poll(n, c, status, events);
		return;
	}
	if (c->state == C_IDLE || !x) {
		/* The server closed an idle connection, or sent what nobody
		 * asked for. */
		if (c->state == C_IDLE && c->tls && status == 0 && idle_tls_ok(n, c))
			return;
		conn_close(n, c);
		return;
	}
	if (status < 0) {
		/* libuv reports EPOLLERR as UV_EBADF and stops watching: the
		 * socket knows what really happened. */
		c->events = 0;
		c->dead = 1;
		if (c->state == C_BUSY) {
			on_readable(n, x);
			if (c->x == x) { /* nothing ended it */
				x->oserr = sock_error(c->fd, -status);
				if (!retry(x))
					finish(x, HN_ERECV);
			}
			return;
		}
	}
	if (c->state == C_CONNECTING) {
		int err = sock_error(c->fd, status < 0 ? -status : 0);

		if (err) {
			x->oserr = err;
			if (c->pend)
				pend_reroute(n, c);
			conn_close(n, c);
			x->addr_idx++;
			if ((rc = connect_next(x)))
				finish(x, rc);
			return;
		}
		if ((rc = connected(x)))
			finish(x, rc);
		return;
	}
	if (c->state == C_HANDSHAKE) {
		if ((rc = handshake(x)))
			finish(x, rc);
		return;
	}
	/* (Over TLS a write may have waited for readability.) */
	if (((events & UV_WRITABLE) || c->tls) && x->sent < x->req.len + x->body_len) {
		if ((rc = send_some(x))) {
			if (!retry(x))
				finish(x, rc);
			return;
		}
	}
	if (events & UV_READABLE)
		on_readable(n, x);
}

/* ---- connecting ------------------------------------------------------------------ */

/* Tries x's addresses from x->addr_idx on. 0 while a connect runs (or the
 * request went out on an instant one), else an HN_E* code. */
static int connect_next(http_native_xfer *x)
{
	http_native *n = x->n;
	hn_origin *o = x->o;

	for (; x->addr_idx < o->naddrs; x->addr_idx++) {
		const struct sockaddr *sa = (const struct sockaddr *)&o->addrs[x->addr_idx];
		socklen_t salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							    : sizeof(struct sockaddr_in);
		hn_conn *c;
		int fd, one = 1, rc;

		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		if (fd < 0) {
			x->oserr = errno;
			continue;
		}
		/* Requests go out whole: no Nagle delay (libcurl sets it too). */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rc = connect(fd, sa, salen);
		if (rc < 0 && errno != EINPROGRESS) {
			x->oserr = errno;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return HN_ENOMEM;
		}
		if (uv_poll_init_socket(n->loop, &c->poll, fd) < 0) {
			free(c);
			close(fd);
			x->oserr = EMFILE;
			continue;
		}
		c->poll.data = c;
		c->n = n;
		c->fd = fd;
		c->o = o;
		c->anext = n->conns;
		if (n->conns)
			n->conns->aprev = c;
		n->conns = c;
		o->nconns++;
		c->x = x;
		x->c = c;
		if (o->h2mode && !o->no_h2 && !x->fresh)
			o->opening = c; /* (others may wait for it) */
		if (sa->sa_family == AF_INET6)
			uv_ip6_name((const struct sockaddr_in6 *)sa, c->ip, sizeof(c->ip));
		else
			uv_ip4_name((const struct sockaddr_in *)sa, c->ip, sizeof(c->ip));
		memcpy(x->primary_ip, c->ip, sizeof(c->ip));
		/* (A TLS handshake never runs on the journey's stack, which
		 * this may be: it waits for the loop.) */
		if (rc == 0 && !o->tls)
			return connected(x);
		c->state = C_CONNECTING;
		set_events(c, UV_WRITABLE);
		return 0;
	}
	return x->oserr == ENOMEM ? HN_ENOMEM : HN_ECONNECT;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	hn_origin *o = req->data;
	http_native *n = o->n;
	http_native_xfer *x;
	int na = 0, rc;

	o->resolving = 0;
	n->pending--;
	if (status == 0) {
		for (struct addrinfo *ai = res; ai && na < HN_MAX_ADDRS; ai = ai->ai_next) {
			if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			    ai->ai_addrlen > sizeof(o->addrs[0]))
				continue;
			memcpy(&o->addrs[na++], ai->ai_addr, ai->ai_addrlen);
		}
		o->naddrs = na;
		o->expires = uv_hrtime() + (uint64_t)HTTP_NATIVE_DNS_TTL * 1000000000u;
	}
	uv_freeaddrinfo(res);
	if (n->closing) {
		maybe_done(n);
		return;
	}
	/* Hand the addresses to every waiter. Each may end (and its journey
	 * start new requests) before the next is served, so the waiters move
	 * to a list of their own that cancellations also find. */
	o->processing = o->waiters;
	for (x = o->processing; x; x = x->wnext)
		x->wlist = &o->processing;
	o->waiters = NULL;
	n->pending++; /* (n stays while its waiters' journeys run) */
	while ((x = o->processing) && !n->closing) {
		waiters_remove(x);
		x->t_resolved = uv_hrtime();
		if (status < 0 || na == 0) {
			finish(x, HN_EDNS);
			continue;
		}
		x->addr_idx = 0;
		if ((rc = connect_next(x)))
			finish(x, rc);
	}
	n->pending--;
	maybe_done(n);
}

/* The origin of host:port with TLS context tls (NULL: plain), created on
 * first use (NULL on ENOMEM). */
static hn_origin *origin_get(http_native *n, const char *host, size_t hl, int port, tls_ctx *tls,
			     int h2mode)
{
	hn_origin *o, **pp;

	for (pp = &n->origins; (o = *pp); pp = &o->next)
		if (o->port == port && o->tls == tls && o->h2mode == h2mode && o->host_len == hl &&
		    strncasecmp(o->host, host, hl) == 0) {
			if (pp != &n->origins) {
				/* Most recently used first: few origins are hot. */
				*pp = o->next;
				o->next = n->origins;
				n->origins = o;
			}
			return o;
		}
	if (n->norigins >= HN_MAX_ORIGINS) {
		/* Forget an origin nothing uses, so that a journey visiting
		 * endless hosts does not grow the list. */
		for (pp = &n->origins; (o = *pp); pp = &o->next)
			if (!o->nconns && !o->resolving && !o->waiters && !o->processing) {
				*pp = o->next;
				origin_free(o);
				n->norigins--;
				break;
			}
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->host = malloc(hl + 1);
	if (!o->host) {
		free(o);
		return NULL;
	}
	memcpy(o->host, host, hl);
	o->host[hl] = 0;
	o->host_len = hl;
	o->port = port;
	o->n = n;
	o->gai.data = o;
	o->tls = tls;
	o->h2mode = h2mode;
	if (tls)
		tls_ctx_ref(tls);
	/* A numeric host needs no resolution, ever. */
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addrs[0];
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addrs[0];
		if (uv_ip4_addr(o->host, port, a4) == 0)
			o->naddrs = 1;
		else if (memchr(o->host, ':', hl) && uv_ip6_addr(o->host, port, a6) == 0)
			o->naddrs = 1;
		else
			memset(&o->addrs[0], 0, sizeof(o->addrs[0]));
	}
	o->next = n->origins;
	n->origins = o;
	n->norigins++;
	return o;
}

/* Gets x a new connection: at once when the addresses are known, else
 * after resolving them. 0, or an HN_E* code. */
static int new_connection(http_native_xfer *x)
{
	http_native *n = x->n;
	hn_origin *o = x->o;

	x->t_resolved = x->t_connected = x->t_tls = 0;
	x->connecting = 1;
	arm_timer(x);
	if (o->naddrs > 0 && (!o->expires || o->expires > uv_hrtime())) {
		x->t_resolved = uv_hrtime();
		x->addr_idx = 0;
		return connect_next(x);
	}
	if (!o->resolving) {
		struct addrinfo hints = { .ai_family = AF_UNSPEC,
					  .ai_socktype = SOCK_STREAM,
					  .ai_protocol = IPPROTO_TCP };
		char port[8];
		int p = o->port, k = 0;

		/* (No snprintf: this may run on a journey's small stack.) */
		do
			port[k++] = (char)('0' + p % 10);
		while ((p /= 10) && k < 6);
		port[k] = 0;
		for (int i = 0; i < k / 2; i++) {
			char t = port[i];
			port[i] = port[k - 1 - i];
			port[k - 1 - i] = t;
		}
		if (uv_getaddrinfo(n->loop, &o->gai, on_resolved, o->host, port, &hints) < 0)
			return HN_EDNS;
		o->resolving = 1;
		n->pending++;
	}
	waiters_add(o, x);
	return 0;
}

/* A kept-alive connection of o, or NULL. Stale ones are closed. */
static hn_conn *take_idle(http_native *n, hn_origin *o)
{
	hn_conn *c;

	while ((c = o->idle)) {
		idle_unlink(n, c);
		if (uv_now(n->loop) - c->idle_since < (uint64_t)HTTP_NATIVE_MAX_IDLE_AGE * 1000u)
			return c;
		c->state = C_BUSY; /* (not idle any more: conn_close must not unlink it) */
		c->tls_bad = 1; /* (no close_notify from a journey's stack) */
		conn_close(n, c);
	}
	return NULL;
}

/* ---- HTTP/2 --------------------------------------------------------------------- */

static int route(http_native *n, http_native_xfer *x);

/* h2_ops.write: what fits the socket now. */
static ssize_t h2_write(void *conn, const char *data, size_t len)
{
	hn_conn *c = conn;
	size_t put;
	ssize_t k;

	if (c->tls) {
		switch (tls_write(c->tls, data, len, &put, &c->n->tf)) {
		case TLS_OK:
			return (ssize_t)put;
		case TLS_WANT_WRITE:
		case TLS_WANT_READ:
			return 0;
		default:
			c->tls_bad = 1;
			return -EPROTO;
		}
	}
	do
		k = send(c->fd, data, len, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return k;
}

/* h2_ops.stream_end: x's stream ended. A refused one (never processed:
 * the server's GOAWAY came first) is sent again elsewhere, up to
 * HN_H2_RETRIES times. */
static void h2_stream_end(void *conn, http_native_xfer *x, int err)
{
	hn_conn *c = conn;
	http_native *n = c->n;

	x->h2c = NULL;
	if (err == HN_EREFUSED && x->h2_retries < HN_H2_RETRIES && !n->closing) {
		x->h2_retries++;
		x->reused = 0;
		if ((err = route(n, x)) == 0)
			return;
	}
	finish(x, err == HN_EREFUSED ? HN_ERESET : err);
}

static const h2_ops hn_h2_ops = { .write = h2_write, .stream_end = h2_stream_end };

/* Ends every stream of c with err, then closes c. */
static void h2_conn_die(http_native *n, hn_conn *c, int err)
{
	h2_fail_all(c->h2, err);
	conn_close(n, c);
}

/* Writes c's HTTP/2 output; closes c once it is done with. */
static void h2_conn_flush(http_native *n, hn_conn *c)
{
	int rc = h2_flush(c->h2);

	if (rc < 0) {
		h2_conn_die(n, c, HN_ESEND);
		return;
	}
	set_events(c, rc ? UV_READABLE | UV_WRITABLE : UV_READABLE);
	if (h2_finished(c->h2))
		conn_close(n, c);
}

static void h2_on_poll(http_native *n, hn_conn *c, int status, int events)
{
	int reads = c->tls ? HN_TLS_READS_PER_CB : HN_READS_PER_CB;

	if (status < 0)
		c->events = 0; /* (libuv stopped watching: the read says why) */
	if ((events & UV_READABLE) || status < 0) {
		for (int i = 0; i < reads; i++) {
			ssize_t k = conn_read(n, c);
			if (k == -EAGAIN)
				break;
			if (k <= 0) {
				/* Closed or failed under its streams. */
				h2_conn_die(n, c, k == 0 ? HN_ERESET : HN_ERECV);
				return;
			}
			if (h2_recv(c->h2, n->rbuf, (size_t)k) < 0) {
				h2_conn_die(n, c, HN_ERESET);
				return;
			}
		}
		/* Read-ahead bytes epoll will not announce: the next turn. */
		if (c->tls && tls_pending(c->tls)) {
			c->read_more = 1;
			h2q_add(n, c);
		}
		/* What the streams ended here made their journeys ask goes
		 * out at the loop's next idle phase, with what other
		 * connections' ends asked meanwhile: fewer, fuller writes. */
		if (h2_want_write(c->h2)) {
			h2q_add(n, c);
			return;
		}
	}
	h2_conn_flush(n, c);
}

/* Starts x on a stream of c (HTTP/2). 0 or an HN_E* code; nothing is sent
 * yet. */
static int h2_stream_start(http_native *n, hn_conn *c, http_native_xfer *x)
{
	int rc;

	(void)n;
	x->c = NULL;
	x->connecting = 0;
	x->on_h2 = 1;
	x->tls_version = c->tls_version;
	if (!x->t_pre)
		x->t_pre = uv_hrtime();
	if ((rc = h2_submit(c->h2, x, c->tls != NULL)))
		return rc;
	x->h2c = c;
	return 0;
}

/* Stops x's stream (a timeout, a cancel). */
static void h2_stream_stop(http_native *n, http_native_xfer *x)
{
	hn_conn *c = x->h2c;

	x->h2c = NULL;
	h2_cancel(c->h2, x);
	h2q_add(n, c); /* (the RST_STREAM) */
}

/* c speaks HTTP/2 now: its owner and who waited for it get streams. */
static int h2_become(http_native *n, hn_conn *c, http_native_xfer *owner)
{
	hn_origin *o = c->o;
	http_native_xfer *x;
	int rc = 0;

	if (!(c->h2 = h2_conn_new(c, &hn_h2_ops, n->h2_streams)))
		return HN_ENOMEM;
	c->state = C_H2;
	c->x = NULL;
	if (c->tls)
		tls_read_ahead(c->tls); /* (many small records) */
	if (o->opening == c)
		o->opening = NULL;
	tls_idle(n, c); /* (a TLS burst counts HTTP/1.1 connections) */
	if (owner && owner->fresh) {
		h2_retire(c->h2); /* its owner's alone, closed after */
	} else {
		c->oprev = NULL;
		c->onext = o->h2conns;
		if (o->h2conns)
			o->h2conns->oprev = c;
		o->h2conns = c;
	}
	if (owner)
		rc = h2_stream_start(n, c, owner);
	/* Oldest first (the list is newest first): a stream refused before
	 * waits here, and must not always get the highest id, the one a
	 * server's next GOAWAY refuses again. */
	for (x = c->pend; x && x->wnext; x = x->wnext)
		;
	while (x) {
		http_native_xfer *prev = x->wprev;
		int r;
		waiters_remove(x);
		x->pendc = NULL;
		c->npend--;
		x->t_resolved = x->t_connected = x->t_tls = x->t_start;
		if ((r = h2_stream_start(n, c, x)))
			finish(x, r);
		x = prev;
	}
	h2q_add(n, c);
	return rc;
}

/* Ends who waited for c (owner's connection failed: err, with its facts). */
static void pend_release(http_native *n, hn_conn *c, const http_native_xfer *owner, int err)
{
	http_native_xfer *x;

	(void)n;
	while ((x = c->pend)) {
		waiters_remove(x);
		x->pendc = NULL;
		c->npend--;
		x->oserr = owner->oserr;
		if (err == HN_ETLS && owner->tls_fail) {
			if (!x->tls_fail && !(x->tls_fail = malloc(sizeof(*x->tls_fail)))) {
				finish(x, HN_ENOMEM);
				continue;
			}
			*x->tls_fail = *owner->tls_fail;
		}
		finish(x, err);
	}
}

/* Who waited for c goes its own way (c is not to be HTTP/2). */
static void pend_reroute(http_native *n, hn_conn *c)
{
	http_native_xfer *x;
	int rc;

	if (c->o->opening == c)
		c->o->opening = NULL;
	while ((x = c->pend)) {
		waiters_remove(x);
		x->pendc = NULL;
		c->npend--;
		if ((rc = route(n, x)))
			finish(x, rc);
	}
}

/* x waits for c to be HTTP/2 (under the connect timeout). */
static void pend_add(hn_conn *c, http_native_xfer *x)
{
	x->wprev = NULL;
	x->wnext = c->pend;
	if (c->pend)
		c->pend->wprev = x;
	c->pend = x;
	x->wlist = &c->pend;
	x->pendc = c;
	c->npend++;
	x->reused = 1;
	x->connecting = 1;
	arm_timer(x);
}

void http_native_set_h2_streams(http_native *n, uint32_t max)
{
	n->h2_streams = max < 1 ? 1 : max > H2_MAX_STREAMS ? H2_MAX_STREAMS : max;
}

/* ---- starting ------------------------------------------------------------------ */

/* Takes x to its origin (x->o): a stream of an HTTP/2 connection with
 * room, a wait for one being opened, a kept-alive connection, or a new
 * one. 0 when under way, or an HN_E* code. */
static int route(http_native *n, http_native_xfer *x)
{
	hn_origin *o = x->o;
	hn_conn *c;
	int rc;

	if (o->h2mode && !x->fresh) {
		for (c = o->h2conns; c; c = c->onext) {
			if (!h2_can_take(c->h2))
				continue;
			x->reused = 1;
			x->t_resolved = x->t_connected = x->t_tls = x->t_start;
			memcpy(x->primary_ip, c->ip, sizeof(c->ip));
			arm_timer(x);
			rc = h2_stream_start(n, c, x);
			if (rc == HN_EREFUSED) {
				/* nghttp2 takes no new stream there (a GOAWAY it
				 * has seen): that connection only finishes. */
				h2_retire(c->h2);
				continue;
			}
			if (rc)
				return rc;
			h2q_add(n, c);
			return 0;
		}
		if (!o->no_h2 && (c = o->opening) && c->npend + 1 < n->h2_streams) {
			pend_add(c, x);
			return 0;
		}
	}
	if (!x->fresh && (c = take_idle(n, o))) {
		c->state = C_BUSY;
		c->x = x;
		x->c = c;
		x->reused = 1;
		x->tls_version = c->tls_version;
		tls_work(n, c);
		x->t_resolved = x->t_connected = x->t_tls = x->t_pre = x->t_start;
		memcpy(x->primary_ip, c->ip, sizeof(c->ip));
		arm_timer(x);
		if (c->tls) {
			queue_send(n, x);
			return 0;
		}
		rc = send_some(x);
		if (!rc)
			return 0;
		/* The server closed it meanwhile: a new connection. */
		x->retried = 1;
		x->reused = 0;
		conn_close(n, c);
		x->sent = 0;
		x->t_pre = 0;
	}
	return new_connection(x);
}

int http_native_start(http_native *n, http_native_xfer *x, const http1_url *u)
{
	tls_ctx *tls = u->https ? x->tls : NULL;
	int rc, h2mode;

	x->err = HN_OK;
	x->oserr = 0;
	x->status = x->version = x->reused = 0;
	x->tls_version = x->tls_resumed = 0;
	x->bytes_out = x->header_bytes = x->bytes_in = 0;
	x->t_start = uv_hrtime();
	x->t_resolved = x->t_connected = x->t_tls = x->t_pre = x->t_first = x->t_end = 0;
	x->primary_ip[0] = 0;
	x->sent = 0;
	x->retried = 0;
	x->connecting = 0;
	x->c = NULL;
	x->h2c = NULL;
	x->h2_stream = 0;
	x->h2_err = 0;
	x->pendc = NULL;
	x->on_h2 = 0;
	x->h2_retries = 0;
	/* Deadlines in the loop's time, as libuv's timers count. */
	x->deadline = uv_now(n->loop) + x->timeout_ms;
	x->connect_deadline = uv_now(n->loop) + x->connect_timeout_ms;
	parser_start(x);
	if (n->closing) {
		x->err = HN_ECLOSED;
		return 1;
	}
	if (u->https && !tls) {
		x->err = HN_ENOMEM; /* (the caller has no context for it) */
		return 1;
	}
	/* Over TLS a small body goes in the head's record. */
	if (tls && x->body_len && x->body_len <= HN_TLS_COALESCE && x->body_fd < 0) {
		if (http1_buf_reserve(&x->req, x->req.len + x->body_len) < 0) {
			x->err = HN_ENOMEM;
			return 1;
		}
		memcpy(x->req.p + x->req.len, x->body, x->body_len);
		x->req.len += x->body_len;
		x->body = NULL;
		x->body_len = 0;
	}
	/* HTTP/2 over TLS (ALPN), or h2c when asked for by prior knowledge. */
	h2mode = u->https ? x->h2 : x->h2 == HN_H2_PRIOR ? HN_H2_PRIOR : HN_H1;
	x->o = origin_get(n, u->host, u->host_len, u->port, tls, h2mode);
	if (!x->o) {
		x->err = HN_ENOMEM;
		return 1;
	}
	x->active = 1;
	rc = route(n, x);
	if (!rc)
		return 0;
	x->err = rc;
	x->t_end = uv_hrtime();
	x->active = 0;
	waiters_remove(x);
	if (x->c)
		conn_close(n, x->c);
	return 1;
}
