/*
 * http_headers.h - the header lines and cookies of a session's requests,
 * for both clients: the session's defaults, its Authorization and the
 * request's own; the cookie jar's Cookie value for a URL, and the
 * Set-Cookie headers of a response into the jar.
 */
#ifndef MITE_RUNNER_HTTP_HEADERS_H
#define MITE_RUNNER_HTTP_HEADERS_H

#include "runner/http_int.h"

/* Whether one of the NULL-terminated hdrs (may be NULL) names header
 * `name` (len bytes). */
int http_headers_named(const char *const *hdrs, const char *name, size_t len);
/* The header lines of a request, in the engine's scratch array (e->hv):
 * the session's defaults and its Authorization unless the request names
 * them, then the request's own (rh). Returns how many, or -1 on ENOMEM. */
long http_headers_collect(session *s, const char *const *rh);
/* The Cookie header's value for u in the engine's scratch, or NULL when no
 * cookie matches (or on ENOMEM: the request goes without). */
const char *http_headers_cookie(session *s, const http1_url *u);
/* Stores the Set-Cookie headers of r, a response to url. */
void http_headers_take_cookies(session *s, const resp *r, const char *url);

#endif
