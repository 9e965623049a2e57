/* report.h - the live lines of the foreground modes. */
#ifndef MITE_CONTROLLER_REPORT_H
#define MITE_CONTROLLER_REPORT_H

#include "controller/results.h"
#include "controller/run.h"
#include "core/stats.h"
#include <stdio.h>

/* One block of live stats: required vs actual per journey (and how far
 * short, why, the loop lag and the verdict so far when something is
 * wrong: res may be NULL), then per transaction tx/s, failures and
 * p50/p95/p99 over `window` (the stats of the last `interval` seconds),
 * then HTTP requests/s and status classes. */
void report_live(FILE *f, const run *r, const results *res, const stats *window, double interval);
/* The leading digits of an HTTP status label as a number. */
int atoi_status(const char *s);

#endif
