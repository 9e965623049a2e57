/*
 * rproc.c - one runner process (see rproc.h): its command line, its
 * spawn, its exit and the end of its stderr, its kill, and when its
 * record may go. Its stderr's lines and its death's description are
 * runner_stderr.c's.
 */
#include "config.h"

#include "mited/rproc.h"

#include "core/log.h"
#include "mited/rproc_int.h"
#include "mited/runner_stderr.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A process that exited is given this long for the last lines of its
 * stderr (a grandchild may hold the pipe open). */
#define SETTLE_MS 1000

/* runner_limits.memory in bytes: as given, or its share of the physical
 * memory; 0: no limit. */
static uint64_t runner_memory(const conf *c)
{
	if (c->runner_memory || !(c->runner_memory_share > 0))
		return c->runner_memory;
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || size <= 0)
		return 0;
	uint64_t b = (uint64_t)((double)pages * (double)size * c->runner_memory_share);
	return b < RUNNER_MEMORY_MIN ? RUNNER_MEMORY_MIN : b;
}

void rproc_runner_argv(rproc_argv *a, const conf *c, const char *endpoint, int index,
		       const char *id, const char *key, const char *server_key)
{
	int n = 0;

	snprintf(a->sidx, sizeof(a->sidx), "%d", index);
	snprintf(a->sparent, sizeof(a->sparent), "%d", (int)getpid());
	a->mem_limit = runner_memory(c);
	a->as_limit = c->runner_address_space;
	snprintf(a->smem, sizeof(a->smem), "%" PRIu64, a->mem_limit);
	snprintf(a->sas, sizeof(a->sas), "%" PRIu64, a->as_limit);
	snprintf(a->sfiles, sizeof(a->sfiles), "%ld", c->runner_files);
	a->argv[n++] = "mited";
	a->argv[n++] = "--runner";
	a->argv[n++] = "--connect";
	a->argv[n++] = (char *)endpoint;
	a->argv[n++] = "--index";
	a->argv[n++] = a->sidx;
	a->argv[n++] = "--id";
	a->argv[n++] = (char *)id;
	a->argv[n++] = "--parent"; /* PR_SET_PDEATHSIG, and a check (runner_mode.c) */
	a->argv[n++] = a->sparent;
	a->argv[n++] = "--log-level";
	a->argv[n++] = (char *)conf_level_name(log_get_level());
	a->argv[n++] = "--memory-limit";
	a->argv[n++] = a->smem;
	a->argv[n++] = "--address-space";
	a->argv[n++] = a->sas;
	a->argv[n++] = "--open-files";
	a->argv[n++] = a->sfiles;
	if (key) {
		a->argv[n++] = "--key";
		a->argv[n++] = (char *)key;
		a->argv[n++] = "--server-key";
		a->argv[n++] = (char *)server_key;
	}
	a->argv[n] = NULL;
}

/* ---- its end ------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
	rproc *p = h->data;
	/* The settle timer is closed last of all, by rproc_release. */
	if (--p->nhandles == 0 && p->released)
		free(p);
}

static void close_settle(rproc *p)
{
	uv_timer_stop(&p->settle);
	if (!uv_is_closing((uv_handle_t *)&p->settle))
		uv_close((uv_handle_t *)&p->settle, handle_closed);
}

/* The process is gone and its stderr read: the owner hears it. */
static void finished(rproc *p)
{
	if (p->released)
		return;
	if (!p->told)
		runner_stderr_report(p, 1);
	p->told = 1;
	p->ended(p, p->data); /* may release p: its settle timer still holds it */
}

static void close_err(rproc *p)
{
	if (p->err_eof)
		return;
	p->err_eof = 1;
	uv_read_stop((uv_stream_t *)&p->err);
	uv_close((uv_handle_t *)&p->err, handle_closed);
}

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char buf[4096];
	(void)h;
	(void)suggested;
	*b = uv_buf_init(buf, sizeof(buf));
}

static void err_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	rproc *p = st->data;
	if (n >= 0) {
		runner_stderr_feed(p, b->base, (size_t)n);
		return;
	}
	runner_stderr_flush(p);
	close_err(p);
	if (p->exited)
		finished(p);
}

static void settle_cb(uv_timer_t *h)
{
	rproc *p = h->data;
	close_err(p);
	finished(p);
}

static void on_exit_cb(uv_process_t *h, int64_t status, int sig)
{
	rproc *p = h->data;
	p->exited = 1;
	p->exit_status = status;
	p->term_signal = sig;
	uv_close((uv_handle_t *)&p->proc, handle_closed);
	if (p->released)
		close_err(p); /* nobody waits for its last words */
	else if (p->err_eof)
		finished(p);
	else
		uv_timer_start(&p->settle, settle_cb, SETTLE_MS, 0);
}

/* ---- its life ------------------------------------------------------------ */

static rproc *rproc_new(const rproc_spec *sp)
{
	rproc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = sp->loop;
	p->cf = sp->cf;
	p->ended = sp->ended;
	p->data = sp->data;
	snprintf(p->name, sizeof(p->name), "%s", sp->name);
	p->mem_limit = sp->argv->mem_limit;
	p->as_limit = sp->argv->as_limit;
	loglimit_init(&p->ll, &sp->cf->stderr_limit, uv_now(sp->loop));
	uv_pipe_init(sp->loop, &p->err, 0);
	p->err.data = p;
	p->proc.data = p;
	return p;
}

int rproc_spawn(const rproc_spec *sp, rproc **out)
{
	rproc *p = rproc_new(sp);
	if (!p)
		return UV_ENOMEM;
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->err },
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = sp->exe,
		.args = (char **)sp->argv->argv,
		.stdio = stdio,
		.stdio_count = 3,
		/* Its own session: a terminal's ^C goes to the daemon alone,
		 * which drains the runners through the protocol. */
		.flags = UV_PROCESS_DETACHED,
	};
	int rc = uv_spawn(sp->loop, &p->proc, &o);
	if (rc < 0) {
		/* The pipe and the handle are closed, then p goes. */
		p->released = 1;
		p->nhandles = 2;
		uv_close((uv_handle_t *)&p->err, handle_closed);
		uv_close((uv_handle_t *)&p->proc, handle_closed);
		return rc;
	}
	p->pid = p->proc.pid;
	p->nhandles = 3;
	uv_timer_init(sp->loop, &p->settle);
	p->settle.data = p;
	uv_read_start((uv_stream_t *)&p->err, err_alloc, err_read);
	*out = p;
	return 0;
}

void rproc_release(rproc *p)
{
	if (!p || p->released)
		return;
	p->released = 1;
	if (!p->exited)
		rproc_kill(p, NULL);
	else
		close_err(p);
	close_settle(p);
}

void rproc_hold(rproc *p, uint64_t ms)
{
	if (!p->released && p->exited)
		uv_timer_start(&p->settle, settle_cb, ms, 0);
}

void rproc_kill(rproc *p, const char *why)
{
	if (p->exited || p->killed)
		return;
	p->killed = 1;
	if (why)
		snprintf(p->killed_why, sizeof(p->killed_why), "%s", why);
	uv_process_kill(&p->proc, SIGKILL);
}

void rproc_signal(rproc *p, int sig)
{
	if (!p->exited)
		uv_process_kill(&p->proc, sig);
}

void rproc_watch(rproc *p)
{
	runner_stderr_report(p, 0);
}

void rproc_set_journey(rproc *p, const char *journey)
{
	snprintf(p->journey, sizeof(p->journey), "%s", journey);
}

const char *rproc_journey(const rproc *p)
{
	return p->journey;
}

int rproc_pid(const rproc *p)
{
	return p->pid;
}

int rproc_exited(const rproc *p)
{
	return p->exited;
}

int rproc_killed(const rproc *p)
{
	return p->killed;
}

int rproc_clean(const rproc *p)
{
	return p->exited && !p->term_signal && p->exit_status == 0;
}

void rproc_end(const rproc *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s %d", p->term_signal ? "signal" : "status",
		 p->term_signal ? p->term_signal : (int)p->exit_status);
}

int rproc_death(const rproc *p, char *reason, size_t len)
{
	char journey[160];
	if (p->journey[0]) {
		snprintf(journey, sizeof(journey), " in journey '%s'", p->journey);
		runner_stderr_death(p, journey, reason, len);
		return -1;
	}
	/* Where a journey would go, marked, found, and the mark taken out. */
	runner_stderr_death(p, "\x01", reason, len);
	char *mark = strchr(reason, '\x01');
	if (!mark)
		return -1; /* cut off */
	memmove(mark, mark + 1, strlen(mark + 1) + 1);
	return (int)(mark - reason);
}
