/*
 * http.h - HTTP requests from journeys.
 *
 *     #include <mite/mite.h>
 *     #include <mite/http.h>
 *
 *     int journey(mite_ctx *ctx, const mite_row *row)
 *     {
 *         mite_http_response *r;
 *         mite_http_set_base_url(ctx, mite_config_str(ctx, "base_url", "http://127.0.0.1:8080"));
 *         mite_txn_begin(ctx, "home");
 *         if (mite_http_get(ctx, "/", &r) == 0)
 *             mite_http_expect_status(ctx, r, 200);
 *         return mite_txn_end(ctx);
 *     }
 *
 * Sessions. Each journey instance has one HTTP session, created on its
 * first HTTP call. A session holds the settings below (default headers, base
 * URL, TLS, timeouts, ...), which last for the instance's life, and a cookie
 * jar, which starts empty at every iteration: each iteration is a new
 * visitor, as in the original mite. Connections are kept alive and reused
 * across requests, iterations and instances of the same runner; the DNS
 * cache is shared by the runner.
 *
 * Clients. http:// and https:// requests go through mite's own client
 * (HTTP/1.1 and HTTP/2, TLS through OpenSSL), unless the session sets a
 * proxy (or the environment names a proxy for the URL's scheme);
 * everything else goes through libcurl. Both send the same headers and report the same
 * timings, error classes and messages (TLS failures included). The
 * scenario's config key http_engine = "curl" sends every request through
 * libcurl ("auto", the default, chooses as above).
 *
 * Requests. Every request call may yield: the journey's coroutine parks
 * while the runner's event loop carries the transfer. Each response (and
 * each redirect hop) is recorded in the run's statistics, labelled by
 * journey, transaction, method and status, with its total time, phase
 * times and bytes. A status is never an error by itself: check it with
 * mite_http_expect_status or your own test. A transport error (name
 * resolution, refused connection, reset, TLS, timeout, too many redirects,
 * a body or head over its limit, a body file that cannot be opened,
 * other) fails the enclosing transaction with a message naming its class
 * and URL, is counted by class, and makes the call return MITE_EIO (or
 * MITE_ETIMEDOUT) with *out set to NULL. mite_http_batch sends several
 * requests at once and waits for all (HTTP/2 streams of one connection,
 * or up to six HTTP/1.1 connections).
 *
 * Limits. A response keeps at most 16 MiB of body by default, and the
 * live responses of a session 64 MiB together (mite_http_set_body_limit,
 * mite_http_opts.max_body, or the scenario's config keys http_body_limit
 * and http_session_body_limit); a response's head and trailers may have
 * 64 KiB. More fails the request (class body_too_large or
 * header_too_large): the client stops reading, closes the connection and
 * keeps nothing of the body. A discarded body (MITE_HTTP_DISCARD_BODY) is
 * counted, not kept, and has no limit but the request's timeout.
 *
 * Ownership. A response belongs to the session: it stays valid (with every
 * string it points to) until mite_http_response_free or the end of the
 * iteration, whichever comes first. Pass out = NULL when you do not need the
 * response: it is recorded and released at once. Settings strings are
 * copied.
 *
 * This header includes only libc headers; nothing of libcurl shows.
 */
#ifndef MITE_HTTP_H
#define MITE_HTTP_H

#include <mite/mite.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The layout of struct mite_http_api this header describes. */
#define MITE_HTTP_API_VERSION \
	4 /* 2: set_body_limit, mite_http_opts.max_body and body_cb;
				 * 3: set_tls_versions, set_tls_resumption,
				 * MITE_HTTP_NEW_CONNECTION, response tls_version and
				 * tls_resumed;
				 * 4: batch (mite_http_batch, mite_http_req),
				 * mite_http_opts.body_file */

/* HTTP versions for mite_http_set_version. */
#define MITE_HTTP_V1_1 11 /* HTTP/1.1 only (the default) */
#define MITE_HTTP_V2 \
	20 /* HTTP/2 over TLS where the server offers it (ALPN),
				 * else HTTP/1.1; HTTP/2 connections are multiplexed
				 * by every instance of the runner (at most
				 * http2_max_streams streams each, a config key) */
#define MITE_HTTP_V2_PRIOR 21 /* HTTP/2 without TLS (h2c, prior knowledge) */

/* TLS versions for mite_http_set_tls_versions (0: the system's default). */
#define MITE_HTTP_TLS1_2 12
#define MITE_HTTP_TLS1_3 13

/* Request flags (mite_http_opts.flags). */
#define MITE_HTTP_DISCARD_BODY 0x1 /* count the body's bytes, keep none */
#define MITE_HTTP_KEEP_BODY 0x2 /* keep the body even if the session discards */
#define MITE_HTTP_NO_REDIRECTS 0x4 /* return a 3xx as it is */
#define MITE_HTTP_REDIRECTS 0x8 /* follow even if the session does not */
#define MITE_HTTP_NEW_CONNECTION \
	0x10 /* open a new connection for this request (a
				       * new TLS handshake over https) and close it
				       * after the response (API version 3 on;
				       * ignored before) */

/* Per-request options; every field is optional (zero means "the session's
 * setting"). Build it with a designated initializer:
 *
 *     mite_http_opts o = {.name = "search", .json = "{\"q\":\"x\"}"};
 */
typedef struct mite_http_opts {
	/* A label for this request in http_metrics events and on the
	 * response; borrowed for the call. */
	const char *name;
	/* Extra headers, "Name: value" strings, NULL-terminated. A header
	 * named here replaces the session default of that name; "Name:"
	 * removes it. Borrowed for the call. */
	const char *const *headers;
	/* The request body (borrowed for the call; may hold NUL bytes). Sent
	 * with "Content-Type: application/x-www-form-urlencoded" (libcurl's
	 * default, on both engines) unless headers name a type. */
	const void *body;
	size_t body_len;
	/* A JSON body as a string: sent as the body (instead of `body`) with
	 * "Content-Type: application/json" unless headers name one. */
	const char *json;
	/* Total time allowed for this request in seconds (0: the session's). */
	double timeout;
	/* MITE_HTTP_* flags. */
	unsigned flags;
	/* Version 2 on (these took spare slots of version 1, whose mites
	 * ignore them). */
	/* The most body bytes this response may keep (0: the session's limit;
	 * MITE_HTTP_NO_LIMIT: none but the session's total). */
	size_t max_body;
	/* Streams the body: each piece goes to body_cb(body_arg, data, len)
	 * as it arrives, and the response keeps none of it (body is "";
	 * bytes_in counts it; no body limit applies). The callback runs on the
	 * runner's event loop, outside the journey: it must not call mite
	 * functions or block, and data is valid only during the call. Return
	 * 0 to go on; anything else stops reading: the request ends there,
	 * successfully, with what came so far (the connection is closed). The
	 * bodies of redirects that are followed do not reach it. */
	int (*body_cb)(void *arg, const char *data, size_t len);
	void *body_arg;
	/* Version 4 on (it took the last spare slot: a mite before ignores
	 * it, and sends no body). The path of a file to send as the body,
	 * read in pieces as it goes out, never whole (large uploads; the
	 * body limits apply to responses, not to this). Its size is taken
	 * when the request starts, and sent as Content-Length; `body`,
	 * `body_len` and `json` must be unset. A file that cannot be opened
	 * fails the request (class file, the message names the path and
	 * why), as a transport error does. Borrowed for the call. */
	const char *body_file;
} mite_http_opts;

/* No limit (mite_http_opts.max_body, mite_http_set_body_limit). */
#define MITE_HTTP_NO_LIMIT ((size_t)-1)

/* Phase times of one response, in seconds. dns, connect and tls are 0 on a
 * reused connection (tls also over plain HTTP). */
typedef struct mite_http_timings {
	double dns; /* name resolution */
	double connect; /* TCP (and proxy) connect, after dns */
	double tls; /* TLS handshake, after connect */
	double ttfb; /* "waiting": from the request sent to the first byte of the
			 * response (as browsers' TTFB) */
	double total; /* the whole transfer, from its start to the last byte
			 * (the native client starts it in the call, libcurl on
			 * the event loop's turn after); the enclosing
			 * transaction also counts the time the runner's loop
			 * took to get to it */
} mite_http_timings;

/* A response. Read-only for the journey; owned by the session (see
 * "Ownership" above). Fields are only ever appended. */
typedef struct mite_http_response {
	uint32_t size; /* sizeof(mite_http_response) as mite built it */
	int status; /* e.g. 200 */
	const char *method; /* "GET", ... */
	const char *url; /* the effective URL, after redirects */
	const char *name; /* opts.name, or NULL */
	const char *body; /* NUL-terminated (so cJSON_Parse can read it); "" when
				 * discarded */
	size_t body_len; /* bytes in body (0 when discarded) */
	uint64_t bytes_in; /* body bytes received (also when discarded) */
	uint64_t header_bytes; /* response header bytes received */
	uint64_t bytes_out; /* request bytes sent, headers and body */
	char primary_ip[48]; /* the server's address ("" when unknown) */
	int http_version; /* 10, 11, 20 */
	int reused; /* 1 when the connection was reused */
	int redirects; /* redirect hops followed to get here */
	double start; /* mite_now() when the request (first hop) began */
	mite_http_timings t; /* of the last hop */
	/* API version 3 on (these took a spare slot: 0 from a mite before). */
	int tls_version; /* the connection's TLS version: 12 (TLS 1.2), 13 (TLS
				 * 1.3); 0 without TLS */
	int tls_resumed; /* 1 when this hop opened a TLS connection that
				 * resumed an earlier session (an abbreviated
				 * handshake); 0 otherwise, also on a reused
				 * connection */
	void *spare[3];
} mite_http_response;

/* The most requests one mite_http_batch call takes. */
#define MITE_HTTP_BATCH_MAX 100

/* One request of a batch (mite_http_batch). The journey sets method, url
 * and opts; the call sets resp and rc. */
typedef struct mite_http_req {
	const char *method; /* NULL: "GET" */
	const char *url; /* as mite_http_request's */
	const mite_http_opts *opts; /* NULL: none (borrowed for the call) */
	mite_http_response *resp; /* out: the response (see "Ownership"), or NULL */
	int rc; /* out: 0 (a response arrived), MITE_EIO,
				     * MITE_ETIMEDOUT, MITE_ECANCELED, MITE_EINVAL or
				     * MITE_ENOMEM, as mite_http_request returns */
	void *spare[2];
} mite_http_req;

/*
 * The function table (mite_api.http). Its layout only grows: `size` tells
 * how much of it this mite provides. Call the wrappers below.
 */
typedef struct mite_http_api {
	uint32_t version; /* MITE_HTTP_API_VERSION */
	uint32_t size; /* sizeof(struct mite_http_api) */

	int (*request)(mite_ctx *ctx, const char *method, const char *url,
		       const mite_http_opts *opts, mite_http_response **out, const char *file,
		       int line, const char *func);
	void (*response_free)(mite_ctx *ctx, mite_http_response *resp);
	const char *(*header)(const mite_http_response *resp, const char *name, size_t idx);
	int (*expect_status)(mite_ctx *ctx, const mite_http_response *resp, int lo, int hi,
			     const char *file, int line, const char *func);

	/* session settings */
	int (*set_header)(mite_ctx *ctx, const char *name, const char *value);
	int (*clear_headers)(mite_ctx *ctx);
	int (*set_base_url)(mite_ctx *ctx, const char *url);
	int (*set_basic_auth)(mite_ctx *ctx, const char *user, const char *password);
	int (*set_client_cert)(mite_ctx *ctx, const char *cert, const char *key,
			       const char *key_password);
	int (*set_tls_verify)(mite_ctx *ctx, int on);
	int (*set_ca_file)(mite_ctx *ctx, const char *path);
	int (*set_proxy)(mite_ctx *ctx, const char *url);
	int (*set_version)(mite_ctx *ctx, int version);
	int (*set_timeouts)(mite_ctx *ctx, double connect, double total);
	int (*set_redirects)(mite_ctx *ctx, int follow, int max);
	int (*set_discard_body)(mite_ctx *ctx, int on);

	/* helpers (no session needed) */
	long (*build_url)(char *buf, size_t len, const char *url, const char *const *params);
	long (*escape)(char *buf, size_t len, const char *s);

	/* Version 2 on. Calls added later take spare slots: NULL in a mite
	 * that lacks them (the wrappers check). */
	int (*set_body_limit)(mite_ctx *ctx, size_t response, size_t session);
	/* Version 3 on. */
	int (*set_tls_versions)(mite_ctx *ctx, int min, int max);
	int (*set_tls_resumption)(mite_ctx *ctx, int on);
	/* Version 4 on. req_size: sizeof(mite_http_req) as the module
	 * built it (the array's stride). */
	int (*batch)(mite_ctx *ctx, struct mite_http_req *reqs, size_t n, size_t req_size,
		     const char *file, int line, const char *func);

	void *spare[4];
} mite_http_api;

/* The table's caller checks that this mite has HTTP at all. */
#define mite__http (mite__api->http)

/* ---- requests ------------------------------------------------------------
 * All of these may yield. They return 0 when a response arrived (whatever
 * its status) and store it in *out (when out is not NULL; see "Ownership");
 * otherwise *out is NULL and they return MITE_EIO (transport error, the
 * transaction failed), MITE_ETIMEDOUT (timeout, the transaction failed),
 * MITE_ECANCELED (the run is being cancelled: return promptly), MITE_EINVAL
 * (bad method or URL) or MITE_ENOMEM. They are macros so that a failure is
 * recorded with the caller's file:line:function. */

/* mite_http_request(ctx, method, url, opts, out): any method ("GET", "POST",
 * "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", or another token). url is
 * absolute, or relative to the base URL when it starts with '/'. opts may
 * be NULL, or a compound literal written in place:
 *   mite_http_request(ctx, "PUT", "/item", &(mite_http_opts){ .body = "x", .body_len = 1 }, &r);
 * (the macro takes its arguments as __VA_ARGS__, so the literal's commas
 * are fine; a wrong argument count is a compile error of the inline
 * function below). */
static inline int mite__http_request_at(mite_ctx *ctx, const char *method, const char *url,
					const mite_http_opts *opts, mite_http_response **out,
					const char *file, int line, const char *func)
{
	return mite__http->request(ctx, method, url, opts, out, file, line, func);
}
#define mite_http_request(...) mite__http_request_at(__VA_ARGS__, __FILE__, __LINE__, __func__)

#define mite_http_get(ctx, url, out) mite_http_request((ctx), "GET", (url), NULL, (out))
#define mite_http_head(ctx, url, out) mite_http_request((ctx), "HEAD", (url), NULL, (out))
#define mite_http_delete(ctx, url, out) mite_http_request((ctx), "DELETE", (url), NULL, (out))
#define mite_http_options(ctx, url, out) mite_http_request((ctx), "OPTIONS", (url), NULL, (out))
/* Body from memory (len bytes; borrowed for the call). */
#define mite_http_post(ctx, url, b, n, out)     \
	mite_http_request((ctx), "POST", (url), \
			  (&(const mite_http_opts){ .body = (b), .body_len = (n) }), (out))
#define mite_http_put(ctx, url, b, n, out)     \
	mite_http_request((ctx), "PUT", (url), \
			  (&(const mite_http_opts){ .body = (b), .body_len = (n) }), (out))
#define mite_http_patch(ctx, url, b, n, out)     \
	mite_http_request((ctx), "PATCH", (url), \
			  (&(const mite_http_opts){ .body = (b), .body_len = (n) }), (out))
/* A JSON string body, sent with Content-Type: application/json. */
#define mite_http_post_json(ctx, url, j, out) \
	mite_http_request((ctx), "POST", (url), (&(const mite_http_opts){ .json = (j) }), (out))
#define mite_http_put_json(ctx, url, j, out) \
	mite_http_request((ctx), "PUT", (url), (&(const mite_http_opts){ .json = (j) }), (out))
#define mite_http_patch_json(ctx, url, j, out) \
	mite_http_request((ctx), "PATCH", (url), (&(const mite_http_opts){ .json = (j) }), (out))

/* mite_http_batch(ctx, reqs, n): sends the n requests of reqs at once
 * and parks until every one has ended (n from 1 to MITE_HTTP_BATCH_MAX).
 * Each goes as mite_http_request would (its redirects, limits, cookies,
 * records and errors alike, a failure recorded with the caller's
 * file:line) and gets its own resp and rc. On an HTTP/2 session
 * (mite_http_set_version) they go at once, as concurrent streams of one
 * connection per server (up to the server's and http2_max_streams'
 * stream limits; the rest wait for a stream). Over HTTP/1.1, at most
 * http_batch_connections of them (a config key, default 6, as a
 * browser's connections per host) are in flight at once, each on a
 * connection of its own; the others wait for one of them to end. Through
 * libcurl (proxies, http_engine = "curl") they go on its multi handle
 * alike. Cookies a response sets reach the requests that start after it.
 *
 * Returns 0 when every request got a response (whatever its status);
 * MITE_ECANCELED when the run is being cancelled (the requests not ended
 * by then have rc MITE_ECANCELED and no response); otherwise the rc of
 * the first request (in reqs' order) that failed. MITE_EINVAL without
 * touching the network for reqs NULL or n 0; n over MITE_HTTP_BATCH_MAX
 * also fails the enclosing transaction with a message naming n and the
 * limit. A request's own bad method or URL gives it MITE_EINVAL, and the
 * others go. MITE_EINVAL from a mite without batches (API version < 4).
 * Free the responses with mite_http_batch_free (or each with
 * mite_http_response_free), or leave them to the iteration's end. */
static inline int mite__http_batch_at(mite_ctx *ctx, mite_http_req *reqs, size_t n,
				      const char *file, int line, const char *func)
{
	if (mite__http->size <= offsetof(mite_http_api, batch) || !mite__http->batch)
		return MITE_EINVAL;
	return mite__http->batch(ctx, reqs, n, sizeof(*reqs), file, line, func);
}
#define mite_http_batch(ctx, reqs, n) \
	mite__http_batch_at((ctx), (reqs), (n), __FILE__, __LINE__, __func__)

/* Releases a response before the iteration ends (resp may be NULL). Its
 * strings become invalid. Does not yield. */
static inline void mite_http_response_free(mite_ctx *ctx, mite_http_response *resp)
{
	mite__http->response_free(ctx, resp);
}

/* Releases the responses of a batch (each may be NULL) and sets them NULL.
 * Does not yield. */
static inline void mite_http_batch_free(mite_ctx *ctx, mite_http_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mite__http->response_free(ctx, reqs[i].resp);
		reqs[i].resp = NULL;
	}
}

/* The idx-th value (0 = first) of response header `name`, compared without
 * case, or NULL when there are no more. Repeated headers (Set-Cookie, ...)
 * give one value each, in order. Owned by the response. Does not yield. */
static inline const char *mite_http_header(const mite_http_response *resp, const char *name,
					   size_t idx)
{
	return mite__http->header(resp, name, idx);
}

/* mite_http_expect_status(ctx, resp, code) and
 * mite_http_expect_status_range(ctx, resp, lo, hi): return 0 when resp's
 * status is code (lo <= status <= hi). Otherwise they fail the enclosing
 * transaction with "GET http://host/path returned 503 (expected 200)" and
 * the caller's location, and return MITE_EFAIL. A NULL resp (the request
 * failed; that was recorded already) returns MITE_EFAIL without a second
 * record. Do not yield. */
#define mite_http_expect_status(ctx, resp, code) \
	mite__http->expect_status((ctx), (resp), (code), (code), __FILE__, __LINE__, __func__)
#define mite_http_expect_status_range(ctx, resp, lo, hi) \
	mite__http->expect_status((ctx), (resp), (lo), (hi), __FILE__, __LINE__, __func__)

/* ---- session settings ----------------------------------------------------
 * They apply to the instance's later requests, for the instance's life
 * (across iterations). Strings are copied. They return 0, MITE_EINVAL or
 * MITE_ENOMEM, and do not yield. */

/* Sets a default header sent with every request; value NULL removes it.
 * A second call with the same name (any case) replaces the first. */
static inline int mite_http_set_header(mite_ctx *ctx, const char *name, const char *value)
{
	return mite__http->set_header(ctx, name, value);
}
/* Removes every default header. */
static inline int mite_http_clear_headers(mite_ctx *ctx)
{
	return mite__http->clear_headers(ctx);
}
/* URLs starting with '/' are appended to this one (e.g. "http://h:8080"; a
 * trailing '/' is dropped). NULL removes it. */
static inline int mite_http_set_base_url(mite_ctx *ctx, const char *url)
{
	return mite__http->set_base_url(ctx, url);
}
/* HTTP basic authentication for every request; user NULL turns it off. */
static inline int mite_http_set_basic_auth(mite_ctx *ctx, const char *user, const char *password)
{
	return mite__http->set_basic_auth(ctx, user, password);
}
/* A client certificate (PEM file), its key (PEM file, or NULL when the cert
 * file holds it) and the key's password (or NULL). cert NULL turns it off. */
static inline int mite_http_set_client_cert(mite_ctx *ctx, const char *cert, const char *key,
					    const char *key_password)
{
	return mite__http->set_client_cert(ctx, cert, key, key_password);
}
/* TLS peer and host name verification: on by default. */
static inline int mite_http_set_tls_verify(mite_ctx *ctx, int on)
{
	return mite__http->set_tls_verify(ctx, on);
}
/* A PEM bundle of CA certificates to verify servers with (NULL: the system's). */
static inline int mite_http_set_ca_file(mite_ctx *ctx, const char *path)
{
	return mite__http->set_ca_file(ctx, path);
}
/* A proxy URL ("http://proxy:3128", "socks5://..."); NULL: none (proxy
 * environment variables are honoured, as libcurl does). */
static inline int mite_http_set_proxy(mite_ctx *ctx, const char *url)
{
	return mite__http->set_proxy(ctx, url);
}
/* MITE_HTTP_V1_1 (default), MITE_HTTP_V2 or MITE_HTTP_V2_PRIOR. */
static inline int mite_http_set_version(mite_ctx *ctx, int version)
{
	return mite__http->set_version(ctx, version);
}
/* Connect and total timeouts in seconds (defaults 10 and 60); 0 keeps the
 * current value. A timeout fails the request with MITE_ETIMEDOUT. */
static inline int mite_http_set_timeouts(mite_ctx *ctx, double connect, double total)
{
	return mite__http->set_timeouts(ctx, connect, total);
}
/* Whether to follow redirects (default on) and at most how many hops
 * (default 5; max < 0 keeps the current value). Each hop is a request of its
 * own in the statistics and events; more hops than max is a transport error
 * of class "redirects". 301/302/303 turn a POST into a GET, as browsers do. */
static inline int mite_http_set_redirects(mite_ctx *ctx, int follow, int max)
{
	return mite__http->set_redirects(ctx, follow, max);
}
/* Whether responses keep their body (default) or only count its bytes. */
static inline int mite_http_set_discard_body(mite_ctx *ctx, int on)
{
	return mite__http->set_discard_body(ctx, on);
}
/* The most body bytes a response may keep (default 16 MiB, or the
 * scenario's http_body_limit) and the session's live responses together
 * (default 64 MiB, or http_session_body_limit); 0 keeps the current
 * value, MITE_HTTP_NO_LIMIT lifts a limit. A body over either fails its
 * request with class body_too_large. MITE_EINVAL from a mite without it. */
static inline int mite_http_set_body_limit(mite_ctx *ctx, size_t response, size_t session)
{
	return mite__http->set_body_limit ? mite__http->set_body_limit(ctx, response, session)
					  : MITE_EINVAL;
}

/* The oldest and newest TLS version to speak (MITE_HTTP_TLS1_2,
 * MITE_HTTP_TLS1_3, or 0: the system's default, TLS 1.2 and 1.3 on
 * Debian 12). A server that speaks none of them fails the handshake
 * (class tls). MITE_EINVAL for other values, min > max, or a mite
 * without it. */
static inline int mite_http_set_tls_versions(mite_ctx *ctx, int min, int max)
{
	return mite__http->size > offsetof(mite_http_api, set_tls_versions) &&
			mite__http->set_tls_versions
		? mite__http->set_tls_versions(ctx, min, max)
		: MITE_EINVAL;
}
/* Whether a new TLS connection resumes the session of an earlier one to
 * the same host and port (default on: an abbreviated handshake, as a
 * browser's second connection makes; the last session a server issued is
 * kept per runner and TLS settings). Off, every new connection makes a
 * full handshake. MITE_EINVAL from a mite without it. */
static inline int mite_http_set_tls_resumption(mite_ctx *ctx, int on)
{
	return mite__http->size > offsetof(mite_http_api, set_tls_resumption) &&
			mite__http->set_tls_resumption
		? mite__http->set_tls_resumption(ctx, on)
		: MITE_EINVAL;
}

/* ---- helpers -------------------------------------------------------------
 * No session, no yield, no allocation. Like snprintf they return the length
 * the full result needs (without the NUL) and write at most len bytes, NUL
 * included: the result is whole when the return value is < len. */

/* Writes url followed by its query, "?k1=v1&k2=v2" ('&' after a url that has
 * a '?' already), from params: key, value, key, value, ..., NULL. Keys and
 * values are percent-encoded (RFC 3986 unreserved characters stay). */
static inline long mite_http_build_url(char *buf, size_t len, const char *url,
				       const char *const *params)
{
	return mite__http->build_url(buf, len, url, params);
}
/* Writes s percent-encoded. */
static inline long mite_http_escape(char *buf, size_t len, const char *s)
{
	return mite__http->escape(buf, len, s);
}

#ifdef __cplusplus
}
#endif

#endif /* MITE_HTTP_H */
