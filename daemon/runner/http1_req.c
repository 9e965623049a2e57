/* http1_req.c - see http1_req.h. */
#include "runner/http1_req.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const char *const http1_req_methods[] = { "GET",    "POST", "PUT",     "PATCH",
					  "DELETE", "HEAD", "OPTIONS", NULL };

int http1_req_method_known(const char *m)
{
	for (size_t i = 0; http1_req_methods[i]; i++)
		if (m == http1_req_methods[i])
			return 1;
	return 0;
}

/* Interns a method: one of the known ones, or a copy in buf of a valid
 * token. NULL when it is not a token. */
const char *http1_req_method_intern(const char *m, char *buf)
{
	size_t i;

	for (i = 0; http1_req_methods[i]; i++)
		if (strcmp(m, http1_req_methods[i]) == 0)
			return http1_req_methods[i];
	for (i = 0; m[i]; i++)
		if (i + 1 >= HTTP_MAX_METHOD ||
		    !(isalnum((unsigned char)m[i]) || m[i] == '-' || m[i] == '_'))
			return NULL;
	if (i == 0)
		return NULL;
	memcpy(buf, m, i + 1);
	return buf;
}

size_t http1_req_name_len(const char *line)
{
	const char *c = strpbrk(line, ":;");
	return c ? (size_t)(c - line) : strlen(line);
}

/* Appends n bytes to b (0 or -1). */
static int app(http1_buf *b, const char *p, size_t n)
{
	if (b->len + n > b->cap && http1_buf_reserve(b, b->len + n) < 0)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

#define APP_LIT(b, lit) app((b), (lit), sizeof(lit) - 1)

static int app_u64(http1_buf *b, uint64_t v)
{
	char tmp[24];
	int n = sizeof(tmp);

	do
		tmp[--n] = (char)('0' + v % 10);
	while ((v /= 10) && n > 0);
	return app(b, tmp + n, sizeof(tmp) - (size_t)n);
}

/* Whether one of the n lines names header `name` (len bytes). */
static int hv_named(const char *const *hv, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (http1_req_name_len(hv[i]) == len && strncasecmp(hv[i], name, len) == 0)
			return 1;
	return 0;
}

/* The header lines as they go: "Name:" (nothing after the colon) is not
 * sent, "Name;" goes as an empty header, a line with neither is skipped
 * (as libcurl does). */
static int write_lines(http1_buf *b, const char *const *hv, size_t nh)
{
	int err = 0;

	for (size_t i = 0; i < nh; i++) {
		const char *l = hv[i], *sep = strpbrk(l, ":;"), *v;

		if (!sep)
			continue;
		for (v = sep + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (*sep == ';') {
			/* "Name;": the header with an empty value, if that is all. */
			if (*v)
				continue;
			err |= app(b, l, (size_t)(sep - l));
			err |= APP_LIT(b, ":\r\n");
			continue;
		}
		if (!*v)
			continue;
		err |= app(b, l, strlen(l));
		err |= APP_LIT(b, "\r\n");
	}
	return err;
}

/* (No snprintf: this runs on a journey's small stack.) */
int http1_req_head(http1_buf *b, const http1_req *q)
{
	const char *const *hv = q->hv;
	size_t nh = q->nh;
	const http1_url *u = q->u;
	int err = 0;

	b->len = 0;
	err |= app(b, q->method, strlen(q->method));
	err |= APP_LIT(b, " ");
	err |= app(b, u->path, u->path_len);
	err |= APP_LIT(b, " HTTP/1.1\r\n");
	if (!hv_named(hv, nh, "Host", 4)) {
		size_t hp = u->hostport_len;
		if (u->port == 80) /* as libcurl: no default port */
			hp = (size_t)(u->host - u->hostport) + u->host_len +
				(u->host != u->hostport);
		err |= APP_LIT(b, "Host: ");
		err |= app(b, u->hostport, hp);
		err |= APP_LIT(b, "\r\n");
	}
	if (!hv_named(hv, nh, "User-Agent", 10))
		err |= APP_LIT(b, "User-Agent: " HTTP_USER_AGENT "\r\n");
	if (!hv_named(hv, nh, "Accept", 6))
		err |= APP_LIT(b, "Accept: */*\r\n");
	if (!hv_named(hv, nh, "Cookie", 6) && q->cookie) {
		err |= APP_LIT(b, "Cookie: ");
		err |= app(b, q->cookie, strlen(q->cookie));
		err |= APP_LIT(b, "\r\n");
	}
	err |= write_lines(b, hv, nh);
	if (q->has_body) {
		if (!hv_named(hv, nh, "Content-Type", 12)) {
			if (q->json)
				err |= APP_LIT(b, "Content-Type: application/json\r\n");
			else /* what libcurl says of a POSTFIELDS body */
				err |= APP_LIT(
					b, "Content-Type: application/x-www-form-urlencoded\r\n");
		}
		if (!hv_named(hv, nh, "Content-Length", 14)) {
			err |= APP_LIT(b, "Content-Length: ");
			err |= app_u64(b, q->body_len);
			err |= APP_LIT(b, "\r\n");
		}
	}
	err |= APP_LIT(b, "\r\n");
	return err ? -1 : 0;
}
