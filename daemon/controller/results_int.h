/*
 * results_int.h - what the parts of a run's results share (results.c: the
 * object, the event log's intake, the tick and the verdict;
 * results_timeline.c: a record per second; results_summary.c: the
 * summary files). Not for use outside them.
 */
#ifndef MITE_CONTROLLER_RESULTS_INT_H
#define MITE_CONTROLLER_RESULTS_INT_H

#include "controller/results.h"
#include "controller/results_judge.h"
#include "controller/results_writer.h"
#include "controller/thresholds.h"
#include "controller/verdict.h"
#include "core/hist.h"
#include "core/stats.h"

#include <cjson/cJSON.h>
#include <math.h>

#define RESULTS_MAX_ROTATED 1000 /* events_keep's bound */
#define RESULTS_OFFSET 0.5 /* seconds between a batch and the record that holds it */

/* Per journey, between records: what the volume accounts (judge_volume)
 * is built from these. */
typedef struct jtrack {
	long prev_required; /* at the record before */
	long snap_required, snap_starts; /* sampled at the end of the slice */
	long prev_starts; /* open: starts handed out at the record before */
	long run_req; /* at the last tick the run was running */
	long run_act; /* the most running at a tick since the last record */
} jtrack;

struct results {
	char *dir;
	results_conf conf;
	writer *w;
	const thresholds *spec;
	thresholds_eval *th;
	unsigned char *was_broken; /* per threshold: an event was logged */
	stats cur; /* merged since the last timeline record */
	stats live; /* merged since results_take_live */
	int live_on;
	int started, finished;
	double created_wall, start_wall, end_wall;
	double last_t; /* run second the records have covered up to */
	double next_t; /* run second of the next record */
	long runners_max;
	uint64_t events_logged, dropped, runner_dropped_seen;
	judge_volume *vol; /* per journey, over the seconds the run was running */
	jtrack *jt;
	size_t nvol;
	int snap_taken; /* the jvol snapshots hold the next record's end */
	double saturated; /* seconds whose loop lag p99 was past the bound */
	char stop_by[512]; /* "threshold TEXT": why results_tick asked the run to stop */
	int file_err[WF_N]; /* per log file: -errno of its first failed write */
	char not_written[512]; /* the summary files that could not be written, and why */
	cJSON *summary;
	int summary_failed;
};

/* Seconds with microsecond resolution: short JSON numbers. */
static inline double results_jsec(double ns)
{
	return round(ns / 1e3) / 1e6;
}

static inline double results_pct_s(const hist *h, double p)
{
	return results_jsec((double)hist_percentile(h, p));
}

static inline uint64_t results_runner_dropped(const stats *totals)
{
	const stats_entry *d = stats_find(totals, SK_DROPPED.name, NULL, 0);

	return d ? d->c[0] : 0;
}


/* Logs one JSON object to file (WF_EVENTS, WF_TIMELINE); counts it as
 * dropped when it does not fit, unless force. */
void results_log_json(results *res, int file, const cJSON *o, int force);
/* What the judgement of the run is made of. */
void results_verdict_input(const results *res, const run *r, judge_in *in);
/* The judgement as it stands into o (verdict, verdict_reason, reasons,
 * warnings). */
verdict_kind results_verdict_json(const results *res, const run *r, cJSON *o);

#endif
