/*
 * main.c - mitectl, the command-line client of mited: one JSON request per
 * line on the control socket (mite-control(7)), its reply printed for
 * people (tables, colours on a terminal) or as JSON for scripts; plus the
 * foreground test modes (testmode.h), which need no daemon. See mitectl(1).
 *
 * This file holds the command table, the global options, the usage and
 * `help`, and the dispatch; each group of commands has a file of its own.
 */
#include "config.h"

#include "mitectl/cli.h"
#include "mitectl/client.h"
#include "mitectl/cmd_files.h"
#include "mitectl/cmd_har.h"
#include "mitectl/cmd_hosts.h"
#include "mitectl/cmd_runs.h"
#include "mitectl/cmd_status.h"
#include "mitectl/cmd_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
	const char *help;
} command;

static int cmd_help(int argc, char **argv);

static const command commands[] = {
	{ "start", cmd_runs_start, CMD_RUNS_START_SYNOPSIS, CMD_RUNS_START_HELP },
	{ "status", cmd_status_status, CMD_STATUS_SYNOPSIS, CMD_STATUS_HELP },
	{ "list", cmd_status_list, CMD_STATUS_LIST_SYNOPSIS, CMD_STATUS_LIST_HELP },
	{ "stop", cmd_runs_stop, CMD_RUNS_STOP_SYNOPSIS, CMD_RUNS_STOP_HELP },
	{ "pause", cmd_runs_pause, CMD_RUNS_PAUSE_SYNOPSIS, CMD_RUNS_PAUSE_HELP },
	{ "resume", cmd_runs_resume, CMD_RUNS_RESUME_SYNOPSIS, CMD_RUNS_RESUME_HELP },
	{ "scale", cmd_runs_scale, CMD_RUNS_SCALE_SYNOPSIS, CMD_RUNS_SCALE_HELP },
	{ "results", cmd_files_results, CMD_FILES_RESULTS_SYNOPSIS, CMD_FILES_RESULTS_HELP },
	{ "cat", cmd_files_cat, CMD_FILES_CAT_SYNOPSIS, CMD_FILES_CAT_HELP },
	{ "report", cmd_files_report, CMD_FILES_REPORT_SYNOPSIS, CMD_FILES_REPORT_HELP },
	{ "version", cmd_status_version, CMD_STATUS_VERSION_SYNOPSIS, CMD_STATUS_VERSION_HELP },
	{ "ping", cmd_status_ping, CMD_STATUS_PING_SYNOPSIS, CMD_STATUS_PING_HELP },
	{ "journey", cmd_test_journey, CMD_TEST_JOURNEY_SYNOPSIS, CMD_TEST_JOURNEY_HELP },
	{ "scenario", cmd_test_scenario, CMD_TEST_SCENARIO_SYNOPSIS, CMD_TEST_SCENARIO_HELP },
	{ "hosts", cmd_hosts_list, CMD_HOSTS_SYNOPSIS, CMD_HOSTS_HELP },
	{ "keygen", cmd_hosts_keygen, CMD_HOSTS_KEYGEN_SYNOPSIS, CMD_HOSTS_KEYGEN_HELP },
	{ "har", cmd_har_main, CMD_HAR_SYNOPSIS, CMD_HAR_HELP },
	{ "help", cmd_help, "help [COMMAND]", "Shows the help of mitectl or of one command.\n" },
	{ NULL, NULL, NULL, NULL },
};

static const command *find_command(const char *name)
{
	for (const command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mitectl [--socket PATH] [--json] [--no-color] COMMAND [ARG]...\n\n"
		"Drives mited, the mite load-testing daemon, over its control socket.\n\n"
		"Commands:\n");
	for (const command *c = commands; c->name; c++)
		fprintf(f, "  %s\n", c->synopsis);
	fprintf(f,
		"\nOptions:\n"
		"  -s, --socket PATH  mited's socket (default: $MITE_SOCKET, then\n"
		"                     $XDG_RUNTIME_DIR/mite/mited.sock when it exists, then\n"
		"                     /run/mite/mited.sock)\n"
		"  -j, --json         print replies as JSON objects, one per line\n"
		"      --no-color     no colours (also when NO_COLOR is set or not a terminal)\n"
		"  -h, --help         this help; `mitectl COMMAND --help` for a command's\n"
		"  -V, --version      print mitectl's version\n\n"
		"See mitectl(1) and mite-control(7).\n");
}

static int cmd_help(int argc, char **argv)
{
	const command *c;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		c = find_command("help");
		cli_print_help(stdout, c->synopsis, c->help);
		return EX_OK_;
	}
	if (argc < 2) {
		usage(stdout);
		return EX_OK_;
	}
	if (!(c = find_command(argv[1]))) {
		cli_die("no command '%s'", argv[1]);
		return EX_USAGE_;
	}
	cli_print_help(stdout, c->synopsis, c->help);
	return EX_OK_;
}

/* The global options before the command: the index of the command, or -1
 * with *rc the exit status. */
static int global_options(int argc, char **argv, int *no_color, int *rc)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0) && i + 1 < argc)
			cli_socket = argv[++i];
		else if (strncmp(a, "--socket=", 9) == 0)
			cli_socket = a + 9;
		else if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0)
			cli_json = 1;
		else if (strcmp(a, "--no-color") == 0 || strcmp(a, "--no-colour") == 0)
			*no_color = 1;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			*rc = EX_OK_;
			return -1;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("mitectl %s\n", PACKAGE_VERSION);
			*rc = EX_OK_;
			return -1;
		} else {
			cli_die("unknown option '%s'", a);
			usage(stderr);
			*rc = EX_USAGE_;
			return -1;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	int no_color = 0, rc;
	cli_socket = NULL;
	int i = global_options(argc, argv, &no_color, &rc);
	if (i < 0)
		return rc;
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	if (!cli_socket)
		cli_socket = client_default_socket();
	const char *nc = getenv("NO_COLOR");
	cli_color = !no_color && !cli_json && !(nc && *nc) && isatty(STDOUT_FILENO);
	const command *c = find_command(argv[i]);
	if (!c) {
		cli_die("no command '%s' (see mitectl --help)", argv[i]);
		return EX_USAGE_;
	}
	return c->fn(argc - i, argv + i);
}
