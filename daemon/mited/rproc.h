/*
 * rproc.h - one runner process: spawned from this executable in runner
 * mode (its own session, dying with its parent: PR_SET_PDEATHSIG in
 * runner_mode.c, runner_limits on its command line), its stderr logged
 * under runner_stderr and read for what it says of its own death
 * (runner_stderr.c), its death described (a signal, an exit, its memory or
 * address space limit, a kill on request, the journey it was in), killed,
 * reaped.
 *
 * It knows processes, not links nor runs: a controller's runs
 * (supervise.c) and an agent's runners (agent_proc.c) are its owners, and
 * say what the runner does on its link (rproc_set_journey) and when it is
 * to be killed.
 */
#ifndef MITE_MITED_RPROC_H
#define MITE_MITED_RPROC_H

#include "mited/conf.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct rproc rproc;

/* The process is gone and its stderr read to its end (or given up on a
 * second after the exit). Called once, or once more after rproc_hold. The
 * owner calls rproc_release when it is done with p, here or later. */
typedef void (*rproc_ended_fn)(rproc *p, void *data);

/* The command line of a runner process, its strings kept inside. */
typedef struct rproc_argv {
	char sidx[16], sparent[16], smem[32], sas[32], sfiles[32];
	uint64_t mem_limit; /* the RSS limit it was given (0: none) */
	uint64_t as_limit; /* the address space limit (0: none) */
	char *argv[24];
} rproc_argv;

/* `mited --runner --connect ENDPOINT --index N --id ID --parent PID ...`
 * with c's runner_limits; with key and server_key (a runner on an agent
 * host) the CURVE options too. The argv points into a and the arguments. */
void rproc_runner_argv(rproc_argv *a, const conf *c, const char *endpoint, int index,
		       const char *id, const char *key, const char *server_key);

typedef struct rproc_spec {
	uv_loop_t *loop;
	const conf *cf; /* runner_stderr, read live; must outlive p */
	const char *exe; /* this executable */
	const rproc_argv *argv;
	const char *name; /* for the log: "run R: runner N" (copied) */
	rproc_ended_fn ended;
	void *data;
} rproc_spec;

/* Starts the process. 0 with *out set, or a negative errno (uv's) and
 * nothing left behind; the caller says so. */
int rproc_spawn(const rproc_spec *sp, rproc **out);
/* The owner is done with p: no callback any more; a process still alive
 * is killed, and p goes once it is reaped. */
void rproc_release(rproc *p);
/* Tells the owner again (ended) ms later: a runner that exited 0 may have
 * its bye still on the way. */
void rproc_hold(rproc *p, uint64_t ms);

/* SIGKILL, once. why (NULL: none) says who and why, for its death:
 * "by the watchdog: silent for over 3 s, its loop hung" reads "killed by
 * the watchdog: ... in journey 'x'" (at most 159 bytes kept). */
void rproc_kill(rproc *p, const char *why);
/* Another signal (SIGUSR2: which journey holds you?) while it lives. */
void rproc_signal(rproc *p, int sig);
/* runner_stderr's accounting of dropped lines, once a housekeeping tick. */
void rproc_watch(rproc *p);

/* The journey whose code ran last (its link's stats say so), for its
 * death's report when its stderr does not name one. */
void rproc_set_journey(rproc *p, const char *journey);
const char *rproc_journey(const rproc *p);
int rproc_pid(const rproc *p);
int rproc_exited(const rproc *p);
int rproc_killed(const rproc *p);
/* It exited with status 0 (no signal): it ended on its own. */
int rproc_clean(const rproc *p);
/* How it died, for the log, the run's error and host_exit: "killed by
 * signal 11 (SIGSEGV, Segmentation fault) in journey 'x'", "exceeded its
 * memory limit of N MiB ...", "killed by the watchdog: ...", "exited with
 * status 1 ...: LAST LINE". With no journey known, the offset in reason
 * where " in journey 'x'" belongs (for whoever knows it: the controller of
 * an agent's runner), else -1. */
int rproc_death(const rproc *p, char *reason, size_t len);
/* "signal N" or "status N", for an end after it said bye. */
void rproc_end(const rproc *p, char *buf, size_t len);

#endif
