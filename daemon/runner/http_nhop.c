/* http_nhop.c - see http_nhop.h. */
#include "runner/http_nhop.h"

#include "runner/http_error.h"
#include "runner/http_headers.h"
#include "runner/http_resp.h"
#include "runner/http_session.h"
#include "runner/http_trace.h"

#include <string.h>
#include <strings.h>

/* The native parser's sink: the session's body callback. */
static int native_sink(void *arg, const char *data, size_t n)
{
	session *s = arg;

	if (!http_resp_body_to_cb(s->cur, s->nx->p.status, data, n))
		return 0;
	s->fail = HF_STOPPED;
	return 1;
}

static void native_done(http_native_xfer *x)
{
	http_session_done(x->data);
}

static double ns_between(uint64_t a, uint64_t b)
{
	return a && b > a ? (double)(b - a) / 1e9 : 0;
}

/* The same from a native transfer of url. */
static void collect_native(const http_native_xfer *x, resp *r, const char *url, const http1_url *u)
{
	size_t n = strlen(url);

	r->pub.status = x->status;
	r->pub.http_version = x->version;
	r->pub.reused = x->reused;
	r->pub.header_bytes = x->header_bytes;
	r->pub.bytes_out = x->bytes_out;
	r->pub.bytes_in = x->bytes_in;
	r->pub.t.dns = ns_between(x->t_start, x->t_resolved);
	r->pub.t.connect = ns_between(x->t_resolved, x->t_connected);
	r->pub.t.tls = ns_between(x->t_connected, x->t_tls);
	r->pub.tls_version = x->tls_version;
	r->pub.tls_resumed = x->tls_resumed;
	r->pub.t.ttfb = ns_between(x->t_pre, x->t_first);
	r->pub.t.total = ns_between(x->t_start, x->t_end);
	memcpy(r->pub.primary_ip, x->primary_ip, sizeof(r->pub.primary_ip));
	/* The effective URL, as libcurl writes it: "/" for an empty path. */
	if (u->path < url || u->path >= url + n) {
		if (http1_buf_reserve(&r->url, n + 2) == 0) {
			memcpy(r->url.p, url, n);
			memcpy(r->url.p + n, "/", 2);
			r->url.len = n + 1;
		}
	} else {
		http1_buf_set(&r->url, url, n);
	}
	http_resp_finish(r);
}

/* Writes the request head of a native hop into b (runner/http1_req.h),
 * with the session's header lines and cookies. -1 on ENOMEM. */
static int write_head(session *s, http1_buf *b, const http1_url *u, const struct hop *h)
{
	long nh = http_headers_collect(s, h->o ? h->o->headers : NULL);
	http1_req q = { .method = h->method,
			.u = u,
			.hv = s->e->hv,
			.has_body = h->has_body,
			.json = h->json,
			.body_len = h->body_len };

	if (nh < 0)
		return -1;
	q.nh = (size_t)nh;
	q.cookie = http_headers_cookie(s, u);
	return http1_req_head(b, &q);
}

int http_nhop_start(session *s, resp *r, const struct hop *h, const http1_url *u)
{
	http_native *n = s->e->native;
	http_native_xfer *x;
	tls_ctx *tls = NULL;

	if (u->https && !(tls = http_session_tls(s)))
		return MITE_ENOMEM;
	if (!(x = http_native_xfer_get(n)))
		return MITE_ENOMEM;
	if (write_head(s, &x->req, u, h) < 0) {
		http_native_xfer_put(n, x);
		return MITE_ENOMEM;
	}
	if (s->trace)
		http_trace_req_head(s, x->req.p, x->req.len);
	x->body = h->has_body ? h->body : NULL;
	x->body_len = h->has_body ? h->body_len : 0;
	x->body_fd = h->has_body ? h->body_fd : -1;
	x->head_request = h->method == M_HEAD;
	x->discard = h->discard;
	x->max_body = r->limit;
	if (r->body_cb) {
		x->sink = native_sink;
		x->sink_arg = s;
	}
	x->hdr = &r->hdr;
	x->resp_body = &r->body;
	x->connect_timeout_ms = (uint64_t)s->connect_ms;
	x->timeout_ms = (uint64_t)h->timeout_ms;
	x->tls = tls;
	x->fresh = h->fresh;
	x->h2 = !s->x || s->x->version == MITE_HTTP_V1_1 ? HN_H1
		: s->x->version == MITE_HTTP_V2          ? HN_H2
							 : HN_H2_PRIOR;
	x->done = native_done;
	x->data = s;
	s->nx = x;
	s->cur = r;
	return http_native_start(n, x, u) == 0 ? 0 : 1;
}

/* The redirect target of r (its Location resolved against its URL) into
 * s->redir, or none. 0 or MITE_ENOMEM. */
static int native_location(session *s, const resp *r)
{
	const char *loc = NULL;
	size_t off = 0;

	s->redir.len = 0;
	if (r->pub.status < 300 || r->pub.status >= 400)
		return 0;
	while (off < r->hdr.len && !loc) {
		const char *line = r->hdr.p + off;
		off += strlen(line) + 1;
		if (strncasecmp(line, "location:", 9) == 0)
			for (loc = line + 9; *loc == ' ' || *loc == '\t'; loc++)
				;
	}
	if (loc && *loc) {
		long k = http1_url_resolve(s->redir.p, s->redir.cap, r->pub.url, loc);
		if (k >= 0 && (size_t)k >= s->redir.cap) {
			if (http1_buf_reserve(&s->redir, (size_t)k + 1) < 0)
				return MITE_ENOMEM;
			k = http1_url_resolve(s->redir.p, s->redir.cap, r->pub.url, loc);
		}
		s->redir.len = k > 0 ? (size_t)k : 0;
	}
	return 0;
}

int http_nhop_finish(session *s, resp *r, const struct hop *h, const http1_url *u)
{
	http_native *n = s->e->native;
	http_native_xfer *x = s->nx;

	s->nx = NULL;
	s->cur = NULL;
	if (x->err && !(x->err == HN_EABORTED && s->fail == HF_STOPPED)) {
		s->result = http_error_native_code(x->err);
		s->oserr = x->oserr;
		s->fail = x->err == HN_EHEADSIZE ? HF_HEADER
			: x->err == HN_EBODYSIZE ? (r->limit_session ? HF_HELD : HF_BODY)
			: x->err == HN_EHTTP09   ? HF_HTTP09
						 : HF_NONE;
		if (x->err == HN_ETLS && x->tls_fail) {
			s->result = http_error_tls_code(x->tls_fail->kind);
			http_error_tls_words(s, s->result, x->tls_fail->verify, x->tls_fail->msg,
					     (int)sizeof(x->tls_fail->msg));
		}
		http1_buf_set(&s->redir, h->url, strlen(h->url));
		http_native_xfer_put(n, x);
		return 1;
	}
	collect_native(x, r, h->url, u);
	http_native_xfer_put(n, x);
	return native_location(s, r);
}

void http_nhop_cancel(session *s)
{
	http_native_xfer *x = s->nx;

	s->nx = NULL;
	s->cur = NULL;
	if (x && s->e) {
		if (s->inflight)
			http_native_cancel(s->e->native, x);
		http_native_xfer_put(s->e->native, x);
	}
}

int http_nhop_run(session *s, resp *r, const struct hop *h, const http1_url *u)
{
	int rc = http_nhop_start(s, r, h, u);

	if (rc < 0)
		return rc;
	if (rc == 0 && (rc = http_session_park(s)) < 0) {
		/* (On a closed engine, the native client has freed x.) */
		if (s->nx && s->e)
			http_native_xfer_put(s->e->native, s->nx);
		s->nx = NULL;
		s->cur = NULL;
		return rc;
	}
	return http_nhop_finish(s, r, h, u);
}

/* Whether the native client takes this hop (u then holds the URL's parts). */
int http_nhop_takes(session *s, const char *url, const mite_http_opts *o, http1_url *u)
{
	http_engine *e = s->e;

	if (!e->native || e->mode != ENGINE_AUTO)
		return 0;
	if (s->x && s->x->proxy)
		return 0;
	/* A Transfer-Encoding of the request's own: libcurl encodes the
	 * body as it says, the native client sends bodies as they are. */
	if (o && http_headers_named(o->headers, "Transfer-Encoding", 17))
		return 0;
	for (size_t i = 0; i < s->nhdrs; i++)
		if (s->hdrs[i].namelen == 17 &&
		    strncasecmp(s->hdrs[i].line, "Transfer-Encoding", 17) == 0)
			return 0;
	if (http1_url_parse(url, u) < 0)
		return 0;
	return u->https ? e->tls && !e->env_https_proxy : !e->env_http_proxy;
}
