/*
 * run_int.h - what the parts of a run share (run.c: its life - new, start,
 * pause, resume, scale, stop, the end; run_tick.c: the tick and the shares;
 * run_rows.c: datapool rows and what a runner held when it went;
 * run_link.c: a runner's link and its messages; run_status.c: the getters
 * and the status). Not for use outside them.
 */
#ifndef MITE_CONTROLLER_RUN_INT_H
#define MITE_CONTROLLER_RUN_INT_H

#include "controller/run.h"

#include <stddef.h>
#include <stdint.h>

#define STOP_SLACK 5.0 /* seconds past the grace period before runners are dropped */
/* More instances than any runner can hold: an "active" count beyond it is
 * garbage, and summing such counts over runners must not overflow. */
#define ACTIVE_MAX 1e9
#define WHY_MAX 256 /* bytes of a runner's reason kept per journey */
/* A runner leaving mid-run (run_runner_leave): how long its last batch and
 * bye are awaited (the stop, PROTO_LEAVE_GRACE_S, the batch, and a slow
 * link's retransmits). */
#define LEAVE_BOUND_S 6.0

typedef struct idvec {
	uint64_t *v;
	size_t n, cap;
} idvec;

typedef struct rlink {
	run *r;
	transport *t;
	int idx;
	int ready, gone, bye, stop_sent;
	int leaving; /* leaving the run (its host lost): no share, its bye awaited */
	uint64_t leave_by_ns; /* dropped (counted lost) if no bye by then */
	long *target; /* per journey: last closed target sent */
	long *actual; /* per journey: instances the runner reported */
	long *peak; /* per journey: the most it reported having since its batch before */
	long *need; /* per journey: rows asked for and not yet given */
	idvec *leased; /* per journey: recyclable rows this runner holds */
	int64_t *inflight; /* per journey: iterations it reported started and not ended */
	uint64_t *rows_out; /* per journey: iterable rows sent to it */
	uint64_t *ended; /* per journey: iterations it reported ended */
	char **why; /* per journey: why it is short of its target (its `why`), or NULL */
	double lag_p99, lag_max; /* its loop lag in its last stats batch (s) */
	int has_lag;
	uint64_t last_seen_ns;
	uint64_t last_stats_ns; /* when its last stats batch came */
} rlink;

typedef struct cjourney {
	scn_journey *sj;
	int open; /* one iteration per start: open models, and oneshot */
	int once; /* oneshot: all starts at once, then the load ends */
	int ended; /* the model stopped or the pool ran dry */
	int dry; /* closed model, iterable pool exhausted: runners drain */
	long drain; /* dry: the targets runners keep meanwhile */
	long required; /* after scale */
	long starts; /* open model: starts handed out so far */
	int pool_ended; /* ended because its datapool ran out */
	double carry; /* open model: fraction of a start carried over */
	size_t rr; /* open model: round-robin offset */
	int over_bound; /* a runner's share is over proto_instances_max() */
} cjourney;

struct run {
	uv_loop_t *loop;
	scenario *s;
	char *id;
	run_state state;
	run_opts o;
	uv_timer_t tick_timer, stop_timer;
	int handles_open;
	uint64_t t0_ns, last_ns, end_ns;
	double model_t; /* model seconds (frozen while paused) */
	double evaluated_to; /* model seconds the volume has been handed out to */
	double scale;
	rlink **links;
	size_t nlinks;
	cjourney *j;
	stats totals, window;
	char *error;
	char *stop_by; /* who stopped the run (run_stop_by), or NULL */
	double stop_at; /* run seconds of the stop */
	int stop_early; /* the stop came before the run's own end */
	double running_until; /* run seconds when it began stopping; -1 before */
	int stop_now;
	int done_called;
	int setup_sent; /* run_start has sent setup: later runners get it at once */
	uint64_t last_starts_ns; /* when open-model starts last went out */
	int closing; /* the timers are closing */
	int free_pending; /* run_free was called before they closed */
};

/* run.c */
/* Keeps the first error (the cause) as the run's, and logs it. */
void run_set_error(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The setup message for a runner (NULL when out of memory). */
cJSON *run_setup_msg(run *r);
/* Every stop goes through here (run_stop_by also says who asked): the run
 * drains, or with now its iterations are cancelled. */
void run_begin_stop(run *r, int now);
/* A stopping run whose runners have all said bye or gone is done. */
void run_check_done(run *r);

/* run_tick.c */
/* Every runner is ready: the run runs, its first tick now. */
void run_tick_start(run *r);

/* run_rows.c */
/* Hands out rows a runner asked for (l->need), as far as the pool has
 * them, in as many messages as their size takes. */
void run_rows_serve(run *r, rlink *l, size_t ji);
/* Rows of journey ji runner l hands back (ids, a JSON array). */
void run_rows_take_back(run *r, rlink *l, size_t ji, const cJSON *ids);
/* Runner l is dropped: its iterations in flight are counted lost, its
 * iterable rows not reported run in doubt, its leased rows go back. */
void run_rows_drop(run *r, rlink *l);

/* run_link.c */
int run_link_usable(const rlink *l);
/* Runners linked and usable now. */
size_t run_link_usable_count(const run *r);
/* Sends stop (or cancel, with now) to runner l, once. */
void run_link_send_stop(rlink *l, int now);
/* Runner l is gone (lost, or did not finish in time): see run_rows_drop. */
void run_link_drop(run *r, rlink *l);
/* Leaving runners whose bye did not come in time are dropped. */
void run_link_check_leaving(run *r, uint64_t now);
void run_link_free(run *r, rlink *l);

#endif
