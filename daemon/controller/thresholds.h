/*
 * thresholds.h - pass/fail conditions of a scenario (mite-scenario(5),
 * THRESHOLDS), and their evaluation on a run's exact merged stats.
 *
 * A scenario's `thresholds` list is parsed once, with the scenario
 * (thresholds_parse); each run evaluates it with its own state
 * (thresholds_eval): once a second on the stats merged in that second (for
 * sliding windows) and on the run's totals (for thresholds that abort the
 * run), and once at the end on the totals. Values always come from merged
 * histograms - the histograms of every matching series added bucket by
 * bucket - never from averaged percentiles.
 */
#ifndef MITE_CONTROLLER_THRESHOLDS_H
#define MITE_CONTROLLER_THRESHOLDS_H

#include "core/stats.h"

#include <cjson/cJSON.h>
#include <libconfig.h>
#include <stddef.h>

#define THRESHOLDS_MAX 256 /* thresholds in one scenario */
#define THRESHOLDS_MAX_WINDOW 3600 /* seconds */

typedef struct thresholds thresholds;
typedef struct thresholds_eval thresholds_eval;

/* Parses the `thresholds` setting of a scenario: a list of groups. file is
 * the scenario's path: settings from @included files are named relative to
 * its folder. NULL with "file:line: reason" in err. An empty list gives an
 * empty set. */
thresholds *thresholds_parse(const config_setting_t *list, const char *file, char *err,
			     size_t errlen);
void thresholds_free(thresholds *t);
/* How many thresholds t holds (0 for NULL). */
size_t thresholds_count(const thresholds *t);
/* Whether any threshold of t has abort = true. */
int thresholds_any_abort(const thresholds *t);
/* A short text of threshold i, e.g. "txn:login p95 <= 0.25 (window 30 s)". */
const char *thresholds_text(const thresholds *t, size_t i);

/* The evaluation state of one run, or NULL on ENOMEM. t (may be NULL: no
 * thresholds) must outlive it. */
thresholds_eval *thresholds_eval_new(const thresholds *t);
void thresholds_eval_free(thresholds_eval *e);
/* One second of the run: slice holds the stats merged during that second,
 * totals those of the whole run so far, elapsed the run's seconds, and
 * running whether it is running (windows are judged only then). Returns 1
 * when a threshold with abort = true is broken (the first time only: the
 * caller stops the run), else 0. */
int thresholds_eval_second(thresholds_eval *e, const stats *slice, const stats *totals,
			   double elapsed, int running);
/* The end of the run: whole-run thresholds on the totals; windowed ones
 * that never had a full window are judged on the whole run. */
void thresholds_eval_final(thresholds_eval *e, const stats *totals, double elapsed);
/* How many thresholds are broken (0 for NULL). */
size_t thresholds_eval_broken(const thresholds_eval *e);
/* Whether a threshold aborted the run, and which (its text), else NULL. */
const char *thresholds_eval_aborted_by(const thresholds_eval *e);
/* A JSON array with one object per threshold: its definition, the value
 * found, ok, and when and where it broke. The caller owns it; NULL on
 * ENOMEM. */
cJSON *thresholds_eval_json(const thresholds_eval *e);
/* 1/0 broken per threshold, for the metrics endpoint (i < count). */
int thresholds_eval_is_broken(const thresholds_eval *e, size_t i);

#endif
