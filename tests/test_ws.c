/*
 * test_ws.c - the WebSocket client (runner/ws*.c) through the SDK's calls,
 * against the test server of tools/ws_server.c running on the same
 * loop (loopback, an ephemeral port), with tests/http_harness.c standing in
 * for the runner's instances. Then the handshake helpers alone.
 */
#include "config.h" /* (_GNU_SOURCE: memmem) */
#include "http_harness.h"
#include "runner/ws_hs.h"
#include "../tools/ws_server.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <mite/http.h>
#include <mite/ws.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* LeakSanitizer: Criterion's runner itself keeps 48 bytes to the end with
 * this many suites and .timeout tests (allocated in libcriterion.so, not
 * mite's), as in test_http. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}

static ws_server *srv;
static char base[64];

static void setup(void)
{
	harness_init();
	srv = ws_server_new(&H.loop, "127.0.0.1", 0);
	cr_assert_not_null(srv);
	snprintf(base, sizeof(base), "ws://127.0.0.1:%d", ws_server_port(srv));
}

static void teardown(void)
{
	ws_server_close(srv);
	cr_expect_eq(harness_fini(), 0, "no handle left open");
}

#define WS_TEST(name) Test(ws, name, .init = setup, .fini = teardown, .timeout = 30)

static const char *url(const char *path)
{
	static char u[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(u[k], sizeof(u[k]), "%s%s", base, path);
	return u[k];
}

static const stats_entry *ws_entry(const char *txn, const char *name)
{
	return stats_find(&H.st, "ws", (const char *const[]){ "j", txn, name }, 3);
}

static uint64_t hcount(const stats_entry *e, int h)
{
	return e && e->h[h] ? hist_count(e->h[h]) : 0;
}

static uint64_t err_count(const char *txn, const char *name, const char *cls)
{
	return harness_count("wserr", (const char *const[]){ "j", txn, name, cls }, 4, 0);
}

/* Waits s seconds on the loop (the harness has no mite_sleep): a quiet
 * receive on a connection to the silent endpoint. */
static void pause_for(mite_ctx *ctx, double s)
{
	mite_ws *q;
	mite_ws_msg *m;

	cr_assert_eq(mite_ws_open(ctx, url("/silent"), NULL, &q), 0);
	cr_assert_eq(mite_ws_recv_flags(ctx, q, s, MITE_WS_TIMEOUT_OK, &m), MITE_ETIMEDOUT);
	cr_assert_eq(mite_ws_close(ctx, q, 1000, NULL), 0);
}

/* ---- echo: counted exactly ------------------------------------------------ */

struct echo {
	int n, rc, bad, marks;
	uint64_t bytes;
};

static int echo_journey(mite_ctx *ctx, void *arg)
{
	struct echo *e = arg;
	mite_ws *ws;
	mite_ws_msg *m;
	char buf[3000];

	harness_txn_begin(ctx, "t");
	if ((e->rc = mite_ws_open(ctx, url("/echo"), NULL, &ws)) < 0)
		return 1;
	for (int i = 0; i < e->n; i++) {
		size_t len = (size_t)(i * 37) % sizeof(buf);
		int bin = i % 3 == 0;
		unsigned flags = (bin ? MITE_WS_BINARY : MITE_WS_TEXT) | (i % 2 ? MITE_WS_MARK : 0);

		for (size_t k = 0; k < len; k++)
			buf[k] = bin ? (char)(k * 7 + i) : (char)('a' + (k + (size_t)i) % 26);
		if ((e->rc = mite_ws_send(ctx, ws, buf, len, flags)) < 0)
			return 1;
		e->marks += i % 2;
		e->bytes += len;
		if ((e->rc = mite_ws_recv(ctx, ws, 5.0, &m)) < 0)
			return 1;
		if (m->len != len || memcmp(m->data, buf, len) != 0 || m->data[len] != 0 ||
		    m->binary != bin || (i % 2 ? !(m->rtt > 0) : m->rtt != -1) ||
		    m->size != sizeof(*m))
			e->bad++;
	}
	e->rc = mite_ws_close(ctx, ws, 1000, "done");
	return 0;
}

WS_TEST(echo_round_trips_counted_exactly)
{
	struct echo e = { .n = 60 };
	mite_ctx *ctx = harness_ctx(echo_journey, &e);
	ws_server_counts n;
	const stats_entry *st;

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(e.rc, 0, "rc %d: %s", e.rc, H.fail_msg);
	cr_assert_eq(e.bad, 0, "every echo came back whole");
	ws_server_counts_get(srv, &n);
	st = ws_entry("t", "/echo");
	cr_assert_not_null(st);
	cr_assert_eq(st->c[ST_WS_MSGS_OUT], 60);
	cr_assert_eq(st->c[ST_WS_MSGS_IN], 60);
	cr_assert_eq(st->c[ST_WS_BYTES_OUT], e.bytes);
	cr_assert_eq(st->c[ST_WS_BYTES_IN], e.bytes);
	/* ... as the server saw them */
	cr_assert_eq(n.msgs_in, st->c[ST_WS_MSGS_OUT]);
	cr_assert_eq(n.bytes_in, st->c[ST_WS_BYTES_OUT]);
	cr_assert_eq(n.msgs_out, st->c[ST_WS_MSGS_IN]);
	cr_assert_eq(n.bytes_out, st->c[ST_WS_BYTES_IN]);
	cr_assert_eq(n.connections, 1);
	cr_assert_eq(hcount(st, ST_WS_H_CONNECT), 1, "one connect time");
	cr_assert_eq(hcount(st, ST_WS_H_RTT), (uint64_t)e.marks, "one round trip per mark");
	/* The close handshake went both ways, with our code. */
	cr_assert_eq(n.closes_in, 1);
	cr_assert_eq(n.last_close_code, 1000);
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

/* Several instances at once, each its own connection. */
WS_TEST(concurrent_instances)
{
	enum { N = 8 };
	struct echo e[N];
	mite_ctx *c[N];
	ws_server_counts n;

	for (int i = 0; i < N; i++) {
		e[i] = (struct echo){ .n = 25 };
		c[i] = harness_ctx(echo_journey, &e[i]);
	}
	cr_assert_eq(harness_run(10), 0);
	ws_server_counts_get(srv, &n);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(e[i].rc, 0);
		cr_assert_eq(e[i].bad, 0);
		harness_ctx_free(c[i]);
	}
	cr_assert_eq(n.connections, N);
	cr_assert_eq(n.msgs_in, N * 25);
	cr_assert_eq(ws_entry("t", "/echo")->c[ST_WS_MSGS_IN], N * 25);
}

/* A mark's own name; a ping's pong. */
static int mark_journey(mite_ctx *ctx, void *arg)
{
	int *rc = arg;
	mite_ws *ws;
	mite_ws_msg *m;

	harness_txn_begin(ctx, "t");
	if ((*rc = mite_ws_open(ctx, url("/echo"), &(mite_ws_opts){ .name = "chat", .timeout = 2 },
				&ws)) < 0)
		return 1;
	if ((*rc = mite_ws_send_mark(ctx, ws, "quote", "q", 1, MITE_WS_TEXT)) < 0 ||
	    (*rc = mite_ws_recv(ctx, ws, 5, &m)) < 0)
		return 1;
	if ((*rc = mite_ws_ping(ctx, ws)) < 0 || (*rc = mite_ws_send_text(ctx, ws, "x", 0)) < 0 ||
	    (*rc = mite_ws_recv(ctx, ws, 5, &m)) < 0)
		return 1;
	*rc = mite_ws_close(ctx, ws, 0, NULL);
	return 0;
}

WS_TEST(mark_name_and_ping)
{
	int rc = 1;
	mite_ctx *ctx = harness_ctx(mark_journey, &rc);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(rc, 0, "%s", H.fail_msg);
	cr_assert_eq(hcount(ws_entry("t", "quote"), ST_WS_H_RTT), 1, "the mark's name");
	cr_assert_eq(hcount(ws_entry("t", "chat"), ST_WS_H_RTT), 0);
	cr_assert_eq(hcount(ws_entry("t", "chat"), ST_WS_H_PING), 1,
		     "the pong came before the echo");
	cr_assert_eq(ws_entry("t", "chat")->c[ST_WS_MSGS_OUT], 2);
	harness_ctx_free(ctx);
}

/* ---- the server closes ------------------------------------------------------ */

struct closing {
	const char *path;
	int rc1, rc2, code, rc_close;
	char reason[64];
};

static int close_journey(mite_ctx *ctx, void *arg)
{
	struct closing *c = arg;
	mite_ws *ws;
	mite_ws_msg *m;

	harness_txn_begin(ctx, "t");
	if (mite_ws_open(ctx, url(c->path), NULL, &ws) < 0)
		return 1;
	mite_ws_send_text(ctx, ws, "one", 0);
	c->rc1 = mite_ws_recv(ctx, ws, 5, &m);
	mite_ws_send_text(ctx, ws, "two", 0);
	c->rc2 = mite_ws_recv(ctx, ws, 5, &m);
	c->code = mite_ws_close_code(ws);
	snprintf(c->reason, sizeof(c->reason), "%s", mite_ws_close_reason(ws));
	c->rc_close = mite_ws_close(ctx, ws, 1000, NULL);
	return 0;
}

WS_TEST(server_close_code_surfaces)
{
	struct closing c = { .path = "/close?code=4001&after=1&reason=bye" };
	mite_ctx *ctx = harness_ctx(close_journey, &c);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(c.rc1, 0, "the message before the close");
	cr_assert_eq(c.rc2, MITE_ECLOSED);
	cr_assert_eq(c.code, 4001);
	cr_assert_str_eq(c.reason, "bye");
	cr_assert_eq(c.rc_close, 0, "closing a closed connection is fine");
	cr_assert_eq(err_count("t", "/close", "closed"), 1, "a code other than 1000 fails");
	cr_assert_eq(H.nfail, 1);
	cr_assert(strstr(H.fail_msg, "4001") && strstr(H.fail_msg, "bye"), "%s", H.fail_msg);
	harness_ctx_free(ctx);
}

WS_TEST(server_normal_close_is_no_failure)
{
	struct closing c = { .path = "/close?code=1000&after=1" };
	mite_ctx *ctx = harness_ctx(close_journey, &c);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(c.rc2, MITE_ECLOSED);
	cr_assert_eq(c.code, 1000);
	cr_assert_eq(H.nfail, 0, "%s", H.fail_msg);
	harness_ctx_free(ctx);
}

WS_TEST(server_drops_without_close_is_reset)
{
	struct closing c = { .path = "/drop?after=1" };
	mite_ctx *ctx = harness_ctx(close_journey, &c);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(c.rc1, 0);
	cr_assert_eq(c.rc2, MITE_EIO);
	cr_assert_eq(c.code, 1006, "abnormal closure");
	cr_assert_eq(err_count("t", "/drop", "reset"), 1);
	cr_assert_eq(H.nfail, 1, "recorded once: %s", H.fail_msg);
	harness_ctx_free(ctx);
}

/* ---- a server that never answers -------------------------------------------- */

struct silent {
	unsigned flags;
	int rc, rc2;
	double took;
};

static int silent_journey(mite_ctx *ctx, void *arg)
{
	struct silent *s = arg;
	mite_ws *ws;
	mite_ws_msg *m;
	uint64_t t0;

	harness_txn_begin(ctx, "t");
	if ((s->rc = mite_ws_open(ctx, url("/silent"), NULL, &ws)) < 0)
		return 1;
	mite_ws_send_text(ctx, ws, "hello?", 0);
	t0 = uv_hrtime();
	s->rc = mite_ws_recv_flags(ctx, ws, 0.2, s->flags, &m);
	s->took = (double)(uv_hrtime() - t0) / 1e9;
	s->rc2 = mite_ws_recv(ctx, ws, 0, &m); /* only what is there */
	mite_ws_close(ctx, ws, 1000, NULL);
	return 0;
}

WS_TEST(receive_timeout_counted)
{
	struct silent s = { 0 };
	mite_ctx *ctx = harness_ctx(silent_journey, &s);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(s.rc, MITE_ETIMEDOUT);
	cr_assert_geq(s.took, 0.19);
	cr_assert_lt(s.took, 2.0);
	cr_assert_eq(s.rc2, MITE_ETIMEDOUT);
	cr_assert_eq(err_count("t", "/silent", "timeout"), 2);
	cr_assert_eq(H.nfail, 2);
	harness_ctx_free(ctx);
}

WS_TEST(receive_timeout_ok_is_quiet)
{
	struct silent s = { .flags = MITE_WS_TIMEOUT_OK };
	mite_ctx *ctx = harness_ctx(silent_journey, &s);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(s.rc, MITE_ETIMEDOUT);
	cr_assert_eq(err_count("t", "/silent", "timeout"), 1, "only the plain receive counts");
	harness_ctx_free(ctx);
}

/* A listener that never accepts: the handshake never comes. */
struct opened {
	const char *url;
	mite_ws_opts o;
	int rc;
	double took;
};

static int open_journey(mite_ctx *ctx, void *arg)
{
	struct opened *op = arg;
	mite_ws *ws = (mite_ws *)1;
	uint64_t t0 = uv_hrtime();

	harness_txn_begin(ctx, "t");
	op->rc = mite_ws_open(ctx, op->url, &op->o, &ws);
	op->took = (double)(uv_hrtime() - t0) / 1e9;
	if (op->rc == 0)
		mite_ws_close(ctx, ws, 1000, NULL);
	else if (ws != NULL)
		op->rc = 999; /* *out must be NULL on failure */
	return 0;
}

static int listen_only(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

WS_TEST(handshake_timeout)
{
	int port, fd = listen_only(&port);
	char u[64];
	struct opened op = { .url = u, .o = { .timeout = 0.3 } };
	mite_ctx *ctx;

	snprintf(u, sizeof(u), "ws://127.0.0.1:%d/x", port);
	ctx = harness_ctx(open_journey, &op);
	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(op.rc, MITE_ETIMEDOUT);
	cr_assert_geq(op.took, 0.29);
	cr_assert_lt(op.took, 2.0);
	cr_assert_eq(err_count("t", "/x", "timeout"), 1);
	harness_ctx_free(ctx);
	close(fd);
}

static void open_fails(const char *u, const mite_ws_opts *o, int rc, const char *cls,
		       const char *name, const char *words)
{
	struct opened op = { .url = u };
	mite_ctx *ctx;

	if (o)
		op.o = *o;
	ctx = harness_ctx(open_journey, &op);
	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(op.rc, rc, "%s: rc %d (%s)", u, op.rc, H.fail_msg);
	if (cls)
		cr_assert_eq(err_count("t", name, cls), 1, "%s: class %s (%s)", u, cls, H.fail_msg);
	cr_assert_eq(H.nfail, 1, "%s: one failure recorded", u);
	cr_assert(strstr(H.fail_msg, words), "%s: got \"%s\"", u, H.fail_msg);
	harness_ctx_free(ctx);
}

WS_TEST(handshake_refused_403)
{
	open_fails(url("/reject"), NULL, MITE_EIO, "handshake", "/reject", "answered 403");
}

WS_TEST(handshake_bad_accept)
{
	open_fails(url("/badaccept"), NULL, MITE_EIO, "handshake", "/badaccept", "Accept");
}

WS_TEST(connection_refused)
{
	int port, fd = listen_only(&port);
	char u[64];

	close(fd); /* nothing listens there now */
	snprintf(u, sizeof(u), "ws://127.0.0.1:%d/r", port);
	open_fails(u, NULL, MITE_EIO, "refused", "/r", "refused");
}

WS_TEST(bad_url)
{
	open_fails("http://127.0.0.1/x", NULL, MITE_EINVAL, NULL, NULL, "bad URL");
}

WS_TEST(bad_header_refused)
{
	static const char *const h[] = { "Sec-WebSocket-Key: mine", NULL };
	mite_ws_opts o = { .headers = h };

	open_fails(url("/echo"), &o, MITE_EINVAL, NULL, NULL, "bad handshake header");
}

/* Names: MITE_WS_NAME_MAX bytes go, one more is refused in words. */
static int long_names_journey(mite_ctx *ctx, void *arg)
{
	int *rc = arg;
	char name[MITE_WS_NAME_MAX + 2];
	mite_ws *ws;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0; /* one over */
	harness_txn_begin(ctx, "t");
	rc[0] = mite_ws_open(ctx, url("/echo"), &(mite_ws_opts){ .name = name }, &ws);
	name[MITE_WS_NAME_MAX] = 0; /* at the limit */
	if ((rc[1] = mite_ws_open(ctx, url("/echo"), &(mite_ws_opts){ .name = name }, &ws)) < 0)
		return 1;
	rc[2] = mite_ws_send_mark(ctx, ws, name, "a", 1, 0);
	name[MITE_WS_NAME_MAX] = 'n';
	rc[3] = mite_ws_send_mark(ctx, ws, name, "b", 1, 0);
	mite_ws_close(ctx, ws, 1000, NULL);
	return 0;
}

WS_TEST(names_over_the_limit_refused)
{
	int rc[4] = { 1, 1, 1, 1 };
	mite_ctx *ctx = harness_ctx(long_names_journey, rc);
	char name[MITE_WS_NAME_MAX + 1];

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(rc[0], MITE_EINVAL);
	cr_assert_eq(rc[1], 0, "%s", H.fail_msg);
	cr_assert_eq(rc[2], 0);
	cr_assert_eq(rc[3], MITE_EINVAL);
	cr_assert_eq(H.nfail, 2);
	cr_assert(strstr(H.fail_msg, "mark name is 64 bytes, over the limit of 63"), "%s",
		  H.fail_msg);
	memset(name, 'n', MITE_WS_NAME_MAX);
	name[MITE_WS_NAME_MAX] = 0;
	cr_assert_not_null(ws_entry("t", name), "counted under the whole name");
	cr_assert_eq(ws_entry("t", name)->c[ST_WS_MSGS_OUT], 1, "the refused send sent nothing");
	harness_ctx_free(ctx);
}

/* ---- malformed and oversize ------------------------------------------------------ */

WS_TEST(malformed_frame_is_protocol_error)
{
	struct closing c = { .path = "/bad?after=1" };
	mite_ctx *ctx = harness_ctx(close_journey, &c);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(c.rc1, 0);
	cr_assert_eq(c.rc2, MITE_EIO);
	cr_assert_eq(err_count("t", "/bad", "protocol"), 1, "%s", H.fail_msg);
	cr_assert_eq(H.nfail, 1);
	harness_ctx_free(ctx);
}

struct big {
	size_t max, size;
	int rc;
	size_t got;
};

static int big_journey(mite_ctx *ctx, void *arg)
{
	struct big *b = arg;
	char path[64];
	mite_ws *ws;
	mite_ws_msg *m;

	harness_txn_begin(ctx, "t");
	snprintf(path, sizeof(path), "/big?size=%zu", b->size);
	if ((b->rc = mite_ws_open(ctx, url(path), &(mite_ws_opts){ .max_message = b->max }, &ws)) <
	    0)
		return 1;
	mite_ws_send_text(ctx, ws, "give", 0);
	b->rc = mite_ws_recv(ctx, ws, 5, &m);
	b->got = b->rc == 0 ? m->len : 0;
	mite_ws_close(ctx, ws, 1000, NULL);
	return 0;
}

WS_TEST(oversize_message_fails_with_its_class)
{
	struct big ok = { .max = 100000, .size = 100000 }, over = { .max = 100000, .size = 100001 };
	mite_ctx *ctx = harness_ctx(big_journey, &ok);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(ok.rc, 0, "at the limit: %s", H.fail_msg);
	cr_assert_eq(ok.got, 100000);
	harness_ctx_free(ctx);
	ctx = harness_ctx(big_journey, &over);
	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(over.rc, MITE_EIO);
	cr_assert_eq(err_count("t", "/big", "too_large"), 1);
	cr_assert(strstr(H.fail_msg, "over 100000 bytes"), "%s", H.fail_msg);
	harness_ctx_free(ctx);
}

WS_TEST(run_config_max_message)
{
	struct big over = { .size = 5000 };
	mite_ctx *ctx;

	H.ws_max_message = "4K";
	ctx = harness_ctx(big_journey, &over);
	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(over.rc, MITE_EIO);
	cr_assert(strstr(H.fail_msg, "over 4096 bytes"), "%s", H.fail_msg);
	harness_ctx_free(ctx);
}

/* ---- the receive queue ------------------------------------------------------------- */

struct push {
	int n, rc, got;
	size_t held; /* what the queue held after the pause */
};

static int push_journey(mite_ctx *ctx, void *arg)
{
	struct push *p = arg;
	char path[64];
	mite_ws *ws;
	mite_ws_msg *m;

	harness_txn_begin(ctx, "t");
	snprintf(path, sizeof(path), "/push?n=%d&size=1000", p->n);
	if ((p->rc = mite_ws_open(ctx, url(path), &(mite_ws_opts){ .max_queue = 4000 }, &ws)) < 0)
		return 1;
	/* The server pushes far more than the queue holds meanwhile. */
	pause_for(ctx, 0.2);
	p->held = ws_held_bytes(ws);
	while ((p->rc = mite_ws_recv(ctx, ws, 2, &m)) == 0) {
		p->got++;
		if (p->got == p->n)
			break;
	}
	mite_ws_close(ctx, ws, 1000, NULL);
	return 0;
}

WS_TEST(receive_queue_capped_nothing_lost)
{
	struct push p = { .n = 2000 };
	mite_ctx *ctx = harness_ctx(push_journey, &p);

	cr_assert_eq(harness_run(20), 0);
	cr_assert_eq(p.rc, 0, "%s", H.fail_msg);
	cr_assert_eq(p.got, 2000, "every pushed message arrived, in spite of the cap");
	/* The cap (4000) and one read's worth past it, not 2 MB. */
	cr_assert_geq(p.held, 4000, "the queue filled up meanwhile");
	cr_assert_leq(p.held, 4000 + WS_CONN_RBUF + 1000, "held %zu", p.held);
	cr_assert_eq(ws_entry("t", "/push")->c[ST_WS_MSGS_IN], 2000);
	harness_ctx_free(ctx);
}

/* ---- cancel ------------------------------------------------------------------------ */

struct cancelled {
	int rc;
	double took;
};

static int cancel_journey(mite_ctx *ctx, void *arg)
{
	struct cancelled *c = arg;
	mite_ws *ws;
	mite_ws_msg *m;
	uint64_t t0;

	harness_txn_begin(ctx, "t");
	if ((c->rc = mite_ws_open(ctx, url("/silent"), NULL, &ws)) < 0)
		return 1;
	t0 = uv_hrtime();
	c->rc = mite_ws_recv(ctx, ws, 30, &m);
	c->took = (double)(uv_hrtime() - t0) / 1e9;
	return 0; /* the connection is closed with the session */
}

WS_TEST(cancel_wakes_parked_receive)
{
	struct cancelled c = { .rc = 1 };
	mite_ctx *ctx = harness_ctx(cancel_journey, &c);

	harness_cancel_after(ctx, 200);
	cr_assert_eq(harness_run(5), 0);
	cr_assert_eq(c.rc, MITE_ECANCELED);
	cr_assert_lt(c.took, 2.0);
	cr_assert_eq(H.nfail, 0, "a cancel is not a failure");
	harness_ctx_free(ctx);
}

/* A connection left open at the iteration's end is closed, and a failure
 * the journey never looked at is recorded then. */
static int leave_open_journey(mite_ctx *ctx, void *arg)
{
	mite_ws *ws;

	(void)arg;
	harness_txn_begin(ctx, "t");
	if (mite_ws_open(ctx, url("/drop"), NULL, &ws) < 0)
		return 1;
	mite_ws_send_text(ctx, ws, "x", 0);
	pause_for(ctx, 0.2); /* the server drops it meanwhile */
	ws_session_end_iteration(ctx);
	return 0;
}

WS_TEST(iteration_end_records_unseen_failure)
{
	mite_ctx *ctx = harness_ctx(leave_open_journey, NULL);

	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(err_count("t", "/drop", "reset"), 1);
	harness_ctx_free(ctx);
}

/* ---- the handshake's pieces alone -------------------------------------------------- */

Test(ws_hs, accept_of_rfc_example)
{
	char out[WS_HS_ACCEPT_LEN];

	/* RFC 6455 section 1.3's example. */
	ws_hs_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
	cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_hs, urls)
{
	http1_buf b = { 0 };
	http1_url u;
	int tls;

	cr_assert_eq(ws_hs_url("ws://h:81/a/b?q=1", &b, &u, &tls), 0);
	cr_assert_eq(tls, 0);
	cr_assert_eq(u.port, 81);
	cr_assert_eq(strncmp(u.path, "/a/b?q=1", u.path_len), 0);
	cr_assert_eq(ws_hs_url("WSS://h", &b, &u, &tls), 0);
	cr_assert_eq(tls, 1);
	cr_assert_eq(u.port, 443);
	cr_assert_eq(ws_hs_url("http://h/", &b, &u, &tls), -EINVAL);
	cr_assert_eq(ws_hs_url("ws://h/#frag", &b, &u, &tls), -EINVAL);
	cr_assert_eq(ws_hs_url("ws:///x", &b, &u, &tls), -EINVAL);
	free(b.p);
}

Test(ws_hs, request_and_check)
{
	http1_buf b = { 0 }, ub = { 0 };
	http1_url u;
	char key[WS_HS_KEY_LEN], key2[WS_HS_KEY_LEN], acc[WS_HS_ACCEPT_LEN],
		proto[WS_HS_MAX_PROTOCOLS];
	static const char *const hdrs[] = { "Origin: http://x", NULL };
	static const char *const bad[] = { "Upgrade: h2c", NULL };
	char head[512];
	const char *why;
	int tls, n;

	cr_assert_eq(ws_hs_key(key), 0);
	cr_assert_eq(ws_hs_key(key2), 0);
	cr_assert_eq(strlen(key), 24);
	cr_assert_str_neq(key, key2, "random keys");
	cr_assert_eq(ws_hs_url("ws://h:80/p", &ub, &u, &tls), 0);
	cr_assert_eq(ws_hs_request(&b, &u, key, "chat, superchat", hdrs, "mite/t"), 0);
	cr_assert(memmem(b.p, b.len, "GET /p HTTP/1.1\r\nHost: h\r\n", 26), "%.*s", (int)b.len,
		  b.p);
	cr_assert(memmem(b.p, b.len, "Sec-WebSocket-Protocol: chat, superchat\r\n", 41));
	cr_assert(memmem(b.p, b.len, "Origin: http://x\r\n\r\n", 20));
	cr_assert_eq(ws_hs_request(&b, &u, key, NULL, bad, NULL), -EINVAL);
	cr_assert_eq(ws_hs_request(&b, &u, key, "a\r\nX: y", NULL, NULL), -EINVAL);

	ws_hs_accept(key, acc);
	/* The parser's "Name:value\0" lines. */
	n = snprintf(head, sizeof(head),
		     "Upgrade:WebSocket%cConnection:keep-alive, Upgrade%c"
		     "Sec-WebSocket-Accept:%s%cSec-WebSocket-Protocol:superchat%c",
		     0, 0, acc, 0, 0);
	cr_assert_eq(ws_hs_check(101, head, (size_t)n, key, "chat, superchat", proto, &why), 0);
	cr_assert_str_eq(proto, "superchat");
	cr_assert_eq(ws_hs_check(101, head, (size_t)n, key, "chat", proto, &why), -1,
		     "not offered");
	cr_assert_eq(ws_hs_check(200, head, (size_t)n, key, "superchat", proto, &why), -1);
	cr_assert_eq(ws_hs_check(101, head, (size_t)n, key2, "superchat", proto, &why), -1);
	cr_assert(strstr(why, "Accept"));
	free(b.p);
	free(ub.p);
}

/* ---- wss:// -------------------------------------------------------------------------
 * The test server speaks TLS with certificates tests/tls-certs.sh makes;
 * the client takes the TLS settings of the instance's HTTP calls. */
static char tls_dir[64];

static void wss_setup_with(const char *cert)
{
	char cmd[512], c[128], k[128];
	const char *src = getenv("top_srcdir");

	setup();
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/mite-wss.XXXXXX");
	cr_assert_not_null(mkdtemp(tls_dir));
	snprintf(cmd, sizeof(cmd), "sh %s/tests/tls-certs.sh %s", src ? src : "..", tls_dir);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
	snprintf(c, sizeof(c), "%s/%s.pem", tls_dir, cert);
	snprintf(k, sizeof(k), "%s/%s.key", tls_dir, cert);
	cr_assert_eq(ws_server_tls(srv, c, k), 0);
	snprintf(base, sizeof(base), "wss://127.0.0.1:%d", ws_server_port(srv));
}

static void wss_setup(void)
{
	wss_setup_with("good");
}
static void wss_setup_other(void)
{
	wss_setup_with("other");
}

static void wss_teardown(void)
{
	char cmd[128];

	teardown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
	cr_expect_eq(system(cmd), 0);
}

#define WSS_TEST(name, ...) \
	Test(wss, name, .init = wss_setup, .fini = wss_teardown, .timeout = 60, ##__VA_ARGS__)

/* The HTTP settings to use, then echo_journey. */
struct wss_echo {
	struct echo e;
	const char *ca; /* a file in tls_dir, or NULL */
	const char *cert_pass; /* client.pem with this password, or NULL */
	int no_verify;
	int tls_max;
	int set_rc;
};

static int wss_echo_journey(mite_ctx *ctx, void *arg)
{
	struct wss_echo *w = arg;
	char ca[128];

	if (w->ca) {
		snprintf(ca, sizeof(ca), "%s/%s", tls_dir, w->ca);
		w->set_rc |= mite_http_set_ca_file(ctx, ca);
	}
	if (w->cert_pass) {
		char cert[128], key[128];

		snprintf(cert, sizeof(cert), "%s/client.pem", tls_dir);
		snprintf(key, sizeof(key), "%s/client.key", tls_dir);
		w->set_rc |= mite_http_set_client_cert(ctx, cert, key, w->cert_pass);
	}
	if (w->no_verify)
		w->set_rc |= mite_http_set_tls_verify(ctx, 0);
	if (w->tls_max)
		w->set_rc |= mite_http_set_tls_versions(ctx, 0, w->tls_max);
	return echo_journey(ctx, &w->e);
}

WSS_TEST(echo_with_ca_file_counted_exactly)
{
	struct wss_echo w = { .e = { .n = 40 }, .ca = "ca.pem" };
	mite_ctx *ctx = harness_ctx(wss_echo_journey, &w);
	ws_server_counts n;
	const stats_entry *st;

	cr_assert_eq(harness_run(20), 0);
	cr_assert_eq(w.set_rc, 0);
	cr_assert_eq(w.e.rc, 0, "rc %d: %s", w.e.rc, H.fail_msg);
	cr_assert_eq(w.e.bad, 0, "every echo came back whole");
	ws_server_counts_get(srv, &n);
	st = ws_entry("t", "/echo");
	cr_assert_not_null(st);
	cr_assert_eq(st->c[ST_WS_MSGS_OUT], 40);
	cr_assert_eq(st->c[ST_WS_MSGS_IN], 40);
	cr_assert_eq(n.msgs_in, st->c[ST_WS_MSGS_OUT]);
	cr_assert_eq(n.bytes_in, st->c[ST_WS_BYTES_OUT]);
	cr_assert_eq(n.msgs_out, st->c[ST_WS_MSGS_IN]);
	cr_assert_eq(n.bytes_out, st->c[ST_WS_BYTES_IN]);
	cr_assert_eq(st->c[ST_WS_BYTES_OUT], w.e.bytes);
	cr_assert_eq(n.connections, 1);
	cr_assert_eq(n.closes_in, 1);
	cr_assert_eq(n.tls_version, 13, "TLS 1.3 by default");
	cr_assert_eq(hcount(st, ST_WS_H_CONNECT), 1);
	cr_assert_eq(hcount(st, ST_WS_H_RTT), (uint64_t)w.e.marks);
	cr_assert_eq(H.nfail, 0);
	harness_ctx_free(ctx);
}

/* Three connections in turn, each one echo; resume as set. */
struct wss_again {
	struct wss_echo w;
	int resume; /* mite_http_set_tls_resumption */
	int rc;
};

static int wss_again_journey(mite_ctx *ctx, void *arg)
{
	struct wss_again *a = arg;

	a->rc |= mite_http_set_tls_resumption(ctx, a->resume);
	for (int i = 0; i < 3 && !a->w.e.rc; i++)
		wss_echo_journey(ctx, &a->w);
	return 0;
}

static void wss_again(int resume, uint64_t want)
{
	struct wss_again a = { .w = { .e = { .n = 2 }, .ca = "ca.pem" }, .resume = resume };
	mite_ctx *ctx = harness_ctx(wss_again_journey, &a);
	ws_server_counts n;

	cr_assert_eq(harness_run(20), 0);
	cr_assert_eq(a.rc | a.w.set_rc, 0);
	cr_assert_eq(a.w.e.rc, 0, "rc %d: %s", a.w.e.rc, H.fail_msg);
	ws_server_counts_get(srv, &n);
	cr_assert_eq(n.connections, 3);
	cr_assert_eq(n.resumed, want, "%llu of 3 handshakes resumed, want %llu",
		     (unsigned long long)n.resumed, (unsigned long long)want);
	harness_ctx_free(ctx);
}

/* An instance reconnecting resumes its TLS session, as its https://
 * connections do; not when the journey turned resumption off. */
WSS_TEST(reconnecting_resumes_the_session)
{
	wss_again(1, 2);
}

WSS_TEST(no_resumption_when_turned_off)
{
	wss_again(0, 0);
}

/* The newest version the session allows is the one spoken. */
WSS_TEST(tls_versions_of_the_http_settings)
{
	struct wss_echo w = { .e = { .n = 3 }, .ca = "ca.pem", .tls_max = MITE_HTTP_TLS1_2 };
	mite_ctx *ctx = harness_ctx(wss_echo_journey, &w);
	ws_server_counts n;

	cr_assert_eq(harness_run(20), 0);
	cr_assert_eq(w.e.rc, 0, "rc %d: %s", w.e.rc, H.fail_msg);
	ws_server_counts_get(srv, &n);
	cr_assert_eq(n.tls_version, 12);
	harness_ctx_free(ctx);
}

/* Opens base/path with the settings of w; the open's rc. */
static void wss_open_fails(struct wss_echo *w, const char *cls, const char *words)
{
	mite_ctx *ctx = harness_ctx(wss_echo_journey, w);
	ws_server_counts n;

	cr_assert_eq(harness_run(20), 0);
	cr_assert_eq(w->e.rc, MITE_EIO, "rc %d (%s)", w->e.rc, H.fail_msg);
	cr_assert_eq(err_count("t", "/echo", cls), 1, "class %s (%s)", cls, H.fail_msg);
	cr_assert_eq(H.nfail, 1);
	cr_assert(strstr(H.fail_msg, words), "got \"%s\"", H.fail_msg);
	cr_assert(strstr(H.fail_msg, "ws wss://127.0.0.1:"), "got \"%s\"", H.fail_msg);
	ws_server_counts_get(srv, &n);
	cr_assert_eq(n.connections, 0, "no handshake answered");
	harness_ctx_free(ctx);
}

WSS_TEST(unknown_ca_fails_as_tls)
{
	struct wss_echo w = { .e = { .n = 1 } };

	wss_open_fails(&w, "tls", "(tls): unknown CA: SSL certificate problem");
}

WSS_TEST(missing_ca_file_fails_as_tls)
{
	struct wss_echo w = { .e = { .n = 1 }, .ca = "no-such-ca.pem" };

	wss_open_fails(&w, "tls", "(tls): error setting certificate file");
}

/* A server that wants a client certificate: the session's goes, its key
 * unlocked with its password. */
static void want_client_cert(void)
{
	char ca[128];

	snprintf(ca, sizeof(ca), "%s/ca.pem", tls_dir);
	cr_assert_eq(ws_server_tls_client_ca(srv, ca), 0);
}

WSS_TEST(client_certificate_of_the_http_settings)
{
	struct wss_echo w = { .e = { .n = 3 }, .ca = "ca.pem", .cert_pass = "mite-pass" };
	mite_ctx *ctx;
	ws_server_counts n;

	want_client_cert();
	ctx = harness_ctx(wss_echo_journey, &w);
	cr_assert_eq(harness_run(20), 0);
	cr_assert_eq(w.set_rc, 0);
	cr_assert_eq(w.e.rc, 0, "rc %d: %s", w.e.rc, H.fail_msg);
	cr_assert_eq(w.e.bad, 0);
	ws_server_counts_get(srv, &n);
	cr_assert_eq(n.client_certs, 1);
	harness_ctx_free(ctx);
}

/* None: TLS 1.3 refuses after the client's handshake, at its first read
 * (class reset, as an https:// request's). */
WSS_TEST(no_client_certificate_refused)
{
	struct wss_echo w = { .e = { .n = 1 }, .ca = "ca.pem" };

	want_client_cert();
	wss_open_fails(&w, "reset", "(reset): receiving the handshake reply failed");
}

/* A key that does not unlock: class tls, the client's words. */
WSS_TEST(client_key_wrong_password)
{
	struct wss_echo w = { .e = { .n = 1 }, .ca = "ca.pem", .cert_pass = "not-the-pass" };

	want_client_cert();
	wss_open_fails(&w, "tls", "(tls): unable to set private key file");
}

/* Verification off: the unknown CA is let through, as for https://. */
WSS_TEST(verify_off_passes)
{
	struct wss_echo w = { .e = { .n = 2 }, .no_verify = 1 };
	mite_ctx *ctx = harness_ctx(wss_echo_journey, &w);

	cr_assert_eq(harness_run(20), 0);
	cr_assert_eq(w.e.rc, 0, "rc %d: %s", w.e.rc, H.fail_msg);
	cr_assert_eq(w.e.bad, 0);
	harness_ctx_free(ctx);
}

/* A certificate for another name: SNI and the name check, as https://. */
Test(wss, name_mismatch_fails_as_tls, .init = wss_setup_other, .fini = wss_teardown, .timeout = 60)
{
	struct wss_echo w = { .e = { .n = 1 }, .ca = "ca.pem" };

	wss_open_fails(&w, "tls", "(tls): name mismatch");
}

/* A server that never answers the ClientHello (the plain port reads it as
 * the start of an HTTP request): the open times out in the TLS handshake,
 * within the connection's timeout. */
Test(wss, tls_handshake_times_out, .init = setup, .fini = teardown, .timeout = 30)
{
	struct opened op = { .o = { .timeout = 0.3 } };
	char u[64];
	mite_ctx *ctx;

	snprintf(u, sizeof(u), "wss://127.0.0.1:%d/echo", ws_server_port(srv));
	op.url = u;
	ctx = harness_ctx(open_journey, &op);
	cr_assert_eq(harness_run(10), 0);
	cr_assert_eq(op.rc, MITE_ETIMEDOUT, "rc %d (%s)", op.rc, H.fail_msg);
	cr_assert_eq(err_count("t", "/echo", "timeout"), 1, "%s", H.fail_msg);
	cr_assert_geq(op.took, 0.3);
	cr_assert_lt(op.took, 3.0);
	harness_ctx_free(ctx);
}
