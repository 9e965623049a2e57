/*
 * agent_proc.c - an agent's runner processes (see agent_proc.h). The same
 * isolation as a controller's local runners (supervise.c): one process per
 * runner, its own session, dying with the agent (PR_SET_PDEATHSIG), its
 * resource limits (runner_limits); the watchdog is the controller's, which
 * sees each runner's keepalives on its link and asks for the kill.
 */
#include "config.h"

#include "mited/agent_proc.h"
#include "mited/supervise.h"

#include "controller/loglimit.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_ 1024

struct aproc {
	aproc *next;
	agent *a;
	uv_process_t proc;
	uv_pipe_t err;
	int nhandles;
	int exited, err_eof, reported;
	int64_t status;
	int sig;
	int pid, index;
	char id[TZMQ_ID_MAX + 1];
	char run[64];
	char killed_why[128]; /* killed on request: why */
	char journey[128], crash[256], last_line[256];
	char line[LINE_MAX_];
	size_t linelen;
	loglimit ll;
};

static void handle_closed(uv_handle_t *h)
{
	aproc *p = h->data;
	if (--p->nhandles > 0)
		return;
	agent *a = p->a;
	for (aproc **pp = &a->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p);
}

/* Process gone and stderr read to its end: the controller hears why,
 * unless it ended well (it said bye itself). */
static void finished(aproc *p)
{
	char why[600], journey[160] = "";
	if (p->reported || !p->exited || !p->err_eof)
		return;
	p->reported = 1;
	if (p->journey[0])
		snprintf(journey, sizeof(journey), " in journey '%s'", p->journey);
	if (p->killed_why[0])
		snprintf(why, sizeof(why), "(pid %d) killed: %s%s", p->pid, p->killed_why, journey);
	else if (p->sig)
		snprintf(why, sizeof(why), "(pid %d) killed by signal %d (SIG%s)%s%s%s", p->pid,
			 p->sig, util_sig_name(p->sig), journey, p->crash[0] ? ": " : "", p->crash);
	else if (p->status)
		snprintf(why, sizeof(why), "(pid %d) exited with status %lld%s%s%s", p->pid,
			 (long long)p->status, journey, p->last_line[0] ? ": " : "", p->last_line);
	else
		why[0] = '\0';
	if (why[0]) {
		log_err("agent: run %s: runner %d %s", p->run, p->index, why);
		agent_runner_ended(p->a, p->id, why);
	}
	uv_close((uv_handle_t *)&p->err, handle_closed);
}

static void on_line(aproc *p, char *line)
{
	int level = LOG_LVL_INFO;
	if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
		level = line[1] - '0';
		line += 3;
	}
	const char *j;
	/* What a runner says of its own death (runner_mode.c, core/coro.c). */
	if (strncmp(line, "mite: fatal signal ", 19) == 0 && (j = strstr(line, " in journey ")))
		snprintf(p->journey, sizeof(p->journey), "%s", j + 12);
	else if (strncmp(line, "mite: busy in journey ", 22) == 0)
		snprintf(p->journey, sizeof(p->journey), "%s", line + 22);
	if (strncmp(line, "mite: ", 6) == 0)
		snprintf(p->crash, sizeof(p->crash), "%s", line + 6);
	snprintf(p->last_line, sizeof(p->last_line), "%s", line);
	if (!loglimit_take(&p->ll, &p->a->d->cf.stderr_limit, strlen(line), uv_now(p->a->loop)) &&
	    strncmp(line, "mite: ", 6) != 0)
		return;
	log_msg(level < LOG_LVL_ERR ? LOG_LVL_ERR : level, "agent: run %s: runner %d: %s", p->run,
		p->index, line);
}

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char buf[4096];
	(void)h;
	(void)suggested;
	*b = uv_buf_init(buf, sizeof(buf));
}

static void err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	aproc *p = s->data;
	if (n < 0) {
		if (p->linelen) {
			p->line[p->linelen] = '\0';
			on_line(p, p->line);
			p->linelen = 0;
		}
		uv_read_stop(s);
		p->err_eof = 1;
		finished(p);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = b->base[i];
		if (c == '\n' || p->linelen == sizeof(p->line) - 1) {
			p->line[p->linelen] = '\0';
			on_line(p, p->line);
			p->linelen = 0;
			if (c == '\n')
				continue;
		}
		p->line[p->linelen++] = c;
	}
}

static void on_exit_cb(uv_process_t *h, int64_t status, int sig)
{
	aproc *p = h->data;
	p->exited = 1;
	p->status = status;
	p->sig = sig;
	uv_close((uv_handle_t *)&p->proc, handle_closed);
	finished(p);
}

/* runner_limits.memory in bytes (as supervise.c reads it). */
int agent_proc_spawn(agent *a, const char *rid, const char *id, int index)
{
	const conf *cf = &a->d->cf;
	aproc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->a = a;
	p->index = index;
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->run, sizeof(p->run), "%s", rid);
	loglimit_init(&p->ll, &cf->stderr_limit, uv_now(a->loop));
	supervise_argv a_argv;
	supervise_runner_argv(&a_argv, cf, cf->hosts.agent, index, p->id, cf->hosts.key,
			      cf->hosts.server_key);
	uv_pipe_init(a->loop, &p->err, 0);
	p->err.data = p;
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
		  .data.stream = (uv_stream_t *)&p->err },
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = a->d->self_exe,
		.args = a_argv.argv,
		.stdio = stdio,
		.stdio_count = 3,
		.flags = UV_PROCESS_DETACHED,
	};
	p->proc.data = p;
	p->next = a->procs;
	a->procs = p;
	int rc = uv_spawn(a->loop, &p->proc, &o);
	if (rc < 0) {
		char why[256];
		snprintf(why, sizeof(why), "could not be started: %s", uv_strerror(rc));
		log_err("agent: run %s: runner %d %s", rid, index, why);
		agent_runner_ended(a, id, why);
		p->reported = 1;
		p->nhandles = 2;
		uv_close((uv_handle_t *)&p->proc, handle_closed);
		uv_close((uv_handle_t *)&p->err, handle_closed);
		return rc;
	}
	p->pid = p->proc.pid;
	p->nhandles = 2;
	uv_read_start((uv_stream_t *)&p->err, err_alloc, err_read);
	log_debug("agent: run %s: runner %d started (pid %d, id %s)", rid, index, p->pid, id);
	return 0;
}

void agent_proc_kill(agent *a, const char *id, const char *why)
{
	for (aproc *p = a->procs; p; p = p->next)
		if (!p->exited && strcmp(p->id, id) == 0) {
			snprintf(p->killed_why, sizeof(p->killed_why), "%s", why);
			uv_process_kill(&p->proc, SIGKILL);
		}
}

void agent_proc_kill_all(agent *a, const char *why)
{
	for (aproc *p = a->procs; p; p = p->next)
		if (!p->exited) {
			snprintf(p->killed_why, sizeof(p->killed_why), "%s", why);
			uv_process_kill(&p->proc, SIGKILL);
		}
}

int agent_proc_alive(const agent *a)
{
	int n = 0;
	for (const aproc *p = a->procs; p; p = p->next)
		n += !p->exited;
	return n;
}
