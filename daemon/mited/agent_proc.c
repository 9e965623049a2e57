/*
 * agent_proc.c - an agent's runner processes (see agent_proc.h): the
 * agent's glue to rproc.h, the process part local runners use too (their
 * own session, PR_SET_PDEATHSIG, runner_limits, runner_stderr, their death
 * described the same way). The watchdog is the controller's, which sees
 * each runner's keepalives on its link and asks for the kill (host_kill).
 */
#include "config.h"

#include "mited/agent_proc.h"

#include "core/log.h"
#include "mited/rproc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aproc {
	aproc *next;
	agent *a;
	rproc *proc;
	int index;
	char id[TZMQ_ID_MAX + 1];
	char run[64];
};

static void unlink_free(aproc *x)
{
	for (aproc **pp = &x->a->procs; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	rproc_release(x->proc);
	free(x);
}

/* Ended on its own with status 0: it said bye itself. Else the controller
 * hears why (host_exit). */
static void on_ended(rproc *p, void *data)
{
	aproc *x = data;
	if (!rproc_clean(p)) {
		char why[600];
		int at = rproc_death(p, why, sizeof(why));
		log_err("agent: run %s: runner %d (pid %d) %s", x->run, x->index, rproc_pid(p), why);
		agent_runner_ended(x->a, x->id, rproc_pid(p), why, at);
	}
	unlink_free(x);
}

int agent_proc_spawn(agent *a, const char *rid, const char *id, int index)
{
	const conf *cf = &a->d->cf;
	aproc *x = calloc(1, sizeof(*x));
	rproc_argv av;
	char name[128];
	if (!x)
		return -ENOMEM;
	x->a = a;
	x->index = index;
	snprintf(x->id, sizeof(x->id), "%s", id);
	snprintf(x->run, sizeof(x->run), "%s", rid);
	rproc_runner_argv(&av, cf, cf->hosts.agent, index, x->id, cf->hosts.key,
			  cf->hosts.server_key);
	snprintf(name, sizeof(name), "agent: run %s: runner %d", x->run, index);
	rproc_spec sp = { .loop = a->loop,
			  .cf = cf,
			  .exe = a->d->self_exe,
			  .argv = &av,
			  .name = name,
			  .ended = on_ended,
			  .data = x };
	int rc = rproc_spawn(&sp, &x->proc);
	if (rc < 0) {
		char why[256];
		snprintf(why, sizeof(why), "could not be started: %s", uv_strerror(rc));
		log_err("agent: run %s: runner %d %s", rid, index, why);
		agent_runner_ended(a, id, 0, why, -1);
		free(x);
		return rc;
	}
	x->next = a->procs;
	a->procs = x;
	log_debug("agent: run %s: runner %d started (pid %d, id %s)", rid, index,
		  rproc_pid(x->proc), id);
	return 0;
}

void agent_proc_kill(agent *a, const char *id, const char *why)
{
	for (aproc *x = a->procs; x; x = x->next)
		if (strcmp(x->id, id) == 0)
			rproc_kill(x->proc, why);
}

void agent_proc_kill_all(agent *a, const char *why)
{
	for (aproc *x = a->procs; x; x = x->next)
		rproc_kill(x->proc, why);
}

int agent_proc_alive(const agent *a)
{
	int n = 0;
	for (const aproc *x = a->procs; x; x = x->next)
		n += !rproc_exited(x->proc);
	return n;
}
