/*
 * http_easy.h - the HTTP engine's libcurl requests: easy handles (pooled
 * by the engine, or a session's own with its rare settings), the options
 * a hop sets on one (only those that changed), libcurl's callbacks for
 * the response, and what a finished transfer says.
 */
#ifndef MITE_RUNNER_HTTP_EASY_H
#define MITE_RUNNER_HTTP_EASY_H

#include "runner/http_int.h"

/* Frees ez (NULL: nothing). */
void http_easy_destroy(struct easy *ez);
/* Gives s's handle back (to the pool unless it is the session's own). */
void http_easy_release(session *s);
/* Frees the engine's pooled handles. */
void http_easy_pool_free(http_engine *e);
/* One hop through libcurl. 0 with r filled, 1 on a transport error
 * (s->result, s->oserr), or a MITE_E* code. A redirect's target goes to
 * s->redir. */
int http_easy_hop(session *s, resp *r, const struct hop *h);
/* The same in two halves, for a caller that does not park (a batch's
 * lane): start returns 0 when the transfer is under way
 * (http_session_done(s) comes from the loop) or a MITE_E* code; finish
 * returns as http_easy_hop. */
int http_easy_start(session *s, resp *r, const struct hop *h);
int http_easy_finish(session *s, resp *r, const struct hop *h);
/* Stops s's transfer, if any, and gives its handle back. */
void http_easy_cancel(session *s);

#endif
