/*
 * http_call.h - a request's hops: each through the client that takes it
 * (the native one or libcurl), recorded on its own, its cookies kept,
 * redirects followed (301/302/303 turn a POST into a GET, as browsers
 * do), a transport error recorded with its class.
 */
#ifndef MITE_RUNNER_HTTP_CALL_H
#define MITE_RUNNER_HTTP_CALL_H

#include "runner/http_int.h"

/* A URL starting with '/' goes after s's base URL (into s->urlbuf). The
 * URL to use, or NULL with *rc set (MITE_EINVAL without a base URL, or
 * MITE_ENOMEM). */
const char *http_call_full_url(session *s, const char *url, int *rc);
/* The hop options o ask for (o may be NULL), m the interned method, the
 * rest from s's settings. */
void http_call_hop_from_opts(const session *s, struct hop *h, const char *m,
			     const mite_http_opts *o);
/* A response of s for a new request (NULL on ENOMEM), its public fields
 * set: m the interned method (a copy of mbuf's goes into the response
 * when m is mbuf). */
resp *http_call_resp_start(session *s, const char *m, const char *mbuf, const mite_http_opts *o,
			   int follow);

/* Opens the body file of h's options (h->o->body_file) for a request of
 * method to url: 0 with h->body_fd and body_len set, or MITE_EIO with a
 * failure of class "file" recorded ("cannot open the body file PATH:
 * why") at file:line:func. */
int http_call_body_open(session *s, struct hop *h, const char *method, const char *url,
			const char *file, int line, const char *func);
/* Closes h's body file, if open. */
void http_call_body_close(struct hop *h);

/* Runs the request h (h->method, body and options set; o: the request's
 * options or NULL) to url and its redirects when follow, into r. 0 with
 * r filled, or a MITE_E* code (a transport error recorded at
 * file:line:func). May park. */
int http_call_run(session *s, resp *r, struct hop *h, const char *url, int follow, const char *file,
		  int line, const char *func);

/* The same one hop at a time, for a caller that does not park (a
 * batch's lane, runner/http_batch.c). hop_start begins a hop of h to url
 * on the client that takes it (*native, u: kept for hop_end): 0 when it
 * is under way (http_session_done(s) comes from the loop), 1 when it
 * ended at once, or a MITE_E* code. hop_end, once it ended, reads it: 0,
 * or a MITE_E* code (a transport error recorded). next then records it
 * and keeps its cookies: 0 when the request is done, 1 when a redirect is
 * to follow (*url its target, *hops counted), or a MITE_E* code. */
int http_call_hop_start(session *s, resp *r, struct hop *h, const char *url, http1_url *u,
			int *native);
int http_call_hop_end(session *s, resp *r, const struct hop *h, const http1_url *u, int native,
		      const char *file, int line, const char *func);
int http_call_next(session *s, resp *r, struct hop *h, int *hops, int follow, const char **url,
		   const char *file, int line, const char *func);

#endif
