/*
 * scenario.h - scenario files (libconfig), see mite-scenario(5).
 *
 * scenario_load parses and validates a whole scenario - @include relative
 * to its folder, config block and overrides, every journey's module and
 * symbol (opened and ABI-checked), datapool and volume model - and returns
 * it only when all of it is good. Any error is one line
 * "file:line: what is wrong" and nothing is left allocated or loaded.
 *
 * Before libconfig reads it, the file and every file it @includes are
 * checked against SCENARIO_FILE_MAX and SCENARIO_STRING_MAX
 * (controller/cfgbound.h), so that no file can make the parse take long.
 *
 * scenario_load may run on any thread, one load per thread (mited runs it
 * off its loop): libconfig objects are per call, the module list is locked
 * (core/module.c), and the datapool plugins it opens are called on that
 * thread. The scenario it returns is then used by one thread at a time.
 */
#ifndef MITE_CONTROLLER_SCENARIO_H
#define MITE_CONTROLLER_SCENARIO_H

#include "controller/pool.h"
#include "controller/thresholds.h"
#include "controller/verdict.h"
#include "controller/vmodel.h"
#include "core/kvl.h"
#include "core/module.h"
#include <mite/mite.h>
#include <stddef.h>

#include <stdatomic.h>

/* Bytes of a scenario file and the files it @includes, together. */
#define SCENARIO_FILE_MAX ((size_t)16 << 20)
/* Bytes of one string value in them (adjacent literals count as one). */
#define SCENARIO_STRING_MAX ((size_t)64 << 10)
/* Bytes of a scenario's name and of a journey's name. */
#define SCENARIO_NAME_MAX 256

typedef struct scn_journey {
	char *name; /* `name`, or the spec when unset */
	char *spec; /* "module.so:symbol" as written */
	char *module_path; /* resolved, canonical */
	char *symbol;
	size_t stack_size; /* bytes; CORO_DEFAULT_STACK when unset */
	pool *pool; /* NULL: the journey gets an empty row */
	vmodel *volume;
	int line; /* where the journey's entry starts */
	module *mod; /* opened to check it; owned */
	module *pool_mod; /* the datapool plugin's module, or NULL; owned */
	module *volume_mod; /* the volume plugin's module, or NULL; owned */
} scn_journey;

typedef struct scenario {
	char *path; /* canonical */
	char *dir; /* its folder */
	char *name; /* `name`, or the file's base name without .conf */
	double duration; /* seconds; 0 = until every model stops */
	kvl config; /* the config block, then MITE_CONF_*, then --set */
	scn_journey *journeys;
	size_t njourneys;
	/* Recyclable pool smaller than the concurrency it serves: "wait" (an
	 * iteration waits for a free row, reported) or "refuse". */
	int pool_refuse_small;
	/* `thresholds` (mite-scenario(5)), or NULL when there are none. */
	thresholds *thresholds;
	/* `verdict`: tolerances and bounds of the judgement (the defaults
	 * when the scenario has none). */
	verdict_conf verdict;
	/* `hosts` ("all", "none", "N", "label=L"; NULL when absent) and
	 * `local` (1, 0, -1 when absent): which runners mited gives the run
	 * (docs/distributed.md). */
	char *hosts;
	int local;
} scenario;

typedef struct scenario_opts {
	const char *const *sets; /* "key=value" (--set), NULL-terminated, or NULL */
	const char *const *env; /* environ to take MITE_CONF_* from, or NULL */
	const char *const *plugin_dirs; /* NULL-terminated, or NULL */
	/* Modules from anywhere. Otherwise a module must lie inside one of
	 * plugin_dirs, or inside the scenario's folder when plugin_dirs is NULL
	 * or empty (see module_find). */
	int allow_any_path;
	/* Handed to every module opened. NULL: a table holding only the row
	 * calls (all a datapool plugin may use in the controller). */
	const mite_api *api;
	double duration_override; /* > 0: replaces `duration` */
	/* When it points to a non-zero value (set from another thread), the
	 * load gives up at its next step with "cancelled". NULL: never. */
	const atomic_int *cancel;
} scenario_opts;

/* NULL with "file:line: reason" in err. */
scenario *scenario_load(const char *path, const scenario_opts *o, char *err, size_t errlen);
/* The one-journey scenario behind `mitectl journey test|run`: journey spec
 * "module.so:symbol" (relative to the working folder), an optional
 * datapool spec - "file.csv" (header row -> names), "range:FIRST:LAST", or
 * a plugin "module.so:symbol" - used as recyclable for `test` and iterable
 * for `run`, and a constant volume (or oneshot when once is set). */
scenario *scenario_for_journey(const char *spec, const char *pool_spec, long volume, int once,
			       const scenario_opts *o, char *err, size_t errlen);
void scenario_free(scenario *s);
/* What a finished run no longer needs: every journey's datapool (a CSV
 * of millions of rows) and its module, and the journey modules (closed).
 * The names, paths, config, thresholds and volume models (a few bytes;
 * the verdict asks whether a model is open) stay for the status, the
 * results and the metrics. */
void scenario_release_runtime(scenario *s);

#endif
