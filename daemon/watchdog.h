/*
 * watchdog.h - the foreground modes' guard against a journey that never
 * yields.
 *
 * In `mitectl journey test|run` and `scenario test` the runner shares the
 * one thread with the controller: a journey that loops without yielding
 * holds the loop, so --duration, SIGINT and SIGTERM (handled on the loop)
 * would never be seen. The watchdog is a thread of its own that takes
 * SIGINT and SIGTERM (blocked in every other thread) and hands them to the
 * loop, and watches a heartbeat the loop keeps. When the loop has not run
 * for `limit` seconds, or has not taken a signal within 2 s, it says which
 * journey holds it and ends the process with TESTMODE_HUNG. mited's own
 * watchdog does the same for runner processes (runner_timeout).
 */
#ifndef MITE_WATCHDOG_H
#define MITE_WATCHDOG_H

#include <stddef.h>
#include <uv.h>

typedef struct watchdog watchdog;

/* A signal, on the loop. */
typedef void (*watchdog_signal_fn)(int signum, void *data);

typedef struct watchdog_opts {
	double limit; /* seconds the loop may stay away (10 when 0) */
	watchdog_signal_fn on_signal;
	void *data;
	/* The journey whose code runs now, or NULL (read from the watchdog's
	 * thread while the loop's is stuck: the name must stay valid). */
	const char *(*holder)(void);
	const char *results_dir; /* named in the message (may be NULL) */
	int exit_status; /* the process's when the watchdog fires */
} watchdog_opts;

/* Blocks SIGINT and SIGTERM in the calling thread (threads started later
 * inherit that) and starts the watchdog thread. Call it before any other
 * thread starts. NULL with a reason in err. */
watchdog *watchdog_start(uv_loop_t *loop, const watchdog_opts *o, char *err, size_t errlen);

/* Ends the thread, restores the signal mask and closes the loop handles
 * (the loop must run once more to finish closing them; they free the
 * watchdog). NULL is a no-op. */
void watchdog_stop(watchdog *w);

#endif
