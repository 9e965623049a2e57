/* http_resp.c - see http_resp.h. */
#include "runner/http_resp.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

resp *http_resp_get(session *s)
{
	resp *r = s->spare;

	if (r) {
		s->spare = r->next;
	} else {
		r = calloc(1, sizeof(*r));
		if (!r)
			return NULL;
		r->s = s;
	}
	r->prev = NULL;
	r->next = s->live;
	if (s->live)
		s->live->prev = r;
	s->live = r;
	return r;
}

/* Counts what r keeps now in the session's total. */
void http_resp_account(session *s, resp *r)
{
	size_t now = r->discard || !r->body.p ? 0 : r->body.len;

	s->held = s->held - r->held + now;
	r->held = now;
}

void http_resp_put(session *s, resp *r)
{
	cJSON_Delete(r->trace);
	r->trace = NULL;
	s->held -= r->held;
	r->held = 0;
	/* A large body's memory goes back now, not when the session ends. */
	if (r->body.cap > HTTP_KEEP_BUF) {
		free(r->body.p);
		r->body.p = NULL;
		r->body.len = r->body.cap = 0;
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		s->live = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = NULL;
	r->next = s->spare;
	s->spare = r;
}

void http_resp_destroy(resp *r)
{
	cJSON_Delete(r->trace);
	free(r->body.p);
	free(r->hdr.p);
	free(r->url.p);
	free(r);
}

/* Prepares r for one hop. */
void http_resp_reset(resp *r, int discard)
{
	r->hdr.len = 0;
	r->hdr_raw = 0;
	r->head_done = 0;
	r->body.len = 0;
	r->pub.body_len = 0;
	r->pub.bytes_in = 0;
	r->pub.tls_version = r->pub.tls_resumed = 0;
	r->discard = discard;
	if (r->body.p)
		r->body.p[0] = 0;
}

/* The body limit of r's next hop: the response's own (the request's or
 * the session's), or what the session's live responses leave of the
 * session's, when that is less. */
void http_resp_limit(session *s, resp *r, const mite_http_opts *o)
{
	size_t own = s->max_body, left = s->max_held > s->held ? s->max_held - s->held : 0;

	if (o && o->max_body)
		own = o->max_body;
	r->limit_session = left < own;
	r->limit = r->limit_session ? left : own;
}

/* Passes a piece of r's body (of a response with status `status`) to the
 * request's callback. Nonzero when the callback says to stop. */
int http_resp_body_to_cb(resp *r, int status, const char *data, size_t n)
{
	if (r->follow && status >= 300 && status < 400)
		return 0; /* a redirect's body: not the journey's */
	return r->body_cb(r->body_arg, data, n) != 0;
}

/* The part of r every engine fills the same way, once the hop is read. */
void http_resp_finish(resp *r)
{
	if (r->pub.reused)
		r->pub.t.dns = r->pub.t.connect = r->pub.t.tls = 0;
	r->pub.url = r->url.p ? r->url.p : "";
	r->pub.body = r->body.p && !r->discard ? r->body.p : "";
	r->pub.body_len = r->discard ? 0 : r->body.len;
}
