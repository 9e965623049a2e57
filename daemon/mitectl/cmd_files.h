/*
 * cmd_files.h - the commands that read a run's result files, from a
 * results folder here or a run of mited: results, cat, report (mitectl(1)).
 */
#ifndef MITE_MITECTL_CMD_FILES_H
#define MITE_MITECTL_CMD_FILES_H

#define CMD_FILES_RESULTS_SYNOPSIS "results RUN|FOLDER [--json]"
#define CMD_FILES_RESULTS_HELP                                                              \
	"Prints the summary of a run (also of one mited has forgotten, from its results\n"  \
	"folder) and where its result files are; or of a results folder given as a path.\n" \
	"--json prints summary.json instead.\n"
#define CMD_FILES_CAT_SYNOPSIS "cat EVENTS.jsonl|FOLDER|RUN|-..."
#define CMD_FILES_CAT_HELP                                                                   \
	"Prints an event log one event per line, readably: errors, HTTP responses, custom\n" \
	"messages, and the per-second volume and stats records. A results folder prints\n"   \
	"its rotated logs oldest first, then events.jsonl; a RUN of mited, its folder's.\n"
#define CMD_FILES_REPORT_SYNOPSIS "report RUN|FOLDER -o FILE.html"
#define CMD_FILES_REPORT_HELP                                                                 \
	"Writes one self-contained HTML file (no network fetches) with charts over time of\n" \
	"requests per second, latency percentiles per transaction, failures and required\n"   \
	"vs actual volume, and the summary tables. -o - writes to standard output.\n"

/* Each takes the command's argv (argv[0] its name) and returns an exit
 * status. */
int cmd_files_results(int argc, char **argv);
int cmd_files_cat(int argc, char **argv);
int cmd_files_report(int argc, char **argv);

#endif
