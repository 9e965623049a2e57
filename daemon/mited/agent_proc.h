/*
 * agent_proc.h - an agent's runner processes (rproc.h), in runner mode with
 * the host's CURVE key, linking to the controller themselves; their deaths
 * reported to the controller as rproc_death words them, with the journey
 * that ran (host_exit), killed when the controller's watchdog asks
 * (host_kill) or the link to it is lost.
 */
#ifndef MITE_MITED_AGENT_PROC_H
#define MITE_MITED_AGENT_PROC_H

#include "mited/agent.h"

/* Starts runner `index` with routing id `id` for run `run`. 0 or -errno. */
int agent_proc_spawn(agent *a, const char *rid, const char *id, int index);
/* SIGKILL to runner id; why ("by ...") is for its report. */
void agent_proc_kill(agent *a, const char *id, const char *why);
/* SIGKILL to every runner. */
void agent_proc_kill_all(agent *a, const char *why);
/* Runners alive. */
int agent_proc_alive(const agent *a);

#endif
