/*
 * supervise.c - a group of runner processes (see supervise.h).
 *
 * Journey code never runs in the daemon: each run gets N runner processes,
 * spawned from this very executable, each speaking the runner protocol over
 * the ZeroMQ link (core/transport.h). A runner that dies - a signal, an
 * exit, or killed by the watchdog because its loop stopped answering - is
 * reported to the owner with the signal and the journey it was running,
 * and replaced when the owner asks; the run and the daemon go on.
 */
#include "config.h"

#include "mited/supervise.h"

#include "controller/capacity.h"
#include "core/log.h"
#include "core/proto.h"
#include "core/utf8.h"
#include "mited/rproc.h"
#include "mited/runner_stderr.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* A runner still alive this long after its owner ended is killed. */
#define LINGER_KILL_S 10.0
/* A journey that crashes every runner at once would make replacing a fork
 * storm: the first replacement is immediate, then each waits twice as long
 * as the one before (up to RESPAWN_MAX_MS) until runners stay up for
 * RESPAWN_CALM_MS. */
#define RESPAWN_BASE_MS 250
#define RESPAWN_MAX_MS 5000
#define RESPAWN_CALM_MS 30000

static void rproc_maybe_free(rproc *p);
static void runner_finished(rproc *p);

static void changed(supervisor *s)
{
	if (!s->free_pending && s->ops.changed)
		s->ops.changed(s->ops.data);
}

/* ---- the link the owner holds -------------------------------------------- */

static int proxy_send(transport *t, const char *msg, size_t len)
{
	rproc *p = (rproc *)t;
	return p->inner ? transport_send(p->inner, msg, len) : -EPIPE;
}

static void proxy_close(transport *t)
{
	rproc *p = (rproc *)t;
	if (!p->link_open)
		return;
	p->link_open = 0;
	if (p->inner)
		transport_close(p->inner);
	p->inner = NULL;
	/* The bye a runner that already exited sent: it is done now. */
	if (p->bye_wait && !p->finished) {
		runner_finished(p);
		return;
	}
	rproc_maybe_free(p);
}

static const struct transport_ops proxy_ops = { .send = proxy_send, .close = proxy_close };

/* Remembers the journey a stats message names (the one whose code ran
 * last), for the report should the runner die. */
static void peek_journey(rproc *p, const char *msg, size_t len)
{
	static const char key[] = "\"journey\":\"";
	if (len > 65536 || !memmem(msg, len, "\"t\":\"stats\"", 11))
		return;
	const char *k = memmem(msg, len, key, sizeof(key) - 1);
	if (!k)
		return;
	k += sizeof(key) - 1;
	const char *end = memchr(k, '"', (size_t)(msg + len - k));
	if (end && (size_t)(end - k) < sizeof(p->journey))
		snprintf(p->journey, sizeof(p->journey), "%.*s", (int)(end - k), k);
}

static void proxy_recv(transport *inner, const char *msg, size_t len, void *data)
{
	rproc *p = data;
	char *fixed = NULL;
	(void)inner;
	/* Journey code names transactions, fails and sends messages with any
	 * bytes: one rule for them all before they reach the run's tables,
	 * its results and its replies (core/utf8.h). */
	if (!utf8_valid(msg, len)) {
		fixed = utf8_repair(msg, len, &len);
		if (!fixed) {
			log_err("run %s: runner %d: a message dropped: out of memory", p->s->name,
				p->index);
			return;
		}
		msg = fixed;
	}
	peek_journey(p, msg, len);
	/* The owner may close the link from here (bye): p stays, inner goes. */
	if (p->t.on_recv)
		p->t.on_recv(&p->t, msg, len, p->t.data);
	free(fixed);
}

/* ---- a process's end ----------------------------------------------------- */

static void rproc_handle_closed(uv_handle_t *h)
{
	rproc *p = h->data;
	p->nhandles--;
	rproc_maybe_free(p);
}

static void rproc_maybe_free(rproc *p)
{
	if (p->link_open || p->nhandles > 0 || !p->finished || p->busy)
		return;
	supervisor *s = p->s;
	for (rproc **pp = &s->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
	if (s->free_pending && !s->procs)
		free(s);
	else
		changed(s);
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
	p->err_eof = 1;
	uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
	if (p->exited)
		runner_finished(p);
}

/* A runner lost: reported, counted for the back-off, told to the owner
 * (which closes the link). */
static void runner_lost(rproc *p)
{
	supervisor *s = p->s;
	char reason[512];
	runner_stderr_death(p, reason, sizeof(reason));
	log_err("run %s: runner %d (pid %d) %s", s->name, p->index, p->pid, reason);
	uint64_t now = uv_now(s->env.loop);
	if (s->last_loss_ms && now - s->last_loss_ms > RESPAWN_CALM_MS)
		s->burst = 0; /* runners stayed up: start the back-off over */
	s->burst++;
	s->last_loss_ms = now;
	if (!s->free_pending && s->ops.lost)
		s->ops.lost(&p->t, reason, s->ops.data);
	if (p->link_open) /* an owner that kept it: the link is of no use now */
		proxy_close(&p->t);
}

static void settle_cb(uv_timer_t *h);

/* The process is gone and its stderr read to the end (or given up on). */
static void runner_finished(rproc *p)
{
	if (p->finished)
		return;
	/* A runner that exits 0 has said bye just before; the process's exit
	 * can overtake the message on its way through ZeroMQ. Give it time. */
	if (p->link_open && !p->term_signal && p->exit_status == 0 && !p->bye_wait) {
		p->bye_wait = 1;
		uv_timer_start(&p->settle, settle_cb, 2000, 0);
		return;
	}
	p->finished = 1;
	p->busy = 1;
	runner_stderr_report(p, 1);
	uv_timer_stop(&p->settle);
	if (!uv_is_closing((uv_handle_t *)&p->settle))
		uv_close((uv_handle_t *)&p->settle, rproc_handle_closed);
	if (p->link_open)
		runner_lost(p); /* it died before saying bye */
	else if (p->term_signal || p->exit_status)
		log_warn("run %s: runner %d (pid %d) ended with %s %d after it said bye",
			 p->s->name, p->index, p->pid, p->term_signal ? "signal" : "status",
			 p->term_signal ? p->term_signal : (int)p->exit_status);
	p->busy = 0;
	/* Before p may go: the owner's callback may free the group, which
	 * then waits for p. */
	changed(p->s);
	rproc_maybe_free(p);
}

static void settle_cb(uv_timer_t *h)
{
	rproc *p = h->data;
	/* A grandchild may hold the pipe open: stop waiting for EOF. */
	if (!p->err_eof) {
		p->err_eof = 1;
		uv_read_stop((uv_stream_t *)&p->err);
		uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
	}
	runner_finished(p);
}

static void on_exit_cb(uv_process_t *h, int64_t status, int sig)
{
	rproc *p = h->data;
	p->exited = 1;
	p->exit_status = status;
	p->term_signal = sig;
	uv_close((uv_handle_t *)&p->proc, rproc_handle_closed);
	if (p->err_eof)
		runner_finished(p);
	else
		uv_timer_start(&p->settle, settle_cb, 1000, 0);
}

/* ---- spawning ------------------------------------------------------------ */

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

void supervise_runner_argv(supervise_argv *a, const conf *c, const char *endpoint, int index,
			   const char *id, const char *key, const char *server_key)
{
	int n = 0;

	snprintf(a->sidx, sizeof(a->sidx), "%d", index);
	snprintf(a->sparent, sizeof(a->sparent), "%d", (int)getpid());
	a->mem_limit = runner_memory(c);
	snprintf(a->smem, sizeof(a->smem), "%" PRIu64, a->mem_limit);
	snprintf(a->sas, sizeof(a->sas), "%" PRIu64, c->runner_address_space);
	snprintf(a->sfiles, sizeof(a->sfiles), "%ld", c->runner_files);
	a->argv[n++] = "mited";
	a->argv[n++] = "--runner";
	a->argv[n++] = "--connect";
	a->argv[n++] = (char *)endpoint;
	a->argv[n++] = "--index";
	a->argv[n++] = a->sidx;
	a->argv[n++] = "--id";
	a->argv[n++] = (char *)id;
	a->argv[n++] = "--parent";
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

/* A runner's record with its id and the link that expects it. */
static rproc *rproc_new(supervisor *s, int index)
{
	rproc *p = calloc(1, sizeof(*p));
	if (!p) {
		log_err("run %s: cannot start runner %d: out of memory", s->name, index);
		return NULL;
	}
	p->s = s;
	p->index = index;
	p->t.ops = &proxy_ops;
	loglimit_init(&p->ll, &s->env.cf->stderr_limit, uv_now(s->env.loop));
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)uv_hrtime();
	int n = snprintf(p->id, sizeof(p->id), "%s.%d.%u.%08x", s->name, index, ++*s->env.seq, rnd);
	if (n < 0 || (size_t)n >= sizeof(p->id)) {
		log_err("run %s: runner id too long", s->name);
		free(p);
		return NULL;
	}
	p->inner = tzmq_server_expect(s->env.srv, p->id);
	if (!p->inner) {
		log_err("run %s: cannot start runner %d: %s", s->name, index, strerror(errno));
		free(p);
		return NULL;
	}
	p->inner->on_recv = proxy_recv;
	p->inner->data = p;
	return p;
}

/* `mited --runner ...` with p's id, link and limits; stderr to a pipe. */
static int rproc_exec(rproc *p)
{
	const supervise_env *e = &p->s->env;
	supervise_argv a;

	supervise_runner_argv(&a, e->cf, tzmq_server_endpoint(e->srv), p->index, p->id, NULL, NULL);
	p->mem_limit = a.mem_limit;
	p->as_limit = e->cf->runner_address_space;
	uv_pipe_init(e->loop, &p->err, 0);
	p->err.data = p;
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
		  .data.stream = (uv_stream_t *)&p->err },
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = e->exe,
		.args = a.argv,
		.stdio = stdio,
		.stdio_count = 3,
		/* Its own session: a terminal's ^C goes to the daemon alone,
		 * which drains the runners through the protocol. */
		.flags = UV_PROCESS_DETACHED,
	};
	p->proc.data = p;
	return uv_spawn(e->loop, &p->proc, &o);
}

/* Starts runner index. 0 or negative errno (logged). */
static int spawn(supervisor *s, int index)
{
	rproc *p = rproc_new(s, index);
	if (!p)
		return -ENOMEM;
	p->next = s->procs;
	s->procs = p;
	int rc = rproc_exec(p);
	if (rc < 0) {
		log_err("run %s: cannot start runner %d (%s): %s", s->name, index, s->env.exe,
			uv_strerror(rc));
		transport_close(p->inner);
		/* The pipe is closed, then p goes; nothing else references it. */
		p->inner = NULL;
		p->finished = 1;
		p->nhandles = 2;
		uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
		uv_close((uv_handle_t *)&p->proc, rproc_handle_closed);
		return rc;
	}
	p->pid = p->proc.pid;
	p->nhandles = 3;
	uv_timer_init(s->env.loop, &p->settle);
	p->settle.data = p;
	uv_read_start((uv_stream_t *)&p->err, err_alloc, err_read);
	p->spawned_ms = uv_now(s->env.loop);
	p->link_open = 1;
	rc = s->ops.joined ? s->ops.joined(&p->t, s->ops.data) : -ENOTCONN;
	if (rc < 0) {
		log_err("run %s: cannot add runner %d: %s", s->name, index, strerror(-rc));
		p->link_open = 0;
		transport_close(p->inner);
		p->inner = NULL;
		uv_process_kill(&p->proc, SIGKILL);
		return rc;
	}
	log_debug("run %s: runner %d started (pid %d, id %s)", s->name, index, p->pid, p->id);
	return 0;
}

/* ---- the group ----------------------------------------------------------- */

supervisor *supervise_new(const supervise_env *env, const char *name, const supervise_ops *ops)
{
	supervisor *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->env = *env;
	s->ops = *ops;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

void supervise_free(supervisor *s)
{
	if (!s)
		return;
	if (!s->procs) {
		free(s);
		return;
	}
	/* The handles of its processes are still on the loop. */
	s->free_pending = 1;
	supervise_kill(s);
}

int supervise_alive(const supervisor *s)
{
	int n = 0;
	for (const rproc *p = s->procs; p; p = p->next)
		n += !p->exited && p->link_open;
	return n;
}

int supervise_wanted(const supervisor *s)
{
	return s->wanted;
}
int supervise_restarts(const supervisor *s)
{
	return s->restarts;
}

int supervise_procs(const supervisor *s)
{
	int n = 0;
	for (const rproc *p = s->procs; p; p = p->next)
		n++;
	return n;
}

int supervise_start(supervisor *s, int n)
{
	int started = 0;
	s->wanted = n;
	for (int i = 0; i < n; i++)
		started += spawn(s, i) == 0;
	return started;
}

/* The lowest index no live runner uses. */
static int free_index(const supervisor *s)
{
	int idx = 0;
	for (int used = 1; used;) {
		used = 0;
		for (const rproc *p = s->procs; p; p = p->next)
			if (!p->exited && p->link_open && p->index == idx) {
				used = 1;
				idx++;
			}
	}
	return idx;
}

void supervise_grow(supervisor *s, int n, const char *why)
{
	if (n <= s->wanted || n > CAPACITY_RUNNERS_MAX || s->ended)
		return;
	log_msg(LOG_LVL_NOTICE,
		"run %s: %s: %d runners instead of %d (at most %ld instances of a "
		"journey per runner)",
		s->name, why, n, s->wanted, proto_instances_max());
	s->wanted = n;
	while (supervise_alive(s) < s->wanted)
		if (spawn(s, free_index(s)) < 0)
			return; /* logged; supervise_replace tries again */
	changed(s);
}

void supervise_replace(supervisor *s)
{
	uint64_t now = uv_now(s->env.loop);
	int max = s->env.cf->runner_restarts;
	if (s->ended || s->gave_up)
		return;
	while (supervise_alive(s) < s->wanted && now >= s->next_spawn_ms) {
		if (s->restarts >= max) {
			s->gave_up = 1;
			log_err("run %s: %d runner restarts; giving up on replacing runners and "
				"stopping the run",
				s->name, s->restarts);
			if (s->ops.gave_up)
				s->ops.gave_up("mited: runner restarts exhausted (runner_restarts)",
					       s->ops.data);
			return;
		}
		s->restarts++;
		int idx = free_index(s);
		uint64_t wait = s->burst
			? (uint64_t)RESPAWN_BASE_MS << (s->burst > 5 ? 5 : s->burst - 1)
			: 0;
		s->next_spawn_ms = now + (wait > RESPAWN_MAX_MS ? RESPAWN_MAX_MS : wait);
		if (spawn(s, idx) < 0)
			return; /* logged; the housekeeping tick tries again */
		log_msg(LOG_LVL_NOTICE, "run %s: runner %d replaced (restart %d of at most %d)",
			s->name, idx, s->restarts, max);
	}
}

void supervise_end(supervisor *s, uint64_t now)
{
	if (s->ended)
		return;
	s->ended = 1;
	s->ended_ms = now;
}

/* A silent runner: first asked (SIGUSR2, whose handler runs even in a
 * stuck loop) which journey holds it, then killed. */
static void watchdog(rproc *p, uint64_t now, uint64_t limit)
{
	/* A runner's transport sends a keepalive every second from its loop;
	 * silence means the loop is stuck (a journey that never yields). */
	uint64_t last = tzmq_last_activity(p->inner);
	if (last < p->spawned_ms)
		last = p->spawned_ms;
	if (now - last <= limit) {
		p->poked_ms = 0;
	} else if (!p->poked_ms) {
		p->poked_ms = now;
		uv_process_kill(&p->proc, SIGUSR2);
	} else {
		log_err("run %s: runner %d (pid %d) silent for %.0f s%s%s%s; killing it",
			p->s->name, p->index, p->pid, (double)(now - last) / 1000.0,
			p->journey[0] ? " (journey '" : "", p->journey,
			p->journey[0] ? "' never yields?)" : "");
		p->watchdog = 1;
		p->killed = 1;
		uv_process_kill(&p->proc, SIGKILL);
	}
}

void supervise_watch(supervisor *s, uint64_t now)
{
	uint64_t limit = (uint64_t)(s->env.cf->runner_timeout * 1000.0);
	for (rproc *p = s->procs; p; p = p->next) {
		runner_stderr_report(p, 0);
		if (p->exited || p->killed)
			continue;
		if (p->link_open) {
			watchdog(p, now, limit);
		} else if (s->ended && now - s->ended_ms > (uint64_t)(LINGER_KILL_S * 1000)) {
			log_warn("run %s: runner %d (pid %d) still alive %.0f s after the run "
				 "ended; killing it",
				 s->name, p->index, p->pid, LINGER_KILL_S);
			p->killed = 1;
			uv_process_kill(&p->proc, SIGKILL);
		}
	}
}

void supervise_kill(supervisor *s)
{
	for (rproc *p = s->procs; p; p = p->next)
		if (!p->exited) {
			p->killed = 1;
			uv_process_kill(&p->proc, SIGKILL);
		}
}
