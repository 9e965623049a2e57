/*
 * http_native_send.c - the request's way out (see http_native_int.h): the
 * head and body through sendmsg, or OpenSSL's writes over TLS; a body file
 * goes out in pieces read as it goes.
 *
 * A request on a kept-alive TLS connection is not sent from the journey's
 * call but from the loop's next idle phase (no system call more): OpenSSL's
 * record writer alone has a frame of about 5 KiB, which would commit more
 * pages of every instance's stack. What an HTTP/2 stream sends goes out
 * from that idle phase too, never from the journey's stack.
 */
#include "runner/http_native_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* A body file goes out in pieces of this size (a pread each). */
#define HN_FILE_CHUNK (64 * 1024)

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

/* http_native_send_some over TLS: the head, then the body (a small one went
 * into the head's buffer), each through OpenSSL, which writes partially. */
static int send_tls(http_native_xfer *x)
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
			http_native_conn_events(c, UV_READABLE | UV_WRITABLE);
			return 0;
		case TLS_WANT_READ:
			/* (TLS 1.2 renegotiation): the readiness callback
			 * tries again when the connection is readable. */
			http_native_conn_events(c, UV_READABLE);
			return 0;
		default:
			c->tls_bad = 1;
			x->oserr = x->n->tf.oserr ? x->n->tf.oserr : EPROTO;
			return HN_ESEND;
		}
	}
	x->bytes_out = x->sent;
	http_native_conn_events(c, UV_READABLE);
	return 0;
}

/* Sends what is left of x's request. 0 (sent, or waiting for room), or an
 * HN_E* code with x->oserr. */
int http_native_send_some(http_native_xfer *x)
{
	hn_conn *c = x->c;
	size_t head = x->req.len, total = head + x->body_len;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov };
	ssize_t k;

	if (x->sent == 0 && !x->t_pre)
		x->t_pre = uv_hrtime();
	if (c->tls) {
		http_native_unwait(x); /* (queued: whoever sends first) */
		return send_tls(x);
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
				http_native_conn_events(c, UV_READABLE | UV_WRITABLE);
				return 0;
			}
			x->oserr = errno;
			return HN_ESEND;
		}
		x->sent += (size_t)k;
	}
	x->bytes_out = x->sent;
	http_native_conn_events(c, UV_READABLE);
	return 0;
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
		http_native_unwait(x);
		if ((rc = http_native_send_some(x)) && !http_native_resp_retry(x))
			http_native_finish(x, rc);
	}
	while ((c = n->h2q) && !n->closing) {
		http_native_send_h2q_remove(n, c);
		if (c->read_more) {
			c->read_more = 0;
			http_native_h2_poll(n, c, 0, UV_READABLE); /* (flushes too) */
		} else {
			http_native_h2_flush(n, c);
		}
	}
	if (!n->sendq && !n->h2q && !n->closing) {
		uv_idle_stop(&n->flush);
		n->flushing = 0;
	}
}

static void flush_start(http_native *n)
{
	if (!n->flushing) {
		uv_idle_start(&n->flush, on_flush);
		n->flushing = 1;
	}
}

/* c's HTTP/2 output goes out at the loop's next idle phase. */
void http_native_send_h2q_add(http_native *n, hn_conn *c)
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

void http_native_send_h2q_remove(http_native *n, hn_conn *c)
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

void http_native_send_queue(http_native *n, http_native_xfer *x)
{
	x->wprev = NULL;
	x->wnext = n->sendq;
	if (n->sendq)
		n->sendq->wprev = x;
	n->sendq = x;
	x->wlist = &n->sendq;
	flush_start(n);
}
