/*
 * agent.h - mited as a runner host (mited --agent, docs/distributed.md):
 * it links out to its controller with CURVE, announces what it offers,
 * heartbeats, and runs the runner processes the controller asks for
 * (agent_proc.h, rproc.h); it reconnects when the controller goes away.
 */
#ifndef MITE_MITED_AGENT_H
#define MITE_MITED_AGENT_H

#include "core/transport.h"
#include "mited/daemon.h"
#include "mited/hostproto.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdint.h>
#include <uv.h>

typedef struct aproc aproc;

typedef struct agent {
	daemon_ *d;
	uv_loop_t *loop;
	transport *link;
	hostproto_caps caps;
	char id[TZMQ_ID_MAX + 1]; /* this session's routing id */
	int welcomed;
	char name[72]; /* as the controller knows us */
	uint64_t last_rx_ms; /* the controller's last message */
	uint64_t connect_at_ms; /* refused: when to try again (0: now) */
	char last_refusal[256]; /* said once until it changes */
	uv_timer_t timer;
	uv_signal_t sigterm, sigint;
	aproc *procs;
	int stopping;
	char cache[PATH_MAX]; /* shipped modules, <state_dir>/modules */
	cJSON *pending; /* host_spawn messages waiting for modules */
} agent;

/* Runs the agent of d's configuration until SIGTERM or SIGINT; the exit
 * status. */
int agent_run(daemon_ *d);
/* Sends host_exit for a runner that ended before its time; pid 0: its
 * process never ran (not started, a module refused); at: where in why the
 * journey it was in belongs when none is named (rproc_death), else -1. */
void agent_runner_ended(agent *a, const char *id, int pid, const char *why, int at);
/* Starts the runners of a host_spawn whose modules are all here. */
void agent_spawn_now(agent *a, const cJSON *m);

#endif
