/*
 * har_emit.h - a journey plan (har_plan.h) written as a C journey against
 * the SDK, and the scenario file that runs it.
 */
#ifndef MITE_HAR_EMIT_H
#define MITE_HAR_EMIT_H

#include "har/har.h"
#include "har/har_plan.h"

#include <stdio.h>

typedef struct har_emit_info {
	const char *har_name; /* the recording, as the user named it */
	const char *c_name; /* the journey's file name (comments) */
	const char *build; /* the build line (comments) */
	const char *run; /* how to run it (comments) */
	const char *function; /* the journey function's name (a C identifier) */
	const char *base_url; /* base_url's default */
	const char *name; /* the scenario's and the journey's name */
	const char *module; /* "shop.so:journey", as the scenario names it */
} har_emit_info;

/* Writes the journey's C source to f. Returns 0 or -EIO. */
int har_emit_journey(FILE *f, const har *h, const har_plan *p, const har_emit_info *in);

/* Writes a scenario (mite-scenario(5)) that runs the journey with one
 * instance for 60 s, with base_url and think_scale in its config. Returns
 * 0 or -EIO. */
int har_emit_scenario(FILE *f, const har_plan *p, const har_emit_info *in);

/* Non-zero when name can be the journey function's name: a C identifier
 * that is no keyword and no name the generated file uses itself. */
int har_emit_valid_function(const char *name);

#endif
