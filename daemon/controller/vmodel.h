/*
 * vmodel.h - volume models: how many instances of a journey must run.
 *
 * Closed models (constant, ramp, stages, oneshot, plugin) say how many
 * instances must run concurrently over a window; open models (arrival
 * rate) say how many journey starts are due in it. Both are evaluated
 * without hidden state, from the window alone, so results are exact
 * whatever the tick.
 */
#ifndef MITE_CONTROLLER_VMODEL_H
#define MITE_CONTROLLER_VMODEL_H

#include <mite/volume.h>
#include <stddef.h>

typedef enum vmodel_kind { VMODEL_CLOSED, VMODEL_OPEN } vmodel_kind;

typedef struct vmodel vmodel;

/*
 * Constructors: the model, or NULL with a one-line reason in err (bad
 * values, or out of memory). Counts and rates must be >= 0, times > 0
 * unless said otherwise; a `duration` <= 0 means "no end of its own".
 * Closed models answer with the most the curve asks for anywhere in the
 * window, rounded down (a ramp 0 -> 10 over 10 s asks for 1 over [0.9, 1)).
 */

/* `count` instances, for `duration` seconds then MITE_STOP. */
vmodel *vmodel_new_constant(long count, double duration, char *err, size_t errlen);
/* From `from` to `to` instances linearly over `over` seconds, then holds
 * `to`; with duration > 0 (>= over, counted from the start) it stops then. */
vmodel *vmodel_new_ramp(double from, double to, double over, double duration, char *err,
			size_t errlen);

/* One step of a stages model: the count goes linearly from `from` to `to`
 * over `duration` seconds (from == to: a constant step). */
typedef struct vmodel_step {
	double from, to, duration;
} vmodel_step;
/* Steps one after the other; after the last it stops, or with hold != 0
 * holds the last step's `to` for ever. */
vmodel *vmodel_new_stages(const vmodel_step *steps, size_t n, int hold, char *err, size_t errlen);

/* `count` instances that each run exactly one iteration (see vmodel_once);
 * asks for `count` until `duration` (when > 0), then MITE_STOP. */
vmodel *vmodel_new_oneshot(long count, double duration, char *err, size_t errlen);

/* The open model: journey starts per second, going linearly from `from` to
 * `to` over `over` seconds and then staying at `to` (a constant rate: from
 * == to, over 0); stops after `duration` when > 0. vmodel_eval returns
 * floor(F(end)) - floor(F(start)) where F is the integral of the rate from
 * 0, so consecutive windows (one's end passed as the next one's start) add
 * up to exactly floor(F(t)). */
vmodel *vmodel_new_arrival(double from, double to, double over, double duration, char *err,
			   size_t errlen);

/* A plugin model (<mite/volume.h>) named `name` (copied), called with args
 * (NULL-terminated key, value list; copied). A negative return other than
 * MITE_STOP is an error: the model stops from then on and vmodel_error says
 * why. */
vmodel *vmodel_new_plugin(mite_volume_fn fn, const char *name, const char *const *args, char *err,
			  size_t errlen);

/* 1 for oneshot models: each instance runs exactly one iteration and is not
 * replaced when it ends; the journey's load ends once `count` iterations
 * have completed (the model cannot see completions, so the run counts
 * them). 0 for every other model. */
int vmodel_once(const vmodel *m);
/* Why a plugin model stopped on an error, or NULL. Owned by the model. */
const char *vmodel_error(const vmodel *m);

/* Over [start, end) seconds since run start: closed models return the
 * concurrency required, open models the number of starts due (the
 * integral of the rate, so that the windows of a run add up exactly), or
 * MITE_STOP (-1) when the journey's load has ended. */
long vmodel_eval(vmodel *m, double start, double end);
vmodel_kind vmodel_get_kind(const vmodel *m);
/* When the model ends by itself (seconds), or -1 for never / unknown. */
double vmodel_end(const vmodel *m);
/* The most it ever asks for, when known (for the max_map_count check and
 * pool sizing); -1 when unknown (plugins). For open models, the peak rate. */
double vmodel_peak(const vmodel *m);
/* e.g. "ramp 0 -> 50 over 30 s". */
const char *vmodel_describe(const vmodel *m);
void vmodel_free(vmodel *m);

#endif
