/*
 * vmodel.c - volume models.
 *
 * The closed built-in models (constant, ramp, stages, oneshot) are one
 * shape: a list of linear segments of the required count over time, then
 * either an end or the last value held for ever. The open model (arrival)
 * integrates its rate. Neither keeps state between calls, so any tick, a
 * restart or a re-evaluation gives the same answer.
 */
#include "controller/vmodel.h"
#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMODEL_DESC_LEN 160
#define VMODEL_ERR_LEN 256
/* Rounding slack: 0.1 * 30 is 2.9999999999999996 in doubles, and a ramp
 * must still ask for 3 there. */
#define VMODEL_EPS 1e-9
/* Beyond this a count is a typo, and would overflow a long on the way. */
#define VMODEL_MAX_COUNT 1e12

typedef enum vmodel_type { VM_SEGMENTS, VM_ARRIVAL, VM_PLUGIN } vmodel_type;

typedef struct segment {
	double t0, t1; /* [t0, t1); t1 may be INFINITY (then v0 == v1) */
	double v0, v1;
} segment;

struct vmodel {
	vmodel_type type;
	int once;
	char desc[VMODEL_DESC_LEN];

	segment *segs; /* VM_SEGMENTS */
	size_t nsegs;
	double end; /* when the model stops by itself, or -1 */

	double from, to, over; /* VM_ARRIVAL: rates; `end` as above */

	mite_volume_fn fn; /* VM_PLUGIN */
	char *name;
	char **args;
	char error[VMODEL_ERR_LEN];
	int failed;
};

static int vmodel_bad_count(double v)
{
	return !isfinite(v) || v < 0 || v > VMODEL_MAX_COUNT;
}

static int vmodel_bad_time(double v)
{
	return !isfinite(v) || v <= 0;
}

static vmodel *vmodel_alloc(vmodel_type type, size_t nsegs, char *err, size_t errlen)
{
	vmodel *m = calloc(1, sizeof(*m));

	if (!m)
		goto nomem;
	m->type = type;
	m->end = -1;
	if (nsegs) {
		m->segs = calloc(nsegs, sizeof(*m->segs));
		if (!m->segs)
			goto nomem;
		m->nsegs = nsegs;
	}
	return m;
nomem:
	free(m);
	util_err(err, errlen, "volume model: %s", strerror(ENOMEM));
	return NULL;
}

/* Appends " for N s" to a description when the model has an end. */
static void vmodel_desc_end(vmodel *m, double duration)
{
	size_t n = strlen(m->desc);

	if (duration > 0)
		snprintf(m->desc + n, sizeof(m->desc) - n, " for %g s", duration);
}

vmodel *vmodel_new_constant(long count, double duration, char *err, size_t errlen)
{
	vmodel *m;

	if (count < 0 || count > VMODEL_MAX_COUNT) {
		util_err(err, errlen, "count must be between 0 and %.0f, not %ld", VMODEL_MAX_COUNT,
			 count);
		return NULL;
	}
	if (!isfinite(duration)) {
		util_err(err, errlen, "duration must be a number of seconds");
		return NULL;
	}
	m = vmodel_alloc(VM_SEGMENTS, 1, err, errlen);
	if (!m)
		return NULL;
	m->segs[0] =
		(segment){ 0, duration > 0 ? duration : INFINITY, (double)count, (double)count };
	m->end = duration > 0 ? duration : -1;
	snprintf(m->desc, sizeof(m->desc), "constant %ld", count);
	vmodel_desc_end(m, duration);
	return m;
}

vmodel *vmodel_new_ramp(double from, double to, double over, double duration, char *err,
			size_t errlen)
{
	vmodel *m;

	if (vmodel_bad_count(from) || vmodel_bad_count(to)) {
		util_err(err, errlen, "ramp counts must be between 0 and %.0f", VMODEL_MAX_COUNT);
		return NULL;
	}
	if (vmodel_bad_time(over)) {
		util_err(err, errlen, "ramp `over` must be more than 0 seconds");
		return NULL;
	}
	if (!isfinite(duration) || (duration > 0 && duration < over)) {
		util_err(err, errlen, "duration (%g s) must not be shorter than the ramp (%g s)",
			 duration, over);
		return NULL;
	}
	m = vmodel_alloc(VM_SEGMENTS, 2, err, errlen);
	if (!m)
		return NULL;
	m->segs[0] = (segment){ 0, over, from, to };
	m->segs[1] = (segment){ over, duration > 0 ? duration : INFINITY, to, to };
	m->end = duration > 0 ? duration : -1;
	snprintf(m->desc, sizeof(m->desc), "ramp %g -> %g over %g s", from, to, over);
	vmodel_desc_end(m, duration);
	return m;
}

vmodel *vmodel_new_stages(const vmodel_step *steps, size_t n, int hold, char *err, size_t errlen)
{
	double t = 0;
	vmodel *m;

	if (n == 0) {
		util_err(err, errlen, "stages needs at least one step");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (vmodel_bad_count(steps[i].from) || vmodel_bad_count(steps[i].to)) {
			util_err(err, errlen, "step %zu: counts must be between 0 and %.0f", i + 1,
				 VMODEL_MAX_COUNT);
			return NULL;
		}
		if (vmodel_bad_time(steps[i].duration)) {
			util_err(err, errlen, "step %zu: duration must be more than 0 seconds",
				 i + 1);
			return NULL;
		}
	}
	m = vmodel_alloc(VM_SEGMENTS, n + (hold ? 1 : 0), err, errlen);
	if (!m)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		m->segs[i] = (segment){ t, t + steps[i].duration, steps[i].from, steps[i].to };
		t += steps[i].duration;
	}
	if (hold)
		m->segs[n] = (segment){ t, INFINITY, steps[n - 1].to, steps[n - 1].to };
	m->end = hold ? -1 : t;
	snprintf(m->desc, sizeof(m->desc), "stages: %zu step%s over %g s%s", n, n == 1 ? "" : "s",
		 t, hold ? ", then hold" : "");
	return m;
}

vmodel *vmodel_new_oneshot(long count, double duration, char *err, size_t errlen)
{
	vmodel *m;

	if (count < 1 || count > VMODEL_MAX_COUNT) {
		util_err(err, errlen, "oneshot count must be between 1 and %.0f, not %ld",
			 VMODEL_MAX_COUNT, count);
		return NULL;
	}
	m = vmodel_new_constant(count, duration, err, errlen);
	if (!m)
		return NULL;
	m->once = 1;
	snprintf(m->desc, sizeof(m->desc), "oneshot %ld", count);
	vmodel_desc_end(m, duration);
	return m;
}

vmodel *vmodel_new_arrival(double from, double to, double over, double duration, char *err,
			   size_t errlen)
{
	vmodel *m;

	if (vmodel_bad_count(from) || vmodel_bad_count(to)) {
		util_err(err, errlen, "arrival rates must be between 0 and %.0f per second",
			 VMODEL_MAX_COUNT);
		return NULL;
	}
	if (from != to && vmodel_bad_time(over)) {
		util_err(err, errlen,
			 "a changing arrival rate needs `over` of more than 0 seconds");
		return NULL;
	}
	if (!isfinite(over) || over < 0 || !isfinite(duration)) {
		util_err(err, errlen, "arrival times must be numbers of seconds");
		return NULL;
	}
	m = vmodel_alloc(VM_ARRIVAL, 0, err, errlen);
	if (!m)
		return NULL;
	m->from = from;
	m->to = to;
	m->over = from == to ? 0 : over;
	m->end = duration > 0 ? duration : -1;
	if (from == to)
		snprintf(m->desc, sizeof(m->desc), "arrival %g/s", to);
	else
		snprintf(m->desc, sizeof(m->desc), "arrival %g/s -> %g/s over %g s", from, to,
			 over);
	vmodel_desc_end(m, duration);
	return m;
}

vmodel *vmodel_new_plugin(mite_volume_fn fn, const char *name, const char *const *args, char *err,
			  size_t errlen)
{
	size_t n = 0;
	vmodel *m;

	if (!fn) {
		util_err(err, errlen, "volume plugin %s is NULL", name ? name : "(unnamed)");
		return NULL;
	}
	m = vmodel_alloc(VM_PLUGIN, 0, err, errlen);
	if (!m)
		return NULL;
	m->fn = fn;
	m->name = strdup(name ? name : "(unnamed)");
	while (args && args[n])
		n++;
	m->args = calloc(n + 1, sizeof(*m->args));
	if (!m->name || !m->args)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (!(m->args[i] = strdup(args[i])))
			goto nomem;
	snprintf(m->desc, sizeof(m->desc), "plugin %s", m->name);
	return m;
nomem:
	vmodel_free(m);
	util_err(err, errlen, "volume model: %s", strerror(ENOMEM));
	return NULL;
}

/* ---- evaluation -------------------------------------------------------- */

static double segment_at(const segment *s, double t)
{
	if (!isfinite(s->t1) || s->t1 <= s->t0 || s->v0 == s->v1)
		return s->v0;
	if (t <= s->t0)
		return s->v0;
	if (t >= s->t1)
		return s->v1;
	return s->v0 + (s->v1 - s->v0) * (t - s->t0) / (s->t1 - s->t0);
}

static long vmodel_eval_segments(const vmodel *m, double start, double end)
{
	double best = 0;
	int any = 0;

	for (size_t i = 0; i < m->nsegs; i++) {
		const segment *s = &m->segs[i];
		double lo = start > s->t0 ? start : s->t0;
		double hi = end < s->t1 ? end : s->t1;
		double v;

		/* The window overlaps the segment, or is the instant `start`
		 * inside it. A linear piece peaks at one of its ends. */
		if (lo < hi || (start == end && start >= s->t0 && start < s->t1)) {
			v = segment_at(s, lo);
			if (segment_at(s, hi) > v)
				v = segment_at(s, hi);
			if (!any || v > best)
				best = v;
			any = 1;
		}
	}
	return (long)floor(best + VMODEL_EPS);
}

/* The number of starts due from 0 to t: the integral of the rate. */
static double vmodel_arrivals(const vmodel *m, double t)
{
	if (t <= 0)
		return 0;
	if (m->over <= 0)
		return m->to * t;
	if (t <= m->over)
		return m->from * t + (m->to - m->from) * t * t / (2 * m->over);
	return (m->from + m->to) * m->over / 2 + m->to * (t - m->over);
}

long vmodel_eval(vmodel *m, double start, double end)
{
	long r;

	if (!m)
		return MITE_STOP;
	if (!(end >= start))
		end = start;
	switch (m->type) {
	case VM_SEGMENTS:
		if (m->end >= 0 && start >= m->end)
			return MITE_STOP;
		return vmodel_eval_segments(m, start, end);
	case VM_ARRIVAL:
		if (m->end >= 0 && start >= m->end)
			return MITE_STOP;
		if (m->end >= 0 && end > m->end)
			end = m->end;
		/* The same function at both ends: windows telescope exactly. */
		return (long)(floor(vmodel_arrivals(m, end) + VMODEL_EPS) -
			      floor(vmodel_arrivals(m, start) + VMODEL_EPS));
	case VM_PLUGIN:
		if (m->failed)
			return MITE_STOP;
		r = m->fn(start, end, (const char *const *)m->args);
		if (r == MITE_STOP || r >= 0)
			return r;
		snprintf(m->error, sizeof(m->error),
			 "volume plugin %s returned %ld over [%g, %g): its load ends", m->name, r,
			 start, end);
		m->failed = 1;
		return MITE_STOP;
	}
	return MITE_STOP;
}

vmodel_kind vmodel_get_kind(const vmodel *m)
{
	return m->type == VM_ARRIVAL ? VMODEL_OPEN : VMODEL_CLOSED;
}

double vmodel_end(const vmodel *m)
{
	return m->type == VM_PLUGIN ? -1 : m->end;
}

double vmodel_peak(const vmodel *m)
{
	double peak = 0;

	switch (m->type) {
	case VM_SEGMENTS:
		for (size_t i = 0; i < m->nsegs; i++) {
			if (m->segs[i].v0 > peak)
				peak = m->segs[i].v0;
			if (m->segs[i].v1 > peak)
				peak = m->segs[i].v1;
		}
		return floor(peak + VMODEL_EPS);
	case VM_ARRIVAL:
		return m->from > m->to ? m->from : m->to;
	case VM_PLUGIN:
		break;
	}
	return -1;
}

const char *vmodel_describe(const vmodel *m)
{
	return m->desc;
}

int vmodel_once(const vmodel *m)
{
	return m->once;
}

const char *vmodel_error(const vmodel *m)
{
	return m->failed ? m->error : NULL;
}

void vmodel_free(vmodel *m)
{
	if (!m)
		return;
	if (m->args)
		for (size_t i = 0; m->args[i]; i++)
			free(m->args[i]);
	free(m->args);
	free(m->name);
	free(m->segs);
	free(m);
}
