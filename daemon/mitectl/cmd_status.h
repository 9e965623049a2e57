/*
 * cmd_status.h - the commands that ask mited how it and its runs are:
 * status (--watch), list, version, ping (mitectl(1)).
 */
#ifndef MITE_MITECTL_CMD_STATUS_H
#define MITE_MITECTL_CMD_STATUS_H

#define CMD_STATUS_SYNOPSIS "status [RUN] [--watch] [--interval S]"
#define CMD_STATUS_HELP                                                                         \
	"Shows a run (progress, the verdict so far and why, required vs actual instances and\n" \
	"how far short, tx/s, failures, p50/p95/p99 per transaction, the runners' loop lag),\n" \
	"or every active run. --watch redraws every S seconds (default 1) until the run ends\n" \
	"or ^C.\n"
#define CMD_STATUS_LIST_SYNOPSIS "list [-q]"
#define CMD_STATUS_LIST_HELP \
	"Lists the runs mited knows: active ones and recently finished ones. -q prints ids only.\n"
#define CMD_STATUS_VERSION_SYNOPSIS "version"
#define CMD_STATUS_VERSION_HELP "Prints the versions of mitectl and mited.\n"
#define CMD_STATUS_PING_SYNOPSIS "ping"
#define CMD_STATUS_PING_HELP "Checks that mited answers.\n"

/* Each takes the command's argv (argv[0] its name) and returns an exit
 * status. */
int cmd_status_status(int argc, char **argv);
int cmd_status_list(int argc, char **argv);
int cmd_status_version(int argc, char **argv);
int cmd_status_ping(int argc, char **argv);

#endif
