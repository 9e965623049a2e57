/*
 * ws_conn.h - one client WebSocket connection on the runner's libuv loop:
 * name resolution (with the engine's cache), a non-blocking TCP connect,
 * the Upgrade handshake (runner/ws_hs.h), then wslay's framing over an I/O
 * layer (ws_io): plain TCP for ws://, TLS (runner/ws_tls.h on
 * runner/tls.h) for wss://. It reads and writes through ws_io's calls
 * only, which say "want read" / "want write" as OpenSSL's non-blocking
 * calls do. What a journey sends over TLS is written from the loop's idle
 * phase, not the journey's stack.
 *
 * The connection never touches a journey: what it has to say goes through
 * its hooks (ws_conn_hooks). notify() is the last thing a loop callback
 * does with the connection: it may resume the journey, which may send,
 * receive or free the connection at once. The other hooks record metrics
 * and must not resume anything.
 *
 * Bounds: a message from the server over max_message fails the connection
 * (close 1009, class too_large); received messages the journey has not
 * taken are held up to max_queue payload bytes (at least one message),
 * then the socket is not read until the journey takes some (one read of
 * WS_CONN_RBUF bytes may overshoot the cap by the messages it holds); the
 * handshake reply's head is bounded by HTTP1_MAX_HEAD (a refusal's body is
 * not read).
 */
#ifndef MITE_RUNNER_WS_CONN_H
#define MITE_RUNNER_WS_CONN_H

#include "runner/http1.h"
#include "runner/tls.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* Bytes read from the socket at a time (the engine's buffer). */
#define WS_CONN_RBUF (64 * 1024)
/* Addresses of a name tried in turn. */
#define WS_CONN_MAX_ADDRS 8
/* Seconds a resolved name is kept (as the HTTP client). */
#define WS_DNS_TTL 60
/* Names kept at most. */
#define WS_DNS_MAX 64

/* Why a connection failed (ws_conn.err). */
enum {
	WSE_NONE = 0,
	WSE_DNS, /* the name did not resolve */
	WSE_REFUSED, /* connection refused */
	WSE_CONNECT, /* no address accepted a connection */
	WSE_TIMEOUT, /* connect or handshake took longer than the timeout */
	WSE_HANDSHAKE, /* the reply was not a valid 101 */
	WSE_RESET, /* the connection ended (or failed) without a close frame */
	WSE_PROTOCOL, /* the server broke RFC 6455 (a malformed frame, bad UTF-8 in text) */
	WSE_TOO_LARGE, /* a message over max_message */
	WSE_TLS, /* the TLS handshake failed (verification, a certificate,
			* versions...: the words say which check) */
	WSE_NOMEM,
	WSE_CLOSED, /* the engine closed */
};

/* States. */
enum { WS_RESOLVING = 1, WS_CONNECTING, WS_TLS, WS_UPGRADING, WS_OPEN, WS_ENDED };

typedef struct ws_engine ws_engine;
typedef struct ws_conn ws_conn;

/* The I/O layer under the framing. Each call returns at once. */
#define WS_IO_WANT_READ (-1000)
#define WS_IO_WANT_WRITE (-1001)
#define WS_IO_ERR (-1002)
typedef struct ws_io {
	/* Sets up the layer on the connected socket (a TLS handshake): 0
	 * when done, WS_IO_WANT_*, or WS_IO_ERR with c->io_class (WSE_*)
	 * and c->io_why set. */
	int (*start)(ws_conn *c);
	/* > 0 bytes, 0 at the end of the stream, WS_IO_WANT_*, or WS_IO_ERR
	 * (c->io_why says why, or else c->oserr). */
	ssize_t (*read)(ws_conn *c, void *buf, size_t len);
	/* more: more of the same frame follows at once (a hint to batch) */
	ssize_t (*write)(ws_conn *c, const void *buf, size_t len, int more);
	/* Frees the layer's state (not the fd), before the fd closes;
	 * clean: the connection ended well. Called again, does nothing. */
	void (*free)(ws_conn *c, int clean);
} ws_io;

typedef struct ws_conn_hooks {
	/* A message of len payload bytes arrived; rtt_ns > 0 when it answers
	 * the mark (mark: its name). */
	void (*in)(void *owner, size_t len, uint64_t rtt_ns, const char *mark);
	/* A pong answering ws_conn_ping arrived after rtt_ns. */
	void (*pong)(void *owner, uint64_t rtt_ns);
	/* Something changed (state, a message, a failure, room to send, the
	 * timer): the owner's waiter may go on. */
	void (*notify)(void *owner);
} ws_conn_hooks;

/* A received message (the journey's view is mite_ws_msg in ws.c). */
typedef struct ws_rmsg {
	struct ws_rmsg *next;
	int binary;
	size_t len;
	uint64_t arrived; /* uv_hrtime() */
	uint64_t rtt_ns; /* 0: answers no mark */
	char data[]; /* len bytes and a NUL */
} ws_rmsg;

struct ws_conn {
	/* public, read-only */
	int state;
	int err; /* WSE_* once failed */
	int oserr; /* the errno behind WSE_CONNECT/REFUSED/RESET */
	char why[160]; /* a failure's words */
	int close_code; /* the server's close code (1005: none; 1006: no close) */
	char close_reason[124];
	char protocol[256]; /* the subprotocol chosen */
	int close_sent; /* our close frame went out */
	int we_closed; /* we started the close handshake */
	int peer_closed_first; /* the server did */
	uint64_t t_start, t_open; /* uv_hrtime() at start and when open */
	/* what the caller set before ws_conn_start */
	size_t max_message, max_queue;
	uint64_t timeout_ms; /* connect and handshake */
	const ws_conn_hooks *hooks;
	void *owner;
	/* the journey may also read these */
	size_t qbytes, qcount; /* messages held */

	/* private */
	ws_engine *e;
	ws_conn *prev, *next; /* the engine's */
	ws_conn *fnext; /* in the engine's queue of TLS sends */
	int flushing; /* ... it is there */
	const ws_io *io;
	int io_class; /* the I/O layer's failure: WSE_* */
	char io_why[TLS_MSG_MAX + 64]; /* ... in words ("" : strerror(oserr)) */
	tls_ctx *tls; /* wss://: the TLS settings (a reference) */
	tls_conn *tc; /* ... the TLS connection once connected */
	tls_session *tls_sess; /* ... the session the server issued */
	int fd;
	uv_poll_t *poll; /* allocated: a new socket's can start while an
				  * old one's closes */
	int events;
	uv_timer_t timer;
	uv_getaddrinfo_t gai;
	int resolving;
	int handles; /* uv handles not yet closed */
	int freed; /* ws_conn_free was called */
	struct sockaddr_storage addrs[WS_CONN_MAX_ADDRS];
	int naddrs, addr_idx;
	char *host; /* for the cache, and a TLS layer's SNI */
	int port;
	http1_buf req; /* the handshake request, then nothing */
	size_t req_sent;
	char key[32];
	char *offered; /* the subprotocols offered, or NULL */
	http1_parser p;
	http1_buf head, body;
	void *ev; /* wslay_event_context_ptr once open */
	const char *rb; /* bytes read and not yet given to wslay */
	size_t rlen;
	int read_eof, read_err; /* the I/O layer said so while wslay read */
	int want_write; /* wslay has frames the socket did not take */
	int io_wants_write; /* the I/O layer wants to write to go on reading */
	ws_rmsg *qhead, *qtail;
	ws_rmsg *cur; /* the message being received */
	size_t cur_cap;
	int cur_ctrl, cur_fin; /* the frame is a control one; the last of its message */
	int too_large, nomem;
	uint64_t mark_ns; /* the pending mark, or 0 */
	char mark[64]; /* (MITE_WS_NAME_MAX + 1) */
	uint64_t ping_ns; /* the ping out, or 0 */
	int eof_seen;
	int timer_fired;
};

/* One per runner: its loop, the read buffer and the name cache. NULL on
 * ENOMEM. */
ws_engine *ws_engine_new(uv_loop_t *loop);
/* Fails every connection still there (WSE_CLOSED, without notify) and
 * frees the engine once every handle is closed, then done(arg). */
void ws_engine_close(ws_engine *e, void (*done)(void *arg), void *arg);
uv_loop_t *ws_engine_loop(ws_engine *e);

/* A new connection (not started): set max_message, max_queue,
 * timeout_ms, hooks and owner, then ws_conn_start. NULL on ENOMEM. */
ws_conn *ws_conn_new(ws_engine *e);
/* Starts connecting to u, with the request's extra headers and offered
 * protocols; tls: wss:// with these TLS settings (the connection takes a
 * reference of its own), NULL: ws://. 0 when it runs (hooks tell the
 * rest), or -1 when it failed at once (err and why say why), -EINVAL (a
 * bad header) or -ENOMEM. */
int ws_conn_start(ws_conn *c, const http1_url *u, tls_ctx *tls, const char *const *headers,
		  const char *protocols, const char *user_agent);
/* Queues a message (binary or text) and sends what the socket takes.
 * mark: time the round trip to the next message (name, may be NULL). 0,
 * -EPIPE (not open, or closing), -ENOMEM. */
int ws_conn_send(ws_conn *c, const void *data, size_t len, int binary, const char *mark);
/* Sends a ping (its pong's round trip goes to hooks->pong). As ws_conn_send. */
int ws_conn_ping(ws_conn *c);
/* Payload bytes waiting to be sent. */
size_t ws_conn_unsent(const ws_conn *c);
/* Takes the oldest message held (the caller frees it), or NULL; reading
 * goes on when it was held back by the queue's cap. */
ws_rmsg *ws_conn_take(ws_conn *c);
/* Starts the close handshake: our close frame (code, reason of at most
 * 123 bytes). 0, -EINVAL, or -EPIPE when a close went out already. */
int ws_conn_close(ws_conn *c, int code, const char *reason);
/* Whether the server's close came (or the connection ended). */
int ws_conn_close_received(const ws_conn *c);
/* Whether the server ended the TCP connection (or it failed). */
int ws_conn_eof(const ws_conn *c);
/* Arms the connection's timer (ms from now; 0 stops it): it calls notify
 * with timer_fired set. */
void ws_conn_timer(ws_conn *c, uint64_t ms);
/* Frees c (closing its socket at once, after a last try to send a queued
 * close); no hook is called after. */
void ws_conn_free(ws_conn *c);
/* The words of a WSE_* class: "dns", "refused", ... */
const char *ws_conn_class(int err);

#endif
