/*
 * hosts_ship.c - journey modules sent to runner hosts by SHA-256
 * (docs/distributed.md, Module shipping). A host_spawn lists the run's
 * journey modules with their digests; an agent that lacks one asks for it
 * (host_need) and gets its bytes (host_module), checks the digest and the
 * ABI, and keeps it in its cache under its digest. A setup sent to that
 * host's runners names the cached copies, so a host never runs a module
 * whose digest differs from the controller's file; a second run ships
 * nothing. Datapool and volume-model plugins run in the controller, never
 * on hosts.
 */
#include "config.h"

#include "mited/hosts_int.h"
#include "mited/modship.h"

#include "core/log.h"
#include "core/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static shipped *ship_find_path(hosts *hs, const char *path)
{
	for (shipped *s = hs->ship; s; s = s->next)
		if (strcmp(s->path, path) == 0)
			return s;
	return NULL;
}

int hosts_ship_list(hosts *hs, drun *dr, cJSON *spawn)
{
	const scenario *sc = run_scenario(dr->r);
	cJSON *a = cJSON_AddArrayToObject(spawn, "modules");
	for (size_t i = 0; a && i < sc->njourneys; i++) {
		const char *path = sc->journeys[i].module_path;
		char hex[MODSHIP_HEX + 1], err[512];
		uint64_t size = 0;
		if (!path || ship_find_path(hs, path) != NULL) {
			shipped *s = path ? ship_find_path(hs, path) : NULL;
			/* Read again: the file may have changed since. */
			if (s &&
			    modship_digest_file(path, hex, &size, NULL, err, sizeof(err)) == 0) {
				memcpy(s->sha, hex, sizeof(s->sha));
				s->size = size;
			}
		} else {
			if (modship_digest_file(path, hex, &size, NULL, err, sizeof(err)) < 0) {
				log_err("run %s: cannot ship a module to hosts: %s", dr->id, err);
				return -1;
			}
			size_t plen = strlen(path) + 1;
			shipped *s = malloc(sizeof(*s) + plen);
			if (!s)
				return -1;
			memcpy(s->sha, hex, sizeof(s->sha));
			s->size = size;
			memcpy(s->path, path, plen);
			s->next = hs->ship;
			hs->ship = s;
		}
		shipped *s = path ? ship_find_path(hs, path) : NULL;
		int dup = 0;
		const cJSON *x;
		cJSON_ArrayForEach(x, a) dup |= s &&
			strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "path")),
			       s->path) == 0;
		if (!s || dup)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", s->path);
		cJSON_AddStringToObject(o, "sha256", s->sha);
		cJSON_AddNumberToObject(o, "size", (double)s->size);
		cJSON_AddItemToArray(a, o);
	}
	return 0;
}

void hosts_ship_need(hosts *hs, host *h, const cJSON *msg)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(msg, "sha256"))
	{
		const char *want = cJSON_GetStringValue(x);
		shipped *s = hs->ship;
		while (s && (!want || strcmp(s->sha, want) != 0))
			s = s->next;
		if (!s) {
			log_warn("mited: host %s asks for module %.64s, which no run ships",
				 h->name, want ? want : "?");
			continue;
		}
		char hex[MODSHIP_HEX + 1], err[512];
		unsigned char *data = NULL;
		uint64_t size = 0;
		if (modship_digest_file(s->path, hex, &size, &data, err, sizeof(err)) < 0 ||
		    strcmp(hex, s->sha) != 0) {
			log_err("mited: host %s: module %s not sent: %s", h->name, s->path,
				data ? "it changed since the run started" : err);
			free(data);
			continue;
		}
		char *b64 = modship_b64(data, (size_t)size);
		free(data);
		cJSON *m = proto_new(HOSTPROTO_MODULE);
		if (!b64 || !m) {
			free(b64);
			cJSON_Delete(m);
			continue;
		}
		cJSON_AddStringToObject(m, "sha256", s->sha);
		cJSON_AddStringToObject(m, "path", s->path);
		cJSON_AddNumberToObject(m, "size", (double)size);
		cJSON_AddStringToObject(m, "data", b64);
		free(b64);
		hs->shipped_bytes += size;
		log_info("mited: host %s: module %s shipped (%llu bytes, sha256 %.12s...)", h->name,
			 s->path, (unsigned long long)size, s->sha);
		hosts_send(h, m);
	}
}

char *hosts_ship_setup(hosts *hs, const host *h, const char *msg, size_t len)
{
	static const char key[] = "\"t\":\"setup\"";
	char err[128];
	if (!h || !h->cache[0] || !memmem(msg, len < 64 ? len : 64, key, sizeof(key) - 1))
		return NULL;
	cJSON *m = proto_parse(msg, len, err, sizeof(err));
	if (!m)
		return NULL;
	const cJSON *j;
	cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(m, "journeys"))
	{
		cJSON *mod = cJSON_GetObjectItemCaseSensitive(j, "module");
		shipped *s = cJSON_IsString(mod) ? ship_find_path(hs, mod->valuestring) : NULL;
		char path[4200];
		if (!s)
			continue;
		snprintf(path, sizeof(path), "%s/%s.so", h->cache, s->sha);
		cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)j, "module",
						       cJSON_CreateString(path));
	}
	char *out = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	return out;
}

void hosts_ship_free(hosts *hs)
{
	while (hs->ship) {
		shipped *s = hs->ship;
		hs->ship = s->next;
		free(s);
	}
}
