/*
 * http_resp.h - the HTTP engine's responses: pooled per session (a live
 * list and a spare one), their body limits and what the session's live
 * responses keep together.
 */
#ifndef MITE_RUNNER_HTTP_RESP_H
#define MITE_RUNNER_HTTP_RESP_H

#include "runner/http_int.h"

/* A response from s's pool (NULL on ENOMEM), on its live list. */
resp *http_resp_get(session *s);
/* Back to the spare list: it is not live any more (a large body buffer
 * is freed now). */
void http_resp_put(session *s, resp *r);
void http_resp_destroy(resp *r);
/* Prepares r for one hop (discard: count the body, keep none). */
void http_resp_reset(resp *r, int discard);
/* Counts what r keeps now in the session's total. */
void http_resp_account(session *s, resp *r);
/* The body limit of r's next hop: the response's own (the request's or
 * the session's), or what the session's live responses leave of the
 * session's, when that is less. */
void http_resp_limit(session *s, resp *r, const mite_http_opts *o);
/* Passes a piece of r's body (of a response with status `status`) to the
 * request's callback. Nonzero when the callback says to stop. */
int http_resp_body_to_cb(resp *r, int status, const char *data, size_t n);
/* The public fields every client fills the same way, once the hop is read. */
void http_resp_finish(resp *r);

#endif
