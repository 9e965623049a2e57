/*
 * http_nhop.h - the HTTP engine's hops through its native client
 * (runner/http_native.h): which hops it takes, the request it sends (the
 * head of runner/http1_req.h), and what its transfer says.
 */
#ifndef MITE_RUNNER_HTTP_NHOP_H
#define MITE_RUNNER_HTTP_NHOP_H

#include "runner/http_int.h"

/* Whether the native client takes this hop of s to url with options o
 * (u then holds the URL's parts). */
int http_nhop_takes(session *s, const char *url, const mite_http_opts *o, http1_url *u);
/* One hop through the native client; returns as http_easy_hop. */
int http_nhop_run(session *s, resp *r, const struct hop *h, const http1_url *u);
/* The same in two halves, for a caller that does not park (a batch's
 * lane): start returns 0 when the hop is under way (http_session_done(s)
 * comes from the loop), 1 when it ended at once, or MITE_ENOMEM; finish
 * (after either) returns as http_nhop_run. */
int http_nhop_start(session *s, resp *r, const struct hop *h, const http1_url *u);
int http_nhop_finish(session *s, resp *r, const struct hop *h, const http1_url *u);
/* Stops and drops s's native transfer, if any (no done call). */
void http_nhop_cancel(session *s);

#endif
