/*
 * run_tick.c - a run's tick: every tick (run_opts.tick) each journey's
 * volume model is evaluated over the window ahead and the required counts
 * are shared out among the usable runners (balanced, deterministic); the
 * load's end (duration, every model ended) starts the stop.
 */
#include "controller/run_int.h"

#include "core/log.h"
#include "core/proto.h"
#include "core/proto_msg.h"

#include <math.h>
#include <stdlib.h>

/* A share over what one runner takes: the runner keeps to its bound and says
 * so in its stats ("why"); here it is said once per change, with the
 * runners it would take. mited starts more runners before this happens
 * (controller/capacity.h); a plugin model or an open model's burst can
 * still get here. */
static void note_bound(run *r, cjourney *j, long share, size_t n)
{
	long max = proto_instances_max();
	int over = share > max;

	if (over == j->over_bound)
		return;
	j->over_bound = over;
	if (over)
		log_warn(
			"run %s: journey %s: %ld %s per runner is over the bound of %ld per runner; "
			"each runner keeps to it (%zu runner%s, %ld needed)",
			r->id, j->sj->name, share, j->open ? "starts per tick" : "instances", max,
			n, n == 1 ? "" : "s", (long)((share * (long)n + max - 1) / max));
	else
		log_info("run %s: journey %s: within the runners' bound again", r->id, j->sj->name);
}

/* Runner k's share (of n) of journey j's target: closed, the instances
 * (balanced and deterministic: runner k gets the quotient, the first `rem`
 * one more); open, the starts, round-robin from a moving offset so the
 * remainders spread over runners. 1 when it changed what runner k has. */
static int target_share(run *r, rlink *l, size_t ji, size_t k, size_t n, long starts,
			proto_target *t)
{
	cjourney *j = &r->j[ji];
	long share;

	*t = (proto_target){ .closed = -1, .starts = -1 };
	if (!j->open) {
		long want = r->state != RUN_RUNNING ? 0 : j->dry ? j->drain : j->required;
		int changed;

		share = want / (long)n + ((long)k < want % (long)n);
		if (k == 0)
			note_bound(r, j, share, n);
		t->closed = (double)share;
		changed = share != l->target[ji];
		l->target[ji] = share;
		return changed;
	}
	if (starts <= 0)
		return 0;
	share = starts / (long)n + (((long)k + (long)j->rr) % (long)n < starts % (long)n);
	if (k == 0)
		note_bound(r, j, share, n);
	t->starts = (double)share;
	return share != 0;
}

static void send_targets(run *r, long *starts)
{
	size_t n = run_link_usable_count(r), k = 0;
	proto_target *tj;

	if (!n || !(tj = calloc(r->s->njourneys, sizeof(*tj))))
		return;
	for (size_t i = 0; i < r->nlinks; i++) {
		rlink *l = r->links[i];
		proto_targets t = { .j = tj, .nj = r->s->njourneys };
		int changed = 0;

		if (!run_link_usable(l))
			continue;
		for (size_t ji = 0; ji < r->s->njourneys; ji++)
			changed |= target_share(r, l, ji, k, n, starts[ji], &tj[ji]);
		/* Runners start no iteration past the run's end on their own
		 * clock, so that none begins in the moment before the stop. */
		t.has_end_in = changed && r->s->duration > 0 && r->state == RUN_RUNNING;
		t.end_in = r->s->duration - r->model_t;
		if (changed)
			proto_send(l->t, proto_targets_encode(&t));
		k++;
	}
	free(tj);
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		if (r->j[ji].open && starts[ji] > 0)
			r->last_starts_ns = uv_hrtime();
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		if (r->j[ji].open && starts[ji] > 0)
			r->j[ji].rr = (r->j[ji].rr + (size_t)(starts[ji] % (long)n)) % n;
}

/* The tick hook, and what it answers: a reason to stop the run is acted
 * on here, not inside the hook. */
static void tick_hook(run *r)
{
	const char *stop;

	if (!r->o.hooks.on_tick)
		return;
	stop = r->o.hooks.on_tick(r, r->o.hooks.data);
	if (stop)
		run_stop_by(r, 0, stop);
}

/* Journey ji's volume over the window [from, to): its instances (closed),
 * or the starts it hands out now (open, oneshot), into starts[ji]. */
static void eval_journey(run *r, size_t ji, double from, double to, long *starts)
{
	cjourney *j = &r->j[ji];
	long v;

	if (j->ended) {
		/* Nothing more is required; a dry pool's last rows
		 * still run, as many at once as the model says. */
		j->required = 0;
		if (j->dry &&
		    (v = vmodel_eval(j->sj->volume, from, to > from ? to : from + 1e-9)) >= 0)
			j->drain = lround((double)v * r->scale);
		return;
	}
	if (to <= from && j->open)
		return;
	v = vmodel_eval(j->sj->volume, from, to > from ? to : from + 1e-9);
	if (v < 0) {
		const char *why = vmodel_error(j->sj->volume);

		if (why)
			run_set_error(r, "journey %s: volume model failed: %s", j->sj->name, why);
		j->ended = 1;
		j->required = 0;
	} else if (j->once) {
		/* Each of the N instances runs one iteration: N starts
		 * now, and the model has said all it will. */
		starts[ji] = lround((double)v * r->scale);
		j->starts += starts[ji];
		j->ended = 1;
	} else if (j->open) {
		j->carry += (double)v * r->scale;
		starts[ji] = (long)floor(j->carry);
		j->carry -= (double)starts[ji];
		j->starts += starts[ji];
	} else {
		j->required = lround((double)v * r->scale);
	}
}

/* A running run's models, dt seconds on. Each tick hands out the window
 * ahead, [evaluated_to, now + tick): open-model starts are then spread
 * over the very window they are due in, and consecutive windows join
 * exactly. */
static void evaluate(run *r, double dt, long *starts)
{
	double from = r->evaluated_to, to;

	r->model_t += dt;
	to = r->model_t + r->o.tick;
	if (r->s->duration > 0 && to > r->s->duration)
		to = r->s->duration;
	if (to < from)
		to = from;
	r->evaluated_to = to;
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		eval_journey(r, ji, from, to, starts);
}

/* Every journey ended and no instance is left active: the load is over. */
static int load_over(const run *r)
{
	int all_ended = 1, any_active = 0;

	for (size_t ji = 0; ji < r->s->njourneys; ji++) {
		all_ended &= r->j[ji].ended;
		any_active |= run_actual(r, ji) > 0;
	}
	/* Starts handed out are active until a runner has reported after them
	 * (runners count starts not yet made as active). */
	for (size_t i = 0; i < r->nlinks; i++)
		if (run_link_usable(r->links[i]) && r->links[i]->last_stats_ns <= r->last_starts_ns)
			any_active = 1;
	return all_ended && !any_active;
}

static void on_tick(uv_timer_t *t)
{
	run *r = t->data;
	uint64_t now = uv_hrtime();
	double dt = (double)(now - r->last_ns) / 1e9;
	long *starts;
	int over;

	r->last_ns = now;
	run_link_check_leaving(r, now);
	/* While it drains, the run's clock goes on for its hook (the results'
	 * records of the drain), and nothing else happens. */
	if (r->state == RUN_STOPPING)
		tick_hook(r);
	if (r->state != RUN_RUNNING && r->state != RUN_PAUSED)
		return;
	starts = calloc(r->s->njourneys, sizeof *starts);
	if (!starts)
		return;
	if (r->state == RUN_RUNNING)
		evaluate(r, dt, starts);
	send_targets(r, starts);
	free(starts);
	over = load_over(r);
	tick_hook(r);
	if (r->state == RUN_RUNNING && r->s->duration > 0 && r->model_t >= r->s->duration)
		run_begin_stop(r, 0);
	else if (r->state == RUN_RUNNING && over)
		run_begin_stop(r, 0);
}

void run_tick_start(run *r)
{
	r->state = RUN_RUNNING;
	r->t0_ns = r->last_ns = uv_hrtime();
	on_tick(&r->tick_timer);
	uv_timer_start(&r->tick_timer, on_tick, (uint64_t)(r->o.tick * 1000),
		       (uint64_t)(r->o.tick * 1000));
}
