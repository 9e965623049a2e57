/*
 * h2.c - see h2.h.
 *
 * nghttp2 does the protocol (framing, HPACK, flow control: WINDOW_UPDATEs
 * go out as the body is consumed, SETTINGS, PING, GOAWAY); this file maps
 * streams to transfers. Its callbacks never call back into the transfer's
 * owner: an ended stream goes on a list that h2_recv / h2_flush hand to
 * ops->stream_end once nghttp2 has returned, because stream_end may resume
 * a journey, which may start streams on this very session.
 *
 * Windows: a stream's receive window is 1 MiB and the connection's 16 MiB
 * (nghttp2's defaults are 64 KiB, which would make a large body wait for a
 * round trip every 64 KiB); a body is consumed (and the window updated) as
 * it arrives.
 */
#include "runner/h2.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define H2_STREAM_WINDOW (1 << 20)
#define H2_CONN_WINDOW (16 << 20)

struct h2_conn {
	nghttp2_session *s;
	void *conn;
	const h2_ops *ops;
	uint32_t max_streams; /* ours */
	size_t nstreams; /* open now */
	int goaway; /* the server said GOAWAY (or we retired it): no new
				 * stream */
	uint32_t peer_streams; /* the server's SETTINGS_MAX_CONCURRENT_STREAMS */
	int32_t goaway_last; /* the last stream the server's GOAWAY said it
				 * processed (-1: none came) */
	int broken; /* a callback failed the session */
	http_native_xfer *active; /* streams with a transfer */
	http_native_xfer *ended, **ended_tail; /* streams to report */
	char *out; /* bytes nghttp2 gave, not written yet */
	int blocked; /* a write of them waits: the next one must offer
				 * the same bytes (as TLS wants), none added */
	size_t outlen, outoff, outcap;
	nghttp2_nv *nv; /* scratch for a request's fields */
	size_t nvcap;
	char *names; /* ... their lowercased names */
	size_t namescap;
};

/* ---- ending streams ------------------------------------------------------ */

static void active_add(h2_conn *h, http_native_xfer *x)
{
	x->h2prev = NULL;
	x->h2next = h->active;
	if (h->active)
		h->active->h2prev = x;
	h->active = x;
	h->nstreams++;
}

static void active_remove(h2_conn *h, http_native_xfer *x)
{
	if (x->h2prev)
		x->h2prev->h2next = x->h2next;
	else
		h->active = x->h2next;
	if (x->h2next)
		x->h2next->h2prev = x->h2prev;
	x->h2prev = x->h2next = NULL;
	h->nstreams--;
}

/* Queues x's end (err) for stream_end, detached from its stream. */
static void end_stream(h2_conn *h, http_native_xfer *x, int err)
{
	active_remove(h, x);
	x->h2_err = err;
	x->h2end = NULL;
	*h->ended_tail = x;
	h->ended_tail = &x->h2end;
}

/* Reports the ended streams (their owner may start new ones meanwhile). */
static void report(h2_conn *h)
{
	http_native_xfer *x;

	while ((x = h->ended)) {
		h->ended = x->h2end;
		if (!h->ended)
			h->ended_tail = &h->ended;
		x->h2end = NULL;
		x->h2_stream = 0;
		h->ops->stream_end(h->conn, x, x->h2_err);
	}
}

/* Fails x's stream now (a limit, the sink): RST_STREAM CANCEL; its end is
 * reported when nghttp2 closes it. */
static void fail_stream(h2_conn *h, http_native_xfer *x, int32_t id, int err)
{
	if (!x->h2_err)
		x->h2_err = err;
	nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
}

/* ---- nghttp2 callbacks ------------------------------------------------------ */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	http_native_xfer *x = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);

	(void)ud;
	if (x && !x->t_first)
		x->t_first = uv_hrtime();
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	h2_conn *h = ud;
	int32_t id = f->hd.stream_id;
	http_native_xfer *x = nghttp2_session_get_stream_user_data(s, id);
	http1_buf *b;

	(void)flags;
	if (!x || x->h2_err)
		return 0;
	/* As the HTTP/1.1 head would count it: "Name: value\r\n". */
	x->p.head_bytes += nl + vl + 4;
	x->p.received += nl + vl;
	if (x->p.head_bytes > HTTP1_MAX_HEAD) {
		fail_stream(h, x, id, HN_EHEADSIZE);
		return 0;
	}
	if (nl == 7 && memcmp(name, ":status", 7) == 0) {
		x->p.status = vl == 3
			? (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0')
			: 0;
		x->p.version = 20;
		if (x->p.status >= 100 && x->p.status < 200 && x->hdr)
			x->hdr->len = 0; /* an interim response: its fields go */
		return 0;
	}
	if (nl && name[0] == ':')
		return 0;
	if (!(b = x->hdr))
		return 0;
	if (http1_buf_reserve(b, b->len + nl + vl + 2) < 0) {
		fail_stream(h, x, id, HN_ENOMEM);
		return 0;
	}
	memcpy(b->p + b->len, name, nl);
	b->p[b->len + nl] = ':';
	memcpy(b->p + b->len + nl + 1, value, vl);
	b->p[b->len + nl + 1 + vl] = 0;
	b->len += nl + vl + 2;
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *ud)
{
	h2_conn *h = ud;
	http_native_xfer *x = nghttp2_session_get_stream_user_data(s, id);
	http1_buf *b;

	(void)flags;
	if (!x || x->h2_err || len == 0)
		return 0;
	x->p.body_bytes += len;
	x->p.received += len;
	if (x->sink) {
		if (x->sink(x->sink_arg, (const char *)data, len))
			fail_stream(h, x, id, HN_EABORTED);
		return 0;
	}
	if (x->discard || x->head_request || !(b = x->resp_body))
		return 0;
	/* Refused before it is kept, as the HTTP/1.1 parser does. */
	if (b->len + len > x->max_body) {
		x->p.body_bytes -= len;
		fail_stream(h, x, id, HN_EBODYSIZE);
		return 0;
	}
	if (http1_buf_reserve_max(b, b->len + len + 1,
				  x->max_body < SIZE_MAX ? (size_t)x->max_body + 1 : SIZE_MAX) <
	    0) {
		fail_stream(h, x, id, HN_ENOMEM);
		return 0;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;
	return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	h2_conn *h = ud;

	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
		h->peer_streams = nghttp2_session_get_remote_settings(
			s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	if (f->hd.type == NGHTTP2_GOAWAY) {
		h->goaway = 1;
		if (h->goaway_last < 0 || f->goaway.last_stream_id < h->goaway_last)
			h->goaway_last = f->goaway.last_stream_id;
	}
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	h2_conn *h = ud;
	http_native_xfer *x = nghttp2_session_get_stream_user_data(s, id);
	int err;

	if (!x)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	if (x->h2_err)
		err = x->h2_err;
	else if (code == NGHTTP2_NO_ERROR && x->p.status >= 200)
		err = HN_OK;
	else if (code == NGHTTP2_REFUSED_STREAM)
		err = HN_EREFUSED; /* never processed: safe to send again */
	else if (code == NGHTTP2_NO_ERROR)
		err = HN_EPARTIAL;
	else
		err = HN_ERESET;
	end_stream(h, x, err);
	return 0;
}

/* Reads a stream's request body (x->body, or its file, from x->sent on). */
static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	http_native_xfer *x = src->ptr;
	size_t left = x->body_len - x->sent, n = left < len ? left : len, have;
	const char *p;

	(void)s;
	(void)id;
	(void)ud;
	if (n && !(p = http_native_body_at(x, x->sent, &have)))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
	if (n && have < n)
		n = have;
	if (n)
		memcpy(buf, p, n);
	x->sent += n;
	if (x->sent == x->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* ---- the session ---------------------------------------------------------------- */

h2_conn *h2_conn_new(void *conn, const h2_ops *ops, uint32_t max_streams)
{
	h2_conn *h = calloc(1, sizeof(*h));
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry set[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
	};

	if (!h)
		return NULL;
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		free(h);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	if (nghttp2_session_client_new(&h->s, cb, h) != 0) {
		nghttp2_session_callbacks_del(cb);
		free(h);
		return NULL;
	}
	nghttp2_session_callbacks_del(cb);
	h->conn = conn;
	h->ops = ops;
	h->max_streams = max_streams ? max_streams : H2_DEFAULT_STREAMS;
	h->ended_tail = &h->ended;
	h->goaway_last = -1;
	h->peer_streams = 100; /* (until the server's SETTINGS say) */
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, set, sizeof(set) / sizeof(*set)) !=
		    0 ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) !=
		    0) {
		h2_conn_free(h);
		return NULL;
	}
	return h;
}

void h2_conn_free(h2_conn *h)
{
	if (!h)
		return;
	nghttp2_session_del(h->s);
	free(h->out);
	free(h->nv);
	free(h->names);
	free(h);
}

/* Room for n fields and len bytes of names. 0 or -1. */
static int scratch(h2_conn *h, size_t n, size_t len)
{
	if (n > h->nvcap) {
		nghttp2_nv *p = realloc(h->nv, n * sizeof(*p));
		if (!p)
			return -1;
		h->nv = p;
		h->nvcap = n;
	}
	if (len > h->namescap) {
		char *p = realloc(h->names, len);
		if (!p)
			return -1;
		h->names = p;
		h->namescap = len;
	}
	return 0;
}

static void nv_set(nghttp2_nv *nv, const char *name, size_t nl, const char *value, size_t vl)
{
	nv->name = (uint8_t *)name;
	nv->namelen = nl;
	nv->value = (uint8_t *)value;
	nv->valuelen = vl;
	nv->flags = NGHTTP2_NV_FLAG_NONE;
}

/* Whether a field of this name must not go over HTTP/2 (RFC 9113 8.2.2). */
static int connection_field(const char *n, size_t l)
{
	static const char *const drop[] = {
		"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
		"host",       NULL
	};

	for (const char *const *d = drop; *d; d++)
		if (strlen(*d) == l && strncasecmp(n, *d, l) == 0)
			return 1;
	return 0;
}

int h2_submit(h2_conn *h, http_native_xfer *x, int tls)
{
	char *p = x->req.p, *end = p + x->req.len, *eol, *sp1, *sp2, *names;
	const char *auth = "";
	size_t authlen = 0, nfields = 4, nn = 0, hl;
	nghttp2_data_provider body = { .source.ptr = x, .read_callback = read_body };
	int32_t id;

	/* The head ends at the empty line; what follows is a small body put
	 * there for TLS (http_native_start). */
	for (eol = p; eol + 3 < end && memcmp(eol, "\r\n\r\n", 4) != 0; eol++)
		;
	if (eol + 3 >= end)
		return HN_EPARSE;
	hl = (size_t)(eol - p) + 4;
	if (hl < x->req.len) {
		x->body = p + hl;
		x->body_len = x->req.len - hl;
		x->req.len = hl;
	}
	for (char *c = p; c < p + hl; c++)
		nfields += *c == '\n';
	if (scratch(h, nfields, hl) < 0)
		return HN_ENOMEM;
	names = h->names;
	/* "METHOD SP PATH SP HTTP/1.1" */
	eol = memchr(p, '\r', hl);
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp2)
		return HN_EPARSE;
	nv_set(&h->nv[nn++], ":method", 7, p, (size_t)(sp1 - p));
	nv_set(&h->nv[nn++], ":scheme", 7, tls ? "https" : "http", tls ? 5 : 4);
	nv_set(&h->nv[nn++], ":authority", 10, "", 0); /* (set below) */
	nv_set(&h->nv[nn++], ":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	for (p = eol + 2; p < x->req.p + hl - 2; p = eol + 2) {
		char *colon, *v;
		size_t nl;

		eol = memchr(p, '\r', (size_t)(x->req.p + hl - p));
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			continue;
		nl = (size_t)(colon - p);
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		if (nl == 4 && strncasecmp(p, "host", 4) == 0) {
			auth = v;
			authlen = (size_t)(eol - v);
		}
		if (connection_field(p, nl))
			continue;
		for (size_t i = 0; i < nl; i++)
			names[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
		nv_set(&h->nv[nn++], names, nl, v, (size_t)(eol - v));
		names += nl;
	}
	h->nv[2].value = (uint8_t *)auth;
	h->nv[2].valuelen = authlen;
	x->sent = 0;
	x->h2_err = 0;
	x->p.status = x->p.version = 0;
	x->p.head_bytes = x->p.body_bytes = x->p.received = 0;
	id = nghttp2_submit_request(h->s, NULL, h->nv, nn, x->body_len ? &body : NULL, x);
	if (id < 0)
		return id == NGHTTP2_ERR_NOMEM ? HN_ENOMEM : HN_EREFUSED;
	x->h2_stream = id;
	x->bytes_out = x->req.len + x->body_len; /* (as the HTTP/1.1 head would count) */
	active_add(h, x);
	return 0;
}

void h2_cancel(h2_conn *h, http_native_xfer *x)
{
	if (!x->h2_stream)
		return;
	if (nghttp2_session_get_stream_user_data(h->s, x->h2_stream) == x) {
		nghttp2_session_set_stream_user_data(h->s, x->h2_stream, NULL);
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, x->h2_stream, NGHTTP2_CANCEL);
		active_remove(h, x);
	} else {
		/* Ended, not reported yet: forget it. */
		for (http_native_xfer **pp = &h->ended; *pp; pp = &(*pp)->h2end)
			if (*pp == x) {
				*pp = x->h2end;
				if (!*pp)
					h->ended_tail = pp;
				break;
			}
	}
	x->h2_stream = 0;
}

int h2_recv(h2_conn *h, const char *data, size_t len)
{
	ssize_t k = nghttp2_session_mem_recv(h->s, (const uint8_t *)data, len);

	report(h);
	return k < 0 || (size_t)k != len ? -1 : 0;
}

/* Appends n bytes to the output buffer. 0 or -1. */
static int out_append(h2_conn *h, const uint8_t *data, size_t n)
{
	if (h->outlen + n > h->outcap) {
		size_t cap = h->outcap ? h->outcap : 4096;
		char *p;
		while (cap < h->outlen + n)
			cap *= 2;
		if (!(p = realloc(h->out, cap)))
			return -1;
		h->out = p;
		h->outcap = cap;
	}
	memcpy(h->out + h->outlen, data, n);
	h->outlen += n;
	return 0;
}

/* nghttp2 hands out one frame a call: they are gathered (up to H2_BATCH
 * bytes) and written at once, one TLS record and one send for many
 * streams' frames rather than one each. */
#define H2_BATCH (64 * 1024)

int h2_flush(h2_conn *h)
{
	const uint8_t *data;
	ssize_t n, k;
	int rc = 0;

	for (;;) {
		/* Gather, unless what is kept did not go yet. */
		while (h->outoff == 0 && !h->blocked && h->outlen < H2_BATCH) {
			n = nghttp2_session_mem_send(h->s, &data);
			if (n < 0 || (n > 0 && out_append(h, data, (size_t)n) < 0)) {
				rc = -1;
				goto out;
			}
			if (n == 0)
				break;
		}
		if (h->outoff == h->outlen) {
			h->outoff = h->outlen = 0;
			break; /* nothing more */
		}
		k = h->ops->write(h->conn, h->out + h->outoff, h->outlen - h->outoff);
		if (k < 0) {
			rc = -1;
			break;
		}
		h->blocked = k == 0;
		h->outoff += (size_t)k;
		if (h->outoff < h->outlen) {
			rc = 1; /* the rest when the socket has room */
			break;
		}
		h->outoff = h->outlen = 0;
	}
out:
	report(h);
	return rc;
}

int h2_want_write(const h2_conn *h)
{
	return h->outoff < h->outlen || nghttp2_session_want_write(h->s);
}

int h2_can_take(const h2_conn *h)
{
	uint32_t lim = h->peer_streams < h->max_streams ? h->peer_streams : h->max_streams;

	return !h->goaway && !h->broken && h->nstreams < lim;
}

int h2_finished(const h2_conn *h)
{
	return (h->goaway || h->broken) && h->nstreams == 0;
}

size_t h2_streams(const h2_conn *h)
{
	return h->nstreams;
}

void h2_fail_all(h2_conn *h, int err)
{
	http_native_xfer *x;

	h->broken = 1;
	while ((x = h->active)) {
		/* A stream above the GOAWAY's last one was not processed: it
		 * may go again elsewhere (nghttp2 leaves it open until the
		 * connection closes). */
		int e = x->h2_err                                              ? x->h2_err
			: h->goaway_last >= 0 && x->h2_stream > h->goaway_last ? HN_EREFUSED
									       : err;
		nghttp2_session_set_stream_user_data(h->s, x->h2_stream, NULL);
		end_stream(h, x, e);
	}
	report(h);
}

void h2_retire(h2_conn *h)
{
	h->goaway = 1;
}

void h2_detach_all(h2_conn *h)
{
	http_native_xfer *x;

	while ((x = h->active)) {
		active_remove(h, x);
		x->h2_stream = 0;
		x->h2c = NULL;
	}
	while ((x = h->ended)) {
		h->ended = x->h2end;
		x->h2end = NULL;
		x->h2_stream = 0;
		x->h2c = NULL;
	}
	h->ended_tail = &h->ended;
}
