/*
 * hosts_respawn.c - a host's runner that died is replaced on the same
 * host, like a local runner: from its run's budget (respawn.h: the same
 * runner_restarts and back-off as the run's local runners), asked of the
 * host once the back-off allows (hosts' timer), the new runner joining the
 * running run and taking its share. A run that no longer replaces runners
 * (stopping, done, mited stopping) or a host that is not up (its runners
 * were lost with it; it gets new ones when it rejoins) forgets what it was
 * owed. When the budget is spent the run is told (drun_gave_up), as for
 * its local runners.
 */
#include "config.h"

#include "core/log.h"
#include "mited/hosts_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replacements owed to a run on a host. The host by name: a host record
 * may be forgotten (HOSTS_KEPT_MAX) while this waits. */
struct howed {
	howed *next;
	drun *dr;
	int n;
	char host[sizeof(((host *)0)->name)];
};

/* As many of e's replacements as the budget allows now. */
static void owed_try(hosts *hs, howed *e, uint64_t now)
{
	host *h = hosts_find(hs, e->host);
	int max = hs->d->cf.runner_restarts;
	if (!h || h->state != HOST_UP || !drun_may_replace(e->dr)) {
		e->n = 0;
		return;
	}
	while (e->n > 0) {
		int go = respawn_take(&e->dr->budget, now, max);
		if (go == RESPAWN_OUT)
			drun_gave_up(e->dr);
		if (go < 0)
			e->n = 0;
		if (go != RESPAWN_GO)
			return;
		if (!hosts_run_spawn(hs, h, e->dr, 1))
			return; /* logged; the next tick tries again */
		e->n--;
		log_msg(LOG_LVL_NOTICE,
			"run %s: host %s: a runner replaced (restart %d of at most %d)", e->dr->id,
			h->name, e->dr->budget.restarts, max);
	}
}

void hosts_respawn_lost(hosts *hs, host *h, drun *dr)
{
	uint64_t now = uv_now(hs->d->loop);
	howed *e;
	respawn_lost(&dr->budget, now);
	if (h->state != HOST_UP || !drun_may_replace(dr))
		return;
	for (e = hs->owed; e; e = e->next)
		if (e->dr == dr && strcmp(e->host, h->name) == 0)
			break;
	if (!e) {
		if (!(e = calloc(1, sizeof(*e)))) {
			log_err("run %s: host %s: a runner not replaced: out of memory", dr->id,
				h->name);
			return;
		}
		e->dr = dr;
		snprintf(e->host, sizeof(e->host), "%s", h->name);
		e->next = hs->owed;
		hs->owed = e;
	}
	e->n++;
	hosts_respawn_tick(hs, now);
}

void hosts_respawn_tick(hosts *hs, uint64_t now)
{
	for (howed **pp = &hs->owed; *pp;) {
		howed *e = *pp;
		owed_try(hs, e, now);
		if (e->n > 0) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		free(e);
	}
}

void hosts_respawn_forget(hosts *hs, const drun *dr)
{
	for (howed **pp = &hs->owed; *pp;) {
		howed *e = *pp;
		if (dr && e->dr != dr) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		free(e);
	}
}
