/*
 * results_view.h - the run table of `mitectl status` (live, and once the
 * run is done) and of `mitectl results` when there is no summary text:
 * progress, the verdict and its reasons, per journey required vs actual
 * (how far short, for how long, why), per transaction count, rate,
 * failures and p50/p95/p99, and the runners' loop lag.
 *
 * It renders either a status object (run_status with results_status on
 * top, as mited sends it) or a summary.json: the same columns, read from
 * where each of them keeps them.
 */
#ifndef MITE_CONTROLLER_RESULTS_VIEW_H
#define MITE_CONTROLLER_RESULTS_VIEW_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

typedef struct results_view_opts {
	int color; /* ANSI colours */
	/* The tx/s of a transaction (live views: from the previous frame),
	 * or NULL: its "rate" member. */
	double (*rate)(const cJSON *txn, double elapsed, void *data);
	void *data;
} results_view_opts;

void results_view_run(FILE *f, const cJSON *run, const results_view_opts *o);
/* Seconds as "12.3s", "4m05s", "2h10m". */
const char *results_view_dur(char *buf, size_t len, double s);

#endif
