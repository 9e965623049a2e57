/*
 * cmd_runs.h - the commands that drive a run of mited: start (--wait),
 * stop, pause, resume, scale (mitectl(1)).
 */
#ifndef MITE_MITECTL_CMD_RUNS_H
#define MITE_MITECTL_CMD_RUNS_H

#define CMD_RUNS_START_SYNOPSIS                                                                \
	"start SCENARIO.conf [--set KEY=VALUE]... [--name NAME] [--duration S] [--runners N] " \
	"[--hosts all|none|N|label=L] [--local|--no-local] [--wait] [--json]"
#define CMD_RUNS_START_HELP                                                                    \
	"Starts a run of SCENARIO.conf on mited and prints its id (--json: the reply, with\n"  \
	"the run as `mitectl --json status RUN` gives it). MITE_CONF_* variables of this\n"    \
	"environment and --set KEY=VALUE (later wins) override the scenario's config.\n"       \
	"  --name NAME      the run's name (default: the scenario's)\n"                        \
	"  --duration S     run for S seconds, whatever the scenario says\n"                   \
	"  --runners N      local runner processes (default: mited.conf's runners)\n"          \
	"  --hosts SEL      runner hosts (mited --listen): all (the default), none, N (the\n"  \
	"                   N offering the most runners) or label=L; hosts joining later\n"    \
	"                   join the run too (up to N)\n"                                      \
	"  --local, --no-local  local runners too, or not (default: only when the run\n"       \
	"                   gets no host)\n"                                                   \
	"  --wait           follow the run live; exit with its verdict: 0 passed, 1 failed,\n" \
	"                   4 thresholds broken, 5 volume not delivered, 7 tainted (mite's\n"  \
	"                   own loop saturated), 8 incomplete (stopped early, cancelled,\n"    \
	"                   results not written)\n"                                            \
	"  --json           as mitectl --json: print the reply (and --wait's status objects)\n"
#define CMD_RUNS_STOP_SYNOPSIS "stop RUN [--now]"
#define CMD_RUNS_STOP_HELP                                                               \
	"Stops a run: no new iterations; running ones get the grace period to finish.\n" \
	"--now cancels them at once (parked SDK calls return MITE_ECANCELED).\n"
#define CMD_RUNS_PAUSE_SYNOPSIS "pause RUN"
#define CMD_RUNS_PAUSE_HELP \
	"Pauses a run: volume models stop advancing and every instance finishes its iteration.\n"
#define CMD_RUNS_RESUME_SYNOPSIS "resume RUN"
#define CMD_RUNS_RESUME_HELP "Resumes a paused run.\n"
#define CMD_RUNS_SCALE_SYNOPSIS "scale RUN PERCENT"
#define CMD_RUNS_SCALE_HELP                                                             \
	"Multiplies every volume model of the run by PERCENT/100 (100 = as written),\n" \
	"applied within one tick on every runner.\n"

/* Each takes the command's argv (argv[0] its name) and returns an exit
 * status. */
int cmd_runs_start(int argc, char **argv);
int cmd_runs_stop(int argc, char **argv);
int cmd_runs_pause(int argc, char **argv);
int cmd_runs_resume(int argc, char **argv);
int cmd_runs_scale(int argc, char **argv);

#endif
