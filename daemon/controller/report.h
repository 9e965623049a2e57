/* report.h - text tables of a run: live lines and the end-of-run summary. */
#ifndef MITE_CONTROLLER_REPORT_H
#define MITE_CONTROLLER_REPORT_H

#include "controller/run.h"
#include "core/stats.h"
#include <stdio.h>

/* One block of live stats: required vs actual per journey, then per
 * transaction tx/s, failures and p50/p95/p99 over `window` (the stats of the
 * last `interval` seconds), then HTTP requests/s and status classes. */
void report_live(FILE *f, const run *r, const stats *window, double interval);
/* The end-of-run summary: journeys, transactions (count, failures, rate,
 * min/mean/p50/p90/p95/p99/max), HTTP by status, HTTP errors by class,
 * errors grouped by location and message, and the verdict. */
void report_summary(FILE *f, const run *r);
/* The leading digits of an HTTP status label as a number. */
int atoi_status(const char *s);

#endif
