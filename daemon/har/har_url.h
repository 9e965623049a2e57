/*
 * har_url.h - the URLs of a HAR recording: split into origin, host and
 * target, normalised the way a browser puts them on the wire, and redirect
 * targets resolved against the request they answer.
 */
#ifndef MITE_HAR_URL_H
#define MITE_HAR_URL_H

#include <stddef.h>

/* The scheme of url ("http", "data", ...), lowercased into buf. Returns 0,
 * or -EINVAL when url does not start with one. */
int har_url_scheme(const char *url, char *buf, size_t len);

/* Splits an absolute http:// or https:// URL into its origin
 * ("http://host:8080": lowercased, default port dropped), host ("host")
 * and target ("/path?query": fragment dropped, "/" when empty, encoded as
 * har_url_encode does). The three strings are malloc'ed (the caller's).
 * Returns 0, -ENOMEM, or -EINVAL with a static reason in *why. */
int har_url_split(const char *url, char **origin, char **host, char **target, const char **why);

/* s percent-encoded where a browser would: bytes outside printable ASCII,
 * space and " < > \ ^ ` { | }; '%' and the rest stay. malloc'ed, or NULL. */
char *har_url_encode(const char *s, size_t len);

/* A redirect's Location resolved against the request's origin and target
 * (absolute, "//host/...", "/path", "?query" or relative to the request's
 * folder; dot segments are not removed), as one string origin + target.
 * malloc'ed, or NULL when loc cannot be resolved or memory runs out. */
char *har_url_resolve(const char *origin, const char *target, const char *loc);

#endif
