/*
 * http.c - the runner's HTTP engine and the SDK's <mite/http.h> calls.
 *
 * One CURLM per runner, driven by the runner's libuv loop through the
 * multi-socket API: libcurl tells us (CURLMOPT_SOCKETFUNCTION) which fds to
 * watch, we keep one uv_poll per fd and hand readiness back with
 * curl_multi_socket_action; libcurl's single timeout (CURLMOPT_TIMERFUNCTION)
 * is one uv_timer. After every socket_action we drain curl_multi_info_read
 * and wake the instance whose transfer finished (its session is the easy
 * handle's CURLOPT_PRIVATE). Nothing polls.
 *
 * Each journey instance has a session (ctx->http) with one easy handle that
 * it keeps for its life, so libcurl's per-handle state (cookie engine,
 * buffers) is built once, and only options that change are set again per
 * request. Connections live in the multi's connection cache, shared by every
 * instance of the runner, and so does the DNS cache: easy handles added to
 * a multi use the multi's DNS cache, so a CURLSH would only add locking
 * calls.
 *
 * Redirects are followed here rather than by libcurl (CURLOPT_FOLLOWLOCATION
 * stays off): libcurl's timings are cumulative over all hops, and we want each
 * hop measured and recorded on its own.
 *
 * Hot-path rules: no allocation per request in steady state (responses,
 * header lists and buffers are pooled per session; libcurl allocates what it
 * must), no setopt of an unchanged option, stats entries cached per session.
 */
#include "runner/http.h"

#include "core/stats.h"
#include "runner/inst.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <mite/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_DEFAULT_CONNECT_MS 10000L
#define HTTP_DEFAULT_TOTAL_MS 60000L
#define HTTP_DEFAULT_MAX_REDIRS 5
#define HTTP_USER_AGENT "mite/" MITE_SDK_VERSION
#define HTTP_MAX_METHOD 24
#define HTTP_STATS_CACHE 4
#define HTTP_TXN_CACHE_LEN 96
/* libcurl asks for "Expect: 100-continue" above this body size (7.88). */
#define HTTP_EXPECT_THRESHOLD 1024

typedef struct session session;

struct http_engine {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	session *sessions;      /* every live session, to detach at close */
	struct psock *socks;    /* every watched socket */
	struct psock **byfd;    /* the same, by fd */
	size_t nbyfd;
	int env_proxy;          /* proxy environment variables are set */
	long nsessions;
	int closing;
	int pending_closes;     /* uv handles whose close callback is due */
	void (*done)(void *arg);
	void *done_arg;
};

/* One watched socket. A connection socket (one libcurl opened through
 * engine_open_socket) keeps its uv_poll from its open to its close, also
 * while the connection idles in libcurl's cache between requests: libcurl
 * then says CURL_POLL_REMOVE, and stopping and restarting the watch at
 * every request would cost epoll_ctl calls each time. Other sockets (the
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

/* A response: the public part first, then what the session keeps. */
typedef struct resp {
	mite_http_response pub;
	session *s;
	struct resp *prev, *next; /* in the session's live or free list */
	char *body;
	size_t body_cap;
	char *hdr; /* "Name: value\0" lines of the response's header */
	size_t hdr_len, hdr_cap;
	char *url;
	size_t url_cap;
	char method[HTTP_MAX_METHOD];
	char name[64];
	int discard;
} resp;

/* A default header, "Name: value". */
struct dhdr {
	char *line;
	size_t namelen;
};

struct stats_cache {
	char txn[HTTP_TXN_CACHE_LEN];
	const char *method; /* interned: compared by pointer */
	int status;
	stats_entry *e;
};

struct session {
	http_engine *e;
	struct mite_ctx *ctx;
	CURL *easy;
	session *prev, *next; /* in the engine's list */

	/* settings */
	struct dhdr *hdrs;
	size_t nhdrs, hdrs_cap;
	char *base_url;
	size_t base_len;
	int follow, max_redirs, discard;
	long total_ms;

	/* header lists handed to libcurl; their nodes are ours, reused */
	struct curl_slist *def_nodes, *req_nodes;
	size_t def_cap, req_cap;
	struct curl_slist *def_list; /* the defaults as a list, or NULL */
	int def_dirty;
	struct curl_slist *set_list; /* what CURLOPT_HTTPHEADER holds now */

	/* request options as set on the easy handle now */
	char *set_url;
	size_t set_url_cap;
	const char *set_custom; /* CUSTOMREQUEST: NULL or an interned method */
	char set_custom_buf[HTTP_MAX_METHOD];
	int set_mode; /* MODE_* */
	const void *set_body;
	size_t set_body_len;
	long set_timeout_ms;

	/* scratch for base URL + path and redirect targets */
	char *urlbuf;
	size_t urlbuf_cap;

	/* the transfer in flight */
	int inflight;
	CURLcode result;
	resp *cur;
	int cookies; /* a Set-Cookie was seen since the jar was last emptied */

	resp *live, *spare;
	struct stats_cache sc[HTTP_STATS_CACHE];
	int sc_next;
};

enum { MODE_NONE = 0, MODE_GET, MODE_HEAD, MODE_BODY };

static const char *const known_methods[] = {"GET",    "POST", "PUT",     "PATCH",
					    "DELETE", "HEAD", "OPTIONS", NULL};

/* ---- the multi over libuv --------------------------------------------- */

static void engine_handle_closed(uv_handle_t *h);

static void engine_drain(http_engine *e)
{
	CURLMsg *msg;
	int left;

	/* Read every field of msg before curl_multi_remove_handle, which
	 * frees it. inst_wake resumes the instance at once: it may add its
	 * handle again or free its session before we read the next message,
	 * which is fine as we never touch this one again. */
	while ((msg = curl_multi_info_read(e->multi, &left))) {
		CURL *easy;
		CURLcode res;
		session *s = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		res = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
		curl_multi_remove_handle(e->multi, easy);
		if (!s)
			continue;
		s->inflight = 0;
		s->result = res;
		inst_wake(s->ctx);
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

http_engine *http_engine_new(uv_loop_t *loop)
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
	/* Without proxy variables, tell libcurl so: it would otherwise look
	 * them up (getenv) for every transfer. */
	e->env_proxy = getenv("http_proxy") || getenv("https_proxy") || getenv("HTTPS_PROXY") ||
		       getenv("all_proxy") || getenv("ALL_PROXY");
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
	free(e->byfd);
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

void http_engine_close(http_engine *e, void (*done)(void *arg), void *arg)
{
	session *s;

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
			curl_multi_remove_handle(e->multi, s->easy);
			s->inflight = 0;
			s->result = CURLE_ABORTED_BY_CALLBACK;
		}
		/* Its connections die with the multi: no more callbacks into e. */
		curl_easy_setopt(s->easy, CURLOPT_OPENSOCKETFUNCTION, NULL);
		curl_easy_setopt(s->easy, CURLOPT_CLOSESOCKETFUNCTION, NULL);
		s->e = NULL;
		s->prev = s->next = NULL;
	}
	/* curl_multi_cleanup closes the cached connections and tells us
	 * (CURL_POLL_REMOVE) while the loop can still run our close
	 * callbacks. */
	e->closing = 1;
	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	while (e->socks)
		psock_close(e->socks);
	uv_timer_stop(&e->timer);
	e->pending_closes++;
	uv_close((uv_handle_t *)&e->timer, engine_handle_closed);
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

static void resp_put(session *s, resp *r)
{
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
	free(r->body);
	free(r->hdr);
	free(r->url);
	free(r);
}

/* Prepares r for one hop. */
static void resp_reset(resp *r, int discard)
{
	r->hdr_len = 0;
	r->pub.body_len = 0;
	r->pub.bytes_in = 0;
	r->discard = discard;
	if (r->body)
		r->body[0] = 0;
}

static int grow(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 64;
	char *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	session *s = userp;
	resp *r = s->cur;
	size_t n = size * nmemb;

	r->pub.bytes_in += n;
	if (r->discard)
		return n;
	if (grow(&r->body, &r->body_cap, r->pub.body_len + n + 1) < 0)
		return CURL_WRITEFUNC_ERROR;
	memcpy(r->body + r->pub.body_len, data, n);
	r->pub.body_len += n;
	r->body[r->pub.body_len] = 0;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	session *s = userp;
	resp *r = s->cur;
	size_t n = size * nmemb, len = n;

	/* A status line starts a new header block (after a 100 Continue, or a
	 * proxy's CONNECT reply): keep only the last one. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		r->hdr_len = 0;
		return n;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len == 0)
		return n;
	if ((data[0] == 's' || data[0] == 'S') && len > 11 && strncasecmp(data, "set-cookie:", 11) == 0)
		s->cookies = 1;
	if (grow(&r->hdr, &r->hdr_cap, r->hdr_len + len + 1) < 0)
		return 0;
	memcpy(r->hdr + r->hdr_len, data, len);
	r->hdr[r->hdr_len + len] = 0;
	r->hdr_len += len + 1;
	return n;
}

/* ---- sessions ------------------------------------------------------------ */

static session *session_get(struct mite_ctx *ctx)
{
	session *s = ctx->http;
	http_engine *e;

	if (s)
		return s;
	e = inst_http_engine(ctx);
	if (!e || e->closing)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->easy = curl_easy_init();
	if (!s->easy) {
		free(s);
		return NULL;
	}
	s->e = e;
	s->ctx = ctx;
	s->follow = 1;
	s->max_redirs = HTTP_DEFAULT_MAX_REDIRS;
	s->total_ms = HTTP_DEFAULT_TOTAL_MS;
	s->set_timeout_ms = 0;
	s->def_dirty = 1;

	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_COOKIEFILE, ""); /* the cookie engine, empty */
	curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, HTTP_DEFAULT_CONNECT_MS);
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(s->easy, CURLOPT_OPENSOCKETFUNCTION, engine_open_socket);
	curl_easy_setopt(s->easy, CURLOPT_OPENSOCKETDATA, e);
	curl_easy_setopt(s->easy, CURLOPT_CLOSESOCKETFUNCTION, engine_close_socket);
	curl_easy_setopt(s->easy, CURLOPT_CLOSESOCKETDATA, e);
	if (!e->env_proxy) {
		curl_easy_setopt(s->easy, CURLOPT_PROXY, "");
		curl_easy_setopt(s->easy, CURLOPT_NOPROXY, "");
	}

	s->next = e->sessions;
	if (e->sessions)
		e->sessions->prev = s;
	e->sessions = s;
	/* libcurl sizes its connection cache by the transfers in flight (4
	 * each) unless told: between requests few are in flight, and it would
	 * close idle keep-alive connections that the next requests reopen. */
	e->nsessions++;
	if (e->nsessions >= 4 && (e->nsessions & (e->nsessions - 1)) == 0)
		curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, e->nsessions * 4);
	ctx->http = s;
	return s;
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
	if (s->cookies) {
		curl_easy_setopt(s->easy, CURLOPT_COOKIELIST, "ALL");
		s->cookies = 0;
	}
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
		if (s->inflight)
			curl_multi_remove_handle(s->e->multi, s->easy);
		if (s->prev)
			s->prev->next = s->next;
		else
			s->e->sessions = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->e->nsessions--;
	}
	curl_easy_cleanup(s->easy);
	session_release_all(s);
	while ((r = s->spare)) {
		s->spare = r->next;
		resp_destroy(r);
	}
	for (i = 0; i < s->nhdrs; i++)
		free(s->hdrs[i].line);
	free(s->hdrs);
	free(s->base_url);
	free(s->def_nodes);
	free(s->req_nodes);
	free(s->set_url);
	free(s->urlbuf);
	free(s);
}

/* ---- request options ---------------------------------------------------- */

static int nodes_reserve(struct curl_slist **nodes, size_t *cap, size_t n)
{
	struct curl_slist *p;
	size_t c = *cap ? *cap : 8;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	p = realloc(*nodes, c * sizeof(*p));
	if (!p)
		return -1;
	*nodes = p;
	*cap = c;
	return 0;
}

/* Links n nodes into a list; returns its head or NULL. libcurl only reads
 * CURLOPT_HTTPHEADER's list, so the nodes can be ours. */
static struct curl_slist *nodes_link(struct curl_slist *nodes, size_t n)
{
	size_t i;

	if (n == 0)
		return NULL;
	for (i = 0; i + 1 < n; i++)
		nodes[i].next = &nodes[i + 1];
	nodes[n - 1].next = NULL;
	return &nodes[0];
}

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

/* The header list for a request: the session's defaults (rebuilt only when
 * they changed), or, when the request adds headers, defaults not overridden
 * plus the request's own. NULL with *err set on ENOMEM. */
static struct curl_slist *build_headers(session *s, const mite_http_opts *o, int json,
					size_t body_len, int *err)
{
	const char *const *rh = o ? o->headers : NULL;
	int expect = body_len > HTTP_EXPECT_THRESHOLD;
	size_t i, n = 0, nreq = 0;

	*err = 0;
	if (s->def_dirty) {
		if (nodes_reserve(&s->def_nodes, &s->def_cap, s->nhdrs) < 0) {
			*err = 1;
			return NULL;
		}
		for (i = 0; i < s->nhdrs; i++)
			s->def_nodes[i].data = s->hdrs[i].line;
		s->def_list = nodes_link(s->def_nodes, s->nhdrs);
		s->def_dirty = 0;
	}
	if (!rh && !json && !expect)
		return s->def_list;

	for (const char *const *p = rh; p && *p; p++)
		nreq++;
	if (nodes_reserve(&s->req_nodes, &s->req_cap, s->nhdrs + nreq + 2) < 0) {
		*err = 1;
		return NULL;
	}
	for (i = 0; i < s->nhdrs; i++)
		if (!header_named(rh, s->hdrs[i].line, s->hdrs[i].namelen))
			s->req_nodes[n++].data = s->hdrs[i].line;
	for (i = 0; i < nreq; i++)
		s->req_nodes[n++].data = (char *)rh[i];
	if (json && !header_named(rh, "Content-Type", 12))
		s->req_nodes[n++].data = (char *)"Content-Type: application/json";
	/* libcurl would wait up to a second for a 100 Continue. */
	if (expect && !header_named(rh, "Expect", 6))
		s->req_nodes[n++].data = (char *)"Expect:";
	return nodes_link(s->req_nodes, n);
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
static void set_method(session *s, const char *method, const void *body, size_t len, int has_body)
{
	int mode;
	const char *custom = NULL;

	if (has_body) {
		mode = MODE_BODY;
		if (strcmp(method, "POST") != 0)
			custom = method;
	} else if (strcmp(method, "HEAD") == 0) {
		mode = MODE_HEAD;
	} else {
		mode = MODE_GET;
		if (strcmp(method, "GET") != 0)
			custom = method;
	}
	if (mode != s->set_mode) {
		switch (mode) {
		case MODE_GET:
			curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
			break;
		case MODE_HEAD:
			curl_easy_setopt(s->easy, CURLOPT_NOBODY, 1L);
			break;
		case MODE_BODY:
			curl_easy_setopt(s->easy, CURLOPT_POST, 1L);
			s->set_body = NULL;
			s->set_body_len = (size_t)-1;
			break;
		}
		s->set_mode = mode;
	}
	if (mode == MODE_BODY && (body != s->set_body || len != s->set_body_len)) {
		/* Size first: POSTFIELDS with a size of -1 would strlen. */
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, body ? body : "");
		s->set_body = body;
		s->set_body_len = len;
	}
	if (custom != s->set_custom && !(custom && s->set_custom && strcmp(custom, s->set_custom) == 0)) {
		curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, custom);
		/* Remember a custom token by value: the response that holds it
		 * is reused. */
		if (custom && !method_known(custom)) {
			snprintf(s->set_custom_buf, sizeof(s->set_custom_buf), "%s", custom);
			custom = s->set_custom_buf;
		}
		s->set_custom = custom;
	}
}

static int set_url(session *s, const char *url)
{
	size_t len = strlen(url);

	if (s->set_url && strcmp(s->set_url, url) == 0)
		return 0;
	if (curl_easy_setopt(s->easy, CURLOPT_URL, url) != CURLE_OK)
		return MITE_ENOMEM;
	if (grow(&s->set_url, &s->set_url_cap, len + 1) < 0) {
		if (s->set_url)
			s->set_url[0] = 0;
		return 0;
	}
	memcpy(s->set_url, url, len + 1);
	return 0;
}

/* ---- recording ---------------------------------------------------------- */

static stats_entry *http_stats_entry(session *s, const char *method, int status)
{
	const char *txn = inst_txn_name(s->ctx);
	struct stats_cache *c;
	stats_entry *e;
	char st[16];
	int i;

	for (i = 0; i < HTTP_STATS_CACHE; i++) {
		c = &s->sc[i];
		if (c->e && c->status == status && c->method == method && strcmp(c->txn, txn) == 0)
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
	e = stats_get(inst_stats(s->ctx), "http",
		      (const char *const[]){inst_journey_name(s->ctx), txn, method, st}, 4);
	if (!e || strlen(txn) >= HTTP_TXN_CACHE_LEN || !method_known(method))
		return e;
	c = &s->sc[s->sc_next];
	s->sc_next = (s->sc_next + 1) % HTTP_STATS_CACHE;
	memcpy(c->txn, txn, strlen(txn) + 1);
	c->method = method;
	c->status = status;
	c->e = e;
	return e;
}

static uint64_t sec_to_ns(double s)
{
	return s <= 0 ? 0 : (uint64_t)(s * 1e9 + 0.5);
}

/* Reads the finished hop's facts from the easy handle into r. */
static void collect(session *s, resp *r)
{
	CURL *h = s->easy;
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
	r->pub.header_bytes = (uint64_t)hsize;
	r->pub.bytes_out = (uint64_t)rsize + (uint64_t)up;
	/* Cumulative microseconds from the start; phases are differences. */
	if (r->pub.reused) {
		r->pub.t.dns = r->pub.t.connect = r->pub.t.tls = 0;
	} else {
		r->pub.t.dns = nl / 1e6;
		r->pub.t.connect = co > nl ? (co - nl) / 1e6 : 0;
		r->pub.t.tls = ac > co ? (ac - co) / 1e6 : 0;
	}
	r->pub.t.ttfb = st > pre ? (st - pre) / 1e6 : 0;
	r->pub.t.total = tot / 1e6;
	snprintf(r->pub.primary_ip, sizeof(r->pub.primary_ip), "%s", ip ? ip : "");
	if (url) {
		size_t n = strlen(url);
		if (grow(&r->url, &r->url_cap, n + 1) == 0)
			memcpy(r->url, url, n + 1);
	}
	r->pub.url = r->url ? r->url : "";
	r->pub.body = r->body && !r->discard ? r->body : "";
	if (r->discard)
		r->pub.body_len = 0;
}

static void emit_event(session *s, const resp *r, int hop)
{
	cJSON *ev = cJSON_CreateObject();

	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "type", "http_metrics");
	cJSON_AddStringToObject(ev, "journey", inst_journey_name(s->ctx));
	cJSON_AddStringToObject(ev, "transaction", inst_txn_name(s->ctx));
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
	inst_event(s->ctx, ev);
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
	if (inst_http_events(s->ctx))
		emit_event(s, r, hop);
}

static const char *error_class(CURLcode res, CURL *easy)
{
	long oserr = 0;

	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
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

static int transport_error(session *s, const char *method, const char *url, const char *cls,
			   const char *why, const char *file, int line, const char *func)
{
	stats_entry *e = stats_get(inst_stats(s->ctx), "httperr",
				   (const char *const[]){inst_journey_name(s->ctx),
							 inst_txn_name(s->ctx), method, cls},
				   4);
	if (e)
		stats_add(e, 0, 1);
	inst_fail(s->ctx, file, line, func, "%s %s failed (%s): %s", method, url, cls, why);
	return strcmp(cls, "timeout") == 0 ? MITE_ETIMEDOUT : MITE_EIO;
}

/* ---- the SDK calls ------------------------------------------------------ */

static void on_cancel(struct mite_ctx *ctx, void *arg)
{
	session *s = arg;

	(void)ctx;
	if (s->inflight && s->e) {
		curl_multi_remove_handle(s->e->multi, s->easy);
		s->inflight = 0;
	}
	s->result = CURLE_ABORTED_BY_CALLBACK;
}

/* One hop: starts the transfer and parks until it ends. */
static int run_hop(session *s)
{
	int rc;

	if (!s->e)
		return MITE_ECANCELED;
	if (curl_multi_add_handle(s->e->multi, s->easy) != CURLM_OK)
		return MITE_ENOMEM;
	s->inflight = 1;
	s->result = CURLE_OK;
	rc = inst_park(s->ctx, on_cancel, s);
	if (rc != 0 || s->inflight) {
		on_cancel(s->ctx, s);
		return MITE_ECANCELED;
	}
	return 0;
}

static int redirect_changes_to_get(int status, const char *method)
{
	if (strcmp(method, "HEAD") == 0)
		return 0;
	if (status == 303)
		return strcmp(method, "GET") != 0;
	return (status == 301 || status == 302) && strcmp(method, "POST") == 0;
}

static int sdk_request(mite_ctx *ctx, const char *method, const char *url, const mite_http_opts *o,
		       mite_http_response **out, const char *file, int line, const char *func)
{
	session *s;
	resp *r;
	const void *body = NULL;
	size_t body_len = 0;
	int has_body = 0, json = 0, follow, discard, hops = 0, rc, err;
	const char *m;
	char mbuf[HTTP_MAX_METHOD];
	struct curl_slist *hl;
	long tmo;

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
		if (grow(&s->urlbuf, &s->urlbuf_cap, s->base_len + n + 1) < 0)
			return MITE_ENOMEM;
		memcpy(s->urlbuf, s->base_url, s->base_len);
		memcpy(s->urlbuf + s->base_len, url, n + 1);
		url = s->urlbuf;
	}

	if (o && o->json) {
		body = o->json;
		body_len = strlen(o->json);
		has_body = json = 1;
	} else if (o && (o->body || o->body_len)) {
		body = o->body;
		body_len = o->body_len;
		has_body = 1;
	} else if (m == known_methods[1] || m == known_methods[2] || m == known_methods[3]) {
		has_body = 1; /* POST, PUT, PATCH without a body send an empty one */
	}
	follow = o && (o->flags & MITE_HTTP_NO_REDIRECTS)  ? 0
		 : o && (o->flags & MITE_HTTP_REDIRECTS) ? 1
							  : s->follow;
	discard = o && (o->flags & MITE_HTTP_DISCARD_BODY) ? 1
		  : o && (o->flags & MITE_HTTP_KEEP_BODY)  ? 0
							   : s->discard;
	tmo = o && o->timeout > 0 ? (long)(o->timeout * 1000 + 0.5) : s->total_ms;
	if (tmo < 1)
		tmo = 1;

	hl = build_headers(s, o, json, body_len, &err);
	if (err)
		return MITE_ENOMEM;
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
		snprintf(r->name, sizeof(r->name), "%s", o->name);
		r->pub.name = r->name;
	}
	r->pub.start = inst_now(ctx);
	if (hl != s->set_list) {
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, hl);
		s->set_list = hl;
	}
	if (tmo != s->set_timeout_ms) {
		curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, tmo);
		s->set_timeout_ms = tmo;
	}

	for (;;) {
		set_method(s, r->pub.method, body, body_len, has_body);
		rc = set_url(s, url);
		if (rc < 0)
			goto fail;
		resp_reset(r, discard);
		s->cur = r;
		rc = run_hop(s);
		s->cur = NULL;
		if (rc < 0)
			goto fail;
		if (s->result != CURLE_OK) {
			const char *u = NULL;
			curl_easy_getinfo(s->easy, CURLINFO_EFFECTIVE_URL, &u);
			rc = transport_error(s, r->pub.method, u ? u : url,
					     error_class(s->result, s->easy),
					     curl_easy_strerror(s->result), file, line, func);
			goto fail;
		}
		collect(s, r);
		r->pub.redirects = hops;
		record(s, r, hops);
		if (follow && r->pub.status >= 300 && r->pub.status < 400) {
			char *loc = NULL;
			size_t n;

			curl_easy_getinfo(s->easy, CURLINFO_REDIRECT_URL, &loc);
			if (loc) {
				if (hops >= s->max_redirs) {
					char why[64];
					snprintf(why, sizeof(why), "more than %d redirects",
						 s->max_redirs);
					rc = transport_error(s, r->pub.method, r->pub.url,
							     "redirects", why, file, line, func);
					goto fail;
				}
				n = strlen(loc);
				if (grow(&s->urlbuf, &s->urlbuf_cap, n + 1) < 0) {
					rc = MITE_ENOMEM;
					goto fail;
				}
				memcpy(s->urlbuf, loc, n + 1);
				url = s->urlbuf;
				if (redirect_changes_to_get(r->pub.status, r->pub.method)) {
					r->pub.method = known_methods[0];
					has_body = json = 0;
					body = NULL;
					body_len = 0;
					hl = build_headers(s, o, 0, 0, &err);
					if (err) {
						rc = MITE_ENOMEM;
						goto fail;
					}
					if (hl != s->set_list) {
						curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, hl);
						s->set_list = hl;
					}
				}
				hops++;
				continue;
			}
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

	if (!r || !name || !r->hdr)
		return NULL;
	len = strlen(name);
	while (off < r->hdr_len) {
		const char *line = r->hdr + off;
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
		size_t n = nl + 2 + strlen(value) + 1;
		if (!(line = malloc(n)))
			return MITE_ENOMEM;
		snprintf(line, n, "%s:%s%s", name, *value ? " " : "", value);
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
			size_t c = s->hdrs_cap ? s->hdrs_cap * 2 : 8;
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
	s->def_dirty = 1;
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
	s->def_dirty = 1;
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

static int sdk_set_basic_auth(mite_ctx *ctx, const char *user, const char *password)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	if (!user) {
		curl_easy_setopt(s->easy, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(s->easy, CURLOPT_PASSWORD, NULL);
		return setopt_rc(curl_easy_setopt(s->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_NONE));
	}
	curl_easy_setopt(s->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	if (curl_easy_setopt(s->easy, CURLOPT_USERNAME, user) != CURLE_OK)
		return MITE_ENOMEM;
	return setopt_rc(curl_easy_setopt(s->easy, CURLOPT_PASSWORD, password ? password : ""));
}

static int sdk_set_client_cert(mite_ctx *ctx, const char *cert, const char *key, const char *pass)
{
	session *s = session_get(ctx);
	int rc;

	if (!s)
		return MITE_ENOMEM;
	if (!cert)
		key = pass = NULL;
	if ((rc = setopt_rc(curl_easy_setopt(s->easy, CURLOPT_SSLCERT, cert))) < 0 ||
	    (rc = setopt_rc(curl_easy_setopt(s->easy, CURLOPT_SSLKEY, key))) < 0)
		return rc;
	return setopt_rc(curl_easy_setopt(s->easy, CURLOPT_KEYPASSWD, pass));
}

static int sdk_set_tls_verify(mite_ctx *ctx, int on)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYPEER, on ? 1L : 0L);
	return setopt_rc(curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYHOST, on ? 2L : 0L));
}

static int sdk_set_ca_file(mite_ctx *ctx, const char *path)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	return setopt_rc(curl_easy_setopt(s->easy, CURLOPT_CAINFO, path));
}

static int sdk_set_proxy(mite_ctx *ctx, const char *url)
{
	session *s = session_get(ctx);

	if (!s)
		return MITE_ENOMEM;
	if (!url && s->e && !s->e->env_proxy)
		url = "";
	return setopt_rc(curl_easy_setopt(s->easy, CURLOPT_PROXY, url));
}

static int sdk_set_version(mite_ctx *ctx, int version)
{
	session *s;
	long v;

	switch (version) {
	case MITE_HTTP_V1_1:
		v = CURL_HTTP_VERSION_1_1;
		break;
	case MITE_HTTP_V2:
		v = CURL_HTTP_VERSION_2TLS;
		break;
	case MITE_HTTP_V2_PRIOR:
		v = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
		break;
	default:
		return MITE_EINVAL;
	}
	if (!(s = session_get(ctx)))
		return MITE_ENOMEM;
	/* Wait for a connection that may multiplex rather than open one more. */
	curl_easy_setopt(s->easy, CURLOPT_PIPEWAIT, version == MITE_HTTP_V1_1 ? 0L : 1L);
	return setopt_rc(curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, v));
}

static int sdk_set_timeouts(mite_ctx *ctx, double connect, double total)
{
	session *s;

	if (connect < 0 || total < 0)
		return MITE_EINVAL;
	if (!(s = session_get(ctx)))
		return MITE_ENOMEM;
	if (connect > 0)
		curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS,
				 (long)(connect * 1000 + 0.5) > 0 ? (long)(connect * 1000 + 0.5) : 1L);
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
};

const struct mite_http_api *http_sdk_api(void)
{
	return &sdk_table;
}
