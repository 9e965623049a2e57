/*
 * hosts_run.c - the runners hosts run for runs (see hosts_int.h): asked of
 * an agent with host_spawn, each runner process then links to us itself
 * (CURVE, its host's key) and is one more runner of the run, like a local
 * one; when its host is lost, or its process ends early, the run is told
 * (run_runner_lost: its share moves to the others, its leases go back).
 */
#include "config.h"

#include "mited/hosts_int.h"

#include "core/log.h"
#include "core/proto.h"
#include "core/utf8.h"
#include "mited/supervise.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* A runner given this long to link up (process start, CURVE handshake)
 * before the watchdog's runner_timeout counts. */
#define SPAWN_SLACK_MS 10000

static int hr_send(transport *t, const char *msg, size_t len)
{
	hrunner *r = (hrunner *)t;
	if (!r->inner)
		return -EPIPE;
	/* A setup names the host's cached copies of the modules. */
	char *setup = hosts_ship_setup(r->hs, r->h, msg, len);
	if (!setup)
		return transport_send(r->inner, msg, len);
	int rc = transport_send(r->inner, setup, strlen(setup));
	free(setup);
	return rc;
}

/* The run lets go of it (bye, dropped, lost, run freed): gone. */
static void hr_close(transport *t)
{
	hrunner *r = (hrunner *)t;
	if (!r->link_open)
		return;
	r->link_open = 0;
	if (r->inner)
		transport_close(r->inner);
	r->inner = NULL;
	for (hrunner **pp = &r->hs->runners; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	free(r);
}

static const struct transport_ops hr_ops = { .send = hr_send, .close = hr_close };

/* A runner says it leaves the run because its agent is gone: the host is
 * lost now, not a heartbeat bound later. */
static int says_agent_gone(const char *msg, size_t len)
{
	static const char tag[] = "\"" PROTO_LEAVING "\"";
	char err[64];
	cJSON *m;
	int yes;

	/* A leaving is small; others (stats) are only looked at when they
	 * hold the word, and then read whole (an event may carry it). */
	if (len > 4096 || !memmem(msg, len, tag, sizeof(tag) - 1) ||
	    !(m = proto_parse(msg, len, err, sizeof(err))))
		return 0;
	yes = strcmp(proto_type(m), PROTO_LEAVING) == 0;
	cJSON_Delete(m);
	return yes;
}

static void hr_recv(transport *inner, const char *msg, size_t len, void *data)
{
	hrunner *r = data;
	char *fixed = NULL;
	/* Only the host it was asked of may speak for it. */
	if (r->hs->curve && strcmp(tzmq_peer_user(inner), r->key) != 0) {
		if (!r->wrong_key++)
			log_err("run %s: runner id %s (host %s) spoke with the key of '%s': ignored",
				r->dr->id, r->id, r->h ? r->h->name : r->key,
				tzmq_peer_user(inner));
		return;
	}
	if (r->h && r->h->state == HOST_UP && says_agent_gone(msg, len)) {
		char why[160];
		snprintf(why, sizeof(why), "its agent is gone (runner %d says so)", r->index);
		hosts_lose(r->hs, r->h, why); /* r stays: it is leaving */
	}
	/* One rule for what journey code names (core/utf8.h), as for local
	 * runners. */
	if (!utf8_valid(msg, len)) {
		if (!(fixed = utf8_repair(msg, len, &len)))
			return;
		msg = fixed;
	}
	supervise_stats_journey(msg, len, r->journey, sizeof(r->journey));
	if (r->t.on_recv)
		r->t.on_recv(&r->t, msg, len, r->t.data); /* may free r */
	free(fixed);
}

static int next_index(const hosts *hs, const drun *dr)
{
	int idx = supervise_wanted(dr->sv);
	for (const hrunner *r = hs->runners; r; r = r->next)
		if (r->dr == dr && r->index >= idx)
			idx = r->index + 1;
	return idx;
}

int hosts_run_spawn(hosts *hs, host *h, drun *dr, int n)
{
	cJSON *msg = proto_new(HOSTPROTO_SPAWN);
	cJSON *list = cJSON_AddArrayToObject(msg, "runners");
	int got = 0;
	cJSON_AddStringToObject(msg, "run", dr->id);
	if (h->cache[0] && hosts_ship_list(hs, dr, msg) < 0) {
		cJSON_Delete(msg);
		return 0;
	}
	for (int i = 0; i < n && list; i++) {
		hrunner *r = calloc(1, sizeof(*r));
		uint32_t rnd = 0;
		if (!r)
			break;
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)uv_hrtime();
		r->t.ops = &hr_ops;
		r->hs = hs;
		r->h = h;
		r->dr = dr;
		r->index = next_index(hs, dr);
		r->added_ms = uv_now(hs->d->loop);
		snprintf(r->key, sizeof(r->key), "%s", h->key);
		snprintf(r->id, sizeof(r->id), "%.24s.h%u.%d.%08x", dr->id, ++hs->seq, r->index,
			 rnd);
		if (!(r->inner = tzmq_server_expect(hs->srv, r->id))) {
			log_err("run %s: host %s: runner %d: %s", dr->id, h->name, r->index,
				strerror(errno));
			free(r);
			break;
		}
		r->inner->on_recv = hr_recv;
		r->inner->data = r;
		r->link_open = 1;
		r->next = hs->runners;
		hs->runners = r;
		if (run_add_runner(dr->r, &r->t) < 0) {
			hr_close(&r->t);
			break;
		}
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "id", r->id);
		cJSON_AddNumberToObject(x, "index", r->index);
		cJSON_AddItemToArray(list, x);
		got++;
	}
	if (got)
		hosts_send(h, msg);
	else
		cJSON_Delete(msg);
	log_info("run %s: host %s: %d runner(s)", dr->id, h->name, got);
	return got;
}

static int has_label(const host *h, const char *label)
{
	for (int i = 0; h->labels && h->labels[i]; i++)
		if (strcmp(h->labels[i], label) == 0)
			return 1;
	return 0;
}

static int wants(const hosts_sel *sel, const host *h)
{
	if (h->state != HOST_UP || sel->mode == HOSTS_SEL_NONE)
		return 0;
	return sel->mode != HOSTS_SEL_LABEL || has_label(h, sel->label);
}

static int on_host(const hosts *hs, const drun *dr, const host *h)
{
	for (const hrunner *r = hs->runners; r; r = r->next)
		if (r->dr == dr && r->h == h && r->link_open && !r->leaving)
			return 1;
	return 0;
}

static int hosts_of(const hosts *hs, const drun *dr)
{
	int n = 0;
	for (const host *h = hs->list; h; h = h->next)
		n += on_host(hs, dr, h);
	return n;
}

int hosts_selectable(const hosts *hs, const hosts_sel *sel)
{
	int n = 0;
	for (const host *h = hs ? hs->list : NULL; h; h = h->next)
		n += wants(sel, h);
	return sel->mode == HOSTS_SEL_COUNT && n > sel->count ? sel->count : n;
}

int hosts_attach(hosts *hs, drun *dr)
{
	int got = 0, nhosts = 0;
	if (!hs)
		return 0;
	/* The N hosts with the most runners for a count, else every host
	 * the selection names. */
	for (;;) {
		host *best = NULL;
		if (dr->hsel.mode == HOSTS_SEL_COUNT && nhosts >= dr->hsel.count)
			break;
		for (host *h = hs->list; h; h = h->next)
			if (wants(&dr->hsel, h) && !on_host(hs, dr, h) &&
			    (!best || h->runners > best->runners))
				best = h;
		if (!best)
			break;
		int n = hosts_run_spawn(hs, best, dr, best->runners);
		if (!n)
			break;
		got += n;
		nhosts++;
	}
	return got;
}

void hosts_run_joined(hosts *hs, host *h)
{
	for (drun *dr = hs->d->runs; dr; dr = dr->next) {
		run_state st = run_get_state(dr->r);
		if (dr->done || (st != RUN_RUNNING && st != RUN_PAUSED) || !wants(&dr->hsel, h) ||
		    on_host(hs, dr, h))
			continue;
		if (dr->hsel.mode == HOSTS_SEL_COUNT && hosts_of(hs, dr) >= dr->hsel.count)
			continue;
		log_msg(LOG_LVL_NOTICE, "run %s: host %s joins the run", dr->id, h->name);
		hosts_run_spawn(hs, h, dr, h->runners);
	}
}

/* What r's run is told of it: its host, when, and why. */
static void host_reason(char *buf, size_t len, const hrunner *r, const char *why)
{
	snprintf(buf, len, "host %.300s (%.127s) at run second %.1f: %.512s",
		 r->h ? r->h->name : "?", r->h ? r->h->address : "?", run_elapsed(r->dr->r), why);
}

/* Tells r's run it is lost (which closes and frees r). */
static void lose(hrunner *r, const char *why)
{
	char reason[1024];
	host_reason(reason, sizeof(reason), r, why);
	daemon_ *d = r->hs->d;
	run_runner_lost(r->dr->r, &r->t, reason); /* frees r */
	daemon_update_status(d);
}

/* Each runner of h leaves its run: its share moves now, and what it did
 * still counts if its last batch comes (a runner whose agent died, or
 * hung, still hears us on its own link); else its run drops it. */
void hosts_run_host_lost(hosts *hs, host *h, const char *reason)
{
	char why[700];
	snprintf(why, sizeof(why), "host lost: %s", reason);
	for (hrunner *r = hs->runners; r; r = r->next) {
		if (r->h != h || !r->link_open || r->leaving)
			continue;
		char full[1024];
		host_reason(full, sizeof(full), r, why);
		r->leaving = 1;
		run_runner_leave(r->dr->r, &r->t, full);
	}
	daemon_update_status(hs->d);
	/* Anything the run already let go of forgets the host. */
	for (hrunner *r = hs->runners; r; r = r->next)
		if (r->h == h)
			r->h = NULL;
}

/* The agent's why with the journey r's stats named where the agent named
 * none: the words a local runner's death gets (rproc_death). */
static void exit_why(const hrunner *r, const char *why, int at, char *out, size_t len)
{
	if (at < 0 || (size_t)at > strlen(why) || !r->journey[0])
		snprintf(out, len, "%s", why);
	else
		snprintf(out, len, "%.*s in journey '%s'%s", at, why, r->journey, why + at);
}

void hosts_run_exit(hosts *hs, host *h, const char *id, int pid, const char *why, int at)
{
	for (hrunner *r = hs->runners; r; r = r->next) {
		if (r->h != h || strcmp(r->id, id) != 0 || !r->link_open)
			continue;
		char reason[900], spid[32] = "", full[768];
		drun *dr = r->dr;
		int replace = pid > 0 && !r->leaving; /* (leaving: its host is lost) */
		if (pid > 0)
			snprintf(spid, sizeof(spid), " (pid %d)", pid);
		exit_why(r, why, at, full, sizeof(full));
		log_err("run %s: runner %d%s on host %s %s", dr->id, r->index, spid, h->name, full);
		snprintf(reason, sizeof(reason), "runner %d %s", r->index, full);
		lose(r, reason); /* frees r */
		/* A process that never ran (a module refused) would fail again. */
		if (replace)
			hosts_respawn_lost(hs, h, dr);
		return;
	}
}

void hosts_run_watch(hosts *hs, uint64_t now)
{
	uint64_t limit = (uint64_t)(hs->d->cf.runner_timeout * 1000.0);
	for (hrunner *r = hs->runners; r; r = r->next) {
		if (!r->link_open || r->killed || !r->h || !r->inner)
			continue;
		uint64_t last = tzmq_last_activity(r->inner);
		if (!last)
			last = r->added_ms + SPAWN_SLACK_MS;
		if (now <= last || now - last <= limit)
			continue;
		log_err("run %s: runner %d on host %s silent for %.0f s; asking its host to kill it",
			r->dr->id, r->index, r->h->name, (double)(now - last) / 1000.0);
		r->killed = 1;
		cJSON *k = proto_new(HOSTPROTO_KILL);
		char why[128];
		/* Its death then reads as a local runner's (rproc_death). */
		snprintf(why, sizeof(why), "by the watchdog: silent for over %g s, its loop hung",
			 hs->d->cf.runner_timeout);
		cJSON_AddStringToObject(k, "id", r->id);
		cJSON_AddStringToObject(k, "why", why);
		hosts_send(r->h, k);
	}
}

int hosts_runners_alive(const hosts *hs, const drun *dr)
{
	int n = 0;
	for (const hrunner *r = hs ? hs->runners : NULL; r; r = r->next)
		n += r->dr == dr && r->link_open && !r->leaving;
	return n;
}

void hosts_run_status(const hosts *hs, const drun *dr, cJSON *o)
{
	if (!hs)
		return;
	cJSON *a = cJSON_AddArrayToObject(o, "hosts");
	for (const host *h = hs->list; h && a; h = h->next) {
		int n = 0;
		long inst = 0;
		for (const hrunner *r = hs->runners; r; r = r->next)
			if (r->dr == dr && r->h == h && r->link_open && !r->leaving) {
				n++;
				inst += run_runner_actual(dr->r, &r->t);
			}
		if (!n)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", h->name);
		cJSON_AddNumberToObject(x, "runners", n);
		cJSON_AddNumberToObject(x, "instances", (double)inst);
		cJSON_AddItemToArray(a, x);
	}
}

void hosts_run_gone(hosts *hs, drun *dr)
{
	if (hs)
		hosts_respawn_forget(hs, dr);
	for (int again = 1; hs && again;) {
		again = 0;
		for (hrunner *r = hs->runners; r; r = r->next)
			if (r->dr == dr) {
				hr_close(&r->t);
				again = 1;
				break;
			}
	}
}
