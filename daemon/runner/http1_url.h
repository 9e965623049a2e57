/*
 * http1_url.h - the URLs of the native HTTP client (runner/http1.h has
 * the rest of its HTTP/1.1 pieces): splitting an absolute http(s) URL, and
 * the target of a redirect.
 */
#ifndef MITE_RUNNER_HTTP1_URL_H
#define MITE_RUNNER_HTTP1_URL_H

#include <stddef.h>

/* The parts of an absolute http:// or https:// URL; spans point into it. */
typedef struct http1_url {
	int https;
	const char *host; /* without brackets for an IPv6 literal */
	size_t host_len;
	const char *hostport; /* what the Host header carries: host[:port] as written */
	size_t hostport_len;
	int port; /* explicit, or 80 / 443 */
	const char *path; /* path and query, without the fragment; "/" when empty */
	size_t path_len; /* (path is a static "/" when the URL has none) */
	size_t pathonly_len; /* the path without its query (cookie path matching) */
} http1_url;

/* Splits url. 0, or -EINVAL when it is not an absolute http(s) URL this
 * client can use as it is (another scheme, user info, a bad port, spaces or
 * control characters, an empty host). Not a validator: libcurl, which gets
 * every URL this refuses, has the last word. */
int http1_url_parse(const char *url, http1_url *u);

/* Writes the absolute URL that reference ref (a Location header's value)
 * names relative to base (RFC 3986 section 5.2, with dot segments
 * removed). Returns the length the result needs, like snprintf (whole when
 * < len), or -EINVAL when base is not an http(s) URL or ref is empty. */
long http1_url_resolve(char *buf, size_t len, const char *base, const char *ref);

#endif
