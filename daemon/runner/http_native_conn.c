/*
 * http_native_conn.c - the native client's connections (see
 * http_native_int.h): connecting to an origin's addresses, the keep-alive
 * pool, closing, reading, and the readiness callback that drives a
 * connection through its states.
 *
 * A connection's uv_poll watches UV_READABLE from connect to close, idle or
 * busy, so a request on a kept-alive connection costs no epoll_ctl: the
 * request goes out with one sendmsg (WRITABLE is added only while a request
 * does not fit in the socket buffer), the response comes in through recv
 * into the engine's one read buffer and is parsed at once. An idle
 * connection that becomes readable was closed by the server (or sends what
 * it should not): it is closed at once.
 */
#include "runner/http_native_int.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void conn_closed(uv_handle_t *h)
{
	hn_conn *c = h->data;
	http_native *n = c->n; /* (its origin may be gone: it had no connection left) */

	free(c);
	n->pending--;
	http_native_maybe_done(n);
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

/* Closes c (whatever its state) and detaches its transfers (those waiting
 * for it too: callers that must end or reroute them do so first). */
void http_native_conn_close(http_native *n, hn_conn *c)
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
		http_native_send_h2q_remove(n, c);
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		n->conns = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	c->o->nconns--;
	http_native_tls_idle(n, c);
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

/* Puts c back in its origin's idle list, closing the oldest idle one when
 * there are too many. */
void http_native_conn_idle(http_native *n, hn_conn *c)
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
	http_native_conn_events(c, UV_READABLE);
	while (n->nidle > n->max_idle && n->idle_old)
		http_native_conn_close(n, n->idle_old);
	http_native_tls_idle(n, c);
}

/* A kept-alive connection of o, or NULL. Stale ones are closed. */
hn_conn *http_native_conn_take_idle(http_native *n, hn_origin *o)
{
	hn_conn *c;

	while ((c = o->idle)) {
		idle_unlink(n, c);
		if (uv_now(n->loop) - c->idle_since < (uint64_t)HTTP_NATIVE_MAX_IDLE_AGE * 1000u)
			return c;
		/* Not idle any more: closing it must not unlink it again. */
		c->state = C_BUSY;
		c->tls_bad = 1; /* (no close_notify from a journey's stack) */
		http_native_conn_close(n, c);
	}
	return NULL;
}

/* Reads from c into the engine's buffer: the bytes read, 0 at the end of
 * the stream, -EAGAIN when nothing more came, or -errno (EPROTO: TLS
 * failed). */
ssize_t http_native_conn_read(http_native *n, hn_conn *c)
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
		http_native_conn_events(c, UV_READABLE | UV_WRITABLE);
		return -EAGAIN;
	default:
		c->tls_bad = 1;
		return -(n->tf.oserr ? n->tf.oserr : EPROTO);
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
			return http_native_h2_become(n, c, x); /* h2c, prior knowledge */
		x->connecting = 0;
		return http_native_send_some(x);
	}
	return http_native_tls_start(x);
}

/* c's connect ended (status: the poll's): up, or on to x's next address. */
static void connect_done(http_native *n, hn_conn *c, http_native_xfer *x, int status)
{
	int err = sock_error(c->fd, status < 0 ? -status : 0), rc;

	if (err) {
		x->oserr = err;
		if (c->pend)
			http_native_h2_pend_reroute(n, c);
		http_native_conn_close(n, c);
		x->addr_idx++;
		if ((rc = http_native_conn_connect(x)))
			http_native_finish(x, rc);
		return;
	}
	if ((rc = connected(x)))
		http_native_finish(x, rc);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	hn_conn *c = h->data;
	http_native *n = c->n;
	http_native_xfer *x = c->x;
	int rc;

	if (c->state == C_H2) {
		http_native_h2_poll(n, c, status, events);
		return;
	}
	if (c->state == C_IDLE || !x) {
		/* The server closed an idle connection, or sent what nobody
		 * asked for. */
		if (c->state == C_IDLE && c->tls && status == 0 && http_native_tls_idle_ok(n, c))
			return;
		http_native_conn_close(n, c);
		return;
	}
	if (status < 0) {
		/* libuv reports EPOLLERR as UV_EBADF and stops watching: the
		 * socket knows what really happened. */
		c->events = 0;
		c->dead = 1;
		if (c->state == C_BUSY) {
			http_native_resp_readable(n, x);
			if (c->x == x) { /* nothing ended it */
				x->oserr = sock_error(c->fd, -status);
				if (!http_native_resp_retry(x))
					http_native_finish(x, HN_ERECV);
			}
			return;
		}
	}
	if (c->state == C_CONNECTING) {
		connect_done(n, c, x, status);
		return;
	}
	if (c->state == C_HANDSHAKE) {
		if ((rc = http_native_tls_handshake(x)))
			http_native_finish(x, rc);
		return;
	}
	/* (Over TLS a write may have waited for readability.) */
	if (((events & UV_WRITABLE) || c->tls) && x->sent < x->req.len + x->body_len) {
		if ((rc = http_native_send_some(x))) {
			if (!http_native_resp_retry(x))
				http_native_finish(x, rc);
			return;
		}
	}
	if (events & UV_READABLE)
		http_native_resp_readable(n, x);
}

void http_native_conn_events(hn_conn *c, int events)
{
	if (c->events != events) {
		c->events = events;
		uv_poll_start(&c->poll, events, on_poll);
	}
}

/* c, a new connection of x's origin on fd, to sa, joins the engine's lists
 * as x's. */
static void conn_add(http_native_xfer *x, hn_conn *c, int fd, const struct sockaddr *sa)
{
	http_native *n = x->n;
	hn_origin *o = x->o;

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
}

/* Tries x's addresses from x->addr_idx on. 0 while a connect runs (or the
 * request went out on an instant one), else an HN_E* code. */
int http_native_conn_connect(http_native_xfer *x)
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
		conn_add(x, c, fd, sa);
		/* (A TLS handshake never runs on the journey's stack, which
		 * this may be: it waits for the loop.) */
		if (rc == 0 && !o->tls)
			return connected(x);
		c->state = C_CONNECTING;
		http_native_conn_events(c, UV_WRITABLE);
		return 0;
	}
	return x->oserr == ENOMEM ? HN_ENOMEM : HN_ECONNECT;
}
