/* http_sdk.c - see http_sdk.h. */
#include "runner/http_sdk.h"

#include "runner/http_batch.h"
#include "runner/http_call.h"
#include "runner/http_int.h"
#include "runner/http_resp.h"
#include "runner/http_session.h"
#include "runner/http_trace.h"
#include "runner/inst.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The session of ctx, made at its first HTTP call (NULL on ENOMEM, or
 * without an engine). */
static session *session_get(mite_ctx *ctx)
{
	session *s = ctx->http;
	http_engine *e;

	if (s)
		return s;
	e = inst_http_engine(ctx);
	if (!e || e->closing)
		return NULL;
	s = http_session_new(e, ctx);
	ctx->http = s;
	return s;
}

void http_sdk_new_iteration(mite_ctx *ctx)
{
	if (ctx->http)
		http_session_new_iteration(ctx->http);
}

cJSON *http_sdk_last_exchange(mite_ctx *ctx)
{
	return http_trace_last(ctx->http);
}

tls_ctx *http_sdk_tls_http1(mite_ctx *ctx)
{
	session *s = session_get(ctx);

	return s ? http_session_tls_http1(s) : NULL;
}

void http_sdk_session_free(mite_ctx *ctx)
{
	session *s = ctx->http;

	ctx->http = NULL;
	if (s)
		http_session_free(s);
}

static int sdk_request(mite_ctx *ctx, const char *method, const char *url, const mite_http_opts *o,
		       mite_http_response **out, const char *file, int line, const char *func)
{
	session *s;
	resp *r;
	struct hop h = { .o = o, .body_fd = -1 };
	int follow, rc = 0;
	const char *m;
	char mbuf[HTTP_MAX_METHOD];

	if (out)
		*out = NULL;
	if (!ctx || !method || !url)
		return MITE_EINVAL;
	s = session_get(ctx);
	if (!s)
		return inst_http_engine(ctx) ? MITE_ENOMEM : MITE_EINVAL;
	if (s->inflight || !s->e)
		return s->e ? MITE_EINVAL : MITE_ECANCELED;
	if (!(m = http1_req_method_intern(method, mbuf)) ||
	    !(url = http_call_full_url(s, url, &rc)))
		return rc ? rc : MITE_EINVAL;
	if (o && o->body_file && (o->body || o->body_len || o->json))
		return MITE_EINVAL; /* one body at a time */
	http_call_hop_from_opts(s, &h, m, o);
	follow = o && (o->flags & MITE_HTTP_NO_REDIRECTS) ? 0
		: o && (o->flags & MITE_HTTP_REDIRECTS)   ? 1
							  : s->follow;
	if (!(r = http_call_resp_start(s, m, mbuf, o, follow)))
		return MITE_ENOMEM;
	if (o && o->body_file)
		rc = http_call_body_open(s, &h, r->pub.method, url, file, line, func);
	if (rc == 0)
		rc = http_call_run(s, r, &h, url, follow, file, line, func);
	http_call_body_close(&h);
	if (rc != 0)
		http_resp_put(s, r);
	else if (out)
		*out = &r->pub;
	else
		http_resp_put(s, r);
	return rc;
}

static int sdk_batch(mite_ctx *ctx, mite_http_req *reqs, size_t n, size_t req_size,
		     const char *file, int line, const char *func)
{
	session *s;

	if (!ctx || !reqs || n == 0 || req_size < offsetof(mite_http_req, spare))
		return MITE_EINVAL;
	if (n > MITE_HTTP_BATCH_MAX) {
		for (size_t i = 0; i < n; i++) {
			mite_http_req *q = (mite_http_req *)(void *)((char *)reqs + i * req_size);
			q->resp = NULL;
			q->rc = MITE_EINVAL;
		}
		inst_fail(ctx, file, line, func,
			  "mite_http_batch: n = %zu is over the limit of %d requests a batch takes "
			  "(MITE_HTTP_BATCH_MAX)",
			  n, MITE_HTTP_BATCH_MAX);
		return MITE_EINVAL;
	}
	s = session_get(ctx);
	if (!s)
		return inst_http_engine(ctx) ? MITE_ENOMEM : MITE_EINVAL;
	if (s->inflight || !s->e)
		return s->e ? MITE_EINVAL : MITE_ECANCELED;
	return http_batch_run(s, reqs, n, req_size, file, line, func);
}

static void sdk_response_free(mite_ctx *ctx, mite_http_response *pub)
{
	resp *r = (resp *)pub;

	(void)ctx;
	if (!r)
		return;
	http_resp_put(r->s, r);
}

static const char *sdk_header(const mite_http_response *pub, const char *name, size_t idx)
{
	const resp *r = (const resp *)pub;
	size_t len, off = 0;

	if (!r || !name || !r->hdr.p)
		return NULL;
	len = strlen(name);
	while (off < r->hdr.len) {
		const char *line = r->hdr.p + off;
		size_t ll = strlen(line);

		if (ll > len && line[len] == ':' && strncasecmp(line, name, len) == 0 &&
		    idx-- == 0) {
			const char *v = line + len + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		off += ll + 1;
	}
	return NULL;
}

static int sdk_expect_status(mite_ctx *ctx, const mite_http_response *r, int lo, int hi,
			     const char *file, int line, const char *func)
{
	if (!r)
		return MITE_EFAIL;
	if (r->status >= lo && r->status <= hi)
		return 0;
	http_trace_focus(ctx->http, r);
	if (lo == hi)
		return inst_fail(ctx, file, line, func, "%s %s returned %d (expected %d)",
				 r->method, r->url, r->status, lo);
	return inst_fail(ctx, file, line, func, "%s %s returned %d (expected %d-%d)", r->method,
			 r->url, r->status, lo, hi);
}

static int sdk_set_header(mite_ctx *ctx, const char *name, const char *value)
{
	session *s;
	size_t i, nl;
	char *line = NULL;

	if (!name || !*name || strpbrk(name, ":\r\n") || (value && strpbrk(value, "\r\n")))
		return MITE_EINVAL;
	if (!(s = session_get(ctx)))
		return MITE_ENOMEM;
	nl = strlen(name);
	if (value) {
		/* "Name: value", or "Name:" for an empty value (libcurl then
		 * sends nothing, nor does the native client). (No snprintf:
		 * settings calls run on the journey's small stack too.) */
		size_t vl = strlen(value), n = nl + 1;
		if (!(line = malloc(nl + 2 + vl + 1)))
			return MITE_ENOMEM;
		memcpy(line, name, nl);
		line[nl] = ':';
		if (vl) {
			line[n++] = ' ';
			memcpy(line + n, value, vl);
			n += vl;
		}
		line[n] = 0;
	}
	for (i = 0; i < s->nhdrs; i++)
		if (s->hdrs[i].namelen == nl && strncasecmp(s->hdrs[i].line, name, nl) == 0)
			break;
	if (i < s->nhdrs) {
		free(s->hdrs[i].line);
		if (line) {
			s->hdrs[i].line = line;
		} else {
			memmove(&s->hdrs[i], &s->hdrs[i + 1],
				(s->nhdrs - i - 1) * sizeof(*s->hdrs));
			s->nhdrs--;
		}
	} else if (line) {
		if (s->nhdrs == s->hdrs_cap) {
			size_t c = s->hdrs_cap ? s->hdrs_cap * 2 : 4;
			struct dhdr *p = realloc(s->hdrs, c * sizeof(*p));
			if (!p) {
				free(line);
				return MITE_ENOMEM;
			}
			s->hdrs = p;
			s->hdrs_cap = c;
		}
		s->hdrs[s->nhdrs].line = line;
		s->hdrs[s->nhdrs].namelen = nl;
		s->nhdrs++;
	}
	return 0;
}

static int sdk_clear_headers(mite_ctx *ctx)
{
	session *s = session_get(ctx);
	size_t i;

	if (!s)
		return MITE_ENOMEM;
	for (i = 0; i < s->nhdrs; i++)
		free(s->hdrs[i].line);
	s->nhdrs = 0;
	return 0;
}

static int sdk_set_base_url(mite_ctx *ctx, const char *url)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	if (http_session_copy_str(&s->base_url, url) < 0)
		return MITE_ENOMEM;
	s->base_len = url ? strlen(url) : 0;
	if (s->base_len && s->base_url[s->base_len - 1] == '/')
		s->base_url[--s->base_len] = 0;
	return 0;
}

/* Basic authentication is a header: "Authorization: Basic base64(user:pw)",
 * which both engines send as they send default headers. */
static int sdk_set_basic_auth(mite_ctx *ctx, const char *user, const char *password)
{
	static const char pre[] = "Authorization: Basic ";
	session *s = session_get(ctx);
	size_t ul, pl, n;
	unsigned char *raw;
	char *line;

	if (!s)
		return MITE_ENOMEM;
	if (!user) {
		free(s->auth);
		s->auth = NULL;
		return 0;
	}
	if (!password)
		password = "";
	if (strpbrk(user, ":\r\n") || strpbrk(password, "\r\n"))
		return MITE_EINVAL;
	ul = strlen(user);
	pl = strlen(password);
	n = ul + 1 + pl;
	if (n > INT_MAX / 2) /* EVP_EncodeBlock's length is an int */
		return MITE_EINVAL;
	if (!(raw = malloc(n)))
		return MITE_ENOMEM;
	memcpy(raw, user, ul);
	raw[ul] = ':';
	memcpy(raw + ul + 1, password, pl);
	/* pre's NUL makes room for the one EVP_EncodeBlock writes. */
	if (!(line = malloc(sizeof(pre) + (n + 2) / 3 * 4))) {
		free(raw);
		return MITE_ENOMEM;
	}
	memcpy(line, pre, sizeof(pre) - 1);
	EVP_EncodeBlock((unsigned char *)line + sizeof(pre) - 1, raw, (int)n);
	free(raw);
	free(s->auth);
	s->auth = line;
	return 0;
}

/* The session and its extra options for a setter. 0 with *x NULL when the
 * call asks for the default and the session has no extras (nothing to do),
 * 0 with *s and *x to change, or MITE_ENOMEM. */
static int setter_xopts(mite_ctx *ctx, int is_default, session **s, struct xopts **x)
{
	*x = NULL;
	if (!(*s = session_get(ctx)))
		return MITE_ENOMEM;
	if (is_default && !(*s)->x)
		return 0;
	return (*x = http_session_xopts(*s)) ? 0 : MITE_ENOMEM;
}

static int sdk_set_client_cert(mite_ctx *ctx, const char *cert, const char *key, const char *pass)
{
	session *s;
	struct xopts *x;
	int rc = setter_xopts(ctx, !cert, &s, &x);

	if (rc || !x)
		return rc;
	if (!cert)
		key = pass = NULL;
	if (http_session_xopt_str(s, &x->cert, cert) < 0 ||
	    http_session_xopt_str(s, &x->key, key) < 0 ||
	    http_session_xopt_str(s, &x->key_pass, pass) < 0)
		return MITE_ENOMEM;
	return 0;
}

static int sdk_set_tls_verify(mite_ctx *ctx, int on)
{
	session *s;
	struct xopts *x;
	int rc = setter_xopts(ctx, on, &s, &x);

	if (rc || !x)
		return rc;
	http_session_xopt_int(s, &x->verify, on != 0);
	return 0;
}

static int sdk_set_ca_file(mite_ctx *ctx, const char *path)
{
	session *s;
	struct xopts *x;
	int rc = setter_xopts(ctx, !path, &s, &x);

	if (rc || !x)
		return rc;
	return http_session_xopt_str(s, &x->ca_file, path);
}

static int sdk_set_proxy(mite_ctx *ctx, const char *url)
{
	session *s;
	struct xopts *x;
	int rc = setter_xopts(ctx, !url, &s, &x);

	if (rc || !x)
		return rc;
	if (http_session_xopt_str(s, &x->proxy_url, url) < 0)
		return MITE_ENOMEM;
	x->proxy = url && *url;
	return 0;
}

static int sdk_set_version(mite_ctx *ctx, int version)
{
	session *s;
	struct xopts *x;
	int rc;

	if (version != MITE_HTTP_V1_1 && version != MITE_HTTP_V2 && version != MITE_HTTP_V2_PRIOR)
		return MITE_EINVAL;
	if ((rc = setter_xopts(ctx, version == MITE_HTTP_V1_1, &s, &x)) || !x)
		return rc;
	http_session_xopt_int(s, &x->version, version);
	return 0;
}

static int sdk_set_tls_versions(mite_ctx *ctx, int min, int max)
{
	session *s;
	struct xopts *x;
	int rc;

	if ((min && min != MITE_HTTP_TLS1_2 && min != MITE_HTTP_TLS1_3) ||
	    (max && max != MITE_HTTP_TLS1_2 && max != MITE_HTTP_TLS1_3) ||
	    (min && max && min > max))
		return MITE_EINVAL;
	if ((rc = setter_xopts(ctx, !min && !max, &s, &x)) || !x)
		return rc;
	http_session_xopt_int(s, &x->tls_min, min);
	http_session_xopt_int(s, &x->tls_max, max);
	return 0;
}

static int sdk_set_tls_resumption(mite_ctx *ctx, int on)
{
	session *s;
	struct xopts *x;
	int rc = setter_xopts(ctx, on, &s, &x);

	if (rc || !x)
		return rc;
	http_session_xopt_int(s, &x->no_resume, !on);
	return 0;
}

static int sdk_set_timeouts(mite_ctx *ctx, double connect, double total)
{
	session *s;

	if (connect < 0 || total < 0)
		return MITE_EINVAL;
	if (!(s = session_get(ctx)))
		return MITE_ENOMEM;
	if (connect > 0) {
		s->connect_ms = (long)(connect * 1000 + 0.5);
		if (s->connect_ms < 1)
			s->connect_ms = 1;
	}
	if (total > 0) {
		s->total_ms = (long)(total * 1000 + 0.5);
		if (s->total_ms < 1)
			s->total_ms = 1;
	}
	return 0;
}

static int sdk_set_redirects(mite_ctx *ctx, int follow, int max)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	s->follow = follow != 0;
	if (max >= 0)
		s->max_redirs = max;
	return 0;
}

static int sdk_set_discard_body(mite_ctx *ctx, int on)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	s->discard = on != 0;
	return 0;
}

static int sdk_set_body_limit(mite_ctx *ctx, size_t response, size_t session_total)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	if (response)
		s->max_body = response;
	if (session_total)
		s->max_held = session_total;
	return 0;
}

/* Appends s percent-encoded at buf[*pos], counting what does not fit. */
static void put_escaped(char *buf, size_t len, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			if (*pos + 1 < len)
				buf[*pos] = (char)c;
			(*pos)++;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			for (int i = 0; i < 3; i++, (*pos)++)
				if (*pos + 1 < len)
					buf[*pos] = e[i];
		}
	}
}

static void put_raw(char *buf, size_t len, size_t *pos, const char *s)
{
	for (; *s; s++, (*pos)++)
		if (*pos + 1 < len)
			buf[*pos] = *s;
}

static long finish(char *buf, size_t len, size_t pos)
{
	if (len > 0)
		buf[pos < len ? pos : len - 1] = 0;
	return (long)pos;
}

static long sdk_escape(char *buf, size_t len, const char *s)
{
	size_t pos = 0;

	if (!s)
		return MITE_EINVAL;
	put_escaped(buf, len, &pos, s);
	return finish(buf, len, pos);
}

static long sdk_build_url(char *buf, size_t len, const char *url, const char *const *params)
{
	size_t pos = 0;
	int first;

	if (!url)
		return MITE_EINVAL;
	put_raw(buf, len, &pos, url);
	first = strchr(url, '?') == NULL;
	for (; params && params[0]; params += 2) {
		put_raw(buf, len, &pos, first ? "?" : "&");
		first = 0;
		put_escaped(buf, len, &pos, params[0]);
		if (params[1]) {
			put_raw(buf, len, &pos, "=");
			put_escaped(buf, len, &pos, params[1]);
		} else {
			break;
		}
	}
	return finish(buf, len, pos);
}

static const mite_http_api sdk_table = {
	.version = MITE_HTTP_API_VERSION,
	.size = sizeof(mite_http_api),
	.request = sdk_request,
	.response_free = sdk_response_free,
	.header = sdk_header,
	.expect_status = sdk_expect_status,
	.set_header = sdk_set_header,
	.clear_headers = sdk_clear_headers,
	.set_base_url = sdk_set_base_url,
	.set_basic_auth = sdk_set_basic_auth,
	.set_client_cert = sdk_set_client_cert,
	.set_tls_verify = sdk_set_tls_verify,
	.set_ca_file = sdk_set_ca_file,
	.set_proxy = sdk_set_proxy,
	.set_version = sdk_set_version,
	.set_timeouts = sdk_set_timeouts,
	.set_redirects = sdk_set_redirects,
	.set_discard_body = sdk_set_discard_body,
	.build_url = sdk_build_url,
	.escape = sdk_escape,
	.set_body_limit = sdk_set_body_limit,
	.set_tls_versions = sdk_set_tls_versions,
	.set_tls_resumption = sdk_set_tls_resumption,
	.batch = sdk_batch,
};

const struct mite_http_api *http_sdk_api(void)
{
	return &sdk_table;
}
