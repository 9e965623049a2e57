/*
 * results_timeline.h - a run's record per second (timeline.jsonl, and the
 * same as "volume" and "stats" events), and its thresholds judged on it.
 */
#ifndef MITE_CONTROLLER_RESULTS_TIMELINE_H
#define MITE_CONTROLLER_RESULTS_TIMELINE_H

#include "controller/results_int.h"

/* Writes the record of the slice (t - dt, t] and judges it. Returns why the
 * run must stop (a threshold with abort = true broke; owned by res), or
 * NULL. */
const char *results_timeline_emit(results *res, run *r, double t, double dt);
/* An event for every threshold that broke since the last call. */
void results_timeline_log_broken(results *res, run *r, double t);

#endif
