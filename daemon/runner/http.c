/*
 * http.c - the runner's HTTP engine and the SDK's <mite/http.h> calls.
 *
 * Two clients under one SDK, chosen per request (each redirect hop again):
 *
 * - The native client (runner/http_native.c: HTTP/1.1, TLS through
 *   runner/tls.c, HTTP/2 through runner/h2.c) takes http:// and https://
 *   requests of sessions that need nothing it lacks (no proxy), unless the
 *   run's config says http_engine = "curl". It costs a few thousand
 *   instructions per request where libcurl 7.88 costs about 60,000
 *   (docs/http.md).
 * - libcurl's multi-socket interface takes everything else: proxies. One
 *   CURLM per runner, driven by the
 *   runner's libuv loop: libcurl tells us (CURLMOPT_SOCKETFUNCTION) which
 *   fds to watch, we keep one uv_poll per fd and hand readiness back with
 *   curl_multi_socket_action; its single timeout (CURLMOPT_TIMERFUNCTION)
 *   is one uv_timer. After every socket_action we drain
 *   curl_multi_info_read and wake the instance whose transfer finished.
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
 * Redirects are followed here rather than by libcurl (CURLOPT_FOLLOWLOCATION
 * stays off): each hop is measured and recorded on its own.
 *
 * Hot-path rules: no allocation per request in steady state (responses,
 * transfers, handles and buffers are pooled), no setopt of an unchanged
 * option, stats entries cached per session, and small stack frames: this
 * code runs on journeys' coroutine stacks, whose pages are committed as they
 * are touched (a 4 KiB page per instance is the budget; no snprintf, no
 * large local buffers on the request path).
 */
#include "runner/http.h"

#include "core/log.h"
#include "core/stats.h"
#include "runner/cookie.h"
#include "runner/h2.h"
#include "runner/http1.h"
#include "runner/http_native.h"
#include "runner/inst.h"
#include "runner/tls.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <mite/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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
#define HTTP_USER_AGENT "mite/" MITE_SDK_VERSION
#define HTTP_MAX_METHOD 24
#define HTTP_STATS_CACHE 4
/* libcurl asks for "Expect: 100-continue" above this body size (7.88). */
#define HTTP_EXPECT_THRESHOLD 1024

typedef struct session session;

enum { ENGINE_AUTO = 0, ENGINE_CURL = 1 };

struct http_engine {
	uv_loop_t *loop;
	const http_host *host;  /* the instances' host: park, wake, stats, ... */
	CURLM *multi;
	uv_timer_t timer;
	http_native *native;    /* NULL when it could not be made: libcurl then */
	int mode;               /* ENGINE_*: the run's http_engine */
	int config_read;        /* the run's http_* config keys are read */
	size_t max_body, max_held; /* new sessions' body limits */
	session *sessions;      /* every live session, to detach at close */
	struct psock *socks;    /* every watched libcurl socket */
	struct psock **byfd;    /* the same, by fd */
	size_t nbyfd;
	struct easy *free_easy; /* pooled easy handles */
	int env_proxy;          /* proxy environment variables are set */
	int env_http_proxy;     /* ... one that applies to http:// */
	int env_https_proxy;    /* ... one that applies to https:// */
	tls_reg *tls;           /* the native client's TLS contexts (NULL: https
				 * goes through libcurl) */
	tls_ctx *tls_default;   /* the one of sessions with default settings */
	long nsessions;
	uint64_t hops_native, hops_curl; /* requests each client carried */
	int closing;
	int pending_closes;     /* uv handles (and the native client) still closing */
	void (*done)(void *arg);
	void *done_arg;
	/* scratch for the request being prepared (one coroutine runs at a
	 * time, and each use ends before the request parks) */
	const char **hv;        /* header lines */
	size_t hv_cap;
	http1_buf cookie;       /* the Cookie header's value */
	char errtext[CURL_ERROR_SIZE + 64]; /* a failed hop's message */
	int tls_openssl;        /* libcurl's TLS is OpenSSL's (CURLINFO_SSL_VERIFYRESULT
				 * is an X509_V_ERR_* code) */
};

/* One watched libcurl socket. A connection socket (one libcurl opened
 * through engine_open_socket) keeps its uv_poll from its open to its close,
 * also while the connection idles in libcurl's cache between requests:
 * libcurl then says CURL_POLL_REMOVE, and stopping and restarting the watch
 * at every request would cost epoll_ctl calls each time. Other sockets (the
 * resolver's) live from their first watch to CURL_POLL_REMOVE. */
struct psock {
	uv_poll_t poll;
	curl_socket_t fd;
	int events;
	int conn;  /* a connection socket: closed by engine_close_socket */
	int idle;  /* libcurl does not watch it now */
	http_engine *e;
	struct psock *prev, *next;
};

/* An easy handle and the options it holds now, so that a request sets only
 * what differs. Pooled by the engine, or owned by a session with rare
 * settings (struct xopts). */
struct easy {
	CURL *h;
	http_engine *e;
	session *s;             /* whose transfer it carries now, or NULL */
	struct easy *next;      /* the engine's free list */
	char *url;
	size_t url_cap;
	const char *custom;     /* CUSTOMREQUEST: NULL or a method */
	char custom_buf[HTTP_MAX_METHOD];
	int mode;               /* MODE_* */
	const void *body;
	size_t body_len;
	long timeout_ms, connect_ms;
	struct curl_slist *list; /* what CURLOPT_HTTPHEADER holds */
	struct curl_slist *nodes; /* its nodes (ours: libcurl only reads them) */
	size_t ncap;
	int cookie_set;         /* CURLOPT_COOKIE holds a value */
	http1_buf cookie;       /* ... this one */
	int https;              /* the URL it holds is https:// */
	int fresh;              /* CURLOPT_FRESH_CONNECT and FORBID_REUSE are on */
	char errbuf[CURL_ERROR_SIZE]; /* CURLOPT_ERRORBUFFER */
};

/* A response: the public part first, then what the session keeps. */
typedef struct resp {
	mite_http_response pub;
	session *s;
	struct resp *prev, *next; /* in the session's live or free list */
	http1_buf body;
	http1_buf hdr;  /* "Name: value\0" lines of the response's header */
	http1_buf url;
	char method[HTTP_MAX_METHOD];
	char name[64];
	int discard;
	size_t held;        /* body bytes counted in the session's `held` */
	size_t limit;       /* body bytes this hop may keep */
	int limit_session;  /* ... as the session's total leaves less than the
			     * response's own limit */
	size_t hdr_raw;     /* libcurl: head and trailer bytes of this hop */
	int head_done;      /* libcurl: the head's empty line came */
	/* the request's body callback (see mite_http_opts.body_cb) */
	int (*body_cb)(void *arg, const char *data, size_t len);
	void *body_arg;
	int follow;         /* redirects are followed: 3xx bodies skip body_cb */
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
	struct easy *ez;  /* the session's own handle, or NULL until needed */
	int proxy;        /* a proxy is set */
	char *proxy_url;  /* ... this one (NULL: none set; the environment's) */
	int version;      /* MITE_HTTP_V* */
	int verify;       /* TLS peer and host name verification */
	char *ca_file, *cert, *key, *key_pass;
	int tls_min, tls_max; /* MITE_HTTP_TLS* or 0 */
	int no_resume;    /* no TLS session resumption */
};

struct session {
	http_engine *e;
	struct mite_ctx *ctx;
	session *prev, *next; /* in the engine's list */

	/* settings */
	struct dhdr *hdrs;
	size_t nhdrs, hdrs_cap;
	char *auth;           /* "Authorization: Basic ...", or NULL */
	char *base_url;
	size_t base_len;
	struct xopts *x;      /* NULL: every rare setting at its default */
	int follow, max_redirs, discard;
	long total_ms, connect_ms;
	size_t max_body;      /* body bytes a response may keep */
	size_t max_held;      /* ... the live responses together */
	size_t held;          /* what the live responses keep now */

	tls_ctx *tls;         /* the native client's TLS context for these settings
			       * (a reference), or NULL until an https request */

	cookie_jar jar;
	http1_buf urlbuf;     /* base URL + path; the next hop's URL */
	http1_buf redir;      /* a redirect's target */

	/* the transfer in flight */
	int inflight;
	CURLcode result;
	long oserr;
	int fail;             /* HF_*: why the hop failed, beyond libcurl's code */
	struct easy *ez;
	http_native_xfer *nx;
	resp *cur;

	resp *live, *spare;
	struct stats_cache sc[HTTP_STATS_CACHE];
	int sc_next;
};

enum { MODE_NONE = 0, MODE_GET, MODE_HEAD, MODE_BODY };

/* Failures both clients name alike, beyond what a libcurl code says. */
enum {
	HF_NONE = 0,
	HF_BODY,   /* the body exceeded the response's limit */
	HF_HELD,   /* ... what the session's limit left */
	HF_HEADER, /* the head (and trailers) exceeded HTTP_MAX_HEADER */
	HF_HTTP09, /* no status line */
	HF_TLS,    /* libcurl's message (in the engine's errtext) says more */
	HF_STOPPED, /* the body callback stopped reading: not a failure */
};

static const char *const known_methods[] = {"GET",    "POST", "PUT",     "PATCH",
					    "DELETE", "HEAD", "OPTIONS", NULL};
#define M_GET known_methods[0]
#define M_POST known_methods[1]
#define M_PUT known_methods[2]
#define M_PATCH known_methods[3]
#define M_HEAD known_methods[5]

/* ---- the multi over libuv --------------------------------------------- */

static void engine_handle_closed(uv_handle_t *h);

static void engine_drain(http_engine *e)
{
	CURLMsg *msg;
	int left;

	/* Read every field of msg before curl_multi_remove_handle, which
	 * frees it. inst_wake resumes the instance at once: it may add a
	 * handle again or free its session before we read the next message,
	 * which is fine as we never touch this one again. */
	while ((msg = curl_multi_info_read(e->multi, &left))) {
		CURL *easy;
		CURLcode res;
		struct easy *ez = NULL;
		session *s;

		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		res = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&ez);
		curl_multi_remove_handle(e->multi, easy);
		if (!ez || !(s = ez->s))
			continue;
		s->inflight = 0;
		s->result = res;
		e->host->wake(s->ctx);
	}
}

static void engine_on_poll(uv_poll_t *h, int status, int events)
{
	struct psock *ps = h->data;
	http_engine *e = ps->e;
	int flags = 0, running;

	if (ps->idle) {
		/* An idle keep-alive connection became readable: the server
		 * closed it (or sent what it should not). Stop watching so a
		 * level-triggered EOF does not spin; libcurl finds it dead at
		 * its next use and closes it. */
		uv_poll_stop(&ps->poll);
		ps->events = 0;
		return;
	}
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(e->multi, ps->fd, flags, &running);
	engine_drain(e);
}

static void engine_on_timer(uv_timer_t *t)
{
	http_engine *e = t->data;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	engine_drain(e);
}

static struct psock *psock_find(http_engine *e, curl_socket_t fd)
{
	return fd >= 0 && (size_t)fd < e->nbyfd ? e->byfd[fd] : NULL;
}

static struct psock *psock_new(http_engine *e, curl_socket_t fd, int conn)
{
	struct psock *ps;

	if (fd < 0)
		return NULL;
	if ((size_t)fd >= e->nbyfd) {
		size_t n = e->nbyfd ? e->nbyfd : 64;
		struct psock **p;
		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(e->byfd, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + e->nbyfd, 0, (n - e->nbyfd) * sizeof(*p));
		e->byfd = p;
		e->nbyfd = n;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	if (uv_poll_init_socket(e->loop, &ps->poll, fd) < 0) {
		free(ps);
		return NULL;
	}
	ps->poll.data = ps;
	ps->fd = fd;
	ps->conn = conn;
	ps->idle = 1;
	ps->e = e;
	ps->next = e->socks;
	if (e->socks)
		e->socks->prev = ps;
	e->socks = ps;
	e->byfd[fd] = ps;
	return ps;
}

static void psock_close(struct psock *ps)
{
	http_engine *e = ps->e;

	if ((size_t)ps->fd < e->nbyfd && e->byfd[ps->fd] == ps)
		e->byfd[ps->fd] = NULL;
	if (ps->prev)
		ps->prev->next = ps->next;
	else
		e->socks = ps->next;
	if (ps->next)
		ps->next->prev = ps->prev;
	uv_poll_stop(&ps->poll);
	e->pending_closes++;
	uv_close((uv_handle_t *)&ps->poll, engine_handle_closed);
}

/* CURLOPT_OPENSOCKETFUNCTION: a connection socket, watched until
 * engine_close_socket. */
static curl_socket_t engine_open_socket(void *clientp, curlsocktype purpose,
					struct curl_sockaddr *a)
{
	http_engine *e = clientp;
	curl_socket_t fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	if (!psock_new(e, fd, 1)) {
		close(fd);
		return CURL_SOCKET_BAD;
	}
	return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: stop watching (uv_close takes the fd out of
 * epoll at once), then close. */
static int engine_close_socket(void *clientp, curl_socket_t fd)
{
	http_engine *e = clientp;
	struct psock *ps = psock_find(e, fd);

	if (ps)
		psock_close(ps);
	return close(fd);
}

/* CURLMOPT_SOCKETFUNCTION. Calls no multi API. */
static int engine_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	http_engine *e = userp;
	struct psock *ps = psock_find(e, fd);
	int events = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		if (!ps)
			return 0;
		if (!ps->conn) {
			psock_close(ps);
			return 0;
		}
		/* Idle in the connection cache: keep watching for input only
		 * (nothing comes unless the server closes it). */
		ps->idle = 1;
		if (ps->events != UV_READABLE) {
			ps->events = UV_READABLE;
			uv_poll_start(&ps->poll, UV_READABLE, engine_on_poll);
		}
		return 0;
	}
	if (!ps && !(ps = psock_new(e, fd, 0)))
		return -1;
	ps->idle = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	if (events != ps->events) {
		ps->events = events;
		uv_poll_start(&ps->poll, events, engine_on_poll);
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION. A zero timeout runs on the next loop turn (a
 * libuv timer due now fires in the next iteration's timer phase), never
 * from inside this callback. */
static int engine_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	http_engine *e = userp;

	(void)multi;
	if (e->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&e->timer);
	else
		uv_timer_start(&e->timer, engine_on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

http_engine *http_engine_new(uv_loop_t *loop, const http_host *host)
{
	static int global_done;
	http_engine *e;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = 1;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->loop = loop;
	e->host = host;
	{
		const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
		e->tls_openssl = v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL", 7) == 0;
	}
	/* Without proxy variables, tell libcurl so: it would otherwise look
	 * them up (getenv) for every transfer. libcurl ignores HTTP_PROXY in
	 * capitals (a CGI program's environment could set it). */
	e->env_http_proxy = getenv("http_proxy") || getenv("all_proxy") || getenv("ALL_PROXY");
	e->env_https_proxy = getenv("https_proxy") || getenv("HTTPS_PROXY") || getenv("all_proxy") ||
			     getenv("ALL_PROXY");
	e->env_proxy = e->env_http_proxy || e->env_https_proxy;
	e->multi = curl_multi_init();
	if (!e->multi)
		goto fail;
	if (uv_timer_init(loop, &e->timer) < 0)
		goto fail_multi;
	e->timer.data = e;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, engine_socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, engine_timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 16L);
	/* Without the native client every request goes through libcurl. */
	e->native = http_native_new(loop);
	if (!e->native)
		log_warn("http: native HTTP/1.1 client unavailable (out of memory): libcurl only");
	e->tls = tls_reg_new(); /* (without it, https goes through libcurl) */
	return e;

fail_multi:
	curl_multi_cleanup(e->multi);
fail:
	free(e);
	return NULL;
}

static void engine_maybe_done(http_engine *e)
{
	void (*done)(void *);
	void *arg;

	if (!e->closing || e->pending_closes > 0)
		return;
	done = e->done;
	arg = e->done_arg;
	/* The native client has closed: its origins put their contexts. */
	tls_ctx_put(e->tls_default);
	tls_reg_free(e->tls);
	free(e->byfd);
	free(e->hv);
	free(e->cookie.p);
	free(e);
	if (done)
		done(arg);
}

static void engine_handle_closed(uv_handle_t *h)
{
	http_engine *e;

	if (h->type == UV_POLL) {
		struct psock *ps = h->data;
		e = ps->e;
		free(ps);
	} else {
		e = h->data;
	}
	e->pending_closes--;
	engine_maybe_done(e);
}

static void engine_native_closed(void *arg)
{
	http_engine *e = arg;

	e->pending_closes--;
	engine_maybe_done(e);
}

static void easy_destroy(struct easy *ez)
{
	if (!ez)
		return;
	curl_easy_cleanup(ez->h);
	free(ez->url);
	free(ez->nodes);
	free(ez->cookie.p);
	free(ez);
}

void http_engine_close(http_engine *e, void (*done)(void *arg), void *arg)
{
	session *s;
	struct easy *ez;

	if (!e) {
		if (done)
			done(arg);
		return;
	}
	e->done = done;
	e->done_arg = arg;
	/* Detach every session: an instance still parked in a request must be
	 * cancelled by the runner; it then sees MITE_ECANCELED. */
	while ((s = e->sessions)) {
		e->sessions = s->next;
		if (s->inflight) {
			if (s->ez)
				curl_multi_remove_handle(e->multi, s->ez->h);
			if (s->nx)
				http_native_cancel(e->native, s->nx);
			s->inflight = 0;
			s->result = CURLE_ABORTED_BY_CALLBACK;
		}
		/* A pooled handle in use goes with the engine; the transfer is
		 * the native client's, freed when it closes. */
		if (s->ez && !(s->x && s->ez == s->x->ez))
			easy_destroy(s->ez);
		s->ez = NULL;
		s->nx = NULL;
		/* Its own handle's connections die with the multi: no more
		 * callbacks into e. */
		if (s->x && s->x->ez) {
			curl_easy_setopt(s->x->ez->h, CURLOPT_OPENSOCKETFUNCTION, NULL);
			curl_easy_setopt(s->x->ez->h, CURLOPT_CLOSESOCKETFUNCTION, NULL);
			s->x->ez->e = NULL;
		}
		s->e = NULL;
		s->prev = s->next = NULL;
	}
	/* curl_multi_cleanup closes the cached connections and tells us
	 * (CURL_POLL_REMOVE) while the loop can still run our close
	 * callbacks. */
	e->closing = 1;
	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	while ((ez = e->free_easy)) {
		e->free_easy = ez->next;
		easy_destroy(ez);
	}
	while (e->socks)
		psock_close(e->socks);
	uv_timer_stop(&e->timer);
	e->pending_closes++;
	uv_close((uv_handle_t *)&e->timer, engine_handle_closed);
	/* Last: the native client may call back at once (e stays, as the
	 * timer's close is due). */
	if (e->native) {
		http_native *n = e->native;
		e->native = NULL;
		e->pending_closes++;
		http_native_close(n, engine_native_closed, e);
	}
}

void http_engine_counts(const http_engine *e, uint64_t *native, uint64_t *curl)
{
	*native = e ? e->hops_native : 0;
	*curl = e ? e->hops_curl : 0;
}

/* ---- responses ---------------------------------------------------------- */

static resp *resp_get(session *s)
{
	resp *r = s->spare;

	if (r) {
		s->spare = r->next;
	} else {
		r = calloc(1, sizeof(*r));
		if (!r)
			return NULL;
		r->s = s;
	}
	r->prev = NULL;
	r->next = s->live;
	if (s->live)
		s->live->prev = r;
	s->live = r;
	return r;
}

/* Counts what r keeps now in the session's total. */
static void resp_account(session *s, resp *r)
{
	size_t now = r->discard || !r->body.p ? 0 : r->body.len;

	s->held = s->held - r->held + now;
	r->held = now;
}

static void resp_put(session *s, resp *r)
{
	s->held -= r->held;
	r->held = 0;
	/* A large body's memory goes back now, not when the session ends. */
	if (r->body.cap > HTTP_KEEP_BUF) {
		free(r->body.p);
		r->body.p = NULL;
		r->body.len = r->body.cap = 0;
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		s->live = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = NULL;
	r->next = s->spare;
	s->spare = r;
}

static void resp_destroy(resp *r)
{
	free(r->body.p);
	free(r->hdr.p);
	free(r->url.p);
	free(r);
}

/* Prepares r for one hop. */
static void resp_reset(resp *r, int discard)
{
	r->hdr.len = 0;
	r->hdr_raw = 0;
	r->head_done = 0;
	r->body.len = 0;
	r->pub.body_len = 0;
	r->pub.bytes_in = 0;
	r->pub.tls_version = r->pub.tls_resumed = 0;
	r->discard = discard;
	if (r->body.p)
		r->body.p[0] = 0;
}

static int buf_set(http1_buf *b, const char *s, size_t n)
{
	if (http1_buf_reserve(b, n + 1) < 0)
		return -1;
	memcpy(b->p, s, n);
	b->p[n] = 0;
	b->len = n;
	return 0;
}

/* Passes a piece of r's body (of a response with status `status`) to the
 * request's callback. Nonzero when the callback says to stop. */
static int body_to_cb(resp *r, int status, const char *data, size_t n)
{
	if (r->follow && status >= 300 && status < 400)
		return 0; /* a redirect's body: not the journey's */
	return r->body_cb(r->body_arg, data, n) != 0;
}

/* The native parser's sink: the session's body callback. */
static int native_sink(void *arg, const char *data, size_t n)
{
	session *s = arg;

	if (!body_to_cb(s->cur, s->nx->p.status, data, n))
		return 0;
	s->fail = HF_STOPPED;
	return 1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct easy *ez = userp;
	resp *r = ez->s->cur;
	size_t n = size * nmemb;

	r->pub.bytes_in += n;
	if (r->body_cb) {
		long status = 0;
		curl_easy_getinfo(ez->h, CURLINFO_RESPONSE_CODE, &status);
		if (body_to_cb(r, (int)status, data, n)) {
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
				tls_ssl_facts(ti->internals, &r->pub.tls_resumed, &r->pub.tls_version);
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

/* ---- easy handles --------------------------------------------------------- */

/* A new easy handle with the options every request shares. */
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
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, HTTP_DEFAULT_CONNECT_MS);
	ez->connect_ms = HTTP_DEFAULT_CONNECT_MS;
	curl_easy_setopt(h, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, engine_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, e);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, engine_close_socket);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, e);
	if (!e->env_proxy) {
		curl_easy_setopt(h, CURLOPT_PROXY, "");
		curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	}
	return ez;
}

static int setopt_rc(CURLcode c);

/* Configures ez with every rare setting of x. 0 or MITE_E*. */
static int xopts_apply(http_engine *e, struct easy *ez, const struct xopts *x)
{
	CURL *h = ez->h;
	long sv = x->tls_min == MITE_HTTP_TLS1_3 ? CURL_SSLVERSION_TLSv1_3
		  : x->tls_min == MITE_HTTP_TLS1_2 ? CURL_SSLVERSION_TLSv1_2
						   : CURL_SSLVERSION_DEFAULT;
	int rc;

	sv |= x->tls_max == MITE_HTTP_TLS1_3   ? CURL_SSLVERSION_MAX_TLSv1_3
	      : x->tls_max == MITE_HTTP_TLS1_2 ? CURL_SSLVERSION_MAX_TLSv1_2
					       : CURL_SSLVERSION_MAX_DEFAULT;
	if (x->proxy_url || e->env_proxy)
		curl_easy_setopt(h, CURLOPT_PROXY, x->proxy_url); /* (NULL: the environment's) */
	if (x->version != MITE_HTTP_V1_1) {
		/* Wait for a connection that may multiplex rather than open one more. */
		curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
		curl_easy_setopt(h, CURLOPT_HTTP_VERSION, x->version == MITE_HTTP_V2
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
	    (x->key_pass && (rc = setopt_rc(curl_easy_setopt(h, CURLOPT_KEYPASSWD, x->key_pass))) < 0))
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
			easy_destroy(s->x->ez);
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
static void easy_release(session *s)
{
	struct easy *ez = s->ez;

	s->ez = NULL;
	if (!ez)
		return;
	ez->s = NULL;
	if (s->x && ez == s->x->ez)
		return;
	if (!s->e) {
		easy_destroy(ez); /* the engine closed meanwhile */
		return;
	}
	ez->next = s->e->free_easy;
	s->e->free_easy = ez;
}

/* ---- sessions ------------------------------------------------------------ */

/* A size: bytes, or a number with a K, M or G suffix (powers of 1024, an
 * optional "iB" after it), more than 0. 0, or -1 when s is not one. */
static int parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	}
	if (mul > 1 && strcmp(end, "iB") == 0)
		end += 2;
	if (*end || v > SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

/* A size from the run's config key, or def (with a warning for a value
 * that is not a size). */
static size_t config_size(http_engine *e, struct mite_ctx *ctx, const char *key, size_t def)
{
	const char *v = e->host->config(ctx, key);
	size_t n;

	if (!v)
		return def;
	if (parse_size(v, &n) == 0)
		return n;
	log_warn("http: config %s = \"%s\" is not a size (bytes > 0, or with K, M or G): "
		 "using %zu", key, v, def);
	return def;
}

/* The run's http_* config keys: they hold for the run, as the engine does. */
static void engine_read_config(http_engine *e, struct mite_ctx *ctx)
{
	const char *m = e->host->config(ctx, "http_engine");

	e->config_read = 1;
	if (m && strcmp(m, "curl") == 0)
		e->mode = ENGINE_CURL;
	else if (m && *m && strcmp(m, "auto") != 0)
		log_warn("http: unknown http_engine \"%s\" (auto or curl): using auto", m);
	e->max_body = config_size(e, ctx, "http_body_limit", HTTP_DEFAULT_MAX_BODY);
	e->max_held = config_size(e, ctx, "http_session_body_limit", HTTP_DEFAULT_MAX_HELD);
	if ((m = e->host->config(ctx, "http2_max_streams"))) {
		char *end;
		unsigned long v = strtoul(m, &end, 10);
		if (*m < '0' || *m > '9' || *end || v < 1 || v > H2_MAX_STREAMS) {
			log_warn("http: config http2_max_streams = \"%s\" is not a number from 1 to %d: "
				 "using %d", m, H2_MAX_STREAMS, H2_DEFAULT_STREAMS);
			v = H2_DEFAULT_STREAMS;
		}
		if (e->native)
			http_native_set_h2_streams(e->native, (uint32_t)v);
		curl_multi_setopt(e->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)v);
	}
}

static session *session_get(struct mite_ctx *ctx)
{
	session *s = ctx->http;
	http_engine *e;

	if (s)
		return s;
	e = inst_http_engine(ctx);
	if (!e || e->closing)
		return NULL;
	if (!e->config_read)
		engine_read_config(e, ctx);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->e = e;
	s->ctx = ctx;
	s->follow = 1;
	s->max_redirs = HTTP_DEFAULT_MAX_REDIRS;
	s->total_ms = HTTP_DEFAULT_TOTAL_MS;
	s->connect_ms = HTTP_DEFAULT_CONNECT_MS;
	s->max_body = e->max_body;
	s->max_held = e->max_held;

	s->next = e->sessions;
	if (e->sessions)
		e->sessions->prev = s;
	e->sessions = s;
	/* libcurl sizes its connection cache by the transfers in flight (4
	 * each) unless told: between requests few are in flight, and it would
	 * close idle keep-alive connections that the next requests reopen.
	 * The native client keeps as many. */
	e->nsessions++;
	if (e->nsessions >= 4 && (e->nsessions & (e->nsessions - 1)) == 0) {
		curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, e->nsessions * 4);
		if (e->native)
			http_native_set_max_idle(e->native, (size_t)e->nsessions * 4);
	}
	ctx->http = s;
	return s;
}

/* The session's rare settings, created on first use (NULL on ENOMEM). */
static struct xopts *session_xopts(session *s)
{
	struct xopts *x = s->x;

	if (!x) {
		if (!s->e || !(x = calloc(1, sizeof(*x))))
			return NULL;
		x->version = MITE_HTTP_V1_1;
		x->verify = 1;
		s->x = x;
	}
	return x;
}

/* A rare setting changed: the session's own handle goes (it is made
 * again, with every setting, at its next libcurl request), and so does its
 * TLS context. Setters call it only for a real change, so that a journey
 * may set the same values at every iteration at no cost. */
static void xopts_changed(session *s)
{
	easy_destroy(s->x->ez);
	s->x->ez = NULL;
	tls_ctx_put(s->tls);
	s->tls = NULL;
}

static int copy_str(char **dst, const char *src);

static int str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Sets a copied setting string of s's rare ones (src NULL: none), noting
 * a change. 0 or MITE_ENOMEM. */
static int xopt_str(session *s, char **dst, const char *src)
{
	if (str_same(*dst, src))
		return 0;
	xopts_changed(s);
	return copy_str(dst, src);
}

/* The same for an int. */
static void xopt_int(session *s, int *dst, int v)
{
	if (*dst == v)
		return;
	xopts_changed(s);
	*dst = v;
}

static void xopts_free(struct xopts *x)
{
	if (!x)
		return;
	easy_destroy(x->ez);
	free(x->proxy_url);
	free(x->ca_file);
	free(x->cert);
	free(x->key);
	free(x->key_pass);
	free(x);
}

static void session_release_all(session *s)
{
	while (s->live)
		resp_put(s, s->live);
}

void http_session_new_iteration(struct mite_ctx *ctx)
{
	session *s = ctx->http;

	if (!s)
		return;
	session_release_all(s);
	cookie_jar_clear(&s->jar);
}

void http_session_free(struct mite_ctx *ctx)
{
	session *s = ctx->http;
	resp *r;
	size_t i;

	if (!s)
		return;
	ctx->http = NULL;
	if (s->e) {
		if (s->inflight) {
			if (s->ez)
				curl_multi_remove_handle(s->e->multi, s->ez->h);
			if (s->nx)
				http_native_cancel(s->e->native, s->nx);
		}
		if (s->nx)
			http_native_xfer_put(s->e->native, s->nx);
		easy_release(s);
		if (s->prev)
			s->prev->next = s->next;
		else
			s->e->sessions = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->e->nsessions--;
	}
	xopts_free(s->x);
	tls_ctx_put(s->tls);
	session_release_all(s);
	while ((r = s->spare)) {
		s->spare = r->next;
		resp_destroy(r);
	}
	for (i = 0; i < s->nhdrs; i++)
		free(s->hdrs[i].line);
	free(s->hdrs);
	free(s->auth);
	free(s->base_url);
	free(s->urlbuf.p);
	free(s->redir.p);
	cookie_jar_clear(&s->jar);
	free(s);
}

/* ---- request headers ----------------------------------------------------- */

static size_t header_name_len(const char *line)
{
	const char *c = strpbrk(line, ":;");
	return c ? (size_t)(c - line) : strlen(line);
}

static int header_named(const char *const *hdrs, const char *name, size_t len)
{
	for (; hdrs && *hdrs; hdrs++)
		if (header_name_len(*hdrs) == len && strncasecmp(*hdrs, name, len) == 0)
			return 1;
	return 0;
}

/* The header lines of a request, in the engine's scratch array: the
 * session's defaults and its Authorization unless the request names them,
 * then the request's own. Returns how many, or -1 on ENOMEM. */
static long collect_headers(session *s, const char *const *rh)
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
		if (!rh || !header_named(rh, s->hdrs[i].line, s->hdrs[i].namelen))
			e->hv[n++] = s->hdrs[i].line;
	if (s->auth && !header_named(rh, "Authorization", 13))
		e->hv[n++] = s->auth;
	for (const char *const *p = rh; p && *p; p++)
		e->hv[n++] = *p;
	return (long)n;
}

/* Whether one of the n lines names header `name` (len bytes). */
static int hv_named(const char *const *hv, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (header_name_len(hv[i]) == len && strncasecmp(hv[i], name, len) == 0)
			return 1;
	return 0;
}

/* The Cookie header's value for url in the engine's scratch, or NULL when
 * no cookie matches (or on ENOMEM: the request goes without). */
static const char *cookie_value(session *s, const http1_url *u)
{
	http_engine *e = s->e;
	time_t now;
	size_t n;

	if (cookie_jar_empty(&s->jar))
		return NULL;
	now = time(NULL);
	n = cookie_jar_header(&s->jar, e->cookie.p, e->cookie.cap, u->host, u->host_len, u->path,
			      u->pathonly_len, u->https, now);
	if (n == 0)
		return NULL;
	if (n >= e->cookie.cap) {
		if (http1_buf_reserve(&e->cookie, n + 1) < 0)
			return NULL;
		cookie_jar_header(&s->jar, e->cookie.p, e->cookie.cap, u->host, u->host_len, u->path,
				  u->pathonly_len, u->https, now);
	}
	return e->cookie.p;
}

/* Stores the Set-Cookie headers of r, a response to url. */
static void take_cookies(session *s, const resp *r, const char *url)
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
		cookie_jar_set(&s->jar, line + 11, ll - 11, u.host, u.host_len, u.path,
			       u.pathonly_len, u.https, now);
	}
}

/* ---- libcurl requests ---------------------------------------------------- */

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
	long nh = collect_headers(s, rh);
	size_t n = 0;

	*err = 0;
	if (nh < 0 || nodes_reserve(ez, (size_t)nh + 2) < 0) {
		*err = 1;
		return NULL;
	}
	for (long i = 0; i < nh; i++)
		ez->nodes[n++].data = (char *)s->e->hv[i];
	if (json && !header_named(rh, "Content-Type", 12))
		ez->nodes[n++].data = (char *)"Content-Type: application/json";
	/* libcurl would wait up to a second for a 100 Continue. */
	if (body_len > HTTP_EXPECT_THRESHOLD && !header_named(rh, "Expect", 6))
		ez->nodes[n++].data = (char *)"Expect:";
	if (n == 0)
		return NULL;
	for (size_t i = 0; i + 1 < n; i++)
		ez->nodes[i].next = &ez->nodes[i + 1];
	ez->nodes[n - 1].next = NULL;
	return &ez->nodes[0];
}

static int method_known(const char *m)
{
	for (size_t i = 0; known_methods[i]; i++)
		if (m == known_methods[i])
			return 1;
	return 0;
}

/* Interns a method: one of the known ones, or a copy in buf of a valid
 * token. NULL when it is not a token. */
static const char *method_intern(const char *m, char *buf)
{
	size_t i;

	for (i = 0; known_methods[i]; i++)
		if (strcmp(m, known_methods[i]) == 0)
			return known_methods[i];
	for (i = 0; m[i]; i++)
		if (i + 1 >= HTTP_MAX_METHOD || !(isalnum((unsigned char)m[i]) || m[i] == '-' || m[i] == '_'))
			return NULL;
	if (i == 0)
		return NULL;
	memcpy(buf, m, i + 1);
	return buf;
}

/* Sets the method and body, touching only what changed since the last
 * request on this handle. */
static void set_method(struct easy *ez, const char *method, const void *body, size_t len,
		       int has_body)
{
	int mode;
	const char *custom = NULL;

	if (has_body) {
		mode = MODE_BODY;
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
		}
		ez->mode = mode;
	}
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
		if (custom && !method_known(custom)) {
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

	if (!cookie_jar_empty(&s->jar) && http1_url_parse(url, &u) == 0)
		v = cookie_value(s, &u);
	if (!v) {
		if (ez->cookie_set) {
			curl_easy_setopt(ez->h, CURLOPT_COOKIE, NULL);
			ez->cookie_set = 0;
		}
		return;
	}
	if (ez->cookie_set && strcmp(ez->cookie.p, v) == 0)
		return;
	if (buf_set(&ez->cookie, v, strlen(v)) < 0) {
		ez->cookie_set = 0;
		curl_easy_setopt(ez->h, CURLOPT_COOKIE, NULL);
		return;
	}
	curl_easy_setopt(ez->h, CURLOPT_COOKIE, v);
	ez->cookie_set = 1;
}

/* ---- recording ---------------------------------------------------------- */

static stats_entry *http_stats_entry(session *s, const char *method, int status)
{
	const http_host *host = s->e->host;
	const char *txn = host->txn_name(s->ctx);
	struct stats_cache *c;
	stats_entry *e;
	char st[16];
	int i;

	for (i = 0; i < HTTP_STATS_CACHE; i++) {
		c = &s->sc[i];
		if (c->e && c->status == status && c->method == method &&
		    strcmp(c->e->labels[1], txn) == 0)
			return c->e;
	}
	/* (No snprintf: its frame would commit one more page of every
	 * instance's lazily mapped coroutine stack.) */
	{
		char tmp[12];
		unsigned v = status < 0 ? 0 : (unsigned)status;
		int n = 0, k = 0;
		do
			tmp[n++] = (char)('0' + v % 10);
		while ((v /= 10) && n < (int)sizeof(tmp));
		while (n > 0)
			st[k++] = tmp[--n];
		st[k] = 0;
	}
	e = stats_get(host->stats(s->ctx), "http",
		      (const char *const[]){host->journey_name(s->ctx), txn, method, st}, 4);
	if (!e || !method_known(method))
		return e;
	c = &s->sc[s->sc_next];
	s->sc_next = (s->sc_next + 1) % HTTP_STATS_CACHE;
	c->method = method;
	c->status = status;
	c->e = e;
	return e;
}

static uint64_t sec_to_ns(double s)
{
	return s <= 0 ? 0 : (uint64_t)(s * 1e9 + 0.5);
}

/* The part of r every engine fills the same way, once the hop is read. */
static void collect_common(resp *r)
{
	if (r->pub.reused)
		r->pub.t.dns = r->pub.t.connect = r->pub.t.tls = 0;
	r->pub.url = r->url.p ? r->url.p : "";
	r->pub.body = r->body.p && !r->discard ? r->body.p : "";
	r->pub.body_len = r->discard ? 0 : r->body.len;
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
	r->pub.http_version = ver == CURL_HTTP_VERSION_1_0 ? 10 : ver == CURL_HTTP_VERSION_2_0 ? 20
							   : ver == CURL_HTTP_VERSION_3 ? 30 : 11;
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
		buf_set(&r->url, url, strlen(url));
	collect_common(r);
}

static double ns_between(uint64_t a, uint64_t b)
{
	return a && b > a ? (double)(b - a) / 1e9 : 0;
}

/* The same from a native transfer of url. */
static void collect_native(const http_native_xfer *x, resp *r, const char *url,
			   const http1_url *u)
{
	size_t n = strlen(url);

	r->pub.status = x->status;
	r->pub.http_version = x->version;
	r->pub.reused = x->reused;
	r->pub.header_bytes = x->header_bytes;
	r->pub.bytes_out = x->bytes_out;
	r->pub.bytes_in = x->bytes_in;
	r->pub.t.dns = ns_between(x->t_start, x->t_resolved);
	r->pub.t.connect = ns_between(x->t_resolved, x->t_connected);
	r->pub.t.tls = ns_between(x->t_connected, x->t_tls);
	r->pub.tls_version = x->tls_version;
	r->pub.tls_resumed = x->tls_resumed;
	r->pub.t.ttfb = ns_between(x->t_pre, x->t_first);
	r->pub.t.total = ns_between(x->t_start, x->t_end);
	memcpy(r->pub.primary_ip, x->primary_ip, sizeof(r->pub.primary_ip));
	/* The effective URL, as libcurl writes it: "/" for an empty path. */
	if (u->path < url || u->path >= url + n) {
		if (http1_buf_reserve(&r->url, n + 2) == 0) {
			memcpy(r->url.p, url, n);
			memcpy(r->url.p + n, "/", 2);
			r->url.len = n + 1;
		}
	} else {
		buf_set(&r->url, url, n);
	}
	collect_common(r);
}

static void emit_event(session *s, const resp *r, int hop)
{
	const http_host *host = s->e->host;
	cJSON *ev = cJSON_CreateObject();

	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "type", "http_metrics");
	cJSON_AddStringToObject(ev, "journey", host->journey_name(s->ctx));
	cJSON_AddStringToObject(ev, "transaction", host->txn_name(s->ctx));
	if (r->pub.name)
		cJSON_AddStringToObject(ev, "name", r->pub.name);
	cJSON_AddNumberToObject(ev, "start_time", r->pub.start);
	cJSON_AddStringToObject(ev, "method", r->pub.method);
	cJSON_AddStringToObject(ev, "url", r->pub.url);
	cJSON_AddNumberToObject(ev, "response_code", r->pub.status);
	cJSON_AddNumberToObject(ev, "dns_time", r->pub.t.dns);
	cJSON_AddNumberToObject(ev, "connect_time", r->pub.t.connect);
	cJSON_AddNumberToObject(ev, "tls_time", r->pub.t.tls);
	cJSON_AddNumberToObject(ev, "ttfb", r->pub.t.ttfb);
	cJSON_AddNumberToObject(ev, "total_time", r->pub.t.total);
	cJSON_AddStringToObject(ev, "primary_ip", r->pub.primary_ip);
	cJSON_AddNumberToObject(ev, "request_size", (double)r->pub.bytes_out);
	cJSON_AddNumberToObject(ev, "header_size", (double)r->pub.header_bytes);
	cJSON_AddNumberToObject(ev, "download_size", (double)r->pub.bytes_in);
	cJSON_AddNumberToObject(ev, "redirect", hop);
	cJSON_AddBoolToObject(ev, "reused", r->pub.reused);
	host->event(s->ctx, ev);
}

static void record(session *s, const resp *r, int hop)
{
	stats_entry *e = http_stats_entry(s, r->pub.method, r->pub.status);

	if (e) {
		stats_add(e, ST_HTTP_COUNT, 1);
		stats_add(e, ST_HTTP_BYTES_OUT, r->pub.bytes_out);
		stats_add(e, ST_HTTP_BYTES_IN, r->pub.header_bytes + r->pub.bytes_in);
		stats_record(e, ST_H_TOTAL, sec_to_ns(r->pub.t.total));
		stats_record(e, ST_H_TTFB, sec_to_ns(r->pub.t.ttfb));
		/* Connection phases only when they happened: zeros from reused
		 * connections would drown them. */
		if (!r->pub.reused) {
			stats_record(e, ST_H_DNS, sec_to_ns(r->pub.t.dns));
			stats_record(e, ST_H_CONNECT, sec_to_ns(r->pub.t.connect));
			if (r->pub.t.tls > 0)
				stats_record(e, ST_H_TLS, sec_to_ns(r->pub.t.tls));
		}
	}
	if (s->e->host->http_events(s->ctx))
		emit_event(s, r, hop);
}

static const char *error_class(CURLcode res, long oserr)
{
	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_COULDNT_CONNECT:
		return oserr == ECONNREFUSED ? "refused" : "connect";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return "reset";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return "tls";
	case CURLE_TOO_MANY_REDIRECTS:
		return "redirects";
	default:
		return "other";
	}
}

/* The libcurl code a native failure corresponds to, so that both engines
 * classify and word errors alike. */
static CURLcode native_code(int err)
{
	switch (err) {
	case HN_EDNS:
		return CURLE_COULDNT_RESOLVE_HOST;
	case HN_ECONNECT:
		return CURLE_COULDNT_CONNECT;
	case HN_ETIMEOUT:
		return CURLE_OPERATION_TIMEDOUT;
	case HN_ESEND:
		return CURLE_SEND_ERROR;
	case HN_ERECV:
		return CURLE_RECV_ERROR;
	case HN_ENOTHING:
		return CURLE_GOT_NOTHING;
	case HN_EPARTIAL:
		return CURLE_PARTIAL_FILE;
	case HN_EPARSE:
	case HN_EHEADSIZE:
		return CURLE_WEIRD_SERVER_REPLY;
	case HN_EBODYSIZE:
		return CURLE_WRITE_ERROR; /* as our write callback's refusal */
	case HN_EHTTP09:
		return CURLE_UNSUPPORTED_PROTOCOL;
	case HN_ENOMEM:
		return CURLE_OUT_OF_MEMORY;
	case HN_ERESET:
	case HN_EREFUSED:
		return CURLE_HTTP2_STREAM;
	default:
		return CURLE_ABORTED_BY_CALLBACK;
	}
}

/* The libcurl code of a TLS failure of the native client. */
static CURLcode tls_code(int kind)
{
	switch (kind) {
	case TLS_F_VERIFY:
		return CURLE_PEER_FAILED_VERIFICATION;
	case TLS_F_CERT:
		return CURLE_SSL_CERTPROBLEM;
	case TLS_F_CAFILE:
		return CURLE_SSL_CACERT_BADFILE;
	case TLS_F_CLIENTCERT:
		return CURLE_SSL_CLIENTCERT;
	case TLS_F_RECV:
		return CURLE_RECV_ERROR;
	case TLS_F_SEND:
		return CURLE_SEND_ERROR;
	case TLS_F_NOMEM:
		return CURLE_OUT_OF_MEMORY;
	default:
		return CURLE_SSL_CONNECT_ERROR;
	}
}

/* The class and message of a failed hop; both clients word them alike. */
static void hop_error(session *s, const resp *r, const char **cls, const char **why)
{
	char *t = s->e->errtext;
	size_t n = sizeof(s->e->errtext);

	*cls = error_class(s->result, s->oserr);
	*why = curl_easy_strerror(s->result);
	switch (s->fail) {
	case HF_BODY:
		*cls = "body_too_large";
		snprintf(t, n, "body over %zu bytes (the limit per response)", r->limit);
		*why = t;
		break;
	case HF_HELD:
		*cls = "body_too_large";
		snprintf(t, n, "the session's responses would keep over %zu bytes of body (the "
			 "limit per session)", s->max_held);
		*why = t;
		break;
	case HF_HEADER:
		*cls = "header_too_large";
		snprintf(t, n, "response header over %d bytes", HTTP_MAX_HEADER);
		*why = t;
		break;
	case HF_HTTP09:
		*cls = "other";
		*why = "no status line in the reply (HTTP/0.9, or not HTTP)";
		break;
	case HF_TLS:
		*why = t; /* libcurl's own message, kept by curl_failure */
		break;
	}
}

/* Records a failure through the host (its fail takes a va_list). */
static int http_fail(const http_host *host, struct mite_ctx *ctx, const char *file, int line,
		     const char *func, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int http_fail(const http_host *host, struct mite_ctx *ctx, const char *file, int line,
		     const char *func, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = host->fail(ctx, NULL, file, line, func, fmt, ap);
	va_end(ap);
	return rc;
}

static int transport_error(session *s, const char *method, const char *url, const char *cls,
			   const char *why, const char *file, int line, const char *func)
{
	const http_host *host = s->e->host;
	stats_entry *e = stats_get(host->stats(s->ctx), "httperr",
				   (const char *const[]){host->journey_name(s->ctx),
							 host->txn_name(s->ctx), method, cls},
				   4);
	if (e)
		stats_add(e, 0, 1);
	http_fail(host, s->ctx, file, line, func, "%s %s failed (%s): %s", method, url, cls, why);
	return strcmp(cls, "timeout") == 0 ? MITE_ETIMEDOUT : MITE_EIO;
}

/* ---- the SDK calls ------------------------------------------------------ */

static void on_cancel(struct mite_ctx *ctx, void *arg)
{
	session *s = arg;

	(void)ctx;
	if (s->inflight && s->e) {
		if (s->ez)
			curl_multi_remove_handle(s->e->multi, s->ez->h);
		if (s->nx)
			http_native_cancel(s->e->native, s->nx);
	}
	s->inflight = 0;
	s->result = CURLE_ABORTED_BY_CALLBACK;
}

/* The request a hop makes. */
struct hop {
	const char *method;
	const char *url;
	const void *body;
	size_t body_len;
	int has_body, json, discard;
	int fresh;          /* MITE_HTTP_NEW_CONNECTION */
	long timeout_ms;
	const mite_http_opts *o;
};

/* The body limit of r's next hop: the response's own (the request's or
 * the session's), or what the session's live responses leave of the
 * session's, when that is less. */
static void hop_limit(session *s, resp *r, const mite_http_opts *o)
{
	size_t own = s->max_body, left = s->max_held > s->held ? s->max_held - s->held : 0;

	if (o && o->max_body)
		own = o->max_body;
	r->limit_session = left < own;
	r->limit = r->limit_session ? left : own;
}

/* Parks until the transfer started ends. 0, or MITE_ECANCELED. */
static int park(session *s)
{
	int rc;

	s->inflight = 1;
	s->result = CURLE_OK;
	rc = s->e->host->park(s->ctx, on_cancel, s);
	if (rc != 0 || s->inflight) {
		on_cancel(s->ctx, s);
		return MITE_ECANCELED;
	}
	return s->e ? 0 : MITE_ECANCELED;
}

/* Which check of TLS failed, in a word or two, from the libcurl code, its
 * message and OpenSSL's verification result (verify: an X509_V_ERR_* of
 * openssl/x509_vfy.h, whose values are stable), or NULL. */
static const char *tls_check(CURLcode res, long verify, const char *msg)
{
	/* libcurl checks the name itself: only its message says so. */
	if (strstr(msg, "target host name"))
		return "name mismatch";
	switch (verify) {
	case 9: /* X509_V_ERR_CERT_NOT_YET_VALID */
		return "certificate not yet valid";
	case 10: /* X509_V_ERR_CERT_HAS_EXPIRED */
		return "certificate expired";
	case 2:  /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT */
	case 18: /* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT */
	case 19: /* X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN */
	case 20: /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
	case 21: /* X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE */
		return "unknown CA";
	case 23: /* X509_V_ERR_CERT_REVOKED */
		return "certificate revoked";
	case 62: /* X509_V_ERR_HOSTNAME_MISMATCH */
	case 64: /* X509_V_ERR_IP_ADDRESS_MISMATCH */
		return "name mismatch";
	}
	if (res == CURLE_PEER_FAILED_VERIFICATION)
		return "certificate not trusted";
	if (res == CURLE_SSL_CONNECT_ERROR)
		return "handshake failed";
	return NULL;
}

/* Keeps the words of a TLS failure (code res, OpenSSL's verification
 * result, the client's message) in the engine's errtext: which check
 * failed, then the message. */
static void tls_words(session *s, CURLcode res, long verify, const char *msg, int msglen)
{
	http_engine *e = s->e;
	const char *check = tls_check(res, verify, msg);

	if (!msg[0]) {
		msg = curl_easy_strerror(res);
		msglen = (int)strlen(msg);
	}
	snprintf(e->errtext, sizeof(e->errtext), "%s%s%.*s", check ? check : "", check ? ": " : "",
		 msglen, msg);
	s->fail = HF_TLS;
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
	} else if (strcmp(error_class(s->result, 0), "tls") == 0) {
		long v = 0;

		curl_easy_getinfo(ez->h, CURLINFO_SSL_VERIFYRESULT, &v);
		tls_words(s, s->result, e->tls_openssl ? v : 0, ez->errbuf, (int)sizeof(ez->errbuf));
	}
}

/* One hop through libcurl. 0 with r filled, 1 on a transport error
 * (s->result, s->oserr), or a MITE_E* code. A redirect's target goes to
 * s->redir. */
static int curl_hop(session *s, resp *r, const struct hop *h)
{
	struct easy *ez = easy_take(s);
	struct curl_slist *hl;
	int rc, err;

	if (!ez)
		return MITE_ENOMEM;
	hl = curl_headers(s, ez, h->o, h->json, h->has_body ? h->body_len : 0, &err);
	if (err) {
		rc = MITE_ENOMEM;
		goto out;
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
	set_method(ez, h->method, h->body, h->body_len, h->has_body);
	if ((rc = set_url(ez, h->url)) < 0)
		goto out;
	if (h->fresh != ez->fresh) {
		curl_easy_setopt(ez->h, CURLOPT_FRESH_CONNECT, (long)h->fresh);
		curl_easy_setopt(ez->h, CURLOPT_FORBID_REUSE, (long)h->fresh);
		ez->fresh = h->fresh;
	}
	set_cookie(s, ez, h->url);
	s->cur = r;
	ez->errbuf[0] = 0;
	if (curl_multi_add_handle(s->e->multi, ez->h) != CURLM_OK) {
		rc = MITE_ENOMEM;
		goto out;
	}
	rc = park(s);
	s->cur = NULL;
	if (rc < 0)
		goto out;
	if (s->result != CURLE_OK && s->fail != HF_STOPPED) {
		const char *u = NULL;
		curl_failure(s, ez, r);
		curl_easy_getinfo(ez->h, CURLINFO_OS_ERRNO, &s->oserr);
		curl_easy_getinfo(ez->h, CURLINFO_EFFECTIVE_URL, &u);
		buf_set(&s->redir, u ? u : h->url, strlen(u ? u : h->url));
		rc = 1;
		goto out;
	}
	collect_curl(ez, r);
	s->redir.len = 0;
	if (r->pub.status >= 300 && r->pub.status < 400) {
		char *loc = NULL;
		curl_easy_getinfo(ez->h, CURLINFO_REDIRECT_URL, &loc);
		if (loc && buf_set(&s->redir, loc, strlen(loc)) < 0)
			rc = MITE_ENOMEM;
	}
out:
	s->cur = NULL;
	if (s->ez)
		easy_release(s);
	return rc;
}

static void native_done(http_native_xfer *x)
{
	session *s = x->data;

	s->inflight = 0;
	s->e->host->wake(s->ctx);
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

/* Writes the request head of a native hop into b, with the header lines
 * libcurl would send for the same request: Host, User-Agent, Accept, the
 * cookies, the session's and the request's headers ("Name:" sends nothing
 * and drops a built-in header of that name, "Name;" sends it empty), and
 * for a body its Content-Type and Content-Length. -1 on ENOMEM. */
static int write_head(session *s, http1_buf *b, const http1_url *u, const struct hop *h)
{
	const char *const *rh = h->o ? h->o->headers : NULL;
	long nh = collect_headers(s, rh);
	const char *const *hv = s->e->hv;
	const char *ck;
	int err = 0;

	if (nh < 0)
		return -1;
	b->len = 0;
	err |= app(b, h->method, strlen(h->method));
	err |= APP_LIT(b, " ");
	err |= app(b, u->path, u->path_len);
	err |= APP_LIT(b, " HTTP/1.1\r\n");
	if (!hv_named(hv, (size_t)nh, "Host", 4)) {
		size_t hp = u->hostport_len;
		if (u->port == 80) /* as libcurl: no default port */
			hp = (size_t)(u->host - u->hostport) + u->host_len + (u->host != u->hostport);
		err |= APP_LIT(b, "Host: ");
		err |= app(b, u->hostport, hp);
		err |= APP_LIT(b, "\r\n");
	}
	if (!hv_named(hv, (size_t)nh, "User-Agent", 10))
		err |= APP_LIT(b, "User-Agent: " HTTP_USER_AGENT "\r\n");
	if (!hv_named(hv, (size_t)nh, "Accept", 6))
		err |= APP_LIT(b, "Accept: */*\r\n");
	if (!hv_named(hv, (size_t)nh, "Cookie", 6) && (ck = cookie_value(s, u))) {
		err |= APP_LIT(b, "Cookie: ");
		err |= app(b, ck, strlen(ck));
		err |= APP_LIT(b, "\r\n");
	}
	for (long i = 0; i < nh; i++) {
		const char *l = hv[i], *sep = strpbrk(l, ":;"), *v;
		if (!sep)
			continue; /* libcurl skips these too */
		if (*sep == ';') {
			/* "Name;": the header with an empty value, if that is all. */
			for (v = sep + 1; *v == ' ' || *v == '\t'; v++)
				;
			if (*v)
				continue;
			err |= app(b, l, (size_t)(sep - l));
			err |= APP_LIT(b, ":\r\n");
			continue;
		}
		for (v = sep + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!*v)
			continue; /* "Name:": not sent */
		err |= app(b, l, strlen(l));
		err |= APP_LIT(b, "\r\n");
	}
	if (h->has_body) {
		if (!hv_named(hv, (size_t)nh, "Content-Type", 12)) {
			if (h->json)
				err |= APP_LIT(b, "Content-Type: application/json\r\n");
			else /* what libcurl says of a POSTFIELDS body */
				err |= APP_LIT(b, "Content-Type: application/x-www-form-urlencoded\r\n");
		}
		if (!hv_named(hv, (size_t)nh, "Content-Length", 14)) {
			err |= APP_LIT(b, "Content-Length: ");
			err |= app_u64(b, h->body_len);
			err |= APP_LIT(b, "\r\n");
		}
	}
	err |= APP_LIT(b, "\r\n");
	return err ? -1 : 0;
}

/* The native client's TLS context for s's settings (NULL on ENOMEM). Cheap:
 * its SSL_CTX is made at its first connection, on the loop. */
static tls_ctx *session_tls(session *s)
{
	http_engine *e = s->e;
	const struct xopts *x = s->x;
	tls_opts o = {.verify = 1, .alpn = "\x08http/1.1"};
	tls_ctx *c;

	if (s->tls)
		return s->tls;
	if (!x && e->tls_default)
		return e->tls_default;
	if (x) {
		/* ALPN: HTTP/2 where the server offers it, or only. */
		if (x->version == MITE_HTTP_V2)
			o.alpn = "\x02h2\x08http/1.1";
		else if (x->version == MITE_HTTP_V2_PRIOR)
			o.alpn = "\x02h2";
		o.verify = x->verify;
		o.ca_file = x->ca_file;
		o.cert = x->cert;
		o.key = x->key;
		o.key_pass = x->key_pass;
		o.min_version = x->tls_min;
		o.max_version = x->tls_max;
		o.no_resume = x->no_resume;
	}
	if (!(c = tls_ctx_get(e->tls, &o)))
		return NULL;
	if (x)
		s->tls = c;
	else
		e->tls_default = c;
	return c;
}

/* One hop through the native client; returns as curl_hop. */
static int native_hop(session *s, resp *r, const struct hop *h, const http1_url *u)
{
	http_native *n = s->e->native;
	http_native_xfer *x;
	tls_ctx *tls = NULL;
	int rc;

	if (u->https && !(tls = session_tls(s)))
		return MITE_ENOMEM;
	if (!(x = http_native_xfer_get(n)))
		return MITE_ENOMEM;
	if (write_head(s, &x->req, u, h) < 0) {
		http_native_xfer_put(n, x);
		return MITE_ENOMEM;
	}
	x->body = h->has_body ? h->body : NULL;
	x->body_len = h->has_body ? h->body_len : 0;
	x->head_request = h->method == M_HEAD;
	x->discard = h->discard;
	x->max_body = r->limit;
	if (r->body_cb) {
		x->sink = native_sink;
		x->sink_arg = s;
	}
	x->hdr = &r->hdr;
	x->resp_body = &r->body;
	x->connect_timeout_ms = (uint64_t)s->connect_ms;
	x->timeout_ms = (uint64_t)h->timeout_ms;
	x->tls = tls;
	x->fresh = h->fresh;
	x->h2 = !s->x || s->x->version == MITE_HTTP_V1_1 ? HN_H1
		: s->x->version == MITE_HTTP_V2		 ? HN_H2
							 : HN_H2_PRIOR;
	x->done = native_done;
	x->data = s;
	s->nx = x;
	s->cur = r;
	if (http_native_start(n, x, u) == 0 && (rc = park(s)) < 0) {
		/* (On a closed engine, the native client has freed x.) */
		if (s->nx && s->e)
			http_native_xfer_put(s->e->native, x);
		s->nx = NULL;
		s->cur = NULL;
		return rc;
	}
	s->nx = NULL;
	s->cur = NULL;
	if (x->err && !(x->err == HN_EABORTED && s->fail == HF_STOPPED)) {
		s->result = native_code(x->err);
		s->oserr = x->oserr;
		s->fail = x->err == HN_EHEADSIZE   ? HF_HEADER
			  : x->err == HN_EBODYSIZE ? (r->limit_session ? HF_HELD : HF_BODY)
			  : x->err == HN_EHTTP09   ? HF_HTTP09
						   : HF_NONE;
		if (x->err == HN_ETLS && x->tls_fail) {
			s->result = tls_code(x->tls_fail->kind);
			tls_words(s, s->result, x->tls_fail->verify, x->tls_fail->msg,
				  (int)sizeof(x->tls_fail->msg));
		}
		buf_set(&s->redir, h->url, strlen(h->url));
		http_native_xfer_put(n, x);
		return 1;
	}
	collect_native(x, r, h->url, u);
	http_native_xfer_put(n, x);
	s->redir.len = 0;
	if (r->pub.status >= 300 && r->pub.status < 400) {
		const char *loc = NULL;
		size_t off = 0;
		while (off < r->hdr.len && !loc) {
			const char *line = r->hdr.p + off;
			off += strlen(line) + 1;
			if (strncasecmp(line, "location:", 9) == 0)
				for (loc = line + 9; *loc == ' ' || *loc == '\t'; loc++)
					;
		}
		if (loc && *loc) {
			long k = http1_url_resolve(s->redir.p, s->redir.cap, r->pub.url, loc);
			if (k >= 0 && (size_t)k >= s->redir.cap) {
				if (http1_buf_reserve(&s->redir, (size_t)k + 1) < 0)
					return MITE_ENOMEM;
				k = http1_url_resolve(s->redir.p, s->redir.cap, r->pub.url, loc);
			}
			s->redir.len = k > 0 ? (size_t)k : 0;
		}
	}
	return 0;
}

/* Whether the native client takes this hop (u then holds the URL's parts). */
static int native_takes(session *s, const char *url, const mite_http_opts *o, http1_url *u)
{
	http_engine *e = s->e;

	if (!e->native || e->mode != ENGINE_AUTO)
		return 0;
	if (s->x && s->x->proxy)
		return 0;
	/* A Transfer-Encoding of the request's own: libcurl encodes the
	 * body as it says, the native client sends bodies as they are. */
	if (o && header_named(o->headers, "Transfer-Encoding", 17))
		return 0;
	for (size_t i = 0; i < s->nhdrs; i++)
		if (s->hdrs[i].namelen == 17 && strncasecmp(s->hdrs[i].line, "Transfer-Encoding", 17) == 0)
			return 0;
	if (http1_url_parse(url, u) < 0)
		return 0;
	return u->https ? e->tls && !e->env_https_proxy : !e->env_http_proxy;
}

static int redirect_changes_to_get(int status, const char *method)
{
	if (method == M_HEAD)
		return 0;
	if (status == 303)
		return method != M_GET;
	return (status == 301 || status == 302) && method == M_POST;
}

static int sdk_request(mite_ctx *ctx, const char *method, const char *url, const mite_http_opts *o,
		       mite_http_response **out, const char *file, int line, const char *func)
{
	session *s;
	resp *r;
	struct hop h = {.o = o};
	int follow, hops = 0, rc;
	const char *m;
	char mbuf[HTTP_MAX_METHOD];
	http1_url u;

	if (out)
		*out = NULL;
	if (!ctx || !method || !url)
		return MITE_EINVAL;
	s = session_get(ctx);
	if (!s)
		return inst_http_engine(ctx) ? MITE_ENOMEM : MITE_EINVAL;
	if (s->inflight || !s->e)
		return s->e ? MITE_EINVAL : MITE_ECANCELED;
	m = method_intern(method, mbuf);
	if (!m)
		return MITE_EINVAL;

	/* The URL: relative ones go after the base URL. */
	if (url[0] == '/') {
		size_t n = strlen(url);
		if (!s->base_url)
			return MITE_EINVAL;
		if (http1_buf_reserve(&s->urlbuf, s->base_len + n + 1) < 0)
			return MITE_ENOMEM;
		memcpy(s->urlbuf.p, s->base_url, s->base_len);
		memcpy(s->urlbuf.p + s->base_len, url, n + 1);
		url = s->urlbuf.p;
	}

	if (o && o->json) {
		h.body = o->json;
		h.body_len = strlen(o->json);
		h.has_body = h.json = 1;
	} else if (o && (o->body || o->body_len)) {
		h.body = o->body;
		h.body_len = o->body_len;
		h.has_body = 1;
	} else if (m == M_POST || m == M_PUT || m == M_PATCH) {
		h.has_body = 1; /* POST, PUT, PATCH without a body send an empty one */
	}
	follow = o && (o->flags & MITE_HTTP_NO_REDIRECTS)  ? 0
		 : o && (o->flags & MITE_HTTP_REDIRECTS) ? 1
							  : s->follow;
	h.discard = o && (o->flags & MITE_HTTP_DISCARD_BODY) ? 1
		    : o && (o->flags & MITE_HTTP_KEEP_BODY)  ? 0
							     : s->discard;
	if (o && o->body_cb)
		h.discard = 1; /* streamed: nothing kept */
	h.fresh = o && (o->flags & MITE_HTTP_NEW_CONNECTION) ? 1 : 0;
	h.timeout_ms = o && o->timeout > 0 ? (long)(o->timeout * 1000 + 0.5) : s->total_ms;
	if (h.timeout_ms < 1)
		h.timeout_ms = 1;

	r = resp_get(s);
	if (!r)
		return MITE_ENOMEM;
	if (m == mbuf) {
		memcpy(r->method, mbuf, sizeof(r->method));
		m = r->method;
	}
	r->pub.size = sizeof(r->pub);
	r->pub.method = m;
	r->pub.name = NULL;
	if (o && o->name) {
		size_t n = strnlen(o->name, sizeof(r->name) - 1);
		memcpy(r->name, o->name, n);
		r->name[n] = 0;
		r->pub.name = r->name;
	}
	r->pub.start = s->e->host->now(ctx);
	r->body_cb = o ? o->body_cb : NULL;
	r->body_arg = o ? o->body_arg : NULL;
	r->follow = follow;

	for (;;) {
		h.method = r->pub.method;
		h.url = url;
		resp_reset(r, h.discard);
		resp_account(s, r);
		hop_limit(s, r, o);
		s->fail = HF_NONE;
		s->oserr = 0;
		if (native_takes(s, url, o, &u)) {
			s->e->hops_native++;
			rc = native_hop(s, r, &h, &u);
		} else {
			s->e->hops_curl++;
			rc = curl_hop(s, r, &h);
		}
		if (rc < 0)
			goto fail;
		if (rc > 0) {
			const char *cls, *why;
			hop_error(s, r, &cls, &why);
			rc = transport_error(s, r->pub.method, s->redir.len ? s->redir.p : url, cls,
					     why, file, line, func);
			goto fail;
		}
		resp_account(s, r);
		r->pub.redirects = hops;
		take_cookies(s, r, r->pub.url);
		record(s, r, hops);
		if (follow && r->pub.status >= 300 && r->pub.status < 400 && s->redir.len) {
			http1_buf t;

			if (hops >= s->max_redirs) {
				char why[64];
				snprintf(why, sizeof(why), "more than %d redirects", s->max_redirs);
				rc = transport_error(s, r->pub.method, r->pub.url, "redirects", why,
						     file, line, func);
				goto fail;
			}
			/* The target becomes the URL: swap the buffers. */
			t = s->urlbuf;
			s->urlbuf = s->redir;
			s->redir = t;
			s->redir.len = 0;
			url = s->urlbuf.p;
			if (redirect_changes_to_get(r->pub.status, r->pub.method)) {
				r->pub.method = M_GET;
				h.has_body = h.json = 0;
				h.body = NULL;
				h.body_len = 0;
			}
			hops++;
			continue;
		}
		break;
	}
	if (out)
		*out = &r->pub;
	else
		resp_put(s, r);
	return 0;

fail:
	resp_put(s, r);
	return rc;
}

static void sdk_response_free(mite_ctx *ctx, mite_http_response *pub)
{
	resp *r = (resp *)pub;

	(void)ctx;
	if (!r)
		return;
	resp_put(r->s, r);
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

		if (ll > len && line[len] == ':' && strncasecmp(line, name, len) == 0 && idx-- == 0) {
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
	if (lo == hi)
		return inst_fail(ctx, file, line, func, "%s %s returned %d (expected %d)", r->method,
				 r->url, r->status, lo);
	return inst_fail(ctx, file, line, func, "%s %s returned %d (expected %d-%d)", r->method, r->url,
			 r->status, lo, hi);
}

static int copy_str(char **dst, const char *src)
{
	char *p = NULL;

	if (src && !(p = strdup(src)))
		return MITE_ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
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
			memmove(&s->hdrs[i], &s->hdrs[i + 1], (s->nhdrs - i - 1) * sizeof(*s->hdrs));
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
	if (copy_str(&s->base_url, url) < 0)
		return MITE_ENOMEM;
	s->base_len = url ? strlen(url) : 0;
	if (s->base_len && s->base_url[s->base_len - 1] == '/')
		s->base_url[--s->base_len] = 0;
	return 0;
}

static int setopt_rc(CURLcode c)
{
	return c == CURLE_OK ? 0 : c == CURLE_OUT_OF_MEMORY ? MITE_ENOMEM : MITE_EINVAL;
}

/* Basic authentication is a header: "Authorization: Basic base64(user:pw)",
 * which both engines send as they send default headers. */
static int sdk_set_basic_auth(mite_ctx *ctx, const char *user, const char *password)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char pre[] = "Authorization: Basic ";
	session *s = session_get(ctx);
	size_t ul, pl, n, i, o;
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
	if (!(raw = malloc(n)))
		return MITE_ENOMEM;
	memcpy(raw, user, ul);
	raw[ul] = ':';
	memcpy(raw + ul + 1, password, pl);
	if (!(line = malloc(sizeof(pre) + (n + 2) / 3 * 4))) {
		free(raw);
		return MITE_ENOMEM;
	}
	memcpy(line, pre, sizeof(pre) - 1);
	o = sizeof(pre) - 1;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
		line[o++] = b64[v >> 18];
		line[o++] = b64[(v >> 12) & 63];
		line[o++] = b64[(v >> 6) & 63];
		line[o++] = b64[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)raw[i] << 16 | (i + 1 < n ? (unsigned)raw[i + 1] << 8 : 0);
		line[o++] = b64[v >> 18];
		line[o++] = b64[(v >> 12) & 63];
		line[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		line[o++] = '=';
	}
	line[o] = 0;
	free(raw);
	free(s->auth);
	s->auth = line;
	return 0;
}

static int sdk_set_client_cert(mite_ctx *ctx, const char *cert, const char *key, const char *pass)
{
	session *s = session_get(ctx);
	struct xopts *x;

	if (!s)
		return MITE_ENOMEM;
	if (!cert && !s->x)
		return 0;
	if (!(x = session_xopts(s)))
		return MITE_ENOMEM;
	if (!cert)
		key = pass = NULL;
	if (xopt_str(s, &x->cert, cert) < 0 || xopt_str(s, &x->key, key) < 0 ||
	    xopt_str(s, &x->key_pass, pass) < 0)
		return MITE_ENOMEM;
	return 0;
}

static int sdk_set_tls_verify(mite_ctx *ctx, int on)
{
	session *s = session_get(ctx);
	struct xopts *x;

	if (!s)
		return MITE_ENOMEM;
	if (on && !s->x)
		return 0;
	if (!(x = session_xopts(s)))
		return MITE_ENOMEM;
	xopt_int(s, &x->verify, on != 0);
	return 0;
}

static int sdk_set_ca_file(mite_ctx *ctx, const char *path)
{
	session *s = session_get(ctx);
	struct xopts *x;

	if (!s)
		return MITE_ENOMEM;
	if (!path && !s->x)
		return 0;
	if (!(x = session_xopts(s)))
		return MITE_ENOMEM;
	return xopt_str(s, &x->ca_file, path);
}

static int sdk_set_proxy(mite_ctx *ctx, const char *url)
{
	session *s = session_get(ctx);
	struct xopts *x;

	if (!s)
		return MITE_ENOMEM;
	if (!url && !s->x)
		return 0;
	if (!(x = session_xopts(s)))
		return MITE_ENOMEM;
	if (xopt_str(s, &x->proxy_url, url) < 0)
		return MITE_ENOMEM;
	x->proxy = url && *url;
	return 0;
}

static int sdk_set_version(mite_ctx *ctx, int version)
{
	session *s;
	struct xopts *x;

	if (version != MITE_HTTP_V1_1 && version != MITE_HTTP_V2 && version != MITE_HTTP_V2_PRIOR)
		return MITE_EINVAL;
	if (!(s = session_get(ctx)))
		return MITE_ENOMEM;
	if (version == MITE_HTTP_V1_1 && !s->x)
		return 0;
	if (!(x = session_xopts(s)))
		return MITE_ENOMEM;
	xopt_int(s, &x->version, version);
	return 0;
}

static int sdk_set_tls_versions(mite_ctx *ctx, int min, int max)
{
	session *s;
	struct xopts *x;

	if ((min && min != MITE_HTTP_TLS1_2 && min != MITE_HTTP_TLS1_3) ||
	    (max && max != MITE_HTTP_TLS1_2 && max != MITE_HTTP_TLS1_3) || (min && max && min > max))
		return MITE_EINVAL;
	if (!(s = session_get(ctx)))
		return MITE_ENOMEM;
	if (!min && !max && !s->x)
		return 0;
	if (!(x = session_xopts(s)))
		return MITE_ENOMEM;
	xopt_int(s, &x->tls_min, min);
	xopt_int(s, &x->tls_max, max);
	return 0;
}

static int sdk_set_tls_resumption(mite_ctx *ctx, int on)
{
	session *s = session_get(ctx);
	struct xopts *x;

	if (!s)
		return MITE_ENOMEM;
	if (on && !s->x)
		return 0;
	if (!(x = session_xopts(s)))
		return MITE_ENOMEM;
	xopt_int(s, &x->no_resume, !on);
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
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
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
};

const struct mite_http_api *http_sdk_api(void)
{
	return &sdk_table;
}
