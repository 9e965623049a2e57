/*
 * cmd_test.h - `mitectl journey|scenario test`: a run in this process,
 * without mited (testmode.h; mitectl(1)).
 */
#ifndef MITE_MITECTL_CMD_TEST_H
#define MITE_MITECTL_CMD_TEST_H

#define CMD_TEST_DEBUG_HELP                                                                        \
	"--debug: at the first failure, print it with the journey's file:line, the datapool row\n" \
	"and the instance's last HTTP request and response, and stop the run (verdict failed,\n"   \
	"stopped early); --debug=all: print every failure and go on. --trace-http: print every\n"  \
	"request and response of instance 1 (--trace-instance N: of instance N). --gdb: run\n"     \
	"under gdb, stopped in the journey. Bodies shown: their first 1 KiB (mitectl(1), DEBUGGING).\n"

#define CMD_TEST_JOURNEY_SYNOPSIS                                                                  \
	"journey test|run MODULE.so:SYMBOL [DATAPOOL] [--volume N] [--duration S] [--set K=V]... " \
	"[--results DIR [--http-events]] [--runner-timeout S] [--debug[=all]] [--trace-http] "     \
	"[--trace-instance N] [--gdb] [-v]"
#define CMD_TEST_JOURNEY_HELP                                                                                         \
	"Runs one journey in this process, without mited: `test` runs N instances (default 1)\n"                      \
	"until ^C or S seconds, `run` runs exactly one iteration. DATAPOOL is FILE.csv,\n"                            \
	"range:FIRST:LAST or MODULE.so:SYMBOL. Live stats every 2 s, a summary at the end.\n"                         \
	"A journey that does not yield for --runner-timeout S (10) ends mitectl with status 6.\n" CMD_TEST_DEBUG_HELP \
	"Exit: 0 passed, 1 failed (journey errors, a run error, a journey that called exit),\n"                       \
	"2 usage, 3 module refused, 4 thresholds, 5 volume not delivered, 6 journey hung,\n"                          \
	"7 tainted, 8 incomplete, 70 internal (see mitectl(1), EXIT STATUS).\n"

#define CMD_TEST_SCENARIO_SYNOPSIS                                                                   \
	"scenario test SCENARIO.conf [--set K=V]... [--duration S] [--results DIR [--http-events]] " \
	"[--runner-timeout S] [--debug[=all]] [--trace-http] [--trace-instance N] [--gdb] [-v]"
#define CMD_TEST_SCENARIO_HELP                                                                                        \
	"Runs a whole scenario in this process, without mited, with one runner.\n"                                    \
	"--results DIR writes the result files there (as mited does for its runs).\n"                                 \
	"A journey that does not yield for --runner-timeout S (10) ends mitectl with status 6.\n" CMD_TEST_DEBUG_HELP \
	"Exit: 0 passed, 1 failed, 2 usage, 3 scenario refused, 4 thresholds, 5 volume not\n"                         \
	"delivered, 6 journey hung, 7 tainted, 8 incomplete, 70 internal (mitectl(1)).\n"

/* Each takes the command's argv (argv[0] its name) and returns an exit
 * status of testmode.h. */
int cmd_test_journey(int argc, char **argv);
int cmd_test_scenario(int argc, char **argv);

#endif
