/* http_trace.c - see http_trace.h. Runs only for traced sessions: it
 * allocates freely (on the heap, not the coroutine's stack). */
#include "runner/http_trace.h"

#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_trace {
	int mode; /* HTTP_TRACE_* */
	cJSON *cur; /* the hop in flight */
	cJSON *last; /* the last hop that ended */
	char *head; /* libcurl's request head, as it comes */
	size_t head_len, head_total;
	int curl; /* the hop in flight went through libcurl */
};

/* key: the text of p[0..n) (at most max bytes of it), and key_bytes: n. */
static void add_text(cJSON *o, const char *key, const char *p, size_t n, size_t max,
		     const char *nkey)
{
	size_t cap = (n < max ? n : max) * 4 + 16;
	char *t = malloc(cap);

	if (t) {
		utf8_printable(t, cap, p ? p : "", p ? n : 0, max);
		cJSON_AddStringToObject(o, key, t);
		free(t);
	}
	if (nkey)
		cJSON_AddNumberToObject(o, nkey, (double)n);
}

void http_trace_init(session *s)
{
	const http_host *host = s->e->host;
	int mode = host->trace ? host->trace(s->ctx) : 0;

	if (!mode || !(s->trace = calloc(1, sizeof *s->trace)))
		return;
	s->trace->mode = mode;
}

void http_trace_free(session *s)
{
	struct http_trace *t = s->trace;

	if (!t)
		return;
	cJSON_Delete(t->cur);
	cJSON_Delete(t->last);
	free(t->head);
	free(t);
	s->trace = NULL;
}

void http_trace_reset(session *s)
{
	if (!s->trace)
		return;
	cJSON_Delete(s->trace->last);
	s->trace->last = NULL;
}

/* (Apart, and the two below: their buffers stay off the stack frames of
 * untraced requests, which run on coroutine stacks.) */
static __attribute__((noinline)) void hop_begin(struct http_trace *t, const struct hop *h,
						const char *file, int line, const char *func)
{
	const char *base;
	char at[512];
	cJSON *o;

	cJSON_Delete(t->cur);
	t->cur = o = cJSON_CreateObject();
	t->head_len = t->head_total = 0;
	t->curl = 0;
	if (!o)
		return;
	base = file ? strrchr(file, '/') : NULL;
	snprintf(at, sizeof at, "%.200s:%d:%.200s",
		 base           ? base + 1
			 : file ? file
				: "?",
		 line, func ? func : "?");
	cJSON_AddStringToObject(o, "at", at);
	cJSON_AddStringToObject(o, "method", h->method);
	add_text(o, "url", h->url, strlen(h->url), HTTP_TRACE_URL_MAX, NULL);
	if (h->has_body)
		add_text(o, "request_body", h->body, h->body_len, HTTP_TRACE_BODY_MAX,
			 "request_body_bytes");
}

void http_trace_hop_begin(session *s, const struct hop *h, const char *file, int line,
			  const char *func)
{
	if (s->trace)
		hop_begin(s->trace, h, file, line, func);
}

void http_trace_req_head(session *s, const char *p, size_t n)
{
	struct http_trace *t = s->trace;

	if (t && t->cur) {
		cJSON_DeleteItemFromObjectCaseSensitive(t->cur, "request_head");
		add_text(t->cur, "request_head", p, n, HTTP_TRACE_HEAD_MAX, "request_head_bytes");
	}
}

static int on_curl_debug(CURL *h, curl_infotype type, char *data, size_t n, void *arg)
{
	struct http_trace *t = arg;
	size_t take;

	(void)h;
	if (type != CURLINFO_HEADER_OUT)
		return 0;
	t->head_total += n;
	take = t->head_len < HTTP_TRACE_HEAD_MAX ? HTTP_TRACE_HEAD_MAX - t->head_len : 0;
	take = take < n ? take : n;
	if (!take)
		return 0;
	if (!t->head && !(t->head = malloc(HTTP_TRACE_HEAD_MAX)))
		return 0;
	memcpy(t->head + t->head_len, data, take);
	t->head_len += take;
	return 0;
}

void http_trace_curl_on(session *s, CURL *h)
{
	if (!s->trace)
		return;
	s->trace->curl = 1;
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_curl_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, s->trace);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
}

void http_trace_curl_off(session *s, CURL *h)
{
	if (!s->trace)
		return;
	/* Pooled handles go to untraced sessions next. */
	curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, NULL);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, NULL);
}

static void add_timings(cJSON *o, const mite_http_timings *tm)
{
	cJSON *j = cJSON_AddObjectToObject(o, "timings");

	if (!j)
		return;
	cJSON_AddNumberToObject(j, "dns", tm->dns);
	cJSON_AddNumberToObject(j, "connect", tm->connect);
	cJSON_AddNumberToObject(j, "tls", tm->tls);
	cJSON_AddNumberToObject(j, "ttfb", tm->ttfb);
	cJSON_AddNumberToObject(j, "total", tm->total);
}

/* The response head: "Name:value\0" lines (as the native client keeps
 * them; libcurl's keep the space) become "Name: value\n" text. */
static void add_resp_head(cJSON *o, const resp *r)
{
	size_t n = r->hdr.len < HTTP_TRACE_HEAD_MAX ? r->hdr.len : HTTP_TRACE_HEAD_MAX, k = 0;
	char *lines = malloc(2 * n + 1);
	int name = 1; /* in a line's name, before its ':' */

	if (!lines)
		return;
	for (size_t i = 0; i < n; i++) {
		char c = r->hdr.p[i];

		lines[k++] = c ? c : '\n';
		if (name && c == ':' && i + 1 < n && r->hdr.p[i + 1] != ' ')
			lines[k++] = ' ';
		if (c == ':' || !c)
			name = !c;
	}
	add_text(o, "response_head", lines, k, HTTP_TRACE_HEAD_MAX, NULL);
	cJSON_AddNumberToObject(o, "response_head_bytes", (double)r->hdr.len);
	free(lines);
}

static void add_response(cJSON *o, const resp *r)
{
	cJSON_AddNumberToObject(o, "status", r->pub.status);
	cJSON_AddNumberToObject(o, "http_version", r->pub.http_version);
	add_text(o, "effective_url", r->pub.url ? r->pub.url : "",
		 r->pub.url ? strlen(r->pub.url) : 0, HTTP_TRACE_URL_MAX, NULL);
	add_resp_head(o, r);
	if (r->discard || r->body_cb)
		cJSON_AddStringToObject(o, "response_body_note",
					r->discard ? "discarded" : "streamed to body_cb");
	add_text(o, "response_body", r->body.p, r->body.len, HTTP_TRACE_BODY_MAX,
		 "response_body_bytes");
	cJSON_AddNumberToObject(o, "bytes_in", (double)r->pub.bytes_in);
	cJSON_AddNumberToObject(o, "bytes_out", (double)r->pub.bytes_out);
	cJSON_AddBoolToObject(o, "reused", r->pub.reused);
	cJSON_AddStringToObject(o, "primary_ip", r->pub.primary_ip);
	add_timings(o, &r->pub.t);
}

static void emit(session *s, const cJSON *x)
{
	const http_host *host = s->e->host;
	cJSON *ev = cJSON_CreateObject();

	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "type", "http_trace");
	cJSON_AddNumberToObject(ev, "time", host->now(s->ctx));
	cJSON_AddStringToObject(ev, "journey", host->journey_name(s->ctx));
	cJSON_AddStringToObject(ev, "transaction", host->txn_name(s->ctx));
	cJSON_AddItemToObject(ev, "exchange", cJSON_Duplicate(x, 1));
	host->event(s->ctx, ev);
}

/* o becomes the instance's last exchange (taken): what --debug shows of
 * the failure recorded next. A batch's request (a lane's hop) is its
 * instance's, whose session is the one asked (a lane's own is never). */
static void keep_last(session *s, cJSON *o)
{
	struct http_trace *t = s->home ? s->home->trace : s->trace;

	if (!t) {
		cJSON_Delete(o);
		return;
	}
	cJSON_Delete(t->last);
	t->last = o;
}

static __attribute__((noinline)) void hop_end(session *s, struct http_trace *t, resp *r, int rc,
					      const char *cls, const char *why)
{
	cJSON *o = t->cur;

	t->cur = NULL;
	cJSON_AddStringToObject(o, "client", t->curl ? "libcurl" : "native");
	if (t->curl && t->head_total) {
		add_text(o, "request_head", t->head, t->head_len, HTTP_TRACE_HEAD_MAX, NULL);
		cJSON_AddNumberToObject(o, "request_head_bytes", (double)t->head_total);
	}
	if (rc == 0) {
		add_response(o, r);
	} else {
		char e[512];

		snprintf(e, sizeof e, "%.40s: %.400s", cls ? cls : "not sent",
			 why                            ? why
				 : rc == MITE_ECANCELED ? "cancelled"
							: "refused");
		cJSON_AddStringToObject(o, "error", e);
		add_timings(o, &r->pub.t);
	}
	if (t->mode & HTTP_TRACE_EMIT)
		emit(s, o);
	if (rc == 0) {
		/* The response remembers its exchange, for a failure found in
		 * it later (http_trace_focus). */
		cJSON_Delete(r->trace);
		r->trace = cJSON_Duplicate(o, 1);
	}
	keep_last(s, o);
}

void http_trace_hop_end(session *s, resp *r, int rc, const char *cls, const char *why)
{
	if (s->trace && s->trace->cur)
		hop_end(s, s->trace, r, rc, cls, why);
}

_Static_assert(offsetof(resp, pub) == 0, "a response's public part is its start");

void http_trace_focus(session *s, const mite_http_response *pub)
{
	const resp *r = (const resp *)pub;

	if (!s || !s->trace || !r || !r->trace)
		return;
	cJSON_Delete(s->trace->last);
	s->trace->last = cJSON_Duplicate(r->trace, 1);
}

cJSON *http_trace_last(session *s)
{
	return s && s->trace && s->trace->last ? cJSON_Duplicate(s->trace->last, 1) : NULL;
}
