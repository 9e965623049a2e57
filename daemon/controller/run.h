/*
 * run.h - a run: one scenario executing on a set of runners.
 *
 * The controller side of a run (docs/architecture.md): every tick (100 ms) it evaluates
 * each journey's volume model, shares the required counts out among the
 * runners (balanced, deterministic), answers their row requests from the
 * datapools, merges their stats batches exactly, and ends the run when the
 * duration is reached, every model stopped, or run_stop is called.
 *
 * Runners are reached through transports (core/transport.h). Where they
 * live is the caller's business: run_add_runner takes a transport that
 * leads to a runner (in this process, another process, another host).
 */
#ifndef MITE_CONTROLLER_RUN_H
#define MITE_CONTROLLER_RUN_H

#include "controller/scenario.h"
#include "core/stats.h"
#include "core/transport.h"
#include <cjson/cJSON.h>
#include <uv.h>

typedef struct run run;

typedef enum run_state {
	RUN_STARTING, /* waiting for runners to say ready */
	RUN_RUNNING,
	RUN_PAUSED,
	RUN_STOPPING, /* draining: no new iterations, grace period running */
	RUN_DONE,
} run_state;

typedef struct run_hooks {
	/* After every tick (optional). Returns why the run must stop (it is
	 * stopped as by run_stop_by, e.g. "threshold ..."), or NULL. */
	const char *(*on_tick)(run *r, void *data);
	/* Each event a runner sent (custom messages, errors, http_metrics); the
	 * run keeps ownership of ev. Optional. */
	void (*on_event)(run *r, const cJSON *ev, void *data);
	/* Once, when the run is done and every runner has said bye or gone. */
	void (*on_done)(run *r, void *data);
	void *data;
} run_hooks;

typedef struct run_opts {
	const char *id; /* run id (copied); generated when NULL */
	double tick; /* seconds between ticks; 0.1 when 0 */
	double grace; /* seconds iterations get to finish at stop; 30 when 0 */
	double stats_interval; /* seconds between runners' stats batches; 1 when 0 */
	int http_events; /* runners send an http_metrics event per response */
	/* mitectl's --debug: PROTO_DEBUG_FIRST or _ALL adds a "debug" object
	 * (row, last HTTP exchange) to error events; FIRST also halts the
	 * runner at its first error (mitectl then stops the run). */
	int debug;
	/* --trace-http: the id of the instance whose every request is sent
	 * as an http_trace event (0: none). */
	uint64_t trace_instance;
	run_hooks hooks;
} run_opts;

/* A run of scenario s (the run takes s over) on loop. NULL with a reason
 * in err (e.g. a pool that cannot serve the concurrency asked for). */
run *run_new(uv_loop_t *loop, scenario *s, const run_opts *o, char *err, size_t errlen);
/* Adds a runner reached through t (the run takes t over). Before
 * run_start, or later to replace a runner that died. 0 or -errno. */
int run_add_runner(run *r, transport *t);
/* Tells the run that runner link t is gone (process died: signal, reason);
 * its instances are reported lost, its leased rows return to the pools and
 * its share moves to the others. A lost runner is a run error (the journey
 * crashed or hung): the verdict fails, and the run goes on. */
void run_runner_lost(run *r, transport *t, const char *reason);
/* Runner t leaves the run before its end (its host was lost, but the
 * runner may still hear us): its share moves to the others now, it is
 * asked to finish within a short grace and send its last stats and bye,
 * which are merged as any runner's; if they do not come within a bound it
 * is dropped as lost. Either way the run fails with reason. */
void run_runner_leave(run *r, transport *t, const char *reason);
/* Sends setup to every runner and starts ticking once all are ready. */
int run_start(run *r);
/* Stops starting iterations; after the grace period (or at once with now)
 * parked SDK calls are cancelled. by says who or what stopped the run
 * ("mitectl stop", "SIGTERM: mited shutting down", ...), for the verdict:
 * a run stopped before its own end (its duration, or the end of a model
 * or datapool that has one) is incomplete. run_stop is run_stop_by with
 * "a stop request". The first stop's reason is kept. */
void run_stop_by(run *r, int now, const char *by);
void run_stop(run *r, int now);
/* Stops the run at once at a failure (mitectl --debug), by `by`: early -
 * incomplete, never passed - unless every journey had reached its own
 * end, also when the run has no end of its own (no duration, endless
 * models and pools), which a plain stop of such a run is not. */
void run_stop_at_failure(run *r, const char *by);
/* Who stopped the run (NULL: nobody, it ended by itself or on an error),
 * at which run second, and whether that was before its end. */
const char *run_stopped_by(const run *r, double *at, int *early);
void run_pause(run *r);
void run_resume(run *r);
/* Multiplies every volume model of the run by factor (1.0 = as written),
 * applied at the next tick. -EINVAL for a negative or non-finite factor. */
int run_scale(run *r, double factor);

run_state run_get_state(const run *r);
/* A state's name as status, results and metrics show it ("running"). */
const char *run_state_name(run_state s);
/* Runners linked and usable now (the status's "runners"). */
int run_runners(const run *r);
const char *run_id(const run *r);
const scenario *run_scenario(const run *r);
/* Seconds since the run started (0 before). */
double run_elapsed(const run *r);
/* The merged stats of the whole run so far. */
const stats *run_totals(const run *r);
/* A status snapshot: id, name, state, elapsed, duration, per journey
 * required/actual, per transaction count/failures/rate/percentiles. The
 * caller owns the object. */
cJSON *run_status(const run *r);
/* Non-zero when any iteration failed (journey errors). */
int run_failed(const run *r);
/* The first error that ended or hurt the run (a runner's setup failed, a
 * runner was lost, a datapool failed), or NULL. */
const char *run_error(const run *r);
double run_get_scale(const run *r);
/* Required (0 unless running) and actual instances of journey ji now. */
long run_required(const run *r, size_t ji);
long run_actual(const run *r, size_t ji);
/* The instances (every journey) runner link t reported last; 0 when t is
 * not one of the run's, or gone. For per-host volume. */
long run_runner_actual(const run *r, const transport *t);
/* The run second it stopped running (began to drain), or -1 while it
 * has not. */
double run_running_until(const run *r);
/* The most instances of journey ji the runners had at any moment between
 * their last two batches (added over runners; a runner that left keeps
 * its last); once the run stopped, the most since the batch before the
 * stop: what ran in the second the run stopped in. */
long run_actual_peak(const run *r, size_t ji);
/* Open models: the starts handed out to runners so far. */
long run_required_starts(const run *r, size_t ji);
/* Whether journey ji ended because its (iterable) datapool ran out. */
int run_pool_ended(const run *r, size_t ji);
/* Why a runner says journey ji is short of its target (the `why` of its
 * last stats batch, docs/runner-protocol.md), or NULL. */
const char *run_why(const run *r, size_t ji);
/* Moves the stats merged since the last call into *out (the caller frees
 * it with stats_free) and starts a new window: for live rates. */
void run_take_window(run *r, stats *out);
/* Frees a run. One that is not done yet is torn down: its runners'
 * transports close, and the memory goes once its timers have closed on the
 * loop (no hook runs after this call). */
void run_free(run *r);

#endif
