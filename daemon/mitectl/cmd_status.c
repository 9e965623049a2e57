/* cmd_status.c - status, list, version and ping (see cmd_status.h). */
#include "config.h"

#include "mitectl/cmd_status.h"

#include "controller/results_io.h"
#include "controller/results_view.h"
#include "mitectl/cli.h"
#include "mitectl/client.h"
#include "mitectl/view.h"
#include "mitectl/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_status(const cJSON *reply)
{
	view_status(stdout, reply, 0);
}

/* status --watch: the first reply on the stream, then watch_follow. */
static int status_watch(cJSON *req, double interval)
{
	cJSON_AddTrueToObject(req, "watch");
	cJSON_AddNumberToObject(req, "interval", interval);
	client_conn c;
	int rc;
	cJSON *first = client_request(&c, req, &rc);
	if (!first) {
		client_close(&c);
		return rc;
	}
	if (!cli_jtrue(first, "ok")) {
		rc = client_reply_error(first, EX_FAILED);
		cJSON_Delete(first);
		client_close(&c);
		return rc;
	}
	if (cli_json)
		client_print_json(first);
	else {
		if (isatty(STDOUT_FILENO))
			fputs("\033[H\033[J", stdout);
		view_status(stdout, first, 1);
		fflush(stdout);
	}
	cJSON *final = NULL;
	if (!cli_jtrue(first, "final"))
		rc = watch_follow(&c, &final, 0);
	cJSON_Delete(first);
	cJSON_Delete(final);
	client_close(&c);
	return rc == 130 ? EX_OK_ : rc;
}

int cmd_status_status(int argc, char **argv)
{
	const char *run = NULL;
	int watch = 0;
	double interval = 1;
	if (cli_help_requested(argc, argv, CMD_STATUS_SYNOPSIS, CMD_STATUS_HELP))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0 || strcmp(argv[i], "-w") == 0) {
			watch = 1;
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			char *end;
			interval = strtod(argv[++i], &end);
			if (*end || !(interval >= 0.1))
				return cli_usage_error(CMD_STATUS_SYNOPSIS,
						       "--interval takes seconds (at least 0.1)");
		} else if (argv[i][0] == '-') {
			return cli_usage_error(CMD_STATUS_SYNOPSIS, "unknown option '%s'", argv[i]);
		} else if (!run) {
			run = argv[i];
		} else {
			return cli_usage_error(CMD_STATUS_SYNOPSIS, "unexpected argument '%s'",
					       argv[i]);
		}
	}
	cJSON *req = client_req("status", run);
	if (!watch)
		return client_simple(req, print_status);
	return status_watch(req, interval);
}

static int list_quiet;

static const char *state_color(const char *state, int failed)
{
	if (failed)
		return C_RED;
	if (strcmp(state, "running") == 0)
		return C_GREEN;
	if (strcmp(state, "done") == 0)
		return "";
	return C_YELLOW;
}

static void print_list(const cJSON *reply)
{
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(reply, "runs"), *r;
	if (list_quiet) {
		cJSON_ArrayForEach(r, runs) puts(results_io_str(r, "id", "?"));
		return;
	}
	if (cJSON_GetArraySize(runs) == 0) {
		printf("no runs\n");
		return;
	}
	printf("%s%-22s %-20s %-9s %9s %9s %-8s%s\n", C_DIM, "RUN", "NAME", "STATE", "ELAPSED",
	       "DURATION", "VERDICT", C_RESET);
	cJSON_ArrayForEach(r, runs)
	{
		char el[32], du[32];
		const char *state = results_io_str(r, "state", "?");
		const char *v = results_io_str(r, "verdict", "-");
		double dur = results_io_num(r, "duration", 0);
		printf("%-22s %-20.20s %s%-9s%s %9s %9s %s%-8s%s\n", results_io_str(r, "id", "?"),
		       results_io_str(r, "name", "?"), state_color(state, 0), state, C_RESET,
		       results_view_dur(el, sizeof(el), results_io_num(r, "elapsed", 0)),
		       dur > 0 ? results_view_dur(du, sizeof(du), dur) : "-",
		       strcmp(v, "passed") == 0      ? C_GREEN
			       : strcmp(v, "-") == 0 ? ""
						     : C_RED,
		       v, C_RESET);
	}
}

int cmd_status_list(int argc, char **argv)
{
	if (cli_help_requested(argc, argv, CMD_STATUS_LIST_SYNOPSIS, CMD_STATUS_LIST_HELP))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			list_quiet = 1;
		else
			return cli_usage_error(CMD_STATUS_LIST_SYNOPSIS, "unexpected argument '%s'",
					       argv[i]);
	}
	return client_simple(client_req("list", NULL), print_list);
}

static void print_version(const cJSON *reply)
{
	printf("mitectl %s\nmited %s (pid %.0f, runner protocol %.0f, module ABI %.0f)\n",
	       PACKAGE_VERSION, results_io_str(reply, "version", "?"),
	       results_io_num(reply, "pid", 0), results_io_num(reply, "protocol", 0),
	       results_io_num(reply, "abi", 0));
}

int cmd_status_version(int argc, char **argv)
{
	if (cli_help_requested(argc, argv, CMD_STATUS_VERSION_SYNOPSIS, CMD_STATUS_VERSION_HELP))
		return EX_OK_;
	if (argc > 1)
		return cli_usage_error(CMD_STATUS_VERSION_SYNOPSIS, "unexpected argument '%s'",
				       argv[1]);
	return client_simple(client_req("version", NULL), print_version);
}

static void print_pong(const cJSON *reply)
{
	(void)reply;
	printf("mited is alive at %s\n", cli_socket);
}

int cmd_status_ping(int argc, char **argv)
{
	if (cli_help_requested(argc, argv, CMD_STATUS_PING_SYNOPSIS, CMD_STATUS_PING_HELP))
		return EX_OK_;
	if (argc > 1)
		return cli_usage_error(CMD_STATUS_PING_SYNOPSIS, "unexpected argument '%s'",
				       argv[1]);
	return client_simple(client_req("ping", NULL), print_pong);
}
