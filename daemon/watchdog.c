/*
 * watchdog.c - the foreground modes' guard against a journey that never
 * yields (see watchdog.h).
 *
 * The loop proves it runs by a heartbeat timer; signals reach the loop
 * through a uv_async, and the loop counts what it took. Everything the two
 * threads share is atomic. When the watchdog fires, the loop's thread is
 * inside journey code and may hold any lock, stdio's and the results'
 * included: the watchdog writes its message with write(2), flushes stdout
 * only if it can take its lock without waiting, and ends the process with
 * _exit - no summary, since that would read what the stuck thread owns.
 */
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WD_BEAT_MS 100
#define WD_POLL_NS (100 * 1000 * 1000)
/* A signal the loop has not taken by then will not be taken. */
#define WD_SIGNAL_WAIT 2.0

struct watchdog {
	uv_loop_t *loop;
	watchdog_opts o;
	uv_timer_t beat_timer;
	uv_async_t async;
	int closing;
	pthread_t th;
	sigset_t set, oldmask;
	struct sigaction oldint, oldterm;
	atomic_bool quit;
	atomic_uint_fast64_t beat; /* uv_hrtime of the loop's last turn */
	atomic_uint nint, nterm; /* signals taken by the thread */
	atomic_uint sent, acked; /* handed to the loop / taken by it */
	atomic_uint_fast64_t unacked_since; /* when the oldest unacked one came */
	unsigned int_seen, term_seen; /* loop side */
};

static void wd_beat(watchdog *w)
{
	atomic_store(&w->beat, uv_hrtime());
}

static void on_beat(uv_timer_t *t)
{
	wd_beat(t->data);
}

static void on_async(uv_async_t *a)
{
	watchdog *w = a->data;
	unsigned ni = atomic_load(&w->nint), nt = atomic_load(&w->nterm);

	wd_beat(w);
	while (w->int_seen < ni) {
		w->int_seen++;
		w->o.on_signal(SIGINT, w->o.data);
	}
	while (w->term_seen < nt) {
		w->term_seen++;
		w->o.on_signal(SIGTERM, w->o.data);
	}
	atomic_store(&w->acked, w->int_seen + w->term_seen);
}

/* Says why and ends the process; never returns. */
static void wd_fire(watchdog *w, double away, int interrupted)
{
	const char *j = w->o.holder ? w->o.holder() : NULL;
	const char *why =
		interrupted ? "the interrupt cannot reach it" : "the limit is --runner-timeout";
	const char *dir = w->o.results_dir;
	char msg[1024];
	int n;

	n = snprintf(msg, sizeof msg,
		     "\nmitectl: %s%.200s%s did not yield for %.1f s (%s): ending\n"
		     "mitectl: no summary (the stuck thread holds the results)%s%.400s\n",
		     j ? "journey " : "", j ? j : "the loop", j ? "" : "", away, why,
		     dir ? "; what was written so far is in " : "", dir ? dir : "");
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = (int)sizeof msg - 1; /* cut, but still the reason */
	/* The live lines printed so far, unless the stuck thread is inside
	 * stdio: then waiting for the lock would hang the watchdog too. */
	if (ftrylockfile(stdout) == 0) {
		fflush_unlocked(stdout);
		funlockfile(stdout);
	}
	if (write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* Nowhere else to say it; the exit status still does. */
	}
	_exit(w->o.exit_status);
}

static void wd_check(watchdog *w)
{
	uint64_t now = uv_hrtime(), beat = atomic_load(&w->beat);
	double away = now > beat ? (double)(now - beat) / 1e9 : 0;

	if (away >= w->o.limit)
		wd_fire(w, away, 0);
	if (atomic_load(&w->sent) != atomic_load(&w->acked)) {
		uint64_t since = atomic_load(&w->unacked_since);

		if (now > since && (double)(now - since) / 1e9 >= WD_SIGNAL_WAIT &&
		    away >= WD_SIGNAL_WAIT)
			wd_fire(w, away, 1);
	}
}

static void *wd_main(void *arg)
{
	watchdog *w = arg;
	const struct timespec poll = { 0, WD_POLL_NS };

	while (!atomic_load(&w->quit)) {
		int sig = sigtimedwait(&w->set, NULL, &poll);

		if (sig == SIGINT || sig == SIGTERM) {
			if (atomic_load(&w->sent) == atomic_load(&w->acked))
				atomic_store(&w->unacked_since, uv_hrtime());
			atomic_fetch_add(sig == SIGINT ? &w->nint : &w->nterm, 1);
			atomic_fetch_add(&w->sent, 1);
			uv_async_send(&w->async);
		}
		wd_check(w);
	}
	return NULL;
}

/* Loop handles and the thread; the signals are already blocked. 0 or a
 * positive errno. */
static int wd_launch(watchdog *w)
{
	int rc = -uv_async_init(w->loop, &w->async, on_async);

	if (rc)
		return rc;
	w->async.data = w;
	uv_unref((uv_handle_t *)&w->async);
	uv_timer_init(w->loop, &w->beat_timer);
	w->beat_timer.data = w;
	uv_timer_start(&w->beat_timer, on_beat, WD_BEAT_MS, WD_BEAT_MS);
	uv_unref((uv_handle_t *)&w->beat_timer);
	rc = pthread_create(&w->th, NULL, wd_main, w);
	if (rc == 0)
		return 0;
	uv_close((uv_handle_t *)&w->beat_timer, NULL);
	uv_close((uv_handle_t *)&w->async, NULL);
	/* The handles live in w: let them close before it goes. */
	uv_run(w->loop, UV_RUN_NOWAIT);
	return rc;
}

watchdog *watchdog_start(uv_loop_t *loop, const watchdog_opts *o, char *err, size_t errlen)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	watchdog *w = calloc(1, sizeof *w);
	int rc;

	if (!w) {
		snprintf(err, errlen, "watchdog: %s", strerror(ENOMEM));
		return NULL;
	}
	w->loop = loop;
	w->o = *o;
	if (!(w->o.limit > 0))
		w->o.limit = 10;
	atomic_init(&w->quit, 0);
	atomic_init(&w->beat, uv_hrtime());
	atomic_init(&w->nint, 0);
	atomic_init(&w->nterm, 0);
	atomic_init(&w->sent, 0);
	atomic_init(&w->acked, 0);
	atomic_init(&w->unacked_since, 0);
	sigemptyset(&w->set);
	sigaddset(&w->set, SIGINT);
	sigaddset(&w->set, SIGTERM);
	rc = pthread_sigmask(SIG_BLOCK, &w->set, &w->oldmask);
	if (rc) {
		snprintf(err, errlen, "watchdog: cannot block signals: %s", strerror(rc));
		free(w);
		return NULL;
	}
	/* Taken even when they came ignored (a job a script started in the
	 * background): an ignored signal is dropped before sigtimedwait can
	 * take it, and mitectl has always stopped on them. */
	sigaction(SIGINT, &dfl, &w->oldint);
	sigaction(SIGTERM, &dfl, &w->oldterm);
	rc = wd_launch(w);
	if (rc == 0)
		return w;
	sigaction(SIGINT, &w->oldint, NULL);
	sigaction(SIGTERM, &w->oldterm, NULL);
	pthread_sigmask(SIG_SETMASK, &w->oldmask, NULL);
	snprintf(err, errlen, "watchdog: cannot start: %s", strerror(rc));
	free(w);
	return NULL;
}

static void wd_closed(uv_handle_t *h)
{
	watchdog *w = h->data;

	if (--w->closing == 0)
		free(w);
}

void watchdog_stop(watchdog *w)
{
	if (!w)
		return;
	atomic_store(&w->quit, 1);
	pthread_join(w->th, NULL);
	sigaction(SIGINT, &w->oldint, NULL);
	sigaction(SIGTERM, &w->oldterm, NULL);
	pthread_sigmask(SIG_SETMASK, &w->oldmask, NULL);
	w->closing = 2;
	uv_close((uv_handle_t *)&w->beat_timer, wd_closed);
	uv_close((uv_handle_t *)&w->async, wd_closed);
}
