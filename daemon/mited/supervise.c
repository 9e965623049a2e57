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
#include "mited/respawn.h"
#include "mited/rproc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* A runner still alive this long after its owner ended is killed. */
#define LINGER_KILL_S 10.0
/* A runner that exited 0 said bye just before; the process's exit can
 * overtake the message on its way through ZeroMQ. */
#define BYE_WAIT_MS 2000

typedef struct srunner srunner;

struct supervisor {
	supervise_env env;
	supervise_ops ops;
	char name[64];
	srunner *runners;
	int wanted; /* runners */
	int ended; /* supervise_end: lingering runners get killed */
	uint64_t ended_ms;
};

/* A runner: its process (rproc.h) and its link, which the owner holds. */
struct srunner {
	transport t; /* what the owner holds: forwards to inner */
	transport *inner; /* the ZeroMQ link */
	supervisor *s;
	srunner *next;
	rproc *proc; /* NULL once released (its end was dealt with) */
	int index;
	int pid;
	char id[TZMQ_ID_MAX + 1];
	int link_open; /* the owner still holds t */
	int busy; /* finish is using it: not freed under it */
	int bye_wait; /* exited cleanly: its bye may still be on the way */
	uint64_t spawned_ms;
	uint64_t poked_ms; /* silent: asked (SIGUSR2) which journey it is stuck in */
};

static void maybe_free(srunner *r);
static void finish(srunner *r);

static void changed(supervisor *s)
{
	if (s->ops.changed)
		s->ops.changed(s->ops.data);
}

/* ---- the link the owner holds -------------------------------------------- */

static int proxy_send(transport *t, const char *msg, size_t len)
{
	srunner *r = (srunner *)t;
	return r->inner ? transport_send(r->inner, msg, len) : -EPIPE;
}

static void proxy_close(transport *t)
{
	srunner *r = (srunner *)t;
	if (!r->link_open)
		return;
	r->link_open = 0;
	if (r->inner)
		transport_close(r->inner);
	r->inner = NULL;
	/* The bye a runner that already exited sent: it is done now. */
	if (r->bye_wait && r->proc) {
		finish(r);
		return;
	}
	maybe_free(r);
}

static const struct transport_ops proxy_ops = { .send = proxy_send, .close = proxy_close };

int supervise_stats_journey(const char *msg, size_t len, char *out, size_t outlen)
{
	static const char key[] = "\"journey\":\"";
	if (len > 65536 || !memmem(msg, len, "\"t\":\"stats\"", 11))
		return 0;
	const char *k = memmem(msg, len, key, sizeof(key) - 1);
	if (!k)
		return 0;
	k += sizeof(key) - 1;
	const char *end = memchr(k, '"', (size_t)(msg + len - k));
	if (!end || (size_t)(end - k) >= outlen)
		return 0;
	snprintf(out, outlen, "%.*s", (int)(end - k), k);
	return 1;
}

static void proxy_recv(transport *inner, const char *msg, size_t len, void *data)
{
	srunner *r = data;
	char *fixed = NULL;
	(void)inner;
	/* Journey code names transactions, fails and sends messages with any
	 * bytes: one rule for them all before they reach the run's tables,
	 * its results and its replies (core/utf8.h). */
	if (!utf8_valid(msg, len)) {
		fixed = utf8_repair(msg, len, &len);
		if (!fixed) {
			log_err("run %s: runner %d: a message dropped: out of memory", r->s->name,
				r->index);
			return;
		}
		msg = fixed;
	}
	char journey[128];
	if (r->proc && supervise_stats_journey(msg, len, journey, sizeof(journey)))
		rproc_set_journey(r->proc, journey);
	/* The owner may close the link from here (bye): r stays, inner goes. */
	if (r->t.on_recv)
		r->t.on_recv(&r->t, msg, len, r->t.data);
	free(fixed);
}

/* ---- a runner's end ------------------------------------------------------ */

static void maybe_free(srunner *r)
{
	if (r->link_open || r->proc || r->busy)
		return;
	supervisor *s = r->s;
	for (srunner **pp = &s->runners; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	free(r);
	changed(s);
}

/* A runner lost: reported, counted for the back-off, told to the owner
 * (which closes the link). */
static void runner_lost(srunner *r)
{
	supervisor *s = r->s;
	char reason[512];
	(void)rproc_death(r->proc, reason, sizeof(reason));
	log_err("run %s: runner %d (pid %d) %s", s->name, r->index, r->pid, reason);
	respawn_lost(s->env.budget, uv_now(s->env.loop));
	if (s->ops.lost)
		s->ops.lost(&r->t, reason, s->ops.data);
	if (r->link_open) /* an owner that kept it: the link is of no use now */
		proxy_close(&r->t);
}

/* The process is gone (rproc's word): lost if it did not say bye. */
static void finish(srunner *r)
{
	if (!r->proc)
		return;
	r->busy = 1;
	if (r->link_open) {
		runner_lost(r); /* it died before saying bye */
	} else if (!rproc_clean(r->proc)) {
		char end[64];
		rproc_end(r->proc, end, sizeof(end));
		log_warn("run %s: runner %d (pid %d) ended with %s after it said bye", r->s->name,
			 r->index, r->pid, end);
	}
	rproc_release(r->proc);
	r->proc = NULL;
	r->busy = 0;
	maybe_free(r);
}

static void on_ended(rproc *p, void *data)
{
	srunner *r = data;
	if (r->link_open && rproc_clean(p) && !r->bye_wait) {
		r->bye_wait = 1;
		rproc_hold(p, BYE_WAIT_MS);
		return;
	}
	finish(r);
}

/* ---- spawning ------------------------------------------------------------ */

/* A runner's record with its id and the link that expects it. */
static srunner *runner_new(supervisor *s, int index)
{
	srunner *r = calloc(1, sizeof(*r));
	if (!r) {
		log_err("run %s: cannot start runner %d: out of memory", s->name, index);
		return NULL;
	}
	r->s = s;
	r->index = index;
	r->t.ops = &proxy_ops;
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)uv_hrtime();
	int n = snprintf(r->id, sizeof(r->id), "%s.%d.%u.%08x", s->name, index, ++*s->env.seq, rnd);
	if (n < 0 || (size_t)n >= sizeof(r->id)) {
		log_err("run %s: runner id too long", s->name);
		free(r);
		return NULL;
	}
	r->inner = tzmq_server_expect(s->env.srv, r->id);
	if (!r->inner) {
		log_err("run %s: cannot start runner %d: %s", s->name, index, strerror(errno));
		free(r);
		return NULL;
	}
	r->inner->on_recv = proxy_recv;
	r->inner->data = r;
	return r;
}

/* `mited --runner ...` with r's id, link and limits. */
static int runner_exec(srunner *r)
{
	const supervise_env *e = &r->s->env;
	rproc_argv a;
	char name[128];
	rproc_runner_argv(&a, e->cf, tzmq_server_endpoint(e->srv), r->index, r->id, NULL, NULL);
	snprintf(name, sizeof(name), "run %s: runner %d", r->s->name, r->index);
	rproc_spec sp = { .loop = e->loop,
			  .cf = e->cf,
			  .exe = e->exe,
			  .argv = &a,
			  .name = name,
			  .ended = on_ended,
			  .data = r };
	return rproc_spawn(&sp, &r->proc);
}

/* Starts runner index. 0 or negative errno (logged). */
static int spawn(supervisor *s, int index)
{
	srunner *r = runner_new(s, index);
	if (!r)
		return -ENOMEM;
	int rc = runner_exec(r);
	if (rc < 0) {
		log_err("run %s: cannot start runner %d (%s): %s", s->name, index, s->env.exe,
			uv_strerror(rc));
		transport_close(r->inner);
		free(r);
		return rc;
	}
	r->next = s->runners;
	s->runners = r;
	r->pid = rproc_pid(r->proc);
	r->spawned_ms = uv_now(s->env.loop);
	r->link_open = 1;
	rc = s->ops.joined ? s->ops.joined(&r->t, s->ops.data) : -ENOTCONN;
	if (rc < 0) {
		log_err("run %s: cannot add runner %d: %s", s->name, index, strerror(-rc));
		r->link_open = 0;
		transport_close(r->inner);
		r->inner = NULL;
		rproc_release(r->proc); /* killed */
		r->proc = NULL;
		maybe_free(r);
		return rc;
	}
	log_debug("run %s: runner %d started (pid %d, id %s)", s->name, index, r->pid, r->id);
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
	/* Processes still alive are killed and go once reaped (rproc.c). */
	while (s->runners) {
		srunner *r = s->runners;
		s->runners = r->next;
		if (r->link_open && r->inner)
			transport_close(r->inner);
		rproc_release(r->proc);
		free(r);
	}
	free(s);
}

static int alive(const srunner *r)
{
	return r->link_open && r->proc && !rproc_exited(r->proc);
}

int supervise_alive(const supervisor *s)
{
	int n = 0;
	for (const srunner *r = s->runners; r; r = r->next)
		n += alive(r);
	return n;
}

int supervise_wanted(const supervisor *s)
{
	return s->wanted;
}

int supervise_procs(const supervisor *s)
{
	int n = 0;
	for (const srunner *r = s->runners; r; r = r->next)
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
		for (const srunner *r = s->runners; r; r = r->next)
			if (alive(r) && r->index == idx) {
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
	int max = s->env.cf->runner_restarts;
	if (s->ended)
		return;
	while (supervise_alive(s) < s->wanted) {
		int go = respawn_take(s->env.budget, uv_now(s->env.loop), max);
		if (go == RESPAWN_OUT && s->ops.gave_up)
			s->ops.gave_up("mited: runner restarts exhausted (runner_restarts)",
				       s->ops.data);
		if (go != RESPAWN_GO)
			return;
		int idx = free_index(s);
		if (spawn(s, idx) < 0)
			return; /* logged; the housekeeping tick tries again */
		log_msg(LOG_LVL_NOTICE, "run %s: runner %d replaced (restart %d of at most %d)",
			s->name, idx, s->env.budget->restarts, max);
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
static void watchdog(srunner *r, uint64_t now, double timeout)
{
	/* A runner's transport sends a keepalive every second from its loop;
	 * silence means the loop is stuck (a journey that never yields). */
	uint64_t last = tzmq_last_activity(r->inner);
	if (last < r->spawned_ms)
		last = r->spawned_ms;
	if (now - last <= (uint64_t)(timeout * 1000.0)) {
		r->poked_ms = 0;
	} else if (!r->poked_ms) {
		r->poked_ms = now;
		rproc_signal(r->proc, SIGUSR2);
	} else {
		const char *j = rproc_journey(r->proc);
		char why[128];
		log_err("run %s: runner %d (pid %d) silent for %.0f s%s%s%s; killing it",
			r->s->name, r->index, r->pid, (double)(now - last) / 1000.0,
			j[0] ? " (journey '" : "", j, j[0] ? "' never yields?)" : "");
		snprintf(why, sizeof(why), "by the watchdog: silent for over %g s, its loop hung",
			 timeout);
		rproc_kill(r->proc, why);
	}
}

void supervise_watch(supervisor *s, uint64_t now)
{
	for (srunner *r = s->runners; r; r = r->next) {
		if (!r->proc)
			continue;
		rproc_watch(r->proc);
		if (rproc_exited(r->proc) || rproc_killed(r->proc))
			continue;
		if (r->link_open) {
			watchdog(r, now, s->env.cf->runner_timeout);
		} else if (s->ended && now - s->ended_ms > (uint64_t)(LINGER_KILL_S * 1000)) {
			log_warn("run %s: runner %d (pid %d) still alive %.0f s after the run "
				 "ended; killing it",
				 s->name, r->index, r->pid, LINGER_KILL_S);
			rproc_kill(r->proc, "by mited: still alive after its run ended");
		}
	}
}

void supervise_kill(supervisor *s)
{
	for (srunner *r = s->runners; r; r = r->next)
		if (r->proc)
			rproc_kill(r->proc, "by mited: it stops");
}
