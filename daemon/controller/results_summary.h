/*
 * results_summary.h - a run's summary: summary.json and summary.txt.
 */
#ifndef MITE_CONTROLLER_RESULTS_SUMMARY_H
#define MITE_CONTROLLER_RESULTS_SUMMARY_H

#include "controller/results_int.h"

/* The summary of the run as it stands; meta (may be NULL) is merged into
 * its "run" object. NULL on ENOMEM. */
cJSON *results_summary_build(results *res, run *r, const cJSON *meta);
/* Writes summary.json and summary.txt of the summary built. 0, or -errno
 * with what was not written (and why) kept for the verdict. */
int results_summary_write(results *res, run *r);

#endif
