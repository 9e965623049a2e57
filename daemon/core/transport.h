/*
 * transport.h - how the controller and a runner exchange runner-protocol
 * messages (proto.h). Each message is one whole buffer; delivery is in order
 * and happens from the receiver's libuv loop, never inside send().
 */
#ifndef MITE_CORE_TRANSPORT_H
#define MITE_CORE_TRANSPORT_H

#include <stddef.h>
#include <uv.h>

typedef struct transport transport;
typedef void (*transport_recv_cb)(transport *t, const char *msg, size_t len, void *data);

struct transport_ops {
	/* Queues a copy of msg for the peer. 0 or -errno (-EPIPE once closed). */
	int (*send)(transport *t, const char *msg, size_t len);
	/* Stops delivery and frees the transport (asynchronously: handles close
	 * on the loop). No callback runs after close. */
	void (*close)(transport *t);
};

struct transport {
	const struct transport_ops *ops;
	transport_recv_cb on_recv;
	void *data;
};

static inline int transport_send(transport *t, const char *msg, size_t len)
{
	return t->ops->send(t, msg, len);
}
static inline void transport_close(transport *t)
{
	t->ops->close(t);
}

/* Two connected in-process endpoints on one loop (used by the foreground
 * test modes and the tests). 0 or -ENOMEM. */
int transport_pair(uv_loop_t *loop, transport **a, transport **b);

/* ---- ZeroMQ transport (transport_zmq.c) ----------------------------------
 * The runner link between processes and hosts; docs/runner-protocol.md.
 * The controller binds one ROUTER socket (ipc://<rundir>/runners.sock for
 * the runners it spawns, or tcp://HOST:PORT); each runner connects a DEALER
 * whose ZeroMQ routing id is the runner id it was given. The server hands
 * out one transport per expected runner id. A runner's transport also sends
 * an empty keepalive frame every second from its loop, so that a runner
 * whose loop hangs falls silent (see tzmq_last_activity). */
#include <stdint.h>

#define TZMQ_DEFAULT_PORT 14301
#define TZMQ_ID_MAX 64 /* longest runner id, in bytes (printable ASCII) */

typedef struct tzmq_server tzmq_server;

/* A message from a runner id the server has no transport for. The callback
 * may call tzmq_server_expect(s, id) (and hand the transport to a run, so
 * that on_recv is set): the message is then delivered to it. Otherwise the
 * message is dropped. */
typedef void (*tzmq_unknown_cb)(tzmq_server *s, const char *id, const char *msg, size_t len,
				void *data);

/* Binds a ROUTER to endpoint ("ipc:///path", "tcp://127.0.0.1:14301"). For
 * ipc only peers with this process's uid may connect. NULL with a reason in
 * err. on_unknown may be NULL. */
tzmq_server *tzmq_server_new(uv_loop_t *loop, const char *endpoint, tzmq_unknown_cb on_unknown,
			     void *data, char *err, size_t errlen);
/* The endpoint actually bound (a tcp port 0 or '*' resolved). */
const char *tzmq_server_endpoint(const tzmq_server *s);
/* The transport to the runner that will connect with routing id `id`
 * (printable, 1..TZMQ_ID_MAX bytes). Messages sent before that runner's
 * first message are queued. NULL with errno EINVAL (bad id), EEXIST (id
 * already expected) or ENOMEM. Closing it (transport_close) forgets the id. */
transport *tzmq_server_expect(tzmq_server *s, const char *id);
/* Closes the socket; transports still open fail their sends with -EPIPE and
 * must still be closed. Frees once every transport is closed. */
void tzmq_server_close(tzmq_server *s);

/* Runner side: a DEALER with routing id `id` (NULL: ZeroMQ picks one)
 * connected to endpoint. NULL with a reason in err. */
transport *tzmq_connect(uv_loop_t *loop, const char *endpoint, const char *id, char *err,
			size_t errlen);

/* For a server-side transport: the loop time (uv_now, ms) of the last frame
 * received from its runner (message or keepalive), 0 when none yet. */
uint64_t tzmq_last_activity(const transport *t);
/* Non-zero when t is a ZeroMQ transport (either side). */
int tzmq_is_zmq(const transport *t);

/* ---- CURVE (docs/distributed.md) -----------------------------------------
 * Between hosts the link is encrypted and both ends authenticated with
 * CURVE (core/curve.h for the key files). A server with CURVE answers
 * ZeroMQ's authentication requests (ZAP, inproc://zeromq.zap.01 in its own
 * context) itself, from its loop: each client's public key goes to
 * authorize, which accepts it (returns 1 and names the peer in user: the
 * "User-Id" of its messages) or refuses it (returns 0 with a reason, which
 * the transport logs with the peer's address; never a key). */
#define TZMQ_LINK_UP 1 /* handshake done */
#define TZMQ_LINK_DOWN 2 /* the connection dropped (ZeroMQ reconnects) */
#define TZMQ_LINK_REFUSED 3 /* the handshake failed: why says how */

typedef int (*tzmq_authorize_cb)(const char *address, const unsigned char key[32], char *user,
				 size_t userlen, char *reason, size_t reasonlen, void *data);
/* Client side: how its link went (polled once a second from its loop). */
typedef void (*tzmq_link_cb)(transport *t, int state, const char *why, void *data);

typedef struct tzmq_curve {
	char secret[41]; /* our secret key, Z85 */
	char server_public[41]; /* client: the server's public key, Z85 */
	tzmq_authorize_cb authorize; /* server */
	tzmq_link_cb on_link; /* client, optional */
	void *data;
} tzmq_curve;

/* tzmq_server_new with CURVE (cv NULL: none). */
tzmq_server *tzmq_server_new_curve(uv_loop_t *loop, const char *endpoint,
				   tzmq_unknown_cb on_unknown, void *data, const tzmq_curve *cv,
				   char *err, size_t errlen);
/* tzmq_connect with CURVE (cv NULL: none). */
transport *tzmq_connect_curve(uv_loop_t *loop, const char *endpoint, const char *id,
			      const tzmq_curve *cv, char *err, size_t errlen);
/* During on_unknown (or a server-side on_recv): the User-Id (what authorize
 * named the peer, "" without CURVE) and the peer's address ("" unknown) of
 * the message being delivered. */
const char *tzmq_server_msg_user(const tzmq_server *s);
const char *tzmq_server_msg_address(const tzmq_server *s);
/* For a server-side transport: the User-Id its runner's last message came
 * with ("" without CURVE or before any). */
const char *tzmq_peer_user(const transport *t);

#endif
