/*
 * results_judge.h - a run's verdict from what its results object gathered
 * (results.c) and what the run knows: every way a run falls short becomes
 * a problem in a verdict_list (verdict.h), and the summary's volume and
 * generator objects say how far short, for how long and why.
 */
#ifndef MITE_CONTROLLER_RESULTS_JUDGE_H
#define MITE_CONTROLLER_RESULTS_JUDGE_H

#include "controller/results_writer.h"
#include "controller/run.h"
#include "controller/verdict.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* One journey's volume over the seconds the run was running, as the
 * timeline's records counted it. */
typedef struct judge_volume {
	double required_sum, actual_sum; /* closed models: instance-seconds */
	long required_max, actual_max;
	double behind; /* seconds short of what was required */
	double seconds; /* seconds counted */
} judge_volume;

/* What the judgement looks at besides the run. */
typedef struct judge_in {
	const run *r;
	int started; /* a second of the run went by */
	size_t broken, nthresholds; /* thresholds broken, of how many */
	const char *aborted_by; /* the threshold that stopped the run, or NULL */
	const judge_volume *vol; /* per journey (NULL: no records yet) */
	double saturated; /* seconds whose loop lag p99 was past the bound */
	const int *file_err; /* per log file (WF_*): -errno of its first failed write */
	const char *not_written; /* summary files not written, and why ("" or NULL: none) */
	uint64_t dropped_log; /* event-log lines dropped (queue full) */
} judge_in;

/* Adds every problem of the run (and warnings) to v. */
void results_judge(const judge_in *in, verdict_list *v);
/* The `volume` object of journey ji in the summary (caller owns). */
cJSON *results_judge_volume(const judge_in *in, size_t ji);
/* The summary's `generator` object: loop lag per runner, its bound,
 * seconds saturated, tainted or not (caller owns). */
cJSON *results_judge_generator(const judge_in *in);

#endif
