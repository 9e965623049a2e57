/*
 * results_ws.h - the WebSocket parts of a run's summary (stats kinds "ws"
 * and "wserr", core/stats.h): built into summary.json by results.c, shown
 * in summary.txt by results_io.c and in the live view by report.c. Kept
 * apart so that those files only call in.
 */
#ifndef MITE_CONTROLLER_RESULTS_WS_H
#define MITE_CONTROLLER_RESULTS_WS_H

#include "core/stats.h"
#include <cjson/cJSON.h>
#include <stdio.h>

/* Adds "ws" (one object per journey, transaction and name: messages and
 * payload bytes each way, rates over elapsed seconds, connect, rtt and
 * ping latencies) and "ws_errors" (counts by class) to the summary o. */
void results_ws_summary(cJSON *o, const stats *t, double elapsed);
/* Their tables in summary.txt (nothing when the run had no WebSocket). */
void results_ws_text(FILE *f, const cJSON *summary);
/* One live-view line for a window of interval seconds (nothing when the
 * window had no WebSocket traffic). */
void results_ws_live(FILE *f, const stats *window, double interval);

#endif
