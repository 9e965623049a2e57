/*
 * http_native.c - see http_native.h: the engine's life, its transfers
 * (the pool, timeouts, the end of one) and starting one. The other jobs
 * are in http_native_*.c (the list is in http_native_int.h).
 *
 * Why not libcurl for these: for a small response libcurl 7.88 spends about
 * 60,000 instructions per request (request building through its printf,
 * URL re-parsing, connection-cache keys, liveness polls); this path spends
 * a few thousand, so the generator's CPU goes to the kernel's TCP work, as
 * wrk's does.
 *
 * Callbacks: x->done runs from a loop callback, as the last thing the
 * client does for x there: it may resume the journey, which may start,
 * cancel or release transfers at once.
 */
#include "runner/http_native_int.h"

#include <stdlib.h>
#include <string.h>

/* A request body up to this size goes out in the head's TLS record: one
 * write rather than two. */
#define HN_TLS_COALESCE (16 * 1024)

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

void http_native_maybe_done(http_native *n)
{
	void (*done)(void *);
	void *arg;
	hn_origin *o;

	if (!n->closing || n->pending > 0)
		return;
	while ((o = n->origins)) {
		n->origins = o->next;
		http_native_origin_free(o);
	}
	done = n->done;
	arg = n->done_arg;
	free(n->rbuf);
	free(n);
	if (done)
		done(arg);
}

static void flush_closed(uv_handle_t *h)
{
	http_native *n = h->data;

	n->pending--;
	http_native_maybe_done(n);
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
	http_native_maybe_done(n);
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
		http_native_conn_close(n, n->conns);
	while ((x = n->xfers)) {
		n->xfers = x->anext;
		x->active = 0;
		x->wlist = NULL;
		n->pending++;
		uv_close((uv_handle_t *)&x->timer, xfer_timer_closed);
	}
	n->free_xfers = NULL;
	http_native_maybe_done(n);
}

void http_native_set_max_idle(http_native *n, size_t max)
{
	n->max_idle = max;
	while (n->nidle > n->max_idle && n->idle_old)
		http_native_conn_close(n, n->idle_old);
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

void http_native_unwait(http_native_xfer *x)
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

/* Ends x: detaches what it holds and calls done, last. */
void http_native_finish(http_native_xfer *x, int err)
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
	http_native_unwait(x);
	if (x->pendc) {
		x->pendc->npend--;
		x->pendc = NULL;
	}
	if (x->h2c)
		http_native_h2_stream_stop(n, x);
	if (x->c) {
		hn_conn *c = x->c;
		if (c->pend)
			http_native_h2_pend_release(n, c, x, err); /* (they waited for this one) */
		http_native_conn_close(n, c);
	}
	if (x->done)
		x->done(x);
}

void http_native_cancel(http_native *n, http_native_xfer *x)
{
	if (!x->active)
		return;
	x->active = 0;
	http_native_unwait(x);
	if (x->pendc) {
		x->pendc->npend--;
		x->pendc = NULL;
	}
	if (x->h2c)
		http_native_h2_stream_stop(n, x);
	if (x->c) {
		hn_conn *c = x->c;
		if (c->pend)
			http_native_h2_pend_reroute(n, c); /* (they go their own way) */
		http_native_conn_close(n, c);
	}
}

/* x's deadline now (loop time, ms): the connect one counts until connected. */
static uint64_t due_of(const http_native_xfer *x)
{
	if (x->connecting && x->connect_deadline < x->deadline)
		return x->connect_deadline;
	return x->deadline;
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
		http_native_finish(x, HN_ETIMEOUT);
		return;
	}
	x->timer_due = uv_now(x->n->loop) + (limit - elapsed);
	uv_timer_start(&x->timer, on_timer, limit - elapsed, 0);
}

/* Makes sure x's timer fires by its deadline. Timers are re-armed lazily:
 * one that fires early (it was armed for an earlier request of this
 * pooled transfer, or before the connection was made) re-arms itself for
 * what is left, so a request on a kept-alive connection usually costs no
 * timer operation at all; one that fires for a finished transfer does
 * nothing. */
void http_native_arm_timer(http_native_xfer *x)
{
	uint64_t now = uv_now(x->n->loop), due = due_of(x);

	if (x->timer_due && x->timer_due <= due)
		return;
	x->timer_due = due;
	uv_timer_start(&x->timer, on_timer, due > now ? due - now : 0, 0);
}

/* ---- starting ------------------------------------------------------------------ */

/* Takes x to its origin (x->o): a stream of an HTTP/2 connection with
 * room, a wait for one being opened, a kept-alive connection, or a new
 * one. 0 when under way, or an HN_E* code. */
int http_native_route(http_native *n, http_native_xfer *x)
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
			http_native_arm_timer(x);
			rc = http_native_h2_stream_start(n, c, x);
			if (rc == HN_EREFUSED) {
				/* nghttp2 takes no new stream there (a GOAWAY it
				 * has seen): that connection only finishes. */
				h2_retire(c->h2);
				continue;
			}
			if (rc)
				return rc;
			http_native_send_h2q_add(n, c);
			return 0;
		}
		if (!o->no_h2 && (c = o->opening) && c->npend + 1 < n->h2_streams) {
			http_native_h2_pend_add(c, x);
			return 0;
		}
	}
	if (!x->fresh && (c = http_native_conn_take_idle(n, o))) {
		c->state = C_BUSY;
		c->x = x;
		x->c = c;
		x->reused = 1;
		x->tls_version = c->tls_version;
		http_native_tls_work(n, c);
		x->t_resolved = x->t_connected = x->t_tls = x->t_pre = x->t_start;
		memcpy(x->primary_ip, c->ip, sizeof(c->ip));
		http_native_arm_timer(x);
		if (c->tls) {
			http_native_send_queue(n, x);
			return 0;
		}
		rc = http_native_send_some(x);
		if (!rc)
			return 0;
		/* The server closed it meanwhile: a new connection. */
		x->retried = 1;
		x->reused = 0;
		http_native_conn_close(n, c);
		x->sent = 0;
		x->t_pre = 0;
	}
	return http_native_origin_connect(x);
}

/* x's out fields and its state, fresh for a start now. */
static void xfer_reset(http_native *n, http_native_xfer *x)
{
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
}

int http_native_start(http_native *n, http_native_xfer *x, const http1_url *u)
{
	tls_ctx *tls = u->https ? x->tls : NULL;
	int rc, h2mode;

	xfer_reset(n, x);
	http_native_resp_start(x);
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
	x->o = http_native_origin_get(n, u->host, u->host_len, u->port, tls, h2mode);
	if (!x->o) {
		x->err = HN_ENOMEM;
		return 1;
	}
	x->active = 1;
	rc = http_native_route(n, x);
	if (!rc)
		return 0;
	x->err = rc;
	x->t_end = uv_hrtime();
	x->active = 0;
	http_native_unwait(x);
	if (x->c)
		http_native_conn_close(n, x->c);
	return 1;
}
