/*
 * agent_cache.h - an agent's cache of shipped journey modules
 * (<state_dir>/modules/<sha256>.so, docs/distributed.md): a host_spawn's
 * runners start once every module it lists is there with that digest;
 * missing ones are asked for (host_need), checked on arrival (digest, then
 * the module ABI) and kept.
 */
#ifndef MITE_MITED_AGENT_CACHE_H
#define MITE_MITED_AGENT_CACHE_H

#include "mited/agent.h"

/* Makes the cache folder (0700). 0, or -1 (logged). */
int agent_cache_init(agent *a);
/* host_spawn: its runners now, or once its modules came. */
void agent_cache_spawn(agent *a, const cJSON *m);
/* host_module: one module's bytes. */
void agent_cache_module(agent *a, const cJSON *m);
/* The session ended: spawns still waiting are forgotten. */
void agent_cache_reset(agent *a);

#endif
