/*
 * test_sleepq.c - the runner's timing wheel: nothing fires early, all fire,
 * in deadline order to the millisecond, cancelled nodes never, far deadlines
 * (beyond a turn of the wheel) wait their turns, a node may re-add itself
 * or delete one due in the same turn.
 */
#include "runner/sleepq.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
	sleepq_node n; /* first */
	int id;
	uint64_t fired_ns;
	int fired;
	int readd; /* add itself again this many times */
	struct item *victim; /* delete this one when firing */
} item;

static int order[256];
static int norder;

static void fire(sleepq *q, sleepq_node *n, void *data)
{
	item *it = (item *)n;

	(void)data;
	it->fired_ns = uv_hrtime();
	it->fired++;
	if (norder < 256)
		order[norder++] = it->id;
	cr_assert_geq(it->fired_ns, it->n.due_ns, "item %d fired %lld ns early", it->id,
		      (long long)(it->n.due_ns - it->fired_ns));
	if (it->victim)
		sleepq_del(q, &it->victim->n);
	if (it->readd-- > 0)
		sleepq_add(q, n, uv_hrtime() + 2000000);
}

static uv_loop_t loop;
static sleepq q;

static void setup(void)
{
	norder = 0;
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(sleepq_init(&q, &loop, fire, NULL), 0);
}

static void teardown(void)
{
	uv_close((uv_handle_t *)&q.timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	sleepq_free(&q);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

TestSuite(sleepq, .init = setup, .fini = teardown, .timeout = 30);

Test(sleepq, fires_in_order_never_early)
{
	static item it[50];
	uint64_t t0 = uv_hrtime();

	/* Deadlines from 1 to 50 ms, added in a shuffled order, some within
	 * the same millisecond. */
	for (int i = 0; i < 50; i++) {
		int k = (i * 17) % 50;

		it[k].id = k;
		sleepq_add(&q, &it[k].n, t0 + (uint64_t)(k + 1) * 1000000 - (k % 2) * 300000);
	}
	cr_assert_eq(q.count, 50);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(q.count, 0);
	cr_assert_eq(norder, 50);
	/* In deadline order to the millisecond (within one, in any order). */
	for (int i = 1; i < 50; i++)
		cr_assert_leq(it[order[i - 1]].n.due_ms, it[order[i]].n.due_ms,
			      "fired out of order at %d", i);
}

Test(sleepq, cancelled_never_fires)
{
	static item a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	uint64_t t0 = uv_hrtime();

	sleepq_add(&q, &a.n, t0 + 3000000);
	sleepq_add(&q, &b.n, t0 + 3000000);
	sleepq_add(&q, &c.n, t0 + 5000000);
	sleepq_del(&q, &b.n);
	sleepq_del(&q, &b.n); /* twice: harmless */
	sleepq_del(&q, &c.n);
	cr_assert_eq(q.count, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(a.fired, 1);
	cr_assert_eq(b.fired + c.fired, 0);
}

/* Past a turn of the wheel (65.5 s): found again in its slot, kept until
 * its deadline. Faked by a deadline in the past of a slot a turn ahead. */
Test(sleepq, beyond_a_turn_of_the_wheel_waits)
{
	static item far = { .id = 1 }, near = { .id = 2 };
	uint64_t t0 = uv_hrtime();

	/* Both land in the same slot; the far one is a turn later. */
	sleepq_add(&q, &near.n, t0 + 4000000);
	sleepq_add(&q, &far.n, t0 + 4000000 + (uint64_t)SLEEPQ_SLOTS * 1000000);
	cr_assert_eq(far.n.due_ms & (SLEEPQ_SLOTS - 1), near.n.due_ms & (SLEEPQ_SLOTS - 1));
	/* Runs until the near one fired and the timer re-armed. */
	while (!near.fired)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_eq(far.fired, 0, "fired a turn early");
	cr_assert_eq(q.count, 1);
	sleepq_del(&q, &far.n);
	uv_run(&loop, UV_RUN_DEFAULT);
}

Test(sleepq, readd_and_delete_while_firing)
{
	static item a = { .id = 1, .readd = 3 }, b = { .id = 2 }, c = { .id = 3 };
	uint64_t t0 = uv_hrtime();

	/* a fires first and deletes b, due in the same turn (same slot). */
	a.victim = &b;
	sleepq_add(&q, &c.n, t0 + 2000000);
	sleepq_add(&q, &b.n, t0 + 2000000);
	sleepq_add(&q, &a.n, t0 + 1000000);
	/* Hold the loop past both deadlines: both are taken in one turn. */
	while (uv_hrtime() < t0 + 3000000)
		;
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(a.fired, 4, "re-added itself three times");
	cr_assert_eq(b.fired, 0, "deleted before its turn");
	cr_assert_eq(c.fired, 1);
}

Test(sleepq, many)
{
	enum { N = 100000 };
	item *it = calloc(N, sizeof *it);
	uint64_t t0 = uv_hrtime();
	size_t fired = 0;

	cr_assert_not_null(it);
	for (int i = 0; i < N; i++) {
		it[i].id = i;
		sleepq_add(&q, &it[i].n, t0 + (uint64_t)(i % 200) * 100000 + 1);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	for (int i = 0; i < N; i++)
		fired += (size_t)it[i].fired;
	cr_assert_eq(fired, N);
	free(it);
}
