/*
 * http_call.h - a request's hops: each through the client that takes it
 * (the native one or libcurl), recorded on its own, its cookies kept,
 * redirects followed (301/302/303 turn a POST into a GET, as browsers
 * do), a transport error recorded with its class.
 */
#ifndef MITE_RUNNER_HTTP_CALL_H
#define MITE_RUNNER_HTTP_CALL_H

#include "runner/http_int.h"

/* Runs the request h (h->method, body and options set; o: the request's
 * options or NULL) to url and its redirects when follow, into r. 0 with
 * r filled, or a MITE_E* code (a transport error recorded at
 * file:line:func). May park. */
int http_call_run(session *s, resp *r, struct hop *h, const char *url, int follow,
		  const char *file, int line, const char *func);

#endif
