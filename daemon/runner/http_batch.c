/* http_batch.c - see http_batch.h. */
#include "runner/http_batch.h"

#include "runner/http_call.h"
#include "runner/http_easy.h"
#include "runner/http_nhop.h"
#include "runner/http_resp.h"
#include "runner/http_session.h"
#include "runner/http_trace.h"

#include <stdlib.h>
#include <string.h>

struct batch {
	session *home;
	char *reqs; /* the journey's array ... */
	size_t n, size; /* ... of n requests, size bytes apart */
	size_t next; /* the first request no lane took yet */
	size_t active; /* lanes with a request under way */
	int parked, cancelled;
	const char *file;
	int line;
	const char *func;
};

struct lane {
	session *s; /* its session: home = the instance's */
	struct xopts x; /* a copy of home's rare settings, its own easy handle */
	unsigned xgen; /* ... as of home's x->gen */
	struct batch *b; /* the batch it serves, while it runs */
	mite_http_req *q; /* the request it carries */
	resp *r; /* ... its response (home's) */
	struct hop h;
	http1_url u; /* the hop's URL parts (the native client's) */
	int native, hops, follow, busy;
	char mbuf[HTTP_MAX_METHOD];
};

static mite_http_req *req_at(const struct batch *b, size_t i)
{
	return (mite_http_req *)(void *)(b->reqs + i * b->size);
}

/* The lane's session takes home's settings for this batch (borrowed: a
 * journey parked in a batch cannot change them). */
static void lane_borrow(struct lane *l, session *home)
{
	session *s = l->s;

	s->hdrs = home->hdrs;
	s->nhdrs = home->nhdrs;
	s->auth = home->auth;
	s->base_url = home->base_url;
	s->base_len = home->base_len;
	s->follow = home->follow;
	s->max_redirs = home->max_redirs;
	s->discard = home->discard;
	s->total_ms = home->total_ms;
	s->connect_ms = home->connect_ms;
	s->max_body = home->max_body;
	s->max_held = home->max_held;
	if (!home->x || l->xgen != home->x->gen || s->x != &l->x) {
		/* The lane's own handle holds settings that changed. */
		http_easy_destroy(l->x.ez);
		l->x.ez = NULL;
	}
	if (home->x) {
		struct easy *ez = l->x.ez;
		l->x = *home->x;
		l->x.ez = ez;
		l->xgen = home->x->gen;
		s->x = &l->x;
	} else {
		s->x = NULL;
	}
}

/* The request q ends with rc: its response (on success) goes to it. */
static void lane_result(struct lane *l, int rc)
{
	http_call_body_close(&l->h);
	l->q->rc = rc;
	if (rc == 0)
		l->q->resp = &l->r->pub;
	else if (l->r)
		http_resp_put(l->b->home, l->r);
	l->r = NULL;
}

/* Prepares request q on l: 0 with *url its first hop's URL, or a MITE_E*
 * code (nothing was sent). */
static int lane_begin(struct lane *l, mite_http_req *q, const char **url)
{
	session *s = l->s;
	const mite_http_opts *o = q->opts;
	const char *m;
	int rc = 0;

	l->q = q;
	l->r = NULL;
	l->hops = 0;
	memset(&l->h, 0, sizeof(l->h));
	l->h.o = o;
	l->h.body_fd = -1;
	if (!q->url || !(m = http1_req_method_intern(q->method ? q->method : "GET", l->mbuf)) ||
	    !(*url = http_call_full_url(s, q->url, &rc)))
		return rc ? rc : MITE_EINVAL;
	if (o && o->body_file && (o->body || o->body_len || o->json))
		return MITE_EINVAL;
	http_call_hop_from_opts(s, &l->h, m, o);
	l->follow = o && (o->flags & MITE_HTTP_NO_REDIRECTS) ? 0
		: o && (o->flags & MITE_HTTP_REDIRECTS)      ? 1
							     : s->follow;
	if (!(l->r = http_call_resp_start(l->b->home, m, l->mbuf, o, l->follow)))
		return MITE_ENOMEM;
	if (o && o->body_file)
		return http_call_body_open(s, &l->h, l->r->pub.method, *url, l->b->file, l->b->line,
					   l->b->func);
	return 0;
}

/* Carries requests on l until one is under way (its hop's end comes from
 * the loop) or none is left. `ended`: l's hop just ended. When the last
 * busy lane ends, the parked instance wakes: that resumes the journey at
 * once, so nothing of l or its batch is touched after it. */
static void lane_run(struct lane *l, int ended)
{
	struct batch *b = l->b;
	const char *url = NULL;
	int rc;

	for (;;) {
		if (ended) {
			rc = http_call_hop_end(l->s, l->r, &l->h, &l->u, l->native, b->file,
					       b->line, b->func);
			if (rc == 0)
				rc = http_call_next(l->s, l->r, &l->h, &l->hops, l->follow, &url,
						    b->file, b->line, b->func);
			if (rc != 1) {
				lane_result(l, rc);
				ended = 0;
				continue;
			}
		} else {
			if (b->next >= b->n || b->cancelled)
				break;
			if ((rc = lane_begin(l, req_at(b, b->next++), &url)) < 0) {
				lane_result(l, rc);
				continue;
			}
		}
		rc = http_call_hop_start(l->s, l->r, &l->h, url, &l->u, &l->native);
		if (rc == 0)
			return; /* under way */
		if (rc < 0) {
			lane_result(l, rc);
			ended = 0;
		} else {
			ended = 1; /* it ended at once: read it */
		}
	}
	l->busy = 0;
	if (--b->active == 0 && b->parked)
		b->home->e->host->wake(b->home->ctx);
}

void http_batch_lane_done(session *s)
{
	lane_run(s->lane, 1);
}

/* Stops every lane of b, their requests (and those not begun) ending as
 * cancelled. */
static void batch_cancel(struct mite_ctx *ctx, void *arg)
{
	struct batch *b = arg;
	session *home = b->home;

	(void)ctx;
	b->cancelled = 1;
	for (size_t i = 0; i < home->nlanes; i++) {
		struct lane *l = home->lanes[i];
		if (l->b != b || !l->busy)
			continue;
		if (l->native)
			http_nhop_cancel(l->s);
		else
			http_easy_cancel(l->s);
		l->s->inflight = 0;
		lane_result(l, MITE_ECANCELED);
		l->busy = 0;
	}
	b->active = 0;
	for (; b->next < b->n; b->next++)
		req_at(b, b->next)->rc = MITE_ECANCELED;
}

/* home has at least `want` lanes (fewer on ENOMEM). How many it has. */
static size_t lanes_make(session *home, size_t want)
{
	if (home->nlanes >= want)
		return want;
	struct lane **v = realloc(home->lanes, want * sizeof(*v));
	if (!v)
		return home->nlanes;
	home->lanes = v;
	while (home->nlanes < want) {
		struct lane *l = calloc(1, sizeof(*l));
		if (l && !(l->s = http_session_new(home->e, home->ctx))) {
			free(l);
			l = NULL;
		}
		if (!l)
			break;
		l->s->home = home;
		l->s->lane = l;
		/* A lane traces when the instance does (http_session_new asked
		 * its host): --trace-http shows each of a batch's requests,
		 * and --debug the one that failed (http_trace.c). */
		v[home->nlanes++] = l;
	}
	return home->nlanes;
}

/* How many lanes a batch of n gets: one per request over HTTP/2 (streams
 * of one connection), the engine's batch_conns over HTTP/1.1. */
static size_t lanes_wanted(const session *s, size_t n)
{
	size_t cap = (size_t)s->e->batch_conns;

	if (s->x && s->x->version != MITE_HTTP_V1_1)
		return n;
	return n < cap ? n : cap;
}

int http_batch_run(session *home, mite_http_req *reqs, size_t n, size_t req_size, const char *file,
		   int line, const char *func)
{
	struct batch b = { .home = home,
			   .reqs = (char *)reqs,
			   .n = n,
			   .size = req_size,
			   .file = file,
			   .line = line,
			   .func = func };
	size_t k, i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		req_at(&b, i)->resp = NULL;
		req_at(&b, i)->rc = 0;
	}
	if ((k = lanes_make(home, lanes_wanted(home, n))) == 0)
		return MITE_ENOMEM;
	/* The instance's last exchange is no longer the last one made. */
	http_trace_reset(home);
	for (i = 0; i < k; i++) {
		lane_borrow(home->lanes[i], home);
		home->lanes[i]->b = &b;
		home->lanes[i]->busy = 1;
	}
	b.active = k;
	for (i = 0; i < k; i++)
		lane_run(home->lanes[i], 0);
	if (b.active) {
		b.parked = 1;
		rc = home->e->host->park(home->ctx, batch_cancel, &b);
		b.parked = 0;
		if (rc != 0 || b.active)
			batch_cancel(home->ctx, &b);
	}
	for (i = 0; i < k; i++)
		home->lanes[i]->b = NULL;
	if (b.cancelled || rc != 0)
		return MITE_ECANCELED;
	for (i = 0; i < n; i++)
		if (req_at(&b, i)->rc)
			return req_at(&b, i)->rc;
	return 0;
}

void http_batch_free_lanes(session *s)
{
	for (size_t i = 0; i < s->nlanes; i++) {
		struct lane *l = s->lanes[i];
		session *ls = l->s;

		/* Its settings are borrowed: only its own handle goes. */
		ls->hdrs = NULL;
		ls->nhdrs = 0;
		ls->auth = NULL;
		ls->base_url = NULL;
		if (ls->x) {
			if (ls->ez == l->x.ez && ls->inflight && ls->e)
				curl_multi_remove_handle(ls->e->multi, ls->ez->h);
			if (ls->ez == l->x.ez)
				ls->ez = NULL;
			http_easy_destroy(l->x.ez);
			ls->x = NULL;
		}
		http_session_free(ls);
		free(l);
	}
	free(s->lanes);
	s->lanes = NULL;
	s->nlanes = 0;
}
