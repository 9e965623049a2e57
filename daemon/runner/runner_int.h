/*
 * runner_int.h - what the parts of a runner share (runner.c: its life,
 * the controller's messages, stopping, what the SDK sees; runner_inst.c:
 * instances as coroutines and their scheduling; runner_rows.c: the row
 * buffer; runner_stats.c: events and stats batches; runner_setup.c: the
 * setup message). Not for use outside them.
 */
#ifndef MITE_RUNNER_RUNNER_INT_H
#define MITE_RUNNER_RUNNER_INT_H

#include "runner/http.h"
#include "runner/inst.h"
#include "runner/runner.h"
#include "runner/sleepq.h"
#include "runner/ws.h"

#include "core/kvl.h"
#include "core/module.h"
#include "core/proto.h"
#include "core/row.h"
#include "core/stats.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ROW_BATCH_MAX PROTO_ROWS_MAX
#define ROW_PREFETCH_MAX 128 /* rows buffered ahead per journey, at most */
#define ROW_RETURN_BATCH 64 /* recyclable rows handed back per message */
#define EVENTS_MAX 10000 /* events queued between batches before dropping */
#define EVENTS_FLUSH 512 /* flush early past this many */
/* Bounds on what a controller's message may ask for. Beyond them a value is
 * garbage (and converting it to an integer could be undefined): seconds
 * (tick, stats interval, grace), a run's elapsed time, a stack. Instances
 * and starts per journey are kept to proto_instances_max() and said
 * (set_closed_target, add_starts). */
#define MSG_SECS_MAX 1e6
#define MSG_ELAPSED_MAX 1e9
#define MSG_STACK_MAX (64.0 * 1024 * 1024) /* as scenario files allow */
/* Instances started per loop turn at most: a target of a million starts
 * over some hundred turns, with timers, messages and stats in between. */
#define START_BATCH 8192
/* Free stacks whose pages stay resident for reuse, per stack size (beyond
 * them they are given back once per stats interval). */
#define STACKS_KEEP 1024

enum { R_SETUP, R_RUNNING, R_STOPPING, R_CLOSING, R_DONE };

typedef struct rmodule {
	module *mod;
	void *fixture;
	int inited;
} rmodule;

typedef struct rjourney {
	struct runner *r;
	int idx;
	char *name;
	char **columns; /* NULL-terminated, or NULL */
	size_t stack;
	mite_journey_fn fn;
	rmodule *rm;
	int open; /* open model: each start is one iteration */
	int has_pool;
	int recyclable;
	long target; /* closed: this runner's share of the concurrency */
	long asked; /* closed: the share asked for (over the bound: more) */
	long pending; /* open: starts still to make in this tick */
	uv_timer_t spread; /* open: spreads a tick's starts over the tick */
	double spread_next; /* open: intended time of the next start (s) */
	double spread_gap; /* open: seconds between starts in this tick */
	long nactive;
	long peak; /* the most instances (with pending starts) since the last batch */
	mite_ctx *active; /* doubly linked list of live instances */
	/* rows */
	mite_row **rows; /* free rows, a FIFO ring (recyclable: returned ones too) */
	size_t rhead, nrows, rowcap;
	uint64_t *ret; /* recyclable rows used and not yet handed back */
	size_t nret, retcap;
	int requested; /* a need is outstanding */
	int rows_end; /* the pool is exhausted */
	mite_ctx *waiters, *waiters_tail;
	stats_entry *st_journey, *st_lag;
	int balance; /* needs a balance pass */
	char why[96]; /* why the target is not reached ("" when it is) */
} rjourney;

struct runner {
	uv_loop_t *loop;
	transport *t;
	int index;
	int state;
	runner_done_cb done;
	void *done_data;
	uint64_t t0_ns; /* hrtime of run start on this runner */
	double deadline; /* no iteration starts from then on (0: none) */
	double tick;
	double grace;
	int http_events;
	int debug; /* 0 or PROTO_DEBUG_*: mitectl --debug (runner/debug.h) */
	int debug_halted; /* ... FIRST: the first error was reported: no more iterations */
	uint64_t trace_instance; /* --trace-http: this instance's requests (0: none) */
	kvl config;
	rjourney *j;
	size_t nj;
	rmodule *mods;
	size_t nmods;
	http_engine *http;
	ws_engine *ws;
	stats st;
	cJSON *events;
	size_t nevents;
	uint64_t events_dropped;
	uv_timer_t stats_timer;
	uv_timer_t grace_timer;
	sleepq sleep; /* sleeping instances */
	uv_prepare_t lag_probe; /* the loop-lag probe: once a turn, before the loop waits */
	uint64_t lag_turn_ns; /* when the last turn's probe ran */
	uint64_t lag_idle_ns; /* the loop's idle time then */
	stats_entry *st_loop; /* its histogram ("loop", this runner's index) */
	uv_idle_t idle;
	int idle_on;
	mite_ctx *ready, *ready_tail;
	uint64_t next_id;
	long live; /* instances alive (all journeys) */
	int pending_closes; /* handles still closing */
	int cancelled;
	int status;
};

/* A number from a message that is more than 0 and at most max, or dflt. */
static inline double msg_num(const cJSON *v, double max, double dflt)
{
	return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble <= max ? v->valuedouble
										: dflt;
}

/* Seconds of the run on this runner's clock. */
static inline double runner_now(const runner *r)
{
	return (double)(uv_hrtime() - r->t0_ns) / 1e9;
}

/* runner.c */
/* What an instance of this runner calls its host for. */
extern const inst_ops runner_ops;
void runner_send_error(runner *r, const char *msg);
/* A stopping runner whose instances all ended says its last and closes;
 * a closing one whose handles all closed is done. */
void runner_check_done(runner *r);

/* runner_inst.c */
/* Switches into an instance until it parks or ends. */
void runner_inst_run(mite_ctx *ctx);
/* The journey running now, else the one whose code ran last (NULL: none
 * yet); runner_free forgets it, its name going with its journeys. */
const char *runner_inst_last_journey(void);
void runner_inst_forget_journey(void);
/* The sleep queue's callback: a sleeping instance's time came. */
void runner_inst_sleep_fired(sleepq *q, sleepq_node *n, void *data);
/* Wakes what is queued and balances on the loop's next turn. */
void runner_inst_kick(runner *r);
/* A targets message: closed shares and open starts. */
void runner_inst_targets(runner *r, const cJSON *m);
/* At the stop: the open-model starts still pending are made now. */
void runner_inst_starts_due(runner *r);

/* runner_rows.c */
/* The journey has no row left, here or to come. */
int runner_rows_out(const rjourney *j);
/* Open-model starts without a row to run are dropped. */
void runner_rows_drop_starts(rjourney *j);
/* Takes a row for the next iteration: 1 with *out set (NULL for a journey
 * without a pool), 0 when the journey's rows are exhausted or the runner is
 * stopping, MITE_ECANCELED when cancelled while waiting. May yield. */
int runner_rows_next(mite_ctx *ctx, mite_row **out);
/* Ends an iteration's use of its row (a recyclable row's lease goes back). */
void runner_rows_release(rjourney *j, mite_row *row);
/* Asks for more rows once the buffer is down to half its size. */
void runner_rows_prefetch(rjourney *j);
/* Hands used recyclable rows back to the controller. */
void runner_rows_flush(rjourney *j);
/* Wakes the instances waiting for a row that has come (or never will). */
void runner_rows_wake(rjourney *j);
/* A rows message from the controller. */
void runner_rows_msg(runner *r, const cJSON *m);
/* At the stop: every row the journey holds goes back. */
void runner_rows_return(rjourney *j);
/* Frees the journey's row buffer. */
void runner_rows_free(rjourney *j);

/* runner_stats.c */
/* An event of an instance, for the next stats batch (takes ev). */
void runner_stats_event(mite_ctx *ctx, cJSON *ev);
/* Sends a stats batch (final: the last). */
void runner_stats_send(runner *r, int final);
/* Batches every interval seconds, and the loop-lag probe, from now. */
void runner_stats_start(runner *r, double interval);
/* The next batch goes out at once. */
void runner_stats_now(runner *r);

/* runner_setup.c */
/* The setup message: journeys, modules and their init hooks; ready or
 * error goes back. */
void runner_setup_do(runner *r, const cJSON *m);

#endif
