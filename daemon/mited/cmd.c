/* cmd.c - the control commands' table and request helpers (see cmd.h). */
#include "config.h"

#include "mited/cmd.h"

#include "core/util.h"
#include "mited/cmd_query.h"
#include "mited/cmd_run.h"
#include "mited/drun.h"
#include "mited/hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cmd_str(const cJSON *req, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A NULL-terminated copy of the strings of a JSON array ("sets") or of
 * the MITE_CONF_* members of an array or object ("env"); NULL with err set. */
char **cmd_strings(const cJSON *v, int env, const char *what, char *err, size_t errlen)
{
	int n = v ? cJSON_GetArraySize(v) : 0;
	char **out = calloc((size_t)n + 1, sizeof(char *));
	int k = 0;
	const cJSON *it;
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (v && !cJSON_IsArray(v) && !(env && cJSON_IsObject(v))) {
		snprintf(err, errlen, "'%s' must be an array of strings", what);
		goto fail;
	}
	cJSON_ArrayForEach(it, v)
	{
		char buf[8192];
		if (cJSON_IsObject(v)) {
			if (!cJSON_IsString(it)) {
				snprintf(err, errlen, "'%s.%s' must be a string", what, it->string);
				goto fail;
			}
			int m = snprintf(buf, sizeof(buf), "%s=%s", it->string, it->valuestring);
			if (m < 0 || (size_t)m >= sizeof(buf)) {
				snprintf(err, errlen, "'%s.%s' is too long", what, it->string);
				goto fail;
			}
		} else {
			if (!cJSON_IsString(it)) {
				snprintf(err, errlen, "'%s' must be an array of strings", what);
				goto fail;
			}
			snprintf(buf, sizeof(buf), "%s", it->valuestring);
		}
		if (env && strncmp(buf, "MITE_CONF_", 10) != 0)
			continue; /* only MITE_CONF_* travels */
		if (!env && !strchr(buf, '=')) {
			snprintf(err, errlen, "--set '%.256s': expected key=value", buf);
			goto fail;
		}
		if (!(out[k++] = strdup(buf))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return out;
fail:
	util_strv_free(out);
	return NULL;
}

drun *cmd_find_run(daemon_ *d, const cJSON *req, cJSON **reply)
{
	char err[256];
	const char *id = cmd_str(req, "run");
	if (!id) {
		*reply = control_error("\"run\" (a run id) is missing");
		return NULL;
	}
	drun *dr = drun_find(d, id, err, sizeof(err));
	if (!dr)
		*reply = control_error("%s", err);
	return dr;
}

const control_cmd cmd_table[] = {
	{ "ping", cmd_query_ping }, { "version", cmd_query_version },
	{ "start", cmd_run_start }, { "status", cmd_query_status },
	{ "list", cmd_query_list }, { "stop", cmd_run_stop },
	{ "pause", cmd_run_pause }, { "resume", cmd_run_resume },
	{ "scale", cmd_run_scale }, { "results", cmd_query_results },
	{ "hosts", hosts_cmd },     { NULL, NULL },
};
