/*
 * rproc_int.h - a runner process's record (rproc.h), shared by rproc.c
 * (its life) and runner_stderr.c (its stderr and death). Not for others.
 */
#ifndef MITE_MITED_RPROC_INT_H
#define MITE_MITED_RPROC_INT_H

#include "controller/loglimit.h"
#include "mited/rproc.h"

#include <stdint.h>
#include <uv.h>

#define STDERR_LINE_MAX 1024

struct rproc {
	uv_loop_t *loop;
	const conf *cf;
	rproc_ended_fn ended;
	void *data;
	char name[128]; /* "run R: runner N", for the log */
	uv_process_t proc;
	uv_pipe_t err;
	uv_timer_t settle; /* exit seen, waiting for the last stderr lines */
	int nhandles;
	int pid;
	int exited, err_eof;
	int told; /* ended was called */
	int released; /* the owner let go: no callback; freed once reaped */
	int64_t exit_status;
	int term_signal;
	int killed; /* a SIGKILL was sent */
	char killed_why[160]; /* who asked, and why */
	char journey[128]; /* from the crash line, else the owner's word */
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
