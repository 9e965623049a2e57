/*
 * run_link.c - a run's runners: their links (added, lost, leaving, dropped)
 * and what each runner's messages do (hello, ready, error, need, done,
 * stats, bye, leaving).
 */
#include "controller/run_int.h"

#include "core/hist.h"
#include "core/log.h"
#include "core/proto.h"
#include "core/proto_msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- links -------------------------------------------------------------- */

int run_link_usable(const rlink *l)
{
	return l->ready && !l->gone && !l->bye && !l->leaving;
}

size_t run_link_usable_count(const run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nlinks; i++)
		n += run_link_usable(r->links[i]);
	return n;
}

/* stop with grace seconds, or cancel (now); a stop goes once. */
static void send_stop(rlink *l, int now, double grace)
{
	cJSON *m;

	if (l->gone || l->bye || (l->stop_sent && !now))
		return;
	m = proto_new(now ? PROTO_CANCEL : PROTO_STOP);
	if (m && !now)
		cJSON_AddNumberToObject(m, "grace", grace);
	proto_send(l->t, m);
	l->stop_sent = 1;
}

void run_link_send_stop(rlink *l, int now)
{
	send_stop(l, now, l->r->o.grace);
}

void run_link_drop(run *r, rlink *l)
{
	if (l->gone)
		return;
	l->gone = 1;
	run_rows_drop(r, l);
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		l->actual[ji] = 0;
	if (l->t) {
		transport_close(l->t);
		l->t = NULL;
	}
}

/* ---- messages from runners ---------------------------------------------- */

/* What a batch says per journey of the runner's iterations in flight. */
static void track_inflight(run *r, rlink *l, const cJSON *e)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, e)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "k");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "c");
		const char *kind = cJSON_GetStringValue(cJSON_GetArrayItem(k, 0));
		const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(k, 1));
		uint64_t v[3] = { 0, 0, 0 };

		if (!kind || !name || strcmp(kind, "journey") != 0 || cJSON_GetArraySize(k) != 2)
			continue;
		for (int i = 0; i < 3; i++)
			if (proto_u64(cJSON_GetArrayItem(c, i), &v[i]) < 0 ||
			    v[i] > (uint64_t)ACTIVE_MAX * 1000)
				v[i] = 0;
		for (size_t ji = 0; ji < r->s->njourneys; ji++)
			if (strcmp(r->j[ji].sj->name, name) == 0) {
				l->inflight[ji] += (int64_t)v[ST_J_STARTED] - (int64_t)v[ST_J_OK] -
					(int64_t)v[ST_J_FAILED];
				l->ended[ji] += v[ST_J_OK] + v[ST_J_FAILED];
				break;
			}
	}
}

/* The runner's loop lag in this batch (its "loop" entry), for the live
 * view; the histograms themselves merge into the totals. */
static void track_lag(rlink *l, const cJSON *e)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, e)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "k");
		const char *kind = cJSON_GetStringValue(cJSON_GetArrayItem(k, 0));
		const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, "h"), 0);
		hist *tmp;

		if (!kind || strcmp(kind, "loop") != 0 || !cJSON_IsObject(h) || !(tmp = hist_new()))
			continue;
		if (hist_merge_json(tmp, h) == 0 && hist_count(tmp)) {
			l->lag_p99 = (double)hist_percentile(tmp, 99) / 1e9;
			l->lag_max = (double)hist_max(tmp) / 1e9;
			l->has_lag = 1;
		}
		hist_free(tmp);
	}
}

/* The runner's `why`: per journey, why it is short of its target (a
 * string), or null when it is not. Kept until the next batch says. */
static void track_why(run *r, rlink *l, const cJSON *why)
{
	const cJSON *it;
	size_t i = 0;

	if (!cJSON_IsArray(why))
		return;
	cJSON_ArrayForEach(it, why)
	{
		if (i >= r->s->njourneys)
			break;
		free(l->why[i]);
		l->why[i] = NULL;
		if (cJSON_IsString(it) && *it->valuestring)
			l->why[i] = strndup(it->valuestring, WHY_MAX);
		i++;
	}
}

/* The counts of a stats message: the latest active; the peak while the
 * run runs, and once it stops the most of the batch before and those after
 * (the stop's own slice). */
static void link_counts(run *r, rlink *l, const long *active, const long *peak)
{
	for (size_t i = 0; i < r->s->njourneys; i++) {
		if (active[i] >= 0)
			l->actual[i] = active[i];
		if (peak[i] >= 0 && (r->state == RUN_RUNNING || peak[i] > l->peak[i]))
			l->peak[i] = peak[i];
	}
}

static void link_stats(run *r, rlink *l, const cJSON *m)
{
	size_t nj = r->s->njourneys;
	long *counts = calloc(2 * (nj ? nj : 1), sizeof(*counts));
	proto_stats_in in;
	const cJSON *it;

	if (!counts) {
		log_warn("run %s: runner %d: stats lost: %s", r->id, l->idx, strerror(ENOMEM));
		return;
	}
	proto_stats_decode(m, nj, (long)ACTIVE_MAX, counts, counts + nj, &in);
	l->last_stats_ns = uv_hrtime();
	if (in.batch &&
	    (stats_merge_batch(&r->totals, in.batch) < 0 ||
	     stats_merge_batch(&r->window, in.batch) < 0))
		log_warn("run %s: runner %d sent a malformed stats batch", r->id, l->idx);
	else if (in.batch)
		track_inflight(r, l, in.batch);
	track_lag(l, in.batch);
	track_why(r, l, in.why);
	link_counts(r, l, counts, counts + nj);
	free(counts);
	if (in.dropped) {
		stats_entry *d = stats_get(&r->totals, SK_DROPPED.name, NULL, SK_DROPPED.nlabels);

		if (d)
			stats_add(d, 0, in.dropped);
	}
	if (r->o.hooks.on_event)
		cJSON_ArrayForEach(it, in.events) r->o.hooks.on_event(r, it, r->o.hooks.data);
}

static void link_ready(run *r, rlink *l, const cJSON *m)
{
	(void)m;
	l->ready = 1;
	if (r->state == RUN_STARTING) {
		int all = 1;

		for (size_t i = 0; i < r->nlinks; i++)
			all &= r->links[i]->ready || r->links[i]->gone;
		if (all)
			run_tick_start(r);
	} else if (r->state == RUN_STOPPING) {
		run_link_send_stop(l, r->stop_now);
	}
}

static void link_error(run *r, rlink *l, const cJSON *m)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, "error");

	run_set_error(r, "runner %d: %s", l->idx,
		      cJSON_IsString(e) ? e->valuestring : "unknown error");
	run_begin_stop(r, 1);
}

/* The journey index "j" of m, or -1 when it is not one. */
static long link_journey(const run *r, const cJSON *m)
{
	const cJSON *jj = cJSON_GetObjectItemCaseSensitive(m, "j");

	return cJSON_IsNumber(jj) && jj->valueint >= 0 && (size_t)jj->valueint < r->s->njourneys
		? jj->valueint
		: -1;
}

static void link_need(run *r, rlink *l, const cJSON *m)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "n");
	long ji = link_journey(r, m);

	/* A runner asks for at most PROTO_ROWS_MAX: more would be served in
	 * one message from a pool of any size (a range). */
	if (ji >= 0 && cJSON_IsNumber(n) && n->valuedouble >= 1) {
		l->need[ji] =
			n->valuedouble < PROTO_ROWS_MAX ? (long)n->valuedouble : PROTO_ROWS_MAX;
		run_rows_serve(r, l, (size_t)ji);
	}
}

static void link_done(run *r, rlink *l, const cJSON *m)
{
	long ji = link_journey(r, m);

	if (ji >= 0 && r->j[ji].sj->pool)
		run_rows_take_back(r, l, (size_t)ji, cJSON_GetObjectItemCaseSensitive(m, "ids"));
}

static void link_bye(run *r, rlink *l, const cJSON *m)
{
	(void)m;
	l->bye = 1;
	for (size_t ji = 0; ji < r->s->njourneys; ji++)
		l->actual[ji] = 0;
	if (l->t) {
		transport_close(l->t);
		l->t = NULL;
	}
	if (r->state != RUN_STOPPING && r->state != RUN_DONE && !l->leaving) {
		/* A runner leaving on its own: its share moves to the others. */
		log_warn("run %s: runner %d left the run", r->id, l->idx);
	}
	run_check_done(r);
}

/* A runner leaves the run before its end (its host is lost, or it says
 * its agent is gone): its share moves to the others at the next tick, it
 * finishes what it has within PROTO_LEAVE_GRACE_S and sends its last batch and
 * bye, so nothing it did is lost. No bye LEAVE_BOUND_S after: dropped, its
 * iterations counted lost and its rows in doubt. The run fails either way,
 * naming why (a host lost is a run error like a lost runner). */
static void link_leave(run *r, rlink *l, const char *reason)
{
	if (l->gone || l->bye || l->leaving)
		return;
	l->leaving = 1;
	l->leave_by_ns = uv_hrtime() + (uint64_t)(LEAVE_BOUND_S * 1e9);
	run_set_error(r, "runner %d left the run: %s", l->idx, reason);
	log_warn("run %s: runner %d leaves the run; its last batch is awaited", r->id, l->idx);
	send_stop(l, 0, PROTO_LEAVE_GRACE_S);
}

/* A runner says it leaves: its agent (the process that started it on a
 * runner host) is gone. */
static void link_leaving(run *r, rlink *l, const cJSON *m)
{
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(m, "why");
	char reason[300];

	snprintf(reason, sizeof reason, "%.256s",
		 cJSON_IsString(why) ? why->valuestring : "it is leaving");
	link_leave(r, l, reason);
}

/* Leaving runners whose bye did not come in time are dropped. */
void run_link_check_leaving(run *r, uint64_t now)
{
	for (size_t i = 0; i < r->nlinks; i++) {
		rlink *l = r->links[i];

		if (!l->leaving || l->gone || l->bye || now < l->leave_by_ns)
			continue;
		log_warn("run %s: runner %d left without its last batch within %.0f s; dropped",
			 r->id, l->idx, LEAVE_BOUND_S);
		run_link_drop(r, l);
	}
	run_check_done(r);
}

static void link_hello(run *r, rlink *l, const cJSON *m)
{
	/* nothing to do: setup goes out at start */
	(void)r, (void)l, (void)m;
}

/* What a runner's message does, by its type. */
static const struct {
	const char *type;
	void (*fn)(run *r, rlink *l, const cJSON *m);
} link_handlers[] = {
	{ PROTO_HELLO, link_hello }, { PROTO_READY, link_ready },     { PROTO_ERROR, link_error },
	{ PROTO_NEED, link_need },   { PROTO_DONE, link_done },       { PROTO_STATS, link_stats },
	{ PROTO_BYE, link_bye },     { PROTO_LEAVING, link_leaving },
};

static void on_link_message(transport *t, const char *buf, size_t len, void *data)
{
	rlink *l = data;
	run *r = l->r;
	char err[256];
	cJSON *m = proto_parse(buf, len, err, sizeof err);
	const char *type;
	size_t i;

	(void)t;
	if (!m) {
		log_warn("run %s: runner %d: message refused: %s", r->id, l->idx, err);
		return;
	}
	l->last_seen_ns = uv_hrtime();
	type = proto_type(m);
	for (i = 0; i < sizeof(link_handlers) / sizeof(link_handlers[0]); i++)
		if (strcmp(type, link_handlers[i].type) == 0)
			break;
	if (i < sizeof(link_handlers) / sizeof(link_handlers[0]))
		link_handlers[i].fn(r, l, m);
	else
		log_warn("run %s: runner %d: unknown message type '%s' ignored", r->id, l->idx,
			 type);
	cJSON_Delete(m);
}

/* ---- adding and losing runners ------------------------------------------ */

/* A link for runner transport t (not yet the run's), or NULL. */
static rlink *link_new(run *r, transport *t)
{
	size_t nj = r->s->njourneys;
	rlink *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->target = calloc(nj, sizeof *l->target);
	l->actual = calloc(nj, sizeof *l->actual);
	l->need = calloc(nj, sizeof *l->need);
	l->leased = calloc(nj, sizeof *l->leased);
	l->inflight = calloc(nj, sizeof *l->inflight);
	l->why = calloc(nj, sizeof *l->why);
	l->peak = calloc(nj, sizeof *l->peak);
	l->rows_out = calloc(nj, sizeof *l->rows_out);
	l->ended = calloc(nj, sizeof *l->ended);
	if (!l->target || !l->actual || !l->need || !l->leased || !l->inflight || !l->why ||
	    !l->peak || !l->rows_out || !l->ended) {
		run_link_free(r, l);
		return NULL;
	}
	l->r = r;
	l->t = t;
	l->idx = (int)r->nlinks;
	l->last_seen_ns = uv_hrtime();
	return l;
}

void run_link_free(run *r, rlink *l)
{
	if (l->t)
		transport_close(l->t);
	for (size_t ji = 0; ji < r->s->njourneys; ji++) {
		if (l->leased)
			free(l->leased[ji].v);
		if (l->why)
			free(l->why[ji]);
	}
	free(l->leased);
	free(l->inflight);
	free(l->rows_out);
	free(l->ended);
	free(l->why);
	free(l->target);
	free(l->actual);
	free(l->peak);
	free(l->need);
	free(l);
}

int run_add_runner(run *r, transport *t)
{
	rlink **links, *l;

	if (r->state == RUN_DONE)
		return -EINVAL;
	links = realloc(r->links, (r->nlinks + 1) * sizeof *links);
	if (!links)
		return -ENOMEM;
	r->links = links;
	if (!(l = link_new(r, t)))
		return -ENOMEM;
	t->on_recv = on_link_message;
	t->data = l;
	r->links[r->nlinks++] = l;
	/* A runner that joins a started run (a replacement) is set up now. */
	if (r->setup_sent)
		proto_send(t, run_setup_msg(r));
	return 0;
}

void run_runner_lost(run *r, transport *t, const char *reason)
{
	for (size_t i = 0; i < r->nlinks; i++) {
		rlink *l = r->links[i];

		if (l->t == t && !l->gone) {
			run_set_error(r, "runner %d lost: %s", l->idx, reason ? reason : "unknown");
			run_link_drop(r, l);
		}
	}
	if (r->state == RUN_STARTING) {
		int all = r->nlinks > 0;

		for (size_t i = 0; i < r->nlinks; i++)
			all &= r->links[i]->gone;
		if (all)
			run_begin_stop(r, 1);
	}
	run_check_done(r);
}

void run_runner_leave(run *r, transport *t, const char *reason)
{
	for (size_t i = 0; i < r->nlinks; i++)
		if (r->links[i]->t == t)
			link_leave(r, r->links[i], reason ? reason : "unknown");
}
