/*
 * supervise.c - a run's runner processes (see supervise.h).
 *
 * Journey code never runs in the daemon: each run gets N runner processes,
 * spawned from this very executable, each speaking the runner protocol over
 * the ZeroMQ link (core/transport.h). A runner that dies - a signal, an
 * exit, or killed by the watchdog because its loop stopped answering - is
 * reported with the signal and the journey it was running, and replaced;
 * the run and the daemon go on.
 */
#include "config.h"

#include "mited/supervise.h"

#include "controller/capacity.h"
#include "controller/loglimit.h"
#include "core/log.h"
#include "core/proto.h"
#include "core/utf8.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define STDERR_LINE_MAX 1024
/* Lines a runner writes about its own death or state (a fatal signal, a
 * stack overflow, its memory limit): logged past runner_stderr, this many
 * per runner at most. */
#define STDERR_STATUS_LINES 16
/* A runner still alive this long after its run ended is killed. */
#define LINGER_KILL_S 10.0

struct rproc {
	transport t;      /* what the run holds: forwards to inner */
	transport *inner; /* the ZeroMQ link */
	drun *dr;
	rproc *next;
	uv_process_t proc;
	uv_pipe_t err;
	uv_timer_t settle; /* exit seen, waiting for the last stderr lines */
	int nhandles;
	int index;
	int pid;
	char id[TZMQ_ID_MAX + 1];
	int link_open;     /* the run still holds t */
	int busy;          /* runner_finished is using it: not freed under it */
	int exited, err_eof, finished;
	int bye_wait;      /* exited cleanly: its bye may still be on the way */
	int64_t exit_status;
	int term_signal;
	int watchdog;      /* killed for silence */
	uint64_t poked_ms; /* silent: asked (SIGUSR2) which journey it is stuck in */
	int killed;        /* a SIGKILL was sent */
	uint64_t spawned_ms;
	char journey[128];  /* from the crash line, else the last stats */
	char crash[256];    /* what the runner said about its death */
	char last_line[256];
	char line[STDERR_LINE_MAX];
	size_t linelen;
	uint64_t mem_limit; /* runner_limits.memory it was given, bytes; 0: none */
	uint64_t as_limit;  /* runner_limits.address_space it was given */
	int as_near;        /* it died close to its address space limit */
	loglimit ll;      /* runner_stderr */
	int status_lines; /* lines about itself logged past the limit */
};

static void rproc_maybe_free(rproc *p);

/* ---- runner processes --------------------------------------------------- */

static int proxy_send(transport *t, const char *msg, size_t len)
{
	rproc *p = (rproc *)t;
	return p->inner ? transport_send(p->inner, msg, len) : -EPIPE;
}

static void runner_finished(rproc *p);

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

static const struct transport_ops proxy_ops = {.send = proxy_send, .close = proxy_close};

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
			log_err("run %s: runner %d: a message dropped: out of memory", p->dr->id,
				p->index);
			return;
		}
		msg = fixed;
	}
	peek_journey(p, msg, len);
	/* The run may close the link from here (bye): p stays, inner goes. */
	if (p->t.on_recv)
		p->t.on_recv(&p->t, msg, len, p->t.data);
	free(fixed);
}

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
	drun *dr = p->dr;
	for (rproc **pp = &dr->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
	daemon_check_exit(dr->d);
}

/* Says how much of a runner's stderr runner_stderr dropped: every
 * LOGLIMIT_REPORT_MS while it floods, and once more at its end. */
static void stderr_report(rproc *p, int final)
{
	uint64_t lines, bytes;
	double secs;
	const loglimit_conf *c = &p->dr->d->cf.stderr_limit;
	if (!loglimit_report(&p->ll, uv_now(p->dr->d->loop), final, &lines, &bytes, &secs))
		return;
	log_warn("run %s: runner %d: %llu line(s) (%llu bytes) of its stderr dropped in %.0f s "
		 "(runner_stderr: %g lines/s, %g bytes/s)",
		 p->dr->id, p->index, (unsigned long long)lines, (unsigned long long)bytes, secs,
		 c->lines_per_s, c->bytes_per_s);
}

/* One line the runner wrote on stderr: logged with the run's and runner's
 * names, at the level its "<N>" prefix gives, as far as runner_stderr lets
 * it, and searched for what the runner says about its own death. */
static void runner_line(rproc *p, char *line)
{
	int level = LOG_LVL_INFO, status = 1;
	if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
		level = line[1] - '0';
		line += 3;
	}
	if (level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	/* "mite: fatal signal S in journey NAME" (our handler),
	 * "mite: journey NAME overflowed its N KiB stack" (core/coro.c) and
	 * "mite: memory limit of N MiB reached ..." and "mite: address space
	 * limit of N MiB nearly reached ..." (runner/limits.c). */
	const char *j;
	if (strncmp(line, "mite: fatal signal ", 19) == 0 && (j = strstr(line, " in journey "))) {
		snprintf(p->journey, sizeof(p->journey), "%s", j + 12);
		snprintf(p->crash, sizeof(p->crash), "%s", line + 6);
	} else if (strncmp(line, "mite: busy in journey ", 22) == 0) {
		snprintf(p->journey, sizeof(p->journey), "%s", line + 22);
	} else if (strncmp(line, "mite: journey ", 14) == 0 && (j = strstr(line, " overflowed its "))) {
		snprintf(p->journey, sizeof(p->journey), "%.*s", (int)(j - line - 14), line + 14);
		snprintf(p->crash, sizeof(p->crash), "stack overflow: %s", line + 6);
	} else if (strncmp(line, "mite: memory limit of ", 22) == 0) {
		snprintf(p->crash, sizeof(p->crash), "memory: %s", line + 6);
	} else if (strncmp(line, "mite: address space limit of ", 29) == 0) {
		p->as_near = 1; /* a fatal signal's line follows */
	} else {
		status = 0;
	}
	snprintf(p->last_line, sizeof(p->last_line), "%s", line);
	if (!(status && p->status_lines++ < STDERR_STATUS_LINES) &&
	    !loglimit_take(&p->ll, &p->dr->d->cf.stderr_limit, strlen(line),
			   uv_now(p->dr->d->loop)))
		return;
	log_msg(level, "run %s: runner %d: %s", p->dr->id, p->index, line);
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
	rproc *p = s->data;
	if (n < 0) {
		if (p->linelen) {
			p->line[p->linelen] = '\0';
			runner_line(p, p->line);
			p->linelen = 0;
		}
		p->err_eof = 1;
		uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
		if (p->exited)
			runner_finished(p);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = b->base[i];
		if (c == '\n' || p->linelen == sizeof(p->line) - 1) {
			p->line[p->linelen] = '\0';
			runner_line(p, p->line);
			p->linelen = 0;
			if (c == '\n')
				continue;
		}
		p->line[p->linelen++] = c;
	}
}

int supervise_alive(const drun *dr)
{
	int n = 0;
	for (const rproc *p = dr->procs; p; p = p->next)
		n += !p->exited && p->link_open;
	return n;
}

/* Replaces lost runners while the run goes on (not while it starts: a
 * runner joining a starting run would never get its setup). A journey that
 * crashes every runner at once would make that a fork storm: the first
 * replacement is immediate, then each waits twice as long as the one
 * before (up to RESPAWN_MAX_MS) until runners stay up for a while. */
#define RESPAWN_BASE_MS 250
#define RESPAWN_MAX_MS 5000
#define RESPAWN_CALM_MS 30000

/* The lowest index no live runner uses. */
static int free_index(const drun *dr)
{
	int idx = 0;
	for (int used = 1; used;) {
		used = 0;
		for (const rproc *p = dr->procs; p; p = p->next)
			if (!p->exited && p->link_open && p->index == idx) {
				used = 1;
				idx++;
			}
	}
	return idx;
}

/* More runners for a run whose volume grew past what its runners may hold
 * (a scale, a plugin model): not replacements, so no restart is counted.
 * They join like replacements: set up at once, given a share when ready. */
void supervise_grow(drun *dr, int n, const char *why)
{
	if (n <= dr->wanted || n > CAPACITY_RUNNERS_MAX || dr->done || dr->d->stopping)
		return;
	log_msg(LOG_LVL_NOTICE, "run %s: %s: %d runners instead of %d (at most %ld instances of a "
		"journey per runner)", dr->id, why, n, dr->wanted, proto_instances_max());
	dr->wanted = n;
	while (supervise_alive(dr) < dr->wanted)
		if (supervise_spawn(dr, free_index(dr)) < 0)
			return; /* logged; replace_runners tries again */
	daemon_update_status(dr->d);
}

void supervise_replace(drun *dr)
{
	run_state st = run_get_state(dr->r);
	uint64_t now = uv_now(dr->d->loop);
	if (dr->done || dr->gave_up || dr->d->stopping || (st != RUN_RUNNING && st != RUN_PAUSED))
		return;
	while (supervise_alive(dr) < dr->wanted && now >= dr->next_spawn_ms) {
		if (dr->restarts >= dr->d->cf.runner_restarts) {
			dr->gave_up = 1;
			log_err("run %s: %d runner restarts; giving up on replacing runners and "
				"stopping the run",
				dr->id, dr->restarts);
			run_stop_by(dr->r, 1, "mited: runner restarts exhausted (runner_restarts)");
			return;
		}
		dr->restarts++;
		int idx = free_index(dr);
		uint64_t wait = dr->burst ? (uint64_t)RESPAWN_BASE_MS << (dr->burst > 5 ? 5 : dr->burst - 1) : 0;
		dr->next_spawn_ms = now + (wait > RESPAWN_MAX_MS ? RESPAWN_MAX_MS : wait);
		if (supervise_spawn(dr, idx) < 0)
			return; /* logged; the housekeeping tick tries again */
		log_msg(LOG_LVL_NOTICE, "run %s: runner %d replaced (restart %d of at most %d)",
			dr->id, idx, dr->restarts, dr->d->cf.runner_restarts);
	}
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
	stderr_report(p, 1);
	uv_timer_stop(&p->settle);
	if (!uv_is_closing((uv_handle_t *)&p->settle))
		uv_close((uv_handle_t *)&p->settle, rproc_handle_closed);
	drun *dr = p->dr;
	if (p->link_open) {
		/* It died before saying bye: lost. */
		char reason[512];
		char journey[160] = "";
		if (p->journey[0])
			snprintf(journey, sizeof(journey), " in journey '%s'", p->journey);
		int at_limit = strncmp(p->crash, "memory: memory limit of ", 24) == 0;
		if (p->watchdog)
			snprintf(reason, sizeof(reason),
				 "killed by the watchdog: silent for over %g s (its loop hung%s)",
				 dr->d->cf.runner_timeout, journey[0] ? journey : "");
		else if (at_limit && !p->term_signal)
			snprintf(reason, sizeof(reason), "exceeded its memory limit of %" PRIu64 " MiB%s",
				 p->mem_limit >> 20, journey);
		else if (p->term_signal && p->as_near)
			snprintf(reason, sizeof(reason),
				 "killed by signal %d (SIG%s, %s)%s at its address space limit of %" PRIu64
				 " MiB: an allocation probably failed",
				 p->term_signal, util_sig_name(p->term_signal), strsignal(p->term_signal),
				 journey, p->as_limit >> 20);
		else if (p->term_signal)
			snprintf(reason, sizeof(reason), "killed by signal %d (SIG%s, %s)%s%s",
				 p->term_signal, util_sig_name(p->term_signal), strsignal(p->term_signal),
				 journey,
				 strncmp(p->crash, "stack overflow", 14) == 0 ? ": a stack overflow" : "");
		else
			snprintf(reason, sizeof(reason), "exited with status %lld%s%s%s",
				 (long long)p->exit_status, journey,
				 p->last_line[0] ? ": " : "", p->last_line);
		log_err("run %s: runner %d (pid %d) %s", dr->id, p->index, p->pid, reason);
		uint64_t now = uv_now(dr->d->loop);
		if (dr->last_loss_ms && now - dr->last_loss_ms > RESPAWN_CALM_MS)
			dr->burst = 0; /* runners stayed up: start the back-off over */
		dr->burst++;
		dr->last_loss_ms = now;
		run_runner_lost(dr->r, &p->t, reason); /* closes the link */
		supervise_replace(dr);
	} else if (p->term_signal || p->exit_status) {
		log_warn("run %s: runner %d (pid %d) ended with %s %d after it said bye", dr->id,
			 p->index, p->pid, p->term_signal ? "signal" : "status",
			 p->term_signal ? p->term_signal : (int)p->exit_status);
	}
	p->busy = 0;
	rproc_maybe_free(p);
	daemon_update_status(dr->d);
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

int supervise_spawn(drun *dr, int index)
{
	daemon_ *d = dr->d;
	rproc *p = calloc(1, sizeof(*p));
	if (!p) {
		log_err("run %s: cannot start runner %d: out of memory", dr->id, index);
		return -ENOMEM;
	}
	p->dr = dr;
	p->index = index;
	p->t.ops = &proxy_ops;
	loglimit_init(&p->ll, &d->cf.stderr_limit, uv_now(d->loop));
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)uv_hrtime();
	int n = snprintf(p->id, sizeof(p->id), "%s.%d.%u.%08x", dr->id, index, ++d->runner_seq, rnd);
	if (n < 0 || (size_t)n >= sizeof(p->id)) {
		log_err("run %s: runner id too long", dr->id);
		free(p);
		return -ENAMETOOLONG;
	}
	p->inner = tzmq_server_expect(d->srv, p->id);
	if (!p->inner) {
		log_err("run %s: cannot start runner %d: %s", dr->id, index, strerror(errno));
		free(p);
		return -errno;
	}
	p->inner->on_recv = proxy_recv;
	p->inner->data = p;

	char sidx[16], sparent[16], smem[32], sas[32], sfiles[32];
	snprintf(sidx, sizeof(sidx), "%d", index);
	snprintf(sparent, sizeof(sparent), "%d", (int)getpid());
	p->mem_limit = runner_memory(&d->cf);
	snprintf(smem, sizeof(smem), "%" PRIu64, p->mem_limit);
	p->as_limit = d->cf.runner_address_space;
	snprintf(sas, sizeof(sas), "%" PRIu64, p->as_limit);
	snprintf(sfiles, sizeof(sfiles), "%ld", d->cf.runner_files);
	char *args[] = {"mited", "--runner", "--connect", (char *)tzmq_server_endpoint(d->srv),
			"--index", sidx, "--id", p->id, "--parent", sparent,
			"--log-level", (char *)conf_level_name(log_get_level()),
			"--memory-limit", smem, "--address-space", sas, "--open-files", sfiles, NULL};
	uv_pipe_init(d->loop, &p->err, 0);
	p->err.data = p;
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_IGNORE},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->err},
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = d->self_exe,
		.args = args,
		.stdio = stdio,
		.stdio_count = 3,
		/* Its own session: a terminal's ^C goes to the daemon alone,
		 * which drains the runners through the protocol. */
		.flags = UV_PROCESS_DETACHED,
	};
	p->proc.data = p;
	int rc = uv_spawn(d->loop, &p->proc, &o);
	if (rc < 0) {
		log_err("run %s: cannot start runner %d (%s): %s", dr->id, index, d->self_exe,
			uv_strerror(rc));
		transport_close(p->inner);
		/* The pipe is closed, then p goes; nothing else references it. */
		p->inner = NULL;
		p->finished = 1;
		p->nhandles = 2;
		p->next = dr->procs;
		dr->procs = p;
		uv_close((uv_handle_t *)&p->err, rproc_handle_closed);
		uv_close((uv_handle_t *)&p->proc, rproc_handle_closed);
		return rc;
	}
	p->pid = p->proc.pid;
	p->nhandles = 3;
	uv_timer_init(d->loop, &p->settle);
	p->settle.data = p;
	uv_read_start((uv_stream_t *)&p->err, err_alloc, err_read);
	p->spawned_ms = uv_now(d->loop);
	p->link_open = 1;
	p->next = dr->procs;
	dr->procs = p;
	rc = run_add_runner(dr->r, &p->t);
	if (rc < 0) {
		log_err("run %s: cannot add runner %d: %s", dr->id, index, strerror(-rc));
		p->link_open = 0;
		transport_close(p->inner);
		p->inner = NULL;
		uv_process_kill(&p->proc, SIGKILL);
		return rc;
	}
	log_debug("run %s: runner %d started (pid %d, id %s)", dr->id, index, p->pid, p->id);
	return 0;
}

/* The watchdog, once a housekeeping tick, and what runner_stderr dropped. */
void supervise_watch(drun *dr, uint64_t now, uint64_t limit)
{
	for (rproc *p = dr->procs; p; p = p->next) {
		stderr_report(p, 0);
		if (p->exited || p->killed)
			continue;
		if (p->link_open) {
			/* The watchdog: a runner's transport sends a keepalive
			 * every second from its loop; silence means the loop
			 * is stuck (a journey that never yields). */
			uint64_t last = tzmq_last_activity(p->inner);
			if (last < p->spawned_ms)
				last = p->spawned_ms;
			if (now - last <= limit) {
				p->poked_ms = 0;
			} else if (!p->poked_ms) {
				/* First ask it (from a signal handler, which runs
				 * even in a stuck loop) which journey holds it. */
				p->poked_ms = now;
				uv_process_kill(&p->proc, SIGUSR2);
			} else {
				log_err("run %s: runner %d (pid %d) silent for %.0f s%s%s%s; "
					"killing it",
					dr->id, p->index, p->pid, (double)(now - last) / 1000.0,
					p->journey[0] ? " (journey '" : "", p->journey,
					p->journey[0] ? "' never yields?)" : "");
				p->watchdog = 1;
				p->killed = 1;
				uv_process_kill(&p->proc, SIGKILL);
			}
		} else if (dr->done && now - dr->done_ms > (uint64_t)(LINGER_KILL_S * 1000)) {
			log_warn("run %s: runner %d (pid %d) still alive %.0f s after the run "
				 "ended; killing it",
				 dr->id, p->index, p->pid, LINGER_KILL_S);
			p->killed = 1;
			uv_process_kill(&p->proc, SIGKILL);
		}
	}
}

void supervise_kill(drun *dr)
{
	for (rproc *p = dr->procs; p; p = p->next)
		if (!p->exited) {
			p->killed = 1;
			uv_process_kill(&p->proc, SIGKILL);
		}
}
