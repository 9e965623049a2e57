/*
 * http_int.h - the HTTP engine's private types, shared by its files
 * (runner/http*.c): the engine, sessions, responses, libcurl easy handles
 * and the hop a request makes. Nothing outside the engine includes it.
 *
 * Two clients under one SDK, chosen per request (each redirect hop again):
 *
 * - The native client (runner/http_native*.c: HTTP/1.1, TLS through
 *   runner/tls.c, HTTP/2 through runner/h2.c) takes http:// and https://
 *   requests of sessions that need nothing it lacks (no proxy), unless the
 *   run's config says http_engine = "curl" (runner/http_nhop.c). It costs
 *   a few thousand instructions per request where libcurl 7.88 costs
 *   about 60,000 (docs/http.md).
 * - libcurl's multi-socket interface takes everything else: proxies
 *   (runner/http_curl.c drives it on the runner's loop,
 *   runner/http_easy.c makes its requests).
 *
 * Sessions are small: settings, a cookie jar (runner/cookie.h; libcurl's
 * cookie engine is not used, so both clients share one) and pooled
 * responses. A session borrows an easy handle from the engine's pool only
 * for the duration of a libcurl request: an idle instance holds no libcurl
 * state, and keep-alive is not lost, as connections live in the multi's
 * connection cache (or the native client's pool), shared by every instance
 * of the runner. Options are set on a pooled handle only when they differ
 * from what it holds. Sessions with rare settings (proxy, client
 * certificate, TLS options, HTTP/2) keep an easy handle of their own
 * configured with them, made at their first libcurl request. The native
 * client gets their TLS settings as a shared context (runner/tls.h), one
 * per distinct settings in the runner.
 *
 * Redirects are followed by the engine rather than by libcurl
 * (CURLOPT_FOLLOWLOCATION stays off): each hop is measured and recorded on
 * its own (runner/http_call.c).
 *
 * Hot-path rules: no allocation per request in steady state (responses,
 * transfers, handles and buffers are pooled), no setopt of an unchanged
 * option, stats entries cached per session, and small stack frames: this
 * code runs on journeys' coroutine stacks, whose pages are committed as they
 * are touched (a 4 KiB page per instance is the budget; no snprintf, no
 * large local buffers on the request path).
 */
#ifndef MITE_RUNNER_HTTP_INT_H
#define MITE_RUNNER_HTTP_INT_H

#include "runner/cookie.h"
#include "runner/http.h"
#include "runner/http1.h"
#include "runner/http1_req.h"
#include "runner/http_native.h"
#include "runner/tls.h"

#include <curl/curl.h>
#include <mite/http.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_DEFAULT_CONNECT_MS 10000L
#define HTTP_DEFAULT_TOTAL_MS 60000L
#define HTTP_DEFAULT_MAX_REDIRS 5
/* The most body bytes a response keeps by default: more than nearly any
 * page or API response, little enough that a runaway server costs an
 * instance at most this much (and is cut off within a fraction of a
 * second at loopback speeds). A journey that needs more raises it, or
 * discards or streams the body. */
#define HTTP_DEFAULT_MAX_BODY ((size_t)16 << 20)
/* The most body bytes a session's live responses keep together by
 * default (responses live until freed or the iteration's end). */
#define HTTP_DEFAULT_MAX_HELD ((size_t)64 << 20)
/* The most bytes of a response's head and trailers, both clients. */
#define HTTP_MAX_HEADER HTTP1_MAX_HEAD
/* A pooled response keeps a body buffer of at most this capacity when it
 * is released; a larger one is freed (memory goes back at once). */
#define HTTP_KEEP_BUF ((size_t)64 << 10)
#define HTTP_STATS_CACHE 4
/* HTTP/1.1 requests of a batch in flight at once by default (each on a
 * connection of its own), as browsers open six connections per host. */
#define HTTP_BATCH_CONNS 6
/* libcurl asks for "Expect: 100-continue" above this body size (7.88). */
#define HTTP_EXPECT_THRESHOLD 1024

typedef struct session session;

enum { ENGINE_AUTO = 0, ENGINE_CURL = 1 };

struct http_engine {
	uv_loop_t *loop;
	const http_host *host; /* the instances' host: park, wake, stats, ... */
	CURLM *multi;
	uv_timer_t timer;
	http_native *native; /* NULL when it could not be made: libcurl then */
	int mode; /* ENGINE_*: the run's http_engine */
	int config_read; /* the run's http_* config keys are read */
	size_t max_body, max_held; /* new sessions' body limits */
	session *sessions; /* every live session, to detach at close */
	struct psock *socks; /* every watched libcurl socket */
	struct psock **byfd; /* the same, by fd */
	size_t nbyfd;
	struct easy *free_easy; /* pooled easy handles */
	int env_proxy; /* proxy environment variables are set */
	int env_http_proxy; /* ... one that applies to http:// */
	int env_https_proxy; /* ... one that applies to https:// */
	tls_reg *tls; /* the native client's TLS contexts (NULL: https
				 * goes through libcurl) */
	tls_ctx *tls_default; /* the one of sessions with default settings */
	long nsessions;
	uint64_t hops_native, hops_curl; /* requests each client carried */
	int batch_conns; /* HTTP/1.1 requests of a batch in flight at once
				 * (config http_batch_connections) */
	int closing;
	int pending_closes; /* uv handles (and the native client) still closing */
	void (*closed_one)(http_engine *e); /* one of them closed (runner/http.c) */
	void (*done)(void *arg);
	void *done_arg;
	/* scratch for the request being prepared (one coroutine runs at a
	 * time, and each use ends before the request parks) */
	const char **hv; /* header lines */
	size_t hv_cap;
	http1_buf cookie; /* the Cookie header's value */
	char errtext[CURL_ERROR_SIZE + 64]; /* a failed hop's message */
	int tls_openssl; /* libcurl's TLS is OpenSSL's (CURLINFO_SSL_VERIFYRESULT
				 * is an X509_V_ERR_* code) */
};

/* One watched libcurl socket. A connection socket (one libcurl opened
 * through http_curl_open_socket) keeps its uv_poll from its open to its close,
 * also while the connection idles in libcurl's cache between requests:
 * libcurl then says CURL_POLL_REMOVE, and stopping and restarting the watch
 * at every request would cost epoll_ctl calls each time. Other sockets (the
 * resolver's) live from their first watch to CURL_POLL_REMOVE. */
struct psock {
	uv_poll_t poll;
	curl_socket_t fd;
	int events;
	int conn; /* a connection socket: closed by http_curl_close_socket */
	int idle; /* libcurl does not watch it now */
	http_engine *e;
	struct psock *prev, *next;
};

/* An easy handle and the options it holds now, so that a request sets only
 * what differs. Pooled by the engine, or owned by a session with rare
 * settings (struct xopts). */
struct easy {
	CURL *h;
	http_engine *e;
	session *s; /* whose transfer it carries now, or NULL */
	struct easy *next; /* the engine's free list */
	char *url;
	size_t url_cap;
	const char *custom; /* CUSTOMREQUEST: NULL or a method */
	char custom_buf[HTTP_MAX_METHOD];
	int mode; /* MODE_* */
	const void *body;
	size_t body_len;
	int file_fd; /* the body file being read (READFUNCTION), or -1 */
	curl_off_t file_off; /* ... where the next read starts */
	long timeout_ms, connect_ms;
	struct curl_slist *list; /* what CURLOPT_HTTPHEADER holds */
	struct curl_slist *nodes; /* its nodes (ours: libcurl only reads them) */
	size_t ncap;
	int cookie_set; /* CURLOPT_COOKIE holds a value */
	http1_buf cookie; /* ... this one */
	int https; /* the URL it holds is https:// */
	int fresh; /* CURLOPT_FRESH_CONNECT and FORBID_REUSE are on */
	char errbuf[CURL_ERROR_SIZE]; /* CURLOPT_ERRORBUFFER */
};

/* A response: the public part first, then what the session keeps. */
typedef struct resp {
	mite_http_response pub;
	session *s;
	struct resp *prev, *next; /* in the session's live or free list */
	http1_buf body;
	http1_buf hdr; /* "Name: value\0" lines of the response's header */
	http1_buf url;
	char method[HTTP_MAX_METHOD];
	char name[64];
	int discard;
	size_t held; /* body bytes counted in the session's `held` */
	size_t limit; /* body bytes this hop may keep */
	int limit_session; /* ... as the session's total leaves less than the
			     * response's own limit */
	size_t hdr_raw; /* libcurl: head and trailer bytes of this hop */
	int head_done; /* libcurl: the head's empty line came */
	/* the request's body callback (see mite_http_opts.body_cb) */
	int (*body_cb)(void *arg, const char *data, size_t len);
	void *body_arg;
	int follow; /* redirects are followed: 3xx bodies skip body_cb */
	struct cJSON *trace; /* a traced session's: this response's exchange */
} resp;

/* A default header, "Name: value". */
struct dhdr {
	char *line;
	size_t namelen;
};

/* A stats entry looked up before; its transaction is its label 1 (entries
 * live as long as the runner). */
struct stats_cache {
	const char *method; /* interned: compared by pointer */
	int status;
	stats_entry *e;
};

/* Settings few sessions change. A proxy or HTTP/2 needs libcurl; the TLS
 * ones apply to both clients. libcurl requests of such a session go on a
 * handle of its own, made (and configured with all of them) at the first
 * one, and made again after a setting changed. */
struct xopts {
	struct easy *ez; /* the session's own handle, or NULL until needed */
	int proxy; /* a proxy is set */
	char *proxy_url; /* ... this one (NULL: none set; the environment's) */
	int version; /* MITE_HTTP_V* */
	int verify; /* TLS peer and host name verification */
	char *ca_file, *cert, *key, *key_pass;
	int tls_min, tls_max; /* MITE_HTTP_TLS* or 0 */
	int no_resume; /* no TLS session resumption */
	unsigned gen; /* counts changes (a batch's lanes copy the settings) */
};

struct session {
	http_engine *e;
	struct mite_ctx *ctx;
	session *prev, *next; /* in the engine's list */

	/* settings */
	struct dhdr *hdrs;
	size_t nhdrs, hdrs_cap;
	char *auth; /* "Authorization: Basic ...", or NULL */
	char *base_url;
	size_t base_len;
	struct xopts *x; /* NULL: every rare setting at its default */
	int follow, max_redirs, discard;
	long total_ms, connect_ms;
	size_t max_body; /* body bytes a response may keep */
	size_t max_held; /* ... the live responses together */
	size_t held; /* what the live responses keep now */

	tls_ctx *tls; /* the native client's TLS context for these settings
			       * (a reference), or NULL until an https request */

	cookie_jar jar;
	http1_buf urlbuf; /* base URL + path; the next hop's URL */
	http1_buf redir; /* a redirect's target */

	/* A batch's lane (runner/http_batch.c): a session of its own for
	 * one request at a time, whose settings are borrowed from `home`,
	 * the instance's session, which owns its responses and cookies. NULL
	 * in an instance's session. */
	session *home;
	struct lane *lane;
	struct lane **lanes; /* the lanes of an instance's session, made as needed */
	size_t nlanes;

	/* the transfer in flight */
	int inflight;
	CURLcode result;
	long oserr;
	int fail; /* HF_*: why the hop failed, beyond libcurl's code */
	struct easy *ez;
	http_native_xfer *nx;
	resp *cur;

	resp *live, *spare;
	struct stats_cache sc[HTTP_STATS_CACHE];
	struct http_trace *trace; /* --debug / --trace-http (runner/http_trace.h), or NULL */
	int sc_next;
};

/* The session that owns s's responses and cookies: s, or a lane's home. */
static inline session *http_home(session *s)
{
	return s->home ? s->home : s;
}

enum { MODE_NONE = 0, MODE_GET, MODE_HEAD, MODE_BODY, MODE_FILE };

/* Failures both clients name alike, beyond what a libcurl code says. */
enum {
	HF_NONE = 0,
	HF_BODY, /* the body exceeded the response's limit */
	HF_HELD, /* ... what the session's limit left */
	HF_HEADER, /* the head (and trailers) exceeded HTTP_MAX_HEADER */
	HF_HTTP09, /* no status line */
	HF_TLS, /* libcurl's message (in the engine's errtext) says more */
	HF_STOPPED, /* the body callback stopped reading: not a failure */
};

/* The request a hop makes. */
struct hop {
	const char *method;
	const char *url;
	const void *body;
	size_t body_len;
	int body_fd; /* >= 0: the body is body_len bytes of this file
			     * (mite_http_opts.body_file), open for the request */
	int has_body, json, discard;
	int fresh; /* MITE_HTTP_NEW_CONNECTION */
	long timeout_ms;
	const mite_http_opts *o;
};

#endif
