/*
 * testmode.h - mitectl's foreground modes: `journey test`, `journey run`
 * and `scenario test` run a controller and one runner in this process,
 * talking through an in-process transport, print live stats every 2 s and
 * a summary at the end.
 */
#ifndef MITE_TESTMODE_H
#define MITE_TESTMODE_H

#include "controller/verdict.h"

#include <stdint.h>

/* Exit statuses (documented in mitectl(1), EXIT STATUS): the verdict's
 * (verdict.h), and a few of the command's own. */
#define TESTMODE_OK VERDICT_EXIT_PASSED /* passed */
#define TESTMODE_JOURNEY_ERRORS VERDICT_EXIT_FAILED /* failed: journey errors, a run error */
#define TESTMODE_USAGE 2 /* bad command line */
#define TESTMODE_SCENARIO 3 /* the scenario or a module was refused */
#define TESTMODE_THRESHOLDS VERDICT_EXIT_THRESHOLDS /* thresholds broken (see mite-scenario(5)) */
#define TESTMODE_VOLUME VERDICT_EXIT_VOLUME /* the volume asked for was not delivered */
#define TESTMODE_INCOMPLETE \
	VERDICT_EXIT_INCOMPLETE /* stopped early, cancelled, results not written */
#define TESTMODE_TAINTED VERDICT_EXIT_TAINTED /* mite's own loop was saturated */
#define TESTMODE_HUNG 6 /* a journey did not yield: the watchdog ended it */
#define TESTMODE_INTERNAL 70 /* an internal failure */

struct run;
struct scenario;

/* Called with the finished run, before it is freed (tests read its stats). */
typedef void (*testmode_inspect_fn)(struct run *r, void *data);

typedef struct testmode_opts {
	int print_events; /* print custom messages and errors as they come */
	int quiet; /* no live lines and no summary */
	double grace; /* seconds iterations get at stop (5 when 0) */
	const char *results_dir; /* write the result files there (results.h), or NULL */
	int http_events; /* an http_metrics event per response (with results_dir) */
	double runner_timeout; /* seconds a journey may hold the loop (10 when 0) */
	int debug; /* --debug: 0 or PROTO_DEBUG_FIRST / _ALL (core/proto.h) */
	uint64_t trace_instance; /* --trace-http: the instance id traced (0: none) */
	testmode_inspect_fn inspect;
	void *data;
} testmode_opts;

/* Runs a loaded scenario (taken over) to its end with a controller and one
 * runner in this process; returns an exit status as below. */
int testmode_execute(struct scenario *s, const testmode_opts *o);

/* argv[0] is "test" / "run" (after `mitectl journey` / `mitectl scenario`). */
int testmode_journey(int argc, char **argv);
int testmode_scenario(int argc, char **argv);

#endif
