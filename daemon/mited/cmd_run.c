/* cmd_run.c - start, stop, pause, resume, scale (see cmd_run.h). */
#include "config.h"

#include "mited/cmd_run.h"

#include "controller/capacity.h"
#include "controller/run.h"
#include "core/log.h"
#include "core/util.h"
#include "mited/cmd.h"
#include "mited/drun.h"
#include "mited/hosts.h"
#include "mited/parse.h"
#include "mited/supervise.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void start_parsed(uv_work_t *w, int status)
{
	parse_job *j = w->data;
	daemon_ *d = j->d;
	cJSON *reply;
	d->parsing--;
	for (parse_job **pp = &d->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (!j->reply) {
		parse_job_free(j);
		daemon_check_exit(d);
		return;
	}
	if (status == UV_ECANCELED || d->stopping || d->closed)
		reply = control_error("mited is shutting down; no new runs");
	else if (!j->s)
		reply = control_error("%s", j->err);
	else
		reply = drun_start(d, j);
	control_reply(j->reply, reply);
	parse_job_free(j);
	daemon_check_exit(d);
}

/* The folders a scenario at path (absolute), started by uid, may load
 * modules from: plugin_dirs, and for the daemon's own user on a private
 * daemon without plugin_dirs in its file, the scenario's folder too (a
 * user's daemon runs that user's code as that user; another user in the
 * socket group gets plugin_dirs only). A copy: a reload may change the
 * daemon's meanwhile. NULL: out of memory. */
static char **module_dirs(const conf *c, const char *path, uid_t uid)
{
	char **v = util_strv_dup(c->plugin_dirs);
	if (!v || !c->private_daemon || c->plugin_dirs_set || uid != geteuid())
		return v;
	size_t n = 0;
	while (v[n])
		n++;
	char **w = realloc(v, (n + 2) * sizeof(*w));
	if (!w) {
		util_strv_free(v);
		return NULL;
	}
	w[n] = util_dir_of(path);
	w[n + 1] = NULL;
	if (!w[n]) {
		util_strv_free(w);
		return NULL;
	}
	return w;
}

cJSON *cmd_run_start(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	char err[1024];
	const char *path = cmd_str(req, "scenario");
	const char *name = cmd_str(req, "name");
	const cJSON *jdur = cJSON_GetObjectItemCaseSensitive(req, "duration");
	const cJSON *jrun = cJSON_GetObjectItemCaseSensitive(req, "runners");
	const cJSON *jhosts = cJSON_GetObjectItemCaseSensitive(req, "hosts");
	const cJSON *jlocal = cJSON_GetObjectItemCaseSensitive(req, "local");
	hosts_sel hsel;

	if (d->stopping)
		return control_error("mited is shutting down; no new runs");
	if (!path)
		return control_error("start: \"scenario\" (a path) is missing");
	if (path[0] != '/')
		return control_error("start: scenario path '%.256s' must be absolute", path);
	if (strlen(path) >= PATH_MAX)
		return control_error(
			"start: the scenario path is %zu bytes long, over the limit of %d "
			"bytes",
			strlen(path), PATH_MAX - 1);
	if (name && strlen(name) > SCENARIO_NAME_MAX)
		return control_error(
			"start: \"name\" is %zu bytes long, over the limit of %d bytes",
			strlen(name), SCENARIO_NAME_MAX);
	if (jdur && (!cJSON_IsNumber(jdur) || !(jdur->valuedouble > 0)))
		return control_error("start: \"duration\" must be a positive number of seconds");
	if (jrun && (!cJSON_IsNumber(jrun) || jrun->valuedouble < 1 || jrun->valuedouble > 1024))
		return control_error("start: \"runners\" must be between 1 and 1024");
	if (jhosts && !cJSON_IsString(jhosts) && !cJSON_IsNumber(jhosts))
		return control_error("start: \"hosts\" must be \"all\", \"none\", a number or "
				     "\"label=NAME\"");
	if (jlocal && !cJSON_IsBool(jlocal))
		return control_error("start: \"local\" must be true or false");
	if (hosts_sel_parse(cJSON_IsString(jhosts) ? jhosts->valuestring : NULL,
			    cJSON_IsNumber(jhosts) ? jhosts->valuedouble : 0,
			    cJSON_IsNumber(jhosts), jlocal ? cJSON_IsTrue(jlocal) : -1, &hsel, err,
			    sizeof(err)) < 0)
		return control_error("start: %s", err);
	if (hsel.local == 0 && hsel.mode == HOSTS_SEL_NONE)
		return control_error("start: no local runners and no hosts: nothing to run on");
	int active = d->parsing;
	for (drun *r = d->runs; r; r = r->next)
		active += !r->done;
	if (active >= d->cf.max_runs)
		return control_error("%d runs already (limits.max_runs = %d); stop one first",
				     active, d->cf.max_runs);
	parse_job *j = calloc(1, sizeof(*j));
	if (!j)
		return control_error("out of memory");
	j->d = d;
	j->uid = control_client_uid(cl);
	j->work.data = j;
	j->allow_any = d->cf.allow_any_plugin_path;
	j->duration = jdur ? jdur->valuedouble : 0;
	j->runners = jrun ? (int)jrun->valuedouble : 0;
	j->hsel = hsel;
	j->sets = cmd_strings(cJSON_GetObjectItemCaseSensitive(req, "sets"), 0, "sets", err,
			      sizeof(err));
	if (!j->sets)
		goto fail;
	j->env = cmd_strings(cJSON_GetObjectItemCaseSensitive(req, "env"), 1, "env", err,
			     sizeof(err));
	if (!j->env)
		goto fail;
	snprintf(err, sizeof(err), "out of memory");
	if (!(j->path = strdup(path)) || (name && *name && !(j->name = strdup(name))) ||
	    !(j->plugin_dirs = module_dirs(&d->cf, path, j->uid)))
		goto fail;
	int rc = uv_queue_work(d->loop, &j->work, parse_work, start_parsed);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot queue the parse: %s", uv_strerror(rc));
		goto fail;
	}
	d->parsing++;
	j->next = d->jobs;
	d->jobs = j;
	/* Its callback runs on a later turn of the loop: deferring now is in
	 * time. Without a deferral (out of memory) the parse still ends, and
	 * its result is dropped. */
	j->reply = control_defer(cl);
	if (!j->reply)
		return control_error("start: out of memory");
	return control_deferred;
fail:
	parse_job_free(j);
	return control_error("start: %s", err);
}

/* The reply to a command on a run: the run, as `status RUN` gives it. */
static cJSON *run_reply(drun *dr, const char *what)
{
	cJSON *o = control_ok();
	cJSON_AddItemToObject(o, "run", drun_status(dr));
	log_info("run %s: %s", dr->id, what);
	return o;
}

cJSON *cmd_run_stop(control_client *cl, const cJSON *req, void *data)
{
	cJSON *reply = NULL;
	drun *dr = cmd_find_run(data, req, &reply);
	if (!dr)
		return reply;
	if (dr->done)
		return control_error("run %s is already done", dr->id);
	int now = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "now"));
	char by[64];
	snprintf(by, sizeof(by), "mitectl stop%s (uid %u)", now ? " --now" : "",
		 (unsigned)control_client_uid(cl));
	run_stop_by(dr->r, now, by);
	return run_reply(dr, now ? "stop (now) requested" : "stop requested");
}

cJSON *cmd_run_pause(control_client *cl, const cJSON *req, void *data)
{
	cJSON *reply = NULL;
	drun *dr = cmd_find_run(data, req, &reply);
	(void)cl;
	if (!dr)
		return reply;
	if (run_get_state(dr->r) != RUN_RUNNING)
		return control_error("run %s is not running", dr->id);
	run_pause(dr->r);
	return run_reply(dr, "paused");
}

cJSON *cmd_run_resume(control_client *cl, const cJSON *req, void *data)
{
	cJSON *reply = NULL;
	drun *dr = cmd_find_run(data, req, &reply);
	(void)cl;
	if (!dr)
		return reply;
	if (run_get_state(dr->r) != RUN_PAUSED)
		return control_error("run %s is not paused", dr->id);
	run_resume(dr->r);
	return run_reply(dr, "resumed");
}

cJSON *cmd_run_scale(control_client *cl, const cJSON *req, void *data)
{
	daemon_ *d = data;
	cJSON *reply = NULL;
	drun *dr = cmd_find_run(d, req, &reply);
	(void)cl;
	if (!dr)
		return reply;
	const cJSON *pc = cJSON_GetObjectItemCaseSensitive(req, "percent");
	if (!cJSON_IsNumber(pc) || !isfinite(pc->valuedouble) || pc->valuedouble < 0 ||
	    pc->valuedouble > 100000)
		return control_error("scale: \"percent\" must be a number from 0 to 100000");
	if (!drun_active(dr))
		return control_error("run %s is not running", dr->id);
	double f = pc->valuedouble / 100.0;
	if (d->cf.max_instances > 0 &&
	    dr->peak * f + drun_instances_in_use(d, dr) > (double)d->cf.max_instances)
		return control_error(
			"scaling run %s to %g %% would ask for up to %.0f instances, over "
			"limits.max_instances = %ld",
			dr->id, pc->valuedouble, dr->peak * f, d->cf.max_instances);
	char err[1024];
	/* A run on hosts alone counts its remote runners, and gets no local
	 * one from a scale. */
	int have = supervise_wanted(dr->sv) + hosts_runners_alive(d->hosts, dr);
	int need =
		capacity_runners(run_scenario(dr->r), f, have > 0 ? have : 1, 1, err, sizeof(err));
	if (need < 0)
		return control_error("scaling run %s to %g %%: %s", dr->id, pc->valuedouble, err);
	if (run_scale(dr->r, f) < 0)
		return control_error("scale: %g %% refused", pc->valuedouble);
	if (supervise_wanted(dr->sv) > 0)
		drun_grow(dr, need, "scaled");
	char what[64];
	snprintf(what, sizeof(what), "scaled to %g %%", pc->valuedouble);
	cJSON *o = run_reply(dr, what);
	cJSON_AddNumberToObject(o, "percent", pc->valuedouble);
	return o;
}
