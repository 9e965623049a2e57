/*
 * cli.h - what every mitectl command shares (mitectl(1)): the exit
 * statuses, the global options, colours, and the messages for errors, a
 * command's --help and a bad command line.
 */
#ifndef MITE_MITECTL_CLI_H
#define MITE_MITECTL_CLI_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* Exit statuses (mitectl(1)); the test modes use testmode.h's, and
 * start --wait the verdict's (verdict.h: 0, 1, 4, 5, 6, 7). */
#define EX_OK_ 0
#define EX_FAILED 1 /* an error reply, or the run failed (--wait) */
#define EX_USAGE_ 2 /* bad command line */
#define EX_REFUSED 3 /* start: the scenario (or the daemon) refused it */
#define EX_UNAVAILABLE_ 69 /* mited is not running / not reachable */
#define EX_PROTOCOL 70 /* an answer that makes no sense */
#define EX_NOPERM_ 77 /* not allowed to talk to mited */

/* The global options: --socket (or its default), --json, and whether
 * stdout gets colours. */
extern const char *cli_socket;
extern int cli_json;
extern int cli_color;

#define C_RESET (cli_color ? "\033[0m" : "")
#define C_BOLD (cli_color ? "\033[1m" : "")
#define C_RED (cli_color ? "\033[31m" : "")
#define C_GREEN (cli_color ? "\033[32m" : "")
#define C_YELLOW (cli_color ? "\033[33m" : "")
#define C_DIM (cli_color ? "\033[2m" : "")

/* "mitectl: " and the message on stderr. */
void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether member k of o is true. */
int cli_jtrue(const cJSON *o, const char *k);
/* A command's help: its synopsis and help text. */
void cli_print_help(FILE *f, const char *synopsis, const char *help);
/* Whether argv (before a "--") asks for --help / -h; if so, the help is
 * printed on stdout. */
int cli_help_requested(int argc, char **argv, const char *synopsis, const char *help);
/* A bad command line: the message and the synopsis on stderr; EX_USAGE_. */
int cli_usage_error(const char *synopsis, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
