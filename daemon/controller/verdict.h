/*
 * verdict.h - how a run is judged: the verdicts, their order of severity
 * and exit statuses, the scenario's `verdict` group (tolerances and
 * bounds, mite-scenario(5), VERDICT), and a list of the problems found.
 *
 * A run that did not do what was asked never passes. Each way it can fall
 * short is a problem of one kind; the verdict is the most severe kind
 * found, and every problem is listed (docs/results.md, Verdict):
 *
 *   passed      nothing below
 *   thresholds  a threshold of the scenario is broken
 *   volume      the volume asked for was not delivered
 *   tainted     mite's own loop lagged: latency includes mite's saturation
 *   incomplete  stopped early, iterations cancelled or lost, results not
 *               written
 *   failed      the run never got going, a runner was lost, a datapool or
 *               a volume model failed, or journey errors (no thresholds)
 */
#ifndef MITE_CONTROLLER_VERDICT_H
#define MITE_CONTROLLER_VERDICT_H

#include <cjson/cJSON.h>
#include <libconfig.h>
#include <stddef.h>

/* In order of severity: a later kind wins the verdict. */
typedef enum verdict_kind {
	VERDICT_PASSED = 0,
	VERDICT_THRESHOLDS,
	VERDICT_VOLUME,
	VERDICT_TAINTED,
	VERDICT_INCOMPLETE,
	VERDICT_FAILED,
	VERDICT_NKINDS
} verdict_kind;

/* Exit statuses of `mitectl start --wait`, `scenario test` and `journey
 * test|run` (mitectl(1), EXIT STATUS). */
#define VERDICT_EXIT_PASSED 0
#define VERDICT_EXIT_FAILED 1
#define VERDICT_EXIT_THRESHOLDS 4
#define VERDICT_EXIT_VOLUME 5
#define VERDICT_EXIT_TAINTED 7
#define VERDICT_EXIT_INCOMPLETE 8 /* (6 is the test modes' watchdog: testmode.h) */

/* "passed", "thresholds", "volume", "tainted", "incomplete", "failed". */
const char *verdict_name(verdict_kind k);
/* For people: "passed", "failed: volume not delivered", ... */
const char *verdict_title(verdict_kind k);
int verdict_exit_status(verdict_kind k);
/* The kind named s; an unknown or missing name is VERDICT_FAILED: what
 * cannot be read never passes. */
verdict_kind verdict_kind_of(const char *s);

/* The scenario's `verdict` group. */
typedef struct verdict_conf {
	double volume_tolerance; /* fraction of the required volume that may be missing */
	int volume_warn; /* 1: a shortfall is a warning, not the verdict */
	double start_lag; /* open models: starts later than this (p99, s) are not delivered */
	double loop_lag; /* a loop turn longer than this (s) delays what it measures */
	double loop_lag_share; /* taint when a runner spent more than this share of the
				    run in such turns */
	int loop_lag_warn; /* 1: a saturated loop is a warning, not the verdict */
} verdict_conf;

#define VERDICT_VOLUME_TOLERANCE_DEFAULT 0.1
#define VERDICT_START_LAG_DEFAULT 1.0
#define VERDICT_LOOP_LAG_DEFAULT 0.01
#define VERDICT_LOOP_LAG_SHARE_DEFAULT 0.1
/* ... and only when those long turns add up to more than this (s). */
#define VERDICT_LOOP_LAG_FLOOR 0.5

void verdict_conf_defaults(verdict_conf *c);
/* Reads `verdict = { ... }` over c. 0, or -1 with "file:line: reason" in
 * err. file is the scenario's path (for settings without a source). */
int verdict_conf_parse(const config_setting_t *g, const char *file, verdict_conf *c, char *err,
		       size_t errlen);
/* The settings as the summary shows them (caller owns; NULL on ENOMEM). */
cJSON *verdict_conf_json(const verdict_conf *c);

/* The problems found in a run, in the order added. */
typedef struct verdict_list {
	cJSON *reasons; /* [{"verdict": kind, "reason": line}] */
	cJSON *warnings; /* [line] */
	verdict_kind worst;
} verdict_list;

void verdict_list_init(verdict_list *v);
void verdict_list_free(verdict_list *v);
/* A problem of kind k, one line (printf format). */
void verdict_add(verdict_list *v, verdict_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A warning: said in the summary, not part of the verdict. */
void verdict_warn(verdict_list *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Moves the judgement into summary object o: "verdict", "verdict_reason"
 * (the first reason of the most severe kind, with how many more there
 * are; passed_reason when there is none), "reasons" (most severe first)
 * and "warnings". v is empty afterwards. */
void verdict_list_to_json(verdict_list *v, cJSON *o, const char *passed_reason);

#endif
