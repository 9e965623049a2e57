/*
 * inst.h - a journey instance (struct mite_ctx) as the runner's SDK
 * implementation and its HTTP support see it.
 */
#ifndef MITE_RUNNER_INST_H
#define MITE_RUNNER_INST_H

#include "core/coro.h"
#include "core/row.h"
#include "core/stats.h"
#include "runner/sleepq.h"
#include <cjson/cJSON.h>
#include <mite/mite.h>
#include <stdint.h>
#include <uv.h>

#define INST_MAX_TXN 16

struct runner;
struct rjourney;

typedef void (*inst_cancel_fn)(struct mite_ctx *ctx, void *arg);

struct mite_ctx {
	struct runner *r;
	struct rjourney *j;
	coro *co;
	uint64_t id;
	mite_row *row;          /* this iteration's row, or NULL */
	double iter_start;      /* loop seconds when the iteration began */
	/* transactions */
	struct {
		char *name;     /* full name "outer :: inner" */
		uint64_t start_ns;
		int failed;
		int cancelled;  /* a call in it returned MITE_ECANCELED */
	} txn[INST_MAX_TXN];
	int ntxn;
	int failed;             /* the iteration failed */
	int iter_cancelled;     /* a call of this iteration was cancelled */
	int error_recorded;     /* the innermost failure was recorded once */
	/* parking */
	int parked, woken, cancelled;
	inst_cancel_fn cancel_fn;
	void *cancel_arg;
	sleepq_node sleep;      /* for mite_sleep, on the runner's wheel */
	int parks;              /* parks during this iteration */
	/* the HTTP session, owned by runner/http.c (http_session_free) */
	void *http;
	/* runner bookkeeping */
	struct mite_ctx *prev, *next;     /* the journey's active instances */
	struct mite_ctx *wnext;           /* ready queue / row waiters */
	int waiting_row;
	int module_ctx;         /* a module init context, not an instance */
};

/* Parks the running instance until inst_wake. `cancel` (may be NULL) is
 * called if the run is cancelled meanwhile, to stop whatever the instance
 * waits for; the instance is then woken with MITE_ECANCELED. Returns 0, or
 * MITE_ECANCELED. Must be called from the instance's coroutine. */
int inst_park(struct mite_ctx *ctx, inst_cancel_fn cancel, void *arg);
/* Parks the running instance for `seconds` (more than 0): 0, or
 * MITE_ECANCELED when cancelled meanwhile. Never returns early. */
int inst_sleep(struct mite_ctx *ctx, double seconds);
/* Resumes a parked instance, at once. Call from the loop's context (a libuv
 * callback, or after curl_multi_info_read), never from inside a libcurl
 * callback or another coroutine. */
void inst_wake(struct mite_ctx *ctx);

/* The innermost open transaction's full name, or "" when none is open. */
const char *inst_txn_name(struct mite_ctx *ctx);
/* The runner's stats table (entries may be cached for the runner's life). */
stats *inst_stats(struct mite_ctx *ctx);
uv_loop_t *inst_loop(struct mite_ctx *ctx);
/* Records a failure as mite_fail does. Returns MITE_EFAIL. */
int inst_fail(struct mite_ctx *ctx, const char *file, int line, const char *func, const char *fmt,
	      ...) __attribute__((format(printf, 5, 6)));
/* Queues an event for the result stream; takes ownership of ev. */
void inst_event(struct mite_ctx *ctx, cJSON *ev);
/* Whether the run asked for per-response http_metrics events. */
int inst_http_events(struct mite_ctx *ctx);
/* Seconds since run start on this runner's clock. */
double inst_now(struct mite_ctx *ctx);
/* The run's config value or NULL. */
const char *inst_config(struct mite_ctx *ctx, const char *key);
const char *inst_journey_name(struct mite_ctx *ctx);
/* Non-zero once the run is stopping or this instance is cancelled. */
int inst_stopping(struct mite_ctx *ctx);
/* The module's fixture (init hook), or NULL. */
void *inst_fixture(struct mite_ctx *ctx);
/* The runner's HTTP engine (runner/http.h). */
struct http_engine *inst_http_engine(struct mite_ctx *ctx);

#endif
