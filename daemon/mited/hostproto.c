/*
 * hostproto.c - host_hello, built and checked (see hostproto.h).
 */
#include "config.h"

#include "mited/hostproto.h"

#include "core/proto.h"
#include "mite/mite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* MITE_TEST_HOST_PROTO and MITE_TEST_HOST_ABI (tests only) make an agent
 * announce another protocol or ABI, to see it refused. */
static int test_override(const char *var, int v)
{
	const char *e = getenv(var);
	return e && *e ? atoi(e) : v;
}

void hostproto_local_caps(hostproto_caps *c, int runners)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	memset(c, 0, sizeof(*c));
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
		snprintf(host, sizeof(host), "host");
	snprintf(c->name, sizeof(c->name), "%.64s", host);
	snprintf(c->version, sizeof(c->version), "%s", PACKAGE_VERSION);
	c->proto = test_override("MITE_TEST_HOST_PROTO", PROTO_VERSION);
	c->abi = test_override("MITE_TEST_HOST_ABI", MITE_ABI_VERSION);
	c->cores = n > 0 ? (int)(n > HOSTPROTO_RUNNERS_MAX ? HOSTPROTO_RUNNERS_MAX : n) : 1;
	c->memory = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
	c->runners = runners > 0 ? runners : c->cores;
}

cJSON *hostproto_hello(const hostproto_caps *c)
{
	cJSON *m = proto_new(HOSTPROTO_HELLO);
	if (!m)
		return NULL;
	cJSON_AddStringToObject(m, "name", c->name);
	cJSON_AddStringToObject(m, "version", c->version);
	cJSON_AddNumberToObject(m, "proto", c->proto);
	cJSON_AddNumberToObject(m, "abi", c->abi);
	cJSON_AddNumberToObject(m, "cores", c->cores);
	cJSON_AddNumberToObject(m, "memory", (double)c->memory);
	cJSON_AddNumberToObject(m, "runners", c->runners);
	cJSON *l = cJSON_AddArrayToObject(m, "labels");
	for (int i = 0; l && c->labels && c->labels[i]; i++)
		cJSON_AddItemToArray(l, cJSON_CreateString(c->labels[i]));
	if (c->cache[0])
		cJSON_AddStringToObject(m, "cache", c->cache);
	return m;
}

static int num(const cJSON *m, const char *k, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, k);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return -1;
	*out = v->valuedouble;
	return 0;
}

int hostproto_check_hello(const cJSON *m, hostproto_caps *c, char *reason, size_t reasonlen)
{
	static char *none[1] = { NULL };
	double proto, abi, cores, mem, runners;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(m, "version");
	memset(c, 0, sizeof(*c));
	c->labels = none;
	if (num(m, "proto", 0, 1e9, &proto) < 0 || num(m, "abi", 0, 1e9, &abi) < 0) {
		snprintf(reason, reasonlen, "a host_hello without its protocol and ABI versions");
		return 0;
	}
	c->proto = (int)proto;
	c->abi = (int)abi;
	snprintf(c->version, sizeof(c->version), "%.63s",
		 cJSON_IsString(ver) ? ver->valuestring : "?");
	if (c->proto != PROTO_VERSION || c->abi != MITE_ABI_VERSION) {
		snprintf(reason, reasonlen,
			 "version mismatch: the host speaks runner protocol %d and module ABI %d "
			 "(mite %s), this controller protocol %d and ABI %d (mite %s)",
			 c->proto, c->abi, c->version, PROTO_VERSION, MITE_ABI_VERSION,
			 PACKAGE_VERSION);
		return 0;
	}
	if (num(m, "cores", 1, HOSTPROTO_RUNNERS_MAX, &cores) < 0 ||
	    num(m, "memory", 0, 1e18, &mem) < 0 ||
	    num(m, "runners", 1, HOSTPROTO_RUNNERS_MAX, &runners) < 0) {
		snprintf(reason, reasonlen,
			 "cores, memory or runners missing or out of bounds "
			 "(1 to %d runners)",
			 HOSTPROTO_RUNNERS_MAX);
		return 0;
	}
	c->cores = (int)cores;
	c->memory = (uint64_t)mem;
	c->runners = (int)runners;
	if (cJSON_IsString(name) && name->valuestring[0])
		snprintf(c->name, sizeof(c->name), "%.64s", name->valuestring);
	else
		snprintf(c->name, sizeof(c->name), "host");
	const cJSON *cache = cJSON_GetObjectItemCaseSensitive(m, "cache");
	if (cJSON_IsString(cache) && cache->valuestring[0] == '/' &&
	    strlen(cache->valuestring) < sizeof(c->cache) - 80)
		snprintf(c->cache, sizeof(c->cache), "%s", cache->valuestring);
	/* Labels stay in the message: the caller copies what it keeps. */
	c->nlabels = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "labels"));
	if (c->nlabels > 32) {
		snprintf(reason, reasonlen, "more than 32 labels");
		return 0;
	}
	return 1;
}
