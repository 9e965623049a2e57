/* http_call.c - see http_call.h. */
#include "runner/http_call.h"

#include "runner/http_easy.h"
#include "runner/http_error.h"
#include "runner/http_headers.h"
#include "runner/http_nhop.h"
#include "runner/http_record.h"
#include "runner/http_resp.h"
#include "runner/http_trace.h"

#include <stdio.h>

static int redirect_changes_to_get(int status, const char *method)
{
	if (method == M_HEAD)
		return 0;
	if (status == 303)
		return method != M_GET;
	return (status == 301 || status == 302) && method == M_POST;
}

/* One hop of r to url through the client that takes it. 0 with r filled,
 * or a MITE_E* code (a transport error recorded). */
static int hop_run(session *s, resp *r, const struct hop *h, const char *url, const char *file,
		   int line, const char *func)
{
	http1_url u;
	int rc;

	http_resp_reset(r, h->discard);
	http_resp_account(s, r);
	http_resp_limit(s, r, h->o);
	s->fail = HF_NONE;
	s->oserr = 0;
	http_trace_hop_begin(s, h, file, line, func);
	if (http_nhop_takes(s, url, h->o, &u)) {
		s->e->hops_native++;
		rc = http_nhop_run(s, r, h, &u);
	} else {
		s->e->hops_curl++;
		rc = http_easy_hop(s, r, h);
	}
	if (rc > 0) {
		const char *cls, *why;
		http_error_of_hop(s, r, &cls, &why);
		http_trace_hop_end(s, r, rc, cls, why);
		rc = http_error_transport(s, r->pub.method, s->redir.len ? s->redir.p : url, cls, why,
					  file, line, func);
	} else {
		http_trace_hop_end(s, r, rc, NULL, NULL);
	}
	return rc;
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
	}
	return s->urlbuf.p;
}

int http_call_run(session *s, resp *r, struct hop *h, const char *url, int follow,
		  const char *file, int line, const char *func)
{
	int hops = 0, rc;

	for (;;) {
		h->method = r->pub.method;
		h->url = url;
		if ((rc = hop_run(s, r, h, url, file, line, func)) != 0)
			return rc;
		http_resp_account(s, r);
		r->pub.redirects = hops;
		http_headers_take_cookies(s, r, r->pub.url);
		http_record_hop(s, r, hops);
		if (!follow || r->pub.status < 300 || r->pub.status >= 400 || !s->redir.len)
			return 0;
		if (hops >= s->max_redirs) {
			char why[64];
			snprintf(why, sizeof(why), "more than %d redirects", s->max_redirs);
			return http_error_transport(s, r->pub.method, r->pub.url, "redirects", why,
						    file, line, func);
		}
		url = redirect(s, r, h);
		hops++;
	}
}
