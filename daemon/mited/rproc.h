/*
 * rproc.h - one runner process of a supervised group (supervise.c) and
 * what its stderr said (runner_stderr.c). Private to those two.
 */
#ifndef MITE_MITED_RPROC_H
#define MITE_MITED_RPROC_H

#include "controller/loglimit.h"
#include "core/transport.h"
#include "mited/supervise.h"

#include <stdint.h>
#include <uv.h>

#define STDERR_LINE_MAX 1024

typedef struct rproc rproc;

struct supervisor {
	supervise_env env;
	supervise_ops ops;
	char name[64];
	rproc *procs;
	int wanted; /* runners */
	int restarts;
	int gave_up; /* too many restarts */
	int burst; /* losses in a row, for the back-off */
	uint64_t last_loss_ms, next_spawn_ms;
	int ended; /* supervise_end: lingering runners get killed */
	uint64_t ended_ms;
	int free_pending; /* supervise_free with processes alive */
};

struct rproc {
	transport t; /* what the owner holds: forwards to inner */
	transport *inner; /* the ZeroMQ link */
	supervisor *s;
	rproc *next;
	uv_process_t proc;
	uv_pipe_t err;
	uv_timer_t settle; /* exit seen, waiting for the last stderr lines */
	int nhandles;
	int index;
	int pid;
	char id[TZMQ_ID_MAX + 1];
	int link_open; /* the owner still holds t */
	int busy; /* runner_finished is using it: not freed under it */
	int exited, err_eof, finished;
	int bye_wait; /* exited cleanly: its bye may still be on the way */
	int64_t exit_status;
	int term_signal;
	int watchdog; /* killed for silence */
	uint64_t poked_ms; /* silent: asked (SIGUSR2) which journey it is stuck in */
	int killed; /* a SIGKILL was sent */
	uint64_t spawned_ms;
	char journey[128]; /* from the crash line, else the last stats */
	char crash[256]; /* what the runner said about its death */
	char last_line[256];
	char line[STDERR_LINE_MAX];
	size_t linelen;
	uint64_t mem_limit; /* runner_limits.memory it was given, bytes; 0: none */
	uint64_t as_limit; /* runner_limits.address_space it was given */
	int as_near; /* it died close to its address space limit */
	loglimit ll; /* runner_stderr */
	int status_lines; /* lines about itself logged past the limit */
};

#endif
