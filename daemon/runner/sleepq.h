/*
 * sleepq.h - the runner's sleeping instances: a timing wheel of
 * one-millisecond slots on one libuv timer, instead of a uv_timer per
 * instance. Adding, cancelling and waking are O(1) whatever the number
 * asleep (libuv's timer heap costs O(log n) cache misses per operation,
 * which dominated an iteration with a million instances), and a sleeper
 * costs a node in the instance, not a libuv handle to close.
 *
 * A node never fires before its deadline on the precise monotonic clock
 * (uv_hrtime), and fires within the loop turn after it (a millisecond
 * slot, plus whatever else the loop has to do). Nodes fire in deadline
 * order to the millisecond; within one, in no particular order.
 */
#ifndef MITE_RUNNER_SLEEPQ_H
#define MITE_RUNNER_SLEEPQ_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct sleepq_node {
	struct sleepq_node *prev, *next;
	uint64_t due_ns; /* uv_hrtime() deadline */
	uint64_t due_ms; /* its slot's millisecond: ceil(due_ns / 1e6) */
	int queued;
} sleepq_node;

typedef struct sleepq sleepq;
/* Called for each node whose deadline has passed, already removed: it may
 * add nodes again (itself included). */
typedef void (*sleepq_fire_fn)(sleepq *q, sleepq_node *n, void *data);

struct sleepq {
	uv_timer_t timer;
	sleepq_fire_fn fire;
	void *data;
	sleepq_node **slot; /* SLEEPQ_SLOTS list heads */
	sleepq_node *chain; /* what fires in this turn, while it does */
	uint64_t *bits; /* which slots are not empty */
	uint64_t cursor_ms; /* the next slot to run (every earlier one has) */
	uint64_t armed_ms; /* the timer's slot; 0: not armed */
	size_t count;
	int firing;
};

/* 2^16 slots of a millisecond: deadlines up to 65 s ahead are found in
 * their slot; later ones wait in theirs for the wheel's turns. */
#define SLEEPQ_SLOTS 65536

/* 0, or -ENOMEM with nothing to undo. The timer is initialised on loop;
 * close it (uv_close(&q->timer)) before sleepq_free. */
int sleepq_init(sleepq *q, uv_loop_t *loop, sleepq_fire_fn fire, void *data);
void sleepq_free(sleepq *q);
/* Queues n (not queued) to fire at due_ns (uv_hrtime()). */
void sleepq_add(sleepq *q, sleepq_node *n, uint64_t due_ns);
/* Takes n out before it fires (no-op when it is not queued). */
void sleepq_del(sleepq *q, sleepq_node *n);

#endif
