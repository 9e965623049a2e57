/*
 * inst.h - a journey instance (struct mite_ctx): its parking (park, wake,
 * sleep, cancel), its failures and the services of its host, as the
 * runner's SDK implementation (runner/sdk.c) and the HTTP SDK calls see
 * them.
 *
 * The host (the runner, or a test harness) hands every instance a table of
 * operations (struct inst_ops): how a woken instance is resumed, and where
 * its stats, events, config and clock live. Everything else - the parking
 * protocol, cancellation, recording a failure - is this file's, for every
 * host alike.
 */
#ifndef MITE_RUNNER_INST_H
#define MITE_RUNNER_INST_H

#include "core/coro.h"
#include "core/row.h"
#include "core/stats.h"
#include "runner/sleepq.h"
#include <cjson/cJSON.h>
#include <mite/mite.h>
#include <stdarg.h>
#include <stdint.h>
#include <uv.h>

#define INST_MAX_TXN 16

struct runner;
struct rjourney;

typedef void (*inst_cancel_fn)(struct mite_ctx *ctx, void *arg);

/* What an instance's host provides. Each takes the instance. */
typedef struct inst_ops {
	/* Runs a woken instance now, until it parks again or ends (the
	 * runner ends an instance whose coroutine finished). */
	void (*resume)(struct mite_ctx *ctx);
	/* Waits until the instance is woken, for a caller that is not the
	 * instance's coroutine (a test's own code). NULL: such a caller
	 * cannot park (inst_park returns MITE_EINVAL). */
	void (*block)(struct mite_ctx *ctx);
	stats *(*stats)(struct mite_ctx *ctx); /* may be cached for the host's life */
	uv_loop_t *(*loop)(struct mite_ctx *ctx);
	sleepq *(*sleepq)(struct mite_ctx *ctx); /* for inst_sleep; NULL: none */
	void (*event)(struct mite_ctx *ctx, cJSON *ev); /* takes ownership of ev */
	double (*now)(struct mite_ctx *ctx); /* seconds since the run started */
	const char *(*config)(struct mite_ctx *ctx, const char *key);
	const char *(*journey_name)(struct mite_ctx *ctx);
	int (*http_events)(struct mite_ctx *ctx);
	int (*stopping)(struct mite_ctx *ctx); /* the run is stopping */
	void *(*fixture)(struct mite_ctx *ctx);
	struct http_engine *(*http_engine)(struct mite_ctx *ctx);
	/* Optional (mitectl --debug): adds what helps an author to the event
	 * of an error about to be sent (the row, the last HTTP exchange). */
	void (*debug)(struct mite_ctx *ctx, cJSON *ev);
	/* Optional: HTTP_TRACE_* bits for the instance's HTTP session
	 * (runner/http_trace.h); NULL: 0. */
	int (*http_trace)(struct mite_ctx *ctx);
	struct ws_engine *(*ws_engine)(struct mite_ctx *ctx); /* NULL: none */
} inst_ops;

struct mite_ctx {
	const inst_ops *ops; /* its host's */
	struct runner *r;
	struct rjourney *j;
	coro *co;
	uint64_t id;
	mite_row *row; /* this iteration's row, or NULL */
	double iter_start; /* loop seconds when the iteration began */
	uint64_t iterations; /* iterations begun, this one included */
	/* transactions */
	struct {
		char *name; /* full name "outer :: inner" */
		uint64_t start_ns;
		int failed;
		int cancelled; /* a call in it returned MITE_ECANCELED */
	} txn[INST_MAX_TXN];
	int ntxn;
	int failed; /* the iteration failed */
	int iter_cancelled; /* a call of this iteration was cancelled */
	int error_recorded; /* the innermost failure was recorded once */
	/* parking */
	int parked, woken, cancelled;
	inst_cancel_fn cancel_fn;
	void *cancel_arg;
	sleepq_node sleep; /* for mite_sleep, on the runner's wheel */
	int parks; /* parks during this iteration */
	/* the HTTP session, owned by runner/http.c (http_session_free) */
	void *http;
	/* the WebSocket session, owned by runner/ws.c (ws_session_free) */
	void *ws;
	/* runner bookkeeping */
	struct mite_ctx *prev, *next; /* the journey's active instances */
	struct mite_ctx *wnext; /* ready queue / row waiters */
	int waiting_row;
	int module_ctx; /* a module init context, not an instance */
};

/* Parks the running instance until inst_wake. `cancel` (may be NULL) is
 * called if the instance is cancelled meanwhile (inst_cancel), to stop
 * whatever it waits for; it is then woken with MITE_ECANCELED, and its
 * iteration counts as cancelled (inst_cancelled). Returns 0,
 * MITE_ECANCELED, or MITE_EINVAL when the caller cannot park (neither the
 * instance's coroutine nor a host that blocks). */
int inst_park(struct mite_ctx *ctx, inst_cancel_fn cancel, void *arg);
/* Parks the running instance for `seconds` (more than 0) on the host's
 * sleep queue: 0, or MITE_ECANCELED when cancelled meanwhile. Never
 * returns early. */
int inst_sleep(struct mite_ctx *ctx, double seconds);
/* Resumes a parked instance, at once (through its host's resume). Call
 * from the loop's context (a libuv callback, or after
 * curl_multi_info_read), never from inside a libcurl callback or another
 * coroutine. */
void inst_wake(struct mite_ctx *ctx);
/* Cancels the instance: a parked one is stopped (its cancel callback) and
 * woken with MITE_ECANCELED; every later park returns that at once. */
void inst_cancel(struct mite_ctx *ctx);
/* A call of the running iteration returned MITE_ECANCELED: the iteration
 * and every transaction open in it fail and are counted as cancelled,
 * whatever the journey does with the return code - never as a success.
 * Nothing for a module-init context. */
void inst_cancelled(struct mite_ctx *ctx);

/* Records a failure as mite_fail does: counted (stats kind error) and sent
 * as an event, under the transaction `txn` (NULL: the innermost open one);
 * the open transactions and the iteration fail. Through a module-init
 * context, kept for inst_last_error and logged instead. Returns MITE_EFAIL. */
int inst_vfail(struct mite_ctx *ctx, const char *txn, const char *file, int line, const char *func,
	       const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
int inst_fail(struct mite_ctx *ctx, const char *file, int line, const char *func, const char *fmt,
	      ...) __attribute__((format(printf, 5, 6)));
/* Records a failure with its location and message as they are (what
 * inst_vfail does with its formatted ones). */
void inst_error(struct mite_ctx *ctx, const char *txn, const char *location, const char *msg);
/* The last failure recorded through a module-init context (for reports),
 * or NULL. */
const char *inst_last_error(void);

/* The innermost open transaction's full name, or "" when none is open. */
const char *inst_txn_name(struct mite_ctx *ctx);

/* The host's services (inst_ops). */
stats *inst_stats(struct mite_ctx *ctx);
uv_loop_t *inst_loop(struct mite_ctx *ctx);
/* Queues an event for the result stream; takes ownership of ev. */
void inst_event(struct mite_ctx *ctx, cJSON *ev);
/* Whether the run asked for per-response http_metrics events. */
int inst_http_events(struct mite_ctx *ctx);
/* What the instance's HTTP session traces (inst_ops.http_trace). */
int inst_http_trace(struct mite_ctx *ctx);
/* Seconds since run start on this runner's clock. */
double inst_now(struct mite_ctx *ctx);
/* The run's config value or NULL. */
const char *inst_config(struct mite_ctx *ctx, const char *key);
const char *inst_journey_name(struct mite_ctx *ctx);
/* Non-zero once the run is stopping or this instance is cancelled. */
int inst_stopping(struct mite_ctx *ctx);
/* The module's fixture (init hook), or NULL. */
void *inst_fixture(struct mite_ctx *ctx);
/* The host's HTTP engine (runner/http.h), or NULL. */
struct http_engine *inst_http_engine(struct mite_ctx *ctx);
/* The host's WebSocket engine (runner/ws_conn.h), or NULL. */
struct ws_engine *inst_ws_engine(struct mite_ctx *ctx);

/* The HTTP engine's host operations over this layer (runner/http.h's
 * http_host), for http_engine_new. */
struct http_host;
extern const struct http_host inst_http_host;

#endif
