/*
 * parse.h - a start request's scenario, parsed off the loop.
 */
#ifndef MITE_MITED_PARSE_H
#define MITE_MITED_PARSE_H

#include "controller/control.h"
#include "controller/scenario.h"
#include "mited/daemon.h"

#include <sys/types.h>
#include <uv.h>

/* A start request whose scenario is parsed on libuv's thread pool: the
 * parse (libconfig, modules opened and checked, datapools built - a big
 * CSV is read whole) never holds the loop, so control clients, signals
 * and the runners' watchdog go on meanwhile. The run is made on the loop
 * once the parse is done, and only then does the client get its reply. */
typedef struct parse_job {
	uv_work_t work;
	struct parse_job *next; /* the daemon's list of parses under way */
	daemon_ *d;
	control_pending *reply;
	uid_t uid;
	char *path;
	char *name; /* from the request, or NULL */
	char **sets, **env;
	char **plugin_dirs; /* a copy: a reload may change the daemon's meanwhile */
	int allow_any;
	double duration; /* from the request, or 0 */
	int runners; /* from the request, or 0 */
	hosts_sel hsel; /* from the request: hosts and local runners */
	scenario *s; /* what the parse made, or NULL with err */
	char err[1024];
} parse_job;

/* On a thread of the pool (uv_work_cb): touches nothing of the daemon's
 * but the cancel flag. */
void parse_work(uv_work_t *w);
void parse_job_free(parse_job *j);

#endif
