/*
 * ws_conn.c - see ws_conn.h.
 *
 * Why wslay: it frames and parses, checks what RFC 6455 asks (masking,
 * reserved bits and opcodes, UTF-8 in text, close codes), answers pings and
 * closes, and leaves every byte of I/O to us through callbacks, so it runs
 * on the runner's loop over any stream, TLS included (docs/websocket.md).
 *
 * Receiving: a readable socket is read into the engine's buffer
 * (WS_CONN_RBUF at a time) and the bytes are handed to wslay through its
 * recv callback until they run out. wslay runs unbuffered: it hands us each
 * frame's payload as it comes and we build the message ourselves, so a
 * message is copied once, and its size is checked against max_message at
 * its frames' headers, before anything is kept (wslay would allocate the
 * length a header claims). Control frames (close, ping, pong) wslay keeps
 * and answers itself.
 *
 * Sending: wslay queues a copy of each message and writes it through its
 * send callback while the socket takes it; the rest goes when the socket
 * is writable again.
 */
#include "runner/ws_conn.h"
#include "runner/ws_hs.h"
#include "runner/ws_tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

/* Reads per readiness callback: a large message goes in quickly without
 * starving the other connections. */
#define WS_READS_PER_CB 4

struct ws_dns {
	struct ws_dns *next;
	char *host;
	int port;
	struct sockaddr_storage a[WS_CONN_MAX_ADDRS];
	int n;
	uint64_t expires; /* uv_now ms */
};

struct ws_engine {
	uv_loop_t *loop;
	char *rbuf;
	ws_conn *conns;
	struct ws_dns *dns;
	size_t ndns;
	int closing;
	long pending; /* connections not yet released (and the idle handle) */
	void (*done)(void *arg);
	void *done_arg;
	uv_idle_t idle; /* sends what journeys queued on TLS connections */
	ws_conn *flushq; /* ... those connections (ws_conn.fnext) */
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_idle(uv_idle_t *h);
static int connect_next(ws_conn *c);
static void conn_end(ws_conn *c);

/* ---- the engine ----------------------------------------------------------- */

ws_engine *ws_engine_new(uv_loop_t *loop)
{
	ws_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->rbuf = malloc(WS_CONN_RBUF);
	if (!e->rbuf) {
		free(e);
		return NULL;
	}
	e->loop = loop;
	if (uv_idle_init(loop, &e->idle) < 0) {
		free(e->rbuf);
		free(e);
		return NULL;
	}
	e->idle.data = e;
	e->pending = 1; /* the idle handle, until closed */
	return e;
}

uv_loop_t *ws_engine_loop(ws_engine *e)
{
	return e->loop;
}

static void engine_maybe_done(ws_engine *e)
{
	void (*done)(void *);
	void *arg;
	struct ws_dns *d;

	if (!e->closing || e->pending > 0)
		return;
	while ((d = e->dns)) {
		e->dns = d->next;
		free(d->host);
		free(d);
	}
	done = e->done;
	arg = e->done_arg;
	free(e->rbuf);
	free(e);
	if (done)
		done(arg);
}

static void idle_closed(uv_handle_t *h)
{
	ws_engine *e = h->data;

	e->pending--;
	engine_maybe_done(e);
}

void ws_engine_close(ws_engine *e, void (*done)(void *arg), void *arg)
{
	if (!e) {
		if (done)
			done(arg);
		return;
	}
	e->closing = 1;
	e->done = done;
	e->done_arg = arg;
	while (e->conns) {
		e->conns->err = e->conns->err ? e->conns->err : WSE_CLOSED;
		ws_conn_free(e->conns);
	}
	uv_close((uv_handle_t *)&e->idle, idle_closed);
}

/* The cached addresses of host:port, or NULL (stale ones are dropped). */
static struct ws_dns *dns_find(ws_engine *e, const char *host, int port)
{
	struct ws_dns **pp, *d;

	for (pp = &e->dns; (d = *pp); pp = &d->next) {
		if (d->port != port || strcasecmp(d->host, host) != 0)
			continue;
		if (d->expires > uv_now(e->loop))
			return d;
		*pp = d->next;
		free(d->host);
		free(d);
		e->ndns--;
		return NULL;
	}
	return NULL;
}

static void dns_put(ws_engine *e, const ws_conn *c)
{
	struct ws_dns *d, **pp;

	if (e->ndns >= WS_DNS_MAX) {
		/* Drop the last (the oldest: new ones go first). */
		for (pp = &e->dns; (*pp)->next; pp = &(*pp)->next)
			;
		free((*pp)->host);
		free(*pp);
		*pp = NULL;
		e->ndns--;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->host = strdup(c->host))) {
		free(d);
		return; /* not cached: resolved again next time */
	}
	d->port = c->port;
	memcpy(d->a, c->addrs, sizeof(d->a));
	d->n = c->naddrs;
	d->expires = uv_now(e->loop) + (uint64_t)WS_DNS_TTL * 1000;
	d->next = e->dns;
	e->dns = d;
	e->ndns++;
}

/* ---- life of a connection ------------------------------------------------------ */

static void conn_release(ws_conn *c)
{
	ws_engine *e = c->e;

	if (!c->freed || c->handles > 0 || c->resolving)
		return;
	free(c);
	e->pending--;
	engine_maybe_done(e);
}

static void handle_closed(uv_handle_t *h)
{
	ws_conn *c = h->data;

	if (h->type == UV_POLL)
		free(h);
	c->handles--;
	conn_release(c);
}

ws_conn *ws_conn_new(ws_engine *e)
{
	ws_conn *c;

	if (e->closing || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->e = e;
	c->fd = -1;
	if (uv_timer_init(e->loop, &c->timer) < 0) {
		free(c);
		return NULL;
	}
	c->timer.data = c;
	c->handles = 1;
	c->next = e->conns;
	if (e->conns)
		e->conns->prev = c;
	e->conns = c;
	e->pending++;
	return c;
}

/* Stops watching and closes the socket, after the I/O layer's state (a
 * TLS connection says goodbye on the fd while it is still ours). */
static void close_socket(ws_conn *c)
{
	if (c->io && c->io->free)
		c->io->free(c, !c->err);
	if (c->poll) {
		uv_poll_stop(c->poll);
		uv_close((uv_handle_t *)c->poll, handle_closed);
		c->poll = NULL;
		c->events = 0;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

static void free_queue(ws_conn *c)
{
	ws_rmsg *m;

	while ((m = c->qhead)) {
		c->qhead = m->next;
		free(m);
	}
	c->qtail = NULL;
	c->qbytes = c->qcount = 0;
}

void ws_conn_free(ws_conn *c)
{
	ws_engine *e = c->e;

	if (c->freed)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		e->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	for (ws_conn **p = &e->flushq; *p; p = &(*p)->fnext)
		if (*p == c) {
			*p = c->fnext;
			break;
		}
	c->hooks = NULL;
	if (c->ev) {
		wslay_event_context_ptr ev = c->ev;
		/* A last try to say goodbye, without waiting. */
		if (c->state == WS_OPEN && c->fd >= 0 && !c->err) {
			if (!wslay_event_get_close_sent(ev))
				wslay_event_queue_close(ev, WSLAY_CODE_GOING_AWAY, NULL, 0);
			wslay_event_send(ev);
		}
		wslay_event_context_free(ev);
		c->ev = NULL;
	}
	close_socket(c);
	tls_session_free(c->tls_sess);
	c->tls_sess = NULL;
	tls_ctx_put(c->tls);
	c->tls = NULL;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, handle_closed);
	if (c->resolving)
		uv_cancel((uv_req_t *)&c->gai); /* its callback still comes */
	free_queue(c);
	free(c->cur);
	c->cur = NULL;
	free(c->req.p);
	free(c->head.p);
	free(c->body.p);
	free(c->host);
	free(c->offered);
	c->state = WS_ENDED;
	c->freed = 1;
	conn_release(c);
}

const char *ws_conn_class(int err)
{
	switch (err) {
	case WSE_DNS:
		return "dns";
	case WSE_REFUSED:
		return "refused";
	case WSE_CONNECT:
		return "connect";
	case WSE_TIMEOUT:
		return "timeout";
	case WSE_HANDSHAKE:
		return "handshake";
	case WSE_RESET:
		return "reset";
	case WSE_PROTOCOL:
		return "protocol";
	case WSE_TOO_LARGE:
		return "too_large";
	case WSE_TLS:
		return "tls";
	case WSE_NOMEM:
		return "nomem";
	case WSE_CLOSED:
		return "closed";
	default:
		return "other";
	}
}

/* Fails c (the first failure is the one kept) and ends it: a close frame
 * wslay queued for it gets one try to go out, then the socket closes. */
static void conn_fail(ws_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_fail(ws_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (c->err || c->state == WS_ENDED)
		return;
	c->err = err;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	if (!c->close_code)
		c->close_code = WSLAY_CODE_ABNORMAL_CLOSURE;
	if (c->ev && err != WSE_RESET && c->fd >= 0)
		wslay_event_send(c->ev);
	conn_end(c);
}

/* No more I/O: the socket closes; the timer stays once open (the owner's). */
static void conn_end(ws_conn *c)
{
	if (c->state < WS_OPEN)
		uv_timer_stop(&c->timer);
	close_socket(c);
	c->state = WS_ENDED;
	c->want_write = c->io_wants_write = 0;
}

/* Why the I/O layer failed, in words. */
static const char *io_why(const ws_conn *c)
{
	return c->io_why[0] ? c->io_why : strerror(c->oserr ? c->oserr : EPIPE);
}

static void notify(ws_conn *c)
{
	if (c->hooks && c->hooks->notify)
		c->hooks->notify(c->owner);
}

static void set_events(ws_conn *c, int events)
{
	if (!c->poll || c->events == events)
		return;
	c->events = events;
	if (events)
		uv_poll_start(c->poll, events, on_poll);
	else
		uv_poll_stop(c->poll);
}

/* What to watch for now that c is open. */
static void update_events(ws_conn *c)
{
	int ev = 0;
	wslay_event_context_ptr w = c->ev;

	if (c->state != WS_OPEN || c->fd < 0)
		return;
	/* Read while wslay reads and the queue has room; after a close, on
	 * to the end of the stream. */
	if (!c->eof_seen &&
	    (!w || !wslay_event_want_read(w) || !c->qcount || c->qbytes < c->max_queue))
		ev |= UV_READABLE;
	if (c->want_write || c->io_wants_write)
		ev |= UV_WRITABLE;
	set_events(c, ev);
}

/* ---- plain TCP: the I/O layer of ws:// ------------------------------------------- */

static int plain_start(ws_conn *c)
{
	(void)c;
	return 0;
}

static ssize_t plain_read(ws_conn *c, void *buf, size_t len)
{
	for (;;) {
		ssize_t k = recv(c->fd, buf, len, 0);
		if (k >= 0)
			return k;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return WS_IO_WANT_READ;
		c->oserr = errno;
		return WS_IO_ERR;
	}
}

static ssize_t plain_write(ws_conn *c, const void *buf, size_t len, int more)
{
	for (;;) {
		/* MSG_NOSIGNAL: a closed peer is an error here, not SIGPIPE.
		 * MSG_MORE: a frame's header waits for its payload, so that
		 * the two leave in one segment in spite of TCP_NODELAY. */
		ssize_t k = send(c->fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
		if (k >= 0)
			return k;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return WS_IO_WANT_WRITE;
		c->oserr = errno;
		return WS_IO_ERR;
	}
}

static const ws_io plain_io = {
	.start = plain_start,
	.read = plain_read,
	.write = plain_write,
	.free = NULL,
};

/* ---- wslay's callbacks -------------------------------------------------------------- */

static ssize_t wcb_recv(wslay_event_context_ptr ev, uint8_t *buf, size_t len, int flags, void *user)
{
	ws_conn *c = user;
	size_t n = c->rlen < len ? c->rlen : len;

	(void)flags;
	if (n == 0) {
		wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(buf, c->rb, n);
	c->rb += n;
	c->rlen -= n;
	return (ssize_t)n;
}

static ssize_t wcb_send(wslay_event_context_ptr ev, const uint8_t *data, size_t len, int flags,
			void *user)
{
	ws_conn *c = user;
	ssize_t k = c->io->write(c, data, len, flags & WSLAY_MSG_MORE);

	if (k >= 0)
		return k;
	if (k == WS_IO_WANT_WRITE || k == WS_IO_WANT_READ) {
		c->io_wants_write = k == WS_IO_WANT_WRITE;
		wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
	} else {
		wslay_event_set_error(ev, WSLAY_ERR_CALLBACK_FAILURE);
	}
	return -1;
}

static int wcb_genmask(wslay_event_context_ptr ev, uint8_t *buf, size_t len, void *user)
{
	(void)ev;
	(void)user;
	/* RFC 6455 section 5.3: masks from a strong source. */
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void wcb_frame_start(wslay_event_context_ptr ev,
			    const struct wslay_event_on_frame_recv_start_arg *a, void *user)
{
	ws_conn *c = user;
	size_t have;

	c->cur_ctrl = wslay_is_ctrl_frame(a->opcode);
	if (c->cur_ctrl || c->too_large || c->nomem)
		return;
	if (a->opcode == WSLAY_CONTINUATION_FRAME && !c->cur)
		return; /* (wslay refuses a continuation without a start) */
	if (a->opcode != WSLAY_CONTINUATION_FRAME) {
		/* A new message (wslay refuses a continuation without one). */
		if (!c->cur) {
			c->cur = malloc(sizeof(ws_rmsg) + 64);
			c->cur_cap = 64;
			if (!c->cur) {
				c->nomem = 1;
				goto stop;
			}
		}
		c->cur->len = 0;
		c->cur->binary = a->opcode == WSLAY_BINARY_FRAME;
	}
	c->cur_fin = a->fin;
	have = c->cur->len;
	/* Checked at the header, before anything is kept. */
	if (a->payload_length > c->max_message || have > c->max_message - a->payload_length) {
		c->too_large = 1;
		goto stop;
	}
	if (have + a->payload_length + 1 > c->cur_cap) {
		size_t cap = have + (size_t)a->payload_length + 1;
		ws_rmsg *m = realloc(c->cur, sizeof(ws_rmsg) + cap);
		if (!m) {
			c->nomem = 1;
			goto stop;
		}
		c->cur = m;
		c->cur_cap = cap;
	}
	return;
stop:
	wslay_event_shutdown_read(ev);
	wslay_event_queue_close(
		ev, c->too_large ? WSLAY_CODE_MESSAGE_TOO_BIG : WSLAY_CODE_INTERNAL_SERVER_ERROR,
		NULL, 0);
}

static void wcb_frame_chunk(wslay_event_context_ptr ev,
			    const struct wslay_event_on_frame_recv_chunk_arg *a, void *user)
{
	ws_conn *c = user;

	(void)ev;
	if (c->cur_ctrl || c->too_large || c->nomem || !c->cur)
		return;
	/* (frame_start made room for the frame's whole payload) */
	if (c->cur->len + a->data_length >= c->cur_cap)
		return;
	memcpy(c->cur->data + c->cur->len, a->data, a->data_length);
	c->cur->len += a->data_length;
}

static void wcb_frame_end(wslay_event_context_ptr ev, void *user)
{
	ws_conn *c = user;
	ws_rmsg *m = c->cur;
	uint64_t now;

	(void)ev;
	if (c->cur_ctrl || c->too_large || c->nomem || !m || !c->cur_fin)
		return;
	c->cur = NULL;
	c->cur_cap = 0;
	now = uv_hrtime();
	m->data[m->len] = 0;
	m->next = NULL;
	m->arrived = now;
	m->rtt_ns = 0;
	if (c->mark_ns) {
		m->rtt_ns = now > c->mark_ns ? now - c->mark_ns : 1;
		c->mark_ns = 0;
	}
	if (c->qtail)
		c->qtail->next = m;
	else
		c->qhead = m;
	c->qtail = m;
	c->qcount++;
	c->qbytes += m->len;
	if (c->hooks && c->hooks->in)
		c->hooks->in(c->owner, m->len, m->rtt_ns, c->mark);
}

static void wcb_msg(wslay_event_context_ptr ev, const struct wslay_event_on_msg_recv_arg *a,
		    void *user)
{
	ws_conn *c = user;

	(void)ev;
	if (a->opcode == WSLAY_PONG && c->ping_ns) {
		uint64_t now = uv_hrtime();
		if (c->hooks && c->hooks->pong)
			c->hooks->pong(c->owner, now > c->ping_ns ? now - c->ping_ns : 1);
		c->ping_ns = 0;
	} else if (a->opcode == WSLAY_CONNECTION_CLOSE) {
		c->peer_closed_first = !c->we_closed;
		c->close_code = a->status_code ? a->status_code : WSLAY_CODE_NO_STATUS_RCVD;
		if (a->msg_length > 2) {
			size_t n = a->msg_length - 2;
			if (n >= sizeof(c->close_reason))
				n = sizeof(c->close_reason) - 1;
			memcpy(c->close_reason, a->msg + 2, n);
			c->close_reason[n] = 0;
		}
	}
}

static const struct wslay_event_callbacks wslay_cbs = {
	.recv_callback = wcb_recv,
	.send_callback = wcb_send,
	.genmask_callback = wcb_genmask,
	.on_frame_recv_start_callback = wcb_frame_start,
	.on_frame_recv_chunk_callback = wcb_frame_chunk,
	.on_frame_recv_end_callback = wcb_frame_end,
	.on_msg_recv_callback = wcb_msg,
};

/* ---- the open connection -------------------------------------------------------------- */

/* Sends what wslay has queued while the socket takes it. */
static void flush(ws_conn *c)
{
	int r;

	if (!c->ev || c->fd < 0)
		return;
	c->io_wants_write = 0;
	r = wslay_event_send(c->ev);
	if (r == WSLAY_ERR_CALLBACK_FAILURE) {
		conn_fail(c, WSE_RESET, "sending failed: %s", io_why(c));
		return;
	}
	if (r == WSLAY_ERR_NOMEM) {
		conn_fail(c, WSE_NOMEM, "out of memory");
		return;
	}
	c->want_write = wslay_event_want_write(c->ev);
	c->close_sent = wslay_event_get_close_sent(c->ev);
	/* Both closes went and the server ended the stream: done. */
	if (c->eof_seen && c->close_sent)
		conn_end(c);
}

/* Hands the bytes read (c->rb, c->rlen) to wslay and judges the result. */
static void feed(ws_conn *c)
{
	wslay_event_context_ptr ev = c->ev;
	int r;

	if (!wslay_event_get_read_enabled(ev)) {
		c->rlen = 0; /* after a close: nothing more is read */
		return;
	}
	r = wslay_event_recv(ev);
	c->rlen = 0;
	if (r == WSLAY_ERR_NOMEM || c->nomem) {
		conn_fail(c, WSE_NOMEM, "out of memory receiving a message");
	} else if (r == WSLAY_ERR_CALLBACK_FAILURE) {
		conn_fail(c, WSE_PROTOCOL, "a malformed frame (RFC 6455 section 5.2)");
	} else if (r != 0) {
		conn_fail(c, WSE_PROTOCOL, "receiving failed (wslay error %d)", r);
	} else if (!wslay_event_get_read_enabled(ev) && !wslay_event_get_close_received(ev)) {
		if (c->too_large)
			conn_fail(c, WSE_TOO_LARGE,
				  "a message over %zu bytes (the connection's "
				  "max_message)",
				  c->max_message);
		else
			conn_fail(c, WSE_PROTOCOL,
				  "a frame RFC 6455 forbids (masked, reserved bits "
				  "or opcode, a bad close code, or text that is not UTF-8)");
	}
}

static void on_readable(ws_conn *c)
{
	char *rbuf = c->e->rbuf;

	for (int i = 0; i < WS_READS_PER_CB && c->state == WS_OPEN; i++) {
		ssize_t k;

		if (c->ev && wslay_event_want_read(c->ev) && c->qcount && c->qbytes >= c->max_queue)
			return; /* the queue is full: the journey takes some first */
		k = c->io->read(c, rbuf, WS_CONN_RBUF);
		if (k == WS_IO_WANT_READ)
			return;
		if (k == WS_IO_WANT_WRITE) {
			c->io_wants_write = 1;
			return;
		}
		if (k == WS_IO_ERR) {
			conn_fail(c, WSE_RESET, "receiving failed: %s", io_why(c));
			return;
		}
		if (k == 0) {
			c->eof_seen = 1;
			if (!wslay_event_get_close_received(c->ev)) {
				conn_fail(c, WSE_RESET,
					  "the server ended the connection without a "
					  "close frame");
				return;
			}
			if (c->close_sent)
				conn_end(c);
			return;
		}
		c->rb = rbuf;
		c->rlen = (size_t)k;
		feed(c);
		flush(c); /* pongs and closes wslay answered with */
		if ((size_t)k < WS_CONN_RBUF)
			return;
	}
}

/* The 101 came: the connection speaks WebSocket from the next byte. */
static int become_open(ws_conn *c, const char *rest, size_t n)
{
	wslay_event_context_ptr ev;

	if (wslay_event_context_client_init(&ev, &wslay_cbs, c) != 0) {
		conn_fail(c, WSE_NOMEM, "out of memory");
		return -1;
	}
	/* Messages are built here (wcb_frame_*), checked against
	 * max_message at each frame's header. */
	wslay_event_config_set_no_buffering(ev, 1);
	wslay_event_config_set_max_recv_msg_length(ev, UINT64_MAX >> 1);
	c->ev = ev;
	c->state = WS_OPEN;
	c->t_open = uv_hrtime();
	uv_timer_stop(&c->timer);
	free(c->req.p);
	c->req.p = NULL;
	c->req.len = c->req.cap = 0;
	/* Frames the server sent right behind its reply. */
	if (n) {
		c->rb = rest;
		c->rlen = n;
		feed(c);
		flush(c);
	}
	return 0;
}

/* Reads the server's reply to the Upgrade request. */
static void on_reply(ws_conn *c)
{
	char *rbuf = c->e->rbuf;
	ssize_t k = c->io->read(c, rbuf, WS_CONN_RBUF), used;
	const char *why;

	if (k == WS_IO_WANT_READ || k == WS_IO_WANT_WRITE) {
		c->io_wants_write = k == WS_IO_WANT_WRITE;
		return;
	}
	if (k == WS_IO_ERR) {
		conn_fail(c, WSE_RESET, "receiving the handshake reply failed: %s", io_why(c));
		return;
	}
	if (k == 0) {
		conn_fail(c, WSE_RESET, "the server ended the connection %s",
			  c->p.received ? "in its handshake reply" : "without a handshake reply");
		return;
	}
	used = http1_parse(&c->p, rbuf, (size_t)k);
	if (used < 0) {
		conn_fail(c, WSE_HANDSHAKE, "the handshake reply is not HTTP/1.1 (%s)",
			  used == HTTP1_EHEADSIZE ? "its head is too large" : "malformed");
		return;
	}
	if (c->p.status >= 200) {
		conn_fail(c, WSE_HANDSHAKE, "the server answered %d, not 101", c->p.status);
		return;
	}
	if (!http1_done(&c->p))
		return; /* more of the head to come */
	if (ws_hs_check(c->p.status, c->head.p, c->head.len, c->key, c->offered, c->protocol,
			&why) < 0) {
		conn_fail(c, WSE_HANDSHAKE, "%s", why);
		return;
	}
	become_open(c, rbuf + used, (size_t)(k - used));
}

/* Sends what is left of the Upgrade request. */
static void send_request(ws_conn *c)
{
	while (c->req_sent < c->req.len) {
		ssize_t k = c->io->write(c, c->req.p + c->req_sent, c->req.len - c->req_sent, 0);
		if (k == WS_IO_WANT_WRITE || k == WS_IO_WANT_READ) {
			set_events(c, UV_READABLE | UV_WRITABLE);
			return;
		}
		if (k < 0) {
			conn_fail(c, WSE_RESET, "sending the handshake failed: %s", io_why(c));
			return;
		}
		c->req_sent += (size_t)k;
	}
	set_events(c, UV_READABLE);
}

/* Connected (and the I/O layer set up): the handshake starts. */
static void start_upgrade(ws_conn *c)
{
	c->state = WS_UPGRADING;
	http1_parser_init(&c->p, 0, 1, &c->head, &c->body);
	c->p.max_body = 0;
	send_request(c);
}

/* The I/O layer's own start (a TLS handshake) goes on. */
static void io_start(ws_conn *c)
{
	int rc = c->io->start(c);

	if (rc == 0)
		start_upgrade(c);
	else if (rc == WS_IO_WANT_READ)
		set_events(c, UV_READABLE);
	else if (rc == WS_IO_WANT_WRITE)
		set_events(c, UV_WRITABLE);
	else
		conn_fail(c, c->io_class ? c->io_class : WSE_TLS, "%s",
			  c->io_why[0] ? c->io_why : "the TLS handshake failed");
}

static void connected(ws_conn *c)
{
	c->state = WS_TLS;
	io_start(c);
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return err;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	ws_conn *c = h->data;
	int err;

	if (c->freed || c->state == WS_ENDED)
		return;
	switch (c->state) {
	case WS_CONNECTING:
		err = sock_error(c->fd);
		if (!err && status < 0)
			err = -status;
		if (err) {
			c->oserr = err;
			close_socket(c);
			c->addr_idx++;
			if (connect_next(c) < 0)
				break;
			return; /* the next address is tried: nothing to tell */
		}
		connected(c);
		break;
	case WS_TLS:
		io_start(c);
		break;
	case WS_UPGRADING:
		if ((events & UV_WRITABLE) && c->req_sent < c->req.len)
			send_request(c);
		if (c->state == WS_UPGRADING && (events & UV_READABLE || status < 0))
			on_reply(c);
		if (c->state == WS_UPGRADING && c->io_wants_write)
			set_events(c, UV_READABLE | UV_WRITABLE);
		break;
	case WS_OPEN:
		if (events & UV_WRITABLE || c->io_wants_write)
			flush(c);
		if (c->state == WS_OPEN && (events & UV_READABLE || status < 0))
			on_readable(c);
		update_events(c);
		break;
	}
	notify(c);
}

/* ---- connecting ------------------------------------------------------------------------ */

static void conn_fail_connect(ws_conn *c)
{
	if (c->oserr == ECONNREFUSED)
		conn_fail(c, WSE_REFUSED, "connection refused");
	else
		conn_fail(c, WSE_CONNECT, "could not connect: %s",
			  strerror(c->oserr ? c->oserr : EHOSTUNREACH));
}

/* Tries the addresses from addr_idx on: 0 while one runs (or is done),
 * -1 when none is left (c failed). */
static int connect_next(ws_conn *c)
{
	for (; c->addr_idx < c->naddrs; c->addr_idx++) {
		const struct sockaddr *sa = (const struct sockaddr *)&c->addrs[c->addr_idx];
		socklen_t salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							    : sizeof(struct sockaddr_in);
		int fd, one = 1, rc;

		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		if (fd < 0) {
			c->oserr = errno;
			continue;
		}
		/* Messages go out whole: no Nagle delay. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rc = connect(fd, sa, salen);
		if (rc < 0 && errno != EINPROGRESS) {
			c->oserr = errno;
			close(fd);
			continue;
		}
		c->poll = malloc(sizeof(*c->poll));
		if (!c->poll || uv_poll_init_socket(c->e->loop, c->poll, fd) < 0) {
			free(c->poll);
			c->poll = NULL;
			close(fd);
			conn_fail(c, WSE_NOMEM, "out of memory");
			return -1;
		}
		c->poll->data = c;
		c->handles++;
		c->fd = fd;
		c->state = WS_CONNECTING;
		if (rc == 0)
			connected(c);
		else
			set_events(c, UV_WRITABLE);
		return c->err ? -1 : 0;
	}
	conn_fail_connect(c);
	return -1;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	ws_conn *c = req->data;
	int n = 0;

	c->resolving = 0;
	if (c->freed || c->state != WS_RESOLVING) {
		uv_freeaddrinfo(res);
		conn_release(c);
		return;
	}
	for (struct addrinfo *ai = status == 0 ? res : NULL; ai && n < WS_CONN_MAX_ADDRS;
	     ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(c->addrs[0]))
			continue;
		memcpy(&c->addrs[n++], ai->ai_addr, ai->ai_addrlen);
	}
	uv_freeaddrinfo(res);
	c->naddrs = n;
	if (n == 0) {
		conn_fail(c, WSE_DNS, "could not resolve %s: %s", c->host,
			  status < 0 ? uv_strerror(status) : "no address");
	} else {
		dns_put(c->e, c);
		c->addr_idx = 0;
		connect_next(c);
	}
	notify(c);
}

static void on_timer(uv_timer_t *t)
{
	ws_conn *c = t->data;

	if (c->freed)
		return;
	if (c->state < WS_OPEN) {
		conn_fail(c, WSE_TIMEOUT, "no connection and handshake within %.3g s",
			  (double)c->timeout_ms / 1000);
		if (c->resolving)
			uv_cancel((uv_req_t *)&c->gai);
	} else {
		c->timer_fired = 1;
	}
	notify(c);
}

/* Timers count from the loop's clock, which lags while journeys run:
 * brought up to date first, a timeout never ends early. */
static void timer_start(ws_conn *c, uint64_t ms)
{
	uv_update_time(c->e->loop);
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

void ws_conn_timer(ws_conn *c, uint64_t ms)
{
	c->timer_fired = 0;
	if (ms)
		timer_start(c, ms);
	else
		uv_timer_stop(&c->timer);
}

/* Where to connect: a literal, the cache, or a resolution. 0 or -1. */
static int resolve(ws_conn *c)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_protocol = IPPROTO_TCP };
	struct ws_dns *d;
	char port[8];
	int rc;

	if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&c->addrs[0]) == 0 ||
	    (strchr(c->host, ':') &&
	     uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&c->addrs[0]) == 0)) {
		c->naddrs = 1;
		return connect_next(c);
	}
	if ((d = dns_find(c->e, c->host, c->port))) {
		memcpy(c->addrs, d->a, sizeof(c->addrs));
		c->naddrs = d->n;
		return connect_next(c);
	}
	snprintf(port, sizeof(port), "%d", c->port);
	c->gai.data = c;
	c->state = WS_RESOLVING;
	rc = uv_getaddrinfo(c->e->loop, &c->gai, on_resolved, c->host, port, &hints);
	if (rc < 0) {
		conn_fail(c, WSE_DNS, "could not resolve %s: %s", c->host, uv_strerror(rc));
		return -1;
	}
	c->resolving = 1;
	return 0;
}

int ws_conn_start(ws_conn *c, const http1_url *u, tls_ctx *tls, const char *const *headers,
		  const char *protocols, const char *user_agent)
{
	int rc;

	c->t_start = uv_hrtime();
	c->io = tls ? ws_tls_io() : &plain_io;
	if (tls) {
		tls_ctx_ref(tls);
		c->tls = tls;
	}
	if (ws_hs_key(c->key) < 0) {
		conn_fail(c, WSE_NOMEM, "no random bytes for the handshake key");
		return -1;
	}
	rc = ws_hs_request(&c->req, u, c->key, protocols, headers, user_agent);
	if (rc < 0)
		return rc;
	if (protocols && *protocols && !(c->offered = strdup(protocols)))
		return -ENOMEM;
	if (!(c->host = strndup(u->host, u->host_len)))
		return -ENOMEM;
	c->port = u->port;
	timer_start(c, c->timeout_ms ? c->timeout_ms : 1);
	c->state = WS_RESOLVING;
	return resolve(c) < 0 ? -1 : 0;
}

/* ---- what the journey does ---------------------------------------------------------- */

/* Sends what the journey queued: at once on plain TCP; over TLS from the
 * loop's next idle phase (no system call more), not from the journey's
 * stack, where OpenSSL's record writer (a frame of about 5 KiB) would
 * commit more pages of every instance's stack - as the HTTP client does. */
static void journey_flush(ws_conn *c)
{
	ws_engine *e = c->e;

	if (!c->tc) {
		flush(c);
		update_events(c);
		return;
	}
	if (c->flushing)
		return;
	c->flushing = 1;
	c->fnext = e->flushq;
	e->flushq = c;
	uv_idle_start(&e->idle, on_idle);
}

static void on_idle(uv_idle_t *h)
{
	ws_engine *e = h->data;
	ws_conn *c;

	uv_idle_stop(h);
	while ((c = e->flushq)) {
		e->flushq = c->fnext;
		c->fnext = NULL;
		c->flushing = 0;
		if (c->state != WS_OPEN)
			continue;
		flush(c);
		update_events(c);
		notify(c); /* (last: it may free c; the queue no longer holds it) */
	}
}

int ws_conn_send(ws_conn *c, const void *data, size_t len, int binary, const char *mark)
{
	struct wslay_event_msg m = {
		.opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
		.msg = data,
		.msg_length = len,
	};
	int r;

	if (c->state != WS_OPEN || !c->ev)
		return -EPIPE;
	r = wslay_event_queue_msg(c->ev, &m);
	if (r == WSLAY_ERR_NOMEM)
		return -ENOMEM;
	if (r != 0)
		return -EPIPE; /* a close was queued or sent */
	if (mark) {
		size_t n = strnlen(mark, sizeof(c->mark) - 1);
		memcpy(c->mark, mark, n);
		c->mark[n] = 0;
		c->mark_ns = uv_hrtime();
	}
	journey_flush(c);
	return 0;
}

int ws_conn_ping(ws_conn *c)
{
	struct wslay_event_msg m = { .opcode = WSLAY_PING,
				     .msg = (const uint8_t *)"mite",
				     .msg_length = 4 };

	if (c->state != WS_OPEN || !c->ev)
		return -EPIPE;
	if (wslay_event_queue_msg(c->ev, &m) != 0)
		return -EPIPE;
	c->ping_ns = uv_hrtime();
	journey_flush(c);
	return 0;
}

size_t ws_conn_unsent(const ws_conn *c)
{
	return c->ev ? wslay_event_get_queued_msg_length(c->ev) : 0;
}

ws_rmsg *ws_conn_take(ws_conn *c)
{
	ws_rmsg *m = c->qhead;

	if (!m)
		return NULL;
	c->qhead = m->next;
	if (!c->qhead)
		c->qtail = NULL;
	c->qcount--;
	c->qbytes -= m->len;
	m->next = NULL;
	update_events(c);
	return m;
}

int ws_conn_close(ws_conn *c, int code, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;
	int r;

	if (rl > 123)
		return -EINVAL;
	if (c->state != WS_OPEN || !c->ev)
		return -EPIPE;
	r = wslay_event_queue_close(c->ev, (uint16_t)code, (const uint8_t *)reason, rl);
	if (r == WSLAY_ERR_INVALID_ARGUMENT)
		return -EINVAL;
	if (r != 0)
		return -EPIPE;
	c->we_closed = 1;
	journey_flush(c);
	return 0;
}

int ws_conn_close_received(const ws_conn *c)
{
	return c->state == WS_ENDED || (c->ev && wslay_event_get_close_received(c->ev));
}

int ws_conn_eof(const ws_conn *c)
{
	return c->state == WS_ENDED || c->eof_seen;
}
