/*
 * supervise.h - a run's runner processes: spawned from this executable,
 * their stderr logged (runner_stderr), their deaths reported with the
 * journey that ran, replaced with a back-off, killed when their loop stops
 * answering (the watchdog) or when they outlive their run.
 */
#ifndef MITE_MITED_SUPERVISE_H
#define MITE_MITED_SUPERVISE_H

#include "mited/drun.h"

#include <stdint.h>

/* Starts runner index of run dr. 0 or negative errno (logged). */
int supervise_spawn(drun *dr, int index);
/* More runners (n in all) for a run whose volume grew; why is logged. */
void supervise_grow(drun *dr, int n, const char *why);
/* Replaces lost runners while the run goes on. */
void supervise_replace(drun *dr);
/* Runners alive and linked. */
int supervise_alive(const drun *dr);
/* The watchdog and stderr accounting of dr's runners (housekeeping):
 * limit is runner_timeout in ms. */
void supervise_watch(drun *dr, uint64_t now, uint64_t limit);
/* SIGKILL to every runner of dr still alive. */
void supervise_kill(drun *dr);

#endif
