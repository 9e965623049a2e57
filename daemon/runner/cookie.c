/*
 * cookie.c - see cookie.h.
 *
 * Each cookie is one allocation: the fields, then name, value, domain and
 * path back to back. The list is kept in sending order (longer paths first,
 * then older first, as RFC 6265 section 5.4 asks), so building a Cookie
 * header is one pass and needs no scratch memory: it runs on journeys'
 * small coroutine stacks.
 */
#include "runner/cookie.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cookie {
	cookie *next;
	int64_t expires; /* seconds since the epoch; 0: until the jar is cleared */
	uint32_t seq; /* creation order */
	unsigned char host_only, secure;
	unsigned short nlen, vlen, dlen, plen;
	char data[]; /* name, value, domain (lowercase), path */
};

static const char *c_name(const cookie *c)
{
	return c->data;
}
static const char *c_value(const cookie *c)
{
	return c->data + c->nlen;
}
static const char *c_domain(const cookie *c)
{
	return c->data + c->nlen + c->vlen;
}
static const char *c_path(const cookie *c)
{
	return c->data + c->nlen + c->vlen + c->dlen;
}

void cookie_jar_clear(cookie_jar *j)
{
	cookie *c;

	while ((c = j->first)) {
		j->first = c->next;
		free(c);
	}
	j->n = 0;
}

/* ---- dates (RFC 6265 section 5.1.1) --------------------------------------- */

static int date_delim(unsigned char c)
{
	return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
		(c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* Leading digits of t[0..n) (between min and max of them, then a non-digit
 * or the end). -1 when there are not. */
static int digits(const char *t, size_t n, int min, int max, int *val)
{
	int k = 0, v = 0;

	while ((size_t)k < n && isdigit((unsigned char)t[k])) {
		if (k == max)
			return -1;
		v = v * 10 + (t[k] - '0');
		k++;
	}
	if (k < min)
		return -1;
	*val = v;
	return k;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int cookie_parse_date(const char *s, size_t n, int64_t *out)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	int have_time = 0, have_day = 0, have_month = 0, have_year = 0;
	int hh = 0, mm = 0, ss = 0, day = 0, month = 0, year = 0;
	size_t i = 0;

	while (i < n) {
		size_t st, tl;
		const char *t;
		int k, v;

		while (i < n && date_delim((unsigned char)s[i]))
			i++;
		st = i;
		while (i < n && !date_delim((unsigned char)s[i]))
			i++;
		t = s + st;
		tl = i - st;
		if (!tl)
			break;
		if (!have_time && (k = digits(t, tl, 1, 2, &hh)) > 0 && (size_t)k < tl &&
		    t[k] == ':') {
			size_t o = (size_t)k + 1;
			int k2 = digits(t + o, tl - o, 1, 2, &mm);
			if (k2 > 0 && o + (size_t)k2 < tl && t[o + (size_t)k2] == ':') {
				o += (size_t)k2 + 1;
				if (digits(t + o, tl - o, 1, 2, &ss) > 0) {
					have_time = 1;
					continue;
				}
			}
		}
		if (!have_day && (k = digits(t, tl, 1, 2, &v)) > 0 &&
		    ((size_t)k == tl || !isdigit((unsigned char)t[k]))) {
			day = v;
			have_day = 1;
			continue;
		}
		if (!have_month && tl >= 3) {
			for (int m = 0; m < 12; m++)
				if (strncasecmp(t, months + 3 * m, 3) == 0) {
					month = m + 1;
					have_month = 1;
					break;
				}
			if (have_month)
				continue;
		}
		if (!have_year && (k = digits(t, tl, 2, 4, &v)) > 0) {
			year = v;
			have_year = 1;
			continue;
		}
	}
	if (!have_time || !have_day || !have_month || !have_year)
		return -1;
	if (year >= 70 && year <= 99)
		year += 1900;
	else if (year >= 0 && year <= 69)
		year += 2000;
	if (day < 1 || day > 31 || year < 1601 || hh > 23 || mm > 59 || ss > 59)
		return -1;
	*out = days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

/* ---- matching (RFC 6265 section 5.1.3, 5.1.4) ------------------------------ */

static int is_ip(const char *h, size_t n)
{
	if (memchr(h, ':', n))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)h[i]) && h[i] != '.')
			return 0;
	return 1;
}

/* host (any case) domain-matches domain (lowercase). */
static int domain_match(const char *host, size_t hl, const char *dom, size_t dl)
{
	if (hl == dl)
		return strncasecmp(host, dom, hl) == 0;
	return hl > dl && host[hl - dl - 1] == '.' && strncasecmp(host + hl - dl, dom, dl) == 0 &&
		!is_ip(host, hl);
}

static int path_match(const char *rp, size_t rl, const char *cp, size_t cl)
{
	if (rl < cl || memcmp(rp, cp, cl) != 0)
		return 0;
	return rl == cl || cp[cl - 1] == '/' || rp[cl] == '/';
}

static int cookie_matches(const cookie *c, const char *host, size_t hl, const char *path, size_t pl,
			  int https, int64_t now)
{
	if (c->expires && c->expires <= now)
		return 0;
	if (c->secure && !https)
		return 0;
	if (c->host_only ? !(hl == c->dlen && strncasecmp(host, c_domain(c), hl) == 0)
			 : !domain_match(host, hl, c_domain(c), c->dlen))
		return 0;
	return path_match(path, pl, c_path(c), c->plen);
}

size_t cookie_jar_header(const cookie_jar *j, char *buf, size_t len, const char *host, size_t hlen,
			 const char *path, size_t plen, int https, int64_t now)
{
	size_t pos = 0;

	if (plen == 0) {
		path = "/";
		plen = 1;
	}
	for (const cookie *c = j->first; c; c = c->next) {
		if (!cookie_matches(c, host, hlen, path, plen, https, now))
			continue;
		if (pos) {
			if (pos + 2 < len)
				memcpy(buf + pos, "; ", 2);
			pos += 2;
		}
		if (pos + c->nlen + 1 + c->vlen < len) {
			memcpy(buf + pos, c_name(c), c->nlen);
			buf[pos + c->nlen] = '=';
			memcpy(buf + pos + c->nlen + 1, c_value(c), c->vlen);
		}
		pos += c->nlen + 1u + c->vlen;
	}
	if (len)
		buf[pos < len ? pos : len - 1] = 0;
	return pos;
}

/* ---- Set-Cookie (RFC 6265 section 5.2, 5.3) ----------------------------------- */

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static int has_ctl(const char *s, const char *e)
{
	for (; s < e; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 1;
		else if (*s == 0x7f)
			return 1;
	return 0;
}

static void unlink_cookie(cookie_jar *j, cookie **pp)
{
	cookie *c = *pp;

	*pp = c->next;
	free(c);
	j->n--;
}

/* Drops expired cookies; then, if the jar is still full, the oldest. */
static void make_room(cookie_jar *j, int64_t now)
{
	cookie **pp, **oldest = NULL;

	for (pp = &j->first; *pp;) {
		if ((*pp)->expires && (*pp)->expires <= now)
			unlink_cookie(j, pp);
		else
			pp = &(*pp)->next;
	}
	if (j->n < COOKIE_MAX)
		return;
	for (pp = &j->first; *pp; pp = &(*pp)->next)
		if (!oldest || (*pp)->seq < (*oldest)->seq)
			oldest = pp;
	if (oldest)
		unlink_cookie(j, oldest);
}

/* A Set-Cookie header value, parsed (pointers into it). */
typedef struct set_cookie {
	const char *n, *ne, *val, *ve; /* name and value, trimmed */
	const char *dom, *cpath; /* Domain (no leading dot), Path: NULL when absent */
	size_t dl, cpl;
	int64_t expires, max_age;
	int have_expires, have_max_age, secure, host_only;
} set_cookie;

/* Max-Age: digits, or a '-' first (delete now); anything else is ignored. */
static void sc_max_age(set_cookie *sc, const char *d, const char *ave)
{
	int neg = 0;
	int64_t s = 0;

	if (d < ave && *d == '-') {
		neg = 1;
		d++;
	}
	if (d >= ave)
		return;
	for (; d < ave && isdigit((unsigned char)*d); d++)
		s = s < INT64_C(1) << 40 ? s * 10 + (*d - '0') : s;
	if (d == ave) {
		sc->max_age = neg ? -1 : s;
		sc->have_max_age = 1;
	}
}

/* One attribute (name an..an+al, value av..ave); the last of each kind wins. */
static void sc_attr(set_cookie *sc, const char *an, size_t al, const char *av, const char *ave)
{
	int64_t t;

	if (al == 7 && strncasecmp(an, "expires", 7) == 0) {
		if (cookie_parse_date(av, (size_t)(ave - av), &t) == 0) {
			sc->expires = t;
			sc->have_expires = 1;
		}
	} else if (al == 7 && strncasecmp(an, "max-age", 7) == 0) {
		sc_max_age(sc, av, ave);
	} else if (al == 6 && strncasecmp(an, "domain", 6) == 0) {
		if (av < ave) {
			if (*av == '.')
				av++;
			sc->dom = av;
			sc->dl = (size_t)(ave - av);
		}
	} else if (al == 4 && strncasecmp(an, "path", 4) == 0) {
		sc->cpath = av < ave && *av == '/' ? av : NULL;
		sc->cpl = sc->cpath ? (size_t)(ave - av) : 0;
	} else if (al == 6 && strncasecmp(an, "secure", 6) == 0) {
		sc->secure = 1;
	}
}

/* The attributes after the name=value pair: a (at its ';') to end. */
static void sc_attrs(set_cookie *sc, const char *a, const char *end)
{
	while (a < end) {
		const char *ae, *an, *ane, *av, *ave;

		a++; /* the ';' */
		ae = memchr(a, ';', (size_t)(end - a));
		if (!ae)
			ae = end;
		an = a;
		av = memchr(a, '=', (size_t)(ae - a));
		ane = av ? av : ae;
		trim(&an, &ane);
		if (av) {
			av++;
			ave = ae;
			trim(&av, &ave);
		} else {
			av = ave = ae;
		}
		sc_attr(sc, an, (size_t)(ane - an), av, ave);
		a = ae;
	}
}

/* Name, value and attributes of v. 0, or -1 when the header is to be
 * ignored (no '=', an empty name, control characters). */
static int sc_parse(set_cookie *sc, const char *v, size_t vlen)
{
	const char *end = v + vlen, *nv_end = memchr(v, ';', vlen);

	memset(sc, 0, sizeof(*sc));
	if (!nv_end)
		nv_end = end;
	sc->val = memchr(v, '=', (size_t)(nv_end - v));
	if (!sc->val)
		return -1;
	sc->n = v;
	sc->ne = sc->val;
	trim(&sc->n, &sc->ne);
	sc->val++;
	sc->ve = nv_end;
	trim(&sc->val, &sc->ve);
	if (sc->n == sc->ne || has_ctl(sc->n, sc->ne) || has_ctl(sc->val, sc->ve) ||
	    memchr(sc->n, '=', (size_t)(sc->ne - sc->n)))
		return -1;
	sc_attrs(sc, nv_end, end);
	return 0;
}

/* The cookie's domain and path against the request's, and its expiry
 * against now. 0, or -1 when the cookie is to be ignored. */
static int sc_scope(set_cookie *sc, const char *host, size_t hlen, const char *path, size_t plen,
		    int https, int64_t now)
{
	if (sc->secure && !https)
		return -1; /* only a secure origin may set a Secure cookie */
	if (sc->dom && sc->dl) {
		if (has_ctl(sc->dom, sc->dom + sc->dl) ||
		    !domain_match(host, hlen, sc->dom, sc->dl) ||
		    (sc->dl != hlen && !memchr(sc->dom, '.', sc->dl)))
			return -1;
	} else {
		sc->dom = host;
		sc->dl = hlen;
		sc->host_only = 1;
	}
	if (!sc->cpath) {
		/* The default path: the request path up to its last '/'. */
		size_t k = plen;

		if (plen == 0 || path[0] != '/') {
			path = "/";
			k = 1;
		} else {
			while (k > 0 && path[k - 1] != '/')
				k--;
			if (k > 1)
				k--;
		}
		sc->cpath = path;
		sc->cpl = k ? k : 1;
	}
	if ((size_t)(sc->ne - sc->n) + (size_t)(sc->ve - sc->val) > COOKIE_MAX_SIZE ||
	    sc->dl > 255 || sc->cpl > 1024)
		return -1;
	if (sc->have_max_age)
		sc->expires = sc->max_age <= 0 ? INT64_MIN : now + sc->max_age;
	else if (!sc->have_expires)
		sc->expires = 0;
	else if (sc->expires <= now)
		sc->expires = INT64_MIN;
	return 0;
}

/* Where the jar holds the same cookie (name, domain and path), or NULL. */
static cookie **sc_find(cookie_jar *j, const set_cookie *sc)
{
	size_t nl = (size_t)(sc->ne - sc->n);

	for (cookie **pp = &j->first; *pp; pp = &(*pp)->next) {
		const cookie *c = *pp;

		if (c->nlen == nl && memcmp(c_name(c), sc->n, nl) == 0 && c->dlen == sc->dl &&
		    strncasecmp(c_domain(c), sc->dom, sc->dl) == 0 && c->plen == sc->cpl &&
		    memcmp(c_path(c), sc->cpath, sc->cpl) == 0)
			return pp;
	}
	return NULL;
}

/* A new cookie of sc, aged seq, in sending order: longer paths first, then
 * older first. 1, or -ENOMEM. */
static int sc_store(cookie_jar *j, const set_cookie *sc, uint32_t seq)
{
	size_t nl = (size_t)(sc->ne - sc->n), vl = (size_t)(sc->ve - sc->val);
	cookie **pp, *c = malloc(sizeof(*c) + nl + vl + sc->dl + sc->cpl);

	if (!c)
		return -ENOMEM;
	c->expires = sc->expires;
	c->seq = seq;
	c->host_only = (unsigned char)sc->host_only;
	c->secure = (unsigned char)sc->secure;
	c->nlen = (unsigned short)nl;
	c->vlen = (unsigned short)vl;
	c->dlen = (unsigned short)sc->dl;
	c->plen = (unsigned short)sc->cpl;
	memcpy(c->data, sc->n, nl);
	memcpy(c->data + nl, sc->val, vl);
	for (size_t i = 0; i < sc->dl; i++)
		c->data[nl + vl + i] = (char)tolower((unsigned char)sc->dom[i]);
	memcpy(c->data + nl + vl + sc->dl, sc->cpath, sc->cpl);
	for (pp = &j->first; *pp; pp = &(*pp)->next)
		if ((*pp)->plen < c->plen || ((*pp)->plen == c->plen && (*pp)->seq > c->seq))
			break;
	c->next = *pp;
	*pp = c;
	j->n++;
	return 1;
}

int cookie_jar_set(cookie_jar *j, const char *v, size_t vlen, const char *host, size_t hlen,
		   const char *path, size_t plen, int https, int64_t now)
{
	set_cookie sc;
	cookie **oldp;
	uint32_t seq;

	if (sc_parse(&sc, v, vlen) < 0 || sc_scope(&sc, host, hlen, path, plen, https, now) < 0)
		return 0;
	oldp = sc_find(j, &sc);
	if (sc.expires == INT64_MIN) {
		if (!oldp)
			return 0;
		unlink_cookie(j, oldp);
		return 1;
	}
	if (oldp) {
		seq = (*oldp)->seq; /* a replaced cookie keeps its age */
		unlink_cookie(j, oldp);
	} else {
		if (j->n >= COOKIE_MAX)
			make_room(j, now);
		seq = j->seq++;
	}
	return sc_store(j, &sc, seq);
}
