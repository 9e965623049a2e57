/*
 * view.h - runs and the daemon's status as tables for people (status,
 * status --watch, start --wait, results), on controller/results_view.h.
 */
#ifndef MITE_MITECTL_VIEW_H
#define MITE_MITECTL_VIEW_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* A run as a table; live: tx/s over the last frame rather than the run's
 * average. */
void view_run(FILE *f, const cJSON *r, int live);
/* A status reply: its one run, or the daemon and every active run. */
void view_status(FILE *f, const cJSON *reply, int live);

#endif
