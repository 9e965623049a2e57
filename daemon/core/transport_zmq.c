/*
 * transport_zmq.c - the runner link over ZeroMQ, driven by a libuv loop.
 *
 * The controller binds one ROUTER; every runner connects a DEALER whose
 * routing id is the runner id the controller gave it, so that one socket
 * serves every run and every runner, and a message is routed to the right
 * transport by the id ZeroMQ puts in front of it. See docs/runner-protocol.md.
 *
 * Integration with libuv: ZMQ_FD is an edge-triggered notification, not a
 * readiness indicator. It signals that ZMQ_EVENTS may have changed; after
 * every zmq_send/zmq_recv the state has to be read again from ZMQ_EVENTS,
 * because the edge that announced it may already have been consumed. So each
 * socket has a uv_poll on ZMQ_FD and a uv_idle: both call pump(), which
 * works through ZMQ_EVENTS with ZMQ_DONTWAIT a bounded number of times and
 * then either stops the idle (nothing left: wait for the next edge) or keeps
 * it running (something left: go on at the next loop turn, after the other
 * handles had theirs). Sends made from outside pump() re-check ZMQ_EVENTS
 * the same way, but never deliver: delivery happens only from the loop.
 */
#include "config.h"

#include "core/transport.h"

#include "core/curve.h"
#include "core/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

/* How many send or receive steps one pump() takes before it lets the loop
 * run other handles. */
#define PUMP_BUDGET 64
/* A runner's keepalive period (ms). */
#define KEEPALIVE_MS 1000
/* How long a closing runner socket tries to deliver what it has queued. */
#define CLIENT_LINGER_MS 2000
/* The largest message a ROUTER accepts: far above any runner message. */
#define MAX_MSG_SIZE (128LL * 1024 * 1024)

typedef struct qmsg {
	struct qmsg *next;
	size_t len;
	char data[];
} qmsg;

typedef struct queue {
	qmsg *head, *tail;
	size_t n;
} queue;

/* One ZeroMQ socket in a loop: the part server and client share. */
typedef struct zsock {
	uv_loop_t *loop;
	void *ctx, *zs;
	uv_poll_t poll;
	uv_idle_t idle;
	int nhandles; /* handles still to be closed */
	int closing;
	/* Side-specific steps: each returns non-zero when it made progress. */
	int (*recv_one)(struct zsock *k);
	int (*flush)(struct zsock *k);
	int (*has_out)(struct zsock *k);
	/* After the last handle closed. */
	void (*closed)(struct zsock *k);
} zsock;

typedef struct peer {
	transport t; /* first: a transport * is a peer * */
	struct tzmq_server *srv;
	struct peer *next;
	char id[TZMQ_ID_MAX + 1];
	size_t idlen;
	int connected; /* the runner has sent a frame: ZeroMQ can route to it */
	uint64_t last; /* uv_now of the last frame received */
	queue out;
	char user[CURVE_NAME_MAX + 1]; /* User-Id of its last message (CURVE) */
} peer;

struct tzmq_server {
	zsock k;
	char endpoint[512];
	tzmq_unknown_cb on_unknown;
	void *data;
	peer *peers;
	int sock_freed; /* socket and handles gone */
	/* CURVE: the ZAP handler, a REP socket in k.ctx, on the same loop */
	void *zap;
	uv_poll_t zap_poll;
	uv_idle_t zap_idle;
	tzmq_authorize_cb authorize;
	void *auth_data;
	/* the message being delivered: its User-Id and peer address */
	char msg_user[CURVE_NAME_MAX + 1];
	char msg_addr[128];
};

typedef struct client {
	transport t; /* first */
	zsock k;
	uv_timer_t keepalive;
	queue out;
	/* CURVE: the socket monitor (a PAIR), read from the keepalive timer */
	void *mon;
	tzmq_link_cb on_link;
	void *link_data;
} client;

static int peer_send(transport *t, const char *msg, size_t len);
static void peer_close(transport *t);
static int client_send(transport *t, const char *msg, size_t len);
static void client_close(transport *t);

static const struct transport_ops peer_ops = { .send = peer_send, .close = peer_close };
static const struct transport_ops client_ops = { .send = client_send, .close = client_close };

/* ---- queues ------------------------------------------------------------- */

static int queue_push(queue *q, const char *msg, size_t len)
{
	qmsg *m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	if (len)
		memcpy(m->data, msg, len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
	return 0;
}

static void queue_pop(queue *q)
{
	qmsg *m = q->head;
	if (!m)
		return;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	free(m);
}

static void queue_clear(queue *q)
{
	while (q->head)
		queue_pop(q);
}

/* ---- the shared socket machinery ---------------------------------------- */

static int sock_events(zsock *k)
{
	int ev = 0;
	size_t len = sizeof(ev);
	if (k->closing || zmq_getsockopt(k->zs, ZMQ_EVENTS, &ev, &len) != 0)
		return 0;
	return ev;
}

static void idle_cb(uv_idle_t *h);

/* Reads ZMQ_EVENTS again and keeps the idle running while work remains. */
static void sock_rearm(zsock *k)
{
	if (k->closing)
		return;
	int ev = sock_events(k);
	if ((ev & ZMQ_POLLIN) || ((ev & ZMQ_POLLOUT) && k->has_out(k)))
		uv_idle_start(&k->idle, idle_cb);
	else
		uv_idle_stop(&k->idle);
}

static void sock_pump(zsock *k)
{
	for (int i = 0; i < PUMP_BUDGET && !k->closing; i++) {
		int ev = sock_events(k);
		int did = 0;
		if ((ev & ZMQ_POLLOUT) && k->has_out(k))
			did |= k->flush(k);
		if (!k->closing && (ev & ZMQ_POLLIN))
			did |= k->recv_one(k);
		if (!did)
			break;
	}
	sock_rearm(k);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	sock_pump(h->data);
}

static void idle_cb(uv_idle_t *h)
{
	sock_pump(h->data);
}

static void sock_handle_closed(uv_handle_t *h)
{
	zsock *k = h->data;
	if (--k->nhandles > 0)
		return;
	if (k->zs)
		zmq_close(k->zs);
	k->zs = NULL;
	if (k->ctx)
		zmq_ctx_term(k->ctx);
	k->ctx = NULL;
	k->closed(k);
}

/* Creates the context and socket and sets the options every side uses.
 * Returns 0 or -1 with err set. */
static int sock_open(zsock *k, uv_loop_t *loop, int type, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	k->loop = loop;
	k->ctx = zmq_ctx_new();
	if (!k->ctx) {
		snprintf(err, errlen, "zmq_ctx_new failed: %s", zmq_strerror(errno));
		return -1;
	}
	k->zs = zmq_socket(k->ctx, type);
	if (!k->zs) {
		snprintf(err, errlen, "zmq_socket failed: %s", zmq_strerror(errno));
		goto fail_ctx;
	}
	return 0;

fail_ctx:
	zmq_ctx_term(k->ctx);
	k->ctx = NULL;
	return -1;
}

static void sock_drop(zsock *k)
{
	if (k->zs)
		zmq_close(k->zs);
	if (k->ctx)
		zmq_ctx_term(k->ctx);
	k->zs = k->ctx = NULL;
}

/* Attaches the open socket to the loop. 0 or -1 with err set; on failure
 * the socket is still the caller's (nothing was started). */
static int sock_attach(zsock *k, char *err, size_t errlen)
{
	int fd;
	size_t len = sizeof(fd);
	if (zmq_getsockopt(k->zs, ZMQ_FD, &fd, &len) != 0) {
		snprintf(err, errlen, "zmq_getsockopt(ZMQ_FD) failed: %s", zmq_strerror(errno));
		return -1;
	}
	int rc = uv_poll_init(k->loop, &k->poll, fd);
	if (rc < 0) {
		snprintf(err, errlen, "uv_poll_init failed: %s", uv_strerror(rc));
		return -1;
	}
	k->poll.data = k;
	uv_idle_init(k->loop, &k->idle);
	k->idle.data = k;
	k->nhandles = 2;
	uv_poll_start(&k->poll, UV_READABLE, poll_cb);
	/* Events may be pending already; their edge is not guaranteed. */
	uv_idle_start(&k->idle, idle_cb);
	return 0;
}

/* Starts closing the socket's handles; k->closed runs after the last one. */
static void sock_close(zsock *k)
{
	if (k->closing)
		return;
	k->closing = 1;
	uv_close((uv_handle_t *)&k->poll, sock_handle_closed);
	uv_close((uv_handle_t *)&k->idle, sock_handle_closed);
}

/* Receives one whole multipart message into frames (at most nf kept, the
 * rest discarded). Returns the number of frames kept, 0 when nothing was
 * waiting, -1 on error. Kept frames must be closed by the caller. */
static int recv_frames(void *zs, zmq_msg_t *f, int nf)
{
	int n = 0, more = 1;
	while (more) {
		zmq_msg_t tmp, *m = n < nf ? &f[n] : &tmp;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, zs, ZMQ_DONTWAIT) < 0) {
			int e = errno;
			zmq_msg_close(m);
			for (int i = 0; i < n && i < nf; i++)
				zmq_msg_close(&f[i]);
			return e == EAGAIN && n == 0 ? 0 : -1;
		}
		more = zmq_msg_more(m);
		if (m == &tmp)
			zmq_msg_close(m);
		else
			n++;
	}
	return n;
}

/* ---- controller side: the ROUTER ---------------------------------------- */

static peer *srv_find(tzmq_server *s, const char *id, size_t len)
{
	for (peer *p = s->peers; p; p = p->next)
		if (p->idlen == len && memcmp(p->id, id, len) == 0)
			return p;
	return NULL;
}

static int id_printable(const char *id, size_t len)
{
	if (len == 0 || len > TZMQ_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return 0;
	return 1;
}

static int srv_recv_one(zsock *k)
{
	tzmq_server *s = (tzmq_server *)k;
	zmq_msg_t f[2];
	int n = recv_frames(k->zs, f, 2);
	if (n <= 0)
		return n < 0; /* an error counts as progress: try again */
	if (n < 2) {
		/* A ROUTER always prefixes the id; one frame is an empty body. */
		zmq_msg_close(&f[0]);
		return 1;
	}
	const char *id = zmq_msg_data(&f[0]);
	size_t idlen = zmq_msg_size(&f[0]);
	const char *body = zmq_msg_data(&f[1]);
	size_t len = zmq_msg_size(&f[1]);
	const char *user = s->zap ? zmq_msg_gets(&f[1], "User-Id") : NULL;
	const char *addr = s->zap ? zmq_msg_gets(&f[1], "Peer-Address") : NULL;
	snprintf(s->msg_user, sizeof(s->msg_user), "%s", user ? user : "");
	snprintf(s->msg_addr, sizeof(s->msg_addr), "%s", addr ? addr : "");
	peer *p = srv_find(s, id, idlen);
	if (!p && len > 0 && s->on_unknown) {
		char name[2 * TZMQ_ID_MAX + 3];
		if (id_printable(id, idlen)) {
			memcpy(name, id, idlen);
			name[idlen] = '\0';
		} else {
			size_t o = (size_t)snprintf(name, sizeof(name), "0x");
			for (size_t i = 0; i < idlen && o + 2 < sizeof(name); i++)
				o += (size_t)snprintf(name + o, sizeof(name) - o, "%02x",
						      (unsigned char)id[i]);
		}
		s->on_unknown(s, name, body, len, s->data);
		p = k->closing ? NULL : srv_find(s, id, idlen);
	}
	if (p) {
		p->connected = 1;
		p->last = uv_now(k->loop);
		memcpy(p->user, s->msg_user, sizeof(p->user));
		/* An empty frame is the runner's keepalive: activity, no message. */
		if (len > 0 && p->t.on_recv)
			p->t.on_recv(&p->t, body, len, p->t.data);
		/* p may be closed now: not touched again. */
	}
	zmq_msg_close(&f[0]);
	zmq_msg_close(&f[1]);
	return 1;
}

/* Sends p's head message; 1 when sent, 0 when it must wait, -1 when the
 * runner is unreachable (its queue is dropped). */
static int peer_send_head(tzmq_server *s, peer *p)
{
	qmsg *m = p->out.head;
	if (zmq_send(s->k.zs, p->id, p->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		if (errno == EAGAIN)
			return 0;
		/* EHOSTUNREACH: the runner went away; what it was sent is moot. */
		queue_clear(&p->out);
		p->connected = 0;
		return -1;
	}
	/* Once the id frame is accepted the body goes too (atomic multipart). */
	zmq_send(s->k.zs, m->data, m->len, ZMQ_DONTWAIT);
	queue_pop(&p->out);
	return 1;
}

static int srv_flush(zsock *k)
{
	tzmq_server *s = (tzmq_server *)k;
	int did = 0;
	for (peer *p = s->peers; p; p = p->next) {
		for (int i = 0; p->connected && p->out.head && i < PUMP_BUDGET; i++) {
			int rc = peer_send_head(s, p);
			if (rc == 0)
				break;
			did = 1;
		}
	}
	return did;
}

static int srv_has_out(zsock *k)
{
	tzmq_server *s = (tzmq_server *)k;
	for (peer *p = s->peers; p; p = p->next)
		if (p->connected && p->out.head)
			return 1;
	return 0;
}

static void srv_maybe_free(tzmq_server *s)
{
	if (s->sock_freed && !s->peers)
		free(s);
}

static void srv_closed(zsock *k)
{
	tzmq_server *s = (tzmq_server *)k;
	s->sock_freed = 1;
	srv_maybe_free(s);
}

/* An ipc endpoint that another live process listens on must not be taken
 * over (ZeroMQ would unlink its file). 0, or -1 with err set. */
static int ipc_check_free(const char *endpoint, char *err, size_t errlen)
{
	const char *path = endpoint + strlen("ipc://");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path longer than %zu bytes", endpoint,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (access(path, F_OK) != 0)
		return 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s is in use by another process", endpoint);
		return -1;
	}
	return 0;
}

/* ---- CURVE: the ZAP handler ----------------------------------------------
 * ZeroMQ asks inproc://zeromq.zap.01 (in the socket's context) whether each
 * CURVE client may connect: [version, request id, domain, address, routing
 * id, mechanism, client key] in, [version, request id, status code, status
 * text, user id, metadata] out (RFC 27). The handshake waits for the answer
 * without blocking ZeroMQ's I/O thread, so answering from our loop is fine. */

static void zap_send(void *zap, const char *s, size_t len, int more)
{
	zmq_send(zap, s, len, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
}

static void zap_answer(tzmq_server *s, zmq_msg_t *f, int n)
{
	char user[CURVE_NAME_MAX + 1] = "", reason[512] = "", addr[128] = "";
	int ok = 0;
	if (n >= 4)
		snprintf(addr, sizeof(addr), "%.*s", (int)zmq_msg_size(&f[3]),
			 (const char *)zmq_msg_data(&f[3]));
	if (n < 7 || zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0 ||
	    zmq_msg_size(&f[6]) != 32)
		snprintf(reason, sizeof(reason), "not a CURVE client");
	else
		ok = s->authorize(addr, zmq_msg_data(&f[6]), user, sizeof(user), reason,
				  sizeof(reason), s->auth_data) == 1;
	if (!ok)
		log_warn("runner link %s: connection from %s refused: %s", s->endpoint,
			 addr[0] ? addr : "(unknown address)", reason);
	zap_send(s->zap, "1.0", 3, 1);
	zap_send(s->zap, n >= 2 ? zmq_msg_data(&f[1]) : "", n >= 2 ? zmq_msg_size(&f[1]) : 0, 1);
	zap_send(s->zap, ok ? "200" : "400", 3, 1);
	zap_send(s->zap, ok ? "OK" : "refused", ok ? 2 : 7, 1);
	zap_send(s->zap, user, ok ? strlen(user) : 0, 1);
	zap_send(s->zap, "", 0, 0);
}

static void zap_idle_cb(uv_idle_t *h);

static void zap_pump(tzmq_server *s)
{
	for (int i = 0; i < PUMP_BUDGET && s->zap; i++) {
		int ev = 0;
		size_t len = sizeof(ev);
		if (zmq_getsockopt(s->zap, ZMQ_EVENTS, &ev, &len) != 0 || !(ev & ZMQ_POLLIN))
			break;
		zmq_msg_t f[8];
		int n = recv_frames(s->zap, f, 8);
		if (n <= 0)
			break;
		zap_answer(s, f, n);
		for (int k = 0; k < n; k++)
			zmq_msg_close(&f[k]);
	}
	int ev = 0;
	size_t len = sizeof(ev);
	if (s->zap && zmq_getsockopt(s->zap, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLIN))
		uv_idle_start(&s->zap_idle, zap_idle_cb);
	else if (s->zap)
		uv_idle_stop(&s->zap_idle);
}

static void zap_poll_cb(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	zap_pump(h->data);
}

static void zap_idle_cb(uv_idle_t *h)
{
	zap_pump(h->data);
}

/* The ZAP socket, bound before the server's socket so that no client is
 * ever let in unasked. 0 or -1 with err set. */
static int zap_open(tzmq_server *s, char *err, size_t errlen)
{
	s->zap = zmq_socket(s->k.ctx, ZMQ_REP);
	int linger = 0, fd;
	size_t len = sizeof(fd);
	if (!s->zap) {
		snprintf(err, errlen, "ZAP socket: %s", zmq_strerror(errno));
		return -1;
	}
	zmq_setsockopt(s->zap, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(s->zap, "inproc://zeromq.zap.01") != 0 ||
	    zmq_getsockopt(s->zap, ZMQ_FD, &fd, &len) != 0 ||
	    uv_poll_init(s->k.loop, &s->zap_poll, fd) < 0) {
		snprintf(err, errlen, "ZAP handler: %s", zmq_strerror(errno));
		zmq_close(s->zap);
		s->zap = NULL;
		return -1;
	}
	s->zap_poll.data = s;
	uv_idle_init(s->k.loop, &s->zap_idle);
	s->zap_idle.data = s;
	uv_poll_start(&s->zap_poll, UV_READABLE, zap_poll_cb);
	uv_idle_start(&s->zap_idle, zap_idle_cb);
	return 0;
}

/* Closes the ZAP socket now (the context's end waits for every socket) and
 * its handles with the server's (they count in its handles). */
static void zap_close(tzmq_server *s)
{
	if (!s->zap)
		return;
	uv_poll_stop(&s->zap_poll);
	uv_idle_stop(&s->zap_idle);
	zmq_close(s->zap);
	s->zap = NULL;
	s->k.nhandles += 2;
	uv_close((uv_handle_t *)&s->zap_poll, sock_handle_closed);
	uv_close((uv_handle_t *)&s->zap_idle, sock_handle_closed);
}

/* CURVE server options; 0 or -1 with err set. */
static int curve_server(tzmq_server *s, const tzmq_curve *cv, char *err, size_t errlen)
{
	int one = 1;
	unsigned char sec[32];
	if (!cv->authorize || !zmq_z85_decode(sec, cv->secret)) {
		snprintf(err, errlen, "CURVE: no valid secret key or no authorizer");
		return -1;
	}
	s->authorize = cv->authorize;
	s->auth_data = cv->data;
	if (zap_open(s, err, errlen) < 0)
		return -1;
	if (zmq_setsockopt(s->k.zs, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s->k.zs, ZMQ_CURVE_SECRETKEY, sec, 32) != 0 ||
	    zmq_setsockopt(s->k.zs, ZMQ_ZAP_DOMAIN, "mite", 4) != 0) {
		snprintf(err, errlen, "CURVE: %s", zmq_strerror(errno));
		memset(sec, 0, sizeof(sec));
		return -1;
	}
	memset(sec, 0, sizeof(sec));
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
	/* No handler, no entry (rather than ZeroMQ's "allow"). */
	zmq_setsockopt(s->k.zs, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one));
#endif
	/* A host that reconnects (its link dropped) takes its id back. */
	zmq_setsockopt(s->k.zs, ZMQ_ROUTER_HANDOVER, &one, sizeof(one));
	return 0;
}

const char *tzmq_server_msg_user(const tzmq_server *s)
{
	return s->msg_user;
}
const char *tzmq_server_msg_address(const tzmq_server *s)
{
	return s->msg_addr;
}

const char *tzmq_peer_user(const transport *t)
{
	return t->ops == &peer_ops ? ((const peer *)t)->user : "";
}

tzmq_server *tzmq_server_new(uv_loop_t *loop, const char *endpoint, tzmq_unknown_cb on_unknown,
			     void *data, char *err, size_t errlen)
{
	return tzmq_server_new_curve(loop, endpoint, on_unknown, data, NULL, err, errlen);
}

tzmq_server *tzmq_server_new_curve(uv_loop_t *loop, const char *endpoint,
				   tzmq_unknown_cb on_unknown, void *data, const tzmq_curve *cv,
				   char *err, size_t errlen)
{
	tzmq_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int is_ipc = strncmp(endpoint, "ipc://", 6) == 0;
	if (is_ipc && ipc_check_free(endpoint, err, errlen) < 0)
		goto fail;
	if (sock_open(&s->k, loop, ZMQ_ROUTER, err, errlen) < 0)
		goto fail;
	s->k.recv_one = srv_recv_one;
	s->k.flush = srv_flush;
	s->k.has_out = srv_has_out;
	s->k.closed = srv_closed;
	s->on_unknown = on_unknown;
	s->data = data;

	int one = 1, zero = 0, linger = 0;
	int64_t maxsize = MAX_MSG_SIZE;
	zmq_setsockopt(s->k.zs, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	/* The controller's messages are small; never make a runner's share
	 * wait behind a high-water mark. */
	zmq_setsockopt(s->k.zs, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(s->k.zs, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize));
	zmq_setsockopt(s->k.zs, ZMQ_LINGER, &linger, sizeof(linger));
	if (is_ipc) {
		/* Only this user's processes may speak as runners. */
		int uid = (int)geteuid();
		zmq_setsockopt(s->k.zs, ZMQ_IPC_FILTER_UID, &uid, sizeof(uid));
	}
	if (cv && curve_server(s, cv, err, errlen) < 0)
		goto fail_sock;
	if (zmq_bind(s->k.zs, endpoint) != 0) {
		snprintf(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(errno));
		goto fail_sock;
	}
	size_t len = sizeof(s->endpoint);
	if (zmq_getsockopt(s->k.zs, ZMQ_LAST_ENDPOINT, s->endpoint, &len) != 0 ||
	    len >= sizeof(s->endpoint)) {
		int n = snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
		if (n < 0 || (size_t)n >= sizeof(s->endpoint)) {
			snprintf(err, errlen, "endpoint too long: %s", endpoint);
			goto fail_sock;
		}
	}
	if (sock_attach(&s->k, err, errlen) < 0)
		goto fail_sock;
	return s;

fail_sock:
	if (s->zap) {
		uv_poll_stop(&s->zap_poll);
		uv_idle_stop(&s->zap_idle);
		zmq_close(s->zap);
		s->zap = NULL;
		/* Its handles must close before s goes: wait for them here. */
		uv_close((uv_handle_t *)&s->zap_poll, NULL);
		uv_close((uv_handle_t *)&s->zap_idle, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
	}
	sock_drop(&s->k);
fail:
	free(s);
	return NULL;
}

const char *tzmq_server_endpoint(const tzmq_server *s)
{
	return s->endpoint;
}

transport *tzmq_server_expect(tzmq_server *s, const char *id)
{
	size_t len = strlen(id);
	if (!id_printable(id, len)) {
		errno = EINVAL;
		return NULL;
	}
	if (srv_find(s, id, len)) {
		errno = EEXIST;
		return NULL;
	}
	peer *p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->t.ops = &peer_ops;
	p->srv = s;
	memcpy(p->id, id, len + 1);
	p->idlen = len;
	p->next = s->peers;
	s->peers = p;
	return &p->t;
}

static int peer_send(transport *t, const char *msg, size_t len)
{
	peer *p = (peer *)t;
	tzmq_server *s = p->srv;
	if (s->k.closing)
		return -EPIPE;
	if (len == 0)
		return -EINVAL; /* an empty frame means keepalive */
	if (queue_push(&p->out, msg, len) < 0)
		return -ENOMEM;
	if (p->connected && p->out.n == 1)
		peer_send_head(s, p);
	sock_rearm(&s->k);
	return 0;
}

static void peer_close(transport *t)
{
	peer *p = (peer *)t;
	tzmq_server *s = p->srv;
	for (peer **pp = &s->peers; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	queue_clear(&p->out);
	free(p);
	srv_maybe_free(s);
}

void tzmq_server_close(tzmq_server *s)
{
	if (!s)
		return;
	if (!s->k.closing)
		zap_close(s);
	sock_close(&s->k);
}

uint64_t tzmq_last_activity(const transport *t)
{
	if (t->ops != &peer_ops)
		return 0;
	return ((const peer *)t)->last;
}

int tzmq_is_zmq(const transport *t)
{
	return t->ops == &peer_ops || t->ops == &client_ops;
}

/* ---- runner side: the DEALER -------------------------------------------- */

static int cl_recv_one(zsock *k)
{
	client *c = (client *)((char *)k - offsetof(client, k));
	zmq_msg_t f;
	int n = recv_frames(k->zs, &f, 1);
	if (n <= 0)
		return n < 0;
	if (zmq_msg_size(&f) > 0 && c->t.on_recv)
		c->t.on_recv(&c->t, zmq_msg_data(&f), zmq_msg_size(&f), c->t.data);
	zmq_msg_close(&f);
	return 1;
}

static int cl_flush(zsock *k)
{
	client *c = (client *)((char *)k - offsetof(client, k));
	int did = 0;
	for (int i = 0; c->out.head && i < PUMP_BUDGET; i++) {
		if (zmq_send(k->zs, c->out.head->data, c->out.head->len, ZMQ_DONTWAIT) < 0) {
			if (errno != EAGAIN)
				queue_pop(&c->out); /* not sendable, ever */
			break;
		}
		queue_pop(&c->out);
		did = 1;
	}
	return did;
}

static int cl_has_out(zsock *k)
{
	client *c = (client *)((char *)k - offsetof(client, k));
	return c->out.head != NULL;
}

static void cl_closed(zsock *k)
{
	client *c = (client *)((char *)k - offsetof(client, k));
	queue_clear(&c->out);
	free(c);
}

/* The keepalive timer is the client's third handle: its close counts in
 * the socket's handle count like the other two. */
static void keepalive_closed(uv_handle_t *h)
{
	client *c = h->data;
	sock_handle_closed((uv_handle_t *)&c->k.idle);
}

/* The monitor's events since the last look, told to on_link. A callback
 * may close the transport: then we stop. */
static void monitor_read(client *c)
{
	for (int i = 0; i < PUMP_BUDGET && c->mon && !c->k.closing; i++) {
		zmq_msg_t f[2];
		int n = recv_frames(c->mon, f, 2);
		if (n <= 0)
			return;
		uint16_t ev = 0;
		uint32_t val = 0;
		if (zmq_msg_size(&f[0]) >= 6) {
			memcpy(&ev, zmq_msg_data(&f[0]), 2);
			memcpy(&val, (char *)zmq_msg_data(&f[0]) + 2, 4);
		}
		for (int k = 0; k < n; k++)
			zmq_msg_close(&f[k]);
		char why[160];
		int state = 0;
		switch (ev) {
		case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
			state = TZMQ_LINK_UP;
			snprintf(why, sizeof(why), "authenticated");
			break;
		case ZMQ_EVENT_DISCONNECTED:
			state = TZMQ_LINK_DOWN;
			snprintf(why, sizeof(why), "connection closed");
			break;
		case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
			state = TZMQ_LINK_REFUSED;
			snprintf(why, sizeof(why),
				 "the server refused our key (status %u): not among "
				 "its authorized keys",
				 (unsigned)val);
			break;
		case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
			state = TZMQ_LINK_REFUSED;
			snprintf(why, sizeof(why),
				 "CURVE handshake failed (protocol error 0x%x): a "
				 "wrong server key, or the server does not use CURVE",
				 (unsigned)val);
			break;
		case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
			state = TZMQ_LINK_REFUSED;
			/* A server that cannot open our HELLO (made for another
			 * key) just hangs up. */
			snprintf(why, sizeof(why),
				 "the server hung up during the CURVE handshake (%s): "
				 "a wrong server key, or the server does not use CURVE",
				 zmq_strerror((int)val));
			break;
		default:
			break;
		}
		if (state && c->on_link)
			c->on_link(&c->t, state, why, c->link_data);
	}
}

static void keepalive_cb(uv_timer_t *h)
{
	client *c = h->data;
	if (c->mon)
		monitor_read(c);
	if (c->k.closing)
		return;
	if (c->out.head)
		return; /* queued messages will say we are alive */
	zmq_send(c->k.zs, "", 0, ZMQ_DONTWAIT);
	sock_rearm(&c->k);
}

/* CURVE client options and the monitor that tells how the link goes. 0
 * or -1 with err set. */
static int curve_client(client *c, const tzmq_curve *cv, char *err, size_t errlen)
{
	unsigned char sec[32], pub[32], srv[32];
	char zpub[41];
	int rc = -1;
	if (!zmq_z85_decode(sec, cv->secret) || !zmq_z85_decode(srv, cv->server_public) ||
	    zmq_curve_public(zpub, cv->secret) != 0 || !zmq_z85_decode(pub, zpub)) {
		snprintf(err, errlen, "CURVE: a key is not valid Z85");
		goto out;
	}
	if (zmq_setsockopt(c->k.zs, ZMQ_CURVE_SERVERKEY, srv, 32) != 0 ||
	    zmq_setsockopt(c->k.zs, ZMQ_CURVE_PUBLICKEY, pub, 32) != 0 ||
	    zmq_setsockopt(c->k.zs, ZMQ_CURVE_SECRETKEY, sec, 32) != 0) {
		snprintf(err, errlen, "CURVE: %s", zmq_strerror(errno));
		goto out;
	}
	c->on_link = cv->on_link;
	c->link_data = cv->data;
	if (cv->on_link) {
		char addr[64];
		snprintf(addr, sizeof(addr), "inproc://mite-monitor-%p", (void *)c);
		int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
			ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
			ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
		int linger = 0;
		if (zmq_socket_monitor(c->k.zs, addr, events) != 0 ||
		    !(c->mon = zmq_socket(c->k.ctx, ZMQ_PAIR)) ||
		    zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
		    zmq_connect(c->mon, addr) != 0) {
			snprintf(err, errlen, "socket monitor: %s", zmq_strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	memset(sec, 0, sizeof(sec));
	return rc;
}

static void monitor_close(client *c)
{
	if (!c->mon)
		return;
	zmq_socket_monitor(c->k.zs, NULL, 0);
	zmq_close(c->mon);
	c->mon = NULL;
}

transport *tzmq_connect(uv_loop_t *loop, const char *endpoint, const char *id, char *err,
			size_t errlen)
{
	return tzmq_connect_curve(loop, endpoint, id, NULL, err, errlen);
}

transport *tzmq_connect_curve(uv_loop_t *loop, const char *endpoint, const char *id,
			      const tzmq_curve *cv, char *err, size_t errlen)
{
	client *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->t.ops = &client_ops;
	if (sock_open(&c->k, loop, ZMQ_DEALER, err, errlen) < 0)
		goto fail;
	c->k.recv_one = cl_recv_one;
	c->k.flush = cl_flush;
	c->k.has_out = cl_has_out;
	c->k.closed = cl_closed;
	if (id) {
		size_t len = strlen(id);
		if (!id_printable(id, len)) {
			snprintf(err, errlen, "bad runner id '%s': 1 to %d printable characters",
				 id, TZMQ_ID_MAX);
			goto fail_sock;
		}
		if (zmq_setsockopt(c->k.zs, ZMQ_ROUTING_ID, id, len) != 0) {
			snprintf(err, errlen, "cannot set runner id: %s", zmq_strerror(errno));
			goto fail_sock;
		}
	}
	int linger = CLIENT_LINGER_MS, zero = 0;
	zmq_setsockopt(c->k.zs, ZMQ_LINGER, &linger, sizeof(linger));
	/* Stats batches must not be dropped nor block the loop: our own queue
	 * takes what ZeroMQ would refuse. */
	zmq_setsockopt(c->k.zs, ZMQ_SNDHWM, &zero, sizeof(zero));
	if (cv) {
		/* Between hosts: ZeroMQ reconnects by itself, backing off from
		 * 0.5 s to 10 s while the controller is away. */
		int ivl = 500, ivl_max = 10000;
		zmq_setsockopt(c->k.zs, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
		zmq_setsockopt(c->k.zs, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
		if (curve_client(c, cv, err, errlen) < 0)
			goto fail_sock;
	}
	if (zmq_connect(c->k.zs, endpoint) != 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(errno));
		goto fail_sock;
	}
	if (sock_attach(&c->k, err, errlen) < 0)
		goto fail_sock;
	uv_timer_init(loop, &c->keepalive);
	c->keepalive.data = c;
	c->k.nhandles++;
	uv_timer_start(&c->keepalive, keepalive_cb, KEEPALIVE_MS, KEEPALIVE_MS);
	return &c->t;

fail_sock:
	monitor_close(c);
	sock_drop(&c->k);
fail:
	free(c);
	return NULL;
}

static int client_send(transport *t, const char *msg, size_t len)
{
	client *c = (client *)t;
	if (c->k.closing)
		return -EPIPE;
	if (len == 0)
		return -EINVAL;
	if (!c->out.head && zmq_send(c->k.zs, msg, len, ZMQ_DONTWAIT) >= 0) {
		sock_rearm(&c->k);
		return 0;
	}
	if (c->out.head || errno == EAGAIN) {
		if (queue_push(&c->out, msg, len) < 0)
			return -ENOMEM;
		sock_rearm(&c->k);
		return 0;
	}
	return -errno;
}

static void client_close(transport *t)
{
	client *c = (client *)t;
	if (c->k.closing)
		return;
	/* Hand ZeroMQ what is still queued: the linger delivers it. */
	while (c->out.head &&
	       zmq_send(c->k.zs, c->out.head->data, c->out.head->len, ZMQ_DONTWAIT) >= 0)
		queue_pop(&c->out);
	uv_timer_stop(&c->keepalive);
	monitor_close(c);
	uv_close((uv_handle_t *)&c->keepalive, keepalive_closed);
	sock_close(&c->k);
}
