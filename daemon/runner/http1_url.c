/* http1_url.c - see http1_url.h. */
#include "runner/http1_url.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static int scheme_of(const char *url, size_t *skip)
{
	if (strncasecmp(url, "http://", 7) == 0) {
		*skip = 7;
		return 0;
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		*skip = 8;
		return 1;
	}
	return -1;
}

static int host_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

int http1_url_parse(const char *url, http1_url *u)
{
	const char *a, *end, *h, *he, *p, *q;
	size_t skip;
	long port = -1;

	memset(u, 0, sizeof(*u));
	if (!url || (u->https = scheme_of(url, &skip)) < 0)
		return -EINVAL;
	a = url + skip;
	end = a + strcspn(a, "/?#");
	if (end == a || memchr(a, '@', (size_t)(end - a)))
		return -EINVAL;
	if (*a == '[') {
		h = a + 1;
		he = memchr(h, ']', (size_t)(end - h));
		if (!he || he == h)
			return -EINVAL;
		for (q = h; q < he; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return -EINVAL;
		p = he + 1;
	} else {
		h = a;
		for (he = h; he < end && *he != ':'; he++)
			if (!host_char((unsigned char)*he))
				return -EINVAL;
		if (he == h)
			return -EINVAL;
		p = he;
	}
	if (p < end) {
		if (*p != ':' || p + 1 == end || end - p > 6)
			return -EINVAL;
		port = 0;
		for (q = p + 1; q < end; q++) {
			if (!isdigit((unsigned char)*q))
				return -EINVAL;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			return -EINVAL;
	}
	u->host = h;
	u->host_len = (size_t)(he - h);
	u->hostport = a;
	u->hostport_len = (size_t)(end - a);
	u->port = port > 0 ? (int)port : u->https ? 443 : 80;
	/* Path and query up to a fragment. Bytes libcurl would encode or
	 * refuse go to libcurl. */
	for (q = end; *q && *q != '#'; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return -EINVAL;
	if (q == end) {
		u->path = "/";
		u->path_len = u->pathonly_len = 1;
		return 0;
	}
	if (*end != '/')
		return -EINVAL; /* "http://h?q": libcurl makes it "/?q" */
	u->path = end;
	u->path_len = (size_t)(q - end);
	u->pathonly_len = strcspn(end, "?#");
	if (u->pathonly_len > u->path_len)
		u->pathonly_len = u->path_len;
	return 0;
}

/* Appends n bytes at buf[*pos], counting what does not fit. */
static void put(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	if (*pos < len) {
		size_t k = len - *pos < n ? len - *pos : n;
		memcpy(buf + *pos, s, k);
	}
	*pos += n;
}

/* Removes "." and ".." segments from the path p[0..n) (which starts with
 * '/') in place; returns its new length. */
static size_t remove_dots(char *p, size_t n)
{
	size_t r = 0, w = 0;

	while (r < n) {
		/* p[r] is '/'; the segment runs to the next '/' or the end. */
		size_t s = r + 1, e = s;
		while (e < n && p[e] != '/')
			e++;
		if (e - s == 1 && p[s] == '.') {
			if (e == n)
				p[w++] = '/';
		} else if (e - s == 2 && p[s] == '.' && p[s + 1] == '.') {
			/* Drop the last segment written, with its '/'. */
			while (w > 0 && p[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
			if (e == n)
				p[w++] = '/';
		} else {
			memmove(p + w, p + r, e - r);
			w += e - r;
		}
		r = e;
	}
	if (w == 0)
		p[w++] = '/';
	return w;
}

static int has_scheme(const char *ref)
{
	const char *p = ref;

	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':';
}

long http1_url_resolve(char *buf, size_t len, const char *base, const char *ref)
{
	size_t pos = 0, skip, auth_len, path_start, rl;
	const char *auth, *bpath;
	size_t bpath_len;

	if (!base || !ref || !*ref || scheme_of(base, &skip) < 0)
		return -EINVAL;
	rl = strcspn(ref, "#");
	if (has_scheme(ref)) {
		put(buf, len, &pos, ref, rl);
		goto done;
	}
	if (ref[0] == '/' && ref[1] == '/') {
		put(buf, len, &pos, base, skip - 2); /* "http:" */
		put(buf, len, &pos, ref, rl);
		goto done;
	}
	auth = base + skip;
	auth_len = strcspn(auth, "/?#");
	bpath = auth + auth_len;
	bpath_len = strcspn(bpath, "?#");
	put(buf, len, &pos, base, skip + auth_len);
	path_start = pos;
	if (ref[0] == '/') {
		put(buf, len, &pos, ref, rl);
	} else if (ref[0] == '?' || ref[0] == '#') {
		if (bpath_len)
			put(buf, len, &pos, bpath, bpath_len);
		else
			put(buf, len, &pos, "/", 1);
		if (ref[0] == '#') /* the same document */
			put(buf, len, &pos, bpath + bpath_len, strcspn(bpath + bpath_len, "#"));
		else
			put(buf, len, &pos, ref, rl);
	} else {
		/* The base path up to its last '/', then ref. */
		size_t dir = bpath_len;
		while (dir > 0 && bpath[dir - 1] != '/')
			dir--;
		if (dir == 0)
			put(buf, len, &pos, "/", 1);
		else
			put(buf, len, &pos, bpath, dir);
		put(buf, len, &pos, ref, rl);
	}
	if (pos < len) {
		/* Dot segments, in the path only (not the query). */
		size_t plen = pos - path_start, q;
		char *path = buf + path_start;
		for (q = 0; q < plen && path[q] != '?'; q++)
			;
		if (q > 0 && path[0] == '/') {
			size_t nl = remove_dots(path, q);
			memmove(path + nl, path + q, plen - q);
			pos -= q - nl;
		}
	}
done:
	if (len > 0)
		buf[pos < len ? pos : len - 1] = 0;
	return (long)pos;
}
