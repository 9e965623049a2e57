/*
 * http_native_resp.c - the response's way in (see http_native_int.h): what
 * a connection reads goes through the parser of runner/http1.h at once;
 * the transfer ends when the response is whole, its connection kept alive
 * when it can be.
 *
 * A request sent on a reused connection that the server had closed meanwhile
 * (EPIPE, a reset, or EOF before any byte of the response) is sent again
 * once on a new connection, as libcurl does.
 */
#include "runner/http_native_int.h"

#include <errno.h>

/* A fresh parser for x's response, with x's limits. */
void http_native_resp_start(http_native_xfer *x)
{
	http1_parser_init(&x->p, x->head_request, x->discard, x->hdr, x->resp_body);
	x->p.max_body = x->max_body;
	x->p.sink = x->sink;
	x->p.sink_arg = x->sink_arg;
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
		http_native_conn_idle(n, c);
	else
		http_native_conn_close(n, c);
	if (x->done)
		x->done(x);
}

/* The connection died before any byte of the response: send again on a new
 * one if the old one was a reused one, once. Returns 1 when retrying. */
int http_native_resp_retry(http_native_xfer *x)
{
	http_native *n = x->n;
	int rc;

	if (!x->reused || x->retried || http1_started(&x->p))
		return 0;
	x->retried = 1;
	x->reused = 0;
	http_native_unwait(x);
	http_native_conn_close(n, x->c);
	x->sent = 0;
	x->t_pre = 0;
	x->bytes_out = 0;
	http_native_resp_start(x);
	rc = http_native_origin_connect(x);
	if (rc)
		http_native_finish(x, rc);
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

void http_native_resp_readable(http_native *n, http_native_xfer *x)
{
	hn_conn *c = x->c;
	int reads = c->tls ? HN_TLS_READS_PER_CB : HN_READS_PER_CB;

	for (int i = 0; i < reads; i++) {
		ssize_t k = http_native_conn_read(n, c), used;
		uint64_t now;
		int rc;

		if (k < 0) {
			if (k == -EAGAIN)
				return;
			x->oserr = (int)-k;
			if (!http_native_resp_retry(x))
				http_native_finish(x, HN_ERECV);
			return;
		}
		if (k == 0) {
			rc = http1_parse_eof(&x->p);
			if (rc == HTTP1_OK) {
				complete(x, 0, uv_hrtime());
			} else if (!http_native_resp_retry(x)) {
				http_native_finish(
					x, rc == HTTP1_ENOTHING ? HN_ENOTHING : HN_EPARTIAL);
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
			http_native_finish(x, parse_error(used));
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
