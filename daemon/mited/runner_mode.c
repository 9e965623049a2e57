/*
 * runner_mode.c - `mited --runner` (see runner_mode.h): signals, resource
 * limits, the handlers that name the journey a runner died in, and the
 * link that gives up when no setup comes.
 */
#include "config.h"

#include "mited/runner_mode.h"

#include "core/curve.h"
#include "core/log.h"
#include "core/proto.h"
#include "core/transport.h"
#include "runner/limits.h"
#include "runner/runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int runner_status = 0;
static const char *curve_key, *curve_server_key;

/* A runner on a runner host: when its agent dies (PR_SET_PDEATHSIG,
 * SIGUSR1) it leaves the run cleanly rather than dying with it, so that
 * what it did reaches the controller it is linked to itself. */
#define ORPHAN_SIGNAL SIGUSR1
/* Seconds an orphan has to leave; then SIGALRM ends it whatever its loop
 * is doing (a journey holding it). */
#define ORPHAN_ALARM_S 10
static struct {
	uv_async_t async;
	int open;
	long agent;
	runner *r;
} ORPHAN;

static void orphan_handler(int sig)
{
	(void)sig;
	alarm(ORPHAN_ALARM_S);
	uv_async_send(&ORPHAN.async);
}

static void orphan_leave(uv_async_t *h)
{
	char why[96];
	(void)h;
	snprintf(why, sizeof(why), "its agent (pid %ld) is gone", ORPHAN.agent);
	if (ORPHAN.r)
		runner_leave(ORPHAN.r, why, PROTO_LEAVE_GRACE_S);
}

/* Dies with the process that spawned it: at once for mited's own runners,
 * by leaving the run for an agent's (the loop must exist for that). */
static int watch_parent(uv_loop_t *loop, long parent, int index)
{
	if (curve_key) {
		struct sigaction sa = { .sa_handler = orphan_handler };
		uv_async_init(loop, &ORPHAN.async, orphan_leave);
		ORPHAN.open = 1;
		ORPHAN.agent = parent;
		sigemptyset(&sa.sa_mask);
		sigaction(ORPHAN_SIGNAL, &sa, NULL);
		prctl(PR_SET_PDEATHSIG, ORPHAN_SIGNAL);
	} else {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	if (getppid() != (pid_t)parent) {
		log_err("runner %d: mited (pid %ld) is gone; exiting", index, parent);
		return -1;
	}
	return 0;
}

/* The orphan watch ends with the runner (its handle would keep the loop). */
static void orphan_close(void)
{
	ORPHAN.r = NULL;
	if (ORPHAN.open) {
		ORPHAN.open = 0;
		uv_close((uv_handle_t *)&ORPHAN.async, NULL);
	}
}

static void runner_done(runner *r, int status, void *data)
{
	(void)data;
	runner_status = status;
	orphan_close();
	runner_free(r);
}

/* Async-signal-safe: names the journey that was running when the runner
 * died, for the daemon's report (it reads our stderr), then dies of the
 * signal. core/coro.c's overflow handler, installed later, hands faults
 * that are not stack overflows back to this one. */
static void fatal_handler(int sig)
{
	static const char digits[] = "0123456789";
	char msg[256];
	size_t n = limits_fatal_note(msg, sizeof(msg));
	const char *j = runner_current_journey();
	if (n) {
		/* Near its address space limit: an allocation that failed is the
		 * likely cause. Said first; the daemon keeps it. */
		ssize_t w0 = write(STDERR_FILENO, msg, n);
		(void)w0;
		n = 0;
	}
	const char *pre = "<2>mite: fatal signal ";
	while (*pre)
		msg[n++] = *pre++;
	if (sig >= 10)
		msg[n++] = digits[(sig / 10) % 10];
	msg[n++] = digits[sig % 10];
	const char *mid = j ? " in journey " : " outside any journey";
	while (*mid)
		msg[n++] = *mid++;
	while (j && *j && n < sizeof(msg) - 1)
		msg[n++] = *j++;
	msg[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, msg, n);
	(void)w;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* SIGUSR2 from the daemon's watchdog: the loop has stopped answering;
 * say which journey's code holds the thread. Async-signal-safe. */
static void busy_handler(int sig)
{
	char msg[256];
	size_t n = 0;
	const char *j = runner_current_journey();
	const char *pre = j ? "<3>mite: busy in journey " : "<3>mite: busy outside any journey";
	int saved = errno;
	(void)sig;
	while (*pre)
		msg[n++] = *pre++;
	while (j && *j && n < sizeof(msg) - 1)
		msg[n++] = *j++;
	msg[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, msg, n);
	(void)w;
	errno = saved;
}

static void install_fatal_handlers(void)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = busy_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
}

/* The runner's link to its controller, watched on the way in for the
 * setup: a runner that gets none within its time (no run expects its id)
 * gives up rather than wait forever. One runner per process. */
typedef struct setup_watch {
	transport t; /* what the runner holds */
	transport *inner; /* the ZeroMQ link */
	uv_timer_t timer;
	int set_up, timer_open;
	int index;
	double timeout;
	const char *endpoint, *id;
} setup_watch;

static setup_watch SW;

static int sw_send(transport *t, const char *msg, size_t len)
{
	(void)t;
	return SW.inner ? transport_send(SW.inner, msg, len) : -EPIPE;
}

static void sw_stop_timer(void)
{
	if (!SW.timer_open)
		return;
	SW.timer_open = 0;
	uv_close((uv_handle_t *)&SW.timer, NULL);
}

static void sw_close(transport *t)
{
	(void)t;
	if (SW.inner)
		transport_close(SW.inner);
	SW.inner = NULL;
	sw_stop_timer();
}

static const struct transport_ops sw_ops = { .send = sw_send, .close = sw_close };

static void sw_recv(transport *inner, const char *msg, size_t len, void *data)
{
	static const char key[] = "\"t\":\"setup\"";
	(void)inner;
	(void)data;
	/* proto_send writes {"v":1,"t":"setup",...}: the type comes first. */
	if (!SW.set_up && memmem(msg, len < 64 ? len : 64, key, sizeof(key) - 1)) {
		SW.set_up = 1;
		sw_stop_timer();
	}
	if (SW.t.on_recv)
		SW.t.on_recv(&SW.t, msg, len, SW.t.data);
}

static void sw_timeout(uv_timer_t *h)
{
	(void)h;
	log_err("runner %d: no setup from %s within %g s: no run there expects runner id '%s' "
		"(mited starts its own runners; runners started by hand are not supported yet); "
		"giving up",
		SW.index, SW.endpoint, SW.timeout, SW.id ? SW.id : "(none)");
	fflush(stderr);
	_exit(EXIT_FAILURE);
}

static transport *sw_wrap(uv_loop_t *loop, transport *inner, int index, double timeout,
			  const char *endpoint, const char *id)
{
	SW = (setup_watch){ .t = { .ops = &sw_ops },
			    .inner = inner,
			    .index = index,
			    .timeout = timeout,
			    .endpoint = endpoint,
			    .id = id };
	inner->on_recv = sw_recv;
	uv_timer_init(loop, &SW.timer);
	uv_timer_start(&SW.timer, sw_timeout, (uint64_t)(timeout * 1000), 0);
	SW.timer_open = 1;
	return &SW.t;
}

/* SIGTERM or SIGINT to a runner started by hand: it ends, saying so
 * (async-signal-safe), by the signal. */
static void runner_stop_handler(int sig)
{
	static const char a[] = "runner: SIGTERM: exiting\n", b[] = "runner: SIGINT: exiting\n";
	ssize_t w = sig == SIGTERM ? write(STDERR_FILENO, a, sizeof(a) - 1)
				   : write(STDERR_FILENO, b, sizeof(b) - 1);
	(void)w;
	signal(sig, SIG_DFL);
	raise(sig);
}

void runner_mode_set_curve(const char *key, const char *server_key)
{
	curve_key = key;
	curve_server_key = server_key;
}

/* The link to the controller: CURVE with the host's keys when given. */
static transport *runner_link(uv_loop_t *loop, const char *endpoint, const char *id, char *err,
			      size_t errlen)
{
	if (!curve_key)
		return tzmq_connect(loop, endpoint, id, err, errlen);
	tzmq_curve cv = { 0 };
	char why[1024];
	if (curve_read_secret(curve_key, cv.secret, NULL, why, sizeof(why)) < 0 ||
	    curve_read_public(curve_server_key, cv.server_public, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%.*s", (int)(errlen > 1 ? errlen - 1 : 0), why);
		return NULL;
	}
	transport *t = tzmq_connect_curve(loop, endpoint, id, &cv, err, errlen);
	memset(cv.secret, 0, sizeof(cv.secret));
	return t;
}

/* Nothing more to run: the handles close, and the runner fails. */
static int runner_abandon(uv_loop_t *loop)
{
	orphan_close();
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	return EXIT_FAILURE;
}

int runner_mode_run(const char *endpoint, int index, const char *id, long parent, uint64_t memory,
		    uint64_t address_space, long files, double setup_timeout)
{
	char err[512];
	if (parent > 0) {
		/* mited drains its runners through the protocol: the signals a
		 * terminal or systemd send to the whole group are not for us. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
	} else {
		/* By hand: SIGTERM and ^C end it at any time, even while a
		 * journey holds the loop. */
		signal(SIGINT, runner_stop_handler);
		signal(SIGTERM, runner_stop_handler);
	}
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Before any module is loaded: what a journey allocates counts. */
	limits_apply(index, memory, address_space, files);
	install_fatal_handlers();
	uv_loop_t loop;
	if (uv_loop_init(&loop) < 0)
		return EXIT_FAILURE;
	if (parent > 0 && watch_parent(&loop, parent, index) < 0)
		return runner_abandon(&loop);
	transport *zt = runner_link(&loop, endpoint, id, err, sizeof(err));
	if (!zt) {
		log_err("runner %d: %s", index, err);
		return runner_abandon(&loop);
	}
	transport *t = sw_wrap(&loop, zt, index, setup_timeout, endpoint, id);
	runner *r = runner_new(&loop, t, index, runner_done, NULL);
	if (!r) {
		log_err("runner %d: cannot start: out of memory", index);
		transport_close(t);
		return runner_abandon(&loop);
	}
	ORPHAN.r = r;
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("runner %d: handles still open at exit", index);
	return runner_status ? EXIT_FAILURE : EXIT_SUCCESS;
}
