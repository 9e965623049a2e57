/*
 * sleepq.c - a timing wheel for sleeping instances (see sleepq.h).
 */
#include "runner/sleepq.h"

#include <errno.h>
#include <stdlib.h>

#define MASK (SLEEPQ_SLOTS - 1)
#define WORDS (SLEEPQ_SLOTS / 64)
/* Where a queued node is: in its slot, or taken out to fire this turn. */
enum { IN_SLOT = 1, IN_CHAIN = 2 };

static void on_timer(uv_timer_t *t);

int sleepq_init(sleepq *q, uv_loop_t *loop, sleepq_fire_fn fire, void *data)
{
	q->fire = fire;
	q->data = data;
	q->slot = calloc(SLEEPQ_SLOTS, sizeof *q->slot);
	q->bits = calloc(WORDS, sizeof *q->bits);
	q->cursor_ms = uv_hrtime() / 1000000;
	q->armed_ms = 0;
	q->count = 0;
	q->firing = 0;
	q->chain = NULL;
	if (!q->slot || !q->bits) {
		sleepq_free(q);
		return -ENOMEM;
	}
	uv_timer_init(loop, &q->timer);
	q->timer.data = q;
	return 0;
}

void sleepq_free(sleepq *q)
{
	free(q->slot);
	free(q->bits);
	q->slot = NULL;
	q->bits = NULL;
}

/* Starts the timer for slot `ms` unless it will run sooner anyway. */
static void arm(sleepq *q, uint64_t ms)
{
	uint64_t now_ms;

	if (q->firing || (q->armed_ms && q->armed_ms <= ms))
		return;
	/* The loop's clock is cached per turn (and coarse): bring it up to
	 * date, so that the delay counts from now. */
	uv_update_time(q->timer.loop);
	now_ms = uv_hrtime() / 1000000;
	q->armed_ms = ms;
	/* A deadline already passed waits for the next turn of the loop, not
	 * this one: armed for 0 in the timers phase (on_timer re-arming after
	 * a long chain), the timer is due again at once, and a saturated
	 * runner would never leave that phase - no stats, no messages. */
	uv_timer_start(&q->timer, on_timer, ms > now_ms ? ms - now_ms : 1, 0);
}

static void link_node(sleepq *q, sleepq_node *n)
{
	size_t s = (size_t)(n->due_ms & MASK);

	n->prev = NULL;
	n->next = q->slot[s];
	if (n->next)
		n->next->prev = n;
	q->slot[s] = n;
	q->bits[s / 64] |= (uint64_t)1 << (s % 64);
}

void sleepq_add(sleepq *q, sleepq_node *n, uint64_t due_ns)
{
	n->due_ns = due_ns;
	n->due_ms = due_ns / 1000000 + (due_ns % 1000000 != 0);
	/* A deadline in a slot already run goes to the next one to run. */
	if (n->due_ms < q->cursor_ms)
		n->due_ms = q->cursor_ms;
	link_node(q, n);
	n->queued = IN_SLOT;
	q->count++;
	arm(q, n->due_ms);
}

void sleepq_del(sleepq *q, sleepq_node *n)
{
	size_t s;

	if (!n->queued)
		return;
	s = (size_t)(n->due_ms & MASK);
	if (n->prev)
		n->prev->next = n->next;
	else if (n->queued == IN_CHAIN)
		q->chain = n->next; /* deleted by a node fired before it */
	else
		q->slot[s] = n->next;
	if (n->next)
		n->next->prev = n->prev;
	if (n->queued == IN_SLOT && !q->slot[s])
		q->bits[s / 64] &= ~((uint64_t)1 << (s % 64));
	n->prev = n->next = NULL;
	n->queued = 0;
	/* With others left the timer may fire for nothing (cheaper than
	 * finding the next); with none it stops, not to hold the loop. */
	if (!--q->count && !q->firing) {
		uv_timer_stop(&q->timer);
		q->armed_ms = 0;
	}
}

/* The first millisecond from `from` on whose slot is not empty (a slot
 * may hold only deadlines a turn or more of the wheel later). */
static uint64_t next_slot(const sleepq *q, uint64_t from)
{
	size_t s = (size_t)(from & MASK), w = s / 64;
	uint64_t word = q->bits[w] & (~(uint64_t)0 << (s % 64));

	for (size_t k = 0; k <= WORDS; k++) {
		if (word)
			return from + ((w * 64 + (size_t)__builtin_ctzll(word) - s) & MASK);
		w = (w + 1) % WORDS;
		word = q->bits[w];
	}
	return from; /* empty; not reached while count > 0 */
}

static void on_timer(uv_timer_t *t)
{
	sleepq *q = t->data;
	uint64_t now_ns = uv_hrtime(), now_ms = now_ns / 1000000, span;
	sleepq_node *tail = NULL;

	q->armed_ms = 0;
	if (now_ms < q->cursor_ms)
		goto rearm;
	/* Take every slot up to now out first, in order, into one chain: what
	 * fires may add again, and must land in a slot after them. */
	span = now_ms - q->cursor_ms + 1;
	if (span > SLEEPQ_SLOTS)
		span = SLEEPQ_SLOTS;
	q->chain = NULL;
	for (uint64_t ms = q->cursor_ms; ms < q->cursor_ms + span; ms++) {
		size_t s = (size_t)(ms & MASK);
		sleepq_node *n = q->slot[s];

		if (!n)
			continue;
		q->slot[s] = NULL;
		q->bits[s / 64] &= ~((uint64_t)1 << (s % 64));
		n->prev = tail;
		if (tail)
			tail->next = n;
		else
			q->chain = n;
		for (; n; n = n->next) {
			n->queued = IN_CHAIN;
			tail = n;
		}
	}
	q->cursor_ms = now_ms + 1;
	q->firing = 1;
	while (q->chain) {
		sleepq_node *n = q->chain;

		q->chain = n->next;
		if (q->chain)
			q->chain->prev = NULL;
		n->prev = n->next = NULL;
		n->queued = 0;
		q->count--;
		if (n->due_ns <= now_ns) {
			q->fire(q, n, q->data);
		} else {
			/* A turn of the wheel (or more) ahead: back in its slot. */
			n->due_ms = n->due_ns / 1000000 + (n->due_ns % 1000000 != 0);
			link_node(q, n);
			n->queued = IN_SLOT;
			q->count++;
		}
	}
	q->firing = 0;
rearm:
	if (q->count)
		arm(q, next_slot(q, q->cursor_ms));
}
