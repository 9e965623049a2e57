/*
 * cookie.h - an HTTP session's cookie jar (RFC 6265, as browsers and
 * libcurl apply it, without a public suffix list).
 *
 * A jar belongs to one journey instance and starts empty at every
 * iteration. Both HTTP engines use it: the Set-Cookie headers of each
 * response (each redirect hop) go in, and every request carries the
 * cookies that match its URL in its Cookie header. Bounded: at most
 * COOKIE_MAX cookies (the oldest goes), each at most COOKIE_MAX_SIZE bytes.
 * Pure code: no I/O; times are seconds since the epoch, passed in.
 */
#ifndef MITE_RUNNER_COOKIE_H
#define MITE_RUNNER_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#define COOKIE_MAX 64
#define COOKIE_MAX_SIZE 4096

typedef struct cookie cookie;

typedef struct cookie_jar {
	cookie *first; /* by path length (longest first), then age (oldest first) */
	unsigned n;
	uint32_t seq; /* creation order of the next cookie */
} cookie_jar;

/* Empties the jar (a zeroed jar is empty and needs no init). */
void cookie_jar_clear(cookie_jar *j);
static inline int cookie_jar_empty(const cookie_jar *j)
{
	return j->first == NULL;
}

/* Applies the Set-Cookie header value v[0..vlen) received in answer to a
 * request for host (lowercase or not) and path (the URL's path, without
 * its query), over https or not: stores the cookie, replaces the one with
 * the same name, domain and path, or deletes it (Max-Age <= 0, or an
 * Expires date in the past). Returns 1 when the jar changed, 0 when the
 * cookie was ignored (malformed, a Domain the host is not in, Secure from
 * http, too large), -ENOMEM. */
int cookie_jar_set(cookie_jar *j, const char *v, size_t vlen, const char *host, size_t hlen,
		   const char *path, size_t plen, int https, int64_t now);

/* Writes the Cookie header value ("a=1; b=2") for a request to host and
 * path (without the query), over https or not. Like snprintf: returns the
 * length the value needs (0 when no cookie matches) and writes at most len
 * bytes, NUL included. */
size_t cookie_jar_header(const cookie_jar *j, char *buf, size_t len, const char *host, size_t hlen,
			 const char *path, size_t plen, int https, int64_t now);

/* Parses an HTTP date as RFC 6265 section 5.1.1 does (lenient: "Wed,
 * 09 Jun 2021 10:18:14 GMT", "Wednesday, 09-Jun-21 10:18:14 GMT", ...).
 * 0 and *out seconds since the epoch, or -1. */
int cookie_parse_date(const char *s, size_t n, int64_t *out);

#endif
