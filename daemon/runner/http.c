/*
 * http.c - the HTTP engine's life: made with its clients (runner/http.h),
 * closed once every transfer, socket and handle of them is.
 *
 * The engine's parts (runner/http_int.h says how they fit): the libcurl
 * multi on the loop (http_curl.c) and its requests (http_easy.c), the
 * native client's hops (http_nhop.c, on http_native*.c), sessions
 * (http_session.c), their header lines and cookies (http_headers.c),
 * responses (http_resp.c), a request's hops and redirects (http_call.c),
 * what they record (http_record.c), error classes (http_error.c), the
 * run's config keys (http_config.c), and the SDK's calls on top
 * (http_sdk.c).
 */
#include "runner/http.h"

#include "runner/http_curl.h"
#include "runner/http_easy.h"
#include "runner/http_int.h"

#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static void engine_closed_one(http_engine *e);

http_engine *http_engine_new(uv_loop_t *loop, const http_host *host)
{
	static int global_done;
	http_engine *e;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = 1;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->loop = loop;
	e->host = host;
	e->closed_one = engine_closed_one;
	if (http_curl_init(e) < 0) {
		free(e);
		return NULL;
	}
	/* Without the native client every request goes through libcurl. */
	e->native = http_native_new(loop);
	if (!e->native)
		log_warn("http: native HTTP/1.1 client unavailable (out of memory): libcurl only");
	e->tls = tls_reg_new(); /* (without it, https goes through libcurl) */
	return e;
}

static void engine_maybe_done(http_engine *e)
{
	void (*done)(void *);
	void *arg;

	if (!e->closing || e->pending_closes > 0)
		return;
	done = e->done;
	arg = e->done_arg;
	/* The native client has closed: its origins put their contexts. */
	tls_ctx_put(e->tls_default);
	tls_reg_free(e->tls);
	free(e->byfd);
	free(e->hv);
	free(e->cookie.p);
	free(e);
	if (done)
		done(arg);
}

/* A handle of the engine (or its native client) closed. */
static void engine_closed_one(http_engine *e)
{
	e->pending_closes--;
	engine_maybe_done(e);
}

static void engine_native_closed(void *arg)
{
	engine_closed_one(arg);
}

/* Detaches every session: an instance still parked in a request must be
 * cancelled by the runner; it then sees MITE_ECANCELED. */
static void detach_sessions(http_engine *e)
{
	session *s;

	while ((s = e->sessions)) {
		e->sessions = s->next;
		if (s->inflight) {
			if (s->ez)
				curl_multi_remove_handle(e->multi, s->ez->h);
			if (s->nx)
				http_native_cancel(e->native, s->nx);
			s->inflight = 0;
			s->result = CURLE_ABORTED_BY_CALLBACK;
		}
		/* A pooled handle in use goes with the engine; the transfer is
		 * the native client's, freed when it closes. */
		if (s->ez && !(s->x && s->ez == s->x->ez))
			http_easy_destroy(s->ez);
		s->ez = NULL;
		s->nx = NULL;
		/* Its own handle's connections die with the multi: no more
		 * callbacks into e. */
		if (s->x && s->x->ez) {
			curl_easy_setopt(s->x->ez->h, CURLOPT_OPENSOCKETFUNCTION, NULL);
			curl_easy_setopt(s->x->ez->h, CURLOPT_CLOSESOCKETFUNCTION, NULL);
			s->x->ez->e = NULL;
		}
		s->e = NULL;
		s->prev = s->next = NULL;
	}
}

void http_engine_close(http_engine *e, void (*done)(void *arg), void *arg)
{
	if (!e) {
		if (done)
			done(arg);
		return;
	}
	e->done = done;
	e->done_arg = arg;
	detach_sessions(e);
	e->closing = 1;
	http_curl_close(e);
	http_easy_pool_free(e);
	/* Last: the native client may call back at once (e stays, as the
	 * timer's close is due). */
	if (e->native) {
		http_native *n = e->native;
		e->native = NULL;
		e->pending_closes++;
		http_native_close(n, engine_native_closed, e);
	}
}

void http_engine_counts(const http_engine *e, uint64_t *native, uint64_t *curl)
{
	*native = e ? e->hops_native : 0;
	*curl = e ? e->hops_curl : 0;
}
