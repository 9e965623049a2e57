/* cmd_runs.c - start, stop, pause, resume and scale (see cmd_runs.h). */
#include "config.h"

#include "mitectl/cmd_runs.h"

#include "controller/results_io.h"
#include "controller/verdict.h"
#include "mitectl/cli.h"
#include "mitectl/client.h"
#include "mitectl/watch.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* --set options taken by one start. */
#define MAX_SETS 256

/* stop, pause, resume, scale: the reply carries the run as status does. */
static void print_ok_run(const cJSON *reply)
{
	const cJSON *pc = cJSON_GetObjectItemCaseSensitive(reply, "percent");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(reply, "run");
	if (cJSON_IsNumber(pc))
		printf("run %s: scaled to %g%% (%s)\n", results_io_str(r, "id", "?"),
		       pc->valuedouble, results_io_str(r, "state", "?"));
	else
		printf("run %s: %s\n", results_io_str(r, "id", "?"),
		       results_io_str(r, "state", "?"));
}

/* A command on one RUN, with an optional flag (stop --now). */
static int run_arg_command(int argc, char **argv, const char *cmd, const char *flag,
			   const char *synopsis, const char *help)
{
	const char *run = NULL;
	int flag_set = 0;
	if (cli_help_requested(argc, argv, synopsis, help))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (flag && strcmp(argv[i], flag) == 0)
			flag_set = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(synopsis, "unknown option '%s'", argv[i]);
		else if (!run)
			run = argv[i];
		else
			return cli_usage_error(synopsis, "unexpected argument '%s'", argv[i]);
	}
	if (!run)
		return cli_usage_error(synopsis, "which run? (see mitectl list)");
	cJSON *req = client_req(cmd, run);
	if (flag_set)
		cJSON_AddTrueToObject(req, flag + 2);
	return client_simple(req, print_ok_run);
}

int cmd_runs_stop(int argc, char **argv)
{
	return run_arg_command(argc, argv, "stop", "--now", CMD_RUNS_STOP_SYNOPSIS,
			       CMD_RUNS_STOP_HELP);
}

int cmd_runs_pause(int argc, char **argv)
{
	return run_arg_command(argc, argv, "pause", NULL, CMD_RUNS_PAUSE_SYNOPSIS,
			       CMD_RUNS_PAUSE_HELP);
}

int cmd_runs_resume(int argc, char **argv)
{
	return run_arg_command(argc, argv, "resume", NULL, CMD_RUNS_RESUME_SYNOPSIS,
			       CMD_RUNS_RESUME_HELP);
}

int cmd_runs_scale(int argc, char **argv)
{
	if (cli_help_requested(argc, argv, CMD_RUNS_SCALE_SYNOPSIS, CMD_RUNS_SCALE_HELP))
		return EX_OK_;
	if (argc != 3)
		return cli_usage_error(CMD_RUNS_SCALE_SYNOPSIS, "expected RUN and PERCENT");
	char *end;
	const char *p = argv[2];
	double pc = strtod(p, &end);
	if (end == p || (*end && strcmp(end, "%") != 0) || !isfinite(pc) || pc < 0)
		return cli_usage_error(CMD_RUNS_SCALE_SYNOPSIS,
				       "PERCENT must be a number >= 0 (100 = as written), not '%s'",
				       p);
	cJSON *req = client_req("scale", argv[1]);
	cJSON_AddNumberToObject(req, "percent", pc);
	return client_simple(req, print_ok_run);
}

typedef struct start_args {
	const char *sets[MAX_SETS];
	int nsets, wait;
	const char *name, *path;
	double duration;
	long runners;
	const char *hosts; /* --hosts, or NULL */
	int local; /* --local 1, --no-local 0, else -1 */
} start_args;

enum {
	O_SET = 256,
	O_NAME,
	O_DURATION,
	O_RUNNERS,
	O_WAIT,
	O_JSON,
	O_HELP,
	O_HOSTS,
	O_LOCAL,
	O_NO_LOCAL
};

static const struct option start_opts[] = {
	{ "set", required_argument, NULL, O_SET },
	{ "name", required_argument, NULL, O_NAME },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "runners", required_argument, NULL, O_RUNNERS },
	{ "wait", no_argument, NULL, O_WAIT },
	{ "json", no_argument, NULL, O_JSON },
	{ "hosts", required_argument, NULL, O_HOSTS },
	{ "local", no_argument, NULL, O_LOCAL },
	{ "no-local", no_argument, NULL, O_NO_LOCAL },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* One of start's options (getopt's c, its optarg arg) into a: -1 to go on,
 * or the exit status. */
static int start_option(start_args *a, int c, const char *arg)
{
	char *end;
	switch (c) {
	case O_SET:
		if (a->nsets == MAX_SETS || !strchr(arg, '=') || arg[0] == '=')
			return cli_usage_error(CMD_RUNS_START_SYNOPSIS,
					       "--set takes KEY=VALUE (got '%s')", arg);
		a->sets[a->nsets++] = arg;
		return -1;
	case O_NAME:
		a->name = arg;
		return -1;
	case O_DURATION:
		a->duration = strtod(arg, &end);
		if (*end || !(a->duration > 0))
			return cli_usage_error(CMD_RUNS_START_SYNOPSIS,
					       "--duration takes a positive number of seconds");
		return -1;
	case O_RUNNERS:
		a->runners = strtol(arg, &end, 10);
		if (*end || a->runners < 1 || a->runners > 1024)
			return cli_usage_error(CMD_RUNS_START_SYNOPSIS,
					       "--runners takes a number from 1 to 1024");
		return -1;
	case O_WAIT:
		a->wait = 1;
		return -1;
	case O_JSON:
		cli_json = 1;
		return -1;
	case O_HOSTS:
		a->hosts = arg;
		return -1;
	case O_LOCAL:
	case O_NO_LOCAL:
		a->local = c == O_LOCAL;
		return -1;
	case 'h':
	case O_HELP:
		cli_print_help(stdout, CMD_RUNS_START_SYNOPSIS, CMD_RUNS_START_HELP);
		return EX_OK_;
	default:
		return cli_usage_error(CMD_RUNS_START_SYNOPSIS, "bad option");
	}
}

/* start's command line into a: -1 to go on, or the exit status. */
static int start_parse(int argc, char **argv, start_args *a)
{
	optind = 1;
	while (optind < argc) {
		int c = getopt_long(argc, argv, "+h", start_opts, NULL);
		if (c == -1) {
			if (a->path)
				return cli_usage_error(CMD_RUNS_START_SYNOPSIS,
						       "unexpected argument '%s'", argv[optind]);
			a->path = argv[optind++];
			continue;
		}
		int rc = start_option(a, c, optarg);
		if (rc >= 0)
			return rc;
	}
	if (!a->path)
		return cli_usage_error(CMD_RUNS_START_SYNOPSIS, "which scenario file?");
	return -1;
}

/* The start request for the scenario at abs (an absolute path). */
static cJSON *start_request(const start_args *a, const char *abs)
{
	cJSON *req = client_req("start", NULL);
	cJSON_AddStringToObject(req, "scenario", abs);
	cJSON *js = cJSON_AddArrayToObject(req, "sets");
	for (int i = 0; i < a->nsets; i++)
		cJSON_AddItemToArray(js, cJSON_CreateString(a->sets[i]));
	cJSON *je = cJSON_AddArrayToObject(req, "env");
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "MITE_CONF_", 10) == 0)
			cJSON_AddItemToArray(je, cJSON_CreateString(*e));
	if (a->name)
		cJSON_AddStringToObject(req, "name", a->name);
	if (a->duration > 0)
		cJSON_AddNumberToObject(req, "duration", a->duration);
	if (a->runners > 0)
		cJSON_AddNumberToObject(req, "runners", (double)a->runners);
	if (a->hosts)
		cJSON_AddStringToObject(req, "hosts", a->hosts);
	if (a->local >= 0)
		cJSON_AddBoolToObject(req, "local", a->local);
	return req;
}

/* The exit status of a verdict (verdict.h): what cannot be read never
 * passes. */
static int verdict_status(const cJSON *run)
{
	return verdict_exit_status(verdict_kind_of(results_io_str(run, "verdict", NULL)));
}

/* --wait: follows run id on the start's connection; the verdict's exit
 * status. */
static int start_follow(client_conn *cn, const char *id)
{
	cJSON *w = client_req("status", id);
	cJSON_AddTrueToObject(w, "watch");
	cJSON_AddNumberToObject(w, "interval", 1);
	int rc = client_send(cn, w);
	cJSON *final = NULL;
	if (!rc)
		rc = watch_follow(cn, &final, 1);
	if (rc == 130) {
		fprintf(stderr, "mitectl: run %s goes on; 'mitectl stop %s' stops it\n", id, id);
		return 130;
	}
	if (rc || !final)
		return rc ? rc : EX_PROTOCOL;
	rc = verdict_status(cJSON_GetObjectItemCaseSensitive(final, "run"));
	cJSON_Delete(final);
	return rc;
}

int cmd_runs_start(int argc, char **argv)
{
	start_args a = { .nsets = 0, .local = -1 };
	int rc = start_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	char abs[PATH_MAX];
	if (!realpath(a.path, abs)) {
		cli_die("%s: %s", a.path, strerror(errno));
		return EX_REFUSED;
	}
	client_conn cn;
	cJSON *reply = client_request(&cn, start_request(&a, abs), &rc);
	if (!reply) {
		client_close(&cn);
		return rc;
	}
	if (!cli_jtrue(reply, "ok")) {
		rc = client_reply_error(reply, EX_REFUSED);
		cJSON_Delete(reply);
		client_close(&cn);
		return rc;
	}
	/* The run as `status RUN` gives it. */
	char id[128];
	snprintf(id, sizeof(id), "%s",
		 results_io_str(cJSON_GetObjectItemCaseSensitive(reply, "run"), "id", "?"));
	if (cli_json)
		client_print_json(reply);
	else
		printf("%s\n", id);
	fflush(stdout);
	cJSON_Delete(reply);
	rc = a.wait ? start_follow(&cn, id) : EX_OK_;
	client_close(&cn);
	return rc;
}
