/* cmd_query.c - ping, version, status, list, results (see cmd_query.h). */
#include "config.h"

#include "mited/cmd_query.h"

#include "controller/results.h"
#include "controller/results_io.h"
#include "controller/run.h"
#include "core/proto.h"
#include "mited/cmd.h"
#include "mited/drun.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cJSON *cmd_query_ping(control_client *cl, const cJSON *req, void *data)
{
	(void)cl;
	(void)req;
	(void)data;
	cJSON *o = control_ok();
	cJSON_AddTrueToObject(o, "pong");
	return o;
}

cJSON *cmd_query_version(control_client *cl, const cJSON *req, void *data)
{
	(void)cl;
	(void)req;
	(void)data;
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(o, "protocol", PROTO_VERSION);
	cJSON_AddNumberToObject(o, "abi", MITE_ABI_VERSION);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	return o;
}

static cJSON *daemon_info(const daemon_ *d)
{
	cJSON *o = cJSON_CreateObject();
	int runs = 0;
	for (const drun *dr = d->runs; dr; dr = dr->next)
		runs += !dr->done;
	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddNumberToObject(o, "uptime", (double)(uv_now(d->loop) - d->started_ms) / 1000.0);
	cJSON_AddNumberToObject(o, "active_runs", runs);
	cJSON_AddBoolToObject(o, "stopping", d->stopping);
	return o;
}

typedef struct watch_arg {
	char id[64]; /* empty: every run */
	int ended;
} watch_arg;

/* The reply to status: run id's (a prefix will do; *found receives it),
 * or every active run's. */
static cJSON *status_of(daemon_ *d, const char *id, const drun **found)
{
	cJSON *o = control_ok();
	if (!o)
		return NULL;
	if (id && *id) {
		char err[256];
		drun *dr = drun_find(d, id, err, sizeof(err));
		if (!dr) {
			cJSON_Delete(o);
			return control_error("%s", err);
		}
		cJSON_AddItemToObject(o, "run", drun_status(dr));
		if (found)
			*found = dr;
		return o;
	}
	cJSON_AddItemToObject(o, "daemon", daemon_info(d));
	cJSON *a = cJSON_AddArrayToObject(o, "runs");
	for (drun *dr = d->runs; a && dr; dr = dr->next)
		if (!dr->done)
			cJSON_AddItemToArray(a, drun_status(dr));
	return o;
}

static cJSON *watch_tick(control_client *cl, void *arg, void *data)
{
	watch_arg *w = arg;
	const drun *dr = NULL;
	(void)cl;
	if (w->ended)
		return NULL;
	cJSON *o = status_of(data, w->id, &dr);
	if (!o || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")) || (dr && dr->done)) {
		/* The last object of the stream says so. */
		w->ended = 1;
		if (o)
			cJSON_AddTrueToObject(o, "final");
	}
	return o;
}

cJSON *cmd_query_status(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	const char *id = cmd_str(req, "run");
	const drun *dr = NULL;
	cJSON *o = status_of(d, id, &dr);
	if (!o || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
		return o;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "watch"))) {
		const cJSON *iv = cJSON_GetObjectItemCaseSensitive(req, "interval");
		double interval = cJSON_IsNumber(iv) ? iv->valuedouble : 1.0;
		watch_arg *w = calloc(1, sizeof(*w));
		if (!w) {
			cJSON_Delete(o);
			return control_error("out of memory");
		}
		if (dr) /* the full id, so that a prefix stays pinned to this run */
			snprintf(w->id, sizeof(w->id), "%s", dr->id);
		if (dr && dr->done) {
			free(w);
			cJSON_AddTrueToObject(o, "final");
		} else {
			control_client_watch(cl, interval, watch_tick, w, free);
			cJSON_AddTrueToObject(o, "watch");
		}
	}
	return o;
}

/* A run in a list: the keys of its status that a table shows. */
static cJSON *list_entry(const drun *dr)
{
	const scenario *s = run_scenario(dr->r);
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "id", dr->id);
	cJSON_AddStringToObject(e, "name", s->name);
	cJSON_AddStringToObject(e, "state", run_state_name(run_get_state(dr->r)));
	cJSON_AddNumberToObject(e, "elapsed", run_elapsed(dr->r));
	cJSON_AddNumberToObject(e, "duration", s->duration);
	cJSON_AddStringToObject(e, "scenario", s->path);
	cJSON_AddBoolToObject(e, "failed", run_failed(dr->r));
	cJSON_AddNumberToObject(e, "runners", run_runners(dr->r));
	cJSON_AddNumberToObject(e, "scale", run_get_scale(dr->r));
	if (dr->done)
		cJSON_AddStringToObject(e, "verdict", drun_verdict(dr));
	return e;
}

cJSON *cmd_query_list(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	(void)cl;
	(void)req;
	cJSON *o = control_ok();
	cJSON *a = cJSON_AddArrayToObject(o, "runs");
	/* Oldest first reads best in a table. */
	size_t n = 0;
	for (drun *dr = d->runs; dr; dr = dr->next)
		n++;
	for (size_t i = n; a && i-- > 0;) {
		drun *dr = d->runs;
		for (size_t k = 0; k < i; k++)
			dr = dr->next;
		cJSON_AddItemToArray(a, list_entry(dr));
	}
	return o;
}

/* A run the daemon has forgotten (or never had) may still have results on
 * disk from an earlier life. */
static cJSON *results_from_disk(daemon_ *d, const char *id)
{
	char file[PATH_MAX];
	if (strchr(id, '/') || strcmp(id, "..") == 0 || strcmp(id, ".") == 0)
		return NULL;
	int n = snprintf(file, sizeof(file), "%s/%s/summary.json", d->cf.results_dir, id);
	if (n < 0 || (size_t)n >= sizeof(file))
		return NULL;
	FILE *f = fopen(file, "re");
	if (!f)
		return NULL;
	char *buf = malloc(4 << 20);
	size_t len = buf ? fread(buf, 1, (4 << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	cJSON *sum = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!sum)
		return NULL;
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "run", id);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sum, "verdict");
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(o, "verdict", v->valuestring);
	cJSON_AddTrueToObject(o, "done");
	char *text = NULL;
	size_t tlen = 0;
	FILE *tf = open_memstream(&text, &tlen);
	if (tf) {
		results_io_text(tf, sum);
		if (fclose(tf) == 0)
			cJSON_AddStringToObject(o, "text", text ? text : "");
		free(text);
	}
	cJSON_AddItemToObject(o, "summary", sum);
	snprintf(file, sizeof(file), "%s/%s", d->cf.results_dir, id);
	cJSON_AddStringToObject(o, "results", file);
	return o;
}

cJSON *cmd_query_results(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	char err[256];
	(void)cl;
	const char *id = cmd_str(req, "run");
	if (!id)
		return control_error("\"run\" (a run id) is missing");
	drun *dr = drun_find(d, id, err, sizeof(err));
	if (!dr) {
		cJSON *o = results_from_disk(d, id);
		return o ? o : control_error("%s", err);
	}
	cJSON *o = control_ok();
	cJSON_AddStringToObject(o, "run", dr->id);
	if (dr->done)
		cJSON_AddStringToObject(o, "verdict", drun_verdict(dr));
	cJSON_AddBoolToObject(o, "done", dr->done);
	/* A summary that could not be written lives here only: say so. */
	if (dr->done && results_dir(dr->res)) {
		cJSON_AddBoolToObject(o, "on_disk", results_on_disk(dr->res));
		if (results_not_written(dr->res))
			cJSON_AddStringToObject(o, "not_written", results_not_written(dr->res));
	}
	/* Done: summary.json's object; still running: the live status. */
	const cJSON *sum = results_summary(dr->res);
	cJSON_AddItemToObject(o, "summary", sum ? cJSON_Duplicate(sum, 1) : drun_status(dr));
	if (dr->results[0])
		cJSON_AddStringToObject(o, "results", dr->results);
	else if (results_dir(dr->res))
		cJSON_AddStringToObject(o, "results", results_dir(dr->res));
	/* The text summary (summary.txt), or the live one. */
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	if (f) {
		cJSON *now = sum ? NULL : results_summary_now(dr->res, dr->r);

		if (sum || now)
			results_io_text(f, sum ? sum : now);
		cJSON_Delete(now);
		fclose(f);
		cJSON_AddStringToObject(o, "text", text ? text : "");
		free(text);
	}
	return o;
}
