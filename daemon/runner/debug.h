/*
 * debug.h - what an error event carries for `mitectl ... --debug`: the
 * instance and its iteration, the datapool row it was using and its last
 * HTTP exchange (runner/http_trace.h), bounded as documented in
 * mitectl(1), DEBUGGING.
 */
#ifndef MITE_RUNNER_DEBUG_H
#define MITE_RUNNER_DEBUG_H

#include <cjson/cJSON.h>

struct mite_ctx;

#define DEBUG_ROW_COLUMNS 32 /* columns of the row shown */
#define DEBUG_ROW_VALUE 256 /* bytes of each value shown */

/* Adds {"instance", "iteration", "row": {"id", "columns": [[name or null, value],
 * ...], "more"}, "http": exchange} as "debug" to the error event ev. */
void debug_attach(struct mite_ctx *ctx, cJSON *ev);

#endif
