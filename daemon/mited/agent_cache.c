/*
 * agent_cache.c - shipped journey modules on an agent (see agent_cache.h).
 * A module is only ever run from a file named by its SHA-256, whose bytes
 * were checked against that digest when they came and are checked again
 * before each spawn: a host never runs a module that differs from the
 * controller's.
 */
#include "config.h"

#include "mited/agent_cache.h"

#include "core/log.h"
#include "core/module.h"
#include "core/proto.h"
#include "core/util.h"
#include "mited/modship.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int agent_cache_init(agent *a)
{
	int rc;
	if (snprintf(a->cache, sizeof(a->cache), "%s/modules", a->d->cf.state_dir) >=
	    (int)sizeof(a->cache) - 80) {
		log_err("agent: %s/modules: path too long; modules will not be shipped here",
			a->d->cf.state_dir);
		a->cache[0] = '\0';
		return -1;
	}
	if ((rc = util_mkdir_p(a->cache, 0700)) < 0) {
		log_err("agent: cannot create %s: %s; modules will not be shipped here", a->cache,
			strerror(-rc));
		a->cache[0] = '\0';
		return -1;
	}
	return 0;
}

/* Whether the cache holds module sha (with that digest: a file that does
 * not match is removed). */
static int have(agent *a, const char *sha)
{
	char path[PATH_MAX + 80], hex[MODSHIP_HEX + 1], err[512];
	snprintf(path, sizeof(path), "%s/%s.so", a->cache, sha);
	if (access(path, F_OK) != 0)
		return 0;
	if (modship_digest_file(path, hex, NULL, NULL, err, sizeof(err)) == 0 &&
	    strcmp(hex, sha) == 0)
		return 1;
	log_warn("agent: cached module %s does not match its digest; removed, asked again", path);
	unlink(path);
	return 0;
}

/* Every runner of spawn message m ends before it started: why. */
static void fail_spawn(agent *a, const cJSON *m, const char *why)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(m, "runners"))
	{
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
		if (id)
			agent_runner_ended(a, id, 0, why, -1);
	}
}

/* The digests m lists that the cache lacks, into missing; -1 when one is
 * not a digest. */
static int missing_of(agent *a, const cJSON *m, cJSON *missing)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(m, "modules"))
	{
		const char *sha =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "sha256"));
		if (!sha || !modship_hex_ok(sha))
			return -1;
		if (!have(a, sha) && missing)
			cJSON_AddItemToArray(missing, cJSON_CreateString(sha));
		else if (!have(a, sha))
			return 1;
	}
	return missing ? cJSON_GetArraySize(missing) > 0 : 0;
}

void agent_cache_spawn(agent *a, const cJSON *m)
{
	if (!cJSON_GetObjectItemCaseSensitive(m, "modules")) {
		agent_spawn_now(a, m); /* the controller sends paths */
		return;
	}
	if (!a->cache[0]) {
		fail_spawn(a, m, "not started: this host has no module cache");
		return;
	}
	cJSON *missing = cJSON_CreateArray();
	int rc = missing_of(a, m, missing);
	if (rc < 0) {
		fail_spawn(a, m, "not started: a module digest is not a SHA-256");
	} else if (rc == 0) {
		agent_spawn_now(a, m);
	} else {
		if (!a->pending)
			a->pending = cJSON_CreateArray();
		cJSON_AddItemToArray(a->pending, cJSON_Duplicate(m, 1));
		cJSON *need = proto_new(HOSTPROTO_NEED);
		cJSON_AddItemToObject(need, "sha256", missing);
		missing = NULL;
		if (a->link)
			proto_send(a->link, need);
		else
			cJSON_Delete(need);
	}
	cJSON_Delete(missing);
}

/* Writes the module's bytes under its digest once its ABI checks out.
 * 0, or -1 with why. */
static int store(agent *a, const char *sha, const unsigned char *buf, size_t len, char *why,
		 size_t whylen)
{
	char tmp[PATH_MAX + 80], dst[PATH_MAX + 80], err[512];
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", a->cache, sha, (int)getpid());
	snprintf(dst, sizeof(dst), "%s/%s.so", a->cache, sha);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, whylen, "cannot write %.300s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(why, whylen, "cannot write %.300s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	module *mod = module_open(tmp, NULL, err, sizeof(err));
	if (!mod) {
		snprintf(why, whylen, "refused: %s", err);
		unlink(tmp);
		return -1;
	}
	module_close(mod);
	if (rename(tmp, dst) < 0) {
		snprintf(why, whylen, "cannot rename to %.300s: %s", dst, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void agent_cache_module(agent *a, const cJSON *m)
{
	const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "sha256"));
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "path"));
	const char *data = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "data"));
	char why[700] = "", hex[MODSHIP_HEX + 1];
	size_t len = 0;
	unsigned char *buf = NULL;
	if (!sha || !modship_hex_ok(sha) || !data || !a->cache[0] || !a->pending)
		return; /* nothing waits for it */
	if (!(buf = modship_unb64(data, &len)))
		snprintf(why, sizeof(why), "not base64, or over 64 MiB");
	else if (modship_digest(buf, len, hex), strcmp(hex, sha) != 0)
		snprintf(why, sizeof(why), "its bytes have SHA-256 %s, not %s", hex, sha);
	else if (store(a, sha, buf, len, why, sizeof(why)) == 0)
		log_info(
			"agent: module %s received (%zu bytes, sha256 %.12s...), ABI checked, cached",
			path ? path : "?", len, sha);
	free(buf);
	if (why[0])
		log_err("agent: module %s (sha256 %.12s...): %s", path ? path : "?", sha, why);
	/* Spawns that waited: now, or never (the module was refused). */
	for (int i = cJSON_GetArraySize(a->pending) - 1; i >= 0; i--) {
		cJSON *p = cJSON_GetArrayItem(a->pending, i);
		int rc = missing_of(a, p, NULL);
		if (rc == 0) {
			cJSON *x = cJSON_DetachItemFromArray(a->pending, i);
			agent_spawn_now(a, x);
			cJSON_Delete(x);
		}
	}
	if (why[0]) {
		char msg[800];
		snprintf(msg, sizeof(msg), "not started: module %s %.700s", path ? path : "?", why);
		for (int i = cJSON_GetArraySize(a->pending) - 1; i >= 0; i--) {
			cJSON *p = cJSON_GetArrayItem(a->pending, i);
			const cJSON *x;
			int needs = 0;
			cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "modules"))
			{
				const char *xs = cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(x, "sha256"));
				needs |= xs && strcmp(xs, sha) == 0;
			}
			if (needs) {
				fail_spawn(a, p, msg);
				cJSON_DeleteItemFromArray(a->pending, i);
			}
		}
	}
}

void agent_cache_reset(agent *a)
{
	cJSON_Delete(a->pending);
	a->pending = NULL;
}
