/*
 * test_transport_zmq.c - the ZeroMQ runner link on one loop: a ROUTER
 * server and DEALER runners over ipc:// and tcp:// (loopback), messages
 * both ways in order, queueing before the runner connects, keepalives,
 * unknown runners, and a loop that ends with every handle closed.
 */
#include "core/transport.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NMSG 2000

typedef struct side {
	int got;
	int in_order;
	char last[64];
} side;

typedef struct fixture {
	uv_loop_t loop;
	uv_timer_t timer;
	tzmq_server *srv;
	transport *sp; /* server side of runner "r-1" */
	transport *cl; /* runner side */
	side s, c;
	int unknown;
	char unknown_id[80];
	int want;
	int done;
} fixture;

static void record(side *d, const char *msg, size_t len)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%.*s", (int)len, msg);
	char expect[64];
	snprintf(expect, sizeof(expect), "m%d", d->got);
	if (strcmp(buf, expect) != 0)
		d->in_order = 0;
	snprintf(d->last, sizeof(d->last), "%s", buf);
	d->got++;
}

static void stop_when_done(fixture *f)
{
	if (f->s.got >= f->want && f->c.got >= f->want && !f->done) {
		f->done = 1;
		uv_timer_stop(&f->timer);
		transport_close(f->cl);
		transport_close(f->sp);
		tzmq_server_close(f->srv);
		uv_close((uv_handle_t *)&f->timer, NULL);
	}
}

static void on_server_recv(transport *t, const char *msg, size_t len, void *data)
{
	(void)t;
	fixture *f = data;
	record(&f->s, msg, len);
	stop_when_done(f);
}

static void on_client_recv(transport *t, const char *msg, size_t len, void *data)
{
	(void)t;
	fixture *f = data;
	record(&f->c, msg, len);
	stop_when_done(f);
}

static void on_timeout(uv_timer_t *h)
{
	fixture *f = h->data;
	cr_log_error("timed out: server got %d, client got %d of %d", f->s.got, f->c.got, f->want);
	uv_stop(&f->loop);
}

static void send_n(transport *t, int n)
{
	for (int i = 0; i < n; i++) {
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "m%d", i);
		cr_assert_eq(transport_send(t, buf, (size_t)len), 0);
	}
}

static void run_exchange(const char *endpoint)
{
	fixture f = { .s.in_order = 1, .c.in_order = 1, .want = NMSG };
	char err[256] = "";
	cr_assert_eq(uv_loop_init(&f.loop), 0);
	f.srv = tzmq_server_new(&f.loop, endpoint, NULL, NULL, err, sizeof(err));
	cr_assert_not_null(f.srv, "%s", err);
	f.sp = tzmq_server_expect(f.srv, "r-1");
	cr_assert_not_null(f.sp);
	cr_assert_null(tzmq_server_expect(f.srv, "r-1"));
	cr_assert_eq(errno, EEXIST);
	f.sp->on_recv = on_server_recv;
	f.sp->data = &f;
	/* Sent before the runner exists: queued until it speaks. */
	send_n(f.sp, NMSG);

	f.cl = tzmq_connect(&f.loop, tzmq_server_endpoint(f.srv), "r-1", err, sizeof(err));
	cr_assert_not_null(f.cl, "%s", err);
	f.cl->on_recv = on_client_recv;
	f.cl->data = &f;
	send_n(f.cl, NMSG);

	uv_timer_init(&f.loop, &f.timer);
	f.timer.data = &f;
	uv_timer_start(&f.timer, on_timeout, 10000, 0);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_expect_eq(f.s.got, NMSG);
	cr_expect_eq(f.c.got, NMSG);
	cr_expect(f.s.in_order, "server side got messages out of order");
	cr_expect(f.c.in_order, "runner side got messages out of order");
	cr_assert_eq(uv_loop_close(&f.loop), 0, "handles left open");
}

Test(transport_zmq, ipc_exchange)
{
	char ep[128];
	snprintf(ep, sizeof(ep), "ipc:///tmp/mite-tzmq-%d.sock", (int)getpid());
	run_exchange(ep);
	char path[128];
	snprintf(path, sizeof(path), "/tmp/mite-tzmq-%d.sock", (int)getpid());
	unlink(path);
}

Test(transport_zmq, tcp_exchange)
{
	run_exchange("tcp://127.0.0.1:*");
}

/* ---- keepalive and unknown runners -------------------------------------- */

static void on_unknown(tzmq_server *s, const char *id, const char *msg, size_t len, void *data)
{
	(void)msg;
	(void)len;
	fixture *f = data;
	f->unknown++;
	snprintf(f->unknown_id, sizeof(f->unknown_id), "%s", id);
	if (strcmp(id, "adopt-me") == 0) {
		f->sp = tzmq_server_expect(s, id);
		f->sp->on_recv = on_server_recv;
		f->sp->data = f;
	}
}

static void check_keepalive(uv_timer_t *h)
{
	fixture *f = h->data;
	f->done = 1;
	uv_stop(&f->loop);
}

Test(transport_zmq, keepalive_and_unknown)
{
	fixture f = { .s.in_order = 1, .c.in_order = 1, .want = 1 << 30 };
	char err[256] = "";
	cr_assert_eq(uv_loop_init(&f.loop), 0);
	f.srv = tzmq_server_new(&f.loop, "tcp://127.0.0.1:*", on_unknown, &f, err, sizeof(err));
	cr_assert_not_null(f.srv, "%s", err);
	transport *quiet = tzmq_server_expect(f.srv, "quiet");
	cr_assert_not_null(quiet);
	cr_assert_eq(tzmq_last_activity(quiet), 0);
	transport *qc =
		tzmq_connect(&f.loop, tzmq_server_endpoint(f.srv), "quiet", err, sizeof(err));
	cr_assert_not_null(qc, "%s", err);
	/* A stranger, and one that the server adopts on its first message. */
	transport *stranger =
		tzmq_connect(&f.loop, tzmq_server_endpoint(f.srv), "stranger", err, sizeof(err));
	transport *adopt =
		tzmq_connect(&f.loop, tzmq_server_endpoint(f.srv), "adopt-me", err, sizeof(err));
	cr_assert(stranger && adopt);
	cr_assert_eq(transport_send(stranger, "m0", 2), 0);
	cr_assert_eq(transport_send(adopt, "m0", 2), 0);

	uv_timer_init(&f.loop, &f.timer);
	f.timer.data = &f;
	uv_timer_start(&f.timer, check_keepalive, 1600, 0);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_expect_neq(tzmq_last_activity(quiet), 0, "no keepalive seen in 1.6 s");
	cr_expect_eq(f.unknown, 2);
	cr_expect_eq(f.s.got, 1, "the adopted runner's first message was not delivered");
	cr_expect(tzmq_is_zmq(quiet) && tzmq_is_zmq(qc));

	transport_close(quiet);
	transport_close(qc);
	transport_close(stranger);
	transport_close(adopt);
	transport_close(f.sp);
	tzmq_server_close(f.srv);
	uv_close((uv_handle_t *)&f.timer, NULL);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&f.loop), 0, "handles left open");
}

Test(transport_zmq, refuses_bad_ids_and_endpoints)
{
	uv_loop_t loop;
	char err[256] = "";
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_null(tzmq_server_new(&loop, "bogus://x", NULL, NULL, err, sizeof(err)));
	cr_expect(strstr(err, "bogus://x") != NULL, "error does not name the endpoint: %s", err);
	cr_assert_null(tzmq_connect(&loop, "tcp://127.0.0.1:1", "has space", err, sizeof(err)));
	cr_expect(strstr(err, "bad runner id") != NULL, "%s", err);
	tzmq_server *s = tzmq_server_new(&loop, "tcp://127.0.0.1:*", NULL, NULL, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_null(tzmq_server_expect(s, ""));
	cr_assert_eq(errno, EINVAL);
	tzmq_server_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

/* A second server on a live ipc endpoint must not steal it. */
Test(transport_zmq, ipc_in_use)
{
	uv_loop_t loop;
	char err[256] = "", ep[160], path[128];
	snprintf(path, sizeof(path), "/tmp/mite-tzmq-inuse-%d.sock", (int)getpid());
	snprintf(ep, sizeof(ep), "ipc://%s", path);
	cr_assert_eq(uv_loop_init(&loop), 0);
	tzmq_server *a = tzmq_server_new(&loop, ep, NULL, NULL, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	tzmq_server *b = tzmq_server_new(&loop, ep, NULL, NULL, err, sizeof(err));
	cr_expect_null(b);
	cr_expect(strstr(err, "in use") != NULL, "%s", err);
	tzmq_server_close(a);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	unlink(path);
}
