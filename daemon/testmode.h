/*
 * testmode.h - mitectl's foreground modes: `journey test`, `journey run`
 * and `scenario test` run a controller and one runner in this process,
 * talking through an in-process transport, print live stats every 2 s and
 * a summary at the end.
 */
#ifndef MITE_TESTMODE_H
#define MITE_TESTMODE_H

/* Exit statuses (documented in mitectl(1)). */
#define TESTMODE_OK 0          /* completed, no journey errors */
#define TESTMODE_JOURNEY_ERRORS 1 /* completed, some iterations failed */
#define TESTMODE_USAGE 2       /* bad command line */
#define TESTMODE_SCENARIO 3    /* the scenario or a module was refused */
#define TESTMODE_THRESHOLDS 4  /* thresholds broken (see mite-scenario(5)) */
#define TESTMODE_INTERNAL 70   /* an internal failure */

/* argv[0] is "test" / "run" (after `mitectl journey` / `mitectl scenario`). */
int testmode_journey(int argc, char **argv);
int testmode_scenario(int argc, char **argv);

#endif
