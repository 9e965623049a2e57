/*
 * hosts.c - the controller's side of runner hosts (see hosts.h): the
 * CURVE listen endpoint, the ZAP check against authorized_keys, each
 * agent's hello (refused on another protocol or ABI), heartbeats both
 * ways, and a host's loss. What hosts run for runs is in hosts_run.c.
 */
#include "config.h"

#include "mited/hosts_int.h"

#include "core/log.h"
#include "core/proto.h"
#include "core/util.h"
#include "mite/mite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMER_MS 250

host *hosts_find(hosts *hs, const char *name)
{
	for (host *h = hs->list; h; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

int hosts_send(host *h, cJSON *msg)
{
	if (!h->link) {
		cJSON_Delete(msg);
		return -EPIPE;
	}
	return proto_send(h->link, msg);
}

static int authorize(const char *address, const unsigned char key[32], char *user, size_t ulen,
		     char *reason, size_t rlen, void *data)
{
	hosts *hs = data;
	(void)address;
	return curve_authorized(hs->authorized, key, user, ulen, reason, rlen) == 1;
}

void hosts_lose(hosts *hs, host *h, const char *why)
{
	if (h->state != HOST_UP)
		return;
	h->state = HOST_LOST;
	h->lost_ms = uv_now(hs->d->loop);
	snprintf(h->why, sizeof(h->why), "%s", why);
	log_err("mited: host %s (%s) lost: %s", h->name, h->address, why);
	if (h->link)
		transport_close(h->link);
	h->link = NULL;
	hosts_run_host_lost(hs, h, why);
}

static void on_agent_msg(transport *t, const char *msg, size_t len, void *data)
{
	host *h = data;
	hosts *hs = h->hs;
	char err[256];
	(void)t;
	h->last_ms = uv_now(hs->d->loop);
	cJSON *m = proto_parse(msg, len, err, sizeof(err));
	if (!m) {
		log_warn("mited: host %s: a message refused: %s", h->name, err);
		return;
	}
	const char *type = proto_type(m);
	if (strcmp(type, HOSTPROTO_EXIT) == 0) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(m, "why");
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(m, "pid");
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(m, "journey_at");
		int p = cJSON_IsNumber(pid) && pid->valuedouble >= 1 && pid->valuedouble < 1e9
				? (int)pid->valuedouble
				: 0;
		int a = cJSON_IsNumber(at) && at->valuedouble >= 0 && at->valuedouble < 1e6
				? (int)at->valuedouble
				: -1;
		if (cJSON_IsString(id))
			hosts_run_exit(hs, h, id->valuestring, p,
				       cJSON_IsString(why) ? why->valuestring : "ended", a);
	} else if (strcmp(type, HOSTPROTO_NEED) == 0) {
		hosts_ship_need(hs, h, m);
	} else if (strcmp(type, HOSTPROTO_HB) != 0 && strcmp(type, HOSTPROTO_HELLO) != 0) {
		/* (the hello was read by on_unknown, and is delivered here too) */
		log_debug("mited: host %s: message '%s' ignored", h->name, type);
	}
	cJSON_Delete(m);
}

static void free_labels(host *h)
{
	util_strv_free(h->labels);
	h->labels = NULL;
}

/* The record of the agent with key `key` on host `hostname` at `addr`,
 * or NULL for a new one, and its name. The same key, host name and address
 * are the same host, back; a key's record that is not up is taken by the
 * next agent with that key. Agents sharing a key at once (the replicas of
 * a Kubernetes Deployment mount one Secret) are told apart by host name
 * and address: the first is named KEY, the others KEY/ADDRESS (or
 * KEY/ADDRESS/HOSTNAME when that is taken too). */
static host *identify(hosts *hs, const char *key, const char *hostname, const char *addr,
		      char *name, size_t len)
{
	host *same = NULL, *idle = NULL;
	for (host *h = hs->list; h; h = h->next) {
		if (strcmp(h->key, key) != 0)
			continue;
		if (strcmp(h->hostname, hostname) == 0 && strcmp(h->address, addr) == 0)
			same = h;
		else if (h->state != HOST_UP && !h->link && !idle)
			idle = h;
	}
	host *h = same ? same : idle;
	if (h) {
		snprintf(name, len, "%s", h->name);
		return h;
	}
	int shared = 0;
	for (host *x = hs->list; x; x = x->next)
		shared |= strcmp(x->key, key) == 0 || strcmp(x->name, key) == 0;
	if (!shared)
		snprintf(name, len, "%s", key);
	else
		snprintf(name, len, "%s/%s", key, addr);
	if (shared && hosts_find(hs, name))
		snprintf(name, len, "%s/%s/%s", key, addr, hostname);
	return NULL;
}

/* A new record, listed. */
static host *host_new(hosts *hs, const char *name, const char *key, const char *hostname)
{
	host *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->hs = hs;
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->key, sizeof(h->key), "%s", key);
	snprintf(h->hostname, sizeof(h->hostname), "%s", hostname);
	h->next = hs->list;
	hs->list = h;
	return h;
}

/* A hello from agent id: accepted (welcome) or refused (logged here and
 * there). */
static void on_hello(hosts *hs, const char *id, const cJSON *m)
{
	hostproto_caps c;
	char reason[512], name[sizeof(((host *)0)->name)];
	const char *addr = tzmq_server_msg_address(hs->srv);
	int ok = hostproto_check_hello(m, &c, reason, sizeof(reason));
	const char *key = hs->curve ? tzmq_server_msg_user(hs->srv) : c.name;
	host *h = identify(hs, key, c.name, addr[0] ? addr : "?", name, sizeof(name));
	transport *t = tzmq_server_expect(hs->srv, id);
	if (!t) {
		log_err("mited: host %s (%s): cannot take its link: %s", name, addr,
			strerror(errno));
		return;
	}
	if (!ok) {
		log_err("mited: host %s (%s) refused: %s", name, addr, reason);
		cJSON *r = proto_new(HOSTPROTO_REFUSED);
		cJSON_AddStringToObject(r, "reason", reason);
		proto_send(t, r);
		/* Closed at the next tick, once the refusal is on its way. */
		if (h && (h->state == HOST_UP || h->link)) {
			transport_close(t); /* said; nothing to remember */
			return;
		}
		if (!h && !(h = host_new(hs, name, key, c.name))) {
			transport_close(t);
			return;
		}
		h->link = t;
		h->state = 0;
		snprintf(h->address, sizeof(h->address), "%s", addr);
		snprintf(h->why, sizeof(h->why), "refused: %.400s", reason);
		snprintf(h->version, sizeof(h->version), "%s", c.version);
		h->lost_ms = uv_now(hs->d->loop);
		return;
	}
	if (h && h->state == HOST_UP)
		hosts_lose(hs, h, "it connected again (a new session replaces the old one)");
	if (h && h->link) { /* a refused session's record */
		transport_close(h->link);
		h->link = NULL;
	}
	if (!h && !(h = host_new(hs, name, key, c.name))) {
		transport_close(t);
		return;
	}
	snprintf(h->hostname, sizeof(h->hostname), "%s", c.name);
	free_labels(h);
	h->labels = calloc((size_t)c.nlabels + 1, sizeof(char *));
	int k = 0;
	const cJSON *l;
	cJSON_ArrayForEach(l,
			   cJSON_GetObjectItemCaseSensitive(
				   m, "labels")) if (h->labels && cJSON_IsString(l) &&
						     strlen(l->valuestring) <= HOSTS_LABEL_MAX)
		h->labels[k++] = strdup(l->valuestring);
	h->link = t;
	t->on_recv = on_agent_msg;
	t->data = h;
	snprintf(h->agent_id, sizeof(h->agent_id), "%s", id);
	snprintf(h->address, sizeof(h->address), "%s", addr[0] ? addr : "?");
	snprintf(h->version, sizeof(h->version), "%s", c.version);
	h->cores = c.cores;
	h->runners = c.runners;
	h->memory = c.memory;
	snprintf(h->cache, sizeof(h->cache), "%s", c.cache);
	h->state = HOST_UP;
	h->why[0] = '\0';
	h->joined_ms = h->last_ms = uv_now(hs->d->loop);
	cJSON *w = proto_new(HOSTPROTO_WELCOME);
	cJSON_AddStringToObject(w, "name", h->name);
	cJSON_AddNumberToObject(w, "proto", PROTO_VERSION);
	cJSON_AddNumberToObject(w, "abi", MITE_ABI_VERSION);
	cJSON_AddStringToObject(w, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(w, "hb_ms", HOSTPROTO_HB_MS);
	proto_send(t, w);
	log_info("mited: host %s (%s) joined: mite %s, %d cores, %d runners, %.1f GiB", h->name,
		 h->address, h->version, h->cores, h->runners,
		 (double)h->memory / (1024.0 * 1024 * 1024));
	hosts_run_joined(hs, h);
}

static void on_unknown(tzmq_server *s, const char *id, const char *msg, size_t len, void *data)
{
	hosts *hs = data;
	char err[256];
	(void)s;
	cJSON *m = proto_parse(msg, len, err, sizeof(err));
	if (!m) {
		log_warn("mited: %s: a message from '%s' (%s) refused: %s", hosts_endpoint(hs), id,
			 tzmq_server_msg_address(hs->srv), err);
		return;
	}
	if (strcmp(proto_type(m), HOSTPROTO_HELLO) == 0)
		on_hello(hs, id, m);
	else
		/* A runner of a host that was lost, or of a run that ended:
		 * nobody expects it any more; it gives up by itself. */
		log_debug("mited: %s: '%s' from '%s', which nothing expects", hosts_endpoint(hs),
			  proto_type(m), id);
	cJSON_Delete(m);
}

static void tick_cb(uv_timer_t *t)
{
	hosts *hs = t->data;
	uint64_t now = uv_now(hs->d->loop);
	/* Every HOSTPROTO_HB_MS, give or take a tick's jitter. */
	int beat = now - hs->last_beat_ms + TIMER_MS / 2 >= HOSTPROTO_HB_MS;
	if (beat)
		hs->last_beat_ms = now;
	for (host *h = hs->list; h; h = h->next) {
		if (h->state == HOST_UP && now - h->last_ms > HOSTPROTO_LOST_MS) {
			char why[128];
			snprintf(why, sizeof(why), "no heartbeat for %.1f s",
				 (double)(now - h->last_ms) / 1000.0);
			hosts_lose(hs, h, why);
		} else if (h->state == HOST_UP && beat) {
			hosts_send(h, proto_new(HOSTPROTO_HB));
		} else if (h->state != HOST_UP && h->link && now - h->lost_ms >= TIMER_MS) {
			transport_close(h->link); /* a refused session: the refusal went */
			h->link = NULL;
		}
	}
	hosts_run_watch(hs, now);
	hosts_respawn_tick(hs, now);
	/* Forget the oldest hosts that are not up past the bound. */
	int n = 0;
	for (host **pp = &hs->list; *pp;) {
		host *h = *pp;
		if (++n > HOSTS_KEPT_MAX && h->state != HOST_UP && !h->link) {
			*pp = h->next;
			free_labels(h);
			free(h);
			continue;
		}
		pp = &h->next;
	}
}

int hosts_start(daemon_ *d, hosts **out, char *err, size_t errlen)
{
	const conf_hosts *c = &d->cf.hosts;
	*out = NULL;
	if (!c->listen)
		return 0;
	hosts *hs = calloc(1, sizeof(*hs));
	if (!hs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	hs->d = d;
	tzmq_curve cv = { .authorize = authorize, .data = hs };
	if (c->key) {
		char why[1024];
		hs->curve = 1;
		snprintf(hs->authorized, sizeof(hs->authorized), "%s", c->authorized_keys);
		if (curve_read_secret(c->key, cv.secret, NULL, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "key: %s", why);
			free(hs);
			return -1;
		}
	}
	hs->srv = tzmq_server_new_curve(d->loop, c->listen, on_unknown, hs, hs->curve ? &cv : NULL,
					err, errlen);
	memset(cv.secret, 0, sizeof(cv.secret));
	if (!hs->srv) {
		free(hs);
		return -1;
	}
	uv_timer_init(d->loop, &hs->timer);
	hs->timer.data = hs;
	uv_timer_start(&hs->timer, tick_cb, TIMER_MS, TIMER_MS);
	if (!hs->curve)
		log_warn("mited: runner hosts on %s without CURVE (loopback only): neither "
			 "authenticated nor encrypted",
			 tzmq_server_endpoint(hs->srv));
	log_info("mited: runner hosts on %s%s%s", tzmq_server_endpoint(hs->srv),
		 hs->curve ? ", CURVE keys from " : "", hs->curve ? hs->authorized : "");
	*out = hs;
	return 0;
}

const char *hosts_endpoint(const hosts *hs)
{
	return tzmq_server_endpoint(hs->srv);
}

static void timer_closed(uv_handle_t *h)
{
	hosts *hs = h->data;
	while (hs->list) {
		host *x = hs->list;
		hs->list = x->next;
		free_labels(x);
		free(x);
	}
	hosts_ship_free(hs);
	hosts_respawn_forget(hs, NULL);
	free(hs);
}

void hosts_close(hosts *hs)
{
	if (!hs)
		return;
	for (host *h = hs->list; h; h = h->next)
		if (h->link) {
			transport_close(h->link);
			h->link = NULL;
		}
	/* Runs are freed first (daemon_close): no runner is left. */
	while (hs->runners) {
		hrunner *r = hs->runners;
		hs->runners = r->next;
		if (r->inner)
			transport_close(r->inner);
		free(r);
	}
	tzmq_server_close(hs->srv);
	uv_close((uv_handle_t *)&hs->timer, timer_closed);
}

static const char *state_name(int s)
{
	return s == HOST_UP ? "up" : s == HOST_LOST ? "lost" : "refused";
}

cJSON *hosts_list(const hosts *hs)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "hosts");
	if (!hs)
		return o;
	uint64_t now = uv_now(hs->d->loop);
	cJSON_AddStringToObject(o, "listen", hosts_endpoint(hs));
	cJSON_AddBoolToObject(o, "curve", hs->curve);
	for (const host *h = hs->list; h && a; h = h->next) {
		cJSON *x = cJSON_CreateObject();
		int runners = 0;
		long inst = 0;
		for (const hrunner *r = hs->runners; r; r = r->next)
			if (r->h == h && r->link_open) {
				runners++;
				inst += run_runner_actual(r->dr->r, &r->t);
			}
		cJSON_AddStringToObject(x, "name", h->name);
		cJSON_AddStringToObject(x, "address", h->address);
		cJSON_AddStringToObject(x, "state", state_name(h->state));
		cJSON_AddStringToObject(x, "version", h->version);
		cJSON *l = cJSON_AddArrayToObject(x, "labels");
		for (int i = 0; h->labels && h->labels[i]; i++)
			cJSON_AddItemToArray(l, cJSON_CreateString(h->labels[i]));
		cJSON_AddNumberToObject(x, "cores", h->cores);
		cJSON_AddNumberToObject(x, "memory", (double)h->memory);
		cJSON_AddNumberToObject(x, "runners_offered", h->runners);
		cJSON_AddNumberToObject(x, "runners", runners);
		cJSON_AddNumberToObject(x, "instances", (double)inst);
		if (h->state == HOST_UP)
			cJSON_AddNumberToObject(x, "heartbeat_age",
						(double)(now - h->last_ms) / 1000.0);
		else
			cJSON_AddNumberToObject(x, "since", (double)(now - h->lost_ms) / 1000.0);
		if (h->why[0])
			cJSON_AddStringToObject(x, "why", h->why);
		cJSON_AddItemToArray(a, x);
	}
	return o;
}

cJSON *hosts_cmd(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	(void)cl;
	(void)req;
	cJSON *o = hosts_list(d->hosts);
	cJSON_AddTrueToObject(o, "ok");
	return o;
}
