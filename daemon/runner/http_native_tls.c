/*
 * http_native_tls.c - the native client's TLS hand-off (https://; see
 * http_native_int.h): after the TCP connect the connection shakes hands
 * (runner/tls.h, OpenSSL on the non-blocking fd) on loop callbacks, never on
 * a journey's stack; the connect timeout covers it, as libcurl's does. ALPN
 * then says whether the connection speaks HTTP/2 (http_native_h2.c).
 * Reads and writes then go through OpenSSL instead of recv/sendmsg; the
 * rest (pooling, parsing, retrying) is the same. A connection's pool is its
 * origin: host, port and TLS context, so that connections made with other
 * TLS settings (another CA, no verification, a client certificate) are
 * never reused for a request that did not ask for them. The origin keeps
 * the last TLS session its server issued: a new connection offers it
 * (resumption), unless the context says not to.
 */
#include "runner/http_native_int.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* The heap is trimmed when TLS connections at work (this many at least,
 * together) went idle, all but an eighth, at most once a second (see
 * http_native_tls_work). */
#define HN_TRIM_BURST 64

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
void http_native_tls_work(http_native *n, hn_conn *c)
{
	if (c->tls_active || !c->tls)
		return;
	c->tls_active = 1;
	if (++n->tls_active > n->tls_peak)
		n->tls_peak = n->tls_active;
}

void http_native_tls_idle(http_native *n, hn_conn *c)
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
int http_native_tls_handshake(http_native_xfer *x)
{
	http_native *n = x->n;
	hn_conn *c = x->c;

	switch (tls_handshake(c->tls, &n->tf)) {
	case TLS_OK:
		break;
	case TLS_WANT_READ:
		http_native_conn_events(c, UV_READABLE);
		return 0;
	case TLS_WANT_WRITE:
		http_native_conn_events(c, UV_READABLE | UV_WRITABLE);
		return 0;
	default:
		c->tls_bad = 1;
		return keep_tls_fail(x); /* (http_native_conn_close counts it ended) */
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
			return http_native_h2_become(n, c, x);
		/* HTTP/1.1 after all: who waited goes its own way. */
		c->o->no_h2 = 1;
		http_native_h2_pend_reroute(n, c);
	}
	x->connecting = 0;
	return http_native_send_some(x);
}

int http_native_tls_start(http_native_xfer *x)
{
	hn_conn *c = x->c;
	hn_origin *o = c->o;

	c->tls = tls_conn_new(o->tls, c->fd, o->host, o->port, &o->sess, &x->n->tf);
	if (!c->tls)
		return keep_tls_fail(x);
	c->state = C_HANDSHAKE;
	http_native_tls_work(x->n, c);
	return http_native_tls_handshake(x);
}

/* An idle TLS connection became readable: fine when that was TLS's own
 * business (a session ticket), not when the server closed it or sent
 * data nobody asked for. */
int http_native_tls_idle_ok(http_native *n, hn_conn *c)
{
	return http_native_conn_read(n, c) == -EAGAIN;
}
