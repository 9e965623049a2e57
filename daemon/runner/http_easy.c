/* http_easy.c - see http_easy.h. */
#include "runner/http_easy.h"

#include "runner/http_curl.h"
#include "runner/http_error.h"
#include "runner/http_headers.h"
#include "runner/http_resp.h"
#include "runner/http_session.h"
#include "runner/http_trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct easy *ez = userp;
	resp *r = ez->s->cur;
	size_t n = size * nmemb;

	r->pub.bytes_in += n;
	if (r->body_cb) {
		long status = 0;
		curl_easy_getinfo(ez->h, CURLINFO_RESPONSE_CODE, &status);
		if (http_resp_body_to_cb(r, (int)status, data, n)) {
			ez->s->fail = HF_STOPPED; /* libcurl closes the connection */
			return CURL_WRITEFUNC_ERROR;
		}
		return n;
	}
	if (r->discard)
		return n;
	/* Refused before it is kept, as the native parser does: the transfer
	 * ends (CURLE_WRITE_ERROR) and libcurl closes the connection. */
	if (n > r->limit || r->body.len > r->limit - n) {
		ez->s->fail = r->limit_session ? HF_HELD : HF_BODY;
		return CURL_WRITEFUNC_ERROR;
	}
	if (http1_buf_reserve_max(&r->body, r->body.len + n + 1,
				  r->limit < SIZE_MAX ? r->limit + 1 : SIZE_MAX) < 0)
		return CURL_WRITEFUNC_ERROR;
	memcpy(r->body.p + r->body.len, data, n);
	r->body.len += n;
	r->body.p[r->body.len] = 0;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	struct easy *ez = userp;
	resp *r = ez->s->cur;
	size_t n = size * nmemb, len = n;

	/* A status line starts a new header block (after a 100 Continue, or a
	 * proxy's CONNECT reply): keep only the last one. The head and its
	 * trailers count against the native client's limit. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		r->hdr.len = 0;
		r->hdr_raw = n;
		r->head_done = 0;
		if (ez->https && ez->e && ez->e->tls_openssl) {
			/* The connection's TLS facts, while it is ours. */
			struct curl_tlssessioninfo *ti = NULL;
			if (curl_easy_getinfo(ez->h, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
			    ti->backend == CURLSSLBACKEND_OPENSSL)
				tls_ssl_facts(ti->internals, &r->pub.tls_resumed,
					      &r->pub.tls_version);
		}
		return n;
	}
	r->hdr_raw += n;
	if (r->hdr_raw > HTTP_MAX_HEADER) {
		ez->s->fail = HF_HEADER;
		return 0;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len == 0) {
		r->head_done = 1;
		return n;
	}
	if (http1_buf_reserve(&r->hdr, r->hdr.len + len + 1) < 0)
		return 0;
	memcpy(r->hdr.p + r->hdr.len, data, len);
	r->hdr.p[r->hdr.len + len] = 0;
	r->hdr.len += len + 1;
	return n;
}

/* A new easy handle with the options every request shares. */
/* READFUNCTION: the next piece of the body file (CURLOPT_POSTFIELDS is
 * NULL only while one is sent). */
static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct easy *ez = arg;
	ssize_t k;

	if (ez->file_fd < 0)
		return 0;
	do
		k = pread(ez->file_fd, buf, size * n, (off_t)ez->file_off);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return CURL_READFUNC_ABORT;
	ez->file_off += k;
	return (size_t)k;
}

/* SEEKFUNCTION: libcurl sends the body again (a retry on a reused
 * connection). */
static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct easy *ez = arg;

	if (origin != SEEK_SET || off < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	ez->file_off = off;
	return CURL_SEEKFUNC_OK;
}

static struct easy *easy_new(http_engine *e)
{
	struct easy *ez = calloc(1, sizeof(*ez));
	CURL *h;

	if (!ez)
		return NULL;
	ez->h = h = curl_easy_init();
	if (!h) {
		free(ez);
		return NULL;
	}
	ez->e = e;
	curl_easy_setopt(h, CURLOPT_PRIVATE, ez);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ez);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, ez);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ez->errbuf);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, ez);
	curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
	curl_easy_setopt(h, CURLOPT_SEEKDATA, ez);
	ez->file_fd = -1;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, HTTP_DEFAULT_CONNECT_MS);
	ez->connect_ms = HTTP_DEFAULT_CONNECT_MS;
	curl_easy_setopt(h, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, http_curl_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, e);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, http_curl_close_socket);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, e);
	if (!e->env_proxy) {
		curl_easy_setopt(h, CURLOPT_PROXY, "");
		curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	}
	return ez;
}

static int setopt_rc(CURLcode c)
{
	return c == CURLE_OK ? 0 : c == CURLE_OUT_OF_MEMORY ? MITE_ENOMEM : MITE_EINVAL;
}

/* Configures ez with every rare setting of x. 0 or MITE_E*. */
static int xopts_apply(http_engine *e, struct easy *ez, const struct xopts *x)
{
	CURL *h = ez->h;
	long sv = x->tls_min == MITE_HTTP_TLS1_3 ? CURL_SSLVERSION_TLSv1_3
		: x->tls_min == MITE_HTTP_TLS1_2 ? CURL_SSLVERSION_TLSv1_2
						 : CURL_SSLVERSION_DEFAULT;
	int rc;

	sv |= x->tls_max == MITE_HTTP_TLS1_3     ? CURL_SSLVERSION_MAX_TLSv1_3
		: x->tls_max == MITE_HTTP_TLS1_2 ? CURL_SSLVERSION_MAX_TLSv1_2
						 : CURL_SSLVERSION_MAX_DEFAULT;
	if (x->proxy_url || e->env_proxy)
		curl_easy_setopt(h, CURLOPT_PROXY, x->proxy_url); /* (NULL: the environment's) */
	if (x->version != MITE_HTTP_V1_1) {
		/* Wait for a connection that may multiplex rather than open one more. */
		curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
		curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
				 x->version == MITE_HTTP_V2
					 ? (long)CURL_HTTP_VERSION_2TLS
					 : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	}
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, x->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, x->verify ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, x->no_resume ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, sv);
	if ((x->ca_file && (rc = setopt_rc(curl_easy_setopt(h, CURLOPT_CAINFO, x->ca_file))) < 0) ||
	    (x->cert && (rc = setopt_rc(curl_easy_setopt(h, CURLOPT_SSLCERT, x->cert))) < 0) ||
	    (x->key && (rc = setopt_rc(curl_easy_setopt(h, CURLOPT_SSLKEY, x->key))) < 0) ||
	    (x->key_pass &&
	     (rc = setopt_rc(curl_easy_setopt(h, CURLOPT_KEYPASSWD, x->key_pass))) < 0))
		return rc;
	return 0;
}

/* The handle for s's next libcurl request: its own (made now when it has
 * rare settings and none yet), or a pooled one. */
static struct easy *easy_take(session *s)
{
	http_engine *e = s->e;
	struct easy *ez;

	if (s->x && !s->x->ez) {
		if (!(s->x->ez = easy_new(e)))
			return NULL;
		if (xopts_apply(e, s->x->ez, s->x) < 0) {
			http_easy_destroy(s->x->ez);
			s->x->ez = NULL;
			return NULL;
		}
	}
	if (s->x)
		ez = s->x->ez;
	else if ((ez = e->free_easy))
		e->free_easy = ez->next;
	else if (!(ez = easy_new(e)))
		return NULL;
	ez->s = s;
	ez->next = NULL;
	s->ez = ez;
	return ez;
}

/* Gives the handle back (to the pool unless it is the session's own). */
void http_easy_release(session *s)
{
	struct easy *ez = s->ez;

	s->ez = NULL;
	if (!ez)
		return;
	ez->s = NULL;
	if (s->x && ez == s->x->ez)
		return;
	if (!s->e) {
		http_easy_destroy(ez); /* the engine closed meanwhile */
		return;
	}
	ez->next = s->e->free_easy;
	s->e->free_easy = ez;
}

void http_easy_destroy(struct easy *ez)
{
	if (!ez)
		return;
	curl_easy_cleanup(ez->h);
	free(ez->url);
	free(ez->nodes);
	free(ez->cookie.p);
	free(ez);
}

void http_easy_pool_free(http_engine *e)
{
	struct easy *ez;

	while ((ez = e->free_easy)) {
		e->free_easy = ez->next;
		http_easy_destroy(ez);
	}
}

static int nodes_reserve(struct easy *ez, size_t n)
{
	struct curl_slist *p;
	size_t c = ez->ncap ? ez->ncap : 8;

	if (n <= ez->ncap)
		return 0;
	while (c < n)
		c *= 2;
	p = realloc(ez->nodes, c * sizeof(*p));
	if (!p)
		return -1;
	ez->nodes = p;
	ez->ncap = c;
	return 0;
}

/* The header list for a libcurl request, in ez's nodes. libcurl only reads
 * CURLOPT_HTTPHEADER's list, so the nodes can be ours. NULL with *err set
 * on ENOMEM. */
static struct curl_slist *curl_headers(session *s, struct easy *ez, const mite_http_opts *o,
				       int json, size_t body_len, int *err)
{
	const char *const *rh = o ? o->headers : NULL;
	long nh = http_headers_collect(s, rh);
	size_t n = 0;

	*err = 0;
	if (nh < 0 || nodes_reserve(ez, (size_t)nh + 2) < 0) {
		*err = 1;
		return NULL;
	}
	for (long i = 0; i < nh; i++)
		ez->nodes[n++].data = (char *)s->e->hv[i];
	if (json && !http_headers_named(rh, "Content-Type", 12))
		ez->nodes[n++].data = (char *)"Content-Type: application/json";
	/* libcurl would wait up to a second for a 100 Continue. */
	if (body_len > HTTP_EXPECT_THRESHOLD && !http_headers_named(rh, "Expect", 6))
		ez->nodes[n++].data = (char *)"Expect:";
	if (n == 0)
		return NULL;
	for (size_t i = 0; i + 1 < n; i++)
		ez->nodes[i].next = &ez->nodes[i + 1];
	ez->nodes[n - 1].next = NULL;
	return &ez->nodes[0];
}

/* Sets the method and body, touching only what changed since the last
 * request on this handle. */
static void set_method(struct easy *ez, const char *method, const void *body, size_t len,
		       int has_body, int fd)
{
	int mode;
	const char *custom = NULL;

	if (has_body) {
		mode = fd >= 0 ? MODE_FILE : MODE_BODY;
		if (method != M_POST)
			custom = method;
	} else if (method == M_HEAD) {
		mode = MODE_HEAD;
	} else {
		mode = MODE_GET;
		if (method != M_GET)
			custom = method;
	}
	if (mode != ez->mode) {
		switch (mode) {
		case MODE_GET:
			curl_easy_setopt(ez->h, CURLOPT_HTTPGET, 1L);
			break;
		case MODE_HEAD:
			curl_easy_setopt(ez->h, CURLOPT_NOBODY, 1L);
			break;
		case MODE_BODY:
			curl_easy_setopt(ez->h, CURLOPT_POST, 1L);
			ez->body = NULL;
			ez->body_len = (size_t)-1;
			break;
		case MODE_FILE:
			/* POST without POSTFIELDS: the body from READFUNCTION */
			curl_easy_setopt(ez->h, CURLOPT_POST, 1L);
			curl_easy_setopt(ez->h, CURLOPT_POSTFIELDS, NULL);
			break;
		}
		ez->mode = mode;
	}
	ez->file_fd = fd;
	ez->file_off = 0;
	if (mode == MODE_FILE)
		curl_easy_setopt(ez->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if (mode == MODE_BODY && (body != ez->body || len != ez->body_len)) {
		/* Size first: POSTFIELDS with a size of -1 would strlen. */
		curl_easy_setopt(ez->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(ez->h, CURLOPT_POSTFIELDS, body ? body : "");
		ez->body = body;
		ez->body_len = len;
	}
	if (custom != ez->custom && !(custom && ez->custom && strcmp(custom, ez->custom) == 0)) {
		curl_easy_setopt(ez->h, CURLOPT_CUSTOMREQUEST, custom);
		/* Remember a custom token by value: the response that holds it
		 * is reused. */
		if (custom && !http1_req_method_known(custom)) {
			size_t n = strlen(custom);
			memcpy(ez->custom_buf, custom, n + 1); /* (interned: fits) */
			custom = ez->custom_buf;
		}
		ez->custom = custom;
	}
}

static int set_url(struct easy *ez, const char *url)
{
	size_t len = strlen(url);

	if (ez->url && strcmp(ez->url, url) == 0)
		return 0;
	if (curl_easy_setopt(ez->h, CURLOPT_URL, url) != CURLE_OK)
		return MITE_ENOMEM;
	ez->https = strncasecmp(url, "https:", 6) == 0;
	if (len + 1 > ez->url_cap) {
		char *p = realloc(ez->url, len + 1);
		if (!p) {
			if (ez->url)
				ez->url[0] = 0;
			return 0;
		}
		ez->url = p;
		ez->url_cap = len + 1;
	}
	memcpy(ez->url, url, len + 1);
	return 0;
}

/* CURLOPT_COOKIE: the jar's cookies for url (libcurl copies the string). */
static void set_cookie(session *s, struct easy *ez, const char *url)
{
	http1_url u;
	const char *v = NULL;

	if (!cookie_jar_empty(&http_home(s)->jar) && http1_url_parse(url, &u) == 0)
		v = http_headers_cookie(s, &u);
	if (!v) {
		if (ez->cookie_set) {
			curl_easy_setopt(ez->h, CURLOPT_COOKIE, NULL);
			ez->cookie_set = 0;
		}
		return;
	}
	if (ez->cookie_set && strcmp(ez->cookie.p, v) == 0)
		return;
	if (http1_buf_set(&ez->cookie, v, strlen(v)) < 0) {
		ez->cookie_set = 0;
		curl_easy_setopt(ez->h, CURLOPT_COOKIE, NULL);
		return;
	}
	curl_easy_setopt(ez->h, CURLOPT_COOKIE, v);
	ez->cookie_set = 1;
}

/* Reads the finished hop's facts from the easy handle into r. */
static void collect_curl(struct easy *ez, resp *r)
{
	CURL *h = ez->h;
	curl_off_t nl = 0, co = 0, ac = 0, pre = 0, st = 0, tot = 0, up = 0;
	long code = 0, ver = 0, hsize = 0, rsize = 0, nconn = 0;
	char *ip = NULL, *url = NULL;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &nl);
	curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &co);
	curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &ac);
	curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &st);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &tot);
	curl_easy_getinfo(h, CURLINFO_HEADER_SIZE, &hsize);
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &rsize);
	curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
	curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url);

	r->pub.status = (int)code;
	r->pub.http_version = ver == CURL_HTTP_VERSION_1_0 ? 10
		: ver == CURL_HTTP_VERSION_2_0             ? 20
		: ver == CURL_HTTP_VERSION_3               ? 30
							   : 11;
	r->pub.reused = nconn == 0;
	if (r->pub.reused)
		r->pub.tls_resumed = 0; /* (the facts on_header read are the connection's) */
	r->pub.header_bytes = (uint64_t)hsize;
	r->pub.bytes_out = (uint64_t)rsize + (uint64_t)up;
	/* Cumulative microseconds from the start; phases are differences. */
	r->pub.t.dns = nl / 1e6;
	r->pub.t.connect = co > nl ? (co - nl) / 1e6 : 0;
	r->pub.t.tls = ac > co ? (ac - co) / 1e6 : 0;
	r->pub.t.ttfb = st > pre ? (st - pre) / 1e6 : 0;
	r->pub.t.total = tot / 1e6;
	snprintf(r->pub.primary_ip, sizeof(r->pub.primary_ip), "%s", ip ? ip : "");
	if (url)
		http1_buf_set(&r->url, url, strlen(url));
	http_resp_finish(r);
}

/* What libcurl's message (or the state of r) says of a failed transfer
 * that its code does not: no status line, a head over libcurl's own
 * limits, which TLS check failed (the message is kept in the engine's
 * errtext). */
static void curl_failure(session *s, const struct easy *ez, const resp *r)
{
	http_engine *e = s->e;

	if (s->fail)
		return; /* one of our callbacks stopped it */
	if (s->result == CURLE_UNSUPPORTED_PROTOCOL && strstr(ez->errbuf, "HTTP/0.9")) {
		s->fail = HF_HTTP09;
	} else if (!r->head_done && r->pub.bytes_in == 0 &&
		   ((s->result == CURLE_OUT_OF_MEMORY && !ez->errbuf[0]) ||
		    strstr(ez->errbuf, "Too large response headers"))) {
		/* libcurl 7.88 refuses a header line over 100 KiB before our
		 * callback sees it, with CURLE_OUT_OF_MEMORY and no message
		 * (and heads over 300 KiB with one) */
		s->fail = HF_HEADER;
	} else if (strcmp(http_error_class(s->result, 0), "tls") == 0) {
		long v = 0;

		curl_easy_getinfo(ez->h, CURLINFO_SSL_VERIFYRESULT, &v);
		http_error_tls_words(s, s->result, e->tls_openssl ? v : 0, ez->errbuf,
				     (int)sizeof(ez->errbuf));
	}
}

int http_easy_start(session *s, resp *r, const struct hop *h)
{
	struct easy *ez = easy_take(s);
	struct curl_slist *hl;
	int rc, err;

	if (!ez)
		return MITE_ENOMEM;
	hl = curl_headers(s, ez, h->o, h->json, h->has_body ? h->body_len : 0, &err);
	if (err) {
		rc = MITE_ENOMEM;
		goto fail;
	}
	if (hl != ez->list) {
		curl_easy_setopt(ez->h, CURLOPT_HTTPHEADER, hl);
		ez->list = hl;
	}
	if (h->timeout_ms != ez->timeout_ms) {
		curl_easy_setopt(ez->h, CURLOPT_TIMEOUT_MS, h->timeout_ms);
		ez->timeout_ms = h->timeout_ms;
	}
	if (s->connect_ms != ez->connect_ms) {
		curl_easy_setopt(ez->h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
		ez->connect_ms = s->connect_ms;
	}
	set_method(ez, h->method, h->body, h->body_len, h->has_body, h->has_body ? h->body_fd : -1);
	if ((rc = set_url(ez, h->url)) < 0)
		goto fail;
	if (h->fresh != ez->fresh) {
		curl_easy_setopt(ez->h, CURLOPT_FRESH_CONNECT, (long)h->fresh);
		curl_easy_setopt(ez->h, CURLOPT_FORBID_REUSE, (long)h->fresh);
		ez->fresh = h->fresh;
	}
	set_cookie(s, ez, h->url);
	s->cur = r;
	ez->errbuf[0] = 0;
	http_trace_curl_on(s, ez->h);
	if (curl_multi_add_handle(s->e->multi, ez->h) != CURLM_OK) {
		rc = MITE_ENOMEM;
		goto fail;
	}
	return 0;
fail:
	s->cur = NULL;
	http_trace_curl_off(s, ez->h);
	http_easy_release(s);
	return rc;
}

int http_easy_finish(session *s, resp *r, const struct hop *h)
{
	struct easy *ez = s->ez;
	int rc = 0;

	s->cur = NULL;
	if (s->result != CURLE_OK && s->fail != HF_STOPPED) {
		const char *u = NULL;
		curl_failure(s, ez, r);
		curl_easy_getinfo(ez->h, CURLINFO_OS_ERRNO, &s->oserr);
		curl_easy_getinfo(ez->h, CURLINFO_EFFECTIVE_URL, &u);
		http1_buf_set(&s->redir, u ? u : h->url, strlen(u ? u : h->url));
		rc = 1;
		goto out;
	}
	collect_curl(ez, r);
	s->redir.len = 0;
	if (r->pub.status >= 300 && r->pub.status < 400) {
		char *loc = NULL;
		curl_easy_getinfo(ez->h, CURLINFO_REDIRECT_URL, &loc);
		if (loc && http1_buf_set(&s->redir, loc, strlen(loc)) < 0)
			rc = MITE_ENOMEM;
	}
out:
	http_trace_curl_off(s, ez->h);
	http_easy_release(s);
	return rc;
}

void http_easy_cancel(session *s)
{
	if (s->ez && s->inflight && s->e)
		curl_multi_remove_handle(s->e->multi, s->ez->h);
	s->cur = NULL;
	if (s->ez) {
		http_trace_curl_off(s, s->ez->h);
		http_easy_release(s);
	}
}

int http_easy_hop(session *s, resp *r, const struct hop *h)
{
	int rc = http_easy_start(s, r, h);

	if (rc < 0)
		return rc;
	if ((rc = http_session_park(s)) < 0) {
		http_easy_cancel(s);
		return rc;
	}
	return http_easy_finish(s, r, h);
}
