/*
 * daemon.h - the daemon: its settings, control socket, metrics endpoint,
 * runner link, signals, housekeeping and runs (drun.h), from start to the
 * last run drained.
 */
#ifndef MITE_MITED_DAEMON_H
#define MITE_MITED_DAEMON_H

#include "controller/control.h"
#include "controller/metrics.h"
#include "core/transport.h"
#include "mited/conf.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

/* Runner ids no run expects, remembered (each is said once), and lines a
 * minute. */
#define UNKNOWN_IDS 16
#define UNKNOWN_LOG_MAX 10

typedef struct drun drun;
typedef struct parse_job parse_job;
struct hosts;

typedef struct daemon_ {
	uv_loop_t *loop;
	conf cf;
	/* command-line overrides, kept across reloads */
	char *opt_config, *opt_socket, *opt_state_dir, *opt_metrics;
	int opt_level; /* -1: from mited.conf */
	conf_hosts opt_hosts; /* --listen, --key, --agent, ... (not owned) */
	char self_exe[PATH_MAX];
	control *ctl;
	metrics *metrics; /* the Prometheus endpoint, or NULL */
	tzmq_server *srv;
	struct hosts *hosts; /* runner hosts (mited --listen), or NULL */
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t housekeeping, shutdown_timer;
	drun *runs; /* newest first */
	unsigned run_seq;
	unsigned runner_seq;
	int stopping; /* SIGTERM/SIGINT received */
	int shutdown_phase; /* 0 draining, 1 cancelled, 2 killing */
	int closed;
	int parsing; /* start requests whose scenario is being parsed */
	struct parse_job *jobs; /* ... the same, to answer them at an early exit */
	atomic_int cancel_parses; /* set at shutdown: parses give up */
	uv_timer_t parse_timer; /* at shutdown: how long parses are waited for */
	int parse_wait;
	/* runners with ids no run expects (started by hand): said once per id,
	 * at most UNKNOWN_LOG_MAX lines a minute */
	char unknown_ids[UNKNOWN_IDS][TZMQ_ID_MAX * 2 + 3];
	unsigned unknown_next;
	uint64_t unknown_window_ms;
	int unknown_logged, unknown_quiet;
	uint64_t started_ms;
	char last_status[256];
} daemon_;

/* Runs the daemon until a stop signal drained every run (check_only:
 * checks the configuration and returns). The exit status: 0, or 1 for a
 * configuration or startup failure. */
int daemon_run(daemon_ *d, int check_only);
/* STATUS= for systemd: runs, instances, runners (sent when it changed). */
void daemon_update_status(daemon_ *d);
/* During shutdown: once every run is done, every runner gone and no
 * scenario is being parsed, closes. */
void daemon_check_exit(daemon_ *d);
void daemon_close(daemon_ *d);

#endif
