/*
 * supervise.h - a group of local runners (one run's): each a runner process
 * (rproc.h: spawned, its stderr logged, its death described) and its link
 * on the runner socket; their deaths reported with the journey that ran,
 * replaced with a back-off (the run's respawn.h budget), killed when their
 * link falls silent (the watchdog) or when they outlive their run.
 *
 * The group knows processes and links, not runs: what it has to say goes to the
 * owner's ops (a runner joined, was lost, replacements ran out, the group
 * changed), and the owner says when replacing is wanted. mited's runs
 * (drun.c) are one owner.
 */
#ifndef MITE_MITED_SUPERVISE_H
#define MITE_MITED_SUPERVISE_H

#include "core/transport.h"
#include "mited/conf.h"
#include "mited/respawn.h"

#include <stdint.h>
#include <uv.h>

typedef struct supervisor supervisor;

/* Where runners come from and what they are given. cf is read live (a
 * reload changes runner_limits, runner_restarts, runner_stderr and
 * runner_timeout for the next use); seq numbers runner ids across groups. */
typedef struct supervise_env {
	uv_loop_t *loop;
	tzmq_server *srv; /* the runner link runners connect to */
	const char *exe; /* the executable runners start from (mited) */
	const conf *cf;
	unsigned *seq;
	respawn *budget; /* the run's restarts, shared with its hosts' runners */
} supervise_env;

typedef struct supervise_ops {
	/* A runner process started: its link, which the owner takes over
	 * (run_add_runner). 0, or a negative errno and the runner is killed. */
	int (*joined)(transport *t, void *data);
	/* A runner died before it said bye; reason says how (a signal, the
	 * watchdog, its memory limit) and in which journey. The owner closes t
	 * (run_runner_lost does). */
	void (*lost)(transport *t, const char *reason, void *data);
	/* runner_restarts replacements made: the group replaces no more. */
	void (*gave_up)(const char *why, void *data);
	/* Runners came or went (the last process of the group included). */
	void (*changed)(void *data);
	void *data;
} supervise_ops;

/* A group named name (the run's id, for the log) with no runners yet. The
 * env and ops are copied; env's pointers must outlive the group. */
supervisor *supervise_new(const supervise_env *env, const char *name, const supervise_ops *ops);
/* Frees the group; processes still alive are killed and go once reaped
 * (no op is called after this). Not from one of the group's ops. */
void supervise_free(supervisor *s);
/* Starts runners 0..n-1 (n wanted); how many started. */
int supervise_start(supervisor *s, int n);
/* More runners (n in all) for a volume that grew; why is logged. Not
 * replacements: no restart is counted. */
void supervise_grow(supervisor *s, int n, const char *why);
/* Replaces lost runners, with the budget's back-off, until it is spent
 * (runner_restarts: ops.gave_up, once per budget). The
 * owner calls it when replacements are welcome (a running run: one that
 * starts or drains would never give them a share). */
void supervise_replace(supervisor *s);
/* The watchdog and runner_stderr's accounting, once a housekeeping tick. */
void supervise_watch(supervisor *s, uint64_t now);
/* The owner is done with the runners: one still alive LINGER later is
 * killed (supervise_watch). */
void supervise_end(supervisor *s, uint64_t now);
/* SIGKILL to every runner still alive. */
void supervise_kill(supervisor *s);

/* Runners alive and linked; wanted; runners not yet done with (alive, or
 * their exit and stderr still being read). */
int supervise_alive(const supervisor *s);
int supervise_wanted(const supervisor *s);
int supervise_procs(const supervisor *s);

/* The journey a runner's stats message names (the one whose code ran
 * last), for the report should the runner die: 1 with it in out, else 0. */
int supervise_stats_journey(const char *msg, size_t len, char *out, size_t outlen);

#endif
