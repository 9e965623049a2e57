/*
 * capacity.h - what a run's volume asks of its runners, checked before the
 * run starts (and before a scale): how many runners its instances need,
 * at most proto_instances_max() per journey on each, and whether each
 * runner process has the memory mappings their stacks take, and whether
 * the host has a page of memory for each.
 *
 * Only closed models with a known peak are counted (open models' and
 * plugins' concurrency is not known up front); at run time a runner told
 * more than its bound keeps to it and says why (docs/runner-protocol.md).
 */
#ifndef MITE_CONTROLLER_CAPACITY_H
#define MITE_CONTROLLER_CAPACITY_H

#include "controller/scenario.h"
#include <stddef.h>

/* The most runners a run may have (as `mitectl start --runners` allows). */
#define CAPACITY_RUNNERS_MAX 1024

/* The instances s's closed models ask for at most, times scale. */
double capacity_peak(const scenario *s, double scale);

/* The runners s needs at `scale`: at least `runners`, more when a journey's
 * peak is over one runner's bound. `own_process`: each runner is a process
 * of its own (mited), else they all run in this one (test mode), which is
 * what the map count is checked against. The count, or -1 with a message
 * in err naming the journey, the value and the limit (for the map count,
 * the sysctl command that raises it). */
int capacity_runners(const scenario *s, double scale, int runners, int own_process, char *err,
		     size_t errlen);

#endif
