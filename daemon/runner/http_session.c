/* http_session.c - see http_session.h. */
#include "runner/http_session.h"

#include "runner/http_batch.h"
#include "runner/http_config.h"
#include "runner/http_easy.h"
#include "runner/http_resp.h"
#include "runner/http_trace.h"

#include <stdlib.h>
#include <string.h>

session *http_session_new(http_engine *e, struct mite_ctx *ctx)
{
	session *s;

	if (!e->config_read)
		http_config_read(e, ctx);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->e = e;
	s->ctx = ctx;
	s->follow = 1;
	s->max_redirs = HTTP_DEFAULT_MAX_REDIRS;
	s->total_ms = HTTP_DEFAULT_TOTAL_MS;
	s->connect_ms = HTTP_DEFAULT_CONNECT_MS;
	s->max_body = e->max_body;
	s->max_held = e->max_held;
	http_trace_init(s);

	s->next = e->sessions;
	if (e->sessions)
		e->sessions->prev = s;
	e->sessions = s;
	/* libcurl sizes its connection cache by the transfers in flight (4
	 * each) unless told: between requests few are in flight, and it would
	 * close idle keep-alive connections that the next requests reopen.
	 * The native client keeps as many. */
	e->nsessions++;
	if (e->nsessions >= 4 && (e->nsessions & (e->nsessions - 1)) == 0) {
		curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, e->nsessions * 4);
		if (e->native)
			http_native_set_max_idle(e->native, (size_t)e->nsessions * 4);
	}
	return s;
}

/* The session's rare settings, created on first use (NULL on ENOMEM). */
struct xopts *http_session_xopts(session *s)
{
	struct xopts *x = s->x;

	if (!x) {
		if (!s->e || !(x = calloc(1, sizeof(*x))))
			return NULL;
		x->version = MITE_HTTP_V1_1;
		x->verify = 1;
		s->x = x;
	}
	return x;
}

/* A rare setting changed: the session's own handle goes (it is made
 * again, with every setting, at its next libcurl request), and so does its
 * TLS context. Setters call it only for a real change, so that a journey
 * may set the same values at every iteration at no cost. */
static void xopts_changed(session *s)
{
	s->x->gen++;
	http_easy_destroy(s->x->ez);
	s->x->ez = NULL;
	tls_ctx_put(s->tls);
	s->tls = NULL;
}

int http_session_copy_str(char **dst, const char *src)
{
	char *p = NULL;

	if (src && !(p = strdup(src)))
		return MITE_ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static int str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Sets a copied setting string of s's rare ones (src NULL: none), noting
 * a change. 0 or MITE_ENOMEM. */
int http_session_xopt_str(session *s, char **dst, const char *src)
{
	if (str_same(*dst, src))
		return 0;
	xopts_changed(s);
	return http_session_copy_str(dst, src);
}

/* The same for an int. */
void http_session_xopt_int(session *s, int *dst, int v)
{
	if (*dst == v)
		return;
	xopts_changed(s);
	*dst = v;
}

static void xopts_free(struct xopts *x)
{
	if (!x)
		return;
	http_easy_destroy(x->ez);
	free(x->proxy_url);
	free(x->ca_file);
	free(x->cert);
	free(x->key);
	free(x->key_pass);
	free(x);
}

void http_session_release_all(session *s)
{
	while (s->live)
		http_resp_put(s, s->live);
}

void http_session_new_iteration(session *s)
{
	http_session_release_all(s);
	cookie_jar_clear(&s->jar);
	http_trace_reset(s);
}

void http_session_free(session *s)
{
	resp *r;
	size_t i;

	if (s->lanes)
		http_batch_free_lanes(s);
	if (s->e) {
		if (s->inflight) {
			if (s->ez)
				curl_multi_remove_handle(s->e->multi, s->ez->h);
			if (s->nx)
				http_native_cancel(s->e->native, s->nx);
		}
		if (s->nx)
			http_native_xfer_put(s->e->native, s->nx);
		http_easy_release(s);
		if (s->prev)
			s->prev->next = s->next;
		else
			s->e->sessions = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->e->nsessions--;
	}
	xopts_free(s->x);
	tls_ctx_put(s->tls);
	http_trace_free(s);
	http_session_release_all(s);
	while ((r = s->spare)) {
		s->spare = r->next;
		http_resp_destroy(r);
	}
	for (i = 0; i < s->nhdrs; i++)
		free(s->hdrs[i].line);
	free(s->hdrs);
	free(s->auth);
	free(s->base_url);
	free(s->urlbuf.p);
	free(s->redir.p);
	cookie_jar_clear(&s->jar);
	free(s);
}

/* The native client's TLS context for s's settings (NULL on ENOMEM). Cheap:
 * its SSL_CTX is made at its first connection, on the loop. */
/* The TLS settings of s (ALPN: HTTP/1.1 only). */
static void tls_opts_of(const session *s, tls_opts *o)
{
	const struct xopts *x = s->x;

	*o = (tls_opts){ .verify = 1, .alpn = "\x08http/1.1" };
	if (!x)
		return;
	o->verify = x->verify;
	o->ca_file = x->ca_file;
	o->cert = x->cert;
	o->key = x->key;
	o->key_pass = x->key_pass;
	o->min_version = x->tls_min;
	o->max_version = x->tls_max;
	o->no_resume = x->no_resume;
}

tls_ctx *http_session_tls(session *s)
{
	http_engine *e = s->e;
	const struct xopts *x = s->x;
	tls_opts o;
	tls_ctx *c;

	if (s->home)
		return http_session_tls(s->home); /* a lane borrows its home's settings */
	if (s->tls)
		return s->tls;
	if (!x && e->tls_default)
		return e->tls_default;
	tls_opts_of(s, &o);
	/* ALPN: HTTP/2 where the server offers it, or only. */
	if (x && x->version == MITE_HTTP_V2)
		o.alpn = "\x02h2\x08http/1.1";
	else if (x && x->version == MITE_HTTP_V2_PRIOR)
		o.alpn = "\x02h2";
	if (!(c = tls_ctx_get(e->tls, &o)))
		return NULL;
	if (x)
		s->tls = c;
	else
		e->tls_default = c;
	return c;
}

tls_ctx *http_session_tls_http1(session *s)
{
	tls_opts o;

	if (!s->e->tls)
		return NULL;
	tls_opts_of(s, &o);
	return tls_ctx_get(s->e->tls, &o);
}

static void on_cancel(struct mite_ctx *ctx, void *arg)
{
	session *s = arg;

	(void)ctx;
	if (s->inflight && s->e) {
		if (s->ez)
			curl_multi_remove_handle(s->e->multi, s->ez->h);
		if (s->nx)
			http_native_cancel(s->e->native, s->nx);
	}
	s->inflight = 0;
	s->result = CURLE_ABORTED_BY_CALLBACK;
}

void http_session_done(session *s)
{
	s->inflight = 0;
	if (s->lane)
		http_batch_lane_done(s);
	else
		s->e->host->wake(s->ctx);
}

/* Parks until the transfer started ends. 0, or MITE_ECANCELED. */
int http_session_park(session *s)
{
	int rc;

	s->inflight = 1;
	s->result = CURLE_OK;
	rc = s->e->host->park(s->ctx, on_cancel, s);
	if (rc != 0 || s->inflight) {
		on_cancel(s->ctx, s);
		return MITE_ECANCELED;
	}
	return s->e ? 0 : MITE_ECANCELED;
}
