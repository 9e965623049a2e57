/*
 * http_native_h2.c - the native client's HTTP/2 (runner/h2.c on nghttp2;
 * see http_native_int.h), for transfers that ask for it (x->h2): over TLS
 * when ALPN picks "h2", or h2c with prior knowledge. Such a connection
 * carries many transfers at once, one stream each, up to the stream limit
 * (the server's, and http_native_set_h2_streams); it is not idle-pooled but
 * kept on its origin's list while it lives. A transfer for such an origin
 * takes a stream on a connection with room, else waits for a connection
 * being opened to the origin (while that one has room), else opens one
 * (http_native_route): so many transfers starting together share a few
 * connections, as browsers and libcurl (PIPEWAIT) do. If the server picks
 * HTTP/1.1 after all, the waiting transfers go their own way. What a
 * stream sends goes out from the loop, never from the journey's stack.
 */
#include "runner/http_native_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

/* Times a stream the server refused is sent again: a refused stream was
 * not processed, so sending it again is safe, and a server that allows a
 * few requests a connection (GOAWAY every N) refuses a busy origin's
 * streams often; the request's timeout bounds it too. */
#define HN_H2_RETRIES 50

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
		if ((err = http_native_route(n, x)) == 0)
			return;
	}
	http_native_finish(x, err == HN_EREFUSED ? HN_ERESET : err);
}

static const h2_ops hn_h2_ops = { .write = h2_write, .stream_end = h2_stream_end };

/* Ends every stream of c with err, then closes c. */
static void h2_conn_die(http_native *n, hn_conn *c, int err)
{
	h2_fail_all(c->h2, err);
	http_native_conn_close(n, c);
}

/* Writes c's HTTP/2 output; closes c once it is done with. */
void http_native_h2_flush(http_native *n, hn_conn *c)
{
	int rc = h2_flush(c->h2);

	if (rc < 0) {
		h2_conn_die(n, c, HN_ESEND);
		return;
	}
	http_native_conn_events(c, rc ? UV_READABLE | UV_WRITABLE : UV_READABLE);
	if (h2_finished(c->h2))
		http_native_conn_close(n, c);
}

void http_native_h2_poll(http_native *n, hn_conn *c, int status, int events)
{
	int reads = c->tls ? HN_TLS_READS_PER_CB : HN_READS_PER_CB;

	if (status < 0)
		c->events = 0; /* (libuv stopped watching: the read says why) */
	if ((events & UV_READABLE) || status < 0) {
		for (int i = 0; i < reads; i++) {
			ssize_t k = http_native_conn_read(n, c);
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
			http_native_send_h2q_add(n, c);
		}
		/* What the streams ended here made their journeys ask goes
		 * out at the loop's next idle phase, with what other
		 * connections' ends asked meanwhile: fewer, fuller writes. */
		if (h2_want_write(c->h2)) {
			http_native_send_h2q_add(n, c);
			return;
		}
	}
	http_native_h2_flush(n, c);
}

/* Starts x on a stream of c (HTTP/2). 0 or an HN_E* code; nothing is sent
 * yet. */
int http_native_h2_stream_start(http_native *n, hn_conn *c, http_native_xfer *x)
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
void http_native_h2_stream_stop(http_native *n, http_native_xfer *x)
{
	hn_conn *c = x->h2c;

	x->h2c = NULL;
	h2_cancel(c->h2, x);
	http_native_send_h2q_add(n, c); /* (the RST_STREAM) */
}

/* c speaks HTTP/2 now: its owner and who waited for it get streams. */
int http_native_h2_become(http_native *n, hn_conn *c, http_native_xfer *owner)
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
	http_native_tls_idle(n, c); /* (a TLS burst counts HTTP/1.1 connections) */
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
		rc = http_native_h2_stream_start(n, c, owner);
	/* Oldest first (the list is newest first): a stream refused before
	 * waits here, and must not always get the highest id, the one a
	 * server's next GOAWAY refuses again. */
	for (x = c->pend; x && x->wnext; x = x->wnext)
		;
	while (x) {
		http_native_xfer *prev = x->wprev;
		int r;
		http_native_unwait(x);
		x->pendc = NULL;
		c->npend--;
		x->t_resolved = x->t_connected = x->t_tls = x->t_start;
		if ((r = http_native_h2_stream_start(n, c, x)))
			http_native_finish(x, r);
		x = prev;
	}
	http_native_send_h2q_add(n, c);
	return rc;
}

/* Ends who waited for c (owner's connection failed: err, with its facts). */
void http_native_h2_pend_release(http_native *n, hn_conn *c, const http_native_xfer *owner, int err)
{
	http_native_xfer *x;

	(void)n;
	while ((x = c->pend)) {
		http_native_unwait(x);
		x->pendc = NULL;
		c->npend--;
		x->oserr = owner->oserr;
		if (err == HN_ETLS && owner->tls_fail) {
			if (!x->tls_fail && !(x->tls_fail = malloc(sizeof(*x->tls_fail)))) {
				http_native_finish(x, HN_ENOMEM);
				continue;
			}
			*x->tls_fail = *owner->tls_fail;
		}
		http_native_finish(x, err);
	}
}

/* Who waited for c goes its own way (c is not to be HTTP/2). */
void http_native_h2_pend_reroute(http_native *n, hn_conn *c)
{
	http_native_xfer *x;
	int rc;

	if (c->o->opening == c)
		c->o->opening = NULL;
	while ((x = c->pend)) {
		http_native_unwait(x);
		x->pendc = NULL;
		c->npend--;
		if ((rc = http_native_route(n, x)))
			http_native_finish(x, rc);
	}
}

/* x waits for c to be HTTP/2 (under the connect timeout). */
void http_native_h2_pend_add(hn_conn *c, http_native_xfer *x)
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
	http_native_arm_timer(x);
}

void http_native_set_h2_streams(http_native *n, uint32_t max)
{
	n->h2_streams = max < 1 ? 1 : max > H2_MAX_STREAMS ? H2_MAX_STREAMS : max;
}
