/* cmd_test.c - `mitectl journey|scenario ...` (see cmd_test.h). */
#include "config.h"

#include "mitectl/cmd_test.h"

#include "mitectl/cli.h"
#include "testmode.h"

#include <stdio.h>
#include <string.h>

/* The command's help, or its arguments after its name to fn. */
static int testmode(int argc, char **argv, int (*fn)(int, char **), const char *synopsis,
		    const char *help)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_print_help(argc < 2 ? stderr : stdout, synopsis, help);
		return argc < 2 ? TESTMODE_USAGE : TESTMODE_OK;
	}
	return fn(argc - 1, argv + 1);
}

int cmd_test_journey(int argc, char **argv)
{
	return testmode(argc, argv, testmode_journey, CMD_TEST_JOURNEY_SYNOPSIS,
			CMD_TEST_JOURNEY_HELP);
}

int cmd_test_scenario(int argc, char **argv)
{
	return testmode(argc, argv, testmode_scenario, CMD_TEST_SCENARIO_SYNOPSIS,
			CMD_TEST_SCENARIO_HELP);
}
