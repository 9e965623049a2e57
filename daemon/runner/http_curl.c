/* http_curl.c - see http_curl.h. */
#include "runner/http_curl.h"

#include "runner/http_session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void curl_handle_closed(uv_handle_t *h);

static void engine_drain(http_engine *e)
{
	CURLMsg *msg;
	int left;

	/* Read every field of msg before curl_multi_remove_handle, which
	 * frees it. Waking resumes the instance at once: it may add a
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
		s->result = res;
		http_session_done(s);
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
	uv_close((uv_handle_t *)&ps->poll, curl_handle_closed);
}

/* CURLOPT_OPENSOCKETFUNCTION: a connection socket, watched until
 * http_curl_close_socket. */
curl_socket_t http_curl_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
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
int http_curl_close_socket(void *clientp, curl_socket_t fd)
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

int http_curl_init(http_engine *e)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	e->tls_openssl = v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL", 7) == 0;
	/* Without proxy variables, tell libcurl so: it would otherwise look
	 * them up (getenv) for every transfer. libcurl ignores HTTP_PROXY in
	 * capitals (a CGI program's environment could set it). */
	e->env_http_proxy = getenv("http_proxy") || getenv("all_proxy") || getenv("ALL_PROXY");
	e->env_https_proxy = getenv("https_proxy") || getenv("HTTPS_PROXY") ||
		getenv("all_proxy") || getenv("ALL_PROXY");
	e->env_proxy = e->env_http_proxy || e->env_https_proxy;
	e->multi = curl_multi_init();
	if (!e->multi)
		return -1;
	if (uv_timer_init(e->loop, &e->timer) < 0) {
		curl_multi_cleanup(e->multi);
		e->multi = NULL;
		return -1;
	}
	e->timer.data = e;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, engine_socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, engine_timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 16L);
	return 0;
}

static void curl_handle_closed(uv_handle_t *h)
{
	http_engine *e;

	if (h->type == UV_POLL) {
		struct psock *ps = h->data;
		e = ps->e;
		free(ps);
	} else {
		e = h->data;
	}
	e->closed_one(e);
}

void http_curl_close(http_engine *e)
{
	/* curl_multi_cleanup closes the cached connections and tells us
	 * (CURL_POLL_REMOVE) while the loop can still run our close
	 * callbacks. */
	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	while (e->socks)
		psock_close(e->socks);
	uv_timer_stop(&e->timer);
	e->pending_closes++;
	uv_close((uv_handle_t *)&e->timer, curl_handle_closed);
}
