/* http_headers.c - see http_headers.h. */
#include "runner/http_headers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int http_headers_named(const char *const *hdrs, const char *name, size_t len)
{
	for (; hdrs && *hdrs; hdrs++)
		if (http1_req_name_len(*hdrs) == len && strncasecmp(*hdrs, name, len) == 0)
			return 1;
	return 0;
}

/* The header lines of a request, in the engine's scratch array: the
 * session's defaults and its Authorization unless the request names them,
 * then the request's own. Returns how many, or -1 on ENOMEM. */
long http_headers_collect(session *s, const char *const *rh)
{
	http_engine *e = s->e;
	size_t n = 0, need = s->nhdrs + 1;

	for (const char *const *p = rh; p && *p; p++)
		need++;
	if (need > e->hv_cap) {
		size_t c = e->hv_cap ? e->hv_cap : 16;
		const char **p;
		while (c < need)
			c *= 2;
		if (!(p = realloc(e->hv, c * sizeof(*p))))
			return -1;
		e->hv = p;
		e->hv_cap = c;
	}
	for (size_t i = 0; i < s->nhdrs; i++)
		if (!rh || !http_headers_named(rh, s->hdrs[i].line, s->hdrs[i].namelen))
			e->hv[n++] = s->hdrs[i].line;
	if (s->auth && !http_headers_named(rh, "Authorization", 13))
		e->hv[n++] = s->auth;
	for (const char *const *p = rh; p && *p; p++)
		e->hv[n++] = *p;
	return (long)n;
}

/* The Cookie header's value for url in the engine's scratch, or NULL when
 * no cookie matches (or on ENOMEM: the request goes without). */
const char *http_headers_cookie(session *s, const http1_url *u)
{
	http_engine *e = s->e;
	cookie_jar *jar = &http_home(s)->jar;
	time_t now;
	size_t n;

	if (cookie_jar_empty(jar))
		return NULL;
	now = time(NULL);
	n = cookie_jar_header(jar, e->cookie.p, e->cookie.cap, u->host, u->host_len, u->path,
			      u->pathonly_len, u->https, now);
	if (n == 0)
		return NULL;
	if (n >= e->cookie.cap) {
		if (http1_buf_reserve(&e->cookie, n + 1) < 0)
			return NULL;
		cookie_jar_header(jar, e->cookie.p, e->cookie.cap, u->host, u->host_len, u->path,
				  u->pathonly_len, u->https, now);
	}
	return e->cookie.p;
}

/* Stores the Set-Cookie headers of r, a response to url. */
void http_headers_take_cookies(session *s, const resp *r, const char *url)
{
	http1_url u;
	time_t now = 0;
	size_t off = 0;

	while (off < r->hdr.len) {
		const char *line = r->hdr.p + off;
		size_t ll = strlen(line);

		off += ll + 1;
		if (ll < 11 || (line[0] | 0x20) != 's' || strncasecmp(line, "set-cookie:", 11) != 0)
			continue;
		if (!now) {
			if (http1_url_parse(url, &u) < 0)
				return;
			now = time(NULL);
		}
		cookie_jar_set(&http_home(s)->jar, line + 11, ll - 11, u.host, u.host_len, u.path,
			       u.pathonly_len, u.https, now);
	}
}
