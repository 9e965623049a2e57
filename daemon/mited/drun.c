/*
 * drun.c - the daemon's runs: made from a parsed scenario (runners,
 * results folder, limits), their status with what the daemon knows on top,
 * what happens when one ends, and how long a finished one is remembered.
 */
#include "config.h"

#include "mited/drun.h"

#include "controller/capacity.h"
#include "controller/control.h"
#include "core/log.h"
#include "core/proto.h"
#include "mited/hosts.h"
#include "mited/parse.h"
#include "mited/supervise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int nproc_online(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 256 ? 256 : n) : 1;
}

int drun_active(const drun *dr)
{
	run_state st = run_get_state(dr->r);
	return st == RUN_STARTING || st == RUN_RUNNING || st == RUN_PAUSED;
}

drun *drun_find(daemon_ *d, const char *id, char *err, size_t errlen)
{
	drun *match = NULL;
	size_t len = strlen(id);
	int n = 0;
	for (drun *dr = d->runs; dr; dr = dr->next) {
		if (strcmp(dr->id, id) == 0)
			return dr;
		if (len && strncmp(dr->id, id, len) == 0) {
			match = dr;
			n++;
		}
	}
	if (n == 1)
		return match;
	if (n > 1)
		snprintf(err, errlen, "run '%s' is ambiguous (%d runs start with it)", id, n);
	else
		snprintf(err, errlen, "no run '%s'", id);
	return NULL;
}

static double run_peak(const scenario *s)
{
	double peak = 0;
	for (size_t i = 0; i < s->njourneys; i++)
		if (vmodel_get_kind(s->journeys[i].volume) == VMODEL_CLOSED &&
		    vmodel_peak(s->journeys[i].volume) > 0)
			peak += vmodel_peak(s->journeys[i].volume);
	return peak;
}

double drun_instances_in_use(const daemon_ *d, const drun *except)
{
	double n = 0;
	for (const drun *dr = d->runs; dr; dr = dr->next) {
		if (dr == except || dr->done || !drun_active(dr))
			continue;
		n += dr->peak * run_get_scale(dr->r);
	}
	return n;
}

long drun_instances(const drun *dr)
{
	long n = 0;
	for (size_t ji = 0; ji < run_scenario(dr->r)->njourneys; ji++)
		n += run_actual(dr->r, ji);
	return n;
}

/* The verdict's name (verdict.h; mitectl start --wait exits with its
 * status). */
const char *drun_verdict(const drun *dr)
{
	return results_verdict(dr->res, dr->r);
}

/* Transactions a status lists at most: with names of up to 1 KiB each
 * (STATS_LABEL_MAX), a status stays far below CONTROL_REPLY_MAX. The rest
 * is counted in "transactions_omitted" (summary.json has them all). */
#define STATUS_TXN_MAX 1000

static void status_bound(cJSON *o, const drun *dr)
{
	cJSON *tx = cJSON_GetObjectItemCaseSensitive(o, "transactions");
	int n = cJSON_GetArraySize(tx);
	uint64_t cut = run_totals(dr->r)->labels_cut;
	if (n > STATUS_TXN_MAX) {
		cJSON *kept = cJSON_CreateArray();
		for (int i = 0; kept && i < STATUS_TXN_MAX; i++)
			cJSON_AddItemToArray(kept, cJSON_DetachItemFromArray(tx, 0));
		if (kept) {
			cJSON_ReplaceItemInObjectCaseSensitive(o, "transactions", kept);
			cJSON_AddNumberToObject(o, "transactions_omitted", n - STATUS_TXN_MAX);
		}
	}
	/* Names from runners that were cut to fit (core/stats.h). */
	if (cut)
		cJSON_AddNumberToObject(o, "labels_cut", (double)cut);
}

/* The run's status object with what the daemon knows on top: runners,
 * the judgement as it stands (or the final one), where the results are
 * and whether its summary reached the disk. */
cJSON *drun_status(const drun *dr)
{
	cJSON *o = run_status(dr->r);
	if (!o)
		return NULL;
	status_bound(o, dr);
	cJSON_AddNumberToObject(o, "runners_wanted",
				supervise_wanted(dr->sv) + hosts_runners_alive(dr->d->hosts, dr));
	cJSON_AddNumberToObject(o, "restarts", dr->budget.restarts);
	hosts_run_status(dr->d->hosts, dr, o);
	results_status(dr->res, dr->r, o);
	if (dr->done) {
		const cJSON *sum = results_summary(dr->res);
		cJSON_AddStringToObject(o, "verdict", drun_verdict(dr));
		/* The final judgement, not the one of a moment ago. */
		static const char *const keys[] = { "verdict_reason", "reasons", "warnings" };
		for (size_t k = 0; sum && k < sizeof(keys) / sizeof(keys[0]); k++) {
			cJSON_DeleteItemFromObjectCaseSensitive(o, keys[k]);
			cJSON_AddItemToObject(
				o, keys[k],
				cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(sum, keys[k]), 1));
		}
		if (results_dir(dr->res)) {
			cJSON_AddStringToObject(o, "results", results_dir(dr->res));
			cJSON_AddBoolToObject(o, "on_disk", results_on_disk(dr->res));
		}
	}
	return o;
}

void drun_free(drun *dr)
{
	hosts_run_gone(dr->d->hosts, dr);
	/* The results first: they point into the run's scenario. */
	results_free(dr->res);
	run_free(dr->r);
	supervise_free(dr->sv);
	free(dr);
}

/* Finished runs beyond keep_runs are forgotten (their results stay on
 * disk), oldest first, once their runner processes are gone. */
void drun_evict(daemon_ *d)
{
	int kept = 0;
	for (drun **pp = &d->runs; *pp;) {
		drun *dr = *pp;
		if (dr->done && ++kept > d->cf.keep_runs && !supervise_procs(dr->sv)) {
			*pp = dr->next;
			drun_free(dr);
			continue;
		}
		pp = &dr->next;
	}
}

/* A finished run is remembered (keep_runs) for status, list, results and
 * the metrics: those need its names, totals, volume models (the verdict
 * asks which are open) and summary, not its datapools (a CSV of millions
 * of rows) or modules, which go now. Its results writer ends once its
 * queue is out (joined by housekeeping). */
static void drun_slim(drun *dr)
{
	/* The run is done: nothing of it reads the pools any more. */
	scenario_release_runtime((scenario *)run_scenario(dr->r));
	results_reap(dr->res);
}

static void on_run_done(run *r, void *data)
{
	drun *dr = data;
	dr->done = 1;
	supervise_end(dr->sv, uv_now(dr->d->loop));
	/* The results first: the final judgement of the thresholds is part
	 * of the verdict logged below. */
	cJSON *meta = cJSON_CreateObject();
	cJSON_AddNumberToObject(meta, "runners_wanted", supervise_wanted(dr->sv));
	cJSON_AddNumberToObject(meta, "restarts", dr->budget.restarts);
	int saved = dr->res && results_finish(dr->res, r, meta) == 0 && results_dir(dr->res);
	cJSON_Delete(meta);
	if (dr->res && results_dir(dr->res) && results_not_written(dr->res))
		log_err("run %s: results NOT on disk: %s/%s; the summary is kept in memory (mitectl results %s) "
			"until mited forgets the run",
			dr->id, results_dir(dr->res), results_not_written(dr->res), dr->id);
	const char *err = run_error(r);
	log_info("run %s (%s): done after %.1f s, %s%s%s", dr->id, run_scenario(r)->name,
		 run_elapsed(r), drun_verdict(dr), err ? ": " : "", err ? err : "");
	if (saved) {
		snprintf(dr->results, sizeof(dr->results), "%s", results_dir(dr->res));
		log_info("run %s: results in %s", dr->id, dr->results);
	}
	drun_slim(dr);
	daemon_update_status(dr->d);
	daemon_check_exit(dr->d);
}

static void on_run_event(run *r, const cJSON *ev, void *data)
{
	drun *dr = data;
	results_event(dr->res, r, ev);
}

/* Closed models whose peak was not known at start (plugins): more runners
 * once a journey's share is over one runner's bound. */
static void check_runner_bound(drun *dr)
{
	const scenario *s = run_scenario(dr->r);
	long bound = proto_instances_max();
	int need = 0;

	if (run_get_state(dr->r) != RUN_RUNNING)
		return;
	for (size_t ji = 0; ji < s->njourneys; ji++) {
		long req = run_required(dr->r, ji);
		long n = req / bound + (req % bound != 0);
		if (n > need)
			need = n > CAPACITY_RUNNERS_MAX ? CAPACITY_RUNNERS_MAX : (int)n;
	}
	/* A run on hosts alone gets no local runner this way: a host's
	 * runner keeps to its bound and says so (why). */
	if (need > supervise_wanted(dr->sv) && supervise_wanted(dr->sv) > 0)
		drun_grow(dr, need, "the volume asked for grew");
}

static const char *on_run_tick(run *r, void *data)
{
	drun *dr = data;
	const char *stop = results_tick(dr->res, r);
	check_runner_bound(dr);
	return stop;
}

static void make_run_id(daemon_ *d, char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	char stamp[32];
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (;;) {
		snprintf(buf, len, "%s-%u", stamp, ++d->run_seq);
		char err[8];
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", d->cf.results_dir, buf);
		if (!drun_find(d, buf, err, sizeof(err)) && access(path, F_OK) != 0)
			return;
	}
}

/* ---- its runners: the supervisor's ops ----------------------------------- */

static int sv_joined(transport *t, void *data)
{
	drun *dr = data;
	return run_add_runner(dr->r, t);
}

static void sv_lost(transport *t, const char *reason, void *data)
{
	drun *dr = data;
	run_runner_lost(dr->r, t, reason); /* closes the link */
	drun_replace(dr);
}

void drun_gave_up(drun *dr)
{
	log_err("run %s: %d runner restarts; giving up on replacing runners and stopping the run",
		dr->id, dr->budget.restarts);
	run_stop_by(dr->r, 1, "mited: runner restarts exhausted (runner_restarts)");
}

static void sv_gave_up(const char *why, void *data)
{
	(void)why;
	drun_gave_up(data);
}

static void sv_changed(void *data)
{
	drun *dr = data;
	if (dr->d->closed)
		return;
	daemon_update_status(dr->d);
	daemon_check_exit(dr->d);
}

int drun_may_replace(const drun *dr)
{
	run_state st = run_get_state(dr->r);
	return !dr->done && !dr->d->stopping && (st == RUN_RUNNING || st == RUN_PAUSED);
}

void drun_replace(drun *dr)
{
	if (drun_may_replace(dr))
		supervise_replace(dr->sv);
}

void drun_grow(drun *dr, int n, const char *why)
{
	if (!dr->done && !dr->d->stopping)
		supervise_grow(dr->sv, n, why);
}

/* ---- a new run ------------------------------------------------------------ */

/* The runners a run of s gets (each holds a bounded share, each with the
 * memory mappings its share of stacks needs), or -1 with the refusal in
 * err: refused here, before anything starts, rather than short of its
 * volume later. */
static int start_runners(daemon_ *d, const parse_job *job, const scenario *s, double peak,
			 char *err, size_t errlen)
{
	if (d->cf.max_instances > 0 &&
	    peak + drun_instances_in_use(d, NULL) > (double)d->cf.max_instances) {
		snprintf(err, errlen,
			 "%s asks for up to %.0f instances; with the runs already going "
			 "that is over limits.max_instances = %ld",
			 job->path, peak, d->cf.max_instances);
		return -1;
	}
	int asked = job->runners    ? job->runners
		: d->cf.runners > 0 ? d->cf.runners
				    : nproc_online();
	int wanted = capacity_runners(s, 1.0, asked, 1, err, errlen);
	if (wanted > asked)
		log_msg(LOG_LVL_NOTICE,
			"%s: %d runners instead of %d: up to %.0f instances, at most %ld "
			"of a journey per runner",
			job->path, wanted, asked, peak, proto_instances_max());
	return wanted;
}

/* The run, its results folder (event log, summary) before anything runs,
 * and its supervisor. NULL with err set. */
static drun *drun_new(daemon_ *d, scenario *s, double peak, char *err, size_t errlen)
{
	drun *dr = calloc(1, sizeof(*dr));
	if (!dr) {
		scenario_free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dr->d = d;
	dr->peak = peak;
	make_run_id(d, dr->id, sizeof(dr->id));
	run_opts ro = {
		.id = dr->id,
		.grace = d->cf.grace,
		.http_events = d->cf.results.http_events,
		.hooks = { .on_done = on_run_done,
			   .on_tick = on_run_tick,
			   .on_event = on_run_event,
			   .data = dr },
	};
	dr->r = run_new(d->loop, s, &ro, err, errlen); /* takes s */
	if (!dr->r)
		goto fail;
	char rdir[PATH_MAX], why[768];
	if (snprintf(rdir, sizeof(rdir), "%s/%s", d->cf.results_dir, dr->id) >= (int)sizeof(rdir))
		snprintf(why, sizeof(why), "%s/%s: path too long", d->cf.results_dir, dr->id);
	else
		dr->res = results_new(dr->r, &(results_opts){ .dir = rdir, .conf = &d->cf.results },
				      why, sizeof(why));
	if (!dr->res) {
		snprintf(err, errlen, "run %s: results: %s", dr->id, why);
		log_err("%s", err);
	}
	supervise_env env = { .loop = d->loop,
			      .srv = d->srv,
			      .exe = d->self_exe,
			      .cf = &d->cf,
			      .seq = &d->runner_seq,
			      .budget = &dr->budget };
	supervise_ops ops = { .joined = sv_joined,
			      .lost = sv_lost,
			      .gave_up = sv_gave_up,
			      .changed = sv_changed,
			      .data = dr };
	if (dr->res && !(dr->sv = supervise_new(&env, dr->id, &ops)))
		snprintf(err, errlen, "run %s: out of memory", dr->id);
	if (dr->sv)
		return dr;
fail:
	results_free(dr->res);
	run_free(dr->r);
	free(dr);
	return NULL;
}

/* On the loop: the run from a parsed scenario (which it takes). The reply:
 * the run's status, as `status RUN` gives it. */
cJSON *drun_start(daemon_ *d, parse_job *job)
{
	char err[1024];
	scenario *s = job->s;
	job->s = NULL;
	if (job->name) {
		char *nn = strdup(job->name);
		if (!nn) {
			scenario_free(s);
			return control_error("out of memory");
		}
		free(s->name);
		s->name = nn;
	}
	double peak = run_peak(s);
	int wanted = start_runners(d, job, s, peak, err, sizeof(err));
	if (wanted < 0) {
		scenario_free(s);
		return control_error("%s", err);
	}
	/* The request's choice of hosts, else the scenario's (checked when
	 * parsed). */
	hosts_sel hsel = job->hsel;
	if (!hsel.given && s->hosts &&
	    hosts_sel_parse(s->hosts, 0, 0, hsel.local, &hsel, err, sizeof(err)) < 0) {
		scenario_free(s);
		return control_error("%s: %s", job->path, err);
	}
	if (hsel.local < 0)
		hsel.local = s->local;
	if (hsel.local == 0 && hsel.mode == HOSTS_SEL_NONE) {
		scenario_free(s);
		return control_error("%s: no local runners and no hosts: nothing to run on",
				     job->path);
	}
	drun *dr = drun_new(d, s, peak, err, sizeof(err));
	if (!dr)
		return control_error("%s", err);
	dr->next = d->runs;
	d->runs = dr;
	dr->hsel = hsel;
	/* Hosts first (runners over the network, shares weighted by their
	 * runners); local runners when asked, or when the run got no host. */
	int remote = hosts_attach(d->hosts, dr);
	if (hsel.local == 0 || (hsel.local == -1 && remote > 0))
		wanted = 0;
	int started = remote + (wanted > 0 ? supervise_start(dr->sv, wanted) : 0);
	if (!started || run_start(dr->r) < 0) {
		/* Nothing to run on: the run ends at once, and says why. */
		run_stop(dr->r, 1);
		return control_error("run %s: could not start its runners (see mited's log)",
				     dr->id);
	}
	log_info("run %s (%s): started by uid %u with %d local and %d remote runner(s): %s", dr->id,
		 run_scenario(dr->r)->name, (unsigned)job->uid, wanted, remote, job->path);
	cJSON *reply = control_ok();
	cJSON_AddItemToObject(reply, "run", drun_status(dr));
	daemon_update_status(d);
	return reply;
}

/* Names from runners cut to fit are in the status ("labels_cut"); the log
 * says so too, at most once a minute per run. */
void drun_note_cut_labels(drun *dr, uint64_t now)
{
	uint64_t cut = run_totals(dr->r)->labels_cut;
	if (cut <= dr->cut_logged || (dr->cut_log_ms && now - dr->cut_log_ms < 60000))
		return;
	log_warn("run %s: %llu name(s) from its runners were longer than %d bytes and were cut "
		 "(they end in \"%s\")",
		 dr->id, (unsigned long long)cut, STATS_LABEL_MAX, STATS_CUT_MARK);
	dr->cut_logged = cut;
	dr->cut_log_ms = now;
}
