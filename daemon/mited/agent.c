/*
 * agent.c - mited --agent (see agent.h): one DEALER link to the
 * controller, CURVE with the host's key; host_hello first (capabilities,
 * protocol and ABI), then heartbeats every HOSTPROTO_HB_MS each way. The
 * controller's word is needed: after HOSTPROTO_AGENT_LOST_MS without any,
 * the agent kills its runners (their run has given them up already) and
 * starts a new session. ZeroMQ itself reconnects with a back-off (0.5 s
 * doubling to 10 s); a refusal (another version) waits REFUSED_WAIT_MS.
 */
#include "config.h"

#include "mited/agent.h"

#include "core/curve.h"
#include "core/log.h"
#include "core/proto.h"
#include "mited/agent_cache.h"
#include "mited/agent_proc.h"
#include "mited/notify.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define REFUSED_WAIT_MS 30000

void agent_runner_ended(agent *a, const char *id, int pid, const char *why, int at)
{
	if (!a->link || !a->welcomed)
		return;
	cJSON *m = proto_new(HOSTPROTO_EXIT);
	cJSON_AddStringToObject(m, "id", id);
	if (pid > 0)
		cJSON_AddNumberToObject(m, "pid", pid);
	cJSON_AddStringToObject(m, "why", why);
	if (at >= 0) /* no journey known here: the controller may know it */
		cJSON_AddNumberToObject(m, "journey_at", at);
	proto_send(a->link, m);
}

static void drop_link(agent *a)
{
	if (a->link)
		transport_close(a->link);
	a->link = NULL;
	a->welcomed = 0;
	agent_cache_reset(a);
}

void agent_spawn_now(agent *a, const cJSON *m)
{
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(m, "run"), *r;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(m, "runners");
	if (!cJSON_IsString(rid) || !cJSON_IsArray(list))
		return;
	int n = 0;
	cJSON_ArrayForEach(r, list)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(r, "index");
		if (!cJSON_IsString(id) || strlen(id->valuestring) > TZMQ_ID_MAX ||
		    !cJSON_IsNumber(ix) || ix->valuedouble < 0 || ix->valuedouble > 1e6)
			continue;
		if (agent_proc_alive(a) >= HOSTPROTO_RUNNERS_MAX * 4) {
			agent_runner_ended(a, id->valuestring, 0,
					   "not started: this host runs 4096 runners already", -1);
			continue;
		}
		n += agent_proc_spawn(a, rid->valuestring, id->valuestring, (int)ix->valuedouble) ==
			0;
	}
	log_info("agent: run %s: %d runner(s) started", rid->valuestring, n);
}

static void on_msg(transport *t, const char *msg, size_t len, void *data)
{
	agent *a = data;
	char err[256];
	(void)t;
	a->last_rx_ms = uv_now(a->loop);
	cJSON *m = proto_parse(msg, len, err, sizeof(err));
	if (!m) {
		log_warn("agent: a message from the controller refused: %s", err);
		return;
	}
	const char *type = proto_type(m);
	if (strcmp(type, HOSTPROTO_WELCOME) == 0) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
		snprintf(a->name, sizeof(a->name), "%s",
			 cJSON_IsString(name) ? name->valuestring : "?");
		a->welcomed = 1;
		a->last_refusal[0] = '\0';
		log_info("agent: joined controller %s as host %s (%d runners per run)",
			 a->d->cf.hosts.agent, a->name, a->caps.runners);
	} else if (strcmp(type, HOSTPROTO_REFUSED) == 0) {
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(m, "reason");
		log_err("agent: refused by controller %s: %s; trying again in %d s",
			a->d->cf.hosts.agent, cJSON_IsString(why) ? why->valuestring : "?",
			REFUSED_WAIT_MS / 1000);
		drop_link(a);
		a->connect_at_ms = uv_now(a->loop) + REFUSED_WAIT_MS;
	} else if (strcmp(type, HOSTPROTO_SPAWN) == 0 && a->welcomed) {
		agent_cache_spawn(a, m);
	} else if (strcmp(type, HOSTPROTO_MODULE) == 0 && a->welcomed) {
		agent_cache_module(a, m);
	} else if (strcmp(type, HOSTPROTO_KILL) == 0) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(m, "why");
		if (cJSON_IsString(id))
			agent_proc_kill(a, id->valuestring,
					cJSON_IsString(why) ? why->valuestring
							    : "by the controller's watchdog");
	} else if (strcmp(type, HOSTPROTO_HB) != 0) {
		log_debug("agent: message '%s' ignored", type);
	}
	cJSON_Delete(m);
}

static void on_link(transport *t, int state, const char *why, void *data)
{
	agent *a = data;
	(void)t;
	if (state == TZMQ_LINK_REFUSED) {
		if (strcmp(why, a->last_refusal) != 0)
			log_err("agent: controller %s: %s (ZeroMQ tries again, backing off up to 10 s)",
				a->d->cf.hosts.agent, why);
		snprintf(a->last_refusal, sizeof(a->last_refusal), "%s", why);
	} else if (state == TZMQ_LINK_DOWN && a->welcomed) {
		log_warn("agent: link to controller %s dropped; reconnecting",
			 a->d->cf.hosts.agent);
	} else if (state == TZMQ_LINK_UP) {
		log_debug("agent: link to controller %s up", a->d->cf.hosts.agent);
	}
}

/* A new session: a fresh routing id, the hello queued until the link is
 * up (ZeroMQ keeps it). 0 or -1 (logged). */
static int connect_link(agent *a)
{
	const conf_hosts *h = &a->d->cf.hosts;
	tzmq_curve cv = { .on_link = on_link, .data = a };
	char err[1024];
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)uv_hrtime();
	snprintf(a->id, sizeof(a->id), "agent.%.40s.%08x", a->caps.name, rnd);
	for (char *c = a->id; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			*c = '_';
	if (h->key &&
	    (curve_read_secret(h->key, cv.secret, NULL, err, sizeof(err)) < 0 ||
	     curve_read_public(h->server_key, cv.server_public, err, sizeof(err)) < 0)) {
		log_err("agent: %s", err);
		return -1;
	}
	a->link =
		tzmq_connect_curve(a->loop, h->agent, a->id, h->key ? &cv : NULL, err, sizeof(err));
	memset(cv.secret, 0, sizeof(cv.secret));
	if (!a->link) {
		log_err("agent: %s", err);
		return -1;
	}
	a->link->on_recv = on_msg;
	a->link->data = a;
	a->welcomed = 0;
	a->last_rx_ms = uv_now(a->loop);
	a->connect_at_ms = 0;
	proto_send(a->link, hostproto_hello(&a->caps));
	return 0;
}

static void tick_cb(uv_timer_t *t)
{
	agent *a = t->data;
	uint64_t now = uv_now(a->loop);
	if (a->stopping)
		return;
	if (!a->link) {
		if (now >= a->connect_at_ms && connect_link(a) < 0)
			a->connect_at_ms = now + REFUSED_WAIT_MS;
		return;
	}
	if (!a->welcomed)
		return; /* the hello waits in ZeroMQ for the link */
	if (now - a->last_rx_ms > HOSTPROTO_AGENT_LOST_MS) {
		int n = agent_proc_alive(a);
		log_warn("agent: no word from controller %s for %.1f s; %s%d runner(s) killed, "
			 "starting a new session",
			 a->d->cf.hosts.agent, (double)(now - a->last_rx_ms) / 1000.0, n ? "" : "",
			 n);
		agent_proc_kill_all(a, "by the agent: the controller was lost");
		drop_link(a);
		return;
	}
	cJSON *hb = proto_new(HOSTPROTO_HB);
	cJSON_AddNumberToObject(hb, "runners", agent_proc_alive(a));
	proto_send(a->link, hb);
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_signal(uv_signal_t *s, int sig)
{
	agent *a = s->data;
	if (a->stopping)
		return;
	a->stopping = 1;
	log_info("agent: %s: stopping (%d runner(s) killed)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		 agent_proc_alive(a));
	agent_proc_kill_all(a, "by the agent: it stopped");
	drop_link(a);
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, NULL);
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sigint, NULL);
}

int agent_run(daemon_ *d)
{
	agent a;
	uv_loop_t loop;
	memset(&a, 0, sizeof(a));
	if (uv_loop_init(&loop) < 0) {
		log_err("agent: uv_loop_init failed");
		return EXIT_FAILURE;
	}
	a.d = d;
	a.loop = &loop;
	d->loop = &loop;
	hostproto_local_caps(&a.caps, d->cf.hosts.runners);
	a.caps.labels = d->cf.hosts.labels;
	for (int i = 0; a.caps.labels && a.caps.labels[i]; i++)
		a.caps.nlabels++;
	if (agent_cache_init(&a) == 0)
		snprintf(a.caps.cache, sizeof(a.caps.cache), "%s", a.cache);
	signal(SIGPIPE, SIG_IGN);
	uv_timer_init(&loop, &a.timer);
	a.timer.data = &a;
	uv_signal_init(&loop, &a.sigterm);
	uv_signal_init(&loop, &a.sigint);
	a.sigterm.data = a.sigint.data = &a;
	uv_signal_start(&a.sigterm, on_signal, SIGTERM);
	uv_signal_start(&a.sigint, on_signal, SIGINT);
	log_info("mited %s: agent of %s (%d cores, %d runners per run, %s)", PACKAGE_VERSION,
		 d->cf.hosts.agent, a.caps.cores, a.caps.runners,
		 d->cf.hosts.key ? "CURVE" : "no CURVE: loopback only");
	if (connect_link(&a) < 0)
		a.connect_at_ms = uv_now(&loop) + REFUSED_WAIT_MS;
	uv_timer_start(&a.timer, tick_cb, HOSTPROTO_HB_MS, HOSTPROTO_HB_MS);
	notify_send("READY=1");
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_walk(&loop, walk_close, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	agent_cache_reset(&a);
	conf_free(&d->cf);
	return EXIT_SUCCESS;
}
