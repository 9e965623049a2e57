/* http_call.c - see http_call.h. */
#include "runner/http_call.h"

#include "runner/http_easy.h"
#include "runner/http_error.h"
#include "runner/http_headers.h"
#include "runner/http_nhop.h"
#include "runner/http_record.h"
#include "runner/http_resp.h"
#include "runner/http_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int redirect_changes_to_get(int status, const char *method)
{
	if (method == M_HEAD)
		return 0;
	if (status == 303)
		return method != M_GET;
	return (status == 301 || status == 302) && method == M_POST;
}

/* Prepares r and s for a hop of h to url; 1 when the native client
 * takes it (u then holds the URL's parts). */
static int hop_prepare(session *s, resp *r, struct hop *h, const char *url, http1_url *u,
		       const char *file, int line, const char *func)
{
	h->method = r->pub.method;
	h->url = url;
	http_resp_reset(r, h->discard);
	http_resp_account(r->s, r);
	http_resp_limit(r->s, r, h->o);
	s->fail = HF_NONE;
	s->oserr = 0;
	s->result = CURLE_OK;
	http_trace_hop_begin(s, h, file, line, func);
	if (http_nhop_takes(s, url, h->o, u)) {
		s->e->hops_native++;
		return 1;
	}
	s->e->hops_curl++;
	return 0;
}

/* A hop's result: rc as the clients return it, a transport error (rc 1)
 * recorded with its class. 0 or a MITE_E* code. */
static int hop_result(session *s, resp *r, const struct hop *h, int rc, const char *file, int line,
		      const char *func)
{
	if (rc > 0) {
		const char *cls, *why;
		http_error_of_hop(s, r, &cls, &why);
		http_trace_hop_end(s, r, rc, cls, why);
		rc = http_error_transport(s, r->pub.method, s->redir.len ? s->redir.p : h->url, cls,
					  why, file, line, func);
	} else {
		http_trace_hop_end(s, r, rc, NULL, NULL);
	}
	return rc;
}

/* One hop of r to url through the client that takes it, parked until it
 * ends. 0 with r filled, or a MITE_E* code (a transport error recorded). */
static int hop_run(session *s, resp *r, struct hop *h, const char *url, const char *file, int line,
		   const char *func)
{
	http1_url u;
	int rc;

	if (hop_prepare(s, r, h, url, &u, file, line, func))
		rc = http_nhop_run(s, r, h, &u);
	else
		rc = http_easy_hop(s, r, h);
	return hop_result(s, r, h, rc, file, line, func);
}

int http_call_hop_start(session *s, resp *r, struct hop *h, const char *url, http1_url *u,
			int *native)
{
	int rc;

	*native = hop_prepare(s, r, h, url, u, NULL, 0, NULL);
	rc = *native ? http_nhop_start(s, r, h, u) : http_easy_start(s, r, h);
	if (rc == 0)
		s->inflight = 1;
	return rc;
}

int http_call_hop_end(session *s, resp *r, const struct hop *h, const http1_url *u, int native,
		      const char *file, int line, const char *func)
{
	int rc = native ? http_nhop_finish(s, r, h, u) : http_easy_finish(s, r, h);

	return hop_result(s, r, h, rc, file, line, func);
}

/* The target of r's redirect becomes the URL (s->urlbuf; the buffers
 * swap), and a POST may become a GET. */
static const char *redirect(session *s, resp *r, struct hop *h)
{
	http1_buf t = s->urlbuf;

	s->urlbuf = s->redir;
	s->redir = t;
	s->redir.len = 0;
	if (redirect_changes_to_get(r->pub.status, r->pub.method)) {
		r->pub.method = M_GET;
		h->has_body = h->json = 0;
		h->body = NULL;
		h->body_len = 0;
		http_call_body_close(h);
	}
	return s->urlbuf.p;
}

int http_call_next(session *s, resp *r, struct hop *h, int *hops, int follow, const char **url,
		   const char *file, int line, const char *func)
{
	http_resp_account(r->s, r);
	r->pub.redirects = *hops;
	http_headers_take_cookies(s, r, r->pub.url);
	http_record_hop(s, r, *hops);
	if (!follow || r->pub.status < 300 || r->pub.status >= 400 || !s->redir.len)
		return 0;
	if (*hops >= s->max_redirs) {
		char why[64];
		snprintf(why, sizeof(why), "more than %d redirects", s->max_redirs);
		return http_error_transport(s, r->pub.method, r->pub.url, "redirects", why, file,
					    line, func);
	}
	*url = redirect(s, r, h);
	(*hops)++;
	return 1;
}

const char *http_call_full_url(session *s, const char *url, int *rc)
{
	size_t n;

	if (url[0] != '/')
		return url;
	n = strlen(url);
	if (!s->base_url) {
		*rc = MITE_EINVAL;
		return NULL;
	}
	if (http1_buf_reserve(&s->urlbuf, s->base_len + n + 1) < 0) {
		*rc = MITE_ENOMEM;
		return NULL;
	}
	memcpy(s->urlbuf.p, s->base_url, s->base_len);
	memcpy(s->urlbuf.p + s->base_len, url, n + 1);
	return s->urlbuf.p;
}

void http_call_hop_from_opts(const session *s, struct hop *h, const char *m,
			     const mite_http_opts *o)
{
	h->body_fd = -1;
	if (o && o->body_file) {
		h->has_body = 1; /* opened by http_call_body_open */
	} else if (o && o->json) {
		h->body = o->json;
		h->body_len = strlen(o->json);
		h->has_body = h->json = 1;
	} else if (o && (o->body || o->body_len)) {
		h->body = o->body;
		h->body_len = o->body_len;
		h->has_body = 1;
	} else if (m == M_POST || m == M_PUT || m == M_PATCH) {
		h->has_body = 1; /* POST, PUT, PATCH without a body send an empty one */
	}
	h->discard = o && (o->flags & MITE_HTTP_DISCARD_BODY) ? 1
		: o && (o->flags & MITE_HTTP_KEEP_BODY)       ? 0
							      : s->discard;
	if (o && o->body_cb)
		h->discard = 1; /* streamed: nothing kept */
	h->fresh = o && (o->flags & MITE_HTTP_NEW_CONNECTION) ? 1 : 0;
	h->timeout_ms = o && o->timeout > 0 ? (long)(o->timeout * 1000 + 0.5) : s->total_ms;
	if (h->timeout_ms < 1)
		h->timeout_ms = 1;
}

resp *http_call_resp_start(session *s, const char *m, const char *mbuf, const mite_http_opts *o,
			   int follow)
{
	resp *r = http_resp_get(s);

	if (!r)
		return NULL;
	if (m == mbuf) {
		memcpy(r->method, mbuf, sizeof(r->method));
		m = r->method;
	}
	r->pub.size = sizeof(r->pub);
	r->pub.method = m;
	r->pub.name = NULL;
	if (o && o->name) {
		size_t n = strnlen(o->name, sizeof(r->name) - 1);
		memcpy(r->name, o->name, n);
		r->name[n] = 0;
		r->pub.name = r->name;
	}
	r->pub.start = s->e->host->now(s->ctx);
	r->body_cb = o ? o->body_cb : NULL;
	r->body_arg = o ? o->body_arg : NULL;
	r->follow = follow;
	return r;
}

int http_call_body_open(session *s, struct hop *h, const char *method, const char *url,
			const char *file, int line, const char *func)
{
	const char *path = h->o->body_file;
	char *why = s->e->errtext;
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = EINVAL; /* a FIFO would block the loop, a folder fails later */
	if (err) {
		if (fd >= 0)
			close(fd);
		snprintf(why, sizeof(s->e->errtext), "cannot open the body file %s: %s", path,
			 err == EINVAL ? "not a regular file" : strerror(err));
		return http_error_transport(s, method, url, "file", why, file, line, func);
	}
	h->body_fd = fd;
	h->body = NULL;
	h->body_len = (size_t)st.st_size;
	h->has_body = 1;
	h->json = 0;
	return 0;
}

void http_call_body_close(struct hop *h)
{
	if (h->body_fd >= 0)
		close(h->body_fd);
	h->body_fd = -1;
}

int http_call_run(session *s, resp *r, struct hop *h, const char *url, int follow, const char *file,
		  int line, const char *func)
{
	int hops = 0, rc;

	for (;;) {
		if ((rc = hop_run(s, r, h, url, file, line, func)) != 0)
			return rc;
		if ((rc = http_call_next(s, r, h, &hops, follow, &url, file, line, func)) != 1)
			return rc;
	}
}
