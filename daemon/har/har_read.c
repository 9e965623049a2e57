/*
 * har_read.c - a HAR file into struct har (har.h): the file read whole
 * (bounded), parsed with cJSON, and the fields the converter uses checked
 * and copied, each refusal naming the file and the field's JSON path.
 *
 * cJSON keeps strings NUL-terminated, so a "\u0000" escape would cut one
 * short without a trace. When the file has such an escape, each is
 * replaced before parsing by a byte valid UTF-8 never holds (0xFF): a
 * request body turns it back into a NUL, any other string read is
 * refused. A file that holds 0xFF bytes itself and a \u0000 escape is
 * refused whole.
 */
#include "config.h"

#include "har/har.h"
#include "har/har_body.h"
#include "har/har_url.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NUL_MARK '\xff'

typedef struct rd {
	const char *file;
	char *err;
	size_t errlen;
	int nul_marks; /* NUL_MARK bytes in strings stand for NULs */
} rd;

static int fail(rd *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(rd *r, int rc, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, r->errlen, "%s: ", r->file);

	if (n >= 0 && (size_t)n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* s quoted for a message: printable ASCII, cut at 60 bytes. */
static const char *quote(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o + 5 < len && o < 61; s++)
		buf[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s)
		buf[o++] = '.', buf[o++] = '.', buf[o++] = '.';
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ---- typed fields ------------------------------------------------------- */

/* The member key of o: NULL when absent or null (an error when required). */
static int member(rd *r, const cJSON *o, const char *path, const char *key, int required,
		  const cJSON **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = cJSON_IsNull(m) ? NULL : m;
	if (!*out && required)
		return fail(r, -EINVAL, "%s.%s: missing", path, key);
	return 0;
}

static int get_obj(rd *r, const cJSON *o, const char *path, const char *key, int required,
		   const cJSON **out)
{
	int rc = member(r, o, path, key, required, out);

	if (!rc && *out && !cJSON_IsObject(*out))
		return fail(r, -EINVAL, "%s.%s: not an object", path, key);
	return rc;
}

static int get_arr(rd *r, const cJSON *o, const char *path, const char *key, size_t max,
		   const cJSON **out)
{
	int rc = member(r, o, path, key, 0, out), n;

	if (rc || !*out)
		return rc;
	if (!cJSON_IsArray(*out))
		return fail(r, -EINVAL, "%s.%s: not an array", path, key);
	n = cJSON_GetArraySize(*out);
	if ((size_t)n > max)
		return fail(r, -E2BIG, "%s.%s: %d items, over the limit of %zu", path, key, n, max);
	return 0;
}

/* A string of at most max bytes; NUL marks refused unless nul_ok. */
static int get_str_nul(rd *r, const cJSON *o, const char *path, const char *key, int required,
		       size_t max, int nul_ok, const char **out)
{
	const cJSON *m;
	int rc = member(r, o, path, key, required, &m);
	size_t n;

	*out = NULL;
	if (rc || !m)
		return rc;
	if (!cJSON_IsString(m))
		return fail(r, -EINVAL, "%s.%s: not a string", path, key);
	n = strlen(m->valuestring);
	if (n > max)
		return fail(r, -E2BIG, "%s.%s: %zu bytes, over the limit of %zu", path, key, n,
			    max);
	if (r->nul_marks && !nul_ok && memchr(m->valuestring, NUL_MARK, n))
		return fail(r, -EINVAL, "%s.%s: holds a NUL byte (\\u0000)", path, key);
	*out = m->valuestring;
	return 0;
}

static int get_str(rd *r, const cJSON *o, const char *path, const char *key, int required,
		   size_t max, const char **out)
{
	return get_str_nul(r, o, path, key, required, max, 0, out);
}

static int get_num(rd *r, const cJSON *o, const char *path, const char *key, int required,
		   double *out)
{
	const cJSON *m;
	int rc = member(r, o, path, key, required, &m);

	if (rc || !m)
		return rc;
	if (!cJSON_IsNumber(m))
		return fail(r, -EINVAL, "%s.%s: not a number", path, key);
	*out = m->valuedouble;
	return 0;
}

static int dup_str(rd *r, const char *s, char **out)
{
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : fail(r, -ENOMEM, "out of memory");
}

/* ---- dates -------------------------------------------------------------- */

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* The zone offset in seconds ("Z", "+02:00", "-0130", or none: UTC). */
static int zone(const char *p, long *off)
{
	int hh, mm, sign = *p == '-' ? -1 : 1;

	*off = 0;
	if (!*p || (*p == 'Z' && !p[1]))
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	p++;
	if (digits(&p, 2, &hh) < 0)
		return -1;
	if (*p == ':')
		p++;
	if (digits(&p, 2, &mm) < 0 || *p || hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

/* An ISO 8601 date and time ("2024-06-01T10:15:00.123+02:00") in seconds
 * since the epoch. */
static int parse_date(const char *s, double *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec;
	double frac = 0, scale = 0.1;
	long off;
	const char *p = s;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0 || (*p != 'T' && *p != ' ') || !*p++ || digits(&p, 2, &h) < 0 ||
	    *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' || digits(&p, 2, &sec) < 0)
		return -1;
	if (*p == '.' || *p == ',') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (zone(p, &off) < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (double)timegm(&tm) - (double)off + frac;
	return 0;
}

/* ---- pages -------------------------------------------------------------- */

static int read_page(rd *r, har *h, const cJSON *pj, size_t i)
{
	char path[64], q[80];
	const char *id, *title;
	int rc;

	snprintf(path, sizeof(path), "log.pages[%zu]", i);
	if (!cJSON_IsObject(pj))
		return fail(r, -EINVAL, "%s: not an object", path);
	if ((rc = get_str(r, pj, path, "id", 1, HAR_MAX_STR, &id)) ||
	    (rc = get_str(r, pj, path, "title", 0, HAR_MAX_STR, &title)))
		return rc;
	for (size_t k = 0; k < i; k++)
		if (strcmp(h->pages[k].id, id) == 0)
			return fail(r, -EINVAL, "%s.id: %s is the id of log.pages[%zu] too", path,
				    quote(q, sizeof(q), id), k);
	if ((rc = dup_str(r, id, &h->pages[i].id)) || (rc = dup_str(r, title, &h->pages[i].title)))
		return rc;
	return 0;
}

static int read_pages(rd *r, har *h, const cJSON *log)
{
	const cJSON *pages, *pj;
	size_t i = 0;
	int rc = get_arr(r, log, "log", "pages", HAR_MAX_PAGES, &pages);

	if (rc || !pages || cJSON_GetArraySize(pages) == 0)
		return rc;
	h->pages = calloc((size_t)cJSON_GetArraySize(pages), sizeof(*h->pages));
	if (!h->pages)
		return fail(r, -ENOMEM, "out of memory");
	cJSON_ArrayForEach(pj, pages)
	{
		h->npages = i + 1;
		if ((rc = read_page(r, h, pj, i++)))
			return rc;
	}
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

static int read_headers(rd *r, har_entry *e, const cJSON *req, const char *path)
{
	const cJSON *hs, *hj;
	char hp[128];
	size_t i = 0;
	int rc = get_arr(r, req, path, "headers", HAR_MAX_HEADERS, &hs);

	if (rc || !hs || cJSON_GetArraySize(hs) == 0)
		return rc;
	e->headers = calloc((size_t)cJSON_GetArraySize(hs), sizeof(*e->headers));
	if (!e->headers)
		return fail(r, -ENOMEM, "out of memory");
	cJSON_ArrayForEach(hj, hs)
	{
		const char *name, *value;

		snprintf(hp, sizeof(hp), "%s.headers[%zu]", path, i++);
		if (!cJSON_IsObject(hj))
			return fail(r, -EINVAL, "%s: not an object", hp);
		if ((rc = get_str(r, hj, hp, "name", 1, HAR_MAX_HEADER_NAME, &name)) ||
		    (rc = get_str(r, hj, hp, "value", 1, HAR_MAX_HEADER_VALUE, &value)))
			return rc;
		e->nheaders++;
		if ((rc = dup_str(r, name, &e->headers[e->nheaders - 1].name)) ||
		    (rc = dup_str(r, value, &e->headers[e->nheaders - 1].value)))
			return rc;
	}
	return 0;
}

/* A size error of a body, as a message. */
static int body_error(rd *r, int rc, const char *path)
{
	if (rc == -E2BIG)
		return fail(r, rc, "%s: the body is over the limit of %u bytes", path,
			    HAR_MAX_BODY);
	if (rc == -EINVAL)
		return fail(r, rc, "%s.text: not valid base64", path);
	return fail(r, rc, "out of memory");
}

/* postData.params without text: the form a browser would send. */
static int read_params(rd *r, har_entry *e, const cJSON *pd, const char *path, const char *type)
{
	const cJSON *ps, *pj;
	char pp[128], *buf = NULL;
	size_t len = 0, i = 0;
	int rc = get_arr(r, pd, path, "params", HAR_MAX_PARAMS, &ps);

	if (rc || !ps || cJSON_GetArraySize(ps) == 0)
		return rc;
	if (type && strncasecmp(type, "multipart/", 10) == 0)
		return fail(r, -EINVAL, "%s: a multipart body without its text is not supported",
			    path);
	cJSON_ArrayForEach(pj, ps)
	{
		const char *name, *value;

		snprintf(pp, sizeof(pp), "%s.params[%zu]", path, i++);
		if (!cJSON_IsObject(pj))
			rc = fail(r, -EINVAL, "%s: not an object", pp);
		else if (!(rc = get_str(r, pj, pp, "name", 1, HAR_MAX_BODY, &name)) &&
			 !(rc = get_str(r, pj, pp, "value", 0, HAR_MAX_BODY, &value)) &&
			 (rc = har_body_form_add(&buf, &len, name, value ? value : "",
						 HAR_MAX_BODY)))
			rc = body_error(r, rc, path);
		if (rc) {
			free(buf);
			return rc;
		}
	}
	e->body = (unsigned char *)buf;
	e->body_len = len;
	return 0;
}

/* postData.text as bytes: NUL marks back to NULs. */
static int text_body(rd *r, har_entry *e, const char *text)
{
	size_t n = strlen(text);

	e->body = malloc(n + 1);
	if (!e->body)
		return fail(r, -ENOMEM, "out of memory");
	for (size_t i = 0; i <= n; i++)
		e->body[i] = (unsigned char)(r->nul_marks && text[i] == NUL_MARK ? '\0' : text[i]);
	e->body_len = n;
	return 0;
}

static int read_body(rd *r, har_entry *e, const cJSON *req, const char *path)
{
	const cJSON *pd;
	const char *type, *text, *enc;
	char pp[96];
	int rc = get_obj(r, req, path, "postData", 0, &pd);

	if (rc || !pd)
		return rc;
	snprintf(pp, sizeof(pp), "%s.postData", path);
	if ((rc = get_str(r, pd, pp, "mimeType", 0, HAR_MAX_STR, &type)) ||
	    (rc = get_str(r, pd, pp, "encoding", 0, HAR_MAX_STR, &enc)) ||
	    (rc = get_str_nul(r, pd, pp, "text", 0, HAR_MAX_FILE, 1, &text)) ||
	    (rc = dup_str(r, type && *type ? type : NULL, &e->body_type)))
		return rc;
	if (!text)
		return read_params(r, e, pd, pp, type);
	if (enc && *enc && strcmp(enc, "base64") != 0) {
		char q[80];
		return fail(r, -EINVAL, "%s.encoding: %s is not \"base64\"", pp,
			    quote(q, sizeof(q), enc));
	}
	if (enc && *enc) {
		if (r->nul_marks && strchr(text, NUL_MARK))
			return fail(r, -EINVAL, "%s.text: not valid base64", pp);
		if ((rc = har_body_base64(text, &e->body, &e->body_len, HAR_MAX_BODY)))
			return body_error(r, rc, pp);
		return 0;
	}
	if (strlen(text) > HAR_MAX_BODY)
		return body_error(r, -E2BIG, pp);
	return text_body(r, e, text);
}

static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *s))
			return 0;
	return 1;
}

/* The URL: its kind, and for HTTP its parts. */
static int read_url(rd *r, har_entry *e, const char *path)
{
	char scheme[16], q[80];
	const char *why;
	int rc;

	if (har_url_scheme(e->url, scheme, sizeof(scheme)) < 0)
		return fail(r, -EINVAL, "%s.url: not an absolute URL: %s", path,
			    quote(q, sizeof(q), e->url));
	if (strcmp(scheme, "ws") == 0 || strcmp(scheme, "wss") == 0)
		e->kind = HAR_WEBSOCKET;
	else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		e->kind = HAR_OTHER;
	if (e->kind != HAR_HTTP)
		return 0;
	rc = har_url_split(e->url, &e->origin, &e->host, &e->target, &why);
	if (rc == -ENOMEM)
		return fail(r, rc, "out of memory");
	if (rc)
		return fail(r, rc, "%s.url: %s: %s", path, why, quote(q, sizeof(q), e->url));
	return 0;
}

static int read_request(rd *r, har_entry *e, const cJSON *ej, const char *epath)
{
	const cJSON *req;
	const char *method, *url;
	char path[64], q[80];
	int rc;

	snprintf(path, sizeof(path), "%s.request", epath);
	if ((rc = get_obj(r, ej, epath, "request", 1, &req)) ||
	    (rc = get_str(r, req, path, "method", 1, HAR_MAX_METHOD, &method)) ||
	    (rc = get_str(r, req, path, "url", 1, HAR_MAX_URL, &url)))
		return rc;
	if (!is_token(method))
		return fail(r, -EINVAL, "%s.method: %s is not an HTTP method", path,
			    quote(q, sizeof(q), method));
	if ((rc = dup_str(r, method, &e->method)) || (rc = dup_str(r, url, &e->url)) ||
	    (rc = read_url(r, e, path)) || (rc = read_headers(r, e, req, path)))
		return rc;
	return read_body(r, e, req, path);
}

/* ---- responses ---------------------------------------------------------- */

/* The Location header's value among the response headers, or NULL. */
static int location_header(rd *r, const cJSON *resp, const char *path, const char **out)
{
	const cJSON *hs, *hj;
	char hp[128];
	size_t i = 0;
	int rc = get_arr(r, resp, path, "headers", HAR_MAX_HEADERS, &hs);

	*out = NULL;
	if (rc || !hs)
		return rc;
	cJSON_ArrayForEach(hj, hs)
	{
		const char *name;

		snprintf(hp, sizeof(hp), "%s.headers[%zu]", path, i++);
		if (!cJSON_IsObject(hj))
			return fail(r, -EINVAL, "%s: not an object", hp);
		if ((rc = get_str(r, hj, hp, "name", 1, HAR_MAX_HEADER_NAME, &name)))
			return rc;
		if (strcasecmp(name, "location") == 0)
			return get_str(r, hj, hp, "value", 1, HAR_MAX_URL, out);
	}
	return 0;
}

static int read_response(rd *r, har_entry *e, const cJSON *ej, const char *epath)
{
	const cJSON *resp, *content;
	const char *loc, *type;
	char path[64];
	double st;
	int rc;

	snprintf(path, sizeof(path), "%s.response", epath);
	if ((rc = get_obj(r, ej, epath, "response", 1, &resp)) ||
	    (rc = get_num(r, resp, path, "status", 1, &st)))
		return rc;
	if (!(st >= 0 && st <= 999) || st != (int)st)
		return fail(r, -EINVAL, "%s.status: %g is not an HTTP status", path, st);
	e->status = (int)st;
	if (e->status == 101)
		e->kind = HAR_WEBSOCKET;
	if ((rc = get_str(r, resp, path, "redirectURL", 0, HAR_MAX_URL, &loc)) ||
	    (!(loc && *loc) && (rc = location_header(r, resp, path, &loc))) ||
	    (rc = get_obj(r, resp, path, "content", 0, &content)))
		return rc;
	if (content) {
		char cp[80];
		snprintf(cp, sizeof(cp), "%s.content", path);
		if ((rc = get_str(r, content, cp, "mimeType", 0, HAR_MAX_STR, &type)) ||
		    (rc = dup_str(r, type && *type ? type : NULL, &e->resp_type)))
			return rc;
	}
	/* NULL when it cannot be resolved: the redirect is then not followed. */
	if (loc && *loc && e->kind == HAR_HTTP)
		e->location = har_url_resolve(e->origin, e->target, loc);
	return 0;
}

/* ---- entries ------------------------------------------------------------ */

static int page_index(rd *r, const har *h, const cJSON *ej, const char *path, int *page)
{
	const char *ref;
	char q[80];
	int rc = get_str(r, ej, path, "pageref", 0, HAR_MAX_STR, &ref);

	*page = -1;
	if (rc || !ref)
		return rc;
	for (size_t i = 0; i < h->npages; i++)
		if (strcmp(h->pages[i].id, ref) == 0) {
			*page = (int)i;
			return 0;
		}
	return fail(r, -EINVAL, "%s.pageref: no page %s in log.pages", path,
		    quote(q, sizeof(q), ref));
}

/* Chrome marks what its cache answered with "_fromCache". */
static int from_cache(const cJSON *ej)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(ej, "_fromCache");

	return c && !cJSON_IsNull(c) && !cJSON_IsFalse(c) &&
		!(cJSON_IsString(c) && !*c->valuestring);
}

static int read_entry(rd *r, har *h, const cJSON *ej, size_t i)
{
	har_entry *e = &h->entries[i];
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(ej, "_resourceType");
	const char *date;
	char path[48], q[80];
	int rc;

	e->index = i;
	snprintf(path, sizeof(path), "log.entries[%zu]", i);
	if (!cJSON_IsObject(ej))
		return fail(r, -EINVAL, "%s: not an object", path);
	if ((rc = get_str(r, ej, path, "startedDateTime", 1, HAR_MAX_STR, &date)))
		return rc;
	if (parse_date(date, &e->start) < 0)
		return fail(r, -EINVAL, "%s.startedDateTime: %s is not an ISO 8601 date and time",
			    path, quote(q, sizeof(q), date));
	if ((rc = get_num(r, ej, path, "time", 1, &e->time)))
		return rc;
	if (!(e->time > 0 && e->time < 1e10))
		e->time = 0; /* -1, NaN or absurd: no duration known */
	e->time /= 1000;
	if ((rc = page_index(r, h, ej, path, &e->page)) || (rc = read_request(r, e, ej, path)) ||
	    (rc = read_response(r, e, ej, path)))
		return rc;
	e->from_cache = from_cache(ej);
	if (cJSON_IsString(rt) && strcmp(rt->valuestring, "websocket") == 0)
		e->kind = HAR_WEBSOCKET;
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const har_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int read_entries(rd *r, har *h, const cJSON *log)
{
	const cJSON *entries, *ej;
	size_t i = 0;
	int rc = get_arr(r, log, "log", "entries", HAR_MAX_ENTRIES, &entries);

	if (!rc && !entries)
		rc = fail(r, -EINVAL, "log.entries: missing");
	if (rc || cJSON_GetArraySize(entries) == 0)
		return rc;
	h->entries = calloc((size_t)cJSON_GetArraySize(entries), sizeof(*h->entries));
	if (!h->entries)
		return fail(r, -ENOMEM, "out of memory");
	cJSON_ArrayForEach(ej, entries)
	{
		h->nentries = i + 1;
		if ((rc = read_entry(r, h, ej, i++)))
			return rc;
	}
	qsort(h->entries, h->nentries, sizeof(*h->entries), by_start);
	return 0;
}

static int read_creator(rd *r, har *h, const cJSON *log)
{
	const cJSON *c;
	const char *name = NULL, *version = NULL;
	int rc;

	if ((rc = get_obj(r, log, "log", "creator", 0, &c)) || !c ||
	    (rc = get_str(r, c, "log.creator", "name", 0, HAR_MAX_STR, &name)) ||
	    (rc = get_str(r, c, "log.creator", "version", 0, HAR_MAX_STR, &version)) || !name)
		return rc;
	if (asprintf(&h->creator, "%s%s%s", name, version ? " " : "", version ? version : "") < 0) {
		h->creator = NULL;
		return fail(r, -ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- the file ----------------------------------------------------------- */

/* The line of offset off in data (1-based). */
static size_t line_of(const char *data, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += data[i] == '\n';
	return line;
}

/* Offset of the first real "\u0000" escape (an odd run of backslashes
 * before the u), or len when there is none. */
static size_t find_nul_escape(const char *d, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		size_t k = 0;

		if (d[i] != '\\')
			continue;
		while (i + k < len && d[i + k] == '\\')
			k++;
		if (k % 2 == 1 && i + k + 5 <= len && memcmp(d + i + k, "u0000", 5) == 0)
			return i + k - 1;
		i += k - 1;
	}
	return len;
}

/* A copy of d with each real \u0000 escape as one NUL_MARK byte. */
static char *mark_nuls(const char *d, size_t len, size_t *outlen)
{
	char *o = malloc(len + 1);
	size_t n = 0, at;

	if (!o)
		return NULL;
	while ((at = find_nul_escape(d, len)) < len) {
		memcpy(o + n, d, at);
		n += at;
		o[n++] = NUL_MARK;
		d += at + 6;
		len -= at + 6;
	}
	memcpy(o + n, d, len);
	n += len;
	o[n] = '\0';
	*outlen = n;
	return o;
}

static int read_log(rd *r, har *h, const cJSON *root)
{
	const cJSON *log;
	int rc;

	if (!cJSON_IsObject(root))
		return fail(r, -EINVAL, "not a HAR file: the top level is not a JSON object");
	if ((rc = get_obj(r, root, "(top)", "log", 0, &log)))
		return rc;
	if (!log)
		return fail(r, -EINVAL, "log: missing (not a HAR file)");
	if ((rc = read_creator(r, h, log)) || (rc = read_pages(r, h, log)) ||
	    (rc = read_entries(r, h, log)))
		return rc;
	return 0;
}

static int parse_json(rd *r, har *h, const char *data, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	int rc;

	if (!root) {
		size_t off = end && end >= data && end <= data + len ? (size_t)(end - data) : 0;
		const char *ep = cJSON_GetErrorPtr();

		if (ep && ep >= data && ep <= data + len)
			off = (size_t)(ep - data);
		return fail(r, -EINVAL, "line %zu: not valid JSON", line_of(data, off));
	}
	while (end && end < data + len && isspace((unsigned char)*end))
		end++;
	if (end && end < data + len) {
		cJSON_Delete(root);
		return fail(r, -EINVAL, "line %zu: more after the JSON value",
			    line_of(data, (size_t)(end - data)));
	}
	rc = read_log(r, h, root);
	cJSON_Delete(root);
	return rc;
}

int har_parse(har *h, const char *name, const char *data, size_t len, char *err, size_t errlen)
{
	rd r = { .file = name, .err = err, .errlen = errlen };
	char *marked = NULL;
	int rc;

	memset(h, 0, sizeof(*h));
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3; /* a UTF-8 byte order mark */
		len -= 3;
	}
	if (memchr(data, '\0', len))
		return fail(&r, -EINVAL, "line %zu: a NUL byte (not a HAR file)",
			    line_of(data, (size_t)((const char *)memchr(data, '\0', len) - data)));
	if (find_nul_escape(data, len) < len) {
		if (memchr(data, NUL_MARK, len))
			return fail(&r, -EINVAL,
				    "line %zu: a \\u0000 escape in a file that is not UTF-8 "
				    "(mitectl cannot carry the NUL byte through)",
				    line_of(data, find_nul_escape(data, len)));
		if (!(marked = mark_nuls(data, len, &len)))
			return fail(&r, -ENOMEM, "out of memory");
		data = marked;
		r.nul_marks = 1;
	}
	rc = parse_json(&r, h, data, len);
	free(marked);
	if (rc)
		har_free(h);
	return rc;
}

static int read_file(rd *r, const char *path, char **out, size_t *outlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0)
		return fail(r, -errno, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(r, -EINVAL, "not a regular file");
	}
	if ((unsigned long long)st.st_size > HAR_MAX_FILE) {
		close(fd);
		return fail(r, -E2BIG, "%lld bytes, over the limit of %u", (long long)st.st_size,
			    HAR_MAX_FILE);
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
		if (k <= 0) {
			int e = k < 0 ? errno : EIO;
			free(buf);
			close(fd);
			return fail(r, -e, "read failed: %s",
				    k < 0 ? strerror(e) : "the file shrank");
		}
		n += (size_t)k;
	}
	close(fd);
	if (!buf)
		return fail(r, -ENOMEM, "out of memory");
	*out = buf;
	*outlen = n;
	return 0;
}

int har_load(har *h, const char *path, char *err, size_t errlen)
{
	rd r = { .file = path, .err = err, .errlen = errlen };
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = read_file(&r, path, &data, &len)))
		return rc;
	rc = har_parse(h, path, data, len, err, errlen);
	free(data);
	return rc;
}

static void free_entry(har_entry *e)
{
	for (size_t k = 0; k < e->nheaders; k++) {
		free(e->headers[k].name);
		free(e->headers[k].value);
	}
	free(e->headers);
	free(e->method);
	free(e->url);
	free(e->origin);
	free(e->host);
	free(e->target);
	free(e->body);
	free(e->body_type);
	free(e->location);
	free(e->resp_type);
}

void har_free(har *h)
{
	for (size_t i = 0; i < h->nentries; i++)
		free_entry(&h->entries[i]);
	free(h->entries);
	for (size_t i = 0; i < h->npages; i++) {
		free(h->pages[i].id);
		free(h->pages[i].title);
	}
	free(h->pages);
	free(h->creator);
	memset(h, 0, sizeof(*h));
}
