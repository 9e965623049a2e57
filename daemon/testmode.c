/*
 * testmode.c - `mitectl journey test|run` and `mitectl scenario test`: a
 * controller and one runner in this process, on one loop, talking only
 * through an in-process transport and the runner protocol - the same code
 * paths as the daemon's runs, minus the processes.
 */
#include "testmode.h"

#include "controller/capacity.h"
#include "controller/report.h"
#include "controller/results.h"
#include "controller/results_io.h"
#include "controller/run.h"
#include "controller/scenario.h"
#include "core/log.h"
#include "core/transport.h"
#include "core/proto.h"
#include "runner/runner.h"
#include "testmode_debug.h"
#include "watchdog.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

#define LIVE_INTERVAL 2.0
#define MAX_SETS 256

typedef struct tm_state {
	uv_loop_t loop;
	run *run;
	results *res; /* summary, thresholds, and the files with --results */
	int nrunners; /* in this process: one, more past one's instance bound */
	int runners_done;
	uv_timer_t live;
	watchdog *wd; /* takes SIGINT and SIGTERM (on_signal) */
	int run_done;
	int interrupts;
	int print_events; /* print custom messages and errors as they come */
	int quiet;
	int errors_shown;
	double last_live;
	int debug; /* 0 or PROTO_DEBUG_* */
	unsigned failures; /* failures printed with their details */
	uint64_t trace_instance;
} tm_state;

static void tm_maybe_close(tm_state *st)
{
	if (!st->run_done || st->runners_done < st->nrunners)
		return;
	uv_close((uv_handle_t *)&st->live, NULL);
}

static void on_runner_done(runner *rn, int status, void *data)
{
	tm_state *st = data;

	runner_free(rn);
	st->runners_done++;
	tm_maybe_close(st);
}

static void on_run_done(run *r, void *data)
{
	tm_state *st = data;

	results_finish(st->res, r, NULL);
	st->run_done = 1;
	tm_maybe_close(st);
}

static void print_event(const cJSON *ev)
{
	char *s = cJSON_PrintUnformatted(ev);

	if (s) {
		printf("  %s\n", s);
		cJSON_free(s);
	}
}

static const char *on_tick(run *r, void *data)
{
	tm_state *st = data;

	return results_tick(st->res, r);
}

/* --debug's failures and --trace-http's exchanges: printed in full, and
 * the first failure stops the run (the runner halted already). Non-zero
 * when ev was one of them. */
static int on_debug_event(tm_state *st, const cJSON *ev, int is_error)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");

	if (st->trace_instance && cJSON_IsString(type) &&
	    strcmp(type->valuestring, "http_trace") == 0) {
		testmode_debug_trace(stdout, ev, st->trace_instance);
		return 1;
	}
	if (!is_error || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ev, "debug")))
		return 0;
	testmode_debug_failure(stdout, ev, ++st->failures);
	if (st->debug == PROTO_DEBUG_FIRST && st->failures == 1) {
		fprintf(stderr,
			"mitectl: --debug: stopping the run at its first failure (--debug=all goes on)\n");
		run_stop_at_failure(st->run, "--debug at the first failure");
	}
	return 1;
}

static void on_event(run *r, const cJSON *ev, void *data)
{
	tm_state *st = data;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	int is_error = cJSON_IsString(type) && strcmp(type->valuestring, "error") == 0;

	results_event(st->res, r, ev);
	if (on_debug_event(st, ev, is_error))
		return;
	if (st->print_events &&
	    !(cJSON_IsString(type) && strcmp(type->valuestring, "http_metrics") == 0)) {
		print_event(ev);
		return;
	}
	/* Without -v, show the first few errors so an author sees why. */
	if (is_error && !st->quiet && st->errors_shown < 5) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev, "message");
		const cJSON *loc = cJSON_GetObjectItemCaseSensitive(ev, "location");
		const cJSON *j = cJSON_GetObjectItemCaseSensitive(ev, "journey");

		fprintf(stderr, "error: journey %s at %s: %s%s\n",
			cJSON_IsString(j) ? j->valuestring : "?",
			cJSON_IsString(loc) ? loc->valuestring : "?",
			cJSON_IsString(m) ? m->valuestring : "?",
			++st->errors_shown == 5 ? " (further errors: see the summary)" : "");
	}
}

static void on_live(uv_timer_t *t)
{
	tm_state *st = t->data;
	double now = run_elapsed(st->run);
	stats window;

	if (run_get_state(st->run) == RUN_STARTING)
		return;
	results_take_live(st->res, st->run, &window);
	report_live(stdout, st->run, st->res, &window, LIVE_INTERVAL);
	st->last_live = now;
	stats_free(&window);
}

static void on_signal(int signum, void *data)
{
	tm_state *st = data;

	if (++st->interrupts == 1) {
		fprintf(stderr,
			"\nmitectl: stopping (iterations finish; interrupt again to cancel them)\n");
		run_stop_by(st->run, 0, signum == SIGINT ? "SIGINT (^C)" : "SIGTERM");
	} else {
		fprintf(stderr, "mitectl: cancelling\n");
		run_stop(st->run, 1);
	}
}

static void tm_end_watchdog(tm_state *st)
{
	watchdog_stop(st->wd);
	st->wd = NULL;
}

/* A journey runs in this very process: one that calls exit() would end
 * mitectl in the middle of the run, with the status it chose (0: "all
 * good") and no summary. While a run is on, exit and quick_exit come here
 * first: say what happened, and end with the verdict of a run that did not
 * finish. */
static volatile int run_in_progress;

static void exit_guard(void)
{
	const char *j;

	if (!run_in_progress)
		return;
	j = runner_current_journey();
	fflush(stdout);
	fprintf(stderr,
		"\nmitectl: journey %s ended the process (exit() or quick_exit()) in the middle of the run: "
		"the run did not finish and has no summary; a journey must return, not exit\n",
		j ? j : "(unknown)");
	_exit(TESTMODE_JOURNEY_ERRORS);
}

static void exit_guard_install(void)
{
	static int installed;

	if (installed)
		return;
	installed = 1;
	atexit(exit_guard);
	at_quick_exit(exit_guard);
}

/* The loop and the watchdog (first: it blocks the signals it takes, which
 * threads started later, the results writer and libuv's pool, inherit).
 * 0, or a TESTMODE_* status with s freed. */
static int tm_begin(tm_state *st, scenario *s, const testmode_opts *to)
{
	char err[1024];
	double limit = to->runner_timeout;

	memset(st, 0, sizeof *st);
	st->print_events = to->print_events;
	st->quiet = to->quiet;
	st->debug = to->debug;
	st->trace_instance = to->trace_instance;
	/* A journey stopped at a breakpoint holds the loop: no limit then. */
	if (testmode_debug_traced()) {
		limit = 1e9;
		fprintf(stderr, "mitectl: under a debugger: no --runner-timeout limit\n");
	}
	if (uv_loop_init(&st->loop) < 0) {
		scenario_free(s);
		return TESTMODE_INTERNAL;
	}
	st->wd = watchdog_start(&st->loop,
				&(watchdog_opts){ .limit = limit,
						  .on_signal = on_signal,
						  .data = st,
						  .holder = runner_current_journey,
						  .results_dir = to->results_dir,
						  .exit_status = TESTMODE_HUNG },
				err, sizeof err);
	if (!st->wd) {
		fprintf(stderr, "mitectl: %s\n", err);
		scenario_free(s);
		uv_loop_close(&st->loop);
		return TESTMODE_INTERNAL;
	}
	return 0;
}

/* The run (which takes s) and its results. 0, or a TESTMODE_* status
 * with the loop closed. */
static int tm_open_run(tm_state *st, scenario *s, const testmode_opts *to)
{
	run_opts o = { 0 };
	char err[1024];

	o.grace = to->grace > 0 ? to->grace : 5;
	/* Per-response events cost about as much CPU as the request itself:
	 * only when asked for, and only with an event log to keep them. */
	o.http_events = to->results_dir != NULL && to->http_events;
	o.debug = to->debug;
	o.trace_instance = to->trace_instance;
	o.hooks.on_done = on_run_done;
	o.hooks.on_tick = on_tick;
	o.hooks.on_event = on_event;
	o.hooks.data = st;
	st->run = run_new(&st->loop, s, &o, err, sizeof err);
	if (!st->run) {
		fprintf(stderr, "mitectl: %s\n", err);
		tm_end_watchdog(st);
		uv_run(&st->loop, UV_RUN_DEFAULT);
		uv_loop_close(&st->loop);
		return TESTMODE_SCENARIO;
	}
	st->res = results_new(st->run, &(results_opts){ .dir = to->results_dir, .live = 1 }, err,
			      sizeof err);
	if (!st->res) {
		fprintf(stderr, "mitectl: results: %s\n", err);
		tm_end_watchdog(st);
		run_free(st->run);
		uv_run(&st->loop, UV_RUN_DEFAULT);
		uv_loop_close(&st->loop);
		return TESTMODE_INTERNAL;
	}
	return 0;
}

/* nrunners in-process runners joined to the run, the run started and the
 * live view's timer. 0 or TESTMODE_INTERNAL (the process then ends). */
static int tm_start(tm_state *st, int nrunners)
{
	transport *a, *b;

	for (int i = 0; i < nrunners; i++) {
		if (transport_pair(&st->loop, &a, &b) < 0 || run_add_runner(st->run, a) < 0) {
			fprintf(stderr, "mitectl: cannot set up the runner: out of memory\n");
			return TESTMODE_INTERNAL;
		}
		if (!runner_new(&st->loop, b, i, on_runner_done, st)) {
			fprintf(stderr, "mitectl: cannot start the runner\n");
			return TESTMODE_INTERNAL;
		}
		st->nrunners++;
	}
	if (run_start(st->run) < 0) {
		fprintf(stderr, "mitectl: cannot start the runner\n");
		return TESTMODE_INTERNAL;
	}
	uv_timer_init(&st->loop, &st->live);
	st->live.data = st;
	/* Half a stats interval after the runners' batches, so that each block
	 * covers exactly the last LIVE_INTERVAL seconds of batches. */
	if (!st->quiet)
		uv_timer_start(&st->live, on_live, (uint64_t)(LIVE_INTERVAL * 1000 + 500),
			       (uint64_t)(LIVE_INTERVAL * 1000));
	return 0;
}

/* The end-of-run summary (unless quiet), and results not written said
 * either way. */
static void tm_report(tm_state *st)
{
	if (!st->quiet) {
		/* results_finish made it, unless it ran out of memory. */
		cJSON *now =
			results_summary(st->res) ? NULL : results_summary_now(st->res, st->run);
		const cJSON *sum = now ? now : results_summary(st->res);

		fputc('\n', stdout);
		if (sum)
			results_io_text(stdout, sum);
		if (results_dir(st->res))
			printf("results: %s%s\n", results_dir(st->res),
			       results_on_disk(st->res) ? ""
							: " (the summary is NOT there: see above)");
		fflush(stdout);
		cJSON_Delete(now);
	}
	if (results_dir(st->res) && results_not_written(st->res))
		fprintf(stderr,
			"mitectl: results: could not write %s/%s; the summary%s is not on disk\n",
			results_dir(st->res), results_not_written(st->res),
			st->quiet ? "" : " printed above");
}

/* The exit status (the verdict's), then the run, its results and the loop
 * freed. */
static int tm_finish(tm_state *st, const testmode_opts *to)
{
	int rc;

	if (to->inspect)
		to->inspect(st->run, to->data);
	if (run_error(st->run) && run_get_state(st->run) == RUN_DONE && !run_totals(st->run)->first)
		rc = TESTMODE_SCENARIO;
	else
		rc = verdict_exit_status(results_verdict_kind(st->res, st->run));
	/* The results first: they point into the run's scenario. */
	results_free(st->res);
	run_free(st->run);
	/* run_free of a done run frees at once; drain anything left. */
	uv_run(&st->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&st->loop) != 0)
		log_warn("mitectl: loop closed with handles still open");
	return rc;
}

int testmode_execute(scenario *s, const testmode_opts *to)
{
	tm_state st;
	char err[1024];
	int rc, nrunners;

	/* Refused before anything starts: a volume this process cannot hold
	 * (memory mappings, memory). One runner holds proto_instances_max()
	 * instances of a journey; past that, more runners, in this process. */
	nrunners = capacity_runners(s, 1.0, 1, 0, err, sizeof err);
	if (nrunners < 0) {
		fprintf(stderr, "mitectl: %s\n", err);
		scenario_free(s);
		return TESTMODE_SCENARIO;
	}
	if ((rc = tm_begin(&st, s, to)) != 0 || (rc = tm_open_run(&st, s, to)) != 0 ||
	    (rc = tm_start(&st, nrunners)) != 0)
		return rc;
	exit_guard_install();
	run_in_progress = 1;
	uv_run(&st.loop, UV_RUN_DEFAULT);
	run_in_progress = 0;
	tm_end_watchdog(&st);
	tm_report(&st);
	return tm_finish(&st, to);
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !*s || *end || errno || !(*out >= 0) ? -EINVAL : 0;
}

static void usage_debug(FILE *f)
{
	fprintf(f,
		"--debug[=all]: print a failure with its file:line, datapool row and last HTTP exchange, and stop\n"
		"  the run there (=all: print every failure and go on). --trace-http: print every request and\n"
		"  response of instance 1 (--trace-instance N: of instance N). --gdb: run under gdb with a\n"
		"  breakpoint on the journey. See mitectl(1), DEBUGGING.\n");
}

static void usage_journey(FILE *f)
{
	fprintf(f,
		"usage: mitectl journey test MODULE.so:SYMBOL [DATAPOOL] [--volume N] [--duration S] [--set K=V]... [--results DIR [--http-events]] [--runner-timeout S] [DEBUG] [-v]\n"
		"       mitectl journey run MODULE.so:SYMBOL [DATAPOOL] [--set K=V]... [--results DIR [--http-events]] [--runner-timeout S] [DEBUG] [-v]\n"
		"DEBUG: [--debug[=all]] [--trace-http [--trace-instance N]] [--gdb]\n"
		"DATAPOOL is FILE.csv (a header row names the columns), range:FIRST:LAST, or MODULE.so:SYMBOL.\n"
		"`test` runs N instances (default 1) until stopped or S seconds; `run` runs one iteration.\n"
		"--runner-timeout S: a journey that does not yield for S seconds (default 10) ends mitectl with status 6.\n");
	usage_debug(f);
}

static void usage_scenario(FILE *f)
{
	fprintf(f,
		"usage: mitectl scenario test SCENARIO.conf [--set K=V]... [--duration S] [--results DIR [--http-events]] [--runner-timeout S] [DEBUG] [-v]\n"
		"DEBUG: [--debug[=all]] [--trace-http [--trace-instance N]] [--gdb]\n"
		"--runner-timeout S: a journey that does not yield for S seconds (default 10) ends mitectl with status 6.\n");
	usage_debug(f);
}

enum {
	OPT_SET = 256,
	OPT_DURATION,
	OPT_VOLUME,
	OPT_GRACE,
	OPT_RESULTS,
	OPT_HTTP_EVENTS,
	OPT_RUNNER_TIMEOUT,
	OPT_DEBUG,
	OPT_TRACE_HTTP,
	OPT_TRACE_INSTANCE,
	OPT_GDB
};

static const struct option tm_options[] = {
	{ "set", required_argument, NULL, OPT_SET },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "volume", required_argument, NULL, OPT_VOLUME },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ "http-events", no_argument, NULL, OPT_HTTP_EVENTS },
	{ "runner-timeout", required_argument, NULL, OPT_RUNNER_TIMEOUT },
	{ "debug", optional_argument, NULL, OPT_DEBUG },
	{ "trace-http", no_argument, NULL, OPT_TRACE_HTTP },
	{ "trace-instance", required_argument, NULL, OPT_TRACE_INSTANCE },
	{ "gdb", no_argument, NULL, OPT_GDB },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

typedef struct tm_args {
	const char *sets[MAX_SETS + 1];
	size_t nsets;
	double duration, grace, runner_timeout;
	const char *results;
	long volume;
	int verbose;
	int http_events;
	int debug; /* 0 or PROTO_DEBUG_* */
	uint64_t trace_instance; /* 0: no trace */
	int gdb;
	const char *pos[3];
	int npos;
} tm_args;

/* --set KEY=VALUE: 0, or -EINVAL (said). */
static int tm_opt_set(tm_args *a, const char *arg)
{
	if (a->nsets == MAX_SETS) {
		fprintf(stderr, "mitectl: more than %d --set options\n", MAX_SETS);
		return -EINVAL;
	}
	if (!strchr(arg, '=') || arg[0] == '=') {
		fprintf(stderr, "mitectl: --set takes KEY=VALUE (got '%s')\n", arg);
		return -EINVAL;
	}
	a->sets[a->nsets++] = arg;
	return 0;
}

/* --debug[=first|all]: 0, or -EINVAL (said). */
static int tm_opt_debug(tm_args *a, const char *arg)
{
	if (!arg || strcmp(arg, "first") == 0) {
		a->debug = PROTO_DEBUG_FIRST;
	} else if (strcmp(arg, "all") == 0) {
		a->debug = PROTO_DEBUG_ALL;
	} else {
		fprintf(stderr, "mitectl: --debug takes no value, =first or =all (got '%s')\n",
			arg);
		return -EINVAL;
	}
	return 0;
}

/* --trace-instance N: 0, or -EINVAL (said). */
static int tm_opt_trace_instance(tm_args *a, const char *arg)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!*arg || *end || errno || v < 1 || v > PROTO_TRACE_INSTANCE_MAX || arg[0] == '-') {
		fprintf(stderr,
			"mitectl: --trace-instance takes an instance id from 1 to %llu, as error "
			"events show them (got '%s')\n",
			(unsigned long long)PROTO_TRACE_INSTANCE_MAX, arg);
		return -EINVAL;
	}
	a->trace_instance = v;
	return 0;
}

/* The options that take seconds: 0, or -EINVAL (said). */
static int tm_opt_seconds(tm_args *a, int c, const char *arg)
{
	switch (c) {
	case OPT_DURATION:
		if (parse_double(arg, &a->duration) < 0 || a->duration <= 0) {
			fprintf(stderr,
				"mitectl: --duration takes a positive number of seconds (got '%s')\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_GRACE:
		if (parse_double(arg, &a->grace) < 0) {
			fprintf(stderr, "mitectl: --grace takes seconds (got '%s')\n", arg);
			return -EINVAL;
		}
		return 0;
	default: /* OPT_RUNNER_TIMEOUT */
		if (parse_double(arg, &a->runner_timeout) < 0 || a->runner_timeout <= 0 ||
		    a->runner_timeout > 86400) {
			fprintf(stderr,
				"mitectl: --runner-timeout takes seconds, more than 0 and at most 86400 (got '%s')\n",
				arg);
			return -EINVAL;
		}
		return 0;
	}
}

/* --volume N: 0, or -EINVAL (said). */
static int tm_opt_volume(tm_args *a, const char *arg)
{
	char *end;

	a->volume = strtol(arg, &end, 10);
	if (*end || a->volume < 1) {
		fprintf(stderr, "mitectl: --volume takes a positive integer (got '%s')\n", arg);
		return -EINVAL;
	}
	return 0;
}

/* One option (getopt's c, with its argument arg) into a: 0 to go on, 1
 * when the help was printed, or -EINVAL (said). */
static int tm_option(tm_args *a, int c, const char *arg, void (*usage)(FILE *))
{
	switch (c) {
	case OPT_SET:
		return tm_opt_set(a, arg);
	case OPT_DURATION:
	case OPT_GRACE:
	case OPT_RUNNER_TIMEOUT:
		return tm_opt_seconds(a, c, arg);
	case OPT_HTTP_EVENTS:
		a->http_events = 1;
		return 0;
	case OPT_DEBUG:
		return tm_opt_debug(a, arg);
	case OPT_TRACE_HTTP:
		if (!a->trace_instance)
			a->trace_instance = 1;
		return 0;
	case OPT_TRACE_INSTANCE:
		return tm_opt_trace_instance(a, arg);
	case OPT_GDB:
		a->gdb = 1;
		return 0;
	case OPT_RESULTS:
		if (!*arg) {
			fprintf(stderr, "mitectl: --results takes a folder\n");
			return -EINVAL;
		}
		a->results = arg;
		return 0;
	case OPT_VOLUME:
		return tm_opt_volume(a, arg);
	case 'v':
		a->verbose = 1;
		return 0;
	case 'h':
		usage(stdout);
		return 1;
	default:
		usage(stderr);
		return -EINVAL;
	}
}

/* The command line into a: 0, 1 when the help was printed, or -EINVAL
 * (said). */
static int tm_parse(int argc, char **argv, tm_args *a, void (*usage)(FILE *))
{
	memset(a, 0, sizeof *a);
	a->volume = 1;
	a->grace = 5;
	optind = 1;
	/* "+" stops at the first positional argument; take it and go on, so
	 * options may come before or after positional arguments. */
	while (optind < argc) {
		int c = getopt_long(argc, argv, "+vh", tm_options, NULL);
		if (c == -1) {
			if (optind >= argc)
				break;
			if (a->npos == 3) {
				fprintf(stderr, "mitectl: unexpected argument '%s'\n",
					argv[optind]);
				return -EINVAL;
			}
			a->pos[a->npos++] = argv[optind++];
			continue;
		}
		int rc = tm_option(a, c, optarg, usage);
		if (rc)
			return rc;
	}
	return 0;
}

#define MAX_PLUGIN_DIRS 32

/* Plugin folders: those in $MITE_PLUGIN_PATH (colon-separated, searched
 * first), then the installed one. */
static const char *const *tm_plugin_dirs(void)
{
	static char *path;
	static const char *dirs[MAX_PLUGIN_DIRS + 2];
	const char *env = getenv("MITE_PLUGIN_PATH");
	size_t n = 0;

	if (env && *env && !path && (path = strdup(env))) {
		for (char *save = NULL, *d = strtok_r(path, ":", &save); d;
		     d = strtok_r(NULL, ":", &save)) {
			if (n == MAX_PLUGIN_DIRS) {
				fprintf(stderr,
					"mitectl: MITE_PLUGIN_PATH: more than %d folders; from '%s' on "
					"they are not searched\n",
					MAX_PLUGIN_DIRS, d);
				break;
			}
			dirs[n++] = d;
		}
	}
	dirs[n++] = MITE_PLUGINDIR;
	dirs[n] = NULL;
	return dirs;
}

static void tm_scenario_opts(scenario_opts *so, const tm_args *a)
{
	memset(so, 0, sizeof *so);
	so->sets = a->sets;
	so->env = (const char *const *)environ;
	so->plugin_dirs = tm_plugin_dirs();
	/* The foreground modes are an author's own tool: modules load from
	 * anywhere the author points at. */
	so->allow_any_path = 1;
	so->api = runner_api();
	so->duration_override = a->duration;
}

/* --gdb: the same command under gdb, with a breakpoint on every journey
 * of s (which goes: the command loads it again under gdb). */
static int tm_gdb(const char *word, int argc, char **argv, scenario *s)
{
	const char *syms[65];
	size_t n = 0;

	for (size_t i = 0; i < s->njourneys && n < 64; i++)
		syms[n++] = s->journeys[i].symbol;
	syms[n] = NULL;
	/* (On success, gdb replaces this process: nothing to free.) */
	n = (size_t)testmode_debug_gdb(word, argc, argv, syms);
	scenario_free(s);
	return (int)n;
}

static testmode_opts tm_opts(const tm_args *a, int print_events)
{
	return (testmode_opts){ .print_events = print_events,
				.grace = a->grace,
				.results_dir = a->results,
				.http_events = a->http_events,
				.runner_timeout = a->runner_timeout,
				.debug = a->debug,
				.trace_instance = a->trace_instance };
}

int testmode_journey(int argc, char **argv)
{
	tm_args a;
	scenario_opts so;
	testmode_opts o;
	scenario *s;
	char err[1024];
	int once, rc;

	if (argc < 1 || (strcmp(argv[0], "test") != 0 && strcmp(argv[0], "run") != 0)) {
		usage_journey(stderr);
		return TESTMODE_USAGE;
	}
	once = strcmp(argv[0], "run") == 0;
	rc = tm_parse(argc, argv, &a, usage_journey);
	if (rc)
		return rc > 0 ? TESTMODE_OK : TESTMODE_USAGE;
	if (a.npos < 1 || a.npos > 2) {
		usage_journey(stderr);
		return TESTMODE_USAGE;
	}
	tm_scenario_opts(&so, &a);
	s = scenario_for_journey(a.pos[0], a.npos > 1 ? a.pos[1] : NULL, once ? 1 : a.volume, once,
				 &so, err, sizeof err);
	if (!s) {
		fprintf(stderr, "mitectl: %s\n", err);
		return TESTMODE_SCENARIO;
	}
	if (a.gdb)
		return tm_gdb("journey", argc, argv, s);
	o = tm_opts(&a, 1);
	return testmode_execute(s, &o);
}

int testmode_scenario(int argc, char **argv)
{
	tm_args a;
	scenario_opts so;
	testmode_opts o;
	scenario *s;
	char err[1024];
	int rc;

	if (argc < 1 || strcmp(argv[0], "test") != 0) {
		usage_scenario(stderr);
		return TESTMODE_USAGE;
	}
	rc = tm_parse(argc, argv, &a, usage_scenario);
	if (rc)
		return rc > 0 ? TESTMODE_OK : TESTMODE_USAGE;
	if (a.npos != 1) {
		usage_scenario(stderr);
		return TESTMODE_USAGE;
	}
	tm_scenario_opts(&so, &a);
	s = scenario_load(a.pos[0], &so, err, sizeof err);
	if (!s) {
		fprintf(stderr, "mitectl: %s\n", err);
		return TESTMODE_SCENARIO;
	}
	if (a.gdb)
		return tm_gdb("scenario", argc, argv, s);
	o = tm_opts(&a, a.verbose);
	return testmode_execute(s, &o);
}
