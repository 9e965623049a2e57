/*
 * runner.h - a runner: one libuv loop running journey instances as
 * coroutines, driven by runner-protocol messages from a controller.
 *
 * The runner knows nothing of scenario files or datapools: it receives a
 * setup (journeys, modules, config), targets per tick, row batches and
 * stop/cancel, and sends back hello, ready/error, row requests and returns,
 * stats batches every second, events, and bye.
 */
#ifndef MITE_RUNNER_RUNNER_H
#define MITE_RUNNER_RUNNER_H

#include "core/transport.h"
#include <mite/mite.h>
#include <uv.h>

typedef struct runner runner;

/* Called once when the runner has said bye (or failed for good) and
 * released everything but itself: free it then with runner_free. */
typedef void (*runner_done_cb)(runner *r, int status, void *data);

/* A runner speaking on t (the runner takes t over), numbered index. */
runner *runner_new(uv_loop_t *loop, transport *t, int index, runner_done_cb done, void *data);
void runner_free(runner *r);
/* The runner leaves its run on its own (why: its agent is gone): it tells
 * the controller, starts no more iterations, lets those running finish
 * within grace seconds (then cancels them), and ends as at a stop: last
 * stats, rows back, bye. Nothing once it is stopping. */
void runner_leave(runner *r, const char *why, double grace);

/* The SDK function table every module opened in this process receives. */
const mite_api *runner_api(void);

/* What a crash report names: the journey whose code was running last. */
const char *runner_current_journey(void);

#endif
