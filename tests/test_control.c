/*
 * test_control.c - the control socket with a fake command table: framing,
 * replies, errors for every kind of bad input, limits, subscriptions, peer
 * checks. The server runs its loop in a thread; the test talks to it with
 * plain blocking sockets, as any client would.
 */
#include "config.h"

#include "controller/control.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

typedef struct server {
	uv_loop_t loop;
	uv_async_t stop;
	control *ctl;
	pthread_t thread;
	char path[108];
	int ticks;
} server;

static cJSON *cmd_ping(control_client *cl, const cJSON *req, void *data)
{
	(void)cl;
	(void)req;
	(void)data;
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "pong", "mite");
	return o;
}

static cJSON *cmd_null(control_client *cl, const cJSON *req, void *data)
{
	(void)cl;
	(void)req;
	(void)data;
	return NULL;
}

static cJSON *tick(control_client *cl, void *arg, void *data)
{
	(void)cl;
	int *n = arg;
	server *s = data;
	s->ticks++;
	if (++*n > 1000)
		return NULL;
	cJSON *o = control_ok();
	cJSON_AddNumberToObject(o, "tick", *n);
	return o;
}

static cJSON *cmd_watch(control_client *cl, const cJSON *req, void *data)
{
	(void)req;
	(void)data;
	int *n = calloc(1, sizeof(*n));
	control_client_watch(cl, 0.1, tick, n, free);
	cJSON *o = control_ok();
	cJSON_AddBoolToObject(o, "watch", 1);
	return o;
}

/* "slow": answers 0.8 s later (as mited's start does after its parse). */
typedef struct slow {
	uv_timer_t t;
	control_pending *p;
} slow;

static void slow_closed(uv_handle_t *h)
{
	free(h->data);
}

static void slow_fire(uv_timer_t *t)
{
	slow *w = t->data;
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "slow", "done");
	control_reply(w->p, o);
	uv_close((uv_handle_t *)&w->t, slow_closed);
}

static cJSON *cmd_slow(control_client *cl, const cJSON *req, void *data)
{
	server *s = data;
	slow *w = calloc(1, sizeof(*w));
	(void)req;
	w->p = control_defer(cl);
	cr_assert_not_null(w->p);
	cr_assert_null(control_defer(cl), "a second deferral is refused");
	uv_timer_init(&s->loop, &w->t);
	w->t.data = w;
	uv_timer_start(&w->t, slow_fire, 800, 0);
	return control_deferred;
}

/* "echo": the request's "text" back, and a reply string that is not UTF-8. */
static cJSON *cmd_echo(control_client *cl, const cJSON *req, void *data)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "text");
	cJSON *o = control_ok();
	(void)cl;
	(void)data;
	cJSON_AddStringToObject(o, "text", cJSON_IsString(t) ? t->valuestring : "");
	cJSON_AddStringToObject(o, "made", "bad\xc3(\xff)");
	return o;
}

/* "huge": a reply over CONTROL_REPLY_MAX. */
static cJSON *cmd_huge(control_client *cl, const cJSON *req, void *data)
{
	char *big = malloc(CONTROL_REPLY_MAX + 1);
	cJSON *o = control_ok();
	(void)cl;
	(void)req;
	(void)data;
	memset(big, 'h', CONTROL_REPLY_MAX);
	big[CONTROL_REPLY_MAX] = '\0';
	cJSON_AddStringToObject(o, "big", big);
	free(big);
	return o;
}

static const control_cmd cmds[] = {
	{ "ping", cmd_ping }, { "null", cmd_null }, { "watch", cmd_watch }, { "slow", cmd_slow },
	{ "echo", cmd_echo }, { "huge", cmd_huge }, { NULL, NULL },
};

static void on_stop(uv_async_t *h)
{
	server *s = h->data;
	control_close(s->ctl);
	uv_close((uv_handle_t *)&s->stop, NULL);
}

static void *server_main(void *arg)
{
	server *s = arg;
	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

static server *server_start(unsigned mode)
{
	server *s = calloc(1, sizeof(*s));
	/* As in mited: a client gone mid-write must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(s->path, sizeof(s->path), "/tmp/mite-ctl-test-%d.sock", (int)getpid());
	cr_assert_eq(uv_loop_init(&s->loop), 0);
	uv_async_init(&s->loop, &s->stop, on_stop);
	s->stop.data = s;
	char err[256];
	control_opts o = { .path = s->path,
			   .mode = mode,
			   .group = "mite-no-such-group",
			   .max_line = 1024,
			   .idle_timeout = 0.5,
			   .max_clients = 8,
			   .cmds = cmds,
			   .data = s };
	s->ctl = control_new(&s->loop, &o, err, sizeof(err));
	cr_assert_not_null(s->ctl, "%s", err);
	pthread_create(&s->thread, NULL, server_main, s);
	return s;
}

static void server_stop(server *s)
{
	uv_async_send(&s->stop);
	pthread_join(s->thread, NULL);
	cr_assert_eq(uv_loop_close(&s->loop), 0, "handles left open");
	cr_expect_neq(access(s->path, F_OK), 0, "socket file left behind");
	free(s);
}

static int dial(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void say(int fd, const char *s, size_t len)
{
	cr_assert_eq(write(fd, s, len), (ssize_t)len);
}

/* Reads one line (without '\n') within 3 s; NULL at EOF or timeout. */
static char *hear(int fd)
{
	static char line[65536];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 3000) <= 0)
			return NULL;
		ssize_t r = read(fd, line + n, 1);
		if (r <= 0)
			return NULL;
		if (line[n] == '\n') {
			line[n] = '\0';
			return line;
		}
		n++;
	}
	return NULL;
}

static void expect_reply(int fd, const char *needle)
{
	char *l = hear(fd);
	cr_assert_not_null(l, "no reply (expected one with %s)", needle);
	cr_expect(strstr(l, needle) != NULL, "reply '%s' lacks '%s'", l, needle);
}

static int closed_by_server(int fd)
{
	char c;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 3000) <= 0)
		return 0;
	return read(fd, &c, 1) == 0;
}

Test(control, replies_and_errors)
{
	server *s = server_start(0);
	struct stat st;
	cr_assert_eq(stat(s->path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0660, "socket mode %o", st.st_mode & 0777);

	int fd = dial(s->path);
	cr_assert_geq(fd, 0);
	say(fd, "{\"cmd\":\"ping\",\"id\":7}\n", 23);
	expect_reply(fd, "\"pong\":\"mite\"");
	say(fd, "{\"cmd\":\"ping\",\"id\":\"x\"}\n", 24);
	expect_reply(fd, "\"id\":\"x\"");
	const char *bad[][2] = {
		{ "{not json\n", "not JSON" },
		{ "[1,2,3]\n", "not a JSON object" },
		{ "{\"cmd\":42}\n", "no string \\\"cmd\\\"" },
		{ "{\"nocmd\":1}\n", "no string" },
		{ "{\"cmd\":\"launch-missiles\"}\n", "unknown command 'launch-missiles'" },
		{ "{\"cmd\":\"null\"}\n", "internal error in 'null'" },
		{ "\"just a string\"\n", "not a JSON object" },
		{ "{\"cmd\":\"ping\"\n", "not JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		say(fd, bad[i][0], strlen(bad[i][0]));
		expect_reply(fd, bad[i][1]);
	}
	/* Binary garbage with NUL bytes, then blank lines (ignored). */
	say(fd, "\x01\x02\0\xff\xfe\n\n\r\n", 9);
	expect_reply(fd, "\"ok\":false");
	/* Several requests in one write: one reply each, in order. */
	const char *many =
		"{\"cmd\":\"ping\",\"id\":1}\n{\"cmd\":\"ping\",\"id\":2}\n{\"cmd\":\"ping\",\"id\":3}\n";
	say(fd, many, strlen(many));
	expect_reply(fd, "\"id\":1");
	expect_reply(fd, "\"id\":2");
	expect_reply(fd, "\"id\":3");
	/* A request split across writes. */
	say(fd, "{\"cmd\":", 7);
	usleep(50000);
	say(fd, "\"ping\"}\n", 8);
	expect_reply(fd, "pong");
	close(fd);
	server_stop(s);
}

Test(control, oversized_line_idle_and_half_close)
{
	server *s = server_start(0);
	int fd = dial(s->path);
	char big[4000];
	memset(big, 'x', sizeof(big));
	say(fd, big, sizeof(big));
	expect_reply(fd, "longer than 1024 bytes");
	cr_expect(closed_by_server(fd));
	close(fd);

	/* An idle client is told and dropped. */
	fd = dial(s->path);
	expect_reply(fd, "idle");
	cr_expect(closed_by_server(fd));
	close(fd);

	/* A last request without newline, then half-close: still answered. */
	fd = dial(s->path);
	say(fd, "{\"cmd\":\"ping\"}", 14);
	shutdown(fd, SHUT_WR);
	expect_reply(fd, "pong");
	cr_expect(closed_by_server(fd));
	close(fd);

	/* The server is still fine. */
	fd = dial(s->path);
	say(fd, "{\"cmd\":\"ping\"}\n", 15);
	expect_reply(fd, "pong");
	close(fd);
	server_stop(s);
}

Test(control, watch_stream_and_disconnect)
{
	server *s = server_start(0);
	int fd = dial(s->path);
	say(fd, "{\"cmd\":\"watch\"}\n", 16);
	expect_reply(fd, "\"watch\":true");
	expect_reply(fd, "\"tick\":1");
	expect_reply(fd, "\"tick\":2");
	/* Watching outlives the idle timeout. */
	usleep(700000);
	char *l = hear(fd);
	cr_assert_not_null(l, "stream ended while idle");
	/* A new request ends the stream and is answered. */
	say(fd, "{\"cmd\":\"ping\",\"id\":\"after\"}\n", 28);
	for (int i = 0; i < 20; i++) {
		l = hear(fd);
		cr_assert_not_null(l);
		if (strstr(l, "\"id\":\"after\""))
			break;
	}
	cr_expect(strstr(l, "pong") != NULL);

	/* A watcher that vanishes mid-stream harms no one. */
	int w = dial(s->path);
	say(w, "{\"cmd\":\"watch\"}\n", 16);
	expect_reply(w, "\"watch\":true");
	close(w);
	usleep(300000);
	int other = dial(s->path);
	say(other, "{\"cmd\":\"ping\"}\n", 15);
	expect_reply(other, "pong");
	close(other);
	close(fd);
	server_stop(s);
}

Test(control, too_many_clients)
{
	server *s = server_start(0);
	int fds[9];
	for (int i = 0; i < 8; i++) {
		fds[i] = dial(s->path);
		say(fds[i], "{\"cmd\":\"ping\"}\n", 15);
		expect_reply(fds[i], "pong");
	}
	fds[8] = dial(s->path);
	expect_reply(fds[8], "too many clients");
	for (int i = 0; i < 9; i++)
		close(fds[i]);
	server_stop(s);
}

Test(control, stale_socket_replaced_live_one_refused)
{
	char path[108], err[256];
	snprintf(path, sizeof(path), "/tmp/mite-ctl-test-%d.sock", (int)getpid());
	/* A stale socket file: bound, never listened on. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	server *s = server_start(0);
	/* A second server on the live socket is refused. */
	uv_loop_t loop;
	uv_loop_init(&loop);
	control_opts o = { .path = s->path, .cmds = cmds };
	cr_expect_null(control_new(&loop, &o, err, sizeof(err)));
	cr_expect(strstr(err, "already listening") != NULL, "%s", err);
	/* A path that does not fit sun_path is refused by name. */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	o.path = longp;
	cr_expect_null(control_new(&loop, &o, err, sizeof(err)));
	cr_expect(strstr(err, "too long") != NULL, "%s", err);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_expect_eq(uv_loop_close(&loop), 0);
	server_stop(s);
}

Test(control, refuses_other_users)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to connect as another user");
	if (RUNNING_ON_VALGRIND)
		cr_skip_test("valgrind cannot follow a child that changes its user");
	server *s = server_start(0666);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		int fd = dial(s->path);
		if (fd < 0)
			_exit(4);
		char *l = hear(fd);
		_exit(l && strstr(l, "permission denied: uid 65534") && closed_by_server(fd) ? 0
											     : 5);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	server_stop(s);
}

Test(control, deferred_reply_keeps_order_and_others_are_served)
{
	server *s = server_start(0);
	int a = dial(s->path), b = dial(s->path);
	const char *two = "{\"cmd\":\"slow\",\"id\":1}\n{\"cmd\":\"ping\",\"id\":2}\n";

	say(a, two, strlen(two));
	/* While a waits, b is served at once. */
	usleep(100000);
	say(b, "{\"cmd\":\"ping\",\"id\":\"b\"}\n", 24);
	expect_reply(b, "\"id\":\"b\"");
	struct pollfd pa = { .fd = a, .events = POLLIN };
	cr_expect_eq(poll(&pa, 1, 0), 0, "a's reply came before its parse ended");
	/* Then a gets its two replies in order, and is not dropped as idle
	 * (idle_timeout 0.5 s < 0.8 s). */
	expect_reply(a, "\"slow\":\"done\"");
	char *l = hear(a);
	cr_assert_not_null(l);
	cr_expect(strstr(l, "\"id\":2") && strstr(l, "pong"), "second reply: %s", l);
	close(a);
	close(b);
	server_stop(s);
}

Test(control, client_gone_before_its_deferred_reply)
{
	server *s = server_start(0);
	int a = dial(s->path);
	say(a, "{\"cmd\":\"slow\"}\n", 16);
	usleep(100000);
	close(a);
	usleep(1000000); /* the reply comes for nobody */
	int b = dial(s->path);
	say(b, "{\"cmd\":\"ping\"}\n", 15);
	expect_reply(b, "pong");
	close(b);
	/* And a deferral still waiting when the server closes. */
	a = dial(s->path);
	say(a, "{\"cmd\":\"slow\"}\n", 16);
	usleep(100000);
	server_stop(s);
	close(a);
}

/* Non-zero when line is well-formed UTF-8 and holds needle. */
static int utf8_line_has(const char *line, const char *needle)
{
	const unsigned char *p = (const unsigned char *)line;
	while (*p) {
		size_t k = *p < 0x80          ? 1
			: (*p & 0xe0) == 0xc0 ? 2
			: (*p & 0xf0) == 0xe0 ? 3
			: (*p & 0xf8) == 0xf0 ? 4
					      : 0;
		if (!k)
			return 0;
		for (size_t i = 1; i < k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += k;
	}
	return strstr(line, needle) != NULL;
}

Test(control, text_not_utf8_is_replaced_both_ways)
{
	server *s = server_start(0);
	int fd = dial(s->path);
	const char *req = "{\"cmd\":\"echo\",\"text\":\"n\xe4me\xed\xa0\x80\",\"id\":\"\xff\"}\n";
	char *l;

	say(fd, req, strlen(req));
	l = hear(fd);
	cr_assert_not_null(l);
	cr_expect(utf8_line_has(l,
				"\"text\":\"n\xef\xbf\xbdme\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""),
		  "request text not repaired: %s", l);
	cr_expect(utf8_line_has(l, "\"made\":\"bad\xef\xbf\xbd(\xef\xbf\xbd)\""),
		  "reply not repaired: %s", l);
	cr_expect(utf8_line_has(l, "\"id\":\"\xef\xbf\xbd\""), "id not repaired: %s", l);
	close(fd);
	server_stop(s);
}

Test(control, reply_and_id_limits)
{
	server *s = server_start(0);
	int fd = dial(s->path);
	char req[600];

	say(fd, "{\"cmd\":\"huge\",\"id\":9}\n", 22);
	char *l = hear(fd);
	cr_assert_not_null(l, "no reply to a huge answer");
	cr_expect(strstr(l, "\"ok\":false") && strstr(l, "over the limit of 8388608 bytes") &&
			  strstr(l, "\"id\":9"),
		  "%s", l);
	/* An id longer than 256 bytes (as JSON) is refused, not echoed. */
	int n = snprintf(req, sizeof(req), "{\"cmd\":\"ping\",\"id\":\"%0300d\"}\n", 0);
	say(fd, req, (size_t)n);
	l = hear(fd);
	cr_assert_not_null(l);
	cr_expect(strstr(l, "\\\"id\\\" is longer than 256 bytes") && !strstr(l, "000000"), "%s",
		  l);
	/* The connection stays usable. */
	say(fd, "{\"cmd\":\"ping\"}\n", 15);
	expect_reply(fd, "pong");
	close(fd);
	server_stop(s);
}
