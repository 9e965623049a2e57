/*
 * results.h - what a run leaves behind, and its verdict.
 *
 * One results object per run, fed from the run's hooks on the loop thread:
 *
 *   results_tick   (on_tick)  once a second: a timeline record (required vs
 *                             actual volume, per-transaction counts and
 *                             latency percentiles of that second, HTTP),
 *                             the thresholds' live judgement (which may
 *                             stop the run: abort = true)
 *   results_event  (on_event) every event a runner sent: errors, custom
 *                             messages, http_metrics
 *   results_finish (on_done)  the last record, the thresholds' final
 *                             judgement, summary.json and summary.txt
 *
 * Files, under the run's results folder (when one is given):
 *
 *   events.jsonl     every event, plus one "volume" and one "stats" record
 *                    per second and a last "end" record; rotated by size
 *                    into events.jsonl.1, .2, ... (.1 the newest)
 *   timeline.jsonl   one line per second: what the HTML report charts
 *   summary.json     the whole run (see mite-results(5) in the docs)
 *   summary.txt      the same, for people (results_text)
 *
 * The event log and the timeline are written by a thread of their own fed
 * from a bounded queue, so the loop never waits on the disk; a line that
 * does not fit in the queue is dropped and counted, and the count is in the
 * summary. The summary files are small and written at once by
 * results_finish. The "end" record is the last line of the event log: once
 * it is there, the log is complete.
 */
#ifndef MITE_CONTROLLER_RESULTS_H
#define MITE_CONTROLLER_RESULTS_H

#include "controller/run.h"
#include "controller/verdict.h"
#include "core/stats.h"

#include <cjson/cJSON.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct results results;

/* The `results` group of mited.conf (mited.conf(5)). */
typedef struct results_conf {
	size_t events_max_size; /* bytes of events.jsonl before it rotates */
	int events_keep; /* rotated files kept: events.jsonl.1 .. .N */
	size_t queue_max; /* bytes queued for the writer before lines drop */
	int http_events; /* an http_metrics event per response */
} results_conf;

#define RESULTS_EVENTS_MAX_SIZE_DEFAULT ((size_t)64 << 20)
#define RESULTS_EVENTS_KEEP_DEFAULT 9
#define RESULTS_QUEUE_MAX_DEFAULT ((size_t)16 << 20)

void results_conf_defaults(results_conf *c);
/* Reads a `results = { ... }` group over c. 0, or -1 with
 * "file:line: reason" in err. */
int results_conf_parse(const config_setting_t *g, const char *file, results_conf *c, char *err,
		       size_t errlen);

typedef struct results_opts {
	const char *dir; /* the run's results folder (created), or NULL: no files */
	const results_conf *conf; /* NULL: the defaults */
	int live; /* keep the stats for results_take_live */
} results_opts;

/* The results of run r (whose scenario holds the thresholds; results_free
 * must come before run_free). NULL with a reason in err (the folder cannot
 * be made, the files cannot be opened, out of memory). */
results *results_new(run *r, const results_opts *o, char *err, size_t errlen);
/* From the run's on_tick hook. Returns why the run must stop - "threshold
 * TEXT" when a threshold with abort = true broke (owned by res) - for the
 * hook to return, or NULL. */
const char *results_tick(results *res, run *r);
/* From the run's on_event hook. */
void results_event(results *res, run *r, const cJSON *ev);
/* From the run's on_done hook: the last second, the final judgement and
 * the summary files. meta (may be NULL) is merged into the summary's "run"
 * object (e.g. what the daemon knows: runners wanted, restarts). 0, or
 * -errno when a summary file could not be written (logged). */
int results_finish(results *res, run *r, const cJSON *meta);
/* The summary (after results_finish), owned by res; NULL before. */
const cJSON *results_summary(const results *res);
/* The summary of the run so far, as summary.json will hold it, with the
 * verdict as it stands (for a run still going); the caller owns it. NULL
 * on ENOMEM. */
cJSON *results_summary_now(results *res, run *r);
/* The verdict (verdict.h; docs/results.md): after results_finish, the
 * summary's; before, what it would be now. res may be NULL. */
verdict_kind results_verdict_kind(const results *res, const run *r);
/* Its name: "passed", "thresholds", "volume", "tainted", "incomplete",
 * "failed". */
const char *results_verdict(const results *res, const run *r);
/* Adds the judgement as it stands to a run_status object: verdict_now,
 * verdict_reason, reasons, warnings, loop_lag_bound, and per journey its
 * `volume` (how far short, behind how long, why) - the live view's. */
void results_status(const results *res, const run *r, cJSON *status);
/* After results_finish: whether summary.json and summary.txt are on disk;
 * if not, what was not written and why (else NULL). */
int results_on_disk(const results *res);
const char *results_not_written(const results *res);
/* How many thresholds are broken so far. */
size_t results_broken(const results *res);
/* The evaluation of the thresholds (for the metrics endpoint). */
const struct thresholds_eval *results_thresholds(const results *res);
/* The run's results folder, or NULL. */
const char *results_dir(const results *res);
/* Event-log lines dropped because the writer's queue was full. */
uint64_t results_dropped(const results *res);
/* Moves the stats merged since the last call into *out (stats_free it):
 * the live display's window (needs opts.live). The run's own window
 * (run_take_window) belongs to the results object. */
void results_take_live(results *res, run *r, stats *out);
/* After results_finish, the writer thread ends once its queue is written:
 * joins it and closes the files when it has (1), else 0 (call again later).
 * A finished run kept in memory then holds no thread. */
int results_reap(results *res);
/* Stops the writer (after writing what is queued) and frees everything. */
void results_free(results *res);

#endif
